"""How each chart of the phase reports is drawn from the published tables: one function per chart,
named in the chart registry of :mod:`ctc_helpers.plots.cache` (``ChartSpec.draw``).

Each ``draw_<chart>(pub, ax, *, area, wave, lang, **inputs)`` reads what it needs (the
published tables, and for some charts the input files of the report's parameters), draws on
``ax`` with a plot function of :mod:`ctc_helpers.plots` and returns the Axes; a chart whose
size depends on its content resizes ``ax.figure``. This module imports matplotlib and the
phases; the cache imports it only when a chart is drawn.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes

from ctc_helpers.config.goal_chain import load_area_goal_chain
from ctc_helpers.config.priorities import load_team_choices
from ctc_helpers.phases.followup.goal_progress import (
    evaluate_goals,
    focus_measures,
    load_programme_figures,
)
from ctc_helpers.phases.followup.trends import trend_table
from ctc_helpers.phases.gaps.inputs import GapInputs, load_gap_inputs
from ctc_helpers.phases.gaps.matrix import city_view, gap_matrix, report_areas
from ctc_helpers.phases.links import ranking_inputs
from ctc_helpers.phases.prioritization import rank_factors
from ctc_helpers.plots.followup import plot_trends
from ctc_helpers.plots.gaps import city_view_figsize, plot_city_view, plot_reach
from ctc_helpers.plots.goal_chain import chain_figsize, plot_goal_chain
from ctc_helpers.plots.profile import (
    plot_area_comparison,
    plot_behaviours,
    plot_prioritization,
    plot_profile,
)
from ctc_helpers.plots.sources import data_checksum, input_fingerprint
from ctc_helpers.publish.read import Published
from ctc_helpers.views.labels import area_names, check_area, measure_labels

__all__ = [
    "draw_behaviours_by_grade",
    "draw_behaviours_by_sex",
    "draw_risk_profile",
    "draw_protective_profile",
    "draw_areas_risk",
    "draw_areas_protective",
    "draw_priorities",
    "draw_gap_city_view",
    "draw_gap_reach",
    "draw_follow_up_trends",
    "draw_goal_chain",
]


# --------------------------------------------------------------------------------------------
# Profile report (notebook 01) and prioritisation worksheet (notebook 02)


def draw_behaviours_by_grade(pub: Published, ax: Axes, *, area: str, wave: int, lang: str) -> Axes:
    """Problem behaviours by grade (:func:`ctc_helpers.plots.profile.plot_behaviours`)."""
    return plot_behaviours(
        pub.aggregates, by="grade", area=area, wave=wave, measures=pub.measures, ax=ax, lang=lang
    )


def draw_behaviours_by_sex(pub: Published, ax: Axes, *, area: str, wave: int, lang: str) -> Axes:
    """Problem behaviours of girls and boys (:func:`ctc_helpers.plots.profile.plot_behaviours`)."""
    return plot_behaviours(
        pub.aggregates, by="sex", area=area, wave=wave, measures=pub.measures, ax=ax, lang=lang
    )


def draw_risk_profile(pub: Published, ax: Axes, *, area: str, wave: int, lang: str) -> Axes:
    """The risk profile against the city and the previous wave."""
    return _profile(pub, ax, kind="risk", area=area, wave=wave, lang=lang)


def draw_protective_profile(pub: Published, ax: Axes, *, area: str, wave: int, lang: str) -> Axes:
    """The protective profile against the city and the previous wave."""
    return _profile(pub, ax, kind="protective", area=area, wave=wave, lang=lang)


def _profile(pub: Published, ax: Axes, *, kind: str, area: str, wave: int, lang: str) -> Axes:
    return plot_profile(
        pub.aggregates,
        kind=kind,
        area=area,
        wave=wave,
        measures=pub.measures,
        area_label=check_area(pub, area, lang),
        ax=ax,
        lang=lang,
    )


def draw_areas_risk(pub: Published, ax: Axes, *, area: str, wave: int, lang: str) -> Axes:
    """Every area's risk factors side by side, the report's area framed."""
    return _areas(pub, ax, kind="risk", area=area, wave=wave, lang=lang)


def draw_areas_protective(pub: Published, ax: Axes, *, area: str, wave: int, lang: str) -> Axes:
    """Every area's protective factors side by side, the report's area framed."""
    return _areas(pub, ax, kind="protective", area=area, wave=wave, lang=lang)


def _areas(pub: Published, ax: Axes, *, kind: str, area: str, wave: int, lang: str) -> Axes:
    return plot_area_comparison(
        pub.aggregates,
        kind=kind,
        areas=pub.areas,
        area=area,
        wave=wave,
        measures=pub.measures,
        ax=ax,
        lang=lang,
    )


def draw_priorities(
    pub: Published, ax: Axes, *, area: str, wave: int, lang: str, priorities_dir: str
) -> Axes:
    """How much worse than the city each factor is, the suggested ones highlighted.

    Ranked as report 02's tables rank them: from the same priority problem behaviours (the
    team's, in ``<priorities_dir>/<area>.yaml``, else the run file's default published with the
    links), research links and local links (:func:`ctc_helpers.phases.links.ranking_inputs`).
    """
    choices = load_team_choices(priorities_dir, area, factors=pub.measures)
    ranked = rank_factors(
        pub.aggregates, pub.comparisons, area=area, wave=wave, **ranking_inputs(pub, choices)
    )
    return plot_prioritization(ranked, measures=pub.measures, ax=ax, lang=lang)


# --------------------------------------------------------------------------------------------
# Gap analysis (notebook 03)


def draw_gap_city_view(
    pub: Published, ax: Axes, *, area: str, wave: int, lang: str, **inputs: Any
) -> Axes:
    """Factors x areas: coverage and priorities (``inputs``: the gap analysis' input files)."""
    gap = _gap_inputs(pub, area=area, wave=wave, lang=lang, inputs=inputs)
    view = city_view(
        gap.programmes,
        gap.priorities,
        areas=report_areas(pub.areas, area),
        aggregates=pub.aggregates,
        wave=wave,
        instrument=pub.measures,
    )
    ax.figure.set_size_inches(city_view_figsize(view))
    return plot_city_view(
        view,
        labels=measure_labels(pub.measures, lang),
        area_names=area_names(pub),
        lang=lang,
        ax=ax,
    )


def draw_gap_reach(
    pub: Published, ax: Axes, *, area: str, wave: int, lang: str, low_reach: float, **inputs: Any
) -> Axes:
    """Reach of the programmes for the area's prioritised factors, with the threshold."""
    gap = _gap_inputs(pub, area=area, wave=wave, lang=lang, inputs=inputs)
    matrix = gap_matrix(gap.programmes, gap.priorities, area=area, instrument=pub.measures)
    labels = measure_labels(pub.measures, lang)
    return plot_reach(matrix, low_reach=low_reach, labels=labels, lang=lang, ax=ax)


def _gap_inputs(
    pub: Published, *, area: str, wave: int, lang: str, inputs: dict[str, Any]
) -> GapInputs:
    """:func:`ctc_helpers.phases.gaps.inputs.load_gap_inputs`, read once for both gap charts of
    an area.

    The memo is keyed like the charts (file contents included), so an edited inventory is read
    again in a long-lived kernel.
    """
    key = json.dumps(
        [str(pub.path), data_checksum(Path(pub.path)), pub.min_cell, area, wave, lang,
         {k: input_fingerprint(v) for k, v in sorted(inputs.items())}],
        default=str,
    )  # fmt: skip
    if key not in _GAP_MEMO:
        _GAP_MEMO.clear()  # one area at a time
        _GAP_MEMO[key] = load_gap_inputs(pub, area=area, wave=wave, lang=lang, **inputs)
    return _GAP_MEMO[key]


_GAP_MEMO: dict[str, GapInputs] = {}


# --------------------------------------------------------------------------------------------
# Follow-up (notebook 04)


def draw_follow_up_trends(
    pub: Published, ax: Axes, *, area: str, wave: int, lang: str, goal_chain_dir: str
) -> Axes:
    """The goal chain's survey measures (else the composites) over the waves."""
    chain = load_area_goal_chain(
        goal_chain_dir, area, instrument=pub.measures, respondent_schema=pub.respondent_schema()
    )
    trend = trend_table(
        pub.aggregates,
        area=area,
        include=focus_measures(pub.aggregates, chain),
        min_n=pub.min_cell,
        last_wave=wave,
    )
    return plot_trends(trend, measures=pub.measures, lang=lang, ax=ax)


def draw_goal_chain(
    pub: Published,
    ax: Axes,
    *,
    area: str,
    wave: int,
    lang: str,
    goal_chain_dir: str,
    inventory_path: str,
    stacked: bool = False,
) -> Axes:
    """The area's goal chain evaluated in the wave, drawn from programmes to behaviours
    (``stacked``: the levels one under another, for a phone's narrow chart)."""
    chain = load_area_goal_chain(
        goal_chain_dir, area, instrument=pub.measures, respondent_schema=pub.respondent_schema()
    )
    figures = load_programme_figures(inventory_path, published=pub, wave=wave)
    goals = evaluate_goals(chain, pub.aggregates, wave=wave, inventory=figures, min_n=pub.min_cell)
    width = ax.figure.get_figwidth() if stacked else 13.0
    ax.figure.set_size_inches(chain_figsize(goals, width=width, stacked=stacked))
    return plot_goal_chain(goals, measures=pub.measures, lang=lang, ax=ax, stacked=stacked)
