"""From respondents to the tidy aggregate table: the community's risk and protection profile.

:func:`prepare_scored` runs the row-level steps (screen, score, cut points, behaviours,
composites); :func:`aggregate` turns the scored rows into the tidy table of
``docs/ARCHITECTURE.md``. The table is *not* suppressed here: publishing goes through
``privacy.suppress_table``.

The table is a full cube: every wave x area x grade x sex combination appears for every measure,
with ``n == 0`` where nobody answered, because the suppression needs every cell of a total to
find the cells that could be recovered by subtraction. The levels are

- waves: the waves present in the data;
- areas: ``areas`` when given (so that areas without respondents appear), otherwise the
  categories of a categorical ``area`` column, otherwise the areas present; plus the total;
- grades: the schema's grades that occur in the data (in any wave), plus the total;
- sexes: the published codes of the schema (``F``, ``M``) plus the total. Respondents with
  another or a missing sex count in the total only.

Only valid respondents (``valid``) count.

Examples
--------
>>> from ctc_helpers.paths import REPO_ROOT
>>> from ctc_helpers.config.instrument import load_instrument, load_respondent_schema
>>> inst = load_instrument(REPO_ROOT / "tests" / "data" / "mini_instrument.yaml")
>>> rows = pd.DataFrame({i: [1, 2, 3, 4] * 5 for i in inst.item_ids}, dtype="Int8").assign(
...     wave=2021, area="norr", grade="ak9", sex=["F", "M"] * 10, fict_life=pd.array([1] * 20,
...     dtype="Int8"), honesty=pd.array([1] * 20, dtype="Int8"))
>>> scored, cuts = prepare_scored(rows, inst)
>>> table = aggregate(scored, inst, load_respondent_schema(), cutpoints=cuts)
>>> city = table.query("area == 'all' and grade == 'all' and sex == 'all'")
>>> row = city.set_index("measure").loc["alcohol_lifetime"]
>>> print(row["n"], row["n_flagged"], row["pct"], row["ci_low"].round(3))
20 15.0 0.75 0.531
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ctc_helpers.config.instrument import Instrument, RespondentSchema
from ctc_helpers.stats.intervals import wilson_ci
from ctc_helpers.survey.behaviours import classify_behaviours, classify_composites
from ctc_helpers.survey.cutpoints import (
    FLAG_PREFIX,
    LEVEL_PREFIX,
    apply_cutpoints,
    derive_cutpoints,
    measure_versions,
)
from ctc_helpers.survey.scoring import float_column, score_scales
from ctc_helpers.survey.screening import screen_respondents

__all__ = ["AGGREGATE_COLUMNS", "prepare_scored", "aggregate"]

AGGREGATE_COLUMNS = (
    "wave",
    "area",
    "grade",
    "sex",
    "measure",
    "measure_kind",
    "domain",
    "n",
    "n_flagged",
    "pct",
    "ci_low",
    "ci_high",
    "n_eff",
    "pct_level2",
    "cutpoint_version",
    "suppressed",
    "suppression_reason",
)
"""Columns of the tidy aggregate table, in order (see ``docs/ARCHITECTURE.md``)."""

_GROUPS = ("wave", "area", "grade", "sex")
_STATES = 6  # flag missing / 0 / 1, times level 2 or not


# --------------------------------------------------------------------------- row level


def prepare_scored(
    respondents: pd.DataFrame,
    instrument: Instrument,
    *,
    cutpoints: pd.DataFrame | None = None,
    reference: Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Screen, score, classify and flag every respondent (the row-level part of a run).

    Parameters
    ----------
    respondents : pandas.DataFrame
        Ingested respondent table (one ``Int8`` column per item).
    instrument : Instrument
        The instrument the answers belong to.
    cutpoints : pandas.DataFrame, optional
        A frozen cut-point table (:func:`~ctc_helpers.survey.cutpoints.load_cutpoints`). When omitted
        the cut points are derived from these respondents (see ``reference``).
    reference : mapping, optional
        Reference for percentile cut points when they are derived (default: the instrument's).
        Cannot be combined with ``cutpoints``.

    Returns
    -------
    scored : pandas.DataFrame
        The respondents plus ``invalid_<rule>``, ``valid``, ``score__<factor>``,
        ``flag__<measure>`` and ``level__<factor>`` columns (``docs/ARCHITECTURE.md``).
    cutpoints : pandas.DataFrame
        The cut-point table used.

    Raises
    ------
    ValueError
        If both ``cutpoints`` and ``reference`` are given (and as the steps raise).
    """
    if cutpoints is not None and reference is not None:
        raise ValueError(
            "Pass either frozen cut points (cutpoints=...) or a reference to derive them from"
            " (reference=...), not both."
        )
    scored = score_scales(screen_respondents(respondents, instrument), instrument)
    if cutpoints is None:
        cutpoints = derive_cutpoints(scored, instrument, reference=reference)
    scored = apply_cutpoints(scored, instrument, cutpoints)
    scored = classify_composites(classify_behaviours(scored, instrument), instrument)
    return scored, cutpoints


