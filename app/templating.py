"""The Jinja environment for pages and plain-text e-mails (one set of filters and globals).

Domains render e-mail text through `render_text` when they queue a message; pages are
rendered by the web surface (`app.surfaces.web`). HTML is autoescaped; `.txt` is not.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, LANGUAGES, format_date, gettext, localized, ngettext
from app.resources import TEMPLATES_DIR

templates_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(
        ["html", "xml"], disabled_extensions=["txt"], default_for_string=True, default=True
    ),
    undefined=StrictUndefined,
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
templates_env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
templates_env.filters["date"] = lambda value, with_time=False: format_date(value, with_time=with_time)
templates_env.globals["LANGUAGES"] = LANGUAGES
templates_env.globals["DEFAULT_LANGUAGE"] = DEFAULT_LANGUAGE
templates_env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
templates_env.globals["localized"] = localized


def render_text(template: str, context: dict[str, Any]) -> str:
    """Plain-text templates (e-mails): autoescape off is right for text/plain only."""
    return templates_env.get_template(template).render(context)
