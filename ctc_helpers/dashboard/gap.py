"""Gap: the area's gaps against its prioritised factors and the candidate programmes.

Reads the teams' programme inventory (``<data dir>/programme_inventory.csv``); when it is missing
or not valid, the view says so (and what to do) instead of showing gaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import pandas as pd

from ctc_helpers.config.programme_bank import load_programme_bank
from ctc_helpers.dashboard.charts import chart_pngs
from ctc_helpers.dashboard.data import DashboardData
from ctc_helpers.dashboard.downloads import download_links
from ctc_helpers.dashboard.markup import (
    definitions_html,
    heading_html,
    markdown_html,
    notice_html,
    tables_html,
)
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
from ctc_helpers.errors import CTCError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.phases.gaps.gaps import find_gaps
from ctc_helpers.phases.gaps.inputs import current_programmes, load_enrolment, prioritised_factors
from ctc_helpers.phases.gaps.inventory import load_inventory
from ctc_helpers.phases.gaps.matrix import gap_matrix
from ctc_helpers.phases.gaps.suggestions import suggest_for_gaps
from ctc_helpers.plots.gaps import plot_reach
from ctc_helpers.views.gaps import gap_table, gap_types, priorities_note, suggestion_table
from ctc_helpers.views.labels import area_name, measure_labels

__all__ = ["INVENTORY_FILE", "gap_view", "gap_parts", "team_inventory"]

INVENTORY_FILE = "programme_inventory.csv"


@dataclass(frozen=True)
class GapResult:
    """The gap analysis of one area, or the reason it is not available (``missing``)."""

    gaps: pd.DataFrame | None = None
    suggestions: pd.DataFrame | None = None
    matrix: pd.DataFrame | None = None
    priorities: pd.DataFrame | None = None
    bank: Any = None
    missing: str = ""


def _stamp(data: DashboardData) -> tuple[str, int]:
    path = data.data_dir / INVENTORY_FILE
    return str(path), path.stat().st_mtime_ns if path.is_file() else 0


def team_inventory(data: DashboardData, lang: str) -> tuple[Any, Any]:
    """(programme bank, inventory) from the teams' programme inventory, read once per version
    of the file.

    Raises
    ------
    FileNotFoundError
        When there is no inventory file (its path is the first argument).
    CTCError
        When the inventory cannot be used (the message says why).
    """
    path = data.data_dir / INVENTORY_FILE
    if not path.is_file():
        raise FileNotFoundError(path)

    def load() -> tuple[Any, Any]:
        bank = load_programme_bank()
        inventory = load_inventory(  # flagged programmes are shown as gaps, not warned about
            path, bank=bank, areas=data.areas, instrument=data.published.measures, lang=lang,
            warn=False,
        )  # fmt: skip
        return bank, inventory

    return remember(FRAMES_CACHE, ("inventory", *_stamp(data), lang), load, size=40)


def _gap_analysis(data: DashboardData, area: str, lang: str) -> GapResult:
    try:
        bank, inventory = team_inventory(data, lang)
    except FileNotFoundError as exc:
        return GapResult(missing=t("dash_gap_no_inventory", lang, path=exc.args[0]))
    except CTCError as exc:
        return GapResult(missing=t("dash_gap_invalid", lang, problem=str(exc)))
    published = data.published
    enrolment = load_enrolment("", participation=published.participation)
    programmes = current_programmes(inventory, wave=data.wave, enrolment=enrolment)
    try:
        priorities = prioritised_factors(
            published, area=area, wave=data.wave, priorities_dir=data.data_dir / "priorities"
        )
    except CTCError as exc:  # a team's priorities file that is not valid
        return GapResult(missing=t("dash_gap_invalid", lang, problem=str(exc)))
    gaps = find_gaps(programmes, priorities, wave=data.wave, area=area)
    return GapResult(
        gaps=gaps,
        suggestions=suggest_for_gaps(gaps, bank=bank, programmes=programmes),
        matrix=gap_matrix(programmes, priorities, area=area, instrument=published.measures),
        priorities=priorities,
        bank=bank,
    )


def _cached_gaps(data: DashboardData, area: str, lang: str) -> GapResult:
    key = ("gaps", str(data.published.path), *_stamp(data), area, lang)
    return remember(FRAMES_CACHE, key, lambda: _gap_analysis(data, area, lang), size=60)


def _gap_png(data: DashboardData, result: GapResult, *, area: str, lang: str) -> dict[str, bytes]:
    labels = measure_labels(data.published.measures, lang)
    rows = int(result.matrix["prioritised"].sum()) if result.matrix is not None else 1
    key = ("gap", str(data.published.path), *_stamp(data), area, lang)
    draw = partial(plot_reach, result.matrix, labels=labels, lang=lang)
    return chart_pngs(key, lambda ax: draw(ax=ax), width=CHART_WIDTH, height=1.6 + 0.3 * rows)


def gap_parts(data: DashboardData, *, area: str, lang: str) -> dict[str, Any]:
    """What the gap panel shows for an area, or the reason it cannot (cached while the
    inventory is unchanged)."""
    key = ("gap", str(data.published.path), *_stamp(data), area, lang)
    return remember(PARTS_CACHE, key, lambda: _compute_gap_parts(data, area=area, lang=lang))


def _gap_types_html(lang: str) -> str:
    types = gap_types(lang)
    return definitions_html(zip(types["label"], types["description"], strict=True))


def _compute_gap_parts(data: DashboardData, *, area: str, lang: str) -> dict[str, Any]:
    published = data.published
    name = area_name(published, area, lang)
    parts = {
        "heading": heading_html(f"{t('dash_title_gap', lang)}: {name} {data.wave}"),
        "about": explanation_html(t("dash_read_gap", lang), "gap", lang, _gap_types_html(lang)),
    }
    result = _cached_gaps(data, area, lang)
    if result.missing:
        empty = {"chart": b"", "tables": "", "wide": "", "downloads": "", "notes": ""}
        return {**parts, **empty, "notice": notice_html(result.missing, kind="warning")}
    labels = measure_labels(published.measures, lang)
    names = dict(zip(data.areas["area_id"], data.areas["name"], strict=True))
    tables = {
        t("dash_gaps", lang): gap_table(
            result.gaps, bank=result.bank, labels=labels, area_names=names, lang=lang),
        t("dash_candidates", lang): suggestion_table(
            result.suggestions, bank=result.bank, labels=labels, area_names=names, lang=lang),
    }  # fmt: skip
    beside, below = tables
    note = priorities_note(result.priorities, area=area, labels=labels, area_names=names, lang=lang)
    return {
        **parts,
        "notice": "",
        **_gap_png(data, result, area=area, lang=lang),
        "tables": tables_html({beside: tables[beside]}),
        "wide": tables_html({below: tables[below]}),
        "downloads": download_links(
            tables, basename=f"{VIEWS['gap']}_{area}_{data.wave}", lang=lang
        ),
        "notes": markdown_html(note.data),
    }


def gap_view(data: DashboardData, *, area: str | None = None, lang: str | None = None):
    """Gap: the area's gaps against its prioritised factors and candidate programmes.

    Returns
    -------
    ipywidgets.VBox
        The area selector, the reach of the programmes for the prioritised factors (chart), the
        gaps and the candidate programmes (tables), downloads and the explanation of each gap.
    """
    lang = check_language(lang)
    controls = [area_dropdown(data, area, lang)]
    panel = Panel.new()

    def update(_change: Any = None) -> None:
        apply_parts(panel, gap_parts(data, area=controls[0].value, lang=lang))

    return wire_view(controls, panel, update, t("dash_about_gap", lang), lang)
