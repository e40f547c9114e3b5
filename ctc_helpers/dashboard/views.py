"""The four dashboard views, each a function that returns a widget (testable without a browser).

- :func:`profile_view` (Områdesprofil): area, survey year, grade and sex; risk factors,
  protective factors or problem behaviours against the municipality and the previous survey,
  with the numbers behind the chart in a table beside it.
- :func:`prioritization_view` (Prioritering): the ranked factors with every criterion, the
  suggestion and the area team's recorded choice.
- :func:`gap_view` (Gap): the gaps against the area's prioritised factors and candidate
  programmes; says so when the programme inventory is missing or cannot be used.
- :func:`followup_view` (Uppföljning): a measure over all surveys (area and municipality) and
  the status of the area's goal chain.

Every view has an area dropdown (CSS class ``ctc-area``), a chart (``ctc-chart``, a PNG in a
``widgets.Image``), its tables (``ctc-table-box``), CSV/Excel downloads of those tables, an
explanation of the measures a click away (an Accordion) and a message line (``ctc-error``)
where a failed update says so in words. :func:`build_page` puts a view under a header with the
language switch and links to the other dashboards (carrying ``?area=``).
"""

from __future__ import annotations

import html
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache, partial
from typing import Any

import ipywidgets as widgets
import pandas as pd

from ctc_helpers.dashboard.server import (
    VIEWS,
    DashboardData,
    area_from_query,
    cached_png,
    download_links,
    guarded,
    log_error,
    notice_html,
    table_html,
)
from ctc_helpers.errors import CTCError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.views import tables as display
from ctc_helpers.views.tables import CITY, TOTAL, DisplayTable, Published

__all__ = [
    "PROFILE_KINDS",
    "profile_view",
    "prioritization_view",
    "gap_view",
    "followup_view",
    "build_page",
    "message_page",
    "open_link",
    "warm_cache",
    "find_widget",
    "clear_view_caches",
]

PROFILE_KINDS = ("risk", "protective", "behaviour")
FOLLOWUP_KINDS = ("behaviour", "risk", "protective")
LANGUAGE_NAMES = {"sv": "Svenska", "en": "English"}  # each language named in itself
# Glossary terms (data_schema/glossary.yaml ids) explained beside each chart; unknown ids skipped.
GLOSSARY_TERMS = {
    "risk": ("risk_factor", "cut_point", "confidence_interval", "clear_difference",
             "percentage_points", "suppression"),
    "protective": ("protective_factor", "cut_point", "confidence_interval", "clear_difference",
                   "percentage_points", "suppression"),
    "behaviour": ("problem_behaviour", "confidence_interval", "clear_difference", "suppression"),
    "priorities": ("prioritisation", "risk_factor", "protective_factor", "clear_difference",
                   "percentage_points", "suppression"),
    "gap": ("evidence_levels", "universal_prevention", "selective_prevention",
            "indicated_prevention", "metodguiden", "blueprints_model_plus"),
    "followup": ("goal_chain", "no_clear_change", "confidence_interval", "percentage_points",
                 "cut_point", "suppression"),
}  # fmt: skip
WARM_BUDGET = 60.0  # seconds a pre-heated kernel spends rendering ahead (cell limit: 120 s)
CHART_WIDTH = 6.2  # inches (labels outside the axes widen the saved PNG to about 700 px)
_CHART_LAYOUT = {"width": "44%", "min_width": "400px", "height": "auto", "flex": "0 1 auto"}
_GOAL_CHART_LAYOUT = {"max_width": "100%", "height": "auto", "align_self": "flex-start"}
INVENTORY_FILE = "programme_inventory.csv"
STYLE = """<style>
.ctc-page {max-width: 1600px}
.ctc-page h2 {margin: 0.2em 0} .ctc-page h3 {margin: 0.5em 0 0.2em}
.ctc-page .widget-html-content {white-space: normal}
.ctc-table-box, .ctc-wide-table-box, .ctc-goal-table {min-width: 0; max-width: 100%}
.ctc-table-box .widget-html-content, .ctc-wide-table-box .widget-html-content,
.ctc-goal-table .widget-html-content {display: block; min-width: 0; width: 100%; overflow: visible}
.ctc-table-scroll {overflow-x: auto; max-width: 100%}
.ctc-table {border-collapse: collapse; font-size: 12px; line-height: 1.3}
.ctc-table th, .ctc-table td {border-bottom: 1px solid #ddd; padding: 3px 6px; text-align: left;
  vertical-align: top}
.ctc-table th {background: #f2f2f2}
.ctc-table td:first-child {min-width: 10em}
.ctc-table td:last-child {min-width: 10em}
.ctc-wide-table-box .ctc-table td:last-child {min-width: 24em}
.ctc-note {margin: 0.2em 0; color: #444}
.ctc-notice {padding: 0.5em 1em; margin: 0.4em 0; border-left: 4px solid #0072B2;
  background: #EEF6FB}
.ctc-warning {border-left-color: #E69F00; background: #FFF7E6}
.ctc-error {border-left-color: #D55E00; background: #FDEEE6}
.ctc-nav a, .ctc-nav strong {margin-right: 1.4em; font-size: 15px}
.ctc-nav strong {border-bottom: 3px solid #0072B2}
.ctc-downloads {margin: 0.5em 0}
.ctc-about dt {font-weight: 600; margin-top: 0.4em} .ctc-about dd {margin-left: 1em}
</style>"""


# --------------------------------------------------------------------------------------------
# Small widget helpers


