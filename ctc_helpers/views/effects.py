"""The effect evaluation for people (notebook 05 and the steering group's dashboard view).

Reads the effect tables the prepare step published (:mod:`ctc_helpers.phases.effects.tables`)
and turns their numbers into tables and honest sentences in Swedish or English: the design (who
did CTC from when, who they are compared with, who was left out and why), the difference in
change for every measure with its interval and the words "kan inte skiljas från slumpen" /
"cannot be told apart from chance" when that is the answer, what the design assumes and why a
change in the CTC areas alone proves nothing, the pre-trend chart, the minimum detectable effect
and, beside the outcomes, the programmes' reach as a description, never as a cause.

The dashboard owner's entry point is :func:`effects_summary` (every part for one evaluation,
built from the published folder alone).
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown

from ctc_helpers.config.priorities import load_team_choices
from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.phases.effects.design import ALL_GROUPS
from ctc_helpers.phases.effects.evaluate import worse_direction
from ctc_helpers.phases.effects.power import plan_table
from ctc_helpers.phases.effects.tables import read_effect_tables
from ctc_helpers.plots.cache import ChartPicture, narrow_png
from ctc_helpers.plots.effects import plot_event_study
from ctc_helpers.publish.read import Published
from ctc_helpers.views.labels import area_names, measure_labels
from ctc_helpers.views.numbers import format_count, format_pct, format_points
from ctc_helpers.views.tables import DisplayTable, column_label
from ctc_helpers.vocab import CITY, FACTOR_KINDS, OUTCOME_KINDS

__all__ = [
    "VERDICTS",
    "Effects",
    "check_city",
    "load_effects",
    "priority_factors",
    "focus_measures",
    "verdict",
    "design_display",
    "design_text",
    "estimates_display",
    "summary_text",
    "assumptions_text",
    "pretrend_text",
    "event_study_chart",
    "power_display",
    "plan_display",
    "reach_display",
    "results_record",
    "effects_summary",
]

VERDICTS = ("better", "worse", "chance", "cannot_show", "not_estimable")


@dataclass(frozen=True)
class Effects:
    """One evaluation's published effect tables (``group``: ``all`` or a comparison group)."""

    group: str
    estimates: pd.DataFrame
    events: pd.DataFrame
    design: pd.DataFrame
    alpha: float = 0.05

    @property
    def estimable(self) -> bool:
        return bool(self.estimates["status"].eq("ok").any()) if len(self.estimates) else False


def check_city(area: str, lang: str | None = None) -> str:
    """The effect evaluation compares areas with each other: it is a report of the whole city.

    Raises
    ------
    ValueError
        If ``area`` is not ``"all"`` (the message says so in Swedish or English).
    """
    if area != CITY:
        raise ValueError(t("effects_error_city_only", lang, area=area))
    return area


def load_effects(published: Published, *, group: str = ALL_GROUPS, lang: str | None = None):
    """The effect tables of a published folder for one evaluation.

    Raises
    ------
    InputFileError
        If the folder has no effect tables (written before this version: run ``ctc run`` again).
    ValueError
        If ``group`` is not an evaluation of the folder (the message lists them).
    """
    tables = read_effect_tables(published.path, lang=lang)
    if tables is None:
        raise InputFileError(t("effects_error_no_tables", lang, path=str(published.path)))
    groups = list(dict.fromkeys([ALL_GROUPS, *tables["effect_design"]["group"]]))
    if group not in groups:
        raise ValueError(
            t("effects_error_unknown_group", lang, group=group, groups=", ".join(groups))
        )
    pick = {name: frame.loc[frame["group"].eq(group)].reset_index(drop=True)
            for name, frame in tables.items()}  # fmt: skip
    return Effects(group, pick["effects"], pick["effect_events"], pick["effect_design"])


def priority_factors(priorities_dir: str, effects: Effects, published: Published) -> list[str]:
    """The factors the CTC areas' teams prioritised (``<priorities_dir>/<area>.yaml``), in the
    order first chosen; ``[]`` without a folder (``""``) or files."""
    if not str(priorities_dir):
        return []
    chosen = []
    for area in effects.design.loc[effects.design["role"].eq("ctc"), "area"]:
        choices = load_team_choices(priorities_dir, area, factors=published.measures)
        chosen += list(choices.factors) if choices is not None else []
    return list(dict.fromkeys(chosen))


