"""Widget wiring of the dashboards in plain pytest (no kernel, no browser).

Outside a kernel ipywidgets use a dummy connection: setting a selector's ``.value`` runs its
handlers, and the widgets' state (PNG bytes, table HTML, messages) can be asserted. The data are
the fake published folder of ``tests/fake_published.py`` written *leaky* (hidden cells keep a
sentinel 86.42 % instead of NaN), so any view that trusted the blanks would show "86 %".
Expected numbers are computed here with plain pandas from the fake's own tables.
"""

from __future__ import annotations

import base64
import io
import json
import os
import queue
import re
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from ctc_helpers.dashboard import charts, guard, links, settings, widgets
from ctc_helpers.dashboard import data as dashboard_data
from ctc_helpers.dashboard import page as dashboard_page
from ctc_helpers.dashboard.followup import followup_view
from ctc_helpers.dashboard.gap import gap_view
from ctc_helpers.dashboard.priorities import prioritization_view
from ctc_helpers.dashboard.profile import profile_view
from ctc_helpers.errors import InputFileError
from ctc_helpers.paths import REPO_ROOT
from tests.fake_published import AREAS, write_fake_published

AREA, OTHER = "norra-hamnen", "soderdalen"
INVENTORY_HEADER = (
    "area,programme,provider,bank_id,year,prevention_level,setting,target_grades,target_ages,"
    "targeted_factors,participants_reached,eligible_population,sessions_planned,"
    "sessions_delivered,fidelity_score,evidence_rating,evidence_source,funding_end,note"
)
GOAL_CHAIN = {
    "area": AREA,
    "baseline_wave": 2023,
    "cutpoint_version": "fake-cut-1",
    "goals": [
        {"id": "alcohol", "level": "long",
         "indicator": {"kind": "behaviour", "measure": "alcohol_30d"},
         "baseline": 0.10, "target": 0.08, "target_year": 2029},
        {"id": "friends", "level": "medium",
         "indicator": {"kind": "factor", "measure": "friends_drug_use"},
         "baseline": 0.15, "target": 0.12, "target_year": 2027, "contributes_to": ["alcohol"]},
    ],
}  # fmt: skip


