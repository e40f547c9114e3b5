"""The milestone checklist: the default checklist, the municipality's own milestones, an area's
yearly checklist, and the messages for broken files (file, key path and value, sv and en)."""

from __future__ import annotations

import math
import textwrap

import pytest
import yaml

from ctc_helpers.config.checklist import (
    CHECKLIST_SCHEMA,
    ChecklistFile,
    ScoreEntry,
    checklist_frame,
    checklist_path,
    checklist_years,
    load_area_checklists,
    load_checklist,
    load_checklist_definition,
)
from ctc_helpers.config.messages import ConfigFileError
from ctc_helpers.paths import SAMPLE_DIR

RAW = yaml.safe_load(CHECKLIST_SCHEMA.read_text(encoding="utf-8"))
SAMPLE_PROCESS = SAMPLE_DIR / "process"


@pytest.fixture(scope="module")
def definition():
    return load_checklist_definition()


def _write(folder, name: str, text: str):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# The default checklist


def test_the_default_checklist_follows_the_five_phases(definition):
    assert [p.number for p in definition.phases] == [1, 2, 3, 4, 5]
    # Socialstyrelsen's phase names (ctc-domain.md §5.2) for phases 1-4
    assert [p.title["sv"] for p in definition.phases[:4]] == [
        "Starta processen", "Förvalta, involvera, organisera", "Gör en områdesprofil",
        "Gör en handlingsplan",
    ]  # fmt: skip
    assert definition.met_from == 3 and definition.max_score == 4
    assert sorted(definition.scale) == [0, 1, 2, 3, 4]
    counted = {p["phase"]: len(p["milestones"]) for p in RAW["phases"]}
    assert {p: sum(m.phase == p for m in definition.milestones) for p in counted} == counted
    for milestone in definition.milestones:
        for texts in (milestone.label, milestone.text):
            assert set(texts) == {"sv", "en"} and all(v.strip() for v in texts.values())
        assert milestone.text["sv"].endswith(".") and milestone.text["en"].endswith(".")
    assert len(set(definition.milestone_ids)) == len(definition.milestones)


def test_the_steering_group_criteria_span_the_process(definition):
    criteria = [m for m in definition.milestones if m.steering_group]
    assert [m.id for m in criteria] == [
        "steering-group-formed", "steering-group-mandate", "steering-group-meets",
        "steering-group-sectors", "steering-group-adopts", "steering-group-follows-up",
    ]  # fmt: skip
    assert sorted({m.phase for m in criteria}) == [1, 2, 4, 5]


def test_the_file_models_have_the_keys_the_schema_documents():
    assert list(ChecklistFile.model_fields) == [f["name"] for f in RAW["checklist_fields"]]
    assert list(ScoreEntry.model_fields) == [f["name"] for f in RAW["score_fields"]]
    required = {f["name"] for f in RAW["score_fields"] if f["required"]}
    assert {n for n, f in ScoreEntry.model_fields.items() if f.is_required()} == required


def test_own_milestones_are_added_after_the_default_ones_of_their_phase(tmp_path):
    _write(tmp_path, "milestones.yaml", """\
        milestones:
          - id: youth-council
            phase: 2
            label: {sv: Ungdomsråd, en: Youth council}
            text: {sv: "Ungdomsrådet är med.", en: "The youth council takes part."}
        """)  # fmt: skip
    definition = load_checklist_definition(tmp_path)
    ids = list(definition.milestone_ids)
    own = definition.milestone("youth-council")
    assert own.own and own.phase == 2 and not own.steering_group
    phase_two = [m.id for m in definition.milestones if m.phase == 2]
    assert phase_two[-1] == "youth-council"
    assert ids.index("youth-council") == ids.index(phase_two[-2]) + 1


def test_broken_own_milestones_name_the_file_the_key_and_the_value(tmp_path):
    _write(tmp_path, "milestones.yaml", """\
        milestones:
          - id: coordinator
            phase: 2
            label: {sv: a, en: a}
            text: {sv: a, en: a}
          - id: Youth Council
            phase: 7
            label: {sv: b, en: b}
            text: {sv: b}
        """)  # fmt: skip
    with pytest.raises(ConfigFileError) as caught:
        load_checklist_definition(tmp_path)
    english = caught.value.text("en")
    assert english.startswith("milestones.yaml has 4 problems:")
    assert "milestones[coordinator].id is 'coordinator'; that milestone is already in the " \
           "default checklist" in english  # fmt: skip
    assert "milestones[2].id is 'Youth Council'; use lower-case letters" in english
    assert "milestones[2].phase is 7; allowed: 1, 2, 3, 4, 5." in english
    assert "milestones[2].text.en is missing" in english
    assert str(caught.value).startswith("milestones.yaml har 4 fel:")  # Swedish by default


# --------------------------------------------------------------------------------------------
# An area's checklist


CHECKLIST = """\
    area: norr
    year: 2025
    assessed: 2025-11-14
    assessed_by: Områdesteamet
    milestones:
      - id: coordinator
        score: 4
        date: 2021-03-01
        basis: Delegationsbeslut
      - id: steering-group-meets
        score: 1
        comment: Ett möte.
      - id: survey-run
        score: null
    """


