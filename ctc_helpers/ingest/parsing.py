"""Raw values to the compact types of the respondent table (validation step 2).

:func:`parse_table` maps the raw values of every known column to the compact types of the
``respondents`` table (``docs/ARCHITECTURE.md``): item codes to ``Int8``, grade, sex and area
aliases to categorical codes, numbers to small integers or floats. It is vectorised (every
distinct value is looked up once). Values that cannot be accepted become a marker that fails
the pandera schema (:mod:`ctc_helpers.ingest.schema`); a column in which no value is of the right
kind stops the file. :func:`release_markers` drops the marker categories once the rejected rows
are gone; :func:`apply_value_labels` first translates SPSS codes through their value labels.

Examples
--------
>>> from ctc_helpers.config.instrument import load_instrument, load_respondent_schema
>>> from ctc_helpers.ingest.rules import build_rules
>>> from ctc_helpers.paths import REPO_ROOT
>>> mini = load_instrument(REPO_ROOT / "tests" / "data" / "mini_instrument.yaml")
>>> areas = pd.DataFrame({"area_id": ["norr"], "name": ["Norr"], "municipality": ["Exempelstad"]})
>>> rules = build_rules(mini, load_respondent_schema(), areas)
>>> raw = pd.DataFrame({"respondent_id": ["a", "b"], "wave": ["2025", "2025"],
...                     "area": ["Norr", "söder"], "grade": ["åk 7", "8"],
...                     "sex": ["flicka", "NA"],
...                     "fa_conf_1": ["1", "9"]}, index=[2, 3])
>>> compact, notes = parse_table(raw, rules, file="enkät.csv")
>>> compact["grade"].tolist(), compact["fa_conf_1"].tolist()[:1], notes.missing_tokens
(['ak7', 'ak8'], [1], {'sex': {'NA': 1}})
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import t
from ctc_helpers.ingest.rules import ColumnRule, TableRules
from ctc_helpers.ingest.values import (
    MISSING_TOKENS,
    TOKEN_ARRAY,
    as_arrow,
    as_text,
    display_column,
    is_number_type,
    is_string_type,
    number,
    number_key,
    quoted,
    text_key,
)

__all__ = ["ParseNotes", "parse_table", "release_markers", "apply_value_labels"]

# Parse results per value: >= 0 accepted (a code or a category index), otherwise one of these.
_MISSING, _NOT_ALLOWED, _UNREADABLE = -1, -2, -3
_INVALID_CATEGORY = "\u2047invalid"  # marker category; never a real code (not in any schema)
_INT8_MARKER = -128
_INT16_MARKER = np.iinfo(np.int16).min
_NUMERIC_KINDS = ("item", "int", "float")
_CODED_KINDS = ("item", "grade", "sex", "area")
_WRONG_TYPE_MIN_VALUES = 5  # a whole column is "of the wrong kind" only with this many values


@dataclass(frozen=True)
class ParseNotes:
    """What :func:`parse_table` noticed on the way, for the ingest report."""

    missing_tokens: dict[str, dict[str, int]]  # column -> token ("NA") -> times read as missing
    empty_optional: list[str]  # optional columns without any value (left out like absent ones)
    # column -> value as written ("10") -> (the code it was read as, rows), read through an alias
    aliased: dict[str, dict[str, tuple[str, int]]] = field(default_factory=dict)


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
    aliased: dict[str, dict[str, tuple[str, int]]] = {}
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
        if status.aliased:
            aliased[name] = status.aliased
    compact = pd.DataFrame(columns, index=raw.index, copy=False)
    empty = [e for e in empty if rules.columns[e].kind != "item"]
    return compact, ParseNotes(tokens, empty, aliased)


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
    aliased: dict[str, tuple[str, int]] = field(default_factory=dict)  # see ParseNotes.aliased
    present: int = 0
    tokens: dict[str, int] = field(default_factory=dict)


def _parse_column(series: pd.Series, rule: ColumnRule) -> _Status:
    array = as_arrow(series)
    if rule.kind in ("id", "text"):
        return _parse_strings(array)
    if rule.kind in ("int", "float"):
        return _parse_floats(array)
    if rule.kind == "item":
        fast = _parse_digits(array, rule) if is_string_type(array.type) else None
        if fast is not None:
            return fast
        if is_number_type(array.type):
            return _parse_item_numbers(array, rule)
    return _parse_by_value(array, rule)


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
    keys = [text_key(u) for u in encoded.dictionary.to_pylist()]
    table = np.array([_lookup(k, rule) for k in keys] + [_MISSING], dtype=np.int16)
    indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    codes = table[indices]
    return _Status(
        codes=codes,
        present=int((codes != _MISSING).sum()),
        unreadable=int((codes == _UNREADABLE).sum()),
        tokens=_token_counts(encoded.dictionary, indices),
        aliased=_alias_counts(encoded.dictionary, keys, table, indices, rule),
    )


def _alias_counts(
    dictionary: pa.Array, keys: list[str], table: np.ndarray, indices: np.ndarray, rule: ColumnRule
) -> dict[str, tuple[str, int]]:
    """How often each value was read as a code through an alias (``"10"`` -> gy1), by spelling:
    never silent (issue 16), the ingest report names them."""
    through = [
        i for i, key in enumerate(keys)
        if table[i] >= 0 and (key in rule.aliases or _number_alias(key, rule))
    ]  # fmt: skip
    if not through:
        return {}
    counts = np.bincount(indices[indices >= 0], minlength=len(keys))
    spellings = dictionary.to_pylist()
    return {
        str(spellings[i]).strip(): (str(rule.categories[table[i]]), int(counts[i]))
        for i in through
        if counts[i]
    }


def _number_alias(key: str, rule: ColumnRule) -> bool:
    value = number(key)
    return value is not None and number_key(value) in rule.aliases and key not in rule.lookup


def _lookup(key: str, rule: ColumnRule) -> int:
    if key in MISSING_TOKENS:
        return _MISSING
    value = number(key)
    if rule.kind == "item":
        if value is None:
            return rule.labels.get(key, _UNREADABLE)
        return rule.lookup.get(number_key(value), _NOT_ALLOWED)
    found = rule.lookup.get(key)
    if found is None and value is not None:
        found = rule.lookup.get(number_key(value))
    return _NOT_ALLOWED if found is None else found


def _token_counts(dictionary: pa.Array, indices: np.ndarray) -> dict[str, int]:
    """How often each non-empty missing token (``NA``, ``.``) occurs, by its spelling."""
    spellings = [str(u).strip() if u is not None else "" for u in dictionary.to_pylist()]
    positions = [i for i, s in enumerate(spellings) if s and text_key(s) in MISSING_TOKENS]
    if not positions:
        return {}
    counts = np.bincount(indices[indices >= 0], minlength=len(spellings))
    return {spellings[i]: int(counts[i]) for i in positions if counts[i]}


def _parse_floats(array: pa.Array) -> _Status:
    """Numbers for int and float columns: NaN = missing, -inf = not a number (always rejected)."""
    if is_number_type(array.type):
        values = pc.fill_null(pc.cast(array, pa.float64()), np.nan).to_numpy(zero_copy_only=False)
        return _Status(floats=np.asarray(values), present=len(array) - array.null_count)
    text = pc.utf8_trim_whitespace(as_text(array))
    missing = pc.fill_null(pc.is_in(text, value_set=TOKEN_ARRAY), True)
    cleaned = pc.if_else(
        missing, pa.scalar(None, pa.string()), pc.replace_substring(text, ",", ".")
    )
    try:
        values = pc.cast(cleaned, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        encoded = pc.dictionary_encode(cleaned)
        table = np.array(
            [_float_of(text_key(u)) for u in encoded.dictionary.to_pylist()] + [np.nan]
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
    value = number(key)
    return -np.inf if value is None else value


def _parse_strings(array: pa.Array) -> _Status:
    text = pc.utf8_trim_whitespace(as_text(array))
    missing = pc.fill_null(pc.is_in(text, value_set=TOKEN_ARRAY), True)
    text = pc.if_else(missing, pa.scalar(None, pa.string()), text)
    return _Status(strings=text, present=len(text) - text.null_count)


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
                examples=quoted(examples),
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
        key = text_key(label)
        target = rule.labels.get(key) if rule.kind == "item" else rule.lookup.get(key)
        if target is None:
            missed.append((code, str(label)))
        elif rule.kind == "item":
            mapping[code] = target
        else:
            mapping[code] = rule.categories[target]
    return mapping, missed


def _same_value(code: Any, target: Any) -> bool:
    return text_key(code) == text_key(target)