def focus_measures(effects: Effects, first: Sequence[str] = (), *, limit: int = 6) -> list[str]:
    """Measures for the charts: the problem behaviours and factors in ``first`` that differ
    clearly, then the rest of ``first``, then the problem behaviours by p-value; at most
    ``limit``."""
    ok = effects.estimates.loc[effects.estimates["status"].eq("ok")].sort_values("p_value")
    behaviours = ok.loc[ok["measure_kind"].eq("behaviour"), "measure"].tolist()
    clear = ok.loc[ok["p_value"] < effects.alpha, "measure"].tolist()
    wanted = [m for m in clear if m in behaviours or m in first]
    ordered = [*wanted, *first, *behaviours]
    return [m for m in dict.fromkeys(ordered) if m in set(ok["measure"])][:limit]


# --------------------------------------------------------------------------------------------
# Verdicts and numbers


def verdict(row: pd.Series | dict, *, alpha: float = 0.05) -> str:
    """The assessment code of one estimate (:data:`VERDICTS`).

    ``cannot_show`` when even the most extreme assignment cannot reach ``alpha`` (too few
    areas); ``better`` / ``worse`` when the randomisation p-value is below ``alpha``;
    ``chance`` otherwise.

    >>> verdict({"status": "ok", "p_value": 0.02, "smallest_p": 0.02, "estimate": -0.05,
    ...          "measure_kind": "behaviour"})
    'better'
    >>> verdict({"status": "ok", "p_value": 0.3, "smallest_p": 0.02, "estimate": -0.01,
    ...          "measure_kind": "behaviour"})
    'chance'
    """
    if row["status"] != "ok":
        return "not_estimable"
    if row["smallest_p"] > alpha:
        return "cannot_show"
    if not row["p_value"] < alpha:
        return "chance"
    worse = worse_direction(row["measure_kind"], row.get("group_kind"))
    if not worse:
        return "chance"
    return "worse" if (row["estimate"] > 0) == (worse == "increase") else "better"


def _points(value: float, lang: str) -> str:
    """A difference in percentage points with one decimal; a difference that rounds to zero
    is shown without a sign."""
    if pd.isna(value):
        return ""
    if abs(value) < 0.0005:
        return "0,0" if lang == "sv" else "0.0"
    return format_points(value, lang, decimals=1)


def _p_text(p: float, lang: str) -> str:
    if pd.isna(p):
        return ""
    text = "< 0.001" if p < 0.001 else f"{p:.3f}"
    return text.replace(".", ",") if lang == "sv" else text


def _did_text(row: pd.Series, lang: str) -> str:
    if row["status"] != "ok":
        return ""
    low, high = row["ci_low"], row["ci_high"]
    bounds = [
        t("effects_unbounded", lang) if not np.isfinite(v) else _points(v, lang)
        for v in (low, high)
    ]
    return f"{_points(row['estimate'], lang)} ({bounds[0]} – {bounds[1]})"


def _measure_kinds(published: Published) -> dict[str, str]:
    measures = published.measures
    groups = measures["group"] if "group" in measures.columns else pd.Series("", measures.index)
    return dict(zip(measures["measure"], groups.fillna("").astype(str), strict=True))


# --------------------------------------------------------------------------------------------
# The design


def design_display(effects: Effects, published: Published, lang: str | None = None):
    """Who did CTC from when, who are the comparison areas, who was left out and why."""
    lang = check_language(lang)
    names = area_names(published)
    rows = effects.design
    roles = [
        t("effects_role_ctc", lang, year=int(r.ctc_start)) if r.role == "ctc"
        else t(f"effects_role_{r.role}", lang)
        for r in rows.itertuples(index=False)
    ]  # fmt: skip
    frame = pd.DataFrame(
        {
            column_label("eff_area", lang): [names.get(a, a) for a in rows["area"]],
            column_label("eff_role", lang): roles,
            column_label("eff_group", lang): rows["comparison_group"].fillna("").astype(str),
            column_label("eff_reason", lang): [
                t(f"effects_reason_{r}", lang) if r else "" for r in rows["reason"]
            ],
        }
    )
    return DisplayTable(frame)


