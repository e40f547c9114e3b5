"""Tests of ctc_helpers.views.gaps: the tables and texts of the resource and gap analysis.

The gaps are those planted in the demo city (tests/gap_samples.py); expected texts are built from
data_schema/i18n.yaml and the programme bank, independently of the view.
"""

from __future__ import annotations

import html
import re

import pytest

from ctc_helpers.config.inventory import GAP_TYPES, load_inventory_schema
from ctc_helpers.i18n import t
from ctc_helpers.phases.gaps.gaps import find_gaps, gap_summary
from ctc_helpers.phases.gaps.inventory import load_inventory
from ctc_helpers.phases.gaps.matrix import gap_matrix
from ctc_helpers.views.gaps import (
    explain_gaps,
    gap_table,
    gap_types,
    gap_types_table,
    matrix_table,
    priorities_note,
    set_aside_notes,
    suggestion_table,
    warning_notes,
)
from tests import gap_samples as samples


@pytest.fixture(scope="module")
def bank():
    return samples.bank()


def test_gap_texts_of_one_area(bank):
    found = find_gaps(samples.current(), samples.planted_priorities(), wave=2025,
                      area="norra-hamnen")  # fmt: skip
    gaps = explain_gaps(found, bank=bank, labels={"family_conflict": "Konflikter i familjen"},
                        lang="sv")  # fmt: skip
    assert list(gaps.columns) == [*found.columns, "label", "explanation"]
    conflict = gaps.loc[gaps["factor"].eq("family_conflict"), "explanation"].item()
    assert conflict == "Ingen insats i området riktar sig mot Konflikter i familjen."
    funding = gaps.loc[gaps["gap"].eq("funding_ending"), "explanation"].item()
    assert "2026-06-30" in funding and "2027-10-01" in funding
    assert set(gaps["label"]) == {t(f"res_gap_{g}", "sv") for g in found["gap"]}


def test_harmful_programme_is_explained_with_the_bank_evidence(bank):
    gaps = explain_gaps(samples.planted_gaps(), bank=bank, lang="en")
    row = gaps.loc[gaps["programme"].eq("Studiebesök på anstalt")].iloc[0]
    entry = bank.programme(row["bank_id"])
    assert row["explanation"] == (
        f"Studiebesök på anstalt: {entry['effect_evidence_en']} (source: {entry['effect_source']})."
    )
    reach = gaps.loc[gaps["gap"].eq("low_reach") & gaps["area"].eq("solvik")].iloc[0]
    # Positive Action reaches 160 of the 1172 pupils of åk 6-9 in Solvik: 14 %
    assert (
        "reaches 14% of the eligible population (160 of 1172); the threshold is 30%"
        in (reach["explanation"])
    )
    twin = gaps.loc[gaps["gap"].eq("duplication") & gaps["area"].eq("solvik")].iloc[0]
    assert twin["explanation"].startswith("2 programmes (Positive Action / Studiecoacher)")
    level = load_inventory_schema().choice_labels("prevention_levels", "en")["universal"]
    assert f"at the same level ({level})" in twin["explanation"]


def test_gap_types_are_named_and_explained_in_both_languages():
    for lang in ("sv", "en"):
        types = gap_types(lang)
        assert types["gap"].tolist() == list(GAP_TYPES)
        assert types["label"].str.len().gt(5).all() and types["description"].str.len().gt(20).all()
        table = gap_types_table(lang).frame
        assert table.iloc[:, 0].tolist() == types["label"].tolist()


def test_display_tables(bank):
    demo, planted = samples.demo(), samples.planted_gaps()
    matrix = gap_matrix(samples.current(), samples.planted_priorities(), area="solvik")
    table = matrix_table(matrix, bank=bank, lang="en")
    assert "Positive Action" in set(table.frame["Programme"])
    assert "14%" in set(table.frame["Reach"])  # 160 / 1172
    gaps = gap_table(planted, bank=bank, lang="en")
    assert "Area" in gaps.frame.columns and len(gaps.frame) == len(planted)
    assert (
        gaps.frame["Explanation"].tolist()
        == explain_gaps(planted, bank=bank, lang="en")["explanation"].tolist()
    )
    empty = gap_table(planted.iloc[:0], bank=bank, lang="en").frame
    assert empty.iloc[0, 0] == t("res_no_gaps", "en")
    assert warning_notes(demo, "sv", area="solvik") is None
    assert "Lindhöjden" in warning_notes(demo, "sv", area="lindhojden").data
    assert set_aside_notes(demo, "sv") is None


def test_priorities_note_and_suggestions(bank):
    priorities = samples.planted_priorities()
    note = priorities_note(priorities.loc[priorities["area"].eq("solvik")], area="solvik",
                           area_names={"solvik": "Solvik"}, lang="en").data  # fmt: skip
    assert "Solvik" in note and not note.startswith("- ")
    city = priorities_note(priorities, area="all", lang="en").data
    assert city.count("\n- ") == priorities["area"].nunique() - 1
    assert priorities_note(priorities.iloc[:0], area="all", lang="sv").data == t(
        "res_prio_none", "sv"
    )
    from ctc_helpers.phases.gaps.suggestions import suggest_for_gaps

    suggestions = suggest_for_gaps(samples.planted_gaps(), bank=bank, programmes=samples.current())
    table = suggestion_table(suggestions, bank=bank, lang="en").frame
    assert len(table) == len(suggestions) and "Area" in table.columns
    names = dict(zip(bank.programmes["programme_id"], bank.programmes["name"], strict=True))
    assert table["Programme"].tolist() == suggestions["programme_id"].map(names).tolist()
    none = suggestion_table(suggestions.iloc[:0], lang="en").frame
    assert none.iloc[0, 0] == t("res_no_suggestions", "en")


