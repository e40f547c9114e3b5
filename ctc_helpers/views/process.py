"""The process section of a report in words and tables, Swedish or English (notebook 06).

Every function takes the :class:`~ctc_helpers.phases.process.ProcessFrames` of an area (or of
every area, for the city report, which then adds an area column) and returns a display table or
Markdown; the numbers stay in the frames. Milestone texts, phase titles and the scale come from
the checklist (``data_schema/checklist.yaml``), the plan's column names from
``data_schema/implementation_plan.yaml``, everything else from ``data_schema/i18n.yaml``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown

from ctc_helpers.config.implementation_plan import plan_field_labels
from ctc_helpers.i18n import check_language, t, text_of
from ctc_helpers.paths import REPO_ROOT
from ctc_helpers.phases.process import ProcessFrames
from ctc_helpers.views.numbers import format_count, format_pct
from ctc_helpers.views.report import section as report_section
from ctc_helpers.views.tables import DisplayTable, column_label, html_table
from ctc_helpers.vocab import CITY

__all__ = [
    "section",
    "phase_titles",
    "process_notice",
    "phase_summary",
    "phase_table",
    "unmet_table",
    "steering_note",
    "steering_table",
    "plan_table",
    "plan_support_table",
    "activities_table",
    "delivery_table",
    "flag_notes",
    "flag_sentences",
    "goal_table",
]

Names = Mapping[str, str] | None


def _name(names: Names, area: str) -> str:
    return (names or {}).get(area, area)


def _city(frames: ProcessFrames) -> bool:
    return frames.area == CITY


def _with_area(frame: pd.DataFrame, rows: pd.DataFrame, frames, names, lang) -> pd.DataFrame:
    """Put an area column first in the city report."""
    if not _city(frames):
        return frame
    areas = [_name(names, a) for a in rows["area"]]
    return frame.assign(**{column_label("proc_area", lang): areas})[
        [column_label("proc_area", lang), *frame.columns]
    ]


def _table(frame: pd.DataFrame, notes: tuple[str, ...] = ()) -> DisplayTable:
    return DisplayTable(frame.reset_index(drop=True), notes)


def _folder(process_dir: str | Path, *parts: str) -> str:
    """A path for a reader: relative to the repository when inside it (never the server's
    absolute path to it).

    >>> _folder(REPO_ROOT / "data" / "process", "norr")
    'data/process/norr'
    """
    path = Path(process_dir, *parts)
    if path.is_absolute() and path.is_relative_to(REPO_ROOT):
        path = path.relative_to(REPO_ROOT)
    return path.as_posix()


def section(frames: ProcessFrames, key: str, *, lang: str | None = None, level: int = 2):
    """A report section (:func:`ctc_helpers.views.report.section`) with the scale's values
    ``{met_from}``, ``{max}``, ``{scale}`` and ``{version}`` filled in."""
    lang = check_language(lang)
    definition = frames.definition
    scale = ", ".join(
        f"{s} {text_of(label, lang).lower()}" for s, label in definition.scale.items()
    )
    values = {"met_from": definition.met_from, "max": definition.max_score, "scale": scale}
    return report_section(
        key, lang, area=frames.area, level=level, version=definition.version, **values
    )


def phase_titles(frames: ProcessFrames, lang: str | None = None) -> dict[int, str]:
    """``{1: "Fas 1: Starta processen", ...}``."""
    return {
        p.number: t("proc_phase_label", lang, n=p.number, title=text_of(p.title, lang))
        for p in frames.definition.phases
    }


def _milestone_label(frames: ProcessFrames, milestone: str, lang: str) -> str:
    return text_of(frames.definition.milestone(milestone).label, lang)


# --------------------------------------------------------------------------------------------
# Phases


def process_notice(frames: ProcessFrames, *, process_dir: str | Path, lang: str | None = None,
                   names: Names = None) -> Markdown | None:  # fmt: skip
    """A sentence when the area (or no area) has a checklist yet; ``None`` otherwise."""
    if len(frames.milestones):
        return None
    if _city(frames):
        return Markdown(t("proc_no_checklists_city", lang, folder=_folder(process_dir)))
    folder = _folder(process_dir, frames.area)
    return Markdown(t("proc_no_checklists", lang, area=_name(names, frames.area), folder=folder))


def phase_summary(frames: ProcessFrames, *, lang: str | None = None, names: Names = None):
    """How far the area has come (latest checklist), or for the city where the steering
    group's criteria are not met; ``None`` without checklists."""
    lang = check_language(lang)
    if frames.milestones.empty:
        return None
    if _city(frames):
        latest = frames.steering.groupby("area").tail(1)
        unmet = [_name(names, a) for a in latest.loc[latest["status"].eq("unmet"), "area"]]
        n = frames.milestones["area"].nunique()
        if not unmet:
            return Markdown(t("proc_city_summary_all_met", lang, n=n))
        return Markdown(t("proc_city_summary", lang, n=n, unmet=", ".join(unmet)))
    scored = frames.milestones
    year = int(scored["year"].max())
    reached = int(scored.loc[scored["year"].eq(year), "reached_phase"].max())
    name = _name(names, frames.area)
    if reached == 0:
        return Markdown(t("proc_reached_none", lang, area=name, year=year))
    latest = frames.latest_phases
    complete = [str(p) for p in latest.loc[latest["status"].eq("complete"), "phase"]]
    title = text_of(next(p.title for p in frames.definition.phases if p.number == reached), lang)
    return Markdown(
        t("proc_reached", lang, area=name, year=year, phase=reached, title=title,
          complete=", ".join(complete) or t("proc_none_word", lang))
    )  # fmt: skip


