"""The published folder of a wave, read once and checked.

Notebooks, reports and dashboards read ONLY the published (suppressed) folder of a wave,
``reports/<wave>/data/`` (see ``docs/ARCHITECTURE.md``). :func:`load_published` reads it, checks
that every file and column is there and hides again every row marked ``suppressed`` (defence in
depth: a suppressed number never reaches a table or a chart even if a file carried it).
:func:`select_rows` picks the rows of one wave and area. The tidy frames with labels that the
tables and charts show are made in :mod:`ctc_helpers.views.frames`, the labels in
:mod:`ctc_helpers.views.labels`.

Columns read from the published folder (files may hold more):

==========================  ======================================================================
``aggregates.parquet``      the tidy aggregate table of ARCHITECTURE.md
``comparisons.parquet``     ``wave, area, grade, sex, measure, comparison`` (``"city"`` or
                            ``"previous_wave"``), ``diff, diff_low, diff_high, change``; optional
                            ``reference_wave`` (the earlier wave of a ``previous_wave`` row)
``participation.parquet``   ``wave, area, school, grade, sex, n, suppressed`` (``n``: answered
                            questionnaires); optional ``n_valid, enrolled, response_rate``
``screening_log.parquet``   ``wave, area, grade, rule, n_respondents, n_flagged, suppressed``
                            (questionnaires of the group and those flagged by ``rule``; the rule
                            ``any_excluded`` counts those excluded by at least one rule)
``cutpoints.csv``           ``factor, method, flag_value, high_value, reference, version``
``measures.csv``            ``measure, measure_kind, domain, label_sv, label_en`` (or ``label``
                            with a ``lang`` column); optional ``group, order``
``run_info.json``           ``min_cell``, ``synthetic``, ``waves``, ``areas`` (``area_id, name``),
                            ``instrument`` (``id, version, notice``), ``cutpoint_version`` (text
                            or list); optional ``validity_rules`` (``id, label {sv, en}``), else
                            rule labels come from the default instrument when its ids match;
                            optional (issue 16) ``respondents`` (``grades``/``sexes``: ``code,
                            year, label``), ``domains`` (``id, label``), ``languages``,
                            ``glossary``, ``has_factors``, ``has_behaviours``, ``has_screening``
==========================  ======================================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctc_helpers.config.instrument import RespondentSchema, load_respondent_schema
from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import t
from ctc_helpers.paths import resolve_path
from ctc_helpers.vocab import CITY, TOTAL

__all__ = [
    "PUBLISHED_FILES",
    "Published",
    "load_published",
    "check_wave",
    "previous_wave_of",
    "select_rows",
]


PUBLISHED_FILES = {
    "aggregates": "aggregates.parquet",
    "comparisons": "comparisons.parquet",
    "participation": "participation.parquet",
    "screening_log": "screening_log.parquet",
    "cutpoints": "cutpoints.csv",
    "measures": "measures.csv",
    "run_info": "run_info.json",
}
REQUIRED_COLUMNS = {
    "aggregates": (
        "wave", "area", "grade", "sex", "measure", "measure_kind", "domain",
        "n", "n_flagged", "pct", "ci_low", "ci_high", "suppressed",
    ),
    "comparisons": (
        "wave", "area", "grade", "sex", "measure", "comparison",
        "diff", "diff_low", "diff_high", "change",
    ),
    "participation": ("wave", "area", "school", "grade", "sex", "n", "suppressed"),
    "screening_log": ("wave", "area", "grade", "rule", "n_respondents", "n_flagged", "suppressed"),
    "cutpoints": ("factor", "method", "flag_value", "high_value", "reference", "version"),
    "measures": ("measure", "measure_kind", "domain"),
}  # fmt: skip
# Value columns blanked (NaN) on every row marked suppressed, per file.
VALUE_COLUMNS = {
    "aggregates": ("n", "n_flagged", "pct", "ci_low", "ci_high", "n_eff", "pct_level2"),
    "comparisons": (
        "pct_area",
        "n_area",
        "pct_city",
        "n_city",
        "pct_rest",
        "n_rest",
        "pct",
        "n",
        "pct_previous",
        "n_previous",
        "diff",
        "diff_low",
        "diff_high",
        "z",
        "p_value",
        "p_holm",
        "cohens_h",
    ),  # fmt: skip
    "participation": ("n", "n_valid", "response_rate"),
    "screening_log": ("n_respondents", "n_flagged"),
}
# Group sizes checked against ``min_cell`` (the comparisons hold both groups of each comparison).
SIZE_COLUMNS = {
    "aggregates": ("n",),
    "comparisons": ("n", "n_area", "n_rest", "n_previous"),
    "participation": ("n",),
    "screening_log": ("n_respondents",),
}
_TEXT_COLUMNS = ("area", "grade", "sex", "school", "measure", "rule", "comparison", "change")


@dataclass(frozen=True)
class Published:
    """The published folder of one wave, read by :func:`load_published`.

    Every frame holds only published (suppressed) values; ``min_cell`` is the minimum group size
    that is shown (at least the one the batch suppressed with).
    """

    path: Path
    aggregates: pd.DataFrame
    comparisons: pd.DataFrame
    participation: pd.DataFrame
    screening_log: pd.DataFrame
    cutpoints: pd.DataFrame
    measures: pd.DataFrame
    run_info: dict[str, Any]
    min_cell: int

    @property
    def waves(self) -> tuple[int, ...]:
        """Survey years present in the aggregate table, oldest first."""
        return tuple(sorted(int(w) for w in self.aggregates["wave"].unique()))

    @property
    def areas(self) -> pd.DataFrame:
        """The area list of the run: columns ``area_id, name``."""
        areas = self.run_info.get("areas") or []
        frame = pd.DataFrame(areas, columns=["area_id", "name"])
        if frame.empty:
            ids = sorted(set(self.aggregates["area"]) - {CITY})
            frame = pd.DataFrame({"area_id": ids, "name": ids})
        return frame

    @property
    def synthetic(self) -> bool:
        return bool(self.run_info.get("synthetic", False))

    def vocabulary(self, key: str) -> list[dict[str, Any]]:
        """The instrument's ``"grades"`` or ``"sexes"`` (``code, label {sv, en}``, in order) as
        published; ``[]`` for a folder written before the vocabulary was published."""
        return list((self.run_info.get("respondents") or {}).get(key) or [])

    def respondent_schema(self) -> RespondentSchema:
        """The grade and sex codes in force for this folder (the published vocabulary), to check
        the teams' files (goal chains) against; the default schema when none is published."""
        own = {k: tuple(self.vocabulary(k)) for k in ("grades", "sexes") if self.vocabulary(k)}
        schema = load_respondent_schema()
        return replace(schema, **own) if own else schema

    @property
    def domains(self) -> list[dict[str, Any]]:
        """The instrument's declared domains (``id, label {sv, en}``, in order); ``[]`` if absent."""
        return list(self.run_info.get("domains") or [])

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages the instrument's texts are written in (both when not published)."""
        return tuple(self.run_info.get("languages") or ("sv", "en"))

    @property
    def glossary(self) -> list[dict[str, Any]]:
        """The instrument's own glossary entries (``term``, ``definition``: ``{sv, en}``)."""
        return list(self.run_info.get("glossary") or [])

    def has(self, part: str) -> bool:
        """Whether the instrument has ``"factors"``, ``"behaviours"`` or ``"screening"``.

        A folder written before these flags were published is taken to have every part.
        """
        return bool(self.run_info.get(f"has_{part}", True))


