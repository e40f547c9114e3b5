"""Prioritering: the area's factors ranked by transparent criteria, the suggestion and the team's
recorded choice (``<data dir>/priorities/<area>.yaml``)."""

from __future__ import annotations

from functools import partial
from typing import Any

from ctc_helpers.config.priorities import load_team_choices
from ctc_helpers.dashboard.charts import cached_png
from ctc_helpers.dashboard.data import DashboardData
from ctc_helpers.dashboard.downloads import download_links
from ctc_helpers.dashboard.markup import heading_html, markdown_html, notice_html, tables_html
from ctc_helpers.dashboard.settings import VIEWS
from ctc_helpers.dashboard.widgets import (
    CHART_WIDTH,
    FRAMES_CACHE,
    PARTS_CACHE,
    Panel,
    apply_parts,
    area_dropdown,
    explanation_html,
    remember,
    wire_view,
)
from ctc_helpers.dashboard.worksheet import worksheet_box
from ctc_helpers.errors import CTCError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.phases.prioritization import rank_factors
from ctc_helpers.plots.profile import plot_prioritization
from ctc_helpers.publish.read import previous_wave_of
from ctc_helpers.views.labels import area_name
from ctc_helpers.views.prioritization import (
    choice_note,
    choice_table,
    priority_note,
    priority_table,
)
from ctc_helpers.views.report import section

__all__ = ["prioritization_view", "priorities_parts"]


def _ranked(data: DashboardData, area: str):
    published = data.published
    previous = previous_wave_of(published.aggregates, data.wave)
    return remember(
        FRAMES_CACHE,
        ("ranked", str(published.path), area, data.wave),
        lambda: rank_factors(
            published.aggregates, published.comparisons, area=area, wave=data.wave,
            previous_wave=previous,
        ),
    )  # fmt: skip


def _priorities_png(data: DashboardData, *, area: str, lang: str) -> bytes:
    ranked = _ranked(data, area)
    height = 1.6 + 0.24 * (len(ranked) + 2)
    key = ("priorities", str(data.published.path), area, data.wave, lang)
    draw = partial(plot_prioritization, ranked, measures=data.published.measures, lang=lang)
    return cached_png(key, lambda ax: draw(ax=ax), width=CHART_WIDTH, height=height)


def _team_choices(data: DashboardData, area: str, lang: str) -> tuple[Any, str]:
    """The team's recorded choice (or None) and a warning text when its file is not valid."""
    try:
        choices = load_team_choices(
            data.data_dir / "priorities", area, factors=data.published.measures
        )
    except CTCError as exc:
        return None, t("dash_choice_invalid", lang, problem=str(exc))
    return choices, ""


def priorities_parts(data: DashboardData, *, area: str, lang: str) -> dict[str, Any]:
    """What the prioritisation panel shows for an area (cached while the team file is
    unchanged)."""
    team_file = data.data_dir / "priorities" / f"{area}.yaml"
    stamp = team_file.stat().st_mtime_ns if team_file.is_file() else 0

    def compute() -> dict[str, Any]:
        published = data.published
        ranked = _ranked(data, area)
        choices, problem = _team_choices(data, area, lang)
        measures, min_cell = published.measures, published.min_cell
        tables = {
            t("report_choice", lang): choice_table(ranked, choices, measures, lang=lang),
            t("report_ranking_risk", lang): priority_table(
                ranked, measures, kind="risk", lang=lang, min_cell=min_cell),
            t("report_ranking_protective", lang): priority_table(
                ranked, measures, kind="protective", lang=lang, min_cell=min_cell),
        }  # fmt: skip
        beside, *below = tables
        note = choice_note(
            choices, priorities_dir=data.data_dir / "priorities", area=area, wave=data.wave,
            lang=lang,
        )  # fmt: skip
        notes = [priority_note(ranked, lang), note]
        name = area_name(published, area, lang)
        worksheet = section("worksheet", lang, area=area, name=name, level=4).data
        return {
            "chart": _priorities_png(data, area=area, lang=lang),
            "tables": tables_html({beside: tables[beside]}),
            "wide": tables_html({k: tables[k] for k in below}),
            "downloads": download_links(
                tables, basename=f"{VIEWS['priorities']}_{area}_{data.wave}", lang=lang
            ),
            "notes": markdown_html(*(n.data for n in notes if n is not None)),
            "notice": notice_html(problem, kind="warning"),
            "heading": heading_html(f"{t('dash_title_priorities', lang)}: {name} {data.wave}"),
            "about": explanation_html("", "priorities", lang, markdown_html(worksheet)),
        }

    key = ("priorities", str(data.published.path), str(team_file), stamp, area, lang)
    return remember(PARTS_CACHE, key, compute)


def prioritization_view(data: DashboardData, *, area: str | None = None, lang: str | None = None):
    """Prioritering: the area's factors ranked by transparent criteria, the suggestion and the
    team's recorded choice.

    Returns
    -------
    ipywidgets.VBox
        The area selector, the chart (how much worse than the municipality, suggestions
        highlighted), the ranked risk and protective factors with every criterion, the
        suggestion next to the team's choice, downloads and the explanation of the criteria.
    """
    lang = check_language(lang)
    controls = [area_dropdown(data, area, lang)]
    panel = Panel.new()

    def update(_change: Any = None) -> None:
        apply_parts(panel, priorities_parts(data, area=controls[0].value, lang=lang))

    worksheet = worksheet_box(data, controls[0], lang)
    return wire_view(
        controls, panel, update, t("dash_about_priorities", lang), lang, extra=(worksheet,)
    )
