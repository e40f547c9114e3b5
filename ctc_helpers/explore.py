"""The evaluator's API: answer a new question about the published tables in a few lines.

Three questions an evaluator or analyst asks, each one function on the published aggregates
(:func:`~ctc_helpers.publish.read.load_published`, or its ``aggregates`` frame):

- how does area A compare with area B? :func:`compare_areas`;
- what changed since the last wave? :func:`compare_waves`;
- the private rows behind them, for one's own analysis: :func:`load_scored` (never published).

Multiple comparisons: Holm's correction runs over **exactly the measures asked for**
(``measures=``), so asking about one measure is not penalised for the forty others in the table.
The family is stated in every result: column ``holm_family`` and ``result.attrs["holm_family"]``
(the measures that were tested; a measure whose group is too small is not tested and does not
count).

Example: alcohol in åk 9, Norra Hamnen against Solvik, 2021 against 2025 (five lines)::

    pub = ctc.load_published("reports/2025/data")
    ask = dict(measures=["alcohol_lifetime", "alcohol_30d"], grade="ak9")
    ctc.compare_areas(pub, "norra-hamnen", "solvik", wave=2025, **ask)
    ctc.compare_waves(pub, area="norra-hamnen", wave=2025, previous_wave=2021, **ask)
    ctc.compare_waves(pub, area="solvik", wave=2025, previous_wave=2021, **ask)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctc_helpers.config.run import RunConfig, load_run_config
from ctc_helpers.i18n import t
from ctc_helpers.publish.build import prepare_waves
from ctc_helpers.stats.significance import compare_proportions, holm_adjust, label_change
from ctc_helpers.survey import compare as survey_compare
from ctc_helpers.vocab import TOTAL

__all__ = ["PrivateDataWarning", "compare_areas", "compare_waves", "load_scored"]

TOO_FEW = survey_compare.TOO_FEW
_STATISTICS = ["diff", "diff_low", "diff_high", "z", "p_value", "p_holm", "cohens_h"]
_DEFAULT_MIN_N = 10


class PrivateDataWarning(UserWarning):
    """Row-level survey data were read: for one's own analysis, never for publication."""


def _aggregates(data: Any) -> pd.DataFrame:
    """The aggregate table of a published folder (``Published``) or the table itself."""
    table = getattr(data, "aggregates", data)
    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            "Pass the published folder (ctc.load_published(...)) or its aggregate table"
            f" (published.aggregates); got {type(data).__name__}."
        )
    return table


def _min_n(data: Any, min_n: int | None) -> int:
    """The smallest group compared: given, else the published folder's, else 10."""
    if min_n is not None:
        return int(min_n)
    return int(getattr(data, "min_cell", _DEFAULT_MIN_N))


def _check_measures(table: pd.DataFrame, measures: Sequence[str] | str) -> list[str]:
    """The measures asked for, each known to the table; a readable error otherwise."""
    asked = [measures] if isinstance(measures, str) else list(dict.fromkeys(measures))
    if not asked:
        raise ValueError("measures is empty: name the measures to compare, e.g. ['alcohol_30d'].")
    known = set(table["measure"].unique())
    unknown = [m for m in asked if m not in known]
    if unknown:
        raise ValueError(
            f"The aggregate table has no measure {unknown[0]!r}; it has: {', '.join(sorted(known))}."
        )
    return asked


def _with_family(frame: pd.DataFrame) -> pd.DataFrame:
    """State the Holm family (the tested measures) in a column and in ``attrs``."""
    family = frame.loc[frame["change"].ne(TOO_FEW), "measure"].tolist()
    result = frame.assign(holm_family=", ".join(family))
    result.attrs["holm_family"] = family
    return result


