"""Building blocks shared by the dashboard views: selectors, the panel of outputs, caches.

Every view is a row of selectors over a :class:`Panel` (heading, chart, tables beside and below
it, downloads, notes, an explanation a click away, a message line). A view computes its
``parts`` (panel field -> value) for a selection, caches them, and :func:`apply_parts` puts them
into the widgets. Widgets carry CSS classes (``ctc-area``, ``ctc-chart`` ...) by which tests and
the page find them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from weakref import WeakKeyDictionary

import ipywidgets as widgets
import pandas as pd

from ctc_helpers.config.glossary import load_glossary
from ctc_helpers.dashboard.data import DashboardData
from ctc_helpers.dashboard.guard import guarded
from ctc_helpers.dashboard.markup import about_html, definitions_html
from ctc_helpers.i18n import t
from ctc_helpers.vocab import CITY, TOTAL

__all__ = [
    "CHART_WIDTH",
    "PHONE_CHART_LAYOUT",
    "PARTS_CACHE",
    "FRAMES_CACHE",
    "find_widget",
    "tagged",
    "dropdown",
    "area_dropdown",
    "kind_buttons",
    "group_options",
    "Panel",
    "apply_parts",
    "wire_view",
    "selection_of",
    "restore_selection",
    "remember",
    "clear_view_caches",
    "explanation_html",
    "measures_html",
]

CHART_WIDTH = 6.2  # inches (labels outside the axes widen the saved PNG to about 700 px)
_CHART_LAYOUT = {"width": "44%", "min_width": "400px", "height": "auto", "flex": "0 1 auto"}
# the phone's chart (drawn narrow; the page's style shows it instead of the other below 600 px)
PHONE_CHART_LAYOUT = {"width": "auto", "max_width": "100%", "height": "auto", "flex": "0 1 auto"}
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

# a view's redraw and its switch that holds redrawing while several selectors are set at once
_REDRAW: WeakKeyDictionary = WeakKeyDictionary()
# selectors that are no choice of the reader's (the page's own language switch)
_NOT_A_SELECTION = frozenset({"ctc-language"})

# what the views computed in this kernel: parts of a panel per selection, and frames they share
PARTS_CACHE: dict[tuple, Any] = {}
FRAMES_CACHE: dict[tuple, Any] = {}


def find_widget(root: widgets.Widget, css_class: str) -> widgets.Widget | None:
    """The first widget under ``root`` (depth first, ``root`` included) with ``css_class``."""
    if css_class in getattr(root, "_dom_classes", ()):
        return root
    for child in getattr(root, "children", ()) or ():
        found = find_widget(child, css_class)
        if found is not None:
            return found
    return None


def tagged(widget: widgets.Widget, css_class: str) -> widgets.Widget:
    """``widget`` with the CSS class ``css_class`` added."""
    widget.add_class(css_class)
    return widget


def dropdown(options: list, value: Any, label: str, css_class: str) -> widgets.Dropdown:
    """A labelled dropdown (option labels are shown as text, never as markup)."""
    return tagged(
        widgets.Dropdown(
            options=options, value=value, description=label,
            style={"description_width": "initial"}, layout=widgets.Layout(width="auto"),
        ),
        css_class,
    )  # fmt: skip


def area_dropdown(data: DashboardData, area: str | None, lang: str) -> widgets.Dropdown:
    """The area selector (class ``ctc-area``): every published area and the municipality."""
    areas = data.areas
    options = [*zip(areas["name"].astype(str), areas["area_id"], strict=True),
               (t("city", lang), CITY)]  # fmt: skip
    known = {value for _, value in options}
    start = area if area in known else str(areas["area_id"].iloc[0])
    return dropdown(options, start, t("dash_area", lang), "ctc-area")


def kind_buttons(kinds: Iterable[str], lang: str) -> widgets.ToggleButtons:
    """Buttons choosing the kind of measure (class ``ctc-kind``)."""
    return tagged(
        widgets.ToggleButtons(
            options=[(t(f"dash_kind_{k}", lang), k) for k in kinds],
            style={"button_width": "auto"},
        ),
        "ctc-kind",
    )


def group_options(labels: Mapping[str, str], present: Iterable[str]) -> list[tuple[str, str]]:
    """``(label, code)`` options of the codes present, the total first."""
    codes = set(present)
    ordered = [TOTAL, *(c for c in labels if c != TOTAL)]
    return [(labels[c], c) for c in ordered if c in codes]


def _about(title: str, content: widgets.Widget) -> widgets.Accordion:
    about = widgets.Accordion(children=[content], selected_index=None)
    about.set_title(0, title)
    return tagged(about, "ctc-about")


@dataclass(frozen=True)
class Panel:
    """The output widgets of a view: heading, chart (and the phone's narrow chart), the tables
    beside it and below it (``wide``), downloads, notes, the explanation, messages."""

    heading: widgets.HTML
    chart: widgets.Image
    chart_phone: widgets.Image
    tables: widgets.HTML
    wide: widgets.HTML
    downloads: widgets.HTML
    notes: widgets.HTML
    about: widgets.HTML
    error: widgets.HTML
    notice: widgets.HTML

    @classmethod
    def new(cls) -> Panel:
        """Empty widgets, each with its CSS class."""
        return cls(
            heading=tagged(widgets.HTML(), "ctc-heading"),
            chart=tagged(widgets.Image(format="png", layout=_CHART_LAYOUT), "ctc-chart"),
            chart_phone=tagged(
                widgets.Image(format="png", layout=PHONE_CHART_LAYOUT), "ctc-chart-phone"
            ),
            tables=tagged(widgets.HTML(), "ctc-table-box"),
            wide=tagged(widgets.HTML(), "ctc-wide-table-box"),
            downloads=tagged(widgets.HTML(), "ctc-download-box"),
            notes=tagged(widgets.HTML(), "ctc-notes"),
            about=widgets.HTML(),
            error=tagged(widgets.HTML(), "ctc-error-box"),
            notice=tagged(widgets.HTML(), "ctc-notice-box"),
        )

    def layout(
        self, controls: list[widgets.Widget], about_title: str, *, extra: tuple = ()
    ) -> widgets.VBox:
        """Selectors, messages, heading, chart with the tables beside it, wide tables,
        ``extra`` widgets and the explanation."""
        side = tagged(
            widgets.VBox(
                [self.tables, self.downloads, self.notes],
                layout=widgets.Layout(flex="1 1 0", min_width="480px"),
            ),
            "ctc-side",
        )
        body = widgets.Box(
            [self.chart, self.chart_phone, side],
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


def apply_parts(panel: Panel, parts: Mapping[str, Any]) -> None:
    """Set the panel's widgets from ``parts`` (field name -> value), the charts first;
    ``goal_display`` sets the display of the goal charts (``"none"`` hides them). A chart
    without its phone's version (``chart_phone``, ``goal_chart_phone``) is shown on phones too."""
    for name in sorted(parts, key=lambda n: "chart" not in n):
        if name == "goal_display":
            panel.goal_chart.layout.display = parts[name]
            panel.goal_chart_phone.layout.display = parts[name]
        else:
            getattr(panel, name).value = parts[name]
    for name in ("chart", "goal_chart"):
        if name in parts and f"{name}_phone" not in parts:
            getattr(panel, f"{name}_phone").value = parts[name]


def wire_view(
    controls: list[widgets.Widget],
    panel: Panel,
    update: Callable,
    about: str,
    lang: str,
    *,
    shown: list[widgets.Widget] | None = None,
    extra: tuple = (),
) -> widgets.VBox:
    """Observe ``controls`` with the guarded ``update``, lay the view out and draw it once."""
    draw = guarded(update, panel.error, lang)
    held = [False]

    def handler(change: Any = None) -> None:
        if not held[0]:
            draw(change)

    for control in controls:
        control.observe(handler, names="value")
    view = panel.layout(shown or controls, about, extra=extra)
    _REDRAW[view] = (draw, held)
    handler()
    return view


def _selectors(root: widgets.Widget) -> Iterable[tuple[str, widgets.Widget]]:
    """``(css class, widget)`` of every selector under ``root`` with a ``ctc-`` class, in page
    order (a selector whose options follow another one comes after it)."""
    names = [c for c in getattr(root, "_dom_classes", ()) if c.startswith("ctc-")]
    if names and hasattr(root, "options") and names[0] not in _NOT_A_SELECTION:
        yield names[0], root
    for child in getattr(root, "children", ()) or ():
        yield from _selectors(child)


def selection_of(root: widgets.Widget) -> dict[str, Any]:
    """The reader's choices under ``root``: css class of each selector (``ctc-area``,
    ``ctc-wave``, ``ctc-grade``, ``ctc-sex``, ``ctc-kind``, ``ctc-measure`` ...) -> its value."""
    return {name: selector.value for name, selector in _selectors(root)}


def restore_selection(root: widgets.Widget, selection: Mapping[str, Any]) -> None:
    """Set the selectors under ``root`` to ``selection`` (from :func:`selection_of`), each
    only to a value it offers, and redraw each view once afterwards (not once per selector)."""
    views = [(draw, held) for view, (draw, held) in _REDRAW.items() if _contains(root, view)]
    for _, held in views:
        held[0] = True
    try:
        for name, selector in _selectors(root):
            offered = [value for _, value in _option_pairs(selector.options)]
            if name in selection and selection[name] in offered:
                selector.value = selection[name]
    finally:
        for _, held in views:
            held[0] = False
    for draw, _ in views:
        draw()


def _option_pairs(options: Iterable) -> list[tuple[Any, Any]]:
    return [o if isinstance(o, tuple) else (o, o) for o in options]


def _contains(root: widgets.Widget, target: widgets.Widget) -> bool:
    if root is target:
        return True
    return any(_contains(child, target) for child in getattr(root, "children", ()) or ())


def remember(cache_: dict, key: tuple, compute: Callable[[], Any], *, size: int = 200) -> Any:
    """``compute()`` once per ``key`` in ``cache_``; the oldest entry goes beyond ``size``."""
    if key not in cache_:
        if len(cache_) >= size:
            cache_.pop(next(iter(cache_)))
        cache_[key] = compute()
    return cache_[key]


def clear_view_caches() -> None:
    """Forget the parts and frames computed by the views in this kernel, and the glossary."""
    PARTS_CACHE.clear()
    FRAMES_CACHE.clear()
    _glossary.cache_clear()


@cache
def _glossary(lang: str) -> pd.DataFrame:
    return load_glossary(lang)


def measures_html(measures: pd.DataFrame, kind: str, lang: str) -> str:
    """Each measure of ``kind`` (and the composite of its group) with its description."""
    own = measures["measure_kind"].eq(kind)
    if "group" in measures.columns:
        own |= measures["measure_kind"].eq("composite") & measures["group"].eq(kind)
    rows = measures.loc[own]
    text = f"description_{lang}" if f"description_{lang}" in measures.columns else f"label_{lang}"
    return definitions_html(zip(rows[f"label_{lang}"], rows[text], strict=True))


def explanation_html(intro: str, topic: str, lang: str, *parts: str) -> str:
    """The explanation of a view: ``intro``, ``parts`` (markup from
    :mod:`ctc_helpers.dashboard.markup`) and the glossary terms of ``topic``."""
    terms = _glossary(lang).set_index("term_id")
    wanted = [i for i in GLOSSARY_TERMS.get(topic, ()) if i in terms.index]
    pairs = [(terms.loc[i, "term"], terms.loc[i, "definition"]) for i in wanted]
    return about_html(intro, *parts, definitions_html(pairs, title=t("dash_terms", lang)))
