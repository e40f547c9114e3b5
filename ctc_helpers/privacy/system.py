"""Published counts as one linear system: cells, the sums that link them and their inequalities.

Every count a reader can see or work out is a *cell*: a group size (``n``), a numerator
(``n_flagged``), the questionnaires of an area, the pupils excluded by a validity rule. Cells are
arranged in hierarchical cubes (:class:`Cube`): each dimension has leaf codes and total codes,
and every total equals the sum of its children (area ``all`` = the areas; sex ``FM`` = girls +
boys; sex ``AP`` = ``FM`` + pupils without a stated sex). Cubes are linked by further equalities
(questionnaires = valid + excluded) and inequalities (flagged <= respondents <= valid group).

A reader knows the relations, that counts are never negative, and the value of every *shown*
cell. The suppression (:mod:`ctc_helpers.privacy.protect`) decides which published cells are
hidden; the audit (:mod:`ctc_helpers.privacy.interval`) computes what a reader can still work out.

Examples
--------
>>> area = Dim.flat("area", ["a", "b"])
>>> builder = SystemBuilder()
>>> cube = builder.add_cube("n", [area], np.array([3.0, 12.0]), threshold=10)
>>> system = builder.build()
>>> system.values.tolist()
[3.0, 12.0, 15.0]
>>> system.eq.toarray().tolist()
[[-1.0, -1.0, 1.0]]
>>> system.label(cube.id(area="all"))
'n area=all'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from ctc_helpers.vocab import TOTAL

__all__ = ["HIDDEN", "SHOWN", "UNPUBLISHED", "CellSystem", "Cube", "Dim", "SystemBuilder"]

SHOWN, HIDDEN, UNPUBLISHED = 0, 1, 2
"""Status of a cell: published with its value, published as hidden, never published."""


@dataclass(frozen=True)
class Dim:
    """One dimension of a cube: its codes (leaves first) and the children of each total.

    ``nodes`` lists ``(total position, child positions)`` in an order in which every child is
    computed before its total (leaves need no computing).
    """

    name: str
    codes: tuple[str, ...]
    n_leaves: int
    nodes: tuple[tuple[int, tuple[int, ...]], ...]

    @classmethod
    def flat(cls, name: str, leaves: Sequence[str], total: str = TOTAL) -> Dim:
        """Leaves and one total of all of them."""
        return cls.tree(name, leaves, [(total, tuple(leaves))])

    @classmethod
    def tree(cls, name: str, leaves: Sequence[str], totals: Sequence[tuple[str, Sequence[str]]]):
        """Leaves and totals, each the sum of earlier codes (``[("FM", ("F", "M")), ...]``)."""
        codes = [str(c) for c in leaves]
        nodes = []
        for total, children in totals:
            missing = [c for c in children if c not in codes]
            if missing or total in codes:
                raise ValueError(f"Dimension {name!r}: total {total!r} needs earlier codes.")
            nodes.append((len(codes), tuple(codes.index(c) for c in children)))
            codes.append(str(total))
        return cls(name, tuple(codes), len(leaves), tuple(nodes))

    def position(self, code: str) -> int:
        try:
            return self.codes.index(str(code))
        except ValueError:
            raise KeyError(f"Dimension {self.name!r} has no code {code!r}.") from None


@dataclass(frozen=True)
class Cube:
    """The cells of one layer (``n``, ``n_flagged`` of a measure, ...) over some dimensions.

    Cell ids are ``offset`` plus the C-order position in ``shape``.
    """

    layer: str
    dims: tuple[Dim, ...]
    offset: int

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(d.codes) for d in self.dims)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def grid(self) -> np.ndarray:
        """Cell ids in the cube's shape."""
        return self.offset + np.arange(self.size).reshape(self.shape)

    def id(self, **codes: str) -> int:
        """The id of the cell with these codes (every dimension named)."""
        return int(self.ids(**codes).reshape(-1)[0])

    def ids(self, **codes: str | Sequence[str] | None) -> np.ndarray:
        """Ids of the cells with these codes; an unnamed dimension (or None) keeps every code."""
        grid = self.grid()
        index = []
        for dim in self.dims:
            chosen = codes.get(dim.name)
            if chosen is None:
                index.append(slice(None))
            elif isinstance(chosen, str):
                index.append(dim.position(chosen))
            else:
                index.append([dim.position(c) for c in chosen])
        return np.asarray(grid[tuple(_outer(index))])

    def codes_of(self, cell: int) -> dict[str, str]:
        position = np.unravel_index(int(cell) - self.offset, self.shape)
        return {d.name: d.codes[i] for d, i in zip(self.dims, position, strict=True)}


