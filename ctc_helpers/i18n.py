"""Swedish and English texts for everything a user reads.

Texts live in ``data_schema/i18n.yaml`` as ``key: {sv: ..., en: ...}``. Swedish is the default;
the environment variable ``CTC_LANG`` or an explicit ``lang`` argument selects English.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from ctc_helpers.config.yaml_load import load_yaml
from ctc_helpers.errors import ConfigError
from ctc_helpers.paths import SCHEMA_DIR

__all__ = ["LANGUAGES", "default_language", "check_language", "message_keys", "t", "text_of"]

LANGUAGES = ("sv", "en")


def default_language() -> str:
    """The language chosen by ``CTC_LANG`` (``sv`` when unset or unknown)."""
    lang = os.environ.get("CTC_LANG", "sv").strip().lower()
    return lang if lang in LANGUAGES else "sv"


def check_language(lang: str | None) -> str:
    """Return a valid language code, or raise a ValueError naming the allowed ones.

    >>> check_language("en")
    'en'
    >>> check_language(None) in LANGUAGES
    True
    """
    if lang is None:
        return default_language()
    if lang not in LANGUAGES:
        raise ValueError(f"Unknown language {lang!r}; choose one of: {', '.join(LANGUAGES)}.")
    return lang


@cache
def _messages(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        data = load_yaml(handle)
    for key, texts in data.items():
        missing = [lang for lang in LANGUAGES if not isinstance(texts, dict) or lang not in texts]
        if missing:
            raise ConfigError(f"{path.name}: text {key!r} has no {', '.join(missing)} version.")
    return data


def message_keys() -> frozenset[str]:
    """The keys of every text in ``data_schema/i18n.yaml``."""
    return frozenset(_messages(SCHEMA_DIR / "i18n.yaml"))


def t(key: str, lang: str | None = None, /, **values: object) -> str:
    """Translate a message key, filling ``{placeholders}`` from ``values``.

    >>> t("suppressed_note", "en", min_n=10)
    'fewer than 10 answers or too few with the answer, or hidden so that a small group cannot be worked out'
    >>> t("suppressed_note", "sv", min_n=10)
    'färre än 10 svar eller för få med svaret, eller dolt så att en liten grupp inte kan räknas fram'
    """
    texts = _messages(SCHEMA_DIR / "i18n.yaml")
    if key not in texts:
        raise KeyError(f"No text with key {key!r} in data_schema/i18n.yaml.")
    return texts[key][check_language(lang)].format(**values)


def text_of(mapping: dict[str, str] | str, lang: str | None = None) -> str:
    """Pick one language from a ``{sv: ..., en: ...}`` mapping taken from a schema file.

    >>> text_of({"sv": "Flickor", "en": "Girls"}, "en")
    'Girls'
    """
    if isinstance(mapping, str):
        return mapping
    return mapping[check_language(lang)]
