"""Better or worse: the codes of a follow-up's verdicts, and which change is an improvement.

``better`` says which direction is an improvement: ``decrease`` for risk factors, problem
behaviours and the high-risk composite, ``increase`` for protective factors and the
high-protection composite (composites need the measure catalogue, whose ``group`` says ``risk``
or ``protective``). ``assessment`` is ``better``, ``worse``, ``no_clear_change``, ``too_few``,
``not_comparable`` or ``too_few_waves`` (:data:`ASSESSMENTS`); the display edge
(:mod:`ctc_helpers.views.followup`) turns them into words.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ctc_helpers.survey.compare import TOO_FEW

__all__ = [
    "NOT_COMPARABLE",
    "TOO_FEW_WAVES",
    "ASSESSMENTS",
    "better_direction",
    "better_column",
    "assess_change",
]


NOT_COMPARABLE = "not_comparable"
"""Change code of a comparison refused because the cut-point versions differ."""

TOO_FEW_WAVES = "too_few_waves"
"""Trend code when the table holds fewer than three waves."""

ASSESSMENTS = ("better", "worse", "no_clear_change", TOO_FEW, NOT_COMPARABLE, TOO_FEW_WAVES)
"""Codes of the ``assessment`` column (translated at the display edge)."""


def better_direction(measure_kind: str, group: str | None = None) -> str:
    """The direction of change that is an improvement for a measure.

    Parameters
    ----------
    measure_kind : str
        ``risk``, ``protective``, ``behaviour`` or ``composite``.
    group : str, optional
        For composites, the kind of factor they count (``risk`` or ``protective``; the ``group``
        column of the measure catalogue).

    Returns
    -------
    str
        ``"decrease"``, ``"increase"``, or ``""`` when unknown (a composite without group).

    Examples
    --------
    >>> better_direction("protective"), better_direction("behaviour")
    ('increase', 'decrease')
    >>> better_direction("composite", "protective"), better_direction("composite")
    ('increase', '')
    """
    kind = group if measure_kind == "composite" else measure_kind
    return {"risk": "decrease", "behaviour": "decrease", "protective": "increase"}.get(kind, "")


def better_column(frame: pd.DataFrame, measures: pd.DataFrame | None) -> pd.Series:
    """The better direction (:func:`better_direction`) of each row's measure, as a column.

    ``measures`` (the measure catalogue) gives the ``group`` of composites; without it a
    composite's direction is unknown (``""``).
    """
    groups = (
        {} if measures is None else dict(zip(measures["measure"], measures["group"], strict=True))
    )
    pairs = zip(frame["measure_kind"], frame["measure"].map(groups), strict=True)
    return pd.Series([better_direction(k, g) for k, g in pairs], index=frame.index, dtype=object)


def assess_change(change: Sequence[str], better: Sequence[str]) -> np.ndarray:
    """Turn change codes into ``better`` / ``worse`` given each measure's better direction.

    ``increase``/``decrease`` become ``better`` when they go in the ``better`` direction and
    ``worse`` otherwise; every other code (``no_clear_change``, ``too_few``, ...) is kept. With an
    unknown better direction (``""``) the change code is kept as it is.

    Examples
    --------
    >>> assess_change(["increase", "increase", "no_clear_change", "decrease"],
    ...               ["decrease", "increase", "decrease", ""]).tolist()
    ['worse', 'better', 'no_clear_change', 'decrease']
    """
    change = np.asarray(change, dtype=object)
    better = np.asarray(better, dtype=object)
    directional = np.isin(change, ["increase", "decrease"]) & (better != "")
    judged = np.where(change == better, "better", "worse")
    return np.where(directional, judged, change)
