"""Benchmark: screen, score and aggregate 1,000,000 respondents with the default instrument.

Prints the wall time and peak memory of ``prepare_scored`` + ``aggregate`` (area x wave x grade
x sex with Wilson intervals) + ``privacy.suppress_table``, next to a bare NumPy floor measured in
the same run (item means per scale and a group-by of the flags), and whether the targets hold
(<= 4 s, <= 2 GB).

Each measurement runs in its own child process that reads the same Parquet file, so its peak
resident memory (``ru_maxrss``) covers the data and the work and nothing else. The respondents
are random codes with some structure (a latent score per respondent and area, plausible
substance use, a few invalid questionnaires); they are not the demo city.

Usage: ``python benchmarks/score.py [--rows N] [--areas K] [--seed S]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_SECONDS = 4.0
TARGET_BYTES = 2 * 1024**3
WAVES = (2021, 2023, 2025)


# --------------------------------------------------------------------------- data


def _codes(latent: np.ndarray, k: int, skew: float, rng: np.random.Generator) -> np.ndarray:
    """Codes 1..k from a latent score; ``skew`` > 0 piles answers on code 1."""
    value = 0.6 * latent + 0.8 * rng.standard_normal(latent.size) - skew
    cuts = np.linspace(-1.5, 1.5, k - 1)
    return (np.searchsorted(cuts, value) + 1).astype(np.int8)


def _with_missing(
    codes: np.ndarray, rng: np.random.Generator, share: float
) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(codes, rng.random(codes.size) < share)


def make_respondents(n: int, n_areas: int, seed: int) -> pd.DataFrame:
    """Random respondents in the shape of ``docs/ARCHITECTURE.md`` (items as Int8)."""
    from ctc_helpers.config.instrument import load_instrument, load_respondent_schema

    inst, schema = load_instrument(), load_respondent_schema()
    rng = np.random.default_rng(seed)
    areas = [f"area-{i:02d}" for i in range(n_areas)]
    area = rng.integers(0, n_areas, n)
    latent = rng.standard_normal(n) + np.linspace(-0.5, 0.5, n_areas)[area]
    behaviour_items = {i for b in inst.behaviours for i in b.rule["items"]}
    codes = {}
    for item_id in inst.item_ids:
        k = inst.item_max_code(item_id)
        skew = 2.0 if item_id in behaviour_items else 0.0
        codes[item_id] = _codes(latent, k, skew, rng)
    for rule in inst.validity:  # keep most questionnaires valid
        spec = rule.rule
        if spec["kind"] == "pair_greater":
            for thirty_day, lifetime in spec["pairs"]:
                codes[thirty_day] = np.minimum(codes[thirty_day], codes[lifetime])
        elif spec["kind"] == "any_at_least":
            for item_id in spec["items"]:
                codes[item_id] = np.where(rng.random(n) < 0.01, 2, 1).astype(np.int8)
        elif spec["kind"] == "code_in":
            codes[spec["item"]] = np.where(rng.random(n) < 0.01, spec["codes"][0], 1).astype(
                np.int8
            )
    grade = pd.Categorical.from_codes(
        rng.integers(0, len(schema.grade_codes), n), categories=schema.grade_codes, ordered=True
    )
    sex_codes = rng.choice(len(schema.sex_codes) + 1, n, p=[0.48, 0.48, 0.02, 0.02])
    frame = pd.DataFrame(
        {
            "respondent_id": pd.array([f"r{i:07d}" for i in range(n)], dtype="string"),
            "wave": np.asarray(WAVES, dtype=np.int16)[rng.integers(0, len(WAVES), n)],
            "area": pd.Categorical.from_codes(area, categories=areas),
            "school": pd.Categorical.from_codes(area, categories=[f"{a}-skola" for a in areas]),
            "grade": grade,
            "sex": pd.Categorical.from_codes(
                np.where(sex_codes == len(schema.sex_codes), -1, sex_codes),
                categories=schema.sex_codes,
            ),
        }
    )
    items = pd.DataFrame({i: _with_missing(c, rng, 0.03) for i, c in codes.items()})
    return pd.concat([frame, items], axis=1)


# --------------------------------------------------------------------------- children


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> dict:
    wall, cpu = _clock()
    return {"wall": wall - start[0], "cpu": cpu - start[1]}


def _child_pipeline(path: Path, *, suppress: bool) -> dict:
    from ctc_helpers.config.instrument import load_instrument, load_respondent_schema
    from ctc_helpers.privacy import suppress as privacy
    from ctc_helpers.survey.profile import aggregate, prepare_scored

    inst, schema = load_instrument(), load_respondent_schema()
    respondents = pd.read_parquet(path)
    areas = list(respondents["area"].cat.categories)
    loaded = _peak_bytes()
    start = _clock()
    scored, cutpoints = prepare_scored(respondents, inst)
    prepared = _since(start)
    table = aggregate(scored, inst, schema, areas=areas, cutpoints=cutpoints)
    aggregated = _since(start)
    published = privacy.suppress_table(table) if suppress else table
    total = _since(start)
    return {
        "prepare_scored": prepared,
        "aggregate": {k: aggregated[k] - prepared[k] for k in prepared},
        "suppress": {k: total[k] - aggregated[k] for k in prepared},
        "scored_and_aggregated": aggregated,
        "total": total,
        "rows": len(published),
        "suppressed": int(published["suppressed"].sum()),
        "valid_share": float(scored["valid"].mean()),
        "peak": _peak_bytes(),
        "loaded": loaded,
    }


def _child_floor(path: Path) -> dict:
    """Item means per scale and a group-by of the flags in bare NumPy (no checks, no reversal,
    no percentiles, a fixed cut point)."""
    from ctc_helpers.config.instrument import load_instrument

    inst = load_instrument()
    respondents = pd.read_parquet(path)
    loaded = _peak_bytes()
    start = _clock()
    codes = [
        (respondents["wave"].to_numpy(dtype=np.int64) - min(WAVES)) // 2,
        respondents["area"].cat.codes.to_numpy(dtype=np.int64),
        respondents["grade"].cat.codes.to_numpy(dtype=np.int64),
        respondents["sex"].cat.codes.to_numpy(dtype=np.int64) + 1,
    ]
    keys = ((codes[0] * 100 + codes[1]) * 10 + codes[2]) * 10 + codes[3]
    cells = int(keys.max()) + 1
    for factor in inst.factors:
        total = np.zeros(len(keys), dtype=np.int16)
        answered = np.zeros(len(keys), dtype=np.int8)
        for item_id, _ in factor.items:
            codes = respondents[item_id].to_numpy(dtype=np.int8, na_value=0)
            total += codes
            answered += codes > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            flag = total / answered > 2.5
        np.bincount(keys, weights=flag, minlength=cells)
        np.bincount(keys, minlength=cells)
    return {"total": _since(start), "peak": _peak_bytes(), "loaded": loaded}


def _run_child(kind: str, path: Path, *, hugepages: bool = True) -> dict:
    env = {**os.environ, "NUMPY_MADVISE_HUGEPAGE": "1" if hugepages else "0"}
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    if result.returncode:
        sys.exit(f"the {kind} run failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- main


def _gib(size: float) -> str:
    return f"{size / 1024**3:.2f} GiB"


def _time(figures: dict) -> str:
    return f"{figures['wall']:6.2f} s wall ({figures['cpu']:.2f} s CPU)"


def _report(floor: dict, run: dict, plain: dict) -> None:
    print(
        f"numpy floor (scale means + group-by of flags):  {_time(floor['total'])},"
        f" peak {_gib(floor['peak'])} (after loading the data: {_gib(floor['loaded'])})"
    )
    print(f"prepare_scored (screen, score, cut points, behaviours): {_time(run['prepare_scored'])}")
    print(f"aggregate (wave x area x grade x sex, Wilson CIs):      {_time(run['aggregate'])}")
    print(
        f"privacy.suppress_table ({run['rows']:,} rows, {run['suppressed']:,} hidden):"
        f" {_time(run['suppress'])}"
    )
    ratio = run["scored_and_aggregated"]["wall"] / floor["total"]["wall"]
    print(
        f"scored + aggregated: {_time(run['scored_and_aggregated'])} ({ratio:.1f} x the floor);"
        f" with suppression: {_time(run['total'])}"
    )
    print(
        f"peak memory: {_gib(run['peak'])} (after loading the data: {_gib(run['loaded'])});"
        f" valid share {run['valid_share']:.3f}"
    )
    print(
        f"same without numpy's huge-page advice (NUMPY_MADVISE_HUGEPAGE=0), no suppression:"
        f" {_time(plain['scored_and_aggregated'])}, peak {_gib(plain['peak'])}"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end (wall"
        " times above the CPU times mean other processes competed for the CPUs)"
    )
    time_ok = run["total"]["wall"] <= TARGET_SECONDS
    memory_ok = run["peak"] <= TARGET_BYTES
    core_ok = run["scored_and_aggregated"]["wall"] <= TARGET_SECONDS
    print(
        f"targets: time <= {TARGET_SECONDS:g} s {'OK' if time_ok else 'MISSED'}"
        f" (without suppression {'OK' if core_ok else 'MISSED'}),"
        f" memory <= {_gib(TARGET_BYTES)} {'OK' if memory_ok else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--areas", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path = args.child
        children = {
            "floor": _child_floor,
            "pipeline": lambda p: _child_pipeline(p, suppress=True),
            "unsuppressed": lambda p: _child_pipeline(p, suppress=False),
        }
        print(json.dumps(children[kind](Path(path))))
        return
    with tempfile.TemporaryDirectory(prefix="ctc-bench-") as folder:
        path = Path(folder) / "respondents.parquet"
        start = time.perf_counter()
        make_respondents(args.rows, args.areas, args.seed).to_parquet(path)
        print(
            f"data: {args.rows:,} respondents, {args.areas} areas, waves {WAVES}"
            f" (made in {time.perf_counter() - start:.1f} s, not timed)"
        )
        floor = _run_child("floor", path)
        run = _run_child("pipeline", path)
        plain = _run_child("unsuppressed", path, hugepages=False)
    _report(floor, run, plain)


if __name__ == "__main__":
    main()
