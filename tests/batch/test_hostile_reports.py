"""Hostile text end to end: names and notes with script in them, through ``ctc run``.

A small synthetic demo city gets the demo's team files (priorities, goal chains, programme
inventory); then an area name, a programme name, a provider and the team's priorities note are
given script, an image with an error handler, Markdown emphasis and a link. Every report of the
area must still be built, show the text literally and hold no element made from it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
AREA = "norra-hamnen"
PHASES = ("01_survey_analysis", "02_factor_prioritization", "03_gap_analysis", "04_follow_up")
SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(1)>"
AREA_NAME = f"Norra {IMAGE} {SCRIPT} **fet**"
PROGRAMME = f"Träff {IMAGE} [länk](http://x)"
NOTE = f"Vi valde {SCRIPT} och **detta**"
SHOWN_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
SHOWN_IMAGE = "&lt;img src=x onerror=alert(1)&gt;"

pytestmark = pytest.mark.slow


def _hostile_city(root: Path) -> Path:
    from ctc_helpers.demo.synth import write_city

    data = root / "data"
    write_city(data, respondents_per_wave=600)
    sample = REPO / "data" / "sample"
    for folder in ("priorities", "goal_chains"):
        shutil.copytree(sample / folder, data / folder)
    areas = pd.read_csv(data / "areas.csv", dtype=str, keep_default_na=False)
    areas.loc[areas["area_id"].eq(AREA), "name"] = AREA_NAME
    areas.to_csv(data / "areas.csv", index=False)
    inventory = pd.read_csv(sample / "programme_inventory.csv", dtype=str, keep_default_na=False)
    own = inventory["area"].eq(AREA)
    inventory.loc[own, "programme"] = PROGRAMME
    inventory.loc[own, "provider"] = SCRIPT
    inventory.to_csv(data / "programme_inventory.csv", index=False)
    choice_file = data / "priorities" / f"{AREA}.yaml"
    choice = yaml.safe_load(choice_file.read_text(encoding="utf-8"))
    choice_file.write_text(
        yaml.safe_dump({**choice, "note": NOTE}, allow_unicode=True), encoding="utf-8"
    )
    return _run_file(root, data)


def _run_file(root: Path, data: Path) -> Path:
    team = {"priorities_dir": str(data / "priorities")}
    inventory = {"inventory_path": str(data / "programme_inventory.csv")}
    raw = {
        "data": {
            "survey": str(data / "exempelstad_*.csv"),
            "areas": str(data / "areas.csv"),
            "enrolment": str(data / "enrolment.csv"),
            "instrument": str(REPO / "data_schema" / "instrument.yaml"),
            "synthetic": True,
        },
        "output": str(root / "unused"),
        "cache": str(root / "cache"),
        "notebooks": str(REPO / "notebooks"),
        "phases": list(PHASES),
        "city": False,
        "phase_parameters": {
            "02_factor_prioritization": team,
            "03_gap_analysis": {**team, **inventory},
            "04_follow_up": {"goal_chain_dir": str(data / "goal_chains"), **inventory},
        },
        "min_cell": 10,
        "lang": "sv",
        "workers": 2,
        "timeout": 300,
    }
    path = root / "run.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    root = tmp_path_factory.mktemp("hostile_city")
    run_file = _hostile_city(root)
    out = root / "out"
    ctc = Path(sys.executable).with_name("ctc")
    command = [str(ctc), "run", "--config", str(run_file), "--areas", AREA, "--out", str(out)]
    done = subprocess.run(
        [*command, "--phases", *PHASES, "--allow-quarantine"],
        capture_output=True, text=True, timeout=1500, cwd=root, check=False,
    )  # fmt: skip
    return out, done


def test_every_report_is_built(built):
    out, done = built
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    pages = {p.stem: p for p in out.rglob(f"{AREA}/*.html")}
    assert sorted(pages) == sorted(PHASES), sorted(out.rglob("*"))


def test_hostile_text_is_shown_literally(built):
    out, _ = built
    pages = {p.stem: p.read_text(encoding="utf-8") for p in out.rglob(f"{AREA}/*.html")}
    pages["index"] = (out / "index.html").read_text(encoding="utf-8")
    for name, page in pages.items():
        assert "<script>alert" not in page, name
        assert "<img src=x" not in page and '<img src="x"' not in page, name
        assert "<strong>fet</strong>" not in page and "<strong>detta</strong>" not in page, name
        assert 'href="http://x"' not in page, name
    for phase in PHASES:  # the area's name is in every report's title
        assert SHOWN_IMAGE in pages[phase] and SHOWN_SCRIPT in pages[phase], phase
        assert "**fet**" in pages[phase], phase
    assert "Vi valde " + SHOWN_SCRIPT + " och **detta**" in pages["02_factor_prioritization"]
    assert "Träff " + SHOWN_IMAGE + " [länk](http://x)" in pages["03_gap_analysis"]


class _Headings(HTMLParser):
    """The column headings of every report table (``<th>`` of ``table.ctc-table``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[str] = []
        self._depth, self._in_th = 0, False

    def handle_starttag(self, tag, attrs):
        if tag == "table" and "ctc-table" in (dict(attrs).get("class") or ""):
            self._depth += 1
        self._in_th = self._in_th or (tag == "th" and self._depth > 0)
        if self._in_th and tag == "th":
            self.headings.append("")

    def handle_endtag(self, tag):
        self._depth -= tag == "table" and self._depth > 0
        self._in_th = self._in_th and tag != "th"

    def handle_data(self, data):
        if self._in_th:
            self.headings[-1] += data


def _pdf_text_in_order(path: Path) -> str:
    """The PDF's text in the order Chromium printed it (``pdftotext -raw``).

    Chromium prints a table cell by cell, so a heading wrapped over two lines is two lines one
    after the other; pdftotext's default reading order instead joins the lines of neighbouring
    cells side by side ("Antal Skillnad / svarande mot ...") and no heading could be found.
    """
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils; make browser)")
    done = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"],
                          capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
    return done.stdout


@pytest.mark.browser
def test_every_report_has_its_pdf_with_every_column_heading(built):
    from tests.batch.test_pdf import squeeze
    from tests.browser import require_browser

    require_browser()
    out, _ = built
    for page in sorted(out.rglob(f"{AREA}/*.html")):
        assert page.with_suffix(".pdf").is_file(), page.name
        parser = _Headings()
        parser.feed(page.read_text(encoding="utf-8"))
        text = squeeze(_pdf_text_in_order(page.with_suffix(".pdf")))
        assert parser.headings, page.name
        missing = [h for h in parser.headings if squeeze(h) not in text]
        assert not missing, (page.name, missing)
    assert 'href="' in (out / "index.html").read_text(encoding="utf-8").split(".pdf")[0]
