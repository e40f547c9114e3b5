"""The opening of every phase report: "Det viktigaste" (key findings) and a table of contents.

A reader (an area team, a nämnd) first sees the few clear findings in plain words, computed from
the same frames as the tables further down, then links to the sections. One function per report:

- :func:`profile_summary` (report 01): risk factors clearly more common and protective factors
  clearly weaker than in the rest of the city, and what changed clearly since the previous wave;
- :func:`priorities_summary` (report 02): the priority problem behaviours the ranking starts from
  (shares here and in the city, named by the team or the run's default), the suggested factors
  and the team's recorded choice;
- :func:`gaps_summary` (report 03): the number of gaps, prioritised factors without a programme,
  gaps with a tested programme suggested;
- :func:`followup_summary` (report 04): what changed clearly since the previous wave and the goals
  reached or off track.

Each returns an :class:`IPython.display.HTML` block (class ``ctc-summary``); :func:`contents`
links to the anchors that :func:`ctc_helpers.views.report.section` writes before each heading.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

import pandas as pd
from IPython.display import HTML

from ctc_helpers.i18n import check_language, t
from ctc_helpers.publish.read import Published
from ctc_helpers.views.escape import markdown_text, plain_text
from ctc_helpers.views.frames import profile_frame
from ctc_helpers.views.goal_chain import goal_name
from ctc_helpers.views.labels import measure_labels
from ctc_helpers.views.numbers import format_pct
from ctc_helpers.views.prioritization import behaviour_levels
from ctc_helpers.vocab import CITY, FACTOR_KINDS

__all__ = [
    "profile_findings",
    "profile_summary",
    "priorities_summary",
    "gaps_summary",
    "followup_summary",
    "first_survey",
    "profile_sections",
    "contents",
    "anchor",
]

_MOST = 5  # findings named per sentence; the tables hold the rest


def anchor(key: str) -> str:
    """The id of a section's anchor (``report.section`` writes it, :func:`contents` links it)."""
    return f"ctc-{key.replace('_', '-')}"


# the sections of reports 01 and 02, in order, for their tables of contents
PROFILE_SECTIONS = (
    "behaviours",
    "risk_profile",
    "protective_profile",
    "composites",
    "areas",
    "methods",
)


def profile_sections(area: str) -> tuple[str, ...]:
    """Report 01's sections: the city report has "where to start" before the methods."""
    if area != CITY:
        return PROFILE_SECTIONS
    at = PROFILE_SECTIONS.index("methods")
    return (*PROFILE_SECTIONS[:at], "area_selection", *PROFILE_SECTIONS[at:])


PRIORITIES_SECTIONS = (
    "priority_behaviours",
    "worksheet",
    "ranking_risk",
    "ranking_protective",
    "prio_chart",
    "choice",
)


def contents(keys: Sequence[str], lang: str | None = None, **values: object) -> HTML:
    """A table of contents: one link per section key (the heading ``report_<key>``)."""
    lang = check_language(lang)
    items = "".join(
        f'<li><a href="#{anchor(key)}">'
        f"{html.escape(plain_text(markdown_text(f'report_{key}', lang, **values)))}</a></li>"
        for key in keys
    )
    title = html.escape(t("report_contents", lang))
    return HTML(f'<nav class="ctc-toc"><strong>{title}</strong><ol>{items}</ol></nav>')


def _block(sentences: Iterable[str], lang: str) -> HTML:
    items = "".join(f"<li>{html.escape(s)}</li>" for s in sentences if s)
    title = html.escape(t("report_summary", lang))
    return HTML(f'<div class="ctc-summary"><h2>{title}</h2><ul>{items}</ul></div>')


def _join(items: Sequence[str], lang: str | None = None) -> str:
    """The first few items joined; "… och 4 till" when there are more (the tables list them)."""
    shown = "; ".join(items[:_MOST])
    return (
        t("summary_more", lang, items=shown, k=len(items) - _MOST) if len(items) > _MOST else shown
    )