# --------------------------------------------------------------------------- the cube


@dataclass(frozen=True)
class _Cube:
    """Levels of the four group columns and each valid respondent's leaf cell."""

    waves: np.ndarray
    areas: list[str]
    grades: list[str]
    sexes: list[str]  # schema codes; one more slot for a missing sex
    published_sex: list[int]  # positions of the published codes in ``sexes``
    leaf: np.ndarray  # int64 cell per row; invalid rows -> the extra trash cell

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return len(self.waves), len(self.areas), len(self.grades), len(self.sexes) + 1


def _codes(values: pd.Series, levels: Sequence[str], *, column: str, allow_missing: bool):
    """Position of each value in ``levels`` (-1 = missing); unknown values raise."""
    levels = [str(level) for level in levels]
    if isinstance(values.dtype, pd.CategoricalDtype):
        position = {level: i for i, level in enumerate(levels)}
        mapping = np.array([position.get(str(c), -2) for c in values.cat.categories] + [-1])
        codes = mapping[values.cat.codes.to_numpy()]  # code -1 (missing) picks the last entry
    else:
        codes = pd.Categorical(values.astype(object), categories=levels).codes.astype(np.int64)
        codes = np.where((codes < 0) & values.notna().to_numpy(), -2, codes)
    bad = (codes == -2) | ((codes == -1) & (not allow_missing))
    if bad.any():
        value = values.iloc[int(np.flatnonzero(bad)[0])]
        shown = "missing" if pd.isna(value) else repr(value)
        raise ValueError(
            f"The column {column!r} has the value {shown}, which is not one of the expected"
            f" codes ({', '.join(levels)})."
        )
    return codes.astype(np.int64)


def _wave_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct waves and each row's position among them."""
    if column.isna().any():
        raise ValueError("The column 'wave' has missing values; every questionnaire needs a year.")
    years = column.to_numpy(dtype=np.int64)
    first = years.min() if years.size else 0
    present = np.bincount(years - first)
    waves = np.flatnonzero(present) + first
    position = np.cumsum(present > 0) - 1
    return waves, position[years - first]


def _area_levels(column: pd.Series, areas: Sequence[str] | None) -> list[str]:
    if areas is not None:
        return [str(a) for a in areas]
    if isinstance(column.dtype, pd.CategoricalDtype):
        return [str(a) for a in column.cat.categories]
    return sorted(str(a) for a in column.dropna().unique())


def _build_cube(
    scored: pd.DataFrame, schema: RespondentSchema, areas: Sequence[str] | None
) -> _Cube:
    waves, wave_codes = _wave_codes(scored["wave"])
    area_levels = _area_levels(scored["area"], areas)
    area_codes = _codes(scored["area"], area_levels, column="area", allow_missing=False)
    grade_codes = _codes(scored["grade"], schema.grade_codes, column="grade", allow_missing=False)
    present = np.flatnonzero(np.bincount(grade_codes, minlength=len(schema.grade_codes)))
    grade_codes = np.searchsorted(present, grade_codes)
    sexes = list(schema.sex_codes)
    sex_codes = _codes(scored["sex"], sexes, column="sex", allow_missing=True)
    sex_codes = np.where(sex_codes < 0, len(sexes), sex_codes)
    shape = (len(waves), len(area_levels), len(present), len(sexes) + 1)
    leaf = np.ravel_multi_index((wave_codes, area_codes, grade_codes, sex_codes), shape)
    valid = scored["valid"].to_numpy(dtype=bool, na_value=False)
    return _Cube(
        waves=waves,
        areas=area_levels,
        grades=[schema.grade_codes[i] for i in present],
        sexes=sexes,
        published_sex=[sexes.index(code) for code in schema.published_sex_codes],
        leaf=np.where(valid, leaf, int(np.prod(shape))),
    )


def _weights(scored: pd.DataFrame, weight: str | None) -> np.ndarray | None:
    if weight is None:
        return None
    if weight not in scored.columns:
        raise KeyError(f"The weight column {weight!r} is not in the table.")
    w = scored[weight].to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(w) | (w < 0) | ~np.isfinite(w)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"The weight column {weight!r} has the value {float(w[position]):g} in row"
            f" {scored.index[position]!r}; weights must be non-negative numbers."
        )
    return w


