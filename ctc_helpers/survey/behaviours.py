"""Problem behaviours and composite indicators: one yes/no/unknown flag per respondent.

Behaviour rules (declared in the instrument; raw codes unless said otherwise):

``any_at_least {items, min_code}``
    1 if some answered item has a code ``>= min_code``; 0 if every item is answered and none
    does; unknown (NaN) otherwise. Example: lifetime use, 30-day use, any violence.
``count_at_least {items, min_code, min_count}``
    1 if at least ``min_count`` items have a code ``>= min_code``; needs every item answered
    (NaN otherwise). Example: a variety score of delinquent acts.
``sum_at_least {items, threshold, min_items}``
    1 if the sum of the item *scores* (response-set scores, not raw codes) reaches
    ``threshold``; needs at least ``min_items`` scored items (NaN otherwise). With some items
    unanswered the sum is prorated (mean of the answered items times the number of items), the
    usual rule for short symptom scales; with every item answered it is the plain sum. Example:
    the CTC brief depression scale.
``any_code_in {items, codes}``, ``any_at_most {items, max_code}``,
``any_between {items, min_code, max_code}``
    like ``any_at_least``, with the answer counted when its code is one of ``codes``, at most
    ``max_code``, or from ``min_code`` to ``max_code``. Example: "never" coded last, or a
    middle range of answers. (The instrument file may spell them ``code_in``, ``code_at_most``
    and ``code_between``.)

Composites count flagged factors of one kind (``flag__<factor>``, from
:func:`~ctc_helpers.survey.cutpoints.apply_cutpoints`): a respondent is flagged when at least
``min_flagged`` of them are flagged, and unknown (NaN) when fewer than ``min_scored_share`` of
the factors have a score. Examples: "many risk factors elevated", "high protection" (at least 4
protective factors, as US state reports count it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ctc_helpers.config.instrument import Instrument
from ctc_helpers.survey.cutpoints import FLAG_PREFIX
from ctc_helpers.survey.scoring import (
    block_frame,
    float_column,
    item_codes,
    join_columns,
    new_block,
    sum_item_scores,
)

__all__ = ["classify_behaviours", "classify_composites"]


def _any_at_least(frame: pd.DataFrame, instrument: Instrument, rule: dict, out: np.ndarray):
    _any_code(frame, instrument, rule, out, lambda codes: codes >= rule["min_code"])


def _any_code(frame, instrument, rule, out, counts: Callable[[np.ndarray], np.ndarray]) -> None:
    """1 if some answered item has a code that ``counts``; 0 if all are answered and none does."""
    hit = np.zeros(len(frame), dtype=bool)
    complete = np.ones(len(frame), dtype=bool)
    for item_id in rule["items"]:
        codes = item_codes(frame, instrument, item_id)
        hit |= counts(codes) & (codes > 0)
        complete &= codes > 0
    np.copyto(out, hit)
    np.copyto(out, np.nan, where=~hit & ~complete)


def _any_code_in(frame: pd.DataFrame, instrument: Instrument, rule: dict, out: np.ndarray):
    _any_code(frame, instrument, rule, out, lambda codes: np.isin(codes, rule["codes"]))


def _any_at_most(frame: pd.DataFrame, instrument: Instrument, rule: dict, out: np.ndarray):
    _any_code(frame, instrument, rule, out, lambda codes: codes <= rule["max_code"])


def _any_between(frame: pd.DataFrame, instrument: Instrument, rule: dict, out: np.ndarray):
    low, high = rule["min_code"], rule["max_code"]
    _any_code(frame, instrument, rule, out, lambda codes: (codes >= low) & (codes <= high))


def _count_at_least(frame: pd.DataFrame, instrument: Instrument, rule: dict, out: np.ndarray):
    count = np.zeros(len(frame), dtype=np.int16)
    complete = np.ones(len(frame), dtype=bool)
    for item_id in rule["items"]:
        codes = item_codes(frame, instrument, item_id)
        count += (codes >= rule["min_code"]) & (codes > 0)
        complete &= codes > 0
    np.copyto(out, count >= rule["min_count"])
    np.copyto(out, np.nan, where=~complete)


def _sum_at_least(frame: pd.DataFrame, instrument: Instrument, rule: dict, out: np.ndarray):
    items = [(item_id, False) for item_id in rule["items"]]
    total, answered = sum_item_scores(frame, instrument, items)
    with np.errstate(divide="ignore", invalid="ignore"):
        prorated = total / answered * len(items)
    np.copyto(out, prorated >= float(rule["threshold"]))
    np.copyto(out, np.nan, where=answered < int(rule["min_items"]))


_RULES: dict[str, Callable[[pd.DataFrame, Instrument, dict, np.ndarray], None]] = {
    "any_at_least": _any_at_least,
    "count_at_least": _count_at_least,
    "sum_at_least": _sum_at_least,
    "any_code_in": _any_code_in,
    "any_at_most": _any_at_most,
    "any_between": _any_between,
}


def classify_behaviours(frame: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Add one flag per problem behaviour of the instrument.

    Parameters
    ----------
    frame : pandas.DataFrame
        Respondent table with the item columns used by the behaviour rules.
    instrument : Instrument
        Its ``behaviours`` (rule kinds in the module docstring).

    Returns
    -------
    pandas.DataFrame
        A new frame: the input plus ``flag__<behaviour_id>`` (float 1.0 / 0.0, NaN = unknown)
        per behaviour, in instrument order.

    Raises
    ------
    KeyError
        If an item column is missing.
    ValueError
        If an item holds a code outside its response set.

    Examples
    --------
    >>> from ctc_helpers.paths import REPO_ROOT
    >>> from ctc_helpers.config.instrument import load_instrument
    >>> inst = load_instrument(REPO_ROOT / "tests" / "data" / "mini_instrument.yaml")
    >>> frame = pd.DataFrame({i: [1, 3, None] for i in inst.item_ids}, dtype="Int8")
    >>> print(classify_behaviours(frame, inst)["flag__alcohol_lifetime"].tolist())
    [0.0, 1.0, nan]
    """
    block = new_block(len(instrument.behaviours), len(frame))
    for row, behaviour in enumerate(instrument.behaviours):
        _RULES[behaviour.rule["kind"]](frame, instrument, behaviour.rule, block[row])
    names = [FLAG_PREFIX + b.id for b in instrument.behaviours]
    return join_columns(frame, block_frame(block, names, frame.index))


