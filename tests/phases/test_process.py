"""The process engine: milestone scoring, unmet milestones and their flags, the steering
group's criteria, the plan against the inventory and the links to the goal chain.

Expected values are worked out by hand on small frames (the comments say how) or recomputed
from the demo city's raw YAML and CSV files with plain Python and pandas.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ctc_helpers.config.checklist import load_checklist_definition
from ctc_helpers.config.goal_chain import Goal, GoalChain, load_goal_chain
from ctc_helpers.config.implementation_plan import (
    load_area_implementation_plan,
    load_implementation_plan,
)
from ctc_helpers.config.programme_bank import load_programme_bank
from ctc_helpers.paths import SAMPLE_DIR
from ctc_helpers.phases.delivery import (
    PLAN_FLAGS,
    delivered_by_year,
    goal_links,
    plan_flags,
    plan_vs_delivered,
)
from ctc_helpers.phases.followup.goal_progress import programme_figures
from ctc_helpers.phases.gaps.inputs import load_enrolment
from ctc_helpers.phases.gaps.inventory import load_inventory
from ctc_helpers.phases.process import (
    load_process,
    phase_status,
    process_summary,
    score_milestones,
    steering_group_status,
    unmet_milestones,
)

PROCESS = SAMPLE_DIR / "process"
AREAS = ("norra-hamnen", "solvik", "stenkulla")


def _milestones(rows: list[tuple]) -> pd.DataFrame:
    """(year, milestone, phase, steering_group, score) rows of one area, in checklist order."""
    frame = pd.DataFrame(rows, columns=["year", "milestone", "phase", "steering_group", "score"])
    order = {m: i for i, m in enumerate(dict.fromkeys(frame["milestone"]))}
    return frame.assign(area="a", own=False, order=frame["milestone"].map(order), comment="",
                        basis="", score=frame["score"].astype(float))  # fmt: skip


# --------------------------------------------------------------------------------------------
# Scoring


def test_status_reached_phase_and_due_follow_the_rules():
    frame = _milestones([
        (2025, "p1-a", 1, False, 4), (2025, "p1-b", 1, True, 2), (2025, "p2-a", 2, False, 1),
        (2025, "p3-a", 3, False, 0), (2025, "p3-b", 3, False, np.nan),
    ])  # fmt: skip
    scored = score_milestones(frame, met_from=3)
    assert scored["status"].tolist() == [
        "met", "in_progress", "in_progress", "not_started", "not_assessed",
    ]  # fmt: skip
    # the highest phase with a score of at least 1 is 2, so phase 3 is not due yet
    assert scored["reached_phase"].tolist() == [2] * 5
    assert scored["due"].tolist() == [True, True, True, False, False]
    assert frame.equals(_milestones([
        (2025, "p1-a", 1, False, 4), (2025, "p1-b", 1, True, 2), (2025, "p2-a", 2, False, 1),
        (2025, "p3-a", 3, False, 0), (2025, "p3-b", 3, False, np.nan),
    ]))  # the input is not changed  # fmt: skip


def test_phase_status_counts_against_plain_pandas(rng):
    years, phases = [2023, 2024, 2025], [1, 1, 1, 2, 2, 3]
    rows = [(y, f"m{i}", p, False, rng.choice([0, 1, 2, 3, 4, np.nan]))
            for y in years for i, p in enumerate(phases)]  # fmt: skip
    scored = score_milestones(_milestones(rows), met_from=3)
    table = phase_status(scored).set_index(["year", "phase"])
    for (year, phase), group in scored.groupby(["year", "phase"]):
        score = group["score"]
        row = table.loc[(year, phase)]
        assert row["milestones"] == len(group) and row["assessed"] == score.notna().sum()
        assert row["met"] == (score >= 3).sum()
        assert row["share_met"] == pytest.approx((score >= 3).sum() / len(group))
        if score.notna().any():
            assert row["mean_score"] == pytest.approx(score.dropna().mean())
        expected = ("complete" if (score >= 3).all() else "in_progress" if (score >= 1).any()
                    else "not_started" if score.notna().any() else "not_assessed")  # fmt: skip
        assert row["status"] == expected


def test_unmet_milestones_are_flagged_in_plain_codes():
    rows = []
    history = {  # milestone: (phase, steering group, scores 2022..2025)
        "mandate": (1, True, [1, 3, 2, 2]),  # met 2023, dropped 2024, unmet twice in a row
        "meets": (2, True, [1, 1, 1, 1]),  # never met: four checklists in a row
        "team": (1, False, [2, 4, 4, np.nan]),  # not assessed in 2025, met before
        "profile": (2, False, [0, 1, 3, 2]),  # dropped from 3 to 2 this year
        "ok": (1, False, [4, 4, 4, 4]),
        "later": (4, False, [0, 0, 0, 0]),  # phase 4 not reached: not due, not listed
    }
    for year_index, year in enumerate((2022, 2023, 2024, 2025)):
        for name, (phase, steering, scores) in history.items():
            rows.append((year, name, phase, steering, scores[year_index]))
    unmet = unmet_milestones(score_milestones(_milestones(rows), met_from=3))
    assert unmet["year"].unique().tolist() == [2025]
    flags = dict(zip(unmet["milestone"], unmet["flags"], strict=True))
    assert list(flags) == ["mandate", "meets", "team", "profile"]  # steering group first
    assert flags["mandate"] == ("steering_group", "was_met", "long_unmet")
    assert flags["meets"] == ("steering_group", "long_unmet")
    assert flags["team"] == ("not_assessed", "was_met")
    assert flags["profile"] == ("was_met", "dropped")
    row = unmet.set_index("milestone").loc["meets"]
    assert row["years_unmet"] == 4 and math.isnan(row["first_met"])
    row = unmet.set_index("milestone").loc["profile"]
    assert (row["previous_score"], row["previous_year"], row["first_met"]) == (3, 2024, 2024)
    # up to 2023 the mandate and the team were met: only "meets" and "profile" are listed
    earlier = unmet_milestones(score_milestones(_milestones(rows), met_from=3), year=2023)
    assert earlier["milestone"].tolist() == ["meets", "profile"]


def test_the_steering_group_is_unmet_when_any_due_criterion_is_not_met():
    rows = [
        (2021, "formed", 1, True, 1), (2021, "follows", 5, True, 0), (2021, "x", 1, False, 1),
        (2022, "formed", 1, True, 4), (2022, "follows", 5, True, 0), (2022, "x", 1, False, 4),
        (2023, "formed", 1, True, 4), (2023, "follows", 5, True, 2), (2023, "x", 1, False, 4),
        (2024, "formed", 1, True, 4), (2024, "follows", 5, True, 3), (2024, "x", 1, False, 4),
    ]  # fmt: skip
    status = steering_group_status(score_milestones(_milestones(rows), met_from=3))
    # 2021: formed due (phase 1 reached) and scored 1; 2022: formed met, follows-up not due;
    # 2023: phase 5 reached by follows-up itself (2), so it is due and unmet; 2024: both met
    assert status["status"].tolist() == ["unmet", "met", "unmet", "met"]
    assert status["due"].tolist() == [1, 1, 2, 2]
    assert status["unmet"].tolist() == [("formed",), (), ("follows",), ()]
    assert status["years_unmet"].tolist() == [1, 0, 1, 0]
    none = _milestones([(2025, "p1", 1, True, 0), (2025, "p2", 2, False, 0)])
    assert steering_group_status(score_milestones(none, met_from=3))["status"].tolist() == [
        "not_due"
    ]


# --------------------------------------------------------------------------------------------
# The demo city's story, recomputed from the raw checklist files


def _raw_scores(area: str) -> dict[int, dict[str, float]]:
    scores = {}
    for path in sorted((PROCESS / area).glob("checklist_*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        scores[raw["year"]] = {
            m["id"]: np.nan if m["score"] is None else m["score"] for m in raw["milestones"]
        }
    return scores


def test_stenkulla_is_the_area_whose_steering_group_criteria_stay_unmet():
    definition = load_checklist_definition()
    criteria = [m.id for m in definition.milestones if m.steering_group]
    for area in AREAS:
        frames = load_process(PROCESS, area, wave=2025, definition=definition)
        status = frames.steering.set_index("year")["status"]
        raw = _raw_scores(area)
        # plain rule on the raw files: a due criterion scored under 3 makes the year unmet
        for year, scores in raw.items():
            reached = max([m.phase for m in definition.milestones if scores[m.id] >= 1] or [0])
            due = [c for c in criteria if definition.milestone(c).phase <= reached]
            unmet = [c for c in due if not scores[c] >= 3]
            assert status[year] == ("unmet" if unmet else "met" if due else "not_due")
        if area == "stenkulla":
            assert status.tolist() == ["unmet"] * 5
            assert frames.steering["years_unmet"].iloc[-1] == 5
        else:
            assert status[2025] == "met"


# --------------------------------------------------------------------------------------------
# The plan against what was delivered


def _plan(tmp_path: Path, *, share=0.5, participants=None, sessions=10, team="Team",
          coaching=4, staff=3, sek=1000, goals="[reach-p]", start="2023-08-01",
          end="2027-06-30") -> object:  # fmt: skip
    reach = {"share": share} if share is not None else {}
    if participants is not None:
        reach["participants"] = participants
    raw = {"area": "a", "decided": dt.date(2023, 3, 1), "programmes": [{
        "id": "p", "programme": "Programmet", "goals": yaml.safe_load(goals),
        "responsible": "Skolan", "start": dt.date.fromisoformat(start),
        "end": dt.date.fromisoformat(end), "budget": {"sek": sek, "per": "year"},
        "target_group": "Elever", "target_reach": reach, "fidelity_target": 0.8,
        "sessions_per_year": sessions,
        "support": {"trained_staff": staff, "coaching_per_year": coaching,
                    "implementation_team": team},
    }]}  # fmt: skip
    path = tmp_path / "a" / "implementation_plan.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_implementation_plan(path)


def _figures(rows: list[tuple]) -> pd.DataFrame:
    """(year, participants, eligible, fidelity, sessions delivered, funding end) rows."""
    columns = ["year", "participants_reached", "eligible", "fidelity_score",
               "sessions_delivered", "funding_end"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns).assign(area="a", programme="programmet ")


def test_delivered_figures_are_summed_by_year_and_fidelity_weighted_by_reach():
    figures = _figures([
        (2023, 40, 100, 0.5, 4, None), (2023, 60, 100, 1.0, 6, dt.date(2026, 6, 30)),
        (2025, 30, 60, 0.9, 9, None), (2027, 1, 1, 1.0, 1, None),
    ])  # fmt: skip
    table = delivered_by_year(figures, area="a", programme="Programmet", wave=2025)
    assert table["year"].tolist() == [2023, 2025]  # 2027 is after the wave
    first = table.iloc[0]
    # (40 + 60) / (100 + 100); fidelity (40 * 0.5 + 60 * 1.0) / 100 = 0.8
    assert first["reach"] == pytest.approx(0.5) and first["fidelity"] == pytest.approx(0.8)
    assert first["sessions_delivered"] == 10 and first["funding_end"] == dt.date(2026, 6, 30)
    assert delivered_by_year(figures, area="b", programme="Programmet", wave=2025).empty


def test_plan_against_delivery_by_year(tmp_path):
    plan = _plan(tmp_path)
    figures = _figures([
        (2021, 10, 100, 0.9, 10, None),  # before the plan: shown, not judged
        (2023, 40, 100, 0.7, 12, None), (2025, 60, 100, np.nan, 8, None),
    ])  # fmt: skip
    table = plan_vs_delivered(plan, figures, wave=2025)
    assert table["year"].tolist() == [2021, 2023, 2025]
    assert table["in_period"].tolist() == [False, True, True]
    assert table["reach_status"].tolist() == ["outside_period", "below", "met"]  # 0.4, 0.6 vs 0.5
    assert table["fidelity_status"].tolist() == ["outside_period", "below", "unknown"]
    assert table["sessions_status"].tolist() == ["outside_period", "met", "below"]  # 12, 8 vs 10
    missing = plan_vs_delivered(plan, figures.assign(programme="Annat"), wave=2025)
    assert missing["reach_status"].tolist() == ["no_data"] and math.isnan(missing["year"].iloc[0])
    assert plan_vs_delivered(plan, None, wave=2025)["reach_status"].tolist() == ["no_inventory"]


def test_a_participants_target_is_used_when_no_share_is_set(tmp_path):
    plan = _plan(tmp_path, share=None, participants=50)
    table = plan_vs_delivered(plan, _figures([(2025, 45, np.nan, 0.9, 10, None)]), wave=2025)
    assert table["reach_status"].tolist() == ["below"]


def _chain(goals: list[tuple]) -> GoalChain:
    """(id, level, kind, programme, target) goals of area a."""
    return GoalChain(area="a", baseline_wave=2021, goals=tuple(
        Goal(id=i, level=level, kind=kind, direction="increase", baseline=None, target=target,
             target_year=2027, programme=programme)
        for i, level, kind, programme, target in goals
    ))  # fmt: skip


def test_plan_flags_cover_support_goals_and_delivery(tmp_path):
    plan = _plan(tmp_path, team=None, coaching=0, staff=0, sek=0, share=0.6)
    chain = _chain([("reach-p", "short", "reach", "Programmet", 0.7),
                    ("fid-q", "short", "fidelity", "Annat program", 0.8)])  # fmt: skip
    figures = _figures([(2025, 50, 100, 0.7, 8, dt.date(2026, 6, 30))])
    flags = plan_flags(plan, figures, chain, wave=2025, area="a")
    assert flags["flag"].tolist() == [
        "goal_without_plan", "target_differs_from_goal", "no_implementation_team",
        "no_coaching", "no_trained_staff", "no_budget", "reach_below_target",
        "fidelity_below_target", "sessions_below_plan", "funding_ends_early",
    ]  # fmt: skip
    assert flags["flag"].tolist() == [f for f in PLAN_FLAGS if f in set(flags["flag"])]
    by_flag = flags.set_index("flag")
    assert by_flag.loc["goal_without_plan", ["plan_id", "programme", "goal_id"]].tolist() == [
        "", "Annat program", "fid-q",
    ]  # fmt: skip
    assert by_flag.loc["target_differs_from_goal", ["value", "target"]].tolist() == [0.6, 0.7]
    assert by_flag.loc["reach_below_target", ["year", "value", "target", "unit"]].tolist() == [
        2025, 0.5, 0.6, "share",
    ]  # fmt: skip
    assert by_flag.loc["sessions_below_plan", ["value", "target", "unit"]].tolist() == [
        8, 10, "count",
    ]  # fmt: skip
    assert by_flag.loc["funding_ends_early", "date"] == dt.date(2026, 6, 30)


def test_no_delivery_flag_without_an_inventory_and_not_in_inventory_once_started(tmp_path):
    plan = _plan(tmp_path, goals="[]")
    assert plan_flags(plan, None, None, wave=2025, area="a")["flag"].tolist() == [
        "no_short_term_goal"
    ]
    empty = _figures([]).astype({"year": float})
    assert plan_flags(plan, empty, None, wave=2025, area="a")["flag"].tolist() == [
        "no_short_term_goal", "not_in_inventory",
    ]  # fmt: skip
    later = _plan(tmp_path, goals="[]", start="2026-08-01")
    assert "not_in_inventory" not in plan_flags(later, empty, None, wave=2025, area="a")["flag"]


def test_goal_links_put_each_short_term_goal_beside_its_programme(tmp_path):
    plan = _plan(tmp_path, goals="[reach-p, fid-p]", share=0.7)
    chain = _chain([("reach-p", "short", "reach", "Programmet", 0.7),
                    ("fid-p", "short", "fidelity", "Programmet", 0.9),
                    ("other", "short", "reach", "Annat", 0.5),
                    ("factor", "medium", "factor", None, 0.3)])  # fmt: skip
    links = goal_links(plan, chain, area="a")
    assert links["goal_id"].tolist() == ["reach-p", "fid-p", "other"]
    assert links["plan_id"].tolist() == ["p", "p", ""]
    assert links["plan_target"].tolist()[:2] == [0.7, 0.8]  # share; the plan's fidelity target
    assert links["agrees"].tolist()[:2] == [True, False] and pd.isna(links["agrees"].iloc[2])


# --------------------------------------------------------------------------------------------
# The demo city: plan, inventory and goal chain fit together


@pytest.fixture(scope="module")
def demo_figures(default_instrument):
    inventory = load_inventory(
        SAMPLE_DIR / "programme_inventory.csv", bank=load_programme_bank(),
        areas=pd.read_csv(SAMPLE_DIR / "areas.csv"), instrument=default_instrument, warn=False,
    )  # fmt: skip
    enrolment = load_enrolment(SAMPLE_DIR / "enrolment.csv")
    return programme_figures(inventory.programmes, wave=2025, enrolment=enrolment)


def test_the_demo_plans_meet_the_inventory_and_the_goal_chains(default_instrument, demo_figures):
    inventory = pd.read_csv(SAMPLE_DIR / "programme_inventory.csv")
    enrolment = pd.read_csv(SAMPLE_DIR / "enrolment.csv")
    for area in AREAS:
        chain = load_goal_chain(SAMPLE_DIR / "goal_chains" / f"{area}.yaml",
                                instrument=default_instrument)  # fmt: skip
        plan = load_area_implementation_plan(PROCESS, area, chain=chain)
        links = goal_links(plan, chain, area=area)
        assert links.loc[links["goal_id"].ne(""), "agrees"].all()
        for entry in plan.programmes:
            rows = inventory[
                inventory["area"].eq(area) & inventory["programme"].eq(entry.programme)
            ]
            assert len(rows), (area, entry.programme)  # every planned programme is inventoried
        delivered = plan_vs_delivered(plan, demo_figures, wave=2025)
        if area == "solvik":  # Positive Action, 2025: 160 pupils of åk 6-9 in Solvik
            row = delivered.set_index(["plan_id", "year"]).loc[("positive-action", 2025)]
            pupils = enrolment[enrolment["area"].eq("solvik") & enrolment["wave"].eq(2025)
                               & enrolment["grade"].isin(["ak6", "ak7", "ak8", "ak9"])]  # fmt: skip
            assert row["reach"] == pytest.approx(160 / pupils["enrolled"].sum())
            assert row["reach_status"] == "below" and row["fidelity_status"] == "met"


def test_the_demo_story_reaches_the_process_summary(default_instrument, demo_figures):
    definition = load_checklist_definition()
    measures = default_instrument.measures()
    chains = SAMPLE_DIR / "goal_chains"
    frames = load_process(PROCESS, "all", wave=2025, definition=definition, measures=measures,
                          known_areas=["centrum", *AREAS], goal_chain_dir=chains,
                          figures=demo_figures)  # fmt: skip
    assert frames.areas["area"].tolist() == list(AREAS)  # centrum has no process folder
    summary = process_summary(frames)["areas"]
    assert {a: s["steering_group"] for a, s in summary.items()} == {
        "norra-hamnen": "met", "solvik": "met", "stenkulla": "unmet",
    }  # fmt: skip
    assert "no_coaching" in summary["stenkulla"]["plan_flags"]
    assert "no_implementation_team" in summary["solvik"]["plan_flags"]
    assert "funding_ends_early" in summary["norra-hamnen"]["plan_flags"]
    latest = frames.latest_phases
    assert latest["year"].unique().tolist() == [2025] and len(latest) == 3 * 5


def test_goal_chains_of_the_process_view_use_the_surveys_own_grades(tmp_path, default_instrument):
    """A goal for a grade only the municipality's own survey has (g10) is read with the
    published vocabulary, as report 04 reads it; the default grade list refuses it."""
    from ctc_helpers.config.instrument import load_respondent_schema
    from ctc_helpers.config.messages import ConfigFileError

    goal = {"id": "alcohol", "level": "long", "group": {"grade": "g10"},
            "indicator": {"kind": "behaviour", "measure": "alcohol_30d"},
            "baseline": 0.25, "target": 0.15, "target_year": 2029}  # fmt: skip
    chains = tmp_path / "chains"
    chains.mkdir()
    (chains / "norr.yaml").write_text(
        yaml.safe_dump({"area": "norr", "baseline_wave": 2021, "goals": [goal]}), encoding="utf-8"
    )
    default = load_respondent_schema()
    grade = {"code": "g10", "label": {"sv": "gy 1", "en": "Grade 10"}, "year": 10}
    own = dataclasses.replace(default, grades=(*default.grades, grade))
    process = tmp_path / "process"
    process.mkdir()
    kwargs = {"wave": 2025, "goal_chain_dir": chains, "measures": default_instrument}
    with pytest.raises(ConfigFileError, match="g10"):
        load_process(process, "norr", **kwargs)
    frames = load_process(process, "norr", **kwargs, respondent_schema=own)
    assert frames.areas.loc[0, "goal_chain"]
