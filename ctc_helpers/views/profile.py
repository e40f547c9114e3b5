"""The tables of the profile report (notebook 01), display copies in Swedish or English: each
measure against the city and the previous wave, the breakdowns by grade or sex, the areas side by
side, participation and the screening of the questionnaires.

Each table is made from a tidy frame of :mod:`ctc_helpers.views.frames` (or a published table);
suppressed values show the marker "–" and the table its footnote.
"""

from __future__ import annotations

import pandas as pd
from IPython.display import Markdown

from ctc_helpers.i18n import check_language, t
from ctc_helpers.publish.read import Published
from ctc_helpers.views.frames import areas_frame, breakdown_frame, profile_frame
from ctc_helpers.views.instrument import missing_note
from ctc_helpers.views.labels import area_name, grade_labels, rule_labels, sex_labels
from ctc_helpers.views.numbers import format_count, format_pct, format_points
from ctc_helpers.views.tables import (
    DisplayTable,
    change_text,
    column_label,
    display_table,
    interval_text,
    masked_cells,
    with_verdict,
)
from ctc_helpers.vocab import CITY, TOTAL

__all__ = [
    "profile_table",
    "breakdown_table",
    "areas_table",
    "participation_table",
    "screening_table",
]


def profile_table(
    published: Published, *, kind: str, area: str, wave: int, lang: str | None = None
) -> DisplayTable | Markdown:
    """The numbers behind :func:`ctc_helpers.plots.profile.plot_profile` (and the behaviour totals).

    An instrument without the measures of ``kind`` (no factor scales, no behaviours) gives the
    note saying so instead (:func:`ctc_helpers.views.instrument.missing_note`).

    Columns: domain, measure, the area's share with its 95 % interval and ``n``, the share in the
    rest of the city (the city without the area: the reference of the test) and the difference in
    percentage points with its verdict (area reports), the previous wave's share and the verdict
    on the change. "No clear difference" is the quiet mark, explained once under the table.
    """
    lang = check_language(lang)
    if (note := missing_note(published, kind, lang)) is not None:
        return note
    frame = profile_frame(
        published.aggregates, published.comparisons, kind=kind, area=area, wave=wave,
        measures=published.measures, lang=lang,
    )  # fmt: skip
    hidden = frame["suppressed"]
    columns = {
        column_label("domain", lang): frame["domain_label"],
        column_label("measure", lang): frame["label"],
        area_name(published, area, lang): masked_cells(frame["pct"], hidden, format_pct, lang),
        column_label("interval", lang): [
            "" if h else interval_text(lo, hi, lang)
            for lo, hi, h in zip(frame["ci_low"], frame["ci_high"], hidden, strict=True)
        ],
        column_label("n", lang): masked_cells(frame["n"], hidden, format_count, lang),
    }
    if area != CITY:  # the reference the difference is taken against: the rest of the city
        columns[column_label("rest_city", lang)] = masked_cells(
            frame["pct_rest"],
            frame["city_suppressed"].fillna(False).astype(bool) | frame["pct_rest"].isna(),
            format_pct,
            lang,
        )
        columns[column_label("diff_city", lang)] = [
            with_verdict(format_points(d, lang), change_text(c, lang, versus_city=True))
            for d, c in zip(frame["diff_city"], frame["change_city"], strict=True)
        ]
    previous = frame["previous_wave"].iloc[0] if len(frame) else None
    if previous is not None and not pd.isna(previous):
        previous = int(previous)
        columns[str(previous)] = masked_cells(
            frame["pct_previous"],
            frame["previous_suppressed"].fillna(False).astype(bool),
            format_pct,
            lang,
        )
        columns[column_label("change_since", lang, wave=previous)] = [
            with_verdict(format_points(d, lang), change_text(c, lang, versus_city=False))
            for d, c in zip(frame["diff_previous"], frame["change_previous"], strict=True)
        ]
    # the city report has no difference from the city: its note explains the interval only
    notes = (t("report_note_interval" if area != CITY else "report_note_interval_city", lang),)
    return display_table(pd.DataFrame(columns), lang=lang, min_cell=published.min_cell, notes=notes)


