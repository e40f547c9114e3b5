"""Tests of ctc_helpers.views.goal_chain: loading goal chains, goal statuses, display and the chain plot.

The aggregate table and the programme inventory are hand-made below (400 respondents per wave
and measure, so every share is a round number); the goal files are in tests/data/goal_chains/
with the expected status of each goal written beside it. Expected statistics are recomputed here
with plain numpy/scipy (pooled z-test, Holm by hand), not with ctc_helpers.stats.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats as sps

from ctc_helpers.config import goal_chain as chains
from ctc_helpers.errors import ConfigError
from ctc_helpers.i18n import t
from ctc_helpers.phases.followup import goal_progress
from ctc_helpers.views import goal_chain as gc
from ctc_helpers.views.escape import plain_text

from ..conftest import DATA_DIR

GOALS_DIR = DATA_DIR / "goal_chains"
RISK = "ctc-default-2026.1/ref-2021/P75-P90/aaaa1111"
PROTECTIVE = "ctc-default-2026.1/ref-2021/P25-P10/bbbb2222"
N = 400
# measure: (kind, cut-point version, {wave: flagged of N})
COUNTS = {
    "alcohol_30d": ("behaviour", "", {2021: 100, 2023: 80, 2025: 60}),
    "cannabis_30d": ("behaviour", "", {2021: 40, 2023: 39, 2025: 38}),
    "cigarettes_30d": ("behaviour", "", {2021: 20, 2023: 21, 2025: 22}),
    "truancy": ("behaviour", "", {2021: 40, 2023: 42, 2025: 44}),
    "binge_drinking": ("behaviour", "", {2021: 80, 2023: 75, 2025: 70}),
    "depressive_symptoms": ("behaviour", "", {2023: 60, 2025: 62}),
    "family_conflict": ("risk", RISK, {2021: 120, 2023: 110, 2025: 100}),
    "poor_family_management": ("risk", RISK, {2021: 100, 2023: 120, 2025: 140}),
    "family_attachment": ("protective", PROTECTIVE, {2021: 200, 2023: 220, 2025: 240}),
}


def _wilson(x: float, n: float) -> tuple[float, float]:
    """Wilson 95 % interval by its formula (to fill the hand-made table's CI columns)."""
    z = sps.norm.ppf(0.975)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def _row(wave, measure, kind, version, x, n, *, grade="all", sex="all", suppressed=False):
    low, high = _wilson(x, n) if not suppressed else (np.nan, np.nan)
    return {
        "wave": wave, "area": "norr", "grade": grade, "sex": sex, "measure": measure,
        "measure_kind": kind, "domain": "x", "n": np.nan if suppressed else n,
        "n_flagged": np.nan if suppressed else float(x),
        "pct": np.nan if suppressed else x / n, "ci_low": low, "ci_high": high,
        "n_eff": np.nan if suppressed else float(n), "cutpoint_version": version,
        "suppressed": suppressed,
    }  # fmt: skip


@pytest.fixture(scope="module")
def aggregates() -> pd.DataFrame:
    rows = [
        _row(wave, measure, kind, version, x, N)
        for measure, (kind, version, by_wave) in COUNTS.items()
        for wave, x in by_wave.items()
    ]
    # gy 2 girls: 30 of 100 in 2021, suppressed in 2025
    rows.append(_row(2021, "alcohol_30d", "behaviour", "", 30, 100, grade="gy2", sex="F"))
    rows.append(
        _row(2025, "alcohol_30d", "behaviour", "", 0, 0, grade="gy2", sex="F", suppressed=True)
    )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def inventory() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area": ["norr", "norr", "syd"],
            "programme": ["Steg för steg", "ART", "Steg för steg"],
            "participants_reached": [60, 40, 10],
            "eligible_population": [200, 100, 50],
            "fidelity_score": [0.8, 0.6, 0.9],
        }
    )


@pytest.fixture(scope="module")
def norr(default_instrument) -> chains.GoalChain:
    return chains.load_goal_chain(GOALS_DIR / "norr.yaml", instrument=default_instrument)


@pytest.fixture(scope="module")
def evaluated(norr, aggregates, inventory) -> pd.DataFrame:
    return goal_progress.evaluate_goals(norr, aggregates, wave=2025, inventory=inventory)


