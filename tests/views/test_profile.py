"""Tests of ctc_helpers.views.profile (the tables of notebook 01) on the leaky fake published folder."""

from __future__ import annotations

import pytest

from ctc_helpers.i18n import t
from ctc_helpers.publish.read import load_published
from ctc_helpers.views import profile
from ctc_helpers.views.numbers import format_pct, format_points
from ctc_helpers.views.tables import DisplayTable
from tests.fake_published import write_fake_published

MARKER = "–"


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """A leaky published folder: hidden rows still carry sentinel numbers."""
    return write_fake_published(tmp_path_factory.mktemp("published"), leaky=True)


@pytest.fixture(scope="module")
def pub(fake):
    return load_published(fake.path)


def _texts(table: DisplayTable) -> str:
    return table.frame.to_string() + "\n".join(table.footnotes)


def _expected_pct(fake, *, area, measure, wave=2025, grade="all", sex="all") -> float:
    row = fake.aggregates_unsuppressed.query(
        "wave == @wave and area == @area and grade == @grade and sex == @sex and measure == @measure"
    )
    return float(row["n_flagged"].iloc[0] / row["n"].iloc[0])


def test_profile_table_values_and_markers(pub, fake):
    table = profile.profile_table(pub, kind="risk", area="norra-hamnen", wave=2025, lang="sv")
    frame = table.frame.set_index("Mått")
    expected = _expected_pct(fake, area="norra-hamnen", measure="family_conflict")
    assert frame.loc["Konflikter i familjen", "Norra Hamnen"] == format_pct(expected, "sv")
    # the reference shown is the one the difference is taken against: the rest of the city
    rows = fake.aggregates_unsuppressed.query(
        "wave == 2025 and grade == 'all' and sex == 'all' and measure == 'family_conflict'"
    ).set_index("area")
    rest = (rows.loc["all", "n_flagged"] - rows.loc["norra-hamnen", "n_flagged"]) / (
        rows.loc["all", "n"] - rows.loc["norra-hamnen", "n"]
    )
    assert "Hela kommunen" not in frame.columns
    assert frame.loc["Konflikter i familjen", "Övriga kommunen"] == format_pct(rest, "sv")
    difference = frame.loc["Konflikter i familjen", "Skillnad mot övriga kommunen (procentenheter)"]
    assert difference == f"{format_points(expected - rest, 'sv')} (tydligt högre)"
    assert frame.loc[
        "Vänner som använder droger", "Förändring sedan 2023 (procentenheter)"
    ].endswith("(ökning)")
    # the risk profile ends with the risk composite only
    assert list(frame.index[-1:]) == ["Hög risk"] and "Högt skydd" not in frame.index
    assert table.footnotes[-1].startswith("KI = 95 % konfidensintervall")


def test_profile_table_of_a_hidden_area(pub):
    table = profile.profile_table(pub, kind="protective", area="lillby", wave=2025, lang="en")
    frame = table.frame
    assert set(frame["Lillby"]) == {MARKER}
    assert set(frame["Answers"]) == {MARKER}
    assert (
        table.footnotes[0]
        == "– fewer than 10 answers or too few with the answer, or hidden so that a small group cannot be worked out"
    )
    assert "86" not in _texts(table)  # the sentinel never shows


def test_profile_table_of_the_city_has_no_city_columns(pub):
    frame = profile.profile_table(pub, kind="risk", area="all", wave=2025, lang="en").frame
    assert "Whole municipality" in frame.columns
    assert not any("Difference from the municipality" in c for c in frame.columns)
    assert "2023" in frame.columns


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_only_an_area_table_explains_the_difference_from_the_city(pub, lang):
    city = profile.profile_table(pub, kind="risk", area="all", wave=2025, lang=lang).footnotes
    area = profile.profile_table(pub, kind="risk", area="lillby", wave=2025, lang=lang).footnotes
    rest = {"sv": "resten av kommunen", "en": "rest of the municipality"}[lang]
    assert rest in " ".join(area) and rest not in " ".join(city)
    assert any(note.startswith(("KI = 95 %", "CI = 95%")) for note in city)


def test_participation_tables(pub, fake):
    schools = profile.participation_table(pub, area="norra-hamnen", wave=2025, lang="sv").frame
    # two schools of 4 cells x 30 valid + 2 invalid answers each = 128 answered, 120 valid
    assert schools["Skola"].tolist() == ["Hamnskolan", "Kajskolan", "Totalt"]
    assert schools["Besvarade enkäter"].tolist() == ["128", "128", "256"]
    assert schools["Giltiga enkäter"].tolist() == ["120", "120", "240"]
    # enrolled = floor(32 / 0.75) = 42 per cell, 168 per school: 128 / 168 = 76 %
    assert schools["Svarsfrekvens"].tolist() == ["76 %", "76 %", "76 %"]
    city = profile.participation_table(pub, area="all", wave=2025, lang="en")
    assert city.frame["Area"].tolist() == [
        "Norra Hamnen",
        "Söderdalen",
        "Lillby",
        "Whole municipality",
    ]
    assert city.frame.set_index("Area").loc["Lillby", "Answered questionnaires"] == MARKER
    grades = profile.participation_table(pub, area="soderdalen", wave=2025, by="grade", lang="sv")
    row = grades.frame.set_index("Årskurs").loc["åk 9"]
    assert row.tolist() == [MARKER, MARKER, "11"]
    assert grades.footnotes == (
        "– färre än 10 svar eller för få med svaret, eller dolt så att en liten grupp inte kan räknas fram",
    )
    tiny = profile.participation_table(pub, area="lillby", wave=2025, lang="sv")
    assert tiny.footnotes[-1] == t("report_note_no_enrolment", "sv")
    with pytest.raises(ValueError, match="by is 'sex'; choose 'school' or 'grade'"):
        profile.participation_table(pub, area="lillby", wave=2025, by="sex")


def test_screening_table(pub):
    table = profile.screening_table(pub, area="norra-hamnen", wave=2025, lang="sv").frame
    table = table.set_index("Kontrollregel")
    assert table.loc["Granskade enkäter"].tolist() == ["128", "128", "256"]
    # one questionnaire of 128 per grade: 0.78 % -> "0,8 %"; of 256: "0,4 %"
    dishonest = table.loc["Uppger att hen inte alls varit ärlig i enkäten"].tolist()
    assert dishonest == ["1 (0,8 %)", "1 (0,8 %)", "1 (0,4 %)"]
    assert table.loc["Uteslutna av minst en regel"].tolist() == [
        "2 (1,6 %)",
        "2 (1,6 %)",
        "2 (0,8 %)",
    ]
    hidden = profile.screening_table(pub, area="lillby", wave=2025, lang="sv")
    assert set(hidden.frame.drop(columns="Kontrollregel").to_numpy().ravel()) == {MARKER}


def test_breakdown_and_area_tables(pub, fake):
    by_sex = profile.breakdown_table(pub, area="norra-hamnen", wave=2025, by="sex", lang="en")
    girls = _expected_pct(fake, area="norra-hamnen", measure="truancy", sex="F")
    assert by_sex.frame.set_index("Measure").loc["Truancy", "Girls"] == format_pct(girls, "en")
    areas = profile.areas_table(pub, kind="risk", wave=2025, lang="sv")
    assert list(areas.frame.columns) == [
        "Mått",
        "Norra Hamnen",
        "Söderdalen",
        "Lillby",
        "Hela kommunen",
    ]
    assert set(areas.frame["Lillby"]) == {MARKER}
    assert areas.footnotes == (
        "– färre än 10 svar eller för få med svaret, eller dolt så att en liten grupp inte kan räknas fram",
    )
