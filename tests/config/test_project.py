"""ctc init writes a project folder; ctc validate --config catches what would stop ctc run."""

from __future__ import annotations

import shutil

import pytest

from ctc_helpers.cli import main
from ctc_helpers.config.project import PROJECT_FILES, PROJECT_FOLDERS, init_project
from ctc_helpers.errors import InputFileError
from ctc_helpers.ingest.mapping import map_export, write_mapped
from ctc_helpers.ingest.project import check_project
from ctc_helpers.paths import REPO_ROOT, SAMPLE_DIR

EXAMPLE = REPO_ROOT / "data" / "examples" / "behaviours_only"


def test_init_writes_the_project_and_never_overwrites(tmp_path):
    folder = tmp_path / "kommun"
    assert main(["init", str(folder)]) == 0
    for name in (*PROJECT_FILES, *PROJECT_FOLDERS):
        assert (folder / name).exists(), name
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "**Svenska.**" in readme and "**English.**" in readme
    with pytest.raises(InputFileError, match="run.yaml"):
        init_project(folder, lang="en")
    # a fresh project has no survey yet: validate says so and would stop
    findings = check_project(folder / "run.yaml", lang="en")
    assert [f.severity for f in findings] == ["stop"]
    assert "data/*.parquet" in findings[0].text


def _example_project(tmp_path, *, run_text=None, mapping_text=None):
    """The behaviours-only example copied to tmp_path, its export mapped, optionally broken."""
    project = tmp_path / "project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("mapped"))
    mapped = map_export(project / "export.sav", project / "mapping.yaml", lang="en",
                        instrument=None if False else _instrument(project))  # fmt: skip
    write_mapped(mapped, project / "mapped" / "skolenkat_2025.parquet")
    run = (project / "run.yaml").read_text(encoding="utf-8")
    run = run.replace("../../../notebooks", str(REPO_ROOT / "notebooks"))
    run = run.replace("../../../reports/examples/behaviours_only", "reports")
    run = run.replace("../../../.ctc/cache/behaviours_only", ".ctc/cache")
    (project / "run.yaml").write_text(run_text(run) if run_text else run, encoding="utf-8")
    if mapping_text:
        (project / "mapping.yaml").write_text(mapping_text, encoding="utf-8")
    return project / "run.yaml"


def _instrument(project):
    from ctc_helpers.config.instrument import load_instrument

    return load_instrument(project / "instrument.yaml")


def test_the_example_validates(tmp_path):
    findings = check_project(_example_project(tmp_path), lang="en")
    assert not [f for f in findings if f.stops]
    texts = " ".join(f.text for f in findings)
    assert "no validity rules" in texts and "sv only" in texts


def test_mapping_naming_an_unknown_item_stops(tmp_path):
    mapping = "columns:\n  respondent_id: {from: lopnr}\nitems:\n  ghost: {from: F12}\n"
    findings = check_project(_example_project(tmp_path, mapping_text=mapping), lang="en")
    stops = [f.text for f in findings if f.stops]
    assert any("items.ghost" in s and "not an item" in s for s in stops)
    assert any("columns.wave" in s for s in stops)


def _baseline_project(tmp_path):
    """The demo city's default instrument (baseline wave 2021) with the 2025 file only."""
    run = tmp_path / "run.yaml"
    run.write_text(
        f"data:\n  survey: {SAMPLE_DIR / 'exempelstad_2025.csv'}\n"
        f"  areas: {SAMPLE_DIR / 'areas.csv'}\n"
        f"  instrument: {REPO_ROOT / 'data_schema' / 'instrument.yaml'}\n"
        f"output: reports\ncache: .ctc/cache\nnotebooks: {REPO_ROOT / 'notebooks'}\n"
        "phases: [01_survey_analysis]\nworkers: 1\n",
        encoding="utf-8",
    )
    return run


BROKEN = {
    "wave_absent": lambda tmp: _example_project(
        tmp, run_text=lambda r: r.replace("waves: latest", "waves: [2021]")
    ),
    "baseline_absent": _baseline_project,
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_validate_stops_on_what_stops_the_run(tmp_path, case, capsys):
    run_file = BROKEN[case](tmp_path)
    assert main(["validate", "--config", str(run_file), "--lang", "en"]) == 2
    out = capsys.readouterr().out
    assert "STOPS" in out
    if case == "baseline_absent":
        assert "baseline wave [2021]" in out and "[2025]" in out


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_run_stops_where_validate_said(tmp_path, case, capsys):
    run_file = BROKEN[case](tmp_path)
    assert main(["validate", "--config", str(run_file)]) == 2
    capsys.readouterr()
    # ctc run stops with exit 2 (the user's to fix), never 3 (an internal error)
    assert main(["run", "--config", str(run_file), "--out", str(tmp_path / "out")]) == 2
    if case == "baseline_absent":  # the run file, the keys to change and the waves present
        err = capsys.readouterr().err
        assert str(run_file) in err and "basåret [2021]" in err and "[2025]" in err
        assert "data: survey:" in err and "data: cutpoints:" in err