def _load(name: str, instrument) -> chains.GoalChain:
    return chains.load_goal_chain(GOALS_DIR / f"{name}.yaml", instrument=instrument)


def _statuses(frame: pd.DataFrame) -> dict[str, tuple[str, str]]:
    return {
        g: (s, r)
        for g, s, r in zip(frame["goal_id"], frame["status"], frame["reason"], strict=True)
    }


@pytest.fixture
def english(monkeypatch):
    """Messages in English (the default is Swedish; test_messages_in_swedish checks that)."""
    monkeypatch.setenv("CTC_LANG", "en")


# --------------------------------------------------------------------------------------------
# Loading


def test_load_valid_chain(norr):
    assert norr.area == "norr"
    assert norr.baseline_wave == 2021
    assert norr.cutpoint_version == "ctc-default-2026.1/ref-2021"
    assert len(norr.goals) == 11
    goal = norr.goal("family-conflict")
    assert (goal.level, goal.kind, goal.measure, goal.direction) == (
        "medium", "factor", "family_conflict", "decrease"
    )  # fmt: skip
    assert goal.contributes_to == ("alcohol-30d", "binge")
    assert norr.goal("binge").baseline is None
    # direction left out: the better direction of the indicator
    assert norr.goal("cannabis-30d").direction == "decrease"
    assert norr.goal("parents-reach").direction == "increase"
    assert norr.goal("parents-reach").programme == "Steg för steg"
    with pytest.raises(KeyError, match="no goal 'nope'.*alcohol-30d"):
        norr.goal("nope")


def test_goals_frame(norr):
    frame = chains.goals_frame(norr)
    assert frame["goal_id"].tolist()[:2] == ["alcohol-30d", "cannabis-30d"]
    assert frame.columns.tolist() == [
        "goal_id", "level", "indicator_kind", "measure", "programme", "grade", "sex",
        "direction", "baseline", "target", "target_year", "contributes_to", "label",
    ]  # fmt: skip
    assert np.isnan(frame.set_index("goal_id").loc["binge", "baseline"])


def test_load_with_measures_table(default_instrument):
    measures = default_instrument.measures()[["measure", "measure_kind"]]
    chain = chains.load_goal_chain(GOALS_DIR / "norr.yaml", instrument=measures)
    assert len(chain.goals) == 11


def test_unknown_measure_names_file_goal_key_value_and_options(default_instrument, english):
    with pytest.raises(ConfigError) as error:
        _load("unknown_measure", default_instrument)
    message = str(error.value)
    for part in ("unknown_measure.yaml", "goals[alcohol]", "indicator.measure", "'alcohol_30days'"):
        assert part in message
    assert "allowed:" in message and "alcohol_30d," in message


def test_broken_link_is_refused(default_instrument, english):
    with pytest.raises(ConfigError, match=r"broken_link\.yaml: goals\[family-conflict\]\."
                       r"contributes_to\[1\] is 'alcohol-30-days'; no such goal"):  # fmt: skip
        _load("broken_link", default_instrument)


def test_cycle_is_refused_and_named(default_instrument, english):
    with pytest.raises(ConfigError, match=r"cycle\.yaml: .*circle \(a -> b -> c -> a\)"):
        _load("cycle", default_instrument)


BASE = {
    "area": "norr",
    "baseline_wave": 2021,
    "cutpoint_version": "ctc-default-2026.1/ref-2021",
    "goals": [
        {
            "id": "alcohol",
            "level": "long",
            "indicator": {"kind": "behaviour", "measure": "alcohol_30d"},
            "baseline": 0.25,
            "target": 0.15,
            "target_year": 2029,
        },
        {
            "id": "conflict",
            "level": "medium",
            "indicator": {"kind": "factor", "measure": "family_conflict"},
            "baseline": 0.30,
            "target": 0.26,
            "target_year": 2027,
            "contributes_to": ["alcohol"],
        },
    ],
}