def test_suggestions_show_the_prevention_level_and_flag_targeted_programmes(bank):
    from ctc_helpers.phases.gaps.suggestions import suggest_for_gaps

    suggestions = suggest_for_gaps(samples.planted_gaps(), bank=bank, programmes=samples.current())
    table = suggestion_table(suggestions, bank=bank, lang="sv").frame
    levels = dict(zip(bank.programmes["programme_id"], bank.programmes["prevention_levels"],
                      strict=True))  # fmt: skip
    targeted = suggestions["programme_id"].map(lambda p: "universal" not in levels[p]).tolist()
    assert any(targeted) and not all(targeted)  # the planted gaps get both kinds
    flagged = table["Att tänka på"].str.startswith("⚠ Riktad insats").tolist()
    assert flagged == targeted
    shown = table["Preventionsnivå"].tolist()
    names = {"universal": "Universell", "selective": "Selektiv", "indicated": "Indikerad"}
    assert shown == [", ".join(names[x] for x in levels[p]) for p in suggestions["programme_id"]]


# ------------------------------------------------------- the inventory, in a reader's words

READER_HEADER = (
    "area,programme,provider,bank_id,prevention_level,setting,target_grades,targeted_factors,"
    "participants_reached,eligible_population,sessions_planned,sessions_delivered,"
    "evidence_rating\n"
)
HOSTILE = "<script>alert(1)</script> {area} Läxhjälp"
READER_ROWS = [
    # row 2: a bank id the bank does not know -> not counted
    f'solvik,"{HOSTILE}",Skolan,no_such_programme,universal,school,ak7,social_skills,20,,,,\n',
    # row 3: a rating that differs from the bank's
    "solvik,Komet,Familjecentralen,,selective,family,ak6,family_conflict,20,,,,"
    "blueprints_model_plus\n",
    # row 4: reach over 100 % and more sessions held than planned
    "solvik,Egen insats,Skolan,,universal,school,ak7,social_skills,1250,1200,10,12,\n",
    # row 5: a harmful programme recognised by its name
    "solvik,Studiebesök på anstalt,Polisen,,selective,community,ak8-ak9,antisocial_peers,45,,,,\n",
    # row 6: a bad value -> not counted
    "solvik,Trasig kurs,Skolan,,universel,school,ak7,social_skills,20,,,,\n",
    # row 7: another area's bad row (only in the city report)
    "centrum,Egen kurs,Skolan,,universal,school,ak7,social_skills,ca 20,,,,\n",
]
# what a reader must never see: file names, row and column words with numbers, column ids
INTERNAL = re.compile(
    r"\.csv|\b(?:rad|row|kolumn|column)\s+\d|\bbank_id\b|\b[a-z]+(?:_[a-z0-9]+)+\b"
)


@pytest.fixture
def reader_inventory(bank, tmp_path):
    path = tmp_path / "programinventering.csv"
    path.write_text(READER_HEADER + "".join(READER_ROWS), encoding="utf-8")

    def load(lang):
        return load_inventory(path, bank=bank, areas=samples.AREAS, lang=lang, warn=False)

    return load


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_inventory_notes_name_the_programme_never_the_file_row_or_column(
    bank, reader_inventory, lang
):
    inventory = reader_inventory(lang)
    assert set(inventory.problems["row"]) == {2, 6, 7}
    area_notes = set_aside_notes(inventory, lang, area="solvik").data
    city_notes = set_aside_notes(inventory, lang).data
    warned = warning_notes(inventory, lang, area="solvik").data
    for text in (area_notes, city_notes, warned):
        assert not INTERNAL.findall(html.unescape(text)), INTERNAL.findall(html.unescape(text))
        assert "<script>" not in text  # the programme is shown as text, never run
    # the programme as written, escaped, in the reader's sentence
    sentence = t("inv_read_not_in_bank", lang, programme=HOSTILE)
    assert html.escape(sentence) in area_notes
    assert html.escape(t("inv_read_incomplete", lang, programme="Trasig kurs")) in area_notes
    assert "Egen kurs" not in area_notes and "Egen kurs" in city_notes  # centrum's row
    assert html.escape(t("inv_read_coordinator", lang)) in area_notes
    # warnings: bank rating labels, counts in the report's number format, flagged first
    swedish_rct = bank.rating_label("swedish_rct", lang)
    assert html.escape(swedish_rct) in warned and "Komet" in warned
    assert ("1\u202f250" if lang == "sv" else "1,250") in warned
    flagged = bank.programme("scared_straight")["name"]
    assert warned.index(html.escape(flagged)) < warned.index("Komet")
    assert html.escape(t("inv_read_prefix_note", lang)) not in warned  # matched on the alias


def test_the_coordinator_keeps_the_exact_place(bank, reader_inventory):
    inventory = reader_inventory("sv")
    notes = gap_summary(samples.planted_gaps(), samples.planted_priorities(), inventory)[
        "coordinator_notes"
    ]
    assert notes[0].startswith("programinventering.csv, rad 2, kolumn bank_id:")
    assert "'no_such_programme'" in notes[0]
    assert INTERNAL.findall(notes[0])  # the reader check would catch the coordinator's words
    assert any(
        n.startswith("programinventering.csv, rad 6, kolumn prevention_level") for n in notes
    )
    assert any("rad 7" in n and "'ca 20'" in n for n in notes)
    differs = [n for n in notes if "blueprints_model_plus" in n]
    assert len(differs) == 1 and differs[0].startswith("programinventering.csv, rad 3:")
    assert len(notes) == len(inventory.problems) + len(inventory.warnings)
