"""Follow-up between survey waves (uppföljning, notebook 04) for people: display copies of the
change, trend and cohort tables of :mod:`ctc_helpers.phases.followup` in Swedish or English —
translated labels, formatted numbers, the suppression marker for hidden groups — and sentences
that explain a change that cannot be compared (:func:`explain_not_comparable`).

Given the published folder (``published``), the displays read the run's vocabulary (its own
grades and sexes), its measure catalogue and minimum group, and say what the follow-up cannot do
instead of showing an empty table: the instrument has no measures of that kind (no factor
scales), there is no earlier survey to compare with, a trend test needs three surveys, no year
group is seen twice.

The trend chart is :func:`ctc_helpers.plots.followup.plot_trends`.
"""

from __future__ import annotations

import pandas as pd
from IPython.display import Markdown

from ctc_helpers.i18n import check_language, t
from ctc_helpers.phases.followup.assessment import NOT_COMPARABLE, TOO_FEW_WAVES
from ctc_helpers.publish.read import Published
from ctc_helpers.survey.compare import TOO_FEW
from ctc_helpers.views.escape import markdown_text
from ctc_helpers.views.instrument import missing_note
from ctc_helpers.views.labels import grade_labels, measure_labels
from ctc_helpers.views.numbers import format_pct, format_points
from ctc_helpers.views.tables import QUIET_MARK, DisplayTable, display_table

__all__ = [
    "explain_not_comparable",
    "change_display",
    "trend_test_display",
    "cohort_display",
]


def explain_not_comparable(
    changes: pd.DataFrame, *, measures: pd.DataFrame | None = None, lang: str | None = None
) -> Markdown | None:
    """A paragraph naming every refused comparison and both cut-point versions (None if none).

    Parameters
    ----------
    changes : pandas.DataFrame
        Output of :func:`ctc_helpers.phases.followup.changes.change_table`.
    measures : pandas.DataFrame, optional
        Measure catalogue for the labels.
    lang : str, optional
        ``"sv"`` or ``"en"``.

    Returns
    -------
    IPython.display.Markdown or None
        An introduction and one bullet per measure and pair of years; ``None`` (nothing shown in
        a notebook) when every comparison was made.
    """
    refused = changes.loc[changes["change"].eq(NOT_COMPARABLE)].drop_duplicates(
        ["measure", "reference_wave"]
    )
    if refused.empty:
        return None
    labels = _labels(measures, check_language(lang))
    lines = [
        markdown_text(
            "followup_cutpoints_differ",
            lang,
            measure=labels.get(row.measure, row.measure),
            wave=row.wave,
            reference_wave=row.reference_wave,
            version=row.cutpoint_version,
            reference_version=row.reference_cutpoint_version,
        )
        for row in refused.itertuples(index=False)
    ]
    bullets = "\n".join(f"- {line}" for line in lines)
    return Markdown(f"{t('followup_not_comparable_intro', lang)}\n\n{bullets}")


def _assessment_text(assessment: str, lang: str) -> str:
    """``better``/``worse`` with the direction in brackets is done by the caller."""
    keys = {
        "better": "change_better",
        "worse": "change_worse",
        "increase": "change_increase",
        "decrease": "change_decrease",
        "no_clear_change": "change_no_clear_change",
        TOO_FEW: "change_too_few",
        NOT_COMPARABLE: "change_not_comparable",
        TOO_FEW_WAVES: "change_too_few_waves",
    }
    return t(keys[assessment], lang) if assessment in keys else ""


def _judgement(assessment: str, change: str, lang: str) -> str:
    text = _assessment_text(assessment, lang)
    if assessment in ("better", "worse"):
        return f"{text} ({_assessment_text(change, lang)})"
    return text


def _interval_text(diff: float, low: float, high: float, lang: str) -> str:
    if pd.isna(diff):
        return ""
    word = t("followup_interval_to", lang)
    return (
        f"{format_points(diff, lang)} ({format_points(low, lang)} {word} "
        f"{format_points(high, lang)})"
    )


def _labels(measures: pd.DataFrame | None, lang: str) -> dict[str, str]:
    return {} if measures is None else measure_labels(measures, lang)


def _catalogue(measures: pd.DataFrame | None, published: Published | None):
    """The measure catalogue given, else the published folder's (None without either)."""
    return published.measures if measures is None and published is not None else measures


def _smallest(min_cell: int | None, published: Published | None) -> int:
    """The smallest group shown: the one given, else the published folder's, else 10."""
    if min_cell is not None:
        return min_cell
    return published.min_cell if published is not None else 10