def design_text(effects: Effects, published: Published, lang: str | None = None) -> Markdown:
    """The design in words: CTC and comparison areas, the reference set of the randomisation
    inference, and whether pre-trends can be checked."""
    lang = check_language(lang)
    if not effects.estimable:
        reasons = set(effects.design["reason"]) if "reason" in effects.design else set()
        hidden = reasons == {"hidden"}  # every area too small to show: not a gap in the list
        return Markdown(t("effects_no_design_hidden" if hidden else "effects_no_design", lang))
    names = area_names(published)
    design = effects.design
    ctc = design.loc[design["role"].eq("ctc")]
    comparison = design.loc[design["role"].eq("comparison")]
    first = effects.estimates.loc[effects.estimates["status"].eq("ok")].iloc[0]
    starts = sorted({int(s) for s in ctc["ctc_start"]})
    parts = [
        t("effects_design_sentence", lang,
          ctc=", ".join(names.get(a, a) for a in ctc["area"]),
          start=", ".join(map(str, starts)), n_ctc=len(ctc), n_comparison=len(comparison),
          comparison=", ".join(names.get(a, a) for a in comparison["area"])),
        t("effects_assignments", lang, n=format_count(first["n_assignments"], lang),
          smallest=_p_text(first["smallest_p"], lang)),
    ]  # fmt: skip
    if first["smallest_p"] > effects.alpha:
        parts.append(t("effects_cannot_show", lang, alpha=_p_text(effects.alpha, lang)))
    return Markdown("\n\n".join(parts))


# --------------------------------------------------------------------------------------------
# Estimates


def estimates_display(
    effects: Effects,
    published: Published,
    *,
    kinds: Sequence[str],
    lang: str | None = None,
    first: Sequence[str] = (),
) -> DisplayTable:
    """The difference in change of every measure of the given kinds.

    Columns: the measure, the mix-adjusted change in the CTC areas and in the comparison areas
    since before the start, their difference (the estimate, percentage points) with its 95 %
    randomisation interval, the p-value and the assessment. Measures in ``first`` (e.g. the
    teams' priority factors) come first, marked. Footnotes name the measures where the CTC
    areas started from worse levels (regression to the mean) and the pupils behind the numbers.
    """
    lang = check_language(lang)
    rows = effects.estimates.loc[effects.estimates["measure_kind"].isin(kinds)].copy()
    rows["_first"] = ~rows["measure"].isin(first)
    rows = rows.sort_values("_first", kind="stable")
    labels = measure_labels(published.measures, lang)
    groups = _measure_kinds(published)
    marker = t("effects_priority_marker", lang)
    rtm = t("effects_rtm_marker", lang)
    cells = []
    for row in rows.to_dict("records"):
        code = verdict({**row, "group_kind": groups.get(row["measure"])}, alpha=effects.alpha)
        name = labels.get(row["measure"], row["measure"])
        name = f"{name} {marker}" if row["measure"] in first else name
        name = f"{name} {rtm}" if bool(row["rtm_flag"]) else name
        ok = row["status"] == "ok"
        cells.append(
            {
                column_label("eff_measure", lang): name,
                column_label("eff_change_ctc", lang):
                    _points(row["change_ctc"], lang) if ok else "",
                column_label("eff_change_comparison", lang):
                    _points(row["change_comparison"], lang) if ok else "",
                column_label("eff_did", lang): _did_text(pd.Series(row), lang),
                column_label("eff_p", lang): _p_text(row["p_value"], lang),
                column_label("eff_verdict", lang): t(f"effects_verdict_{code}", lang),
            }
        )  # fmt: skip
    notes = [t("effects_table_note", lang)]
    if first:
        notes.append(f"{marker} {t('effects_priority_note', lang)}")
    if rows["rtm_flag"].fillna(False).astype(bool).any():
        notes.append(f"{rtm} {t('effects_rtm_note', lang)}")
    if len(rows):
        pupils = rows["n_pupils_ctc"].max(), rows["n_pupils_comparison"].max()
        notes.append(t("effects_pupils_note", lang, ctc=format_count(pupils[0], lang),
                       comparison=format_count(pupils[1], lang)))  # fmt: skip
    return DisplayTable(pd.DataFrame(cells), tuple(notes))


