"""Building blocks of the models of the files users edit: a strict base model and value types.

Each type checks one kind of value and, when it is wrong, raises a problem whose text
(``data_schema/i18n.yaml``, keys ``cfg_*``) says what was expected; the formatter
(:mod:`ctc_helpers.config.messages`) adds the file, the key path and the value.

>>> from ctc_helpers.config.messages import check
>>> class Example(FileModel):
...     size: whole(minimum=1)
>>> check(Example, {"size": 0})[1][0].text("en")
'size is 0; expected a whole number of at least 1.'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainValidator

from ctc_helpers.config.messages import problem

__all__ = [
    "FileModel",
    "OpenModel",
    "Texts",
    "Text",
    "TextOrTexts",
    "Date",
    "whole",
    "number",
    "choice",
    "id_text",
    "nonempty_list",
    "known",
]


class FileModel(BaseModel):
    """Base of the file models: unknown keys refused, no silent conversion of values."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class OpenModel(FileModel):
    """An entry that may carry more keys than the workbench reads (documentation, rules)."""

    model_config = ConfigDict(extra="allow")


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise problem("cfg_text")
    return value.strip()


Text = Annotated[str, PlainValidator(_text)]
"""A non-empty text (surrounding spaces removed)."""


class Texts(FileModel):
    """A text in each language: ``{sv: ..., en: ...}``."""

    sv: Text
    en: Text

    def as_dict(self) -> dict[str, str]:
        return {"sv": self.sv, "en": self.en}


def _text_or_texts(value: Any) -> str | dict[str, str] | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and all(isinstance(value.get(k), str) for k in ("sv", "en")):
        return {"sv": value["sv"], "en": value["en"]}
    raise problem("cfg_text_or_texts")


TextOrTexts = Annotated[str | dict[str, str] | None, PlainValidator(_text_or_texts)]
"""A text, or ``{sv: ..., en: ...}``, or null."""


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise problem("cfg_date")


Date = Annotated[dt.date, PlainValidator(_date)]
"""A date: YAML's 2025-11-18, or the same as quoted text."""


def whole(*, minimum: int | None = None, maximum: int | None = None, key: str = "") -> Any:
    """A whole number (not true/false, not 2.0), optionally within ``minimum..maximum``.

    ``key`` replaces the text of the problem (it gets ``min`` and ``max``).
    """
    if key:
        text = key
    elif minimum is not None and maximum is not None:
        text = "cfg_whole_range"
    else:
        text = "cfg_whole_min" if minimum is not None else "cfg_whole"

    def check(value: Any) -> int:
        bad = isinstance(value, bool) or not isinstance(value, int)
        low = value if bad or minimum is None else minimum
        if bad or not low <= value <= (value if maximum is None else maximum):
            raise problem(text, min=minimum, max=maximum)
        return value

    return Annotated[int, PlainValidator(check)]


def number(*, minimum: float, maximum: float, key: str = "cfg_number_range") -> Any:
    """A number (whole or decimal, not true/false) from ``minimum`` to ``maximum``."""

    def check(value: Any) -> float:
        bad = isinstance(value, bool) or not isinstance(value, int | float)
        if bad or not minimum <= value <= maximum:
            raise problem(key, min=minimum, max=maximum)
        return float(value)

    return Annotated[float, PlainValidator(check)]


def choice(options: Iterable[str] | Callable[[], Iterable[str]], *, key: str = "cfg_choice") -> Any:
    """One of ``options`` (a tuple, or a function giving them when a value is checked)."""

    def check(value: Any) -> str:
        allowed = tuple(options() if callable(options) else options)
        if not isinstance(value, str) or value not in allowed:
            raise problem(key, allowed=allowed)
        return value

    return Annotated[str, PlainValidator(check)]


def id_text(pattern: str, *, key: str) -> Any:
    """A text matching ``pattern`` in full (an id); ``key`` says what an id may contain."""
    compiled = re.compile(pattern)

    def check(value: Any) -> str:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise problem(key)
        return value

    return Annotated[str, PlainValidator(check)]


def nonempty_list(value: Any) -> Any:
    """A ``BeforeValidator`` body: refuse an empty list (or a non-list) with one clear text."""
    if not isinstance(value, list) or not value:
        raise problem("cfg_nonempty_list")
    return value


def known(values: dict[str, Any] | set[str], *, key: str, **extra: Any) -> Callable[[Any], str]:
    """An ``AfterValidator`` body: the value must be one of ``values`` (the text lists them)."""

    def check(value: Any) -> str:
        if value not in values:
            raise problem(key, known=sorted(map(str, values)), **extra)
        return value

    return check
