"""The one formatter of configuration problems (ctc_helpers.config.messages)."""

from __future__ import annotations

import pickle

import pytest
from pydantic import ValidationError

from ctc_helpers.config.fields import FileModel, Texts, whole
from ctc_helpers.config.messages import (
    MAX_LISTED,
    NO_VALUE,
    ConfigFileError,
    Problem,
    Text,
    check,
    key_path,
    problems_from,
    show_value,
    validate,
)
from ctc_helpers.errors import ConfigError


class Entry(FileModel):
    id: str
    size: whole(minimum=1)
    label: Texts


class Example(FileModel):
    entries: list[Entry]
    name: str = ""


def test_a_pydantic_error_becomes_problems_with_paths_and_values():
    raw = {"entries": [{"id": "a", "size": 0, "label": {"sv": "x"}}, {"id": "2b", "size": "x"}],
           "extra": 1}  # fmt: skip
    with pytest.raises(ValidationError) as error:
        Example.model_validate(raw)
    problems = problems_from(error.value, model=Example, raw=raw)
    assert [(p.path, p.key, p.value) for p in problems] == [
        ("entries[a].size", "cfg_whole_min", 0),
        ("entries[a].label.en", "cfg_missing", NO_VALUE),
        ("entries[2].size", "cfg_whole_min", "x"),  # '2b' starts with a digit: shown by number
        ("entries[2].label", "cfg_missing", NO_VALUE),
        ("extra", "cfg_unknown_key", NO_VALUE),
    ]
    assert problems[-1].values == {"allowed": ["entries", "name"]}


def test_the_message_in_both_languages_and_as_an_exception():
    model, problems = check(Example, {"entries": "x"})
    assert model is None
    error = ConfigFileError("example.yaml", problems)
    assert isinstance(error, ConfigError)
    assert error.text("en") == "example.yaml: entries is 'x'; expected a list, e.g. [a, b]."
    assert error.text("sv") == "example.yaml: entries är 'x'; ange en lista, t.ex. [a, b]."
    with pytest.raises(ConfigFileError) as raised:
        validate(Example, {"entries": [], "name": 5}, file="example.yaml")
    assert raised.value.text("en") == "example.yaml: name is 5; expected a text."


def test_long_lists_of_problems_are_cut_and_counted():
    problems = [Problem(f"entries[{i}]", "cfg_text", {}, i) for i in range(1, MAX_LISTED + 6)]
    lines = ConfigFileError("big.yaml", problems).text("en").splitlines()
    assert lines[0] == f"big.yaml has {MAX_LISTED + 5} problems:"
    assert len(lines) == 1 + MAX_LISTED + 1 and lines[-1] == "  - … and 5 more."


def test_values_are_shown_as_written_in_yaml_and_shortened():
    assert show_value(None) == "null" and show_value(False) == "false"
    assert show_value({"grade": "ak9"}) == "{'grade': 'ak9'}"
    long = show_value("x" * 500)
    assert len(long) == 80 and long.endswith("…")
    assert key_path(("a", 0, "b", 1), {"a": [{"id": "x y", "b": [1, 2]}]}) == "a[1].b[2]"


def test_an_error_survives_pickling_in_both_languages():
    error = ConfigFileError(
        "run.yaml",
        [Problem("min_cell", "cfg_whole_min", {"min": 1}, "ten"),
         Problem("data", "cfg_missing"),
         Problem("", "cfg_cannot_read", {"what": Text("cfg_what_run_file"), "where": "/r.yaml",
                                         "reason": Text("cfg_reason_missing")})],
    )  # fmt: skip
    copy = pickle.loads(pickle.dumps(error))
    assert copy.problems[1].value is NO_VALUE
    assert (
        copy.text("en")
        == error.text("en")
        == (
            "run.yaml has 3 problems:\n"
            "  - min_cell is 'ten'; expected a whole number of at least 1.\n"
            "  - data is missing; the key is required.\n"
            "  - Cannot read the run file /r.yaml: the file does not exist."
        )
    )
    assert (
        copy.text("sv").splitlines()[3] == "  - Kan inte läsa körfilen /r.yaml: filen finns inte."
    )
