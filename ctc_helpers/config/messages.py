"""One formatter for every problem in a file a user edits: Swedish by default, English on request.

The loaders of :mod:`ctc_helpers.config` describe their files with pydantic models. Whatever goes
wrong (a missing key, a value of the wrong type, an unknown id, a file that cannot be read) ends
up as a :class:`Problem` and is raised as one :class:`ConfigFileError` per file, listing every
problem found. Each line names the key path and the offending value, e.g. (English)::

    run.yaml has 2 problems:
      - min_cell is 'ten'; expected a whole number of at least 1.
      - overrides.norr.parameters.low_reach is 'abc'; the notebook 03_gap_analysis expects float
        (low_reach: float = 0.3).

**Key paths** join mapping keys with dots; a list entry is shown by its ``id`` when it has one
(``goals[alcohol-30d].target``), otherwise by its position counted from 1 (``waves[2]``).

**Texts** live in ``data_schema/i18n.yaml`` under keys starting with ``cfg_``. A validator raises
``problem("cfg_...", **values)``; the formatter fills in ``{path}`` and ``{value}`` and any values
given. A text may be a whole line (it contains ``{path}``), a line after the path (it contains
``{value}``), or a requirement that is shown as ``<path> is <value>; <text>``. pydantic's own
error types (``missing``, ``int_type`` ...) are mapped to such texts in :data:`PYDANTIC_TEXTS`.

The message is rendered when it is read: ``str(error)`` in the default language (``CTC_LANG``,
else Swedish), ``error.text("en")`` in another.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from ctc_helpers.errors import ConfigError
from ctc_helpers.i18n import check_language, t

__all__ = [
    "NO_VALUE",
    "MAX_LISTED",
    "PYDANTIC_TEXTS",
    "Problem",
    "Text",
    "ConfigFileError",
    "problem",
    "problems_from",
    "key_path",
    "validate",
    "check",
    "raise_problems",
    "show_value",
]


class _NoValue:
    """The value of a problem that has none (a missing key); one object, also after pickling."""

    def __repr__(self) -> str:
        return "NO_VALUE"

    def __reduce__(self) -> str:
        return "NO_VALUE"


NO_VALUE: Any = _NoValue()
MAX_LISTED = 20  # problems listed in one message; the rest are counted
_VALUE_WIDTH = 80
_SIMPLE_ID = re.compile(r"[A-Za-z_][\w.\-]{0,39}")
M = TypeVar("M", bound=BaseModel)

# pydantic's error types -> the project's texts (the others fall back to cfg_invalid).
PYDANTIC_TEXTS = {
    "missing": "cfg_missing",
    "extra_forbidden": "cfg_unknown_key",
    "string_type": "cfg_string",
    "string_too_short": "cfg_text",
    "int_type": "cfg_whole",
    "int_parsing": "cfg_whole",
    "int_from_float": "cfg_whole",
    "float_type": "cfg_number",
    "float_parsing": "cfg_number",
    "finite_number": "cfg_number",
    "bool_type": "cfg_bool",
    "bool_parsing": "cfg_bool",
    "list_type": "cfg_list",
    "tuple_type": "cfg_list",
    "dict_type": "cfg_mapping",
    "model_type": "cfg_mapping",
    "model_attributes_type": "cfg_mapping",
    "too_short": "cfg_too_short",
    "too_long": "cfg_too_long",
    "greater_than_equal": "cfg_at_least",
    "less_than_equal": "cfg_at_most",
    "greater_than": "cfg_above",
    "less_than": "cfg_below",
    "literal_error": "cfg_choice",
    "date_type": "cfg_date",
    "date_parsing": "cfg_date",
    "date_from_datetime_parsing": "cfg_date",
}
_CONTEXT_NAMES = {"ge": "limit", "le": "limit", "gt": "limit", "lt": "limit", "expected": "allowed"}


@dataclass(frozen=True)
class Text:
    """A value of a problem that is itself a text key, translated with the message."""

    key: str


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file: where (``path``), which text (``key``) and the value.

    ``values`` fill the text's placeholders; a list or tuple is written comma-separated.
    ``value`` is the offending value (``NO_VALUE`` when there is none, e.g. a missing key).
    """

    path: str
    key: str
    values: Mapping[str, Any] = field(default_factory=dict)
    value: Any = NO_VALUE

    def text(self, lang: str | None = None) -> str:
        """The problem as one line in ``lang`` (without the file name)."""
        values = {k: _show_item(v, lang) for k, v in self.values.items()}
        shown = show_value(self.value)
        body = t(self.key, lang, path=self.path, value=shown, **values)
        template = t(self.key, "en", path="{path}", value="{value}", **values)
        if "{path}" in template or not self.path:
            return body
        if "{value}" in template:
            return f"{self.path} {body}"
        if self.value is NO_VALUE:
            return f"{self.path}: {body}"
        return t("cfg_line_value", lang, path=self.path, value=shown, problem=body)


