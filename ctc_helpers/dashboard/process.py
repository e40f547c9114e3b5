"""Process: how far an area has come in CTC's five phases, and every area side by side.

One call, :func:`ctc_helpers.phases.process.load_area_process`, reads and scores the teams'
checklists, implementation plans, goal chains and the programme inventory from the data folder;
the texts come from :mod:`ctc_helpers.views.process` and the chart from
:mod:`ctc_helpers.plots.process`, as in report 06. An area shows the area team's picture year by
year; the municipality shows every area's latest phase status side by side, for the steering
group.
"""

from __future__ import annotations

from pathlib import Path
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
    explanation_html,
    remember,
    wire_view,
)
from ctc_helpers.errors import CTCError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.phases.process import ProcessFrames, load_area_process
from ctc_helpers.plots.process import process_chart
from ctc_helpers.views import process as words
from ctc_helpers.views.labels import area_name, area_names
from ctc_helpers.views.tables import DisplayTable

__all__ = ["process_frames", "process_parts", "process_view"]


def _stamp(*folders: Path) -> int:
    """The newest change in the team's folders (a changed file is read again)."""
    stamps = [p.stat().st_mtime_ns for f in folders if f.is_dir() for p in f.rglob("*.yaml")]
    return max(stamps, default=0)


def process_frames(data: DashboardData, area: str) -> ProcessFrames:
    """:func:`~ctc_helpers.phases.process.load_area_process` of ``area`` (``all``: every area)
    from the data folder's ``process/``, ``goal_chains/`` and ``programme_inventory.csv``."""
    inventory = data.data_dir / "programme_inventory.csv"
    return load_area_process(
        data.published,
        area=area,
        wave=data.wave,
        process_dir=data.data_dir / "process",
        goal_chain_dir=data.data_dir / "goal_chains",
        inventory_path=inventory if inventory.is_file() else "",
    )


def _sorted(items: list[tuple[str, Any]]) -> tuple[dict[str, DisplayTable], list[str]]:
    """Display tables by heading, and the Markdown of the rest (sentences instead of tables)."""
    tables = {k: v for k, v in items if isinstance(v, DisplayTable)}
    texts = [v.data for _, v in items if v is not None and not isinstance(v, DisplayTable)]
    return tables, texts


def process_parts(data: DashboardData, *, area: str, lang: str) -> dict[str, Any]:
    """What the Process panel shows for an area or the municipality (cached while the team's
    files are unchanged)."""
    lang = check_language(lang)
    folders = (data.data_dir / "process", data.data_dir / "goal_chains")

    def compute() -> dict[str, Any]:
        name = area_name(data.published, area, lang)
        heading = heading_html(t("dash_process_heading", lang, area=name, wave=data.wave))
        try:
            frames = process_frames(data, area)
        except CTCError as exc:
            return {"notice": notice_html(str(exc), kind="warning"), "heading": heading,
                    "chart": b"", **dict.fromkeys(("tables", "wide", "downloads", "notes"), ""),
                    "about": _about(lang)}  # fmt: skip
        show = {"lang": lang, "names": area_names(data.published)}
        sec = lambda key: t(f"report_{key}", lang)  # noqa: E731 - a section's heading
        beside, beside_texts = _sorted([(sec("proc_phases"), words.phase_table(frames, **show))])
        below, below_texts = _sorted([
            (sec("proc_steering"), words.steering_table(frames, **show)),
            (sec("proc_unmet"), words.unmet_table(frames, **show)),
            (sec("proc_plan"), words.plan_table(frames, process_dir=folders[0], **show)),
            (t("dash_process_support", lang), words.plan_support_table(frames, **show)),
            (sec("proc_delivery"), words.delivery_table(frames, **show)),
            (sec("proc_goals"), words.goal_table(frames, **show)),
        ])  # fmt: skip
        notes = [
            words.process_notice(frames, process_dir=folders[0], **show),
            words.phase_summary(frames, **show),
            words.steering_note(frames, **show),
            words.flag_notes(frames, **show),
        ]
        chart = process_chart(frames, **show)
        tables = {**beside, **below}
        return {
            "notice": "",
            "heading": heading,
            "chart": chart.data if chart is not None else b"",
            "chart_phone": chart.narrow if chart is not None else b"",
            "tables": tables_html(beside),
            "wide": tables_html(below),
            "downloads": download_links(
                tables, basename=f"{VIEWS['process']}_{area}_{data.wave}", lang=lang
            ) if tables else "",
            "notes": markdown_html(
                *(n.data for n in notes if n is not None), *beside_texts, *below_texts
            ),
            "about": _about(lang, markdown_html(words.section(frames, "proc_methods",
                                                              lang=lang, level=4).data)),
        }  # fmt: skip

    key = ("process", str(data.published.path), str(data.data_dir), _stamp(*folders), area,
           data.wave, lang)  # fmt: skip
    return remember(PARTS_CACHE, key, compute)


def _about(lang: str, *parts: str) -> str:
    return explanation_html(t("dash_process_intro", lang), "process", lang, *parts)


def process_view(data: DashboardData, *, area: str | None = None, lang: str | None = None):
    """Process: the area team's milestone checklists year by year, or (the municipality) every
    area's latest phase status side by side for the steering group.

    Returns
    -------
    ipywidgets.VBox
        The area selector (areas and the municipality), the phase status chart, the phases
        table beside it, the steering group's criteria, the unmet milestones, the
        implementation plan against what was delivered and its link to the goal chain below,
        the plain-word flags, downloads and the explanation of the scoring.
    """
    lang = check_language(lang)
    controls = [area_dropdown(data, area, lang)]
    panel = Panel.new()

    def update(_change: Any = None) -> None:
        apply_parts(panel, process_parts(data, area=controls[0].value, lang=lang))

    return wire_view(controls, panel, update, t("dash_about_process", lang), lang)