def test_a_checklist_is_read_and_unlisted_milestones_are_not_assessed(tmp_path, definition):
    path = _write(tmp_path, "norr/checklist_2025.yaml", CHECKLIST)
    checklist = load_checklist(path, definition=definition, area="norr", year=2025)
    assert checklist.assessed.isoformat() == "2025-11-14"
    assert [(s.id, s.score) for s in checklist.scores] == [
        ("coordinator", 4), ("steering-group-meets", 1), ("survey-run", None),
    ]  # fmt: skip
    frame = checklist_frame([checklist], definition)
    assert len(frame) == len(definition.milestones)
    scored = frame.set_index("milestone")["score"]
    assert scored["coordinator"] == 4 and scored["steering-group-meets"] == 1
    assert frame["score"].notna().sum() == 2  # survey-run (null) and the unlisted ones: NaN
    assert math.isnan(scored["survey-run"])
    row = frame.set_index("milestone").loc["coordinator"]
    assert (row["phase"], row["basis"], str(row["date"])) == (1, "Delegationsbeslut", "2021-03-01")
    assert frame["order"].tolist() == list(range(len(definition.milestones)))


BROKEN = """\
    area: soder
    year: 2024
    assessed: 2025-11-14
    colour: blue
    milestones:
      - id: steering-group-meet
        score: 3
      - id: coordinator
        score: 5
      - id: coaching
        score: "3"
      - id: area-team
        score: 2
        date: 2025-12-01
      - id: area-team
        score: 2
    """


def test_a_broken_checklist_lists_every_problem_with_key_path_and_value(tmp_path, definition):
    path = _write(tmp_path, "norr/checklist_2025.yaml", BROKEN)
    with pytest.raises(ConfigFileError) as caught:
        load_checklist(path, definition=definition, area="norr", year=2025)
    english = caught.value.text("en")
    assert english.startswith("checklist_2025.yaml has 6 problems:")
    assert "area is 'soder'; the file is in the folder of the area 'norr'" in english
    assert "year is 2024; the file is named for the year 2025" in english
    assert "colour is not a known key here; allowed keys: area, year, assessed" in english
    unknown = "milestones[steering-group-meet].id is 'steering-group-meet'; not a milestone"
    assert f"{unknown} of the checklist; did you mean 'steering-group-meets'?" in english
    assert "milestones[coordinator].score is 5; expected a score from 0 to 4" in english
    assert "milestones[coaching].score is '3'; expected a score from 0 to 4" in english
    swedish = caught.value.text("sv")
    assert "milestones[coordinator].score är 5; ange en poäng från 0 till 4" in swedish


def test_links_between_entries_are_checked_once_the_values_are_valid(tmp_path, definition):
    text = BROKEN.replace("area: soder", "area: norr").replace("year: 2024", "year: 2025")
    text = text.replace("    colour: blue\n", "").replace(
        "steering-group-meet\n", "steering-group-meets\n"
    )
    text = text.replace("score: 5", "score: 4").replace('score: "3"', "score: 3")
    path = _write(tmp_path, "norr/checklist_2025.yaml", text)
    with pytest.raises(ConfigFileError) as caught:
        load_checklist(path, definition=definition, area="norr", year=2025)
    english = caught.value.text("en")
    assert "milestones uses the id 'area-team' more than once" in english
    assert "milestones[area-team].date is '2025-12-01'; the date is after the " \
           "assessment (2025-11-14)" in english  # fmt: skip


def test_an_assessment_long_after_its_year_is_refused(tmp_path, definition):
    path = _write(tmp_path, "norr/checklist_2023.yaml",
                  CHECKLIST.replace("year: 2025", "year: 2023"))  # fmt: skip
    with pytest.raises(ConfigFileError, match="bedömningen av år 2023 ska vara gjord") as e:
        load_checklist(path, definition=definition, area="norr", year=2023)
    assert e.value.text("en").startswith("checklist_2023.yaml: assessed is '2025-11-14'; the")


def test_unreadable_and_non_yaml_files_are_named(tmp_path, definition):
    with pytest.raises(ConfigFileError) as caught:
        load_checklist(tmp_path / "nowhere.yaml", definition=definition)
    assert caught.value.text("en").startswith("Cannot read the checklist ")
    assert "the file does not exist" in caught.value.text("en")
    path = _write(tmp_path, "bad.yaml", "area: [norr\n")
    with pytest.raises(ConfigFileError, match=r"bad.yaml är inte giltig YAML \(rad 2"):
        load_checklist(path, definition=definition)


def test_an_areas_checklists_are_found_by_year(tmp_path, definition):
    for year in (2023, 2025):
        _write(tmp_path, f"norr/checklist_{year}.yaml", CHECKLIST.replace("2025", str(year)))
    _write(tmp_path, "norr/checklist_2025_old.yaml", "not: read")
    _write(tmp_path, "norr/notes.txt", "not read")
    assert checklist_years(tmp_path, "norr") == (2023, 2025)
    assert checklist_years(tmp_path, "none") == ()
    assert checklist_path(tmp_path, "norr", 2023) == tmp_path / "norr" / "checklist_2023.yaml"
    found = load_area_checklists(tmp_path, "norr", definition=definition, up_to=2024)
    assert [c.year for c in found] == [2023]


def test_the_demo_checklists_are_valid_and_complete(definition):
    for area in ("norra-hamnen", "solvik", "stenkulla"):
        checklists = load_area_checklists(SAMPLE_PROCESS, area, definition=definition)
        assert [c.year for c in checklists] == [2021, 2022, 2023, 2024, 2025]
        for checklist in checklists:
            assert [s.id for s in checklist.scores] == list(definition.milestone_ids)
            for score in checklist.scores:
                if score.score:  # from 1 up a score rests on something dated
                    assert score.basis and score.date <= checklist.assessed
