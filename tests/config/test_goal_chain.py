"""The goal-chain file model (ctc_helpers.config.goal_chain); the loading and evaluation tests
with the example chains are in tests/views/test_goal_chain.py."""

from __future__ import annotations

import pytest
import yaml

from ctc_helpers.config.goal_chain import (
    GoalChainFile,
    GoalEntry,
    goal_schema,
    indicator_kind_spec,
    load_goal_chain,
    schema_codes,
)
from ctc_helpers.config.messages import ConfigFileError

GOAL = {
    "id": "alcohol",
    "level": "long",
    "indicator": {"kind": "behaviour", "measure": "alcohol_30d"},
    "baseline": 0.25,
    "target": 0.15,
    "target_year": 2029,
}


def _write(tmp_path, data):
    path = tmp_path / "norr.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_the_models_have_the_keys_of_the_schema():
    schema = goal_schema()
    assert list(GoalChainFile.model_fields) == [f["name"] for f in schema["fields"]]
    assert list(GoalEntry.model_fields) == [f["name"] for f in schema["goal_fields"]]
    required = [f["name"] for f in schema["goal_fields"] if f.get("required")]
    assert [n for n, f in GoalEntry.model_fields.items() if f.is_required()] == required


def test_schema_helpers():
    assert schema_codes("indicator_kinds") == ("behaviour", "factor", "reach", "fidelity")
    assert indicator_kind_spec("factor")["better"] == {"risk": "decrease", "protective": "increase"}


def test_every_problem_of_every_goal_at_once_in_swedish(tmp_path, default_instrument, monkeypatch):
    monkeypatch.delenv("CTC_LANG", raising=False)
    data = {
        "area": "norr",
        "baseline_wave": 2021,
        "goals": [
            {**GOAL, "target": 15, "direction": "up"},
            {**GOAL, "id": "reach", "level": "short", "target_year": 2020,
             "indicator": {"kind": "reach", "measure": "alcohol_30d"}},
        ],
    }  # fmt: skip
    with pytest.raises(ConfigFileError) as error:
        load_goal_chain(_write(tmp_path, data), instrument=default_instrument)
    assert str(error.value) == (
        "norr.yaml har 4 fel:\n"
        "  - goals[alcohol].direction är 'up'; tillåtet: decrease, increase.\n"
        "  - goals[alcohol].target är 15; ange ett tal mellan 0 och 1 (skriv en andel: 0.21 för"
        " 21 %).\n"
        "  - goals[reach].indicator.measure hör inte till en indikator av typen reach; den"
        " behöver: programme.\n"
        "  - goals[reach].target_year är 2020; det måste komma efter utgångsåret 2021."
    )


def test_links_are_checked_once_every_goal_is_valid(tmp_path, default_instrument):
    data = {
        "area": "norr",
        "baseline_wave": 2021,
        "goals": [
            {**GOAL, "contributes_to": ["alcohol", "nowhere"]},
            {**GOAL, "id": "conflict", "level": "medium", "contributes_to": ["alcohol"],
             "indicator": {"kind": "factor", "measure": "family_conflict"}},
        ],
    }  # fmt: skip
    with pytest.raises(ConfigFileError) as error:
        load_goal_chain(_write(tmp_path, data), instrument=default_instrument)
    assert error.value.text("en") == (
        "norr.yaml has 3 problems:\n"
        "  - goals[alcohol].contributes_to[1] is 'alcohol'; a goal cannot contribute to itself.\n"
        "  - goals[alcohol].contributes_to[2] is 'nowhere'; no such goal in the file; allowed:"
        " alcohol, conflict.\n"
        "  - cutpoint_version is null; the factor goal 'conflict' needs the cut-point version its"
        " baseline was computed with (the cutpoint_version column of the published aggregates,"
        " or its common start such as 'ctc-default-2026.1/ref-2021')."
    )


def test_direction_group_and_texts(tmp_path, default_instrument):
    data = {
        "area": "norr",
        "baseline_wave": 2021,
        "title": {"sv": "Mål", "en": "Goals"},
        "goals": [
            {**GOAL, "group": {"grade": "ak9", "sex": "F"}, "label": "Alkohol"},
            {**GOAL, "id": "parents", "level": "short", "baseline": None,
             "indicator": {"kind": "reach", "programme": " Steg för steg "}},
        ],
    }  # fmt: skip
    chain = load_goal_chain(_write(tmp_path, data), instrument=default_instrument, area="norr")
    alcohol, parents = chain.goals
    assert (alcohol.direction, alcohol.grade, alcohol.sex, alcohol.label) == (
        "decrease", "ak9", "F", "Alkohol"
    )  # fmt: skip
    assert (parents.direction, parents.programme, parents.baseline) == (
        "increase", "Steg för steg", None
    )  # fmt: skip
    assert chain.title == {"sv": "Mål", "en": "Goals"} and chain.cutpoint_version is None


def test_a_survey_with_its_own_grades_checks_goals_against_them(tmp_path, default_instrument):
    """A municipality's own grade list (here g9 and g10) is the one goal groups are read with,
    from the published folder (Published.respondent_schema) as the reports and dashboards do."""
    from ctc_helpers.config.goal_chain import load_area_goal_chain
    from ctc_helpers.config.instrument import load_respondent_schema
    from ctc_helpers.publish.read import Published

    own = [{"code": "g9", "label": {"sv": "åk 9", "en": "Grade 9"}},
           {"code": "g10", "label": {"sv": "gy 1", "en": "Grade 10"}}]  # fmt: skip
    data = {"area": "norr", "baseline_wave": 2021,
            "goals": [{**GOAL, "group": {"grade": "g10", "sex": "F"}}]}  # fmt: skip
    (tmp_path / "norr.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigFileError, match="g10"):  # the default list has no g10
        load_area_goal_chain(tmp_path, "norr", instrument=default_instrument)
    pub = Published.__new__(Published)
    object.__setattr__(pub, "run_info", {"respondents": {"grades": own}})
    schema = pub.respondent_schema()
    assert schema.grade_codes == ("g9", "g10")
    assert schema.sex_codes == load_respondent_schema().sex_codes  # not published: the default
    chain = load_area_goal_chain(
        tmp_path, "norr", instrument=default_instrument, respondent_schema=schema
    )
    assert chain.goals[0].grade == "g10"
