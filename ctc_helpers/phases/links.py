"""Local strength of the links between risk/protective factors and problem behaviours.

Research links a factor to a behaviour (``data_schema/factor_links.yaml``, read by
:mod:`ctc_helpers.config.factor_links`); this module measures how strong each link is **here**,
from the private row-level data, in the prepare step, and protects the result before it is
published.

For every group (wave x area, and the city), factor and priority behaviour, the pupils are split
by the factor into *exposed* (at risk on a risk factor; **without** the protection of a protective
factor, so that a positive difference always means "the factor goes with more of the behaviour")
and *not exposed*. Within each stratum of grade x sex the 2 x 2 table ``a`` (exposed with the
behaviour), ``b`` (exposed without), ``c`` (not exposed with), ``d`` (not exposed without),
``N = a + b + c + d`` is formed; pupils with a missing factor, behaviour, grade or sex are left out.

Estimates (Mantel-Haenszel, adjusted for grade and sex)
-------------------------------------------------------
- risk difference ``rd = sum((a n0 - c n1) / N) / sum(n1 n0 / N)`` with Sato's (1989) variance
  ``(rd P + Q) / W^2``, ``W = sum(n1 n0 / N)``, ``P = sum((n1^2 c - n0^2 a + n1 n0 (n0 - n1) / 2)
  / N^2)``, ``Q = sum((a (n0 - c) + c (n1 - a)) / (2 N))``;
- risk ratio ``rr = sum(a n0 / N) / sum(c n1 / N)`` with the Greenland-Robins (1985) variance of
  its log, ``sum((n1 n0 (a + c) - a c N) / N^2) / (sum(a n0 / N) sum(c n1 / N))``;
- odds ratio ``or = sum(a d / N) / sum(b c / N)`` with the Robins-Breslow-Greenland (1986)
  variance of its log (equal to ``statsmodels``' ``StratifiedTable``, which the tests check).

Strata where one of the two groups is empty carry no weight (their ``n1 n0 / N`` is 0). The crude
(unadjusted) shares ``pct_exposed`` and ``pct_unexposed`` are shown beside, with Wilson intervals.

Disclosure (``docs/PRIVACY.md``, section 3, rule 8): the published link rows count girls and
boys only (the pupils the published measures count). A reader who knows that ``a`` (exposed with
the behaviour) in each grade x sex stratum is at most the behaviour's ``n_flagged`` there, and so
on, could use a link row to narrow hidden cells of the aggregates. :func:`protect_links`
therefore shows an area's row only when every aggregate cell those relations touch is shown (the
``n`` and ``n_flagged`` of the factor and of the behaviour for each grade x girls/boys of the
area) and each of its four pooled cells is at least ``min_n``; the city's row only when every
area's row is shown. A shown row then relates only to shown numbers, and a hidden row is in no
published relation: the links reveal nothing about the audited tables, and no hidden link count
can be pinned or bounded away from zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctc_helpers.config.factor_links import load_factor_links
from ctc_helpers.errors import ConfigError
from ctc_helpers.i18n import t
from ctc_helpers.stats.distributions import z_value
from ctc_helpers.stats.intervals import wilson_ci
from ctc_helpers.vocab import CITY, FACTOR_KINDS, OUTCOME_KINDS, PUBLISHED_SEXES, TOTAL

__all__ = [
    "CELLS",
    "LINKS_FILE",
    "factor_kinds",
    "LINK_COLUMNS",
    "links_for_prepare",
    "local_links",
    "mantel_haenszel",
    "protect_links",
    "ranking_inputs",
    "read_links",
]

CELLS = ("a", "b", "c", "d")
"""The pooled 2 x 2 cells: exposed with / without the behaviour, not exposed with / without."""
STRATA = ("grade", "sex")
LINK_COLUMNS = (
    "wave", "area", "factor", "factor_kind", "behaviour", "n_exposed", "n_unexposed",
    "pct_exposed", "pct_exposed_low", "pct_exposed_high", "pct_unexposed", "pct_unexposed_low",
    "pct_unexposed_high", "rd", "rd_low", "rd_high", "rr", "rr_low", "rr_high", "or", "or_low",
    "or_high", "n_strata", "suppressed",
)  # fmt: skip
_ESTIMATES = ("rd", "rd_low", "rd_high", "rr", "rr_low", "rr_high", "or", "or_low", "or_high")


def mantel_haenszel(strata: pd.DataFrame, *, confidence: float = 0.95) -> dict[str, float]:
    """Mantel-Haenszel risk difference, risk ratio and odds ratio over strata of 2 x 2 tables.

    Parameters
    ----------
    strata : pandas.DataFrame
        One row per stratum with the counts ``a, b, c, d`` (see the module docstring).
    confidence : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    dict
        ``rd, rd_low, rd_high, rr, rr_low, rr_high, or, or_low, or_high`` (NaN where undefined,
        e.g. a ratio without cases among the not exposed) and ``n_strata`` (strata with weight).

    Examples
    --------
    >>> one = pd.DataFrame({"a": [30], "b": [70], "c": [15], "d": [85]})
    >>> {k: round(v, 3) for k, v in mantel_haenszel(one).items() if k in ("rd", "rr", "or")}
    {'rd': 0.15, 'rr': 2.0, 'or': 2.429}
    """
    a, b, c, d = (strata[cell].to_numpy(float) for cell in CELLS)
    n1, n0 = a + b, c + d
    total = n1 + n0
    used = (n1 > 0) & (n0 > 0)
    a, b, c, d, n1, n0, total = (v[used] for v in (a, b, c, d, n1, n0, total))
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            **_risk_difference(a, c, n1, n0, total, z),
            **_risk_ratio(a, c, n1, n0, total, z),
            **_odds_ratio(a, b, c, d, total, z),
            "n_strata": int(used.sum()),
        }


def _risk_difference(a, c, n1, n0, total, z) -> dict[str, float]:
    weight = float(np.sum(n1 * n0 / total))
    if weight == 0:
        return dict.fromkeys(("rd", "rd_low", "rd_high"), np.nan)
    rd = float(np.sum((a * n0 - c * n1) / total)) / weight
    p = float(np.sum((n1**2 * c - n0**2 * a + n1 * n0 * (n0 - n1) / 2) / total**2))
    q = float(np.sum((a * (n0 - c) + c * (n1 - a)) / (2 * total)))
    se = np.sqrt(max((rd * p + q) / weight**2, 0.0))
    return {"rd": rd, "rd_low": rd - z * se, "rd_high": rd + z * se}


def _risk_ratio(a, c, n1, n0, total, z) -> dict[str, float]:
    r, s = float(np.sum(a * n0 / total)), float(np.sum(c * n1 / total))
    if r == 0 or s == 0:
        return dict.fromkeys(("rr", "rr_low", "rr_high"), np.nan)
    var = float(np.sum((n1 * n0 * (a + c) - a * c * total) / total**2)) / (r * s)
    return _ratio("rr", r / s, var, z)


def _odds_ratio(a, b, c, d, total, z) -> dict[str, float]:
    r, s = a * d / total, b * c / total
    sr, ss = float(r.sum()), float(s.sum())
    if sr == 0 or ss == 0:
        return dict.fromkeys(("or", "or_low", "or_high"), np.nan)
    p, q = (a + d) / total, (b + c) / total
    var = (
        float(np.sum(p * r)) / (2 * sr**2)
        + float(np.sum(p * s + q * r)) / (2 * sr * ss)
        + float(np.sum(q * s)) / (2 * ss**2)
    )
    return _ratio("or", sr / ss, var, z)


def _ratio(name: str, value: float, var_log: float, z: float) -> dict[str, float]:
    half = z * np.sqrt(max(var_log, 0.0))
    return {name: value, f"{name}_low": value * np.exp(-half), f"{name}_high": value * np.exp(half)}


def _strata_counts(rows: pd.DataFrame, exposed: pd.Series, behaviour: pd.Series) -> pd.DataFrame:
    """The 2 x 2 counts per group x stratum (``a, b, c, d``)."""
    cell = np.where(exposed, np.where(behaviour, "a", "b"), np.where(behaviour, "c", "d"))
    keys = [*rows.columns]
    counts = rows.assign(cell=cell).groupby([*keys, "cell"], observed=True).size()
    wide = counts.unstack("cell", fill_value=0).reindex(columns=list(CELLS), fill_value=0)
    return wide.reset_index()


def local_links(
    scored: pd.DataFrame,
    *,
    factor_kinds: Mapping[str, str],
    behaviours: Sequence[str],
    groups: Sequence[str] = ("wave", "area"),
    city: bool = True,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Adjusted local strength of every factor x behaviour link, per group (unprotected).

    Parameters
    ----------
    scored : pandas.DataFrame
        Row-level scored data (``prepare_scored``): ``flag__<factor>``, ``flag__<behaviour>``,
        ``grade``, ``sex``, the ``groups`` columns and, when present, ``valid`` (only valid
        questionnaires count).
    factor_kinds : mapping
        Factor id -> ``"risk"`` or ``"protective"`` (protective: exposed = without it).
    behaviours : list of str
        The behaviours (``flag__<behaviour>`` columns).
    groups : list of str, default ("wave", "area")
        Columns that split the result.
    city : bool, default True
        Also the whole city (``area == "all"``) when ``"area"`` is a group.
    confidence : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per group x factor x behaviour: the ``groups`` columns, ``factor, factor_kind,
        behaviour``, the pooled cells ``a, b, c, d``, ``n_exposed, n_unexposed``, crude
        ``pct_exposed, pct_unexposed`` with Wilson intervals (``_low``, ``_high``), the adjusted
        ``rd, rr, or`` with intervals, ``n_strata``, ``suppressed`` (False).

    Raises
    ------
    KeyError
        If a ``flag__`` column, group or stratum column is missing (the message names it).
    """
    rows = scored[scored["valid"].astype(bool)] if "valid" in scored else scored
    if city and "area" in groups:
        rows = pd.concat([rows, rows.assign(area=CITY)], ignore_index=True)
    frames = [
        _one_link(rows, factor, kind, behaviour, list(groups), confidence)
        for factor, kind in factor_kinds.items()
        for behaviour in behaviours
    ]
    return pd.concat(frames, ignore_index=True)


