"""Choose the hidden cells of a :class:`~ctc_helpers.privacy.system.CellSystem`.

1. *Primary*: every published cell holding a small group (``0 < n < threshold``) is hidden, with
   the cells shown beside it (``implies``: a hidden group hides every measure of that group; a
   hidden ``n`` hides its ``n_flagged``).
2. *Rules*: a reader first works out every cell that a relation fixes (a relation with a single
   unknown cell, repeated until nothing changes). A hidden cell or an unpublished small group
   that is worked out this way is exposed; so is a hidden small group in a relation whose
   unknown cells all count the same way and add up to less than its threshold (their sum is
   known, and each is at most that sum). Each such relation gets one more hidden cell, the one
   whose hiding costs the least (``weight`` of every shown cell it hides, with its implied
   cells), and the rules run again.
3. *Audit*: the interval audit (:mod:`ctc_helpers.privacy.interval`) computes what a reader
   reaches with every relation at once, inequalities and non-negativity included. For each
   cell it finds exposed, the cheapest shown cell of a relation holding that cell (else of a
   relation next to those) is hidden; then the rules and the audit run again.

Zeros are never chosen (hiding an empty cell gives a reader no doubt about its neighbours); a
zero is hidden only as part of a hidden row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from ctc_helpers.privacy.interval import AuditReport
from ctc_helpers.privacy.system import HIDDEN, SHOWN, UNPUBLISHED, CellSystem

__all__ = ["Protection", "Suppressor"]

MAX_AUDIT_ROUNDS = 40


@dataclass
class Protection:
    """The chosen status of every cell and what it took."""

    status: np.ndarray
    report: AuditReport | None
    stats: dict = field(default_factory=dict)


@dataclass
class Suppressor:
    """Suppression of one system. ``hideable``: published cells that may be chosen; ``first``:
    cells whose relations are settled before the others."""

    system: CellSystem
    implies: sparse.csr_matrix
    weight: np.ndarray
    hideable: np.ndarray
    first: np.ndarray | None = None  # cells whose relations are settled first
    redirect: np.ndarray | None = None  # cell -> the cell to fix instead (-1: itself)

    def __post_init__(self) -> None:
        eq = self.system.eq
        self._abs = abs(eq).tocsr()
        self._abs.data[:] = 1.0
        self._by_cell = self._abs.T.tocsr()  # cell -> its relations
        self._signs = eq.tocsr()
        self._room_cache = None
        self.loose = np.zeros(self.system.size, dtype=bool)  # hidden with their zeros
        every = np.ones(eq.shape[0], dtype=bool)
        self.stages = [every]
        if self.first is not None:
            mask = np.zeros(self.system.size)
            mask[self.first] = 1.0
            inside = (self._abs @ (1.0 - mask)) == 0  # relations wholly among the first cells
            self.stages = [inside, every]

    # ------------------------------------------------------------------ public

    def protect(
        self,
        status: np.ndarray,
        *,
        audit: Callable[[np.ndarray, np.ndarray | None], AuditReport] | None = None,
        forced: np.ndarray | None = None,
    ) -> Protection:
        """Run primary suppression, the rules and (with ``audit``) the audit loop.

        ``audit(status, changed)`` audits the parts of the system holding the ``changed`` cells
        (all when None) and returns its report. ``forced`` cells are hidden first, zeros
        included (a whole area published only as part of the city).
        """
        status = status.copy()
        stats = {"primary": 0, "rule_cells": 0, "audit_rounds": 0, "audit_cells": 0, "forced": 0}
        if forced is not None and len(forced):
            forced = np.asarray(forced, dtype=int)
            forced = forced[(status[forced] == SHOWN) & self.hideable[forced]]
            status[forced] = HIDDEN
            self.loose[forced] = True
            stats["forced"] = len(forced)
        small = self.system.small() & (status == SHOWN) & self.hideable
        stats["primary"] = int(small.sum())
        self.hide(status, np.flatnonzero(small))
        stats["rule_cells"] += self.apply_rules(status)
        report = None
        changed = None
        for _ in range(MAX_AUDIT_ROUNDS if audit else 0):
            report = audit(status, changed)
            stats["audit_rounds"] += 1
            if report.ok:
                break
            before = status.copy()
            extra = self.fix_findings(status, report.findings["cell"].to_numpy(), report.binding)
            if not extra:
                break
            stats["audit_cells"] += extra
            stats["rule_cells"] += self.apply_rules(status)
            changed = np.flatnonzero(before != status)
        return Protection(status, report, stats)

    def hide(self, status: np.ndarray, cells: np.ndarray) -> int:
        """Hide ``cells`` and every cell they imply; returns how many shown cells were hidden."""
        cells = np.unique(np.asarray(cells, dtype=int))
        closure = self._closure(cells)
        newly = closure[status[closure] == SHOWN]
        status[newly] = HIDDEN
        return len(newly)

    # ------------------------------------------------------------------ rules

    def apply_rules(self, status: np.ndarray) -> int:
        """Hide cells until no relation breaks a rule; returns how many were hidden.

        The relations of the first stage (``stages``, e.g. the group tables, whose hidden cells
        hide whole rows) are settled before the others, so that a later table does not choose
        its own cell where a hidden row already protects it.
        """
        total = 0
        for rows_allowed in self.stages:
            while True:
                rows = self.violations(status, rows_allowed)
                if not len(rows):
                    break
                self._room_cache = self._room(status)
                chosen = {self._choice(status, row) for row in rows}
                self._room_cache = None
                chosen.discard(None)
                if not chosen:
                    break
                total += self.hide(status, np.fromiter(chosen, dtype=int))
        return total

    def derived(self, status: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cells a reader works out by chains of single-unknown relations: (bool per cell, the
        relation that gave each or -1, the step of the chain at which it was found)."""
        unknown = (status != SHOWN).astype(float)
        via = np.full(self.system.size, -1)
        depth = np.full(self.system.size, -1)
        found = np.zeros(self.system.size, dtype=bool)
        step = 0
        while True:
            counts = self._abs @ unknown
            single = np.flatnonzero(np.abs(counts - 1) < 0.5)
            if not len(single):
                return found, via, depth
            sub = self._abs[single].multiply(unknown).tocoo()
            keep = sub.data != 0  # the product keeps explicit zeros
            cells, first = np.unique(sub.col[keep], return_index=True)
            found[cells] = True
            via[cells] = single[sub.row[keep][first]]
            depth[cells] = step
            unknown[cells] = 0.0
            step += 1

    def violations(self, status: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
        """Relations that break a rule. An exposed cell found late in a chain is left for the
        next round (fixing the start of the chain often protects it), so only the exposures of
        the earliest step are returned, with the relations whose hidden sum is too small."""
        system = self.system
        found, via, depth = self.derived(status)
        small = system.small()
        exposed = found & (
            ((status == HIDDEN) & (system.values > 0)) | ((status == UNPUBLISHED) & small)
        )
        if allowed is not None:
            exposed &= np.isin(via, np.flatnonzero(allowed))
        rows = set()
        if exposed.any():
            first = depth[exposed].min()
            rows = set(via[exposed & (depth == first)].tolist())
        unknown = (status != SHOWN) & ~found
        rows |= set(self._small_sums(status, unknown, small).tolist())
        out = np.array(sorted(r for r in rows if r >= 0), dtype=int)
        return out if allowed is None else out[allowed[out]]

    def _small_sums(self, status, unknown, small) -> np.ndarray:
        """Relations that hold an unknown cell a reader can pin or bound too closely.

        Only relations whose unknown cells count the same way are judged (their sum ``S`` is
        known). A cell can rise by at most the others' values (and its own room, from the
        inequalities whose other cells are known) and fall by at most the others' room. A
        hidden cell that can neither rise nor fall by one is exact; a hidden small group that a
        reader knows to be non-empty must be able to reach its threshold; another small group
        must be able to reach its threshold or fall to zero."""
        signs, values = self._signs, self.system.values
        u = unknown.astype(float)
        pos = signs.multiply(signs > 0) @ u
        neg = -(signs.multiply(signs < 0) @ u)
        one_way = np.flatnonzero(((pos > 0) & (neg == 0)) | ((neg > 0) & (pos == 0)))
        if not len(one_way):
            return one_way
        room = np.minimum(self._room(status), 1e9)
        sub = self._abs[one_way].multiply(u).tocsr()
        sub.eliminate_zeros()
        row_of = np.repeat(np.arange(len(one_way)), np.diff(sub.indptr))
        cells = sub.indices
        total_value = np.bincount(row_of, weights=values[cells], minlength=len(one_way))
        total_room = np.bincount(row_of, weights=room[cells], minlength=len(one_way))
        rise = np.minimum(room[cells], total_value[row_of] - values[cells])
        fall = np.minimum(values[cells], total_room[row_of] - room[cells])
        hidden = status[cells] == HIDDEN
        strict = hidden & ~self.row_hidden(status)[cells]
        threshold = self.system.threshold[cells]
        short = small[cells] & (values[cells] + rise < threshold - 1e-9)
        bad = hidden & (values[cells] > 0) & (rise < 1 - 1e-9) & (fall < 1 - 1e-9)
        bad |= short & (strict | (values[cells] - fall >= 1 - 1e-9))
        return np.unique(one_way[row_of[bad]])

    def _room(self, status: np.ndarray) -> np.ndarray:
        """How far each cell can rise within the inequalities whose other cells are known (an
        inequality with another unknown cell does not limit it here)."""
        le = self.system.le
        if not le.shape[0]:
            return np.full(self.system.size, np.inf)
        slack = np.maximum(-(le @ self.system.values), 0.0)
        unknown = (status != SHOWN).astype(float)
        others = abs(le) @ unknown  # unknown cells per inequality
        coo = le.tocoo()
        mine = coo.data > 0
        limited = (others[coo.row] - unknown[coo.col]) < 0.5  # the cell is the only unknown
        keep = mine & limited
        room = np.full(self.system.size, np.inf)
        np.minimum.at(room, coo.col[keep], slack[coo.row[keep]])
        return room

    def row_hidden(self, status: np.ndarray) -> np.ndarray:
        """Hidden cells whose row is hidden by another cell (a zero there would be hidden too,
        so a reader cannot tell that the cell is not empty)."""
        hidden = (status == HIDDEN).astype(float)
        implied = (self.implies.T.astype(float) @ hidden) > 0
        return (implied | self.loose) & (status == HIDDEN)

    def strict(self, status: np.ndarray) -> np.ndarray:
        """Hidden cells a reader knows not to be zero (see :mod:`ctc_helpers.privacy.interval`)."""
        return (status == HIDDEN) & ~self.row_hidden(status)

    def _choice(self, status: np.ndarray, row: int) -> int | None:
        start, end = self._abs.indptr[row], self._abs.indptr[row + 1]
        return self._cheapest(status, self._abs.indices[start:end])

    def _cheapest(self, status: np.ndarray, cells: np.ndarray) -> int | None:
        """The shown non-zero cell whose hiding costs least; cells that have room to move
        (their inequalities with known cells leave at least one) come first."""
        values = self.system.values
        ok = cells[(status[cells] == SHOWN) & self.hideable[cells] & (values[cells] > 0)]
        if not len(ok):
            return None
        room = self._room_cache if self._room_cache is not None else self._room(status)
        costs = [
            (bool(room[c] < 1), self._cost(status, int(c)), float(values[c]), int(c)) for c in ok
        ]
        return min(costs)[3]

    def _cost(self, status: np.ndarray, cell: int) -> float:
        closure = self._closure(np.array([cell]))
        return float(self.weight[closure[status[closure] == SHOWN]].sum())

    def _closure(self, cells: np.ndarray) -> np.ndarray:
        seen = np.zeros(self.system.size, dtype=bool)
        frontier = np.asarray(cells, dtype=int)
        seen[frontier] = True
        while len(frontier):
            nxt = self.implies[frontier].indices
            nxt = np.unique(nxt[~seen[nxt]])
            seen[nxt] = True
            frontier = nxt
        return np.flatnonzero(seen)

    # ------------------------------------------------------------------ audit fixes

    def fix_findings(self, status: np.ndarray, cells: np.ndarray, binding=None) -> int:
        """Hide, for each exposed cell, the cheapest shown cell of a relation that binds its
        bound (``binding``: cell -> relations, from the audit's programmes), else of a relation
        holding it, else of a relation next to those. Returns how many cells were hidden."""
        chosen = set()
        binding = binding or {}
        cells = np.unique(cells)
        if self.redirect is not None:
            moved = self.redirect[cells]
            cells = np.unique(np.where(moved >= 0, moved, cells))
        self._room_cache = self._room(status)
        for cell in cells:
            rows = binding.get(int(cell), [])
            pick = None
            if len(rows):
                pick = self._cheapest(status, np.unique(self._abs[rows].indices))
            if pick is None:
                pick = self._near(status, int(cell))
            if pick is not None:
                chosen.add(pick)
        self._room_cache = None
        if not chosen:
            return 0
        return self.hide(status, np.fromiter(chosen, dtype=int))

    def _near(self, status: np.ndarray, cell: int) -> int | None:
        ring = np.array([cell])
        seen = {cell}
        for _ in range(4):
            rows = np.unique(self._by_cell[ring].indices)
            members = np.unique(self._abs[rows].indices)
            pick = self._cheapest(status, members)
            if pick is not None:
                return pick
            ring = np.array([m for m in members if m not in seen])
            seen |= set(ring.tolist())
            if not len(ring):
                return None
        return None
