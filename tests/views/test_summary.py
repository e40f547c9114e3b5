"""The opening of the reports: key findings from the profile's comparisons, and the contents."""

from __future__ import annotations

import dataclasses
import html
import re

import pandas as pd
import pytest

from ctc_helpers.config.priorities import load_team_choices
from ctc_helpers.i18n import t
from ctc_helpers.phases import links, prioritization
from ctc_helpers.publish.read import load_published
from ctc_helpers.views import report, summary
from ctc_helpers.views.labels import measure_labels
from tests.fake_links import write_links
from tests.fake_published import SENTINEL_PCT, write_fake_published


@pytest.fixture(scope="module")
def pub(tmp_path_factory):
    return load_published(write_fake_published(tmp_path_factory.mktemp("published")).path)


def _clear(pub, *, area, comparison, change, kind):
    """Measures with a clear change, read straight from the published comparisons."""
    rows = pub.comparisons.query(
        "wave == 2025 and area == @area and grade == 'all' and sex == 'all'"
        " and comparison == @comparison and change == @change and measure_kind == @kind"
    )
    return set(rows["measure"])


def test_profile_findings_match_the_comparisons(pub):
    found = summary.profile_findings(pub, area="norra-hamnen", wave=2025)
    by = {name: set(rows["measure"]) for name, rows in found.groupby("finding")}
    expected = {
        "risk_high": _clear(pub, area="norra-hamnen", comparison="city", change="increase", kind="risk"),
        "protective_low": _clear(
            pub, area="norra-hamnen", comparison="city", change="decrease", kind="protective"
        ),
        "worse_since": _clear(
            pub, area="norra-hamnen", comparison="previous_wave", change="increase", kind="risk"
        )
        | _clear(pub, area="norra-hamnen", comparison="previous_wave", change="increase",
                 kind="behaviour")
        | _clear(pub, area="norra-hamnen", comparison="previous_wave", change="decrease",
                 kind="protective"),
    }  # fmt: skip
    assert expected["risk_high"], "the fake city should have a clearly elevated risk factor"
    for name, measures in expected.items():
        assert by.get(name, set()) == measures, name
    # the reference of an area finding is the rest of the city, as in the profile table
    city = pub.comparisons.query(
        "wave == 2025 and area == 'norra-hamnen' and grade == 'all' and sex == 'all'"
        " and comparison == 'city'"
    ).set_index("measure")
    high = found.loc[found["finding"].eq("risk_high")].set_index("measure")
    pd.testing.assert_series_equal(
        high["reference"], city.loc[high.index, "pct_rest"], check_names=False
    )


def test_profile_summary_names_the_clear_findings_in_words(pub):
    block = summary.profile_summary(pub, area="norra-hamnen", wave=2025, lang="sv").data
    labels = measure_labels(pub.measures, "sv")
    found = summary.profile_findings(pub, area="norra-hamnen", wave=2025)
    assert block.startswith('<div class="ctc-summary"><h2>Det viktigaste</h2>')
    assert "Riskfaktorer som är tydligt vanligare än i övriga kommunen" in block
    for measure in found.loc[found["finding"].eq("risk_high"), "measure"].head(5):
        assert labels[measure] in block
    city = summary.profile_summary(pub, area="all", wave=2025, lang="en").data
    assert "Key findings" in city and "rest of the municipality" not in city


def test_without_a_comparison_the_summary_says_why(pub):
    """The first survey says so; a later one without a comparison names the cut points."""
    first = summary.profile_summary(pub, area="norra-hamnen", wave=2023, lang="sv").data
    assert summary.first_survey(pub, 2023) and not summary.first_survey(pub, 2025)
    assert t("summary_first_survey", "sv") in first and "samma gränsvärden" not in first
    comparisons = pub.comparisons.loc[pub.comparisons["comparison"].ne("previous_wave")]
    other_cuts = dataclasses.replace(pub, comparisons=comparisons)
    later = summary.profile_summary(other_cuts, area="norra-hamnen", wave=2025, lang="en").data
    assert t("summary_no_previous", "en") in later and "first survey" not in later
    empty = pd.DataFrame()
    follow = summary.followup_summary([empty], empty, first_survey=True, lang="en").data
    assert t("summary_first_survey", "en") in follow
    assert (
        t("summary_no_previous", "en") in summary.followup_summary([empty], empty, lang="en").data
    )


def test_the_city_profile_lists_where_to_start_and_links_to_it(pub):
    from ctc_helpers.views.area_selection import area_selection_parts

    assert "area_selection" not in summary.profile_sections("norra-hamnen")
    sections = summary.profile_sections("all")
    assert sections.index("area_selection") == sections.index("methods") - 1
    toc = summary.contents(sections, "sv").data
    heading = area_selection_parts(pub, area="all", wave=2025, lang="sv")[0].data
    link = f'href="#{summary.anchor("area_selection")}"'
    assert link in toc and "Var börjar vi?" in toc
    assert f'<a id="{summary.anchor("area_selection")}"></a>' in heading


def test_contents_link_to_the_section_anchors():
    toc = summary.contents(["risk_profile", "methods"], "sv", name="Norra Hamnen").data
    section = report.section("risk_profile", "sv", area="norra-hamnen", name="Norra Hamnen").data
    assert f'href="#{summary.anchor("risk_profile")}"' in toc
    assert f'<a id="{summary.anchor("risk_profile")}"></a>' in section
    assert toc.count("<li>") == 2 and "Innehåll" in toc


