"""The goal chain (målkedja): read an area's goal file, evaluate every goal, draw the chain.

This module is the one place to call: it re-exports the public API of
:mod:`~ctc_helpers.config.goal_chain` (the chain as data: schema, classes, reading and validating the
file) and :mod:`~ctc_helpers.phases.followup.goal_progress` (the evaluation of every goal in a wave, with the
status rules), and holds the display edge of notebook 04 and the dashboards: the goal table and
notices in Swedish or English, and the chain drawn as a picture.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pandas as pd

from ctc_helpers.config.goal_chain import (
    GOAL_REASONS,
    GOAL_SCHEMA_FILE,
    TOTAL,
    Goal,
    GoalChain,
    common_cutpoint_version,
    goal_chain_path,
    goal_schema,
    goals_frame,
    load_area_goal_chain,
    load_goal_chain,
    schema_codes,
)
from ctc_helpers.i18n import check_language, t, text_of
from ctc_helpers.phases.followup.goal_progress import (
    evaluate_goals,
    load_programme_figures,
    programme_figures,
)
from ctc_helpers.views.labels import grade_labels, measure_labels, sex_labels
from ctc_helpers.views.numbers import format_pct
from ctc_helpers.views.tables import display_table

__all__ = [
    "GOAL_SCHEMA_FILE",
    "GOAL_REASONS",
    "Goal",
    "GoalChain",
    "goal_schema",
    "load_goal_chain",
    "goal_chain_path",
    "load_area_goal_chain",
    "goals_frame",
    "evaluate_goals",
    "common_cutpoint_version",
    "status_label",
    "reason_text",
    "goal_display",
    "goal_chain_notice",
    "goal_summary",
    "plot_goal_chain",
    "chain_figsize",
    "programme_figures",
    "load_programme_figures",
]


# --------------------------------------------------------------------------------------------
# Display edge


def _statuses() -> dict[str, dict[str, str]]:
    return {s["code"]: s for s in goal_schema()["statuses"]}


def status_label(status: str, lang: str | None = None) -> str:
    """The status as symbol and word, readable without colour: ``"✓ uppnått"``.

    >>> status_label("on_track", "en"), status_label("not_yet_measurable", "sv")
    ('→ on track', '? kan inte bedömas än')
    """
    return f"{_statuses()[status]['symbol']} {t(f'goal_status_{status}', lang)}"


def _goal_name(row: pd.Series, labels: dict[str, str], lang: str) -> str:
    if row["label"] is not None and not (isinstance(row["label"], float) and pd.isna(row["label"])):
        return text_of(row["label"], lang)
    if row["programme"]:
        return t(f"goal_indicator_{row['indicator_kind']}", lang, programme=row["programme"])
    return labels.get(row["measure"], row["measure"])


def _group_text(row: pd.Series, lang: str) -> str:
    parts = [grade_labels(lang)[row["grade"]]] if row["grade"] != TOTAL else []
    parts += [sex_labels(lang)[row["sex"]]] if row["sex"] != TOTAL else []
    return f" ({', '.join(parts)})" if parts else ""


def reason_text(row: pd.Series, lang: str | None = None, *, min_n: int = 10) -> str:
    """The reason of an evaluated goal (a row of :func:`evaluate_goals`) in words.

    The note (baseline taken from the data, or differing from it) is appended.
    """
    lang = check_language(lang)
    values = {
        "progress": format_pct(row["progress"], lang),
        "expected": format_pct(row["expected_progress"], lang),
        "target_year": row["target_year"],
        "baseline_wave": row["baseline_wave"],
        "wave": row["wave"],
        "goal_version": row["goal_cutpoint_version"],
        "data_version": row["data_cutpoint_version"],
        "baseline_version": row["baseline_cutpoint_version"],
        "programme": row["programme"],
        "min_n": min_n,
        "baseline_data": format_pct(row["baseline_data"], lang),
    }
    text = t(f"goal_reason_{row['reason']}", lang, **values)
    note = t(f"goal_note_{row['note']}", lang, **values) if row["note"] else ""
    return f"{text} {note}".strip()


def goal_display(
    evaluated: pd.DataFrame,
    *,
    measures: pd.DataFrame | None = None,
    lang: str | None = None,
    min_cell: int = 10,
):
    """Display copy of :func:`evaluate_goals`: one row per goal, short-term goals first.

    Columns (in ``lang``): level, goal, baseline (year), latest value with its 95 % interval,
    target (year), status (symbol and word) and the reason in words.
    """
    lang = check_language(lang)
    labels = {} if measures is None else measure_labels(measures, lang)
    order = {code: i for i, code in enumerate(schema_codes("levels"))}
    rows = evaluated.assign(_order=evaluated["level"].map(order)).sort_values(
        "_order", kind="stable"
    )
    level_names = {e["code"]: text_of(e["label"], lang) for e in goal_schema()["levels"]}
    word = t("followup_interval_to", lang)
    table = pd.DataFrame(
        {
            t("goal_col_level", lang): rows["level"].map(level_names),
            t("goal_col_goal", lang): [
                _goal_name(r, labels, lang) + _group_text(r, lang) for _, r in rows.iterrows()
            ],
            t("goal_col_baseline", lang): [
                f"{format_pct(b, lang)} ({y})" if pd.notna(b) else "" for b, y in
                zip(rows["baseline_used"], rows["baseline_wave"], strict=True)
            ],
            t("goal_col_latest", lang): [
                _latest_text(r, lang, word) for _, r in rows.iterrows()
            ],
            t("goal_col_target", lang): [
                f"{format_pct(v, lang)} ({y})" for v, y in
                zip(rows["target"], rows["target_year"], strict=True)
            ],
            t("goal_col_status", lang): rows["status"].map(lambda s: status_label(s, lang)),
            t("goal_col_reason", lang): [
                reason_text(r, lang, min_n=min_cell) for _, r in rows.iterrows()
            ],
        }
    )  # fmt: skip
    return display_table(table, lang=lang, min_cell=min_cell, notes=(t("goal_status_note", lang),))


def _latest_text(row: pd.Series, lang: str, word: str) -> str:
    if pd.isna(row["latest"]):
        return t("suppressed_marker", lang) if row["reason"] == "suppressed" else ""
    text = f"{format_pct(row['latest'], lang)} ({int(row['latest_year'])})"
    if pd.notna(row["latest_low"]):
        text += (
            f", {format_pct(row['latest_low'], lang)} {word} {format_pct(row['latest_high'], lang)}"
        )
    return text


def goal_chain_notice(
    chain: GoalChain | None, *, area: str, goal_chain_dir: str | Path, lang: str | None = None
):
    """A paragraph about the area's goal chain, or how to create one when there is none.

    With a chain: the file, the number of goals, the baseline year and the cut-point version.
    Without: where the file belongs and how to make it from notebook 03's draft.
    """
    from IPython.display import Markdown

    path = goal_chain_path(goal_chain_dir, area)
    if chain is None:
        return Markdown(t("goal_chain_missing", lang, path=path, area=area))
    return Markdown(
        t(
            "goal_chain_read",
            lang,
            path=Path(chain.source).name,
            goals=len(chain.goals),
            baseline_wave=chain.baseline_wave,
            version=chain.cutpoint_version or "–",
        )
    )


def goal_summary(evaluated: pd.DataFrame) -> dict[str, Any]:
    """Counts of goals per status and the statuses per goal (for the notebook's results file)."""
    counts = evaluated["status"].value_counts() if len(evaluated) else pd.Series(dtype=int)
    return {
        "goals": int(len(evaluated)),
        "status_counts": {s: int(counts.get(s, 0)) for s in schema_codes("statuses")},
        "statuses": dict(zip(evaluated["goal_id"], evaluated["status"], strict=True)),
    }


# --------------------------------------------------------------------------------------------
# The chain as a picture


def _box_lines(row: pd.Series, labels: dict[str, str], lang: str) -> str:
    name = textwrap.fill(_goal_name(row, labels, lang) + _group_text(row, lang), width=30)
    start = format_pct(row["baseline_used"], lang) if pd.notna(row["baseline_used"]) else "?"
    now = format_pct(row["latest"], lang) if pd.notna(row["latest"]) else "?"
    goal = t(
        "goal_box_target", lang, target=format_pct(row["target"], lang), year=row["target_year"]
    )
    return f"{name}\n{start} → {now} ({goal})\n{status_label(row['status'], lang)}"


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
    ax=None,
):
    """Draw the evaluated chain from programmes to factors to behaviours.

    Columns short / medium / long, one box per goal, arrows along ``contributes_to``; each box
    is coloured by status *and* labelled with the status symbol and word (✓ achieved, → on
    track, ✗ not on track, ? not yet measurable), so the chart reads without colour.

    Parameters
    ----------
    evaluated : pandas.DataFrame
        Output of :func:`evaluate_goals` (an empty frame draws a notice).
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
    import matplotlib.pyplot as plt

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


def _draw_boxes(ax, evaluated: pd.DataFrame, labels: dict[str, str], lang: str) -> dict:
    """One text box per goal in its level's column, coloured by status; returns id -> Text."""
    statuses = _statuses()
    rows = evaluated.set_index("goal_id")
    return {
        goal_id: ax.text(
            x,
            y,
            _box_lines(rows.loc[goal_id], labels, lang),
            ha="center",
            va="center",
            fontsize=8,
            zorder=3,
            bbox={
                "boxstyle": "round,pad=0.5",
                "edgecolor": "#333333",
                "alpha": 0.9,
                "facecolor": statuses[rows.loc[goal_id, "status"]]["colour"],
            },
        )  # fmt: skip
        for goal_id, (x, y) in _positions(evaluated).items()
    }


def _draw_frame(ax, *, lowest: float, lang: str) -> None:
    """Column headings, limits and the status legend (symbol and word beside each colour)."""
    from matplotlib.patches import Patch

    levels = goal_schema()["levels"]
    for column, entry in enumerate(levels):
        ax.text(column, 0.75, text_of(entry["label"], lang), ha="center", va="bottom",
                fontweight="bold")  # fmt: skip
    ax.set_xlim(-0.6, len(levels) - 0.4)
    ax.set_ylim(lowest - 0.7, 1.1)
    handles = [
        Patch(facecolor=s["colour"], edgecolor="#333333", label=status_label(code, lang))
        for code, s in _statuses().items()
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
              ncol=len(handles), frameon=False)  # fmt: skip