def profile_findings(published: Published, *, area: str, wave: int) -> pd.DataFrame:
    """The clear findings of report 01 as codes: one row per measure with a clear difference.

    Returns
    -------
    pandas.DataFrame
        Columns ``finding`` (``risk_high``, ``protective_low``, ``risk_low``: against the rest of
        the city, area reports only; ``worse_since``, ``better_since``: against the previous
        wave), ``measure``, ``measure_kind``, ``pct``, ``reference`` (the rest of the city or
        the previous wave, 0..1), ``diff``, ``previous_wave``; ordered by finding then by size of
        the difference.
    """
    frames = [
        profile_frame(
            published.aggregates, published.comparisons, kind=kind, area=area, wave=wave,
            measures=published.measures,
        ).assign(kind=kind)
        for kind in (*FACTOR_KINDS, "behaviour")
    ]  # fmt: skip
    frame = pd.concat(frames, ignore_index=True).drop_duplicates("measure")
    harmful = frame["kind"].ne("protective")
    rows = []
    if area != CITY:
        up, down = frame["change_city"].eq("increase"), frame["change_city"].eq("decrease")
        versus = {
            "risk_high": frame["kind"].eq("risk") & up,
            "protective_low": frame["kind"].eq("protective") & down,
            "risk_low": frame["kind"].eq("risk") & down,
        }
        against = frame.assign(reference=frame["pct_rest"], diff=frame["diff_city"])
        rows += [against.loc[mask].assign(finding=name) for name, mask in versus.items()]
    up, down = frame["change_previous"].eq("increase"), frame["change_previous"].eq("decrease")
    since = frame.assign(reference=frame["pct_previous"], diff=frame["diff_previous"])
    rows += [
        since.loc[(harmful & up) | (~harmful & down)].assign(finding="worse_since"),
        since.loc[(harmful & down) | (~harmful & up)].assign(finding="better_since"),
    ]
    found = pd.concat(rows, ignore_index=True) if rows else frame.iloc[0:0]
    order = ["risk_high", "protective_low", "risk_low", "worse_since", "better_since"]
    found = found.assign(
        _o=found["finding"].map(order.index), _size=found["diff"].abs()
    ).sort_values(["_o", "_size"], ascending=[True, False], kind="stable")
    columns = ["finding", "measure", "measure_kind", "pct", "reference", "diff", "previous_wave"]
    return found.loc[:, columns].reset_index(drop=True)


def profile_summary(published: Published, *, area: str, wave: int, lang: str | None = None) -> HTML:
    """ "Det viktigaste" of report 01, from :func:`profile_findings` (the profile tables' frame)."""
    lang = check_language(lang)
    found = profile_findings(published, area=area, wave=wave)
    labels = measure_labels(published.measures, lang)

    def items(name: str, pattern: str) -> list[str]:
        rows = found.loc[found["finding"].eq(name)]
        return [
            t(pattern, lang, label=labels.get(r.measure, r.measure), pct=format_pct(r.pct, lang),
              reference=format_pct(r.reference, lang))
            for r in rows.itertuples(index=False)
        ]  # fmt: skip

    sentences = []
    if area != CITY:
        for name in ("risk_high", "protective_low", "risk_low"):
            named = items(name, "summary_versus_rest")
            sentences += (
                [t(f"summary_{_CITY_KEYS[name]}", lang, items=_join(named, lang))] if named else []
            )
        if not sentences:
            sentences.append(t("summary_no_city_difference", lang))
    previous = _previous_wave(published, area=area, wave=wave)
    if previous is None:
        sentences.append(t(_no_previous_key(published, wave), lang))
    else:
        worse = items("worse_since", "summary_versus_previous")
        better = items("better_since", "summary_versus_previous")
        sentences += (
            [t("summary_worse_since", lang, wave=previous, items=_join(worse, lang))]
            if worse
            else []
        )
        sentences += (
            [t("summary_better_since", lang, wave=previous, items=_join(better, lang))]
            if better
            else []
        )
        if not worse and not better:
            sentences.append(t("summary_no_change_since", lang, wave=previous))
    return _block(sentences, lang)


