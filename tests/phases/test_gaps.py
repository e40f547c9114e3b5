"""ctc_helpers.phases.gaps: the programme bank, the inventory, reach, priorities, gaps, suggestions, matrix.

Expected values are worked out by hand from the files (comments say how) or recomputed with
plain pandas from data/sample/enrolment.csv.
"""

from __future__ import annotations

import datetime as dt
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctc_helpers.config import inventory as inventory_schema
from ctc_helpers.config.instrument import load_instrument
from ctc_helpers.config.inventory import (
    FlaggedProgrammeWarning,
    load_inventory_schema,
    parse_target,
    survey_ages,
)
from ctc_helpers.config.programme_bank import load_programme_bank
from ctc_helpers.errors import ConfigError, InputFileError
from ctc_helpers.paths import SAMPLE_DIR, SCHEMA_DIR
from ctc_helpers.phases.gaps import gaps, inputs, inventory
from ctc_helpers.phases.gaps.gaps import find_gaps, gap_summary
from ctc_helpers.phases.gaps.inputs import current_programmes, load_enrolment, prioritised_factors
from ctc_helpers.phases.gaps.inventory import load_inventory
from ctc_helpers.phases.gaps.matrix import city_view, coverage_summary, gap_matrix
from ctc_helpers.phases.gaps.suggestions import suggest_for_gaps, suggest_programmes
from ctc_helpers.phases.prioritization import rank_factors
from ctc_helpers.publish.read import load_published
from tests import gap_samples as samples
from tests.fake_published import write_fake_published

BAD = Path(__file__).parents[1] / "data" / "inventory_bad"
DEMO, PLANTED, AREAS = samples.DEMO, samples.PLANTED, samples.AREAS


@pytest.fixture(scope="module")
def bank():
    return samples.bank()


@pytest.fixture(scope="module")
def demo():
    return samples.demo()


@pytest.fixture(scope="module")
def enrolment():
    return samples.enrolment()


@pytest.fixture(scope="module")
def current():
    return samples.current()


@pytest.fixture(scope="module")
def planted_priorities():
    return samples.planted_priorities()


@pytest.fixture(scope="module")
def planted_gaps():
    return samples.planted_gaps()


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ the bank


def test_bank_has_25_suggestible_programmes_including_the_swedish_ones(bank):
    programmes = bank.programmes
    assert (~programmes["flagged"]).sum() >= 25
    for programme_id in ("komet", "abc", "set", "strengthening_families_10_14", "incredible_years"):
        assert programme_id in set(programmes["programme_id"])
    assert bank.match("Steg för steg") == "strengthening_families_10_14"
    assert bank.match("de otroliga åren") == "incredible_years"
    assert bank.match("SFP 10–14") == "strengthening_families_10_14"  # en dash, any case


def test_bank_targets_only_factor_ids_of_the_instrument(bank):
    known = {f.id for f in load_instrument().factors}
    used = {f for factors in bank.programmes["factors"] for f in factors}
    assert used <= known
    assert {"poor_family_management", "family_conflict", "social_skills"} <= used


def test_bank_flags_programmes_that_found_no_effect_or_harm_with_their_source(bank):
    flagged = bank.flagged.set_index("programme_id")
    assert flagged.loc["scared_straight", "effect"] == "harmful"
    assert "Petrosino" in flagged.loc["scared_straight", "effect_source"]
    assert flagged.loc["dare_original", "effect"] == "none"
    assert "West & O'Neal (2004)" in flagged.loc["dare_original", "effect_source"]
    assert flagged.loc["orebro_prevention_programme", "effect"] == "none"
    assert flagged.loc["boot_camps", "effect"] == "none"
    assert set(flagged["rating_tag"]) == {"B"}  # background knowledge, not in the reference
    assert (flagged["effect_evidence_sv"].str.len() > 20).all()


def test_bank_entries_carry_rating_and_tags(bank):
    programmes = bank.programmes.set_index("programme_id")
    assert programmes.loc["lifeskills_training", "evidence_rating"] == "blueprints_model_plus"
    assert programmes.loc["multisystemic_therapy", "evidence_rating"] == "blueprints_model_plus"
    assert programmes.loc["komet", "evidence_rating"] == "swedish_rct"
    assert programmes.loc["set", "evidence_rating"] == "not_rated"
    assert programmes.loc["set", "rating_tag"] == "NF"
    assert set(programmes["rating_tag"]) <= set(inventory_schema.TAGS)
    assert (programmes["age_min"] <= programmes["age_max"]).all()