# --------------------------------------------------------------------------------------------
# Loading


def load_published(data_dir: str | Path, *, min_cell: int | None = None) -> Published:
    """Read and check the published folder of a wave (``reports/<wave>/data``).

    Parameters
    ----------
    data_dir : str or Path
        The folder; a relative path is taken from the current folder when it exists there,
        otherwise from the repository root (so ``"reports/2025/data"`` works from ``notebooks/``).
    min_cell : int, optional
        Smallest group to show. It may not be below the minimum the folder was suppressed with
        (``run_info.json``); a larger value hides, in addition, every row with ``n < min_cell``.

    Returns
    -------
    Published
        The frames (codes as str, waves as int), ``run_info`` and the effective ``min_cell``.

    Raises
    ------
    InputFileError
        If the folder, a file or a required column is missing, or a file cannot be read; the
        message names it and says how the folder is made (``ctc run``).
    ValueError
        If ``min_cell`` is below the published minimum.
    """
    path = _resolve_dir(data_dir)
    run_info = _read_run_info(path)
    published_min = int(run_info.get("min_cell", 10))
    shown_min = _check_min_cell(min_cell, published_min)
    frames = {name: _read_frame(path, name) for name in REQUIRED_COLUMNS}
    frames = {name: _hide_suppressed(frame, name, shown_min) for name, frame in frames.items()}
    frames["measures"] = _normalise_measures(frames["measures"], path)
    # the aggregate table carries the run's info (vocabulary, domains) to the label helpers
    frames["aggregates"].attrs["run_info"] = run_info
    return Published(path=path, run_info=run_info, min_cell=shown_min, **frames)


def _resolve_dir(data_dir: str | Path) -> Path:
    path = resolve_path(data_dir)
    if not path.is_dir():
        raise InputFileError(t("published_missing", None, path=data_dir))
    missing = [name for name in PUBLISHED_FILES.values() if not (path / name).is_file()]
    if missing:
        raise InputFileError(t("published_incomplete", None, path=path, files=", ".join(missing)))
    return path


def _read_run_info(path: Path) -> dict[str, Any]:
    file = path / PUBLISHED_FILES["run_info"]
    try:
        info = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputFileError(t("published_unreadable", None, file=file, detail=exc)) from None
    if not isinstance(info, dict):
        raise InputFileError(t("published_unreadable", None, file=file, detail="not a JSON object"))
    return info