def _write(tmp_path, data, name="chain.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _variant(goal: int | None = None, **changes):
    data = yaml.safe_load(yaml.safe_dump(BASE))
    target = data if goal is None else data["goals"][goal]
    for key, value in changes.items():
        if value is _DROP:
            target.pop(key)
        else:
            target[key] = value
    return data


_DROP = object()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            _variant(colour="red"),
            r"chain\.yaml: colour is not a known key here; allowed keys: area,",
        ),
        (_variant(goals=_DROP), r"chain\.yaml: goals is missing; the key is required\."),
        (_variant(baseline_wave=21), r"baseline_wave is 21; expected a year from 2000 to 2100\."),
        (_variant(goals=[]), r"goals is \[\]; expected a list with at least one entry"),
        (
            _variant(0, level="longterm"),
            r"goals\[alcohol\]\.level is 'longterm'; allowed: short, "
            r"medium, long\.",
        ),
        (_variant(0, traget=0.1), r"goals\[alcohol\]\.traget is not a known key here"),
        (_variant(0, target=_DROP), r"goals\[alcohol\]\.target is missing; the key is required"),
        (
            _variant(0, baseline=21),
            r"goals\[alcohol\]\.baseline is 21; expected a number between "
            r"0 and 1, or null when not yet measured \(write a proportion: 0\.21 for 21 %\)\.",
        ),
        (_variant(0, target=None), r"goals\[alcohol\]\.target is null; expected a number between"),
        (_variant(0, target_year=2021), r"target_year is 2021; it must come after the baseline"),
        (_variant(0, id="alcohol 30"), r"goals\[1\]\.id is 'alcohol 30'; expected letters"),
        (_variant(1, id="alcohol"), r"goals uses the id 'alcohol' more than once"),
        (
            _variant(0, indicator={"kind": "survey", "measure": "alcohol_30d"}),
            r"indicator\.kind is 'survey'; allowed: behaviour, factor, reach, fidelity\.",
        ),
        (
            _variant(0, indicator={"kind": "behaviour"}),
            r"goals\[alcohol\]\.indicator\.measure is missing; a behaviour indicator needs: measure\.",
        ),
        (
            _variant(0, indicator={"kind": "behaviour", "measure": "family_conflict"}),
            r"goals\[alcohol\]\.indicator\.measure is 'family_conflict'; not a behaviour of the "
            r"instrument \(it is a risk measure\)",
        ),
        (
            _variant(0, indicator={"kind": "factor", "measure": "high_risk"}),
            r"indicator\.measure is 'high_risk'; not a factor .*\(it is a composite measure\)",
        ),
        (
            _variant(0, indicator={"kind": "reach", "programme": " "}),
            r"indicator\.programme is ' '; expected the programme's name",
        ),
        (
            _variant(0, direction="increase"),
            r"direction is 'increase'; for alcohol_30d "
            r"\(behaviour\) the goal can only be to decrease",
        ),
        (_variant(0, direction="down"), r"direction is 'down'; allowed: decrease, increase"),
        (_variant(0, group={"grade": "ak10"}), r"group\.grade is 'ak10'; allowed: all, ak6,"),
        (_variant(0, group={"sex": "U"}), r"group\.sex is 'U'; allowed: all, F, M\."),
        (_variant(0, group={"grade": "ak9", "age": 15}), r"group\.age is not a known key here"),
        (_variant(0, contributes_to="conflict"), r"contributes_to is 'conflict'; expected a list"),
        (_variant(0, contributes_to=["alcohol"]), r"a goal cannot contribute to itself"),
        (
            _variant(0, contributes_to=["conflict"]),
            r"a long goal can only contribute to a goal "
            r"of the same or a longer horizon \(long\)",
        ),
        (
            _variant(cutpoint_version=_DROP),
            r"cutpoint_version is null; the factor goal "
            r"'conflict' needs the cut-point version",
        ),
        (_variant(0, label=["a"]), r"label is \['a'\]; expected a text or \{sv: \.\.\., en"),
    ],
)
def test_invalid_goal_files_are_refused_with_clear_messages(
    tmp_path, default_instrument, data, expected, english
):
    with pytest.raises(ConfigError, match=expected):
        chains.load_goal_chain(_write(tmp_path, data), instrument=default_instrument)


def test_reach_goal_cannot_have_a_group(tmp_path, default_instrument, english):
    data = _variant(0, indicator={"kind": "reach", "programme": "ART"}, group={"grade": "ak9"})
    with pytest.raises(
        ConfigError, match=r"group is \{'grade': 'ak9'\}; a reach goal has no group"
    ):
        chains.load_goal_chain(_write(tmp_path, data), instrument=default_instrument)