def test_bank_outcome_chart_uses_instrument_behaviours(bank):
    behaviours = {b.id for b in load_instrument().behaviours}
    assert {b for bs in bank.outcome_groups["behaviours"] for b in bs} <= behaviours
    chart = bank.factor_outcomes
    assert set(chart.loc[chart["factor"].eq("family_conflict"), "group"]) == {
        "substance_use", "delinquency", "violence", "school_dropout", "depression_anxiety",
    }  # fmt: skip


def test_match_by_beginning_of_name_takes_the_longest_name(bank):
    assert bank.match("ÖPP – föräldramöten") is None
    assert bank.match("ÖPP – föräldramöten", prefix=True) == "orebro_prevention_programme"
    assert bank.match("ABC tonår i Stenkulla", prefix=True) == "abc_teens"  # not "abc"
    assert bank.match("Läxhjälp", prefix=True) is None


EXTRA = """
programmes:
  - id: {id}
    name: "{name}"
    setting: school
    prevention_level: universal
    ages: [12, 15]
    factors: [{factor}]
    evidence_rating: not_rated
    evidence_source: "Lokal uppföljning"
    tags: {{rating: D, factors: D}}
    description: {{sv: "Lokal insats.", en: "Local programme."}}
{extra}"""


def _extra(tmp_path, *, id="lokal_mentor", name="Lokal mentor", factor="low_commitment_school",
           extra=""):  # fmt: skip
    return _write(
        tmp_path / "mine.yaml", EXTRA.format(id=id, name=name, factor=factor, extra=extra)
    )


def test_user_file_extends_the_bank(tmp_path, bank):
    extended = load_programme_bank(extra=str(_extra(tmp_path)))
    assert len(extended.programmes) == len(bank.programmes) + 1
    assert extended.match("lokal mentor") == "lokal_mentor"
    assert extended.programme("lokal_mentor")["source_file"] == "mine.yaml"
    assert load_programme_bank(extra="").programmes.shape == bank.programmes.shape


def test_user_file_repeating_a_bank_id_is_refused_unless_override(tmp_path, monkeypatch):
    monkeypatch.setenv("CTC_LANG", "en")
    path = _extra(tmp_path, id="komet", name="Komet lokal")
    with pytest.raises(
        ConfigError, match=r"mine\.yaml.*'komet'.*programme_bank\.yaml.*override: true"
    ):
        load_programme_bank(extra=path)
    path = _extra(tmp_path, id="komet", name="Komet lokal", extra="    override: true\n")
    replaced = load_programme_bank(extra=path).programme("komet")
    assert replaced["evidence_rating"] == "not_rated" and replaced["source_file"] == "mine.yaml"


def test_user_file_errors_name_the_entry_and_key(tmp_path, monkeypatch):
    monkeypatch.setenv("CTC_LANG", "en")
    with pytest.raises(ConfigError, match="'Komet' of programme 'lokal_mentor'.*'komet'"):
        load_programme_bank(extra=_extra(tmp_path, name="Komet"))
    with pytest.raises(
        ConfigError, match="lokal_mentor.*'low_commitment_scool'.*low_commitment_school"
    ):
        load_programme_bank(extra=_extra(tmp_path, factor="low_commitment_scool"))
    with pytest.raises(
        ConfigError, match=r"(?s)x\.yaml has 2 problems:.*\n  - ratings is not a known"
    ):
        load_programme_bank(extra=_write(tmp_path / "x.yaml", "ratings: []\nprogrammes: []\n"))
    bad = _extra(tmp_path, extra="    effect: harmful\n")
    with pytest.raises(
        ConfigError, match="effect is 'harmful'; it does not fit evidence_rating 'not_rated'"
    ):
        load_programme_bank(extra=bad)
    with pytest.raises(ConfigError, match="override"):
        load_programme_bank(
            _write(tmp_path / "bank.yaml", (SCHEMA_DIR / "programme_bank.yaml").read_text(
                encoding="utf-8").replace("  - id: paths\n", "  - id: paths\n    override: true\n"))
        )  # fmt: skip


def test_flagged_entry_needs_its_evidence_and_source(tmp_path, monkeypatch):
    monkeypatch.setenv("CTC_LANG", "en")
    text = (SCHEMA_DIR / "programme_bank.yaml").read_text(encoding="utf-8")
    start = text.index('    effect_source: "Petrosino')
    broken = text[:start] + text[text.index("\n", start) + 1 :]
    with pytest.raises(ConfigError, match=r"programmes\[scared_straight\]\.effect_source is miss"):
        load_programme_bank(_write(tmp_path / "bank.yaml", broken))


# ------------------------------------------------------------------------------ targets


