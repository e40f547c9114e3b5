"""Var börjar vi? / Where to start: the city's areas ranked for a first CTC start, for the
steering group.

One call, :func:`ctc_helpers.views.area_selection.area_selection` (the function report 01's city
section uses), gives the ranking, the criteria in words and CTC's words of caution from the
published folder (aggregates only, never row-level data); this module puts them into the panel.
The steering group's readiness scores are read from ``<data dir>/readiness.csv`` (``area,
readiness, note``) when the file is there. The view concerns the whole municipality: the selector
chooses the survey year; the area chosen on another dashboard is carried along (a hidden area
selector), so the links keep it.
"""

from __future__ import annotations

from typing import Any

from ctc_helpers.dashboard.data import DashboardData
from ctc_helpers.dashboard.downloads import download_links
from ctc_helpers.dashboard.markup import heading_html, markdown_html, notice_html, tables_html
from ctc_helpers.dashboard.settings import VIEWS
from ctc_helpers.dashboard.widgets import (
    PARTS_CACHE,
    Panel,
    apply_parts,
    area_dropdown,
    dropdown,
    explanation_html,
    remember,
    wire_view,
)
from ctc_helpers.errors import CTCError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.views.area_selection import CAUTIONS, area_selection, area_selection_table
from ctc_helpers.views.escape import markdown_text

__all__ = [
    "READINESS_FILE",
    "area_selection_first_parts",
    "area_selection_parts",
    "area_selection_view",
]

READINESS_FILE = "readiness.csv"  # the steering group's scores, in the data folder


def _readiness(data: DashboardData) -> tuple[Any, int]:
    """The readiness file (``None`` when there is none) and its stamp (for the cache key)."""
    path = data.data_dir / READINESS_FILE
    return (path, path.stat().st_mtime_ns) if path.is_file() else (None, 0)


def _selection(data: DashboardData, wave: int, lang: str) -> tuple[Any, str, str]:
    """The ranking, a warning when the readiness file cannot be read (then it is left out) and
    a note saying where readiness came from."""
    readiness, _ = _readiness(data)
    published = data.published
    if readiness is None:
        note = t("dash_area_selection_no_readiness", lang, file=READINESS_FILE)
        return area_selection(published, wave=wave, lang=lang), "", note
    try:
        chosen = area_selection(published, wave=wave, readiness_file=readiness, lang=lang)
    except CTCError as exc:
        problem = t("dash_area_selection_readiness_invalid", lang, problem=str(exc))
        return area_selection(published, wave=wave, lang=lang), problem, ""
    return chosen, "", t("dash_area_selection_readiness_from", lang, file=READINESS_FILE)


def area_selection_parts(data: DashboardData, *, wave: int, lang: str) -> dict[str, Any]:
    """What the panel shows for a survey year: the ranked areas with every criterion and its
    points, the criteria in words, CTC's words of caution and where readiness came from (cached
    while the readiness file is unchanged)."""
    lang = check_language(lang)
    _, stamp = _readiness(data)

    def compute() -> dict[str, Any]:
        selection, problem, source = _selection(data, wave, lang)
        title = t("dash_area_selection_table", lang)
        tables = {title: area_selection_table(selection, lang=lang)}
        cautions = "\n".join(f"- {markdown_text(f'area_selection_caution_{k}', lang)}"
                             for k in CAUTIONS)  # fmt: skip
        intro = markdown_text("report_area_selection_text", lang, behaviours=selection.behaviours)
        return {
            "notice": notice_html(problem, kind="warning"),
            "heading": heading_html(t("dash_area_selection_heading", lang, wave=wave)),
            "chart": b"",
            "tables": tables_html(tables),
            "wide": "",
            "downloads": download_links(
                tables, basename=f"{VIEWS['area_selection']}_{wave}", lang=lang
            ),
            "notes": markdown_html(
                intro,
                f"**{t('area_selection_caution_heading', lang)}**\n\n{cautions}",
                source,
            ),
            "about": explanation_html(
                t("dash_area_selection_about", lang, file=READINESS_FILE), "area_selection", lang
            ),
        }

    key = ("area_selection", str(data.published.path), stamp, wave, lang)
    return remember(PARTS_CACHE, key, compute)


def area_selection_first_parts(data: DashboardData, *, area: str, lang: str) -> dict[str, Any]:
    """What the view first shows, whatever the area (the ranking is the municipality's)."""
    return area_selection_parts(data, wave=data.wave, lang=lang)


def area_selection_view(data: DashboardData, *, area: str | None = None, lang: str | None = None):
    """Var börjar vi? The city's areas ranked for a first CTC start.

    Returns
    -------
    ipywidgets.VBox
        The survey-year selector (class ``ctc-wave``), the ranked areas with each criterion
        (risk, protection, the priority problem behaviours, change in risk, pupils, the steering
        group's readiness) and its points, the criteria in words, CTC's words of caution, where
        readiness came from, downloads and the explanation.
    """
    lang = check_language(lang)
    waves = [w for w in data.waves if w <= data.wave]
    year = dropdown([(str(w), w) for w in waves], data.wave, t("dash_wave", lang), "ctc-wave")
    carrier = area_dropdown(data, area, lang)  # keeps the visitor's area for the links
    carrier.layout.display = "none"
    panel = Panel.new()
    panel.chart.layout.display = "none"  # the ranking is a table; no chart

    def update(_change: Any = None) -> None:
        apply_parts(panel, area_selection_parts(data, wave=year.value, lang=lang))

    return wire_view([year], panel, update, t("dash_about_area_selection", lang), lang,
                     shown=[year, carrier])  # fmt: skip