def test_unreadable_files(tmp_path, default_instrument, english):
    with pytest.raises(ConfigError, match=r"Cannot read the goal chain .*missing\.yaml"):
        chains.load_goal_chain(tmp_path / "missing.yaml", instrument=default_instrument)
    broken = tmp_path / "broken.yaml"
    broken.write_text("area: [norr\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.yaml is not valid YAML \(line 2, column 1\)"):
        chains.load_goal_chain(broken, instrument=default_instrument)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"list\.yaml: the file must hold keys and values at"):
        chains.load_goal_chain(listed, instrument=default_instrument)


def test_area_must_match_when_given(tmp_path, default_instrument, english):
    path = _write(tmp_path, BASE)
    with pytest.raises(ConfigError, match=r"area is 'norr'; this file is read for the area 'syd'"):
        chains.load_goal_chain(path, instrument=default_instrument, area="syd")


def test_load_area_goal_chain(tmp_path, default_instrument):
    assert chains.load_area_goal_chain(tmp_path, "norr", instrument=default_instrument) is None
    _write(tmp_path, BASE, name="norr.yaml")
    chain = chains.load_area_goal_chain(tmp_path, "norr", instrument=default_instrument)
    assert [g.id for g in chain.goals] == ["alcohol", "conflict"]
    assert chains.goal_chain_path(tmp_path, "norr") == tmp_path / "norr.yaml"


# --------------------------------------------------------------------------------------------
# Evaluation


EXPECTED_NORR = {
    "alcohol-30d": ("achieved", "target_reached"),
    "cannabis-30d": ("not_on_track", "behind_pace"),
    "cigarettes-30d": ("not_on_track", "no_progress"),
    "truancy": ("achieved", "target_met_at_baseline"),
    "binge": ("on_track", "on_pace_within_noise"),
    "family-conflict": ("on_track", "target_reached_within_noise"),
    "family-attachment": ("on_track", "on_pace"),
    "family-management": ("not_on_track", "wrong_direction"),
    "parents-reach": ("achieved", "programme_target_reached"),
    "art-fidelity": ("not_on_track", "behind_pace"),
    "mentor-reach": ("not_yet_measurable", "programme_not_in_inventory"),
}


def test_statuses_of_the_hand_made_chain(evaluated):
    assert _statuses(evaluated) == EXPECTED_NORR
    assert evaluated.columns.tolist() == goal_progress._EVALUATED_COLUMNS


def _pooled_p(x1: int, x2: int, n: int = N) -> float:
    p1, p2, pooled = x1 / n, x2 / n, (x1 + x2) / (2 * n)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (2 / n))
    return 2 * sps.norm.sf(abs(z))


def _holm(pvalues: list[float]) -> list[float]:
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    adjusted, running = [0.0] * len(pvalues), 0.0
    for rank, i in enumerate(order):
        running = max(running, (len(pvalues) - rank) * pvalues[i])
        adjusted[i] = min(1.0, running)
    return adjusted


def test_holm_runs_across_the_tested_goals(evaluated):
    tested = {
        "alcohol-30d": (100, 60), "cannabis-30d": (40, 38), "cigarettes-30d": (20, 22),
        "truancy": (40, 44), "binge": (80, 70), "family-conflict": (120, 100),
        "family-attachment": (200, 240), "family-management": (100, 140),
    }  # fmt: skip
    raw = [_pooled_p(after, before) for before, after in tested.values()]
    rows = evaluated.set_index("goal_id")
    assert rows.loc[list(tested), "p_value"].to_numpy() == pytest.approx(raw, rel=1e-9)
    assert rows.loc[list(tested), "p_holm"].to_numpy() == pytest.approx(_holm(raw), rel=1e-9)
    assert rows.loc[["parents-reach", "art-fidelity", "mentor-reach"], "p_holm"].isna().all()
    assert rows.loc["family-attachment", "change"] == "increase"
    assert rows.loc["family-conflict", "change"] == "no_clear_change"
    assert rows.loc["parents-reach", "change"] == "not_tested"