def find_widget(root: widgets.Widget, css_class: str) -> widgets.Widget | None:
    """The first widget under ``root`` (depth first, ``root`` included) with ``css_class``."""
    if css_class in getattr(root, "_dom_classes", ()):
        return root
    for child in getattr(root, "children", ()) or ():
        found = find_widget(child, css_class)
        if found is not None:
            return found
    return None


def _tagged(widget: widgets.Widget, css_class: str) -> widgets.Widget:
    widget.add_class(css_class)
    return widget


def _dropdown(options: list, value: Any, label: str, css_class: str) -> widgets.Dropdown:
    return _tagged(
        widgets.Dropdown(
            options=options, value=value, description=label,
            style={"description_width": "initial"}, layout=widgets.Layout(width="auto"),
        ),
        css_class,
    )  # fmt: skip


def _area_dropdown(data: DashboardData, area: str | None, lang: str) -> widgets.Dropdown:
    areas = data.areas
    options = [*zip(areas["name"], areas["area_id"], strict=True), (t("city", lang), CITY)]
    known = {value for _, value in options}
    start = area if area in known else str(areas["area_id"].iloc[0])
    return _dropdown(options, start, t("dash_area", lang), "ctc-area")


def _kind_buttons(kinds: Iterable[str], lang: str) -> widgets.ToggleButtons:
    return _tagged(
        widgets.ToggleButtons(
            options=[(t(f"dash_kind_{k}", lang), k) for k in kinds],
            style={"button_width": "auto"},
        ),
        "ctc-kind",
    )


def _group_options(labels: Mapping[str, str], present: Iterable[str]) -> list[tuple[str, str]]:
    codes = set(present)
    ordered = [TOTAL, *(c for c in labels if c != TOTAL)]
    return [(labels[c], c) for c in ordered if c in codes]


def _about(title: str, content: widgets.Widget) -> widgets.Accordion:
    about = widgets.Accordion(children=[content], selected_index=None)
    about.set_title(0, title)
    return _tagged(about, "ctc-about")


def _markdown_outputs(*texts: str) -> tuple[dict, ...]:
    return tuple(
        {
            "output_type": "display_data",
            "data": {"text/markdown": s, "text/plain": s},
            "metadata": {},
        }
        for s in texts
        if s
    )


def _heading(text: str, level: int = 3) -> str:
    return f"<h{level}>{html.escape(text)}</h{level}>"


def _tables_html(tables: Mapping[str, DisplayTable]) -> str:
    return "".join(_heading(name, 4) + table_html(table) for name, table in tables.items())


@dataclass(frozen=True)
class _Panel:
    """The output widgets of a view: heading, chart, the tables beside it and below it
    (``wide``), downloads, notes, messages."""

    heading: widgets.HTML
    chart: widgets.Image
    tables: widgets.HTML
    wide: widgets.HTML
    downloads: widgets.HTML
    notes: widgets.Output
    about: widgets.HTML
    error: widgets.HTML
    notice: widgets.HTML

    @classmethod
    def new(cls) -> _Panel:
        return cls(
            heading=_tagged(widgets.HTML(), "ctc-heading"),
            chart=_tagged(widgets.Image(format="png", layout=_CHART_LAYOUT), "ctc-chart"),
            tables=_tagged(widgets.HTML(), "ctc-table-box"),
            wide=_tagged(widgets.HTML(), "ctc-wide-table-box"),
            downloads=_tagged(widgets.HTML(), "ctc-download-box"),
            notes=_tagged(widgets.Output(), "ctc-notes"),
            about=widgets.HTML(),
            error=_tagged(widgets.HTML(), "ctc-error-box"),
            notice=_tagged(widgets.HTML(), "ctc-notice-box"),
        )

    def layout(
        self, controls: list[widgets.Widget], about_title: str, *, extra: tuple = ()
    ) -> widgets.VBox:
        side = widgets.VBox(
            [self.tables, self.downloads, self.notes],
            layout=widgets.Layout(flex="1 1 0", min_width="480px"),
        )
        body = widgets.Box(
            [self.chart, side],
            layout=widgets.Layout(
                display="flex", flex_flow="row wrap", align_items="flex-start", grid_gap="16px"
            ),
        )
        return widgets.VBox(
            [
                widgets.HBox(controls, layout=widgets.Layout(flex_flow="row wrap")),
                self.error,
                self.notice,
                self.heading,
                body,
                self.wide,
                *extra,
                _about(about_title, self.about),
            ]
        )


def _remember(cache_: dict, key: tuple, compute: Callable[[], Any], *, size: int = 200) -> Any:
    if key not in cache_:
        if len(cache_) >= size:
            cache_.pop(next(iter(cache_)))
        cache_[key] = compute()
    return cache_[key]


_TABLES: dict[tuple, Any] = {}
_FRAMES: dict[tuple, Any] = {}


def clear_view_caches() -> None:
    """Forget the tables and frames computed by the views in this kernel."""
    _TABLES.clear()
    _FRAMES.clear()


# --------------------------------------------------------------------------------------------
# Explanations a click away


@cache
def _glossary(lang: str) -> pd.DataFrame:
    from ctc_helpers.config.glossary import load_glossary

    return load_glossary(lang)


def _terms_html(topic: str, lang: str) -> str:
    terms = _glossary(lang).set_index("term_id")
    wanted = [i for i in GLOSSARY_TERMS.get(topic, ()) if i in terms.index]
    items = "".join(
        f"<dt>{html.escape(terms.loc[i, 'term'])}</dt><dd>{html.escape(terms.loc[i, 'definition'])}</dd>"
        for i in wanted
    )
    return f"<h4>{html.escape(t('dash_terms', lang))}</h4><dl>{items}</dl>" if items else ""


