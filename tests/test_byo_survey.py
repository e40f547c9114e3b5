"""Bring your own survey (issue 16), end to end with the second example.

The behaviours-only example (``data/examples/behaviours_only``: its own grades åk 7/åk 9/gy 2,
0-based codes in an SPSS export, no factor scales, no validity rules, Swedish only) goes through
``ctc init``, ``ctc map``, ``ctc validate --config``, the ingest, ``ctc run`` and a dashboard
view, in ``tmp_path`` only: no tracked file of the repository is touched (checked with git).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pandas as pd
import pyreadstat
import pytest

from ctc_helpers.cli import main
from ctc_helpers.config.instrument import load_instrument
from ctc_helpers.fingerprint import file_sha256
from ctc_helpers.ingest.load import load_survey
from ctc_helpers.ingest.project import check_project
from ctc_helpers.paths import REPO_ROOT, SAMPLE_DIR
from ctc_helpers.publish.read import load_published
from ctc_helpers.views import report

pytestmark = pytest.mark.slow

EXAMPLE = REPO_ROOT / "data" / "examples" / "behaviours_only"
# every phase of a new project's run file: 02 and 03 say the survey has no factors, 04 what a
# follow-up of one survey cannot do yet
PHASES = ("01_survey_analysis", "02_factor_prioritization", "03_gap_analysis", "04_follow_up")
NO_FACTORS = "har inga risk- eller skyddsfaktorer"  # instrument_no_factors, Swedish


def _tracked_state() -> str:
    """``git status`` of the example's folder, ignored files included (a mapped table written
    there by mistake would show), and the checksums of its files."""
    done = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--", str(EXAMPLE)],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    sums = [f"{p.name}:{file_sha256(p)}" for p in sorted(EXAMPLE.iterdir()) if p.is_file()]
    return done.stdout + "\n".join(sums)


def _texts(notebook) -> str:
    """Every Markdown, HTML and plain output of an executed notebook, as one text."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    parts = []
    for cell in cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for kind in ("text/markdown", "text/html", "text/plain"):
                parts.append("".join(data.get(kind, "")))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project made by ``ctc init`` holding the example's files, its export mapped."""
    before = _tracked_state()
    folder = tmp_path_factory.mktemp("byo") / "kommun"
    assert main(["init", str(folder)]) == 0
    for name in ("instrument.yaml", "mapping.yaml", "areas.csv", "export.sav"):
        shutil.copy(EXAMPLE / name, folder / name)
    mapped = folder / "data" / "skolenkat_2025.parquet"
    code = main(["map", str(folder / "export.sav"), "--mapping", str(folder / "mapping.yaml"),
                 "--instrument", str(folder / "instrument.yaml"), "--out", str(mapped)])  # fmt: skip
    assert code == 0
    # a new project has no programme inventory yet: validate stops where 03/04 would stop
    stops = [f.text for f in check_project(folder / "run.yaml", lang="en") if f.stops]
    assert len(stops) == 2 and all("programme_inventory.csv" in s for s in stops)
    assert {"phase 03_gap_analysis", "phase 04_follow_up"} <= {
        m for s in stops for m in re.findall(r"phase \S+", s)
    }
    shutil.copy(SAMPLE_DIR / "programme_inventory.csv", folder / "programme_inventory")
    yield {"folder": folder, "run": folder / "run.yaml", "mapped": mapped, "before": before}


@pytest.fixture(scope="module")
def ran(project):
    """``ctc run`` of the project's run file into a folder of tmp_path."""
    out = project["folder"] / "out"
    code = main(["run", "--config", str(project["run"]), "--out", str(out), "--phases", *PHASES])
    return {"code": code, "out": out}


