"""Uppföljning: one measure over every survey (area and municipality) and the area's goal chain."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import ipywidgets as widgets
import pandas as pd

from ctc_helpers.config.goal_chain import load_area_goal_chain
from ctc_helpers.dashboard.charts import chart_pngs
from ctc_helpers.dashboard.data import DashboardData
from ctc_helpers.dashboard.downloads import download_links
from ctc_helpers.dashboard.gap import team_inventory
from ctc_helpers.dashboard.guard import guarded
from ctc_helpers.dashboard.markup import heading_html, markdown_html, notice_html, table_html
from ctc_helpers.dashboard.settings import VIEWS
from ctc_helpers.dashboard.widgets import (
    CHART_WIDTH,
    FRAMES_CACHE,
    PARTS_CACHE,
    PHONE_CHART_LAYOUT,
    Panel,
    apply_parts,
    area_dropdown,
    dropdown,
    explanation_html,
    kind_buttons,
    measures_html,
    remember,
    tagged,
    wire_view,
)
from ctc_helpers.errors import CTCError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.phases.followup.goal_progress import evaluate_goals, published_programme_figures
from ctc_helpers.phases.followup.trends import trend_table
from ctc_helpers.plots.cache import NARROW_WIDTH
from ctc_helpers.plots.followup import plot_trends
from ctc_helpers.plots.goal_chain import chain_figsize, plot_goal_chain
from ctc_helpers.views.goal_chain import goal_chain_notice, goal_display
from ctc_helpers.views.labels import area_name, has_text, measure_labels
from ctc_helpers.views.numbers import format_pct
from ctc_helpers.views.tables import DisplayTable, display_table
from ctc_helpers.vocab import CITY, FACTOR_KINDS

__all__ = ["FOLLOWUP_KINDS", "followup_view", "followup_parts"]

FOLLOWUP_KINDS = ("behaviour", *FACTOR_KINDS)
_GOAL_CHART_LAYOUT = {"max_width": "100%", "height": "auto", "align_self": "flex-start"}


def _measure_options(measures: pd.DataFrame, kind: str, lang: str) -> list[tuple[str, str]]:
    rows = measures.loc[measures["measure_kind"].eq(kind)].sort_values("order", kind="stable")
    return list(zip(rows[f"label_{lang}"].astype(str), rows["measure"], strict=True))


def _trend(data: DashboardData, *, area: str, measure: str) -> pd.DataFrame:
    """The measure's rows of the trend of every measure of its kind: Holm's correction runs
    across the same measures as in report 04's change tables, so the verdicts agree."""
    published = data.published
    kind = _kind_of(published.measures, measure)
    every = remember(
        FRAMES_CACHE,
        ("trend", str(published.path), area, kind, data.wave),
        lambda: trend_table(
            published.aggregates, area=area, kinds=[kind], measures=published.measures,
            min_n=published.min_cell, last_wave=data.wave,
        ),
    )  # fmt: skip
    return every.loc[every["measure"].eq(measure)]


def _trend_png(data: DashboardData, *, area: str, measure: str, lang: str) -> dict[str, bytes]:
    published = data.published
    name = area_name(published, area, lang)
    places = [(area, name)] if area == CITY else [(area, name), (CITY, t("city", lang))]
    lines = pd.concat(
        [_trend(data, area=a, measure=measure).assign(measure=label) for a, label in places],
        ignore_index=True,
    )
    key = ("trend", str(published.path), area, measure, lang)
    draw = partial(plot_trends, lines, lang=lang)
    return chart_pngs(key, lambda ax: draw(ax=ax), width=CHART_WIDTH, height=3.6)


