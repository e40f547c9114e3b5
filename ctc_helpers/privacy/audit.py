"""The auditor behind :func:`ctc_helpers.privacy.suppress.check_disclosure`.

Private helper of :mod:`ctc_helpers.privacy.suppress`. It checks a published table against the true counts
with the full exact test (no shortcut of the suppression is used), so it can audit tables
suppressed by any means.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ctc_helpers.i18n import LANGUAGES, t
from ctc_helpers.privacy.cube import cell_codes, table_cubes
from ctc_helpers.privacy.rules import span_of, unknown_cells

PROBLEM_COLUMNS = ("problem", "relation_dim", "n", "detail")


def audit_table(
    original: pd.DataFrame,
    published: pd.DataFrame,
    *,
    min_n: int,
    dims: Sequence[str],
    within: Sequence[str],
    total: str,
    size_col: str,
    value_cols: Sequence[str],
) -> pd.DataFrame:
    """One row per problem (see :func:`ctc_helpers.privacy.suppress.check_disclosure`)."""
    shown = _shown_rows(original, published, keys=[*within, *dims], value_cols=value_cols)
    problems = _published_column_problems(
        original, published, shown, within=within, dims=dims, size_col=size_col
    )
    cubes = table_cubes(original, dims=dims, within=within, total=total, size_col=size_col)
    for rows, cube in cubes:
        keys = {c: original[c].iloc[rows[0]] for c in within}
        problems += _audit_cube(cube, shown[rows], min_n=min_n, keys=keys, dims=dims, total=total)
    return pd.DataFrame(problems, columns=[*within, *dims, *PROBLEM_COLUMNS])


def _shown_rows(original, published, *, keys, value_cols) -> np.ndarray:
    missing = [c for c in keys if c not in published.columns]
    if missing:
        raise ValueError(f"The published table lacks the key column(s) {missing}.")
    values = published[[c for c in value_cols if c in published.columns]]
    markers = ["", *(t("suppressed_marker", lang) for lang in LANGUAGES)]
    shown = (values.notna() & ~values.isin(markers)).any(axis=1)
    flags = published[keys].assign(_shown=shown)
    for name, frame in (("original", original), ("published", flags)):
        if frame.duplicated(keys).any():
            raise ValueError(f"The {name} table has more than one row per combination of {keys}.")
    merged = original[keys].merge(flags, on=keys, how="left", validate="one_to_one", indicator=True)
    extra = len(flags) - int((merged["_merge"] == "both").sum())
    if extra:
        raise ValueError(f"The published table has {extra} row(s) that are not in the original.")
    return merged["_shown"].eq(True).to_numpy()


def _published_column_problems(original, published, shown, *, within, dims, size_col) -> list[dict]:
    problems = []
    if (
        "suppression_reason" in published.columns
        and published["suppression_reason"].isin(["primary", "complementary"]).any()
    ):
        problems.append(
            _problem(
                {},
                {},
                "reason_shown",
                "",
                np.nan,
                "The column suppression_reason tells readers which hidden cells are small.",
            )
        )
    if "suppressed" in published.columns:
        keys = [*within, *dims]
        flagged = published[keys].assign(_flag=published["suppressed"].astype(bool))
        merged = original[keys].merge(flagged, on=keys, how="left")
        bad = merged["_flag"].eq(True).to_numpy() & shown
        for i in np.flatnonzero(bad):
            row = original.iloc[i]
            problems.append(
                _problem(
                    {c: row[c] for c in within},
                    {d: row[d] for d in dims},
                    "suppressed_but_shown",
                    "",
                    float(row[size_col]),
                    "The row is marked suppressed but values are shown.",
                )
            )
    return problems


def _audit_cube(cube, shown_rows, *, min_n, keys, dims, total) -> list[dict]:
    values, layout = cube.values, cube.layout
    shown = np.zeros(len(values), dtype=bool)
    shown[cube.row_cells] = shown_rows
    problems = []

    def codes(cell):
        found = cell_codes(cell, cube.codes, cube.dims, total, layout)
        return {d: found.get(d, total) for d in dims}

    for cell in cube.row_cells[shown_rows]:
        if 0 < values[cell] < min_n:
            problems.append(
                _problem(
                    keys,
                    codes(cell),
                    "small_cell_shown",
                    "",
                    values[cell],
                    f"A group of {values[cell]:g} (< {min_n}) is shown.",
                )
            )
    if layout is None:
        return problems
    hidden_published = ~layout.hidden & ~shown & (values > 0)
    unknown = unknown_cells(values, hidden_published, layout)
    span = span_of(layout, np.flatnonzero(unknown))
    for cell in span.ids[span.determined()]:
        if not layout.hidden[cell]:
            problems.append(
                _problem(
                    keys,
                    codes(cell),
                    "recoverable",
                    "",
                    values[cell],
                    "Hidden n and n_flagged can be computed from shown cells.",
                )
            )
        elif values[cell] < min_n:
            problems.append(
                _problem(
                    keys,
                    codes(cell),
                    "residual_recoverable",
                    "",
                    values[cell],
                    f"An unpublished rest of {values[cell]:g} (< {min_n}) can be "
                    "computed from shown cells.",
                )
            )
    for dim, lines, all_hidden in zip(cube.dims, layout.lines, layout.line_hidden, strict=True):
        parts = np.where(unknown[lines[:, :-1]], values[lines[:, :-1]], 0.0).sum(axis=1)
        several = unknown[lines].sum(axis=1) > 1  # a lone unknown is reported as recoverable
        bad = ~all_hidden & several & ~unknown[lines[:, -1]] & (parts > 0) & (parts < min_n)
        for line, hidden_sum in zip(lines[bad], parts[bad], strict=True):
            problems.append(
                _problem(
                    keys,
                    codes(line[-1]),
                    "relation_total_too_small",
                    dim,
                    hidden_sum,
                    f"The hidden parts of this total along {dim} add "
                    f"up to {hidden_sum:g} (< {min_n}).",
                )
            )
    return problems


def _problem(keys, codes, problem, relation_dim, n, detail) -> dict:
    return {
        **keys,
        **codes,
        "problem": problem,
        "relation_dim": relation_dim,
        "n": float(n),
        "detail": detail,
    }
