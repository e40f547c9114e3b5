"""The prioritisation worksheet for people (notebook 02 and the dashboard): the ranked factors of
:func:`ctc_helpers.phases.prioritization.rank_factors` with every criterion, the reason of each
suggestion in a sentence, and the suggestion next to the team's recorded choice, in Swedish or
English.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from IPython.display import Markdown

from ctc_helpers.i18n import check_language, t
from ctc_helpers.phases.prioritization import SUGGESTION_LIMITS, compare_choices
from ctc_helpers.views.escape import escape_markdown, markdown_text
from ctc_helpers.views.labels import measure_labels
from ctc_helpers.views.numbers import format_count, format_pct, format_points
from ctc_helpers.views.tables import (
    QUIET_MARK,
    DisplayTable,
    change_text,
    column_label,
    display_table,
    masked_cells,
    with_verdict,
)
from ctc_helpers.vocab import CITY, TOTAL

__all__ = [
    "behaviour_levels",
    "behaviour_table",
    "explain_reasons",
    "priority_note",
    "priority_table",
    "reason_list",
    "choice_table",
    "choice_note",
]


def explain_reasons(
    ranked: pd.DataFrame, lang: str | None = None, *, measures: pd.DataFrame | None = None
) -> pd.Series:
    """One sentence per factor saying why it is (not) suggested, in Swedish or English.

    Built from ``reason`` and the criteria columns of :func:`rank_factors`; adds the trend,
    the consistency across grades and, for a factor suggested to reach the minimum number,
    that it was added for that reason. When the ranking started from priority behaviours, it
    also names the research link and the local strength (behaviour labels from ``measures``).
    """
    lang = check_language(lang)
    labels = {} if measures is None else measure_labels(measures, lang)
    return pd.Series(
        [_explain(row, lang) + _link_text(row, lang, labels) for row in ranked.to_dict("records")],
        index=ranked.index,
        dtype=object,
    )


def _link_text(row: dict[str, Any], lang: str, labels: dict[str, str]) -> str:
    """The research link and the local strength, when the ranking used them ("" otherwise)."""
    if "local_status" not in row:
        return ""
    named = [labels.get(b, b) for b in str(row["research_behaviours"]).split(", ") if b]
    parts = [
        t("prio_link_research", lang, behaviours=", ".join(named), source=row["research_source"])
        if named
        else t("prio_link_no_research", lang)
    ]
    status = row["local_status"]
    values = {}
    if status in ("clear", "unclear"):
        values = {
            "behaviour": labels.get(row["local_behaviour"], row["local_behaviour"]),
            "exposed": t(f"prio_link_exposed_{row['kind']}", lang),
            "p1": format_pct(row["local_pct_exposed"], lang),
            "p0": format_pct(row["local_pct_unexposed"], lang),
            "rd": format_points(row["local_rd"], lang),
            "low": format_points(row["local_rd_low"], lang),
            "high": format_points(row["local_rd_high"], lang),
        }
    parts.append(t(f"prio_link_local_{status}", lang, **values))
    return " " + " ".join(parts)


def _explain(row: dict[str, Any], lang: str) -> str:
    kind_word = t(f"prio_worse_{row['kind']}", lang)
    values = {
        "diff": format_points(abs(row["diff"]), lang).lstrip("+") if pd.notna(row["diff"]) else "",
        "low": format_points(row["diff_low"], lang),
        "high": format_points(row["diff_high"], lang),
        "share": format_pct(row["share_concerned"], lang),
        "worse": kind_word,
    }
    parts = [t(row["reason"], lang, **values)]
    if (
        row["status"] == "ok"
        and row["grades_with_data"] >= 2
        and row["reason"] != "prio_reason_city"
    ):
        parts.append(
            t("prio_reason_grades", lang, k=row["grades_elevated"], m=row["grades_with_data"])
        )
    if row["trend_worse"]:
        parts.append(t("prio_reason_trend", lang, wave=row["previous_wave"]))
    if row["suggest_rule"] in ("worse", "rank") and row["reason"] != "prio_reason_city":
        low = SUGGESTION_LIMITS[row["kind"]][0]
        parts.append(t("prio_reason_filled", lang, k=low))
    return " ".join(parts)


def behaviour_table(
    published: Any,
    *,
    area: str,
    wave: int,
    behaviours: tuple[str, ...] | list[str],
    lang: str | None = None,
) -> DisplayTable | Markdown:
    """The priority problem behaviours first: share here, in the city, the difference and the
    change since the previous wave (published rows only); a note when none are named.

    ``published`` is the published folder (:func:`~ctc_helpers.publish.read.load_published`).
    """
    lang = check_language(lang)
    if not behaviours:
        return Markdown(t("report_priority_behaviours_none", lang))
    comparisons = published.comparisons
    labels = measure_labels(published.measures, lang)
    levels = behaviour_levels(published, area=area, wave=wave, behaviours=behaviours)
    versus = comparisons[
        comparisons["area"].eq(area) & comparisons["wave"].eq(wave)
        & comparisons["grade"].eq(TOTAL) & comparisons["sex"].eq(TOTAL)
    ].set_index(["comparison", "measure"])  # fmt: skip
    marker = t("suppressed_marker", lang)
    rows = []
    for level in levels.itertuples(index=False):
        behaviour = level.behaviour
        rows.append(
            {
                column_label("measure", lang): labels.get(behaviour, behaviour),
                column_label("share_behaviour", lang): marker
                if level.status != "shown"
                else format_pct(level.pct, lang),
                t("city", lang): marker
                if level.status_city == "hidden"
                else format_pct(level.pct_city, lang),
                column_label("diff_interval", lang): _verdict(versus, "city", behaviour, lang),
                column_label("trend", lang): _verdict(versus, "previous_wave", behaviour, lang),
            }
        )
    notes = (t("report_note_interval", lang),)
    return display_table(pd.DataFrame(rows), lang=lang, min_cell=published.min_cell, notes=notes)


def behaviour_levels(
    published: Any, *, area: str, wave: int, behaviours: tuple[str, ...] | list[str]
) -> pd.DataFrame:
    """The published share of each priority behaviour in the area and in the whole city (all
    grades, both sexes), as the behaviour table and report 02's key findings show it.

    Returns
    -------
    pandas.DataFrame
        One row per behaviour, in the given order: ``behaviour``, ``pct`` and ``pct_city``
        (0..1; NaN unless shown), ``status`` and ``status_city`` (``"shown"``; ``"hidden"``:
        suppressed, whatever number the row holds; ``"missing"``: not published).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> rows = pd.DataFrame({"wave": 2025, "grade": "all", "sex": "all",
    ...                      "area": ["norr", "all"], "measure": "truancy",
    ...                      "pct": [0.8642, 0.09], "suppressed": [True, False]})
    >>> behaviour_levels(SimpleNamespace(aggregates=rows), area="norr", wave=2025,
    ...                  behaviours=["truancy"]).to_dict("records")
    [{'behaviour': 'truancy', 'pct': nan, 'status': 'hidden', 'pct_city': 0.09, 'status_city': 'shown'}]
    """
    aggregates = published.aggregates
    total = aggregates["grade"].eq(TOTAL) & aggregates["sex"].eq(TOTAL)
    here = aggregates[total & aggregates["wave"].eq(wave)].set_index(["area", "measure"])
    records = []
    for behaviour in behaviours:
        record: dict[str, Any] = {"behaviour": behaviour}
        for where, suffix in ((area, ""), (CITY, "_city")):
            row = here.loc[(where, behaviour)] if (where, behaviour) in here.index else None
            status = "missing" if row is None else "hidden" if bool(row["suppressed"]) else "shown"
            pct = float(row["pct"]) if status == "shown" else float("nan")
            record.update({f"pct{suffix}": pct, f"status{suffix}": status})
        records.append(record)
    columns = ["behaviour", "pct", "status", "pct_city", "status_city"]
    return pd.DataFrame(records, columns=columns)


def _verdict(versus: pd.DataFrame, comparison: str, behaviour: str, lang: str) -> str:
    if (comparison, behaviour) not in versus.index:
        return ""
    row = versus.loc[(comparison, behaviour)]
    return with_verdict(
        format_points(row["diff"], lang),
        change_text(row["change"], lang, versus_city=comparison == "city"),
    )


def priority_note(ranked: pd.DataFrame, lang: str | None = None) -> Markdown | None:
    """A note when factors (or the whole area) have too few answers to be judged; else ``None``."""
    if ranked.empty:  # an instrument without factor scales; the report's header says so
        return None
    too_few = ranked["status"].eq("too_few")
    if too_few.all():
        return Markdown(f"**{t('report_prio_all_too_few', lang)}**")
    if too_few.any():
        return Markdown(t("report_prio_some_too_few", lang, k=int(too_few.sum())))
    return None


def priority_table(
    ranked: pd.DataFrame,
    measures: pd.DataFrame | None = None,
    *,
    kind: str = "risk",
    lang: str | None = None,
    min_cell: int = 10,
    with_reasons: bool = True,
) -> DisplayTable:
    """The ranked factors of one kind with every criterion, the suggestion and its reason.

    ``ranked`` is the output of :func:`ctc_helpers.phases.prioritization.rank_factors`. The
    difference from the city carries its interval, and the quiet mark when it is not clear.
    ``with_reasons=False`` leaves out the reason column (the report shows it as a list under the
    table, :func:`reason_list`, so that the table fits a 962 px column and A4).
    """
    lang = check_language(lang)
    rows = ranked.loc[ranked["kind"].eq(kind)]
    labels = measure_labels(measures, lang) if measures is not None else {}
    hidden = rows["status"].ne("ok")
    marker = t("suppressed_marker", lang)
    columns = {
        column_label("rank", lang): rows["rank"].map(lambda r: "" if pd.isna(r) else str(int(r))),
        column_label("measure", lang): rows["factor"].map(lambda f: labels.get(f, f)),
        column_label(f"share_{kind}", lang): masked_cells(rows["pct"], hidden, format_pct, lang),
    }
    versus_city = bool(rows["pct_city"].notna().any() and rows["diff"].notna().any())
    if versus_city:
        columns[t("city", lang)] = rows["pct_city"].map(lambda v: format_pct(v, lang))
        columns[column_label("diff_interval", lang)] = [
            marker if h else _difference_text(d, lo, hi, c, lang)
            for d, lo, hi, c, h in zip(
                rows["diff"], rows["diff_low"], rows["diff_high"], rows["clear"], hidden,
                strict=True,
            )
        ]  # fmt: skip
        columns[column_label("grades", lang)] = [
            marker if h else f"{k} / {m}"
            for k, m, h in zip(
                rows["grades_elevated"], rows["grades_with_data"], hidden, strict=True
            )
        ]
    columns[column_label("trend", lang)] = [
        marker
        if h
        else with_verdict(format_points(d, lang), change_text(c, lang, versus_city=False))
        for d, c, h in zip(rows["trend_diff"], rows["trend_change"], hidden, strict=True)
    ]
    columns[column_label(f"youth_{kind}", lang)] = masked_cells(
        rows["youth_affected"], hidden, format_count, lang
    )
    columns[column_label("score", lang)] = [
        marker if h else str(s) for s, h in zip(rows["score"], hidden, strict=True)
    ]
    columns[column_label("suggested", lang)] = rows["suggested"].map(
        lambda s: t("report_yes", lang) if s else ""
    )
    if with_reasons:
        columns[column_label("reason", lang)] = explain_reasons(rows, lang, measures=measures)
    city = "" if versus_city else "_city"  # the city report: no difference from the city
    notes = (t(f"report_note_interval{city}", lang), t(f"report_prio_note_youth{city}", lang))
    return display_table(pd.DataFrame(columns), lang=lang, min_cell=min_cell, notes=notes)


def _difference_text(diff: float, low: float, high: float, clear: bool, lang: str) -> str:
    """``"+24 (+14 till +34)"``, the report's one notation of a difference with its interval;
    the quiet mark when the difference is not clear (the test decides, see the footnote)."""
    word = t("followup_interval_to", lang)
    text = f"{format_points(diff, lang)} ({format_points(low, lang)} {word} {format_points(high, lang)})"
    return text if clear else f"{text} {QUIET_MARK}"


def reason_list(
    ranked: pd.DataFrame,
    measures: pd.DataFrame | None = None,
    *,
    kind: str = "risk",
    lang: str | None = None,
) -> Markdown:
    """The reasons of :func:`priority_table` as a numbered list under it (rank, factor, reason),
    so that the table keeps to its numbers and fits the page."""
    lang = check_language(lang)
    rows = ranked.loc[ranked["kind"].eq(kind)]
    labels = measure_labels(measures, lang) if measures is not None else {}
    reasons = explain_reasons(rows, lang, measures=measures)
    lines = [
        f"- **{'' if pd.isna(r) else f'{int(r)}. '}{escape_markdown(labels.get(f, f))}:** "
        f"{escape_markdown(reason)}"
        for r, f, reason in zip(rows["rank"], rows["factor"], reasons, strict=True)
    ]
    return Markdown(f"**{t('report_col_reason', lang)}**\n\n" + "\n".join(lines))


def choice_table(
    ranked: pd.DataFrame,
    choices: Any,
    measures: pd.DataFrame | None = None,
    *,
    lang: str | None = None,
) -> DisplayTable:
    """The suggestion next to the team's recorded choice (``choices`` may be ``None``)."""
    lang = check_language(lang)
    rows = compare_choices(ranked, choices)
    labels = measure_labels(measures, lang) if measures is not None else {}
    yes = t("report_yes", lang)
    frame = pd.DataFrame(
        {
            column_label("kind", lang): rows["kind"].map(lambda k: t(f"plot_kind_{k}", lang)),
            column_label("measure", lang): rows["factor"].map(lambda f: labels.get(f, f)),
            column_label("rank", lang): rows["rank"].map(
                lambda r: "" if pd.isna(r) else str(int(r))
            ),
            column_label("suggested", lang): rows["suggested"].map(lambda s: yes if s else ""),
            column_label("chosen", lang): rows["chosen"].map(lambda c: yes if c else ""),
        }
    )
    return DisplayTable(frame.reset_index(drop=True))


def choice_note(
    choices: Any, *, priorities_dir: str | Path, area: str, wave: int, lang: str | None = None
) -> Markdown:
    """How the team's choice was recorded, or how to record it when there is no file yet.

    The how-to is in plain words (the dashboard's worksheet writes the file): a team reading the
    report sees no path, file format or factor id. ``priorities_dir`` and ``area`` are kept for
    the notebook's call.
    """
    lang = check_language(lang)
    if choices is None:
        return Markdown(markdown_text("report_choice_missing", lang))
    parts = [
        t("report_choice_recorded", lang, decided=choices.decided.isoformat(), wave=choices.wave)
    ]
    if choices.wave != wave:
        parts.append(t("report_choice_other_wave", lang, wave=choices.wave))
    if choices.note:
        parts.append(f"> {escape_markdown(choices.note)}")
    return Markdown("\n\n".join(parts))
