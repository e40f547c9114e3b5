"""Small-cell suppression of published tables (no group smaller than ``min_n`` is shown).

Method
------
Every combination of the ``within`` columns (by default one wave and one measure) is protected as
one independent table. Its rows form a hierarchical cube over ``dims``: the code ``total``
(``"all"``) is the margin, so the row with ``sex == "all"`` is the total of the rows with the same
area and grade and another sex. A total need not equal the sum of its published parts: pupils whose
sex is ``U`` or missing count in the total but have no row of their own. Each such difference is an
unpublished *residual* cell (shown as ``"(other)"`` by :func:`check_disclosure`). Residual cells of
different totals are linked as in a real cube (the city's residual is the sum of the areas'
residuals), because a reader can subtract along every dimension.

1. Primary suppression: a cell with ``0 < n < min_n`` is hidden.
2. Complementary suppression by rules, for every relation ``total = sum(parts) + residual`` along
   every dim: the unknown members of the relation (hidden parts, a hidden total, a non-zero
   residual) are never exactly one, because a lone unknown is recovered by subtraction (exception:
   a residual of at least ``min_n`` may be recovered; it is a group as large as any published
   cell). When the total is published, the hidden parts plus the residual add up to 0 or to at
   least ``min_n``; otherwise their sum, a small group, is revealed. A violation is fixed by hiding
   the smallest published non-zero part (cells that are not totals first), else the total, until
   every relation of every dim holds.
3. Exact check: all relations of the cube form a linear system in which published cells are known.
   A hidden cell is recoverable if and only if its unit vector lies in the row space of the system
   restricted to the unknown cells, that is if every null-space vector of that matrix (computed by
   SVD) is zero at the cell. Hidden cells and residuals with ``0 < n < min_n`` must not be
   recoverable. If one is, the nearest published cell whose hiding makes it unrecoverable is
   hidden, and steps 2 and 3 repeat.

``n`` and ``n_flagged`` obey the same relations with the same known cells, so hiding a row hides
both, and with them every value derived from them (proportion, interval, effective n).

Cost
----
The rules re-examine only the relations of the cell just hidden. The exact check is skipped when
steps 1 and 2 hide no cell and no residual is below ``min_n`` (only such cells can be exposed),
and its answer is reused for tables with the same shape and the same unknown cells (measures of a
wave often share them); neither shortcut changes a pattern. The SVDs run on one BLAS thread for
the duration of a call. Measured on 2 cores (CPU time): 1,000,000 respondents in 20 areas x 6
grades x F/M, 171 tables with nothing to hide, 0.2 s in all; the demo city (10 areas, about 12,000
pupils a wave, 57 tables a wave with about a third of the rows hidden) 0.3 to 0.5 s a wave; its
participation cube (10 areas x 20 schools x 6 grades x F/M) 0.1 to 0.4 s.

Zeros
-----
A cell with ``n == 0`` is published: an empty group reveals nobody, and zeros are never chosen as
complementary cells (a hidden zero adds nothing to an unknown total). Zero cells, including zero
residuals, are treated as known to the reader in every check, which is conservative: a reader can
often pin them (a published total of 0, or non-negativity). A consequence is that a hidden cell is
known to be at least 1. A published zero next to a suppressed cell can make that cell equal to a
published total; the rules and the exact check see this because the zero counts as known.

Limits
------
- Only exact (linear) recovery is prevented. Counts are also non-negative, and a reader can derive
  intervals from that (linear programming). The minimum-total rule keeps the simplest bounds wide,
  but no interval audit is made: an unusual pattern may give a small hidden cell a narrow interval.
- Each ``within`` table is protected on its own. Tables that share people in other ways (other
  measures' ``n`` of the same group, earlier waves, tables by school published elsewhere) are not
  protected jointly. Dropping rows from a suppressed table never weakens it, so suppress the full
  cube and drop breakdowns you do not want to show afterwards.
- ``suppression_reason`` tells a reader that a ``primary`` cell holds 1 to ``min_n - 1`` people and
  a ``complementary`` cell at least ``min_n``; together with a relation's known total that can
  narrow a small cell's range. Keep the column out of what readers see (:func:`mask_for_display`
  drops it; :func:`check_disclosure` reports it).
- Attribute disclosure is not handled: a published cell with ``pct`` of 0 or 1 tells something
  about every member of the group (no top-coding is done).
- Weighted data: suppression uses the unweighted ``n``. Weighted ``n_flagged`` is additive and
  protected by the same relations; weighted proportions and Kish ``n_eff`` are blanked with the row.
  Knowledge of the weights themselves is not modelled.
- The table must hold every combination of codes, margins included (:func:`add_margins` builds
  them for count tables). Missing rows raise an error rather than being guessed as zeros.
- The rules are greedy: the pattern is safe, not the smallest possible.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ctc_helpers.i18n import check_language, t
from ctc_helpers.privacy.audit import PROBLEM_COLUMNS, audit_table
from ctc_helpers.privacy.cube import RESIDUAL_CODE, table_cubes
from ctc_helpers.privacy.rules import suppress_cube

__all__ = [
    "DEFAULT_DIMS",
    "DEFAULT_VALUE_COLS",
    "DEFAULT_WITHIN",
    "PROBLEM_COLUMNS",
    "RESIDUAL_CODE",
    "add_margins",
    "check_disclosure",
    "mask_for_display",
    "suppress_counts",
    "suppress_table",
    "suppression_footnote",
]

DEFAULT_DIMS = ("area", "grade", "sex")
DEFAULT_WITHIN = ("wave", "measure")
DEFAULT_VALUE_COLS = ("n", "n_flagged", "pct", "ci_low", "ci_high", "n_eff", "pct_level2")
PERCENT_COLS = ("pct", "ci_low", "ci_high", "pct_level2")

# The exact check runs many small SVDs. BLAS threads make each one cost several times more CPU,
# and on busy cores far more (the demo city's three waves, 2 busy cores: 44 s instead of 7.5 s), so
# suppress_table and check_disclosure run them on one BLAS thread for the duration of the call.
_BLAS_THREADS = 1


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def suppress_table(
    table: pd.DataFrame,
    *,
    min_n: int = 10,
    dims: Sequence[str] = DEFAULT_DIMS,
    within: Sequence[str] = DEFAULT_WITHIN,
    total: str = "all",
    size_col: str = "n",
    value_cols: Sequence[str] = DEFAULT_VALUE_COLS,
) -> pd.DataFrame:
    """Hide small groups and every cell that would let one be recovered by subtraction.

    Parameters
    ----------
    table : pandas.DataFrame
        Unsuppressed tidy table with one row per combination of ``within`` and ``dims`` codes,
        margins included (code ``total``). Not modified.
    min_n : int, default 10
        Smallest group size that may be shown.
    dims : sequence of str
        Columns forming the cube; ``total`` marks the margin in each.
    within : sequence of str
        Columns whose combinations are protected as independent tables (may be empty).
    total : str, default "all"
        Code of the margin rows.
    size_col : str, default "n"
        Unweighted group size; the rule is applied to it.
    value_cols : sequence of str
        Columns blanked (NaN) in suppressed rows; columns absent from ``table`` are ignored.

    Returns
    -------
    pandas.DataFrame
        A copy of ``table`` (same index and row order) with the present ``value_cols`` as float64
        (integer counts become float so that NaN can mark a hidden value) and two new columns:

        - ``suppressed`` (bool): the row's values are hidden.
        - ``suppression_reason`` (str): ``""``, ``"primary"`` (0 < n < min_n) or
          ``"complementary"`` (hidden to protect another cell).

    Raises
    ------
    ValueError
        If a column is missing, ``size_col`` has missing or negative values, a combination of
        codes is missing or duplicated, or parts add up to more than their total.

    Examples
    --------
    >>> t = pd.DataFrame({"area": ["a", "b", "c", "all"], "n": [4, 30, 40, 74]})
    >>> out = suppress_table(t, dims=("area",), within=())
    >>> out["suppression_reason"].tolist()
    ['primary', 'complementary', '', '']
    >>> out["n"].tolist()
    [nan, nan, 40.0, 74.0]
    """
    _check_options(table, min_n=min_n, dims=dims, within=within, size_col=size_col)
    hidden = np.zeros(len(table), dtype=bool)
    fixed_by_pattern: dict = {}  # shared by the tables: many have the same unknown cells
    cubes = table_cubes(table, dims=dims, within=within, total=total, size_col=size_col)
    with threadpool_limits(limits=_BLAS_THREADS, user_api="blas"):
        for rows, cube in cubes:
            hidden[rows] = suppress_cube(cube, min_n=min_n, cache=fixed_by_pattern)[cube.row_cells]
    return _apply_suppression(table, hidden, min_n=min_n, size_col=size_col, value_cols=value_cols)


def suppress_counts(
    frame: pd.DataFrame,
    *,
    count_col: str,
    dims: Sequence[str],
    total: str = "all",
    min_n: int = 10,
    within: Sequence[str] = (),
) -> pd.DataFrame:
    """Suppress a simple count table (a count below ``min_n`` is itself a small group).

    The table must hold the full cube with margins; build it with :func:`add_margins` when only
    the detailed rows exist, so that totals published elsewhere cannot be used for subtraction.
    Put categories that overlap (a respondent can fail several validity rules) in ``within``, not
    in ``dims``: the parts of a total must be disjoint.

    Parameters
    ----------
    frame : pandas.DataFrame
        Count table with one row per combination of ``within`` and ``dims`` codes. Not modified.
    count_col : str
        The count column (blanked where suppressed).
    dims, total, min_n, within
        As in :func:`suppress_table`.

    Returns
    -------
    pandas.DataFrame
        A copy with ``count_col`` as float64 (NaN where hidden), ``suppressed`` and
        ``suppression_reason`` (see :func:`suppress_table`).

    Examples
    --------
    >>> leaf = pd.DataFrame({"school": ["s1", "s1", "s2", "s2"], "sex": ["F", "M"] * 2,
    ...                      "n": [12, 3, 20, 25]})
    >>> full = add_margins(leaf, dims=("school", "sex"), value_cols=("n",))
    >>> out = suppress_counts(full, count_col="n", dims=("school", "sex"))
    >>> int(out["suppressed"].sum())
    4
    """
    return suppress_table(
        frame,
        min_n=min_n,
        dims=dims,
        within=within,
        total=total,
        size_col=count_col,
        value_cols=(count_col,),
    )


def check_disclosure(
    original: pd.DataFrame,
    published: pd.DataFrame,
    *,
    min_n: int = 10,
    dims: Sequence[str] = DEFAULT_DIMS,
    within: Sequence[str] = DEFAULT_WITHIN,
    total: str = "all",
    size_col: str = "n",
    value_cols: Sequence[str] = DEFAULT_VALUE_COLS,
) -> pd.DataFrame:
    """List every way a published table shows or lets a reader recover a small group.

    The auditor needs the true counts, so it takes the unsuppressed ``original`` and the
    ``published`` table (from :func:`suppress_table` or any other source, matched on the
    ``within`` and ``dims`` columns). A row counts as shown when any of the ``value_cols`` present
    in ``published`` is not missing (a proportion or an interval reveals roughly the same as the
    count); empty strings and the marker "–" of a display copy count as hidden, and so do rows
    absent from ``published``. Zero cells count as known.

    Parameters
    ----------
    original : pandas.DataFrame
        Unsuppressed table, complete cube with margins.
    published : pandas.DataFrame
        What readers see. Not modified.
    min_n, dims, within, total, size_col, value_cols
        As in :func:`suppress_table`.

    Returns
    -------
    pandas.DataFrame
        One row per problem (empty when the table is safe), columns ``within`` and ``dims`` (codes
        of the cell; ``"(other)"`` marks a residual), then:

        - ``problem``: ``small_cell_shown`` (a shown cell with 0 < n < min_n),
          ``recoverable`` (a hidden cell whose ``n`` and ``n_flagged`` follow from shown cells),
          ``residual_recoverable`` (an unpublished residual with 0 < n < min_n that follows from
          shown cells), ``relation_total_too_small`` (a shown total whose hidden parts and residual
          add up to 0 < n < min_n), ``suppressed_but_shown`` (``suppressed`` is True but values
          are shown) or ``reason_shown`` (the ``suppression_reason`` column is published).
        - ``relation_dim``: the dim of the relation (``relation_total_too_small``), else ``""``.
        - ``n``: the true count of the cell or the hidden sum.
        - ``detail``: an English sentence.

    Examples
    --------
    >>> t = pd.DataFrame({"area": ["a", "b", "all"], "n": [4, 30, 34]})
    >>> check_disclosure(t, t, dims=("area",), within=())["problem"].tolist()
    ['small_cell_shown']
    """
    _check_options(original, min_n=min_n, dims=dims, within=within, size_col=size_col)
    with threadpool_limits(limits=_BLAS_THREADS, user_api="blas"):
        return audit_table(
            original,
            published,
            min_n=min_n,
            dims=dims,
            within=within,
            total=total,
            size_col=size_col,
            value_cols=value_cols,
        )


def add_margins(
    frame: pd.DataFrame,
    *,
    dims: Sequence[str],
    value_cols: Sequence[str],
    total: str = "all",
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Complete a count table to the full cube and add every margin row.

    Combinations of codes absent from ``frame`` get 0 (a count table built by grouping has no row
    for an empty group). Margin rows sum the detailed rows. To keep a category in the totals but
    not as a row of its own (sex ``U``), drop its rows after adding the margins.

    Parameters
    ----------
    frame : pandas.DataFrame
        Detailed rows, no ``total`` codes yet. Not modified.
    dims : sequence of str
        Columns to add margins over.
    value_cols : sequence of str
        Additive columns (counts, weighted sums) to add up.
    total : str, default "all"
        Code of the margin rows.
    by : sequence of str
        Columns kept as they are (for example ``wave``); margins are added within each value.

    Returns
    -------
    pandas.DataFrame
        Columns ``by``, ``dims`` (as object) and ``value_cols``, one row per combination of codes
        and margins, sorted. Other columns of ``frame`` are dropped.

    Examples
    --------
    >>> leaf = pd.DataFrame({"area": ["a", "b"], "sex": ["F", "M"], "n": [3, 5]})
    >>> add_margins(leaf, dims=("area", "sex"), value_cols=("n",)).shape
    (9, 3)
    """
    _check_margin_input(frame, dims=dims, value_cols=value_cols, total=total, by=by)
    leaf = _complete_leaves(frame, dims=list(dims), value_cols=list(value_cols), by=list(by))
    parts = [leaf]
    for size in range(1, len(dims) + 1):
        for summed in combinations(dims, size):
            keep = [*by, *(d for d in dims if d not in summed)]
            parts.append(
                _sum_over(leaf, keep=keep, value_cols=list(value_cols), total=total, dims=summed)
            )
    out = pd.concat(parts, ignore_index=True)[[*by, *dims, *value_cols]]
    order = [*by, *dims]
    return out.sort_values(order, key=lambda col: _margin_last(col, total, dims)).reset_index(
        drop=True
    )


