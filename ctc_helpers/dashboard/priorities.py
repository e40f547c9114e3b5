"""Prioritering: the problem first, then the factors. The area's priority problem behaviours
(from the team's priorities file, else the run file's default) with their levels here and in the
municipality, then the factors ranked by transparent criteria, each reason naming the research
link and the local strength, the suggestion and the team's recorded choice
(``<data dir>/priorities/<area>.yaml``).

The behaviours, the ranking and the reasons come from the same functions as report 02
(:func:`ctc_helpers.phases.links.ranking_inputs`, ``rank_factors`` and
:mod:`ctc_helpers.views.prioritization`), so the dashboard and the report say the same.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import ipywidgets as widgets

from ctc_helpers.config.priorities import load_team_choices
from ctc_helpers.dashboard.charts import chart_pngs
from ctc_helpers.dashboard.data import DashboardData
from ctc_helpers.dashboard.downloads import download_links
from ctc_helpers.dashboard.markup import (
    heading_html,
    markdown_html,
    notice_html,
    table_html,
    tables_html,
)
from ctc_helpers.dashboard.settings import VIEWS
from ctc_helpers.dashboard.widgets import (
    CHART_WIDTH,
    PARTS_CACHE,
    Panel,
    apply_parts,
    area_dropdown,
    explanation_html,
    remember,
    tagged,
    wire_view,
)
from ctc_helpers.dashboard.worksheet import ranked_factors, worksheet_box
from ctc_helpers.errors import CTCError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.plots.profile import plot_prioritization
from ctc_helpers.views.labels import area_name
from ctc_helpers.views.prioritization import (
    behaviour_table,
    choice_note,
    choice_table,
    priority_note,
    priority_table,
)
from ctc_helpers.views.report import section
from ctc_helpers.views.tables import DisplayTable

__all__ = ["prioritization_view", "priorities_parts"]


def _priorities_png(data: DashboardData, ranked: Any, *, key: tuple, lang: str) -> dict[str, bytes]:
    height = 1.6 + 0.24 * (len(ranked) + 2)
    draw = partial(plot_prioritization, ranked, measures=data.published.measures, lang=lang)
    return chart_pngs(key, lambda ax: draw(ax=ax), width=CHART_WIDTH, height=height)


def _team_choices(data: DashboardData, area: str, lang: str) -> tuple[Any, str]:
    """The team's recorded choice (or None) and a warning text when its file is not valid."""
    try:
        choices = load_team_choices(
            data.data_dir / "priorities", area, factors=data.published.measures
        )
    except CTCError as exc:
        return None, t("dash_choice_invalid", lang, problem=str(exc))
    return choices, ""


def _section_markdown(key: str, lang: str, **values: Any) -> str:
    """Report 02's section ``key`` (heading and paragraph) as Markdown, without the report's
    anchor (the dashboard has no table of contents; its HTML would show as text)."""
    text = section(key, lang, level=4, **values).data
    return text.split("\n\n", 1)[1] if text.startswith("<a id=") else text


def _behaviours_part(data: DashboardData, area: str, behaviours: tuple, lang: str):
    """The behaviours section (markup) and its table (``None`` when no behaviour is named)."""
    heading = _section_markdown("priority_behaviours", lang, area=area)
    shown = behaviour_table(
        data.published, area=area, wave=data.wave, behaviours=behaviours, lang=lang
    )
    if isinstance(shown, DisplayTable):
        return markdown_html(heading) + table_html(shown), shown
    return markdown_html(heading, shown.data), None


def priorities_parts(data: DashboardData, *, area: str, lang: str) -> dict[str, Any]:
    """What the prioritisation panel shows for an area, the priority behaviours first
    (``behaviours``), then the factors (cached while the team file is unchanged)."""
    team_file = data.data_dir / "priorities" / f"{area}.yaml"
    stamp = team_file.stat().st_mtime_ns if team_file.is_file() else 0

    def compute() -> dict[str, Any]:
        published = data.published
        choices, problem = _team_choices(data, area, lang)
        ranked, behaviours = ranked_factors(data, area, choices)
        measures, min_cell = published.measures, published.min_cell
        first, first_table = _behaviours_part(data, area, behaviours, lang)
        tables = {
            t("report_choice", lang): choice_table(ranked, choices, measures, lang=lang),
            t("report_ranking_risk", lang): priority_table(
                ranked, measures, kind="risk", lang=lang, min_cell=min_cell),
            t("report_ranking_protective", lang): priority_table(
                ranked, measures, kind="protective", lang=lang, min_cell=min_cell),
        }  # fmt: skip
        beside, *below = tables
        downloads = tables
        if first_table is not None:
            downloads = {t("report_priority_behaviours", lang): first_table, **tables}
        note = choice_note(
            choices, priorities_dir=data.data_dir / "priorities", area=area, wave=data.wave,
            lang=lang,
        )  # fmt: skip
        notes = [priority_note(ranked, lang), note]
        name = area_name(published, area, lang)
        worksheet = _section_markdown("worksheet", lang, area=area, name=name)
        chart_key = ("priorities", str(published.path), area, data.wave, behaviours, lang)
        return {
            "behaviours": first,
            **_priorities_png(data, ranked, key=chart_key, lang=lang),
            "tables": tables_html({beside: tables[beside]}),
            "wide": tables_html({k: tables[k] for k in below}),
            "downloads": download_links(
                downloads, basename=f"{VIEWS['priorities']}_{area}_{data.wave}", lang=lang
            ),
            "notes": markdown_html(*(n.data for n in notes if n is not None)),
            "notice": notice_html(problem, kind="warning"),
            "heading": heading_html(f"{t('dash_title_priorities', lang)}: {name} {data.wave}"),
            "about": explanation_html("", "priorities", lang, markdown_html(worksheet)),
        }

    key = ("priorities", str(data.published.path), str(team_file), stamp, area, lang)
    return remember(PARTS_CACHE, key, compute)


def prioritization_view(data: DashboardData, *, area: str | None = None, lang: str | None = None):
    """Prioritering: the area's priority problem behaviours first, then the factors ranked by
    transparent criteria, the suggestion and the team's recorded choice.

    Returns
    -------
    ipywidgets.VBox
        The area selector; under the heading the priority behaviours (share here and in the
        municipality, difference, change; class ``ctc-behaviours``); then the chart (how much
        worse than the municipality, suggestions highlighted), the ranked risk and protective
        factors with every criterion and a reason naming the research link and the local
        strength, the suggestion next to the team's choice, downloads, the worksheet and the
        explanation of the criteria.
    """
    lang = check_language(lang)
    controls = [area_dropdown(data, area, lang)]
    panel = Panel.new()
    behaviours = tagged(widgets.HTML(), "ctc-behaviours")

    def update(_change: Any = None) -> None:
        parts = dict(priorities_parts(data, area=controls[0].value, lang=lang))
        behaviours.value = parts.pop("behaviours")
        apply_parts(panel, parts)

    worksheet = worksheet_box(data, controls[0], lang)
    view = wire_view(
        controls, panel, update, t("dash_about_priorities", lang), lang, extra=(worksheet,)
    )
    children = list(view.children)
    children.insert(children.index(panel.heading) + 1, behaviours)
    view.children = tuple(children)
    return view
