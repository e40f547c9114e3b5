"""Browser tests: Playwright drives Debian's Chromium through the running dashboards.

The server is started as ``ctc dashboard`` starts it (pre-heated kernels) on a fake published
folder. Without Chromium the tests are skipped, except in CI (:mod:`tests.browser`). A failing
test saves a screenshot to ``tests/output/``.
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ctc_helpers.dashboard import server as dashboard
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_browser
from tests.fake_published import write_fake_published

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OUTPUT = Path(__file__).resolve().parents[1] / "output"
START_TIMEOUT = 120  # seconds (four pre-heated kernels on a busy 2-core machine)
TIMEOUT_MS = 120_000
INVENTORY = (
    "area,programme,provider,bank_id,year,prevention_level,setting,target_grades,target_ages,"
    "targeted_factors,participants_reached,eligible_population,sessions_planned,"
    "sessions_delivered,fidelity_score,evidence_rating,evidence_source,funding_end,note\n"
    "norra-hamnen,Föräldraträff,Familjecentralen,,2025,universal,family,ak7-ak9,,"
    "family_conflict,30,200,10,9,0.9,,,,\n"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    require_browser()
    root = tmp_path_factory.mktemp("dash_browser")
    write_fake_published(root / "reports" / "2025" / "data")
    (root / "team").mkdir()
    (root / "team" / "programme_inventory.csv").write_text(INVENTORY, encoding="utf-8")
    port = _free_port()
    with (root / "voila.log").open("w") as log:
        process = dashboard.start_voila(
            port=port, reports_dir=root / "reports", data_dir=root / "team", log=log
        )
        try:
            base = f"http://127.0.0.1:{port}"
            if not dashboard.wait_for_http(f"{base}/", timeout=START_TIMEOUT, process=process):
                pytest.fail(f"Voilà did not start:\n{(root / 'voila.log').read_text()[-3000:]}")
            yield base
        finally:
            dashboard.stop_voila(process)


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    tab.dialogs = dialogs  # any alert() would be a script injected through a link
    try:
        yield tab
    finally:
        context.close()


@contextlib.contextmanager
def screenshot_on_failure(tab, name: str):
    """Save ``tests/output/<name>.png`` when the block fails, then re-raise."""
    try:
        yield
    except BaseException:
        _screenshot(tab, name)
        raise


def _screenshot(tab, name: str) -> Path:
    OUTPUT.mkdir(exist_ok=True)
    target = OUTPUT / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    tab.screenshot(path=str(target), full_page=True)
    return target


def open_dashboard(tab, base: str, name: str, query: str = "") -> None:
    tab.goto(f"{base}/voila/render/{name}.ipynb{query}", timeout=TIMEOUT_MS)
    tab.wait_for_selector(".widget-dropdown select", timeout=TIMEOUT_MS)
    tab.wait_for_selector("img.ctc-chart", timeout=TIMEOUT_MS)


def selected_area(tab) -> str:
    """The label of the chosen area (ipywidgets shows spaces as no-break spaces)."""
    text = tab.eval_on_selector(".ctc-area select", "s => s.options[s.selectedIndex].text")
    return text.replace("\xa0", " ")


def chart_and_table(tab) -> tuple[str, str]:
    return (
        tab.get_attribute("img.ctc-chart", "src"),
        tab.inner_text(".ctc-table-box"),
    )


def test_a_deep_link_opens_its_area(server, page):
    """The first visit takes the pre-heated kernel, which learns the link after it rendered."""
    with screenshot_on_failure(page, "deep_link_preheated"):
        open_dashboard(page, server, "omradesprofil", "?area=Söderdalen")
        page.wait_for_function(
            "() => { const s = document.querySelector('.ctc-area select');"
            " return s && s.options[s.selectedIndex].text === 'Söderdalen'; }",
            timeout=TIMEOUT_MS,
        )
        page.wait_for_function(
            "() => document.querySelector('.ctc-heading')?.innerText.includes('Söderdalen')",
            timeout=TIMEOUT_MS,
        )
        assert "Söderdalen" in page.inner_text(".ctc-table-box")


def test_a_second_deep_link_also_opens_its_area(server, page):
    with screenshot_on_failure(page, "deep_link_second"):
        open_dashboard(page, server, "omradesprofil", "?area=lillby")
        page.wait_for_function(
            "() => document.querySelector('.ctc-heading')?.innerText.includes('Lillby')",
            timeout=TIMEOUT_MS,
        )
        assert selected_area(page) == "Lillby"


def test_an_unknown_deep_link_is_refused_with_a_message(server, page):
    with screenshot_on_failure(page, "deep_link_refused"):
        open_dashboard(
            page, server, "omradesprofil", "?area=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"
        )
        page.wait_for_selector(".ctc-message .ctc-warning", timeout=TIMEOUT_MS)
        message = page.inner_text(".ctc-message")
        assert "finns inte bland de publicerade områdena" in message
        assert "<img src=x onerror=alert(1)>" in message  # shown as text, not as markup
        assert selected_area(page) == "Norra Hamnen"
        assert page.dialogs == []


def test_choosing_another_area_changes_chart_and_table(server, page):
    with screenshot_on_failure(page, "choose_area"):
        open_dashboard(page, server, "omradesprofil")
        before_src, before_table = chart_and_table(page)
        assert "Norra Hamnen" in before_table
        page.select_option(".ctc-area select", label="Söderdalen")
        page.wait_for_function(
            "(src) => document.querySelector('img.ctc-chart').src !== src",
            arg=before_src,
            timeout=TIMEOUT_MS,
        )
        page.wait_for_function(
            "(text) => document.querySelector('.ctc-table-box').innerText !== text",
            arg=before_table,
            timeout=TIMEOUT_MS,
        )
        after_src, after_table = chart_and_table(page)
        assert after_src != before_src and "Söderdalen" in after_table
        assert page.locator(".ctc-error").count() == 0


def test_the_language_switch_turns_the_page_english(server, page):
    with screenshot_on_failure(page, "language"):
        open_dashboard(page, server, "omradesprofil")
        page.get_by_role("button", name="English").click()
        page.wait_for_function(
            "() => document.querySelector('.ctc-table-box')?.innerText.includes('Measure')",
            timeout=TIMEOUT_MS,
        )
        # the navigation bar is redrawn after the table: wait for it rather than race it
        page.wait_for_function(
            "() => document.querySelector('.ctc-nav-box')?.innerText.includes('Follow-up')",
            timeout=TIMEOUT_MS,
        )
        assert page.get_by_role("button", name="Risk factors").is_visible()
        assert "Uppföljning" not in page.inner_text(".ctc-nav-box")


@pytest.mark.parametrize("name", ["prioritering", "gap", "uppfoljning"])
def test_every_dashboard_renders_its_chart_and_tables(server, page, name):
    with screenshot_on_failure(page, f"render_{name}"):
        open_dashboard(page, server, name)
        page.wait_for_selector(".ctc-table-box table", timeout=TIMEOUT_MS)
        assert page.locator(".ctc-error").count() == 0
        assert "Traceback" not in page.inner_text("body")
        assert page.locator(".ctc-download").count() >= 2  # CSV and Excel
