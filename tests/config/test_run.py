"""The run file (ctc_helpers.config.run): the model, its messages in sv and en, job planning."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import pytest
import yaml

from ctc_helpers.cli import main as cli_main
from ctc_helpers.config.messages import ConfigFileError
from ctc_helpers.config.run import CITY, load_run_config, plan_jobs, run_config_from_dict
from ctc_helpers.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
TEST_NOTEBOOKS = REPO / "notebooks" / "tests"
WAVE = 2025


def _write_city(root: Path, areas: dict[str, str]) -> None:
    lines = ["area_id,name,municipality", *(f"{a},{n},Testby" for a, n in areas.items())]
    (root / "areas.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "survey_2025.csv").write_text("respondent_id\n", encoding="utf-8")
    (root / "instrument.yaml").write_text("instrument: {}\n", encoding="utf-8")


def _raw_config(**changes) -> dict:
    raw = {
        "data": {"survey": "survey_*.csv", "areas": "areas.csv", "instrument": "instrument.yaml"},
        "output": "reports",
        "cache": "cache",
        "notebooks": str(TEST_NOTEBOOKS),
        "phases": ["tiny"],
        "workers": 2,
        "timeout": 120,
    }
    raw.update(changes)
    return raw


@pytest.fixture
def city(tmp_path: Path) -> Path:
    _write_city(tmp_path, {"norr": "Norra delen", "fail-syd": "Södra delen", "hang-ost": "Östra"})
    return tmp_path


def _config(root: Path, **changes):
    return run_config_from_dict(_raw_config(**changes), base_dir=root)


def _refused(root: Path, **changes) -> ConfigFileError:
    with pytest.raises(ConfigFileError) as error:
        _config(root, **changes)
    return error.value


def _notebook(path: Path, source: str) -> Path:
    """A notebook whose only cell is a parameters cell with ``source``."""
    cell = {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": source,
            "outputs": [], "execution_count": None, "id": "p1"}  # fmt: skip
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = {"cells": [cell], "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# A valid run file


def test_load_run_config_resolves_paths_against_the_run_file(city: Path) -> None:
    raw = _raw_config(
        min_cell=12,
        lang="en",
        waves=[2025, 2023, 2025],
        areas=["norr"],
        phase_parameters={"tiny": {"extra_dir": "priorities"}},
        overrides={"norr": {"timeout": 30, "min_cell": 15}},
    )
    (city / "run.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    config = load_run_config(city / "run.yaml")
    assert config.survey_files == (city / "survey_2025.csv",)
    assert config.output_dir == city / "reports"
    assert config.min_cell == 12 and config.lang == "en" and config.waves == (2023, 2025)
    assert config.areas == ("norr",)
    assert config.phase_parameters == {"tiny": {"extra_dir": str(city / "priorities")}}
    assert config.override("norr").timeout == 30 and config.override("norr").min_cell == 15
    assert config.area_names == {
        "norr": "Norra delen",
        "fail-syd": "Södra delen",
        "hang-ost": "Östra",
    }
    content = (city / "run.yaml").read_bytes()
    assert config.checksum == hashlib.sha256(content).hexdigest()


def test_defaults_and_the_short_forms(city: Path) -> None:
    config = _config(city, waves=2025, areas="all", overrides=None, phase_parameters=None)
    assert config.waves == (2025,) and config.areas is None and config.overrides == {}
    assert (config.min_cell, config.lang, config.kernel, config.include_city) == (
        10,
        "sv",
        "ctc",
        True,
    )
    assert config.instrument_file == city / "instrument.yaml"
    assert _config(city, waves="latest").waves is None


def test_the_repository_run_file_is_valid() -> None:
    if not list((REPO / "data" / "sample").glob("exempelstad_*.csv")):
        pytest.skip("the demo city has not been generated (ctc demo-data)")
    config = load_run_config(REPO / "reports" / "run.yaml")
    assert config.phases[:2] == ("01_survey_analysis", "02_factor_prioritization")
    assert config.min_cell == 10 and config.lang == "sv" and config.waves is None
    assert config.synthetic is True


# --------------------------------------------------------------------------------------------
# Messages: file, key path and value, in English and Swedish


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"worker": 2}, r"run.yaml: worker is not a known key here; allowed keys: data, output,"),
        ({"min_cell": "ten"}, r"min_cell is 'ten'; expected a whole number of at least 1\."),
        ({"min_cell": 0}, r"min_cell is 0; expected a whole number of at least 1"),
        ({"timeout": -5}, r"timeout is -5; expected a whole number of at least 1"),
        ({"workers": 1.5}, r"workers is 1\.5; expected a whole number of at least 1"),
        ({"lang": "de"}, r"lang is 'de'; allowed: sv, en\."),
        ({"waves": ["2025"]}, r"waves\[1\] is '2025'; expected a survey year \(a whole number"),
        ({"waves": "2025"}, r"waves is '2025'; expected 'latest' or a list of survey years"),
        ({"areas": ["norr", "mitt"]},
         r"areas\[2\] names the area 'mitt', which is not in the area list areas\.csv\. Known "
         r"areas: norr, fail-syd, hang-ost\."),
        ({"areas": "norr"}, r"areas is 'norr'; expected 'all' or a list of area ids"),
        ({"phases": ["tiny", "03_gap_analysis"]},
         r"phases\[2\] is '03_gap_analysis'; its notebook .*03_gap_analysis\.ipynb does not exist"),
        ({"phases": ["tiny", "tiny"]}, r"phases lists the phase 'tiny' twice"),
        ({"phases": []}, r"phases is \[\]; expected a non-empty list of notebook names"),
        ({"city": "yes"}, r"city is 'yes'; expected true or false\."),
        ({"kernel": " "}, r"kernel is ' '; expected a non-empty text"),
        ({"overrides": {"mitt": {}}},
         r"overrides names the area 'mitt', which is not in the area list areas\.csv"),
        ({"overrides": {"norr": {"colour": 1}}},
         r"overrides\.norr\.colour is not a known key here; allowed keys: enabled, phases, timeout,"),
        ({"overrides": {"norr": {"min_cell": 5}}},
         r"overrides\.norr\.min_cell is 5; an area can only raise the run's min_cell 10"),
        ({"overrides": {"norr": {"phases": ["figure"]}}},
         r"overrides\.norr\.phases\[1\] names the phase 'figure', which is not in phases \(tiny\)"),
        ({"overrides": {"norr": {"enabled": "no"}}},
         r"overrides\.norr\.enabled is 'no'; expected true or false"),
        ({"parameters": {"area": "x"}}, r"parameters sets 'area', which the runner sets itself"),
        ({"parameters": {"when": dt.date(2025, 1, 1)}},
         r"parameters\.when is datetime\.date\(2025, 1, 1\); cannot be passed to a notebook"),
        ({"phase_parameters": {"other": {}}},
         r"phase_parameters names the phase 'other', which is not in phases \(tiny\)"),
        ({"data": {"survey": "none_*.csv", "areas": "areas.csv", "instrument": "instrument.yaml"}},
         r"data\.survey\[1\] is 'none_\*\.csv'; the pattern matches no file \(looked for .*none_"),
        ({"data": {"survey": "survey_*.csv", "instrument": "instrument.yaml"}},
         r"data\.areas is missing; the key is required\."),
        ({"data": {"survey": "survey_*.csv", "areas": "x.csv", "instrument": "instrument.yaml"}},
         r"data\.areas is 'x\.csv'; the file does not exist \(looked for .*x\.csv\)"),
        ({"data": {"survey": "s*", "areas": "areas.csv", "instrument": "instrument.yaml", "oops": 1}},
         r"data\.oops is not a known key here"),
        ({"data": None}, r"data is null; expected keys and values"),
        ({"notebooks": "nowhere"}, r"notebooks is 'nowhere'; the folder does not exist"),
    ],
)  # fmt: skip
def test_run_config_errors_name_the_key_and_value(city: Path, changes, expected) -> None:
    error = _refused(city, **changes)
    assert isinstance(error, ConfigError)
    assert len(error.problems) == 1, error.text("en")
    assert error.text("en").startswith("run.yaml: ")
    assert re.search(expected, error.text("en")), error.text("en")


def test_messages_are_swedish_by_default_and_english_on_request(city: Path, monkeypatch) -> None:
    monkeypatch.delenv("CTC_LANG", raising=False)
    error = _refused(city, min_cell="ten")
    assert str(error) == "run.yaml: min_cell är 'ten'; ange ett heltal som är minst 1."
    assert error.text("en") == "run.yaml: min_cell is 'ten'; expected a whole number of at least 1."
    monkeypatch.setenv("CTC_LANG", "en")
    assert str(error) == error.text("en")


def test_every_problem_is_listed_at_once(city: Path, monkeypatch) -> None:
    monkeypatch.delenv("CTC_LANG", raising=False)
    error = _refused(
        city, min_cell="ten", lang="de", areas=["mitt"], colour=1, overrides={"syd": {}}
    )
    assert [p.path for p in error.problems] == [
        "areas[1]", "min_cell", "lang", "overrides", "colour",
    ]  # fmt: skip
    text = str(error)
    assert text.startswith("run.yaml har 5 fel:\n  - areas[1] nämner området 'mitt', som inte")
    assert "\n  - lang är 'de'; tillåtet: sv, en.\n" in text
    assert error.text("en").startswith("run.yaml has 5 problems:\n")


def test_the_root_must_be_a_mapping(city: Path) -> None:
    with pytest.raises(ConfigFileError) as error:
        run_config_from_dict(["data"], base_dir=city, where="run.yaml")
    assert error.value.text("en") == (
        "run.yaml: the file must hold keys and values at the top level (data, output, cache,"
        " notebooks, phases, waves, areas, city, city_phases, min_cell, min_count,"
        " priority_behaviours, lang, workers, timeout, kernel, respondents, parameters,"
        " phase_parameters,"
        " overrides), not a list or a"
        " single text."
    )


def test_run_file_that_is_not_yaml_or_missing_is_refused(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text("phases: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as error:
        load_run_config(tmp_path / "run.yaml")
    assert error.value.text("en").startswith("run.yaml is not valid YAML (line 2, column 1): ")
    assert error.value.text("sv").startswith("run.yaml är inte giltig YAML (rad 2, kolumn 1): ")
    with pytest.raises(ConfigFileError) as error:
        load_run_config(tmp_path / "missing.yaml")
    missing = tmp_path / "missing.yaml"
    assert error.value.text("en") == f"Cannot read the run file {missing}: the file does not exist."
    assert error.value.text("sv") == f"Kan inte läsa körfilen {missing}: filen finns inte."


# --------------------------------------------------------------------------------------------
# Per-area overrides (and all extra parameters) have the types their notebooks declare


@pytest.fixture
def typed_notebooks(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    standard = "".join(f"{n}: str = ''\n" for n in ("area", "lang", "data_dir", "output_dir"))
    standard += "wave: int = 2025\nmin_cell: int = 10\n"
    _notebook(folder / "gap.ipynb", standard + "low_reach: float = 0.3  # share\nlabel: str = 'x'\n"
              "years: list[int] = [2025]\nnote: str | None = None\nfree = 1\n")  # fmt: skip
    _notebook(folder / "other.ipynb", standard + "top: int = 5\n")
    return folder


@pytest.mark.parametrize(
    ("changes", "path", "value", "expected_en", "expected_sv"),
    [
        ({"overrides": {"norr": {"parameters": {"low_reach": "abc"}}}},
         "overrides.norr.parameters.low_reach", "'abc'", "a number (float)", "ett tal (float)"),
        ({"parameters": {"top": 2.5}}, "parameters.top", "2.5", "a whole number (int)",
         "ett heltal (int)"),
        ({"phase_parameters": {"gap": {"label": 7}}}, "phase_parameters.gap.label", "7",
         "a text (str)", "en text (str)"),
        ({"overrides": {"all": {"parameters": {"years": ["2025"]}}}},
         "overrides.all.parameters.years", "['2025']", "list[int]", "list[int]"),
        ({"overrides": {"norr": {"parameters": {"low_reach": True}}}},
         "overrides.norr.parameters.low_reach", "true", "a number (float)", "ett tal (float)"),
    ],
)  # fmt: skip
def test_parameter_types_are_checked_when_the_run_file_loads(
    city: Path, typed_notebooks: Path, changes, path, value, expected_en, expected_sv
) -> None:
    error = _refused(city, notebooks=str(typed_notebooks), phases=["gap", "other"], **changes)
    phase = "other" if path == "parameters.top" else "gap"
    name = path.rsplit(".", 1)[1]
    line = next(
        p.values["line"] for p in error.problems if p.path == path
    )  # the declaring line, as written in the notebook
    assert line.startswith(f"{name}: ")
    assert error.text("en") == (
        f"run.yaml: {path} is {value}; the notebook {phase} expects {expected_en} ({line})."
    )
    assert error.text("sv") == (
        f"run.yaml: {path} är {value}; notebooken {phase} väntar sig {expected_sv} ({line})."
    )


def test_parameter_values_of_the_declared_type_pass(city: Path, typed_notebooks: Path) -> None:
    config = _config(
        city,
        notebooks=str(typed_notebooks),
        phases=["gap", "other"],
        parameters={"note": None, "free": "anything"},  # free has no annotation: not checked
        overrides={"norr": {"parameters": {"low_reach": 1, "years": [2023], "note": "n"}},
                   "fail-syd": {"phases": ["other"], "parameters": {"low_reach": "x"}}},
    )  # fmt: skip
    assert config.override("norr").parameters["low_reach"] == 1
    # fail-syd runs only 'other', which does not declare low_reach: the batch's name check
    # (check_parameters) refuses it when a run starts, not the type check
    assert config.override("fail-syd").parameters == {"low_reach": "x"}


def test_the_demo_notebook_refuses_a_text_low_reach(city: Path) -> None:
    notebooks = REPO / "notebooks"
    error = _refused(
        city,
        notebooks=str(notebooks),
        phases=["03_gap_analysis"],
        overrides={"norr": {"parameters": {"low_reach": "abc"}}},
    )
    assert error.text("en") == (
        "run.yaml: overrides.norr.parameters.low_reach is 'abc'; the notebook 03_gap_analysis"
        " expects a number (float) (low_reach: float = 0.3)."
    )


# --------------------------------------------------------------------------------------------
# Planning


def test_plan_jobs_city_first_parameters_and_overrides(city: Path) -> None:
    config = _config(
        city,
        phases=["tiny", "figure"],
        parameters={"colour_file": "colours.yaml"},
        overrides={
            "hang-ost": {"enabled": False},
            "norr": {"phases": ["figure"], "timeout": 7, "min_cell": 20},
        },
    )
    jobs = plan_jobs(config, waves=[WAVE])
    assert [(j.area, j.phase) for j in jobs] == [
        (CITY, "tiny"),
        (CITY, "figure"),
        ("norr", "figure"),
        ("fail-syd", "tiny"),
        ("fail-syd", "figure"),
    ]
    norr = jobs[2]
    assert norr.timeout == 7 and jobs[0].timeout == 120
    assert norr.parameters == {
        "area": "norr",
        "wave": WAVE,
        "lang": "sv",
        "data_dir": str(city / "reports" / "2025" / "data"),
        "min_cell": 20,
        "output_dir": str(city / "reports" / "2025" / "norr"),
        "colour_file": str(city / "colours.yaml"),
    }
    assert norr.html == city / "reports" / "2025" / "norr" / "figure.html"


def test_plan_jobs_selection_from_the_command_line(city: Path) -> None:
    config = _config(city, phases=["tiny", "figure"])
    jobs = plan_jobs(config, waves=[WAVE], areas=["norr"], phases=["figure"], timeout=9, lang="en")
    assert [(j.area, j.phase, j.timeout, j.parameters["lang"]) for j in jobs] == [
        ("norr", "figure", 9, "en")
    ]
    with pytest.raises(ConfigFileError) as error:
        plan_jobs(config, waves=[WAVE], areas=["mitt"])
    assert error.value.text("en") == (
        "There is no area 'mitt' in the area list areas.csv. Known areas: norr, fail-syd,"
        " hang-ost (and 'all' for the whole municipality)."
    )
    assert error.value.text("sv").startswith("Det finns inget område 'mitt' i områdeslistan")
    with pytest.raises(ConfigFileError) as error:
        plan_jobs(config, waves=[WAVE], phases=["nope"])
    assert (
        error.value.text("en") == "There is no phase 'nope' in the run file. Phases: tiny, figure."
    )


def test_the_command_line_shows_the_messages_in_the_language_asked_for(city, capsys, monkeypatch):
    monkeypatch.delenv("CTC_LANG", raising=False)
    (city / "run.yaml").write_text(yaml.safe_dump(_raw_config(min_cell="ten")), encoding="utf-8")
    assert cli_main(["run", "--config", str(city / "run.yaml"), "--lang", "en"]) == 2
    assert capsys.readouterr().err == (
        "Error: run.yaml: min_cell is 'ten'; expected a whole number of at least 1.\n"
    )
    assert cli_main(["run", "--config", str(city / "run.yaml")]) == 2
    assert (
        capsys.readouterr().err
        == "Fel: run.yaml: min_cell är 'ten'; ange ett heltal som är minst 1.\n"
    )


def test_priority_behaviours_default_is_read_in_order_without_repeats(city):
    config = _config(city, priority_behaviours=["truancy", "alcohol_30d", "truancy"])
    assert config.priority_behaviours == ("truancy", "alcohol_30d")
    assert _config(city).priority_behaviours == ()