def compare_areas(
    data: Any,
    area_a: str,
    area_b: str,
    *,
    measures: Sequence[str] | str,
    wave: int,
    grade: str = TOTAL,
    sex: str = TOTAL,
    min_n: int | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Compare two areas, measure by measure, in one wave and group.

    The two areas' pupils are different pupils, so the samples are independent: the difference
    ``pct_a - pct_b`` gets a Newcombe interval and a two-proportion z-test, and Holm's correction
    runs over the measures asked for.

    Parameters
    ----------
    data : Published or pandas.DataFrame
        The published folder (:func:`~ctc_helpers.publish.read.load_published`) or its
        aggregate table.
    area_a, area_b : str
        Area ids (``area`` column); ``"all"`` is the whole municipality (not independent of an
        area: use :func:`~ctc_helpers.survey.compare.compare_to_city` for that).
    measures : list of str
        The measures compared; they form the Holm family.
    wave : int
        The survey year.
    grade, sex : str, default "all"
        The group compared.
    min_n : int, optional
        Smallest group compared (default: the published folder's ``min_cell``, else 10).
    confidence : float, default 0.95
        Confidence level of the difference interval.

    Returns
    -------
    pandas.DataFrame
        One row per measure: ``wave, area_a, area_b, grade, sex, measure, measure_kind, pct_a,
        n_a, pct_b, n_b, diff`` (``pct_a - pct_b``, share 0..1; times 100 = points),
        ``diff_low, diff_high`` (Newcombe), ``z, p_value, p_holm, cohens_h, change``
        (``increase`` = higher in A, ``decrease``, ``no_clear_change``, ``too_few``),
        ``holm_family`` (the tested measures, comma-separated; also ``attrs["holm_family"]``).

    Raises
    ------
    ValueError
        If an area, wave, group or measure is not in the table, or the two areas are the same.

    Examples
    --------
    >>> rows = pd.DataFrame({
    ...     "wave": 2025, "area": ["a", "a", "b", "b"], "grade": "all", "sex": "all",
    ...     "measure": ["alcohol_30d", "truancy"] * 2, "measure_kind": "behaviour",
    ...     "n": [200, 200, 150, 150], "pct": [0.20, 0.10, 0.10, 0.09], "suppressed": False})
    >>> result = compare_areas(rows, "a", "b", measures=["alcohol_30d"], wave=2025)
    >>> result[["measure", "diff", "diff_low", "diff_high", "p_holm"]].round(3)
           measure  diff  diff_low  diff_high  p_holm
    0  alcohol_30d   0.1     0.023      0.172   0.011
    >>> result.attrs["holm_family"]
    ['alcohol_30d']
    """
    if area_a == area_b:
        raise ValueError(f"area_a and area_b are both {area_a!r}: name two different areas.")
    table = _aggregates(data)
    asked = _check_measures(table, measures)
    table = table[table["measure"].isin(asked)]
    rows_a = _group(table, wave=wave, area=area_a, grade=grade, sex=sex).reindex(asked)
    rows_b = _group(table, wave=wave, area=area_b, grade=grade, sex=sex).reindex(asked)
    limit = _min_n(data, min_n)
    testable = _usable(rows_a, limit) & _usable(rows_b, limit)
    result = _tested(rows_a, rows_b, testable, confidence)
    frame = pd.DataFrame(
        {
            "wave": wave,
            "area_a": area_a,
            "area_b": area_b,
            "grade": grade,
            "sex": sex,
            "measure": asked,
            "measure_kind": rows_a["measure_kind"].fillna(rows_b["measure_kind"]).to_numpy(),
            "pct_a": rows_a["pct"].to_numpy(float),
            "n_a": rows_a["n"].to_numpy(float),
            "pct_b": rows_b["pct"].to_numpy(float),
            "n_b": rows_b["n"].to_numpy(float),
            **{c: result[c].to_numpy() for c in [*_STATISTICS, "change"]},
        }
    )
    numbers = ["pct_a", "n_a", "pct_b", "n_b", *_STATISTICS]
    blank = frame["change"].eq(TOO_FEW)
    return _with_family(frame.assign(**{c: frame[c].mask(blank) for c in numbers}))


def _group(table: pd.DataFrame, **codes: Any) -> pd.DataFrame:
    """Rows of one group indexed by measure; an error naming the column, code and known codes."""
    rows = table
    for column, code in codes.items():
        if not (table[column] == code).any():
            known = ", ".join(map(str, sorted(table[column].unique(), key=str)))
            raise ValueError(f"The aggregate table has no {column} {code!r}; it has: {known}.")
        rows = rows[rows[column] == code]
    if rows["measure"].duplicated().any():
        raise ValueError(
            f"The aggregate table has several rows per measure for {codes}; pass one table per"
            " instrument and run."
        )
    return rows.set_index("measure")


def _usable(rows: pd.DataFrame, min_n: int) -> pd.Series:
    """Shown (not suppressed), large enough and with a share."""
    hidden = rows["suppressed"].fillna(True).astype(bool)
    return ~hidden & (rows["n"] >= min_n) & rows["pct"].notna()


def _counts(rows: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Flagged and size on the effective-n scale (unweighted: ``pct * n`` and ``n``)."""
    size = (rows["n_eff"] if "n_eff" in rows else rows["n"]).astype(float)
    return rows["pct"].astype(float) * size, size


def _tested(rows_a, rows_b, testable: pd.Series, confidence: float) -> pd.DataFrame:
    """Newcombe interval, z-test and Holm across the testable measures; change codes."""
    x1, n1, x2, n2 = (v.where(testable) for v in (*_counts(rows_a), *_counts(rows_b)))
    result = compare_proportions(x1, n1, x2, n2, confidence=confidence)
    result["p_holm"] = holm_adjust(result["p_value"].to_numpy())
    codes = label_change(result["diff_low"], result["diff_high"], result["p_holm"])
    return result.assign(change=np.where(testable, codes, TOO_FEW))


def compare_waves(
    data: Any,
    *,
    wave: int,
    previous_wave: int,
    area: str = TOTAL,
    grade: str = TOTAL,
    sex: str = TOTAL,
    measures: Sequence[str] | str | None = None,
    min_n: int | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Compare one group between two waves, for the measures asked for.

    :func:`ctc_helpers.survey.compare.compare_waves` on the measures asked for, so that Holm's
    correction runs over exactly those (``measures=None``: every measure in the table, as the
    reports do).

    Parameters
    ----------
    data : Published or pandas.DataFrame
        The published folder or an aggregate table holding both waves (the published folder of
        the latest wave holds every earlier wave).
    wave, previous_wave : int
        The later and the earlier survey year; a positive ``diff`` is an increase.
    area, grade, sex : str, default "all"
        The group compared.
    measures : list of str, optional
        The measures compared; they form the Holm family.
    min_n : int, optional
        Smallest group compared (default: the published folder's ``min_cell``, else 10).
    confidence : float, default 0.95
        Confidence level of the difference interval.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`ctc_helpers.survey.compare.compare_waves` (``pct, n,
        pct_previous, n_previous, diff, diff_low, diff_high, z, p_value, p_holm, cohens_h,
        change`` ...) plus ``holm_family`` (also ``attrs["holm_family"]``).

    Examples
    --------
    >>> rows = pd.DataFrame({
    ...     "wave": [2021, 2021, 2025, 2025], "area": "a", "grade": "all", "sex": "all",
    ...     "measure": ["alcohol_30d", "truancy"] * 2, "measure_kind": "behaviour",
    ...     "n": 200, "pct": [0.25, 0.10, 0.15, 0.11], "suppressed": False,
    ...     "cutpoint_version": ""})
    >>> result = compare_waves(rows, area="a", wave=2025, previous_wave=2021,
    ...                        measures=["alcohol_30d"])
    >>> result[["measure", "diff", "p_value", "p_holm", "change"]].round(3)
           measure  diff  p_value  p_holm    change
    0  alcohol_30d  -0.1    0.012   0.012  decrease
    """
    table = _aggregates(data)
    if measures is not None:
        table = table[table["measure"].isin(_check_measures(table, measures))]
    frame = survey_compare.compare_waves(
        _with_n_eff(table), wave=wave, previous_wave=previous_wave, area=area, grade=grade,
        sex=sex, min_n=_min_n(data, min_n), confidence=confidence,
    )  # fmt: skip
    return _with_family(frame)


def _with_n_eff(table: pd.DataFrame) -> pd.DataFrame:
    """Unweighted tables may lack ``n_eff`` and ``cutpoint_version``: fill them plainly."""
    extra = {}
    if "n_eff" not in table:
        extra["n_eff"] = table["n"].astype(float)
    if "cutpoint_version" not in table:
        extra["cutpoint_version"] = ""
    return table.assign(**extra) if extra else table


def load_scored(config: Any, *, lang: str | None = None) -> pd.DataFrame:
    """The private row-level scored data of a run, for one's own analysis: NOT for publication.

    The deliberate way to the rows behind the published tables: one row per questionnaire with
    its area, school, grade, sex, factor scores, at-risk flags and behaviours, exactly as the
    run's private prepare step scored them (its cache is reused or built). Every call warns
    (:class:`PrivateDataWarning`, in Swedish or English): nothing computed from these rows may
    be shown or shared before it has gone through the same suppression as the published tables
    (:func:`~ctc_helpers.privacy.suppress.suppress_table`, ``min_n`` of the run).

    Parameters
    ----------
    config : RunConfig or str or pathlib.Path
        The run file (``reports/run.yaml``) or its loaded configuration; or the path of a
        ``scored.parquet`` of the run's private cache (read as it is).
    lang : str, optional
        Language of the warning (default: ``CTC_LANG``, else Swedish).

    Returns
    -------
    pandas.DataFrame
        The scored rows (columns as ``ctc_helpers.survey.profile.prepare_scored`` returns).

    Warns
    -----
    PrivateDataWarning
        Always: the data are private.
    """
    warnings.warn(t("private_rows_warning", lang), PrivateDataWarning, stacklevel=2)
    if isinstance(config, str | Path) and Path(config).suffix == ".parquet":
        return pd.read_parquet(config)
    run = config if isinstance(config, RunConfig) else load_run_config(config)
    prepared = prepare_waves(run)
    return pd.read_parquet(Path(prepared.private["cache"]) / "scored.parquet")
