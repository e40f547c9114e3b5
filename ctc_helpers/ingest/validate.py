"""Validation of survey tables against ``data_schema/``: column checks, value parsing, pandera.

Validation runs in three steps, each vectorised (no per-row Python):

1. :func:`check_columns` stops at file-level problems of the header (required columns missing,
   with near-match suggestions; no item column of the instrument at all).
2. :func:`parse_table` maps the raw values of every known column to the compact types of the
   ``respondents`` table (``docs/ARCHITECTURE.md``): item codes to ``Int8``, grade, sex and area
   aliases to categorical codes, numbers to small integers or floats. Values that cannot be
   accepted become a marker that fails step 3; a column in which no value is of the right kind
   stops the file.
3. The pandera schema of :func:`build_schema` (built from ``data_schema/``) checks the compact
   table lazily; :func:`find_problems` turns its failure cases into one problem per row and column,
   in the user's words (:func:`describe_problems`), or raises for file-level problems (duplicate
   respondent ids).

Examples
--------
>>> from ctc_helpers.config.instrument import load_respondent_schema
>>> from ctc_helpers.paths import REPO_ROOT
>>> mini = load_instrument(REPO_ROOT / "tests" / "data" / "mini_instrument.yaml")
>>> areas = pd.DataFrame({"area_id": ["norr"], "name": ["Norr"], "municipality": ["Exempelstad"]})
>>> rules = build_rules(mini, load_respondent_schema(), areas)
>>> raw = pd.DataFrame({"respondent_id": ["a", "b"], "wave": ["2025", "2025"],
...                     "area": ["Norr", "söder"], "grade": ["åk 7", "8"], "sex": ["flicka", ""],
...                     "fa_conf_1": ["1", "9"]}, index=[2, 3])
>>> compact, _ = parse_table(raw, rules, file="enkät.csv")
>>> compact["grade"].tolist(), compact["fa_conf_1"].tolist()[:1]
(['ak7', 'ak8'], [1])
>>> problems = find_problems(compact, build_schema_from_rules(rules), rules, file="enkät.csv")
>>> problems[["row", "column", "rule"]].values.tolist()
[[3, 'area', 'unknown_area'], [3, 'fa_conf_1', 'invalid_code']]
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ctc_helpers.config.instrument import Instrument, RespondentSchema, load_instrument
from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import check_language, t, text_of

if TYPE_CHECKING:
    from pandera.pandas import Column, DataFrameSchema

__all__ = [
    "MISSING_TOKENS",
    "ColumnRule",
    "TableRules",
    "ParseNotes",
    "build_rules",
    "build_schema",
    "build_schema_from_rules",
    "check_columns",
    "parse_table",
    "release_markers",
    "apply_value_labels",
    "find_problems",
    "describe_problems",
    "display_value",
    "display_column",
    "UNNAMED_PREFIX",
]

# Texts read as "no answer" in any column (compared after trimming, case-insensitively).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "#n/a", "."})

# Parse results per value: >= 0 accepted (a code or a category index), otherwise one of these.
_MISSING, _NOT_ALLOWED, _UNREADABLE = -1, -2, -3
_INVALID_CATEGORY = "\u2047invalid"  # marker category; never a real code (not in any schema)
_INT8_MARKER = -128
_INT16_MARKER = np.iinfo(np.int16).min
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)(e[+-]?\d+)?")
_NUMERIC_KINDS = ("item", "int", "float")
_CODED_KINDS = ("item", "grade", "sex", "area")
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
UNNAMED_PREFIX = "Unnamed: "  # name given to a column whose header cell is empty
_WRONG_TYPE_MIN_VALUES = 5  # a whole column is "of the wrong kind" only with this many values


def _spellings(token: str) -> set[str]:
    """Every upper/lower-case spelling of a token ("na" -> na, nA, Na, NA)."""
    spellings = {""}
    for character in token:
        spellings = {s + c for s in spellings for c in {character.lower(), character.upper()}}
    return spellings


# All spellings of the missing tokens: a set lookup without lower-casing a million strings.
_TOKEN_ARRAY = pa.array(sorted(set().union(*map(_spellings, MISSING_TOKENS))), type=pa.string())


@dataclass(frozen=True)
class ColumnRule:
    """How one column of the respondent table is read and checked.

    ``kind`` is one of ``id, text, int, float, grade, sex, area, item``. For coded kinds,
    ``lookup`` maps a normalised text (see :func:`_text_key`) to a code (items) or to an index
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


