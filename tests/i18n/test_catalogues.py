"""Every user-facing string has one Japanese translation.

Strings are extracted the way a translator's tool would (Babel): `_()`, `gettext()`,
`ngettext()` in app/ and `{{ _() }}` / `{% trans %}` in templates/ (html and the text
e-mails). Message tables — module-level dicts, lists or tuples of English strings that
reach `gettext` through a lookup, such as `gettext(ERROR_TITLES.get(status, "Error"))`
in app/main.py — are found by reading the code, so a new table is covered without being
listed here; so are `HTTPException(..., detail="...")` messages, which the error page
translates. The test names every msgid without a Japanese translation, every msgid
translated differently in two places, and every .po file Babel cannot read.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import PoFileError, PoFileParser

from app.surfaces.web import templates_env

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
TEMPLATES = ROOT / "templates"
LOCALE = ROOT / "locale"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
# The typed errors of app/errors.py carry their message as the first argument (`Invalid`'s
# field messages are marked with N_).
KEYWORDS |= {name: None for name in ("NotFound", "Conflict", "Refused", "RateLimited")}
GETTEXT_NAMES = {"_", "gettext", "ngettext"}


@dataclass(frozen=True)
class Source:
    msgid: str
    where: str


def _jinja_options() -> dict[str, str]:
    # The same whitespace rules as the app's environment, so {% trans %} msgids match.
    return {
        "extensions": "jinja2.ext.i18n",
        "trim_blocks": str(templates_env.trim_blocks),
        "lstrip_blocks": str(templates_env.lstrip_blocks),
        "newstyle_gettext": "true",
        "trimmed": str(templates_env.policies.get("ext.i18n.trimmed", False)),
        "silent": "false",  # a template that does not parse fails here, not silently
    }


def _first_id(message: str | tuple[str, ...] | list[str]) -> str:
    return message if isinstance(message, str) else message[0]


def python_calls() -> Iterator[Source]:
    for path in sorted(APP.rglob("*.py")):
        for lineno, message, _comments, _context in extract_from_file(
            "python", str(path), keywords=KEYWORDS, strip_comment_tags=True
        ):
            yield Source(_first_id(message), f"{path.relative_to(ROOT)}:{lineno}")


def template_strings() -> Iterator[Source]:
    for path in sorted([*TEMPLATES.rglob("*.html"), *TEMPLATES.rglob("*.txt")]):
        for lineno, message, _comments, _context in extract_from_file(
            "jinja2.ext:babel_extract", str(path), keywords=KEYWORDS, options=_jinja_options()
        ):
            yield Source(_first_id(message), f"{path.relative_to(ROOT)}:{lineno}")


def _string_values(node: ast.expr) -> list[str]:
    """English strings held by a literal table (dict values, or list/tuple/set items)."""
    items: list[ast.expr | None]
    if isinstance(node, ast.Dict):
        items = list(node.values)
    elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = list(node.elts)
    else:
        return []
    out: list[str] = []
    for item in items:
        if isinstance(item, ast.Constant) and isinstance(item.value, str):
            out.append(item.value)
        elif item is not None:
            out.extend(_string_values(item))
    return out


def message_tables() -> Iterator[Source]:
    """Literal tables whose entries are passed to gettext through a name lookup."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(APP.rglob("*.py"))}
    tables: dict[str, list[tuple[Path, int, list[str]]]] = defaultdict(list)
    for path, tree in trees.items():
        for stmt in tree.body:
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(stmt, ast.Assign):
                targets, value = list(stmt.targets), stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                targets, value = [stmt.target], stmt.value
            for target in targets:
                if isinstance(target, ast.Name) and value is not None:
                    strings = _string_values(value)
                    if strings:
                        tables[target.id].append((path, stmt.lineno, strings))
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in GETTEXT_NAMES
                and node.args
            ):
                continue
            argument = node.args[0]
            if isinstance(argument, ast.Constant):
                continue  # a literal: Babel's extractor has it
            for inner in ast.walk(argument):
                if isinstance(inner, ast.Name) and inner.id in tables:
                    for table_path, lineno, strings in tables[inner.id]:
                        where = f"{table_path.relative_to(ROOT)}:{lineno} ({inner.id})"
                        yield from (Source(s, where) for s in strings if s)
                elif isinstance(inner, ast.Constant) and isinstance(inner.value, str) and inner.value:
                    # e.g. the default in ERROR_TITLES.get(status, "Error")
                    yield Source(inner.value, f"{path.relative_to(ROOT)}:{node.lineno}")


