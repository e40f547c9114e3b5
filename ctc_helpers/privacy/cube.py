"""The cube of one protected table: published cells, residual cells and their relations.

Private helper of :mod:`ctc_helpers.privacy.suppress`; its module docstring describes the method. A table
is split into its ``within`` groups once, and every dim's codes are factorised once for the whole
table, so building the cube of one group is a handful of array operations.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

RESIDUAL_CODE = "(other)"
ZERO_TOL = 1e-9


@dataclass(frozen=True)
class Layout:
    """Index structure of a cube whose axis d has k_d parts, then a residual, then the total.

    A relation is one line of the cube along one dim: ``total = sum(parts) + residual``. The
    relations are numbered dim by dim (the order in which the rules visit them).
    """

    shape: tuple[int, ...]
    lines: tuple[np.ndarray, ...]  # per dim: (relations, k_d + 2) cell ids, total last
    line_hidden: tuple[np.ndarray, ...]  # per dim: all members of the relation are residuals
    line_of: tuple[np.ndarray, ...]  # per dim: cell id -> its relation along that dim
    hidden: np.ndarray  # cell has a residual coordinate (never published)
    n_totals: np.ndarray  # number of total coordinates of the cell
    members: np.ndarray  # (relations, widest line): cell ids, total last, padded with ``size``
    member_hidden: np.ndarray  # per relation: all members are residuals
    relation_of: np.ndarray  # (cells, dims): the cell's relation along each dim
    is_total: np.ndarray  # (cells, dims): the cell is the total of that relation

    @property
    def size(self) -> int:
        """Number of cells (the id used to pad ``members``)."""
        return len(self.hidden)

    def columns(self, cells: np.ndarray) -> np.ndarray:
        """Dense columns of the relation matrix (+1 total, -1 parts and residual) for ``cells``."""
        out = np.zeros((len(self.members), len(cells)))
        cells = np.asarray(cells, dtype=int)
        signs = np.where(self.is_total[cells], 1.0, -1.0)
        out[self.relation_of[cells], np.arange(len(cells))[:, None]] = signs
        return out


@dataclass(frozen=True)
class Cube:
    """One ``within`` table as a cube (``layout`` is None when no dim has a part)."""

    layout: Layout | None
    dims: tuple[str, ...]  # dims with at least one part in this table
    codes: tuple[tuple, ...]
    values: np.ndarray  # n per cell id, residuals included
    row_cells: np.ndarray  # cell id of each table row


@dataclass(frozen=True)
class _DimCodes:
    """One dim's codes factorised over the whole table."""

    codes: np.ndarray  # per row: index into ``uniques``
    uniques: np.ndarray  # distinct values (object)
    text_rank: np.ndarray  # per unique: rank of ``str(value)`` (equal texts share a rank)
    is_total: np.ndarray  # per unique: the margin code


@lru_cache(maxsize=64)
def layout_of(shape: tuple[int, ...]) -> Layout:
    """The (cached) layout of a cube of this shape."""
    size = int(np.prod(shape))
    ids = np.arange(size).reshape(shape)
    coords = np.indices(shape).reshape(len(shape), -1)
    hidden = np.any([coords[d] == s - 2 for d, s in enumerate(shape)], axis=0)
    n_totals = np.sum([coords[d] == s - 1 for d, s in enumerate(shape)], axis=0)
    lines = tuple(np.moveaxis(ids, d, -1).reshape(-1, s) for d, s in enumerate(shape))
    line_of = tuple(_line_index(line, size) for line in lines)
    starts = np.cumsum([0, *(len(line) for line in lines)])[:-1]
    line_hidden = tuple(hidden[line[:, -1]] for line in lines)
    return Layout(
        shape=shape,
        lines=lines,
        line_hidden=line_hidden,
        line_of=line_of,
        hidden=hidden,
        n_totals=n_totals,
        members=_padded_members(lines, size),
        member_hidden=np.concatenate(line_hidden),
        relation_of=np.stack(
            [start + index for start, index in zip(starts, line_of, strict=True)], axis=1
        ),
        is_total=np.stack([coords[d] == s - 1 for d, s in enumerate(shape)], axis=1),
    )


def _line_index(line: np.ndarray, size: int) -> np.ndarray:
    index = np.empty(size, dtype=int)
    index[line] = np.arange(len(line))[:, None]
    return index


def _padded_members(lines: tuple[np.ndarray, ...], size: int) -> np.ndarray:
    """All relations in one array: parts and residual, padding (cell id ``size``), total."""
    width = max(line.shape[1] for line in lines)
    padded = []
    for line in lines:
        pad = np.full((len(line), width - line.shape[1]), size)
        padded.append(np.hstack([line[:, :-1], pad, line[:, -1:]]))
    return np.concatenate(padded)


def table_cubes(
    table: pd.DataFrame, *, dims: Sequence[str], within: Sequence[str], total: str, size_col: str
) -> Iterator[tuple[np.ndarray, Cube]]:
    """Yield (positional rows, cube) per combination of ``within`` values, in group order."""
    dim_codes = [_factorise(table[d], total) for d in dims]
    sizes = pd.to_numeric(table[size_col]).to_numpy(dtype=float)
    for context, rows in _within_groups(table, within):
        yield (
            rows,
            _group_cube(dim_codes, sizes[rows], rows, dims=dims, context=context, total=total),
        )


