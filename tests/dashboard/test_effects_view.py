"""The Effekter dashboard view on a prepared published folder of the demo city, sv and en.

The expected cells are computed here from the published effect table (effects.parquet) with
plain formatting, not taken from the view's own display code.
"""

from __future__ import annotations

import pandas as pd
import pytest

from ctc_helpers.dashboard import data as dashboard_data
from ctc_helpers.dashboard import page as dashboard_page
from ctc_helpers.dashboard.effects import effect_groups
from ctc_helpers.i18n import t
from tests.dashboard.test_views import png, row_for, rows_of, widget
from tests.fake_published import write_fake_published

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _fresh_caches():
    dashboard_page.clear_caches()
    yield
    dashboard_page.clear_caches()


@pytest.fixture
def data(demo_site):
    return dashboard_data.load_dashboard_data(demo_site["reports"], data_dir=demo_site["team"])


def _points(value: float, lang: str) -> str:
    """Percentage points with one decimal and a sign (none when it rounds to zero), computed
    independently."""
    if abs(value) < 0.0005:
        return "0,0" if lang == "sv" else "0.0"
    text = f"{100 * value:+.1f}"
    return text.replace("-", "\u2212").replace(".", ",") if lang == "sv" else text


def _label(data, measure: str, lang: str) -> str:
    measures = data.published.measures.set_index("measure")
    return str(measures.loc[measure, f"label_{lang}"])


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_view_shows_the_estimates_chart_and_honest_words(data, demo_site, lang):
    page = dashboard_page.build_page("effects", data, area="solvik", lang=lang)
    assert png(widget(page, "ctc-chart")).startswith(b"\x89PNG")
    assert widget(page, "ctc-error-box").value == ""
    heading = widget(page, "ctc-heading").value
    assert t("dash_effects_group_all", lang) in heading and "2025" in heading
    estimates = pd.read_parquet(demo_site["folder"] / "effects.parquet")
    rows = estimates.loc[
        estimates["group"].eq("all") & estimates["measure_kind"].eq("behaviour")
        & estimates["status"].eq("ok")
    ]  # fmt: skip
    assert len(rows) > 3
    table = widget(page, "ctc-table-box").value
    for row in rows.itertuples():
        shown = row_for(table, _label(data, row.measure, lang))
        assert shown[1] == _points(row.change_ctc, lang)
        assert shown[3].startswith(_points(row.estimate, lang))
    assert t("report_effects_power", lang) in table  # the minimum detectable effect
    notes = widget(page, "ctc-notes").value
    words = "kan inte skiljas från slumpen" if lang == "sv" else "cannot be told apart from chance"
    assert words in table + notes
    assert "Förtrender kan inte prövas" in notes if lang == "sv" else "Pre-trends" in notes
    wide = widget(page, "ctc-wide-table-box").value
    assert t("report_effects_risk", lang) in wide and t("report_effects_design", lang) in wide
    assert widget(page, "ctc-download-box").value.count('class="ctc-download"') >= 2
    # the area chosen elsewhere is kept for the links to the other dashboards
    assert widget(page, "ctc-area").value == "solvik"
    assert "area=solvik" in widget(page, "ctc-nav-box").value


def test_the_minimum_detectable_effect_is_the_published_one(data, demo_site):
    page = dashboard_page.build_page("effects", data, lang="en")
    estimates = pd.read_parquet(demo_site["folder"] / "effects.parquet").set_index(
        ["group", "measure"]
    )
    table = widget(page, "ctc-table-box").value
    power = [r for r in rows_of(table) if len(r) == 5 and r[0] != t("report_col_eff_measure", "en")]
    assert power
    labels = data.published.measures.set_index("label_en")["measure"]
    for row in power:
        mde = float(estimates.loc[("all", labels[row[0]]), "mde"])
        assert row[2] == f"{100 * mde:.1f}"


def test_a_comparison_group_can_be_chosen(data, demo_site):
    groups = effect_groups(data)
    assert groups[0] == "all" and len(groups) > 1
    page = dashboard_page.build_page("effects", data, lang="sv")
    widget(page, "ctc-group").value = groups[1]
    assert groups[1] in widget(page, "ctc-heading").value
    assert png(widget(page, "ctc-chart")).startswith(b"\x89PNG")
    assert widget(page, "ctc-error-box").value == ""
    estimates = pd.read_parquet(demo_site["folder"] / "effects.parquet")
    rows = estimates.loc[
        estimates["group"].eq(groups[1]) & estimates["measure_kind"].eq("behaviour")
        & estimates["status"].eq("ok")
    ]  # fmt: skip
    table = widget(page, "ctc-table-box").value
    for row in rows.itertuples():
        assert row_for(table, _label(data, row.measure, "sv"))[3].startswith(
            _points(row.estimate, "sv")
        )


def test_a_folder_without_effect_tables_says_so(tmp_path):
    write_fake_published(tmp_path / "reports" / "2025" / "data")
    data = dashboard_data.load_dashboard_data(tmp_path / "reports", data_dir=tmp_path)
    page = dashboard_page.build_page("effects", data, lang="en")
    assert "ctc-warning" in widget(page, "ctc-notice-box").value
    assert widget(page, "ctc-error-box").value == ""
