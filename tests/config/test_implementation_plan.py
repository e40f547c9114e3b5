"""The implementation plan: its model against the schema, the demo plans, the links to the goal
chain and the messages for broken files (file, key path and value, sv and en)."""

from __future__ import annotations

import math
import textwrap

import pytest
import yaml

from ctc_helpers.config.goal_chain import load_goal_chain
from ctc_helpers.config.implementation_plan import (
    PLAN_SCHEMA,
    Activity,
    Budget,
    ImplementationPlanFile,
    PlanProgramme,
    Support,
    TargetReach,
    activities_frame,
    load_area_implementation_plan,
    load_implementation_plan,
    plan_frame,
)
from ctc_helpers.config.messages import ConfigFileError
from ctc_helpers.paths import SAMPLE_DIR

SCHEMA = yaml.safe_load(PLAN_SCHEMA.read_text(encoding="utf-8"))
PROCESS = SAMPLE_DIR / "process"


@pytest.fixture(scope="module")
def chain(default_instrument):
    return load_goal_chain(SAMPLE_DIR / "goal_chains" / "norra-hamnen.yaml",
                           instrument=default_instrument)  # fmt: skip


PLAN = """\
    area: norr
    decided: 2024-03-15
    programmes:
      - id: northland
        programme: Project Northland
        goals: [northland-reach, northland-fidelity]
        responsible: Hamnskolan
        start: 2024-08-15
        end: 2027-06-30
        budget: {sek: 100000, per: year}
        target_group: Elever i åk 6-9
        target_reach: {share: 0.75}
        fidelity_target: 0.85
        support: {trained_staff: 4, coaching_per_year: 6, implementation_team: Rektorn}
        activities:
          - {id: training, text: Utbildning, start: 2024-08-15, end: 2024-10-31}
    """


def _write(folder, text: str, name: str = "norr/implementation_plan.yaml"):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("model", "section"),
    [(ImplementationPlanFile, "fields"), (PlanProgramme, "programme_fields"),
     (Budget, "budget_fields"), (TargetReach, "target_reach_fields"),
     (Support, "support_fields"), (Activity, "activity_fields")],
)  # fmt: skip
def test_the_models_have_the_keys_and_requirements_the_schema_documents(model, section):
    documented = SCHEMA[section]
    assert list(model.model_fields) == [f["name"] for f in documented]
    required = {f["name"] for f in documented if f["required"]}
    assert {n for n, f in model.model_fields.items() if f.is_required()} == required


def test_a_plan_is_read_and_linked_to_the_goal_chain(tmp_path, chain):
    path = _write(tmp_path, PLAN)
    plan = load_implementation_plan(path, area="norr", chain=chain)
    frame = plan_frame(plan)
    row = frame.iloc[0]
    assert (row["plan_id"], row["goals"], row["budget_sek"], row["budget_per"]) == (
        "northland", ("northland-reach", "northland-fidelity"), 100000, "year",
    )  # fmt: skip
    assert row["target_share"] == 0.75 and math.isnan(row["target_participants"])
    assert (row["trained_staff"], row["coaching_per_year"], row["implementation_team"]) == (
        4, 6, "Rektorn",
    )  # fmt: skip
    activities = activities_frame(plan)
    assert activities[["activity", "responsible"]].values.tolist() == [["training", "Hamnskolan"]]
    assert load_area_implementation_plan(tmp_path, "norr", chain=chain) == plan
    assert load_area_implementation_plan(tmp_path, "soder") is None


def test_the_demo_plans_are_valid_against_their_goal_chains(default_instrument):
    for area in ("norra-hamnen", "solvik", "stenkulla"):
        area_chain = load_goal_chain(SAMPLE_DIR / "goal_chains" / f"{area}.yaml",
                                     instrument=default_instrument)  # fmt: skip
        plan = load_area_implementation_plan(PROCESS, area, chain=area_chain)
        short = {g.id for g in area_chain.goals if g.level == "short"}
        assert {g for p in plan.programmes for g in p.goals} == short


