"""Benchmark: the joint protection and interval audit of the demo city, every wave.

For each wave of the demo city (``reports/run.yaml``: min_cell 10, min_count 5) it prints

- the time of a plain read of the wave's three private tables (the floor of any protection);
- the time of ``privacy.gate.protect_wave`` (suppression with the audit in its loop, then the
  full audit of the published tables as a reader sees them), and of that final audit alone;
- the share of the area x grade x sex (girls, boys) risk- and protective-factor cells whose
  value is hidden, next to two floors measured on the same cells: hiding only the small groups
  (``0 < n < min_cell``) and hiding only what the primary rules hide (small groups and
  numerators ``1 .. min_count - 1``);
- the share of all published counts hidden (every count of the three tables).

The private tables come from the run's cache, built first by ``prepare_waves`` when missing
(the published folders are written to a temporary folder, never to ``reports/``). The goal of
issue 14: at most 30 s of audit for all waves, at most 25 % of the factor cells of 2025 hidden.

Usage: ``python benchmarks/privacy.py [--run reports/run.yaml] [--waves 2021 2023 2025]
[--cache DIR]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ctc_helpers.config.instrument import load_instrument
from ctc_helpers.config.run import load_run_config
from ctc_helpers.privacy.gate import audit_published, protect_wave
from ctc_helpers.privacy.tables import wave_input
from ctc_helpers.publish import build
from ctc_helpers.vocab import CITY, FACTOR_KINDS, PUBLISHED_SEXES, TOTAL

REPO = Path(__file__).resolve().parents[1]
TABLES = ("aggregates", "participation", "screening_log")
COUNTS = {
    "aggregates": ("n", "n_flagged"),
    "participation": ("n", "n_valid"),
    "screening_log": ("n_respondents", "n_flagged"),
}


def _factor_cells(aggregates: pd.DataFrame) -> pd.DataFrame:
    return aggregates[
        (aggregates["area"] != CITY)
        & (aggregates["grade"] != TOTAL)
        & aggregates["sex"].isin(PUBLISHED_SEXES)
        & aggregates["measure_kind"].isin(FACTOR_KINDS)
    ]


def _shares(private: pd.DataFrame, published: pd.DataFrame, *, min_n: int, min_count: int):
    """Hidden share of the factor cells: published, small groups only, primary rules only."""
    keys = ["area", "grade", "sex", "measure"]
    cells = _factor_cells(private).merge(
        _factor_cells(published)[[*keys, "n_flagged"]], on=keys, suffixes=("", "_published")
    )
    small = cells["n"].between(1, min_n - 1)
    primary = small | cells["n_flagged"].between(1, min_count - 1)
    return {
        "cells": len(cells),
        "hidden": cells["n_flagged_published"].isna().mean(),
        "small_groups": small.mean(),
        "primary": primary.mean(),
    }


def _overall(tables: dict) -> float:
    shown = hidden = 0
    for name, columns in COUNTS.items():
        values = tables[name][list(columns)]
        hidden += int(values.isna().sum().sum())
        shown += int(values.notna().sum().sum())
    return hidden / (shown + hidden)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=REPO / "reports" / "run.yaml")
    parser.add_argument("--waves", type=int, nargs="*", default=[2021, 2023, 2025])
    parser.add_argument("--cache", type=Path, help="private cache folder (default: the run's)")
    args = parser.parse_args()
    config = load_run_config(args.run)
    if args.cache:
        config = replace(config, cache_dir=args.cache)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        prepared = build.prepare_waves(
            replace(config, output_dir=Path(tmp)), waves=[min(args.waves)]
        )
        print(f"cache ready ({time.perf_counter() - started:.1f} s, built or reused)")
    cache = Path(prepared.private["cache"])
    excluding = frozenset(r.id for r in load_instrument(config.instrument_file).validity
                          if r.exclude)  # fmt: skip
    limits = {"min_n": config.min_cell, "min_count": config.min_count}
    print(f"demo city, min_cell {config.min_cell}, min_count {config.min_count}\n")
    header = (f"{'wave':>5} {'read s':>7} {'protect s':>10} {'audit s':>8} {'factor cells':>13}"
              f" {'hidden':>7} {'small':>6} {'primary':>8} {'all counts':>11}")  # fmt: skip
    print(header)
    total = {"read": 0.0, "protect": 0.0, "audit": 0.0}
    for wave in args.waves:
        start = time.perf_counter()
        private = {
            name: pd.read_parquet(cache / f"{name}.parquet", filters=[("wave", "==", wave)])
            for name in TABLES
        }
        read = time.perf_counter() - start
        data = wave_input(*private.values(), wave=wave, excluding=excluding)
        start = time.perf_counter()
        protected = protect_wave(data, **limits)
        protect = time.perf_counter() - start
        start = time.perf_counter()
        report = audit_published(data, protected.tables, **limits)
        audit = time.perf_counter() - start
        if not report.ok:
            raise SystemExit(f"wave {wave}: the audit found {len(report.findings)} cells")
        shares = _shares(data.aggregates, protected.tables["aggregates"],
                         min_n=config.min_cell, min_count=config.min_count)  # fmt: skip
        total = {"read": total["read"] + read, "protect": total["protect"] + protect,
                 "audit": total["audit"] + audit}  # fmt: skip
        print(f"{wave:>5} {read:>7.2f} {protect:>10.1f} {audit:>8.1f} {shares['cells']:>13}"
              f" {shares['hidden']:>7.1%} {shares['small_groups']:>6.1%}"
              f" {shares['primary']:>8.1%} {_overall(protected.tables):>11.1%}")  # fmt: skip
    print(f"{'all':>5} {total['read']:>7.2f} {total['protect']:>10.1f} {total['audit']:>8.1f}")
    print("\nhidden: factor cells (area x grade x girls/boys) whose value is hidden; small:")
    print("only small groups hidden; primary: small groups and small numerators hidden;")
    print("all counts: every count of the three published tables. protect s includes the")
    print("final audit; audit s is that audit run again on its own (goal: <= 30 s, all waves).")


if __name__ == "__main__":
    main()
