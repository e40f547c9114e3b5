"""Cut points: from a scale score to "at risk" / "with protection" and three levels.

Two methods, declared per factor in the instrument:

``fixed``
    the values written in the instrument file (for example licensed CTC cut points), with the
    file's ``version`` naming their source.
``percentile``
    percentiles (for example P75 and P90) of the scores of the *valid* respondents in a named
    reference: ``instrument.defaults["cutpoints"]["reference"]`` (e.g. ``{wave: 2021}``, the
    baseline wave of the whole municipality) unless another reference is passed. Passing another
    reference is an explicit re-baselining; results made with it carry another version.
    Percentiles use NumPy's default (linear interpolation between order statistics).

Semantics, with ``flag_value`` and ``high_value`` from the cut-point table:

========== ================================ =================================================
kind       ``flag__`` = 1 (the binary)      ``level__`` 0 / 1 / 2
========== ================================ =================================================
risk       score > flag_value ("at risk")   2 if score > high_value, 1 if > flag_value, else 0
protective score > flag_value ("with        2 ("low protection") if score <= high_value,
           protection")                     1 if score <= flag_value, else 0
========== ================================ =================================================

Level 2 is always the level of most concern. Scores exactly at a cut point are not above it.

Every table row carries a **version** string naming the instrument, the reference (or the fixed
source), the percentiles and a short hash of the numbers, for example
``ctc-default-2026.1/ref-2021/P75-P90/3f2a9c1b``. Aggregates carry it and comparisons between
waves refuse different versions. A municipality freezes its cut points with
:func:`save_cutpoints` and reuses them with :func:`load_cutpoints`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ctc_helpers.config.files import file_error, read_yaml_file
from ctc_helpers.config.instrument import Factor, Instrument
from ctc_helpers.errors import ConfigError
from ctc_helpers.survey.scoring import (
    SCORE_PREFIX,
    block_frame,
    float_column,
    join_columns,
    new_block,
)

__all__ = [
    "FLAG_PREFIX",
    "LEVEL_PREFIX",
    "CUTPOINT_COLUMNS",
    "derive_cutpoints",
    "apply_cutpoints",
    "measure_versions",
    "save_cutpoints",
    "load_cutpoints",
]

FLAG_PREFIX = "flag__"
"""Prefix of the binary measure columns: ``flag__<measure_id>`` (float 1/0/NaN)."""

LEVEL_PREFIX = "level__"
"""Prefix of the three-level columns: ``level__<factor_id>`` (Int8 0/1/2)."""

CUTPOINT_COLUMNS = (
    "factor",
    "kind",
    "method",
    "flag_value",
    "high_value",
    "reference",
    "version",
)
"""Columns of a cut-point table, in order."""

_FILE_KEY = "cutpoints"
_FILE_HEADER = (
    "# Frozen cut points (ctc_helpers.survey.cutpoints.save_cutpoints). Do not edit the numbers: each"
    " version\n# ends with a hash of them, and a changed number is refused when the file is read.\n"
)


# --------------------------------------------------------------------------- versions


def _hash(flag_value: float, high_value: float) -> str:
    text = f"{float(flag_value)!r}|{float(high_value)!r}"
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def _reference_label(reference: Mapping[str, Any]) -> str:
    """``{wave: 2021}`` -> ``ref-2021``; ``{wave: [2019, 2021], area: x}`` -> ``ref-2019+2021-area=x``."""
    parts = []
    for key, value in reference.items():
        if value is None:
            continue
        values = "+".join(str(v) for v in (value if isinstance(value, list | tuple) else [value]))
        parts.append(values if key == "wave" else f"{key}={values}")
    return "ref-" + ("-".join(parts) or "all")


def _version(instrument: Instrument, factor: Factor, reference: str, values: tuple) -> str:
    head = f"{instrument.id}-{instrument.version}"
    spec = factor.cutpoint
    if spec["method"] == "fixed":
        return f"{head}/fixed:{spec['version']}/{_hash(*values)}"
    return f"{head}/{reference}/P{spec['flag']:g}-P{spec['high']:g}/{_hash(*values)}"


def measure_versions(cutpoints: pd.DataFrame, instrument: Instrument) -> dict[str, str]:
    """Cut-point version of every factor and composite measure.

    A composite counts flagged factors of one kind, so its version combines the versions of
    those factors (a short hash) with its own rule.

    Parameters
    ----------
    cutpoints : pandas.DataFrame
        A cut-point table (:func:`derive_cutpoints` or :func:`load_cutpoints`).
    instrument : Instrument
        Gives the factors and composites.

    Returns
    -------
    dict of str to str
        ``{measure_id: version}`` for factors and composites (behaviours have none).
    """
    table = _checked_table(cutpoints, instrument)
    versions = dict(zip(table["factor"], table["version"], strict=True))
    for composite in instrument.composites:
        parts = sorted(versions[f.id] for f in instrument.factors_of(composite.kind))
        digest = hashlib.sha1("\n".join(parts).encode("utf-8")).hexdigest()[:8]
        versions[composite.id] = (
            f"{instrument.id}-{instrument.version}/{composite.kind}"
            f"-at-least-{composite.min_flagged}/{digest}"
        )
    return versions


# --------------------------------------------------------------------------- derive


def _reference_rows(scored: pd.DataFrame, reference: Mapping[str, Any]) -> np.ndarray:
    """Positions of the valid respondents in the reference."""
    if "valid" not in scored.columns:
        raise KeyError(
            "Cut points are derived from valid respondents only, but the table has no 'valid'"
            " column; run screen_respondents first."
        )
    rows = scored["valid"].to_numpy(dtype=bool, na_value=False)
    for key, value in reference.items():
        if value is None:
            continue
        if key not in scored.columns:
            raise KeyError(
                f"The cut-point reference names the column {key!r}, which the respondent table"
                f" does not have (columns: wave, area, grade, sex, ...)."
            )
        values = list(value) if isinstance(value, list | tuple) else [value]
        rows &= scored[key].isin(values).to_numpy()
    if not rows.any():
        present = {k: sorted(map(str, scored[k].dropna().unique()))[:12] for k in reference}
        raise ValueError(
            f"No valid respondent matches the cut-point reference {dict(reference)}, so"
            f" percentile cut points cannot be derived. Values present: {present}."
        )
    return np.flatnonzero(rows)


def _default_reference(instrument: Instrument) -> dict[str, Any]:
    reference = (instrument.defaults.get("cutpoints") or {}).get("reference")
    if not isinstance(reference, Mapping):
        raise ConfigError(
            f"The instrument {instrument.id!r} has percentile cut points but no"
            " defaults: cutpoints: reference (for example {wave: 2021}); add it to the"
            " instrument file or pass reference=... explicitly."
        )
    return dict(reference)


def _percentile_values(scores: np.ndarray, factor: Factor, label: str) -> tuple[float, float]:
    known = scores[~np.isnan(scores)]
    if known.size == 0:
        raise ValueError(
            f"No valid respondent in the reference {label!r} has a score on the factor"
            f" {factor.id!r}, so its percentile cut points cannot be derived. Choose a"
            " reference wave (and area) that was surveyed with this instrument."
        )
    flag, high = np.percentile(known, [factor.cutpoint["flag"], factor.cutpoint["high"]])
    return float(flag), float(high)


def derive_cutpoints(
    scored: pd.DataFrame,
    instrument: Instrument,
    *,
    reference: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Compute the cut-point table: fixed values from the file, percentiles from a reference.

    Parameters
    ----------
    scored : pandas.DataFrame
        Screened and scored respondents (``valid`` and ``score__<factor>`` columns).
    instrument : Instrument
        The factors and their cut-point rules.
    reference : mapping, optional
        Which respondents define the percentiles, as ``{column: value or list of values}``,
        e.g. ``{"wave": 2021}`` or ``{"wave": [2019, 2021], "area": "norr"}``. Default:
        ``instrument.defaults["cutpoints"]["reference"]``. Only valid respondents count.

    Returns
    -------
    pandas.DataFrame
        One row per factor, columns ``factor``, ``kind``, ``method`` (``percentile`` or
        ``fixed``), ``flag_value``, ``high_value`` (score values), ``reference`` (label such as
        ``ref-2021``; "" for fixed cut points), ``version``.

    Raises
    ------
    KeyError
        If ``valid``, a score column or a reference column is missing.
    ValueError
        If the reference holds no score for a percentile factor.
    ConfigError
        If no reference is given and the instrument has no default.
    """
    needs_reference = any(f.cutpoint["method"] == "percentile" for f in instrument.factors)
    if reference is None and needs_reference:
        reference = _default_reference(instrument)
    label = _reference_label(reference or {})
    rows = _reference_rows(scored, reference or {}) if needs_reference else None
    records = []
    for factor in instrument.factors:
        if factor.cutpoint["method"] == "fixed":
            values, ref = (float(factor.cutpoint["flag"]), float(factor.cutpoint["high"])), ""
        else:
            column = SCORE_PREFIX + factor.id
            scores = float_column(scored, column, hint="run score_scales first").take(rows)
            values, ref = _percentile_values(scores, factor, label), label
        version = _version(instrument, factor, label, values)
        records.append((factor.id, factor.kind, factor.cutpoint["method"], *values, ref, version))
    return _checked_table(pd.DataFrame(records, columns=list(CUTPOINT_COLUMNS)), instrument)


