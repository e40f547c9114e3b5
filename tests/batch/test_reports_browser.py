"""The generated reports as a reader sees them: opened in headless Chromium.

One small synthetic city is run through the real batch (every phase, one area and the city);
each HTML report is then loaded in Debian's Chromium. A report must render, show its charts,
contain no code, fetch nothing from the network, and no table may show a group smaller than the
minimum cell size (every rendered table is scanned).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from ctc_helpers.batch import run as batch
from ctc_helpers.config.instrument import load_respondent_schema
from ctc_helpers.config.run import CITY, run_config_from_dict
from ctc_helpers.i18n import t
from ctc_helpers.publish import build
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_browser

REPO = Path(__file__).resolve().parents[2]
AREA = "norra-hamnen"
MIN_CELL = 10
LANG = "sv"

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> tuple[Path, dict]:
    """A small synthetic city and the run file of reports/run.yaml for it (every phase)."""
    from ctc_helpers.demo.synth import write_city

    require_browser()
    root = tmp_path_factory.mktemp("browser_city")
    write_city(root / "data", respondents_per_wave=600)
    run_file = yaml.safe_load((REPO / "reports" / "run.yaml").read_text(encoding="utf-8"))
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
        "phases": run_file["phases"],
        "city_phases": run_file.get("city_phases") or [],
        "phase_parameters": _absolute(run_file.get("phase_parameters") or {}),
        "min_cell": MIN_CELL,
        "lang": LANG,
        "workers": 2,
        "timeout": 300,
    }
    return root, raw


def _run_city(root: Path, raw: dict) -> list[Path]:
    """Prepare and run every phase for one area and the city; the report pages and the index."""
    config = run_config_from_dict(raw, base_dir=root)
    build.prepare_waves(config)
    results = batch.run_batch(config, areas=[CITY, AREA])
    failed = results[results["status"] != "ok"]
    assert failed.empty, failed[["area", "phase", "message"]].to_string()
    pages = sorted((root / raw["output"]).rglob("*.html"))
    city_only = set(raw["city_phases"])
    area_phases = [p for p in raw["phases"] if p not in city_only]
    assert len(pages) == len(raw["phases"]) + len(area_phases) + 1  # + index.html
    return pages


@pytest.fixture(scope="module")
def reports(city) -> list[Path]:
    """Run every phase of reports/run.yaml for one area and the city on a small city."""
    return _run_city(*city)


@pytest.fixture(scope="module")
def english_reports(city, reports) -> list[Path]:
    """The same reports in English (the Swedish run's published folder is reused, not rebuilt)."""
    root, raw = city
    for published in (root / raw["output"]).glob("*/data"):
        shutil.copytree(published, root / "reports_en" / published.parent.name / "data")
    return _run_city(root, {**raw, "lang": "en", "output": "reports_en"})


def _absolute(phase_parameters: dict) -> dict:
    """The repository run file's paths are relative to reports/; make them absolute."""
    return {
        phase: {
            name: str((REPO / "reports" / value).resolve()) if isinstance(value, str) else value
            for name, value in values.items()
        }
        for phase, values in phase_parameters.items()
    }


def _size_headers() -> set[str]:
    """Column headers whose cells are group sizes (numbers of respondents)."""
    schema = load_respondent_schema()
    keys = ("report_col_n", "report_col_respondents", "report_col_valid", "all_sexes")
    return {t(key, LANG) for key in keys} | set(schema.sex_labels(LANG).values())


READ_PAGE = """() => ({
  tables: [...document.querySelectorAll('table')].map(table => {
    const headers = [...table.querySelectorAll('thead th')].map(th => th.innerText.trim());
    const rows = [...table.querySelectorAll('tbody tr')].map(
      tr => [...tr.querySelectorAll('th, td')].map(cell => cell.innerText.trim()));
    return {headers, rows};
  }),
  images: [...document.querySelectorAll('img')].map(img => ({
    loaded: img.complete && img.naturalWidth > 0, inline: img.src.startsWith('data:')})),
  code: document.querySelectorAll(
    '.jp-CodeCell .jp-InputArea, .jp-InputPrompt, .input_area, .jp-CodeMirrorEditor').length,
  text: document.body.innerText,
  title: document.title,
  alts: [...document.querySelectorAll('img[alt]')].map(img => img.alt),
})"""


def _read_pages(paths: list[Path]) -> dict[Path, dict]:
    """Each page as Chromium shows it (READ_PAGE), with the URLs it requested."""
    from playwright.sync_api import sync_playwright

    seen: dict[Path, dict] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
        )
        for path in paths:
            page = browser.new_page()
            requests: list[str] = []
            page.on("request", lambda request, bag=requests: bag.append(request.url))
            page.goto(path.as_uri(), wait_until="load")
            seen[path] = {**page.evaluate(READ_PAGE), "requests": requests}
            page.close()
        browser.close()
    return seen


