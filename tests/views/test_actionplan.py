"""Tests of ctc_helpers.views.actionplan: the draft goal chain as a table, and where it was written."""

from __future__ import annotations

from pathlib import Path

from ctc_helpers.i18n import t
from ctc_helpers.views.actionplan import goal_chain_table, written_note

DRAFT = {
    "area": "solvik",
    "baseline_wave": 2025,
    "goals": [
        {"id": "alcohol-30d", "level": "long", "baseline": 0.125, "target": 0.1125,
         "target_year": 2031, "contributes_to": [], "label": "Alkohol senaste 30 dagarna"},
        {"id": "family-conflict", "level": "medium", "baseline": None, "target": None,
         "target_year": 2029, "contributes_to": ["alcohol-30d"], "label": ""},
    ],
}  # fmt: skip


def test_goal_chain_table_in_both_languages():
    table = goal_chain_table(DRAFT, lang="sv")
    frame = table.frame
    assert frame[t("plan_col_goal", "sv")].tolist() == [
        "Alkohol senaste 30 dagarna",
        "family-conflict",  # no label: the id
    ]
    assert frame[t("plan_col_level", "sv")].tolist() == [
        t("plan_level_long", "sv"),
        t("plan_level_medium", "sv"),
    ]
    # 0.125 -> "13 %" (half up), 0.1125 -> "11 %"; no baseline or target: the dash
    assert frame[t("plan_col_baseline", "sv")].tolist() == ["13 %", "–"]
    assert frame[t("plan_col_target", "sv")].tolist() == ["11 %", "–"]
    assert frame[t("plan_col_contributes", "sv")].tolist() == ["", "alcohol-30d"]
    assert table.footnotes[-1] == t("plan_note", "sv")
    english = goal_chain_table(DRAFT, lang="en").frame
    assert english[t("plan_col_target_year", "en")].tolist() == ["2031", "2029"]


def test_written_note():
    assert written_note(None, area="solvik", lang="en").data == t("plan_not_written", "en")
    path = Path("reports/2025/solvik/goal_chain_draft.yaml")
    note = written_note(path, area="solvik", lang="sv").data
    assert note == t("plan_written", "sv", path="goal_chain_draft.yaml", area="solvik")
    for lang in ("sv", "en"):  # plain words: no file name, path or notebook for a team to read
        text = written_note(path, area="solvik", lang=lang).data
        text += written_note(None, area="solvik", lang=lang).data
        assert not [w for w in (".yaml", "/", "notebook", "output_dir", "solvik") if w in text]
