"""An interval attack on a published folder of the demo city, written for the tests.

The relations between the counts are those of :mod:`ctc_helpers.privacy.wave` (its cell system
is the one thing taken from the package: writing every relation of every table again would
double this file). Everything else is the test's own: which cell each published value shows
(read from the published files, row by row), what a reader knows (the shown values, the
structural zeros of schools outside an area, which hidden values cannot be zero), the linear
programmes and the verdicts.

The programmes: all cells of a wave are unknowns ``>= 0``; shown cells are fixed at their
published values. A point the solver returns is one the reader cannot rule out, so it widens
each cell's reached interval; a few programmes with random weights push every unsettled cell
at once, then each cell still unsettled gets its own two programmes (the reader's exact bounds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from ctc_helpers.privacy.wave import WaveSystem

GROUP, COUNT = 10, 5  # the run file's min_cell and min_count
SEX_CODE = {"F": "F", "M": "M"}


@dataclass
class Seen:
    """What the published files show of one wave's cells."""

    value: np.ndarray  # published value (NaN: not shown)
    hidden: np.ndarray  # bool: some table has the cell's row with the value blank
    nonzero: np.ndarray  # bool: a reader knows the hidden value is not zero
    threshold: np.ndarray  # smallest value the cell may show (0: not a group)
    fixed_zero: np.ndarray  # bool: a school outside an area (no row): zero


def read_wave(wave: WaveSystem, folder: Path, year: int) -> Seen:
    size = wave.system.size
    seen = Seen(
        value=np.full(size, np.nan),
        hidden=np.zeros(size, dtype=bool),
        nonzero=np.zeros(size, dtype=bool),
        threshold=np.zeros(size),
        fixed_zero=np.zeros(size, dtype=bool),
    )
    cubes = wave.cubes

    def note(cell: int, value, threshold: int, nonzero: bool = False) -> None:
        seen.threshold[cell] = threshold
        if pd.isna(value):
            seen.hidden[cell] = True
            seen.nonzero[cell] |= nonzero
        else:
            if not np.isnan(seen.value[cell]) and seen.value[cell] != value:
                raise ValueError(f"Two tables show {wave.system.label(cell)} differently.")
            seen.value[cell] = float(value)

    def rows(name: str) -> pd.DataFrame:
        table = pd.read_parquet(folder / f"{name}.parquet")
        return table[table["wave"].astype(int) == year]

    for r in rows("aggregates").itertuples():
        sex = SEX_CODE.get(r.sex, "FM")
        n = cubes[f"n:{r.measure}"].id(area=r.area, grade=r.grade, sex=sex)
        f = cubes[f"f:{r.measure}"].id(area=r.area, grade=r.grade, sex=sex)
        note(n, r.n, GROUP)
        note(f, r.n_flagged, COUNT, nonzero=not pd.isna(r.n))
    schools = set()
    for r in rows("participation").itertuples():
        if r.school != "all":
            schools.add((r.area, r.school))
            note(cubes["QS"].id(area=r.area, school=r.school), r.n, GROUP)
            if "ES" in cubes:
                note(cubes["ES"].id(area=r.area, school=r.school), r.enrolled, 0)
            continue
        sex = SEX_CODE.get(r.sex, "AP" if r.all_pupils else "FM")
        note(cubes["V"].id(area=r.area, grade=r.grade, sex=sex), r.n_valid, GROUP)
        if r.all_pupils:
            note(cubes["Q"].id(area=r.area, grade=r.grade), r.n, GROUP)
        if r.sex == "all" and "E" in cubes:
            note(cubes["E"].id(area=r.area, grade=r.grade), r.enrolled, 0)
    for r in rows("screening_log").itertuples():
        rule = cubes["X"] if r.rule == "any_excluded" else cubes[f"R:{r.rule}"]
        note(cubes["Q"].id(area=r.area, grade=r.grade), r.n_respondents, GROUP)
        note(rule.id(area=r.area, grade=r.grade), r.n_flagged, COUNT,
             nonzero=not pd.isna(r.n_respondents))  # fmt: skip
    for name in ("QS", "ES"):
        if name in cubes:
            cube = cubes[name]
            for area in wave.areas:
                for school in wave.schools:
                    if (area, school) not in schools:
                        seen.fixed_zero[cube.id(area=area, school=school)] = True
    seen.hidden &= np.isnan(seen.value)
    return seen