def _column(rows: pd.DataFrame, name: str) -> pd.Series:
    if name not in rows:
        raise KeyError(f"The scored data have no column {name!r} (needed for the local links).")
    return rows[name]


def _one_link(rows, factor, kind, behaviour, groups, confidence) -> pd.DataFrame:
    flag = _column(rows, f"flag__{factor}").astype(float)
    outcome = _column(rows, f"flag__{behaviour}").astype(float)
    keys = rows[[*groups, *STRATA]]
    keep = flag.notna() & outcome.notna() & keys.notna().all(axis=1)
    exposed = flag[keep] == (1.0 if kind == "risk" else 0.0)
    strata = _strata_counts(keys[keep], exposed, outcome[keep] == 1.0)
    records = []
    for key, one in strata.groupby(groups, sort=True):
        cells = {cell: int(one[cell].sum()) for cell in CELLS}
        records.append(
            {**dict(zip(groups, key, strict=True)), **cells,
             **mantel_haenszel(one, confidence=confidence)}
        )  # fmt: skip
    table = pd.DataFrame(records)
    return _with_shares(table.assign(factor=factor, factor_kind=kind, behaviour=behaviour))


def _with_shares(table: pd.DataFrame) -> pd.DataFrame:
    n1, n0 = table["a"] + table["b"], table["c"] + table["d"]
    low1, high1 = wilson_ci(table["a"], n1)
    low0, high0 = wilson_ci(table["c"], n0)
    return table.assign(
        n_exposed=n1, n_unexposed=n0, pct_exposed=table["a"] / n1, pct_exposed_low=low1,
        pct_exposed_high=high1, pct_unexposed=table["c"] / n0, pct_unexposed_low=low0,
        pct_unexposed_high=high0, suppressed=False,
    )  # fmt: skip