def test_progress_and_expected_by_hand(evaluated):
    rows = evaluated.set_index("goal_id")
    # cannabis: (0.095 - 0.10) / (0.08 - 0.10) = 0.25; time (2025 - 2021) / (2029 - 2021) = 0.5
    assert rows.loc["cannabis-30d", "progress"] == pytest.approx(0.25)
    assert rows.loc["cannabis-30d", "expected_progress"] == pytest.approx(0.5)
    # family conflict: (0.25 - 0.30) / (0.26 - 0.30) = 1.25; time 4 / 6
    assert rows.loc["family-conflict", "progress"] == pytest.approx(1.25)
    assert rows.loc["family-conflict", "expected_progress"] == pytest.approx(4 / 6)
    # reach 60 / 200 = 0.30, fidelity 0.6 (one row)
    assert rows.loc["parents-reach", "latest"] == pytest.approx(0.30)
    assert rows.loc["art-fidelity", "latest"] == pytest.approx(0.60)
    # Wilson interval of 60 / 400 as published, Newcombe difference from the baseline wave
    low, high = _wilson(60, 400)
    assert rows.loc["alcohol-30d", ["latest_low", "latest_high"]].tolist() == pytest.approx(
        [low, high]
    )
    assert rows.loc["alcohol-30d", "diff"] == pytest.approx(-0.10)
    assert rows.loc["alcohol-30d", "diff_high"] < 0


def test_edge_case_no_baseline(default_instrument, aggregates):
    frame = goal_progress.evaluate_goals(
        _load("no_baseline", default_instrument), aggregates, wave=2025
    )
    rows = frame.set_index("goal_id")
    assert _statuses(frame) == {
        "low-mood": ("not_yet_measurable", "no_baseline"),
        "binge": ("on_track", "on_pace_within_noise"),
    }
    assert rows.loc["binge", "baseline_used"] == pytest.approx(0.20)
    assert rows.loc["binge", "baseline_source"] == "data"
    assert rows.loc["binge", "note"] == "baseline_from_data"
    assert rows.loc["low-mood", "baseline_source"] == ""


def test_edge_case_target_met_at_baseline(default_instrument, aggregates):
    frame = goal_progress.evaluate_goals(
        _load("met_at_baseline", default_instrument), aggregates, wave=2025
    )
    assert set(_statuses(frame).values()) == {("achieved", "target_met_at_baseline")}
    assert "mer ambitiöst mål" in gc.reason_text(frame.iloc[0], "sv")


def test_target_met_at_baseline_but_lost(tmp_path, default_instrument, aggregates):
    # truancy 10 % at baseline meets 10.5 %; 11 % in 2025 no longer does
    data = _variant(0, indicator={"kind": "behaviour", "measure": "truancy"}, baseline=0.10,
                    target=0.105)  # fmt: skip
    data["goals"] = data["goals"][:1]
    chain = chains.load_goal_chain(_write(tmp_path, data), instrument=default_instrument)
    frame = goal_progress.evaluate_goals(chain, aggregates, wave=2025)
    assert _statuses(frame) == {"alcohol": ("not_on_track", "no_longer_met")}


def test_edge_case_suppressed_group(default_instrument, aggregates):
    frame = goal_progress.evaluate_goals(
        _load("suppressed_group", default_instrument), aggregates, wave=2025
    )
    assert _statuses(frame) == {
        "alcohol-gy2-girls": ("not_yet_measurable", "suppressed"),
        "alcohol-all": ("achieved", "target_reached"),
    }
    row = frame.iloc[0]
    assert np.isnan(row["latest"]) and np.isnan(row["n"])
    assert gc.reason_text(row, "en", min_n=10) == (
        "Too few answers to judge (fewer than 10 in the group)."
    )


def test_edge_case_cutpoint_mismatch(default_instrument, aggregates):
    frame = goal_progress.evaluate_goals(
        _load("cutpoint_mismatch", default_instrument), aggregates, wave=2025
    )
    assert _statuses(frame) == {
        "family-conflict": ("not_yet_measurable", "cutpoint_mismatch"),
        "alcohol-30d": ("achieved", "target_reached"),
    }
    text = gc.reason_text(frame.iloc[0], "en")
    assert "ctc-default-2026.1/ref-2023" in text and RISK in text


