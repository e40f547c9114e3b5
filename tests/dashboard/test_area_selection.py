"""The Var börjar vi? / Where to start dashboard in plain pytest (no kernel, no browser).

The ranking must be the one report 01 shows for the city: the test runs report 01's own cell
(taken from ``notebooks/01_survey_analysis.ipynb``) on the same published folder and compares
the table cell by cell. The folder is the fake published folder written *leaky* (hidden cells
keep a sentinel 86.42 %), so a view that trusted the blanks would show "86 %".
"""

from __future__ import annotations

import html
import types

import nbformat
import pytest

from ctc_helpers.dashboard import data as dashboard_data
from ctc_helpers.dashboard import page as dashboard_page
from ctc_helpers.dashboard.area_selection import READINESS_FILE, area_selection_view
from ctc_helpers.dashboard.widgets import find_widget
from ctc_helpers.paths import NOTEBOOKS_DIR
from ctc_helpers.views import area_selection
from ctc_helpers.vocab import CITY
from tests.dashboard.test_views import rows_of
from tests.fake_published import write_fake_published

AREA = "norra-hamnen"


@pytest.fixture(autouse=True)
def _fresh_caches():
    dashboard_page.clear_caches()
    yield
    dashboard_page.clear_caches()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("area_selection")
    write_fake_published(root / "reports" / "2025" / "data", leaky=True)
    (root / "team").mkdir()
    return {"reports": root / "reports", "team": root / "team"}


def _data(site, team=None) -> dashboard_data.DashboardData:
    return dashboard_data.load_dashboard_data(site["reports"], data_dir=team or site["team"])


def _widget(root, css_class: str):
    found = find_widget(root, css_class)
    assert found is not None, css_class
    return found


def _report_01_city_table(
    pub, *, wave: int, lang: str, readiness_file: str = ""
) -> list[list[str]]:
    """The area-selection table report 01 shows for the city: its own cell, run as written."""
    notebook = nbformat.read(NOTEBOOKS_DIR / "01_survey_analysis.ipynb", as_version=4)
    cells = [c.source for c in notebook.cells if "area_selection_parts" in c.source]
    assert len(cells) == 1 and cells[0].startswith("report.show(")
    shown: list = []
    names = {"report": types.SimpleNamespace(show=lambda *parts: shown.extend(parts)),
             "area_selection": area_selection, "pub": pub, "area": CITY, "wave": wave,
             "lang": lang, "readiness_file": readiness_file}  # fmt: skip
    exec(cells[0], names)  # noqa: S102 - the report's own cell, from the repository
    tables = [part for part in shown if hasattr(part, "frame")]
    assert len(tables) == 1
    frame = tables[0].frame
    return [list(frame.columns), *frame.astype(str).to_numpy().tolist()]


def _as_shown(rows: list[list[str]]) -> list[list[str]]:
    """Cells as a reader sees them in the page (no word joiners, plain spaces, trimmed)."""
    return [[c.replace("\u2060", "").replace("\xa0", " ").strip() for c in row] for row in rows]


def _shown_rows(view) -> list[list[str]]:
    rows = rows_of(_widget(view, "ctc-table-box").value)
    return [[html.unescape(cell) for cell in row] for row in rows]


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_view_shows_report_01s_ranking_with_criteria_and_cautions(site, lang):
    data = _data(site)
    view = area_selection_view(data, area=AREA, lang=lang)
    assert _widget(view, "ctc-error-box").value == ""
    expected = _report_01_city_table(data.published, wave=2025, lang=lang)
    clean = _as_shown(expected)
    assert _shown_rows(view) == clean
    ranked = [row[1] for row in clean[1:] if row[0]]
    assert ranked == ["Norra Hamnen", "Söderdalen"]  # Lillby: every group hidden, not ranked
    notes = _widget(view, "ctc-notes").value
    caution = {"sv": "Undvik att peka ut ett område", "en": "Avoid labelling an area"}[lang]
    assert caution in notes
    missing = {"sv": "filen readiness.csv i datamappen saknas", "en": "readiness.csv"}[lang]
    assert missing in notes
    heading = _widget(view, "ctc-heading").value
    assert {"sv": "Var börjar vi?", "en": "Where to start?"}[lang] in heading and "2025" in heading
    assert "86 %" not in _widget(view, "ctc-table-box").value
    assert _widget(view, "ctc-chart").layout.display == "none"
    assert _widget(view, "ctc-area").layout.display == "none"  # carried for the links only