def _check_min_cell(min_cell: int | None, published_min: int) -> int:
    if min_cell is None:
        return published_min
    if isinstance(min_cell, bool) or not isinstance(min_cell, int | np.integer):
        raise ValueError(f"min_cell must be a whole number; got {min_cell!r}.")
    if min_cell < published_min:
        raise ValueError(
            f"min_cell is {min_cell}, but the published folder was suppressed with a minimum of"
            f" {published_min}; a report cannot show smaller groups. Use {published_min} or more."
        )
    return int(min_cell)


def _read_frame(path: Path, name: str) -> pd.DataFrame:
    file = path / PUBLISHED_FILES[name]
    try:
        frame = pd.read_csv(file) if file.suffix == ".csv" else pd.read_parquet(file)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputFileError(t("published_unreadable", None, file=file, detail=exc)) from None
    missing = [c for c in REQUIRED_COLUMNS[name] if c not in frame.columns]
    if missing:
        raise InputFileError(
            t("published_old", None, file=file.name, columns=", ".join(missing),
              found=", ".join(map(str, frame.columns)))
        )  # fmt: skip
    return _typed(frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    text = {c: frame[c].astype(str) for c in _TEXT_COLUMNS if c in frame.columns}
    waves = {"wave": frame["wave"].astype(int)} if "wave" in frame.columns else {}
    return frame.assign(**text, **waves)


def _hide_suppressed(frame: pd.DataFrame, name: str, min_cell: int) -> pd.DataFrame:
    """Blank every value of a hidden row: marked suppressed (or too few), or smaller than
    ``min_cell`` in any of its group sizes (a stricter minimum than the published one)."""
    if name not in VALUE_COLUMNS:
        return frame
    hidden = frame["suppressed"].astype(bool) if "suppressed" in frame.columns else False
    if name == "comparisons":
        hidden = hidden | frame["change"].eq("too_few")
    for size in SIZE_COLUMNS[name]:
        if size in frame.columns:
            hidden = hidden | frame[size].between(0, min_cell, inclusive="neither")
    columns = [c for c in VALUE_COLUMNS[name] if c in frame.columns]
    out = frame.assign(**{c: frame[c].astype(float).mask(hidden) for c in columns})
    out = out.assign(suppressed=hidden) if "suppressed" in frame.columns else out
    return (
        out.assign(change=out["change"].mask(hidden, "too_few")) if name == "comparisons" else out
    )


def _normalise_measures(measures: pd.DataFrame, path: Path) -> pd.DataFrame:
    """One row per measure with ``label_sv``, ``label_en`` (wide), ``group`` and ``order``."""
    if "lang" in measures.columns:
        wide = measures.pivot_table(
            index="measure", columns="lang", values="label", aggfunc="first"
        ).add_prefix("label_")
        measures = (
            measures.drop_duplicates("measure")
            .drop(columns=["lang", "label"])
            .join(wide, on="measure")
        )
    missing = [c for c in ("label_sv", "label_en") if c not in measures.columns]
    if missing:
        raise InputFileError(
            t("published_old", None, file=PUBLISHED_FILES["measures"], columns=", ".join(missing),
              found=", ".join(measures.columns))
        )  # fmt: skip
    order = measures["order"] if "order" in measures.columns else range(len(measures))
    group = measures["group"] if "group" in measures.columns else measures["domain"]
    return measures.assign(order=order, group=group.fillna("").astype(str)).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Parameters and row selection


def check_wave(published: Published, wave: int) -> int | None:
    """Check that ``wave`` is published and return the previous wave (``None`` if none).

    Raises
    ------
    ValueError
        If the wave is not in the aggregate table; the message lists the published waves.
    """
    if (
        isinstance(wave, bool)
        or not isinstance(wave, int | np.integer)
        or wave not in published.waves
    ):
        raise ValueError(
            f"The survey year {wave!r} is not in the published data; published years:"
            f" {', '.join(map(str, published.waves))}."
        )
    return previous_wave_of(published.aggregates, wave)


def previous_wave_of(aggregates: pd.DataFrame, wave: int) -> int | None:
    """The latest wave before ``wave`` in a tidy table, or ``None``."""
    earlier = [int(w) for w in aggregates["wave"].unique() if int(w) < wave]
    return max(earlier) if earlier else None


def select_rows(
    frame: pd.DataFrame,
    *,
    wave: int,
    area: str,
    grade: str | None = TOTAL,
    sex: str | None = TOTAL,
    kinds: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Rows of one wave and area; ``grade``/``sex`` ``None`` keeps every code (margins included).

    The rows keep their order and index. The conditions narrow the row positions one after the
    other (the wave, then the area, ...), so each text comparison runs only over the rows still
    kept: a report selects from the whole city's table many times.
    """
    rows = np.flatnonzero(frame["wave"].to_numpy() == wave)
    for column, value in (("area", area), ("grade", grade), ("sex", sex)):
        if value is not None:
            rows = rows[frame[column].to_numpy()[rows] == value]
    if kinds is not None:
        rows = rows[pd.Series(frame["measure_kind"].to_numpy()[rows]).isin(kinds).to_numpy()]
    return frame.iloc[rows]