def test_exact_version_also_matches(tmp_path, default_instrument, aggregates):
    chain = chains.load_goal_chain(
        _write(tmp_path, _variant(cutpoint_version=RISK)), instrument=default_instrument
    )
    frame = goal_progress.evaluate_goals(chain, aggregates, wave=2025)
    assert frame.set_index("goal_id").loc["conflict", "reason"] == "target_reached_within_noise"
    # a prefix that does not end at a "/" does not match
    chain = chains.load_goal_chain(
        _write(tmp_path, _variant(cutpoint_version="ctc-default-2026.1/ref-20")),
        instrument=default_instrument,
    )
    frame = goal_progress.evaluate_goals(chain, aggregates, wave=2025)
    assert frame.set_index("goal_id").loc["conflict", "reason"] == "cutpoint_mismatch"


def test_cutpoints_changed_between_waves_in_the_data(norr, aggregates, inventory):
    changed = aggregates.assign(
        cutpoint_version=aggregates["cutpoint_version"].mask(
            aggregates["wave"].eq(2025) & aggregates["measure"].eq("family_conflict"),
            "ctc-default-2026.1/ref-2021/P75-P90/cccc3333",
        )
    )
    frame = goal_progress.evaluate_goals(norr, changed, wave=2025, inventory=inventory)
    row = frame.set_index("goal_id").loc["family-conflict"]
    assert (row["status"], row["reason"]) == ("not_yet_measurable", "cutpoint_changed")
    text = gc.reason_text(row, "sv")
    assert "cccc3333" in text and "aaaa1111" in text and "2021" in text


def test_no_wave_after_baseline(norr, aggregates, inventory):
    frame = goal_progress.evaluate_goals(norr, aggregates, wave=2021, inventory=inventory)
    assert set(frame["status"]) == {"not_yet_measurable"}
    assert set(frame["reason"]) == {"no_wave_after_baseline"}


def test_not_measured_and_target_year_passed(tmp_path, default_instrument, aggregates):
    data = _variant(0, indicator={"kind": "behaviour", "measure": "snus_30d"})
    data["goals"].append(
        {"id": "cannabis", "level": "long", "indicator": {"kind": "behaviour",
         "measure": "cannabis_30d"}, "baseline": 0.10, "target": 0.08, "target_year": 2023}
    )  # fmt: skip
    chain = chains.load_goal_chain(_write(tmp_path, data), instrument=default_instrument)
    frame = goal_progress.evaluate_goals(chain, aggregates, wave=2025)
    statuses = _statuses(frame)
    assert statuses["alcohol"] == ("not_yet_measurable", "not_measured")
    assert statuses["cannabis"] == ("not_on_track", "target_year_passed")


def test_inventory_years_and_missing_values(norr, aggregates):
    inventory = pd.DataFrame(
        {
            "area": "norr",
            "programme": ["Steg för steg", "steg för steg ", "Steg för steg", "ART"],
            "year": [2021, 2024, 2027, 2024],
            "participants_reached": [20, 50, 190, 40],
            "eligible_population": [200, 200, 200, 100],
            "fidelity_score": [0.5, 0.5, 0.9, np.nan],
        }
    )
    frame = goal_progress.evaluate_goals(norr, aggregates, wave=2025, inventory=inventory)
    rows = frame.set_index("goal_id")
    # 2027 is after the wave and ignored; 2024 is the latest year: 50 / 200 = 0.25 (the target)
    assert rows.loc["parents-reach", "latest_year"] == 2024
    assert rows.loc["parents-reach", "latest"] == pytest.approx(0.25)
    assert rows.loc["parents-reach", "baseline_data"] == pytest.approx(0.10)
    assert rows.loc["parents-reach", "status"] == "achieved"
    # time elapsed is counted to the inventory year: (2024 - 2021) / (2027 - 2021)
    assert rows.loc["parents-reach", "expected_progress"] == pytest.approx(0.5)
    assert rows.loc["art-fidelity", "reason"] == "inventory_value_missing"