def _leaf_sums(
    scored: pd.DataFrame, instrument: Instrument, cube: _Cube, weights: np.ndarray | None
) -> np.ndarray:
    """Per measure and leaf cell: n, sum w, sum w^2, sum w*y, sum w*level2 (shape M x cells x 5)."""
    cells = int(np.prod(cube.shape))
    base = cube.leaf * _STATES
    key = np.empty_like(base)
    factor_ids = set(instrument.factor_ids)
    sums = []
    for measure in _measure_ids(instrument):
        flag = float_column(scored, FLAG_PREFIX + measure, hint="run prepare_scored first")
        state = (flag == flag).view(np.int8) + (flag == 1.0).view(np.int8)  # 0 NaN, 1 no, 2 yes
        if measure in factor_ids:
            level = scored[LEVEL_PREFIX + measure].to_numpy(dtype=np.int8, na_value=-1)
            state += np.multiply(level == 2, 3, dtype=np.int8)  # states 3..5: at level 2
        np.add(base, state, out=key)
        sums.append(_state_sums(key, weights, cells))
    return np.stack(sums)


def _state_sums(key: np.ndarray, weights: np.ndarray | None, cells: int) -> np.ndarray:
    """Collapse per-state counts (missing/0/1 x level 2) into the five sums per cell."""
    size = (cells + 1) * _STATES
    count = np.bincount(key, minlength=size).reshape(-1, _STATES)[:cells].astype(float)
    if weights is None:
        sw = sw2 = count
    else:
        sw = np.bincount(key, weights=weights, minlength=size).reshape(-1, _STATES)[:cells]
        sw2 = np.bincount(key, weights=weights**2, minlength=size).reshape(-1, _STATES)[:cells]
    known = [1, 2, 4, 5]  # flag 0 or 1 (states 0 and 3 have no flag)
    return np.column_stack(
        [
            count[:, known].sum(axis=1),
            sw[:, known].sum(axis=1),
            sw2[:, known].sum(axis=1),
            sw[:, [2, 5]].sum(axis=1),
            sw[:, [4, 5]].sum(axis=1),
        ]
    )


def _with_margins(leaves: np.ndarray, cube: _Cube) -> np.ndarray:
    """Add the total along area and grade; keep the published sexes and add their total."""
    values = leaves.reshape(leaves.shape[0], *cube.shape, leaves.shape[-1])
    for axis in (2, 3):  # area, grade
        values = np.concatenate([values, values.sum(axis=axis, keepdims=True)], axis=axis)
    total_sex = values.sum(axis=4, keepdims=True)
    return np.concatenate([values[:, :, :, :, cube.published_sex], total_sex], axis=4)


def _measure_ids(instrument: Instrument) -> list[str]:
    return [
        *instrument.factor_ids,
        *(b.id for b in instrument.behaviours),
        *(c.id for c in instrument.composites),
    ]


# --------------------------------------------------------------------------- the table


def _versions(scored: pd.DataFrame, instrument: Instrument, cutpoints) -> dict[str, str]:
    if cutpoints is not None:
        return measure_versions(cutpoints, instrument)
    versions = scored.attrs.get("cutpoint_versions")
    if not isinstance(versions, dict):
        raise ValueError(
            "The cut-point version of the scored table is unknown (it is lost when the table"
            " is saved in some formats); pass the cut-point table: aggregate(...,"
            " cutpoints=cutpoints) with the table returned by prepare_scored."
        )
    return versions


def _check_columns(scored: pd.DataFrame, instrument: Instrument) -> None:
    needed = [
        *_GROUPS,
        "valid",
        *(FLAG_PREFIX + m for m in _measure_ids(instrument)),
        *(LEVEL_PREFIX + f for f in instrument.factor_ids),
    ]
    missing = [c for c in needed if c not in scored.columns]
    if missing:
        shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
        raise KeyError(
            f"aggregate needs the scored table (prepare_scored); these columns are missing:"
            f" {shown}."
        )