def test_choosing_a_year_ranks_that_year_as_report_01_would(site):
    data = _data(site)
    view = area_selection_view(data, area=AREA, lang="sv")
    year = _widget(view, "ctc-wave")
    assert [value for _, value in year.options] == [2025, 2023]
    year.value = 2023
    assert "2023" in _widget(view, "ctc-heading").value
    expected = _report_01_city_table(data.published, wave=2023, lang="sv")
    clean = _as_shown(expected)
    assert _shown_rows(view) == clean
    assert _widget(view, "ctc-error-box").value == ""


def test_the_steering_groups_readiness_file_counts(site, tmp_path):
    team = tmp_path / "team"
    team.mkdir()
    (team / READINESS_FILE).write_text(
        "area,readiness,note\nsoderdalen,5,Rektorerna med\nnorra-hamnen,2,\n", encoding="utf-8"
    )
    data = _data(site, team)
    view = area_selection_view(data, area=AREA, lang="sv")
    rows = {row[1]: row for row in _shown_rows(view)[1:]}
    header = _shown_rows(view)[0]
    ready, score = header.index("Beredskap (1–5)"), header.index("Poäng")
    assert rows["Söderdalen"][ready] == "5 (2)" and rows["Norra Hamnen"][ready] == "2 (0)"
    # Söderdalen's five criteria gave 1 point each without readiness (see the test above);
    # readiness 5 adds 2 points: 7, by hand
    assert rows["Söderdalen"][score] == "7"
    expected = area_selection.area_selection_table(
        area_selection.area_selection(
            data.published, wave=2025, readiness_file=team / READINESS_FILE, lang="sv"
        ),
        lang="sv",
    ).frame
    assert [r[1] for r in _shown_rows(view)[1:]] == expected.iloc[:, 1].tolist()
    report = _report_01_city_table(  # report 01 given the same file shows the same table
        data.published, wave=2025, lang="sv", readiness_file=str(team / READINESS_FILE)
    )
    assert _shown_rows(view) == _as_shown(report)
    assert (
        "Beredskapen är styrgruppens bedömning ur filen readiness.csv"
        in _widget(view, "ctc-notes").value
    )


def test_an_invalid_readiness_file_is_named_and_the_ranking_still_shown(site, tmp_path):
    team = tmp_path / "team"
    team.mkdir()
    (team / READINESS_FILE).write_text("area,readiness\nsoderdalen,9\n", encoding="utf-8")
    view = area_selection_view(_data(site, team), area=AREA, lang="en")
    notice = html.unescape(_widget(view, "ctc-notice-box").value)
    assert "readiness file could not be read" in notice
    assert "readiness.csv, row 2, column readiness: '9'" in notice
    assert _widget(view, "ctc-error-box").value == ""
    rows = _as_shown(_shown_rows(view))
    column = rows[0].index("Readiness (1–5)")
    assert [row[column] for row in rows[1:]] == ["not entered"] * 3  # left out, not half-read


def test_the_page_lists_the_view_and_carries_the_area(site):
    data = _data(site)
    page = dashboard_page.build_page("area_selection", data, area="soderdalen", lang="en")
    nav = _widget(page, "ctc-nav-box").value
    assert "<strong>Where to start</strong>" in nav  # this page, not a link
    assert 'href="prioritering.ipynb?area=soderdalen' in nav
    other = dashboard_page.build_page("profile", data, area=AREA, lang="sv")
    assert 'href="omradesval.ipynb?area=norra-hamnen' in _widget(other, "ctc-nav-box").value
    _widget(page, "ctc-language").value = "sv"
    assert "Var börjar vi?" in _widget(page, "ctc-heading").value
    assert _widget(page, "ctc-error-box").value == ""


def test_the_preheated_kernel_warms_the_city_ranking(site):
    data = _data(site)
    done = dashboard_page.warm_cache("area_selection", data, lang="sv", busy=lambda: False)
    assert done == len(data.areas) + 1