def _phase_cell(row: Any, lang: str) -> str:
    status = t(f"proc_phase_{row.status}", lang)
    return t("proc_phase_cell", lang, met=int(row.met), n=int(row.milestones), status=status)


def _steering_cell(row: Any, lang: str) -> str:
    status = t(f"proc_steering_{row.status}", lang)
    return t("proc_phase_cell", lang, met=int(row.met), n=int(row.due), status=status)


def phase_table(frames: ProcessFrames, *, lang: str | None = None, names: Names = None):
    """Milestones met by phase: years as rows (the city: every area's latest checklist), the
    phases as columns, then the steering group's criteria. ``None`` without checklists."""
    lang = check_language(lang)
    phases = frames.latest_phases if _city(frames) else frames.phases
    if phases.empty:
        return None
    cells = phases.assign(cell=[_phase_cell(r, lang) for r in phases.itertuples()])
    wide = cells.pivot(index=["area", "year"], columns="phase", values="cell")
    wide.columns = [t("proc_phase_short", lang, n=int(p)) for p in wide.columns]
    steering = frames.steering.set_index(["area", "year"])
    cells = [_steering_cell(r, lang) for r in steering.itertuples()]
    wide[t("proc_steering_column", lang)] = pd.Series(cells, index=steering.index)
    rows = wide.reset_index()
    frame = rows.drop(columns="area").rename(columns={"year": column_label("proc_year", lang)})
    frame[column_label("proc_year", lang)] = frame[column_label("proc_year", lang)].astype(str)
    frame = frame.fillna("").astype(str)
    notes = ("; ".join(phase_titles(frames, lang).values()),)
    return _table(_with_area(frame, rows, frames, names, lang), notes)


# --------------------------------------------------------------------------------------------
# Unmet milestones and the steering group


def _flag_words(row: Any, lang: str) -> str:
    words = {
        "steering_group": lambda: t("proc_flag_steering_group", lang),
        "not_assessed": lambda: t("proc_flag_not_assessed", lang, year=int(row.year)),
        "was_met": lambda: t("proc_flag_was_met", lang, first_met=int(row.first_met)),
        "dropped": lambda: t("proc_flag_dropped", lang, previous=int(row.previous_score),
                             score=int(row.score), previous_year=int(row.previous_year)),
        "long_unmet": lambda: t("proc_flag_long_unmet", lang, n=int(row.years_unmet)),
    }  # fmt: skip
    return "; ".join(words[flag]() for flag in row.flags)


def _score_cell(frames: ProcessFrames, score: float, lang: str) -> str:
    if pd.isna(score):
        return t("proc_status_not_assessed", lang)
    label = text_of(frames.definition.scale[int(score)], lang)
    return t("proc_score_cell", lang, score=int(score), label=label)