def _measures_html(measures: pd.DataFrame, kind: str, lang: str) -> str:
    own = measures["measure_kind"].eq(kind)
    if "group" in measures.columns:
        own |= measures["measure_kind"].eq("composite") & measures["group"].eq(kind)
    rows = measures.loc[own]
    text = f"description_{lang}" if f"description_{lang}" in measures.columns else f"label_{lang}"
    items = "".join(
        f"<dt>{html.escape(str(label))}</dt><dd>{html.escape(str(desc) if pd.notna(desc) else '')}</dd>"
        for label, desc in zip(rows[f"label_{lang}"], rows[text], strict=True)
    )
    return f"<dl>{items}</dl>"


def _about_html(intro: str, body: str, topic: str, lang: str) -> str:
    return (
        f'<div class="ctc-about"><p>{html.escape(intro)}</p>{body}{_terms_html(topic, lang)}</div>'
    )


# --------------------------------------------------------------------------------------------
# Områdesprofil


def _grouped(published: Published, *, grade: str, sex: str) -> Published:
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

    return _remember(
        _FRAMES, (str(published.path), published.min_cell, grade, sex), compute, size=40
    )


def _profile_rows(measures: pd.DataFrame, kind: str) -> int:
    own = measures.loc[measures["measure_kind"].eq(kind)]
    return len(own) + own["domain"].nunique() + (2 if kind != "behaviour" else 0)


def _profile_png(
    data: DashboardData, *, area: str, wave: int, grade: str, sex: str, kind: str, lang: str
) -> bytes:
    from ctc_helpers.plots import profile as plots

    source = data.for_wave(wave)
    group = _grouped(source, grade=grade, sex=sex)
    name = display.area_name(source, area, lang)
    draw = partial(
        plots.plot_profile, group.aggregates, kind=kind, area=area, wave=wave,
        measures=group.measures, area_label=name, lang=lang,
    )  # fmt: skip
    height = 1.4 + 0.24 * _profile_rows(source.measures, kind)
    key = ("profile", str(source.path), area, wave, grade, sex, kind, lang)
    return cached_png(key, lambda ax: draw(ax=ax), width=CHART_WIDTH, height=height)


def _profile_heading(
    source: Published, *, area: str, wave: int, grade: str, sex: str, kind: str, lang: str
) -> str:
    parts = [display.area_name(source, area, lang), t(f"dash_kind_{kind}", lang)]
    if grade != TOTAL:
        parts.append(display.grade_labels(lang).get(grade, grade))
    if sex != TOTAL:
        parts.append(display.sex_labels(lang).get(sex, sex))
    return _heading(" · ".join([*parts, str(wave)]))


def _profile_parts(
    data: DashboardData, *, area: str, lang: str, wave: int | None = None, grade: str = TOTAL,
    sex: str = TOTAL, kind: str = PROFILE_KINDS[0],
) -> dict[str, Any]:  # fmt: skip
    """What the profile panel shows for one selection (cached per selection)."""
    wave = data.wave if wave is None else wave
    source = data.for_wave(wave)
    selection = {"area": area, "wave": wave, "grade": grade, "sex": sex, "kind": kind}

    def compute() -> dict[str, Any]:
        group = _grouped(source, grade=grade, sex=sex)
        table = _without_domain(
            display.profile_table(group, kind=kind, area=area, wave=wave, lang=lang), lang
        )
        name = f"{VIEWS['profile']}_{area}_{wave}_{grade}_{sex}_{kind}"
        return {
            "chart": _profile_png(data, lang=lang, **selection),
            "tables": table_html(table),
            "downloads": download_links(
                {t(f"dash_kind_{kind}", lang): table}, basename=name, lang=lang
            ),
            "heading": _profile_heading(source, lang=lang, **selection),
            "about": _about_html(
                t(f"dash_read_profile_{kind}", lang), _measures_html(source.measures, kind, lang),
                kind, lang,
            ),
        }  # fmt: skip

    return _remember(_TABLES, ("profile", str(source.path), lang, *selection.values()), compute)


def _apply(panel: _Panel, parts: dict[str, Any]) -> None:
    """Set the panel's widgets from ``parts`` (field name -> value), the chart first."""
    for name in sorted(parts, key=lambda n: n != "chart"):
        if name == "goal_display":
            panel.goal_chart.layout.display = parts[name]
        elif name in ("notes", "goal_notes"):
            getattr(panel, name).outputs = parts[name]
        else:
            getattr(panel, name).value = parts[name]


def _without_domain(table: DisplayTable, lang: str) -> DisplayTable:
    """The table without its domain column: the chart groups the rows by domain already."""
    column = t("report_col_domain", lang)
    if column not in table.frame.columns:
        return table
    return DisplayTable(table.frame.drop(columns=[column]), table.footnotes)