def suppression_footnote(*, min_n: int = 10, lang: str = "sv") -> str:
    """Footnote explaining the suppression marker, e.g. ``"– färre än 10 svar eller för få med svaret, eller dolt så att en liten grupp inte kan räknas fram"``.

    Examples
    --------
    >>> suppression_footnote(min_n=10, lang="en")
    '– fewer than 10 answers or too few with the answer, or hidden so that a small group cannot be worked out'
    """
    lang = check_language(lang)
    return f"{t('suppressed_marker', lang)} {t('suppressed_note', lang, min_n=min_n)}"


def mask_for_display(
    table: pd.DataFrame,
    *,
    lang: str = "sv",
    min_n: int = 10,
    value_cols: Sequence[str] = DEFAULT_VALUE_COLS,
) -> pd.DataFrame:
    """Display copy of a suppressed table: text values, markers for hidden cells.

    Proportions (``pct``, ``ci_low``, ``ci_high``, ``pct_level2``) become whole percentages
    (``0.374`` -> ``"37"``, half rounds up), other value columns whole numbers, hidden values the
    marker ``"–"``, missing values that are not suppressed ``""``. ``suppression_reason`` is
    dropped (it would tell readers which hidden cells are small). The footnote text is in
    ``attrs["footnote"]`` (see :func:`suppression_footnote`).

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`suppress_table`. Not modified.
    lang : {"sv", "en"}
        Language of the marker and footnote (texts from ``data_schema/i18n.yaml``).
    min_n : int, default 10
        The minimum used for suppression (shown in the footnote).
    value_cols : sequence of str
        Columns to format; absent ones are ignored.

    Returns
    -------
    pandas.DataFrame
        Same rows; value columns as str; without ``suppression_reason``.

    Examples
    --------
    >>> t = pd.DataFrame({"n": [12.0, None], "pct": [0.375, None], "suppressed": [False, True]})
    >>> mask_for_display(t, lang="en").to_dict("list")
    {'n': ['12', '–'], 'pct': ['38', '–'], 'suppressed': [False, True]}
    """
    lang = check_language(lang)
    if "suppressed" not in table.columns:
        raise ValueError(
            "mask_for_display needs the column 'suppressed'; run suppress_table on the table first."
        )
    hidden = table["suppressed"].astype(bool).to_numpy()
    formatted = {
        col: _format_column(
            table[col], hidden, percent=col in PERCENT_COLS, marker=t("suppressed_marker", lang)
        )
        for col in value_cols
        if col in table.columns
    }
    out = table.drop(columns=["suppression_reason"], errors="ignore").assign(**formatted)
    out.attrs = {**table.attrs, "footnote": suppression_footnote(min_n=min_n, lang=lang)}
    return out