def unmet_table(frames: ProcessFrames, *, lang: str | None = None, names: Names = None):
    """The due milestones not met in the latest checklist, with what to note in plain words
    (steering-group criteria first); a sentence when there are none or no checklist."""
    lang = check_language(lang)
    if frames.milestones.empty:
        return Markdown(t("proc_no_checklists_short", lang))
    unmet = frames.unmet
    if unmet.empty:
        return Markdown(t("proc_nothing_unmet", lang, year=int(frames.milestones["year"].max())))
    frame = pd.DataFrame(
        {
            column_label("proc_year", lang): unmet["year"].astype(int).astype(str),
            column_label("proc_phase", lang): unmet["phase"].astype(str),
            column_label("proc_milestone", lang): [
                _milestone_label(frames, m, lang) for m in unmet["milestone"]
            ],
            column_label("proc_score", lang): [
                _score_cell(frames, s, lang) for s in unmet["score"]
            ],
            column_label("proc_notes", lang): [_flag_words(r, lang) for r in unmet.itertuples()],
            column_label("proc_comment", lang): unmet["comment"].astype(str),
        }
    )
    return _table(_with_area(frame, unmet, frames, names, lang))


def steering_note(frames: ProcessFrames, *, lang: str | None = None, names: Names = None):
    """The steering group's criteria in the latest checklist, in words (for the city, every
    area whose criteria are not met, else one sentence); a short sentence without checklists."""
    lang = check_language(lang)
    latest = frames.steering.groupby("area").tail(1) if len(frames.steering) else frames.steering
    if latest.empty:
        return Markdown(t("proc_no_checklists_short", lang))
    if _city(frames) and latest["status"].eq("unmet").any():
        latest = latest.loc[latest["status"].eq("unmet")]
    texts = []
    for row in latest.itertuples():
        values = {"area": _name(names, row.area), "year": int(row.year)}
        if row.status == "unmet":
            criteria = ", ".join(_milestone_label(frames, m, lang).lower() for m in row.unmet)
            values |= {"criteria": criteria, "n": int(row.years_unmet)}
        texts.append(t(f"proc_steering_note_{row.status}", lang, **values))
    return Markdown("\n\n".join(texts))


def steering_table(frames: ProcessFrames, *, lang: str | None = None, names: Names = None):
    """The criteria's scores year by year (the city: each area's latest status and what is not
    met); ``None`` without checklists."""
    lang = check_language(lang)
    criteria = frames.milestones.loc[frames.milestones["steering_group"].astype(bool)]
    if criteria.empty:
        return None
    if _city(frames):
        latest = frames.steering.groupby("area").tail(1)
        frame = pd.DataFrame(
            {
                column_label("proc_year", lang): latest["year"].astype(str),
                column_label("proc_status", lang): [
                    t(f"proc_steering_{s}", lang) for s in latest["status"]
                ],
                column_label("proc_unmet", lang): [
                    ", ".join(_milestone_label(frames, m, lang) for m in u) for u in latest["unmet"]
                ],
                column_label("proc_years_unmet", lang): latest["years_unmet"].astype(str),
            }
        )
        return _table(_with_area(frame, latest, frames, names, lang))
    cells = criteria.assign(
        cell=[
            t("proc_status_not_assessed", lang) if pd.isna(s) else str(int(s))
            for s in criteria["score"]
        ]
    )
    wide = cells.pivot(index=["order", "milestone"], columns="year", values="cell").reset_index()
    frame = pd.DataFrame(
        {column_label("proc_criterion", lang): [
            _milestone_label(frames, m, lang) for m in wide["milestone"]]}
    )  # fmt: skip
    for year in wide.columns[2:]:
        frame[str(year)] = wide[year].fillna("").to_numpy()
    scale = "; ".join(f"{s} {text_of(lab, lang)}" for s, lab in frames.definition.scale.items())
    return _table(frame, (scale,))


# --------------------------------------------------------------------------------------------
# The implementation plan


def _label(key: str, lang: str) -> str:
    return text_of(plan_field_labels()[key], lang)


def _target_reach(row: Any, lang: str) -> str:
    parts = []
    if pd.notna(row.target_share):
        parts.append(t("proc_reach_share", lang, share=format_pct(row.target_share, lang)))
    if pd.notna(row.target_participants):
        parts.append(t("proc_reach_participants", lang, n=format_count(row.target_participants,
                                                                        lang)))  # fmt: skip
    return ", ".join(parts)