class ConfigFileError(ConfigError):
    """Every problem found in one file, rendered in Swedish or English when read.

    ``file`` is the name shown (usually the file name; ``""`` for a problem with no file);
    ``problems`` the :class:`Problem` objects, in the order they were found.
    """

    def __init__(self, file: str, problems: Sequence[Problem]) -> None:
        super().__init__(file, tuple(problems))
        self.file = file
        self.problems = tuple(problems)

    def text(self, lang: str | None = None) -> str:
        """The whole message in ``lang`` (default: ``CTC_LANG``, else Swedish)."""
        lang = check_language(lang)
        lines = [p.text(lang) for p in self.problems[:MAX_LISTED]]
        if len(self.problems) > MAX_LISTED:
            lines.append(t("cfg_more", lang, n=len(self.problems) - MAX_LISTED))
        if len(lines) == 1:
            return f"{self.file}: {lines[0]}" if self.file else lines[0]
        head = t("cfg_problems", lang, file=self.file or "?", n=len(self.problems))
        return "\n".join([head, *(f"  - {line}" for line in lines)])

    def __str__(self) -> str:
        return self.text()


def problem(key: str, /, **values: Any) -> PydanticCustomError:
    """The error a validator raises: ``raise problem("cfg_unknown_area", known=[...])``.

    ``key`` is a text of ``data_schema/i18n.yaml``; the formatter adds the path and the value.
    """
    return PydanticCustomError(key, key, values)


def show_value(value: Any) -> str:
    """A value as the user wrote it in YAML, shortened to about 80 characters.

    >>> show_value(None), show_value(True), show_value("abc"), show_value([1, "a"])
    ('null', 'true', "'abc'", "[1, 'a']")
    """
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = repr(value)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"


def _show_item(value: Any, lang: str | None) -> Any:
    if isinstance(value, Text):
        return t(value.key, lang)
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(v) for v in value)
    return value


# --------------------------------------------------------------------------------------------
# pydantic errors -> problems


def problems_from(error: ValidationError, *, model: Any, raw: Any) -> list[Problem]:
    """The problems of a pydantic ValidationError, with key paths read from ``raw``.

    ``model`` is the type that was validated (a model class, or a type such as ``list[Goal]``);
    it gives the allowed keys of an unknown key.
    """
    return [_problem(e, model, raw) for e in error.errors(include_url=False)]


def _problem(error: Mapping[str, Any], model: Any, raw: Any) -> Problem:
    loc = tuple(error["loc"])
    kind = error["type"]
    values = dict(error.get("ctx") or {})
    is_key = bool(loc) and loc[-1] == "[key]"
    place = loc[:-1] if is_key else loc
    if kind == "extra_forbidden":
        values["allowed"] = _allowed_keys(model, place[:-1])
        return Problem(key_path(place, raw), "cfg_unknown_key", values)
    if kind == "missing":
        return Problem(key_path(place, raw), "cfg_missing", values)
    key = kind if kind.startswith("cfg_") else PYDANTIC_TEXTS.get(kind, "cfg_invalid")
    if is_key and not kind.startswith("cfg_"):
        key = "cfg_bad_key"
    if key == "cfg_invalid":
        values = {"detail": error.get("msg", kind)}
    if key == "cfg_mapping" and not place:
        key, values = "cfg_root_mapping", {"keys": _allowed_keys(model, ())}
    values = {_CONTEXT_NAMES.get(k, k): v for k, v in values.items()}
    parent = place[:-1] if is_key else place
    return Problem(key_path(parent, raw), key, values, error.get("input"))


def key_path(loc: Iterable[Any], raw: Any) -> str:
    """``goals[alcohol].target`` from ``("goals", 0, "target")`` and the raw data.

    >>> key_path(("goals", 0, "target"), {"goals": [{"id": "alcohol"}]})
    'goals[alcohol].target'
    >>> key_path(("waves", 1), {"waves": [2023, 2025]})
    'waves[2]'
    """
    text, node = "", raw
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            label = item.get("id") if isinstance(item, dict) else None
            shown = label if isinstance(label, str) and _SIMPLE_ID.fullmatch(label) else part + 1
            text += f"[{shown}]"
            node = item
        else:
            text += f".{part}" if text else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return text


def _allowed_keys(model: Any, loc: Sequence[Any]) -> list[str]:
    """The keys the model allows at ``loc`` (empty when they cannot be told)."""
    current = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            found = current.model_fields.get(str(part))
            if found is None:
                return []
            current = found.annotation
        elif get_origin(current) in (list, tuple, dict):
            current = get_args(current)[-1 if get_origin(current) is dict else 0]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """The model, list or dict inside ``Annotated[...]`` and ``X | None``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            arms = [a for a in get_args(annotation) if a is not type(None)]
            annotation = arms[0]
        else:
            return annotation


# --------------------------------------------------------------------------------------------
# Validating a file


def check(model: type[M], raw: Any, *, context: Any = None) -> tuple[M | None, list[Problem]]:
    """Validate ``raw`` against ``model``: the instance (None on failure) and the problems."""
    try:
        return model.model_validate(raw, context=context), []
    except ValidationError as error:
        return None, problems_from(error, model=model, raw=raw)


def validate(model: type[M], raw: Any, *, file: str, context: Any = None) -> M:
    """Validate ``raw`` against ``model``, or raise one ConfigFileError listing every problem."""
    instance, problems = check(model, raw, context=context)
    raise_problems(file, problems)
    return instance


def raise_problems(file: str, problems: Sequence[Problem]) -> None:
    """Raise a :class:`ConfigFileError` when there is any problem."""
    if problems:
        raise ConfigFileError(file, problems)