def test_parse_target_by_hand():
    # åk y is age y + 6 (inventory.yaml age_offset)
    assert parse_target("ak7-ak9") == (13, 15, ("ak7", "ak8", "ak9"))
    assert parse_target("åk 6;gy 1-gy 2") == (12, 17, ("ak6", "gy1", "gy2"))
    assert parse_target("7-9") == (13, 15, ("ak7", "ak8", "ak9"))
    assert parse_target("", "10-12") == (10, 12, ("ak4", "ak5", "ak6"))
    assert parse_target("ak8", "13-15 år") == (13, 15, ("ak8",))
    assert parse_target("", "3") == (3, 3, ())  # no school year at age 3
    for grades, ages, key in (("ak9-ak7", "", "bad_grades"), ("åk 10", "", "bad_grades"),
                              ("", "14-10", "bad_ages"), ("", "", "no_target")):  # fmt: skip
        with pytest.raises(ValueError, match=key):
            parse_target(grades, ages)


def test_inventory_grades_agree_with_the_survey_grades(respondent_schema):
    schema = load_inventory_schema()
    for code, year in respondent_schema.grade_years.items():
        assert schema.grade_years[code] == year
    assert survey_ages() == (6 + 6, 11 + 6)


# ------------------------------------------------------------------------------ the inventory


def test_demo_inventory_loads_without_loss(demo):
    assert demo.n_read == 27 == demo.n_kept + demo.n_rejected
    assert demo.n_rejected == 0 and demo.problems.empty
    row = demo.programmes.set_index("row").loc[2]  # first data row of the CSV
    assert row["programme"] == "LifeSkills Training" and row["bank_id"] == "lifeskills_training"
    assert row["targeted_factors"][0] == "attitudes_drugs" and row["fidelity_score"] == 0.88
    assert (row["age_min"], row["age_max"], row["grade_codes"]) == (13, 15, ("ak7", "ak8", "ak9"))


def test_flagged_programmes_in_an_inventory_are_warned_about(bank):
    with pytest.warns(FlaggedProgrammeWarning) as caught:
        inventory = load_inventory(DEMO, bank=bank, areas=AREAS)
    messages = " ".join(str(w.message) for w in caught)
    assert "Studiebesök på anstalt" in messages and "Lindhöjden" in messages
    assert "Petrosino" in messages and "ÖPP – föräldramöten" in messages
    kinds = inventory.warnings.set_index("programme")["kind"]
    assert kinds["Studiebesök på anstalt"] == "harmful"
    assert kinds["ÖPP – föräldramöten"] == "ineffective"
    flagged = inventory.programmes.loc[inventory.programmes["flagged"], "programme"]
    assert set(flagged) == {"Studiebesök på anstalt", "ÖPP – föräldramöten"}


def test_warn_false_keeps_the_warning_table_but_issues_no_python_warning(bank):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inventory = load_inventory(DEMO, bank=bank, areas=AREAS, warn=False)
    assert len(inventory.warnings) == 2


