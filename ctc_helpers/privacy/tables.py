"""Between the tidy tables and the cell system of a wave: what each published row shows.

:func:`wave_input` selects one wave of the private (unsuppressed) tables; :func:`published_tables`
turns the chosen status of every cell into the three published tables of that wave; and
:func:`status_of` reads the status back from published tables (what a reader sees), so the
audit can check any published folder without trusting how it was made.

Published rows (``docs/PRIVACY.md``):

- ``aggregates``: ``area x grade x sex x measure`` with sex ``F``, ``M`` and ``all`` = girls and
  boys (pupils without a stated sex are in no measure); ``n`` is blank where the group size is
  hidden, ``n_flagged, pct, ci_low, ci_high, n_eff`` where the value is hidden (``suppressed``).
- ``participation``: valid questionnaires of girls, boys and both by area x grade and area x sex
  (``all_pupils`` false); the answered and valid questionnaires of every pupil, enrolment and
  response rate for each area, each grade of the city, the city (``all_pupils`` true) and the
  answered questionnaires of each school (``school``, all grades).
- ``screening_log``: questionnaires screened and flagged by each validity rule for each area,
  each grade of the city and the city.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ctc_helpers.privacy.system import HIDDEN, SHOWN, UNPUBLISHED
from ctc_helpers.privacy.wave import (
    ALL_PUPILS,
    ANY_EXCLUDED,
    GIRLS_BOYS,
    WaveInput,
    WaveSystem,
    structural_zeros,
)
from ctc_helpers.stats.intervals import wilson_ci
from ctc_helpers.vocab import CITY, PUBLISHED_SEXES, TOTAL

__all__ = [
    "AGGREGATE_COLUMNS",
    "PARTICIPATION_COLUMNS",
    "SCREENING_COLUMNS",
    "published_tables",
    "status_of",
    "wave_input",
]

AGGREGATE_COLUMNS = (
    "wave", "area", "grade", "sex", "measure", "measure_kind", "domain", "n", "n_flagged",
    "pct", "ci_low", "ci_high", "n_eff", "cutpoint_version", "suppressed",
)  # fmt: skip
PARTICIPATION_COLUMNS = (
    "wave", "area", "school", "grade", "sex", "all_pupils", "n", "n_valid", "enrolled",
    "response_rate", "suppressed",
)  # fmt: skip
SCREENING_COLUMNS = ("wave", "area", "grade", "rule", "n_respondents", "n_flagged", "suppressed")
VALUE_COLUMNS = ("n_flagged", "pct", "ci_low", "ci_high", "n_eff")


def wave_input(
    aggregates: pd.DataFrame,
    participation: pd.DataFrame,
    screening: pd.DataFrame,
    *,
    wave: int,
    excluding: frozenset[str],
) -> WaveInput:
    """The private tables of one wave (codes as text)."""

    def pick(frame: pd.DataFrame) -> pd.DataFrame:
        rows = frame[frame["wave"].astype(int) == int(wave)]
        text = [c for c in ("area", "grade", "sex", "school", "rule") if c in rows.columns]
        return rows.assign(**{c: rows[c].astype(str) for c in text}).reset_index(drop=True)

    return WaveInput(pick(aggregates), pick(participation), pick(screening), excluding)


# --------------------------------------------------------------------------------------------
# Rows and their cells


def _aggregate_rows(wave: WaveSystem, data: WaveInput) -> tuple[pd.DataFrame, dict]:
    """The published aggregate rows (true values) and the cell of ``n`` and ``n_flagged``."""
    source = data.aggregates
    per_measure = source.drop_duplicates("measure").set_index("measure")
    sexes = (*PUBLISHED_SEXES, TOTAL)
    areas, grades = (*wave.areas, CITY), (*wave.grades, TOTAL)
    index = pd.MultiIndex.from_product(
        [areas, grades, sexes, wave.measures], names=["area", "grade", "sex", "measure"]
    )
    rows = index.to_frame(index=False)
    cells = {}
    for layer in ("n", "f"):
        grids = np.stack([wave.cubes[f"{layer}:{m}"].grid() for m in wave.measures], axis=-1)
        cells[layer] = grids.reshape(-1)  # area, grade, sex (F, M, FM), measure: C order
    values = wave.system.values
    n, flagged = values[cells["n"]], values[cells["f"]]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(n > 0, flagged / n, np.nan)
    low, high = wilson_ci(np.where(n > 0, flagged, 0.0), n)
    measure = rows["measure"]
    rows = rows.assign(
        wave=int(source["wave"].iloc[0]),
        measure_kind=measure.map(per_measure["measure_kind"]).to_numpy(),
        domain=measure.map(per_measure["domain"]).to_numpy(),
        n=n,
        n_flagged=flagged,
        pct=pct,
        ci_low=np.where(n > 0, low, np.nan),
        ci_high=np.where(n > 0, high, np.nan),
        n_eff=n.astype(float),
        cutpoint_version=measure.map(per_measure["cutpoint_version"]).fillna("").to_numpy(),
    )
    return rows, cells


def _participation_rows(wave: WaveSystem, data: WaveInput) -> tuple[pd.DataFrame, dict]:
    """Participation rows and, per value column, the cell it shows (-1: none)."""
    cubes = wave.cubes
    v, q = cubes["V"], cubes["Q"]
    sexes = v.dims[2].codes
    frames, cells = [], {"n": [], "n_valid": [], "enrolled": []}
    areas, grades = (*wave.areas, CITY), (*wave.grades, TOTAL)
    has_e = "E" in cubes
    for i, area in enumerate(areas):
        for j, grade in enumerate(grades):
            fine = area != CITY and grade != TOTAL
            for sex in (*PUBLISHED_SEXES, TOTAL):
                code = sex if sex != TOTAL else (GIRLS_BOYS if fine else ALL_PUPILS)
                every = sex == TOTAL and not fine
                frames.append((area, TOTAL, grade, sex, every))
                cells["n_valid"].append(v.grid()[i, j, sexes.index(code)])
                cells["n"].append(q.grid()[i, j] if every else -1)
                show_e = has_e and sex == TOTAL
                cells["enrolled"].append(cubes["E"].grid()[i, j] if show_e else -1)
    qs = cubes["QS"]
    member = wave.published[qs.grid()[:-1, :-1]]
    for i, area in enumerate(wave.areas):
        for k, school in enumerate(wave.schools):
            if not member[i, k]:
                continue
            frames.append((area, school, TOTAL, TOTAL, True))
            cells["n"].append(qs.grid()[i, k])
            cells["n_valid"].append(-1)
            cells["enrolled"].append(cubes["ES"].grid()[i, k] if has_e else -1)
    rows = pd.DataFrame(frames, columns=["area", "school", "grade", "sex", "all_pupils"])
    rows.insert(0, "wave", int(data.participation["wave"].iloc[0]))
    cells = {k: np.asarray(c, dtype=int) for k, c in cells.items()}
    values = np.append(wave.system.values, np.nan)
    for column, ids in cells.items():
        rows[column] = values[np.where(ids >= 0, ids, -1)]
    return rows, cells


def _screening_rows(wave: WaveSystem, data: WaveInput) -> tuple[pd.DataFrame, dict]:
    cubes = wave.cubes
    places = [(i, -1) for i in range(len(wave.areas))] + [
        (-1, j) for j in range(len(wave.grades) + 1)
    ]
    frames, cells = [], {"n_respondents": [], "n_flagged": []}
    rules = [*wave.rules, ANY_EXCLUDED]
    areas, grades = (*wave.areas, CITY), (*wave.grades, TOTAL)
    for i, j in places:
        for rule in rules:
            cube = cubes["X"] if rule == ANY_EXCLUDED else cubes[f"R:{rule}"]
            frames.append((areas[i], grades[j], rule))
            cells["n_respondents"].append(cubes["Q"].grid()[i, j])
            cells["n_flagged"].append(cube.grid()[i, j])
    rows = pd.DataFrame(frames, columns=["area", "grade", "rule"])
    rows.insert(0, "wave", int(data.screening["wave"].iloc[0]))
    cells = {k: np.asarray(c, dtype=int) for k, c in cells.items()}
    for column, ids in cells.items():
        rows[column] = wave.system.values[ids]
    return rows, cells


# --------------------------------------------------------------------------------------------
# Status -> tables, tables -> status


def published_tables(wave: WaveSystem, status: np.ndarray, data: WaveInput) -> dict:
    """The three published tables of the wave with every hidden value blanked (NaN).

    Returns ``{"aggregates", "participation", "screening_log"}`` with the columns
    ``AGGREGATE_COLUMNS``, ``PARTICIPATION_COLUMNS`` and ``SCREENING_COLUMNS``.
    """
    shown = np.append(status == SHOWN, False)  # the id -1 ("no cell") is never shown
    rows, cells = _aggregate_rows(wave, data)
    n_shown, f_shown = shown[cells["n"]], shown[cells["f"]]
    aggregates = rows.assign(
        n=rows["n"].where(n_shown),
        **{c: rows[c].where(f_shown) for c in VALUE_COLUMNS},
        suppressed=~f_shown,
    )[list(AGGREGATE_COLUMNS)]
    rows, cells = _participation_rows(wave, data)
    masks = {c: shown[ids] for c, ids in cells.items()}
    counted = (cells["n"] >= 0) | (cells["n_valid"] >= 0)
    hidden = ((cells["n"] >= 0) & ~masks["n"]) | ((cells["n_valid"] >= 0) & ~masks["n_valid"])
    participation = rows.assign(
        n=rows["n"].where(masks["n"]),
        n_valid=rows["n_valid"].where(masks["n_valid"]),
        enrolled=rows["enrolled"].where(masks["enrolled"]),
        suppressed=hidden & counted,
    )
    rate = participation["n"] / participation["enrolled"]
    participation = participation.assign(response_rate=rate.where(participation["enrolled"] > 0))[
        list(PARTICIPATION_COLUMNS)
    ]
    rows, cells = _screening_rows(wave, data)
    masks = {c: shown[ids] for c, ids in cells.items()}
    screening = rows.assign(
        n_respondents=rows["n_respondents"].where(masks["n_respondents"]),
        n_flagged=rows["n_flagged"].where(masks["n_flagged"]),
        suppressed=~(masks["n_respondents"] & masks["n_flagged"]),
    )[list(SCREENING_COLUMNS)]
    return {"aggregates": aggregates, "participation": participation, "screening_log": screening}


def status_of(wave: WaveSystem, tables: Mapping[str, pd.DataFrame], data: WaveInput):
    """The status a reader sees in published tables of this wave: a cell is shown when any table
    shows its value, hidden when a table has its row but not its value, else unpublished.

    Raises ``ValueError`` when a published row is not one of the wave's rows (a different
    layout) or a shown value differs from the true value (the tables are not of this data).
    """
    status = np.full(wave.system.size + 1, UNPUBLISHED, dtype=np.int8)
    status[structural_zeros(wave)] = SHOWN
    shown = np.zeros(wave.system.size + 1, dtype=bool)
    builders = {
        "aggregates": (_aggregate_rows, ["area", "grade", "sex", "measure"], {"n": "n",
                                                                              "f": "n_flagged"}),
        "participation": (_participation_rows, ["area", "school", "grade", "sex"],
                          {"n": "n", "n_valid": "n_valid", "enrolled": "enrolled"}),
        "screening_log": (_screening_rows, ["area", "grade", "rule"],
                          {"n_respondents": "n_respondents", "n_flagged": "n_flagged"}),
    }  # fmt: skip
    for name, (build, keys, columns) in builders.items():
        rows, cells = build(wave, data)
        table = tables[name]
        table = table[table["wave"].astype(int) == int(rows["wave"].iloc[0])]
        merged = rows[keys].merge(
            table.assign(**{k: table[k].astype(str) for k in keys}),
            on=keys,
            how="left",
            indicator=True,
        )
        extra = len(table) - int((merged["_merge"] == "both").sum())
        if extra:
            raise ValueError(f"The published {name} table has {extra} row(s) of another layout.")
        for key, column in columns.items():
            ids = cells[key]
            present = merged["_merge"].eq("both").to_numpy()
            value = pd.to_numeric(merged[column], errors="coerce").to_numpy(dtype=float)
            seen = present & ~np.isnan(value)
            truth = np.append(wave.system.values, np.nan)[ids]
            if np.any(seen & (ids >= 0) & (np.abs(value - truth) > 1e-6)):
                raise ValueError(f"The published {name} table does not hold this wave's counts.")
            shown[ids[seen & (ids >= 0)]] = True
            status[ids[present & ~seen & (ids >= 0)]] = HIDDEN
    status[shown] = SHOWN
    return status[:-1]
