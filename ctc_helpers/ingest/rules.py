"""Column rules of the respondent table, built from ``data_schema/``, and the header check.

:func:`build_rules` turns the instrument, the respondent schema (``data_schema/respondents.yaml``)
and the area list into one :class:`ColumnRule` per column: its kind, the accepted spellings of
each code and the allowed values as the user reads them (sv and en). Parsing
(:mod:`ctc_helpers.ingest.parsing`) and the pandera schema (:mod:`ctc_helpers.ingest.schema`) are
built from these rules. :func:`check_columns` is validation step 1: the header of a file against
the rules.

Examples
--------
>>> from ctc_helpers.config.instrument import load_instrument, load_respondent_schema
>>> from ctc_helpers.paths import REPO_ROOT
>>> mini = load_instrument(REPO_ROOT / "tests" / "data" / "mini_instrument.yaml")
>>> areas = pd.DataFrame({"area_id": ["norr"], "name": ["Norr"], "municipality": ["Exempelstad"]})
>>> rules = build_rules(mini, load_respondent_schema(), areas)
>>> rules.columns["grade"].kind, rules.columns["fa_conf_1"].rule, rules.id_column
('grade', 'invalid_code', 'respondent_id')
>>> check_columns(["respondent_id", "wave", "area", "grade", "sex", "fa_conf_1"], rules,
...               file="enkät.csv", lang="en")[:2]
['fa_conf_2', 'fa_conf_3']
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ctc_helpers.config.instrument import Instrument, RespondentSchema
from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import t, text_of
from ctc_helpers.ingest.values import UNNAMED_PREFIX, number_text, quoted, text_key

__all__ = [
    "ColumnRule",
    "TableRules",
    "build_rules",
    "check_columns",
    "number_allowed",
]

_KIND_RULES = {
    "item": "invalid_code",
    "grade": "unknown_grade",
    "sex": "unknown_sex",
    "area": "unknown_area",
    "int": "out_of_range",
    "float": "out_of_range",
    "id": "missing_value",
    "text": "missing_value",
}


@dataclass(frozen=True)
class ColumnRule:
    """How one column of the respondent table is read and checked.

    ``kind`` is one of ``id, text, int, float, grade, sex, area, item``. For coded kinds,
    ``lookup`` maps a normalised text (see :func:`text_key`) to a code (items) or to an index
    into ``categories`` (grade, sex, area).
    """

    name: str
    kind: str
    required: bool
    nullable: bool
    categories: tuple[Any, ...] = ()
    lookup: Mapping[str, int] = field(default_factory=dict)
    labels: Mapping[str, int] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None
    unique: bool = False
    ordered: bool = False
    allowed: Mapping[str, str] = field(default_factory=dict)  # language -> allowed values text
    aliases: frozenset[str] = frozenset()  # keys read through an alias (not the code, not a label)

    @property
    def rule(self) -> str:
        """Rule id of a value this column does not accept."""
        return _KIND_RULES[self.kind]


@dataclass(frozen=True)
class TableRules:
    """Every column rule of the respondent table for one instrument and area list."""

    columns: dict[str, ColumnRule]
    item_ids: tuple[str, ...]
    instrument_label: str
    area_source: str

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns.values() if c.required)

    @property
    def id_column(self) -> str | None:
        return next((c.name for c in self.columns.values() if c.kind == "id"), None)


# --------------------------------------------------------------------------------------------
# Rules built from data_schema


def build_rules(
    instrument: Instrument,
    respondent_schema: RespondentSchema,
    areas: pd.DataFrame,
    *,
    area_source: str = "",
) -> TableRules:
    """Column rules of the respondent table from the instrument, the schema and the area list.

    ``areas`` has the columns ``area_id`` and ``name`` (see :func:`ctc_helpers.load_areas`);
    ``area_source`` names the area list in messages.
    """
    columns = {
        spec["name"]: _schema_column(spec, respondent_schema, areas, area_source)
        for spec in respondent_schema.columns
    }
    for item in instrument.items.values():
        columns[item.id] = _item_column(item)
    label = f"{text_of(instrument.title, 'sv')} ({instrument.id} {instrument.version})"
    return TableRules(columns, tuple(instrument.items), label, area_source)


def _schema_column(
    spec: dict, schema: RespondentSchema, areas: pd.DataFrame, area_source: str
) -> ColumnRule:
    dtype, required = spec.get("dtype", "string"), bool(spec.get("required", False))
    base = {
        "name": spec["name"],
        "required": required,
        "nullable": bool(spec.get("nullable", not required)),
        "minimum": spec.get("min"),
        "maximum": spec.get("max"),
        "unique": bool(spec.get("unique", False)),
    }
    if dtype == "grade":
        return _coded(base, "grade", schema.grades, schema.grade_aliases, ordered=True)
    if dtype == "sex":
        return _coded(base, "sex", schema.sexes, schema.sex_aliases)
    if dtype == "area":
        return _area_column(base, areas, area_source)
    if dtype in ("int", "float"):
        return ColumnRule(kind=dtype, **base)  # allowed text: number_allowed, when needed
    kind = "id" if base["unique"] else "text"
    return ColumnRule(kind=kind, **base)


def _coded(base: dict, kind: str, entries, aliases: dict, *, ordered: bool = False) -> ColumnRule:
    codes = tuple(e["code"] for e in entries)
    lookup = {text_key(alias): codes.index(code) for alias, code in aliases.items()}
    spelled = {text_key(e["code"]) for e in entries} | {
        text_key(label) for e in entries for label in e["label"].values()
    }
    alias_keys = frozenset(key for key in lookup if key not in spelled)
    for entry in entries:  # the labels (sv, en) are accepted spellings too
        for label in entry["label"].values():
            lookup.setdefault(text_key(label), codes.index(entry["code"]))
    allowed = {
        lang: ", ".join(f"{text_of(e['label'], lang)} ({e['code']})" for e in entries)
        for lang in ("sv", "en")
    }
    return ColumnRule(
        kind=kind, categories=codes, lookup=lookup, ordered=ordered, allowed=allowed,
        aliases=alias_keys, **base,
    )  # fmt: skip


def _area_column(base: dict, areas: pd.DataFrame, source: str) -> ColumnRule:
    ids = tuple(str(a) for a in areas["area_id"])
    lookup = {text_key(name): i for i, name in enumerate(areas["name"])}
    lookup.update({text_key(area_id): i for i, area_id in enumerate(ids)})
    shown = [
        name if text_key(name) == text_key(area_id) else f"{name} ({area_id})"
        for area_id, name in zip(ids, areas["name"], strict=True)
    ]
    allowed = {lang: _shorten(shown, lang, source) for lang in ("sv", "en")}
    return ColumnRule(kind="area", categories=ids, lookup=lookup, allowed=allowed, **base)


def _item_column(item) -> ColumnRule:
    response_set = item.response_set
    labels: dict[str, int] = {}
    for lang in ("sv", "en"):
        for code, label in response_set.labels(lang).items():
            labels.setdefault(text_key(label), code)
    allowed = {
        lang: ", ".join(f"{code} = {label}" for code, label in response_set.labels(lang).items())
        for lang in ("sv", "en")
    }
    return ColumnRule(
        name=item.id,
        kind="item",
        required=False,
        nullable=True,
        categories=response_set.codes,
        lookup={str(code): code for code in response_set.codes},
        labels=labels,
        allowed=allowed,
    )


def number_allowed(rule: ColumnRule, lang: str) -> str:
    """The allowed values of an ``int`` or ``float`` column as words (``a whole number from 0
    to 120``), for the reason of a rejected value."""
    low, high = rule.minimum, rule.maximum
    key = f"ingest_allowed_{rule.kind}_" + ("range" if high is not None else "min")
    if low is None:
        key = f"ingest_allowed_{rule.kind}_any"
    return t(key, lang, min=number_text(low), max=number_text(high))


def _shorten(values: list[str], lang: str, source: str, limit: int = 12) -> str:
    if len(values) <= limit:
        return ", ".join(values)
    more = t("ingest_allowed_more", lang, n=len(values) - limit, file=source or "?")
    return ", ".join(values[:limit]) + " " + more


# --------------------------------------------------------------------------------------------
# Step 1: the header


def check_columns(
    columns: Iterable[str],
    rules: TableRules,
    *,
    file: str,
    lang: str | None = None,
    head: pd.DataFrame | None = None,
) -> list[str]:
    """Stop with an InputFileError when required columns are missing or no item is present.

    ``head`` (the first rows of the raw table, indexed by row number) lets the message point at
    a header that sits lower in the file. Returns the item columns of the instrument that are
    missing (they are kept as unanswered; the caller warns about them).
    """
    found = [str(c) for c in columns]
    present = set(found)
    missing = [name for name in rules.required if name not in present]
    if missing:
        raise InputFileError(_missing_columns_message(missing, found, rules, file, lang, head))
    absent_items = [item for item in rules.item_ids if item not in present]
    if len(absent_items) == len(rules.item_ids):
        raise InputFileError(
            t(
                "ingest_no_items",
                lang,
                file=file,
                n=len(rules.item_ids),
                examples=quoted(rules.item_ids[:5]),
                instrument=rules.instrument_label,
            )
        )
    return absent_items


def _missing_columns_message(missing, found, rules, file, lang, head) -> str:
    header_row = _header_row_in(head, rules.required)
    if header_row is not None:
        return t("ingest_header_elsewhere", lang, file=file, row=header_row)
    named = [c for c in found if not c.startswith(UNNAMED_PREFIX)]
    shown = quoted(named[:30]) + (" …" if len(named) > 30 else "")
    if len(named) < len(found):
        shown += " " + t("ingest_unnamed_columns", lang, n=len(found) - len(named))
    message = t("ingest_missing_columns", lang, file=file, missing=quoted(missing), found=shown)
    hints = _near_matches(missing, [c for c in found if c not in rules.columns])
    if hints:
        pairs = ", ".join(f"'{seen}' → '{wanted}'" for wanted, seen in hints)
        message += " " + t("ingest_did_you_mean", lang, pairs=pairs)
    return message


def _near_matches(missing: list[str], candidates: list[str]) -> list[tuple[str, str]]:
    by_key = {_column_key(c): c for c in candidates}
    hints = []
    for name in missing:
        if _column_key(name) in by_key:
            hints.append((name, by_key[_column_key(name)]))
            continue
        close = difflib.get_close_matches(_column_key(name), list(by_key), n=1, cutoff=0.75)
        if close:
            hints.append((name, by_key[close[0]]))
    return hints


def _column_key(name: str) -> str:
    return re.sub(r"[\s_\-.]+", "", unicodedata.normalize("NFC", str(name)).casefold())


def _header_row_in(head: pd.DataFrame | None, required: tuple[str, ...]) -> int | None:
    """Row number (as in the file) of a data row holding most required column names."""
    if head is None or head.empty:
        return None
    wanted = {_column_key(r) for r in required}
    for row_number, values in head.astype(object).iterrows():
        keys = {_column_key(v) for v in values if isinstance(v, str)}
        if len(wanted & keys) * 2 > len(wanted):
            return int(row_number)
    return None
