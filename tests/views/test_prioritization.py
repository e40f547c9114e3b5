"""Tests of ctc_helpers.views.prioritization: the worksheet tables, notes and reasons."""

from __future__ import annotations

import pytest

from ctc_helpers.config.priorities import load_team_choices
from ctc_helpers.phases.prioritization import rank_factors
from ctc_helpers.publish.read import load_published
from ctc_helpers.views import prioritization as views
from tests.fake_published import write_fake_published

MARKER = "–"


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """A leaky published folder: hidden rows still carry sentinel numbers."""
    return write_fake_published(tmp_path_factory.mktemp("published"), leaky=True)


@pytest.fixture(scope="module")
def pub(fake):
    return load_published(fake.path)


def test_priority_views(pub, tmp_path):
    ranked = rank_factors(pub.aggregates, pub.comparisons, area="norra-hamnen", wave=2025)
    risk = views.priority_table(ranked, pub.measures, kind="risk", lang="sv").frame
    top = risk.iloc[0]
    assert top["Rang"] == "1" and top["Föreslås"] == "ja"
    assert top["Motivering"].startswith("Statistiskt säkerställt högre än kommunen")
    assert views.priority_note(ranked, "sv") is None
    notes = " ".join(views.priority_table(ranked, pub.measures, kind="risk", lang="sv").footnotes)
    assert "resten av kommunen" in notes and "besvarade frågorna i området" in notes
    city = rank_factors(pub.aggregates, pub.comparisons, area="all", wave=2025)
    notes = " ".join(views.priority_table(city, pub.measures, kind="risk", lang="sv").footnotes)
    assert "resten av kommunen" not in notes and "besvarade frågorna i kommunen" in notes
    tiny = rank_factors(pub.aggregates, pub.comparisons, area="lillby", wave=2025)
    assert views.priority_note(tiny, "en").data.startswith("**Too few answers to judge")
    hidden = views.priority_table(tiny, pub.measures, kind="protective", lang="en")
    assert set(hidden.frame["Share with protection"]) == {MARKER}
    missing = views.choice_note(None, priorities_dir=tmp_path, area="lillby", wave=2025, lang="sv")
    assert "Prioritering" in missing.data and "samordnaren sparar" in missing.data
    for lang in ("sv", "en"):  # plain words: no path, file name, key or factor id for a team
        text = views.choice_note(None, priorities_dir=tmp_path, area="lillby", wave=2025,
                                 lang=lang).data  # fmt: skip
        assert not [w for w in (str(tmp_path), ".yaml", "risk_factors", "Id ") if w in text]
    (tmp_path / "norra-hamnen.yaml").write_text(
        "area: norra-hamnen\nwave: 2023\ndecided: 2024-01-10\nrisk_factors: [family_conflict]\n"
        "note: Vårt val.\n",
        encoding="utf-8",
    )
    choices = load_team_choices(tmp_path, "norra-hamnen", factors=pub.measures)
    note = views.choice_note(
        choices, priorities_dir=tmp_path, area="norra-hamnen", wave=2025, lang="en"
    )
    assert "recorded on 2024-01-10" in note.data and "builds on the 2023 survey" in note.data
    assert "> Vårt val." in note.data
    table = views.choice_table(ranked, choices, pub.measures, lang="en").frame
    assert table.set_index("Measure").loc["Family conflict", "Chosen by the team"] == "yes"
