"""Charts of the resource and gap analysis: the city view (factors x areas, coverage and
priorities) and the reach of the programmes for an area's prioritised factors.

Like every plot function here they draw on ``ax`` (the current Axes when ``None``), return the
Axes and never show, save or size the figure (:func:`city_view_figsize` suggests a size).
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import PercentFormatter

from ctc_helpers.i18n import check_language, t
from ctc_helpers.plots.profile import PALETTE

__all__ = ["city_view_figsize", "plot_city_view", "plot_reach"]


def city_view_figsize(view: pd.DataFrame) -> tuple[float, float]:
    """A figure size for :func:`plot_city_view`: one row per factor, one column per area.

    >>> city_view_figsize(pd.DataFrame({"area": ["a", "b"], "factor": ["f", "f"]}))
    (6.0, 3.1)
    """
    columns, rows = view["area"].nunique(), view["factor"].nunique()
    return round(4.6 + 0.7 * columns, 1), round(2.8 + 0.3 * rows, 1)


_COVERAGE_COLOURS = {"tested": "#0072B2", "untested": "#E69F00", "none": "#FFFFFF"}


def plot_city_view(
    view: pd.DataFrame,
    *,
    labels: Mapping[str, str] | None = None,
    area_names: Mapping[str, str] | None = None,
    lang: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Grid of factors (rows) x areas (columns) from :func:`ctc_helpers.phases.gaps.matrix.city_view`.

    Cell colour = coverage (blue: a tested programme, orange: only untested ones, white: none);
    the number = programmes (not flagged); a thick black frame = a prioritised factor, hatched
    when no programme covers it; "!" = a flagged programme in use. Reads without colour through
    the numbers, frames and hatching. :func:`city_view_figsize` gives a fitting figure size.

    Returns
    -------
    matplotlib.axes.Axes
    """
    lang = check_language(lang)
    ax = ax if ax is not None else plt.gca()
    labels, area_names = labels or {}, area_names or {}
    areas = list(dict.fromkeys(view["area"]))
    factors = list(dict.fromkeys(view["factor"]))
    for cell in view.to_dict("records"):
        _city_cell(ax, cell, x=areas.index(cell["area"]), y=factors.index(cell["factor"]))
    ax.set_xlim(0, len(areas))
    ax.set_ylim(len(factors), 0)
    ax.set_aspect("equal")
    ax.xaxis.tick_top()
    ax.set_xticks(
        [i + 0.5 for i in range(len(areas))],
        [area_names.get(a, a) for a in areas],
        rotation=45,
        ha="left",
        fontsize="small",
    )
    ax.set_yticks(
        [i + 0.5 for i in range(len(factors))],
        [labels.get(f, f) for f in factors],
        fontsize="small",
    )
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.legend(
        handles=_city_legend(lang),
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        frameon=False,
        fontsize="small",
        title=t("res_city_legend_title", lang),
        title_fontsize="small",
    )
    return ax


def _city_cell(ax: Axes, cell: dict, *, x: int, y: int) -> None:
    prioritised = bool(cell["prioritised"])
    gap = prioritised and cell["coverage"] == "none"
    ax.add_patch(
        Rectangle(
            (x + 0.04, y + 0.04),
            0.92,
            0.92,
            facecolor=_COVERAGE_COLOURS[cell["coverage"]],
            edgecolor="black" if prioritised else "#BBBBBB",
            linewidth=2.2 if prioritised else 0.6,
            hatch="///" if gap else None,
            zorder=2 if prioritised else 1,
        )
    )
    count = str(cell["n_programmes"]) if cell["n_programmes"] else ""
    text = count + ("!" if cell["n_flagged"] else "")
    colour = "white" if cell["coverage"] == "tested" else "black"
    ax.text(
        x + 0.5, y + 0.5, text, ha="center", va="center", fontsize="small", color=colour, zorder=3
    )


def _city_legend(lang: str) -> list[Patch]:
    return [
        Patch(facecolor=_COVERAGE_COLOURS["tested"], label=t("res_city_legend_tested", lang)),
        Patch(facecolor=_COVERAGE_COLOURS["untested"], label=t("res_city_legend_untested", lang)),
        Patch(facecolor="white", edgecolor="#BBBBBB", label=t("res_city_legend_none", lang)),
        Patch(
            facecolor="white",
            edgecolor="black",
            linewidth=2.2,
            label=t("res_city_legend_priority", lang),
        ),
        Patch(
            facecolor="white", edgecolor="black", hatch="///", label=t("res_city_legend_gap", lang)
        ),
        Patch(facecolor="white", edgecolor="white", label=t("res_city_legend_flagged", lang)),
    ]


def plot_reach(
    matrix: pd.DataFrame,
    *,
    low_reach: float = 0.30,
    labels: Mapping[str, str] | None = None,
    lang: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Reach of each programme for the prioritised factors of one area (a gap matrix).

    One bar per prioritised factor x programme (flagged programmes left out), 0-100 % of the
    eligible population, with the ``low_reach`` threshold as a dashed line. A factor without a
    programme, or a programme whose eligible population is unknown, gets a text instead of a bar.

    Returns
    -------
    matplotlib.axes.Axes
    """
    lang = check_language(lang)
    ax = ax if ax is not None else plt.gca()
    labels = labels or {}
    rows = matrix.loc[matrix["prioritised"] & ~matrix["flagged"]].reset_index(drop=True)
    if rows["area"].nunique() > 1:
        ax.text(
            0.5,
            0.5,
            t("res_plot_city_only", lang),
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        return ax
    if rows.empty:
        ax.text(
            0.5,
            0.5,
            t("res_plot_no_priorities", lang),
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        return ax
    names = [
        f"{labels.get(f, f)} – {p}" if pd.notna(p) else labels.get(f, f)
        for f, p in zip(rows["factor"], rows["programme"], strict=True)
    ]
    values = 100 * rows["reach"].astype(float)
    ax.barh(range(len(rows)), values.fillna(0), color=PALETTE["area"], height=0.6, zorder=2)
    for y, (programme, value) in enumerate(zip(rows["programme"], values, strict=True)):
        if pd.isna(value):
            key = "res_plot_no_programme" if pd.isna(programme) else "res_plot_reach_unknown"
            ax.text(
                1,
                y,
                t(key, lang),
                va="center",
                fontsize="small",
                style="italic",
                color=PALETTE["gap"],
            )
    ax.axvline(
        100 * low_reach,
        color=PALETTE["suggested"],
        linestyle="--",
        linewidth=1.2,
        label=t("res_plot_reach_threshold", lang, value=f"{100 * low_reach:.0f}"),
    )
    ax.set_yticks(range(len(rows)), names, fontsize="small")
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_xlabel(t("res_plot_reach_axis", lang))
    ax.legend(loc="lower right", frameon=False, fontsize="small")
    return ax
