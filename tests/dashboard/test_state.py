"""The reader's choices survive the language switch and travel with the links.

Plain pytest on the fake published folder (``tests/fake_published.py``, hidden cells leaky so a
download that ignored the selection would show other numbers). The expected shares are computed
here from the fake's unsuppressed counts.
"""

from __future__ import annotations

import base64
import io
import queue
import re
import threading

import pandas as pd
import pytest

from ctc_helpers.dashboard import data as dashboard_data
from ctc_helpers.dashboard import page as dashboard_page
from ctc_helpers.dashboard import profile as profile_module
from ctc_helpers.dashboard import widgets
from tests.fake_published import write_fake_published

AREA, OTHER = "norra-hamnen", "soderdalen"


@pytest.fixture(autouse=True)
def _fresh_caches():
    dashboard_page.clear_caches()
    yield
    dashboard_page.clear_caches()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("dash_state")
    fake = write_fake_published(root / "reports" / "2025" / "data", leaky=True)
    (root / "team").mkdir()
    return {"reports": root / "reports", "team": root / "team", "fake": fake}


@pytest.fixture
def data(site) -> dashboard_data.DashboardData:
    return dashboard_data.load_dashboard_data(site["reports"], data_dir=site["team"])


def widget(root, css_class: str):
    found = widgets.find_widget(root, css_class)
    assert found is not None, css_class
    return found


def downloads(page) -> dict[str, bytes]:
    markup = widget(page, "ctc-download-box").value
    found = re.findall(r'download="([^"]+)" href="data:[^,]+;base64,([^"]+)"', markup)
    return {name: base64.b64decode(content) for name, content in found}


def share(site, *, area, measure, wave, grade, sex) -> float:
    """The group's share from the fake's counts (plain pandas, before any suppression)."""
    table = site["fake"].aggregates_unsuppressed
    row = table.loc[
        table["area"].eq(area) & table["measure"].eq(measure) & table["wave"].eq(wave)
        & table["grade"].eq(grade) & table["sex"].eq(sex)
    ]  # fmt: skip
    assert len(row) == 1
    return float(row["n_flagged"].iloc[0] / row["n"].iloc[0])


def choose(page, **values) -> None:
    for css_class, value in values.items():
        widget(page, f"ctc-{css_class}").value = value


def test_switching_language_keeps_area_wave_grade_sex_and_kind(site, data):
    page = dashboard_page.build_page("profile", data, area=AREA, lang="sv")
    choose(page, area=OTHER, wave=2023, grade="ak7", sex="M", kind="protective")
    chosen = {"area": OTHER, "wave": 2023, "grade": "ak7", "sex": "M", "kind": "protective"}
    widget(page, "ctc-language").value = "en"
    assert {name: widget(page, f"ctc-{name}").value for name in chosen} == chosen
    assert widget(page, "ctc-area").description == "Area"  # the page did turn English
    assert (
        "2023" in widget(page, "ctc-heading").value
        and "Söderdalen" in widget(page, "ctc-heading").value
    )
    # the next download is the filtered table, in English, with the group's numbers
    files = downloads(page)
    name = "omradesprofil_soderdalen_2023_ak7_M_protective.csv"  # the English page: commas
    assert name in files, sorted(files)
    frame = pd.read_csv(io.BytesIO(files[name]), sep=",", encoding="utf-8-sig")
    row = frame.loc[frame["Measure"].eq("Family attachment")].iloc[0]
    expected = share(site, area=OTHER, measure="family_attachment", wave=2023, grade="ak7", sex="M")
    assert row["Söderdalen (%)"] == int(100 * expected + 0.5)
    widget(page, "ctc-language").value = "sv"  # and back again
    assert {name: widget(page, f"ctc-{name}").value for name in chosen} == chosen
    assert "omradesprofil_soderdalen_2023_ak7_M_protective.csv" in downloads(page)


def test_the_view_is_drawn_once_after_a_switch_not_once_per_choice(data, monkeypatch):
    page = dashboard_page.build_page("profile", data, area=AREA, lang="sv")
    choose(page, area=OTHER, wave=2023, grade="ak9", sex="F", kind="behaviour")
    calls: list[dict] = []
    real = profile_module.profile_parts

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(profile_module, "profile_parts", counting)
    widget(page, "ctc-language").value = "en"
    # one draw when the English view is built, one with the restored choices
    assert len(calls) == 2
    assert calls[-1] == {"area": OTHER, "wave": 2023, "grade": "ak9", "sex": "F",
                         "kind": "behaviour", "lang": "en"}  # fmt: skip


def test_switching_language_keeps_the_followup_measure(data):
    page = dashboard_page.build_page("followup", data, area=AREA, lang="sv")
    choose(page, area=OTHER, kind="risk", measure="family_conflict")
    widget(page, "ctc-language").value = "en"
    assert widget(page, "ctc-area").value == OTHER
    assert widget(page, "ctc-kind").value == "risk"
    assert widget(page, "ctc-measure").value == "family_conflict"
    assert "Family conflict: Söderdalen" in widget(page, "ctc-heading").value


def test_a_choice_the_other_language_does_not_offer_falls_back(data):
    page = dashboard_page.build_page("profile", data, area=AREA, lang="sv")
    widgets.restore_selection(page, {"ctc-wave": 1999, "ctc-grade": "ak9"})
    assert widget(page, "ctc-wave").value == data.wave  # 1999 is not published: unchanged
    assert widget(page, "ctc-grade").value == "ak9"


def test_the_links_to_other_dashboards_keep_area_and_language(data):
    page = dashboard_page.build_page("profile", data, area=AREA, lang="sv")
    assert 'href="uppfoljning.ipynb?area=norra-hamnen"' in widget(page, "ctc-nav-box").value
    choose(page, area=OTHER)
    widget(page, "ctc-language").value = "en"
    assert (
        'href="uppfoljning.ipynb?area=soderdalen&amp;lang=en"' in widget(page, "ctc-nav-box").value
    )


def test_a_link_with_a_language_opens_the_page_in_it(site, monkeypatch):
    monkeypatch.setenv("CTC_DATA_DIR", str(site["team"]))
    monkeypatch.setenv("QUERY_STRING", "area=soderdalen&lang=en")
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    page = dashboard_page.app("profile", reports_dir=site["reports"])
    assert widget(page, "ctc-language").value == "en"
    assert (
        widget(page, "ctc-area").value == OTHER and widget(page, "ctc-area").description == "Area"
    )
    monkeypatch.setenv("QUERY_STRING", "area=soderdalen&lang=<b>")
    assert widget(dashboard_page.app("gap", reports_dir=site["reports"]), "ctc-language").value == (
        "sv"
    )  # an unknown language is ignored


def test_a_preheated_kernel_applies_the_links_language(site, monkeypatch):
    monkeypatch.setattr(dashboard_page, "machine_busy", lambda: True)  # no warming: quick
    monkeypatch.setenv("CTC_DATA_DIR", str(site["team"]))
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    visitors: queue.Queue[str] = queue.Queue()
    page = dashboard_page.app(
        "profile", reports_dir=site["reports"], wait_for_link=lambda: visitors.get(timeout=60)
    )
    assert widget(page, "ctc-language").value == "sv"
    visitors.put("area=soderdalen&lang=en")
    for thread in threading.enumerate():
        if thread.name == "ctc-deep-link":
            thread.join(timeout=60)
    assert widget(page, "ctc-language").value == "en"
    assert widget(page, "ctc-area").value == OTHER
    assert widget(page, "ctc-message").value == ""