# --------------------------------------------------------------------------- apply


def _checked_table(cutpoints: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """The table's rows for the instrument's factors, in instrument order, after checks."""
    missing_columns = [c for c in CUTPOINT_COLUMNS if c not in cutpoints.columns]
    if missing_columns:
        raise KeyError(
            f"The cut-point table lacks the columns {', '.join(missing_columns)}"
            f" (expected: {', '.join(CUTPOINT_COLUMNS)})."
        )
    repeated = sorted(set(cutpoints.loc[cutpoints["factor"].duplicated(), "factor"]))
    if repeated:
        raise ValueError(
            f"The cut-point table has several rows for the factors {', '.join(repeated)};"
            " keep one row per factor."
        )
    table = cutpoints.set_index("factor", drop=False)
    missing = [f for f in instrument.factor_ids if f not in table.index]
    if missing:
        raise ValueError(
            f"The cut-point table has no row for the factors {', '.join(missing)}; derive the"
            " cut points again or add the rows to the frozen cut-point file."
        )
    table = table.loc[list(instrument.factor_ids)].reset_index(drop=True)
    for factor, row in zip(instrument.factors, table.itertuples(index=False), strict=True):
        _check_row(factor, row)
    return table


def _check_row(factor: Factor, row: Any) -> None:
    if row.kind != factor.kind:
        raise ValueError(
            f"The cut-point table says factor {factor.id!r} is {row.kind!r}, but the instrument"
            f" says {factor.kind!r}; the cut points belong to another instrument."
        )
    flag, high = float(row.flag_value), float(row.high_value)
    if np.isnan(flag) or np.isnan(high):
        raise ValueError(f"The cut points of factor {factor.id!r} are missing (NaN).")
    wrong = high < flag if factor.kind == "risk" else high > flag
    if wrong:
        relation = "at least" if factor.kind == "risk" else "at most"
        raise ValueError(
            f"For the {factor.kind} factor {factor.id!r} the high value ({high:g}) must be"
            f" {relation} the flag value ({flag:g})."
        )


def _classify(scores: np.ndarray, kind: str, flag: float, high: float, *, out: np.ndarray):
    """Write the flag (1/0/NaN) into ``out``; return the level (int8, -1 = no score)."""
    missing = np.isnan(scores)
    above_flag = scores > flag
    np.copyto(out, above_flag)
    np.copyto(out, np.nan, where=missing)
    if kind == "risk":
        level = above_flag.view(np.int8) + (scores > high).view(np.int8)
    else:
        level = (scores <= flag).view(np.int8) + (scores <= high).view(np.int8)
    np.copyto(level, -1, where=missing)
    return level


def apply_cutpoints(
    scored: pd.DataFrame, instrument: Instrument, cutpoints: pd.DataFrame
) -> pd.DataFrame:
    """Add the binary flag and the three-level classification of every factor.

    Parameters
    ----------
    scored : pandas.DataFrame
        Output of :func:`~ctc_helpers.survey.scoring.score_scales`.
    instrument : Instrument
        The factors (kinds).
    cutpoints : pandas.DataFrame
        Cut-point table (:func:`derive_cutpoints` or :func:`load_cutpoints`).

    Returns
    -------
    pandas.DataFrame
        A new frame: the input plus ``flag__<factor>`` (float 1.0/0.0, NaN without a score; 1 =
        at risk, or with protection) and ``level__<factor>`` (Int8 0/1/2, <NA> without a score;
        2 = elevated risk, or low protection) per factor. ``attrs["cutpoint_versions"]`` holds
        :func:`measure_versions`.

    Raises
    ------
    KeyError
        If a score column or a table column is missing.
    ValueError
        If the table lacks a factor, disagrees on its kind, or has its values in the wrong
        order.

    Examples
    --------
    >>> from ctc_helpers.paths import REPO_ROOT
    >>> from ctc_helpers.config.instrument import load_instrument
    >>> inst = load_instrument(REPO_ROOT / "tests" / "data" / "mini_instrument.yaml")
    >>> scored = pd.DataFrame({f"score__{f}": [1.0, 3.0, 3.5, np.nan] for f in inst.factor_ids})
    >>> table = pd.DataFrame({"factor": list(inst.factor_ids), "kind": ["risk", "risk",
    ...     "protective"], "method": "fixed", "flag_value": [2.5, 2.5, 2.5],
    ...     "high_value": [3.0, 3.0, 1.5], "reference": "", "version": "example"})
    >>> out = apply_cutpoints(scored, inst, table)
    >>> print(out["flag__family_conflict"].tolist(), out["level__family_conflict"].tolist())
    [0.0, 1.0, 1.0, nan] [0, 1, 2, <NA>]
    """
    table = _checked_table(cutpoints, instrument)
    flags = new_block(len(instrument.factors), len(scored))
    levels = {}
    for row, (factor, cut) in enumerate(zip(instrument.factors, table.itertuples(), strict=True)):
        scores = float_column(scored, SCORE_PREFIX + factor.id, hint="run score_scales first")
        level = _classify(scores, factor.kind, cut.flag_value, cut.high_value, out=flags[row])
        levels[LEVEL_PREFIX + factor.id] = pd.arrays.IntegerArray(level, level < 0)
    names = [FLAG_PREFIX + f for f in instrument.factor_ids]
    out = join_columns(scored, block_frame(flags, names, scored.index))
    out = join_columns(out, pd.DataFrame(levels, index=scored.index))
    out.attrs["cutpoint_versions"] = measure_versions(table, instrument)
    return out


# --------------------------------------------------------------------------- files


def save_cutpoints(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a cut-point table as YAML so that a municipality can freeze and reuse it.

    Parameters
    ----------
    table : pandas.DataFrame
        A cut-point table (columns ``CUTPOINT_COLUMNS``).
    path : str or Path
        Target file (``.yaml``); its folder must exist.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    missing = [c for c in CUTPOINT_COLUMNS if c not in table.columns]
    if missing:
        raise KeyError(f"The cut-point table lacks the columns {', '.join(missing)}.")
    rows = [
        {c: (float(r[c]) if c.endswith("_value") else str(r[c])) for c in CUTPOINT_COLUMNS}
        for r in table.to_dict("records")
    ]
    text = yaml.safe_dump({_FILE_KEY: rows}, allow_unicode=True, sort_keys=False, width=120)
    path.write_text(_FILE_HEADER + text, encoding="utf-8")
    return path


def load_cutpoints(path: str | Path) -> pd.DataFrame:
    """Read a cut-point table written by :func:`save_cutpoints`.

    Parameters
    ----------
    path : str or Path
        The YAML file.

    Returns
    -------
    pandas.DataFrame
        Columns ``CUTPOINT_COLUMNS``, one row per factor.

    Raises
    ------
    ConfigError
        If the file cannot be read, an entry lacks a key or a value is not a number, or the
        numbers no longer match the hash in their version (edited by hand without a new
        version).
    """
    path = Path(path)
    raw, _ = read_yaml_file(path, what="cutpoints")
    rows = raw.get(_FILE_KEY) if isinstance(raw, dict) else None
    if not isinstance(rows, list) or not rows:
        raise file_error("cfg_cutpoints_empty", file=path.name, key=_FILE_KEY)
    return pd.DataFrame([_parse_row(row, i, path.name) for i, row in enumerate(rows, 1)])


def _parse_row(row: Any, number: int, where: str) -> dict[str, Any]:
    here = {"file": where, "number": number}
    if not isinstance(row, dict):
        raise file_error("cfg_cutpoints_not_mapping", **here, keys=", ".join(CUTPOINT_COLUMNS))
    missing = [c for c in CUTPOINT_COLUMNS if c not in row]
    if missing:
        raise file_error("cfg_cutpoints_missing", **here, keys=", ".join(missing))
    parsed = {c: str(row[c]) if row[c] is not None else "" for c in CUTPOINT_COLUMNS}
    for column in ("flag_value", "high_value"):
        try:
            parsed[column] = float(row[column])
        except (TypeError, ValueError):
            raise file_error(
                "cfg_cutpoints_number", **here, column=column, got=repr(row[column])
            ) from None
    if not parsed["version"].endswith("/" + _hash(parsed["flag_value"], parsed["high_value"])):
        raise file_error(
            "cfg_cutpoints_edited", **here, factor=repr(parsed["factor"]),
            flag=f"{parsed['flag_value']:g}", high=f"{parsed['high_value']:g}",
            version=repr(parsed["version"]),
        )  # fmt: skip
    return parsed
