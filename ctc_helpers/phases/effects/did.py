"""Difference-in-differences at area level, adjusted for the grade x sex mix of each wave.

The data are the cells of one measure: area x wave x grade x sex with ``n`` pupils and the share
``y`` flagged (at risk, with protection, or reporting the behaviour). The model is weighted least
squares on the cells (weights ``n``), which gives exactly the coefficients of ordinary least
squares on the pupils' 0/1 answers::

    y[a, t, g, s] = alpha[a] + gamma[group(a), t] + delta[g, s] + tau[a, t] * D[a, t] + error

with area fixed effects ``alpha``, wave fixed effects ``gamma`` (one set per comparison group when
groups are used, so CTC areas are compared only with their own group's comparison areas),
grade x sex fixed effects ``delta`` (the adjustment for the mix of each wave) and one effect
``tau[a, t]`` for every CTC area in every wave after its start (``D = 1``). The estimate is the
pupil-weighted mean of those effects, the average effect in the CTC areas after their start in
percentage points (shares here; the views multiply by 100). Because each CTC area-wave has its
own effect, areas that start in different years are compared only with areas that have not
started (no "forbidden comparisons" of a single treatment dummy), and the estimate splits
exactly into the change in the CTC areas minus the change in the comparison areas.

The fixed effects are concentrated out once (Frisch-Waugh-Lovell): :class:`Panel` holds the
area-wave indicator columns with the fixed effects removed, so the estimate for *any* set of
CTC areas is a small linear solve. The randomisation inference in :mod:`.inference` re-estimates
it for every assignment of CTC status this way.

Examples
--------
>>> cells = pd.DataFrame({"area": list("aabbccdd") * 2, "wave": [2021] * 8 + [2023] * 8,
...     "grade": ["ak8", "ak9"] * 8, "sex": "all", "n": 50,
...     "pct": [.20, .30, .22, .32, .18, .28, .21, .31, .10, .20, .22, .32, .08, .18, .21, .31]})
>>> from ctc_helpers.phases.effects.design import build_design
>>> design = build_design(pd.DataFrame({"area": list("abcd"), "ctc_start": [2022, None, 2022,
...     None], "comparison_group": ""}), waves=[2021, 2023])
>>> round(estimate_did(fit_panel(prepare_cells(cells), design), design).att, 3)
-0.1
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctc_helpers.i18n import t
from ctc_helpers.phases.effects.design import COMPARISON, Design
from ctc_helpers.vocab import TOTAL

__all__ = [
    "CELL_COLUMNS",
    "NO_EVENT",
    "Panel",
    "DidEstimate",
    "prepare_cells",
    "fit_panel",
    "event_index",
    "column_events",
    "observed_starts",
    "solve_targets",
    "estimate_did",
    "adjusted_means",
]

CELL_COLUMNS = ("area", "wave", "cell", "n", "y")
NO_EVENT = -10_000  # event index of a comparison area's wave
_RANK_TOL = 1e-10


# --------------------------------------------------------------------------------------------
# Cells


def prepare_cells(
    frame: pd.DataFrame, *, measure: str | None = None, lang: str | None = None
) -> pd.DataFrame:
    """The leaf cells of one measure from a tidy table (private or published aggregates).

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``area, wave, n`` and ``n_flagged`` or ``pct``; optional ``grade, sex``
        (``"all"`` = total) and ``measure``. Rows of the whole city (``area == "all"``) are
        dropped; the finest breakdown present is used (grade x sex, else grade or sex alone,
        else the area totals: no mix adjustment). Hidden rows (``n`` or the share missing, as
        in published tables) and empty cells are left out.
    measure : str, optional
        Keep only this measure (``frame`` must then have a ``measure`` column).
    lang : str, optional
        Language of error messages.

    Returns
    -------
    pandas.DataFrame
        ``area`` (str), ``wave`` (int), ``cell`` (``"<grade>|<sex>"``), ``n`` (float), ``y``
        (share flagged, 0..1), one row per cell.

    Raises
    ------
    KeyError
        If a needed column is missing (the message names it and the columns needed).
    """
    needed = ["area", "wave", "n"] + (["measure"] if measure is not None else [])
    share = "n_flagged" if "n_flagged" in frame.columns else "pct"
    missing = [c for c in [*needed, share] if c not in frame.columns]
    if missing:
        raise KeyError(
            t("effects_error_columns", lang, column=missing[0],
              needed="area, wave, n, n_flagged/pct (grade, sex, measure)")
        )  # fmt: skip
    rows = frame if measure is None else frame.loc[frame["measure"].eq(measure)]
    rows = rows.loc[rows["area"].astype(str).ne(TOTAL)]
    grade = rows["grade"].astype(str) if "grade" in rows.columns else pd.Series(TOTAL, rows.index)
    sex = rows["sex"].astype(str) if "sex" in rows.columns else pd.Series(TOTAL, rows.index)
    levels = [grade.ne(TOTAL) & sex.ne(TOTAL), grade.ne(TOTAL) & sex.eq(TOTAL),
              grade.eq(TOTAL) & sex.ne(TOTAL), grade.eq(TOTAL) & sex.eq(TOTAL)]  # fmt: skip
    keep = next((level for level in levels if level.any()), levels[-1])
    n = pd.to_numeric(rows["n"], errors="coerce").astype(float)
    flagged = pd.to_numeric(rows[share], errors="coerce").astype(float)
    y = flagged / n.where(n > 0) if share == "n_flagged" else flagged
    cells = pd.DataFrame(
        {
            "area": rows["area"].astype(str),
            "wave": pd.to_numeric(rows["wave"]).astype(int),
            "cell": grade + "|" + sex,
            "n": n,
            "ny": n * y,
        }
    ).loc[keep & (n > 0) & y.notna()]
    summed = cells.groupby(["area", "wave", "cell"], as_index=False, sort=True)[["n", "ny"]].sum()
    return summed.assign(y=summed["ny"] / summed["n"])[list(CELL_COLUMNS)]


# --------------------------------------------------------------------------------------------
# The panel with the fixed effects concentrated out


@dataclass(frozen=True, eq=False)
class Panel:
    """The cells of one measure in one design, ready for fast re-estimation.

    Arrays are per cell (``cell_*``, ``n``, ``y``, ``sw = sqrt(n)``) or per area-wave column
    (``col_*``, ``col_n``). ``basis`` is an orthonormal basis of the weighted fixed-effect
    columns; ``resid`` holds the weighted area-wave indicators with the fixed effects removed
    and ``gram = resid.T @ resid``.
    """

    areas: tuple[str, ...]
    waves: tuple[int, ...]
    cell_types: tuple[str, ...]
    cell_area: np.ndarray
    cell_wave: np.ndarray
    cell_type: np.ndarray
    cell_col: np.ndarray
    n: np.ndarray
    y: np.ndarray
    sw: np.ndarray
    col_area: np.ndarray
    col_wave: np.ndarray
    col_n: np.ndarray
    strata: np.ndarray
    fixed: np.ndarray
    basis: np.ndarray
    resid: np.ndarray
    gram: np.ndarray

    @property
    def n_cells(self) -> int:
        return len(self.n)

    def residualise(self, weighted: np.ndarray) -> np.ndarray:
        """Remove the fixed effects from weighted columns (``sqrt(n) * v``)."""
        return weighted - self.basis @ (self.basis.T @ weighted)

    def project(self, values: np.ndarray) -> np.ndarray:
        """``resid.T @ (sqrt(n) * v)`` for cell vectors (columns of ``values``)."""
        return self.resid.T @ (self.sw[:, None] * values.reshape(self.n_cells, -1))

    def cells_of(self, columns: np.ndarray) -> np.ndarray:
        """0/1 cell vector: the cells of the given area-wave columns."""
        return np.isin(self.cell_col, columns).astype(float)


def fit_panel(cells: pd.DataFrame, design: Design) -> Panel:
    """Build the :class:`Panel` of one measure's cells (:func:`prepare_cells`) for a design.

    Cells of areas or waves outside the design are ignored.
    """
    inside = cells.loc[cells["area"].isin(design.areas) & cells["wave"].isin(design.waves)]
    areas = tuple(a for a in design.areas if a in set(inside["area"]))
    waves = tuple(w for w in design.waves if w in set(inside["wave"]))
    types = tuple(sorted(set(inside["cell"])))
    cell_area = pd.Categorical(inside["area"], categories=areas).codes.astype(int)
    cell_wave = pd.Categorical(inside["wave"], categories=waves).codes.astype(int)
    cell_type = pd.Categorical(inside["cell"], categories=types).codes.astype(int)
    n, y = inside["n"].to_numpy(float), inside["y"].to_numpy(float)
    stratum_names = list(dict.fromkeys(design.strata[a] for a in areas))
    strata = np.array([stratum_names.index(design.strata[a]) for a in areas], dtype=int)
    key = cell_area * len(waves) + cell_wave
    present, cell_col = np.unique(key, return_inverse=True)
    sw = np.sqrt(n)
    fixed = _fixed_effects(cell_area, cell_wave, cell_type, strata, len(waves))
    basis = _orthonormal(sw[:, None] * fixed)
    indicators = np.zeros((len(n), len(present)))
    indicators[np.arange(len(n)), cell_col] = sw
    resid = indicators - basis @ (basis.T @ indicators)
    return Panel(
        areas=areas, waves=waves, cell_types=types, cell_area=cell_area, cell_wave=cell_wave,
        cell_type=cell_type, cell_col=cell_col, n=n, y=y, sw=sw,
        col_area=present // len(waves), col_wave=present % len(waves),
        col_n=np.bincount(cell_col, weights=n), strata=strata, fixed=fixed, basis=basis,
        resid=resid, gram=resid.T @ resid,
    )  # fmt: skip


def _fixed_effects(area, wave, cell_type, strata, n_waves) -> np.ndarray:
    """Dummies: area, comparison-group x wave, grade x sex (collinear; the basis drops that)."""
    columns = [area, strata[area] * n_waves + wave, cell_type]
    blocks = []
    for codes in columns:
        block = np.zeros((len(area), codes.max() + 1))
        block[np.arange(len(area)), codes] = 1.0
        blocks.append(block)
    return np.hstack(blocks)


def _orthonormal(matrix: np.ndarray) -> np.ndarray:
    u, s, _ = np.linalg.svd(matrix, full_matrices=False)
    return u[:, s > _RANK_TOL * max(s.max(initial=0.0), 1.0)]


# --------------------------------------------------------------------------------------------
# Event time and the estimate


def event_index(waves: Sequence[int], start: int) -> np.ndarray:
    """Position of each wave relative to a start year: 0, 1, ... for the surveys after it,
    -1 for the last survey before (the reference), -2, ... for earlier ones; :data:`NO_EVENT`
    for a comparison area (``start == COMPARISON``).

    >>> event_index([2019, 2021, 2023, 2025], 2022).tolist()
    [-2, -1, 0, 1]
    """
    waves = np.asarray(waves)
    if start == COMPARISON:
        return np.full(len(waves), NO_EVENT)
    after = waves > start
    return np.where(after, np.cumsum(after) - 1, -np.cumsum(~after[::-1])[::-1])


def column_events(panel: Panel, starts: np.ndarray) -> np.ndarray:
    """Event index of every area-wave column for one assignment (start per area)."""
    waves = np.asarray(panel.waves)
    table = {s: event_index(waves, int(s)) for s in np.unique(starts)}
    by_area = np.array([table[s] for s in starts])
    return by_area[panel.col_area, panel.col_wave]


def solve_targets(
    panel: Panel, events: np.ndarray, *, targets: Sequence[int] | None, rhs: np.ndarray
) -> np.ndarray:
    """Estimates of the targets for one assignment, for each right-hand side.

    ``targets=None`` is the average effect after the start (dummies on every column with event
    index >= 0). A list of event indices is the event study: dummies on every CTC column except
    the reference (-1), and one estimate per listed index (NaN when no column has it).
    ``rhs`` is ``panel.project(outcomes)``; returns shape ``(n_targets, n_outcomes)``.
    """
    if targets is None:
        chosen = np.flatnonzero((events >= 0) & (events != NO_EVENT))
        weights = panel.col_n[chosen][:, None]
    else:
        chosen = np.flatnonzero((events != NO_EVENT) & (events != -1))
        weights = np.stack([panel.col_n[chosen] * (events[chosen] == e) for e in targets], 1)
    totals = weights.sum(axis=0)
    if len(chosen) == 0 or not totals.any():
        return np.full((weights.shape[1], rhs.shape[1]), np.nan)
    tau = np.linalg.solve(panel.gram[np.ix_(chosen, chosen)], rhs[chosen])
    with np.errstate(invalid="ignore", divide="ignore"):
        return (weights / np.where(totals > 0, totals, np.nan)).T @ tau


@dataclass(frozen=True)
class DidEstimate:
    """The estimate for the observed design and its parts (shares, not percent).

    ``att``: the average effect after the start; ``change_ctc`` and ``change_comparison``: the
    mix-adjusted change in the CTC areas since before their start, and the change the comparison
    areas say would have happened anyway (``att = change_ctc - change_comparison``);
    ``by_event``: the average effect by survey after the start (index 0, 1, ...);
    ``tau``: one row per CTC area-wave after the start (``area, wave, event, n, tau``).
    """

    att: float
    change_ctc: float
    change_comparison: float
    by_event: dict[int, float]
    tau: pd.DataFrame
    n_pupils_ctc: float
    n_pupils_comparison: float
    starts: np.ndarray


def observed_starts(panel: Panel, design: Design) -> np.ndarray:
    """Start code per area of the panel (:data:`COMPARISON` for comparison areas)."""
    return np.array([COMPARISON if design.starts[a] is None else design.starts[a]
                     for a in panel.areas])  # fmt: skip


def estimate_did(panel: Panel, design: Design) -> DidEstimate:
    """The difference-in-differences estimate of the observed design.

    Raises
    ------
    numpy.linalg.LinAlgError
        If the CTC area-waves cannot be separated from the fixed effects (for example a group
        whose comparison areas have no answers in a wave).
    """
    starts = observed_starts(panel, design)
    events = column_events(panel, starts)
    treated = np.flatnonzero((events >= 0) & (events != NO_EVENT))
    rhs = panel.project(panel.y)
    tau = np.linalg.solve(panel.gram[np.ix_(treated, treated)], rhs[treated])[:, 0]
    weights = panel.col_n[treated] / panel.col_n[treated].sum()
    means = adjusted_means(panel, treated)
    change_ctc = float(weights @ (means[treated] - _before(panel, means, events)[treated]))
    att = float(weights @ tau)
    by_event = {
        int(e): float(np.average(tau[events[treated] == e], weights=weights[events[treated] == e]))
        for e in np.unique(events[treated])
    }
    is_ctc = starts[panel.col_area] != COMPARISON
    return DidEstimate(
        att=att,
        change_ctc=change_ctc,
        change_comparison=change_ctc - att,
        by_event=by_event,
        tau=pd.DataFrame(
            {
                "area": np.array(panel.areas)[panel.col_area[treated]],
                "wave": np.array(panel.waves)[panel.col_wave[treated]],
                "event": events[treated],
                "n": panel.col_n[treated],
                "tau": tau,
            }
        ),
        n_pupils_ctc=float(panel.col_n[is_ctc].sum()),
        n_pupils_comparison=float(panel.col_n[~is_ctc].sum()),
        starts=starts,
    )


def adjusted_means(panel: Panel, treated: np.ndarray) -> np.ndarray:
    """Mix-adjusted share of every area-wave column: the cells' shares with the grade x sex
    effects of the fit (with dummies on the ``treated`` columns) removed, at the pupil-weighted
    average mix of the panel."""
    design = np.hstack([panel.sw[:, None] * panel.fixed, _treated_columns(panel, treated)])
    coef, *_ = np.linalg.lstsq(design, panel.sw * panel.y, rcond=None)
    n_fixed, n_types = panel.fixed.shape[1], len(panel.cell_types)
    delta = coef[n_fixed - n_types : n_fixed][panel.cell_type]
    delta = delta - np.average(delta, weights=panel.n)
    return np.bincount(panel.cell_col, weights=panel.n * (panel.y - delta)) / panel.col_n


def _treated_columns(panel: Panel, treated: np.ndarray) -> np.ndarray:
    block = np.zeros((panel.n_cells, len(treated)))
    rows = np.flatnonzero(np.isin(panel.cell_col, treated))
    block[rows, np.searchsorted(treated, panel.cell_col[rows])] = panel.sw[rows]
    return block


def _before(panel: Panel, means: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Per column: the pupil-weighted mean of its area's adjusted shares before the start."""
    pre = (events < 0) & (events != NO_EVENT)
    sums = np.bincount(panel.col_area, weights=np.where(pre, panel.col_n * means, 0.0),
                       minlength=len(panel.areas))  # fmt: skip
    counts = np.bincount(panel.col_area, weights=np.where(pre, panel.col_n, 0.0),
                         minlength=len(panel.areas))  # fmt: skip
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums / counts)[panel.col_area]
