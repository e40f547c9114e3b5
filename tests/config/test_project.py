"""ctc init writes a project folder; ctc validate --config catches what would stop ctc run."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest

from ctc_helpers.cli import main
from ctc_helpers.config.instrument import load_respondent_schema
from ctc_helpers.config.messages import ConfigFileError
from ctc_helpers.config.project import PROJECT_FILES, PROJECT_FOLDERS, init_project
from ctc_helpers.config.run import load_run_config, run_instrument
from ctc_helpers.errors import InputFileError
from ctc_helpers.ingest.mapping import map_export, write_mapped
from ctc_helpers.ingest.project import check_project
from ctc_helpers.paths import REPO_ROOT, SAMPLE_DIR

EXAMPLE = REPO_ROOT / "data" / "examples" / "behaviours_only"
SAMPLE_INVENTORY = SAMPLE_DIR / "programme_inventory.csv"


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


def _enrolment_project(tmp_path):
    """An enrolment file whose row 3 gives 'ca 40' pupils (the prepare step counts them)."""
    run_file = _example_project(
        tmp_path,
        run_text=lambda r: r.replace(
            "  areas: areas.csv", "  areas: areas.csv\n  enrolment: enrolment.csv"
        ),
    )
    (run_file.parent / "enrolment.csv").write_text(
        "wave,area,school,grade,enrolled\n2025,norr,Norra skolan,ak7,38\n"
        "2025,norr,Norra skolan,ak9,ca 40\n",
        encoding="utf-8",
    )
    return run_file


BROKEN = {
    "wave_absent": lambda tmp: _example_project(
        tmp, run_text=lambda r: r.replace("waves: latest", "waves: [2021]")
    ),
    "baseline_absent": _baseline_project,
    "enrolment_bad": _enrolment_project,
}

# --------------------------------------------------------------------------------------------
# The area teams' files: validate reads them as the reports read them

# a team's choice naming a risk factor the behaviours-only survey does not have
PRIORITIES = "area: norr\nwave: 2025\ndecided: 2025-11-18\nrisk_factors: [family_conflict]\n"
# a goal on a behaviour the survey does not have
GOAL_CHAIN = """area: norr
baseline_wave: 2023
goals:
  - id: alcohol
    level: long
    indicator: {kind: behaviour, measure: ghost_30d}
    baseline: 0.10
    target: 0.05
    target_year: 2029
