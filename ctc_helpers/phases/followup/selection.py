"""The rows a follow-up compares: one group (area, grade, sex) of the tidy aggregate table over
its waves, the measures shown, and small or suppressed groups hidden.

Every function reads the tidy aggregate table (``docs/ARCHITECTURE.md``; in notebooks the
published, suppressed one) and returns rows of it; a code or measure that is not in the table is
an error that lists the ones that are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ctc_helpers.vocab import MEASURE_KINDS

__all__ = [
    "up_to",
    "check_codes",
    "measure_mask",
    "group_rows",
    "hide_small",
    "waves_of",
    "cutpoint_versions",
]


def up_to(aggregates: pd.DataFrame, last_wave: int | None) -> pd.DataFrame:
    """The waves up to ``last_wave`` (all waves when None)."""
    return aggregates if last_wave is None else aggregates.loc[aggregates["wave"] <= last_wave]


def check_codes(aggregates: pd.DataFrame, **codes: str) -> None:
    for column, code in codes.items():
        if not aggregates[column].eq(code).any():
            known = ", ".join(sorted(map(str, aggregates[column].unique())))
            raise ValueError(f"The aggregate table has no {column} {code!r}; it has: {known}.")


def measure_mask(
    aggregates: pd.DataFrame,
    *,
    include: Sequence[str] | None,
    kinds: Sequence[str] | None,
    table: pd.DataFrame | None = None,
) -> pd.Series:
    """Rows of the measures shown (``include`` ids and/or ``kinds``); readable errors.

    ``table``: the whole table the rows come from, whose measures ``include`` is checked
    against (default: ``aggregates`` itself).
    """
    keep = pd.Series(True, index=aggregates.index)
    if include is not None:
        known = aggregates if table is None else table
        unknown = sorted(set(include) - set(known["measure"]))
        if unknown:
            raise ValueError(
                f"The aggregate table has no measure {', '.join(map(repr, unknown))}; known"
                f" measures: {', '.join(sorted(known['measure'].unique()))}."
            )
        keep &= aggregates["measure"].isin(list(include))
    if kinds is not None:
        wrong = [k for k in kinds if k not in MEASURE_KINDS]
        if wrong:
            raise ValueError(f"kinds has {wrong[0]!r}; choose from: {', '.join(MEASURE_KINDS)}.")
        keep &= aggregates["measure_kind"].isin(list(kinds))
    return keep


def group_rows(
    aggregates: pd.DataFrame,
    *,
    area: str,
    grade: str,
    sex: str,
    include: Sequence[str] | None,
    kinds: Sequence[str] | None,
) -> pd.DataFrame:
    """Rows of one group (all waves), restricted to the measures shown.

    Each code narrows the row positions kept so far (a report selects from the whole city's
    table); a code found nowhere in the table is an error, as in :func:`check_codes`.
    """
    positions = np.arange(len(aggregates))
    for column, code in (("area", area), ("grade", grade), ("sex", sex)):
        values = aggregates[column].to_numpy()
        positions = positions[values[positions] == code]
        if not len(positions):
            check_codes(aggregates, **{column: code})
    rows = aggregates.iloc[positions]
    return rows.loc[measure_mask(rows, include=include, kinds=kinds, table=aggregates)]


def hide_small(rows: pd.DataFrame, min_n: int) -> pd.DataFrame:
    """Mark (and blank) the values of suppressed groups and of groups smaller than ``min_n``."""
    hidden = (
        rows["suppressed"].fillna(True).astype(bool) | rows["pct"].isna() | ~(rows["n"] >= min_n)
    )
    values = [c for c in ("n", "n_flagged", "pct", "ci_low", "ci_high", "n_eff") if c in rows]
    return rows.assign(suppressed=hidden, **{c: rows[c].astype(float).mask(hidden) for c in values})


def waves_of(rows: pd.DataFrame) -> list[int]:
    """The waves of some rows, oldest first."""
    return sorted(int(w) for w in rows["wave"].unique())


def cutpoint_versions(rows: pd.DataFrame, wave: int) -> pd.Series:
    """The cut-point version of each measure in one wave (``""`` when none is recorded)."""
    one = rows.loc[rows["wave"].eq(wave)].set_index("measure")
    return one["cutpoint_version"].fillna("").astype(str)
