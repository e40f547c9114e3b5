"""Where to start, for people: the city's areas ranked for a first CTC start
(:func:`ctc_helpers.phases.area_selection.rank_areas`) with the criteria in words and CTC's words
of caution, in Swedish or English.

:func:`area_selection` is the one function the dashboard view and report 01 (for the city) use:
the tidy frame plus the texts. :func:`area_selection_parts` gives report 01's section.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from ctc_helpers.i18n import check_language, t
from ctc_helpers.phases.area_selection import CRITERIA, load_readiness, rank_areas
from ctc_helpers.phases.links import chosen_behaviours, read_links
from ctc_helpers.publish.read import Published
from ctc_helpers.views.escape import markdown_text
from ctc_helpers.views.labels import area_names, measure_labels
from ctc_helpers.views.numbers import format_count, format_pct, format_points
from ctc_helpers.views.summary import anchor
from ctc_helpers.views.tables import DisplayTable, display_table
from ctc_helpers.vocab import CITY

__all__ = ["AreaSelection", "area_selection", "area_selection_parts", "area_selection_table"]

CAUTIONS = ("label", "readiness", "small", "decide")


@dataclass(frozen=True)
class AreaSelection:
    """The ranked areas (tidy, unrounded; ``name`` added) and the texts that go with them:
    ``title``, ``intro`` (the criteria and points), ``cautions`` (CTC's words of caution)."""

    frame: pd.DataFrame
    title: str
    intro: str
    cautions: tuple[str, ...]
    behaviours: str = ""  # the behaviours used, as labels


def area_selection(
    published: Published,
    *,
    wave: int,
    behaviours: tuple[str, ...] | list[str] | None = None,
    readiness_file: str | Path | None = None,
    lang: str | None = None,
) -> AreaSelection:
    """The areas ranked for a first CTC start, with the criteria and cautions in words.

    Parameters
    ----------
    published : Published
        The published folder (:func:`~ctc_helpers.publish.read.load_published`).
    wave : int
        Survey year.
    behaviours : list of str, optional
        Priority behaviours (default: the run file's, from the published link table; else
        every behaviour).
    readiness_file : path, optional
        The steering group's readiness scores (``area, readiness, note``); none: blank.
    lang : str, optional
        ``"sv"`` or ``"en"``.

    Returns
    -------
    AreaSelection
        ``frame`` has the columns of ``phases.area_selection.AREA_COLUMNS`` plus ``name``.
    """
    lang = check_language(lang)
    chosen = (
        behaviours if behaviours is not None else chosen_behaviours(None, read_links(published))
    )
    names = area_names(published)
    readiness = (
        load_readiness(readiness_file, areas=list(names), lang=lang) if readiness_file else None
    )
    frame = rank_areas(published.aggregates, wave=wave, behaviours=chosen, readiness=readiness)
    frame = frame.assign(name=frame["area"].map(lambda a: names.get(a, a)))
    labels = measure_labels(published.measures, lang)
    used = ", ".join(labels.get(b, b) for b in frame["behaviours"].iloc[0].split(", ") if b)
    return AreaSelection(
        frame=frame,
        title=t("report_area_selection", lang),
        intro=t("report_area_selection_text", lang, behaviours=used),
        cautions=tuple(t(f"area_selection_caution_{key}", lang) for key in CAUTIONS),
        behaviours=used,
    )


def area_selection_table(selection: AreaSelection, *, lang: str | None = None) -> DisplayTable:
    """Display copy: one row per area with each criterion, its points, the score and rank."""
    lang = check_language(lang)
    rows = selection.frame
    too_few = rows["status"].ne("ok")
    marker = t("suppressed_marker", lang)

    def cell(values: pd.Series, formatter) -> list[str]:
        return [marker if h else formatter(v, lang) for v, h in zip(values, too_few, strict=True)]

    def points(column: str, values: list[str]) -> list[str]:
        return [
            v if h else f"{v} ({p})" for v, p, h in zip(values, rows[column], too_few, strict=True)
        ]

    frame = pd.DataFrame(
        {
            t("area_selection_col_rank", lang): rows["rank"].map(
                lambda r: "" if pd.isna(r) else str(int(r))
            ),
            t("area_selection_col_area", lang): rows["name"],
            **{
                t(f"area_selection_col_{c}", lang): points(
                    f"points_{c}", cell(rows[c], format_count if c == "n" else format_points)
                )
                for c in CRITERIA
            },
            t("area_selection_col_readiness", lang): [
                f"{int(r)} ({p})" if pd.notna(r) else t("area_selection_readiness_missing", lang)
                for r, p in zip(rows["readiness"], rows["points_readiness"], strict=True)
            ],
            t("area_selection_col_score", lang): cell(rows["score"], lambda v, _: str(int(v))),
            t("area_selection_col_risk_pct", lang): cell(rows["risk_pct"], format_pct),
        }
    )
    return display_table(frame, lang=lang, notes=(t("area_selection_note_points", lang),))


def area_selection_parts(
    published: Published,
    *,
    area: str,
    wave: int,
    readiness_file: str | Path | None = None,
    lang: str | None = None,
) -> tuple[object, ...]:
    """Report 01's section for the city (heading, criteria, where readiness came from, table,
    cautions); for an area, nothing (``()``: ``report.show(*parts)`` shows nothing).

    ``readiness_file``: the steering group's scores (``area, readiness, note``; the file the
    dashboard reads from its data folder); none or ``""``: readiness gives no points, and the
    report says it was not entered."""
    if area != CITY:
        return ()
    lang = check_language(lang)
    selection = area_selection(published, wave=wave, readiness_file=readiness_file, lang=lang)
    cautions = "\n".join(
        f"- {markdown_text(f'area_selection_caution_{k}', lang)}" for k in CAUTIONS
    )
    target = f'<a id="{anchor("area_selection")}"></a>\n\n'  # the contents link here
    heading = f"{target}## {markdown_text('report_area_selection', lang)}\n\n"
    intro = markdown_text("report_area_selection_text", lang, behaviours=selection.behaviours)
    entered = int(selection.frame["readiness"].notna().sum())
    source = (
        markdown_text("report_area_selection_readiness_from", lang, entered=entered,
                      areas=len(selection.frame))
        if readiness_file
        else markdown_text("report_area_selection_no_readiness", lang)
    )  # fmt: skip
    return (
        Markdown(f"{heading}{intro}\n\n{source}"),
        area_selection_table(selection, lang=lang),
        Markdown(f"**{t('area_selection_caution_heading', lang)}**\n\n{cautions}"),
    )
