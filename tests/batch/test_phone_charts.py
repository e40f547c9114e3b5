"""Report charts are readable on a phone: at 390 px their labels are at least 9 CSS px high.

Every report chart (ctc_helpers.plots.cache) of a small fake published folder is shown in a
report page made as the batch makes it (the notebook's display output, exported by
:func:`ctc_helpers.batch.report.render_html` with the report style sheet) and opened in Debian's
Chromium. A label's height on screen is its size in the PNG (points x dpi / 72; the charts'
tick labels are matplotlib's default size, the city view's "small" and the goal chain's boxes
8 points) times the scale the browser shows the picture at (shown width / the PNG's width). At
390 px it must be at least 9 CSS px, the picture no wider than the window; at 1366 px the wide
chart is the one shown; and the A4 PDF, printed as the batch prints it, holds the wide charts.
Screenshots at 390 px go to ``/tmp/shots/report-charts-390.png`` (or ``CTC_SHOTS``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import matplotlib as mpl
import nbformat
import pytest
from IPython.core.formatters import DisplayFormatter
from matplotlib.font_manager import FontProperties

from ctc_helpers.batch.report import render_html
from ctc_helpers.plots import cache as charts
from ctc_helpers.publish.read import load_published
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_browser
from tests.fake_charts import AREA, inputs_of
from tests.fake_published import write_fake_published

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path(os.environ.get("CTC_SHOTS", "/tmp/shots"))
SMALLEST_LABEL_PX = 9.0


def _points(size) -> float:
    return FontProperties(size=size).get_size_in_points()


# the labels' size in points: tick labels (matplotlib's default), else the chart's own size
LABEL_POINTS = {name: _points(mpl.rcParams["ytick.labelsize"]) for name in charts.CHARTS}
LABEL_POINTS |= {"gap_city_view": _points("small"), "goal_chain": 8.0}

SHOWN = """() => [...document.querySelectorAll('.jp-OutputArea-output img')].map((img) => ({
  chart: img.closest('.jp-Cell').querySelector('.ctc-chart-name')?.innerText
         || img.closest('.jp-Cell').previousElementSibling?.innerText.trim(),
  current: img.currentSrc.slice(0, 120), own: img.src.slice(0, 120),
  natural: img.naturalWidth, shown: img.getBoundingClientRect().width,
  right: img.getBoundingClientRect().right, window: document.documentElement.clientWidth}))"""


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    """A report page with every chart, each under a paragraph naming it."""
    root = tmp_path_factory.mktemp("phone_charts")
    folder = root / "data"
    write_fake_published(folder)
    pub = load_published(folder)
    formatter = DisplayFormatter()
    cells = []
    for name in charts.CHARTS:
        shown = charts.chart(pub, name, area=AREA, wave=2025, lang="sv", **inputs_of(name, folder))
        data, metadata = formatter.format(shown)
        cells += [
            nbformat.v4.new_markdown_cell(name),
            nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
                "display_data", data=data, metadata=metadata)]),
        ]  # fmt: skip
    notebook = nbformat.v4.new_notebook(cells=cells)
    path = root / "charts.html"
    path.write_text(render_html(notebook, where=path, lang="sv", title="Diagram"), "utf-8")
    return path


@pytest.fixture(scope="module")
def seen(page) -> dict[int, list[dict]]:
    require_browser()
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    measured = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for width in (390, 1366):
                context = browser.new_context(viewport={"width": width, "height": 844},
                                              device_scale_factor=1)  # fmt: skip
                tab = context.new_page()
                tab.goto(page.as_uri(), wait_until="load")
                tab.screenshot(path=str(SHOTS / f"report-charts-{width}.png"), full_page=True)
                measured[width] = tab.evaluate(SHOWN)
                context.close()
        finally:
            browser.close()
    return measured


def test_every_chart_is_on_the_page(seen):
    assert sorted(c["chart"] for c in seen[390]) == sorted(charts.CHARTS)


def test_labels_are_at_least_9_px_high_on_a_phone(seen):
    small = []
    for chart in seen[390]:
        assert chart["natural"] > 0, chart  # the picture loaded
        assert chart["right"] <= chart["window"] + 1, chart  # never wider than the window
        label = LABEL_POINTS[chart["chart"]] * charts.DPI / 72 * chart["shown"] / chart["natural"]
        if label < SMALLEST_LABEL_PX:
            small.append(f"{chart['chart']}: {label:.1f} px ({chart['shown']:.0f} of "
                         f"{chart['natural']} px)")  # fmt: skip
    assert not small, "\n".join(small)


def test_a_phone_gets_the_narrow_chart_and_a_laptop_the_wide_one(seen):
    assert all(c["current"] != c["own"] for c in seen[390]), seen[390]
    assert all(c["current"] == c["own"] for c in seen[1366]), seen[1366]
    for phone, laptop in zip(seen[390], seen[1366], strict=True):
        assert laptop["natural"] > phone["natural"], (phone, laptop)


@pytest.mark.skipif(shutil.which("pdfimages") is None, reason="pdfimages (poppler) is missing")
def test_the_pdf_prints_the_wide_charts(page, seen, tmp_path):
    from ctc_helpers.batch.pdf import print_pdf

    pdf = print_pdf(page, tmp_path / "charts.pdf", header="Diagram", lang="sv")
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]  # fmt: skip
    # object id -> width (a chart taller than a page is listed once per page it is on)
    widths = {line.split()[10]: int(line.split()[3]) for line in listing if " image " in line}
    assert sorted(widths.values()) == sorted(c["natural"] for c in seen[1366])