# --------------------------------------------------------------------------------------------
# Validation and grouping
# --------------------------------------------------------------------------------------------


def _check_options(
    table: pd.DataFrame, *, min_n: int, dims: Sequence[str], within: Sequence[str], size_col: str
) -> None:
    if isinstance(min_n, bool) or not isinstance(min_n, (int, np.integer)) or min_n < 1:
        raise ValueError(f"min_n must be a whole number of at least 1, got {min_n!r}.")
    for name, cols in (("dims", dims), ("within", within)):
        if isinstance(cols, str):
            raise ValueError(
                f"{name} must be a list of column names such as ({cols!r},), not a string."
            )
    if not dims:
        raise ValueError("dims must name at least one column, e.g. ('area', 'grade', 'sex').")
    overlap = set(dims) & set(within)
    if overlap or len(set(dims)) < len(dims):
        raise ValueError(f"dims {list(dims)} and within {list(within)} must name distinct columns.")
    missing = [c for c in (*within, *dims, size_col) if c not in table.columns]
    if missing:
        raise ValueError(
            f"Column(s) {missing} not found in the table; it has {list(table.columns)}. "
            "Pass within=/dims=/size_col= to match the table."
        )
    _check_sizes(table[size_col], size_col)
    for d in dims:
        if table[d].isna().any():
            raise ValueError(
                f"Column {d!r} has {int(table[d].isna().sum())} row(s) without a code. Give them a "
                "code, or drop the rows (people without a code still count in the totals)."
            )