def test_validate_passes_and_names_what_changes(project, capsys):
    assert main(["validate", "--config", str(project["run"]), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "no validity rules" in out  # no screening: said, not an error
    assert "02_factor_prioritization" in out and "03_gap_analysis" in out


def test_ingest_keeps_every_row_with_its_own_grades(project):
    rows, _ = pyreadstat.read_sav(str(project["folder"] / "export.sav"))
    instrument = load_instrument(project["folder"] / "instrument.yaml")
    result = load_survey(
        [project["mapped"]], instrument=instrument, areas=project["folder"] / "areas.csv"
    )
    assert len(result.data) == len(rows) == 600
    assert result.quarantine.empty
    assert set(result.data["grade"].astype(str)) == {"ak7", "ak9", "gy2"}


def test_the_run_builds_every_report(ran):
    assert ran["code"] == 0
    manifest = json.loads((ran["out"] / "manifest.json").read_text(encoding="utf-8"))
    jobs = manifest["jobs"]
    assert len(jobs) == 4 * len(PHASES)  # three areas and the city
    assert {(j["phase"], j["status"]) for j in jobs} == {(p, "ok") for p in PHASES}
    assert manifest["summary"]["respondents"] == 600
    assert manifest["summary"]["quarantine_rows"] == 0
    assert "failed" not in manifest["summary"]["charts"]


def test_published_data_carry_the_instruments_vocabulary(ran):
    pub = load_published(ran["out"] / "2025" / "data")
    assert [g["code"] for g in pub.vocabulary("grades")] == ["ak7", "ak9", "gy2"]
    assert pub.languages == ("sv",)
    assert not pub.has("factors") and pub.has("behaviours") and not pub.has("screening")
    assert set(pub.aggregates["grade"]) == {"ak7", "ak9", "gy2", "all"}


def test_profile_report_reads_right(ran):
    text = _texts(ran["out"] / "2025" / "all" / "01_survey_analysis.ipynb")
    for label in ("åk 7", "åk 9", "gy 2"):
        assert label in text
    for other in ("åk 6", "åk 8", "gy 1"):  # the default vocabulary never shows
        assert other not in text
    assert NO_FACTORS in text
    assert "Ingen kontroll av svarens trovärdighet gjordes" in text  # methods: no screening
    assert "Skolenkäten" in text  # the instrument's glossary entry
    assert "Riskfaktor" in text  # the default glossary stays below it


@pytest.mark.parametrize("phase", PHASES[1:3])
def test_factor_phases_say_the_survey_has_no_factors(ran, phase):
    text = _texts(ran["out"] / "2025" / "norr" / f"{phase}.ipynb")
    assert NO_FACTORS in text


def test_follow_up_says_what_it_cannot_do(ran):
    """One survey and no factor scales: the follow-up runs and says so, section by section."""
    texts = {area: _texts(ran["out"] / "2025" / area / "04_follow_up.ipynb") for area in
             ("all", "norr")}  # fmt: skip
    for text in texts.values():
        assert "Det finns ingen tidigare mätning att jämföra med." in text
        assert "Det här är den första mätningen" in text  # key findings: no cut-point talk
        assert "samma gränsvärden" not in text
        assert (
            "Ett trendtest behöver minst tre mätningar; hittills finns bara data från 2025." in text
        )
        assert text.count(NO_FACTORS) == 2  # risk and protective factors, once each
        assert "Ingen årskull kan följas ännu" in text
        assert "Det finns ingen målkedja för området ännu" in text
        for other in ("åk 6", "åk 8", "gy 1"):  # the default vocabulary never shows
            assert other not in text
    record = json.loads((ran["out"] / "2025" / "norr" / "04_follow_up.json").read_text("utf-8"))
    assert record["assessments"] == {} and record["clear_trends"] == []


def test_english_report_notes_the_missing_language(ran):
    pub = load_published(ran["out"] / "2025" / "data")
    header = report.report_header(pub, phase="profile", area="norr", wave=2025, lang="en").data
    assert "is not available in English" in header
    swedish = report.report_header(pub, phase="profile", area="norr", wave=2025, lang="sv").data
    assert "finns inte på" not in swedish


def test_dashboard_profile_view_builds(ran):
    from ctc_helpers.dashboard import data as dashboard_data
    from ctc_helpers.dashboard.profile import profile_view

    data = dashboard_data.load_dashboard_data(ran["out"], data_dir=ran["out"])
    view = profile_view(data, area="norr", lang="sv")
    options = [
        label
        for child in view.children
        for grandchild in getattr(child, "children", ())
        for label, _ in getattr(grandchild, "options", ())
        if isinstance(label, str)
    ]
    assert {"åk 7", "åk 9", "gy 2"} <= set(options)


def test_no_tracked_file_changed(project, ran):
    assert ran["code"] is not None
    assert _tracked_state() == project["before"]
    assert pd.read_parquet(project["mapped"]).shape[0] == 600