def _trend_table(data: DashboardData, *, area: str, measure: str, lang: str) -> DisplayTable:
    """Year, the area's share with its interval, the municipality's share and the change."""
    published = data.published
    own = _trend(data, area=area, measure=measure).set_index("wave")
    city = _trend(data, area=CITY, measure=measure).set_index("wave")
    marker = t("suppressed_marker", lang)

    def share(frame: pd.DataFrame, wave: int) -> str:
        if wave not in frame.index or bool(frame.loc[wave, "suppressed"]):
            return marker
        return format_pct(frame.loc[wave, "pct"], lang)

    columns = {
        t("dash_wave", lang): [str(w) for w in own.index],
        area_name(published, area, lang): [share(own, w) for w in own.index],
        t("report_col_interval", lang): [
            "" if bool(own.loc[w, "suppressed"]) else
            f"{format_pct(own.loc[w, 'ci_low'], lang).rstrip(' %')}–"
            f"{format_pct(own.loc[w, 'ci_high'], lang)}"
            for w in own.index
        ],
    }  # fmt: skip
    if area != CITY:
        columns[t("city", lang)] = [share(city, w) for w in own.index]
    columns[t("dash_change_previous", lang)] = [
        _change_words(own.loc[w, "change_previous"], own.loc[w, "assessment_previous"], lang)
        for w in own.index
    ]
    return display_table(pd.DataFrame(columns), lang=lang, min_cell=published.min_cell)


def _change_words(change: str, assessment: str, lang: str) -> str:
    if not change:
        return ""
    words = [t(f"change_{c}", lang) for c in (assessment, change) if has_text(f"change_{c}")]
    unique = list(dict.fromkeys(words))
    return f"{unique[0]} ({unique[1]})" if len(unique) > 1 else (unique[0] if unique else change)


def _goal_chain(data: DashboardData, area: str, lang: str) -> tuple[Any, pd.DataFrame, str]:
    """(chain or None, evaluated goals, warning text) of the area."""
    published = data.published
    try:
        chain = load_area_goal_chain(
            data.data_dir / "goal_chains",
            area,
            instrument=published.measures,
            respondent_schema=published.respondent_schema(),
        )
    except CTCError as exc:
        return None, evaluate_goals(None, published.aggregates, wave=data.wave), str(exc)
    inventory = _inventory_for_goals(data, chain, lang)
    evaluated = evaluate_goals(
        chain, published.aggregates, wave=data.wave, inventory=inventory, min_n=published.min_cell
    )
    return chain, evaluated, ""


def _inventory_for_goals(data: DashboardData, chain: Any, lang: str) -> pd.DataFrame | None:
    """The programme figures of reach and fidelity goals, as report 04 computes them."""
    needs = chain is not None and any(g.kind in ("reach", "fidelity") for g in chain.goals)
    if not needs:
        return None
    try:
        programmes = team_inventory(data, lang)[1].programmes
    except (FileNotFoundError, CTCError):
        return None  # the goals say "no inventory" themselves
    return published_programme_figures(programmes, published=data.published, wave=data.wave)


def _goal_parts(data: DashboardData, *, area: str, lang: str) -> tuple[dict[str, Any], Any]:
    """The goal chain's widgets (chart hidden without goals) and its display table (or None)."""
    published = data.published
    chain, evaluated, problem = _goal_chain(data, area, lang)
    notice = goal_chain_notice(
        chain, area=area, goal_chain_dir=data.data_dir / "goal_chains", lang=lang
    ).data
    parts = {
        "goal_notes": markdown_html(notice),
        "goal_notice": notice_html(problem, kind="warning"),
        "goal_display": "none" if evaluated.empty else None,
    }
    if evaluated.empty:
        return {**parts, "goal_chart": b"", "goal_table": ""}, None
    width, height = chain_figsize(evaluated, width=9.0)
    png_key = ("goals", str(published.path), str(data.data_dir), area, data.wave, lang)
    draw = partial(plot_goal_chain, evaluated, measures=published.measures, lang=lang)
    table = goal_display(evaluated, published=published, lang=lang)  # as in report 04

    def narrow(ax: Any) -> Any:  # the levels one under another, as tall as they need
        ax.figure.set_size_inches(chain_figsize(evaluated, width=NARROW_WIDTH, stacked=True))
        return draw(ax=ax, stacked=True)

    charts = chart_pngs(png_key, lambda ax: draw(ax=ax), width=width, height=height,
                        narrow_draw=narrow, name="goal_chart")  # fmt: skip
    return {**parts, **charts, "goal_table": table_html(table)}, table