def http_error_details() -> Iterator[Source]:
    """`HTTPException(..., detail="...")` on pages: app/main.py shows gettext(detail).

    The JSON API (app/surfaces/api/) answers in English and is left out.
    """
    for path in sorted(APP.rglob("*.py")):
        if (APP / "surfaces" / "api") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name != "HTTPException":
                continue
            details = [k.value for k in node.keywords if k.arg == "detail"] + node.args[1:2]
            for detail in details:
                if isinstance(detail, ast.Constant) and isinstance(detail.value, str) and detail.value:
                    yield Source(detail.value, f"{path.relative_to(ROOT)}:{node.lineno} (HTTPException)")


def all_sources() -> list[Source]:
    return [*python_calls(), *template_strings(), *message_tables(), *http_error_details()]


class _RecordingParser(PoFileParser):
    """Babel's own .po parser, keeping every entry (a Catalog keeps only the last of duplicates)."""

    def __init__(self, catalog: Catalog) -> None:
        super().__init__(catalog, ignore_obsolete=True, abort_invalid=True)
        self.entries: list[tuple[str, str, bool, int]] = []

    def _add_message(self) -> None:
        msgid = self.messages[0].denormalize()
        translations = [t.denormalize() for _i, t in sorted(self.translations)]
        fuzzy = "fuzzy" in self.flags
        if not self.obsolete:
            self.entries.append((msgid, translations[0] if translations else "", fuzzy, self.offset + 1))
        super()._add_message()


def read_entries(path: Path) -> list[tuple[str, str, bool, int]]:
    parser = _RecordingParser(Catalog(locale="ja"))
    with path.open("rb") as fh:
        parser.parse(fh)
    return parser.entries


PO_FILES = sorted((LOCALE / "ja").glob("*.po"))


@pytest.mark.parametrize("path", PO_FILES, ids=[p.name for p in PO_FILES])
def test_po_file_is_readable_by_babel(path: Path) -> None:
    try:
        read_entries(path)
    except PoFileError as error:
        pytest.fail(f"{path.relative_to(ROOT)} cannot be parsed: {error}")


def japanese_translations() -> tuple[dict[str, dict[str, list[str]]], list[str]]:
    """msgid -> {Japanese text -> [places]}; and the fuzzy/empty entries."""
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    unusable: list[str] = []
    for path in PO_FILES:
        try:
            entries = read_entries(path)
        except PoFileError:
            continue  # reported by test_po_file_is_readable_by_babel
        for msgid, msgstr, fuzzy, lineno in entries:
            if not msgid:
                continue  # the header
            place = f"{path.relative_to(ROOT)}:{lineno}"
            if fuzzy or not msgstr.strip():
                unusable.append(f"{msgid!r} ({place}: {'fuzzy' if fuzzy else 'empty'})")
                continue
            found[msgid][msgstr].append(place)
    return found, unusable


def test_every_string_has_a_japanese_translation() -> None:
    sources = all_sources()
    assert any(s.msgid == "Skip to main content" for s in sources), "extraction found nothing"
    assert any(s.msgid == "Page not found" for s in sources), "message tables were not read"
    translations, _unusable = japanese_translations()
    missing: dict[str, list[str]] = defaultdict(list)
    for source in sources:
        if source.msgid not in translations:
            missing[source.msgid].append(source.where)
    report = "\n".join(f"  {msgid!r}  <- {', '.join(sorted(set(w)))}" for msgid, w in sorted(missing.items()))
    assert not missing, f"{len(missing)} msgid(s) without a Japanese translation in locale/ja/*.po:\n{report}"


def test_no_string_is_translated_two_ways() -> None:
    translations, unusable = japanese_translations()
    conflicts = {msgid: by_text for msgid, by_text in translations.items() if len(by_text) > 1}
    report = "\n".join(
        f"  {msgid!r}: " + " / ".join(f"{text!r} ({', '.join(places)})" for text, places in by_text.items())
        for msgid, by_text in sorted(conflicts.items())
    )
    assert not conflicts, f"msgid(s) translated differently in two places:\n{report}"
    assert not unusable, "fuzzy or empty entries (the app ignores them):\n  " + "\n  ".join(unusable)


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")


def test_translations_keep_the_placeholders() -> None:
    translations, _unusable = japanese_translations()
    broken = []
    for msgid, by_text in translations.items():
        wanted = sorted(PLACEHOLDER.findall(msgid))
        for text, places in by_text.items():
            if sorted(PLACEHOLDER.findall(text)) != wanted:
                broken.append(f"  {msgid!r} -> {text!r} ({', '.join(places)})")
    assert not broken, "translation(s) that drop or add a placeholder:\n" + "\n".join(broken)