def breakdown_table(
    published: Published,
    *,
    kind: str = "behaviour",
    area: str,
    wave: int,
    by: str = "grade",
    lang: str | None = None,
) -> DisplayTable:
    """The numbers behind :func:`ctc_helpers.plots.profile.plot_behaviours`: one column per grade or sex."""
    lang = check_language(lang)
    if (note := missing_note(published, kind, lang)) is not None:
        return note
    frame = breakdown_frame(
        published.aggregates, kind=kind, area=area, wave=wave, by=by,
        measures=published.measures, lang=lang,
    )  # fmt: skip
    cells = frame.assign(value=masked_cells(frame["pct"], frame["suppressed"], format_pct, lang))
    groups = list(dict.fromkeys(cells["group_label"]))
    wide = cells.pivot_table(
        index=["label"], columns="group_label", values="value", aggfunc="first", sort=False
    ).reindex(columns=groups)
    wide = wide.reindex(list(dict.fromkeys(cells["label"]))).reset_index()
    wide.columns = [column_label("measure", lang), *groups]
    return display_table(wide.fillna(""), lang=lang, min_cell=published.min_cell)


def areas_table(
    published: Published, *, kind: str, wave: int, lang: str | None = None
) -> DisplayTable | Markdown:
    """Every area's share of each measure of ``kind``: the numbers behind the area chart (the
    note of :func:`ctc_helpers.views.instrument.missing_note` when the instrument lacks them)."""
    lang = check_language(lang)
    if (note := missing_note(published, kind, lang)) is not None:
        return note
    frame = areas_frame(
        published.aggregates, kind=kind, wave=wave, areas=published.areas,
        measures=published.measures, lang=lang,
    )  # fmt: skip
    cells = frame.assign(value=masked_cells(frame["pct"], frame["suppressed"], format_pct, lang))
    areas = list(dict.fromkeys(cells["area_label"]))
    wide = cells.pivot_table(
        index="label", columns="area_label", values="value", aggfunc="first", sort=False
    ).reindex(columns=areas)
    wide = wide.reindex(list(dict.fromkeys(cells["label"]))).reset_index()
    wide.columns = [column_label("measure", lang), *areas]
    return display_table(wide.fillna(""), lang=lang, min_cell=published.min_cell)


def participation_table(
    published: Published, *, area: str, wave: int, by: str = "school", lang: str | None = None
) -> DisplayTable:
    """Questionnaires by school, or valid questionnaires by grade and sex.

    ``by="school"``: one row per school of the area and the total (answered and valid
    questionnaires, enrolment and response rate where enrolment is known); for the city
    (``area == "all"``) one row per area. ``by="grade"``: valid questionnaires, one row per grade
    and the total, one column per published sex and the total.
    """
    lang = check_language(lang)
    rows = published.participation.loc[published.participation["wave"].eq(wave)]
    notes: tuple[str, ...] = ()
    if by == "school":
        scope = rows if area == CITY else rows.loc[rows["area"].eq(area)]
        frame = _by_place(scope, published, area=area, lang=lang)
        notes = () if _enrolment_known(scope) else (t("report_note_no_enrolment", lang),)
    elif by == "grade":
        frame = _by_grade_and_sex(rows.loc[rows["area"].eq(area)], published, lang=lang)
    else:
        raise ValueError(f"by is {by!r}; choose 'school' or 'grade'.")
    return display_table(frame, lang=lang, min_cell=published.min_cell, notes=notes)


def _enrolment_known(rows: pd.DataFrame) -> bool:
    return "enrolled" in rows.columns and bool(rows["enrolled"].notna().any())


def _place_rows(totals: pd.DataFrame, published: Published, *, area: str, lang: str):
    if area == CITY:
        places = totals.loc[totals["school"].eq(TOTAL)]
        order = [*published.areas["area_id"], CITY]
        rank = places["area"].map(lambda a: order.index(a) if a in order else len(order))
        places = places.assign(_o=rank).sort_values("_o", kind="stable")
        return (
            places,
            places["area"].map(lambda a: area_name(published, a, lang)),
            column_label("area", lang),
        )
    schools = totals.loc[totals["school"].ne(TOTAL)].sort_values("school")
    places = pd.concat([schools, totals.loc[totals["school"].eq(TOTAL)]])
    labels = places["school"].map(lambda s: t("report_total", lang) if s == TOTAL else s)
    return places, labels, column_label("school", lang)


