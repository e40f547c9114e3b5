"""The parameters a phase notebook declares (ctc_helpers.config.notebook_params)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from ctc_helpers.config.messages import ConfigFileError
from ctc_helpers.config.notebook_params import (
    check_parameter_types,
    check_parameters,
    declared_parameters,
    notebook_defaults,
)

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "notebooks" / "tests" / "tiny.ipynb"
STANDARD = dict.fromkeys(["area", "wave", "lang", "data_dir", "min_cell", "output_dir"], 1)


def _notebook(path: Path, source: str | None) -> Path:
    cells = [{"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": [],
              "execution_count": None, "id": "a1"}]  # fmt: skip
    if source is not None:
        cells.insert(0, {**cells[0], "id": "p1", "source": source,
                         "metadata": {"tags": ["parameters"]}})  # fmt: skip
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = {"cells": cells, "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def _job(notebook: Path, parameters: dict) -> SimpleNamespace:
    return SimpleNamespace(notebook=notebook, parameters=parameters)


def test_declared_parameters_read_the_annotations(tmp_path: Path) -> None:
    source = (
        "a: int = 1  # one\nb: float = 0.5\nc: str | None = None\nd: list[str] = []\n"
        "e: dict[str, int] = {}\nf: tuple[int, ...] = ()\ng: Path = None\nh = 3\n"
    )
    found = declared_parameters(_notebook(tmp_path / "n.ipynb", source))
    assert list(found) == ["a", "b", "c", "d", "e", "f", "g"]  # h has no annotation
    assert found["a"].line == "a: int = 1" and found["c"].annotation == "str | None"
    cases = {
        "a": ([1], [1.0, True, "1"]),
        "b": ([1, 0.5], ["0.5", None, False]),
        "c": (["x", None], [1]),
        "d": ([[], ["x"]], [["x", 1], "x"]),
        "e": ([{"k": 1}], [{"k": "1"}]),
        "f": ([[1, 2]], [["a"], 1]),  # YAML gives lists: tuple[int, ...] is a list of int
        "g": (["anything", 1, None], []),  # an unknown type is not checked
    }
    for name, (good, bad) in cases.items():
        assert all(found[name].accepts(v) for v in good), name
        assert not any(found[name].accepts(v) for v in bad), name


def test_an_unreadable_cell_declares_nothing(tmp_path: Path) -> None:
    assert declared_parameters(_notebook(tmp_path / "s.ipynb", "a: int = (")) == {}
    assert declared_parameters(_notebook(tmp_path / "u.ipynb", None)) == {}
    broken = tmp_path / "b.ipynb"
    broken.write_text("{not json", encoding="utf-8")
    assert declared_parameters(broken) == {}


def test_check_parameter_types_names_the_first_refusing_notebook(tmp_path: Path) -> None:
    one = _notebook(tmp_path / "one.ipynb", "n: int = 1\n")
    two = _notebook(tmp_path / "two.ipynb", "n: str = ''\nm: bool = False\n")
    problems = check_parameter_types(
        [("parameters", {"n": "x", "m": 1, "other": 1}, ["one", "two"])],
        {"one": one, "two": two},
    )
    assert [(p.path, p.value, p.values["notebook"]) for p in problems] == [
        ("parameters.n", "x", "one"),
        ("parameters.m", 1, "two"),
    ]
    assert problems[1].text("en") == (
        "parameters.m is 1; the notebook two expects true or false (bool) (m: bool = False)."
    )


def test_check_parameters_accepts_declared_names() -> None:
    check_parameters([_job(TINY, STANDARD)])  # the tiny notebook declares every standard one


def test_parameter_check_messages(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("CTC_LANG", raising=False)
    unreadable = _notebook(
        tmp_path / "unreadable.ipynb", 'area = "all"  # the city is "all" = every area\nwave = 1'
    )
    with pytest.raises(ConfigFileError) as error:
        check_parameters([_job(unreadable, STANDARD)])
    assert error.value.text("en") == (
        "Papermill cannot read line 1 of the parameters cell of unreadable.ipynb: 'area ="
        ' "all"  # the city is "all" = every area\'. Write one assignment per line, with no'
        " '=' in the comment."
    )
    assert str(error.value).startswith("Papermill kan inte läsa rad 1 i parametercellen i unread")
    untagged = _notebook(tmp_path / "untagged.ipynb", None)
    with pytest.raises(ConfigFileError) as error:
        check_parameters([_job(untagged, STANDARD)])
    assert error.value.text("en") == (
        "The notebook untagged.ipynb has no cell tagged 'parameters'; the batch cannot pass it"
        " 'area'."
    )
    with pytest.raises(ConfigFileError) as error:
        check_parameters([_job(TINY, {**STANDARD, "colour": "red"})])
    assert error.value.text("en") == (
        "The notebook tiny.ipynb has no parameter 'colour' (its parameters: area, wave, lang,"
        " data_dir, min_cell, output_dir). Remove 'colour' from the run file or add it to the"
        " notebook's parameters cell."
    )
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigFileError) as error:
        check_parameters([_job(broken, {})])
    assert error.value.text("en").startswith(f"Papermill cannot read the notebook {broken}: ")


def test_notebook_defaults_are_the_literals_of_the_cell() -> None:
    assert notebook_defaults(TINY) == {
        "area": "all", "wave": 2025, "lang": "sv", "data_dir": ".", "min_cell": 10,
        "output_dir": ".",
    }  # fmt: skip
