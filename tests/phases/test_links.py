"""Local link strength (phases/links.py): Mantel-Haenszel estimates against statsmodels and by
hand, recovery of planted links (and of their absence) on seeded synthetic rows, protection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.contingency_tables import StratifiedTable

from ctc_helpers.phases.links import local_links, mantel_haenszel, protect_links

STRATA = pd.DataFrame(
    {"a": [30, 12, 50, 4], "b": [70, 40, 60, 20], "c": [15, 10, 40, 2], "d": [135, 90, 120, 30]}
)


def _tables(strata: pd.DataFrame) -> list[np.ndarray]:
    return [np.array([[r.a, r.b], [r.c, r.d]], float) for r in strata.itertuples()]


def test_odds_ratio_and_interval_equal_statsmodels():
    ours = mantel_haenszel(STRATA)
    table = StratifiedTable(_tables(STRATA))
    assert ours["or"] == pytest.approx(table.oddsratio_pooled)
    assert (ours["or_low"], ours["or_high"]) == pytest.approx(table.oddsratio_pooled_confint())


def test_risk_ratio_equals_statsmodels_and_its_log_variance_the_greenland_robins_formula():
    ours = mantel_haenszel(STRATA)
    table = StratifiedTable(_tables(STRATA))
    assert ours["rr"] == pytest.approx(table.riskratio_pooled)
    # Greenland & Robins (1985), written out cell by cell in plain Python
    r = s = v = 0.0
    for a, b, c, d in STRATA.itertuples(index=False):
        n1, n0, n = a + b, c + d, a + b + c + d
        r += a * n0 / n
        s += c * n1 / n
        v += (n1 * n0 * (a + c) - a * c * n) / n**2
    half = 1.959963984540054 * np.sqrt(v / (r * s))
    assert ours["rr_low"] == pytest.approx(ours["rr"] * np.exp(-half))


def test_risk_difference_one_stratum_is_the_crude_difference_with_the_wald_interval():
    one = STRATA.iloc[[0]]
    ours = mantel_haenszel(one)
    p1, p0 = 30 / 100, 15 / 150
    se = np.sqrt(p1 * (1 - p1) / 100 + p0 * (1 - p0) / 150)
    assert ours["rd"] == pytest.approx(p1 - p0)
    assert (ours["rd_low"], ours["rd_high"]) == pytest.approx(
        (p1 - p0 - 1.959963984540054 * se, p1 - p0 + 1.959963984540054 * se)
    )


def test_risk_difference_is_the_mantel_haenszel_weighted_mean():
    s = STRATA.assign(n1=lambda f: f.a + f.b, n0=lambda f: f.c + f.d)
    weight = s.n1 * s.n0 / (s.n1 + s.n0)
    expected = ((s.a / s.n1 - s.c / s.n0) * weight).sum() / weight.sum()
    assert mantel_haenszel(STRATA)["rd"] == pytest.approx(expected)


def _planted_rows(rng: np.random.Generator, n: int = 6000) -> pd.DataFrame:
    """Seeded rows: `linked` raises the behaviour; `confounded` rises with grade like the
    behaviour but has no link of its own; `protection` lowers it (planted)."""
    grade = rng.choice(["ak7", "ak9"], n)
    sex = rng.choice(["F", "M"], n)
    older = grade == "ak9"
    linked = rng.random(n) < 0.3
    confounded = rng.random(n) < np.where(older, 0.5, 0.15)
    protection = rng.random(n) < 0.5
    logit = -2.2 + 1.2 * older + 1.0 * linked - 0.8 * protection + 0.3 * (sex == "M")
    behaviour = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {"wave": 2025, "area": rng.choice(["x", "y"], n), "grade": grade, "sex": sex,
         "valid": True, "flag__linked": linked * 1.0, "flag__confounded": confounded * 1.0,
         "flag__protection": protection * 1.0, "flag__use": behaviour * 1.0}
    )  # fmt: skip


def test_planted_links_are_recovered_and_their_absence_too(rng):
    rows = _planted_rows(rng)
    kinds = {"linked": "risk", "confounded": "risk", "protection": "protective"}
    links = local_links(rows, factor_kinds=kinds, behaviours=["use"]).set_index(["area", "factor"])
    city = links.loc["all"]
    assert city.loc["linked", "rd_low"] > 0.05 and city.loc["linked", "rr_low"] > 1.3
    assert city.loc["protection", "rd_low"] > 0.03  # without the protection: more use
    absent = city.loc["confounded"]
    assert absent.rd_low < 0 < absent.rd_high and absent.rr_low < 1 < absent.rr_high
    crude = absent.pct_exposed - absent.pct_unexposed
    assert crude > 0.05  # grade alone makes it look linked: the adjustment removes it


def test_only_valid_rows_count_and_missing_values_are_left_out(rng):
    rows = _planted_rows(rng, n=500)
    rows.loc[:49, "valid"] = False
    rows.loc[50:59, "flag__use"] = np.nan
    links = local_links(rows, factor_kinds={"linked": "risk"}, behaviours=["use"])
    city = links[links.area == "all"].iloc[0]
    assert city.n_exposed + city.n_unexposed == 440


def test_missing_column_is_named(rng):
    with pytest.raises(KeyError, match="flag__alcohol"):
        local_links(
            _planted_rows(rng, 100), factor_kinds={"linked": "risk"}, behaviours=["alcohol"]
        )


def test_protection_hides_small_cells_and_what_would_reveal_them(rng):
    rows = _planted_rows(rng, n=3000)
    small = rows.index[:30]
    rows.loc[small, "area"] = "tiny"
    links = local_links(rows, factor_kinds={"linked": "risk"}, behaviours=["use"])
    published = protect_links(links, min_n=10).set_index("area")
    assert published.loc["tiny", "suppressed"]
    assert published["suppressed"].sum() >= 2  # city minus the other areas would give "tiny"
    shown = links.set_index("area").loc[~published["suppressed"]]
    assert (shown[["a", "b", "c", "d"]] >= 10).all().all()
    hidden = published[published["suppressed"]]
    assert hidden[["rd", "pct_exposed", "n_exposed"]].isna().all().all()
    assert "a" not in published.columns


def test_research_links_cover_the_instrument_and_name_a_source_per_link():
    from ctc_helpers.config.factor_links import load_factor_links
    from ctc_helpers.config.instrument import load_instrument

    links = load_factor_links()
    instrument = load_instrument()
    assert set(links.table["factor"]) == set(instrument.factor_ids)
    assert links.table["source"].isin(links.source_notes).all()
    assert links.linked("low_perceived_risk_drugs", "violence_any") is None
    assert links.linked("family_conflict", "depressive_symptoms") == "ctc_chart"


def test_unknown_keys_in_the_research_links_are_named(tmp_path):
    from ctc_helpers.config.factor_links import load_factor_links
    from ctc_helpers.errors import ConfigError

    bad = tmp_path / "links.yaml"
    bad.write_text(
        "sources: {s1: {citation: x}}\n"
        "behaviour_groups: {use: {behaviours: [alcohol_30d, alcohol_daily]}}\n"
        "links: {family_conflict: {use: s2}, family_fights: {use: s1}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_factor_links(bad, lang="en")
    message = str(caught.value)
    for named in (
        "links.yaml",
        "alcohol_daily",
        "links.family_conflict.use",
        "'s2'",
        "family_fights",
    ):
        assert named in message
    with pytest.raises(ConfigError, match="nyckeln"):
        load_factor_links(bad, lang="sv")


def test_prepare_step_table_is_protected_and_checks_the_behaviours(tmp_path, rng):
    from ctc_helpers.config.instrument import load_instrument
    from ctc_helpers.errors import ConfigError
    from ctc_helpers.phases.links import LINK_COLUMNS, links_for_prepare, read_links

    instrument = load_instrument()
    n = 800
    rows = pd.DataFrame(
        {"wave": rng.choice([2023, 2025], n), "area": rng.choice(["x", "y", "z"], n),
         "grade": rng.choice(["ak7", "ak9"], n), "sex": rng.choice(["F", "M"], n), "valid": True}
    )  # fmt: skip
    for measure in [*instrument.factor_ids, "alcohol_30d"]:
        rows[f"flag__{measure}"] = (rng.random(n) < 0.4) * 1.0
    rows.to_parquet(tmp_path / "scored.parquet", index=False)
    table = links_for_prepare(
        tmp_path / "scored.parquet", instrument, behaviours=["alcohol_30d"], waves=[2025], min_n=10
    )
    assert list(table.columns) == list(LINK_COLUMNS)
    assert set(table["wave"]) == {2025} and "all" in set(table["area"])
    assert len(table) == len(instrument.factor_ids) * 4
    table.to_parquet(tmp_path / "links.parquet", index=False)
    pd.testing.assert_frame_equal(read_links(tmp_path), table)
    assert read_links(tmp_path / "nowhere") is None
    with pytest.raises(ConfigError, match="'alcohol_daily'"):
        links_for_prepare(
            tmp_path / "scored.parquet", instrument, behaviours=["alcohol_daily"], waves=[2025],
            min_n=10,
        )  # fmt: skip


def _link_row(factor, rd_low, suppressed=False):
    return {"wave": 2025, "area": "norra-hamnen", "factor": factor, "behaviour": "alcohol_30d",
            "pct_exposed": 0.3, "pct_unexposed": 0.1, "rd": rd_low + 0.05, "rd_low": rd_low,
            "rd_high": rd_low + 0.1, "rr": 2.0, "suppressed": suppressed}  # fmt: skip


def test_ranking_counts_the_research_link_and_the_local_strength(tmp_path):
    from ctc_helpers.phases.prioritization import rank_factors
    from ctc_helpers.publish.read import load_published
    from tests.fake_published import write_fake_published

    write_fake_published(tmp_path / "data")
    pub = load_published(tmp_path / "data")
    research = pd.DataFrame(
        {"factor": ["friends_drug_use", "low_commitment_school"], "group": "substance_use",
         "behaviour": "alcohol_30d", "source": "ctc_chart", "citation": "chart"}
    )  # fmt: skip
    links = pd.DataFrame(
        [_link_row("friends_drug_use", 0.04), _link_row("perceived_availability_drugs", -0.02),
         _link_row("family_conflict", 0.0, suppressed=True)]
    )  # fmt: skip
    plain = rank_factors(pub.aggregates, pub.comparisons, area="norra-hamnen", wave=2025)
    ranked = rank_factors(
        pub.aggregates, pub.comparisons, area="norra-hamnen", wave=2025,
        behaviours=["alcohol_30d"], research=research, links=links,
    ).set_index("factor")  # fmt: skip
    expected = {"friends_drug_use": ("clear", 2), "low_commitment_school": ("missing", 1),
                "perceived_availability_drugs": ("unclear", 0), "family_conflict": ("hidden", 0)}  # fmt: skip
    for factor, (status, points) in expected.items():
        assert (ranked.loc[factor, "local_status"], ranked.loc[factor, "link_points"]) == (
            status,
            points,
        )
    gained = ranked["score"] - plain.set_index("factor")["score"].reindex(ranked.index)
    assert (gained == ranked["link_points"]).all()
    assert ranked.loc["friends_drug_use", "research_behaviours"] == "alcohol_30d"
    with pytest.raises(ValueError, match="research"):
        rank_factors(pub.aggregates, pub.comparisons, area="norra-hamnen", wave=2025,
                     behaviours=["alcohol_30d"])  # fmt: skip


def test_team_behaviours_come_first_then_the_run_files_default():
    from ctc_helpers.phases.links import chosen_behaviours

    class Choice:
        priority_behaviours = ("truancy",)

    links = pd.DataFrame({"behaviour": ["alcohol_30d", "alcohol_30d", "violence_any"]})
    assert chosen_behaviours(Choice(), links) == ("truancy",)
    assert chosen_behaviours(None, links) == ("alcohol_30d", "violence_any")
    assert chosen_behaviours(None, None) == ()


def test_each_reason_names_the_research_link_and_the_local_strength(tmp_path):
    from ctc_helpers.phases.prioritization import rank_factors
    from ctc_helpers.publish.read import load_published
    from ctc_helpers.views.prioritization import explain_reasons
    from tests.fake_published import write_fake_published

    write_fake_published(tmp_path / "data")
    pub = load_published(tmp_path / "data")
    research = pd.DataFrame(
        {"factor": ["friends_drug_use"], "group": "substance_use", "behaviour": "alcohol_30d",
         "source": "ctc_chart", "citation": "chart"}
    )  # fmt: skip
    links = pd.DataFrame(
        [_link_row("friends_drug_use", 0.04), _link_row("perceived_availability_drugs", -0.02),
         _link_row("family_conflict", 0.0, suppressed=True)]
    )  # fmt: skip
    ranked = rank_factors(
        pub.aggregates, pub.comparisons, area="norra-hamnen", wave=2025,
        behaviours=["alcohol_30d"], research=research, links=links,
    )  # fmt: skip
    reasons = explain_reasons(ranked, "en", measures=pub.measures).set_axis(ranked["factor"])
    assert (
        "Research links the factor to Alcohol, past 30 days (source: ctc_chart). Here: Alcohol,"
        " past 30 days among 30% of pupils at risk on it against 10% of the others; adjusted for"
        " grade and sex +9 percentage points (+4 to +14)." in reasons["friends_drug_use"]
    )
    assert "does not link" in reasons["perceived_availability_drugs"]
    assert "no clear difference" in reasons["perceived_availability_drugs"]
    assert "not shown" in reasons["family_conflict"]
    assert "not computed" in reasons["low_commitment_school"]
    swedish = explain_reasons(ranked, "sv", measures=pub.measures).set_axis(ranked["factor"])
    assert "Forskning kopplar faktorn till" in swedish["friends_drug_use"]
    plain = rank_factors(pub.aggregates, pub.comparisons, area="norra-hamnen", wave=2025)
    assert not explain_reasons(plain, "en").str.contains("Research").any()