def plan_table(frames: ProcessFrames, *, lang: str | None = None, names: Names = None,
               process_dir: str | Path = "") -> DisplayTable | Markdown:  # fmt: skip
    """One row per chosen programme: responsible organisation, period, budget and target
    group (:func:`plan_support_table` has the targets and the support); a sentence without a
    plan."""
    lang = check_language(lang)
    plan = frames.plan
    if plan.empty:
        if _city(frames):
            return Markdown(t("proc_plan_none_city", lang))
        file = _folder(process_dir, frames.area, "implementation_plan.yaml")
        return Markdown(t("proc_plan_none", lang, area=_name(names, frames.area), file=file))
    budget = [
        t(f"proc_budget_{r.budget_per}", lang, sek=format_count(r.budget_sek, lang))
        + (f" ({r.budget_source})" if r.budget_source else "")
        for r in plan.itertuples()
    ]
    frame = pd.DataFrame(
        {
            _label("programme", lang): plan["programme"],
            _label("responsible", lang): plan["responsible"],
            _label("start", lang): plan["start"].astype(str),
            _label("end", lang): plan["end"].astype(str),
            _label("budget", lang): budget,
            _label("target_group", lang): plan["target_group"],
        }
    )
    return _table(_with_area(frame, plan, frames, names, lang))


def plan_support_table(frames: ProcessFrames, *, lang: str | None = None, names: Names = None):
    """One row per chosen programme: its targets and the implementation support (trained
    staff, coaching sessions a year, implementation team); ``None`` without a plan."""
    lang = check_language(lang)
    plan = frames.plan
    if plan.empty:
        return None
    no_team = t("proc_no_team", lang)
    columns = {
        "programme": plan["programme"],
        "target_reach": [_target_reach(r, lang) for r in plan.itertuples()],
        "fidelity_target": [format_pct(v, lang) for v in plan["fidelity_target"]],
        "sessions_per_year": [format_count(v, lang) for v in plan["sessions_per_year"]],
        "trained_staff": plan["trained_staff"].astype(str),
        "coaching_per_year": plan["coaching_per_year"].astype(str),
        "implementation_team": [v or no_team for v in plan["implementation_team"]],
    }
    frame = pd.DataFrame({_label(key, lang): values for key, values in columns.items()})
    return _table(_with_area(frame, plan, frames, names, lang))


def activities_table(frames: ProcessFrames, *, lang: str | None = None, names: Names = None):
    """The plan's activities under their own heading (a sentence when it lists none);
    ``None`` without a plan."""
    lang = check_language(lang)
    if frames.plan.empty:
        return None
    heading = t("report_proc_activities", lang)
    rows = frames.activities
    if rows.empty:
        return Markdown(f"### {heading}\n\n{t('proc_no_activities', lang)}")
    frame = pd.DataFrame(
        {
            _label("programme", lang): rows["programme"],
            _label("text", lang): rows["text"],
            _label("responsible", lang): rows["responsible"],
            _label("start", lang): rows["start"].astype(str),
            _label("end", lang): rows["end"].astype(str),
        }
    )
    table = html_table(_with_area(frame, rows, frames, names, lang).reset_index(drop=True))
    return HTML(f"<h3>{html.escape(heading)}</h3><div>{table}</div>")


def _versus(value: str, target: str, status: str, lang: str) -> str:
    word = t(f"proc_delivery_{status}", lang)
    if status == "unknown" and not value:
        return t("proc_versus_missing", lang, target=target)
    if status in ("met", "below", "unknown") and target:
        return t("proc_versus", lang, value=value, target=target, status=word)
    return f"{value} ({word})" if value else word


def _delivery_row(row: Any, lang: str) -> list[str]:
    share = pd.notna(row.target_share) or pd.isna(row.target_participants)
    if share:
        reach = (format_pct(row.reach, lang), format_pct(row.target_share, lang))
    else:
        reach = (format_count(row.participants, lang), format_count(row.target_participants, lang))
    return [
        "" if pd.isna(row.year) else str(int(row.year)),
        _versus(*reach, row.reach_status, lang),
        _versus(format_pct(row.fidelity, lang), format_pct(row.fidelity_target, lang),
                row.fidelity_status, lang),
        _versus(format_count(row.sessions_delivered, lang),
                format_count(row.sessions_target, lang), row.sessions_status, lang),
    ]  # fmt: skip


