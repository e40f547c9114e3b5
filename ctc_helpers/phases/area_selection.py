"""Where to start: rank a city's areas for a first CTC start, on transparent criteria.

CTC's assessment training describes choosing priority areas by higher risk, lower protection,
more problem behaviour and greater readiness, and warns against labelling an area. This module
lays the criteria side by side for every area of one wave (the published aggregates, totals over
grades and sexes) and adds up simple points; the steering group decides.

Criteria (one row per area; shares 0..1, differences area - city)
----------------------------------------------------------------
- ``risk_diff``: mean over the risk factors of the share at risk, minus the city's;
- ``protection_diff``: mean over the protective factors of the share with protection, minus the
  city's (lower = less protection);
- ``behaviour_diff``: mean over the priority behaviours (all behaviours when none are named) of
  the share with the behaviour, minus the city's;
- ``risk_change``: mean change of the share at risk over the risk factors since the previous
  wave (the area's own; positive = more risk);
- ``n``: pupils who answered (all grades and sexes) - where a programme can reach more pupils;
- ``readiness``: the steering group's score (1-5) from its readiness file (:func:`load_readiness`),
  blank when not entered.

Points: each criterion gives 2 points to the third of areas with the most need (highest risk,
lowest protection, most behaviour, most risk increase, most pupils), 1 to the middle third and 0
to the rest (ties share the better points); readiness gives 2 points for 4-5, 1 for 3, 0 for
1-2 or not entered. ``score`` is the sum; areas are ranked by score, then readiness, then
``risk_diff``. Areas whose totals are hidden (too few answers) are listed with status
``too_few`` and not ranked.

>>> tercile_points(pd.Series([0.1, 0.3, 0.2, 0.0, 0.5, 0.4])).tolist()
[0, 1, 1, 0, 2, 2]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ctc_helpers.config.files import read_csv_text
from ctc_helpers.errors import ConfigError
from ctc_helpers.i18n import t
from ctc_helpers.paths import resolve_path
from ctc_helpers.vocab import CITY, FACTOR_KINDS, OUTCOME_KINDS, TOTAL

__all__ = [
    "AREA_COLUMNS",
    "CRITERIA",
    "READINESS_RANGE",
    "load_readiness",
    "rank_areas",
    "tercile_points",
]

RISK, PROTECTIVE = FACTOR_KINDS
BEHAVIOUR = OUTCOME_KINDS[0]
READINESS_RANGE = (1, 5)
CRITERIA = {  # criterion -> True when a higher value means more need
    "risk_diff": True,
    "protection_diff": False,
    "behaviour_diff": True,
    "risk_change": True,
    "n": True,
}
AREA_COLUMNS = (
    "area", "status", "n", "risk_pct", "risk_diff", "protection_pct", "protection_diff",
    "behaviour_pct", "behaviour_diff", "risk_change", "readiness", "readiness_note",
    *(f"points_{c}" for c in CRITERIA), "points_readiness", "score", "rank", "behaviours",
)  # fmt: skip


def tercile_points(values: pd.Series, *, higher_is_need: bool = True) -> pd.Series:
    """2 points for the third of values with the most need, 1 for the middle, 0 for the rest;
    NaN gives 0. Ties get the better points."""
    need = values if higher_is_need else -values
    share = need.rank(method="max", pct=True, na_option="keep")
    points = np.select([share > 2 / 3, share > 1 / 3], [2, 1], default=0)
    return pd.Series(np.where(need.isna(), 0, points), index=values.index, dtype=int)


def _totals(aggregates: pd.DataFrame, wave: int) -> pd.DataFrame:
    rows = aggregates[
        aggregates["wave"].eq(wave) & aggregates["grade"].eq(TOTAL) & aggregates["sex"].eq(TOTAL)
    ]
    return rows.assign(shown=~rows["suppressed"].astype(bool) & rows["pct"].notna())


def _mean_share(rows: pd.DataFrame, kind: str, measures: Sequence[str] | None = None) -> pd.Series:
    picked = rows[rows["measure_kind"].eq(kind) & rows["shown"]]
    if measures is not None:
        picked = picked[picked["measure"].isin(measures)]
    return picked.groupby("area")["pct"].mean()


def rank_areas(
    aggregates: pd.DataFrame,
    *,
    wave: int,
    previous_wave: int | None = None,
    behaviours: Sequence[str] = (),
    readiness: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rank the areas of one wave for a first CTC start (see the module doc).

    Parameters
    ----------
    aggregates : pandas.DataFrame
        The published aggregate table (both waves when ``previous_wave`` is used).
    wave : int
        Survey year.
    previous_wave : int, optional
        Earlier wave for ``risk_change`` (default: the latest before ``wave`` in the table).
    behaviours : list of str, optional
        The priority behaviours (default: every behaviour).
    readiness : pandas.DataFrame, optional
        :func:`load_readiness` (columns ``area, readiness, note``).

    Returns
    -------
    pandas.DataFrame
        One row per area (not the city), ranked: the columns of ``AREA_COLUMNS``; ``status`` is
        ``ok`` or ``too_few``; ``behaviours`` names the behaviours used.
    """
    now = _totals(aggregates, wave)
    earlier = [w for w in aggregates["wave"].unique() if w < wave]
    previous = previous_wave if previous_wave is not None else max(earlier, default=None)
    chosen = list(behaviours) or sorted(
        now.loc[now["measure_kind"].eq(BEHAVIOUR), "measure"].unique()
    )
    table = pd.DataFrame(
        {
            "risk_pct": _mean_share(now, RISK),
            "protection_pct": _mean_share(now, PROTECTIVE),
            "behaviour_pct": _mean_share(now, BEHAVIOUR, chosen),
            "n": now[now["shown"]].groupby("area")["n"].max(),
        }
    )
    table = table.assign(
        risk_diff=table["risk_pct"] - table.loc[CITY, "risk_pct"],
        protection_diff=table["protection_pct"] - table.loc[CITY, "protection_pct"],
        behaviour_diff=table["behaviour_pct"] - table.loc[CITY, "behaviour_pct"],
        risk_change=_risk_change(now, aggregates, previous),
    ).drop(index=CITY)
    areas = sorted(set(now["area"]) - {CITY})
    table = table.reindex(areas).rename_axis("area").reset_index()
    return _scored(_with_readiness(table, readiness), chosen)


