"""The trend chart of the follow-up: every measure of a trend table over the waves, with its 95 %
intervals, in the colour-blind-safe palette of :mod:`ctc_helpers.plots.profile`.

It draws on ``ax`` (the current Axes when ``None``), returns the Axes and never shows, saves or
sizes the figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from ctc_helpers.i18n import check_language, t
from ctc_helpers.plots.profile import COLORBLIND
from ctc_helpers.views.labels import measure_labels
from ctc_helpers.views.numbers import format_pct

__all__ = ["plot_trends"]

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<")
"""A marker per measure, so that the lines can be told apart without colour."""


def plot_trends(
    trend: pd.DataFrame,
    *,
    measures: pd.DataFrame | None = None,
    lang: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Line chart of the measures of a trend table over the waves, with 95 % intervals.

    Each measure has its own colour (colour-blind safe palette) *and* marker, so the lines can
    be told apart without colour; suppressed waves are left out (a gap in the line).

    Parameters
    ----------
    trend : pandas.DataFrame
        Output of :func:`ctc_helpers.phases.followup.trends.trend_table`.
    measures : pandas.DataFrame, optional
        Measure catalogue for the labels.
    lang : str, optional
        ``"sv"`` or ``"en"``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: the current Axes).

    Returns
    -------
    matplotlib.axes.Axes
    """
    lang = check_language(lang)
    ax = ax if ax is not None else plt.gca()
    labels = {} if measures is None else measure_labels(measures, lang)
    names = list(dict.fromkeys(trend["measure"]))
    colours, markers = COLORBLIND, MARKERS
    for i, name in enumerate(names):
        one = trend.loc[trend["measure"].eq(name)].sort_values("wave")
        shown = one["pct"].where(~one["suppressed"].astype(bool))
        errors = [shown - one["ci_low"], one["ci_high"] - shown]
        ax.errorbar(
            one["wave"], shown, yerr=errors, color=colours[i % len(colours)],
            marker=markers[i % len(markers)], capsize=3, label=labels.get(name, name),
        )  # fmt: skip
    waves = sorted(trend["wave"].unique())
    ax.set_xticks(waves, [str(w) for w in waves])
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_pct(v, lang)))
    ax.set_ylim(bottom=0)
    ax.set_xlabel(t("followup_axis_wave", lang))
    ax.set_ylabel(t("followup_axis_share", lang))
    if names:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax
