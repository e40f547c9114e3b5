"""Every dashboard at a phone's width (390 x 844) in Debian's Chromium, measured.

The page must not scroll sideways: no element reaches past the viewport, except inside a box
that scrolls on its own (wide tables). Charts are scaled to the width (never wider than the
viewport, never cut); a view whose charts are drawn narrow for phones shows those, with labels
at least 9 CSS px high (the label's size in the PNG, points x dpi / 72, times the scale the
picture is shown at), and at 1366 px the wide ones; footnotes wrap instead of being cut off.
Screenshots of each view at 1366 and 390 px go to ``/tmp/shots/dash-<view>-<width>.png`` (or
``CTC_SHOTS``) for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ctc_helpers.dashboard import settings
from ctc_helpers.dashboard.charts import PNG_DPI
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_browser
from tests.dashboard.serving import base_url, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT_MS = 180_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
SHOTS = Path(os.environ.get("CTC_SHOTS", "/tmp/shots"))
SMALLEST_SCALE = (
    0.45  # a chart's PNG shown at no less than 45 % of its pixel width (labels >= 5.5 px)
)
SMALLEST_LABEL_PX = 9.0
LABEL_POINTS = {"ctc-chart": 10.0, "ctc-goal-chart": 8.0}  # tick labels; the goal chain's boxes
NOT_NARROW: set[str] = set()  # views whose charts are only scaled (none left)
# the test city has no chart in these views (no process checklists; every area sealed, so the
# effect evaluation has nothing to compare); their narrow charts are tested without a browser
NO_CHART = {settings.VIEWS[v] for v in ("area_selection", "effects", "process")}
INVENTORY = (
    "area,programme,provider,bank_id,year,prevention_level,setting,target_grades,target_ages,"
    "targeted_factors,participants_reached,eligible_population,sessions_planned,"
    "sessions_delivered,fidelity_score,evidence_rating,evidence_source,funding_end,note\n"
    "norra-hamnen,Föräldraträff,Familjecentralen,,2025,universal,family,ak7-ak9,,"
    "family_conflict,30,200,10,9,0.9,,,,\n"
)

# every element reaching past the right edge of the viewport, unless a box between it and the
# page scrolls (or clips) sideways on its own
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const inOwnBox = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const x = getComputedStyle(p).overflowX;
      if (x === 'auto' || x === 'scroll' || x === 'hidden') return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.querySelectorAll('.ctc-page *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 1 || inOwnBox(el)) continue;
    out.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} right=${Math.round(box.right)}`);
  }
  return out.slice(0, 15);
}"""
CHARTS = """() => [...document.querySelectorAll(
    'img.ctc-chart, img.ctc-goal-chart, img.ctc-chart-phone, img.ctc-goal-chart-phone')]
  .filter((img) => img.naturalWidth > 0 && img.getBoundingClientRect().width > 0)
  .map((img) => ({cls: img.className, shown: img.getBoundingClientRect().width,
                  right: img.getBoundingClientRect().right, natural: img.naturalWidth}))"""
CUT_NOTES = """() => [...document.querySelectorAll('.ctc-note, .ctc-notes p, .ctc-notice')]
  .filter((el) => el.scrollWidth > el.clientWidth + 1).map((el) => el.innerText.slice(0, 60))"""


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    require_browser()
    with serve(tmp_path_factory.mktemp("dash_phone"), inventory=INVENTORY) as running:
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


def open_view(browser, base: str, name: str, viewport: dict):
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    tab = context.new_page()
    tab.goto(f"{base}/voila/render/{name}.ipynb", timeout=TIMEOUT_MS)
    tab.wait_for_selector(".ctc-page", timeout=TIMEOUT_MS)
    tab.wait_for_function(
        "() => (document.querySelector('.ctc-heading')?.innerText || '').trim().length > 0"
        " || document.querySelector('.ctc-error, .ctc-notice')",
        timeout=TIMEOUT_MS,
    )
    tab.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
    tab.wait_for_timeout(500)  # images decoded and laid out
    return context, tab


@pytest.mark.parametrize("name", list(settings.VIEWS.values()))
def test_every_view_fits_a_phone(server, browser, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context, tab = open_view(browser, server, name, DESKTOP)
    try:
        tab.screenshot(path=str(SHOTS / f"dash-{name}-1366.png"), full_page=True)
        wide = tab.evaluate(CHARTS)
        assert not [c for c in wide if "-phone" in c["cls"]], wide  # the wide charts
    finally:
        context.close()
    context, tab = open_view(browser, server, name, PHONE)
    try:
        tab.screenshot(path=str(SHOTS / f"dash-{name}-390.png"), full_page=True)
        width = tab.evaluate("() => document.documentElement.clientWidth")
        scroll = tab.evaluate("() => document.documentElement.scrollWidth")
        assert scroll <= width, f"the page scrolls sideways: {scroll} px content in {width} px"
        assert tab.evaluate(OVERFLOWING) == []
        charts = tab.evaluate(CHARTS)
        assert charts or name in NO_CHART, name
        for chart in charts:
            assert chart["right"] <= width + 1, chart
            assert chart["shown"] >= min(chart["natural"], width) * 0.9, chart  # uses the width
            assert chart["shown"] / chart["natural"] >= SMALLEST_SCALE, chart
            if name in NOT_NARROW:
                continue
            kind = "ctc-goal-chart" if "ctc-goal-chart" in chart["cls"] else "ctc-chart"
            assert "-phone" in chart["cls"], chart  # the chart drawn for a phone
            label = LABEL_POINTS[kind] * PNG_DPI / 72 * chart["shown"] / chart["natural"]
            assert label >= SMALLEST_LABEL_PX, (label, chart)
        assert tab.evaluate(CUT_NOTES) == []
    finally:
        context.close()
