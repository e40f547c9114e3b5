"""The phase status chart of the CTC process: a grid of phases, coloured by the share of
milestones met, with the steering group's criteria beside them.

:func:`plot_phase_status` draws on ``ax`` (the current Axes when ``None``), returns the Axes and
never shows, saves or sizes the figure; :func:`phase_status_figsize` suggests a size.
:func:`process_chart` is the report's picture: it draws the chart on a figure of that size, and
narrow for phones, and returns both for a notebook cell (rows are years for an area, areas for
the city).
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from ctc_helpers.i18n import check_language, t, text_of
from ctc_helpers.phases.process import ProcessFrames
from ctc_helpers.plots.cache import ChartPicture, narrow_png
from ctc_helpers.plots.profile import PALETTE
from ctc_helpers.vocab import CITY

__all__ = ["STEERING_COLOURS", "phase_status_figsize", "plot_phase_status", "process_chart"]

STEERING_COLOURS = {"met": "#009E73", "unmet": "#D55E00", "not_due": "#DDDDDD"}
_SHARE = colormaps["Blues"]
_DPI = 100


def phase_status_figsize(phases: pd.DataFrame, *, by: str = "year") -> tuple[float, float]:
    """A figure size for :func:`plot_phase_status`: one row per year (or area).

    >>> phase_status_figsize(pd.DataFrame({"year": [2024, 2025], "phase": [1, 1]}))
    (9.0, 2.8)
    """
    rows = phases[by].nunique()
    return 9.0, round(1.8 + 0.5 * rows, 1)


def _cell_colour(share: float, status: str) -> str | tuple:
    return "#F2F2F2" if status == "not_assessed" else _SHARE(0.08 + 0.82 * float(share))


def plot_phase_status(
    phases: pd.DataFrame,
    steering: pd.DataFrame | None = None,
    *,
    by: str = "year",
    phase_labels: Mapping[int, str] | None = None,
    row_labels: Mapping[object, str] | None = None,
    lang: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Grid of rows (years, or areas with ``by="area"``) x phases from
    :func:`ctc_helpers.phases.process.phase_status`.

    Cell colour = share of the phase's milestones met (white: none, dark blue: all; light grey:
    not assessed); the text = milestones met / milestones. With ``steering``
    (:func:`ctc_helpers.phases.process.steering_group_status`) a last column shows the steering
    group's criteria: green when every due criterion is met, vermillion when one is not, grey
    before any is due, with the criteria met / due. Reads without colour through the numbers.

    Returns
    -------
    matplotlib.axes.Axes
    """
    lang = check_language(lang)
    ax = ax if ax is not None else plt.gca()
    rows = list(dict.fromkeys(phases.sort_values(by)[by])) if by == "year" else list(
        dict.fromkeys(phases[by]))  # fmt: skip
    numbers = sorted(phases["phase"].unique())
    for _, cell in phases.iterrows():
        x, y = numbers.index(cell["phase"]), rows.index(cell[by])
        share = float(cell["share_met"])
        ax.add_patch(Rectangle((x, y), 1, 1, facecolor=_cell_colour(share, cell["status"]),
                               edgecolor="white", linewidth=2))  # fmt: skip
        ax.text(x + 0.5, y + 0.5, f"{int(cell['met'])}/{int(cell['milestones'])}", ha="center",
                va="center", fontsize=10, color="white" if share > 0.6 else "black")  # fmt: skip
    columns = [phase_labels.get(int(n), str(n)) if phase_labels else str(n) for n in numbers]
    if steering is not None and len(steering):
        _steering_column(ax, steering, rows=rows, by=by, x=len(numbers))
        columns.append(t("proc_steering_column", lang))
        ax.legend(
            handles=[Patch(color=STEERING_COLOURS[s], label=t(f"proc_steering_{s}", lang))
                     for s in STEERING_COLOURS],
            loc="upper center", bbox_to_anchor=(0.5, -0.04), ncol=3, frameon=False, fontsize=9,
        )  # fmt: skip
    ax.set_xlim(0, len(columns))
    ax.set_ylim(len(rows), 0)
    ax.set_xticks([i + 0.5 for i in range(len(columns))])
    ax.set_xticklabels([textwrap.fill(c, 16) for c in columns], fontsize=9)
    ax.xaxis.tick_top()
    ax.set_yticks([i + 0.5 for i in range(len(rows))])
    ax.set_yticklabels([(row_labels or {}).get(r, str(r)) for r in rows])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_aspect("auto")
    return ax


def _steering_column(ax: Axes, steering: pd.DataFrame, *, rows: list, by: str, x: int) -> None:
    for _, row in steering.iterrows():
        if row[by] not in rows:
            continue
        y = rows.index(row[by])
        ax.add_patch(Rectangle((x + 0.1, y), 0.9, 1, facecolor=STEERING_COLOURS[row["status"]],
                               edgecolor="white", linewidth=2))  # fmt: skip
        text = "white" if row["status"] != "not_due" else PALETTE["gap"]
        ax.text(x + 0.55, y + 0.5, f"{int(row['met'])}/{int(row['due'])}", ha="center",
                va="center", fontsize=10, color=text)  # fmt: skip


def process_chart(
    frames: ProcessFrames, *, lang: str | None = None, names: Mapping[str, str] | None = None
) -> ChartPicture | None:
    """The report's phase status chart, wide and narrow for phones (``None`` without
    checklists): one area's checklists year by year, or (the city) every area's latest checklist
    side by side."""
    lang = check_language(lang)
    city = frames.area == CITY
    phases = frames.latest_phases if city else frames.phases
    if phases.empty:
        return None
    by = "area" if city else "year"
    steering = frames.steering
    if city:
        steering = steering.groupby("area").tail(1)
    labels = {
        p.number: t("proc_phase_label", lang, n=p.number, title=text_of(p.title, lang))
        for p in frames.definition.phases
    }
    size = phase_status_figsize(phases, by=by)

    def draw(figure: Figure) -> None:
        plot_phase_status(phases, steering, by=by, phase_labels=labels, row_labels=names or {},
                          lang=lang, ax=figure.add_subplot())  # fmt: skip

    figure = Figure(figsize=size, dpi=_DPI)
    draw(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight", facecolor="white")
    narrow = narrow_png(draw, height=size[1] * 1.3, dpi=_DPI)
    return ChartPicture(buffer.getvalue(), narrow, t("chart_alt", lang))
