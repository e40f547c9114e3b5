"""Benchmark: the effect evaluation (notebook 05) on the demo city and on 1,000,000 pupils.

Two figures, each next to a floor measured in the same run:

1. The demo city: every measure (57) of the committed Exempelstad aggregates, all evaluations the
   area list allows, as the prepare step runs it (``build_effect_tables``). The aggregates are
   computed first and not timed (ingest and scoring are benchmarked in ``score.py``). Floor: one
   weighted least-squares fit of one measure's full model (numpy ``lstsq``).
2. 50 areas x 5 waves x 1,000,000 pupils (15 areas start CTC between the 2nd and 3rd survey, a
   planted effect of -3 points): the pupils' 0/1 answers are aggregated to area x wave x grade
   x sex cells first (so the row count matters once), then one measure is evaluated in full:
   estimate, 1,000 randomisation draws (interval by test inversion), 999 wild cluster bootstrap
   draws, the event study with its own 1,000 draws, the pre-trend test, the regression-to-the-
   mean check and the variance components. Floors: the group-by of the rows, and one
   least-squares fit of the pupils' 0/1 answers on the cells' design (the cell-level WLS).

Goal: the 1,000,000-pupil evaluation within 60 s on the 2-core machine.

Usage: ``python benchmarks/effects.py [--pupils N] [--areas K] [--permutations P] [--seed S]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

GOAL_SECONDS = 60.0
WAVES = (2017, 2019, 2021, 2023, 2025)
GRADES = ("ak6", "ak7", "ak8", "ak9", "gy1", "gy2")
SEXES = ("F", "M")


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


# --------------------------------------------------------------------------- the demo city


def demo_aggregates() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The committed demo city through the real pipeline (ingest, score, aggregate)."""
    from ctc_helpers.config.instrument import load_areas, load_instrument, load_respondent_schema
    from ctc_helpers.ingest.load import load_survey
    from ctc_helpers.paths import SAMPLE_DIR
    from ctc_helpers.survey.profile import aggregate, prepare_scored

    instrument = load_instrument()
    files = sorted(SAMPLE_DIR.glob("exempelstad_*.csv"))
    survey = load_survey(files, instrument=instrument, areas=SAMPLE_DIR / "areas.csv")
    scored, cutpoints = prepare_scored(survey.data, instrument)
    areas = load_areas(SAMPLE_DIR / "areas.csv")["area_id"].tolist()
    table = aggregate(
        scored, instrument, load_respondent_schema(), areas=areas, cutpoints=cutpoints
    )
    return table, instrument.measures()[["measure", "measure_kind", "group"]]


def bench_demo() -> dict:
    from ctc_helpers.paths import SAMPLE_DIR
    from ctc_helpers.phases.effects.design import build_design, load_design
    from ctc_helpers.phases.effects.did import fit_panel, prepare_cells
    from ctc_helpers.phases.effects.tables import build_effect_tables

    aggregates, measures = demo_aggregates()
    areas = load_design(SAMPLE_DIR / "areas.csv")
    tables, seconds = _timed(build_effect_tables, aggregates, areas, measures=measures)
    design = build_design(areas, waves=sorted(aggregates["wave"].unique()))
    panel = fit_panel(prepare_cells(aggregates, measure="alcohol_lifetime"), design)
    floor = min(_timed(_one_fit, panel, design)[1] for _ in range(5))
    ok = tables["effects"]
    return {
        "seconds": seconds,
        "measures": int(ok["measure"].nunique()),
        "evaluations": sorted(ok["group"].unique()),
        "floor": floor,
    }


def _one_fit(panel, design) -> np.ndarray:
    """One WLS fit of one measure's model by numpy ``lstsq``: area, wave and grade x sex fixed
    effects and a dummy per CTC area-wave after the start (= OLS on the pupils' answers)."""
    from ctc_helpers.phases.effects.did import NO_EVENT, column_events, observed_starts

    events = column_events(panel, observed_starts(panel, design))
    treated = np.flatnonzero((events >= 0) & (events != NO_EVENT))
    dummies = (panel.cell_col[:, None] == treated[None, :]).astype(float)
    matrix = np.hstack([panel.fixed, dummies]) * panel.sw[:, None]
    coef, *_ = np.linalg.lstsq(matrix, panel.y * panel.sw, rcond=None)
    return coef


# --------------------------------------------------------------------------- 1 M pupils