def _frame(values: np.ndarray, cube: _Cube, instrument: Instrument, total: str) -> pd.DataFrame:
    """Tidy rows (wave, area, grade, sex, measure order) from the M x W x A x G x S x 5 sums."""
    ordered = np.moveaxis(values, 0, 4).reshape(-1, values.shape[-1])
    index = pd.MultiIndex.from_product(
        [
            cube.waves.tolist(),
            [*cube.areas, total],
            [*cube.grades, total],
            [*(cube.sexes[i] for i in cube.published_sex), total],
            _measure_ids(instrument),
        ],
        names=[*_GROUPS, "measure"],
    )
    frame = index.to_frame(index=False)
    n, sw, sw2, swy, swl2 = ordered.T
    return frame.assign(n=n.astype(np.int64), _sw=sw, _sw2=sw2, _swy=swy, _swl2=swl2)


def _statistics(frame: pd.DataFrame, *, weighted: bool, confidence: float) -> pd.DataFrame:
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(frame["_sw"] > 0, frame["_swy"] / frame["_sw"], np.nan)
        n_eff = np.where(frame["_sw2"] > 0, frame["_sw"] ** 2 / frame["_sw2"], np.nan)
        level2 = np.where(frame["_sw"] > 0, frame["_swl2"] / frame["_sw"], np.nan)
    n_eff = np.where(frame["n"] > 0, n_eff if weighted else frame["n"].astype(float), 0.0)
    low, high = wilson_ci(np.nan_to_num(pct) * n_eff, n_eff, confidence=confidence)
    return frame.assign(
        n_flagged=frame["_swy"], pct=pct, ci_low=low, ci_high=high, n_eff=n_eff, pct_level2=level2
    )


def aggregate(
    scored: pd.DataFrame,
    instrument: Instrument,
    respondent_schema: RespondentSchema,
    *,
    weight: str | None = None,
    areas: Sequence[str] | None = None,
    cutpoints: pd.DataFrame | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Prevalence of every measure with its interval, by wave x area x grade x sex and totals.

    Sums are computed once per leaf cell (wave x area x grade x sex) and the totals are sums of
    leaves, so every margin is consistent with its parts.

    Parameters
    ----------
    scored : pandas.DataFrame
        Output of :func:`prepare_scored`.
    instrument : Instrument
        Gives the measures, their kind and domain.
    respondent_schema : RespondentSchema
        Gives the grade and sex codes and the total code (``all``).
    weight : str, optional
        Weight column. Then ``pct = sum(w*y) / sum(w)`` and the Wilson interval uses the Kish
        effective sample size ``n_eff = sum(w)**2 / sum(w**2)``; ``n`` stays unweighted.
    areas : sequence of str, optional
        Every area id of the municipality (so that areas without respondents appear).
    cutpoints : pandas.DataFrame, optional
        The cut-point table used for the flags; default: the versions recorded by
        :func:`~ctc_helpers.survey.cutpoints.apply_cutpoints` in ``scored.attrs``.
    confidence : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per wave x area x grade x sex x measure (module docstring), with the columns
        ``AGGREGATE_COLUMNS``: ``wave`` (int), ``area``, ``grade``, ``sex`` (str, ``all`` =
        total), ``measure``, ``measure_kind`` (risk / protective / behaviour / composite),
        ``domain``, ``n`` (int, valid respondents with a value on the measure), ``n_flagged``
        (float; weighted sum with weights), ``pct``, ``ci_low``, ``ci_high`` (0..1, NaN when
        ``n == 0``), ``n_eff`` (float; ``n`` unweighted), ``pct_level2`` (share at level 2 for
        factors, NaN otherwise), ``cutpoint_version`` ("" for behaviours), ``suppressed`` (False)
        and ``suppression_reason`` (""). Not suppressed: publish through ``privacy``.

    Raises
    ------
    KeyError
        If a column is missing.
    ValueError
        If a group column holds an unknown code (an area outside ``areas``, a grade or sex not
        in the schema), a weight is missing or negative, or the cut-point version is unknown.
    """
    _check_columns(scored, instrument)
    versions = _versions(scored, instrument, cutpoints)
    weights = _weights(scored, weight)
    cube = _build_cube(scored, respondent_schema, areas)
    values = _with_margins(_leaf_sums(scored, instrument, cube, weights), cube)
    frame = _frame(values, cube, instrument, respondent_schema.total_code)
    frame = _statistics(frame, weighted=weights is not None, confidence=confidence)
    measures = instrument.measures().set_index("measure")
    is_factor = frame["measure"].isin(instrument.factor_ids)
    return frame.assign(
        measure_kind=frame["measure"].map(measures["measure_kind"]),
        domain=frame["measure"].map(measures["domain"]),
        pct_level2=frame["pct_level2"].where(is_factor),
        cutpoint_version=frame["measure"].map(versions).fillna(""),
        suppressed=False,
        suppression_reason="",
    )[list(AGGREGATE_COLUMNS)]
