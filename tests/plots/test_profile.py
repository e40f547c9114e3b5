"""Tests of ctc_helpers.plots.profile: every chart type drawn on the shipped pandas and matplotlib.

Expected bar lengths and marker positions come from the unsuppressed fake table computed with plain
pandas (tests/fake_published.py); suppressed values must never be drawn.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex
from matplotlib.container import BarContainer
from matplotlib.patches import Rectangle

from ctc_helpers.phases.prioritization import rank_factors
from ctc_helpers.plots import profile as plots
from ctc_helpers.publish.read import load_published
from tests.fake_published import SENTINEL_PCT, write_fake_published


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    return write_fake_published(tmp_path_factory.mktemp("published"), leaky=True)


@pytest.fixture(scope="module")
def pub(fake):
    return load_published(fake.path)


def _bars(ax) -> list[Rectangle]:
    return [p for c in ax.containers if isinstance(c, BarContainer) for p in c.patches]


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def _expected(fake, area, kind, wave=2025):
    table = fake.aggregates_unsuppressed
    rows = table.query(
        "wave == @wave and area == @area and grade == 'all' and sex == 'all' and measure_kind == @kind"
    )
    return (100 * rows["n_flagged"] / rows["n"]).sort_values().to_numpy()


def _composite(fake, area):
    row = fake.aggregates_unsuppressed.query(
        "wave == 2025 and area == @area and grade == 'all' and sex == 'all' and measure == 'high_risk'"
    )
    return float(100 * row["n_flagged"].iloc[0] / row["n"].iloc[0])


def test_shipped_versions():
    # seaborn 0.13 has open bugs with pandas 3 (stack notes): the project pins pandas < 3
    assert int(pd.__version__.split(".")[0]) == 2


def test_profile_bars_markers_and_labels(pub, fake):
    fig, ax = plt.subplots(figsize=(4, 3))
    out = plots.plot_profile(
        pub.aggregates, kind="risk", area="norra-hamnen", wave=2025, measures=pub.measures,
        area_label="Norra Hamnen", ax=ax, lang="sv",
    )  # fmt: skip
    assert out is ax
    assert tuple(fig.get_size_inches()) == (4, 3)  # the caller sizes the figure
    widths = sorted(p.get_width() for p in _bars(ax))
    expected = np.sort(
        np.r_[_expected(fake, "norra-hamnen", "risk"), _composite(fake, "norra-hamnen")]
    )
    np.testing.assert_allclose(widths, expected)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert {"Konflikter i familjen", "Familj", "Sammanfattande mått", "Hög risk"} <= set(labels)
    assert "Högt skydd" not in labels
    markers = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(markers) == 2  # city and previous wave
    city_x = sorted(markers[0].get_offsets()[:, 0])
    np.testing.assert_allclose(
        city_x, np.sort(np.r_[_expected(fake, "all", "risk"), _composite(fake, "all")])
    )
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Norra Hamnen 2025", "Hela kommunen 2025", "Norra Hamnen 2023"]
    assert ax.get_xlabel() == "Andel elever med risk"


def test_profile_of_a_hidden_area_draws_gaps_only(pub):
    ax = plots.plot_profile(
        pub.aggregates,
        kind="protective",
        area="lillby",
        wave=2025,
        measures=pub.measures,
        lang="en",
    )
    assert not _bars(ax)  # the sentinel numbers of the hidden rows are never drawn
    assert _texts(ax).count("too few answers") == 3  # two factors and the composite
    assert not any(np.isclose(p.get_width(), 100 * SENTINEL_PCT) for p in _bars(ax))


def test_profile_of_the_city_and_without_comparisons(pub):
    ax = plots.plot_profile(pub.aggregates, kind="risk", area="all", wave=2025, lang="en")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Whole municipality 2025", "Whole municipality 2023"]
    _, bare = plt.subplots()
    plots.plot_profile(
        pub.aggregates, kind="risk", area="soderdalen", wave=2025, comparison=(), ax=bare
    )
    assert not [c for c in bare.collections if isinstance(c, PathCollection)]
    with pytest.raises(ValueError, match="comparison 'norm' is unknown; choose from: city"):
        plots.plot_profile(pub.aggregates, area="all", wave=2025, comparison=("norm",))
    with pytest.raises(ValueError, match="kind is 'risks'"):
        plots.plot_profile(pub.aggregates, kind="risks", area="all", wave=2025)


def test_behaviours_by_grade_and_sex(pub, fake):
    ax = plots.plot_behaviours(
        pub.aggregates, area="norra-hamnen", wave=2025, by="grade", measures=pub.measures, lang="sv"
    )
    rows = fake.aggregates_unsuppressed.query(
        "wave == 2025 and area == 'norra-hamnen' and sex == 'all' and grade != 'all'"
        " and measure_kind == 'behaviour'"
    )
    np.testing.assert_allclose(
        sorted(p.get_width() for p in _bars(ax)), np.sort(100 * rows["n_flagged"] / rows["n"])
    )
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["åk 7", "åk 9"]
    hidden = plots.plot_behaviours(
        pub.aggregates, area="soderdalen", wave=2025, by="sex", lang="en"
    )
    assert _texts(hidden).count("–") == 4  # two behaviours x two sexes, all hidden
    assert "– too few answers" in [t.get_text() for t in hidden.get_legend().get_texts()]
    # a group whose every bar is hidden keeps its own colour in the legend
    colours = [to_hex(h.get_facecolor()) for h in hidden.get_legend().legend_handles[:2]]
    assert colours == list(plots.COLORBLIND[:2])
    with pytest.raises(ValueError, match="by is 'school'"):
        plots.plot_behaviours(pub.aggregates, area="all", wave=2025, by="school")


def test_area_comparison(pub, fake):
    ax = plots.plot_area_comparison(
        pub.aggregates, kind="risk", wave=2025, area="soderdalen", areas=pub.areas,
        measures=pub.measures, lang="sv",
    )  # fmt: skip
    texts = _texts(ax)
    assert texts.count("–") == 4  # the four risk factors of Lillby
    expected = _expected(fake, "soderdalen", "risk")
    shown = sorted(float(x) for x in texts if x != "–")
    assert set(np.round(expected)).issubset(shown)
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "Norra Hamnen", "Söderdalen", "Lillby", "Hela kommunen",
    ]  # fmt: skip
    frames = [p for p in ax.patches if isinstance(p, Rectangle) and not p.get_fill()]
    assert len(frames) == 1 and frames[0].get_x() == 1  # the Söderdalen column


def test_prioritization_chart(pub):
    ranked = rank_factors(pub.aggregates, pub.comparisons, area="norra-hamnen", wave=2025)
    ax = plots.plot_prioritization(ranked, measures=pub.measures, lang="en")
    dots = ax.collections[1]
    assert len(dots.get_offsets()) == len(ranked)
    # right of zero is worse: family_attachment (protective, lower than the city) is positive
    row = ranked.set_index("factor").loc["family_attachment"]
    assert np.isclose(dots.get_offsets()[:, 0], -100 * row["diff"]).sum() == 1
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "1. Friends' use of drugs" in labels and "Protective factors" in labels
    city = rank_factors(pub.aggregates, pub.comparisons, area="all", wave=2025)
    bars = plots.plot_prioritization(city, measures=pub.measures, lang="sv")
    np.testing.assert_allclose(
        sorted(p.get_width() for p in bars.patches if p.get_width() > 0),
        sorted(100 * city["share_concerned"]),
    )
    tiny = rank_factors(pub.aggregates, pub.comparisons, area="lillby", wave=2025)
    gaps = plots.plot_prioritization(tiny, lang="sv")
    assert _texts(gaps).count("för få svar") == len(tiny)


def test_empty_data_says_so(pub):
    none = pub.aggregates.iloc[0:0]
    ax = plots.plot_profile(none, kind="risk", area="all", wave=2025, lang="en")
    assert _texts(ax) == ["No data to show"]
    plt.figure()  # with ax=None the functions draw on the current Axes
    assert _texts(plots.plot_prioritization(pd.DataFrame(), lang="sv")) == ["Inga data att visa"]


def test_every_plot_with_the_seaborn_theme(pub):
    plots.use_style()  # seaborn 0.13 theme on the shipped pandas
    try:
        fig, axes = plt.subplots(2, 2)
        ranked = rank_factors(pub.aggregates, pub.comparisons, area="soderdalen", wave=2025)
        plots.plot_profile(pub.aggregates, area="soderdalen", wave=2025, ax=axes[0, 0])
        plots.plot_behaviours(pub.aggregates, area="all", wave=2025, ax=axes[0, 1])
        plots.plot_area_comparison(pub.aggregates, kind="protective", wave=2025, ax=axes[1, 0])
        plots.plot_prioritization(ranked, ax=axes[1, 1])
        fig.canvas.draw()
        assert all(ax.has_data() for ax in axes.ravel())
    finally:
        plt.rcdefaults()