@dataclass(frozen=True)
class Finding:
    cell: str
    value: float
    low: float
    high: float
    problem: str


def attack_wave(wave: WaveSystem, seen: Seen, *, unstated: np.ndarray, seed: int = 0):
    """Findings (exact hidden counts, small groups bounded inside 1 .. threshold - 1) and the
    number of programmes solved. ``unstated``: never-published group cells that must not be
    bounded inside 1 .. GROUP - 1 (pupils without a stated sex in one area and grade)."""
    system = wave.system
    truth = system.values
    shown = ~np.isnan(seen.value)
    if np.any(np.abs(seen.value[shown] - truth[shown]) > 1e-6):
        raise ValueError("The published values are not this wave's counts.")
    lower = np.where(shown, seen.value, 0.0)
    upper = np.where(shown, seen.value, np.inf)
    upper[seen.fixed_zero] = 0.0
    lower[seen.nonzero & seen.hidden & (truth > 0)] = 1.0  # its zero would have been shown
    bounds = np.column_stack([lower, upper])
    threshold = seen.threshold.copy()
    threshold[unstated] = GROUP
    targets = np.union1d(np.flatnonzero(seen.hidden), unstated)
    low, high = truth.copy(), truth.copy()
    programmes = 0

    def solve(c: np.ndarray):
        nonlocal programmes
        programmes += 1
        result = linprog(c, A_ub=system.le, b_ub=np.zeros(system.le.shape[0]), A_eq=system.eq,
                         b_eq=np.zeros(system.eq.shape[0]), bounds=bounds, method="highs")  # fmt: skip
        if result.status == 3:
            return None
        if result.status != 0:
            raise RuntimeError(f"The attacker's programme failed: {result.message}")
        return result.x

    def unsettled(cells: np.ndarray) -> np.ndarray:
        return cells[[_problem(c, low, high, truth, threshold, seen, unstated) is not None
                      for c in cells]]  # fmt: skip

    rng = np.random.default_rng(seed)
    pending = unsettled(targets)
    for _ in range(4):
        for sign in (1.0, -1.0):
            if not len(pending):
                break
            c = np.zeros(system.size)
            c[pending] = -sign * rng.uniform(0.5, 1.5, len(pending))
            x = solve(c)
            if x is None:  # unbounded: some cells grow without limit
                continue
            low, high = np.minimum(low, x), np.maximum(high, x)
            pending = unsettled(pending)
    for cell in pending:
        for sign in (1.0, -1.0):
            c = np.zeros(system.size)
            c[cell] = -sign
            x = solve(c)
            if x is None:
                high[cell] = np.inf
                continue
            low[cell], high[cell] = min(low[cell], x[cell]), max(high[cell], x[cell])
    findings = []
    for cell in pending:
        problem = _problem(cell, low, high, truth, threshold, seen, unstated)
        if problem:
            findings.append(Finding(system.label(cell), truth[cell], low[cell], high[cell],
                                    problem))  # fmt: skip
    return findings, programmes


def _problem(cell, low, high, truth, threshold, seen, unstated) -> str | None:
    lo = math.ceil(low[cell] - 1e-6)
    hi = math.floor(high[cell] + 1e-6) if np.isfinite(high[cell]) else math.inf
    if seen.nonzero[cell]:
        lo = max(lo, 1)
    value = truth[cell]
    if seen.hidden[cell] and value != 0 and lo == hi:
        return "exact"
    if 0 < value < threshold[cell] and lo >= 1 and hi <= threshold[cell] - 1:
        return "small"
    return None