def test_reach_over_several_rows_and_the_city(aggregates, inventory):
    city_aggregates = aggregates.assign(area="all")
    chain = chains.GoalChain(
        area="all",
        baseline_wave=2021,
        goals=(chains.Goal(id="reach", level="short", kind="reach", direction="increase",
                       baseline=0.1, target=0.5, target_year=2029, programme="Steg för steg"),),
    )  # fmt: skip
    frame = goal_progress.evaluate_goals(chain, city_aggregates, wave=2025, inventory=inventory)
    # the city sums every area: (60 + 10) / (200 + 50)
    assert frame.loc[0, "latest"] == pytest.approx(70 / 250)


def test_no_inventory(norr, aggregates):
    frame = goal_progress.evaluate_goals(norr, aggregates, wave=2025)
    rows = frame.set_index("goal_id")
    assert rows.loc[["parents-reach", "art-fidelity"], "reason"].tolist() == ["no_inventory"] * 2


def test_baseline_differing_from_the_data_is_noted(tmp_path, default_instrument, aggregates):
    chain = chains.load_goal_chain(
        _write(tmp_path, _variant(0, baseline=0.35)), instrument=default_instrument
    )
    row = goal_progress.evaluate_goals(chain, aggregates, wave=2025).iloc[0]
    assert row["note"] == "baseline_differs_from_data"
    assert "25 %" in gc.reason_text(row, "sv")


def test_no_chain_and_unknown_area(norr, aggregates):
    empty = goal_progress.evaluate_goals(None, aggregates, wave=2025)
    assert empty.empty and empty.columns.tolist() == goal_progress._EVALUATED_COLUMNS
    with pytest.raises(ValueError, match=r"area 'norr', which is not in the aggregate table; its "
                       r"areas: syd"):  # fmt: skip
        goal_progress.evaluate_goals(norr, aggregates.assign(area="syd"), wave=2025)


def test_evaluation_does_not_change_its_inputs(norr, aggregates, inventory):
    before_agg, before_inv = aggregates.copy(), inventory.copy()
    goal_progress.evaluate_goals(norr, aggregates, wave=2025, inventory=inventory)
    pd.testing.assert_frame_equal(aggregates, before_agg)
    pd.testing.assert_frame_equal(inventory, before_inv)


# --------------------------------------------------------------------------------------------
# Texts, display and the plot


def test_every_code_has_its_texts(evaluated):
    for status in chains.schema_codes("statuses"):
        for lang in ("sv", "en"):
            assert t(f"goal_status_{status}", lang)
    row = evaluated.iloc[0]
    for reason in chains.GOAL_REASONS:
        for note in ("", "baseline_from_data", "baseline_differs_from_data"):
            for lang in ("sv", "en"):
                modified = row.copy()
                modified["reason"], modified["note"] = reason, note
                text = gc.reason_text(modified, lang)
                assert text and "{" not in text
    symbols = {s["code"]: s["symbol"] for s in chains.goal_schema()["statuses"]}
    assert symbols == {"achieved": "✓", "on_track": "→", "not_on_track": "✗",
                       "not_yet_measurable": "?"}  # fmt: skip


def test_status_label_reads_without_colour():
    assert gc.status_label("achieved", "sv") == "✓ uppnått"
    assert gc.status_label("not_on_track", "en") == "✗ not on track"


def test_goal_display(evaluated, default_instrument):
    measures = default_instrument.measures().assign(
        label_sv=lambda m: m["label"], label_en=lambda m: m["label"]
    )
    table = gc.goal_display(evaluated, measures=measures, lang="sv")
    frame = table.frame
    assert frame.columns.tolist() == [
        "Nivå", "Mål", "Utgångsvärde (år)", "Senaste värde (år), 95 % KI", "Målvärde (år)",
        "Status", "Förklaring",
    ]  # fmt: skip
    assert (
        frame["Nivå"].iloc[0] == "Kortsiktiga mål" and frame["Nivå"].iloc[-1] == "Långsiktiga mål"
    )
    reach = frame.loc[frame["Mål"].eq("Räckvidd: Steg för steg")].iloc[0]
    assert reach["Status"] == "✓ uppnått" and reach["Senaste värde (år), 95 % KI"] == "30 % (2025)"
    alcohol = frame.loc[frame["Mål"].eq("Druckit alkohol senaste 30 dagarna")].iloc[0]
    assert alcohol["Senaste värde (år), 95 % KI"] == "15 % (2025), 12 % till 19 %"
    assert alcohol["Målvärde (år)"] == "15 % (2029)"
    assert any("På väg" in note for note in table.footnotes)


