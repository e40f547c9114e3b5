"""The goal chain (målkedja) for people (notebook 04 and the follow-up dashboard): each evaluated
goal's status with its symbol and word, the reason in a sentence, the table of every goal, and a
notice about the area's goal file, in Swedish or English.

The chain as data is :mod:`ctc_helpers.config.goal_chain`; its evaluation in a wave is
:mod:`ctc_helpers.phases.followup.goal_progress`; the chain drawn as a picture is
:mod:`ctc_helpers.plots.goal_chain`.

A goal about one grade or sex is named in the vocabulary in force: the published folder's
(``published``), else the one the evaluated table carries from the aggregate table it was
evaluated on, else ``data_schema/respondents.yaml``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from ctc_helpers.config.goal_chain import GoalChain, goal_chain_path, goal_schema, schema_codes
from ctc_helpers.i18n import check_language, t, text_of
from ctc_helpers.publish.read import Published
from ctc_helpers.views.escape import markdown_text
from ctc_helpers.views.labels import grade_labels, measure_labels, sex_labels
from ctc_helpers.views.numbers import format_pct
from ctc_helpers.views.tables import DisplayTable, display_table
from ctc_helpers.vocab import TOTAL

__all__ = [
    "statuses",
    "status_label",
    "goal_name",
    "reason_text",
    "box_text",
    "goal_display",
    "goal_chain_notice",
]


def statuses() -> dict[str, dict[str, str]]:
    """The goal statuses of ``data_schema/goal_chain.yaml`` by code: symbol, colour, label."""
    return {s["code"]: s for s in goal_schema()["statuses"]}


def status_label(status: str, lang: str | None = None) -> str:
    """The status as symbol and word, readable without colour: ``"✓ uppnått"``.

    >>> status_label("on_track", "en"), status_label("not_yet_measurable", "sv")
    ('→ on track', '? kan inte bedömas än')
    """
    return f"{statuses()[status]['symbol']} {t(f'goal_status_{status}', lang)}"


def goal_name(
    row: pd.Series, labels: dict[str, str], lang: str, *, published: Published | None = None
) -> str:
    """The name of an evaluated goal (a row of
    :func:`ctc_helpers.phases.followup.goal_progress.evaluate_goals`) with its group.

    The goal's own label when it has one, else its programme's reach or fidelity, else its
    measure's label; then the grade and sex when the goal is about one group, in brackets, named
    in the vocabulary in force (``published``'s, else the one the row carries).
    """
    return _goal_label(row, labels, lang) + _group_text(row, lang, published)


def _goal_label(row: pd.Series, labels: dict[str, str], lang: str) -> str:
    if row["label"] is not None and not (isinstance(row["label"], float) and pd.isna(row["label"])):
        return text_of(row["label"], lang)
    if row["programme"]:
        return t(f"goal_indicator_{row['indicator_kind']}", lang, programme=row["programme"])
    return labels.get(row["measure"], row["measure"])


def _group_text(row: pd.Series, lang: str, published: Published | None = None) -> str:
    vocabulary = published if published is not None else row
    grade, sex = str(row["grade"]), str(row["sex"])
    parts = [grade_labels(lang, published=vocabulary).get(grade, grade)] if grade != TOTAL else []
    parts += [sex_labels(lang, published=vocabulary).get(sex, sex)] if sex != TOTAL else []
    return f" ({', '.join(parts)})" if parts else ""


def reason_text(row: pd.Series, lang: str | None = None, *, min_n: int = 10) -> str:
    """The reason of an evaluated goal (a row of
    :func:`ctc_helpers.phases.followup.goal_progress.evaluate_goals`) in words.

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


def box_text(
    row: pd.Series, labels: dict[str, str], lang: str, *, published: Published | None = None
) -> str:
    """The text of a goal's box in the chain picture: its name, the way from the baseline to the
    latest value (target and year in brackets), and its status."""
    name = textwrap.fill(goal_name(row, labels, lang, published=published), width=30)
    start = format_pct(row["baseline_used"], lang) if pd.notna(row["baseline_used"]) else "?"
    now = format_pct(row["latest"], lang) if pd.notna(row["latest"]) else "?"
    goal = t(
        "goal_box_target", lang, target=format_pct(row["target"], lang), year=row["target_year"]
    )
    return f"{name}\n{start} → {now} ({goal})\n{status_label(row['status'], lang)}"


def goal_display(
    evaluated: pd.DataFrame,
    *,
    measures: pd.DataFrame | None = None,
    lang: str | None = None,
    min_cell: int | None = None,
    published: Published | None = None,
) -> DisplayTable | None:
    """Display copy of :func:`ctc_helpers.phases.followup.goal_progress.evaluate_goals`: one row per goal, short-term goals first.

    Columns (in ``lang``): level, goal, baseline (year), latest value with its 95 % interval,
    target (year), status (symbol and word) and the reason in words. ``published`` gives the
    vocabulary, measure catalogue and smallest group when those are not passed. No goals (no
    goal chain: :func:`goal_chain_notice` says so) show nothing.
    """
    lang = check_language(lang)
    if evaluated.empty:
        return None
    if published is not None:
        measures = published.measures if measures is None else measures
        min_cell = published.min_cell if min_cell is None else min_cell
    min_cell = 10 if min_cell is None else min_cell
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
                goal_name(r, labels, lang, published=published) for _, r in rows.iterrows()
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
    path = goal_chain_path(goal_chain_dir, area)
    if chain is None:
        return Markdown(markdown_text("goal_chain_missing", lang, path=path, area=area))
    return Markdown(
        markdown_text(
            "goal_chain_read",
            lang,
            path=Path(chain.source).name,
            goals=len(chain.goals),
            baseline_wave=chain.baseline_wave,
            version=chain.cutpoint_version or "–",
        )
    )
