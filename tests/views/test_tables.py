"""Tests of ctc_helpers.views.tables on the fake published folder (tests/fake_published.py)."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from ctc_helpers.i18n import t
from ctc_helpers.phases.prioritization import load_team_choices, rank_factors
from ctc_helpers.views import tables as display
from tests.fake_published import write_fake_published

MARKER = "–"


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """A leaky published folder: hidden rows still carry sentinel numbers."""
    return write_fake_published(tmp_path_factory.mktemp("published"), leaky=True)


@pytest.fixture(scope="module")
def pub(fake):
    return display.load_published(fake.path)


def _texts(table: display.DisplayTable) -> str:
    return table.frame.to_string() + "\n".join(table.footnotes)


def _expected_pct(fake, *, area, measure, wave=2025, grade="all", sex="all") -> float:
    row = fake.aggregates_unsuppressed.query(
        "wave == @wave and area == @area and grade == @grade and sex == @sex and measure == @measure"
    )
    return float(row["n_flagged"].iloc[0] / row["n"].iloc[0])


# --------------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("value", "lang", "decimals", "expected"),
    [
        (0.125, "sv", 0, "13 %"),  # 12.5 rounds half up
        (0.125, "en", 0, "13%"),
        (0.0449, "sv", 1, "4,5 %"),
        (0.0, "sv", 0, "0 %"),
        (float("nan"), "sv", 0, ""),
        (None, "en", 0, ""),
    ],
)
def test_format_pct(value, lang, decimals, expected):
    assert display.format_pct(value, lang, decimals=decimals) == expected


def test_format_points_and_counts():
    assert display.format_points(0.155, "sv") == "+16"
    assert display.format_points(-0.155, "sv") == "−16"
    assert display.format_points(-0.155, "en") == "-16"
    assert display.format_points(0.001, "en") == "0"
    assert display.format_points(float("nan"), "en") == ""
    assert display.format_count(1234567, "en") == "1,234,567"
    assert display.format_count(1234.5, "sv") == "1\u202f235"


# --------------------------------------------------------------------------------- texts


def test_section_uses_the_city_text_for_the_city():
    area = display.section("risk_profile", "sv", area="norra-hamnen", name="Norra Hamnen").data
    city = display.section("risk_profile", "sv", area="all", name="x").data
    assert area.startswith("## Riskprofil\n\n") and "romben hela kommunen" in area
    assert "Områdena jämförs med varandra" in city and "romben" not in city
    assert display.section("ranking_risk", "en", level=3).data == "### Risk factors in rank order"


def test_synthetic_banner_and_header(pub, tmp_path):
    assert display.synthetic_banner({"synthetic": False}, "sv") is None
    assert display.synthetic_banner({}, "sv") is None
    banner = display.synthetic_banner({"synthetic": True}, "en").data
    assert "Synthetic data: Exempelstad is an invented municipality" in banner
    header = display.report_header(pub, phase="profile", area="lillby", wave=2025, lang="sv").data
    assert header.startswith("# Områdesprofil: Lillby 2025")
    assert "Syntetiska data" in header
    real = display.load_published(write_fake_published(tmp_path / "real", synthetic=False).path)
    plain = display.report_header(real, phase="priorities", area="all", wave=2025, lang="en").data
    assert plain.startswith("# Prioritisation worksheet: Whole municipality 2025")
    assert "Synthetic" not in plain


# --------------------------------------------------------------------------------- tables


def test_profile_table_values_and_markers(pub, fake):
    table = display.profile_table(pub, kind="risk", area="norra-hamnen", wave=2025, lang="sv")
    frame = table.frame.set_index("Mått")
    expected = _expected_pct(fake, area="norra-hamnen", measure="family_conflict")
    assert frame.loc["Konflikter i familjen", "Norra Hamnen"] == display.format_pct(expected, "sv")
    city = _expected_pct(fake, area="all", measure="family_conflict")
    assert frame.loc["Konflikter i familjen", "Hela kommunen"] == display.format_pct(city, "sv")
    assert frame.loc["Konflikter i familjen", "Skillnad mot kommunen (procentenheter)"].endswith(
        "(tydligt högre)"
    )
    assert frame.loc[
        "Vänner som använder droger", "Förändring sedan 2023 (procentenheter)"
    ].endswith("(ökning)")
    # the risk profile ends with the risk composite only
    assert list(frame.index[-1:]) == ["Hög risk"] and "Högt skydd" not in frame.index
    assert table.footnotes[-1].startswith("KI = 95 % konfidensintervall")


def test_profile_table_of_a_hidden_area(pub):
    table = display.profile_table(pub, kind="protective", area="lillby", wave=2025, lang="en")
    frame = table.frame
    assert set(frame["Lillby"]) == {MARKER}
    assert set(frame["Answers"]) == {MARKER}
    assert (
        table.footnotes[0]
        == "– fewer than 10 answers, or hidden so that such a small group cannot be worked out"
    )
    assert "86" not in _texts(table)  # the sentinel never shows


def test_profile_table_of_the_city_has_no_city_columns(pub):
    frame = display.profile_table(pub, kind="risk", area="all", wave=2025, lang="en").frame
    assert "Whole municipality" in frame.columns
    assert not any("Difference from the municipality" in c for c in frame.columns)
    assert "2023" in frame.columns


def test_participation_tables(pub, fake):
    schools = display.participation_table(pub, area="norra-hamnen", wave=2025, lang="sv").frame
    # two schools of 4 cells x 30 valid + 2 invalid answers each = 128 answered, 120 valid
    assert schools["Skola"].tolist() == ["Hamnskolan", "Kajskolan", "Totalt"]
    assert schools["Besvarade enkäter"].tolist() == ["128", "128", "256"]
    assert schools["Giltiga enkäter"].tolist() == ["120", "120", "240"]
    # enrolled = floor(32 / 0.75) = 42 per cell, 168 per school: 128 / 168 = 76 %
    assert schools["Svarsfrekvens"].tolist() == ["76 %", "76 %", "76 %"]
    city = display.participation_table(pub, area="all", wave=2025, lang="en")
    assert city.frame["Area"].tolist() == [
        "Norra Hamnen",
        "Söderdalen",
        "Lillby",
        "Whole municipality",
    ]
    assert city.frame.set_index("Area").loc["Lillby", "Answered questionnaires"] == MARKER
    grades = display.participation_table(pub, area="soderdalen", wave=2025, by="grade", lang="sv")
    row = grades.frame.set_index("Årskurs").loc["åk 9"]
    assert row.tolist() == [MARKER, MARKER, "11"]
    assert grades.footnotes == (
        "– färre än 10 svar, eller dolt så att en sådan liten grupp inte kan räknas fram",
    )
    tiny = display.participation_table(pub, area="lillby", wave=2025, lang="sv")
    assert tiny.footnotes[-1] == t("report_note_no_enrolment", "sv")
    with pytest.raises(ValueError, match="by is 'sex'; choose 'school' or 'grade'"):
        display.participation_table(pub, area="lillby", wave=2025, by="sex")


def test_screening_table(pub):
    table = display.screening_table(pub, area="norra-hamnen", wave=2025, lang="sv").frame
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
    hidden = display.screening_table(pub, area="lillby", wave=2025, lang="sv")
    assert set(hidden.frame.drop(columns="Kontrollregel").to_numpy().ravel()) == {MARKER}


def test_breakdown_and_area_tables(pub, fake):
    by_sex = display.breakdown_table(pub, area="norra-hamnen", wave=2025, by="sex", lang="en")
    girls = _expected_pct(fake, area="norra-hamnen", measure="truancy", sex="F")
    assert by_sex.frame.set_index("Measure").loc["Truancy", "Girls"] == display.format_pct(
        girls, "en"
    )
    areas = display.areas_table(pub, kind="risk", wave=2025, lang="sv")
    assert list(areas.frame.columns) == [
        "Mått",
        "Norra Hamnen",
        "Söderdalen",
        "Lillby",
        "Hela kommunen",
    ]
    assert set(areas.frame["Lillby"]) == {MARKER}
    assert areas.footnotes == (
        "– färre än 10 svar, eller dolt så att en sådan liten grupp inte kan räknas fram",
    )


def test_methods_and_glossary(pub):
    text = display.methods_appendix(pub, "en").data
    assert "Questionnaire: fake-instrument, version 0.1." in text
    assert "Cut points: version fake-cut-1; method (number of factors): percentile (6)" in text
    assert "fewer than 10 answers are not shown" in text
    assert "Reported a fictitious drug" not in text  # labels come from the default instrument
    assert "- Statistics:" in text
    glossary = display.glossary_table("sv").frame
    assert list(glossary.columns) == ["Begrepp", "Förklaring"]
    assert "Brytpunkt" in set(glossary["Begrepp"])


def test_display_table_renders_html_with_footnote():
    table = display.display_table(pd.DataFrame({"a": ["1", MARKER]}), lang="en", min_cell=15)
    html = table._repr_html_()
    assert (
        "<table" in html
        and "– fewer than 15 answers, or hidden so that such a small group cannot be worked out"
        in html
    )
    assert display.display_table(pd.DataFrame({"a": ["1"]})).footnotes == ()


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"Mått": ["a < b & c > d", None, np.nan], "Andel": ["12 %", "–", ""]}),
        pd.DataFrame({"Skola": ["Centralskolan", "Ängsskolan"], "n": ["814", "1\u202f016"]}),
        pd.DataFrame({"a": pd.Series([], dtype=object), "b": pd.Series([], dtype=object)}),
        pd.DataFrame({"x": [1, 2], "y": [0.5, np.nan]}),  # numbers: pandas formats them
        pd.DataFrame([["1", "2"]], columns=pd.MultiIndex.from_tuples([("A", "a"), ("A", "b")])),
        pd.DataFrame([["1", "2"]], columns=["same", "same"]),
    ],
)
def test_html_table_is_pandas_markup_on_one_line(frame):
    shown = frame.mask(frame.isna(), np.nan)  # pandas writes a None as "None": empty here
    if all(dtype.kind == "O" for dtype in frame.dtypes):  # short text cells keep together
        shown = shown.map(
            lambda v: v.replace(" ", "\xa0") if isinstance(v, str) and len(v) <= 16 else v
        )
    expected = shown.to_html(index=False, escape=True, na_rep="", border=0, classes="ctc-table")
    expected = re.sub(r">\s*\n\s*<", "><", expected)
    assert display.html_table(frame) == expected
    assert "\n" not in display.html_table(frame)


def test_html_table_keeps_short_cells_on_one_line():
    frame = pd.DataFrame({"Regel": ["Orimligt hög användning av flera ämnen", "Alla"],
                          "åk 6": ["2 (0,6 %)", "29–33 %"]})  # fmt: skip
    html = display.html_table(frame)
    assert "<td>2\xa0(0,6\xa0%)</td>" in html and "<td>29–33\xa0%</td>" in html
    assert "<td>Orimligt hög användning av flera ämnen</td>" in html  # long text wraps
    assert "<th>åk 6</th>" in html  # headers wrap


def test_text_table_aligns_columns():
    frame = pd.DataFrame({"Skola": ["Centralskolan", None], "n": ["814", "12"]})
    assert display.text_table(frame).splitlines() == [
        "        Skola   n",
        "Centralskolan 814",
        "               12",
    ]
    table = display.DisplayTable(frame, footnotes=("– dolt",))
    assert repr(table).splitlines()[-1] == "– dolt"


# ------------------------------------------------------------------------- prioritisation views


def test_priority_views(pub, tmp_path):
    ranked = rank_factors(pub.aggregates, pub.comparisons, area="norra-hamnen", wave=2025)
    risk = display.priority_table(ranked, pub.measures, kind="risk", lang="sv").frame
    top = risk.iloc[0]
    assert top["Rang"] == "1" and top["Föreslås"] == "ja"
    assert top["Motivering"].startswith("Statistiskt säkerställt högre än kommunen")
    assert display.priority_note(ranked, "sv") is None
    tiny = rank_factors(pub.aggregates, pub.comparisons, area="lillby", wave=2025)
    assert display.priority_note(tiny, "en").data.startswith("**Too few answers to judge")
    hidden = display.priority_table(tiny, pub.measures, kind="protective", lang="en")
    assert set(hidden.frame["Share with protection"]) == {MARKER}
    missing = display.choice_note(
        None, priorities_dir=tmp_path, area="lillby", wave=2025, lang="sv"
    )
    assert str(tmp_path / "lillby.yaml") in missing.data and "risk_factors:" in missing.data
    (tmp_path / "norra-hamnen.yaml").write_text(
        "area: norra-hamnen\nwave: 2023\ndecided: 2024-01-10\nrisk_factors: [family_conflict]\n"
        "note: Vårt val.\n",
        encoding="utf-8",
    )
    choices = load_team_choices(tmp_path, "norra-hamnen", factors=pub.measures)
    note = display.choice_note(
        choices, priorities_dir=tmp_path, area="norra-hamnen", wave=2025, lang="en"
    )
    assert "recorded on 2024-01-10" in note.data and "builds on the 2023 survey" in note.data
    assert "> Vårt val." in note.data
    table = display.choice_table(ranked, choices, pub.measures, lang="en").frame
    assert table.set_index("Measure").loc["Family conflict", "Chosen by the team"] == "yes"


# --------------------------------------------------------------------------------- results


def test_write_results(tmp_path, pub):
    payload = {
        "n": np.int64(3),
        "share": np.float64(0.5),
        "missing": float("nan"),
        "ids": np.array(["a", "b"]),
        "nested": {"x": pd.NA},
    }
    path = display.write_results(tmp_path / "out", "lillby", "01_survey_analysis", payload)
    record = json.loads(path.read_text(encoding="utf-8"))
    assert path.name == "01_survey_analysis.json"
    assert record["area"] == "lillby" and record["phase"] == "01_survey_analysis"
    assert record["n"] == 3 and record["share"] == 0.5 and record["missing"] is None
    assert record["ids"] == ["a", "b"] and record["nested"] == {"x": None}
    assert display.write_results("", "lillby", "01_survey_analysis", payload) is None


def test_profile_summary(pub):
    summary = display.profile_summary(pub, area="norra-hamnen", wave=2025)
    assert summary["respondents"] == 256
    assert {"family_conflict", "family_attachment"} <= set(summary["clear_vs_city"])
    assert summary["clear_since_previous"] == ["friends_drug_use"]
    hidden = display.profile_summary(pub, area="lillby", wave=2025)
    assert hidden["cells_suppressed"] == hidden["cells"] and math.isnan(hidden["respondents"])


def test_heading_and_narrative():
    assert display.heading("methods", "en").data == "## Methods appendix"
    assert display.heading("methods", "sv", level=3).data == "### Metodbilaga"
    text = display.narrative("areas", "en", name="Solvik").data
    assert "The framed column is Solvik." in text