# ------------------------------------------------------ report 02: the priority behaviours first


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    """The leaky fake folder (hidden rows keep a sentinel number) with the run file's default
    behaviour truancy published in the link table."""
    folder = tmp_path_factory.mktemp("linked") / "data"
    fake = write_fake_published(folder, leaky=True)
    write_links(folder)
    return {"pub": load_published(folder), "fake": fake, "team": folder.parent / "team"}


def _priorities_items(pub, *, area, choices=None, lang="sv", behaviours=None) -> list[str]:
    """The sentences of report 02's key findings, as the report computes its inputs."""
    evidence = links.ranking_inputs(pub, choices)
    if behaviours is not None:
        evidence = {**evidence, "behaviours": behaviours}
    ranked = prioritization.rank_factors(
        pub.aggregates, pub.comparisons, area=area, wave=2025, **evidence
    )
    block = summary.priorities_summary(
        ranked, choices, pub, area=area, wave=2025, behaviours=evidence["behaviours"], lang=lang
    ).data
    return [html.unescape(item) for item in re.findall(r"<li>(.*?)</li>", block)]


def _share(fake, *, area: str, lang: str) -> str:
    """Truancy's share (all grades, both sexes, 2025) from the unsuppressed table, shown as the
    reports show a share ("9 %" in Swedish, "9%" in English), computed here."""
    table = fake.aggregates_unsuppressed
    row = table[
        table["area"].eq(area) & table["measure"].eq("truancy") & table["wave"].eq(2025)
        & table["grade"].eq("all") & table["sex"].eq("all")
    ].iloc[0]  # fmt: skip
    value = int(100 * row["n_flagged"] / row["n"] + 0.5)
    return f"{value} %" if lang == "sv" else f"{value}%"


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_key_findings_start_with_the_run_files_behaviours_and_their_shares(linked, lang):
    pub, fake = linked["pub"], linked["fake"]
    first, *rest = _priorities_items(pub, area="soderdalen", lang=lang)
    label = measure_labels(pub.measures, lang)["truancy"]
    here = t("summary_share_here", lang, pct=_share(fake, area="soderdalen", lang=lang))
    city = t("summary_share_city", lang, pct=_share(fake, area="all", lang=lang))
    items = t("summary_behaviour_level", lang, label=label, shares=f"{here}, {city}")
    assert first == t("summary_behaviours_default", lang, items=items)
    assert {"sv": "förval", "en": "default"}[lang] in first
    assert rest[0].startswith(t("summary_suggested_risk", lang, items="").split(":")[0])


def test_key_findings_say_the_team_chose_the_behaviours(linked, tmp_path):
    (tmp_path / "soderdalen.yaml").write_text(
        "area: soderdalen\nwave: 2025\ndecided: 2025-11-18\nrisk_factors: [family_conflict]\n"
        "protective_factors: []\npriority_behaviours: [alcohol_30d, truancy]\n",
        encoding="utf-8",
    )
    pub = linked["pub"]
    choices = load_team_choices(tmp_path, "soderdalen", factors=pub.measures)
    first = _priorities_items(pub, area="soderdalen", choices=choices)[0]
    assert first.startswith(t("summary_behaviours_team", "sv", items="").rstrip(": ."))
    assert "Druckit alkohol senaste 30 dagarna (" in first and "Skolkat (" in first
    assert first.index("Druckit alkohol") < first.index("Skolkat")  # the team's order


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_a_suppressed_share_is_said_not_to_be_shown_never_given(linked, lang):
    pub = linked["pub"]
    first = _priorities_items(pub, area="lillby", lang=lang)[0]  # every group of Lillby hidden
    assert t("summary_share_here_hidden", lang) in first
    assert _share(linked["fake"], area="all", lang=lang) in first
    # the city's row hidden as well (leaky: a sentinel number stays in the row)
    aggregates = pub.aggregates.copy()
    city = (
        aggregates["area"].eq("all") & aggregates["measure"].eq("truancy")
        & aggregates["grade"].eq("all") & aggregates["sex"].eq("all")
    )  # fmt: skip
    aggregates.loc[city, ["pct", "suppressed"]] = [SENTINEL_PCT, True]
    hidden = dataclasses.replace(pub, aggregates=aggregates)
    first = _priorities_items(hidden, area="soderdalen", lang=lang)[0]
    assert t("summary_share_city_hidden", lang) in first
    sentinel = int(100 * SENTINEL_PCT + 0.5)
    assert str(sentinel) not in first
    assert str(sentinel) not in " ".join(_priorities_items(hidden, area="lillby", lang=lang))


def test_the_city_report_names_the_default_behaviours_for_the_city(linked):
    first = _priorities_items(linked["pub"], area="all", lang="sv")[0]
    share = _share(linked["fake"], area="all", lang="sv")
    assert first == t(
        "summary_behaviours_default_city", "sv", items=f"Skolkat ({share} i hela kommunen)"
    )
    assert "här" not in first and "områdesteamet" not in first


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_without_behaviours_the_key_findings_say_only_general_research_counts(lang, pub):
    first = _priorities_items(pub, area="norra-hamnen", lang=lang, behaviours=())[0]
    assert first == t("summary_behaviours_none", lang)


def test_report_02s_contents_start_with_the_priority_behaviours():
    assert summary.PRIORITIES_SECTIONS[0] == "priority_behaviours"
    toc = summary.contents(summary.PRIORITIES_SECTIONS, "en", name="Norra Hamnen").data
    section = report.section("priority_behaviours", "en", area="norra-hamnen").data
    assert f'href="#{summary.anchor("priority_behaviours")}"' in toc
    assert f'<a id="{summary.anchor("priority_behaviours")}"></a>' in section
    assert "Priority problem behaviours" in toc