def profile_view(data: DashboardData, *, area: str | None = None, lang: str | None = None):
    """Områdesprofil: the area's risk, protective or behaviour profile for a grade and sex.

    Parameters
    ----------
    data : DashboardData
        From :func:`ctc_helpers.dashboard.server.load_dashboard_data`.
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
        _area_dropdown(data, area, lang),
        _dropdown([(str(w), w) for w in data.waves], data.wave, t("dash_wave", lang), "ctc-wave"),
        _dropdown(_group_options(display.grade_labels(lang), aggregates["grade"].unique()), TOTAL,
                  t("dash_grade", lang), "ctc-grade"),
        _dropdown(_group_options(display.sex_labels(lang), aggregates["sex"].unique()), TOTAL,
                  t("dash_sex", lang), "ctc-sex"),
        _kind_buttons(PROFILE_KINDS, lang),
    ]  # fmt: skip
    panel = _Panel.new()

    def update(_change: Any = None) -> None:
        area_, wave, grade, sex, kind = (c.value for c in controls)
        _apply(
            panel,
            _profile_parts(data, area=area_, wave=wave, grade=grade, sex=sex, kind=kind, lang=lang),
        )

    return _wired(controls, panel, update, t("dash_about_measures", lang), lang)


def _wired(
    controls: list[widgets.Widget],
    panel: _Panel,
    update: Callable,
    about: str,
    lang: str,
    *,
    shown: list[widgets.Widget] | None = None,
    extra: tuple = (),
) -> widgets.VBox:
    """Observe ``controls`` with the guarded ``update``, lay the view out and draw it once."""
    handler = guarded(update, panel.error, lang)
    for control in controls:
        control.observe(handler, names="value")
    view = panel.layout(shown or controls, about, extra=extra)
    handler()
    return view


# --------------------------------------------------------------------------------------------
# Prioritering


def _ranked(data: DashboardData, area: str) -> pd.DataFrame:
    from ctc_helpers.phases.prioritization import rank_factors

    published = data.published
    previous = display.previous_wave_of(published.aggregates, data.wave)
    return _remember(
        _FRAMES,
        ("ranked", str(published.path), area, data.wave),
        lambda: rank_factors(
            published.aggregates, published.comparisons, area=area, wave=data.wave,
            previous_wave=previous,
        ),
    )  # fmt: skip


def _priorities_png(data: DashboardData, *, area: str, lang: str) -> bytes:
    from ctc_helpers.plots import profile as plots

    ranked = _ranked(data, area)
    height = 1.6 + 0.24 * (len(ranked) + 2)
    key = ("priorities", str(data.published.path), area, data.wave, lang)
    draw = partial(plots.plot_prioritization, ranked, measures=data.published.measures, lang=lang)
    return cached_png(key, lambda ax: draw(ax=ax), width=CHART_WIDTH, height=height)


def _team_choices(data: DashboardData, area: str, lang: str) -> tuple[Any, str]:
    """The team's recorded choice (or None) and a warning text when its file is not valid."""
    from ctc_helpers.phases.prioritization import load_team_choices

    try:
        choices = load_team_choices(
            data.data_dir / "priorities", area, factors=data.published.measures
        )
    except CTCError as exc:
        return None, t("dash_choice_invalid", lang, problem=str(exc))
    return choices, ""


def _priorities_parts(data: DashboardData, *, area: str, lang: str) -> dict[str, Any]:
    """What the prioritisation panel shows for an area (cached while the team file is
    unchanged)."""
    team_file = data.data_dir / "priorities" / f"{area}.yaml"
    stamp = team_file.stat().st_mtime_ns if team_file.is_file() else 0

    def compute() -> dict[str, Any]:
        published = data.published
        ranked = _ranked(data, area)
        choices, problem = _team_choices(data, area, lang)
        tables = {
            t("report_choice", lang): display.choice_table(ranked, choices, published.measures, lang=lang),
            t("report_ranking_risk", lang): display.priority_table(
                ranked, published.measures, kind="risk", lang=lang, min_cell=published.min_cell),
            t("report_ranking_protective", lang): display.priority_table(
                ranked, published.measures, kind="protective", lang=lang, min_cell=published.min_cell),
        }  # fmt: skip
        beside, *below = tables
        note = display.choice_note(
            choices, priorities_dir=data.data_dir / "priorities", area=area, wave=data.wave,
            lang=lang,
        )  # fmt: skip
        notes = [display.priority_note(ranked, lang), note]
        name = display.area_name(published, area, lang)
        worksheet = display.section("worksheet", lang, area=area, name=name).data
        return {
            "chart": _priorities_png(data, area=area, lang=lang),
            "tables": _tables_html({beside: tables[beside]}),
            "wide": _tables_html({k: tables[k] for k in below}),
            "downloads": download_links(
                tables, basename=f"{VIEWS['priorities']}_{area}_{data.wave}", lang=lang
            ),
            "notes": _markdown_outputs(*(n.data for n in notes if n is not None)),
            "notice": notice_html(problem, kind="warning"),
            "heading": _heading(f"{t('dash_title_priorities', lang)}: {name} {data.wave}"),
            "about": _about_html(worksheet, "", "priorities", lang),
        }

    key = ("priorities", str(data.published.path), str(team_file), stamp, area, lang)
    return _remember(_TABLES, key, compute)


def prioritization_view(data: DashboardData, *, area: str | None = None, lang: str | None = None):
    """Prioritering: the area's factors ranked by transparent criteria, the suggestion and the
    team's recorded choice (``<data dir>/priorities/<area>.yaml``).

    Returns
    -------
    ipywidgets.VBox
        The area selector, the chart (how much worse than the municipality, suggestions
        highlighted), the ranked risk and protective factors with every criterion, the
        suggestion next to the team's choice, downloads and the explanation of the criteria.
    """
    lang = check_language(lang)
    controls = [_area_dropdown(data, area, lang)]
    panel = _Panel.new()

    def update(_change: Any = None) -> None:
        _apply(panel, _priorities_parts(data, area=controls[0].value, lang=lang))

    return _wired(controls, panel, update, t("dash_about_priorities", lang), lang)