def _risk_change(now: pd.DataFrame, aggregates: pd.DataFrame, previous: int | None) -> pd.Series:
    if previous is None:
        return pd.Series(dtype=float)
    before = _totals(aggregates, previous)
    both = now[now["measure_kind"].eq(RISK) & now["shown"]].merge(
        before.loc[before["shown"], ["area", "measure", "pct"]], on=["area", "measure"],
        suffixes=("", "_before"),
    )  # fmt: skip
    return (both["pct"] - both["pct_before"]).groupby(both["area"]).mean()


def _with_readiness(table: pd.DataFrame, readiness: pd.DataFrame | None) -> pd.DataFrame:
    if readiness is None:
        return table.assign(readiness=np.nan, readiness_note="")
    merged = table.merge(
        readiness.rename(columns={"note": "readiness_note"}), on="area", how="left"
    )
    return merged.assign(readiness_note=merged["readiness_note"].fillna(""))


def _scored(table: pd.DataFrame, behaviours: list[str]) -> pd.DataFrame:
    ok = table["risk_pct"].notna() & table["n"].notna()
    points = {
        f"points_{c}": tercile_points(table.loc[ok, c], higher_is_need=up).reindex(table.index)
        for c, up in CRITERIA.items()
    }
    ready = np.select([table["readiness"] >= 4, table["readiness"] >= 3], [2, 1], default=0)
    table = table.assign(**points, points_readiness=ready, status=np.where(ok, "ok", "too_few"))
    point_columns = [*points, "points_readiness"]
    table[point_columns] = table[point_columns].fillna(0).astype(int)
    table["score"] = table[point_columns].sum(axis=1).where(ok, 0).astype(int)
    ordered = table[ok].sort_values(
        ["score", "readiness", "risk_diff", "area"], ascending=[False, False, False, True],
        na_position="last",
    )  # fmt: skip
    rank = pd.Series(np.arange(1, len(ordered) + 1, dtype=float), index=ordered.index)
    table = table.assign(rank=rank.reindex(table.index), behaviours=", ".join(behaviours))
    return (
        table.sort_values(["rank", "area"], na_position="last")
        .reset_index(drop=True)
        .loc[:, list(AREA_COLUMNS)]
    )


def load_readiness(
    path: str | Path, *, areas: Sequence[str] | None = None, lang: str | None = None
) -> pd.DataFrame:
    """Read the steering group's readiness file: CSV with ``area, readiness`` (1-5), ``note``.

    Raises
    ------
    ConfigError
        Naming the file, row, column and value of every problem (unknown area, a score that is
        not a whole number from 1 to 5, a missing column, an area given twice), or saying that
        the file cannot be read (missing, not UTF-8 text, not a table), sv/en.
    """
    file = resolve_path(path)
    frame = read_csv_text(file, lang=lang)
    missing = [c for c in ("area", "readiness") if c not in frame.columns]
    if missing:
        raise ConfigError(
            t("area_readiness_column", lang, file=file.name, column=missing[0],
              columns=", ".join(frame.columns))
        )  # fmt: skip
    problems = [
        _readiness_problem(file, row, value, areas, lang)
        for row, value in enumerate(frame.to_dict("records"), start=2)
    ]
    twice = frame["area"][frame["area"].duplicated()].tolist()
    problems += [t("area_readiness_twice", lang, file=file.name, area=a) for a in twice]
    problems = [p for p in problems if p]
    if problems:
        raise ConfigError("\n".join(problems))
    scores = pd.to_numeric(frame["readiness"]).astype(int)
    note = frame.get("note", "")
    return pd.DataFrame({"area": frame["area"], "readiness": scores, "note": note})


def _readiness_problem(file: Path, row: int, record: dict, areas, lang) -> str:
    low, high = READINESS_RANGE
    value = record["readiness"].strip()
    if areas is not None and record["area"] not in areas:
        return t("area_readiness_area", lang, file=file.name, row=row, value=record["area"],
                 known=", ".join(areas))  # fmt: skip
    if not value.isdigit() or not low <= int(value) <= high:
        return t("area_readiness_value", lang, file=file.name, row=row, value=value, low=low,
                 high=high)  # fmt: skip
    return ""
