"""The process section in words: tables and plain-word flags, Swedish and English, checked
against the frames they are made from and the texts of data_schema/i18n.yaml."""

from __future__ import annotations

import pandas as pd
import pytest

from ctc_helpers.config.checklist import load_checklist_definition
from ctc_helpers.config.programme_bank import load_programme_bank
from ctc_helpers.i18n import t
from ctc_helpers.paths import SAMPLE_DIR
from ctc_helpers.phases.followup.goal_progress import programme_figures
from ctc_helpers.phases.gaps.inputs import load_enrolment
from ctc_helpers.phases.gaps.inventory import load_inventory
from ctc_helpers.phases.process import load_process
from ctc_helpers.views import process

PROCESS = SAMPLE_DIR / "process"
NAMES = {"norra-hamnen": "Norra Hamnen", "solvik": "Solvik", "stenkulla": "Stenkulla"}


@pytest.fixture(scope="module")
def definition():
    return load_checklist_definition()


@pytest.fixture(scope="module")
def stenkulla(definition):
    return load_process(PROCESS, "stenkulla", wave=2025, definition=definition)


@pytest.fixture(scope="module")
def city(definition, default_instrument):
    inventory = load_inventory(
        SAMPLE_DIR / "programme_inventory.csv", bank=load_programme_bank(),
        areas=pd.read_csv(SAMPLE_DIR / "areas.csv"), instrument=default_instrument, warn=False,
    )  # fmt: skip
    enrolment = load_enrolment(SAMPLE_DIR / "enrolment.csv")
    figures = programme_figures(inventory.programmes, wave=2025, enrolment=enrolment)
    return load_process(PROCESS, "all", wave=2025, definition=definition,
                        known_areas=list(NAMES), figures=figures)  # fmt: skip


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_phase_table_counts_met_milestones_per_year(stenkulla, lang):
    table = process.phase_table(stenkulla, lang=lang, names=NAMES).frame
    assert table.iloc[:, 0].tolist() == ["2021", "2022", "2023", "2024", "2025"]
    phases = stenkulla.phases.set_index(["year", "phase"])
    for i, year in enumerate(range(2021, 2026)):
        for phase in range(1, 6):
            row = phases.loc[(year, phase)]
            expected = t("proc_phase_cell", lang, met=int(row["met"]), n=int(row["milestones"]),
                         status=t(f"proc_phase_{row['status']}", lang))  # fmt: skip
            assert table.iloc[i, phase] == expected
    steering = table[t("proc_steering_column", lang)]
    assert steering.str.contains(t("proc_steering_unmet", lang), regex=False).all()


def test_unmet_milestones_are_explained_in_plain_words(stenkulla):
    table = process.unmet_table(stenkulla, lang="sv").frame
    rows = table.set_index("Milstolpe")
    meets = rows.loc["Styrgruppen möts regelbundet"]
    assert meets["Poäng"] == "1 – Påbörjat"
    assert meets["Att notera"] == (
        "ett av styrgruppens kriterier; inte uppfylld i 5 checklistor i rad"
    )
    assert meets["Kommentar"] == "Ett möte under året."
    mandate = rows.loc["Styrgruppens uppdrag och budget"]
    assert "var uppfylld 2022 men är det inte längre" in mandate["Att notera"]
    assert len(table) == len(stenkulla.unmet)


@pytest.mark.parametrize(("lang", "words"), [("sv", "Malmös utvärdering"), ("en", "Malmö's")])
def test_the_steering_group_is_called_out(stenkulla, city, lang, words):
    note = process.steering_note(stenkulla, lang=lang, names=NAMES).data
    assert words in note and "Stenkulla" in note and "5" in note
    city_note = process.steering_note(city, lang=lang, names=NAMES).data
    assert "Stenkulla" in city_note and "Solvik" not in city_note  # only the areas not met
    table = process.steering_table(stenkulla, lang=lang).frame
    criteria = stenkulla.milestones.loc[stenkulla.milestones["steering_group"]]
    assert len(table) == criteria["milestone"].nunique()
    assert table.columns.tolist()[1:] == ["2021", "2022", "2023", "2024", "2025"]
    first = criteria.loc[criteria["year"].eq(2025)].iloc[0]
    assert table.iloc[0]["2025"] == str(int(first["score"]))