@dataclass(frozen=True)
class ParseNotes:
    """What :func:`parse_table` noticed on the way, for the ingest report."""

    missing_tokens: dict[str, dict[str, int]]  # column -> token ("NA") -> times read as missing
    empty_optional: list[str]  # optional columns without any value (left out like absent ones)


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
        return ColumnRule(kind=dtype, **base)  # allowed text: _number_allowed, when needed
    kind = "id" if base["unique"] else "text"
    return ColumnRule(kind=kind, **base)


def _coded(base: dict, kind: str, entries, aliases: dict, *, ordered: bool = False) -> ColumnRule:
    codes = tuple(e["code"] for e in entries)
    lookup = {_text_key(alias): codes.index(code) for alias, code in aliases.items()}
    for entry in entries:  # the labels (sv, en) are accepted spellings too
        for label in entry["label"].values():
            lookup.setdefault(_text_key(label), codes.index(entry["code"]))
    allowed = {
        lang: ", ".join(f"{text_of(e['label'], lang)} ({e['code']})" for e in entries)
        for lang in ("sv", "en")
    }
    return ColumnRule(
        kind=kind, categories=codes, lookup=lookup, ordered=ordered, allowed=allowed, **base
    )


def _area_column(base: dict, areas: pd.DataFrame, source: str) -> ColumnRule:
    ids = tuple(str(a) for a in areas["area_id"])
    lookup = {_text_key(name): i for i, name in enumerate(areas["name"])}
    lookup.update({_text_key(area_id): i for i, area_id in enumerate(ids)})
    shown = [
        name if _text_key(name) == _text_key(area_id) else f"{name} ({area_id})"
        for area_id, name in zip(ids, areas["name"], strict=True)
    ]
    allowed = {lang: _shorten(shown, lang, source) for lang in ("sv", "en")}
    return ColumnRule(kind="area", categories=ids, lookup=lookup, allowed=allowed, **base)


def _item_column(item) -> ColumnRule:
    response_set = item.response_set
    labels: dict[str, int] = {}
    for lang in ("sv", "en"):
        for code, label in response_set.labels(lang).items():
            labels.setdefault(_text_key(label), code)
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


def _number_allowed(rule: ColumnRule, lang: str) -> str:
    low, high = rule.minimum, rule.maximum
    key = f"ingest_allowed_{rule.kind}_" + ("range" if high is not None else "min")
    if low is None:
        key = f"ingest_allowed_{rule.kind}_any"
    return t(key, lang, min=_number_text(low), max=_number_text(high))


def _shorten(values: list[str], lang: str, source: str, limit: int = 12) -> str:
    if len(values) <= limit:
        return ", ".join(values)
    more = t("ingest_allowed_more", lang, n=len(values) - limit, file=source or "?")
    return ", ".join(values[:limit]) + " " + more


# --------------------------------------------------------------------------------------------
# The pandera schema of the compact respondent table


def build_schema(
    instrument: Instrument | None,
    respondent_schema: RespondentSchema,
    areas: pd.DataFrame,
) -> DataFrameSchema:
    """The pandera schema of the ingested ``respondents`` table, built from ``data_schema/``.

    It checks the compact table (``docs/ARCHITECTURE.md``): item codes in their response set
    (missing allowed), grade, sex and area among the canonical codes, numbers within the
    schema's ``min``/``max``, required values present, unique respondent ids. Validate with
    ``lazy=True`` to collect every failure in ``SchemaErrors.failure_cases``.
    """
    instrument = instrument if instrument is not None else load_instrument()
    return build_schema_from_rules(build_rules(instrument, respondent_schema, areas))


def build_schema_from_rules(rules: TableRules) -> DataFrameSchema:
    """The pandera schema of :func:`build_schema` for already built column rules."""
    from pandera.pandas import Check, DataFrameSchema  # imported here: pandera takes ~1 s

    columns = {name: _pandera_column(rule) for name, rule in rules.columns.items()}
    items = Check(_int8_columns(rules.item_ids), name="item_dtype", ignore_na=False)
    return DataFrameSchema(columns, checks=[items], strict=False, name="respondents")


def _int8_columns(item_ids: tuple[str, ...]) -> Callable[[pd.DataFrame], bool]:
    """One table-level dtype check for all item columns (much cheaper than one per column)."""

    def check(frame: pd.DataFrame) -> bool:
        return all(str(frame[i].dtype) == "Int8" for i in item_ids if i in frame.columns)

    return check


