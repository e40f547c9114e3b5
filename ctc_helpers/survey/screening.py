"""Validity screening of questionnaires, with the rules declared in the instrument.

Every respondent gets one boolean flag per rule (``invalid_<rule_id>``) and an overall ``valid``
(False when a rule with ``exclude: true`` fires). Nobody is dropped: excluded questionnaires
stay in the table, flagged, so the screening can be reported and re-run.

Rule kinds (parameters from ``data_schema/INSTRUMENT_FORMAT.md``); a missing answer never makes
a rule fire:

``any_at_least {items, min_code}``
    some item has a raw code ``>= min_code`` (e.g. any use of the fictitious drug).
``code_in {item, codes}``
    the item's raw code is one of ``codes`` (e.g. the honesty item at its lowest levels).
``pair_greater {pairs}``
    for some pair ``[a, b]`` the raw code of ``a`` is greater than that of ``b`` (30-day use
    greater than lifetime use); a pair with a missing answer is never inconsistent.
``count_at_least {items, min_code, min_count}``
    at least ``min_count`` items have a code ``>= min_code`` (implausible exaggeration).
``min_answered_share {share}``
    the share of the instrument's factor items with an answer is below ``share``. Any answer
    option counts as an answer here, "vet inte" included: the rule detects questionnaires left
    (mostly) blank; scales leave "vet inte" out through their own ``min_items``.

Examples
--------
>>> from ctc_helpers.paths import REPO_ROOT
>>> from ctc_helpers.config.instrument import load_instrument
>>> inst = load_instrument(REPO_ROOT / "tests" / "data" / "mini_instrument.yaml")
>>> frame = pd.DataFrame({i: [1, 1] for i in inst.item_ids}, dtype="Int8").assign(
...     fict_life=pd.array([1, 3], dtype="Int8")
... )
>>> screen_respondents(frame, inst)[["invalid_fictitious_drug", "valid"]].to_numpy().tolist()
[[False, True], [True, False]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from ctc_helpers.config.instrument import (
    Instrument,
    RespondentSchema,
    ValidityRule,
    load_respondent_schema,
)
from ctc_helpers.survey.scoring import block_frame, item_codes, join_columns, new_block

__all__ = ["INVALID_PREFIX", "ANY_EXCLUDED", "screen_respondents", "screening_log"]

INVALID_PREFIX = "invalid_"
"""Prefix of the rule flag columns: ``invalid_<rule_id>``."""

ANY_EXCLUDED = "any_excluded"
"""Rule code used in the screening log for respondents excluded by at least one rule."""


# --------------------------------------------------------------------------- rule kinds


def _any_at_least(frame: pd.DataFrame, instrument: Instrument, rule: dict) -> np.ndarray:
    fired = np.zeros(len(frame), dtype=bool)
    for item_id in rule["items"]:
        codes = item_codes(frame, instrument, item_id)
        fired |= (codes >= rule["min_code"]) & (codes > 0)
    return fired


def _code_in(frame: pd.DataFrame, instrument: Instrument, rule: dict) -> np.ndarray:
    codes = item_codes(frame, instrument, rule["item"])
    return np.isin(codes, [int(c) for c in rule["codes"]]) & (codes > 0)


def _pair_greater(frame: pd.DataFrame, instrument: Instrument, rule: dict) -> np.ndarray:
    fired = np.zeros(len(frame), dtype=bool)
    for first, second in rule["pairs"]:
        a, b = item_codes(frame, instrument, first), item_codes(frame, instrument, second)
        fired |= (a > b) & (b > 0)  # b > 0 and a > b imply both are answered
    return fired


def _count_at_least(frame: pd.DataFrame, instrument: Instrument, rule: dict) -> np.ndarray:
    count = np.zeros(len(frame), dtype=np.int16)
    for item_id in rule["items"]:
        codes = item_codes(frame, instrument, item_id)
        count += (codes >= rule["min_code"]) & (codes > 0)
    return count >= rule["min_count"]


def _min_answered_share(frame: pd.DataFrame, instrument: Instrument, rule: dict) -> np.ndarray:
    items = instrument.factor_item_ids
    answered = np.zeros(len(frame), dtype=np.int32)
    for item_id in items:
        answered += frame[item_id].notna().to_numpy()
    return answered < float(rule["share"]) * len(items)


_RULES: dict[str, Callable[[pd.DataFrame, Instrument, dict], np.ndarray]] = {
    "any_at_least": _any_at_least,
    "code_in": _code_in,
    "pair_greater": _pair_greater,
    "count_at_least": _count_at_least,
    "min_answered_share": _min_answered_share,
}


def _rule_items(rule: ValidityRule, instrument: Instrument) -> list[str]:
    spec = rule.rule
    if spec["kind"] == "min_answered_share":
        return list(instrument.factor_item_ids)
    pairs = [item for pair in spec.get("pairs", []) for item in pair]
    return [*spec.get("items", []), *([spec["item"]] if "item" in spec else []), *pairs]


# --------------------------------------------------------------------------- public API


def screen_respondents(respondents: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Flag each questionnaire by every validity rule of the instrument.

    Parameters
    ----------
    respondents : pandas.DataFrame
        Respondent table with one column per item used by the rules.
    instrument : Instrument
        Its ``validity`` rules (kinds described in the module docstring).

    Returns
    -------
    pandas.DataFrame
        A new frame: every input row and column, plus ``invalid_<rule_id>`` (bool) per rule in
        instrument order and ``valid`` (bool; False when a rule with ``exclude: true`` fired).
        Rows are never removed.

    Raises
    ------
    KeyError
        If a column needed by a rule is missing (the message names the rule).
    ValueError
        If an item holds a code outside its response set.
    """
    block = new_block(len(instrument.validity) + 1, len(respondents), dtype=bool)
    excluded = np.zeros(len(respondents), dtype=bool)
    for row, rule in enumerate(instrument.validity):
        missing = [i for i in _rule_items(rule, instrument) if i not in respondents.columns]
        if missing:
            raise KeyError(
                f"The validity rule {rule.id!r} needs the item columns {', '.join(missing)},"
                " which the respondent table does not have."
            )
        block[row] = _RULES[rule.rule["kind"]](respondents, instrument, rule.rule)
        excluded |= block[row] & rule.exclude
    block[-1] = ~excluded
    names = [INVALID_PREFIX + rule.id for rule in instrument.validity] + ["valid"]
    return join_columns(respondents, block_frame(block, names, respondents.index))