"""
INVENTORY_HEADER = SAMPLE_INVENTORY.read_text(encoding="utf-8").splitlines()[0]
# the demo's inventory header and two rows for the example's areas, the second (row 3) with a
# prevention level that does not exist; a survey without factor scales has no factor for
# targeted_factors, so neither row can be used (the behaviour id is refused there)
INVENTORY_ROWS = (
    "norr,Mentorsprogram,Norra skolan,,2025,selective,school,ak7-ak9,,alkohol_30d,20,100,,,0.9,,,,\n"
    "soder,Mentorsprogram,Södra skolan,,2025,sometimes,school,ak7-ak9,,alkohol_30d,20,100,,,0.9,,,,\n"
)


def _team_project(tmp_path, phase, files, parameters):
    """The example with one phase and the team files ``files`` (relative path -> text)."""
    block = "".join(f"    {k}: {v}\n" for k, v in parameters.items())
    run_file = _example_project(
        tmp_path,
        run_text=lambda r: (
            r.replace("  - 01_survey_analysis", f"  - {phase}")
            + f"phase_parameters:\n  {phase}:\n{block}"
        ),
    )
    for name, text in files.items():
        (run_file.parent / name).parent.mkdir(parents=True, exist_ok=True)
        (run_file.parent / name).write_text(text, encoding="utf-8")
    return run_file


TEAM_BROKEN = {
    # case: (phase, files, parameters, the reports validate names, words of the message)
    "priorities_invalid": (
        "02_factor_prioritization", {"priorities/norr.yaml": PRIORITIES},
        {"priorities_dir": "priorities"}, {("02_factor_prioritization", "norr")},
        ("priorities/norr.yaml", "risk_factors[1]", "'family_conflict'"),
    ),
    "goal_chain_invalid": (
        "04_follow_up", {"goal_chains/norr.yaml": GOAL_CHAIN},
        {"goal_chain_dir": "goal_chains", "inventory_path": '""'},
        {("04_follow_up", "norr")},
        ("goal_chains/norr.yaml", "goals[alcohol].indicator.measure", "'ghost_30d'"),
    ),
    "process_invalid": (
        "06_process",
        {"process/norr/checklist_2025.yaml": "area: norr\nyear: 2025\nassessed: 2025-11-16\n"
         "assessed_by: Teamet\nmilestones:\n- id: coordinator\n  score: 7\n"},
        {"process_dir": "process", "goal_chain_dir": '""', "inventory_path": '""'},
        {("06_process", "norr"), ("06_process", "all")},  # the city's report reads every area
        ("checklist_2025.yaml", "score", "7"),
    ),
    "readiness_invalid": (
        "01_survey_analysis", {"readiness.csv": "area,readiness,note\nnorr,9,\n"},
        {"readiness_file": "readiness.csv"}, {("01_survey_analysis", "all")},
        ("readiness.csv", "row 2", "'9'"),
    ),
    "inventory_unreadable": (
        "04_follow_up",
        {"inventory.csv": INVENTORY_HEADER.replace("area,", "plats,", 1) + "\n" + INVENTORY_ROWS},
        {"goal_chain_dir": '""', "inventory_path": "inventory.csv"},
        {("04_follow_up", a) for a in ("all", "norr", "centrum", "soder")},
        ("inventory.csv", "columns the inventory does not know: plats"),
    ),
}  # fmt: skip


def _stopped_reports(findings) -> set[tuple[str, str]]:
    """The (phase, area) pairs the stop findings name ("... would stop: 04_follow_up (norr)")."""
    return {
        pair
        for f in findings
        if f.stops
        for pair in re.findall(r"(\d\d_[a-z_]+) \(([^)]+)\)", f.text)
    }


@pytest.mark.parametrize("case", sorted(TEAM_BROKEN))
def test_validate_reads_the_team_files(tmp_path, case):
    phase, files, parameters, reports, words = TEAM_BROKEN[case]
    findings = check_project(_team_project(tmp_path, phase, files, parameters), lang="en")
    stops = [f for f in findings if f.stops]
    assert len(stops) == 1, [f.text for f in stops]
    assert all(w in f"{stops[0].where}: {stops[0].text}" for w in words), stops[0].text
    assert _stopped_reports(stops) == reports
    swedish = check_project(_team_project(tmp_path / "sv", phase, files, parameters), lang="sv")
    assert "Rapporterna som läser filen skulle stoppa" in [f for f in swedish if f.stops][0].text


def test_validate_names_unused_inventory_rows_and_unread_team_files(tmp_path):
    files = {
        "inventory.csv": f"{INVENTORY_HEADER}\n{INVENTORY_ROWS}",
        "goal_chains/nora.yaml": GOAL_CHAIN.replace("area: norr", "area: nora"),  # a typo
    }
    run_file = _team_project(tmp_path, "04_follow_up", files,
                             {"goal_chain_dir": "goal_chains", "inventory_path": "inventory.csv"})  # fmt: skip
    findings = check_project(run_file, lang="en")
    assert not [f for f in findings if f.stops]
    texts = {f.where: f.text for f in findings}
    # row 3 (the header is row 1) names its column and value
    assert texts["inventory.csv"].startswith("inventory.csv: 2 of 2 rows are not used")
    assert "row 2, column targeted_factors: the factor 'alkohol_30d'" in texts["inventory.csv"]
    assert "row 3, column prevention_level: 'sometimes'" in texts["inventory.csv"]
    assert "nora.yaml in the folder" in texts["goal_chains/nora.yaml"]
    assert "norr, centrum, soder" in texts["goal_chains/nora.yaml"]


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_validate_stops_on_what_stops_the_run(tmp_path, case, capsys):
    run_file = BROKEN[case](tmp_path)
    assert main(["validate", "--config", str(run_file), "--lang", "en"]) == 2
    out = capsys.readouterr().out
    assert "STOPS" in out
    if case == "baseline_absent":
        assert "baseline wave [2021]" in out and "[2025]" in out
    if case == "enrolment_bad":
        assert "enrolment.csv, row 3, column enrolled: 'ca 40' is not a whole number" in out


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


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(TEAM_BROKEN))
def test_the_reports_fail_where_validate_said(tmp_path, case, capsys):
    """validate names exactly the reports that fail when the run reads the team files."""
    phase, files, parameters, reports, _ = TEAM_BROKEN[case]
    run_file = _team_project(tmp_path, phase, files, parameters)
    assert main(["validate", "--config", str(run_file)]) == 2
    said = _stopped_reports(check_project(run_file, lang="en"))
    out = tmp_path / "out"
    assert main(["run", "--config", str(run_file), "--out", str(out)]) == 1  # reports failed
    jobs = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["jobs"]
    assert {(j["phase"], j["area"]) for j in jobs if j["status"] == "failed"} == said == reports
    assert {j["status"] for j in jobs} <= {"ok", "failed"}


# --------------------------------------------------------------------------------------------
# Grades and sexes declared in the run file (they win over the instrument's)

RUN_GRADES = """respondents:
  grades:
    - {code: ak7, year: 7, label: {sv: "Årskurs 7", en: "Grade 7"}}
    - {code: ak9, year: 9, label: {sv: "Årskurs 9", en: "Grade 9"}}