def _pandera_column(rule: ColumnRule) -> Column:
    from pandera.pandas import Check, Column

    nullable = rule.nullable
    if rule.kind == "item":
        check = Check(_codes_check(rule.categories), name=rule.rule, ignore_na=False)
        return Column(None, check, nullable=True, required=False)  # Int8: see _int8_columns
    if rule.kind in ("grade", "sex", "area"):
        check = Check(_category_check(rule.categories), name=rule.rule, ignore_na=False)
        return Column("category", check, nullable=nullable, required=rule.required)
    if rule.kind in ("int", "float"):
        dtype = ("Int16" if nullable else "int16") if rule.kind == "int" else "float64"
        check = Check(_range_check(rule.minimum, rule.maximum), name=rule.rule, ignore_na=False)
        return Column(dtype, check, nullable=nullable, required=rule.required)
    if rule.kind == "id":
        check = Check(_nonempty_check, name="missing_value", ignore_na=False)
        # any string dtype (Arrow-backed after ingestion, Python-backed after a Parquet round trip)
        return Column(None, check, nullable=False, unique=True, required=rule.required)
    return Column("category", nullable=True, required=rule.required)


def _codes_check(codes: tuple[int, ...]) -> Callable[[pd.Series], pd.Series]:
    """Item values among ``codes`` (1..k) or missing."""
    low, high = min(codes), max(codes)
    contiguous = tuple(codes) == tuple(range(low, high + 1))

    def check(series: pd.Series) -> pd.Series:
        array = series.array
        if isinstance(array, pd.arrays.IntegerArray):
            # the masked array's own buffers (pandas keeps them as _data and _mask): no copy
            values, missing = array._data, array._mask
        else:
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            missing = np.isnan(values)
        ok = (values >= low) & (values <= high)
        if not contiguous:
            ok &= np.isin(values, codes)
        return pd.Series(ok | missing, index=series.index)

    return check


def _category_check(allowed: tuple[Any, ...]) -> Callable[[pd.Series], pd.Series]:
    def check(series: pd.Series) -> pd.Series:
        if not isinstance(series.dtype, pd.CategoricalDtype):
            return series.isin(allowed) | series.isna()
        table = np.append(series.cat.categories.isin(allowed), True)  # code -1 (missing) -> True
        return pd.Series(table[series.cat.codes.to_numpy()], index=series.index)

    return check


def _range_check(low: float | None, high: float | None) -> Callable[[pd.Series], pd.Series]:
    def check(series: pd.Series) -> pd.Series:
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        ok = np.isfinite(values)
        if low is not None:
            ok &= values >= low
        if high is not None:
            ok &= values <= high
        return pd.Series(ok | np.isnan(values), index=series.index)

    return check


def _nonempty_check(series: pd.Series) -> pd.Series:
    return (series.str.len() > 0).fillna(True).astype(bool)


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
    missing = [name for name in rules.required if name not in found]
    if missing:
        raise InputFileError(_missing_columns_message(missing, found, rules, file, lang, head))
    absent_items = [item for item in rules.item_ids if item not in found]
    if len(absent_items) == len(rules.item_ids):
        raise InputFileError(
            t(
                "ingest_no_items",
                lang,
                file=file,
                n=len(rules.item_ids),
                examples=_quoted(rules.item_ids[:5]),
                instrument=rules.instrument_label,
            )
        )
    return absent_items


def _missing_columns_message(missing, found, rules, file, lang, head) -> str:
    header_row = _header_row_in(head, rules.required)
    if header_row is not None:
        return t("ingest_header_elsewhere", lang, file=file, row=header_row)
    named = [c for c in found if not c.startswith(UNNAMED_PREFIX)]
    shown = _quoted(named[:30]) + (" …" if len(named) > 30 else "")
    if len(named) < len(found):
        shown += " " + t("ingest_unnamed_columns", lang, n=len(found) - len(named))
    message = t("ingest_missing_columns", lang, file=file, missing=_quoted(missing), found=shown)
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


# --------------------------------------------------------------------------------------------
# Step 2: raw values -> compact types