def delivery_table(frames: ProcessFrames, *, lang: str | None = None, names: Names = None):
    """The plan's targets against the inventory, per programme and year; a sentence without a
    plan."""
    lang = check_language(lang)
    rows = frames.delivery
    if rows.empty:
        return Markdown(t("proc_delivery_none", lang))
    columns = [_label("programme", lang), column_label("proc_year", lang),
               column_label("proc_reach", lang), column_label("proc_fidelity", lang),
               column_label("proc_sessions", lang)]  # fmt: skip
    body = [[r.programme, *_delivery_row(r, lang)] for r in rows.itertuples()]
    return _table(_with_area(pd.DataFrame(body, columns=columns), rows, frames, names, lang))


def _flag_value(value: float, unit: str, lang: str, flag: str) -> str:
    if unit == "share":
        return format_pct(value, lang)
    if flag == "reach_below_target":
        return t("proc_reach_participants", lang, n=format_count(value, lang))
    return format_count(value, lang)


def flag_sentences(frames: ProcessFrames, *, lang: str | None = None) -> list[str]:
    """Each flag of the plan as a sentence in plain words (:data:`~ctc_helpers.phases.delivery.
    PLAN_FLAGS`), in the order of the flags frame."""
    lang = check_language(lang)
    ends = {(r.area, r.plan_id): str(r.end) for r in frames.plan.itertuples()} if len(
        frames.plan) else {}  # fmt: skip
    sentences = []
    for row in frames.flags.itertuples():
        values = {
            "programme": row.programme,
            "goal_id": row.goal_id,
            "year": "" if pd.isna(row.year) else int(row.year),
            "value": _flag_value(row.value, row.unit, lang, row.flag),
            "target": _flag_value(row.target, row.unit, lang, row.flag),
            "date": "" if row.date is None else str(row.date),
            "end": ends.get((row.area, row.plan_id), ""),
        }
        sentences.append(t(f"proc_plan_{row.flag}", lang, **values))
    return sentences


def flag_notes(frames: ProcessFrames, *, lang: str | None = None, names: Names = None):
    """The plan's flags as a bulleted list under a small heading (the city: with the area);
    ``None`` when the area has neither a plan nor a goal chain."""
    lang = check_language(lang)
    if frames.plan.empty and frames.flags.empty:
        return None
    heading = f"### {t('report_proc_flags', lang)}\n\n"
    if frames.flags.empty:
        return Markdown(heading + t("proc_no_flags", lang))
    sentences = flag_sentences(frames, lang=lang)
    if _city(frames):
        areas = [_name(names, a) for a in frames.flags["area"]]
        sentences = [f"**{a}:** {s}" for a, s in zip(areas, sentences, strict=True)]
    return Markdown(heading + "\n".join(f"- {s}" for s in sentences))


def goal_table(frames: ProcessFrames, *, lang: str | None = None, names: Names = None):
    """The goal chain's short-term goals beside the plan's programmes and targets; a sentence
    when the area has no goal chain (or neither a goal chain nor a plan)."""
    lang = check_language(lang)
    goals = frames.goals
    if goals.empty:
        key = "proc_goals_none" if frames.plan.empty else "proc_no_goal_chain"
        return Markdown(t(key, lang, area=_name(names, frames.area)))
    kinds = {"reach": column_label("proc_reach", lang),
             "fidelity": column_label("proc_fidelity", lang), "": ""}  # fmt: skip
    none = t("proc_goal_none", lang)
    agrees = [
        "" if pd.isna(a) else t("proc_agrees_yes" if a else "proc_agrees_no", lang)
        for a in goals["agrees"]
    ]
    frame = pd.DataFrame(
        {
            column_label("proc_goal", lang): [g or none for g in goals["goal_id"]],
            column_label("proc_kind", lang): [kinds[k] for k in goals["kind"]],
            _label("programme", lang): goals["programme"],
            column_label("proc_goal_target", lang): [
                "" if pd.isna(v) else f"{format_pct(v, lang)} ({y})"
                for v, y in zip(goals["goal_target"], goals["target_year"], strict=True)
            ],
            column_label("proc_plan_target", lang): [
                format_pct(v, lang) if pd.notna(v) else
                (t("proc_goal_no_plan", lang) if not p else "")
                for v, p in zip(goals["plan_target"], goals["plan_id"], strict=True)
            ],
            column_label("proc_agrees", lang): agrees,
        }
    )  # fmt: skip
    return _table(_with_area(frame, goals, frames, names, lang))