_CITY_KEYS = {
    "risk_high": "risk_high",
    "protective_low": "protective_low",
    "risk_low": "risk_better_than_city",
}


def first_survey(published: Published, wave: int) -> bool:
    """True when the published folder holds no survey before ``wave``."""
    aggregates = published.aggregates
    return not (
        aggregates is not None and "wave" in aggregates and aggregates["wave"].lt(wave).any()
    )


def _no_previous_key(published: Published, wave: int) -> str:
    """Why nothing is compared with an earlier survey: there is none (a first survey), or the
    earlier ones used other cut points."""
    return "summary_first_survey" if first_survey(published, wave) else "summary_no_previous"


def _previous_wave(published: Published, *, area: str, wave: int) -> int | None:
    comparisons = published.comparisons
    if comparisons is None or comparisons.empty or "previous_wave" not in comparisons.columns:
        return None
    rows = comparisons.loc[
        comparisons["wave"].eq(wave)
        & comparisons["area"].eq(area)
        & comparisons["comparison"].eq("previous_wave")
    ]
    waves = rows["previous_wave"].dropna()
    return int(waves.iloc[0]) if len(waves) else None


def priorities_summary(
    ranked: pd.DataFrame,
    choices,
    published: Published,
    *,
    area: str,
    wave: int,
    behaviours: Sequence[str] = (),
    lang: str | None = None,
) -> HTML:
    """ "Det viktigaste" of report 02: first the priority problem behaviours the ranking starts
    from (their shares here and in the city, and whether the team chose them or they are the
    run's default), then the suggested factors by kind and the team's choice.

    ``ranked`` is ``rank_factors`` run with ``behaviours`` (report 02 passes the
    ``behaviours`` of :func:`ctc_helpers.phases.links.ranking_inputs`); a share that is
    suppressed is said not to be shown, never given as a number.
    """
    lang = check_language(lang)
    labels = measure_labels(published.measures, lang)
    sentences = [_behaviour_sentence(published, choices, area=area, wave=wave,
                                     behaviours=behaviours, labels=labels, lang=lang)]  # fmt: skip
    for kind in FACTOR_KINDS:
        rows = ranked.loc[ranked["kind"].eq(kind) & ranked["suggested"].astype(bool)]
        named = [labels.get(f, f) for f in rows["factor"]]
        sentences += (
            [t(f"summary_suggested_{kind}", lang, items=_join(named, lang))] if named else []
        )
    if choices is None:
        sentences.append(t("summary_no_team_choice", lang))
    else:
        named = [labels.get(f, f) for f in choices.factors]
        sentences.append(t("summary_team_choice", lang, items=_join(named, lang)))
    return _block(sentences, lang)


def _behaviour_sentence(
    published: Published,
    choices,
    *,
    area: str,
    wave: int,
    behaviours: Sequence[str],
    labels: dict[str, str],
    lang: str,
) -> str:
    """Which problem behaviours the ranking starts from, with their published shares, and who
    named them: the team (its own ``priority_behaviours``, as
    :func:`ctc_helpers.phases.links.chosen_behaviours` prefers them) or the run's default."""
    if not behaviours:
        return t("summary_behaviours_none", lang)
    levels = behaviour_levels(published, area=area, wave=wave, behaviours=behaviours)
    named = []
    for level in levels.itertuples(index=False):
        parts = [] if area == CITY else [_share_part(level.status, level.pct, "here", lang)]
        parts.append(_share_part(level.status_city, level.pct_city, "city", lang))
        shown = [p for p in parts if p]
        label = labels.get(level.behaviour, level.behaviour)
        named.append(
            t("summary_behaviour_level", lang, label=label, shares=", ".join(shown))
            if shown
            else label
        )
    own = tuple(getattr(choices, "priority_behaviours", ()) or ())
    source = "team" if own else "default_city" if area == CITY else "default"
    return t(f"summary_behaviours_{source}", lang, items=_join(named, lang))