def _check_sizes(sizes: pd.Series, size_col: str) -> None:
    values = pd.to_numeric(sizes, errors="coerce")
    bad = values.isna() & sizes.notna()
    if bad.any():
        raise ValueError(f"Column {size_col!r} must hold numbers; found {sizes[bad].iloc[0]!r}.")
    if values.isna().any():
        raise ValueError(
            f"Column {size_col!r} has {int(values.isna().sum())} missing value(s). Suppress the "
            "table before any value is blanked: every group size must be known."
        )
    if (values < 0).any():
        raise ValueError(f"Column {size_col!r} has negative values, e.g. {values.min()}.")


def _apply_suppression(table, hidden, *, min_n, size_col, value_cols) -> pd.DataFrame:
    sizes = pd.to_numeric(table[size_col]).to_numpy(dtype=float)
    primary = (sizes > 0) & (sizes < min_n)
    reason = np.where(~hidden, "", np.where(primary, "primary", "complementary"))
    blanked = {
        col: pd.to_numeric(table[col]).astype(float).mask(hidden)
        for col in value_cols
        if col in table.columns
    }
    return table.assign(**blanked, suppressed=hidden, suppression_reason=reason)


# --------------------------------------------------------------------------------------------
# Margins and display
# --------------------------------------------------------------------------------------------


