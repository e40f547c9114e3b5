"""Effekter: did CTC make a difference? The steering group's view of the effect evaluation.

One call, :func:`ctc_helpers.views.effects.effects_summary`, gives every part from the published
folder (tables, honest sentences, the event-study chart as PNG); this module only puts them into
the panel. The evaluation concerns the whole municipality: the selector chooses the comparison
(every CTC area against every comparison area, or a named comparison group). The area chosen on
another dashboard is carried along (a hidden area selector), so the links keep it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pandas as pd

from ctc_helpers.config.glossary import load_glossary
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
from ctc_helpers.phases.effects.design import ALL_GROUPS
from ctc_helpers.phases.effects.tables import read_effect_tables
from ctc_helpers.phases.followup.goal_progress import load_programme_figures
from ctc_helpers.views.effects import effects_summary

__all__ = [
    "EFFECT_TERMS",
    "effect_groups",
    "effects_parts",
    "effects_first_parts",
    "effects_view",
]

# glossary terms (data_schema/glossary.yaml ids) explained under the view
EFFECT_TERMS = ("comparison_area", "difference_in_differences", "pre_trend",
                "minimum_detectable_effect", "confidence_interval")  # fmt: skip
INVENTORY = "programme_inventory.csv"


def effect_groups(data: DashboardData) -> list[str]:
    """The evaluations of the published folder: ``all`` first, then the comparison groups
    (only ``all`` when the folder has no effect tables; the view then says so)."""
    tables = read_effect_tables(data.published.path)
    if tables is None:
        return [ALL_GROUPS]
    return list(dict.fromkeys([ALL_GROUPS, *tables["effect_design"]["group"].astype(str)]))


def _figures(data: DashboardData) -> pd.DataFrame | None:
    """The programme inventory's reach and fidelity (``None`` without an inventory)."""
    path = data.data_dir / INVENTORY
    if not path.is_file():
        return None
    return load_programme_figures(path, published=data.published, wave=data.wave)


def _group_label(group: str, lang: str) -> str:
    return t("dash_effects_group_all", lang) if group == ALL_GROUPS else group


@cache
def _terms_html(lang: str) -> str:
    terms = load_glossary(lang).set_index("term_id")
    wanted = [i for i in EFFECT_TERMS if i in terms.index]
    pairs = [(terms.loc[i, "term"], terms.loc[i, "definition"]) for i in wanted]
    return definitions_html(pairs, title=t("dash_terms", lang))


def _missing(data: DashboardData, problem: str, lang: str) -> dict[str, Any]:
    return {
        "notice": notice_html(problem, kind="warning"),
        "heading": heading_html(t("dash_title_effects", lang)),
        "chart": b"",
        **dict.fromkeys(("tables", "wide", "downloads", "notes"), ""),
        "about": explanation_html(t("dash_effects_intro", lang), "effects", lang),
    }


def effects_parts(data: DashboardData, *, group: str, lang: str) -> dict[str, Any]:
    """What the Effekter panel shows for one evaluation (cached per kernel).

    Beside the chart: the problem behaviours' estimates and the minimum detectable effect;
    below it the risk and protective factors, the design, what a pilot could detect and the
    programmes' reach (description, never cause); the honest sentences as notes.
    """
    lang = check_language(lang)

    def compute() -> dict[str, Any]:
        try:
            parts = effects_summary(
                data.published, group=group, lang=lang, figures=_figures(data), wave=data.wave
            )
        except CTCError as exc:
            return _missing(data, str(exc), lang)
        beside = {
            t("report_effects_behaviours", lang): parts["behaviours"],
            t("report_effects_power", lang): parts["power"],
        }
        below = {
            t("report_effects_risk", lang): parts["risk"],
            t("report_effects_protective", lang): parts["protective"],
            t("report_effects_design", lang): parts["design_table"],
        }
        if parts["plan"] is not None:
            below[t("report_effects_plan", lang)] = parts["plan"]
        reach = parts["reach"]
        if hasattr(reach, "frame"):
            below[t("report_effects_reach", lang)] = reach
        notes = [parts["summary"], parts["design"], parts["pretrend"]]
        if not hasattr(reach, "frame"):
            notes.append(reach)
        chart = parts["chart"]
        label = _group_label(group, lang)
        return {
            "notice": "",
            "heading": heading_html(t("dash_effects_heading", lang, group=label, wave=data.wave)),
            "chart": chart.data if chart is not None else b"",
            "chart_phone": chart.narrow if chart is not None else b"",
            "tables": tables_html(beside),
            "wide": tables_html(below),
            "downloads": download_links(
                {**beside, **below}, basename=f"{VIEWS['effects']}_{group}_{data.wave}", lang=lang
            ),
            "notes": markdown_html(*(n.data for n in notes)),
            "about": explanation_html(
                t("dash_effects_intro", lang),
                "effects",
                lang,
                markdown_html(parts["assumptions"].data),
                _terms_html(lang),
            ),  # fmt: skip
        }

    key = ("effects", str(data.published.path), data.wave, group, lang)
    return remember(PARTS_CACHE, key, compute)


def effects_first_parts(data: DashboardData, *, area: str, lang: str) -> dict[str, Any]:
    """What the view first shows, whatever the area (the evaluation is the municipality's)."""
    return effects_parts(data, group=ALL_GROUPS, lang=lang)


def effects_view(data: DashboardData, *, area: str | None = None, lang: str | None = None):
    """Effekter: the effect evaluation of the CTC areas against the comparison areas.

    Returns
    -------
    ipywidgets.VBox
        The comparison selector, the event-study (pre-trend) chart, the estimates of the problem
        behaviours with the minimum detectable effect beside it, the factors, the design, what
        a pilot could detect and the programmes' reach below, the honest sentences ("kan inte
        skiljas från slumpen"), downloads and the explanation with the glossary terms.
    """
    lang = check_language(lang)
    groups = effect_groups(data)
    chooser = dropdown([(_group_label(g, lang), g) for g in groups], groups[0],
                       t("dash_effects_group", lang), "ctc-group")  # fmt: skip
    carrier = area_dropdown(data, area, lang)  # keeps the visitor's area for the links
    carrier.layout.display = "none"
    panel = Panel.new()

    def update(_change: Any = None) -> None:
        apply_parts(panel, effects_parts(data, group=chooser.value, lang=lang))

    return wire_view([chooser], panel, update, t("dash_about_effects", lang), lang,
                     shown=[chooser, carrier])  # fmt: skip