BAD_ROWS = [
    # file, column, value, fragments the Swedish message must hold
    ("unknown_area.csv", "area", "Söderby", ["Söderby", "centrum", "asmyra"]),
    ("bad_level.csv", "prevention_level", "universel", ["universel", "universal (Universell)", "indicated"]),
    ("fidelity_percent.csv", "fidelity_score", "85", ["85", "0,85 betyder 85 %"]),
    ("bad_date.csv", "funding_end", "30/06/2026", ["30/06/2026", "ÅÅÅÅ-MM-DD"]),
    ("unknown_factor.csv", "targeted_factors", "attitudes_antisocal", ["attitudes_antisocal", "Menade du 'attitudes_antisocial'"]),
    ("bad_grades.csv", "target_grades", "åk 9-åk 7", ["åk 9-åk 7", "ak7-ak9", "gy3"]),
    ("negative_count.csv", "participants_reached", "-20", ["-20", "lägsta tillåtna värdet 0"]),
    ("count_not_number.csv", "participants_reached", "ca 200", ["ca 200", "inte ett heltal"]),
    ("no_target.csv", "target_grades", "", ["target_grades", "target_ages"]),
    ("duplicate_row.csv", "programme", "Positive Action", ["Positive Action", "rad 2"]),
    ("bad_ages.csv", "target_ages", "tonåringar", ["tonåringar", "10-14"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "column", "value", "fragments"), BAD_ROWS)
def test_bad_rows_are_rejected_with_a_message_naming_file_row_column_value(
    bank, name, column, value, fragments
):
    inventory = load_inventory(BAD / name, bank=bank, areas=AREAS)
    assert (inventory.n_read, inventory.n_kept, inventory.n_rejected) == (2, 1, 1)
    problem = inventory.problems.iloc[0]
    assert (problem["row"], problem["column"], problem["value"]) == (3, column, value)
    assert problem["message"].startswith(f"{name}, rad 3, kolumn {column}")
    for fragment in fragments:
        assert fragment in problem["message"]
    rejected = inventory.rejected.iloc[0]
    assert rejected["row"] == 3 and rejected["reasons"] == problem["message"]
    assert inventory.programmes["row"].tolist() == [2]


def test_messages_are_in_english_on_request(bank):
    inventory = load_inventory(BAD / "fidelity_percent.csv", bank=bank, areas=AREAS, lang="en")
    message = inventory.problems.loc[0, "message"]
    assert message.startswith("fidelity_percent.csv, row 3, column fidelity_score: 85 lies outside")
    assert "0.85 means 85%" in message


def test_a_ragged_row_is_rejected_not_lost(bank):
    inventory = load_inventory(BAD / "ragged_row.csv", bank=bank, areas=AREAS)
    assert (inventory.n_read, inventory.n_kept, inventory.n_rejected) == (2, 1, 1)
    message = inventory.rejected.loc[0, "reasons"]
    assert (
        "ragged_row.csv, rad 3" in message and "14 värden" in message and "13 kolumner" in message
    )


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("missing_column.csv", ["missing_column.csv", "targeted_factors", "Obligatoriska"]),
        ("unknown_column.csv", ["unknown_column.csv", "fidelty", "fidelity_score"]),
        ("repeated_column.csv", ["repeated_column.csv", "area", "område"]),
        ("header_only.csv", ["header_only.csv"]),
    ],
)
def test_file_level_problems_stop_with_a_clear_message(bank, name, fragments):
    with pytest.raises(InputFileError) as caught:
        load_inventory(BAD / name, bank=bank, areas=AREAS)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_missing_file_names_the_path(bank, tmp_path):
    with pytest.raises(InputFileError, match="nowhere.csv"):
        load_inventory(tmp_path / "nowhere.csv", bank=bank, areas=AREAS)


def test_swedish_headers_semicolons_and_decimal_comma_are_read(bank):
    inventory = load_inventory(BAD / "swedish_semicolon_valid.csv", bank=bank, areas=AREAS)
    assert inventory.n_rejected == 0
    row = inventory.programmes.iloc[0]
    assert (row["area"], row["prevention_level"], row["setting"]) == (
        "solvik",
        "universal",
        "school",
    )
    assert row["fidelity_score"] == 0.85 and row["funding_end"] == dt.date(2026, 6, 30)
    assert row["grade_codes"] == ("ak6", "ak7", "ak8", "ak9")


def test_excel_inventory_with_dates_and_a_wrong_sheet(bank, tmp_path):
    frame = pd.read_csv(DEMO, dtype=str, keep_default_na=False).head(5)
    frame = frame.assign(
        funding_end=pd.to_datetime(frame["funding_end"].replace("", None)),
        fidelity_score=pd.to_numeric(frame["fidelity_score"]),
        participants_reached=pd.to_numeric(frame["participants_reached"]),
    )
    path = tmp_path / "inventering.xlsx"
    frame.to_excel(path, index=False, sheet_name="Program")
    inventory = load_inventory(path, bank=bank, areas=AREAS, sheet="Program")
    assert inventory.n_kept == 5
    assert inventory.programmes.loc[2, "funding_end"] == dt.date(2028, 12, 31)  # MST in centrum
    assert inventory.programmes.loc[0, "participants_reached"] == 1290
    with pytest.raises(InputFileError, match="Program"):
        load_inventory(path, bank=bank, areas=AREAS, sheet="Blad1")


def test_bank_rating_wins_over_the_file_and_dash_stops_matching(bank, tmp_path):
    header = "area,programme,provider,bank_id,prevention_level,setting,target_grades,targeted_factors,participants_reached,evidence_rating\n"
    path = _write(tmp_path / "inv.csv", header
                  + "solvik,Komet,Familjecentralen,,selective,family,ak6,family_conflict,20,blueprints_model_plus\n"
                  + "solvik,DARE,Föreningen Dare,-,universal,leisure,ak7,social_skills,20,\n"
                  + "solvik,Egen insats,Skolan,,universal,school,ak7,social_skills,20,harmful\n")  # fmt: skip
    with pytest.warns(FlaggedProgrammeWarning, match="Egen insats.*Utvärderad: skadlig"):
        inventory = load_inventory(path, bank=bank, areas=AREAS)
    rows = inventory.programmes.set_index("programme")
    assert rows.loc["Komet", "evidence_rating"] == "swedish_rct"
    assert rows.loc["Komet", "rating_from"] == "bank"
    assert rows.loc["DARE", "bank_id"] == "" and not rows.loc["DARE", "flagged"]
    assert rows.loc["Egen insats", "flagged"] and rows.loc["Egen insats", "effect"] == "harmful"
    differs = inventory.warnings.loc[inventory.warnings["kind"].eq("rating_differs"), "message"]
    assert "blueprints_model_plus" in differs.iloc[0] and "swedish_rct" in differs.iloc[0]