BROKEN = """\
    area: soder
    decided: 2024-03-15
    budget: 5
    programmes:
      - id: northland
        programme: Project Northland
        goals: [northland-reach]
        responsible: Hamnskolan
        start: 2024-08-15
        end: 2027-06-30
        budget: {sek: -1, per: month}
        target_group: Elever
        target_reach: {share: 75}
        fidelity_target: 0.85
        support: {trained_staff: 4, coaching_per_year: 6}
      - id: other
        programme: Steg för steg
        goals: []
        responsible: Socialtjänsten
        start: 2024-08-15
        end: 2026-06-30
        budget: {sek: 1000, per: total}
        target_group: Föräldrar
        target_reach: {}
        fidelity_target: 0.8
        support: {trained_staff: 0, coaching_per_year: 0, implementation_team: null}
    """


def test_a_broken_plan_lists_every_problem_with_key_path_and_value(tmp_path):
    path = _write(tmp_path, BROKEN)
    with pytest.raises(ConfigFileError) as caught:
        load_implementation_plan(path, area="norr")
    english = caught.value.text("en")
    assert english.startswith("implementation_plan.yaml has 7 problems:")
    for line in (
        "area is 'soder'; the file is in the folder of the area 'norr'",
        "budget is not a known key here; allowed keys: area, decided, decided_by, note, programmes",
        "programmes[northland].budget.sek is -1; expected a whole number of at least 0.",
        "programmes[northland].budget.per is 'month'; allowed: year, total.",
        "programmes[northland].target_reach.share is 75; expected a proportion between 0 and 1",
        "programmes[northland].support.implementation_team is missing; the key is required.",
        "programmes[other].target_reach is {}; give share (a share of the target group), "
        "participants (a number of participants) or both.",
    ):
        assert line in english, line
    swedish = str(caught.value)  # Swedish by default
    share = "programmes[northland].target_reach.share"
    assert f"{share} är 75; ange en andel mellan 0 och 1" in swedish


def test_dates_and_repeated_programmes_are_checked_once_the_values_are_valid(tmp_path):
    text = textwrap.dedent(PLAN).replace("end: 2027-06-30", "end: 2024-06-30") + textwrap.indent(
        textwrap.dedent("""\
          - id: northland-again
            programme: "project  northland"
            goals: []
            responsible: Hamnskolan
            start: 2024-08-15
            end: 2025-06-30
            budget: {sek: 1, per: total}
            target_group: Elever
            target_reach: {participants: 10}
            fidelity_target: 0.5
            support: {trained_staff: 1, coaching_per_year: 1, implementation_team: null}
            activities:
              - {id: late, text: Sent, start: 2025-05-01, end: 2025-08-31}
        """), "  ")  # fmt: skip
    path = _write(tmp_path, text)
    with pytest.raises(ConfigFileError) as caught:
        load_implementation_plan(path)
    english = caught.value.text("en")
    assert "programmes[northland].end is '2024-06-30'; the end is before the start " \
           "(2024-08-15)." in english  # fmt: skip
    outside = "the activity (2025-05-01 – 2025-08-31) lies outside the programme's period"
    assert f"activities[late]: {outside} (2024-08-15 – 2025-06-30)." in english
    assert "programmes[northland-again]: the programme 'project  northland' is already in the " \
           "plan (as 'northland')" in english  # fmt: skip


def test_goals_must_be_short_term_goals_of_the_chain_about_the_programme(tmp_path, chain):
    text = PLAN.replace(
        "goals: [northland-reach, northland-fidelity]",
        "goals: [northland-reach, family-conflict, reach-steg, northland-reach]",
    )
    with pytest.raises(ConfigFileError, match="'northland-reach' mer än en gång"):
        load_implementation_plan(_write(tmp_path, text), chain=chain)
    text = text.replace(", northland-reach]", "]").replace("Project Northland", "Steg för steg")
    with pytest.raises(ConfigFileError) as caught:
        load_implementation_plan(_write(tmp_path, text), chain=chain)
    english = caught.value.text("en")
    assert english.startswith("implementation_plan.yaml has 3 problems:")
    assert "programmes[northland].goals[1] is 'northland-reach'; the goal is about the " \
           "programme 'Project Northland', not 'Steg för steg'." in english  # fmt: skip
    assert "programmes[northland].goals[2] is 'family-conflict'; it is a medium goal; an " \
           "implementation plan links only to short-term goals" in english  # fmt: skip
    assert "programmes[northland].goals[3] is 'reach-steg'; not a goal of the area's goal " \
           "chain; short-term goals: northland-reach, northland-fidelity." in english  # fmt: skip
    # without the chain the same file is valid: the links are checked only against a chain
    assert load_implementation_plan(_write(tmp_path, text)).programmes[0].goals[1] == (
        "family-conflict"
    )