def _factorise(column: pd.Series, total: str) -> _DimCodes:
    codes, uniques = pd.factorize(column.astype(object))
    uniques = np.asarray(uniques, dtype=object)
    texts = [str(u) for u in uniques]
    rank = {text: i for i, text in enumerate(sorted(set(texts)))}
    return _DimCodes(
        codes=codes,
        uniques=uniques,
        text_rank=np.array([rank[text] for text in texts], dtype=int),
        is_total=np.array([u == total for u in uniques], dtype=bool),
    )


def _within_groups(table: pd.DataFrame, within: Sequence[str]):
    """Yield (context text, positional row indices) per combination of ``within`` values."""
    if not within:
        yield "the table", np.arange(len(table))
        return
    groups = table.groupby(list(within), dropna=False, sort=False).indices
    for key, rows in groups.items():
        values = key if isinstance(key, tuple) else (key,)
        yield ", ".join(f"{c}={v}" for c, v in zip(within, values, strict=True)), np.asarray(rows)


def _group_cube(dim_codes, sizes, rows, *, dims, context, total) -> Cube:
    active, codes, positions = [], [], []
    for d, factorised in zip(dims, dim_codes, strict=True):
        found = _group_positions(factorised, rows)
        if found is not None:
            active.append(d)
            codes.append(found[0])
            positions.append(found[1])
    active, codes = tuple(active), tuple(codes)
    shape = tuple(len(c) + 2 for c in codes) or (1,)
    cells = np.ravel_multi_index(positions, shape) if active else np.zeros(len(rows), dtype=int)
    layout = layout_of(shape) if active else None
    _check_complete(cells, layout, codes, active, total, context)
    values = np.full(int(np.prod(shape)), np.nan)
    values[cells] = sizes
    if active:
        values = _fill_residuals(values, shape, codes, active, total, context)
    return Cube(layout, active, codes, values, cells)


def _group_positions(factorised: _DimCodes, rows: np.ndarray):
    """(codes sorted as text, position of each row) in one group, or None without parts.

    Equal texts keep their order of first appearance in the group, like a stable sort.
    """
    row_codes = factorised.codes[rows]
    present, first = np.unique(row_codes, return_index=True)
    part = ~factorised.is_total[present]
    if not part.any():
        return None
    present, first = present[part], first[part]
    ordered = present[np.lexsort((first, factorised.text_rank[present]))]
    lookup = np.full(len(factorised.uniques), len(ordered) + 1)
    lookup[ordered] = np.arange(len(ordered))
    return tuple(factorised.uniques[ordered]), lookup[row_codes]


def _check_complete(cells, layout, codes, active, total, context) -> None:
    unique, counts = np.unique(cells, return_counts=True)
    if (counts > 1).any():
        where = describe_cell(unique[counts > 1][0], codes, active, total, layout)
        raise ValueError(
            f"{context}: more than one row for {where}; each group needs exactly one row."
        )
    if layout is None:
        return
    expected = np.flatnonzero(~layout.hidden)
    absent = np.setdiff1d(expected, unique)
    if len(absent):
        examples = "; ".join(describe_cell(c, codes, active, total, layout) for c in absent[:3])
        raise ValueError(
            f"{context}: {len(absent)} combination(s) of codes have no row, e.g. {examples}. The "
            f"table must hold every combination including the '{total}' margins; add rows with "
            "n = 0 for empty groups (add_margins does this for count tables)."
        )


def _fill_residuals(values, shape, codes, active, total, context) -> np.ndarray:
    cube = values.reshape(shape).copy()
    for axis, size in enumerate(shape):
        view = np.moveaxis(cube, axis, 0)
        view[size - 2] = view[size - 1] - view[: size - 2].sum(axis=0)
    cube[np.abs(cube) < ZERO_TOL] = 0.0
    flat = cube.reshape(-1)
    if (flat < 0).any():
        cell = int(np.flatnonzero(flat < 0)[0])
        where = describe_cell(cell, codes, active, total, layout_of(shape))
        raise ValueError(
            f"{context}: the parts add up to more than their total ({-flat[cell]:g} too many at "
            f"{where}). Each '{total}' row must be the sum of its parts plus people not shown as a "
            "row; overlapping categories (such as validity rules) belong in within, not in dims."
        )
    return flat


def cell_codes(cell: int, codes, active, total, layout) -> dict:
    """{dim: code} of a cell (``RESIDUAL_CODE`` for a residual coordinate)."""
    if layout is None:
        return {}
    position = np.unravel_index(cell, layout.shape)
    labels = {}
    for d, cs, i in zip(active, codes, position, strict=True):
        labels[d] = cs[i] if i < len(cs) else (RESIDUAL_CODE if i == len(cs) else total)
    return labels


def describe_cell(cell: int, codes, active, total, layout) -> str:
    """``"area=a, sex=F"`` for error messages."""
    return ", ".join(f"{d}={v}" for d, v in cell_codes(cell, codes, active, total, layout).items())