# --------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture(autouse=True)
def _fresh_caches():
    dashboard_page.clear_caches()
    yield
    dashboard_page.clear_caches()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict:
    """A reports folder with one published wave and a team folder with the teams' files."""
    root = tmp_path_factory.mktemp("dash")
    fake = write_fake_published(root / "reports" / "2025" / "data", leaky=True)
    team = root / "team"
    (team / "priorities").mkdir(parents=True)
    (team / "goal_chains").mkdir()
    (team / "priorities" / f"{AREA}.yaml").write_text(
        "area: norra-hamnen\nwave: 2025\ndecided: 2025-11-18\n"
        "risk_factors: [family_conflict]\nprotective_factors: []\nnote: Testval\n",
        encoding="utf-8",
    )
    (team / "priorities" / f"{OTHER}.yaml").write_text(
        "area: soderdalen\nwave: 2025\ndecided: 2025-11-18\nrisk_factors: [no_such_factor]\n",
        encoding="utf-8",
    )
    (team / "goal_chains" / f"{AREA}.yaml").write_text(
        yaml.safe_dump(GOAL_CHAIN, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return {"reports": root / "reports", "team": team, "fake": fake, "root": root}


@pytest.fixture
def data(site) -> dashboard_data.DashboardData:
    return dashboard_data.load_dashboard_data(site["reports"], data_dir=site["team"])


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, text):
        if self._cell is not None:
            self._cell.append(text.replace("\u2060", "").replace("\xa0", " "))


def rows_of(markup: str) -> list[list[str]]:
    """Table rows (header included) of every table in ``markup``, cells as shown."""
    parser = _Cells()
    parser.feed(markup)
    return [row for row in parser.rows if row]


def row_for(markup: str, first_cell: str) -> list[str]:
    matches = [row for row in rows_of(markup) if row[0] == first_cell]
    assert matches, f"no row {first_cell!r} in {rows_of(markup)}"
    return matches[0]


def widget(root, css_class: str):
    found = widgets.find_widget(root, css_class)
    assert found is not None, css_class
    return found


def png(image) -> bytes:
    """The bytes of an Image widget (ipywidgets holds them as a memoryview)."""
    return bytes(image.value)


def pct(value: float) -> str:
    """Swedish display of a proportion, computed independently (half up, "37 %")."""
    return f"{int(100 * value + 0.5)} %"


def expected_pct(site, *, area: str, measure: str, wave: int = 2025, grade="all", sex="all"):
    table = site["fake"].aggregates_unsuppressed
    row = table.loc[
        table["area"].eq(area) & table["measure"].eq(measure) & table["wave"].eq(wave)
        & table["grade"].eq(grade) & table["sex"].eq(sex)
    ]  # fmt: skip
    assert len(row) == 1
    return float(row["n_flagged"].iloc[0] / row["n"].iloc[0])


# --------------------------------------------------------------------------------------------
# Loading the published folder


def test_published_folders_lists_only_complete_folders(tmp_path):
    write_fake_published(tmp_path / "2025" / "data")
    (tmp_path / "2023" / "data").mkdir(parents=True)  # no run_info.json: not complete
    (tmp_path / "notes" / "data").mkdir(parents=True)
    assert dashboard_data.published_folders(tmp_path) == {2025: tmp_path / "2025" / "data"}


def test_load_without_published_folder_says_run_make_run(tmp_path):
    with pytest.raises(InputFileError, match="make run"):
        dashboard_data.load_dashboard_data(tmp_path, lang="sv")
    with pytest.raises(InputFileError, match="Run make run"):
        dashboard_data.load_dashboard_data(tmp_path, lang="en")


def test_load_unknown_wave_names_the_published_years(site):
    with pytest.raises(ValueError, match=r"2019.*published years: 2025"):
        dashboard_data.load_dashboard_data(site["reports"], wave=2019)


def test_data_is_loaded_once_per_folder(site):
    first = dashboard_data.load_dashboard_data(site["reports"], data_dir=site["team"])
    again = dashboard_data.load_dashboard_data(site["reports"], data_dir=site["team"])
    assert again is first
    assert first.wave == 2025 and first.waves == (2025, 2023)
    assert list(first.areas["area_id"]) == list(AREAS)


def test_reports_and_team_folders_come_from_the_environment(site, monkeypatch):
    monkeypatch.setenv("CTC_REPORTS_DIR", str(site["reports"]))
    monkeypatch.setenv("CTC_DATA_DIR", str(site["team"]))
    data = dashboard_data.load_dashboard_data()
    assert data.published.path == (site["reports"] / "2025" / "data").resolve()
    assert data.data_dir == site["team"].resolve()


# --------------------------------------------------------------------------------------------
# Deep links


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("area=norra-hamnen", ("norra-hamnen", None)),
        ("area=Norra%20Hamnen", ("norra-hamnen", None)),
        ("area=NORRA-HAMNEN&token=abc", ("norra-hamnen", None)),
        ("area=S%C3%B6derdalen", ("soderdalen", None)),
        ("area=%20lillby%20", ("lillby", None)),
        ("token=abc", (None, None)),
        ("", (None, None)),
        (None, (None, None)),
        ("area=all", (None, "all")),  # only the published area list is accepted
        ("area=..%2F..%2Fetc%2Fpasswd", (None, "../../etc/passwd")),
        ("area=%3Cscript%3Ealert(1)%3C%2Fscript%3E", (None, "<script>alert(1)</script>")),
        ("area=" + "x" * 200, (None, "x" * 60)),
    ],
)
def test_area_from_query_accepts_only_published_areas(data, query, expected):
    assert links.area_from_query(query, data.areas) == expected


def test_app_opens_the_area_of_the_query_string(site, monkeypatch):
    monkeypatch.setenv("CTC_DATA_DIR", str(site["team"]))
    monkeypatch.setenv("QUERY_STRING", "area=S%C3%B6derdalen")
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    page = dashboard_page.app("profile", reports_dir=site["reports"])
    assert widget(page, "ctc-area").value == OTHER
    assert widget(page, "ctc-message").value == ""
    assert "Söderdalen" in widget(page, "ctc-heading").value


