"""The joint protection of a wave (privacy.gate.protect_wave) against an interval attack.

The attacker is ``tests/privacy/attack.py``: it is written for these tests and shares no code
with ``ctc_helpers.privacy`` (its own unknowns, its own reading of the published rows, its own
linear programmes).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctc_helpers.privacy.gate import (
    DisclosureError,
    audit_published,
    check_published,
    protect_wave,
)
from ctc_helpers.privacy.suppress import suppress_table
from ctc_helpers.privacy.tables import wave_input
from ctc_helpers.privacy.wave import build_wave, sealed_areas
from tests.privacy.attack import (
    RULE,
    attack_tables,
    city_from_counts,
    private_tables,
    random_city,
)

MIN_N, MIN_COUNT = 10, 5
SMOKING = {"smoking": "behaviour"}

# (area, grade, sex): (valid questionnaires, excluded ones, (n, n_flagged) of smoking).
# Grade g1 of area a1 has no smoker at all; a1's boys have one, so the old method (each measure's
# table on its own, zeros known, no interval audit) lets a reader place him among the two hidden
# boys of grade g0.
HAND_MADE = {
    ("a0", "g0", "F"): (25, 0, (25, 2)), ("a0", "g0", "M"): (26, 1, (26, 0)),
    ("a0", "g0", "U"): (2, 1, (2, 1)), ("a0", "g1", "F"): (1, 0, (1, 1)),
    ("a0", "g1", "M"): (13, 1, (12, 5)), ("a0", "g1", "U"): (3, 2, (2, 2)),
    ("a1", "g0", "F"): (20, 2, (19, 2)), ("a1", "g0", "M"): (2, 2, (1, 1)),
    ("a1", "g0", "U"): (0, 2, (0, 0)), ("a1", "g1", "F"): (5, 2, (5, 0)),
    ("a1", "g1", "M"): (16, 1, (16, 0)), ("a1", "g1", "U"): (2, 2, (1, 1)),
    ("a2", "g0", "F"): (7, 0, (7, 6)), ("a2", "g0", "M"): (20, 0, (20, 7)),
    ("a2", "g0", "U"): (0, 2, (0, 0)), ("a2", "g1", "F"): (29, 2, (29, 7)),
    ("a2", "g1", "M"): (18, 2, (17, 3)), ("a2", "g1", "U"): (1, 0, (1, 1)),
}  # fmt: skip


def _hand_made_city():
    groups = {k: (v, x, {"smoking": nf}) for k, (v, x, nf) in HAND_MADE.items()}
    return city_from_counts(groups, measures=SMOKING)


def _wave(city):
    private = private_tables(city)
    return wave_input(
        private["aggregates"], private["participation"], private["screening_log"],
        wave=2025, excluding=frozenset({RULE}),
    )  # fmt: skip


def _old_method(city) -> pd.DataFrame:
    """The aggregates as the earlier prepare step published them: each measure's table
    suppressed on its own by privacy.suppress (sex 'all' counts every pupil)."""
    aggregates = private_tables(city)["aggregates"]
    return suppress_table(
        aggregates, dims=("area", "grade", "sex"), within=("wave", "measure"), min_n=MIN_N
    )


@pytest.fixture(scope="module")
def hand_made():
    city = _hand_made_city()
    data = _wave(city)
    return city, data, protect_wave(data, min_n=MIN_N, min_count=MIN_COUNT)


def test_the_hand_made_city_is_what_the_comment_says():
    aggregates = private_tables(_hand_made_city())["aggregates"]
    rows = aggregates.set_index(["area", "grade", "sex"])
    assert rows.loc[("a1", "g1", "all"), "n_flagged"] == 0
    assert rows.loc[("a1", "all", "M"), "n_flagged"] == 1
    assert rows.loc[("a1", "g0", "M"), ["n", "n_flagged"]].tolist() == [1, 1]


def test_old_method_leaves_one_smoker_recoverable():
    city = _hand_made_city()
    old = _old_method(city)
    boys = old.set_index(["area", "grade", "sex"]).loc[("a1", "g0", "M")]
    assert bool(boys["suppressed"]) and np.isnan(boys["n_flagged"])  # hidden by the old method
    findings = attack_tables({"aggregates": old}, city, min_n=MIN_N, min_count=1, old=True)
    exact = {f.where: (f.low, f.high) for f in findings if f.problem == "exact"}
    assert exact["aggregates a1/g0/M/smoking n_flagged"] == (1, 1)


def test_new_method_leaves_nothing_recoverable(hand_made):
    city, _, protected = hand_made
    tables = protected.tables
    boys = tables["aggregates"].set_index(["area", "grade", "sex"]).loc[("a1", "g0", "M")]
    assert np.isnan(boys["n_flagged"])
    assert attack_tables(tables, city, min_n=MIN_N, min_count=MIN_COUNT) == []
    assert protected.report.ok


def test_new_method_hides_small_numerators_and_small_groups(hand_made):
    _, _, protected = hand_made
    agg = protected.tables["aggregates"]
    shown = agg[agg["n_flagged"].notna()]
    assert not shown["n_flagged"].between(1, MIN_COUNT - 1).any()
    assert not agg["n"].between(1, MIN_N - 1).any()
    part = protected.tables["participation"]
    assert not part[["n", "n_valid"]].stack().between(1, MIN_N - 1).any()
    log = protected.tables["screening_log"]
    assert not log["n_flagged"].between(1, MIN_COUNT - 1).any()
    assert not log["n_respondents"].between(1, MIN_N - 1).any()


def test_nobody_without_a_stated_sex_is_in_a_measure(hand_made):
    _, _, protected = hand_made
    agg = protected.tables["aggregates"].set_index(["area", "grade", "sex"])
    # a0/g0: 25 girls and 26 boys with a value, 2 pupils without a stated sex -> 51, not 53
    total = agg.loc[("a0", "g0", "all"), "n"]
    assert np.isnan(total) or total == 51


# --------------------------------------------------------------------------------------------
# Random small cities


@st.composite
def cities(draw):
    def count(low: int, high: int) -> int:
        return draw(st.integers(low, high))

    areas = draw(st.integers(2, 3))
    return random_city(count, areas=areas, grades=2, measures={"smoking": "behaviour",
                                                              "conflict": "risk"})  # fmt: skip


@settings(
    max_examples=8, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip
@given(cities())
def test_random_cities_survive_the_attack(city):
    data = _wave(city)
    try:
        protected = protect_wave(data, min_n=MIN_N, min_count=MIN_COUNT)
    except DisclosureError:
        return  # refusing to publish is safe; the gate's own tests check that it names the cell
    assert attack_tables(protected.tables, city, min_n=MIN_N, min_count=MIN_COUNT) == []


# --------------------------------------------------------------------------------------------
# The gate refuses tampered tables


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_gate_names_the_cell_a_tampered_table_reveals(hand_made, lang):
    city, data, protected = hand_made
    agg = protected.tables["aggregates"]
    at = (agg["area"] == "a2") & (agg["grade"] == "g0") & (agg["sex"] == "M")
    assert agg.loc[at, ["n", "n_flagged"]].isna().all().all()
    # reveal the hidden boys of grade g0 in a2: 20 boys, 7 smoke; a2's boys (37, 10) are shown
    tampered = agg.copy()
    tampered.loc[at, ["n", "n_flagged"]] = [20.0, 7.0]
    tables = {**protected.tables, "aggregates": tampered}
    findings = attack_tables(tables, city, min_n=MIN_N, min_count=MIN_COUNT)
    exact = {f.where: f.low for f in findings if f.problem == "exact"}
    assert exact == {
        "aggregates a2/g1/M/smoking n": 17,
        "aggregates a2/g1/M/smoking n_flagged": 3,
    }
    report = audit_published(data, tables, min_n=MIN_N, min_count=MIN_COUNT)
    with pytest.raises(DisclosureError) as raised:
        check_published(report, wave=report.wave, data=data, lang=lang)
    message = str(raised.value)
    named = re.search(
        r"aggregates\.parquet, area=a2, grade=g1, sex=M, measure=smoking: (\w+)", message
    )
    assert named, message
    value = exact[f"aggregates a2/g1/M/smoking {named.group(1)}"]
    assert f"({value})" in message
    start = "Publiceringen av 2025 stoppas" if lang == "sv" else "Publishing 2025 stopped"
    assert message.startswith(start)


def test_gate_passes_the_untampered_tables(hand_made):
    city, data, protected = hand_made
    report = audit_published(data, protected.tables, min_n=MIN_N, min_count=MIN_COUNT)
    assert report.ok
    check_published(report, wave=report.wave, data=data)  # no error


# --------------------------------------------------------------------------------------------
# What is published


def test_no_suppression_reason_in_the_published_tables(hand_made):
    _, _, protected = hand_made
    for name, table in protected.tables.items():
        assert "suppression_reason" not in table.columns, name
        assert not table.astype(str).isin(["primary", "complementary"]).any().any(), name


def test_every_small_area_is_sealed_even_when_most_are():
    # every area has two small boys' groups: all are sealed (protecting them cell by cell
    # takes the audit loop minutes per wave; see sealed_areas)
    groups = {}
    for area in ("a0", "a1", "a2"):
        for grade in ("g0", "g1"):
            groups[(area, grade, "F")] = (20, 0, {"smoking": (20, 5)})
            groups[(area, grade, "M")] = (4, 0, {"smoking": (4, 1)})
            groups[(area, grade, "U")] = (0, 0, {"smoking": (0, 0)})
    wave = build_wave(_wave(city_from_counts(groups, measures=SMOKING)), min_n=MIN_N,
                      min_count=MIN_COUNT)  # fmt: skip
    assert sealed_areas(wave) == ("a0", "a1", "a2")
    # one small area among three: it is sealed with the smallest other area
    for grade in ("g0", "g1"):
        for area in ("a1", "a2"):
            groups[(area, grade, "M")] = (30, 0, {"smoking": (30, 6)})
    wave = build_wave(_wave(city_from_counts(groups, measures=SMOKING)), min_n=MIN_N,
                      min_count=MIN_COUNT)  # fmt: skip
    assert sealed_areas(wave) == ("a0", "a1")
