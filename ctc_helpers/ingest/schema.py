"""The pandera schema of the compact respondent table, and the problems it finds in words.

Validation step 3 (after the header check of :mod:`ctc_helpers.ingest.rules` and the parsing of
:mod:`ctc_helpers.ingest.parsing`): :func:`build_schema` builds a pandera schema from
``data_schema/``, :func:`find_problems` runs it lazily on the compact table and turns its failure
cases into one problem per row and column (or raises for file-level problems: duplicate
respondent ids), and :func:`describe_problems` adds the raw value and a reason in the user's
language.

Examples
--------
>>> from ctc_helpers.config.instrument import load_instrument, load_respondent_schema
>>> from ctc_helpers.ingest.parsing import parse_table
>>> from ctc_helpers.ingest.rules import build_rules
>>> from ctc_helpers.paths import REPO_ROOT
>>> mini = load_instrument(REPO_ROOT / "tests" / "data" / "mini_instrument.yaml")
>>> areas = pd.DataFrame({"area_id": ["norr"], "name": ["Norr"], "municipality": ["Exempelstad"]})
>>> rules = build_rules(mini, load_respondent_schema(), areas)
>>> raw = pd.DataFrame({"respondent_id": ["a", "b"], "wave": ["2025", "2025"],
...                     "area": ["Norr", "söder"], "grade": ["åk 7", "8"], "sex": ["flicka", ""],
...                     "fa_conf_1": ["1", "9"]}, index=[2, 3])
>>> compact, _ = parse_table(raw, rules, file="enkät.csv")
>>> problems = find_problems(compact, build_schema_from_rules(rules), rules, file="enkät.csv")
>>> problems[["row", "column", "rule"]].values.tolist()
[[3, 'area', 'unknown_area'], [3, 'fa_conf_1', 'invalid_code']]
>>> described = describe_problems(problems, raw, rules, lang="en")
>>> print(described.loc[1, "reason"])
the value '9' is not one of the answer options (allowed: 1 = NO!, 2 = no, 3 = yes, 4 = YES!, or empty)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ctc_helpers.config.instrument import Instrument, RespondentSchema, load_instrument
from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.ingest.rules import ColumnRule, TableRules, build_rules, number_allowed
from ctc_helpers.ingest.values import MISSING_TOKENS, display_column, number_text, text_key

if TYPE_CHECKING:
    from pandera.pandas import Column, DataFrameSchema

__all__ = ["build_schema", "build_schema_from_rules", "find_problems", "describe_problems"]


# --------------------------------------------------------------------------------------------
# The schema


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
    # pandera: 0.15 s to import (measured with pandas and pyarrow loaded), only for validation
    from pandera.pandas import Check, DataFrameSchema

    columns = {name: _pandera_column(rule) for name, rule in rules.columns.items()}
    items = Check(_int8_columns(rules.item_ids), name="item_dtype", ignore_na=False)
    return DataFrameSchema(columns, checks=[items], strict=False, name="respondents")


def _int8_columns(item_ids: tuple[str, ...]) -> Callable[[pd.DataFrame], bool]:
    """One table-level dtype check for all item columns (much cheaper than one per column)."""

    def check(frame: pd.DataFrame) -> bool:
        return all(str(frame[i].dtype) == "Int8" for i in item_ids if i in frame.columns)

    return check


def _pandera_column(rule: ColumnRule) -> Column:
    from pandera.pandas import Check, Column  # see build_schema_from_rules (0.15 s)

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
# Failure cases -> problems in the user's words


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
    from pandera.errors import SchemaErrors  # see build_schema_from_rules (0.15 s)

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
    missing = values.map(lambda v: text_key(v) in MISSING_TOKENS)
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
        allowed = number_allowed(column, lang)
    else:
        allowed = column.allowed.get(lang, "")
    return t(
        f"ingest_reason_{rule}",
        lang,
        column=column.name,
        value=value,
        allowed=allowed,
        min=number_text(column.minimum),
        max=number_text(column.maximum),
    )


def _and(values: list[Any], lang: str | None) -> str:
    words = [str(v) for v in values]
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + f" {t('ingest_and', lang)} " + words[-1]
