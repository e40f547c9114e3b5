"""Områdesprofil: the area's risk, protective or behaviour profile for a survey year, grade and sex.

The chart compares the area with the municipality and the previous survey; the table beside it
gives the numbers, and downloads as CSV or Excel.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import pandas as pd

from ctc_helpers.dashboard.charts import chart_pngs
from ctc_helpers.dashboard.data import DashboardData
from ctc_helpers.dashboard.downloads import download_links
from ctc_helpers.dashboard.markup import heading_html, table_html
from ctc_helpers.dashboard.settings import VIEWS
from ctc_helpers.dashboard.widgets import (
    CHART_WIDTH,
    FRAMES_CACHE,
    PARTS_CACHE,
    Panel,
    apply_parts,
    area_dropdown,
    dropdown,
    explanation_html,
    group_options,
    kind_buttons,
    measures_html,
    remember,
    wire_view,
)
from ctc_helpers.i18n import check_language, t
from ctc_helpers.plots.profile import plot_profile
from ctc_helpers.publish.read import Published
from ctc_helpers.views.labels import area_name, grade_labels, sex_labels
from ctc_helpers.views.profile import profile_table
from ctc_helpers.views.tables import DisplayTable
from ctc_helpers.vocab import FACTOR_KINDS, TOTAL

__all__ = ["PROFILE_KINDS", "profile_view", "profile_parts"]

PROFILE_KINDS = (*FACTOR_KINDS, "behaviour")


def grouped(published: Published, *, grade: str, sex: str) -> Published:
    """The published tables of one grade x sex group, relabelled as the total (``all``), so the
    profile functions compare that group of the area with the same group of the city and of the
    previous survey."""
    if grade == TOTAL and sex == TOTAL:
        return published

    def pick(frame: pd.DataFrame) -> pd.DataFrame:
        rows = frame.loc[frame["grade"].eq(grade) & frame["sex"].eq(sex)]
        return rows.assign(grade=TOTAL, sex=TOTAL)

    def compute() -> Published:
        return replace(
            published,
            aggregates=pick(published.aggregates),
            comparisons=pick(published.comparisons),
        )

    key = (str(published.path), published.min_cell, grade, sex)
    return remember(FRAMES_CACHE, key, compute, size=40)


def _profile_rows(measures: pd.DataFrame, kind: str) -> int:
    own = measures.loc[measures["measure_kind"].eq(kind)]
    return len(own) + own["domain"].nunique() + (2 if kind != "behaviour" else 0)


def _profile_png(
    data: DashboardData, *, area: str, wave: int, grade: str, sex: str, kind: str, lang: str
) -> dict[str, bytes]:
    source = data.for_wave(wave)
    group = grouped(source, grade=grade, sex=sex)
    draw = partial(
        plot_profile, group.aggregates, kind=kind, area=area, wave=wave,
        measures=group.measures, area_label=area_name(source, area, lang), lang=lang,
    )  # fmt: skip
    height = 1.4 + 0.24 * _profile_rows(source.measures, kind)
    key = ("profile", str(source.path), area, wave, grade, sex, kind, lang)
    return chart_pngs(key, lambda ax: draw(ax=ax), width=CHART_WIDTH, height=height)


def _profile_heading(
    source: Published, *, area: str, wave: int, grade: str, sex: str, kind: str, lang: str
) -> str:
    parts = [area_name(source, area, lang), t(f"dash_kind_{kind}", lang)]
    if grade != TOTAL:
        parts.append(grade_labels(lang, published=source).get(grade, grade))
    if sex != TOTAL:
        parts.append(sex_labels(lang, published=source).get(sex, sex))
    return heading_html(" · ".join([*parts, str(wave)]))


def _without_domain(table: DisplayTable, lang: str) -> DisplayTable:
    """The table without its domain column: the chart groups the rows by domain already."""
    column = t("report_col_domain", lang)
    if column not in table.frame.columns:
        return table
    return DisplayTable(table.frame.drop(columns=[column]), table.footnotes)


def profile_parts(
    data: DashboardData, *, area: str, lang: str, wave: int | None = None, grade: str = TOTAL,
    sex: str = TOTAL, kind: str = PROFILE_KINDS[0],
) -> dict[str, Any]:  # fmt: skip
    """What the profile panel shows for one selection (cached per selection)."""
    wave = data.wave if wave is None else wave
    source = data.for_wave(wave)
    selection = {"area": area, "wave": wave, "grade": grade, "sex": sex, "kind": kind}

    def compute() -> dict[str, Any]:
        group = grouped(source, grade=grade, sex=sex)
        table = _without_domain(
            profile_table(group, kind=kind, area=area, wave=wave, lang=lang), lang
        )
        name = f"{VIEWS['profile']}_{area}_{wave}_{grade}_{sex}_{kind}"
        return {
            **_profile_png(data, lang=lang, **selection),
            "tables": table_html(table),
            "downloads": download_links(
                {t(f"dash_kind_{kind}", lang): table}, basename=name, lang=lang
            ),
            "heading": _profile_heading(source, lang=lang, **selection),
            "about": explanation_html(
                t(f"dash_read_profile_{kind}", lang), kind, lang,
                measures_html(source.measures, kind, lang),
            ),
        }  # fmt: skip

    key = ("profile", str(source.path), lang, *selection.values())
    return remember(PARTS_CACHE, key, compute)


def profile_view(data: DashboardData, *, area: str | None = None, lang: str | None = None):
    """Områdesprofil: the area's risk, protective or behaviour profile for a grade and sex.

    Parameters
    ----------
    data : DashboardData
        From :func:`ctc_helpers.dashboard.data.load_dashboard_data`.
    area : str, optional
        Area id to start with (``"all"``: the municipality); default the first area.
    lang : {"sv", "en"}, optional

    Returns
    -------
    ipywidgets.VBox
        Selectors (area, survey year, grade, sex, kind of measure), the chart (a PNG) and the
        table of its numbers beside it, CSV/Excel downloads and the explanation of each measure.
    """
    lang = check_language(lang)
    aggregates = data.published.aggregates
    controls = [
        area_dropdown(data, area, lang),
        dropdown([(str(w), w) for w in data.waves], data.wave, t("dash_wave", lang), "ctc-wave"),
        dropdown(group_options(grade_labels(lang, published=aggregates),
                               aggregates["grade"].unique()), TOTAL,
                 t("dash_grade", lang), "ctc-grade"),
        dropdown(group_options(sex_labels(lang, published=aggregates),
                               aggregates["sex"].unique()), TOTAL,
                 t("dash_sex", lang), "ctc-sex"),
        kind_buttons(PROFILE_KINDS, lang),
    ]  # fmt: skip
    panel = Panel.new()

    def update(_change: Any = None) -> None:
        area_, wave, grade, sex, kind = (c.value for c in controls)
        apply_parts(
            panel,
            profile_parts(data, area=area_, wave=wave, grade=grade, sex=sex, kind=kind, lang=lang),
        )

    return wire_view(controls, panel, update, t("dash_about_measures", lang), lang)
