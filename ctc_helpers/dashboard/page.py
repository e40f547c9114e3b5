"""The dashboard page: a view under a header with the language switch and the navigation.

Each dashboard notebook in ``notebooks/dashboards/`` is a title, an import and one call to
:func:`app`. The page carries the chosen area across dashboards (``?area=`` in the links),
switches between Swedish and English, and says in words when a deep link is refused.

Speed: the published folder is read once per kernel, charts are cached per selection, and a
pre-heated kernel renders what its view first shows for every area before its visitor arrives
(:func:`warm_cache`), so choosing another area is a cache look-up.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import ipywidgets as widgets

from ctc_helpers.dashboard.area_selection import area_selection_first_parts, area_selection_view
from ctc_helpers.dashboard.charts import clear_charts
from ctc_helpers.dashboard.data import DashboardData, clear_data_cache, load_dashboard_data
from ctc_helpers.dashboard.effects import effects_first_parts, effects_view
from ctc_helpers.dashboard.followup import followup_parts, followup_view
from ctc_helpers.dashboard.gap import gap_parts, gap_view
from ctc_helpers.dashboard.guard import guarded, log_error
from ctc_helpers.dashboard.links import (
    DeepLink,
    area_from_query,
    language_from_query,
    preheating,
)
from ctc_helpers.dashboard.markup import banner_html, nav_html, notice_html
from ctc_helpers.dashboard.priorities import priorities_parts, prioritization_view
from ctc_helpers.dashboard.process import process_parts, process_view
from ctc_helpers.dashboard.profile import profile_parts, profile_view
from ctc_helpers.dashboard.settings import ENV_LANG, VIEWS
from ctc_helpers.dashboard.widgets import (
    clear_view_caches,
    find_widget,
    restore_selection,
    selection_of,
    tagged,
)
from ctc_helpers.errors import CTCError
from ctc_helpers.i18n import check_language, default_language, t
from ctc_helpers.views.labels import area_name
from ctc_helpers.vocab import CITY

__all__ = [
    "VIEW_FUNCTIONS",
    "app",
    "build_page",
    "message_page",
    "open_link",
    "warm_cache",
    "machine_busy",
    "clear_caches",
    "warm_every_view",
]

LANGUAGE_NAMES = {"sv": "Svenska", "en": "English"}  # each language named in itself
WARM_BUDGET = 60.0  # seconds a pre-heated kernel spends rendering ahead (cell limit: 120 s)
STYLE = """<style>
.ctc-page {max-width: 1600px}
.ctc-page h2 {margin: 0.2em 0} .ctc-page h3 {margin: 0.5em 0 0.2em}
.ctc-page .widget-html-content {white-space: normal}
.ctc-table-box, .ctc-wide-table-box, .ctc-goal-table,
.ctc-behaviours {min-width: 0; max-width: 100%}
.ctc-table-box .widget-html-content, .ctc-wide-table-box .widget-html-content,
.ctc-goal-table .widget-html-content,
.ctc-behaviours .widget-html-content {display: block; min-width: 0; width: 100%; overflow: visible}
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
.ctc-markdown pre {white-space: pre-wrap}
.ctc-top {flex-wrap: wrap; row-gap: 0.3em}
.ctc-page img.ctc-chart, .ctc-page img.ctc-goal-chart {max-width: 100%; height: auto}
@media not all and (max-width: 600px) {
  /* each chart is drawn twice: the narrow one is for phones */
  .ctc-page img.ctc-chart-phone, .ctc-page img.ctc-goal-chart-phone {display: none !important}
}
@media (max-width: 600px) {
  /* a phone shows the chart drawn narrow (labels about 12 px high, not 5 px) */
  .ctc-page img.ctc-chart, .ctc-page img.ctc-goal-chart {display: none !important}
  .ctc-page img.ctc-chart-phone, .ctc-page img.ctc-goal-chart-phone {max-width: 100% !important;
    min-width: 0 !important; height: auto !important}
}
.ctc-note, .ctc-notes, .ctc-about dd {overflow-wrap: anywhere}
@media (max-width: 760px) {
  /* a phone: every part one above the other, charts scaled to the width, tables scroll in
     their own box, links and footnotes wrap */
  .ctc-page img.ctc-chart, .ctc-page img.ctc-goal-chart {width: 100% !important;
    min-width: 0 !important; flex: 1 1 100% !important}
  .ctc-page .ctc-side {min-width: 0 !important; flex: 1 1 100% !important; max-width: 100%}
  .ctc-page .widget-hbox, .ctc-page .widget-box {flex-wrap: wrap; max-width: 100%}
  .ctc-page .widget-dropdown, .ctc-page .widget-toggle-buttons {max-width: 100%}
  .ctc-page .widget-dropdown {flex-wrap: nowrap; height: auto}
  .ctc-page .widget-dropdown select {min-width: 6em; max-width: 100%; flex: 1 1 auto}
  .ctc-page .widget-toggle-buttons {height: auto; flex-wrap: wrap}
  .ctc-page .widget-toggle-buttons .widget-toggle-button {margin-bottom: 2px}
  .ctc-table td:first-child, .ctc-table td:last-child,
  .ctc-wide-table-box .ctc-table td:last-child {min-width: 7em}
  .ctc-nav a, .ctc-nav strong {display: inline-block; margin: 0 1em 0.3em 0; font-size: 16px}
  .ctc-page h2 {font-size: 20px} .ctc-page h3 {font-size: 17px}
}
</style>"""

VIEW_FUNCTIONS: dict[str, Callable[..., widgets.Widget]] = {
    "profile": profile_view,
    "priorities": prioritization_view,
    "gap": gap_view,
    "followup": followup_view,
    "effects": effects_view,
    "process": process_view,
    "area_selection": area_selection_view,
}
# what each view first shows for an area (the pre-heated kernel computes it ahead)
FIRST_PARTS: dict[str, Callable[..., dict[str, Any]]] = {
    "profile": profile_parts,
    "priorities": priorities_parts,
    "gap": gap_parts,
    "followup": followup_parts,
    "effects": effects_first_parts,
    "process": process_parts,
    "area_selection": area_selection_first_parts,
}


def app(
    view: str,
    *,
    reports_dir: str | Path | None = None,
    wave: int | None = None,
    lang: str | None = None,
    wait_for_link: Callable[[], str] | None = None,
):
    """Build the dashboard page of ``view`` (the last expression of a dashboard notebook).

    Parameters
    ----------
    view : {"profile", "priorities", "gap", "followup"}
    reports_dir : str or Path, optional
        Reports folder of a run (default ``CTC_REPORTS_DIR``, else ``reports/``).
    wave : int, optional
        Survey year (default the latest published one).
    lang : {"sv", "en"}, optional
        Starting language (default ``CTC_LANG``, else Swedish); the page has a switch.
    wait_for_link : callable, optional
        In a pre-heated kernel: blocks until the visitor comes and returns the query string
        (default: Voilà's request, :func:`ctc_helpers.dashboard.links.wait_for_query`).

    Returns
    -------
    ipywidgets.VBox
        The page: header with the language switch, links to the other dashboards, a message
        line (deep link refused, errors) and the view. Without a published folder, a message
        saying to run ``make run`` first.

    Raises
    ------
    ValueError
        If ``view`` is unknown (the message lists the views).
    """
    if view not in VIEWS:
        raise ValueError(f"Unknown dashboard view {view!r}; choose one of: {', '.join(VIEWS)}.")
    lang = check_language(lang)
    try:
        data = load_dashboard_data(reports_dir, wave=wave, lang=lang)
    except CTCError as exc:
        return message_page(str(exc))
    _forget_other_data(data)
    if preheating():
        link = DeepLink(wait_for_link)
        warm_cache(view, data, lang=lang)
        page = build_page(view, data, lang=lang)
        link.apply_with(functools.partial(open_link, page, data))
        return page
    query = os.environ.get("QUERY_STRING", "")
    area, refused = area_from_query(query, data.areas)
    lang = language_from_query(query) or lang
    return build_page(view, data, area=area, refused=refused, lang=lang)


_WARMED_FOR: list[DashboardData] = []  # the data the caches were filled from


def _forget_other_data(data: DashboardData) -> None:
    """Drop cached charts and tables computed from other data (a kernel forked from the fork
    server inherits its caches; after a new run they belong to the old folder)."""
    if _WARMED_FOR and _WARMED_FOR[0] is not data:
        clear_charts()
        clear_view_caches()
    _WARMED_FOR[:] = [data]


def warm_every_view(lang: str | None = None, *, budget: float = WARM_BUDGET) -> int:
    """Fill the caches of every dashboard for every area from the published folder of
    ``CTC_REPORTS_DIR`` (the fork server does this once for all its kernels). Returns the number
    of areas done over all views; 0 without a published folder."""
    lang = check_language(lang or os.environ.get(ENV_LANG))
    try:
        data = load_dashboard_data(lang=lang)
    except CTCError:
        return 0
    _forget_other_data(data)
    quiet = lambda: False  # noqa: E731 - nobody is waiting for a page yet
    return sum(warm_cache(view, data, lang=lang, budget=budget, busy=quiet) for view in VIEWS)


def message_page(text: str) -> widgets.VBox:
    """A page that only says ``text`` (e.g. no published folder yet: run ``make run``)."""
    return tagged(widgets.VBox([widgets.HTML(STYLE + notice_html(text, kind="error"))]), "ctc-page")


def _nav_html(view: str, area: str, lang: str) -> str:
    # the links keep the area, and the language when the reader switched from the default
    query = f"?area={quote(area, safe='')}" + (
        "" if lang == default_language() else f"&lang={lang}"
    )
    items = [
        (t(f"dash_title_{key}", lang), None if key == view else f"{name}.ipynb{query}")
        for key, name in VIEWS.items()
    ]  # fmt: skip
    return nav_html(items)


def _refused_text(refused: str | None, data: DashboardData, area: str, lang: str) -> str:
    if refused is None:
        return ""
    name = area_name(data.published, area, lang)
    return t("dash_deep_link_refused", lang, value=refused, area=name)


def _banner(data: DashboardData, lang: str) -> str:
    synthetic = bool(data.published.run_info.get("synthetic", False))
    return banner_html(t("synthetic_notice", lang)) if synthetic else ""


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
    switch = tagged(
        widgets.ToggleButtons(options=[(n, c) for c, n in LANGUAGE_NAMES.items()], value=lang,
                              style={"button_width": "auto"}),
        "ctc-language",
    )  # fmt: skip
    nav, banner = tagged(widgets.HTML(), "ctc-nav-box"), widgets.HTML()
    message = tagged(widgets.HTML(), "ctc-message")
    body = widgets.VBox([VIEW_FUNCTIONS[view](data, area=area, lang=lang)])

    def fill(language: str) -> None:
        banner.value = _banner(data, language)
        follow_area(language)

    def follow_area(language: str | None = None) -> None:
        dropdown = find_widget(body, "ctc-area")
        nav.value = STYLE + _nav_html(view, dropdown.value, language or switch.value)

    def switch_language(change: Any) -> None:
        chosen = selection_of(body)  # area, wave, grade, sex, kind ... survive the switch
        body.children = (
            VIEW_FUNCTIONS[view](data, area=chosen.get("ctc-area"), lang=change["new"]),
        )
        restore_selection(body, chosen)
        find_widget(body, "ctc-area").observe(lambda _c: follow_area(), names="value")
        message.value = ""
        fill(change["new"])

    switch.observe(guarded(switch_language, message, lang), names="value")
    find_widget(body, "ctc-area").observe(lambda _c: follow_area(), names="value")
    start = find_widget(body, "ctc-area").value
    message.value = notice_html(_refused_text(refused, data, start, lang), kind="warning")
    fill(lang)
    top = tagged(
        widgets.HBox(
            [nav, switch],
            layout=widgets.Layout(justify_content="space-between", align_items="center"),
        ),
        "ctc-top",
    )
    return tagged(widgets.VBox([top, banner, message, body]), "ctc-page")


def open_link(page: widgets.VBox, data: DashboardData, query: str) -> None:
    """Apply a deep link's query string to a built page (pre-heated kernels): choose the area
    and the language (``lang=en``), or say that the link's area is not published."""
    area, refused = area_from_query(query, data.areas)
    dropdown = find_widget(page, "ctc-area")
    message = find_widget(page, "ctc-message")
    switch = find_widget(page, "ctc-language")
    if area is not None:
        dropdown.value = area
    switch.value = language_from_query(query) or switch.value  # keeps the area just chosen
    dropdown, lang = find_widget(page, "ctc-area"), switch.value
    message.value = notice_html(_refused_text(refused, data, dropdown.value, lang), kind="warning")


def machine_busy() -> bool:
    """True while the machine has no spare processor (1-minute load at least the number of
    cores): then a pre-heated kernel does not render ahead, leaving the processors to the pages
    people are waiting for."""
    return os.getloadavg()[0] >= (os.cpu_count() or 1)


def warm_cache(
    view: str,
    data: DashboardData,
    *,
    lang: str | None = None,
    budget: float = WARM_BUDGET,
    busy: Callable[[], bool] | None = None,
) -> int:
    """Compute what ``view`` first shows (chart, tables, downloads) for every area and the
    municipality, so that choosing another area is a look-up.

    Stops after ``budget`` seconds (the notebook's cell has a time limit; areas not done are
    computed when chosen) and as soon as ``busy()`` (default :func:`machine_busy`) says the
    machine has no spare processor
    (under load, rendering ahead would slow down the pages people are opening). Returns the
    number of areas done; an area that fails is skipped (the view shows its message when it is
    asked for).
    """
    lang = check_language(lang)
    busy = busy or machine_busy
    parts = FIRST_PARTS[view]
    deadline = time.monotonic() + budget
    done = 0
    for area in [*data.areas["area_id"], CITY]:
        if time.monotonic() > deadline or busy():
            break
        try:
            parts(data, area=str(area), lang=lang)
        except Exception:  # noqa: BLE001 - warming is an optimisation; the view reports errors
            log_error(f"warm {view} {area}")
            continue
        done += 1
    return done


def clear_caches() -> None:
    """Forget the loaded folders, tables and charts of this kernel (e.g. after a new run)."""
    clear_data_cache()
    clear_charts()
    clear_view_caches()
    _WARMED_FOR.clear()
