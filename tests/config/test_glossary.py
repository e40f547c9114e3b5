"""Tests of ctc_helpers.config.glossary (data_schema/glossary.yaml)."""

from __future__ import annotations

import pytest

from ctc_helpers.config.glossary import load_glossary
from ctc_helpers.config.messages import ConfigFileError
from ctc_helpers.errors import ConfigError

REQUIRED_TERMS = {
    "risk_factor", "protective_factor", "universal_prevention", "selective_prevention",
    "indicated_prevention", "evidence_levels", "blueprints_model_plus", "blueprints_model",
    "blueprints_promising", "metodguiden", "cut_point", "suppression", "area_profile",
    "goal_chain", "confidence_interval", "clear_difference", "no_clear_change",
}  # fmt: skip


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_glossary_has_the_key_terms(lang):
    terms = load_glossary(lang)
    assert list(terms.columns) == ["term_id", "group", "term", "definition"]
    assert set(terms["term_id"]) >= REQUIRED_TERMS
    assert terms["definition"].str.len().min() > 20


def test_languages_differ_and_default_is_swedish(monkeypatch):
    monkeypatch.delenv("CTC_LANG", raising=False)
    sv, en = load_glossary(), load_glossary("en")
    row = sv["term_id"].tolist().index("cut_point")
    assert (sv.loc[row, "term"], en.loc[row, "term"]) == ("Brytpunkt", "Cut point")
    assert sv.set_index("term_id").loc["no_clear_change", "term"] == "Ingen tydlig förändring"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("terms: []\n", "glossary.yaml: terms is []; expected a list with at least one entry."),
        ("terms:\n  - just text\n",
         "glossary.yaml: terms[1] is 'just text'; expected keys and values (key: value)."),
        ("terms:\n  - {id: Bad-Id, term: {sv: a, en: a}, definition: {sv: b, en: b}}\n",
         "glossary.yaml: terms[Bad-Id].id is 'Bad-Id'; use lower-case letters a-z, digits and"
         " underscores."),
        ("terms:\n  - {id: x, term: {sv: a}, definition: {sv: b, en: b}}\n",
         "glossary.yaml: terms[x].term.en is missing; the key is required."),
        ("terms:\n  - {id: x, term: {sv: a, en: ' '}, definition: {sv: b, en: b}}\n",
         "glossary.yaml: terms[x].term.en is ' '; expected a non-empty text."),
        ("terms:\n  - {id: x, term: {sv: a, en: a}, definition: {sv: b, en: b}}\n"
         "  - {id: x, term: {sv: a, en: a}, definition: {sv: b, en: b}}\n",
         "glossary.yaml: terms uses the id 'x' more than once; each id must be unique."),
        ("terms:\n  - {id: x, term: {sv: a, en: a}, definition: {sv: b, en: b}, see: y}\n",
         "glossary.yaml: terms[x].see is not a known key here; allowed keys: id, group, term,"
         " definition."),
        ("terms: [unclosed\n", "glossary.yaml is not valid YAML (line 2, column 1): "),
    ],
)  # fmt: skip
def test_invalid_glossary_files(tmp_path, text, message):
    path = tmp_path / "glossary.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigFileError) as error:
        load_glossary("sv", path=path)
    assert error.value.text("en").startswith(message)


def test_all_problems_at_once_in_swedish(tmp_path, monkeypatch):
    monkeypatch.delenv("CTC_LANG", raising=False)
    path = tmp_path / "glossary.yaml"
    path.write_text(
        "terms:\n  - {id: 1x, term: {sv: a, en: a}, definition: {sv: b}}\n"
        "  - {id: y, term: a, definition: {sv: b, en: b}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigFileError) as error:
        load_glossary("sv", path=path)
    assert str(error.value) == (
        "glossary.yaml har 3 fel:\n"
        "  - terms[1].id är '1x'; använd små bokstäver a-z, siffror och understreck.\n"
        "  - terms[1].definition.en saknas; nyckeln måste finnas.\n"
        "  - terms[y].term är 'a'; ange nycklar och värden (key: value)."
    )


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_glossary("sv", path=tmp_path / "none.yaml")
    where = tmp_path / "none.yaml"
    assert error.value.text("en") == f"Cannot read the glossary {where}: the file does not exist."
    assert error.value.text("sv") == f"Kan inte läsa ordlistan {where}: filen finns inte."
