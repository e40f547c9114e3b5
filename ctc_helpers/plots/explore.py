"""Charts of the evaluator's API (:mod:`ctc_helpers.explore`): a comparison's differences with
their intervals, and chosen measures over the waves, from the published aggregates.

Each function draws on ``ax`` (the current Axes when ``None``), returns the Axes and never shows,
saves or sizes the figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ctc_helpers.i18n import check_language, t
from ctc_helpers.plots.followup import plot_trends
from ctc_helpers.plots.profile import COLORBLIND
from ctc_helpers.views.labels import measure_labels
from ctc_helpers.vocab import TOTAL

__all__ = ["plot_comparison", "plot_over_time"]


def plot_comparison(
    result: pd.DataFrame,
    *,
    measures: pd.DataFrame | None = None,
    lang: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Differences of a comparison in percentage points with their intervals, one row per measure.

    Parameters
    ----------
    result : pandas.DataFrame
        The result of :func:`ctc_helpers.explore.compare_areas` or
        :func:`ctc_helpers.explore.compare_waves` (columns ``measure, diff, diff_low,
        diff_high``); rows without a comparison (``too_few``) are left out.
    measures : pandas.DataFrame, optional
        The published measure catalogue (``published.measures``) for the labels.
    lang : str, optional
        ``"sv"`` or ``"en"``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: the current Axes).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> result = pd.DataFrame({"measure": ["alcohol_30d"], "diff": [0.1],
    ...                        "diff_low": [0.02], "diff_high": [0.17]})
    >>> ax = plot_comparison(result, lang="en")
    >>> [label.get_text() for label in ax.get_yticklabels()], ax.get_xlim()[0] < 2 < 17
    (['alcohol_30d'], True)
    """
    lang = check_language(lang)
    ax = ax if ax is not None else plt.gca()
    labels = {} if measures is None else measure_labels(measures, lang)
    shown = result.dropna(subset=["diff", "diff_low", "diff_high"])
    diff, low, high = (shown[c].to_numpy(float) * 100 for c in ("diff", "diff_low", "diff_high"))
    ys = np.arange(len(shown))[::-1]
    ax.errorbar(diff, ys, xerr=[diff - low, high - diff], fmt="o", color=COLORBLIND[0], capsize=3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(ys, [labels.get(m, m) for m in shown["measure"]])
    ax.set_xlabel(t("explore_axis_difference", lang))
    return ax


def plot_over_time(
    data: Any,
    *,
    area: str,
    measures: Sequence[str],
    grade: str = TOTAL,
    sex: str = TOTAL,
    lang: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """The chosen measures of one group over the waves, with 95 % intervals.

    Parameters
    ----------
    data : Published or pandas.DataFrame
        The published folder (its catalogue gives the labels) or its aggregate table.
    area, grade, sex : str
        The group drawn (``"all"`` = total).
    measures : list of str
        The measures drawn.
    lang : str, optional
        ``"sv"`` or ``"en"``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: the current Axes).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If no row of the table matches the group and measures.
    """
    table = getattr(data, "aggregates", data)
    rows = table[
        table["measure"].isin(list(measures))
        & table["area"].eq(area) & table["grade"].eq(grade) & table["sex"].eq(sex)
    ]  # fmt: skip
    if rows.empty:
        raise ValueError(
            f"No rows for area {area!r}, grade {grade!r}, sex {sex!r} and measures"
            f" {list(measures)} in the aggregate table."
        )
    return plot_trends(rows, measures=getattr(data, "measures", None), lang=lang, ax=ax)
