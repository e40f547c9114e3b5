"""The goal chain drawn as a picture: columns short / medium / long, one box per goal coloured by
its status and labelled with the status symbol and word, arrows along ``contributes_to``.

Like every plot function here it draws on ``ax`` (the current Axes when ``None``), returns the
Axes and never shows, saves or sizes the figure (:func:`chain_figsize` suggests a size).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.text import Text

from ctc_helpers.config.goal_chain import goal_schema, schema_codes
from ctc_helpers.i18n import check_language, t, text_of
from ctc_helpers.views.goal_chain import box_text, status_label, statuses
from ctc_helpers.views.labels import measure_labels

__all__ = ["chain_figsize", "plot_goal_chain"]


def _positions(evaluated: pd.DataFrame) -> dict[str, tuple[float, float]]:
    levels = schema_codes("levels")
    places = {}
    for column, level in enumerate(levels):
        ids = evaluated.loc[evaluated["level"].eq(level), "goal_id"].tolist()
        for row, goal_id in enumerate(ids):
            places[goal_id] = (float(column), -float(row))
    return places


def chain_figsize(evaluated: pd.DataFrame, *, width: float = 13.0) -> tuple[float, float]:
    """A figure size that fits the chain: about 1.2 inches per goal in the fullest column.

    >>> chain_figsize(pd.DataFrame({"level": ["short", "long", "long"]}))
    (13.0, 4.4)
    """
    fullest = int(evaluated["level"].value_counts().max()) if len(evaluated) else 1
    return (width, round(2.0 + 1.2 * fullest, 1))


_ARROW = {
    "arrowstyle": "-|>", "color": "#333333", "connectionstyle": "arc3,rad=0.05",
    "shrinkA": 2, "shrinkB": 2,
}  # fmt: skip


def plot_goal_chain(
    evaluated: pd.DataFrame,
    *,
    measures: pd.DataFrame | None = None,
    lang: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw the evaluated chain from programmes to factors to behaviours.

    Columns short / medium / long, one box per goal, arrows along ``contributes_to``; each box
    is coloured by status *and* labelled with the status symbol and word (✓ achieved, → on
    track, ✗ not on track, ? not yet measurable), so the chart reads without colour.

    Parameters
    ----------
    evaluated : pandas.DataFrame
        Output of :func:`ctc_helpers.phases.followup.goal_progress.evaluate_goals` (an empty
        frame draws a notice).
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
    ax.set_axis_off()
    if evaluated.empty:
        ax.text(0.5, 0.5, t("goal_chain_none", lang), ha="center", va="center",
                transform=ax.transAxes)  # fmt: skip
        return ax
    labels = {} if measures is None else measure_labels(measures, lang)
    boxes = _draw_boxes(ax, evaluated, labels, lang)
    for goal_id, links in zip(evaluated["goal_id"], evaluated["contributes_to"], strict=True):
        for link in links:
            ax.annotate("", xy=(0.0, 0.5), xycoords=boxes[link], xytext=(1.0, 0.5),
                        textcoords=boxes[goal_id], arrowprops=_ARROW)  # fmt: skip
    _draw_frame(ax, lowest=min(box.get_position()[1] for box in boxes.values()), lang=lang)
    return ax


def _draw_boxes(
    ax: Axes, evaluated: pd.DataFrame, labels: dict[str, str], lang: str
) -> dict[str, Text]:
    """One text box per goal in its level's column, coloured by status; returns id -> Text."""
    status_specs = statuses()
    rows = evaluated.set_index("goal_id")
    return {
        goal_id: ax.text(
            x,
            y,
            box_text(rows.loc[goal_id], labels, lang),
            ha="center",
            va="center",
            fontsize=8,
            zorder=3,
            bbox={
                "boxstyle": "round,pad=0.5",
                "edgecolor": "#333333",
                "alpha": 0.9,
                "facecolor": status_specs[rows.loc[goal_id, "status"]]["colour"],
            },
        )  # fmt: skip
        for goal_id, (x, y) in _positions(evaluated).items()
    }


def _draw_frame(ax: Axes, *, lowest: float, lang: str) -> None:
    """Column headings, limits and the status legend (symbol and word beside each colour)."""
    levels = goal_schema()["levels"]
    for column, entry in enumerate(levels):
        ax.text(column, 0.75, text_of(entry["label"], lang), ha="center", va="bottom",
                fontweight="bold")  # fmt: skip
    ax.set_xlim(-0.6, len(levels) - 0.4)
    ax.set_ylim(lowest - 0.7, 1.1)
    handles = [
        Patch(facecolor=s["colour"], edgecolor="#333333", label=status_label(code, lang))
        for code, s in statuses().items()
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
              ncol=len(handles), frameon=False)  # fmt: skip