def _check_margin_input(frame, *, dims, value_cols, total, by) -> None:
    for name, cols in (("dims", dims), ("value_cols", value_cols), ("by", by)):
        if isinstance(cols, str):
            raise ValueError(
                f"{name} must be a list of column names such as ({cols!r},), not a string."
            )
    missing = [c for c in (*by, *dims, *value_cols) if c not in frame.columns]
    if missing:
        raise ValueError(f"Column(s) {missing} not found; the frame has {list(frame.columns)}.")
    for d in dims:
        if frame[d].isna().any():
            raise ValueError(f"Column {d!r} has rows without a code; give them a code first.")
        if (frame[d].astype(object) == total).any():
            raise ValueError(
                f"Column {d!r} already holds the margin code {total!r}; pass only detailed rows."
            )
    for c in value_cols:
        if frame[c].isna().any():
            raise ValueError(f"Column {c!r} has missing values; counts must be complete.")


def _complete_leaves(frame, *, dims, value_cols, by) -> pd.DataFrame:
    data = frame[[*by, *dims, *value_cols]].astype({d: object for d in dims})
    sums = data.groupby([*by, *dims], dropna=False, sort=False)[value_cols].sum().reset_index()
    grid = data[by].drop_duplicates() if by else pd.DataFrame(index=[0])
    for d in dims:
        grid = grid.merge(pd.DataFrame({d: pd.unique(data[d])}), how="cross")
    leaf = grid.merge(sums, on=[*by, *dims], how="left")
    filled = leaf[value_cols].fillna(0).astype(frame[value_cols].dtypes.to_dict())
    return leaf.assign(**{c: filled[c] for c in value_cols})


def _sum_over(leaf, *, keep, value_cols, total, dims) -> pd.DataFrame:
    if keep:
        summed = leaf.groupby(keep, dropna=False, sort=False)[value_cols].sum().reset_index()
    else:
        summed = leaf[value_cols].sum().to_frame().T.astype(leaf[value_cols].dtypes.to_dict())
    return summed.assign(**{d: total for d in dims})


def _margin_last(column: pd.Series, total: str, dims: Sequence[str]) -> pd.Series:
    """Sort key: codes as text with the margin code last (other columns unchanged)."""
    if column.name not in dims:
        return column
    text = column.astype(str)
    return text.mask(column.astype(object) == total, "\U0010ffff")


def _format_column(
    values: pd.Series, hidden: np.ndarray, *, percent: bool, marker: str
) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    scaled = numbers * 100 if percent else numbers
    rounded = np.floor(scaled + 0.5)
    text = [
        marker if hide else ("" if np.isnan(x) else f"{x:.0f}")
        for hide, x in zip(hidden, rounded, strict=True)
    ]
    return pd.Series(text, index=values.index, dtype=object)
