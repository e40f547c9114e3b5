"""Tests of ctc_helpers.views.report: headings, sections, the report header, methods and glossary."""

from __future__ import annotations

import pytest

from ctc_helpers.publish.read import load_published
from ctc_helpers.views import report
from tests.fake_published import write_fake_published


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """A leaky published folder: hidden rows still carry sentinel numbers."""
    return write_fake_published(tmp_path_factory.mktemp("published"), leaky=True)


@pytest.fixture(scope="module")
def pub(fake):
    return load_published(fake.path)


def test_section_uses_the_city_text_for_the_city():
    area = report.section("risk_profile", "sv", area="norra-hamnen", name="Norra Hamnen").data
    city = report.section("risk_profile", "sv", area="all", name="x").data
    assert area.startswith('<a id="ctc-risk-profile"></a>\n\n## Riskprofil\n\n')
    assert "romben hela kommunen" in area
    assert "Områdena jämförs med varandra" in city and "romben" not in city
    assert report.section("ranking_risk", "en", level=3).data.endswith(
        "\n\n### Risk factors in rank order"
    )


def test_heading_and_narrative():
    assert report.heading("methods", "en").data == "## Methods appendix"
    assert report.heading("methods", "sv", level=3).data == "### Metodbilaga"
    text = report.narrative("areas", "en", name="Solvik").data
    assert "The framed column is Solvik." in text


def test_synthetic_banner_and_header(pub, tmp_path):
    assert report.synthetic_banner({"synthetic": False}, "sv") is None
    assert report.synthetic_banner({}, "sv") is None
    banner = report.synthetic_banner({"synthetic": True}, "en").data
    assert "Synthetic data: Exempelstad is an invented municipality" in banner
    header = report.report_header(pub, phase="profile", area="lillby", wave=2025, lang="sv").data
    assert header.startswith("# Områdesprofil: Lillby 2025")
    assert "Syntetiska data" in header
    real = load_published(write_fake_published(tmp_path / "real", synthetic=False).path)
    plain = report.report_header(real, phase="priorities", area="all", wave=2025, lang="en").data
    assert plain.startswith("# Prioritisation worksheet: Whole municipality 2025")
    assert "Synthetic" not in plain


@pytest.mark.parametrize("phase", ["profile", "priorities", "gaps", "process"])
@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_city_header_is_worded_for_the_city(pub, phase, lang):
    area = report.report_header(pub, phase=phase, area="lillby", wave=2025, lang=lang).data
    city = report.report_header(pub, phase=phase, area="all", wave=2025, lang=lang).data
    assert city.split("\n\n")[1] != area.split("\n\n")[1]  # its own purpose
    words = ("området", "områdets", "områdesteamets eget", "jämförda med hela kommunen")
    if lang == "en":
        words = ("the area ", "the area's", "the area team's own", "with the whole municipality")
    assert not [w for w in words if w in city.split("\n\n")[1]], city


def test_the_city_profile_is_titled_for_the_city(pub):
    sv = report.report_header(pub, phase="profile", area="all", wave=2025, lang="sv").data
    en = report.report_header(pub, phase="profile", area="all", wave=2025, lang="en").data
    assert sv.startswith("# Kommunprofil: Hela kommunen 2025\n\nResultat från ungdomsenkäten 2025")
    assert "jämförda med förra mätningen, och områdena jämförda med varandra" in sv
    assert en.startswith("# Municipal profile: Whole municipality 2025")
    area = report.report_header(pub, phase="profile", area="lillby", wave=2025, lang="sv").data
    assert "jämförda med hela kommunen" in area


def test_methods_and_glossary(pub):
    text = report.methods_appendix(pub, "en").data
    assert "Questionnaire: fake-instrument, version 0.1." in text
    assert "Cut points: version fake-cut-1; method (number of factors): percentile (6)" in text
    assert "fewer than 10 answers are not shown" in text
    assert "Reported a fictitious drug" not in text  # labels come from the default instrument
    assert "- Statistics:" in text
    glossary = report.glossary_table("sv").frame
    assert list(glossary.columns) == ["Begrepp", "Förklaring"]
    assert "Brytpunkt" in set(glossary["Begrepp"])