def classify_composites(frame: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Add one flag per composite indicator (count of flagged factors of one kind).

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of :func:`~ctc_helpers.survey.cutpoints.apply_cutpoints` (``flag__<factor>`` columns).
    instrument : Instrument
        Its ``composites``.

    Returns
    -------
    pandas.DataFrame
        A new frame: the input plus ``flag__<composite_id>`` (float 1.0 / 0.0; NaN when fewer
        than ``min_scored_share`` of the factors of that kind have a score) per composite.

    Raises
    ------
    KeyError
        If a factor flag column is missing.
    ValueError
        If the instrument has no factor of a composite's kind.
    """
    block = new_block(len(instrument.composites), len(frame))
    for row, composite in enumerate(instrument.composites):
        factors = instrument.factors_of(composite.kind)
        if not factors:
            raise ValueError(
                f"The composite {composite.id!r} counts {composite.kind} factors, but the"
                " instrument has none."
            )
        flagged = np.zeros(len(frame), dtype=np.int16)
        scored = np.zeros(len(frame), dtype=np.int16)
        for factor in factors:
            flags = float_column(
                frame,
                FLAG_PREFIX + factor.id,
                hint=f"the composite {composite.id!r} counts factor flags; run apply_cutpoints first",
            )
            flagged += flags == 1.0
            scored += flags == flags  # not NaN
        np.copyto(block[row], flagged >= composite.min_flagged)
        enough = scored >= composite.min_scored_share * len(factors) - 1e-9
        np.copyto(block[row], np.nan, where=~enough)
    names = [FLAG_PREFIX + c.id for c in instrument.composites]
    return join_columns(frame, block_frame(block, names, frame.index))
