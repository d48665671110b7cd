"""The languages Tobira can be offered in (the `LANGUAGES` setting picks among them, ADR 0101)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    tag: str  # BCP 47, as in `lang` attributes and the cookie
    name: str  # in the language itself
    babel: str  # the Babel locale for dates and plural rules
    # A catalogue to read a msgid from when this language's own has none (やさしい日本語
    # reads Japanese before the English source).
    fallback: str | None = None

    @property
    def directory(self) -> str:
        return self.tag.replace("-", "_")


KNOWN_LANGUAGES: dict[str, Language] = {
    lang.tag: lang
    for lang in (
        Language("ja", "日本語", "ja"),
        Language("en", "English", "en"),
        Language("zh-Hans", "简体中文", "zh_Hans"),
        Language("vi", "Tiếng Việt", "vi"),
        Language("pt-BR", "Português (Brasil)", "pt_BR"),
        Language("fil", "Filipino", "fil"),
        Language("ne", "नेपाली", "ne"),
        Language("ja-x-easy", "やさしい にほんご", "ja", fallback="ja"),
    )
}
DEFAULT_OFFERED = ("ja", "en", "zh-Hans", "vi", "pt-BR", "fil", "ne", "ja-x-easy")
# The staff console is written in Japanese and English only; a reader of another language
# gets it in English (Japanese for やさしい日本語).
STAFF_LANGUAGES = ("ja", "en")
SOURCE_LANGUAGE = "ja"  # the language of board content on the models