def protect_links(
    links: pd.DataFrame, *, min_n: int = 10, aggregates: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The publishable link table (see the module docstring, *Disclosure*).

    An area's row is shown when each of its pooled cells ``a, b, c, d`` is at least ``min_n``
    and ``aggregates`` (the *published* aggregates) show the ``n`` and ``n_flagged`` of the
    factor and of the behaviour for every grade x girls/boys of that area and wave; the city's
    row when it has no small cell and every area's row of that wave, factor and behaviour is
    shown. A hidden row has every number blanked. The cells themselves are not published.

    Parameters
    ----------
    links : pandas.DataFrame
        :func:`local_links` with ``wave`` and ``area`` groups and the city rows.
    min_n : int, default 10
        Smallest count shown.
    aggregates : pandas.DataFrame, optional
        The published aggregates (hidden values blank). Without them no area row is shown.

    Returns
    -------
    pandas.DataFrame
        The columns of ``LINK_COLUMNS``; hidden rows have ``suppressed`` True and blank numbers.
    """
    small = (links[list(CELLS)] < min_n).any(axis=1)  # zeros too: "none of them" is not shown
    city = links["area"].astype(str).eq(CITY)
    covered = _covered(links, aggregates)
    hidden = small | (~city & ~covered)
    group = [links[c] for c in ("wave", "factor", "behaviour")]
    an_area_hidden = hidden.where(~city, False).groupby(group).transform("any")
    hidden = hidden | (city & an_area_hidden)
    numbers = [c for c in LINK_COLUMNS if c.startswith(("n_", "pct_", "r", "o"))]
    out = links.assign(suppressed=hidden)
    out = out.assign(**{c: out[c].astype(float).mask(hidden) for c in numbers})
    return out[list(LINK_COLUMNS)]


def _covered(links: pd.DataFrame, aggregates: pd.DataFrame | None) -> pd.Series:
    """Per link row: every grade x girls/boys cell of its factor and behaviour in its area and
    wave is shown (``n`` and ``n_flagged``) in the published aggregates."""
    if aggregates is None:
        return pd.Series(False, index=links.index)
    fine = aggregates[
        (aggregates["area"].astype(str) != CITY)
        & (aggregates["grade"].astype(str) != TOTAL)
        & aggregates["sex"].isin(PUBLISHED_SEXES)
    ]
    shown = fine[["n", "n_flagged"]].notna().all(axis=1)
    keys = [fine["wave"].astype(int), fine["area"].astype(str), fine["measure"].astype(str)]
    whole = shown.groupby(keys).all()

    def lookup(measure: str) -> np.ndarray:
        index = pd.MultiIndex.from_arrays(
            [links["wave"].astype(int), links["area"].astype(str), links[measure].astype(str)]
        )
        return whole.reindex(index, fill_value=False).to_numpy(dtype=bool)

    return pd.Series(lookup("factor") & lookup("behaviour"), index=links.index)


LINKS_FILE = "links.parquet"
"""The protected link table in the published folder (written only when behaviours are named)."""


def links_for_prepare(
    scored_file: Path,
    instrument: Any,
    *,
    behaviours: Sequence[str],
    waves: Sequence[int],
    min_n: int,
    aggregates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The prepare step's link table: every factor x named behaviour, per wave x area and the
    city, over girls and boys, protected by :func:`protect_links` against the published
    ``aggregates`` (the only form that leaves the private cache).

    Raises
    ------
    ConfigError
        If a behaviour is not one of the instrument's (the message names it and the known ones).
    """
    measures = instrument.measures()
    known = measures.loc[measures["measure_kind"].eq(OUTCOME_KINDS[0]), "measure"].tolist()
    unknown = [b for b in behaviours if b not in known]
    if unknown:
        raise ConfigError(
            t("links_unknown_behaviour", None, value=repr(unknown[0]), known=", ".join(known))
        )
    kinds = {f.id: f.kind for f in instrument.factors}
    columns = ["wave", "area", *STRATA, "valid", *(f"flag__{m}" for m in [*kinds, *behaviours])]
    scored = pd.read_parquet(scored_file, columns=columns, filters=[("wave", "in", list(waves))])
    scored = scored[scored["sex"].isin(PUBLISHED_SEXES)]  # the pupils the measures count
    return protect_links(
        local_links(scored, factor_kinds=kinds, behaviours=behaviours),
        min_n=min_n,
        aggregates=aggregates,
    )


def read_links(published: Any) -> pd.DataFrame | None:
    """The published link table of a published folder (``Published`` or its path); ``None``
    when the run named no priority behaviours."""
    path = Path(getattr(published, "path", published)) / LINKS_FILE
    return pd.read_parquet(path) if path.is_file() else None


LINK_RANK_COLUMNS = (
    "research_behaviours", "research_source", "local_behaviour", "local_status",
    "local_pct_exposed", "local_pct_unexposed", "local_rd", "local_rd_low", "local_rd_high",
    "local_rr", "link_points",
)  # fmt: skip
"""Columns :func:`link_evidence` adds to the prioritisation worksheet."""


def chosen_behaviours(choices: Any, links: pd.DataFrame | None) -> tuple[str, ...]:
    """The priority behaviours: the team's (``priority_behaviours`` of its file), else the run
    file's default (the behaviours of the published link table), else none."""
    own = tuple(getattr(choices, "priority_behaviours", ()) or ())
    if own or links is None:
        return own
    return tuple(dict.fromkeys(links["behaviour"]))


def link_evidence(
    research: pd.DataFrame,
    links: pd.DataFrame | None,
    *,
    area: str,
    wave: int,
    behaviours: Sequence[str],
) -> pd.DataFrame:
    """Per factor: the research link to the priority behaviours and the local strength here.

    Parameters
    ----------
    research : pandas.DataFrame
        The research links (:attr:`ctc_helpers.config.factor_links.FactorLinks.table`).
    links : pandas.DataFrame or None
        The published local link table (:func:`read_links`).
    area, wave : the area (``"all"`` = city) and survey year.
    behaviours : list of str
        The priority behaviours.

    Returns
    -------
    pandas.DataFrame
        One row per factor with a research link or a local row: ``factor``,
        ``research_behaviours`` (the priority behaviours research links it to, comma-separated,
        ``""`` when none), ``research_source`` (source keys), ``local_behaviour`` (the priority
        behaviour with the strongest shown local link), ``local_status`` (``clear``: the adjusted
        difference's interval is above 0; ``unclear``; ``hidden``: suppressed; ``missing``: not
        computed), ``local_pct_exposed, local_pct_unexposed, local_rd, local_rd_low,
        local_rd_high, local_rr``, ``link_points`` (1 for a research link + 1 for a clear local
        link).
    """
    chosen = research[research["behaviour"].isin(behaviours)]
    by_factor = chosen.groupby("factor").agg(
        research_behaviours=("behaviour", lambda b: ", ".join(dict.fromkeys(b))),
        research_source=("source", lambda s: ", ".join(dict.fromkeys(s))),
    )
    local = _local_best(links, area=area, wave=wave, behaviours=behaviours)
    table = by_factor.join(local, how="outer").reset_index()
    table = table.fillna({"research_behaviours": "", "research_source": "", "local_status": ""})
    table["local_status"] = table["local_status"].replace("", "missing")
    points = table["research_behaviours"].ne("").astype(int)
    points += table["local_status"].eq("clear").astype(int)
    return table.assign(link_points=points).loc[:, ["factor", *LINK_RANK_COLUMNS]]


def _local_best(links, *, area: str, wave: int, behaviours: Sequence[str]) -> pd.DataFrame:
    """The strongest shown local link of each factor among the behaviours (by lower limit)."""
    columns = ["local_behaviour", "local_status", "local_pct_exposed", "local_pct_unexposed",
               "local_rd", "local_rd_low", "local_rd_high", "local_rr"]  # fmt: skip
    if links is None:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="factor"))
    rows = links[
        links["area"].eq(area) & links["wave"].eq(wave) & links["behaviour"].isin(behaviours)
    ]
    shown = rows[~rows["suppressed"].astype(bool)].sort_values("rd_low", ascending=False)
    best = shown.drop_duplicates("factor").set_index("factor")
    status = np.where(best["rd_low"] > 0, "clear", "unclear")
    frame = pd.DataFrame(
        {"local_behaviour": best["behaviour"], "local_status": status,
         "local_pct_exposed": best["pct_exposed"], "local_pct_unexposed": best["pct_unexposed"],
         "local_rd": best["rd"], "local_rd_low": best["rd_low"], "local_rd_high": best["rd_high"],
         "local_rr": best["rr"]}, index=best.index,
    )  # fmt: skip
    hidden = sorted(set(rows["factor"]) - set(best.index))
    hidden_rows = pd.DataFrame({"local_status": "hidden"}, index=pd.Index(hidden, name="factor"))
    return pd.concat(
        [frame, hidden_rows.reindex(columns=columns).fillna({"local_status": "hidden"})]
    )