def _share_part(status: str, pct: float, where: str, lang: str) -> str:
    """``"12 % här"``, ``"andelen här visas inte"`` (suppressed) or ``""`` (not published)."""
    if status == "shown":
        return t(f"summary_share_{where}", lang, pct=format_pct(pct, lang))
    return t(f"summary_share_{where}_hidden", lang) if status == "hidden" else ""


def gaps_summary(analysis, *, lang: str | None = None) -> HTML:
    """ "Det viktigaste" of report 03: how many gaps, prioritised factors without a programme and
    gaps a tested programme is suggested for (from the gap and suggestion tables shown)."""
    lang = check_language(lang)
    gaps, labels = analysis.gaps, analysis.labels
    if gaps.empty:
        return _block([t("summary_gaps_none", lang)], lang)
    sentences = [t("summary_gaps", lang, n=len(gaps))]
    uncovered = list(dict.fromkeys(gaps.loc[gaps["gap"].eq("no_programme"), "factor"]))
    if uncovered:
        named = [labels.get(f, f) for f in uncovered]
        sentences.append(t("summary_uncovered", lang, items=_join(named, lang)))
    suggestions = analysis.suggestions
    if suggestions is not None and not suggestions.empty:
        keys = [c for c in ("area", "gap", "factor") if c in suggestions.columns]
        sentences.append(t("summary_suggestions", lang, n=len(suggestions.drop_duplicates(keys))))
    return _block(sentences, lang)


def followup_summary(
    changes: Sequence[pd.DataFrame],
    goals: pd.DataFrame,
    *,
    measures: pd.DataFrame | None = None,
    first_survey: bool = False,
    lang: str | None = None,
) -> HTML:
    """ "Det viktigaste" of report 04: measures clearly better or worse since the previous wave
    (the change tables shown, Holm-adjusted verdicts) and the goals reached or off track.
    ``first_survey`` (:func:`first_survey`): without changes, say it is the first survey rather
    than that the earlier ones used other cut points."""
    lang = check_language(lang)
    labels = {} if measures is None else measure_labels(measures, lang)
    frame = (
        pd.concat([c for c in changes if not c.empty], ignore_index=True)
        if any(not c.empty for c in changes)
        else pd.DataFrame()
    )
    sentences = []
    if frame.empty:
        key = "summary_first_survey" if first_survey else "summary_no_previous"
        sentences.append(t(key, lang))
    else:
        previous = frame.loc[frame["reference"].eq("previous")]
        wave = int(previous["reference_wave"].dropna().iloc[0])
        for code in ("worse", "better"):
            rows = previous.loc[previous["assessment"].eq(code)]
            rows = rows.assign(_size=rows["diff"].abs()).sort_values("_size", ascending=False)
            named = [
                t("summary_versus_previous", lang, label=labels.get(r.measure, r.measure),
                  pct=format_pct(r.pct, lang), reference=format_pct(r.pct_reference, lang))
                for r in rows.itertuples(index=False)
            ]  # fmt: skip
            if named:
                sentences.append(
                    t(f"summary_{code}_since", lang, wave=wave, items=_join(named, lang))
                )
        if len(sentences) == 0:
            sentences.append(t("summary_no_change_since", lang, wave=wave))
    sentences += _goal_sentences(goals, labels, lang)
    return _block(sentences, lang)


def _goal_sentences(goals: pd.DataFrame, labels: dict[str, str], lang: str) -> list[str]:
    if goals is None or goals.empty:
        return []
    names = {i: goal_name(row, labels, lang) for i, row in goals.iterrows()}
    sentences = []
    for status in ("achieved", "on_track", "not_on_track"):
        named = [names[i] for i in goals.index[goals["status"].eq(status)]]
        sentences += [t(f"summary_goals_{status}", lang, items=_join(named, lang))] if named else []
    open_goals = int(goals["status"].eq("not_yet_measurable").sum())
    return sentences + ([t("summary_goals_open", lang, n=open_goals)] if open_goals else [])