def test_app_refuses_an_unknown_area_and_escapes_it(site, monkeypatch):
    monkeypatch.setenv("CTC_DATA_DIR", str(site["team"]))
    monkeypatch.setenv("QUERY_STRING", "area=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    page = dashboard_page.app("profile", reports_dir=site["reports"])
    assert widget(page, "ctc-area").value == AREA  # the first area of the list
    message = widget(page, "ctc-message").value
    assert "finns inte bland de publicerade områdena" in message and "Norra Hamnen" in message
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message and "<script>" not in message


def test_a_preheated_kernel_applies_the_link_when_its_visitor_arrives(site, monkeypatch):
    monkeypatch.setattr(dashboard_page, "machine_busy", lambda: False)  # a quiet machine
    monkeypatch.setenv("CTC_DATA_DIR", str(site["team"]))
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    monkeypatch.delenv("QUERY_STRING", raising=False)
    visitors: queue.Queue[str] = queue.Queue()
    wait = lambda: visitors.get(timeout=60)  # noqa: E731 - the visitor arrives when put
    page = dashboard_page.app("profile", reports_dir=site["reports"], wait_for_link=wait)
    assert widget(page, "ctc-area").value == AREA  # built before anyone asked for it
    # the charts of every area and the city were rendered before the visitor came
    warmed = {key[2] for key in charts.cached_keys() if key[0] == "profile"}
    assert warmed == {*AREAS, "all"}
    chart = png(widget(page, "ctc-chart"))
    visitors.put("area=soderdalen&token=abc")
    _join_deep_link_threads()
    assert widget(page, "ctc-area").value == OTHER
    assert png(widget(page, "ctc-chart")) != chart
    assert widget(page, "ctc-message").value == ""


def test_warming_covers_every_area_within_its_time_budget(data):
    quiet = lambda: False  # noqa: E731 - a machine with spare processors
    assert dashboard_page.warm_cache("gap", data, lang="sv", budget=-1, busy=quiet) == 0  # spent
    done = dashboard_page.warm_cache("followup", data, lang="en", busy=quiet)
    assert done == len(AREAS) + 1  # and the city
    assert {key[4] for key in widgets.PARTS_CACHE if key[0] == "followup"} == {*AREAS, "all"}


def test_a_busy_machine_is_left_to_the_pages_people_wait_for(data, monkeypatch):
    assert dashboard_page.warm_cache("profile", data, lang="sv", busy=lambda: True) == 0
    assert not widgets.PARTS_CACHE
    cores = os.cpu_count() or 1
    monkeypatch.setattr(os, "getloadavg", lambda: (cores + 0.5, 0.0, 0.0))
    assert dashboard_page.machine_busy()
    monkeypatch.setattr(os, "getloadavg", lambda: (cores - 0.5, 0.0, 0.0))
    assert not dashboard_page.machine_busy()


def test_a_preheated_kernel_refuses_an_unknown_link(site, monkeypatch):
    monkeypatch.setenv("CTC_DATA_DIR", str(site["team"]))
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    page = dashboard_page.app(
        "priorities", reports_dir=site["reports"], wait_for_link=lambda: "area=nowhere"
    )
    _join_deep_link_threads()
    assert widget(page, "ctc-area").value == AREA
    assert "”nowhere”" in widget(page, "ctc-message").value


def test_a_link_is_applied_on_the_kernels_thread_not_beside_the_visitors_choices(monkeypatch):
    """Applied from the waiting thread, a slow update of the link's area could finish after the
    visitor's own next choice (handled on the kernel's thread) and show the wrong area."""
    from ipykernel.kernelbase import Kernel

    handed: queue.Queue = queue.Queue()
    kernel = type("FakeKernel", (), {"io_loop": type("Loop", (), {"add_callback": handed.put})})
    monkeypatch.setattr(Kernel, "initialized", classmethod(lambda cls: True))
    monkeypatch.setattr(Kernel, "instance", classmethod(lambda cls, *a, **k: kernel))
    applied: list[tuple[str, str]] = []
    link = links.DeepLink(lambda: "area=soderdalen")
    link.apply_with(lambda query: applied.append((query, threading.current_thread().name)))
    _join_deep_link_threads()
    assert applied == []  # handed to the kernel's loop, not run in the waiting thread
    handed.get(timeout=5)()  # the loop runs it between messages
    assert applied == [("area=soderdalen", threading.main_thread().name)]


def test_a_link_that_fails_is_logged_and_the_kernel_goes_on(monkeypatch):
    logged: list[str] = []
    monkeypatch.setattr(links, "log_error", logged.append)
    links.on_kernel_thread(lambda: 1 / 0)  # outside a kernel: now, in this thread
    assert logged == ["deep link"]


def _join_deep_link_threads() -> None:
    for thread in threading.enumerate():
        if thread.name == "ctc-deep-link":
            thread.join(timeout=60)
            assert not thread.is_alive()


def test_app_without_published_folder_shows_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    page = dashboard_page.app("gap", reports_dir=tmp_path)
    text = page.children[0].value
    assert "make run" in text and "ctc-error" in text


def test_app_refuses_an_unknown_view(site):
    with pytest.raises(ValueError, match="profile, priorities, gap, followup"):
        dashboard_page.app("overview", reports_dir=site["reports"])


# --------------------------------------------------------------------------------------------
# Områdesprofil


def test_choosing_another_area_changes_chart_and_table(site, data):
    view = profile_view(data, area=AREA, lang="sv")
    chart, table = widget(view, "ctc-chart"), widget(view, "ctc-table-box")
    before_png, before_html = png(chart), table.value
    assert before_png.startswith(b"\x89PNG")
    share = expected_pct(site, area=AREA, measure="family_conflict")
    assert row_for(before_html, "Konflikter i familjen")[1] == pct(share)  # 45 % planted
    widget(view, "ctc-area").value = OTHER
    assert png(chart) != before_png and png(chart).startswith(b"\x89PNG")
    other = expected_pct(site, area=OTHER, measure="family_conflict")
    assert row_for(table.value, "Konflikter i familjen")[1] == pct(other)
    assert rows_of(table.value)[0][1] == "Söderdalen"


def test_grade_and_sex_select_a_group_and_hide_small_cells(site, data):
    view = profile_view(data, area=OTHER, lang="sv")
    widget(view, "ctc-grade").value = "ak7"
    row = row_for(widget(view, "ctc-table-box").value, "Konflikter i familjen")
    assert row[1] == pct(expected_pct(site, area=OTHER, measure="family_conflict", grade="ak7"))
    assert "åk 7" in widget(view, "ctc-heading").value
    widget(view, "ctc-sex").value = "F"
    widget(view, "ctc-grade").value = "ak9"  # 6 girls: hidden
    markup = widget(view, "ctc-table-box").value
    assert row_for(markup, "Konflikter i familjen")[1] == "–"
    assert (
        "– färre än 10 svar eller för få med svaret, eller dolt så att en liten grupp inte kan räknas fram"
        in markup
    )
    assert "86 %" not in markup  # the leaky sentinel never shows
    assert widget(view, "ctc-error-box").value == ""


def test_kind_and_wave_selectors_change_the_profile(site, data):
    view = profile_view(data, area=AREA, lang="sv")
    chart = widget(view, "ctc-chart")
    risk_png = png(chart)
    widget(view, "ctc-kind").value = "behaviour"
    assert png(chart) != risk_png
    markup = widget(view, "ctc-table-box").value
    assert row_for(markup, "Skolkat")[1] == pct(expected_pct(site, area=AREA, measure="truancy"))
    widget(view, "ctc-wave").value = 2023
    assert "2023" in widget(view, "ctc-heading").value
    share = expected_pct(site, area=AREA, measure="truancy", wave=2023)
    assert row_for(widget(view, "ctc-table-box").value, "Skolkat")[1] == pct(share)


def test_the_explanation_is_a_click_away(data):
    view = profile_view(data, area=AREA, lang="sv")
    about = widget(view, "ctc-about")
    assert about.selected_index is None  # closed until clicked
    assert about.get_title(0) == "Vad betyder måtten?"
    text = about.children[0].value
    assert "Konflikter i familjen" in text and "Hög risk" in text
    assert "Begrepp" in text and "Konfidensintervall" in text


def test_the_page_switches_language(data):
    page = dashboard_page.build_page("profile", data, area=OTHER, lang="sv")
    assert widget(page, "ctc-area").description == "Område"
    widget(page, "ctc-language").value = "en"
    assert widget(page, "ctc-area").description == "Area"
    assert widget(page, "ctc-area").value == OTHER  # the area is kept
    assert [label for label, _ in widget(page, "ctc-kind").options][0] == "Risk factors"
    assert rows_of(widget(page, "ctc-table-box").value)[0][0] == "Measure"
    assert "Follow-up" in widget(page, "ctc-nav-box").value
    widget(page, "ctc-language").value = "sv"
    assert rows_of(widget(page, "ctc-table-box").value)[0][0] == "Mått"


def test_navigation_links_carry_the_chosen_area(data):
    page = dashboard_page.build_page("profile", data, area=AREA, lang="sv")
    assert 'href="prioritering.ipynb?area=norra-hamnen"' in widget(page, "ctc-nav-box").value
    widget(page, "ctc-area").value = OTHER
    assert 'href="uppfoljning.ipynb?area=soderdalen"' in widget(page, "ctc-nav-box").value


def test_a_failing_update_shows_a_friendly_message(data, monkeypatch, tmp_path):
    from ctc_helpers.dashboard import profile as profile_module

    monkeypatch.setattr(settings, "LOG_FILE", tmp_path / "dashboard.log")
    view = profile_view(data, area=AREA, lang="sv")

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(profile_module, "plot_profile", broken)
    widget(view, "ctc-area").value = OTHER
    message = widget(view, "ctc-error-box").value
    assert "Något gick fel" in message
    assert "Traceback" not in message and "secret internals" not in message
    assert "secret internals" in (tmp_path / "dashboard.log").read_text(encoding="utf-8")
    monkeypatch.undo()
    widget(view, "ctc-area").value = "lillby"
    assert widget(view, "ctc-error-box").value == ""


def test_guarded_returns_the_result_and_clears_the_message():
    message = type("Message", (), {"value": "old"})()
    assert guard.guarded(lambda x: x + 1, message, "en")(1) == 2
    assert message.value == ""


# --------------------------------------------------------------------------------------------
# Downloads


def _links(markup: str) -> dict[str, bytes]:
    found = re.findall(
        r'download="([^"]+)" href="data:[^;]+(?:;charset=utf-8)?;base64,([^"]+)"', markup
    )
    return {name: base64.b64decode(content) for name, content in found}


def test_the_shown_table_downloads_as_csv_and_excel(site, data):
    import openpyxl

    view = profile_view(data, area=OTHER, lang="sv")
    widget(view, "ctc-grade").value = "ak9"
    widget(view, "ctc-sex").value = "F"
    files = _links(widget(view, "ctc-download-box").value)
    csv_name = "omradesprofil_soderdalen_2025_ak9_F_risk.csv"
    international = csv_name.replace(".csv", "_international.csv")
    assert set(files) == {csv_name, international, csv_name.replace(".csv", ".xlsx")}
    frame = pd.read_csv(io.BytesIO(files[csv_name]), sep=";", encoding="utf-8-sig", dtype=str)
    shown = rows_of(widget(view, "ctc-table-box").value)
    assert frame.columns[0] == shown[0][0] and "Antal svar" in frame.columns
    conflict = frame.loc[frame["Mått"].eq("Konflikter i familjen")].iloc[0]
    assert pd.isna(conflict["Söderdalen"])  # the girls of ak9 in Söderdalen are hidden: empty
    assert (
        "– färre än 10 svar eller för få med svaret, eller dolt så att en liten grupp inte kan räknas fram"
        in set(frame["Mått"])
    )  # the footnote travels with the table
    book = openpyxl.load_workbook(io.BytesIO(files[csv_name.replace(".csv", ".xlsx")]))
    sheet = book[book.sheetnames[0]]
    assert book.sheetnames == ["Riskfaktorer"]
    assert [c.value for c in sheet[1]][:2] == shown[0][:2]


def test_download_links_keep_every_table_and_english_csv_uses_commas(data):
    view = prioritization_view(data, area=AREA, lang="en")
    files = _links(widget(view, "ctc-download-box").value)
    csvs = sorted(name for name in files if name.endswith(".csv"))
    assert len(csvs) == 6 and all(  # Swedish and international convention
        name.startswith("prioritering_norra-hamnen_2025_") for name in csvs
    )
    ranked = next(name for name in csvs if "Risk_factors" in name)
    frame = pd.read_csv(io.BytesIO(files[ranked]), sep=",", encoding="utf-8-sig", dtype=str)
    assert "Family conflict" in set(frame["Measure"])


# --------------------------------------------------------------------------------------------
# Prioritering, Gap, Uppföljning


def test_prioritization_shows_the_ranking_and_the_team_choice(data):
    view = prioritization_view(data, area=AREA, lang="sv")
    beside = rows_of(widget(view, "ctc-table-box").value)
    chosen = {row[1]: row[-1] for row in beside[1:]}
    assert chosen["Konflikter i familjen"] == "ja"  # the team's file names it
    assert chosen["Vänner som använder droger"] == ""  # suggested, not chosen
    ranked = widget(view, "ctc-wide-table-box").value
    assert "Riskfaktorer i rangordning" in ranked and "Skyddsfaktorer i rangordning" in ranked
    assert "Konflikter i familjen" in ranked
    chart = png(widget(view, "ctc-chart"))
    widget(view, "ctc-area").value = "lillby"  # every group hidden: nothing is ranked
    assert png(widget(view, "ctc-chart")) != chart
    assert "86 %" not in widget(view, "ctc-wide-table-box").value


def test_an_invalid_team_file_is_reported_in_words(data):
    view = prioritization_view(data, area=OTHER, lang="sv")
    notice = widget(view, "ctc-notice-box").value
    assert "Områdesteamets val kunde inte läsas" in notice and "no_such_factor" in notice
    assert widget(view, "ctc-error-box").value == ""


def test_gap_view_says_when_there_is_no_inventory(data):
    view = gap_view(data, area=AREA, lang="sv")
    notice = widget(view, "ctc-notice-box").value
    assert "Gapanalysen finns inte ännu" in notice and "programme_inventory.csv" in notice
    assert png(widget(view, "ctc-chart")) == b""
    assert widget(view, "ctc-error-box").value == ""


def test_gap_view_shows_gaps_and_candidates(site, tmp_path):
    team = tmp_path / "team"
    (team / "priorities").mkdir(parents=True)
    (team / "priorities" / f"{AREA}.yaml").write_bytes(
        (site["team"] / "priorities" / f"{AREA}.yaml").read_bytes()
    )
    (team / "programme_inventory.csv").write_text(
        INVENTORY_HEADER + "\nnorra-hamnen,Föräldraträff,Familjecentralen,,2025,universal,family,"
        "ak7-ak9,,family_conflict,30,200,10,9,0.9,,,,\n",
        encoding="utf-8",
    )
    data = dashboard_data.load_dashboard_data(site["reports"], data_dir=team)
    view = gap_view(data, area=AREA, lang="sv")
    assert widget(view, "ctc-notice-box").value == ""
    gaps = widget(view, "ctc-table-box").value
    # 30 of 200 reached = 15 %, below the 30 % threshold (computed by hand)
    assert "Föräldraträff når 15 % av målgruppen (30 av 200)" in gaps
    assert "Möjliga program" in widget(view, "ctc-wide-table-box").value
    assert png(widget(view, "ctc-chart")).startswith(b"\x89PNG")
    (team / "priorities" / f"{OTHER}.yaml").write_bytes(
        (site["team"] / "priorities" / f"{OTHER}.yaml").read_bytes()
    )
    widget(view, "ctc-area").value = OTHER  # its team file names an unknown factor
    notice = widget(view, "ctc-notice-box").value
    assert "Gapanalysen kan inte visas" in notice and "no_such_factor" in notice
    assert widget(view, "ctc-error-box").value == "" and png(widget(view, "ctc-chart")) == b""


def test_followup_shows_the_trend_and_the_goal_chain(site, data):
    view = followup_view(data, area=AREA, lang="sv")
    measure = widget(view, "ctc-measure")
    assert measure.value == "alcohol_30d"  # the first behaviour
    trend = widget(view, "ctc-table-box").value
    for wave in (2023, 2025):
        row = row_for(trend, str(wave))
        assert row[1] == pct(expected_pct(site, area=AREA, measure="alcohol_30d", wave=wave))
        assert row[3] == pct(expected_pct(site, area="all", measure="alcohol_30d", wave=wave))
    goals = widget(view, "ctc-goal-table").value
    assert "Vänner som använder droger" in goals
    assert png(widget(view, "ctc-goal-chart")).startswith(b"\x89PNG")
    chart = png(widget(view, "ctc-chart"))
    widget(view, "ctc-kind").value = "risk"
    assert widget(view, "ctc-error-box").value == ""
    assert measure.value == "perceived_availability_drugs"
    assert png(widget(view, "ctc-chart")) != chart
    friends = widget(view, "ctc-measure")
    friends.value = "friends_drug_use"  # planted 15 % -> 32 %: a clear increase, worse
    assert "försämring (ökning)" in row_for(widget(view, "ctc-table-box").value, "2025")[-1]


def test_followup_without_goal_chain_hides_the_chart(data):
    view = followup_view(data, area=OTHER, lang="en")
    assert widget(view, "ctc-goal-chart").layout.display == "none"
    assert widget(view, "ctc-goal-table").value == ""
    assert widget(view, "ctc-error-box").value == ""


def test_no_row_level_file_is_opened(site, data, monkeypatch):
    """Build every view (and switch language) while recording each file opened: Python's
    ``open`` through an audit hook, Parquet files (read by pyarrow in C++) through pandas."""
    opened: list[str] = []
    active = [True]

    def hook(event, args):
        if active[0] and event == "open" and isinstance(args[0], str | Path):
            opened.append(str(args[0]))

    read_parquet = pd.read_parquet

    def recording_read_parquet(path, *args, **kwargs):
        opened.append(str(path))
        return read_parquet(path, *args, **kwargs)

    monkeypatch.setattr(pd, "read_parquet", recording_read_parquet)
    sys.addaudithook(hook)
    try:
        dashboard_page.clear_caches()
        fresh = dashboard_data.load_dashboard_data(site["reports"], data_dir=site["team"])
        for view in settings.VIEWS:
            page = dashboard_page.build_page(view, fresh, area=AREA, lang="sv")
            widget(page, "ctc-language").value = "en"
    finally:
        active[0] = False
    repo = str(REPO_ROOT)
    published = str((site["reports"] / "2025" / "data").resolve())
    inside_repo = [p for p in opened if p.startswith(repo) and "/.venv/" not in p]
    assert inside_repo, "the audit hook saw no file of the repository"
    code_or_schema = (str(REPO_ROOT / "data_schema"), str(REPO_ROOT / "ctc_helpers"))
    assert [p for p in inside_repo if not p.startswith(code_or_schema)] == []
    private = (f"{REPO_ROOT / 'data'}/", f"{REPO_ROOT / '.ctc'}/")  # survey files, cache
    assert [p for p in opened if p.startswith(private)] == []
    data_files = [p for p in opened if p.endswith((".parquet", ".csv", ".json", ".xlsx", ".sav"))]
    allowed = (
        published,
        str(site["team"].resolve()),
        str(site["team"]),
        str(REPO_ROOT / "data_schema"),
    )
    assert [p for p in data_files if not p.startswith(allowed) and "/.venv/" not in p] == []
    assert any(p.startswith(published) and p.endswith(".parquet") for p in data_files)


# --------------------------------------------------------------------------------------------
# Notebooks


@pytest.mark.parametrize(("view", "name"), list(settings.VIEWS.items()))
def test_dashboard_notebooks_are_a_title_imports_and_one_call(view, name):
    path = settings.DASHBOARD_DIR / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.kernelspec.name == "ctc"
    kinds = [cell.cell_type for cell in nb.cells]
    assert kinds == ["markdown", "code", "code"]
    assert nb.cells[0].source.startswith("# ")
    assert nb.cells[1].source == "from ctc_helpers.dashboard import app"
    assert nb.cells[2].source == f'app("{view}")'
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in nb.cells if cell.cell_type == "code")  # fmt: skip
    assert json.loads(path.read_text(encoding="utf-8"))["nbformat"] == 4


@pytest.mark.parametrize("area", sorted(AREAS))
def test_the_view_hides_exactly_the_cells_the_published_folder_hides(site, data, area):
    """Reports and dashboards draw this table with one function (views.profile.profile_table):
    a value is "–" exactly where the published aggregates say ``suppressed`` (issue 14)."""
    published = data.published.aggregates
    labels = data.published.measures.set_index("measure")["label_sv"]
    view = profile_view(data, area=area, lang="sv")
    checked = 0
    for grade in ("all", "ak7", "ak9"):
        for sex in ("all", "F", "M"):
            widget(view, "ctc-sex").value = sex
            widget(view, "ctc-grade").value = grade
            markup = widget(view, "ctc-table-box").value
            rows = published[
                published["area"].eq(area) & published["wave"].eq(2025)
                & published["grade"].eq(grade) & published["sex"].eq(sex)
                & published["measure_kind"].eq("risk")
            ]  # fmt: skip
            for row in rows.itertuples():
                shown = row_for(markup, labels[row.measure])[1]
                assert (shown == "–") == bool(row.suppressed), (grade, sex, row.measure, shown)
                checked += 1
    assert checked >= 9 * 3  # every group of the area, every risk factor of the table
