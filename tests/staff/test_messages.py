from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "ja"


def test_staff_catalogue_does_not_retranslate_other_domains_messages() -> None:
    """Catalogues are merged into one; a msgid translated twice would change other pages."""
    others: dict[str, str] = {}
    for path in sorted(LOCALE.glob("*.po")):
        if path.name == "staff.po":
            continue
        with path.open("rb") as fh:
            others.update({str(m.id): str(m.string) for m in read_po(fh) if m.id and m.string})
    with (LOCALE / "staff.po").open("rb") as fh:
        clashes = [
            str(m.id) for m in read_po(fh) if m.id and str(m.id) in others and others[str(m.id)] != m.string
        ]
    assert clashes == []