def _by_place(rows: pd.DataFrame, published: Published, *, area: str, lang: str) -> pd.DataFrame:
    totals = rows.loc[rows["grade"].eq(TOTAL) & rows["sex"].eq(TOTAL)]
    places, labels, first = _place_rows(totals, published, area=area, lang=lang)
    hidden = places["suppressed"].astype(bool)
    columns = {
        first: labels,
        column_label("respondents", lang): masked_cells(places["n"], hidden, format_count, lang),
    }
    if "n_valid" in places.columns:
        columns[column_label("valid", lang)] = masked_cells(
            places["n_valid"], hidden, format_count, lang
        )
    if _enrolment_known(places):
        rate = (
            places["response_rate"]
            if "response_rate" in places.columns
            else places["n"] / places["enrolled"]
        )
        columns[column_label("enrolled", lang)] = places["enrolled"].map(
            lambda v: format_count(v, lang)
        )
        columns[column_label("response_rate", lang)] = masked_cells(rate, hidden, format_pct, lang)
    return pd.DataFrame(columns)


def _by_grade_and_sex(rows: pd.DataFrame, published: Published, *, lang: str) -> pd.DataFrame:
    rows = rows.loc[rows["school"].eq(TOTAL)]
    grades = grade_labels(lang, published=published)
    sexes = sex_labels(lang, published=published)
    rows = rows.loc[rows["grade"].isin(grades) & rows["sex"].isin(sexes)]
    counts = rows["n_valid"] if "n_valid" in rows.columns else rows["n"]
    cells = rows.assign(
        value=masked_cells(counts, rows["suppressed"].astype(bool), format_count, lang)
    )
    wide = cells.pivot_table(index="grade", columns="sex", values="value", aggfunc="first")
    grade_order = [g for g in grades if g in wide.index]
    sex_order = [s for s in sexes if s in wide.columns]
    wide = wide.reindex(index=grade_order, columns=sex_order).fillna("")
    wide.columns = [sexes[s] for s in sex_order]
    return wide.rename(index=grades).rename_axis(column_label("grade", lang)).reset_index()


def screening_table(
    published: Published, *, area: str, wave: int, lang: str | None = None
) -> DisplayTable | Markdown:
    """Questionnaires flagged by each validity rule, by grade: ``count (share)``.

    The first row gives the questionnaires screened in each grade, the last (``any_excluded``)
    those excluded by at least one rule. An instrument without validity rules gives the note
    that no screening was done.
    """
    lang = check_language(lang)
    if (note := missing_note(published, "screening", lang)) is not None:
        return note
    log = published.screening_log
    grades = grade_labels(lang, published=published)
    rows = log.loc[log["wave"].eq(wave) & log["area"].eq(area) & log["grade"].isin(grades)]
    hidden = rows["suppressed"].astype(bool)
    share = rows["n_flagged"] / rows["n_respondents"].where(rows["n_respondents"] > 0)
    marker = t("suppressed_marker", lang)
    text = [
        marker if h else f"{format_count(k, lang)} ({format_pct(s, lang, decimals=1)})"
        for k, s, h in zip(rows["n_flagged"], share, hidden, strict=True)
    ]
    labels = rule_labels(published, lang)
    order = [g for g in grades if g in set(rows["grade"])]
    wide = (
        rows.assign(value=text, rule_label=rows["rule"].map(lambda r: labels.get(r, r)))
        .pivot_table(
            index="rule_label", columns="grade", values="value", aggfunc="first", sort=False
        )
        .reindex(columns=order)
    )
    screened = rows.drop_duplicates("grade").set_index("grade")
    first = pd.DataFrame(
        [
            [
                marker
                if screened.loc[g, "suppressed"]
                else format_count(screened.loc[g, "n_respondents"], lang)
                for g in order
            ]
        ],
        index=[t("report_screened", lang)],
        columns=order,
    )
    frame = pd.concat([first, wide]).rename(columns=grades)
    frame = frame.rename_axis(column_label("rule", lang)).reset_index().fillna("")
    return display_table(frame, lang=lang, min_cell=published.min_cell)
