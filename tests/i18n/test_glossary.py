"""One wording per concept (docs/glossary.md).

The glossary lists, for each concept a guardian or a school clerk meets, the one msgid that
names it; every language's column is read from the catalogues, so the document cannot drift
from what the pages, e-mails and exports say. The checks: the document matches the
catalogues, each listed msgid is really used, and the wordings that were retired for a
concept appear in no translation. After changing a wording, rewrite the document with
`python -m tests.i18n.test_glossary`.
"""

from __future__ import annotations

from babel.messages.pofile import read_po

from tests.i18n.test_catalogues import LOCALE, ROOT, all_sources

GLOSSARY_DOC = ROOT / "docs" / "glossary.md"

# (concept, msgid): the msgid every page, e-mail and export uses for it.
CONCEPTS: list[tuple[str, str]] = [
    ("The service most choices are about", "School Dashboard"),
    ("A family's decision about one use of the data", "Choice"),
    ("Kinds of data a service holds", "Data categories"),
    ("Why a service uses the data", "Purposes"),
    ("Value: the default, nothing hidden", "Show (no change)"),
    ("Value: nothing shown on the service", "Hide all data"),
    ("Value: only the kinds the guardian ticked are hidden", "Hide only the chosen kinds of data"),
    ("Value of a yes/no choice", "Allow"),
    ("Value of a yes/no choice", "Do not allow"),
    ("Channel: the guardian chose on Tobira", "On this website"),
    ("Channel: a paper form handed to the school", "Paper form to the school"),
    ("Channel: a telephone call to the school", "By telephone to the school"),
    ("Channel: at the school in person", "In person at the school"),
    ("Channel: carried over or imported by the board", "Imported by the board"),
    ("State: asked for, not yet confirmed", "Waiting for confirmation"),
    ("State: confirmed and in force", "Confirmed (in effect)"),
    ("State: withdrawn before confirmation", "Cancelled"),
    ("State: the confirmation link ran out", "Expired without confirmation"),
    ("The record a guardian gets for a confirmed choice", "Receipt"),
    ("Its identifier", "Receipt ID"),
    ("The person the choice is made by", "Guardian"),
    ("The seller of a service and its promises", "Vendor"),
]

# Wordings once used for the same concepts; none may come back in any catalogue.
RETIRED = {
    "一部を表示しない": "選んだ種類のデータだけ表示しない",
    "一部の情報を表示しない": "選んだ種類のデータだけ表示しない",
    "お子さまのデータをすべて表示しない": "すべてのデータを表示しない",
    "紙の用紙": "書面（学校へ提出）",
    "オンライン": "このサイト上で",
}


def _catalogues() -> dict[str, dict[str, str]]:
    """Translations per catalogue directory, Japanese first; English is the msgid."""
    found: dict[str, dict[str, str]] = {}
    directories = sorted(p for p in LOCALE.iterdir() if p.is_dir())
    for directory in sorted(directories, key=lambda p: (p.name != "ja", p.name)):
        messages: dict[str, str] = {}
        for path in sorted(directory.glob("*.po")):
            with path.open("rb") as handle:
                for message in read_po(handle):
                    text = message.string
                    if isinstance(message.id, str) and isinstance(text, str) and text and not message.fuzzy:
                        messages.setdefault(message.id, text)
        found[directory.name.replace("_", "-")] = messages
    return found


def render() -> str:
    catalogues = _catalogues()
    languages = ["en", *catalogues]
    lines = [
        "# Glossary",
        "",
        "One wording for each concept, the same on guardian pages, staff pages, e-mails and exports",
        "(the API sends codes; its documentation uses these words). The columns are read from the",
        "message catalogues by `tests/i18n/test_glossary.py`, which fails when this page and the",
        "catalogues disagree; rewrite it with `python -m tests.i18n.test_glossary`.",
        "",
        "| concept | " + " | ".join(f"`{lang}`" for lang in languages) + " |",
        "|---|" + "---|" * len(languages),
    ]
    for concept, msgid in CONCEPTS:
        cells = [msgid, *(catalogues[lang].get(msgid, "—") for lang in catalogues)]
        lines.append(f"| {concept} | " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    lines += ["", "Retired wordings (never to be used again):", ""]
    lines += [f"- ~~{old}~~ → {new}" for old, new in RETIRED.items()]
    return "\n".join(lines) + "\n"


def test_the_glossary_page_says_what_the_catalogues_say() -> None:
    assert GLOSSARY_DOC.read_text(encoding="utf-8") == render(), (
        "docs/glossary.md is out of date: run `python -m tests.i18n.test_glossary`"
    )


def test_every_glossary_wording_is_in_use() -> None:
    used = {source.msgid for source in all_sources()}
    unused = [msgid for _concept, msgid in CONCEPTS if msgid not in used]
    assert not unused, f"glossary wordings no page or e-mail uses: {unused}"


def test_retired_wordings_appear_in_no_catalogue() -> None:
    found = [
        (lang, msgid, old)
        for lang, messages in _catalogues().items()
        for msgid, text in messages.items()
        for old in RETIRED
        if old in text
    ]
    assert not found, found


def test_staff_pages_use_the_guardians_words_for_values_and_channels() -> None:
    from app.domain.choices import labels
    from app.surfaces.staff import labels as staff

    for value in ("show", "hide", "hide_all", "hide_some", "allow", "deny"):
        assert staff.value_label(value) == labels.choice_value(value)
    for channel in ("web", "paper", "phone", "in_person", "import"):
        assert staff.channel_label(channel) == labels.channel(channel)


if __name__ == "__main__":
    GLOSSARY_DOC.write_text(render(), encoding="utf-8")