# --------------------------------------------------------------------------------------------
# Gap


@dataclass(frozen=True)
class _GapResult:
    """The gap analysis of one area, or the reason it is not available (``missing``)."""

    gaps: pd.DataFrame | None = None
    suggestions: pd.DataFrame | None = None
    matrix: pd.DataFrame | None = None
    priorities: pd.DataFrame | None = None
    bank: Any = None
    missing: str = ""


def _inventory(data: DashboardData, lang: str) -> tuple[Any, Any]:
    """(bank, inventory) from the teams' programme inventory; raises CTCError when unusable."""
    from ctc_helpers.phases.gaps import inputs as resources

    path = data.data_dir / INVENTORY_FILE
    if not path.is_file():
        raise FileNotFoundError(path)
    stamp = path.stat().st_mtime_ns

    def load() -> tuple[Any, Any]:
        bank = resources.load_programme_bank()
        with warnings.catch_warnings():  # flagged programmes are shown as gaps instead
            warnings.simplefilter("ignore", resources.FlaggedProgrammeWarning)
            inventory = resources.load_inventory(
                path, bank=bank, areas=data.areas, instrument=data.published.measures, lang=lang
            )
        return bank, inventory

    return _remember(_FRAMES, ("inventory", str(path), stamp, lang), load, size=40)


def _gap_analysis(data: DashboardData, area: str, lang: str) -> _GapResult:
    from ctc_helpers.phases.gaps import inputs as resources

    try:
        bank, inventory = _inventory(data, lang)
    except FileNotFoundError as exc:
        return _GapResult(missing=t("dash_gap_no_inventory", lang, path=exc.args[0]))
    except CTCError as exc:
        return _GapResult(missing=t("dash_gap_invalid", lang, problem=str(exc)))
    published = data.published
    enrolment = resources.load_enrolment("", participation=published.participation)
    programmes = resources.current_programmes(inventory, wave=data.wave, enrolment=enrolment)
    try:
        priorities = resources.prioritised_factors(
            published, area=area, wave=data.wave, priorities_dir=data.data_dir / "priorities"
        )
    except CTCError as exc:  # a team's priorities file that is not valid
        return _GapResult(missing=t("dash_gap_invalid", lang, problem=str(exc)))
    labels = display.measure_labels(published.measures, lang)
    gaps = resources.find_gaps(
        programmes, priorities, bank=bank, wave=data.wave, area=area, labels=labels, lang=lang
    )
    return _GapResult(
        gaps=gaps,
        suggestions=resources.suggest_for_gaps(gaps, bank=bank, programmes=programmes),
        matrix=resources.gap_matrix(
            programmes, priorities, area=area, instrument=published.measures
        ),
        priorities=priorities,
        bank=bank,
    )


def _cached_gaps(data: DashboardData, area: str, lang: str) -> _GapResult:
    path = data.data_dir / INVENTORY_FILE
    stamp = path.stat().st_mtime_ns if path.is_file() else 0
    key = ("gaps", str(data.published.path), str(path), stamp, area, lang)
    return _remember(_FRAMES, key, lambda: _gap_analysis(data, area, lang), size=60)


def _gap_png(data: DashboardData, result: _GapResult, *, area: str, lang: str) -> bytes:
    from ctc_helpers.phases.gaps import inputs as resources

    labels = display.measure_labels(data.published.measures, lang)
    rows = int(result.matrix["prioritised"].sum()) if result.matrix is not None else 1
    path = data.data_dir / INVENTORY_FILE
    key = ("gap", str(data.published.path), str(path), path.stat().st_mtime_ns, area, lang)
    draw = partial(resources.plot_reach, result.matrix, labels=labels, lang=lang)
    return cached_png(key, lambda ax: draw(ax=ax), width=CHART_WIDTH, height=1.6 + 0.3 * rows)


def _gap_parts(data: DashboardData, *, area: str, lang: str) -> dict[str, Any]:
    """What the gap panel shows for an area, or the reason it cannot (cached while the
    inventory is unchanged)."""
    path = data.data_dir / INVENTORY_FILE
    stamp = path.stat().st_mtime_ns if path.is_file() else 0
    key = ("gap", str(data.published.path), str(path), stamp, area, lang)
    return _remember(_TABLES, key, lambda: _compute_gap_parts(data, area=area, lang=lang))


def _compute_gap_parts(data: DashboardData, *, area: str, lang: str) -> dict[str, Any]:
    from ctc_helpers.phases.gaps import inputs as resources

    published = data.published
    name = display.area_name(published, area, lang)
    parts = {
        "heading": _heading(f"{t('dash_title_gap', lang)}: {name} {data.wave}"),
        "about": _about_html(t("dash_read_gap", lang), _gap_types_html(lang), "gap", lang),
    }
    result = _cached_gaps(data, area, lang)
    if result.missing:
        empty = {"chart": b"", "tables": "", "wide": "", "downloads": "", "notes": ()}
        return {**parts, **empty, "notice": notice_html(result.missing, kind="warning")}
    labels = display.measure_labels(published.measures, lang)
    names = dict(zip(data.areas["area_id"], data.areas["name"], strict=True))
    tables = {
        t("dash_gaps", lang): resources.gap_table(result.gaps, area_names=names, lang=lang),
        t("dash_candidates", lang): resources.suggestion_table(
            result.suggestions, bank=result.bank, labels=labels, area_names=names, lang=lang),
    }  # fmt: skip
    beside, below = tables
    note = resources.priorities_note(
        result.priorities, area=area, labels=labels, area_names=names, lang=lang
    )
    return {
        **parts,
        "notice": "",
        "chart": _gap_png(data, result, area=area, lang=lang),
        "tables": _tables_html({beside: tables[beside]}),
        "wide": _tables_html({below: tables[below]}),
        "downloads": download_links(
            tables, basename=f"{VIEWS['gap']}_{area}_{data.wave}", lang=lang
        ),
        "notes": _markdown_outputs(note.data),
    }