def parse_table(
    raw: pd.DataFrame, rules: TableRules, *, file: str, lang: str | None = None
) -> tuple[pd.DataFrame, ParseNotes]:
    """Map a raw table to the compact types of the respondent table, column by column.

    Returns the compact frame (same index as ``raw``: the row numbers) with the schema's columns
    in schema order: those present in ``raw``, plus every item of the instrument and the optional
    text columns (``school``) as all-missing when absent. Unknown columns are left out. Values
    that cannot be accepted become markers that the schema rejects. Also returns a
    :class:`ParseNotes`. Raises InputFileError when a column holds no value of the
    right kind at all (for example dates in an item column).
    """
    columns: dict[str, Any] = {}
    tokens: dict[str, dict[str, int]] = {}
    empty: list[str] = []
    for name, rule in rules.columns.items():
        status = _parse_column(raw[name], rule) if name in raw.columns else None
        if status is not None and status.present == 0 and not rule.required and len(raw):
            empty.append(name)  # an optional column without any value counts as absent
            status = None if rule.kind != "item" else status
        if status is None:
            absent = _absent_column(rule, len(raw))
            if absent is not None:
                columns[name] = absent
            continue
        _check_kind(status, rule, raw[name], file=file, rules=rules, lang=lang)
        columns[name] = _compact(status, rule)
        if status.tokens:
            tokens[name] = status.tokens
    compact = pd.DataFrame(columns, index=raw.index, copy=False)
    return compact, ParseNotes(tokens, [e for e in empty if rules.columns[e].kind != "item"])


def _absent_column(rule: ColumnRule, n: int):
    if rule.kind == "item":
        return pd.arrays.IntegerArray(np.zeros(n, dtype=np.int8), np.ones(n, dtype=bool))
    if rule.kind == "text":
        return pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), categories=[])
    return None


@dataclass
class _Status:
    """Parsed values of one column.

    ``codes``: category indices (>= 0) or _MISSING/_NOT_ALLOWED/_UNREADABLE (grade, sex, area;
    items on the general path). ``values`` and ``missing``: item codes as int8 (the marker where
    not accepted) and the missing mask (items on the fast paths).
    """

    codes: np.ndarray | None = None
    values: np.ndarray | None = None
    missing: np.ndarray | None = None
    floats: np.ndarray | None = None  # int and float kinds (NaN missing, -inf not a number)
    strings: pa.Array | None = None  # id and text kinds (trimmed, null = missing)
    unreadable: int = 0
    present: int = 0
    tokens: dict[str, int] = field(default_factory=dict)


def _parse_column(series: pd.Series, rule: ColumnRule) -> _Status:
    array = _as_arrow(series)
    if rule.kind in ("id", "text"):
        return _parse_strings(array)
    if rule.kind in ("int", "float"):
        return _parse_floats(array)
    if rule.kind == "item":
        fast = _parse_digits(array, rule) if _is_string(array.type) else None
        if fast is not None:
            return fast
        if _is_number(array.type):
            return _parse_item_numbers(array, rule)
    return _parse_by_value(array, rule)


def _as_arrow(series: pd.Series) -> pa.Array:
    """One Arrow array with the values of ``series`` (nulls for missing)."""
    if isinstance(series.dtype, pd.ArrowDtype):
        array = series.array.__arrow_array__()
    else:
        try:
            array = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            texts = [None if _is_missing_scalar(v) else _display_text(v) for v in series]
            array = pa.array(texts, type=pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks else pa.array([], type=array.type)
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), type=pa.string())
    if not _is_plain(array.type):  # nested, binary, decimal ...: read them as their text
        return _as_text(array)
    return array


