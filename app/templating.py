"""The Jinja environment for pages and plain-text e-mails (one set of filters and globals).

Domains render e-mail text through `render_text` when they queue a message; pages are
rendered by the web surface (`app.surfaces.web`). HTML is autoescaped; `.txt` is not.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_eval_context, select_autoescape
from jinja2.nodes import EvalContext

from app import i18n
from app.i18n import (
    LANGUAGE_NAMES,
    LANGUAGES,
    LocalizedText,
    format_date,
    gettext,
    localized,
    ngettext,
)
from app.languages import STAFF_LANGUAGES
from app.resources import TEMPLATES_DIR


@pass_eval_context
def _finalize(eval_ctx: EvalContext, value: Any) -> Any:
    """Board content shown in Japanese to a reader of another language carries its note:
    marked up on pages (`LocalizedText.__html__`), in brackets in plain-text e-mails."""
    if isinstance(value, LocalizedText) and not eval_ctx.autoescape:
        return value.plain()
    return value


templates_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(
        ["html", "xml"], disabled_extensions=["txt"], default_for_string=True, default=True
    ),
    undefined=StrictUndefined,
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_finalize,
)
templates_env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
# Board content where markup cannot go (<title>, <option>): the text alone, no note.
templates_env.filters["text"] = lambda value: str.__str__(value) if isinstance(value, str) else value
# Board content inside a sentence of a plain-text e-mail: the text with its note in brackets.
templates_env.filters["plain"] = lambda value: value.plain() if isinstance(value, LocalizedText) else value
templates_env.filters["date"] = lambda value, with_time=False: format_date(value, with_time=with_time)
templates_env.globals["LANGUAGES"] = LANGUAGES
templates_env.globals["default_language"] = i18n.default_language
templates_env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
templates_env.globals["STAFF_LANGUAGES"] = STAFF_LANGUAGES
templates_env.globals["localized"] = localized
templates_env.globals["untranslated"] = lambda value: isinstance(value, LocalizedText) and value.fallback


def render_text(template: str, context: dict[str, Any]) -> str:
    """Plain-text templates (e-mails): autoescape off is right for text/plain only."""
    return templates_env.get_template(template).render(context)