def summary_text(effects: Effects, *, kinds: Sequence[str], lang: str | None = None) -> Markdown:
    """How many measures differ clearly, and how many would by chance alone."""
    lang = check_language(lang)
    rows = effects.estimates.loc[
        effects.estimates["measure_kind"].isin(kinds) & effects.estimates["status"].eq("ok")
    ]
    codes = [verdict(r, alpha=effects.alpha) for r in rows.to_dict("records")]
    clear = sum(c in ("better", "worse") for c in codes)
    chance = len(rows) * effects.alpha
    return Markdown(
        t("effects_summary", lang, clear=clear, n=len(rows),
          chance=f"{chance:.1f}".replace(".", "," if lang == "sv" else "."))
    )  # fmt: skip


def assumptions_text(effects: Effects, published: Published, lang: str | None = None) -> Markdown:
    """What the design assumes, why a change in the CTC areas alone proves nothing, and what
    the regression-to-the-mean flag means; with the example of the largest comparison change."""
    lang = check_language(lang)
    labels = measure_labels(published.measures, lang)
    parts = [t("effects_assumes", lang), t("effects_alone", lang)]
    ok = effects.estimates.loc[effects.estimates["status"].eq("ok")]
    if len(ok):
        row = ok.loc[ok["change_comparison"].abs().idxmax()]
        parts.append(
            t("effects_alone_example", lang, measure=labels.get(row["measure"], row["measure"]),
              ctc=_points(row["change_ctc"], lang),
              comparison=_points(row["change_comparison"], lang),
              did=_points(row["estimate"], lang))
        )  # fmt: skip
    parts += [t("effects_rtm_text", lang), t("effects_many_measures", lang)]
    if len(ok):
        clear = ok["p_value"] < effects.alpha
        same = int((clear == (ok["p_boot"] < effects.alpha)).sum())
        parts.append(t("effects_bootstrap", lang, same=same, n=len(ok)))
    return Markdown("\n\n".join(parts))


def pretrend_text(effects: Effects, lang: str | None = None) -> Markdown:
    """Whether the pre-trend assumption can be checked, and what the check found."""
    lang = check_language(lang)
    ok = effects.estimates.loc[effects.estimates["status"].eq("ok")]
    if ok.empty:
        return Markdown(t("effects_no_design", lang))
    before = int(ok["waves_before"].min())
    if before < 2:
        return Markdown(t("effects_pretrend_impossible", lang, n=before))
    tested = ok.loc[ok["pretrend_p"].notna()]
    flagged = tested.loc[tested["pretrend_p"] < effects.alpha, "measure"].tolist()
    return Markdown(
        t("effects_pretrend_result", lang, n=before, tested=len(tested), flagged=len(flagged))
    )


