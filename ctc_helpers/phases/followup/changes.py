"""Change between two survey waves of every measure shown: since the previous wave and since
the baseline (the first wave in the table).

:func:`change_table` compares the chosen wave with the previous wave and with the baseline
through :func:`ctc_helpers.survey.compare.compare_waves`: difference in percentage points with a
Newcombe interval, two-proportion z-test, Cohen's h, and Holm's correction across the measures
compared in one call (the measures shown: pass ``include`` or ``kinds`` to choose them). A change
is called an increase or a decrease only when the Holm-adjusted p-value is below 0.05 *and* the
interval excludes 0 (:func:`ctc_helpers.stats.significance.label_change`); otherwise it is "no clear change".
Groups that are suppressed or smaller than ``min_n`` are "too few answers to judge"
(``too_few``). Each change is also judged better or worse
(:mod:`ctc_helpers.phases.followup.assessment`).

Cut-point versions
------------------
Prevalences computed with different cut points cannot be compared. :func:`change_table` does
not stop the whole table for that: the measures whose versions differ get
``change == "not_comparable"`` (numbers blank) and both versions in ``cutpoint_version`` and
``reference_cutpoint_version``; :func:`ctc_helpers.views.followup.explain_not_comparable` turns
them into a sentence naming both versions. :func:`wave_changes` is the strict form that raises
:class:`~ctc_helpers.errors.ComparisonError` (from ``compare_waves``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ctc_helpers.phases.followup.assessment import NOT_COMPARABLE, assess_change, better_column
from ctc_helpers.phases.followup.selection import (
    cutpoint_versions,
    group_rows,
    hide_small,
    waves_of,
)
from ctc_helpers.survey.compare import compare_waves
from ctc_helpers.vocab import TOTAL

__all__ = ["CHANGE_STATS", "CHANGE_COLUMNS", "change_table", "wave_changes", "compare_pair"]

CHANGE_STATS = ["diff", "diff_low", "diff_high", "z", "p_value", "p_holm", "cohens_h"]
"""The statistics of a comparison of two waves (blank in a refused comparison)."""


def _differing(rows: pd.DataFrame, wave: int, reference_wave: int) -> pd.DataFrame:
    """Measures whose (non-empty) cut-point versions differ between the two waves."""
    both = pd.concat(
        {
            "cutpoint_version": cutpoint_versions(rows, wave),
            "reference_version": cutpoint_versions(rows, reference_wave),
        },
        axis=1,
    ).dropna()
    differ = both["cutpoint_version"].ne(both["reference_version"]) & both.ne("").all(axis=1)
    return both.loc[differ]


def compare_pair(
    rows: pd.DataFrame, *, wave: int, reference_wave: int, min_n: int, confidence: float
) -> pd.DataFrame:
    """compare_waves of two waves of one group's rows, on the measures whose cut points match.

    The measures whose cut-point versions differ get refused rows (``change ==
    "not_comparable"``, statistics blank). Columns as :func:`ctc_helpers.survey.compare.compare_waves`,
    with ``reference_wave, pct_reference, n_reference`` for the earlier wave and both versions.
    """
    differ = _differing(rows, wave, reference_wave)
    comparable = rows.loc[~rows["measure"].isin(differ.index)]
    first = rows.iloc[0]
    parts = []
    if not comparable.empty:
        compared = compare_waves(
            comparable,
            wave=wave,
            previous_wave=reference_wave,
            area=first["area"],
            grade=first["grade"],
            sex=first["sex"],
            min_n=min_n,
            confidence=confidence,
        )
        shown = hide_small(rows, min_n)
        parts.append(_with_levels(compared, shown, wave=wave, reference_wave=reference_wave))
    if not differ.empty:
        parts.append(
            _refused(hide_small(rows, min_n), differ, wave=wave, reference_wave=reference_wave)
        )
    return pd.concat(parts, ignore_index=True).rename(
        columns={"previous_wave": "reference_wave", "pct_previous": "pct_reference",
                 "n_previous": "n_reference"}
    )  # fmt: skip


def _with_levels(
    compared: pd.DataFrame, rows: pd.DataFrame, *, wave: int, reference_wave: int
) -> pd.DataFrame:
    """Published levels of both waves (compare_waves blanks them in rows it does not test)."""
    now = rows.loc[rows["wave"].eq(wave)].set_index("measure")
    before = rows.loc[rows["wave"].eq(reference_wave)].set_index("measure")
    measure = compared["measure"]
    return compared.assign(
        pct=measure.map(now["pct"]).astype(float),
        n=measure.map(now["n"]).astype(float),
        pct_previous=measure.map(before["pct"]).astype(float),
        n_previous=measure.map(before["n"]).astype(float),
        reference_cutpoint_version=measure.map(cutpoint_versions(rows, reference_wave)),
    )


def _refused(rows: pd.DataFrame, differ: pd.DataFrame, *, wave: int, reference_wave: int):
    now = rows.loc[rows["wave"].eq(wave)].set_index("measure").loc[differ.index]
    before = rows.loc[rows["wave"].eq(reference_wave)].set_index("measure").loc[differ.index]
    return pd.DataFrame(
        {
            "wave": wave,
            "previous_wave": reference_wave,
            "area": now["area"].to_numpy(),
            "grade": now["grade"].to_numpy(),
            "sex": now["sex"].to_numpy(),
            "measure": differ.index,
            "measure_kind": now["measure_kind"].to_numpy(),
            "pct": now["pct"].to_numpy(dtype=float),
            "n": now["n"].to_numpy(dtype=float),
            "pct_previous": before["pct"].to_numpy(dtype=float),
            "n_previous": before["n"].to_numpy(dtype=float),
            **{c: np.nan for c in CHANGE_STATS},
            "change": NOT_COMPARABLE,
            "cutpoint_version": differ["cutpoint_version"].to_numpy(),
            "reference_cutpoint_version": differ["reference_version"].to_numpy(),
        }
    )


def change_table(
    aggregates: pd.DataFrame,
    *,
    area: str,
    wave: int,
    grade: str = TOTAL,
    sex: str = TOTAL,
    include: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    measures: pd.DataFrame | None = None,
    min_n: int = 10,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Change of every measure shown since the previous wave and since the baseline wave.

    Parameters
    ----------
    aggregates : pandas.DataFrame
        Tidy aggregate table holding several waves.
    area : str
        Area id, ``"all"`` for the city.
    wave : int
        The wave followed up (the later wave of each comparison).
    grade, sex : str, default "all"
        The group.
    include : sequence of str, optional
        Measure ids to compare (default: every measure); Holm's correction runs across them.
    kinds : sequence of str, optional
        Keep only these measure kinds (``risk``, ``protective``, ``behaviour``, ``composite``).
    measures : pandas.DataFrame, optional
        Measure catalogue (published ``measures.csv`` or ``Instrument.measures()``); gives the
        better direction of composites.
    min_n : int, default 10
        Smallest group compared.
    confidence : float, default 0.95
        Confidence level of the difference interval.

    Returns
    -------
    pandas.DataFrame
        Two rows per measure, one per reference (``previous`` and ``baseline``, both written
        also when the previous wave is the baseline), none when ``wave`` is the first wave or
        no measure is shown (``kinds`` the instrument does not have):
        ``wave``, ``reference`` (``"previous"`` or ``"baseline"``), ``reference_wave``,
        ``area``, ``grade``, ``sex``, ``measure``, ``measure_kind``, ``pct``, ``n``,
        ``pct_reference``, ``n_reference``, ``diff`` (``pct - pct_reference``),
        ``diff_low``, ``diff_high`` (Newcombe), ``z``, ``p_value``, ``p_holm`` (Holm across the
        measures of one comparison), ``cohens_h``, ``change`` (``increase``, ``decrease``,
        ``no_clear_change``, ``too_few``, ``not_comparable``), ``better``, ``assessment``,
        ``cutpoint_version``, ``reference_cutpoint_version``.

    Raises
    ------
    ValueError
        If the group, a measure or the wave is not in the table.

    Examples
    --------
    >>> table = pd.DataFrame({"wave": [2021, 2023], "area": "all", "grade": "all", "sex": "all",
    ...     "measure": "alcohol_30d", "measure_kind": "behaviour", "domain": "behaviour",
    ...     "n": [400, 400], "n_flagged": [100.0, 60.0], "pct": [0.25, 0.15], "n_eff": 400.0,
    ...     "cutpoint_version": "", "suppressed": False})
    >>> out = change_table(table, area="all", wave=2023)
    >>> out[["reference", "diff", "change", "assessment"]].round(3).to_dict("records")[0]
    {'reference': 'previous', 'diff': -0.1, 'change': 'decrease', 'assessment': 'better'}
    """
    rows = group_rows(aggregates, area=area, grade=grade, sex=sex, include=include, kinds=kinds)
    if rows.empty:  # no measure of these kinds (e.g. an instrument without factor scales)
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    waves = waves_of(rows)
    if wave not in waves:
        raise ValueError(
            f"The survey year {wave!r} is not in the table for this group; years: "
            f"{', '.join(map(str, waves))}."
        )
    earlier = [w for w in waves if w < wave]
    references = {"previous": earlier[-1], "baseline": earlier[0]} if earlier else {}
    parts = [
        compare_pair(
            rows, wave=wave, reference_wave=ref, min_n=min_n, confidence=confidence
        ).assign(reference=name)
        for name, ref in references.items()
    ]
    if not parts:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    frame = pd.concat(parts, ignore_index=True)
    better = better_column(frame, measures)
    return frame.assign(better=better, assessment=assess_change(frame["change"], better))[
        CHANGE_COLUMNS
    ]


