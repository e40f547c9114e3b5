"""Browser tests: Playwright drives Debian's Chromium through the running dashboards.

The server is started as ``ctc dashboard`` starts it (pre-heated kernels) on a fake published
folder. Every page is watched: no dialog may open (an ``alert`` would be injected script) and
every request it makes must go to the dashboard server itself (Chromium's request log). Without
Chromium the tests are skipped, except in CI (:mod:`tests.browser`). A failing test saves a
screenshot to ``tests/output/``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ctc_helpers.dashboard import settings
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_browser
from tests.dashboard.hostile import (
    GOAL_LABEL,
    IMAGE,
    LABEL,
    NAMES,
    NOTE,
    PROGRAMME,
    write_hostile_site,
)
from tests.dashboard.serving import base_url, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OUTPUT = Path(__file__).resolve().parents[1] / "output"
TIMEOUT_MS = 120_000
TOKEN = "browser-t0ken-9c1e-not-in-pages"
INVENTORY = (
    "area,programme,provider,bank_id,year,prevention_level,setting,target_grades,target_ages,"
    "targeted_factors,participants_reached,eligible_population,sessions_planned,"
    "sessions_delivered,fidelity_score,evidence_rating,evidence_source,funding_end,note\n"
    "norra-hamnen,Föräldraträff,Familjecentralen,,2025,universal,family,ak7-ak9,,"
    "family_conflict,30,200,10,9,0.9,,,,\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    require_browser()
    with serve(tmp_path_factory.mktemp("dash_browser"), inventory=INVENTORY) as running:
        yield base_url(running)


@pytest.fixture(scope="module")
def browser():
    require_browser()
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
    tab.dialogs = dialogs  # any alert() would be injected script
    tab.requests = []  # Chromium's request log: every URL the page loads
    tab.on("request", lambda request: tab.requests.append(request.url))
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
        OUTPUT.mkdir(exist_ok=True)
        target = OUTPUT / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
        tab.screenshot(path=str(target), full_page=True)
        raise


def open_dashboard(tab, base: str, name: str, query: str = "") -> None:
    tab.goto(f"{base}/voila/render/{name}.ipynb{query}", timeout=TIMEOUT_MS)
    tab.wait_for_selector(".widget-dropdown select", timeout=TIMEOUT_MS)
    tab.wait_for_function(
        "() => (document.querySelector('.ctc-heading')?.innerText || '').trim().length > 0",
        timeout=TIMEOUT_MS,
    )


def selected_area(tab) -> str:
    """The label of the chosen area (ipywidgets shows spaces as no-break spaces)."""
    text = tab.eval_on_selector(".ctc-area select", "s => s.options[s.selectedIndex].text")
    return text.replace("\xa0", " ")


def chart_and_table(tab) -> tuple[str, str]:
    return (
        tab.get_attribute("img.ctc-chart", "src"),
        tab.inner_text(".ctc-table-box"),
    )


def foreign_requests(tab, base: str) -> list[str]:
    """Requests of the page that went anywhere but the dashboard server."""
    return [url for url in tab.requests if not url.startswith((f"{base}/", "data:", "blob:"))]


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


WITH_TABLES = ("omradesprofil", "prioritering", "gap", "uppfoljning")  # in the fake folder


@pytest.mark.parametrize("name", list(settings.VIEWS.values()))
def test_every_dashboard_renders_and_loads_only_from_this_server(server, page, name):
    with screenshot_on_failure(page, f"render_{name}"):
        open_dashboard(page, server, name)
        if name in WITH_TABLES:
            page.wait_for_selector(".ctc-table-box table", timeout=TIMEOUT_MS)
            assert page.locator(".ctc-download").count() >= 2  # CSV and Excel
        page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
        assert page.locator(".ctc-error").count() == 0
        assert "Traceback" not in page.inner_text("body")
        assert any("/voila/static/" in url for url in page.requests)  # the log is recording
        assert foreign_requests(page, server) == []


# --------------------------------------------------------------------------------------------
# Hostile text in the team's files: shown, never run


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory) -> Iterator[str]:
    require_browser()
    root = tmp_path_factory.mktemp("dash_hostile")
    write_hostile_site(root)
    with serve(root) as running:
        yield base_url(running)


HOSTILE_TEXT = {  # dashboard -> (css class of the widget, literal text it shows)
    "omradesprofil": (".ctc-table-box", LABEL),
    "prioritering": (".ctc-notes", NOTE),
    "gap": (".ctc-table-box", PROGRAMME),
    "uppfoljning": (".ctc-goal-table", GOAL_LABEL),
}


@pytest.mark.parametrize("name", list(settings.VIEWS.values()))
def test_hostile_text_is_shown_literally_and_never_runs(hostile_server, page, name):
    """Every dashboard: no dialog, no injected element; the four whose texts are known here
    show them literally (heading, table, note)."""
    with screenshot_on_failure(page, f"hostile_{name}"):
        open_dashboard(page, hostile_server, name, "?area=norra-hamnen")
        if name in HOSTILE_TEXT:
            selector, text = HOSTILE_TEXT[name]
            page.wait_for_function(
                "([selector, text]) => (document.querySelector(selector)?.innerText || '')"
                ".replace(/\\u00a0/g, ' ').includes(text)",
                arg=[selector, text],
                timeout=TIMEOUT_MS,
            )
            heading = page.inner_text(".ctc-heading").replace("\xa0", " ")
            assert NAMES["norra-hamnen"] in heading  # the area's name, script tags and all
        if page.is_visible(".ctc-area select"):
            before = page.inner_text(".ctc-heading")
            page.select_option(".ctc-area select", index=1)  # Söder <img ...>
            page.wait_for_function(
                "(before) => (document.querySelector('.ctc-heading')?.innerText || '') !== before",
                arg=before,
                timeout=TIMEOUT_MS,
            )
        page.wait_for_timeout(1000)  # an injected <img onerror> would have fired by now
        assert page.dialogs == []
        assert page.locator('img[src="x"]').count() == 0
        assert page.evaluate("() => document.querySelectorAll('.ctc-page script').length") == 0
        if name in HOSTILE_TEXT:
            assert NAMES["soderdalen"] in page.inner_text(".ctc-heading").replace("\xa0", " ")
            assert IMAGE in page.inner_text("body").replace("\xa0", " ")
        assert foreign_requests(page, hostile_server) == []


# --------------------------------------------------------------------------------------------
# The token never reaches a page


@pytest.fixture(scope="module")
def token_server(tmp_path_factory) -> Iterator[str]:
    require_browser()
    with serve(tmp_path_factory.mktemp("dash_token"), token=TOKEN) as running:
        yield base_url(running)


def test_no_script_on_the_page_can_read_the_token(token_server, page):
    with screenshot_on_failure(page, "token"):
        open_dashboard(page, token_server, "omradesprofil", f"?token={TOKEN}&area=soderdalen")
        page.wait_for_function(
            "() => document.querySelector('.ctc-heading')?.innerText.includes('Söderdalen')",
            timeout=TIMEOUT_MS,
        )
        assert "area=soderdalen" in page.url and TOKEN not in page.url
        seen_by_scripts = page.evaluate(
            "() => [location.href, document.cookie, document.documentElement.outerHTML,"
            " document.referrer, JSON.stringify(history.state),"
            " ...performance.getEntries().map(e => e.name)].join('\\n')"
        )
        assert TOKEN not in seen_by_scripts
        before = page.get_attribute("img.ctc-chart", "src")
        page.select_option(".ctc-area select", index=0)  # the cookie carries on
        page.wait_for_function(
            "(src) => document.querySelector('img.ctc-chart').src !== src",
            arg=before,
            timeout=TIMEOUT_MS,
        )
        assert foreign_requests(page, token_server) == []


# --------------------------------------------------------------------------------------------
# An idle page is closed and offers to reload


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory) -> Iterator[str]:
    require_browser()
    with serve(
        tmp_path_factory.mktemp("dash_idle"), idle_timeout=12, cull_interval=2, pool_size=0
    ) as running:
        yield base_url(running)


def test_an_idle_page_is_closed_and_offers_to_reload(idle_server, page):
    with screenshot_on_failure(page, "idle"):
        open_dashboard(page, idle_server, "prioritering")
        page.get_by_role("button", name="English").click()
        notice = page.wait_for_selector(".ctc-reload", timeout=60_000)
        assert "This page has been closed" in notice.inner_text()
        with page.expect_navigation(timeout=TIMEOUT_MS):
            page.click(".ctc-reload-button")
        page.wait_for_selector(".ctc-table-box table", timeout=TIMEOUT_MS)  # a new kernel drew it
        kind = page.evaluate("() => performance.getEntriesByType('navigation')[0].type")
        assert kind == "reload"


def test_the_reload_notice_is_swedish_by_default(idle_server, page):
    with screenshot_on_failure(page, "idle_sv"):
        open_dashboard(page, idle_server, "uppfoljning")
        notice = page.wait_for_selector(".ctc-reload", timeout=60_000)
        assert "Sidan har stängts" in notice.inner_text()
        assert "Ladda om sidan" in notice.inner_text()