COLUMNS = ["area", "programme", "provider", "prevention_level", "setting", "target_grades",
           "target_ages", "targeted_factors", "participants_reached", "fidelity_score",
           "funding_end", "year"]  # fmt: skip
CELLS = st.one_of(
    st.sampled_from(["", "solvik", "Solvik", "ak7-ak9", "12-15", "universal", "skola",
                     "family_conflict", "social_skills;x", "0,5", "85", "2026-01-01", "2026-13-01",
                     "-1", "1e9", "nan", "inf", "ÖPP", "Scared Straight", "ak9-ak7", "2025"]),
    # a bare line break would split the record into two physical rows (pandas does not quote
    # "\r"), which is another test: the reader's
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12),
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(CELLS, min_size=len(COLUMNS), max_size=len(COLUMNS)), min_size=1,
                     max_size=6))  # fmt: skip
def test_validation_never_crashes_and_loses_no_row(bank, tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("inv") / "random.csv"
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FlaggedProgrammeWarning)
        try:
            inventory = load_inventory(path, bank=bank, areas=AREAS)
        except InputFileError:
            return  # a file-level problem, reported with a message
    assert inventory.n_read == inventory.n_kept + inventory.n_rejected
    assert inventory.n_read + inventory.n_blank == len(rows)
    assert set(inventory.rejected["row"]) == set(inventory.problems["row"])


# ------------------------------------------------------------------------------ enrolment and reach


def test_enrolment_file_is_summed_over_schools():
    table = load_enrolment(SAMPLE_DIR / "enrolment.csv")
    raw = pd.read_csv(SAMPLE_DIR / "enrolment.csv")
    expected = raw.loc[
        raw["wave"].eq(2025) & raw["area"].eq("solvik") & raw["grade"].eq("ak7"), "enrolled"
    ].sum()
    got = table.loc[
        table["wave"].eq(2025) & table["area"].eq("solvik") & table["grade"].eq("ak7"), "enrolled"
    ]
    assert got.item() == expected


