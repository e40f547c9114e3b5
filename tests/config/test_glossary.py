"""Tests of ctc_helpers.config.glossary (data_schema/glossary.yaml)."""

from __future__ import annotations

import pytest

from ctc_helpers.config.glossary import load_glossary
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
        ("terms: []\n", "needs a non-empty list under 'terms'"),
        ("terms:\n  - just text\n", "term number 1 must be a mapping"),
        ("terms:\n  - {id: Bad-Id, term: {sv: a, en: a}, definition: {sv: b, en: b}}\n",
         "term number 1 has the id 'Bad-Id'"),
        ("terms:\n  - {id: x, term: {sv: a}, definition: {sv: b, en: b}}\n",
         "term 'x' has no term in en"),
        ("terms:\n  - {id: x, term: {sv: a, en: a}, definition: {sv: b, en: b}}\n"
         "  - {id: x, term: {sv: a, en: a}, definition: {sv: b, en: b}}\n", "'x' occurs twice"),
        ("terms: [unclosed\n", "is not valid YAML"),
    ],
)  # fmt: skip
def test_invalid_glossary_files(tmp_path, text, message):
    path = tmp_path / "glossary.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_glossary("sv", path=path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="Cannot read the glossary .*none.yaml"):
        load_glossary("sv", path=tmp_path / "none.yaml")