def _levels(column: pd.Series) -> list:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return list(column.cat.categories)
    return sorted(column.dropna().unique().tolist())


def screening_log(
    screened: pd.DataFrame,
    instrument: Instrument,
    *,
    by: Sequence[str] = ("wave", "area", "grade"),
    respondent_schema: RespondentSchema | None = None,
) -> pd.DataFrame:
    """Count the questionnaires flagged by each validity rule, by group and with totals.

    The log belongs in the methods section of every report. It is **not** suppressed here:
    the caller (the batch, a report) passes it through ``privacy`` before publishing, like every
    other table.

    Parameters
    ----------
    screened : pandas.DataFrame
        Output of :func:`screen_respondents`.
    instrument : Instrument
        Gives the rule ids.
    by : sequence of str, default ("wave", "area", "grade")
        Grouping columns. Every combination of their levels appears (categories of categorical
        columns, otherwise the values present), with ``n_respondents == 0`` where nobody
        answered. Totals (the schema's total code, ``all``) are added over every column except
        ``wave``. A questionnaire with a missing grouping value counts in no row.
    respondent_schema : RespondentSchema, optional
        Gives the total code; the package's ``respondents.yaml`` when omitted.

    Returns
    -------
    pandas.DataFrame
        Columns ``*by``, ``rule`` (rule id, or ``any_excluded`` for questionnaires excluded by at
        least one rule with ``exclude: true``), ``n_respondents`` (questionnaires in the group),
        ``n_flagged`` (flagged by the rule). Group columns other than ``wave`` are str.

    Raises
    ------
    KeyError
        If a grouping or flag column is missing (run :func:`screen_respondents` first).
    """
    by = list(by)
    total = (respondent_schema or load_respondent_schema()).total_code
    rules = [INVALID_PREFIX + r.id for r in instrument.validity]
    missing = [c for c in [*by, *rules, "valid"] if c not in screened.columns]
    if missing:
        raise KeyError(
            f"screening_log needs the columns {', '.join(missing)}; pass the output of"
            " screen_respondents (grouping columns: wave, area, grade by default)."
        )
    counts = {r.id: screened[INVALID_PREFIX + r.id] for r in instrument.validity}
    flags = pd.DataFrame(
        {**counts, ANY_EXCLUDED: ~screened["valid"], "n_respondents": True}, index=screened.index
    ).astype(np.int64)
    index = pd.MultiIndex.from_product([_levels(screened[c]) for c in by], names=by)
    leaves = flags.groupby([screened[c] for c in by], observed=True).sum().reindex(index)
    leaves = leaves.fillna(0).astype(np.int64).reset_index()
    sums = _margins(leaves, by, list(flags.columns), total=total)
    return _long_log(pd.concat([leaves, *sums], ignore_index=True), by, list(flags.columns[:-1]))


def _margins(
    leaves: pd.DataFrame, by: list[str], counts: list[str], *, total: str
) -> list[pd.DataFrame]:
    """Sums over every non-empty subset of the grouping columns other than ``wave``."""
    free = [c for c in by if c != "wave"]
    sums = []
    for size in range(1, len(free) + 1):
        for summed in combinations(free, size):
            keep = [c for c in by if c not in summed]
            if keep:
                grouped = leaves.groupby(keep, sort=False, observed=True)[counts].sum()
                part = grouped.reset_index()
            else:
                part = leaves[counts].sum().to_frame().T
            sums.append(part.assign(**dict.fromkeys(summed, total)))
    return sums


def _long_log(table: pd.DataFrame, by: list[str], rules: list[str]) -> pd.DataFrame:
    long = table.melt(
        id_vars=[*by, "n_respondents"], value_vars=rules, var_name="rule", value_name="n_flagged"
    )
    for column in by:
        if column != "wave":
            long[column] = long[column].astype(str)
    return long[[*by, "rule", "n_respondents", "n_flagged"]]