def test_a_bad_enrolment_row_is_named_in_both_languages(tmp_path, monkeypatch):
    from ctc_helpers.errors import InputFileError

    path = tmp_path / "inskrivna.csv"
    path.write_text("wave,area,grade,enrolled\n2025,solvik,ak7,40\n2025,solvik,åk 13,12\n",
                    encoding="utf-8")  # fmt: skip
    with pytest.raises(InputFileError, match=r"inskrivna.csv, rad 3: årskursen 'åk 13'"):
        load_enrolment(path)
    monkeypatch.setenv("CTC_LANG", "en")
    with pytest.raises(InputFileError, match=r"inskrivna.csv, row 3: the grade 'åk 13'"):
        load_enrolment(path)
    path.write_text("wave,area,enrolled\n2025,solvik,40\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="inskrivna.csv has no column grade"):
        load_enrolment(path)


def test_enrolment_from_the_published_participation_margins():
    participation = pd.DataFrame({
        "wave": 2025, "area": ["a", "a", "a", "all"], "school": ["all", "all", "S", "all"],
        "grade": ["ak7", "all", "ak7", "ak7"], "sex": "all", "enrolled": [100.0, 300.0, 60.0, 900.0],
    })  # fmt: skip
    table = load_enrolment("", participation=participation)
    assert table.to_dict("records") == [
        {"wave": 2025, "area": "a", "grade": "ak7", "enrolled": 100.0}
    ]
    assert load_enrolment("").empty


def test_reach_from_enrolment_of_the_target_grades(current, enrolment):
    raw = pd.read_csv(SAMPLE_DIR / "enrolment.csv")
    eligible = raw.loc[raw["wave"].eq(2025) & raw["area"].eq("solvik")
                       & raw["grade"].isin(["ak6", "ak7", "ak8", "ak9"]), "enrolled"].sum()  # fmt: skip
    row = current.loc[current["programme"].eq("Positive Action")].iloc[0]
    assert row["year"] == 2025 and row["eligible"] == eligible == 1172
    assert row["eligible_source"] == "enrolment"
    assert row["reach"] == pytest.approx(160 / eligible)
    assert row["dose"] == pytest.approx(120 / 140)
    mst = current.loc[current["programme"].eq("Multisystemisk terapi (MST)")].iloc[0]
    assert (mst["eligible"], mst["eligible_source"], mst["reach"]) == (
        30,
        "file",
        pytest.approx(22 / 30),
    )
    # ages 10-16 reach åk 4-5, which the enrolment does not cover: reach unknown
    culture = current.loc[current["programme"].eq("Kulturskolan i Hamnen")].iloc[0]
    assert pd.isna(culture["eligible"]) and pd.isna(culture["reach"])


def test_the_latest_year_up_to_the_wave_is_used(demo, enrolment):
    rows = current_programmes(demo, wave=2023, enrolment=enrolment)
    northland = rows.loc[rows["programme"].eq("Project Northland")]
    assert len(northland) == 1 and northland["participants_reached"].item() == 980
    assert "LifeSkills Training" not in set(rows["programme"])  # only reported for 2025


def test_enrolment_wave_of_each_row():
    enrolment = pd.DataFrame({
        "area": ["a", "a", "a", "a", "b", "b"],
        "wave": [2023, 2023, 2025, 2025, np.nan, np.nan],
        "grade": ["ak7", "ak8", "ak7", "ak8", "ak7", "ak7"],
        "enrolled": [10.0, 20.0, 30.0, 40.0, 5.0, 6.0],
    })  # fmt: skip
    index = inputs._enrolment_index(enrolment)

    def enrolled(area, year, grades=("ak7", "ak8"), wave=2025):
        record = {"area": area, "year": year, "grade_codes": list(grades)}
        return inputs._enrolled(record, index, wave)

    assert enrolled("a", 2024) == 10 + 20  # the latest wave up to the row's year
    assert enrolled("a", np.nan) == 30 + 40  # no year: the report's wave
    assert enrolled("a", 2021) == 10 + 20  # before every wave: the first one
    assert enrolled("b", 2025, ("ak7",)) == 5 + 6  # no wave given: every row
    assert np.isnan(enrolled("b", 2025))  # ak8 not enrolled in b
    assert np.isnan(enrolled("c", 2025)) and np.isnan(enrolled("a", 2025, ()))
    assert inputs._enrolment_index(enrolment.iloc[:0]) == {}


# ------------------------------------------------------------------------------ gaps


def _planted(gap):
    return {k: v for k, v in gap.items() if k in ("area", "gap", "programme")}


@pytest.mark.parametrize("planted", PLANTED["gaps"], ids=lambda g: f"{g['area']}-{g['gap']}")
def test_the_planted_gaps_are_found(planted_gaps, planted):
    rows = planted_gaps.loc[
        planted_gaps["area"].eq(planted["area"]) & planted_gaps["gap"].eq(planted["gap"])
    ]
    if "programme" in planted:
        rows = rows.loc[rows["programme"].eq(planted["programme"])]
    if "programmes" in planted:
        rows = rows.loc[rows["programme"].eq(" / ".join(sorted(planted["programmes"])))]
    if "factor" in planted:
        rows = rows.loc[rows["factor"].str.split(";").map(lambda fs: planted["factor"] in fs)]
    assert len(rows) == 1, planted
    if "value" in planted:
        assert rows["value"].item() == pytest.approx(planted["value"], abs=5e-4)
    assert rows["factors"].item() and rows["area"].item() == planted["area"]


def test_planted_suggestions_come_from_the_bank(planted_gaps, current, bank):
    suggestions = suggest_for_gaps(planted_gaps, bank=bank, programmes=current)
    for planted in PLANTED["gaps"]:
        expected = dict(planted.get("suggestions_by_factor", {}))
        if "suggestions" in planted:
            expected[planted["factor"]] = planted["suggestions"]
        for factor, ids in expected.items():
            got = suggestions.loc[suggestions["area"].eq(planted["area"])
                                  & suggestions["gap"].eq(planted["gap"])
                                  & suggestions["factor"].eq(factor), "programme_id"]  # fmt: skip
            assert got.tolist() == ids, (planted["area"], factor)


def test_well_covered_programmes_have_no_reach_or_fidelity_gap(planted_gaps):
    for case in PLANTED["well_covered"]:
        rows = planted_gaps.loc[planted_gaps["area"].eq(case["area"])
                                & planted_gaps["programme"].eq(case["programme"])]  # fmt: skip
        assert not rows["gap"].isin(["low_reach", "low_fidelity"]).any()


def test_thresholds_and_next_survey_are_parameters(current, planted_priorities):
    loose = find_gaps(current, planted_priorities, wave=2025, low_reach=0.10, low_fidelity=0.5,
                      next_survey="2026-01-01")  # fmt: skip
    assert not loose["gap"].isin(["low_reach", "low_fidelity", "funding_ending"]).any()
    strict = find_gaps(current, planted_priorities, wave=2025, low_reach=0.8)
    assert "Steg för steg" in set(strict.loc[strict["gap"].eq("low_reach"), "programme"])  # 0.42
    with pytest.raises(ValueError, match="next_survey.*2027-10-01"):
        find_gaps(current, planted_priorities, wave=2025, next_survey="hösten")


def test_gaps_of_one_area_as_codes(current, planted_priorities):
    found = find_gaps(current, planted_priorities, wave=2025, area="norra-hamnen")
    assert set(found["area"]) == {"norra-hamnen"}
    assert found["gap"].tolist() == ["no_programme", "no_programme", "no_programme",
                                     "funding_ending", "non_priority_effort"]  # fmt: skip
    conflict = found.loc[found["factor"].eq("family_conflict")].iloc[0]
    assert conflict["factors"] == ("family_conflict",) and conflict["programme"] == ""
    funding = found.loc[found["gap"].eq("funding_ending")].iloc[0]
    assert funding["funding_end"] == dt.date(2026, 6, 30)
    assert funding["cutoff"] == dt.date(2027, 10, 1)  # October two years after the wave
    assert list(found.columns) == list(gaps.GAP_COLUMNS)


def test_overlapping_age_ranges_form_clusters():
    group = pd.DataFrame({"programme": ["A", "B", "C", "D"], "age_min": [12, 14, 18, 20],
                          "age_max": [15, 16, 19, 21]})  # fmt: skip
    clusters = gaps._overlapping(group)
    assert [c["programme"].tolist() for c in clusters] == [["A", "B"]]


# ------------------------------------------------------------------------------ suggestions


def test_suggestions_by_hand(bank):
    # family_conflict, ages 12-17, at least 2 years shared, tested: MST (Model Plus 12-17), FFT
    # (Model 11-18), then Promising: Guiding Good Choices (9-14) and Steg för steg (10-14) by
    # name; New Beginnings (9-12) and ABC (3-12) share only age 12.
    found = suggest_programmes(bank, factors=["family_conflict"])
    assert found["programme_id"].tolist() == [
        "multisystemic_therapy", "functional_family_therapy", "guiding_good_choices",
        "strengthening_families_10_14",
    ]  # fmt: skip
    assert found["rank"].tolist() == [1, 2, 3, 4]
    family_only = suggest_programmes(
        bank, factors=["family_conflict"], prevention_levels=["universal"]
    )
    assert family_only["programme_id"].tolist() == [
        "guiding_good_choices",
        "strengthening_families_10_14",
    ]
    young = suggest_programmes(bank, factors=["family_conflict"], ages=(3, 8), min_overlap=1)
    assert {"abc", "komet", "triple_p"} <= set(young["programme_id"])
    untested = suggest_programmes(bank, factors=["community_disorganisation"], tested_only=False)
    assert untested.empty  # nothing in the bank targets it


FACTORS = sorted({f.id for f in load_instrument().factors})
FLAGGED_IDS = {"scared_straight", "dare_original", "orebro_prevention_programme", "boot_camps",
               "high_risk_peer_groups"}  # fmt: skip


def test_flagged_programmes_are_never_suggested_for_any_factor(bank):
    for factor in FACTORS:
        for tested_only in (True, False):
            found = suggest_programmes(bank, factors=[factor], ages=(0, 30), min_overlap=1,
                                           tested_only=tested_only)  # fmt: skip
            assert not set(found["programme_id"]) & FLAGGED_IDS


@settings(max_examples=200, deadline=None)
@given(
    factors=st.lists(st.sampled_from(FACTORS), min_size=1, max_size=5),
    low=st.integers(0, 30),
    span=st.integers(0, 30),
    overlap=st.integers(1, 3),
    tested_only=st.booleans(),
    setting_set=st.one_of(st.none(), st.sets(st.sampled_from(["school", "family", "community", "leisure", "individual", "health"]), min_size=1)),
)  # fmt: skip
def test_no_flagged_programme_in_random_queries(bank, factors, low, span, overlap, tested_only,
                                                setting_set):  # fmt: skip
    found = suggest_programmes(bank, factors=factors, ages=(low, min(30, low + span)),
                                   min_overlap=overlap, tested_only=tested_only,
                                   settings=setting_set)  # fmt: skip
    assert not set(found["programme_id"]) & FLAGGED_IDS
    assert set(found["factor"]) <= set(factors)


# ------------------------------------------------------------------------------ priorities, matrix, city


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    folder = tmp_path_factory.mktemp("published")
    write_fake_published(folder)
    return load_published(folder)


def test_priorities_are_the_team_choice_else_the_suggestion(fake, tmp_path):
    _write(
        tmp_path / "norra-hamnen.yaml",
        """
        area: norra-hamnen
        wave: 2025
        decided: 2025-11-18
        risk_factors: [low_commitment_school, family_conflict]
        protective_factors: [school_opportunities_prosocial]
        """,
    )
    chosen = prioritised_factors(fake, area="all", wave=2025, priorities_dir=tmp_path)
    team = chosen.loc[chosen["area"].eq("norra-hamnen")]
    assert team["factor"].tolist() == [
        "low_commitment_school",
        "family_conflict",
        "school_opportunities_prosocial",
    ]
    assert set(team["source"]) == {"team"} and set(team["decided"]) == {"2025-11-18"}
    ranked = rank_factors(fake.aggregates, fake.comparisons, area="soderdalen", wave=2025)
    other = chosen.loc[chosen["area"].eq("soderdalen")]
    assert set(other["factor"]) == set(ranked.loc[ranked["suggested"], "factor"])
    assert set(other["source"]) == {"suggested"}
    assert "lillby" not in set(chosen["area"])  # every group of Lillby is suppressed
    alone = prioritised_factors(fake, area="soderdalen", wave=2025, priorities_dir="")
    assert alone.equals(other.reset_index(drop=True))


def test_gap_matrix_and_coverage_by_hand(current, planted_priorities):
    matrix = gap_matrix(current, planted_priorities, area="stenkulla")
    prioritised = matrix.loc[matrix["prioritised"]]
    # Stenkulla: Steg för steg targets all three priorities, ABC tonår the two family ones
    assert prioritised["factor"].drop_duplicates().tolist() == [
        "poor_family_management",
        "family_conflict",
        "family_attachment",
    ]
    assert (prioritised.groupby("factor")["programme"].nunique() == 2).all()
    summary = coverage_summary(matrix).set_index("factor")
    assert summary.loc["family_conflict", "n_programmes"] == 2
    assert summary.loc["family_conflict", "n_tested"] == 1  # ABC tonår is not rated
    assert summary.loc["family_conflict", "coverage"] == "tested"
    assert summary.loc["family_conflict", "best_rating"] == "blueprints_promising"
    assert summary.loc["parental_attitudes_drugs", "prioritised"] == False  # noqa: E712


def test_city_view_counts(current, planted_priorities):
    view = city_view(current, planted_priorities, areas=["lindhojden", "solvik"])
    cell = view.set_index(["area", "factor"])
    assert cell.loc[("lindhojden", "antisocial_peers"), "n_flagged"] == 1
    assert cell.loc[("lindhojden", "antisocial_peers"), "n_programmes"] == 0
    assert cell.loc[("lindhojden", "antisocial_peers"), "coverage"] == "none"
    assert cell.loc[("solvik", "low_commitment_school"), "n_programmes"] == 2
    assert cell.loc[("solvik", "low_commitment_school"), "prioritised"]
    assert set(view["area"]) == {"lindhojden", "solvik"}
    assert len(view) == 2 * view["factor"].nunique()


def test_city_view_adds_the_published_share(fake):
    programmes = pd.DataFrame(
        columns=[*current_programmes(pd.DataFrame(columns=inventory.KEPT_COLUMNS)).columns]
    )
    priorities = prioritised_factors(fake, area="norra-hamnen", wave=2025)
    view = city_view(programmes, priorities, aggregates=fake.aggregates, wave=2025)
    aggregates = fake.aggregates
    expected = aggregates.loc[aggregates["wave"].eq(2025) & aggregates["area"].eq("norra-hamnen")
                              & aggregates["grade"].eq("all") & aggregates["sex"].eq("all")
                              & aggregates["measure"].eq("family_conflict"), "pct"].item()  # fmt: skip
    assert view.set_index("factor").loc["family_conflict", "pct"] == pytest.approx(expected)


def test_gap_summary_is_the_results_record(planted_gaps, planted_priorities, demo):
    summary = gap_summary(planted_gaps, planted_priorities, demo)
    assert summary["gaps"]["harmful_or_ineffective"] == 2
    assert sum(summary["gaps"].values()) == len(planted_gaps) == len(summary["gap_rows"])
    assert sorted(summary["flagged_in_use"]) == ["Studiebesök på anstalt", "ÖPP – föräldramöten"]
    assert summary["inventory"] == {"file": "programme_inventory.csv", "read": 27, "kept": 27,
                                    "rejected": 0}  # fmt: skip