"""


def test_run_file_grades_win_and_disagreeing_data_is_named(tmp_path):
    run_file = _example_project(tmp_path, run_text=lambda r: r + RUN_GRADES)
    config = load_run_config(run_file)
    schema = load_respondent_schema(instrument=run_instrument(config))
    assert schema.grade_labels("en") == {"ak7": "Grade 7", "ak9": "Grade 9"}
    assert schema.sex_codes == ("F", "M", "U")  # the run file declares no sexes: the default's
    # the mapped export holds gy 2 too, counted here without the workbench's reading
    mapped = pd.read_parquet(run_file.parent / "mapped" / "skolenkat_2025.parquet")
    gy2 = int(mapped["grade"].astype(str).eq("gy2").sum())
    assert gy2 > 0
    findings = check_project(run_file, lang="en")
    texts = {f.text for f in findings}
    assert "respondents: grades in run.yaml (ak7, ak9) replace the instrument's list (ak7, ak9," \
        " gy2) in instrument.yaml; the run file's list is used to read the survey files and in" \
        " the reports." in texts  # fmt: skip
    data = [t for t in texts if t.startswith(f"{gy2} rows have grade gy2")]
    assert data and "not in the run file's (respondents: grades in run.yaml)" in data[0]
    assert f"{gy2} of {len(mapped)} rows would be quarantined" in " ".join(texts)
    swedish = " ".join(f.text for f in check_project(run_file, lang="sv"))
    assert f"{gy2} rader har grade gy2" in swedish


def test_run_file_grades_are_checked_like_the_instruments(tmp_path):
    twice = RUN_GRADES.replace("code: ak9", "code: ak7")
    run_file = _example_project(tmp_path, run_text=lambda r: r + twice)
    with pytest.raises(ConfigFileError, match=r"respondents\.grades.*ak7"):
        load_run_config(run_file)


@pytest.mark.slow
def test_the_reports_name_the_run_files_grades(tmp_path):
    relabelled = (
        RUN_GRADES + '    - {code: gy2, year: 11, label: {sv: "Gymnasiet 2", en: "Upper 2"}}\n'
    )
    run_file = _example_project(tmp_path, run_text=lambda r: r + relabelled)
    assert main(["validate", "--config", str(run_file)]) == 0
    out = tmp_path / "out"
    code = main(["run", "--config", str(run_file), "--out", str(out), "--areas", "norr"])
    assert code == 0
    info = json.loads((out / "2025" / "data" / "run_info.json").read_text(encoding="utf-8"))
    assert [g["label"]["sv"] for g in info["respondents"]["grades"]] == [
        "Årskurs 7", "Årskurs 9", "Gymnasiet 2"
    ]  # fmt: skip
    report = (out / "2025" / "norr" / "01_survey_analysis.ipynb").read_text(encoding="utf-8")
    assert "Årskurs 7" in report and "Gymnasiet 2" in report
    # the instrument's labels remain only in its own glossary entry
    assert "åk 7" not in report.replace("elever i åk 7, åk 9 och gy 2", "")
