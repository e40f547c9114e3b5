"""Hostile text in every file a team edits is shown as text in every dashboard view, never run.

A copy of the fake published folder gets script in the area names (``run_info.json``, written
from ``areas.csv`` by the batch) and in the instrument's labels and descriptions
(``measures.csv``); the team folder gets it in a priorities note, a goal chain's labels and notes
and the programme inventory's programme, provider and note; the glossary is replaced by a hostile
one. Every view is built in both languages for every area, and all the markup the page would put
into the browser is parsed: only plain formatting tags, no event handler, no script, no link
that runs code; and the hostile strings are there as text (escaped in the markup).
Downloads keep them as text too (no spreadsheet formula).
"""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

import ipywidgets
import openpyxl
import pandas as pd
import pytest

from ctc_helpers.dashboard import data as dashboard_data
from ctc_helpers.dashboard import page as dashboard_page
from ctc_helpers.dashboard import widgets as dashboard_widgets
from ctc_helpers.dashboard.settings import VIEWS
from tests.dashboard.hostile import (
    FORMULA,
    GOAL_LABEL,
    IMAGE,
    LABEL,
    NAMES,
    NOTE,
    PROGRAMME,
    SCRIPT,
    write_hostile_site,
)

ALLOWED_TAGS = {
    "style", "div", "p", "small", "strong", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "dl", "dt", "dd", "a", "blockquote", "pre",
    "code", "ul", "ol", "li", "br", "hr", "span",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"class", "href", "download", "style"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dashboard_data.DashboardData:
    reports, team = write_hostile_site(tmp_path_factory.mktemp("hostile"))
    dashboard_page.clear_caches()
    return dashboard_data.load_dashboard_data(reports, data_dir=team)


@pytest.fixture
def hostile_glossary(monkeypatch):
    real = dashboard_widgets.load_glossary

    def glossary(lang=None):
        frame = real(lang)
        return frame.assign(term=frame["term"] + f" {IMAGE}", definition=SCRIPT)

    monkeypatch.setattr(dashboard_widgets, "load_glossary", glossary)
    dashboard_widgets.clear_view_caches()
    yield
    dashboard_widgets.clear_view_caches()


class _Markup(HTMLParser):
    """Tags, attributes and text of a piece of markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend((name, value or "") for name, value in attrs)

    def handle_data(self, data):
        self.text.append(data)


def _markup_of(root) -> list[str]:
    """Every HTML value under ``root`` (what the browser would put in as markup)."""
    found = [root.value] if isinstance(root, ipywidgets.HTML) and root.value else []
    for child in getattr(root, "children", ()) or ():
        found.extend(_markup_of(child))
    return found


def _check(markups: list[str]) -> str:
    """Assert the markup holds only harmless tags and attributes; return its text."""
    parser = _Markup()
    for markup in markups:
        parser.feed(markup)
        parser.close()
    assert set(parser.tags) <= ALLOWED_TAGS, set(parser.tags) - ALLOWED_TAGS
    assert {name for name, _ in parser.attributes} <= ALLOWED_ATTRIBUTES
    hrefs = [value for name, value in parser.attributes if name == "href"]
    assert all(re.match(r"^(data:|[\w.-]+\.ipynb\?area=|#)", h) for h in hrefs), hrefs
    return "".join(parser.text)


def _all_areas(page) -> list[str]:
    dropdown = dashboard_widgets.find_widget(page, "ctc-area")
    texts = []
    for _, value in dropdown.options:
        dropdown.value = value
        texts.append(_check(_markup_of(page)))
    return texts


AREAS = [NAMES["norra-hamnen"], NAMES["soderdalen"]]  # in headings and tables
GLOSSARY = f" {IMAGE}{SCRIPT}"  # a glossary term and its definition, one after the other
SHOWN = {  # the hostile texts each view must show (as text)
    "profile": [*AREAS, GLOSSARY, LABEL, SCRIPT],  # the table's label, the measure's description
    "priorities": [*AREAS, GLOSSARY, LABEL, NOTE],  # the ranking, the team's note
    "gap": [*AREAS, GLOSSARY, PROGRAMME],  # the inventory's programme in the gaps
    "followup": [*AREAS, GLOSSARY, GOAL_LABEL],  # the goal's label in the goal table
}


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize("view", list(VIEWS))
def test_hostile_text_is_shown_as_text_in_every_view(hostile, hostile_glossary, view, lang):
    """Every view (also views added later) puts only harmless markup into the page; the views
    whose texts are known here show them literally."""
    page = dashboard_page.build_page(view, hostile, area="norra-hamnen", lang=lang)
    text = "\n".join(_all_areas(page))
    assert "Något gick fel" not in text and "Something went wrong" not in text
    for literal in SHOWN.get(view, ()):
        assert literal in text, literal
    labels = [label for label, _ in dashboard_widgets.find_widget(page, "ctc-area").options]
    assert NAMES["lillby"] in labels  # dropdown options are text, shown as given


def test_the_markup_itself_is_escaped(hostile):
    page = dashboard_page.build_page("profile", hostile, area="norra-hamnen", lang="sv")
    markup = "".join(_markup_of(page))
    assert SCRIPT not in markup and IMAGE not in markup
    assert "Norra &lt;script&gt;alert(1)&lt;/script&gt;" in markup


def _downloads(page) -> dict[str, bytes]:
    box = dashboard_widgets.find_widget(page, "ctc-download-box").value
    found = re.findall(
        r'download="([^"]+)" href="data:[^;]+(?:;charset=utf-8)?;base64,([^"]+)"', box
    )
    return {name: base64.b64decode(content) for name, content in found}


def test_downloads_keep_hostile_names_as_text(hostile):
    page = dashboard_page.build_page("profile", hostile, area="lillby", lang="sv")
    files = _downloads(page)
    csv = next(content for name, content in files.items() if name.endswith(".csv"))
    frame = pd.read_csv(io.BytesIO(csv), sep=";", encoding="utf-8-sig", dtype=str)
    assert f"'{FORMULA}" in frame.columns  # the area's column: a leading apostrophe, no formula
    assert LABEL in set(frame.iloc[:, 0])
    book = openpyxl.load_workbook(io.BytesIO(files[next(n for n in files if n.endswith(".xlsx"))]))
    header = next(book.active.iter_rows(max_row=1))
    cell = next(c for c in header if c.value == FORMULA)
    assert cell.data_type == "s"  # stored as text, exactly as named
