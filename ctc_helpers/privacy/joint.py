"""The audit of one wave: every table at once, solved as small independent programmes.

The tables of a wave form one system (:mod:`ctc_helpers.privacy.wave`). Solved whole it is a
single linear programme of about 25,000 unknowns, because every measure's group sizes are
bounded by the same valid questionnaires (``n <= V``). The audit reaches the same verdicts
with small programmes, using one fact: a point reached in a *restriction* of the system (some
cells held at their true values, some bounds raised) is a point a reader cannot rule out, so a
cell that a restriction proves safe is safe.

1. *Group tables* (participation, screening, enrolment, the pupils without a stated sex), with
   the hidden group sizes of girls and boys held at their true values (every measure then keeps
   its true values).
2. *Each measure on its own*, with the group tables at their true values, for its cells in
   groups that are shown.
3. *Anchors*: points where the hidden group sizes of girls and boys move, found by programmes
   over the group tables (first with the screening and the unstated sex held, then in full).
   A point is kept only when every measure can follow it: each measure's ``n`` moves with the
   group sizes and its ``n_flagged`` by a share of that move (a closed-form test: the share
   must keep ``0 <= n_flagged <= n`` in every cell), else a small programme for that measure
   decides; a measure that cannot follow is added to the programme and it is solved again. So
   an anchor is a point of the whole system, and its group sizes are the reader's exact bound.
   Tables that show a measure's value for a hidden group (the suppression never does; a table
   edited by hand may) get no anchors: phases 2 and 5 then hold the hidden group sizes.
4. The cells of hidden groups in each measure are read off the anchors (the measure following
   the anchor with the smallest and the largest share that fits).
5. Any cell still unproven gets the exact joint programmes (group tables, its measure, and every
   measure that a solution showed to be needed), whose optimum is the reader's exact bound.

Findings therefore carry exact intervals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from ctc_helpers.privacy.interval import (
    TOL,
    AuditReport,
    Block,
    Part,
    block_part,
    certify,
    judge,
    new_stats,
    report_of,
    run_programme,
)
from ctc_helpers.privacy.system import HIDDEN, SHOWN
from ctc_helpers.privacy.wave import (
    GIRLS_BOYS,
    UNSTATED,
    WaveSystem,
    area_cells,
    group_cells,
    measure_cells,
)
from ctc_helpers.vocab import PUBLISHED_SEXES

__all__ = ["audit_wave"]

STATED = (*PUBLISHED_SEXES, GIRLS_BOYS)


def audit_wave(
    wave: WaveSystem, status: np.ndarray, strict: np.ndarray, *, confirm: bool = True
) -> AuditReport:
    """Audit every table of one wave; ``strict`` as in :func:`~ctc_helpers.privacy.interval.
    audit_blocks`. Findings carry the reader's exact interval; with ``confirm=False`` the last
    phase is skipped and a finding is a cell the cheaper phases could not prove safe (with the
    interval they reached), which is what the suppression needs to choose another cell."""
    start = time.perf_counter()
    audit = _WaveAudit(wave, status, strict & (status == HIDDEN), confirm=confirm)
    every = audit.run()
    audit.stats["seconds"] = time.perf_counter() - start
    report = report_of(wave.system, every, exact=False, stats=audit.stats)
    report.binding = {c: sorted(r) for c, r in audit.binding.items() if c is not None}
    return report


@dataclass
class _WaveAudit:
    wave: WaveSystem
    status: np.ndarray
    strict: np.ndarray
    confirm: bool = True
    stats: dict = field(default_factory=new_stats)

    def __post_init__(self) -> None:
        wave, status = self.wave, self.status
        system = wave.system
        self.values = system.values
        self.group = np.sort(group_cells(wave))
        v = wave.cubes["V"]
        sexes = v.dims[2].codes
        self.stated_grid = v.grid()[..., [sexes.index(s) for s in STATED]]
        leaves = self.stated_grid[:-1, :-1, : len(PUBLISHED_SEXES)].reshape(-1)
        self.leaves = leaves[status[leaves] == HIDDEN]  # group sizes the measures follow
        stated = self.stated_grid.reshape(-1)
        self.stated = stated[status[stated] == HIDDEN]
        # the anchors move measures with their hidden groups: sound only when no measure value
        # of a hidden group is shown (the suppression never shows one; a tampered table may)
        implied = wave.implies[self.stated].indices
        self.follow = not np.any(status[implied] == SHOWN)
        self.low = self.values.copy()
        self.high = self.values.copy()
        self.block = {}
        self.binding: dict = {}  # cell -> relations binding its bound in the exact programmes

    # ------------------------------------------------------------------ orchestration

    def run(self) -> pd.DataFrame:
        self._sealed_moves()
        self._restricted_groups()
        self._restricted_measures()
        if len(self._pending(np.fromiter(self.block, dtype=int))):
            self._prepare_joint()
            if self.follow:
                self._anchor(self.stated)
            every = np.fromiter(self.block, dtype=int)
            self._batch(every)
            pending = self._pending(every)
            if not self.confirm:  # only the group tables: their bounds steer the suppression
                pending = np.intersect1d(pending, self.group)
            for cell in pending:
                self._settle(int(cell))
        return self._frame()

    def _note(self, frame: pd.DataFrame, block: str) -> None:
        cells = frame["cell"].to_numpy(dtype=int)
        self.low[cells] = np.minimum(self.low[cells], frame["low"].to_numpy())
        self.high[cells] = np.maximum(self.high[cells], frame["high"].to_numpy())
        for cell in cells:
            self.block[int(cell)] = block

    def _add(self, cells: np.ndarray, block: str) -> None:
        for cell in cells:
            self.block.setdefault(int(cell), block)

    def _pending(self, cells: np.ndarray) -> np.ndarray:
        """Cells whose reached interval does not yet show them safe."""
        cells = np.asarray(cells, dtype=int)
        bad = [self._problem(int(c)) is not None for c in cells]
        return cells[np.asarray(bad, dtype=bool)] if len(cells) else cells

    def _problem(self, cell: int):
        low, high = np.ceil(self.low[cell] - TOL), np.floor(self.high[cell] + TOL)
        return judge(
            self.values[cell],
            low,
            high,
            self.wave.system.threshold[cell],
            hidden=self.status[cell] == HIDDEN,
            strict=bool(self.strict[cell]),
        )

    def _frame(self) -> pd.DataFrame:
        cells = np.fromiter(self.block, dtype=int)
        problems = [self._problem(int(c)) for c in cells]
        return pd.DataFrame(
            {
                "cell": cells,
                "value": self.values[cells],
                "threshold": self.wave.system.threshold[cells],
                "low": np.ceil(self.low[cells] - TOL),
                "high": np.floor(self.high[cells] + TOL),
                "solved": True,
                "problem": pd.Series(problems, dtype=object),
                "block": [self.block[int(c)] for c in cells],
            }
        )

    # ------------------------------------------------------------------ restricted phases

    def _sealed_moves(self) -> None:
        """Areas none of whose cells is shown can trade pupils: moving every pupil of one
        position (grade, sex, ...) from one such area to another changes only their hidden cells
        and keeps every total. So each of their cells can fall to zero and rise to the sum of
        that position over those areas (schools: to the school plus the other areas' pupils)."""
        wave, status = self.wave, self.status
        sealed = [
            a
            for a in wave.areas
            if not np.any(status[area_cells(wave, [a])][wave.published[area_cells(wave, [a])]]
                          == SHOWN)
        ]  # fmt: skip
        if len(sealed) < 2:
            return
        self.sealed = tuple(sealed)
        for name, cube in wave.cubes.items():
            rows = [cube.dims[0].codes.index(a) for a in sealed]
            cells = cube.grid()[rows]
            values = self.values[cells]
            if name in ("QS", "ES"):
                totals = values[:, -1:]
                high = values + (totals.sum(axis=0, keepdims=True) - totals)
            else:
                high = np.broadcast_to(values.sum(axis=0, keepdims=True), values.shape)
            flat = cells.reshape(-1)
            self.low[flat] = np.minimum(self.low[flat], 0.0)
            self.high[flat] = np.maximum(self.high[flat], high.reshape(-1))

    def _restricted_groups(self) -> None:
        system = self.wave.system
        part = block_part(
            system, self.status, Block("groups", self.group, frozen=self.leaves), strict=self.strict
        )
        targets = _targets_of(self.wave, self.status, self.group)
        self._add(targets, "groups")
        targets = np.setdiff1d(targets, self.stated)
        frame = certify(system, self.status, self.strict, part, targets, stats=self.stats)
        self._note(frame, "groups")

    def _restricted_measures(self) -> None:
        """Audit each measure with the hidden group sizes free above the floor the other
        measures allow (cells of hidden groups get no programme of their own here: the anchors
        settle them)."""
        system = self.wave.system
        self.held = _held(self.wave)
        self._rooms()
        hidden_group = self.status[self.stated_grid] == HIDDEN
        for measure in self.wave.measures:
            own = measure_cells(self.wave, measure)
            targets = _targets_of(self.wave, self.status, own)
            self._add(targets, measure)
            grids = [self.wave.cubes[f"{k}:{measure}"].grid() for k in "nf"]
            mine = np.concatenate([g[hidden_group] for g in grids])
            rest = np.setdiff1d(targets, mine)
            cells = np.concatenate([self.group, own])
            if self.follow:
                lower = np.zeros(len(cells))
                lower[np.searchsorted(self.group, self.leaves)] = self._floor(exclude=measure)
                block = Block(measure, cells, lower=lower, frozen=self.held)
            else:  # the hidden groups held too: a restriction whatever the other measures show
                block = Block(measure, cells, frozen=np.concatenate([self.held, self.leaves]))
            part = block_part(system, self.status, block, strict=self.strict)
            frame = certify(
                system, self.status, self.strict, part, targets, exhaustive=rest, stats=self.stats
            )
            self._note(frame, measure)

    def _rooms(self) -> None:
        """How far each measure lets each hidden group size fall when its ``n_flagged`` moves
        by a fixed share of the move (the share that leaves most room: 0, 1 or its own)."""
        cubes, values = self.wave.cubes, self.values
        v = cubes["V"]
        index = np.unravel_index(self.leaves - v.offset, v.shape)
        self.room = np.empty((len(self.wave.measures), len(self.leaves)))
        self.shares = np.zeros(len(self.wave.measures))
        for k, measure in enumerate(self.wave.measures):
            n = values[cubes[f"n:{measure}"].grid()[index]]
            f = values[cubes[f"f:{measure}"].grid()[index]]
            self.shares[k], self.room[k] = _best_room(n, f, values[self.leaves])

    def _floor(self, *, exclude: str | None) -> np.ndarray:
        """Lower bounds of the hidden group sizes when every measure but ``exclude`` follows."""
        room = self.room
        if exclude is not None:
            room = np.delete(room, self.wave.measures.index(exclude), axis=0)
        least = room.min(axis=0) if len(room) else np.full(len(self.leaves), np.inf)
        return np.maximum(self.values[self.leaves] - least, 0.0)

    # ------------------------------------------------------------------ joint programmes

    def _prepare_joint(self) -> None:
        system, status = self.wave.system, self.status
        self.full_part = block_part(system, status, Block("groups", self.group), strict=self.strict)
        self.small_part = block_part(
            system, status, Block("groups", self.group, frozen=self.held), strict=self.strict
        )
        every = [self.full_part]
        for measure in self.wave.measures:
            own = measure_cells(self.wave, measure)
            part = block_part(
                system,
                status,
                Block(measure, np.concatenate([self.group, own])),
                strict=self.strict,
            )
            mine = np.isin(part.cells, own)
            rows_a = np.diff(part.a[:, mine].tocsr().indptr) > 0
            rows_g = np.diff(part.g[:, mine].tocsr().indptr) > 0
            every.append(
                Part(
                    part.cells,
                    part.a[rows_a],
                    part.g[rows_g],
                    part.slack[rows_g],
                    part.low,
                    part.a_rows[rows_a],
                    part.g_rows[rows_g],
                )
            )
        self.joint = _merge(every)
        cubes = self.wave.cubes
        self.n_grid = np.stack([cubes[f"n:{m}"].grid() for m in self.wave.measures])
        self.f_grid = np.stack([cubes[f"f:{m}"].grid() for m in self.wave.measures])
        v = cubes["V"]
        self.leaf_index = np.unravel_index(self.leaves - v.offset, v.shape)

    def _anchor(self, stated: np.ndarray) -> None:
        """Push each hidden group size of girls and boys down and up (one small programme
        each, every measure following with its share for that cell); keep the points."""
        v = self.wave.cubes["V"]
        for cell in stated:
            index = np.unravel_index(int(cell) - v.offset, v.shape)
            stated_index = (*index[:2], STATED.index(v.dims[2].codes[index[2]]))
            n = self.values[self.n_grid[(slice(None), *stated_index)]]
            f = self.values[self.f_grid[(slice(None), *stated_index)]]
            with np.errstate(divide="ignore", invalid="ignore"):
                own = np.where(n > 0, f / n, 0.0)  # the share that empties the cell
            for sign, shares in ((-1.0, own), (+1.0, self.shares)):
                self._family_point(int(cell), sign, shares)

    def _family_point(self, cell: int, sign: float, shares: np.ndarray) -> None:
        n_leaf = self.values[self.n_grid[(slice(None), *self.leaf_index)]]
        f_leaf = self.values[self.f_grid[(slice(None), *self.leaf_index)]]
        room = _room_at(n_leaf, f_leaf, shares)
        floor = self.values[self.leaves] - room.min(axis=0, initial=np.inf)
        part = self.small_part
        low = part.low.copy()
        at = np.searchsorted(part.cells, self.leaves)
        low[at] = np.maximum(low[at], floor - self.values[self.leaves])
        bounded = Part(part.cells, part.a, part.g, part.slack, low, part.a_rows, part.g_rows)
        c = np.zeros(len(part.cells))
        c[int(np.searchsorted(part.cells, cell))] = -sign
        y = _solve(bounded, c, self.stats)
        if y is None:
            return
        self._reach(part.cells, y)
        group = np.zeros(len(self.full_part.cells))
        group[np.searchsorted(self.full_part.cells, part.cells)] = y
        self._follow_point(group, shares)

    def _follow_point(self, group: np.ndarray, shares: np.ndarray) -> None:
        """Every measure follows the group point: ``n`` moves with the group sizes, ``n_flagged``
        by the measure's share of the move (valid within the floors the point respected)."""
        v = self.wave.cubes["V"]
        full = np.zeros(v.shape)
        position = np.unravel_index(self.stated - v.offset, v.shape)
        full[position] = group[np.searchsorted(self.full_part.cells, self.stated)]
        move = full[..., [v.dims[2].codes.index(s) for s in STATED]].reshape(-1)
        if not np.any(move):
            return
        n_cells = self.n_grid.reshape(len(self.wave.measures), -1)
        f_cells = self.f_grid.reshape(len(self.wave.measures), -1)
        for k in range(len(self.wave.measures)):
            self._reach(n_cells[k], move)
            self._reach(f_cells[k], shares[k] * move)

    def _batch(self, cells: np.ndarray, rounds: int = 3) -> None:
        """Whole-system programmes that push many unproven cells at once (random weights)."""
        rng = np.random.default_rng(0)
        for _ in range(rounds):
            pending = self._pending(cells)
            if not len(pending):
                return
            for sign in (+1.0, -1.0):
                weights = rng.uniform(0.5, 1.5, len(pending))
                self._joint_point(dict(zip(pending.tolist(), sign * weights, strict=True)))

    def _settle(self, cell: int) -> None:
        """The reader's exact bounds of one cell (programmes over the whole system)."""
        for sign in (+1.0, -1.0):
            if self._problem(cell) is None:
                return
            self._joint_point({cell: sign})

    def _joint_point(self, objective: dict) -> None:
        """Solve over the whole system for ``objective`` (cell -> weight, maximised); note
        every cell the optimum reaches. A single cell's optimum is the reader's exact bound."""
        part = self.joint
        keys = np.array(list(objective), dtype=int)
        c = np.zeros(len(part.cells))
        c[np.searchsorted(part.cells, keys)] = [-objective[int(k)] for k in keys]
        key = int(keys[0]) if len(keys) == 1 else None
        y = _solve(part, c, self.stats, self.binding.setdefault(key, set()))
        if y is None:  # unbounded: a single pushed cell can go arbitrarily far
            if key is not None:
                target = self.high if objective[key] > 0 else self.low
                target[key] = np.inf * objective[key]
            return
        self._reach(part.cells, y)

    def _reach(self, cells: np.ndarray, y: np.ndarray) -> None:
        self.low[cells] = np.minimum(self.low[cells], self.values[cells] + y)
        self.high[cells] = np.maximum(self.high[cells], self.values[cells] + y)


def _best_room(n: np.ndarray, flagged: np.ndarray, groups: np.ndarray):
    """(share, room) for the best of three shares (0, 1, the measure's own share flagged)."""
    if not len(n):
        return 0.0, np.zeros(0)
    own = flagged.sum() / n.sum() if n.sum() > 0 else 0.0
    best, score = (0.0, np.zeros(len(n))), -np.inf
    for share in (0.0, 1.0, own):
        room = _room_at(n[None, :], flagged[None, :], np.array([share]))[0]
        value = np.minimum(room / np.maximum(groups, 1.0), 1.0).sum()
        if value > score:
            best, score = (share, room), value
    return best


def _room_at(n: np.ndarray, flagged: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """How far each group size can fall (measures x cells) when ``n`` follows it and
    ``n_flagged`` moves by ``share`` of the move: ``0 <= n_flagged <= n`` must hold."""
    share = np.asarray(shares, dtype=float)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(share > 0, flagged / share, np.inf)
        down = np.where(share < 1, (n - flagged) / (1 - share), np.inf)
    return np.minimum(up, down)


def _key(objective: dict):
    return next(iter(objective)) if len(objective) == 1 else None


def _held(wave: WaveSystem) -> np.ndarray:
    """Group cells held in the first anchor programmes: screening, schools, unstated sex."""
    names = [n for n in wave.cubes if n in ("X", "QS", "ES") or n.startswith("R:")]
    cells = [wave.cubes[n].grid().reshape(-1) for n in names]
    v = wave.cubes["V"]
    cells.append(v.grid()[..., v.dims[2].codes.index(UNSTATED)].reshape(-1))
    return np.concatenate(cells)


def _targets_of(wave: WaveSystem, status: np.ndarray, cells: np.ndarray) -> np.ndarray:
    hidden = status[cells] == HIDDEN
    small = (status[cells] != SHOWN) & wave.system.small()[cells]
    return np.asarray(cells)[hidden | small]


def _merge(parts: list[Part]) -> Part:
    """One part from several (shared cells become one column)."""
    cells = np.unique(np.concatenate([p.cells for p in parts]))
    low = np.zeros(len(cells))
    a_rows, g_rows, slacks = [], [], []
    for part in parts:
        columns = np.searchsorted(cells, part.cells)
        low[columns] = part.low
        a_rows.append(_remap(part.a, columns, len(cells)))
        g_rows.append(_remap(part.g, columns, len(cells)))
        slacks.append(part.slack)
    return Part(
        cells,
        sparse.vstack(a_rows).tocsr(),
        sparse.vstack(g_rows).tocsr(),
        np.concatenate(slacks),
        low,
        np.concatenate([p.a_rows for p in parts]),
        np.concatenate([p.g_rows for p in parts]),
    )


def _remap(matrix: sparse.csr_matrix, columns: np.ndarray, width: int) -> sparse.csr_matrix:
    coo = matrix.tocoo()
    shape = (matrix.shape[0], width)
    return sparse.csr_matrix((coo.data, (coo.row, columns[coo.col])), shape=shape)


def _solve(part: Part, c: np.ndarray, stats: dict, binding: set | None = None):
    """The optimal deviations of a part for objective ``c`` (None when unbounded). The
    system's relations that bind at the optimum are added to ``binding``."""
    result = run_programme(part, c, stats)
    if result.status == 3:
        return None
    if result.status != 0:
        raise RuntimeError(f"The interval audit's programme failed: {result.message}")
    if binding is not None and part.a.shape[0]:
        binding.update(part.a_rows[np.abs(result.eqlin.marginals) > 1e-9].tolist())
    return result.x