def test_the_city_tables_name_the_areas(city):
    table = process.phase_table(city, lang="en", names=NAMES).frame
    assert table["Area"].tolist() == ["Norra Hamnen", "Solvik", "Stenkulla"]
    assert table["Year"].tolist() == ["2025"] * 3
    summary = process.phase_summary(city, lang="en", names=NAMES).data
    assert (
        summary
        == "3 areas have checklists. The steering group's criteria are not met in: Stenkulla."
    )
    unmet = process.unmet_table(city, lang="en", names=NAMES).frame
    assert set(unmet["Area"]) == {"Norra Hamnen", "Solvik", "Stenkulla"}


def test_plan_flags_become_sentences_with_formatted_values(city):
    flags = city.flags.reset_index(drop=True)
    english = process.flag_sentences(city, lang="en")
    swedish = process.flag_sentences(city, lang="sv")
    assert len(english) == len(swedish) == len(flags)
    rows = {(r.area, r.plan_id, r.flag): i for i, r in enumerate(flags.itertuples())}
    reach = english[rows[("solvik", "positive-action", "reach_below_target")]]
    value = flags.loc[rows[("solvik", "positive-action", "reach_below_target")], "value"]
    assert reach == f"Positive Action reached {round(100 * value)}% in 2025; the plan aims at 60%."
    count = swedish[rows[("stenkulla", "abc-tonar", "reach_below_target")]]
    assert count == "ABC tonår nådde 45 deltagare 2025; planen siktar på 60 deltagare."
    funding = english[rows[("norra-hamnen", "project-northland", "funding_ends_early")]]
    assert funding.endswith("ends on 2026-06-30, before the plan ends on 2027-06-30.")
    notes = process.flag_notes(city, lang="en", names=NAMES).data
    assert notes.count("\n- ") == len(flags) and "- **Stenkulla:** Steg för steg" in notes


def test_the_plan_and_delivery_tables(stenkulla):
    plan = process.plan_table(stenkulla, lang="sv").frame
    assert plan["Program"].tolist() == ["Steg för steg", "ABC tonår"]
    assert plan["Budget"].tolist() == ["150\u202f000 kr per år (Socialnämnden)",
                                       "60\u202f000 kr per år (Socialnämnden)"]  # fmt: skip
    assert plan[["Start", "Slut"]].values.tolist()[0] == ["2023-08-15", "2027-06-30"]
    support = process.plan_support_table(stenkulla, lang="sv").frame
    assert support.iloc[0][["Utbildad personal", "Handledning per år",
                            "Implementeringsteam"]].tolist() == ["6", "0", "inget"]  # fmt: skip
    assert support["Mål för räckvidd"].tolist() == ["60 % av målgruppen", "60 deltagare"]
    activities = process.activities_table(stenkulla, lang="sv").data
    assert activities.startswith("<h3>Aktiviteter</h3>") and "Inbjudan till alla" in activities
    stenkulla_no_inventory = stenkulla.delivery  # no inventory was given to load_process
    assert set(stenkulla_no_inventory["reach_status"]) == {"no_inventory"}
    delivery = process.delivery_table(stenkulla, lang="en").frame
    assert delivery["Reach"].tolist() == ["no inventory", "no inventory"]


def test_without_files_every_part_says_so(definition, tmp_path):
    empty = load_process(tmp_path, "nowhere", wave=2025, definition=definition)
    assert process.process_notice(empty, process_dir="data/process", lang="en").data == t(
        "proc_no_checklists", "en", area="nowhere", folder="data/process/nowhere"
    )
    assert process.phase_table(empty, lang="en") is None
    assert process.unmet_table(empty, lang="en").data == t("proc_no_checklists_short", "en")
    assert process.delivery_table(empty, lang="en").data == t("proc_delivery_none", "en")
    assert process.goal_table(empty, lang="en").data == t("proc_goals_none", "en", area="nowhere")
    plan = process.plan_table(empty, lang="en", process_dir=SAMPLE_DIR / "process").data
    assert "(data/sample/process/nowhere/implementation_plan.yaml," in plan  # no server path
    assert process.activities_table(empty, lang="en") is None
    assert process.flag_notes(empty, lang="en") is None
    section = process.section(empty, "proc_methods", lang="en").data
    assert "scored 0–4 (0 not started, 1 started" in section and "from a score of 3" in section