def test_goal_chain_notice(norr, tmp_path):
    missing = gc.goal_chain_notice(None, area="syd", goal_chain_dir=tmp_path, lang="sv").data
    missing = plain_text(missing)
    assert "resurs- och gapanalysen" in missing and "datamappen" in missing
    present = gc.goal_chain_notice(norr, area="norr", goal_chain_dir=GOALS_DIR, lang="en").data
    present = plain_text(present)
    assert "The area's goal chain: 11 goals, baseline year 2021" in present
    for text in (missing, present):  # a team reads it: no path, file name or notebook
        assert str(tmp_path) not in text and ".yaml" not in text and "notebook" not in text


def test_goal_summary(evaluated):
    summary = goal_progress.goal_summary(evaluated)
    assert summary["goals"] == 11
    assert summary["status_counts"] == {
        "achieved": 3, "on_track": 3, "not_on_track": 4, "not_yet_measurable": 1
    }  # fmt: skip
    assert summary["statuses"]["mentor-reach"] == "not_yet_measurable"


def test_load_programme_figures_from_an_inventory_file(tmp_path):
    from ctc_helpers.publish.read import load_published
    from tests.fake_published import write_fake_published

    write_fake_published(tmp_path / "data")
    published = load_published(tmp_path / "data")
    inventory = tmp_path / "inventory.csv"
    inventory.write_text(
        "area,programme,provider,year,prevention_level,setting,target_grades,targeted_factors,"
        "participants_reached,eligible_population,fidelity_score\n"
        "norra-hamnen,Steg för steg,Socialtjänsten,2023,selective,family,ak7-ak9,family_conflict,"
        "30,200,0.7\n"
        "norra-hamnen,Steg för steg,Socialtjänsten,2025,selective,family,ak7-ak9,family_conflict,"
        "60,200,0.8\n"
        "norra-hamnen,LifeSkills Training,Hamnskolan,2025,universal,school,ak7;ak9,"
        "friends_drug_use,168,,0.9\n",
        encoding="utf-8",
    )
    figures = goal_progress.load_programme_figures(inventory, published=published, wave=2025)
    rows = figures.set_index(["programme", "year"])
    # the universal programme's eligible population is the enrolment of ak7 and ak9 (168 + 168)
    assert rows.loc[("LifeSkills Training", 2025), "eligible"] == pytest.approx(336)
    assert goal_progress.load_programme_figures("", published=published, wave=2025) is None
    chain = chains.GoalChain(
        area="norra-hamnen",
        baseline_wave=2023,
        goals=(
            chains.Goal(id="steg", level="short", kind="reach", direction="increase", baseline=None,
                    target=0.25, target_year=2027, programme="Steg för steg"),
            chains.Goal(id="lst", level="short", kind="reach", direction="increase", baseline=0.2,
                    target=0.6, target_year=2027, programme="LifeSkills Training"),
            chains.Goal(id="steg-fidelity", level="short", kind="fidelity", direction="increase",
                    baseline=None, target=0.9, target_year=2027, programme="Steg för steg"),
        ),
    )  # fmt: skip
    frame = goal_progress.evaluate_goals(chain, published.aggregates, wave=2025, inventory=figures)
    result = frame.set_index("goal_id")
    # Steg för steg: baseline 30 / 200 = 0.15 from the inventory's 2023 row, 60 / 200 in 2025
    assert result.loc["steg", ["baseline_used", "latest"]].tolist() == pytest.approx([0.15, 0.30])
    assert (result.loc["steg", "status"], result.loc["steg", "note"]) == (
        "achieved", "baseline_from_data"
    )  # fmt: skip
    # LifeSkills: 168 / 336 = 0.5; progress (0.5 - 0.2) / 0.4 = 0.75 >= time 2 / 4
    assert result.loc["lst", "latest"] == pytest.approx(0.5)
    assert result.loc["lst", ["status", "reason"]].tolist() == ["on_track", "programme_on_pace"]
    # fidelity 0.7 -> 0.8 towards 0.9: progress 0.5 >= 0.5 of the time
    assert result.loc["steg-fidelity", "progress"] == pytest.approx(0.5)
    assert result.loc["steg-fidelity", "status"] == "on_track"
