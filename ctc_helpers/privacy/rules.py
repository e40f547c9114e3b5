"""Primary, rule-based and exact complementary suppression of one cube.

Private helper of :mod:`ctc_helpers.privacy.suppress`; its module docstring describes the method. Speed
comes from three exact shortcuts, none of which changes a pattern:

- the rules keep one flag per relation ("breaks a rule and has a cell to hide") and, after each
  hidden cell, recompute only the relations that hold that cell (one per dim);
- the exact check is skipped when no hidden cell and no residual below ``min_n`` exists: only such
  cells can be exposed, so the exposed set is empty by definition;
- which unknown cells the relations fix depends only on the cube's shape and on which cells are
  unknown, so that answer is remembered per (shape, unknown cells) in a cache owned by the
  caller (measures of a wave often share their pattern of small cells).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ctc_helpers.privacy.cube import Cube, Layout

NULL_TOL = 1e-7


def suppress_cube(cube: Cube, *, min_n: int, cache: dict | None = None) -> np.ndarray:
    """Boolean per cell id: hidden. Residual cells are never marked.

    ``cache`` maps (shape, unknown cell ids) to the cells those relations fix; pass the same dict
    for the cubes of one table to share the work, or None.
    """
    values = cube.values
    suppressed = (values > 0) & (values < min_n)
    layout = cube.layout
    if layout is None:
        return suppressed
    suppressed &= ~layout.hidden
    cache = {} if cache is None else cache
    while True:
        suppressed = apply_rules(values, suppressed, layout, min_n=min_n)
        extra = exact_fix(values, suppressed, layout, min_n=min_n, cache=cache)
        if extra is None:
            return suppressed
        suppressed[extra] = True


def unknown_cells(values, suppressed, layout) -> np.ndarray:
    """Cells a reader does not know: hidden cells and non-zero residuals."""
    return suppressed | (layout.hidden & (values > 0))


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


@dataclass
class _RuleState:
    """Arrays of the rule loop, one entry per cell plus the padding cell (known, 0, residual).

    Only ``unknown`` and ``unknown_values`` change while the rules run.
    """

    unknown: np.ndarray
    unknown_values: np.ndarray  # n of unknown cells, 0 elsewhere
    big_residual: np.ndarray  # residual of at least min_n (may be recovered)
    can_hide: np.ndarray  # published and non-zero: a candidate while known
    rank: np.ndarray  # order of preference among candidates: non-totals, then small n, then id

    @classmethod
    def of(cls, values, suppressed, layout: Layout, *, min_n: int) -> _RuleState:
        values = np.append(values, 0.0)
        hidden = np.append(layout.hidden, True)
        unknown = np.append(unknown_cells(values[:-1], suppressed, layout), False)
        n_totals = np.append(layout.n_totals, len(layout.shape) + 1)
        return cls(
            unknown=unknown,
            unknown_values=np.where(unknown, values, 0.0),
            big_residual=hidden & (values >= min_n),
            can_hide=~hidden & (values > 0),
            rank=np.argsort(np.lexsort((np.arange(len(values)), values, n_totals))),
        )

    def hide(self, cell: int, values) -> None:
        self.unknown[cell] = True
        self.unknown_values[cell] = values[cell]


def apply_rules(values, suppressed, layout: Layout, *, min_n: int) -> np.ndarray:
    """Hide cells until no relation breaks a rule (the first breaking relation in dim order that
    has a cell to hide is fixed first)."""
    suppressed = suppressed.copy()
    state = _RuleState.of(values, suppressed, layout, min_n=min_n)
    members = layout.members
    to_fix = _breaks_rule(members, layout.member_hidden, state, min_n=min_n)
    while to_fix.any():
        choice = _pick_in_relation(members[int(np.argmax(to_fix))], state)
        suppressed[choice] = True
        state.hide(choice, values)
        touched = layout.relation_of[choice]
        to_fix[touched] = _breaks_rule(
            members[touched], layout.member_hidden[touched], state, min_n=min_n
        )
    return suppressed


def _breaks_rule(members, all_hidden, state: _RuleState, *, min_n: int) -> np.ndarray:
    """Per relation: breaks a rule (a lone unknown, or a small revealed sum) and has a cell that
    can be hidden."""
    unknown = state.unknown[members]
    parts = state.unknown_values[members[:, :-1]].sum(axis=1)
    small_sum = ~unknown[:, -1] & (parts > 0) & (parts < min_n)
    lone = unknown.sum(axis=1) == 1
    first = members[np.arange(len(members)), unknown.argmax(axis=1)]
    broken = ~all_hidden & (small_sum | (lone & ~state.big_residual[first]))
    return broken & (state.can_hide[members] & ~unknown).any(axis=1)


def _pick_in_relation(members: np.ndarray, state: _RuleState) -> int:
    """Smallest published non-zero part (non-totals first, then by n, then by id), else the
    total (the caller knows that one of them can be hidden)."""
    parts = members[:-1]
    free = state.can_hide[parts] & ~state.unknown[parts]
    if not free.any():
        return int(members[-1])
    return int(parts[np.argmin(np.where(free, state.rank[parts], len(state.rank)))])


# --------------------------------------------------------------------------------------------
# Exact check
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """Row space of the relations restricted to the unknown cells ``ids`` (economic SVD).

    Only relations that hold an unknown (``rows``) enter the decomposition.
    """

    ids: np.ndarray
    rows: np.ndarray  # bool per relation
    u: np.ndarray  # (relations with an unknown, rank)
    s: np.ndarray  # (rank,)
    vt: np.ndarray  # (rank, unknowns)

    def determined(self) -> np.ndarray:
        """Per unknown: True if its unit vector lies in the row space (its value is fixed)."""
        return 1.0 - (self.vt**2).sum(axis=0) < NULL_TOL

    def unlocks(self, position: int, columns: np.ndarray) -> np.ndarray:
        """Per candidate column: True if making that cell unknown frees unknown ``position``.

        With ``sub.T @ y0 == e_x`` (x is determined), the extended system still fixes x unless the
        candidate's column lies in the column space of ``sub`` (else ``y0`` could be adjusted) and
        ``y0 @ column != 0``.
        """
        kept = columns[self.rows]
        inside = ~np.any(columns[~self.rows] != 0, axis=0)
        inside &= np.abs(kept - self.u @ (self.u.T @ kept)).max(axis=0, initial=0.0) < 1e-6
        y0 = self.u @ (self.vt[:, position] / self.s)
        return inside & (np.abs(y0 @ kept) > 1e-6)


def span_of(layout: Layout, unknown_ids: np.ndarray) -> Span:
    """The :class:`Span` of the relations of ``layout`` restricted to ``unknown_ids``."""
    sub = layout.columns(unknown_ids)
    rows = np.any(sub != 0, axis=1)
    sub = sub[rows]
    if not sub.size:
        empty = np.zeros((len(sub), 0))
        return Span(unknown_ids, rows, empty, np.zeros(0), np.zeros((0, len(unknown_ids))))
    u, singular, vt = np.linalg.svd(sub, full_matrices=False)
    rank = int((singular > NULL_TOL * max(singular[0], 1.0)).sum())
    return Span(unknown_ids, rows, u[:, :rank], singular[:rank], vt[:rank])


def fixed_cells(layout: Layout, unknown_ids: np.ndarray, cache: dict) -> tuple:
    """(the unknown cells whose value follows from the relations, the span or None).

    The cells are remembered in ``cache`` per (shape, unknown cells); the span is returned only
    when it was computed now.
    """
    key = (layout.shape, unknown_ids.tobytes())
    if key in cache:
        return cache[key], None
    span = span_of(layout, unknown_ids)
    cache[key] = unknown_ids[span.determined()]
    return cache[key], span


def exact_fix(values, suppressed, layout: Layout, *, min_n: int, cache: dict):
    """One more cell to hide (the nearest that makes an exposed cell unrecoverable), or None.

    Exposed cells are recoverable hidden cells and recoverable residuals with n < min_n.
    """
    unknown = unknown_cells(values, suppressed, layout)
    exposable = unknown & (~layout.hidden | (values < min_n))
    if not exposable.any():
        return None  # only such cells can be exposed: nothing to check
    unknown_ids = np.flatnonzero(unknown)
    fixed, span = fixed_cells(layout, unknown_ids, cache)
    exposed = fixed[exposable[fixed]]
    if not len(exposed):
        return None
    span = span_of(layout, unknown_ids) if span is None else span
    return _unlocking_cell(int(exposed[0]), span, values, unknown, layout)


def _unlocking_cell(target: int, span: Span, values, unknown, layout: Layout) -> int:
    """The first cell by ring (relation distance) and candidate order whose hiding frees
    ``target``; else the first candidate of the nearest ring with candidates."""
    position = int(np.searchsorted(span.ids, target))
    fallback = None
    for ring in _rings(target, layout):
        candidates = sorted(
            (c for c in ring if is_candidate(c, values, unknown, layout)),
            key=lambda c: _candidate_key(c, values, layout),
        )
        if not candidates:
            continue
        helps = span.unlocks(position, layout.columns(np.array(candidates)))
        if helps.any():
            return candidates[int(np.argmax(helps))]
        fallback = candidates[0] if fallback is None else fallback
    if fallback is None:
        raise RuntimeError(
            f"Internal error in suppression: cell {target} stays recoverable and no cell is left "
            "to hide. Please report this with the table."
        )
    return fallback


def is_candidate(cell, values, unknown, layout) -> bool:
    """A published non-zero cell that may be hidden."""
    return not layout.hidden[cell] and not unknown[cell] and values[cell] > 0


def _candidate_key(cell, values, layout):
    return (int(layout.n_totals[cell]), float(values[cell]), int(cell))


def _rings(cell: int, layout: Layout):
    """Cells at relation distance 1, 2, ... from ``cell``."""
    seen = {cell, layout.size}  # the padding id is no cell
    frontier = {cell}
    while frontier:
        relations = layout.relation_of[sorted(frontier)].ravel()
        ring = set(layout.members[relations].ravel().tolist()) - seen
        seen |= ring
        frontier = ring
        if ring:
            yield sorted(ring)
