"""Which msgids a guardian can meet: the strings the guardian languages must translate.

A guardian sees the shared layout, the guardian and sign-in pages, the error pages, the
disclosure package, the e-mails sent to families, and the messages of the modules behind
those pages. The msgids are found the way tests/i18n/test_catalogues.py finds every msgid
(Babel's extractor, message tables, HTTPException details), kept when their source is in
one of the places below. Messages a module hands to gettext through a variable (a
validation function returning its message, a table of sign-in problems) cannot be seen by
an extractor; a string literal in a guardian module that the Japanese catalogue
translates is such a message, so it is kept too (codes such as "confirmed" are not).

Run as a script to print the count: `python -m tests.i18n.guardian_scope`.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

from tests.i18n.test_catalogues import (
    PO_FILES,
    ROOT,
    all_sources,
    read_entries,
)

# Templates (paths under templates/) and their folders, ending in "/".
TEMPLATES = (
    "base.html",
    "components/",
    "errors/",
    "guardian/",
    "home/start.html",
    "accounts/signin.html",
    "accounts/email_sent.html",
    "accounts/email_confirm.html",
    "accounts/link.html",
    "accounts/problem.html",
    "requests/package.html",
    "email/guardian_",
    "email/accounts_email_signin.txt",
    "email/choices_carried_over.txt",
    "email/incident_notice.txt",
    "email/reach_change_reminder.txt",
    "email/staff_choice_recorded.txt",
)

# Python modules (paths under app/) and packages, ending in "/". A module mapped to names
# contributes only the messages of those functions; the rest of it speaks to staff.
MODULES: dict[str, tuple[str, ...] | None] = {
    "errors.py": None,
    "i18n.py": ("untranslated_note",),
    "surfaces/errors.py": None,
    "surfaces/middleware.py": None,
    "surfaces/guardian/": None,
    "surfaces/auth/": None,
    "domain/accounts/language.py": None,
    "domain/accounts/email_signin.py": None,
    "domain/accounts/linking.py": None,
    "domain/choices/": None,
    "domain/requests/labels.py": None,
    "domain/requests/package.py": None,
    "domain/requests/service.py": ("_text_problem", "submit"),
    "domain/incidents/notify.py": None,
    "domain/evidence/": None,
}
# Parts of domain/choices that only staff use (imports of earlier paper choices).
EXCLUDED_MODULES = ("domain/choices/carry_over.py",)


def _template_in_scope(relative: str) -> bool:
    # An entry ending in "/" is a folder; one ending in "_" is the start of file names.
    return any(relative == e or (e.endswith(("/", "_")) and relative.startswith(e)) for e in TEMPLATES)


def _module_rule(relative: str) -> tuple[bool, tuple[str, ...] | None]:
    if relative in EXCLUDED_MODULES:
        return False, None
    for entry, functions in MODULES.items():
        if relative == entry or (entry.endswith("/") and relative.startswith(entry)):
            return True, functions
    return False, None


@lru_cache
def _function_spans(path: Path) -> dict[str, tuple[int, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name: (node.lineno, node.end_lineno or node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def _python_place_in_scope(relative: str, lineno: int) -> bool:
    in_scope, functions = _module_rule(relative)
    if not in_scope:
        return False
    if functions is None:
        return True
    spans = _function_spans(ROOT / "app" / relative)
    return any(spans[name][0] <= lineno <= spans[name][1] for name in functions if name in spans)


def _place_in_scope(where: str) -> bool:
    path, _sep, rest = where.partition(":")
    number = re.match(r"\d+", rest)
    lineno = int(number.group()) if number else 0
    if path.startswith("templates/"):
        return _template_in_scope(path.removeprefix("templates/"))
    if path.startswith("app/"):
        return _python_place_in_scope(path.removeprefix("app/"), lineno)
    return False


_CODE = re.compile(r"[a-z_]+")


def japanese_msgids() -> set[str]:
    """The msgids locale/ja translates, less those that read like codes."""
    entries = {msgid for path in PO_FILES for msgid, _text, _fuzzy, _line in read_entries(path) if msgid}
    return {msgid for msgid in entries if not _CODE.fullmatch(msgid)}


def _indirect_python(japanese: set[str]) -> set[str]:
    found: set[str] = set()
    for path in sorted((ROOT / "app").rglob("*.py")):
        relative = str(path.relative_to(ROOT / "app"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value in japanese
                and _python_place_in_scope(relative, node.lineno)
            ):
                found.add(node.value)
    return found


_QUOTED = re.compile(r'"((?:[^"\\]|\\.)+)"' + r"|'((?:[^'\\]|\\.)+)'")


def _indirect_templates(japanese: set[str]) -> set[str]:
    found: set[str] = set()
    for path in sorted((ROOT / "templates").rglob("*")):
        relative = str(path.relative_to(ROOT / "templates"))
        if path.is_file() and _template_in_scope(relative):
            for match in _QUOTED.finditer(path.read_text(encoding="utf-8")):
                text = match.group(1) or match.group(2)
                if text in japanese:
                    found.add(text)
    return found


@lru_cache
def guardian_msgids() -> frozenset[str]:
    """Every msgid a guardian can meet on a page or in an e-mail."""
    direct = {source.msgid for source in all_sources() if _place_in_scope(source.where)}
    japanese = japanese_msgids()
    return frozenset(direct | _indirect_python(japanese) | _indirect_templates(japanese))


if __name__ == "__main__":
    print(len(guardian_msgids()), "guardian-facing msgids")