CHANGE_COLUMNS = [
    "wave", "reference", "reference_wave", "area", "grade", "sex", "measure", "measure_kind",
    "pct", "n", "pct_reference", "n_reference", *CHANGE_STATS, "change", "better",
    "assessment", "cutpoint_version", "reference_cutpoint_version",
]  # fmt: skip


def wave_changes(
    aggregates: pd.DataFrame,
    *,
    area: str,
    wave: int,
    reference_wave: int,
    grade: str = TOTAL,
    sex: str = TOTAL,
    include: Sequence[str] | None = None,
    measures: pd.DataFrame | None = None,
    min_n: int = 10,
) -> pd.DataFrame:
    """Strict comparison of two waves, refusing different cut points (no refused rows).

    :func:`ctc_helpers.survey.compare.compare_waves` on the measures shown (``include``), plus
    ``better`` and ``assessment``; the other options are those of :func:`change_table`.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`ctc_helpers.survey.compare.compare_waves` plus ``better`` and
        ``assessment``.

    Raises
    ------
    ComparisonError
        If a measure's cut-point version differs between the two waves (the message names the
        measure and both versions).
    """
    rows = group_rows(aggregates, area=area, grade=grade, sex=sex, include=include, kinds=None)
    compared = compare_waves(
        rows, wave=wave, previous_wave=reference_wave, area=area, grade=grade, sex=sex, min_n=min_n
    )
    better = better_column(compared, measures)
    return compared.assign(better=better, assessment=assess_change(compared["change"], better))
