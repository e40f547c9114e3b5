"""The opening of the reports: key findings from the profile's comparisons, and the contents."""

from __future__ import annotations

import pandas as pd
import pytest

from ctc_helpers.publish.read import load_published
from ctc_helpers.views import report, summary
from ctc_helpers.views.labels import measure_labels
from tests.fake_published import write_fake_published


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


def test_contents_link_to_the_section_anchors():
    toc = summary.contents(["risk_profile", "methods"], "sv", name="Norra Hamnen").data
    section = report.section("risk_profile", "sv", area="norra-hamnen", name="Norra Hamnen").data
    assert f'href="#{summary.anchor("risk_profile")}"' in toc
    assert f'<a id="{summary.anchor("risk_profile")}"></a>' in section
    assert toc.count("<li>") == 2 and "Innehåll" in toc