def _outer(index: list) -> list:
    """Turn several list indexers into an open mesh (numpy indexes lists jointly otherwise)."""
    lists = [i for i, x in enumerate(index) if isinstance(x, list)]
    if len(lists) < 2:
        return index
    out = list(index)
    for k, i in enumerate(lists):
        shape = [1] * len(lists)
        shape[k] = len(index[i])
        out[i] = np.asarray(index[i]).reshape(shape)
    return out


@dataclass(frozen=True)
class CellSystem:
    """Cells with their true values and the relations a reader knows.

    ``eq`` rows are equalities ``eq @ x == 0`` (+1 for a total, -1 for each part); ``le`` rows are
    inequalities ``le @ x <= 0``. ``threshold`` is the smallest group a cell may show (0: any).
    """

    cubes: tuple[Cube, ...]
    values: np.ndarray
    threshold: np.ndarray
    eq: sparse.csr_matrix
    le: sparse.csr_matrix

    @property
    def size(self) -> int:
        return len(self.values)

    def cube_of(self, cell: int) -> Cube:
        starts = [c.offset for c in self.cubes]
        return self.cubes[int(np.searchsorted(starts, int(cell), side="right")) - 1]

    def label(self, cell: int) -> str:
        """``"<layer> dim=code, ..."`` of a cell (for messages)."""
        cube = self.cube_of(cell)
        codes = ", ".join(f"{k}={v}" for k, v in cube.codes_of(cell).items())
        return f"{cube.layer} {codes}"

    def small(self) -> np.ndarray:
        """Cells that hold a small group: ``0 < value < threshold``."""
        return (self.values > 0) & (self.values < self.threshold)

    def check(self) -> None:
        """Raise ValueError unless the true values satisfy every relation (a build error)."""
        off = np.abs(self.eq @ self.values)
        if off.size and off.max() > 1e-6:
            row = int(np.argmax(off))
            cells = self.eq.indices[self.eq.indptr[row] : self.eq.indptr[row + 1]]
            raise ValueError(
                "The counts do not add up: " + "; ".join(self.label(c) for c in cells[:4])
            )
        over = self.le @ self.values
        if over.size and over.max() > 1e-6:
            row = int(np.argmax(over))
            cells = self.le.indices[self.le.indptr[row] : self.le.indptr[row + 1]]
            raise ValueError(
                "A count exceeds its bound: " + "; ".join(self.label(c) for c in cells[:4])
            )


