"""The programme bank and a user's programme file (ctc_helpers.config.programme_bank) and the
inventory schema (ctc_helpers.config.inventory); the bank in the gap analysis is tested in
tests/phases/test_gaps.py."""

from __future__ import annotations

import pytest
import yaml

from ctc_helpers.config.inventory import load_inventory_schema, normalise
from ctc_helpers.config.messages import ConfigFileError
from ctc_helpers.config.programme_bank import load_programme_bank
from ctc_helpers.paths import SCHEMA_DIR

MINE = {
    "id": "lokal_mentor",
    "name": "Lokal mentor",
    "setting": "school",
    "prevention_level": "universal",
    "ages": [12, 15],
    "factors": ["low_commitment_school"],
    "evidence_rating": "not_rated",
    "evidence_source": "Lokal uppföljning",
    "tags": {"rating": "D", "factors": "D"},
    "description": {"sv": "Lokal insats.", "en": "Local programme."},
}


def _mine(tmp_path, *programmes, **top):
    path = tmp_path / "mine.yaml"
    data = {**top, "programmes": list(programmes)}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _refused(**kwargs) -> ConfigFileError:
    with pytest.raises(ConfigFileError) as error:
        load_programme_bank(**kwargs)
    return error.value


def test_a_user_programme_with_lists_and_aliases(tmp_path):
    entry = {**MINE, "setting": ["school", "family"], "aliases": [" LM "], "behaviours": []}
    bank = load_programme_bank(extra=[_mine(tmp_path, entry)], instrument=None)
    row = bank.programme("lokal_mentor")
    assert row["settings"] == ("school", "family") and row["aliases"] == ("LM",)
    assert (row["age_min"], row["age_max"], row["tested"], row["flagged"]) == (12, 15, False, False)
    assert bank.match("lm") == "lokal_mentor" and bank.files[-1].name == "mine.yaml"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"factors": ["low_commitment_scool"]},
         "programmes[lokal_mentor].factors[1] is 'low_commitment_scool'; the instrument has no"
         " factor with this id. Did you mean 'low_commitment_school'? The ids are listed in"
         " data_schema/instrument.yaml."),
        ({"ages": [15, 12]},
         "programmes[lokal_mentor].ages is [15, 12]; expected [youngest, oldest] in years (0-30)."),
        ({"setting": "moon"},
         "programmes[lokal_mentor].setting[1] is 'moon'; allowed: school, family, community,"
         " leisure, individual, health."),
        ({"evidence_rating": "great"},
         "programmes[lokal_mentor].evidence_rating is 'great'; allowed: blueprints_model_plus,"),
        ({"tags": {"rating": "Z", "factors": "D"}},
         "programmes[lokal_mentor].tags.rating is 'Z'; allowed: V, V2, B, NF, D."),
        ({"id": "Lokal Mentor"},
         "programmes[1].id is 'Lokal Mentor'; use lower-case letters a-z, digits and"
         " underscores."),
        ({"factors": [], "behaviours": []},
         "programmes[lokal_mentor]: give at least one factor id (or behaviour id)."),
        ({"evidence_rating": "ineffective", "effect": "none", "effect_source": "Studie"},
         "programmes[lokal_mentor].effect_evidence is missing; a flagged programme (no effect"
         " or harmful) needs effect_evidence"),
        ({"colour": "red"}, "programmes[lokal_mentor].colour is not a known key here; allowed"
         " keys: id, name, aliases, setting, prevention_level, ages, factors, behaviours,"),
    ],
)  # fmt: skip
def test_user_file_messages(tmp_path, change, expected):
    error = _refused(extra=_mine(tmp_path, {**MINE, **change}))
    assert error.text("en").startswith(f"mine.yaml: {expected}"), error.text("en")


def test_every_problem_of_a_user_file_at_once_in_swedish(tmp_path, monkeypatch):
    monkeypatch.delenv("CTC_LANG", raising=False)
    path = _mine(
        tmp_path,
        {**MINE, "ages": "12-15"},
        {**MINE, "id": "annan", "name": " ", "override": "ja"},
        colour=1,
    )
    error = _refused(extra=path)
    assert str(error) == (
        "mine.yaml har 4 fel:\n"
        "  - programmes[lokal_mentor].ages är '12-15'; ange [yngst, äldst] i år (0–30).\n"
        "  - programmes[annan].name är ' '; ange en text som inte är tom.\n"
        "  - programmes[annan].override är 'ja'; ange true eller false.\n"
        "  - colour är ingen känd nyckel här; tillåtna nycklar: version, programmes."
    )


def test_ids_twice_in_one_file_and_override_only_in_a_users_file(tmp_path):
    error = _refused(extra=_mine(tmp_path, MINE, {**MINE, "name": "Annan"}))
    assert error.text("en") == (
        "mine.yaml: programmes uses the id 'lokal_mentor' more than once; each id must be unique."
    )
    raw = yaml.safe_load((SCHEMA_DIR / "programme_bank.yaml").read_text(encoding="utf-8"))
    raw["programmes"][1]["override"] = True
    raw["evidence_ratings"] = [r for r in raw["evidence_ratings"] if r["id"] != "harmful"]
    bank = tmp_path / "bank.yaml"
    bank.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    error = _refused(path=bank)
    assert error.text("en").startswith(
        "bank.yaml has 2 problems:\n"
        "  - evidence_ratings: evidence ratings must be unique and include not_rated, ineffective"
        " and harmful (missing: harmful; repeated: -).\n"
        "  - programmes[paths].override: 'override: true' belongs in your own programme file"
    )


def test_the_bank_refers_to_known_groups_and_behaviours(tmp_path):
    raw = yaml.safe_load((SCHEMA_DIR / "programme_bank.yaml").read_text(encoding="utf-8"))
    raw["outcome_groups"][0]["behaviours"].append("alcohol_daily")
    raw["factor_outcomes"]["family_conflict"]["outcomes"].append("happiness")
    raw["factor_outcomes"]["family_conflikt"] = {"outcomes": ["violence"], "tag": "B"}
    bank = tmp_path / "bank.yaml"
    bank.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    text = _refused(path=bank).text("en")
    assert text.startswith("bank.yaml has 3 problems:\n")
    assert "is 'alcohol_daily'; the instrument has no behaviour with this id." in text
    assert "factor_outcomes.family_conflict.outcomes[6] is 'happiness'; allowed:" in text
    assert (
        "factor_outcomes has the key 'family_conflikt'" not in text
        and "factor_outcomes is 'family_conflikt'; the instrument has no factor with this id."
        " Did you mean 'family_conflict'?"
        in text
    )


def test_inventory_schema_names_the_problem(tmp_path):
    raw = yaml.safe_load((SCHEMA_DIR / "inventory.yaml").read_text(encoding="utf-8"))
    raw["grades"][0].pop("year")
    raw["age_offset"] = "sex"
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    load_inventory_schema.cache_clear()
    try:
        with pytest.raises(ConfigFileError) as error:
            load_inventory_schema(path)
    finally:
        load_inventory_schema.cache_clear()
    assert error.value.text("en") == (
        "inventory.yaml has 2 problems:\n"
        "  - grades[1].year is missing; the key is required.\n"
        "  - age_offset is 'sex'; expected a whole number of at least 0."
    )


def test_normalise_ignores_case_space_dashes_and_punctuation():
    assert normalise("Örebro (ÖPP) – föräldra-möten!") == normalise("örebro öpp föräldra möten")