def _pct_or_marker(value: float, suppressed: bool, lang: str) -> str:
    return t("suppressed_marker", lang) if suppressed or pd.isna(value) else format_pct(value, lang)


def change_display(
    changes: pd.DataFrame,
    *,
    measures: pd.DataFrame | None = None,
    lang: str | None = None,
    min_cell: int | None = None,
    published: Published | None = None,
    kind: str | None = None,
) -> DisplayTable | Markdown:
    """Display copy of :func:`ctc_helpers.phases.followup.changes.change_table`: one row per measure, both comparisons side by side.

    Columns (in ``lang``): measure, the value of the baseline, previous and followed-up wave
    ("–" when suppressed), then for each comparison the difference in percentage points with its
    95 % interval and the assessment in words (e.g. "förbättring (minskning)", "ingen tydlig
    förändring"). When the previous wave is the baseline, the baseline columns are left out.

    ``published`` gives the measure catalogue and smallest group when those are not passed. With
    ``kind`` (``"risk"``, ``"behaviour"``, ...) an instrument without such measures gives the
    note saying so (:func:`ctc_helpers.views.instrument.missing_note`); a table without an earlier
    survey gives the sentence "no earlier survey to compare with".
    """
    lang = check_language(lang)
    note = missing_note(published, kind, lang) if published is not None and kind else None
    if note is not None:
        return note
    if changes.empty:
        return Markdown(markdown_text("followup_no_earlier_wave", lang))
    measures, min_cell = _catalogue(measures, published), _smallest(min_cell, published)
    labels = _labels(measures, lang)
    order = list(dict.fromkeys(changes["measure"]))
    by_reference = {
        name: changes.loc[changes["reference"].eq(name)].set_index("measure").reindex(order)
        for name in ("previous", "baseline")
    }
    previous = by_reference["previous"]
    years = {
        name: int(frame["reference_wave"].dropna().iloc[0]) for name, frame in by_reference.items()
    }
    shown = ["previous"] if years["previous"] == years["baseline"] else ["previous", "baseline"]
    columns = {t("followup_col_measure", lang): [labels.get(m, m) for m in order]}
    for name in reversed(shown):
        columns[str(years[name])] = _pct_cells(by_reference[name]["pct_reference"], lang)
    columns[str(int(changes["wave"].iloc[0]))] = _pct_cells(previous["pct"], lang)
    for name in shown:
        frame = by_reference[name]
        columns[t("followup_col_diff_since", lang, wave=years[name])] = [
            _interval_text(d, lo, hi, lang)
            for d, lo, hi in frame[["diff", "diff_low", "diff_high"]].itertuples(index=False)
        ]
        columns[t("followup_col_assessment_since", lang, wave=years[name])] = [
            _verdict(a, c, lo, hi, lang)
            for a, c, lo, hi in frame[["assessment", "change", "diff_low", "diff_high"]].itertuples(
                index=False
            )
        ]
    adjusted = any(
        _excludes_zero_but_unclear(f["change"], f["diff_low"], f["diff_high"]).any()
        for name, f in by_reference.items()
        if name in shown
    )
    notes = (t("followup_change_note", lang),)
    notes += (t("followup_adjusted_note", lang),) if adjusted else ()
    return display_table(pd.DataFrame(columns), lang=lang, min_cell=min_cell, notes=notes)


def _excludes_zero_but_unclear(change, low, high):
    """No clear change by the Holm-adjusted test although the unadjusted interval excludes 0."""
    return pd.Series(change).eq("no_clear_change").to_numpy() & (
        (pd.Series(low).to_numpy() > 0) | (pd.Series(high).to_numpy() < 0)
    )


def _verdict(assessment: str, change: str, low: float, high: float, lang: str) -> str:
    """The assessment beside its interval: the quiet mark for no clear change, and words saying
    that the adjusted test decides when the (unadjusted) interval shown excludes 0."""
    if change == "no_clear_change" and assessment in ("no_clear_change", "better", "worse"):
        unclear = bool(_excludes_zero_but_unclear([change], [low], [high])[0])
        return t("followup_not_clear_adjusted", lang) if unclear else QUIET_MARK
    return _judgement(assessment, change, lang)


def _pct_cells(values: pd.Series, lang: str) -> list[str]:
    return [_pct_or_marker(v, False, lang) for v in values]