def make_pupils(n: int, n_areas: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pupils' 0/1 answers with area, wave, grade and sex effects, area x wave drift and a
    planted effect of -3 points in a third of the areas after 2020; and the area list."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"area-{i:02d}" for i in range(n_areas)])
    ctc = rng.choice(n_areas, n_areas * 3 // 10, replace=False)
    area = rng.integers(0, n_areas, n)
    wave = rng.integers(0, len(WAVES), n)
    grade = rng.integers(0, len(GRADES), n)
    sex = rng.integers(0, len(SEXES), n)
    level = (
        rng.normal(0, 0.04, n_areas)[area] + rng.normal(0, 0.01, (n_areas, len(WAVES)))[area, wave]
    )
    after = np.isin(area, ctc) & (np.asarray(WAVES)[wave] > 2020)
    p = np.clip(0.15 + 0.04 * grade + 0.02 * sex + level - 0.03 * after, 0.01, 0.99)
    pupils = pd.DataFrame(
        {
            "area": pd.Categorical.from_codes(area, categories=ids),
            "wave": np.asarray(WAVES)[wave],
            "grade": pd.Categorical.from_codes(grade, categories=GRADES),
            "sex": pd.Categorical.from_codes(sex, categories=SEXES),
            "flag": (rng.random(n) < p).astype(np.int8),
        }
    )
    starts = pd.array([2020 if i in set(ctc) else None for i in range(n_areas)], dtype="Int64")
    areas = pd.DataFrame({"area": ids, "name": ids, "ctc_start": starts, "comparison_group": ""})
    return pupils, areas


def aggregate_pupils(pupils: pd.DataFrame) -> pd.DataFrame:
    """Area x wave x grade x sex cells: pupils and pupils flagged (one pass over the rows)."""
    cells = pupils.groupby(["area", "wave", "grade", "sex"], observed=True)["flag"].agg(
        ["size", "sum"]
    )
    cells = cells.reset_index().rename(columns={"size": "n", "sum": "n_flagged"})
    return cells.assign(area=cells["area"].astype(str), grade=cells["grade"].astype(str),
                        sex=cells["sex"].astype(str))  # fmt: skip


def bench_large(n: int, n_areas: int, permutations: int, seed: int) -> dict:
    from ctc_helpers.phases.effects.design import build_design
    from ctc_helpers.phases.effects.did import fit_panel, prepare_cells
    from ctc_helpers.phases.effects.evaluate import Settings, evaluate_measure

    pupils, areas = make_pupils(n, n_areas, seed)
    cells, aggregation = _timed(aggregate_pupils, pupils)
    design = build_design(areas, waves=WAVES)
    settings = Settings(n_permutations=permutations, n_bootstrap=999, seed=seed)

    def evaluate():
        return evaluate_measure(prepare_cells(cells), design, worse="increase", settings=settings)

    (row, events), evaluation = _timed(evaluate)
    panel = fit_panel(prepare_cells(cells), design)
    floor_fit = min(_timed(_one_fit, panel, design)[1] for _ in range(3))
    floor_groupby = min(_timed(aggregate_pupils, pupils)[1] for _ in range(2))
    return {
        "aggregation": aggregation,
        "evaluation": evaluation,
        "cells": len(cells),
        "ctc_areas": len(design.ctc_areas),
        "estimate": row["estimate"],
        "interval": (row["ci_low"], row["ci_high"]),
        "p_value": row["p_value"],
        "pretrend_p": row["pretrend_p"],
        "events": len(events),
        "floor_fit": floor_fit,
        "floor_groupby": floor_groupby,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=1_000_000)
    parser.add_argument("--areas", type=int, default=50)
    parser.add_argument("--permutations", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20260415)
    args = parser.parse_args()

    demo = bench_demo()
    print(
        f"demo city: {demo['measures']} measures, evaluations {', '.join(demo['evaluations'])}:"
        f" {demo['seconds']:.2f} s ({1000 * demo['seconds'] / demo['measures']:.0f} ms per"
        f" measure); floor, one WLS fit of one measure: {1000 * demo['floor']:.1f} ms"
    )
    large = bench_large(args.pupils, args.areas, args.permutations, args.seed)
    total = large["aggregation"] + large["evaluation"]
    low, high = large["interval"]
    print(
        f"{args.pupils:,} pupils, {args.areas} areas x {len(WAVES)} waves"
        f" ({large['cells']:,} cells, {large['ctc_areas']} CTC areas), {args.permutations:,}"
        f" permutations: {total:.2f} s = aggregation {large['aggregation']:.2f} s + evaluation"
        f" {large['evaluation']:.2f} s"
    )
    print(
        f"  floors in the same run: group-by of the rows {large['floor_groupby']:.2f} s, one WLS"
        f" fit on the cells {1000 * large['floor_fit']:.1f} ms"
    )
    print(
        f"  estimate {100 * large['estimate']:+.2f} points"
        " (planted -3.00 in this one simulated city),"
        f" 95 % interval {100 * low:+.2f} to {100 * high:+.2f}, p = {large['p_value']:.4f},"
        f" pre-trend p = {large['pretrend_p']:.3f}, {large['events']} event-study rows"
    )
    verdict = "met" if total <= GOAL_SECONDS else "NOT met"
    print(f"  goal <= {GOAL_SECONDS:.0f} s: {verdict}")


if __name__ == "__main__":
    main()