def _gap_types_html(lang: str) -> str:
    from ctc_helpers.phases.gaps.inputs import gap_types

    types = gap_types(lang)
    label, about = types.columns[1], types.columns[2]
    items = "".join(
        f"<dt>{html.escape(str(a))}</dt><dd>{html.escape(str(b))}</dd>"
        for a, b in zip(types[label], types[about], strict=True)
    )
    return f"<dl>{items}</dl>"


def gap_view(data: DashboardData, *, area: str | None = None, lang: str | None = None):
    """Gap: the area's gaps against its prioritised factors and candidate programmes.

    Reads the teams' programme inventory (``<data dir>/programme_inventory.csv``); when it is
    missing or not valid, the view says so (and what to do) instead of showing gaps.

    Returns
    -------
    ipywidgets.VBox
        The area selector, the reach of the programmes for the prioritised factors (chart), the
        gaps and the candidate programmes (tables), downloads and the explanation of each gap.
    """
    lang = check_language(lang)
    controls = [_area_dropdown(data, area, lang)]
    panel = _Panel.new()

    def update(_change: Any = None) -> None:
        _apply(panel, _gap_parts(data, area=controls[0].value, lang=lang))

    return _wired(controls, panel, update, t("dash_about_gap", lang), lang)


# --------------------------------------------------------------------------------------------
# Uppföljning


def _measure_options(measures: pd.DataFrame, kind: str, lang: str) -> list[tuple[str, str]]:
    rows = measures.loc[measures["measure_kind"].eq(kind)].sort_values("order", kind="stable")
    return list(zip(rows[f"label_{lang}"], rows["measure"], strict=True))


def _trend(data: DashboardData, *, area: str, measure: str) -> pd.DataFrame:
    from ctc_helpers.views.followup import trend_table

    published = data.published
    return _remember(
        _FRAMES,
        ("trend", str(published.path), area, measure),
        lambda: trend_table(
            published.aggregates, area=area, include=[measure], measures=published.measures,
            min_n=published.min_cell,
        ),
    )  # fmt: skip


def _trend_png(data: DashboardData, *, area: str, measure: str, lang: str) -> bytes:
    from ctc_helpers.views.followup import plot_trends

    published = data.published
    name = display.area_name(published, area, lang)
    places = [(area, name)] if area == CITY else [(area, name), (CITY, t("city", lang))]
    lines = pd.concat(
        [_trend(data, area=a, measure=measure).assign(measure=label) for a, label in places],
        ignore_index=True,
    )
    key = ("trend", str(published.path), area, measure, lang)
    draw = partial(plot_trends, lines, lang=lang)
    return cached_png(key, lambda ax: draw(ax=ax), width=CHART_WIDTH, height=3.6)


def _trend_table(data: DashboardData, *, area: str, measure: str, lang: str) -> DisplayTable:
    """Year, the area's share with its interval, the municipality's share and the change."""
    published = data.published
    own = _trend(data, area=area, measure=measure).set_index("wave")
    city = _trend(data, area=CITY, measure=measure).set_index("wave")
    marker = t("suppressed_marker", lang)

    def share(frame: pd.DataFrame, wave: int) -> str:
        if wave not in frame.index or bool(frame.loc[wave, "suppressed"]):
            return marker
        return display.format_pct(frame.loc[wave, "pct"], lang)

    columns = {
        t("dash_wave", lang): [str(w) for w in own.index],
        display.area_name(published, area, lang): [share(own, w) for w in own.index],
        t("report_col_interval", lang): [
            "" if bool(own.loc[w, "suppressed"]) else
            f"{display.format_pct(own.loc[w, 'ci_low'], lang).rstrip(' %')}–"
            f"{display.format_pct(own.loc[w, 'ci_high'], lang)}"
            for w in own.index
        ],
    }  # fmt: skip
    if area != CITY:
        columns[t("city", lang)] = [share(city, w) for w in own.index]
    columns[t("dash_change_previous", lang)] = [
        _change_words(own.loc[w, "change_previous"], own.loc[w, "assessment_previous"], lang)
        for w in own.index
    ]
    frame = pd.DataFrame(columns)
    return display.display_table(frame, lang=lang, min_cell=published.min_cell)


def _change_words(change: str, assessment: str, lang: str) -> str:
    if not change:
        return ""
    words = [t(f"change_{c}", lang) for c in (assessment, change) if _has_text(f"change_{c}")]
    unique = list(dict.fromkeys(words))
    return f"{unique[0]} ({unique[1]})" if len(unique) > 1 else (unique[0] if unique else change)


@cache
def _has_text(key: str) -> bool:
    try:
        t(key, "sv")
    except KeyError:
        return False
    return True