@pytest.fixture(scope="module")
def pages(reports) -> dict[Path, dict]:
    return _read_pages(reports)


@pytest.fixture(scope="module")
def english_pages(english_reports) -> dict[Path, dict]:
    return _read_pages(english_reports)


def test_reports_load_nothing_from_the_network(pages) -> None:
    for path, content in pages.items():
        remote = [url for url in content["requests"] if not url.startswith(("file:", "data:"))]
        assert remote == [], f"{path.name} fetches {remote[:3]}"


def test_reports_render_their_charts_inline(pages) -> None:
    reports = {p: c for p, c in pages.items() if p.name != "index.html"}
    for path, content in reports.items():
        # a city of 600 pupils a wave has every area sealed: the effect evaluation then says
        # that there is nothing to compare, and has no chart to show
        nothing = t("effects_no_design_hidden", LANG) in content["text"]
        assert content["images"] or (nothing and path.stem == "05_effect_evaluation"), path
        assert all(image["loaded"] and image["inline"] for image in content["images"]), path
        assert "Traceback" not in content["text"] and "Error" not in content["text"][:2000], path


def test_reports_contain_no_code(pages) -> None:
    for path, content in pages.items():
        assert content["code"] == 0, path
        assert "import ctc_helpers" not in content["text"], path
        assert "display." not in content["text"], path


def test_reports_say_the_data_is_synthetic(pages) -> None:
    for path, content in pages.items():
        if path.name != "index.html":
            assert t("synthetic_notice", LANG) in content["text"], path


def _count(cell: str) -> int | None:
    """A cell that is a whole number of respondents ('1 288', '7'), else None."""
    compact = re.sub(r"[\s\u00a0\u202f]", "", cell)
    return int(compact) if re.fullmatch(r"\d+", compact) else None


def test_no_table_shows_a_group_below_the_minimum(pages) -> None:
    size_headers = _size_headers()
    scanned = 0
    for path, content in pages.items():
        for table in content["tables"]:
            columns = [i for i, header in enumerate(table["headers"]) if header in size_headers]
            for row in table["rows"]:
                for i in columns:
                    if i < len(row) and (value := _count(row[i])) is not None:
                        scanned += 1
                        assert not 0 < value < MIN_CELL, f"{path}: {table['headers'][i]} = {value}"
    assert scanned > 50  # the scan really read the participation and answer-count columns


def test_the_scan_would_catch_a_small_group() -> None:
    assert _count("1\u00a0288") == 1288
    assert _count("7") == 7 and not 0 < 12 < MIN_CELL
    assert _count("7 %") is None and _count("–") is None


# Words of the workbench's inside that must never reach a team or a nämnd: notebook numbers, file
# types and names, paths, ids, measure ids (snake_case) and Python's empty values.
INTERNAL = {
    "notebook": re.compile(r"notebook", re.IGNORECASE),
    "file name": re.compile(r"\.(?:ya?ml|csv|parquet|ipynb|json|xlsx)\b", re.IGNORECASE),
    "Id column": re.compile(r"\b(?:Id|ID|area_id)\b"),
    "path": re.compile(r"/tmp|/work|/home|reports/|file://|\\\\"),
    "snake_case id": re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b"),
    "empty value": re.compile(r"\b(?:None|nan|NaN|NaT)\b"),
}


def internal_words(text: str) -> list[str]:
    """The internal words in a reader's text, each with a little context."""
    return [
        f"{name}: …{text[max(m.start() - 40, 0) : m.end() + 40]}…".replace("\n", " ")
        for name, pattern in INTERNAL.items()
        for m in pattern.finditer(text)
    ]


def _visible_text(content: dict) -> str:
    return "\n".join([content["title"], content["text"], *content["alts"]])


def test_internal_words_are_found() -> None:
    assert internal_words("Se notebook 02 och priorities/norra.yaml") != []
    assert internal_words("family_conflict 12 %") and internal_words("Andel nan %")
    assert internal_words("| Id | Faktor |") and internal_words("sparad i /tmp/x")
    assert internal_words("Municipal profile: Whole municipality") == []
    assert internal_words("Andel 12 % (95 % KI 8 till 15); Norra Hamnen, årskurs 9") == []


@pytest.mark.parametrize("language", ["sv", "en"])
def test_no_internal_words_reach_a_reader(language, request) -> None:
    pages = request.getfixturevalue("pages" if language == "sv" else "english_pages")
    found = {
        path.name if path.name == "index.html" else f"{path.parent.name}/{path.name}": words
        for path, content in pages.items()
        if (words := internal_words(_visible_text(content)))
    }
    assert len(pages) > 10
    assert not found, "\n".join(f"{page}: {words[:5]}" for page, words in found.items())
