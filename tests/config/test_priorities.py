"""A team's priorities file (ctc_helpers.config.priorities, data_schema/priorities.yaml)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from ctc_helpers.config.messages import ConfigFileError
from ctc_helpers.config.priorities import PrioritiesFile, load_team_choices, priorities_fields
from ctc_helpers.paths import SAMPLE_DIR

KNOWN = pd.DataFrame(
    {
        "measure": ["r_a", "r_b", "r_c", "p_a", "p_b", "alcohol"],
        "measure_kind": ["risk", "risk", "risk", "protective", "protective", "behaviour"],
    }
)
VALID = (
    "area: a\nwave: 2025\ndecided: 2025-11-18\nrisk_factors: [r_a, r_c]\n"
    "protective_factors: [p_a]\nnote: Beslut i teamet.\n"
)


def write_choice(folder, text, area="a"):
    (folder / f"{area}.yaml").write_text(text, encoding="utf-8")
    return folder


def test_load_team_choices(tmp_path):
    choices = load_team_choices(write_choice(tmp_path, VALID), "a", factors=KNOWN)
    assert choices.risk_factors == ("r_a", "r_c")
    assert choices.protective_factors == ("p_a",)
    assert choices.decided.isoformat() == "2025-11-18"
    assert choices.wave == 2025 and choices.note == "Beslut i teamet."
    assert choices.path == tmp_path / "a.yaml" and choices.factors == ("r_a", "r_c", "p_a")


def test_optional_keys_and_a_quoted_date(tmp_path):
    text = "area: a\nwave: 2025\ndecided: '2025-11-18'\nrisk_factors: [r_b]\n"
    choices = load_team_choices(write_choice(tmp_path, text), "a", factors=KNOWN)
    assert choices.protective_factors == () and choices.note == ""
    assert choices.decided.isoformat() == "2025-11-18"
    text += "protective_factors: null\nnote: null\n"
    assert load_team_choices(write_choice(tmp_path, text), "a", factors=KNOWN).note == ""


def test_no_file_gives_none(tmp_path):
    assert load_team_choices(tmp_path, "a", factors=KNOWN) is None


def test_the_model_has_the_keys_of_the_schema():
    fields = priorities_fields()
    assert list(PrioritiesFile.model_fields) == list(fields)
    required = [name for name, spec in fields.items() if spec.get("required")]
    assert [n for n, f in PrioritiesFile.model_fields.items() if f.is_required()] == required


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (VALID.replace("[r_a, r_c]", "[r_a, r_cc]"),
         "risk_factors[2] is 'r_cc'; not the id of a risk factor of the instrument. Did you mean"
         " 'r_c'? Known risk factors: r_a, r_b, r_c."),
        (VALID.replace("[r_a, r_c]", "[r_a, r_zz]"),
         "risk_factors[2] is 'r_zz'; not the id of a risk factor of the instrument. Known risk"
         " factors: r_a, r_b, r_c."),
        (VALID.replace("[r_a, r_c]", "[r_a, p_b]"),
         "risk_factors[2] is 'p_b'; it is a protective factor, not a risk factor: move it to"
         " protective_factors."),
        (VALID.replace("[p_a]", "[p_a, p_b, p_a, p_b]"),
         "protective_factors lists 4 factors; choose 0 to 3."),
        (VALID.replace("[r_a, r_c]", "[]"), "risk_factors lists 0 factors; choose 1 to 5."),
        (VALID.replace("[r_a, r_c]", "[r_a, r_a]"), "risk_factors lists the factor 'r_a' twice."),
        (VALID.replace("[r_a, r_c]", "r_a"),
         "risk_factors is 'r_a'; expected a list of factor ids, e.g. [family_conflict]."),
        (VALID.replace("wave: 2025\n", ""), "wave is missing; the key is required."),
        (VALID.replace("wave: 2025", "wave: tjugo"),
         "wave is 'tjugo'; expected a whole number from 2000 to 2100."),
        (VALID.replace("wave: 2025", "wave: 1990"),
         "wave is 1990; expected a whole number from 2000 to 2100."),
        (VALID.replace("2025-11-18", "18/11/2025"),
         "decided is '18/11/2025'; expected a date YYYY-MM-DD."),
        (VALID.replace("area: a", "area: b"),
         "area is 'b'; the file is named for the area 'a'; write area: a, or rename the file."),
        (VALID + "owner: Kim\n",
         "owner is not a known key here; allowed keys: area, wave, decided, risk_factors,"
         " protective_factors, priority_behaviours, note."),
        (VALID.replace("note: Beslut i teamet.", "note: [1, 2]"),
         "note is [1, 2]; expected a text."),
        ("- a\n- b\n", "the file must hold keys and values at the top level (area, wave,"),
    ],
)  # fmt: skip
def test_invalid_choice_files(tmp_path, text, message):
    folder = write_choice(tmp_path, text)
    with pytest.raises(ConfigFileError) as error:
        load_team_choices(folder, "a", factors=KNOWN)
    assert error.value.text("en").startswith(f"a.yaml: {message}"), error.value.text("en")


def test_every_problem_at_once_in_swedish(tmp_path, monkeypatch):
    monkeypatch.delenv("CTC_LANG", raising=False)
    text = "area: a\nwave: 1990\nrisk_factors: [r_zz, p_a]\nnote: ok\n"
    with pytest.raises(ConfigFileError) as error:
        load_team_choices(write_choice(tmp_path, text), "a", factors=KNOWN)
    assert str(error.value) == (
        "a.yaml har 4 fel:\n"
        "  - wave är 1990; ange ett heltal från 2000 till 2100.\n"
        "  - decided saknas; nyckeln måste finnas.\n"
        "  - risk_factors[1] är 'r_zz'; inte id för en riskfaktor i instrumentet. Kända"
        " riskfaktorer: r_a, r_b, r_c.\n"
        "  - risk_factors[2] är 'p_a'; det är en skyddsfaktor, inte en riskfaktor: flytta den"
        " till protective_factors."
    )


def test_unreadable_and_hostile_files(tmp_path):
    write_choice(tmp_path, "area: [unclosed\n")
    with pytest.raises(ConfigFileError) as error:
        load_team_choices(tmp_path, "a", factors=KNOWN)
    assert re.match(r"a\.yaml is not valid YAML \(line 2, column 1\): ", error.value.text("en"))
    bomb = ["x0: &x0 [a, a, a, a, a, a, a, a, a]"]
    bomb += [f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 9)}]" for i in range(1, 10)]
    write_choice(tmp_path, VALID + "\n".join(bomb) + "\n")
    with pytest.raises(ConfigFileError) as error:
        load_team_choices(tmp_path, "a", factors=KNOWN)
    assert "a.yaml: the YAML anchors and aliases" in error.value.text("en")


@pytest.mark.parametrize("area", ["norra-hamnen", "solvik", "stenkulla"])
def test_demo_choices_validate_against_the_instrument(area):
    choices = load_team_choices(SAMPLE_DIR / "priorities", area)
    assert choices.area == area and choices.wave == 2025
    assert 2 <= len(choices.factors) <= 5


def test_relative_folder_is_found_from_the_repository(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # data/sample/priorities does not exist here
    assert load_team_choices("data/sample/priorities", "solvik") is not None


def test_priority_behaviours_are_read_in_order(tmp_path):
    text = VALID + "priority_behaviours: [alcohol]\n"
    choices = load_team_choices(write_choice(tmp_path, text), "a", factors=KNOWN)
    assert choices.priority_behaviours == ("alcohol",)
    plain = load_team_choices(write_choice(tmp_path, VALID), "a", factors=KNOWN)
    assert plain.priority_behaviours == ()


def test_unknown_priority_behaviour_is_named_with_a_suggestion(tmp_path):
    text = VALID + "priority_behaviours: [alcohool]\n"
    with pytest.raises(ConfigFileError) as caught:
        load_team_choices(write_choice(tmp_path, text), "a", factors=KNOWN)
    message = caught.value.text("en")
    assert "priority_behaviours[1] is 'alcohool'" in message and "'alcohol'" in message
