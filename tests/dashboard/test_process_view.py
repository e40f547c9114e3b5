"""The Process dashboard view on a prepared published folder of the demo city, sv and en.

Expected cells are counted here from the team's checklist files with plain YAML and pandas."""

from __future__ import annotations

import pytest

from ctc_helpers.dashboard import data as dashboard_data
from ctc_helpers.dashboard import page as dashboard_page
from ctc_helpers.i18n import t
from tests.dashboard.test_views import png, rows_of, widget

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _fresh_caches():
    dashboard_page.clear_caches()
    yield
    dashboard_page.clear_caches()


@pytest.fixture
def data(demo_site):
    return dashboard_data.load_dashboard_data(demo_site["reports"], data_dir=demo_site["team"])


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_an_area_shows_its_checklists_year_by_year(data, demo_site, lang):
    page = dashboard_page.build_page("process", data, area="stenkulla", lang=lang)
    assert png(widget(page, "ctc-chart")).startswith(b"\x89PNG")
    assert widget(page, "ctc-error-box").value == ""
    assert "Stenkulla" in widget(page, "ctc-heading").value
    years = sorted(
        int(p.stem.split("_")[1])
        for p in (demo_site["team"] / "process" / "stenkulla").glob("checklist_*.yaml")
        if int(p.stem.split("_")[1]) <= 2025
    )
    rows = rows_of(widget(page, "ctc-table-box").value)
    assert [r[0] for r in rows[1:]] == [str(y) for y in years]
    assert rows[0][1] == t("proc_phase_short", lang, n=1)
    # Stenkulla's steering group never meets its criteria (the demo's planted case)
    unmet = t("proc_steering_unmet", lang)
    assert all(unmet in r[-1] for r in rows[1:])
    assert "Stenkulla" in widget(page, "ctc-notes").value
    assert widget(page, "ctc-download-box").value.count('class="ctc-download"') >= 2


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_municipality_shows_every_area_side_by_side(data, demo_site, lang):
    page = dashboard_page.build_page("process", data, area="norra-hamnen", lang=lang)
    widget(page, "ctc-area").value = "all"
    assert widget(page, "ctc-error-box").value == ""
    assert t("city", lang) in widget(page, "ctc-heading").value
    folders = {p.name for p in (demo_site["team"] / "process").iterdir() if p.is_dir()}
    names = dict(zip(data.areas["area_id"], data.areas["name"], strict=True))
    rows = rows_of(widget(page, "ctc-table-box").value)
    shown = [r[0] for r in rows[1:]]
    assert sorted(shown) == sorted(names[a] for a in folders if a in names)
    assert png(widget(page, "ctc-chart")).startswith(b"\x89PNG")


def test_an_area_without_checklists_gets_a_sentence(data, demo_site):
    folders = {p.name for p in (demo_site["team"] / "process").iterdir() if p.is_dir()}
    area = next(a for a in data.areas["area_id"] if a not in folders)
    page = dashboard_page.build_page("process", data, area=area, lang="en")
    assert widget(page, "ctc-error-box").value == ""
    name = data.areas.set_index("area_id").loc[area, "name"]
    assert name in widget(page, "ctc-notes").value