def trend_test_display(
    tests: pd.DataFrame,
    *,
    measures: pd.DataFrame | None = None,
    lang: str | None = None,
    published: Published | None = None,
) -> DisplayTable | Markdown | None:
    """Display copy of :func:`ctc_helpers.phases.followup.trends.trend_tests`, one row per measure.

    Columns (in ``lang``): measure, waves used, odds ratio per survey cycle with its 95 %
    interval, Holm-adjusted p-value and the assessment in words. When the table holds fewer
    than three surveys, one sentence says so (naming the surveys there are) instead of a row per
    measure; no measures (e.g. an instrument without factor scales, said above) show nothing.
    ``published`` gives the measure catalogue when ``measures`` is not passed.
    """
    lang = check_language(lang)
    if tests.empty:
        return None
    if tests["trend"].eq(TOO_FEW_WAVES).all():
        waves = sorted({int(w) for w in (*tests["first_wave"], *tests["last_wave"])})
        listed = ", ".join(map(str, waves))
        return Markdown(markdown_text("followup_trend_too_few_waves", lang, waves=listed))
    labels = _labels(_catalogue(measures, published), lang)
    word = t("followup_interval_to", lang)
    rows = [
        {
            t("followup_col_measure", lang): labels.get(r.measure, r.measure),
            t("followup_col_waves", lang): f"{r.first_wave}–{r.last_wave} ({r.n_waves})",
            t("followup_col_odds_ratio", lang): ""
            if pd.isna(r.odds_ratio)
            else f"{_decimal(r.odds_ratio, lang)} ({_decimal(r.or_low, lang)} {word} "
            f"{_decimal(r.or_high, lang)})",
            t("followup_col_p_holm", lang): "" if pd.isna(r.p_holm) else _p_text(r.p_holm, lang),
            t("followup_col_assessment", lang): _judgement(r.assessment, r.trend, lang),
        }
        for r in tests.itertuples(index=False)
    ]
    frame = pd.DataFrame(rows, columns=[
        t(f"followup_col_{c}", lang)
        for c in ("measure", "waves", "odds_ratio", "p_holm", "assessment")
    ])  # fmt: skip
    return display_table(frame, lang=lang, notes=(t("followup_trend_note", lang),))


def _decimal(value: float, lang: str, digits: int = 2) -> str:
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang == "sv" else text


def _p_text(p: float, lang: str) -> str:
    return (
        "< 0,001"
        if p < 0.001 and lang == "sv"
        else "< 0.001"
        if p < 0.001
        else _decimal(p, lang, 3)
    )


def cohort_display(
    cohorts: pd.DataFrame,
    *,
    measures: pd.DataFrame | None = None,
    lang: str | None = None,
    min_cell: int | None = None,
    published: Published | None = None,
) -> DisplayTable | Markdown:
    """Display copy of :func:`ctc_helpers.phases.followup.cohorts.cohort_table`, one row per year group and measure.

    One column per wave with the value and the grade the year group was in (e.g.
    "12 % (åk 9)"); the note says that it is the same year group, not the same pupils. The
    grades are named in the vocabulary in force: ``published``'s, else the one the table carries
    from its published folder, else ``data_schema/respondents.yaml``. No year group seen in two
    surveys gives a sentence saying so.
    """
    lang = check_language(lang)
    if cohorts.empty:
        return Markdown(markdown_text("followup_no_cohorts", lang))
    measures, min_cell = _catalogue(measures, published), _smallest(min_cell, published)
    vocabulary = published if published is not None else cohorts
    labels, grades = _labels(measures, lang), grade_labels(lang, published=vocabulary)
    marker = t("suppressed_marker", lang)
    cells = cohorts.assign(
        text=[
            f"{marker if s else format_pct(p, lang)} ({grades.get(g, g)})"
            for p, s, g in zip(cohorts["pct"], cohorts["suppressed"], cohorts["grade"], strict=True)
        ],
        cohort_label=cohorts["cohort"].map(lambda c: _cohort_label(c, grades)),
        label=cohorts["measure"].map(lambda m: labels.get(m, m)),
    )
    wide = cells.pivot_table(
        index=["cohort_label", "label"], columns="wave", values="text",
        aggfunc="first", sort=False,
    ).fillna("")  # fmt: skip
    waves = sorted(cohorts["wave"].unique())
    wide = (
        wide.reindex(columns=waves, fill_value="")
        .reset_index()
        .rename(
            columns={
                "cohort_label": t("followup_col_cohort", lang),
                "label": t("followup_col_measure", lang),
            }
        )
    )
    wide.columns = [str(c) for c in wide.columns]
    return display_table(
        wide, lang=lang, min_cell=min_cell, notes=(t("followup_cohort_note", lang),)
    )


def _cohort_label(cohort: str, grades: dict[str, str]) -> str:
    grade, _, wave = cohort.rpartition("-")
    return f"{grades.get(grade, grade)} {wave}"
