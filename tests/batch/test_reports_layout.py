"""The phase reports fit a laptop screen: no table is wider than its column at 1366 px.

One small synthetic city is run through the real batch (phases 01-04, one area and the city,
Swedish); each HTML report is opened in Debian's Chromium at a 1366 px window, and every table
(and the output box around it) is measured: a table whose ``scrollWidth`` exceeds the width of
its container would hide columns behind a scrollbar. Screenshots of each report's first screen at
1366 and 390 px are saved to ``tests/output/layout/`` (gitignored) for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ctc_helpers.batch import run as batch
from ctc_helpers.config.run import CITY, run_config_from_dict
from ctc_helpers.publish import build
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_browser

REPO = Path(__file__).resolve().parents[2]
AREA = "norra-hamnen"
PHASES = ["01_survey_analysis", "02_factor_prioritization", "03_gap_analysis", "04_follow_up"]
SHOTS = REPO / "tests" / "output" / "layout"

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> list[Path]:
    """Run phases 01-04 of reports/run.yaml for one area and the city on a small city."""
    from ctc_helpers.demo.synth import write_city

    require_browser()
    root = tmp_path_factory.mktemp("layout_city")
    write_city(root / "data", respondents_per_wave=600)
    run_file = yaml.safe_load((REPO / "reports" / "run.yaml").read_text(encoding="utf-8"))
    parameters = run_file.get("phase_parameters") or {}
    raw = {
        "data": {
            "survey": "data/exempelstad_*.csv",
            "areas": "data/areas.csv",
            "enrolment": "data/enrolment.csv",
            "instrument": str(REPO / "data_schema" / "instrument.yaml"),
            "synthetic": True,
        },
        "output": "reports",
        "cache": "cache",
        "notebooks": str(REPO / "notebooks"),
        "phases": PHASES,
        "phase_parameters": {
            phase: {
                name: str((REPO / "reports" / value).resolve()) if isinstance(value, str) else value
                for name, value in values.items()
            }
            for phase, values in parameters.items()
            if phase in PHASES
        },
        "min_cell": 10,
        "lang": "sv",
        "workers": 2,
        "timeout": 300,
    }
    config = run_config_from_dict(raw, base_dir=root)
    build.prepare_waves(config)
    results = batch.run_batch(config, areas=[CITY, AREA])
    failed = results[results["status"] != "ok"]
    assert failed.empty, failed[["area", "phase", "message"]].to_string()
    pages = sorted(p for p in (root / "reports").rglob("*.html") if p.name != "index.html")
    assert len(pages) == 2 * len(PHASES)
    return pages


# Every table, measured against the output box that holds it (the column of the page).
MEASURE_TABLES = """() => [...document.querySelectorAll('table')].map(table => {
  const box = table.closest('.jp-OutputArea-output, .jp-RenderedHTMLCommon, main') || document.body;
  const heading = table.querySelector('thead') ? table.querySelector('thead').innerText : '';
  return {
    heading: heading.replace(/\\s+/g, ' ').slice(0, 80),
    table: Math.ceil(table.getBoundingClientRect().width),
    scroll: box.scrollWidth,
    client: box.clientWidth,
    page: document.documentElement.scrollWidth,
    window: window.innerWidth,
  };
})"""


@pytest.fixture(scope="module")
def measured(reports) -> dict[str, list[dict]]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    seen: dict[str, list[dict]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for path in reports:
            name = f"{path.parent.name}_{path.stem}"
            for width, height in ((1366, 768), (390, 844)):
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(path.as_uri(), wait_until="load")
                page.screenshot(path=str(SHOTS / f"{name}_{width}.png"))
                if width == 1366:
                    seen[name] = page.evaluate(MEASURE_TABLES)
                page.close()
        browser.close()
    return seen


def test_every_report_has_tables(measured):
    assert len(measured) == 2 * len(PHASES)
    assert all(tables for name, tables in measured.items()), {
        name: len(tables) for name, tables in measured.items()
    }


def test_no_table_is_wider_than_its_column_at_1366(measured):
    too_wide = [
        f"{name}: table {t['table']} px in a {t['client']} px column ({t['heading']})"
        for name, tables in measured.items()
        for t in tables
        if t["scroll"] > t["client"] + 1 or t["table"] > t["client"] + 1
    ]
    assert not too_wide, "\n".join(too_wide)


def test_no_page_scrolls_sideways_at_1366(measured):
    wide = {name: t[0]["page"] for name, t in measured.items() if t and t[0]["page"] > 1366}
    assert not wide, wide


def test_screenshots_are_saved(measured):
    for name in measured:
        for width in (1366, 390):
            shot = SHOTS / f"{name}_{width}.png"
            assert shot.is_file() and shot.stat().st_size > 5_000, shot