def event_study_chart(
    effects: Effects, published: Published, *, measures: Sequence[str], lang: str | None = None
) -> ChartPicture | None:
    """The event-study charts of the chosen measures, side by side (for phones, one under
    another), as PNG images."""
    lang = check_language(lang)
    chosen = [m for m in measures if m in set(effects.events["measure"])]
    if not chosen:
        return None
    labels = measure_labels(published.measures, lang)
    columns = min(3, len(chosen))
    rows = int(np.ceil(len(chosen) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    _event_studies(effects, chosen, axes, labels=labels, lang=lang)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)

    def narrow(phone) -> None:  # one chart under another
        _event_studies(effects, chosen, phone.subplots(len(chosen), 1, squeeze=False),
                       labels=labels, lang=lang)  # fmt: skip

    phone = narrow_png(narrow, height=3.0 * len(chosen), dpi=90)
    return ChartPicture(buffer.getvalue(), phone, t("chart_alt", lang))


def _event_studies(
    effects: Effects, chosen: list[str], axes: np.ndarray, *, labels: dict, lang: str
) -> None:
    """One event study per chosen measure on ``axes`` (rows x columns), axis titles only on the
    outer charts, spare axes hidden."""
    columns = axes.shape[1]
    for i, (ax, measure) in enumerate(zip(axes.ravel(), chosen, strict=False)):
        events = effects.events.loc[effects.events["measure"].eq(measure)]
        title = textwrap.fill(labels.get(measure, measure), 40)
        plot_event_study(events, title=title, lang=lang, ax=ax)
        ax.set_ylabel(ax.get_ylabel() if i % columns == 0 else "")
        ax.set_xlabel(ax.get_xlabel() if i >= len(chosen) - columns else "")
    for ax in axes.ravel()[len(chosen) :]:
        ax.set_axis_off()


# --------------------------------------------------------------------------------------------
# Power and planning


def power_display(
    effects: Effects, published: Published, *, measures: Sequence[str], lang: str | None = None
) -> DisplayTable:
    """The minimum detectable effect of this design for the chosen measures, beside the
    estimate: a true effect smaller than it would most likely pass unseen."""
    lang = check_language(lang)
    labels = measure_labels(published.measures, lang)
    rows = effects.estimates.set_index("measure").reindex(list(measures)).dropna(how="all")
    frame = pd.DataFrame(
        {
            column_label("eff_measure", lang): [labels.get(m, m) for m in rows.index],
            column_label("eff_level", lang): [
                format_pct(v, lang, decimals=1) for v in rows["prevalence"]
            ],
            column_label("eff_mde", lang): [
                t("effects_mde_none", lang) if not np.isfinite(v)
                else _points(v, lang).lstrip("+")
                for v in rows["mde"]
            ],
            column_label("eff_estimate", lang): [
                _points(v, lang) for v in rows["estimate"]
            ],
            column_label("eff_icc", lang): [f"{v:.3f}".replace(".", "," if lang == "sv" else ".")
                                            for v in rows["icc"]],
        }
    )  # fmt: skip
    return DisplayTable(frame, (t("effects_mde_note", lang),))


def plan_display(effects: Effects, lang: str | None = None) -> DisplayTable | None:
    """What a pilot with 2 to 10 CTC areas and as many comparison areas could detect, using this
    city's pupils per area and the median variance components of its problem behaviours."""
    lang = check_language(lang)
    ok = effects.estimates.loc[
        effects.estimates["status"].eq("ok") & effects.estimates["measure_kind"].eq("behaviour")
    ]
    if ok.empty:
        return None
    areas = ok["n_areas_ctc"] + ok["n_areas_comparison"]
    waves = ok["waves_before"] + ok["waves_after"]
    pupils = float(((ok["n_pupils_ctc"] + ok["n_pupils_comparison"]) / (areas * waves)).median())
    table = plan_table(
        pupils=pupils, prevalence=0.2, icc=float(ok["icc"].median()),
        icc_wave=float(ok["icc_wave"].median()), alpha=effects.alpha,
    )  # fmt: skip
    frame = pd.DataFrame(
        {
            column_label("eff_n_areas", lang): [
                f"{a} + {b}" for a, b in zip(table["n_ctc"], table["n_comparison"], strict=True)
            ],
            column_label("eff_mde", lang): [
                _points(v, lang).lstrip("+") if ok_ else t("effects_mde_none",
                                                                              lang)
                for v, ok_ in zip(table["mde"], table["detectable"], strict=True)
            ],
            column_label("eff_smallest_p", lang): [_p_text(p, lang) for p in table["smallest_p"]],
        }
    )  # fmt: skip
    note = t("effects_plan_note", lang, pupils=format_count(pupils, lang))
    return DisplayTable(frame, (note,))


# --------------------------------------------------------------------------------------------
# Programme reach (description, never cause)


def reach_display(
    figures: pd.DataFrame | None, effects: Effects, published: Published, *, wave: int,
    lang: str | None = None,
) -> DisplayTable | Markdown:  # fmt: skip
    """The programmes of the CTC areas in the latest inventory year up to ``wave``: reach and
    fidelity, shown beside the outcomes as a description of what was done, never as its cause."""
    lang = check_language(lang)
    ctc = effects.design.loc[effects.design["role"].eq("ctc"), "area"].tolist()
    if figures is None or figures.empty or not ctc:
        return Markdown(t("effects_reach_none", lang))
    rows = figures.loc[figures["area"].isin(ctc) & (figures["year"] <= wave)]
    rows = rows.loc[rows["year"].eq(rows.groupby("area")["year"].transform("max"))]
    names = area_names(published)
    reach = rows["reach"] if "reach" in rows.columns else pd.Series(np.nan, index=rows.index)
    fidelity = rows.get("fidelity_score", pd.Series(np.nan, index=rows.index))
    frame = pd.DataFrame(
        {
            column_label("eff_area", lang): [names.get(a, a) for a in rows["area"]],
            column_label("eff_programme", lang): rows["programme"].astype(str),
            column_label("eff_year", lang): rows["year"].astype(int).astype(str),
            column_label("eff_reach", lang): [format_pct(v, lang) for v in reach],
            column_label("eff_fidelity", lang): [format_pct(v, lang) for v in fidelity],
        }
    )
    return DisplayTable(frame.reset_index(drop=True), (t("effects_reach_note", lang),))


# --------------------------------------------------------------------------------------------
# Results record and the dashboard's entry point


def results_record(effects: Effects, *, wave: int) -> dict:
    """The small results record of notebook 05 (``05_effect_evaluation.json``)."""
    ok = effects.estimates.loc[effects.estimates["status"].eq("ok")]
    codes = {r["measure"]: verdict(r, alpha=effects.alpha) for r in ok.to_dict("records")}
    first = ok.iloc[0] if len(ok) else None
    return {
        "wave": wave,
        "group": effects.group,
        "ctc_areas": effects.design.loc[effects.design["role"].eq("ctc"), "area"].tolist(),
        "comparison_areas": effects.design.loc[
            effects.design["role"].eq("comparison"), "area"
        ].tolist(),
        "excluded": dict(
            effects.design.loc[
                effects.design["role"].eq("excluded"), ["area", "reason"]
            ].itertuples(index=False, name=None)
        ),
        "n_assignments": None if first is None else int(first["n_assignments"]),
        "smallest_p": None if first is None else float(first["smallest_p"]),
        "waves_before": None if first is None else int(first["waves_before"]),
        "clear": sorted(m for m, c in codes.items() if c in ("better", "worse")),
        "verdicts": codes,
    }


def effects_summary(
    published: Published, *, group: str = ALL_GROUPS, lang: str | None = None,
    figures: pd.DataFrame | None = None, wave: int | None = None,
) -> dict:  # fmt: skip
    """Every part of one evaluation for a dashboard view, from the published folder alone.

    Returns a dict of ready parts: ``design`` (Markdown), ``design_table``, ``behaviours``,
    ``risk``, ``protective`` (DisplayTable), ``summary``, ``assumptions``, ``pretrend``
    (Markdown), ``chart`` (ChartPicture or None), ``power``, ``plan`` (DisplayTable or None), ``reach``
    and ``record`` (the results record), plus ``effects`` (the tables behind them).
    """
    lang = check_language(lang)
    wave = wave if wave is not None else max(published.waves)
    effects = load_effects(published, group=group, lang=lang)
    focus = focus_measures(effects, limit=3)
    return {
        "effects": effects,
        "design": design_text(effects, published, lang),
        "design_table": design_display(effects, published, lang),
        "behaviours": estimates_display(effects, published, kinds=["behaviour"], lang=lang),
        "risk": estimates_display(effects, published, kinds=["risk"], lang=lang),
        "protective": estimates_display(effects, published, kinds=["protective"], lang=lang),
        "summary": summary_text(effects, kinds=[OUTCOME_KINDS[0], *FACTOR_KINDS], lang=lang),
        "assumptions": assumptions_text(effects, published, lang),
        "pretrend": pretrend_text(effects, lang),
        "chart": event_study_chart(effects, published, measures=focus, lang=lang),
        "power": power_display(effects, published, measures=focus, lang=lang),
        "plan": plan_display(effects, lang),
        "reach": reach_display(figures, effects, published, wave=wave, lang=lang),
        "record": results_record(effects, wave=wave),
    }
