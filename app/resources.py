"""Where the files the app reads at run time are: templates, translations, static files and
migrations.

In the repository they are top-level folders; `app/_resources/` links to each of them, and a
wheel carries copies at that same place (package data). So one rule finds them from a checkout,
an editable install, an installed wheel or the container image, whatever the working directory.
"""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).parent / "_resources"
TEMPLATES_DIR = RESOURCES / "templates"
LOCALE_DIR = RESOURCES / "locale"
STATIC_DIR = RESOURCES / "static"
MIGRATIONS_DIR = RESOURCES / "migrations"
# The catalogue file's JSON Schema, and the demo board's catalogue file (docs/catalogue-file.md).
SCHEMAS_DIR = RESOURCES / "schemas"
DEMO_DIR = RESOURCES / "demo"
# Filled from npm by `make assets`; a build without them would serve pages without htmx or tokens.
VENDOR_FILES = (STATIC_DIR / "vendor" / "htmx.min.js", STATIC_DIR / "vendor" / "tokens.css")


def missing_vendor_files() -> list[str]:
    return [str(path.relative_to(RESOURCES)) for path in VENDOR_FILES if not path.is_file()]