@dataclass
class SystemBuilder:
    """Collects cubes, relations and inequalities; :meth:`build` returns the CellSystem."""

    cubes: list[Cube] = field(default_factory=list)
    _values: list[np.ndarray] = field(default_factory=list)
    _thresholds: list[np.ndarray] = field(default_factory=list)
    _eq: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    _le: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    _rows: dict[str, int] = field(default_factory=lambda: {"eq": 0, "le": 0})
    size: int = 0

    def add_cube(
        self, layer: str, dims: Sequence[Dim], leaves: np.ndarray, *, threshold: int
    ) -> Cube:
        """Add a cube whose leaf values are ``leaves`` (shape: leaves per dim); totals are
        summed, and one relation per total and combination of the other codes is added."""
        dims = tuple(dims)
        expected = tuple(d.n_leaves for d in dims)
        leaves = np.asarray(leaves, dtype=float)
        if leaves.shape != expected:
            raise ValueError(f"Cube {layer!r}: leaves of shape {leaves.shape}, need {expected}.")
        cube = Cube(layer, dims, self.size)
        self.cubes.append(cube)
        self._values.append(_fill_totals(leaves, dims).reshape(-1))
        self._thresholds.append(np.full(cube.size, float(threshold)))
        self.size += cube.size
        grid = cube.grid()
        for axis, dim in enumerate(dims):
            moved = np.moveaxis(grid, axis, -1)
            for total, children in dim.nodes:
                self.add_sum(moved[..., total], [moved[..., c] for c in children])
        return cube

    def add_sum(self, totals: np.ndarray, parts: Sequence[np.ndarray]) -> None:
        """Add ``totals[i] == sum(part[i] for part in parts)`` for every i."""
        totals = np.asarray(totals).reshape(-1)
        columns = [totals, *(np.asarray(p).reshape(-1) for p in parts)]
        signs = [1.0] + [-1.0] * len(parts)
        self._add("eq", columns, signs)

    def add_at_most(self, small: np.ndarray, big: Sequence[np.ndarray] | np.ndarray) -> None:
        """Add ``small[i] <= sum(b[i] for b in big)`` for every i (one array: ``<= big[i]``)."""
        big = [big] if isinstance(big, np.ndarray) else list(big)
        columns = [np.asarray(small).reshape(-1), *(np.asarray(b).reshape(-1) for b in big)]
        self._add("le", columns, [1.0] + [-1.0] * len(big))

    def _add(self, kind: str, columns: list[np.ndarray], signs: list[float]) -> None:
        count = len(columns[0])
        if any(len(c) != count for c in columns):
            raise ValueError("The cells of a relation must be given as arrays of one length.")
        rows = self._rows[kind] + np.repeat(np.arange(count), len(columns))
        cells = np.stack(columns, axis=1).reshape(-1)
        data = np.tile(np.asarray(signs), count)
        (self._eq if kind == "eq" else self._le).append((rows, cells, data))
        self._rows[kind] += count

    def build(self) -> CellSystem:
        return CellSystem(
            cubes=tuple(self.cubes),
            values=np.concatenate(self._values) if self._values else np.zeros(0),
            threshold=np.concatenate(self._thresholds) if self._thresholds else np.zeros(0),
            eq=_matrix(self._eq, self._rows["eq"], self.size),
            le=_matrix(self._le, self._rows["le"], self.size),
        )


def _matrix(parts, n_rows: int, n_cols: int) -> sparse.csr_matrix:
    if not parts:
        return sparse.csr_matrix((n_rows, n_cols))
    rows, cols, data = (np.concatenate(x) for x in zip(*parts, strict=True))
    return sparse.csr_matrix((data, (rows, cols)), shape=(n_rows, n_cols))


def _fill_totals(leaves: np.ndarray, dims: tuple[Dim, ...]) -> np.ndarray:
    """The full cube: leaves in place, every total the sum of its children (dim by dim)."""
    values = leaves
    for axis, dim in enumerate(dims):
        moved = np.moveaxis(values, axis, -1)
        full = np.zeros((*moved.shape[:-1], len(dim.codes)))
        full[..., : dim.n_leaves] = moved
        for total, children in dim.nodes:
            full[..., total] = full[..., list(children)].sum(axis=-1)
        values = np.moveaxis(full, -1, axis)
    return values


def leaves_from(
    table, dims: Sequence[Dim], value: str, *, columns: Mapping[str, str] | None = None
) -> np.ndarray:
    """Leaf array of a cube from a tidy table (rows keyed by the dims' leaf codes; absent: 0).

    ``columns`` maps a dim name to the table column holding its codes (default: the same name).
    """
    columns = dict(columns or {})
    out = np.zeros(tuple(d.n_leaves for d in dims))
    keys = []
    for dim in dims:
        codes = table[columns.get(dim.name, dim.name)].astype(str).to_numpy()
        lookup = {c: i for i, c in enumerate(dim.codes[: dim.n_leaves])}
        keys.append(np.array([lookup.get(c, -1) for c in codes]))
    inside = np.all([k >= 0 for k in keys], axis=0) if keys else np.zeros(0, dtype=bool)
    values = table[value].to_numpy(dtype=float)
    np.add.at(out, tuple(k[inside] for k in keys), values[inside])
    return out