def _is_plain(arrow_type: pa.DataType) -> bool:
    return (
        _is_string(arrow_type)
        or _is_number(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or pa.types.is_temporal(arrow_type)
    )


def _is_string(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _is_number(arrow_type: pa.DataType) -> bool:
    return pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type)


def _parse_digits(array: pa.Array, rule: ColumnRule) -> _Status | None:
    """Fast path for text of at most one ASCII digit per value (typical CSV item columns).

    Reads the Arrow string buffers directly: with every value empty or one character long, the
    data buffer holds exactly the characters of the non-empty values, in order. Returns None
    (use the general path) for nulls, longer values or a character that is not a digit.
    """
    if array.null_count or not len(array):
        return None
    large = pa.types.is_large_string(array.type)
    offsets = np.frombuffer(
        array.buffers()[1],
        dtype=np.int64 if large else np.int32,
        count=len(array) + 1,
        offset=array.offset * (8 if large else 4),
    )
    present = offsets[1:] != offsets[:-1]
    count = int(np.count_nonzero(present))
    start, stop = int(offsets[0]), int(offsets[-1])
    if stop - start != count:  # some value is longer than one character
        return None
    characters = np.frombuffer(array.buffers()[2] or b"", dtype=np.uint8)[start:stop]
    digits = characters - np.uint8(ord("0"))  # wraps around below "0": not a digit either
    if np.any(digits > 9):
        return None
    values = np.zeros(len(array), dtype=np.int8)
    values[present] = digits.view(np.int8)  # 0..9 as they are: the schema rejects non-codes
    return _Status(values=values, missing=~present, present=count)


def _accepted_codes(numbers: np.ndarray, codes: tuple[int, ...]) -> np.ndarray:
    """Item values as int8: the number where it is one of ``codes``, otherwise the marker.

    Needed for numbers that may not fit in int8 (wider integers, floats); single bytes are kept
    as they are and left to the schema check.

    Response sets have the codes 1..k (the instrument loader checks that), so a range test does
    it; other code lists fall back to a membership test.
    """
    low, high = min(codes), max(codes)
    if numbers.dtype.kind == "f":
        whole = np.isfinite(numbers) & (numbers == np.floor(numbers))
        numbers = np.where(whole, numbers, high + 1)
    accepted = (numbers >= low) & (numbers <= high)
    if tuple(codes) != tuple(range(low, high + 1)):
        accepted &= np.isin(numbers, codes)
    return np.where(accepted, numbers, _INT8_MARKER).astype(np.int8)


def _parse_item_numbers(array: pa.Array, rule: ColumnRule) -> _Status:
    """Item codes stored as numbers (Parquet, SPSS, Excel)."""
    if not len(array):
        return _Status(values=np.zeros(0, dtype=np.int8), missing=np.zeros(0, dtype=bool))
    numbers, valid = _numbers_of(array)
    missing = ~valid if valid is not None else np.zeros(len(array), dtype=bool)
    if numbers.dtype.kind == "f":
        missing |= np.isnan(numbers)  # NaN stored as a number is a missing answer too
    if numbers.dtype.itemsize == 1 and numbers.dtype.kind in "iu":
        values = numbers.view(np.int8).copy()  # as they are (above 127 wraps below 0: no code)
    else:
        values = _accepted_codes(numbers, rule.categories)
    present = len(array) - int(np.count_nonzero(missing))
    return _Status(values=values, missing=missing, present=present)


def _numbers_of(array: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """The values buffer of a numeric Arrow array (no copy) and its validity (None: no nulls)."""
    dtype = np.dtype(array.type.to_pandas_dtype())
    numbers = np.frombuffer(
        array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize
    )
    if not array.null_count:
        return numbers, None
    bits = np.frombuffer(array.buffers()[0], dtype=np.uint8)
    valid = np.unpackbits(bits, count=array.offset + len(array), bitorder="little")
    return numbers, valid[array.offset :].astype(bool)


def _parse_by_value(array: pa.Array, rule: ColumnRule) -> _Status:
    """Any type: look every distinct value up once and spread the result with its indices."""
    encoded = pc.dictionary_encode(array)
    keys = [_text_key(u) for u in encoded.dictionary.to_pylist()]
    table = np.array([_lookup(k, rule) for k in keys] + [_MISSING], dtype=np.int16)
    indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    codes = table[indices]
    return _Status(
        codes=codes,
        present=int((codes != _MISSING).sum()),
        unreadable=int((codes == _UNREADABLE).sum()),
        tokens=_token_counts(encoded.dictionary, indices),
    )


def _lookup(key: str, rule: ColumnRule) -> int:
    if key in MISSING_TOKENS:
        return _MISSING
    number = _number(key)
    if rule.kind == "item":
        if number is None:
            return rule.labels.get(key, _UNREADABLE)
        return rule.lookup.get(_number_key(number), _NOT_ALLOWED)
    found = rule.lookup.get(key)
    if found is None and number is not None:
        found = rule.lookup.get(_number_key(number))
    return _NOT_ALLOWED if found is None else found


def _token_counts(dictionary: pa.Array, indices: np.ndarray) -> dict[str, int]:
    """How often each non-empty missing token (``NA``, ``.``) occurs, by its spelling."""
    spellings = [str(u).strip() if u is not None else "" for u in dictionary.to_pylist()]
    positions = [i for i, s in enumerate(spellings) if s and _text_key(s) in MISSING_TOKENS]
    if not positions:
        return {}
    counts = np.bincount(indices[indices >= 0], minlength=len(spellings))
    return {spellings[i]: int(counts[i]) for i in positions if counts[i]}


def _parse_floats(array: pa.Array) -> _Status:
    """Numbers for int and float columns: NaN = missing, -inf = not a number (always rejected)."""
    if _is_number(array.type):
        values = pc.fill_null(pc.cast(array, pa.float64()), np.nan).to_numpy(zero_copy_only=False)
        return _Status(floats=np.asarray(values), present=len(array) - array.null_count)
    text = pc.utf8_trim_whitespace(_as_text(array))
    missing = pc.fill_null(pc.is_in(text, value_set=_TOKEN_ARRAY), True)
    cleaned = pc.if_else(
        missing, pa.scalar(None, pa.string()), pc.replace_substring(text, ",", ".")
    )
    try:
        values = pc.cast(cleaned, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        encoded = pc.dictionary_encode(cleaned)
        table = np.array(
            [_float_of(_text_key(u)) for u in encoded.dictionary.to_pylist()] + [np.nan]
        )
        values = pa.array(table[pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)])
    floats = np.asarray(pc.fill_null(values, np.nan).to_numpy(zero_copy_only=False))
    is_missing = np.asarray(missing.to_numpy(zero_copy_only=False), dtype=bool)
    encoded_text = pc.dictionary_encode(pc.filter(text, missing)) if is_missing.any() else None
    tokens = {}
    if encoded_text is not None:
        indices = pc.fill_null(encoded_text.indices, -1).to_numpy(zero_copy_only=False)
        tokens = _token_counts(encoded_text.dictionary, indices)
    return _Status(
        floats=floats,
        present=int((~is_missing).sum()),
        unreadable=int((np.isneginf(floats) & ~is_missing).sum()),
        tokens=tokens,
    )


def _float_of(key: str) -> float:
    """Number in a text key; NaN when missing, -inf when not a number (fails the range check)."""
    if key in MISSING_TOKENS:
        return np.nan
    number = _number(key)
    return -np.inf if number is None else number


def _parse_strings(array: pa.Array) -> _Status:
    text = pc.utf8_trim_whitespace(_as_text(array))
    missing = pc.fill_null(pc.is_in(text, value_set=_TOKEN_ARRAY), True)
    text = pc.if_else(missing, pa.scalar(None, pa.string()), text)
    return _Status(strings=text, present=len(text) - text.null_count)


def _as_text(array: pa.Array) -> pa.Array:
    """Values as text the way a user reads them (``12`` rather than ``12.0``)."""
    if _is_string(array.type):
        return array.cast(pa.string())
    if pa.types.is_floating(array.type):
        values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)
        known = values[~np.isnan(values)]
        if np.all(np.isfinite(known) & (known == np.floor(known)) & (np.abs(known) < 2**53)):
            return pc.cast(pc.cast(array, pa.int64()), pa.string())
    try:
        return pc.cast(array, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array(
            [None if v is None else _display_text(v) for v in array.to_pylist()], type=pa.string()
        )


def _check_kind(status: _Status, rule: ColumnRule, raw: pd.Series, *, file, rules, lang) -> None:
    """A column in which no value is of the right kind is a file-level problem."""
    enough = status.present >= min(len(raw), _WRONG_TYPE_MIN_VALUES) and status.present > 0
    if not enough:
        return
    if rule.kind in _NUMERIC_KINDS:
        wrong = status.unreadable == status.present
    elif rule.kind in _CODED_KINDS:
        wrong = not np.any(status.codes >= 0)
    else:
        wrong = False
    if wrong:
        texts = pc.utf8_trim_whitespace(display_column(raw).__arrow_array__())
        examples = [v for v in pc.unique(texts).to_pylist() if v][:5]
        raise InputFileError(
            t(
                "ingest_wrong_type",
                lang,
                file=file,
                column=rule.name,
                examples=_quoted(examples),
                expected=t(f"ingest_expect_{rule.kind}", lang, areas=rules.area_source),
            )
        )


def _compact(status: _Status, rule: ColumnRule):
    """The compact pandas array of one column (markers where a value is not accepted)."""
    if rule.kind == "item":
        if status.values is not None:
            return pd.arrays.IntegerArray(status.values, status.missing)
        values = np.where(status.codes >= 0, status.codes, _INT8_MARKER).astype(np.int8)
        return pd.arrays.IntegerArray(values, status.codes == _MISSING)
    if rule.kind in ("grade", "sex", "area"):
        codes = np.where(status.codes < _MISSING, len(rule.categories), status.codes)
        dtype = pd.CategoricalDtype([*rule.categories, _INVALID_CATEGORY], ordered=rule.ordered)
        return pd.Categorical.from_codes(codes.astype(np.int16), dtype=dtype)
    if rule.kind == "int":
        return _compact_int(status.floats, nullable=rule.nullable)
    if rule.kind == "float":
        return status.floats
    if rule.kind == "id":
        return pd.array(status.strings, dtype=pd.StringDtype("pyarrow"))
    encoded = pc.dictionary_encode(status.strings)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    return pd.Categorical.from_codes(codes, categories=encoded.dictionary.to_pylist())


def _compact_int(values: np.ndarray, *, nullable: bool):
    missing = np.isnan(values)
    whole = np.isfinite(values) & (values == np.floor(values)) & (np.abs(values) < 32767)
    numbers = np.where(whole, values, _INT16_MARKER).astype(np.int16)
    if nullable:
        return pd.arrays.IntegerArray(numbers, missing)
    return numbers


def release_markers(compact: pd.DataFrame, rules: TableRules) -> pd.DataFrame:
    """The compact frame without the marker categories (call after rejected rows are dropped)."""
    columns = {
        name: compact[name].cat.set_categories(list(rules.columns[name].categories))
        if rules.columns[name].kind in ("grade", "sex", "area")
        else compact[name]
        for name in compact.columns
    }
    return pd.DataFrame(columns, index=compact.index, copy=False)


# --------------------------------------------------------------------------------------------
# SPSS value labels


def apply_value_labels(
    raw: pd.DataFrame,
    value_labels: Mapping[str, Mapping[Any, str]],
    rules: TableRules,
    *,
    missing_codes: Mapping[str, Iterable[Any]] | None = None,
) -> tuple[pd.DataFrame, list[str], dict[str, list[tuple[Any, str]]]]:
    """Translate SPSS codes through their value labels into the instrument's codes.

    For every coded column with value labels, a code whose label names an option of the
    instrument (item labels sv/en, grade and sex aliases, area names, case-insensitive) is
    replaced by that option; other codes stay as they are. ``missing_codes`` (per column) are
    SPSS user-missing codes: their labels are not looked up. Returns the translated frame, the
    columns where something changed and, per column, the labels that matched nothing.
    """
    missing_codes = missing_codes or {}
    changes: dict[str, pd.Series] = {}
    unmatched: dict[str, list[tuple[Any, str]]] = {}
    for name, labels in value_labels.items():
        rule = rules.columns.get(name)
        if rule is None or rule.kind not in _CODED_KINDS or name not in raw.columns:
            continue
        skip = set(missing_codes.get(name, ()))
        mapping, missed = _label_mapping({c: v for c, v in labels.items() if c not in skip}, rule)
        if missed:
            unmatched[name] = missed
        if any(_same_value(code, target) is False for code, target in mapping.items()):
            changes[name] = raw[name].map(lambda v, m=mapping: m.get(v, v)).astype(object)
    return raw.assign(**changes), sorted(changes), unmatched


def _label_mapping(labels: Mapping[Any, str], rule: ColumnRule) -> tuple[dict, list]:
    mapping, missed = {}, []
    for code, label in labels.items():
        key = _text_key(label)
        target = rule.labels.get(key) if rule.kind == "item" else rule.lookup.get(key)
        if target is None:
            missed.append((code, str(label)))
        elif rule.kind == "item":
            mapping[code] = target
        else:
            mapping[code] = rule.categories[target]
    return mapping, missed


def _same_value(code: Any, target: Any) -> bool:
    return _text_key(code) == _text_key(target)


# --------------------------------------------------------------------------------------------
# Step 3: pandera failure cases -> problems


def find_problems(
    compact: pd.DataFrame,
    schema: DataFrameSchema,
    rules: TableRules,
    *,
    file: str,
    lang: str | None = None,
) -> pd.DataFrame:
    """Validate the compact table lazily; return the row-level problems.

    Returns columns ``row, column, rule`` (one row per rejected value; ``row`` is the index label
    of ``compact``, i.e. the row number in the file). Raises InputFileError for file-level
    failures (duplicate respondent ids).
    """
    from pandera.errors import SchemaErrors

    try:
        schema.validate(compact, lazy=True, inplace=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return pd.DataFrame({"row": pd.Series(dtype="int64"), "column": [], "rule": []})
    duplicates = cases[(cases["check"] == "field_uniqueness") & cases["failure_case"].notna()]
    if len(duplicates):
        raise InputFileError(_duplicates_message(duplicates, file, lang))
    rows = cases[cases["index"].notna() & (cases["check"] != "field_uniqueness")]
    unexpected = cases[cases["index"].isna() & (cases["check"] != "field_uniqueness")]
    if len(unexpected):
        raise RuntimeError(f"Schema problem in the compact table: {unexpected.to_dict('records')}")
    problems = pd.DataFrame(
        {
            "row": rows["index"].astype("int64").to_numpy(),
            "column": rows["column"].astype(str).to_numpy(),
            "rule": [
                "missing_value" if check == "not_nullable" else rules.columns[column].rule
                for column, check in zip(rows["column"], rows["check"], strict=True)
            ],
        }
    )
    return problems.drop_duplicates(["row", "column"]).sort_values(["row", "column"], kind="stable")


def _duplicates_message(duplicates: pd.DataFrame, file: str, lang: str | None) -> str:
    groups = duplicates.groupby(duplicates["failure_case"].astype(str), sort=False)["index"]
    examples = [
        t("ingest_duplicate_example", lang, id=value, rows=_and(sorted(int(r) for r in rows), lang))
        for value, rows in list(groups)[:5]
    ]
    return t(
        "ingest_duplicate_ids", lang, file=file, n=groups.ngroups, examples="; ".join(examples)
    )


def describe_problems(
    problems: pd.DataFrame,
    raw: pd.DataFrame,
    rules: TableRules,
    *,
    lang: str | None = None,
) -> pd.DataFrame:
    """Add the raw ``value`` and a ``reason`` in the user's language to each problem.

    ``problems`` has columns ``row, column, rule`` (from :func:`find_problems`); ``raw`` is the
    table as read (indexed by row number). Returns columns ``row, column, value, rule, reason``.
    A value that is empty in the file turns the rule into ``missing_value``.
    """
    lang = check_language(lang)
    values = pd.Series("", index=problems.index, dtype=object)
    for column, part in problems.groupby("column", sort=False):
        shown = display_column(raw[column].loc[part["row"]])
        values.loc[part.index] = np.asarray(shown, dtype=object)
    missing = values.map(lambda v: _text_key(v) in MISSING_TOKENS)
    rule = problems["rule"].where(~missing, "missing_value")
    reasons = [
        _reason(r, rules.columns[c], v, lang)
        for r, c, v in zip(rule, problems["column"], values, strict=True)
    ]
    return problems.assign(value=values.to_numpy(), rule=rule.to_numpy(), reason=reasons)[
        ["row", "column", "value", "rule", "reason"]
    ]


def _reason(rule: str, column: ColumnRule, value: str, lang: str) -> str:
    if column.kind in ("int", "float"):
        allowed = _number_allowed(column, lang)
    else:
        allowed = column.allowed.get(lang, "")
    return t(
        f"ingest_reason_{rule}",
        lang,
        column=column.name,
        value=value,
        allowed=allowed,
        min=_number_text(column.minimum),
        max=_number_text(column.maximum),
    )


# --------------------------------------------------------------------------------------------
# Small helpers


def display_column(series: pd.Series) -> pd.arrays.ArrowExtensionArray:
    """A raw column as the user reads it in the file: Arrow-backed text, ``""`` for missing."""
    text = pc.fill_null(_as_text(_as_arrow(series)), "")
    return pd.arrays.ArrowExtensionArray(text)


def display_value(value: Any) -> str:
    """A raw value as the user sees it in the file (``''`` for missing, ``3`` for ``3.0``)."""
    if _is_missing_scalar(value):
        return ""
    return _display_text(value)


def _display_text(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def _is_missing_scalar(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _text_key(value: Any) -> str:
    """Normalised text of a value: NFC, trimmed, single spaces, case-folded, ``3.0`` -> ``3``."""
    if _is_missing_scalar(value):
        return ""
    text = _display_text(value) if not isinstance(value, str) else value
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


def _number(key: str) -> float | None:
    if not _NUMBER.fullmatch(key):
        return None
    number = float(key.replace(",", "."))
    return number if np.isfinite(number) else None


def _number_key(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(number)


def _number_text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _quoted(values: Iterable[Any]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _and(values: list[Any], lang: str | None) -> str:
    words = [str(v) for v in values]
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + f" {t('ingest_and', lang)} " + words[-1]
