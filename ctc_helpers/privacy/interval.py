"""Interval audit: what a reader can work out about each hidden count from everything published.

The reader (the attacker of ``docs/PRIVACY.md``) knows every shown cell, every relation of the
:class:`~ctc_helpers.privacy.system.CellSystem` and that counts are never negative. For a hidden
cell the values consistent with that knowledge form an interval ``[low, high]`` (the minimum and
maximum of two linear programmes). A published table is safe when

- no hidden count is exact (``low == high``), and
- no hidden small group (``0 < n < threshold``) that a reader knows not to be empty (a zero in
  its place would have been shown) has ``high < threshold``: the reader cannot tell it from a
  group that could have been shown;
- no other small group (hidden with its whole row, where a zero would be hidden too, or never
  published, such as the pupils without a stated sex in one grade) is bounded inside
  ``1 .. threshold - 1``.

Size
----
The audit runs per :class:`Block` (a set of cells whose relations are checked together). Within a
block, cells fixed by a relation whose other members are known are found first (no programme
needed); the remaining unknowns split into independent components. Each component is *certified*
rather than solved cell by cell: a reader's interval contains every feasible point, so a feasible
point with a larger (or different) value proves the cell safe. Points come from moving along the
projection of the cell's unit vector onto the null space of the component's equalities (a line
search, no programme), then from a few programmes that push all uncertified cells at once, and
only the cells still unproven get their own programmes, whose optimum is the exact bound. A
problem is therefore reported only with the exact interval behind it. ``exact=True`` skips the
shortcuts and returns both bounds of every target.

The programmes are solved by scipy's HiGHS (``scipy.optimize.linprog(method="highs")``). The
bounds are those of the linear relaxation; they are rounded to whole numbers inward (a reader who
also uses integrality could narrow an interval by less than one, never past the rounded bound).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from ctc_helpers.privacy.system import HIDDEN, SHOWN, CellSystem

__all__ = [
    "FINDING_COLUMNS",
    "AuditReport",
    "Block",
    "Part",
    "audit_blocks",
    "block_part",
    "certify",
    "feasible_point",
    "judge",
    "optimum",
    "run_programme",
]

TOL = 1e-6
RAY_MAX_VARS = 800  # dense null space only for components up to this size
FINDING_COLUMNS = ("cell", "block", "label", "problem", "value", "low", "high", "threshold")


@dataclass(frozen=True)
class Block:
    """Cells audited together: relations wholly inside ``cells`` are used, others dropped.

    ``targets`` are the cells whose safety is checked (default: every hidden or small unknown
    cell of the block). ``lower`` gives per cell of ``cells`` a lower bound (default 0) and
    ``frozen`` cells keep their true value. A block is a *restriction* of what a reader knows
    when its relations are all the reader's relations among its cells and the bounds and frozen
    cells only remove points: then every point the audit reaches is one the reader cannot rule
    out, and a cell proven safe is safe (:mod:`ctc_helpers.privacy.joint` builds such blocks).
    """

    name: str
    cells: np.ndarray
    targets: np.ndarray | None = None
    lower: np.ndarray | None = None
    frozen: np.ndarray | None = None  # cells held at their true value (treated as known)


@dataclass
class AuditReport:
    """Findings (one row per unsafe cell) and what the audit did."""

    findings: pd.DataFrame
    intervals: pd.DataFrame | None
    stats: dict = field(default_factory=dict)
    binding: dict = field(default_factory=dict)  # cell -> relations binding its bound

    @property
    def ok(self) -> bool:
        return self.findings.empty


@dataclass(frozen=True)
class Part:
    """Unknown cells and their relations in deviation form (``y = x - x_true``):
    ``a @ y == 0``, ``g @ y <= slack``, ``y >= low``."""

    cells: np.ndarray
    a: sparse.csr_matrix
    g: sparse.csr_matrix
    slack: np.ndarray
    low: np.ndarray
    a_rows: np.ndarray | None = None  # the system's relation of each row of ``a``
    g_rows: np.ndarray | None = None  # the system's inequality of each row of ``g``


@dataclass
class _Component:
    """One independent set of unknowns of a part (same form; ``targets``: positions)."""

    cells: np.ndarray  # positions in the part
    a: sparse.csr_matrix
    g: sparse.csr_matrix
    slack: np.ndarray
    low: np.ndarray
    targets: np.ndarray


def block_part(
    system: CellSystem, status: np.ndarray, block: Block, *, strict: np.ndarray | None = None
) -> Part:
    """The unknown cells of a block and the relations wholly inside it (deviation form).

    ``strict`` cells (hidden cells a reader knows not to be zero) get the lower bound 1: a
    reader uses that knowledge in every relation they are in (two hidden cells known to be at
    least 1 that add up to a shown 5 are each 1 .. 4)."""
    inside = np.zeros(system.size, dtype=bool)
    inside[block.cells] = True
    lower = np.zeros(system.size)
    if block.lower is not None:
        lower[block.cells] = block.lower
    if strict is not None:
        known = strict & (status == HIDDEN) & (system.values >= 1)
        lower[known] = np.maximum(lower[known], 1.0)
    unknown = inside & (status != SHOWN)
    if block.frozen is not None:
        unknown[block.frozen] = False
    cells = np.flatnonzero(unknown)
    a_ids = rows_inside(system.eq, inside)
    g_ids = rows_inside(system.le, inside)
    a = system.eq[a_ids][:, cells]
    g_full = system.le[g_ids]
    slack = -(g_full @ system.values)
    g = g_full[:, cells]
    keep = np.diff(a.indptr) > 0
    keep_g = np.diff(g.indptr) > 0
    return Part(
        cells=cells,
        a=a[keep],
        g=g[keep_g],
        slack=np.maximum(slack[keep_g], 0.0),
        low=lower[cells] - system.values[cells],
        a_rows=a_ids[keep],
        g_rows=g_ids[keep_g],
    )


def rows_inside(matrix: sparse.csr_matrix, inside: np.ndarray) -> np.ndarray:
    """The ids of the rows of ``matrix`` whose cells all lie ``inside``."""
    outside = (abs(matrix) @ (~inside).astype(float)) > 0
    return np.flatnonzero(~outside)


def audit_blocks(
    system: CellSystem,
    status: np.ndarray,
    blocks: Sequence[Block],
    *,
    strict: np.ndarray | None = None,
    exact: bool = False,
) -> AuditReport:
    """Audit every block; see the module docstring.

    ``strict`` marks the hidden cells a reader knows not to be zero (a zero there would have been
    shown); a small one must be able to reach its threshold. Other small cells (hidden with their
    whole row, or unpublished) only must not be bounded inside ``1 .. threshold - 1``. Default:
    every hidden cell is strict.

    Returns
    -------
    AuditReport
        ``findings``: columns ``FINDING_COLUMNS`` (``problem`` is ``exact`` or ``small_bounded``;
        ``low``/``high`` the reader's interval). ``intervals`` (only with ``exact=True``): one row
        per target with ``cell, block, label, value, low, high``. ``stats``: counts and seconds.
    """
    start = time.perf_counter()
    stats = new_stats()
    stats["blocks"] = len(blocks)
    strict = (status == HIDDEN) if strict is None else (strict & (status == HIDDEN))
    frames = []
    for block in blocks:
        part = block_part(system, status, block, strict=strict)
        targets = _targets(system, status, block)
        frame = certify(system, status, strict, part, targets, exact=exact, stats=stats)
        frames.append(frame.assign(block=block.name))
    stats["seconds"] = time.perf_counter() - start
    every = pd.concat(frames, ignore_index=True) if frames else _empty()
    unsolved = every["problem"].notna() & ~every["solved"]
    if unsolved.any():
        cell = int(every.loc[unsolved, "cell"].iloc[0])
        raise RuntimeError(f"Internal error: {system.label(cell)} judged without its bound.")
    return report_of(system, every, exact=exact, stats=stats)


def new_stats() -> dict:
    return {"blocks": 0, "components": 0, "targets": 0, "programmes": 0, "fixed": 0}


def report_of(system: CellSystem, every: pd.DataFrame, *, exact: bool, stats: dict):
    """An AuditReport from certified targets (columns of :func:`certify` plus ``block``)."""
    bad = every[every["problem"].notna()]
    findings = pd.DataFrame(
        {
            "cell": bad["cell"].astype(int),
            "block": bad["block"],
            "label": [system.label(c) for c in bad["cell"]],
            "problem": bad["problem"],
            "value": bad["value"],
            "low": bad["low"],
            "high": bad["high"],
            "threshold": bad["threshold"],
        },
        columns=list(FINDING_COLUMNS),
    ).reset_index(drop=True)
    intervals = None
    if exact:
        intervals = every[["cell", "block", "value", "low", "high"]].reset_index(drop=True)
        intervals.insert(2, "label", [system.label(c) for c in intervals["cell"]])
    return AuditReport(findings, intervals, stats)


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        columns=["cell", "value", "threshold", "low", "high", "solved", "problem", "block"]
    )


def _targets(system: CellSystem, status: np.ndarray, block: Block) -> np.ndarray:
    cells = block.cells if block.targets is None else block.targets
    hidden = status[cells] == HIDDEN
    small_unknown = (status[cells] != SHOWN) & system.small()[cells]
    return np.asarray(cells)[hidden | small_unknown]


def judge(value, low, high, threshold, *, hidden: bool, strict: bool) -> str | None:
    """The problem of one target, or None: a hidden count other than zero must not be exact; a
    small group must be able to reach ``threshold`` when it is ``strict`` (a reader knows it is
    not zero), and otherwise must not be bounded inside ``1 .. threshold - 1``.

    A hidden zero that a reader works out tells that nobody in the group has the attribute; a
    published zero for the group or a larger one often tells the same, and hiding more cells
    cannot always prevent it (``docs/PRIVACY.md``: what is not protected)."""
    if hidden and value > 0 and high - low < 1:
        return "exact"
    if 0 < value < threshold and high < threshold and (strict or low >= 1):
        return "small_bounded"
    return None


def certify(
    system: CellSystem,
    status: np.ndarray,
    strict: np.ndarray,
    part: Part,
    targets: np.ndarray,
    *,
    exact: bool = False,
    exhaustive: np.ndarray | None = None,
    stats: dict,
) -> pd.DataFrame:
    """The interval reached for each target of a part (cells of ``targets`` that are unknown).

    ``exhaustive``: cells that get their own programmes when cheaper points do not prove them
    safe (default: every target); the others keep the points reached.

    Returns columns ``cell, value, threshold, low, high`` (whole numbers, rounded inward),
    ``solved`` (the bounds are the part's optimum, not only reached points) and ``problem``
    (:func:`judge`; None when safe).
    """
    cells = part.cells
    targets = np.intersect1d(targets, cells)
    stats["targets"] += len(targets)
    values = system.values[cells]
    low_seen, high_seen = values.copy(), values.copy()
    free = _presolve(part.a, len(cells))
    solved = ~free  # fixed by a chain of relations: the bounds are the value
    stats["fixed"] += int((~free[np.searchsorted(cells, targets)]).sum())
    want = np.zeros(len(cells), dtype=bool)
    want[np.searchsorted(cells, targets)] = True
    own = np.ones(system.size, dtype=bool)
    if exhaustive is not None:
        own[:] = False
        own[exhaustive] = True
    for comp in _components(part, free, want):
        stats["components"] += 1
        ids = cells[comp.cells]
        lo, hi, bounds = _certify(comp, ids, system, status, strict, own, exact=exact, stats=stats)
        low_seen[comp.cells] = values[comp.cells] + lo
        high_seen[comp.cells] = values[comp.cells] + hi
        solved[comp.cells] = bounds
    at = np.searchsorted(cells, targets)
    low = np.ceil(low_seen[at] - TOL)
    high = np.floor(high_seen[at] + TOL)
    value, threshold = system.values[targets], system.threshold[targets]
    problems = [
        judge(v, lo, hi, t, hidden=status[c] == HIDDEN, strict=bool(strict[c]))
        for c, v, lo, hi, t in zip(targets, value, low, high, threshold, strict=True)
    ]
    return pd.DataFrame(
        {
            "cell": targets.astype(int),
            "value": value,
            "threshold": threshold,
            "low": low,
            "high": high,
            "solved": solved[at],
            "problem": pd.Series(problems, dtype=object),
        }
    )


def _presolve(a: sparse.csr_matrix, n: int) -> np.ndarray:
    """Unknowns not fixed by chains of relations with a single unknown (True = still free)."""
    free = np.ones(n, dtype=bool)
    while True:
        active = a[:, free] if free.any() else None
        if active is None:
            return free
        counts = np.diff(active.indptr)
        singles = np.flatnonzero(counts == 1)
        if not len(singles):
            return free
        columns = active[singles].indices
        free[np.flatnonzero(free)[np.unique(columns)]] = False


def _components(part: Part, free: np.ndarray, want: np.ndarray):
    """Independent components of the free unknowns that hold a wanted cell."""
    index = np.flatnonzero(free)
    if not len(index):
        return
    a_free, g_free = part.a[:, index].tocsc(), part.g[:, index].tocsc()
    incidence = sparse.vstack([abs(a_free), abs(g_free)]).tocsr()
    incidence = incidence[np.diff(incidence.indptr) > 1]
    graph = (incidence.T @ incidence).tocsr() if incidence.shape[0] else sparse.eye(len(index))
    count, labels = connected_components(graph, directed=False)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(count + 1))
    for k in range(count):
        members = order[bounds[k] : bounds[k + 1]]
        cells = index[members]
        if not want[cells].any():
            continue
        ak = a_free[:, members].tocsr()
        gk = g_free[:, members].tocsr()
        rows_a = np.diff(ak.indptr) > 0
        rows_g = np.diff(gk.indptr) > 0
        yield _Component(
            cells=cells,
            a=ak[rows_a],
            g=gk[rows_g],
            slack=part.slack[rows_g],
            low=part.low[cells],
            targets=np.flatnonzero(want[cells]),
        )


def optimum(part: Part, position: int, sign: int, stats: dict) -> tuple[float, np.ndarray | None]:
    """The largest (``sign`` +1) or smallest (-1) deviation of one unknown of a part and the
    point reaching it (None when unbounded)."""
    comp = _Component(part.cells, part.a, part.g, part.slack, part.low, np.zeros(0, dtype=int))
    c = np.zeros(len(part.cells))
    c[position] = -float(sign)
    result = _linprog(comp, c, stats)
    if result.status == 3:
        return np.inf * sign, None
    return float(result.x[position]), result.x


def feasible_point(part: Part, c: np.ndarray, stats: dict) -> np.ndarray | None:
    """A point of the part minimising ``c @ y``; None if the part is infeasible."""
    comp = _Component(part.cells, part.a, part.g, part.slack, part.low, np.zeros(0, dtype=int))
    result = _linprog(comp, c, stats, allow_infeasible=True)
    if result.status == 2:
        return None
    if result.status == 3:
        return np.zeros(len(part.cells))
    return result.x


# --------------------------------------------------------------------------------------------
# Certification of one component
# --------------------------------------------------------------------------------------------


def _certify(comp: _Component, ids, system, status, strict, own, *, exact: bool, stats: dict):
    """Deviations ``(low, high)`` reached per unknown of the component (``ids``: their cell ids)
    and a flag per unknown telling whether they are exact bounds or only reached points."""
    n = len(comp.cells)
    lo = np.zeros(n)
    hi = np.zeros(n)
    exact_bounds = np.zeros(n, dtype=bool)
    targets = comp.targets
    cell = ids[targets]
    hidden = status[cell] == HIDDEN
    firm = strict[cell]  # must reach the threshold; the others may reach 0 instead
    small = system.small()[cell]
    value, threshold = system.values[cell], system.threshold[cell]
    if exact:
        for t in targets:
            hi[t] = _optimum(comp, t, +1, stats)
            lo[t] = _optimum(comp, t, -1, stats)
            exact_bounds[t] = True
        return lo, hi, exact_bounds

    def pending() -> tuple[np.ndarray, np.ndarray]:
        moved = (hi[targets] >= 1 - TOL) | (lo[targets] <= -1 + TOL)  # another whole number
        low_reach = small & (value + hi[targets] < threshold - TOL)
        low_reach &= firm | (value + lo[targets] > TOL)  # 0 is enough for the others
        open_ = ~exact_bounds[targets]
        return targets[hidden & ~moved & open_], targets[low_reach & open_]

    if n <= RAY_MAX_VARS:
        ray_lo, ray_hi = _rays(comp)
        lo = np.minimum(lo, ray_lo)
        hi = np.maximum(hi, ray_hi)
    for sign in (+1, -1, +1, -1):
        move, low_reach = pending()
        down = low_reach[~firm[np.searchsorted(targets, low_reach)]]
        chosen = np.union1d(move, low_reach) if sign > 0 else np.union1d(move, down)
        if not len(chosen):
            continue
        point = _solve(comp, chosen, sign, stats)
        if point is not None:
            lo = np.minimum(lo, point)
            hi = np.maximum(hi, point)
    move, low_reach = pending()
    for t in np.union1d(move, low_reach):
        if not own[ids[t]]:
            continue
        hi[t] = max(hi[t], _optimum(comp, t, +1, stats))
        lo[t] = min(lo[t], _optimum(comp, t, -1, stats))
        exact_bounds[t] = True
    return lo, hi, exact_bounds


def _rays(comp: _Component) -> tuple[np.ndarray, np.ndarray]:
    """For each target, the reach along the projection of its unit vector on the null space."""
    n = len(comp.cells)
    lo, hi = np.zeros(n), np.zeros(n)
    dense = comp.a.toarray()
    if dense.shape[0]:
        _, s, vt = np.linalg.svd(dense, full_matrices=True)
        rank = int((s > 1e-9 * max(s[0], 1.0)).sum())
        basis = vt[rank:].T
    else:
        basis = np.eye(n)
    if not basis.shape[1]:
        return lo, hi
    directions = basis @ basis[comp.targets].T  # n x targets
    reach = (basis[comp.targets] ** 2).sum(axis=1)  # each target's own entry of its direction
    usable = reach > 1e-9
    gd = comp.g @ directions if comp.g.shape[0] else np.zeros((0, directions.shape[1]))
    up = _step(directions, gd, comp)
    down = _step(-directions, -gd, comp)
    hi[comp.targets] = np.where(usable, up * reach, 0.0)
    lo[comp.targets] = np.where(usable, -down * reach, 0.0)
    return lo, hi


def _step(directions, gd, comp: _Component) -> np.ndarray:
    """Largest step along each direction column that keeps the bounds and inequalities."""
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = np.where(directions < -1e-12, comp.low[:, None] / directions, np.inf)
        rows = np.where(gd > 1e-12, comp.slack[:, None] / gd, np.inf)
    steps = np.minimum(bound.min(axis=0, initial=np.inf), rows.min(axis=0, initial=np.inf))
    return np.where(np.isfinite(steps), np.maximum(steps, 0.0), 1e9)


def _solve(comp: _Component, chosen: np.ndarray, sign: int, stats: dict):
    """A feasible point (deviations) maximising ``sign * sum(y[chosen])``; None when unbounded."""
    c = np.zeros(len(comp.cells))
    c[chosen] = -float(sign)
    result = _linprog(comp, c, stats)
    if result.status == 3:  # unbounded: push each cell on its own
        return None
    return result.x


def _optimum(comp: _Component, position: int, sign: int, stats: dict) -> float:
    """The exact maximum (sign +1) or minimum (-1) deviation of one unknown."""
    c = np.zeros(len(comp.cells))
    c[position] = -float(sign)
    result = _linprog(comp, c, stats)
    if result.status == 3:
        return np.inf * sign
    return float(result.x[position])


def run_programme(problem, c: np.ndarray, stats: dict):
    """Minimise ``c @ x`` over the deviations of ``problem`` (a component or a part: ``a x = 0``,
    ``g x <= slack``, ``x >= low``) with HiGHS; counts the programme in ``stats``."""
    stats["programmes"] += 1
    return linprog(
        c,
        A_ub=problem.g if problem.g.shape[0] else None,
        b_ub=problem.slack if problem.g.shape[0] else None,
        A_eq=problem.a if problem.a.shape[0] else None,
        b_eq=np.zeros(problem.a.shape[0]) if problem.a.shape[0] else None,
        bounds=np.column_stack([problem.low, np.full(len(problem.low), np.inf)]),
        method="highs",
    )


def _linprog(comp: _Component, c: np.ndarray, stats: dict, *, allow_infeasible=False):
    result = run_programme(comp, c, stats)
    if result.status == 2 and allow_infeasible:
        return result
    if result.status not in (0, 3):
        raise RuntimeError(f"The interval audit's programme failed: {result.message}")
    return result