def _goal_chain(data: DashboardData, area: str, lang: str) -> tuple[Any, pd.DataFrame, str]:
    """(chain or None, evaluated goals, warning text) of the area."""
    from ctc_helpers.views import goal_chain as goalchain

    published = data.published
    folder = data.data_dir / "goal_chains"
    try:
        chain = goalchain.load_area_goal_chain(folder, area, instrument=published.measures)
    except CTCError as exc:
        return None, goalchain.evaluate_goals(None, published.aggregates, wave=data.wave), str(exc)
    inventory = _inventory_for_goals(data, chain, lang)
    evaluated = goalchain.evaluate_goals(
        chain, published.aggregates, wave=data.wave, inventory=inventory, min_n=published.min_cell
    )
    return chain, evaluated, ""


def _inventory_for_goals(data: DashboardData, chain: Any, lang: str) -> pd.DataFrame | None:
    needs = chain is not None and any(g.kind in ("reach", "fidelity") for g in chain.goals)
    if not needs:
        return None
    try:
        return _inventory(data, lang)[1].programmes
    except (FileNotFoundError, CTCError):
        return None  # the goals say "no inventory" themselves


def _goal_parts(data: DashboardData, *, area: str, lang: str) -> tuple[dict[str, Any], Any]:
    """The goal chain's widgets (chart hidden without goals) and its display table (or None)."""
    from ctc_helpers.views import goal_chain as goalchain

    published = data.published
    chain, evaluated, problem = _goal_chain(data, area, lang)
    notice = goalchain.goal_chain_notice(
        chain, area=area, goal_chain_dir=data.data_dir / "goal_chains", lang=lang
    ).data
    parts = {
        "goal_notes": _markdown_outputs(notice),
        "goal_notice": notice_html(problem, kind="warning"),
        "goal_display": "none" if evaluated.empty else None,
    }
    if evaluated.empty:
        return {**parts, "goal_chart": b"", "goal_table": ""}, None
    width, height = goalchain.chain_figsize(evaluated, width=9.0)
    png_key = ("goals", str(published.path), str(data.data_dir), area, data.wave, lang)
    draw = partial(goalchain.plot_goal_chain, evaluated, measures=published.measures, lang=lang)
    table = goalchain.goal_display(
        evaluated, measures=published.measures, lang=lang, min_cell=published.min_cell
    )
    chart = cached_png(png_key, lambda ax: draw(ax=ax), width=width, height=height)
    return {**parts, "goal_chart": chart, "goal_table": table_html(table)}, table


@dataclass(frozen=True)
class _GoalPanel(_Panel):
    """A panel with a second chart for the goal chain."""

    goal_chart: widgets.Image = None
    goal_notes: widgets.Output = None
    goal_notice: widgets.HTML = None
    goal_table: widgets.HTML = None

    @classmethod
    def new(cls) -> _GoalPanel:
        base = _Panel.new()
        return cls(
            **{f: getattr(base, f) for f in base.__dataclass_fields__},
            goal_chart=_tagged(
                widgets.Image(format="png", layout=_GOAL_CHART_LAYOUT), "ctc-goal-chart"
            ),
            goal_notes=widgets.Output(),
            goal_notice=widgets.HTML(),
            goal_table=_tagged(widgets.HTML(), "ctc-goal-table"),
        )


def _followup_parts(
    data: DashboardData, *, area: str, lang: str, measure: str | None = None
) -> dict[str, Any]:
    """What the follow-up panel shows for an area and measure (cached while the goal file is
    unchanged)."""
    published = data.published
    measure = measure or _measure_options(published.measures, FOLLOWUP_KINDS[0], lang)[0][1]
    goal_file = data.data_dir / "goal_chains" / f"{area}.yaml"
    stamp = goal_file.stat().st_mtime_ns if goal_file.is_file() else 0

    def compute() -> dict[str, Any]:
        name = display.area_name(published, area, lang)
        labels = display.measure_labels(published.measures, lang)
        trend = _trend_table(data, area=area, measure=measure, lang=lang)
        goal_parts, goals = _goal_parts(data, area=area, lang=lang)
        shown = {t("dash_trend", lang): trend}
        shown.update({t("dash_goals", lang): goals} if goals is not None else {})
        kind = _kind_of(published, measure)
        return {
            **goal_parts,
            "heading": _heading(f"{labels.get(measure, measure)}: {name}"),
            "chart": _trend_png(data, area=area, measure=measure, lang=lang),
            "tables": table_html(trend),
            "downloads": download_links(
                shown, basename=f"{VIEWS['followup']}_{area}_{measure}", lang=lang
            ),
            "about": _about_html(
                t("dash_read_followup", lang), _measures_html(published.measures, kind, lang),
                "followup", lang,
            ),
        }  # fmt: skip

    key = ("followup", str(published.path), str(goal_file), stamp, area, measure, lang)
    return _remember(_TABLES, key, compute)


