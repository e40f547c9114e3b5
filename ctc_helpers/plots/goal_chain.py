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


def _stacked_positions(
    evaluated: pd.DataFrame,
) -> tuple[dict[str, tuple[float, float]], list[tuple[float, str]]]:
    """One column for a phone: each level's heading, then its goals one under another;
    returns goal id -> place, and (y, level code) of the headings of the levels with goals."""
    places, headings, y = {}, [], 0.0
    for level in schema_codes("levels"):
        ids = evaluated.loc[evaluated["level"].eq(level), "goal_id"].tolist()
        if not ids:
            continue
        headings.append((y, level))
        y -= _STACK_HEADING
        for goal_id in ids:
            places[goal_id] = (0.0, y)
            y -= 1.0
    return places, headings


_STACK_HEADING = 0.55  # a level's heading above its goals, in goal rows


def chain_figsize(
    evaluated: pd.DataFrame, *, width: float = 13.0, stacked: bool = False
) -> tuple[float, float]:
    """A figure size that fits the chain: about 1.2 inches per goal in the fullest column
    (``stacked``: about 1 inch per goal, every goal in one column).

    >>> chain_figsize(pd.DataFrame({"level": ["short", "long", "long"]}))
    (13.0, 4.4)
    >>> chain_figsize(pd.DataFrame({"level": ["short", "long", "long"]}), width=4.2, stacked=True)
    (4.2, 5.4)
    """
    if stacked:
        levels = evaluated["level"].nunique() if len(evaluated) else 1
        return (width, round(1.6 + 0.95 * len(evaluated) + 0.5 * levels, 1))
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
    stacked: bool = False,
) -> Axes:
    """Draw the evaluated chain from programmes to factors to behaviours.

    Columns short / medium / long, one box per goal, arrows along ``contributes_to``; each box
    is coloured by status *and* labelled with the status symbol and word (✓ achieved, → on
    track, ✗ not on track, ? not yet measurable), so the chart reads without colour.
    ``stacked`` (a phone's narrow chart) puts the levels one under another, each under its
    heading, with the arrows along the right-hand side.

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
    stacked : bool, default False
        One column instead of three (:func:`chain_figsize` with ``stacked=True`` fits it).

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
    if stacked:
        places, headings = _stacked_positions(evaluated)
    else:
        places, headings = _positions(evaluated), []
    boxes = _draw_boxes(ax, evaluated, places, labels, lang)
    # stacked: from the right-hand edge of a goal down (or up) to the right-hand edge of the next
    start, end = ((1.0, 0.5), (1.0, 0.5)) if stacked else ((1.0, 0.5), (0.0, 0.5))
    arrow = {**_ARROW, "connectionstyle": "arc3,rad=-0.45"} if stacked else _ARROW
    for goal_id, links in zip(evaluated["goal_id"], evaluated["contributes_to"], strict=True):
        for link in links:
            ax.annotate("", xy=end, xycoords=boxes[link], xytext=start,
                        textcoords=boxes[goal_id], arrowprops=arrow)  # fmt: skip
    lowest = min(box.get_position()[1] for box in boxes.values())
    if stacked:
        _draw_stacked_frame(ax, headings, lowest=lowest, lang=lang)
    else:
        _draw_frame(ax, lowest=lowest, lang=lang)
    return ax


def _draw_boxes(
    ax: Axes,
    evaluated: pd.DataFrame,
    places: dict[str, tuple[float, float]],
    labels: dict[str, str],
    lang: str,
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
        for goal_id, (x, y) in places.items()
    }


def _draw_frame(ax: Axes, *, lowest: float, lang: str) -> None:
    """Column headings, limits and the status legend (symbol and word beside each colour)."""
    levels = goal_schema()["levels"]
    for column, entry in enumerate(levels):
        ax.text(column, 0.75, text_of(entry["label"], lang), ha="center", va="bottom",
                fontweight="bold")  # fmt: skip
    ax.set_xlim(-0.6, len(levels) - 0.4)
    ax.set_ylim(lowest - 0.7, 1.1)
    ax.legend(handles=_status_handles(lang), loc="upper center", bbox_to_anchor=(0.5, 0.0),
              ncol=len(statuses()), frameon=False)  # fmt: skip


def _draw_stacked_frame(
    ax: Axes, headings: list[tuple[float, str]], *, lowest: float, lang: str
) -> None:
    """The headings of the stacked levels, limits and the status legend in two columns."""
    names = {entry["code"]: entry["label"] for entry in goal_schema()["levels"]}
    for y, level in headings:
        ax.text(0.0, y, text_of(names[level], lang), ha="center", va="center", fontweight="bold")
    ax.set_xlim(-1.0, 1.3)  # room for the arrows right of the boxes
    ax.set_ylim(lowest - 0.6, 0.4)
    ax.legend(handles=_status_handles(lang), loc="upper center", bbox_to_anchor=(0.5, 0.0),
              ncol=2, frameon=False)  # fmt: skip


def _status_handles(lang: str) -> list[Patch]:
    return [
        Patch(facecolor=s["colour"], edgecolor="#333333", label=status_label(code, lang))
        for code, s in statuses().items()
    ]