@dataclass(frozen=True)
class GoalPanel(Panel):
    """A panel with a second chart for the goal chain."""

    goal_chart: widgets.Image = None
    goal_chart_phone: widgets.Image = None
    goal_notes: widgets.HTML = None
    goal_notice: widgets.HTML = None
    goal_table: widgets.HTML = None

    @classmethod
    def new(cls) -> GoalPanel:
        base = Panel.new()
        return cls(
            **{f: getattr(base, f) for f in base.__dataclass_fields__},
            goal_chart=tagged(
                widgets.Image(format="png", layout=_GOAL_CHART_LAYOUT), "ctc-goal-chart"
            ),
            goal_chart_phone=tagged(
                widgets.Image(format="png", layout=PHONE_CHART_LAYOUT), "ctc-goal-chart-phone"
            ),
            goal_notes=tagged(widgets.HTML(), "ctc-goal-notes"),
            goal_notice=widgets.HTML(),
            goal_table=tagged(widgets.HTML(), "ctc-goal-table"),
        )


def followup_parts(
    data: DashboardData, *, area: str, lang: str, measure: str | None = None
) -> dict[str, Any]:
    """What the follow-up panel shows for an area and measure (cached while the goal file is
    unchanged)."""
    published = data.published
    measure = measure or _measure_options(published.measures, FOLLOWUP_KINDS[0], lang)[0][1]
    goal_file = data.data_dir / "goal_chains" / f"{area}.yaml"
    stamp = goal_file.stat().st_mtime_ns if goal_file.is_file() else 0

    def compute() -> dict[str, Any]:
        name = area_name(published, area, lang)
        labels = measure_labels(published.measures, lang)
        trend = _trend_table(data, area=area, measure=measure, lang=lang)
        goal_parts, goals = _goal_parts(data, area=area, lang=lang)
        shown = {t("dash_trend", lang): trend}
        shown.update({t("dash_goals", lang): goals} if goals is not None else {})
        kind = _kind_of(published.measures, measure)
        return {
            **goal_parts,
            "heading": heading_html(f"{labels.get(measure, measure)}: {name}"),
            **_trend_png(data, area=area, measure=measure, lang=lang),
            "tables": table_html(trend),
            "downloads": download_links(
                shown, basename=f"{VIEWS['followup']}_{area}_{measure}", lang=lang
            ),
            "about": explanation_html(
                t("dash_read_followup", lang), "followup", lang,
                measures_html(published.measures, kind, lang),
            ),
        }  # fmt: skip

    key = ("followup", str(published.path), str(goal_file), stamp, area, measure, lang)
    return remember(PARTS_CACHE, key, compute)


def _kind_of(measures: pd.DataFrame, measure: str) -> str:
    kinds = dict(zip(measures["measure"], measures["measure_kind"], strict=True))
    return kinds.get(measure, "behaviour")


def followup_view(data: DashboardData, *, area: str | None = None, lang: str | None = None):
    """Uppföljning: one measure over every survey (area and municipality) and the goal chain.

    Returns
    -------
    ipywidgets.VBox
        Selectors (area, kind of measure, measure), the trend chart with its table, the goal
        chain chart (status of every goal) with its table, downloads and explanations.
    """
    lang = check_language(lang)
    measures = data.published.measures
    kind = kind_buttons(FOLLOWUP_KINDS, lang)
    options = _measure_options(measures, kind.value, lang)
    measure = dropdown(options, options[0][1], t("report_col_measure", lang), "ctc-measure")
    controls = [area_dropdown(data, area, lang), kind, measure]
    panel = GoalPanel.new()

    def on_kind(change: Any) -> None:
        measure.options = _measure_options(measures, change["new"], lang)  # selects the first

    def update(_change: Any = None) -> None:
        apply_parts(
            panel, followup_parts(data, area=controls[0].value, measure=measure.value, lang=lang)
        )

    kind.observe(guarded(on_kind, panel.error, lang), names="value")
    extra = (
        widgets.HTML(heading_html(t("report_followup_goals", lang))),
        panel.goal_notice,
        panel.goal_notes,
        panel.goal_chart,
        panel.goal_chart_phone,
        panel.goal_table,
    )
    return wire_view(
        [controls[0], measure], panel, update, t("dash_about_followup", lang), lang,
        shown=controls, extra=extra,
    )  # fmt: skip