def _kind_of(published: Published, measure: str) -> str:
    kinds = dict(
        zip(published.measures["measure"], published.measures["measure_kind"], strict=True)
    )
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
    kind = _kind_buttons(FOLLOWUP_KINDS, lang)
    measure = _dropdown(_measure_options(measures, kind.value, lang),
                        _measure_options(measures, kind.value, lang)[0][1],
                        t("report_col_measure", lang), "ctc-measure")  # fmt: skip
    controls = [_area_dropdown(data, area, lang), kind, measure]
    panel = _GoalPanel.new()

    def on_kind(change: Any) -> None:
        measure.options = _measure_options(measures, change["new"], lang)  # selects the first

    def update(_change: Any = None) -> None:
        _apply(
            panel, _followup_parts(data, area=controls[0].value, measure=measure.value, lang=lang)
        )

    kind.observe(guarded(on_kind, panel.error, lang), names="value")
    extra = (
        widgets.HTML(_heading(t("report_followup_goals", lang))),
        panel.goal_notice,
        panel.goal_notes,
        panel.goal_chart,
        panel.goal_table,
    )
    return _wired(
        [controls[0], measure], panel, update, t("dash_about_followup", lang), lang,
        shown=controls, extra=extra,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# The page around a view


VIEW_FUNCTIONS: dict[str, Callable[..., widgets.Widget]] = {
    "profile": profile_view,
    "priorities": prioritization_view,
    "gap": gap_view,
    "followup": followup_view,
}


def message_page(text: str) -> widgets.VBox:
    """A page that only says ``text`` (e.g. no published folder yet: run ``make run``)."""
    return _tagged(
        widgets.VBox([widgets.HTML(STYLE + notice_html(text, kind="error"))]), "ctc-page"
    )


def _nav_html(view: str, area: str, lang: str) -> str:
    from urllib.parse import quote

    links = [
        f'<a href="{name}.ipynb?area={quote(area)}">{html.escape(t(f"dash_title_{key}", lang))}</a>'
        if key != view
        else f"<strong>{html.escape(t(f'dash_title_{key}', lang))}</strong>"
        for key, name in VIEWS.items()
    ]
    return f'<div class="ctc-nav">{" ".join(links)}</div>'


def _refused_text(refused: str | None, data: DashboardData, area: str, lang: str) -> str:
    if refused is None:
        return ""
    return t(
        "dash_deep_link_refused",
        lang,
        value=refused,
        area=display.area_name(data.published, area, lang),
    )


def build_page(
    view: str,
    data: DashboardData,
    *,
    area: str | None = None,
    refused: str | None = None,
    lang: str | None = None,
) -> widgets.VBox:
    """A view under the page header: title, language switch, links to the other dashboards
    (with the chosen area) and a message line (e.g. a deep link that was refused)."""
    lang = check_language(lang)
    switch = _tagged(
        widgets.ToggleButtons(options=[(n, c) for c, n in LANGUAGE_NAMES.items()], value=lang,
                              style={"button_width": "auto"}),
        "ctc-language",
    )  # fmt: skip
    nav, banner = _tagged(widgets.HTML(), "ctc-nav-box"), widgets.HTML()
    message = _tagged(widgets.HTML(), "ctc-message")
    body = widgets.VBox([VIEW_FUNCTIONS[view](data, area=area, lang=lang)])

    def fill(language: str) -> None:
        banner.value = _synthetic(data, language)
        follow_area(language)

    def follow_area(language: str | None = None) -> None:
        dropdown = find_widget(body, "ctc-area")
        nav.value = STYLE + _nav_html(view, dropdown.value, language or switch.value)

    def switch_language(change: Any) -> None:
        dropdown = find_widget(body, "ctc-area")
        body.children = (VIEW_FUNCTIONS[view](data, area=dropdown.value, lang=change["new"]),)
        find_widget(body, "ctc-area").observe(lambda _c: follow_area(), names="value")
        message.value = ""
        fill(change["new"])

    switch.observe(guarded(switch_language, message, lang), names="value")
    find_widget(body, "ctc-area").observe(lambda _c: follow_area(), names="value")
    start = find_widget(body, "ctc-area").value
    message.value = notice_html(_refused_text(refused, data, start, lang), kind="warning")
    fill(lang)
    top = widgets.HBox(
        [nav, switch],
        layout=widgets.Layout(justify_content="space-between", align_items="center"),
    )
    return _tagged(widgets.VBox([top, banner, message, body]), "ctc-page")


def _synthetic(data: DashboardData, lang: str) -> str:
    banner = display.synthetic_banner(data.published.run_info, lang)
    return banner.data if banner is not None else ""


def open_link(page: widgets.VBox, data: DashboardData, query: str) -> None:
    """Apply a deep link's query string to a built page (pre-heated kernels): choose the area,
    or say that the link's area is not published."""
    area, refused = area_from_query(query, data.areas)
    dropdown = find_widget(page, "ctc-area")
    message = find_widget(page, "ctc-message")
    lang = find_widget(page, "ctc-language").value
    if area is not None:
        dropdown.value = area
    message.value = notice_html(_refused_text(refused, data, dropdown.value, lang), kind="warning")


def warm_cache(
    view: str, data: DashboardData, *, lang: str | None = None, budget: float = WARM_BUDGET
) -> int:
    """Compute what ``view`` first shows (chart, tables, downloads) for every area and the
    municipality, so that choosing another area is a look-up.

    Stops after ``budget`` seconds (the notebook's cell has a time limit; areas not done are
    computed when chosen). Returns the number of areas done; an area that fails is skipped (the
    view shows its message when it is asked for).
    """
    lang = check_language(lang)
    parts = _FIRST_PARTS[view]
    deadline = time.monotonic() + budget
    done = 0
    for area in [*data.areas["area_id"], CITY]:
        if time.monotonic() > deadline:
            break
        try:
            parts(data, area=str(area), lang=lang)
        except Exception:  # noqa: BLE001 - warming is an optimisation; the view reports errors
            log_error(f"warm {view} {area}")
            continue
        done += 1
    return done


_FIRST_PARTS: dict[str, Callable[..., dict[str, Any]]] = {
    "profile": _profile_parts,
    "priorities": _priorities_parts,
    "gap": _gap_parts,
    "followup": _followup_parts,
}