def ranking_inputs(published: Any, choices: Any = None) -> dict[str, Any]:
    """The keyword arguments of ``rank_factors`` that start from the problem behaviours:
    ``behaviours`` (:func:`chosen_behaviours`), ``research`` (the research links' table) and
    ``links`` (the published local links, :func:`read_links`)."""
    links = read_links(published)
    return {
        "behaviours": chosen_behaviours(choices, links),
        "research": load_factor_links().table,
        "links": links,
    }


def factor_kinds(measures: pd.DataFrame, scored: pd.DataFrame | None = None) -> dict[str, str]:
    """Factor id -> kind from a measure catalogue (``published.measures``), keeping only the
    factors that have a ``flag__`` column in ``scored`` when it is given.

    >>> catalogue = pd.DataFrame({"measure": ["a", "b", "c"],
    ...                           "measure_kind": ["risk", "protective", "behaviour"]})
    >>> factor_kinds(catalogue), factor_kinds(catalogue, pd.DataFrame(columns=["flag__b"]))
    ({'a': 'risk', 'b': 'protective'}, {'b': 'protective'})
    """
    rows = measures[measures["measure_kind"].isin(FACTOR_KINDS)]
    kinds = dict(zip(rows["measure"], rows["measure_kind"], strict=True))
    if scored is None:
        return kinds
    return {m: k for m, k in kinds.items() if f"flag__{m}" in scored.columns}
