"""The event-study chart of the effect evaluation (notebook 05): the pre-trend check at a glance.

One point per survey relative to the CTC start: before it (how far the CTC areas already moved
apart from the comparison areas, which the design assumes they did not) and after it (the effect
by survey), each with its 95 % randomisation interval, in percentage points against the last
survey before the start (the reference, 0 by definition, drawn hollow). A dashed line marks the
start. With fewer than two surveys before the start the chart says on its face that pre-trends
cannot be checked. An interval without an end (too few areas to bound it) is drawn to the edge
of the chart with an open end.

Draws on ``ax`` (a new Axes when ``None``) and returns it; never shows, saves or sizes a figure.

Examples
--------
>>> import pandas as pd
>>> events = pd.DataFrame({"event": [-1, 0], "waves": ["2021", "2023"], "estimate": [0.0, -0.05],
...     "ci_low": [float("nan"), -0.08], "ci_high": [float("nan"), -0.02],
...     "p_value": [float("nan"), 0.02], "n_pupils": [100.0, 100.0], "reference": [True, False]})
>>> ax = plot_event_study(events, lang="en")
>>> ax.get_ylabel()
'Difference, percentage points'
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ctc_helpers.i18n import check_language, t
from ctc_helpers.plots.profile import PALETTE

__all__ = ["plot_event_study"]


def plot_event_study(
    events: pd.DataFrame,
    *,
    title: str | None = None,
    lang: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Event-study chart of one measure.

    Parameters
    ----------
    events : pandas.DataFrame
        One measure's rows of the published event table: ``event, waves, estimate, ci_low,
        ci_high, reference`` (shares; see :func:`ctc_helpers.phases.effects.checks.event_study`).
    title : str, optional
        Title of the Axes (e.g. the measure's label).
    lang : str, optional
        ``"sv"`` (default) or ``"en"``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    lang = check_language(lang)
    ax = ax if ax is not None else plt.gca()
    rows = events.sort_values("event")
    if rows.empty:
        ax.text(0.5, 0.5, t("plot_no_data", lang), ha="center", va="center",
                transform=ax.transAxes)  # fmt: skip
        ax.set_axis_off()
        return ax
    x = rows["event"].to_numpy(float)
    y = 100 * rows["estimate"].to_numpy(float)
    low, high = (100 * rows[c].to_numpy(float) for c in ("ci_low", "ci_high"))
    edge = _edge(y, low, high)
    reference = rows["reference"].astype(bool).to_numpy()
    for xi, lo, hi in zip(x[~reference], low[~reference], high[~reference], strict=True):
        _interval(ax, xi, lo, hi, edge)
    ax.plot(x[~reference], y[~reference], "o", color=PALETTE["area"], zorder=3)
    ax.plot(x[reference], y[reference], "o", mfc="white", color=PALETTE["area"], zorder=3)
    ax.axhline(0, color=PALETTE["previous"], linewidth=0.8)
    ax.axvline(-0.5, color=PALETTE["suggested"], linestyle="--", linewidth=1)
    ax.text(-0.45, 0.98, t("effects_plot_start", lang), transform=ax.get_xaxis_transform(),
            ha="left", va="top", fontsize="small", color=PALETTE["suggested"])  # fmt: skip
    ax.set_xticks(x, [f"{w}\n({int(e):+d})" if e else f"{w}\n(0)"
                      for w, e in zip(rows["waves"], x, strict=True)])  # fmt: skip
    ax.set_xlim(x.min() - 0.6, x.max() + 0.6)
    ax.set_ylim(-edge, edge)
    ax.set_ylabel(t("effects_plot_ylabel", lang))
    ax.set_xlabel(t("effects_plot_xlabel", lang))
    if (x < -1).sum() < 1:
        ax.text(0.02, 0.03, t("effects_plot_no_pretrend", lang), transform=ax.transAxes,
                fontsize="small", style="italic", color=PALETTE["gap"])  # fmt: skip
    if title:
        ax.set_title(title, loc="left", fontsize="medium")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color=PALETTE["grid"], linewidth=0.8)
    ax.set_axisbelow(True)
    return ax


def _edge(y: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Half-height of the value axis: the largest finite value, with room, at least 2 points."""
    values = np.abs(np.concatenate([y, low, high]))
    finite = values[np.isfinite(values)]
    return max(2.0, 1.15 * float(finite.max(initial=0.0)))


def _interval(ax: Axes, x: float, low: float, high: float, edge: float) -> None:
    if np.isnan(low) or np.isnan(high):
        return
    bottom, top = max(low, -edge), min(high, edge)
    ax.plot([x, x], [bottom, top], color=PALETTE["area"], linewidth=1.6, zorder=2)
    for value, end in ((low, bottom), (high, top)):
        if np.isfinite(value):
            ax.plot([x - 0.08, x + 0.08], [end, end], color=PALETTE["area"], linewidth=1.6)
        else:
            ax.plot(x, end, marker="^" if end > 0 else "v", color=PALETTE["area"], mfc="white")
