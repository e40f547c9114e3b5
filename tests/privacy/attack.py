"""An interval attacker written for the tests, independent of ``ctc_helpers.privacy``.

It knows what a reader knows (``docs/PRIVACY.md`` section 2): every published value, what each
published row counts, that counts are never negative and that ``n_flagged <= n <= valid
questionnaires``. The unknowns are the *leaf* counts of a city of pupils (one school per area):

- ``v[a, g, s]`` valid questionnaires and ``x[a, g, s]`` excluded ones, ``s`` in F, M, U;
- ``n[m, a, g, s]`` pupils with a value on measure ``m`` and ``f[m, a, g, s]`` of them flagged,
  ``s`` in F, M (pupils without a stated sex are in no measure of the new layout; in the old
  layout ``s`` also takes U).

Every published number is a sum of leaves; a hidden value whose zero would have been shown (a
numerator beside its shown group size) is at least 1. For each hidden value the attacker solves
two linear programmes (``scipy.optimize.linprog``) for its smallest and largest value and rounds inward.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

ALL = "all"
STATED = ("F", "M")
SEXES = ("F", "M", "U")
RULE = "dishonest"  # the one validity rule of the test cities; it excludes


# --------------------------------------------------------------------------------------------
# A city of pupils and its private tables (aggregated here with plain pandas)


@dataclass(frozen=True)
class City:
    pupils: pd.DataFrame  # area, school, grade, sex, valid, m1, m2 (1/0/NaN)
    measures: dict  # measure -> kind

    @property
    def areas(self) -> list[str]:
        return sorted(self.pupils["area"].unique())

    @property
    def grades(self) -> list[str]:
        return sorted(self.pupils["grade"].unique())


def city_from_counts(groups: dict, *, measures: dict, seed: int = 1) -> City:
    """Pupils from ``{(area, grade, sex): (valid, excluded, {measure: (n, flagged)})}``."""
    rows = []
    for (area, grade, sex), (valid, excluded, values) in groups.items():
        for i in range(valid + excluded):
            row = {"area": area, "school": f"school-{area}", "grade": grade, "sex": sex}
            row["valid"] = i < valid
            for m in measures:
                n, flagged = values.get(m, (0, 0)) if sex in STATED else (valid, 0)
                row[m] = (1.0 if i < flagged else 0.0) if i < min(n, valid) else np.nan
            rows.append(row)
    return City(pd.DataFrame(rows), dict(measures))


def random_city(draw_count, *, areas: int, grades: int, measures: dict) -> City:
    """A city whose group sizes and numerators come from ``draw_count(low, high)``."""
    groups = {}
    for a, g, s in itertools.product(range(areas), range(grades), SEXES):
        valid = {"U": draw_count(0, 3), "F": draw_count(1, 30)}.get(s) or draw_count(0, 30)
        excluded = draw_count(0, 2)
        values = {}
        for m in measures:
            n = max(valid - draw_count(0, 1), 0)
            values[m] = (n, min(draw_count(0, 8), n))
        groups[(f"a{a}", f"g{g}", s)] = (valid, excluded, values)
    return city_from_counts(groups, measures=measures)


def _margins(frame: pd.DataFrame, dims: list[str], agg: dict) -> pd.DataFrame:
    parts = []
    for k in range(len(dims) + 1):
        for totals in itertools.combinations(dims, k):
            keep = [d for d in dims if d not in totals]
            by = keep or ["_whole"]
            grouped = frame.assign(_whole=0).groupby(by).agg(**agg).reset_index()
            grouped = grouped.drop(columns="_whole", errors="ignore")
            parts.append(grouped.assign(**{d: ALL for d in totals}))
    return pd.concat(parts, ignore_index=True)


def private_tables(city: City, *, wave: int = 2025) -> dict[str, pd.DataFrame]:
    """The unsuppressed tables of the prepare step's cache, from the pupils."""
    p = city.pupils.assign(n=1, n_valid=lambda d: d["valid"].astype(int))
    part = _margins(
        p, ["area", "school", "grade", "sex"], {"n": ("n", "sum"), "n_valid": ("n_valid", "sum")}
    )
    part = part[part["sex"].isin(["F", "M", ALL])].assign(wave=wave, enrolled=np.nan)
    valid = p[p["valid"]]
    frames = []
    for m, kind in city.measures.items():
        rows = valid[valid[m].notna()].assign(v=lambda d, m=m: d[m])
        agg = _margins(
            rows, ["area", "grade", "sex"], {"n": ("v", "size"), "n_flagged": ("v", "sum")}
        )
        frames.append(agg.assign(measure=m, measure_kind=kind))
    agg = pd.concat(frames, ignore_index=True)
    agg = _complete(agg, city, ["area", "grade", "sex", "measure"], ["n", "n_flagged"])
    agg = agg[agg["sex"].isin(["F", "M", ALL])].assign(
        wave=wave, domain="d", cutpoint_version="v1",
        pct=lambda d: d["n_flagged"] / d["n"].where(d["n"] > 0),
    )  # fmt: skip
    log = _margins(p.assign(x=(~p["valid"]).astype(int)), ["area", "grade"],
                   {"n_respondents": ("n", "sum"), "n_flagged": ("x", "sum")})  # fmt: skip
    log = pd.concat([log.assign(rule=RULE), log.assign(rule="any_excluded")], ignore_index=True)
    part = _complete(part, city, ["area", "school", "grade", "sex"], ["n", "n_valid"])
    return {
        "aggregates": agg.assign(wave=wave),
        "participation": part.assign(wave=wave, enrolled=np.nan),
        "screening_log": log.assign(wave=wave),
    }


def _complete(frame, city, keys, values) -> pd.DataFrame:
    """Every combination of codes (absent groups count 0)."""
    codes = {
        "area": [*city.areas, ALL],
        "grade": [*city.grades, ALL],
        "sex": ["F", "M", ALL],
        "measure": list(city.measures),
        "school": [*sorted(city.pupils["school"].unique()), ALL],
    }
    grid = pd.MultiIndex.from_product([codes[k] for k in keys], names=keys).to_frame(index=False)
    out = grid.merge(frame, on=keys, how="left")
    out[values] = out[values].fillna(0).astype(int)
    if "measure_kind" in out:
        out["measure_kind"] = out["measure"].map(city.measures)
    return out


# --------------------------------------------------------------------------------------------
# The attacker


@dataclass
class Leaves:
    """Positions of the leaf unknowns."""

    areas: list[str]
    grades: list[str]
    measures: list[str]
    measure_sexes: tuple[str, ...] = STATED
    index: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for a, g, s in itertools.product(self.areas, self.grades, SEXES):
            for layer in ("v", "x"):
                self.index[(layer, a, g, s)] = len(self.index)
        for m, a, g, s in itertools.product(
            self.measures, self.areas, self.grades, self.measure_sexes
        ):
            for layer in ("n", "f"):
                self.index[(layer, m, a, g, s)] = len(self.index)

    def row(self, layer: str, area, grade, sexes, measure=None) -> np.ndarray:
        """The functional of a published value: a 0/1 vector over the leaves."""
        out = np.zeros(len(self.index))
        areas = self.areas if area == ALL else [area]
        grades = self.grades if grade == ALL else [grade]
        layers = ("v", "x") if layer == "q" else (layer,)
        for lay, a, g, s in itertools.product(layers, areas, grades, sexes):
            key = (lay, a, g, s) if measure is None else (lay, measure, a, g, s)
            out[self.index[key]] = 1.0
        return out

    def inequalities(self) -> sparse.csr_matrix:
        """``n <= v`` and ``f <= n`` for every leaf (as rows of ``A @ x <= 0``)."""
        rows = []
        for (layer, *key), i in self.index.items():
            if layer == "n":
                m, a, g, s = key
                rows.append((i, self.index[("v", a, g, s)]))
            elif layer == "f":
                rows.append((i, self.index[("n", *key)]))
        a = sparse.lil_matrix((len(rows), len(self.index)))
        for r, (small, big) in enumerate(rows):
            a[r, small], a[r, big] = 1.0, -1.0
        return a.tocsr()


@dataclass(frozen=True)
class Value:
    """One published value: where it is, what it counts and whether it is shown."""

    where: str
    functional: np.ndarray
    true: float
    shown: bool
    threshold: int
    nonzero: bool  # a reader knows a hidden value is not zero (its zero would be shown)


def published_values(tables, leaves: Leaves, truth: np.ndarray, *, min_n, min_count, old=False):
    """Every value of the published tables with its functional over the leaves."""
    out = []
    measure_all = SEXES if old else STATED

    def add(where, functional, value, threshold, nonzero=False):
        shown = not pd.isna(value)
        out.append(Value(where, functional, float(functional @ truth), shown, threshold, nonzero))
        if shown and abs(value - functional @ truth) > 1e-6:
            raise ValueError(f"{where}: published {value}, true {functional @ truth}")

    for r in tables["aggregates"].itertuples():
        sexes = measure_all if r.sex == ALL else (r.sex,)
        where = f"aggregates {r.area}/{r.grade}/{r.sex}/{r.measure}"
        add(f"{where} n", leaves.row("n", r.area, r.grade, sexes, r.measure), r.n, min_n)
        add(f"{where} n_flagged", leaves.row("f", r.area, r.grade, sexes, r.measure),
            r.n_flagged, min_count, nonzero=not pd.isna(r.n))  # fmt: skip
    for r in tables.get("participation", pd.DataFrame()).itertuples():
        every = bool(r.all_pupils)
        sexes = SEXES if (r.sex == ALL and every) else STATED if r.sex == ALL else (r.sex,)
        where = f"participation {r.area}/{r.school}/{r.grade}/{r.sex}/{every}"
        if r.school != ALL:
            add(f"{where} n", leaves.row("q", r.area, ALL, SEXES), r.n, min_n)
            continue
        add(f"{where} n_valid", leaves.row("v", r.area, r.grade, sexes), r.n_valid, min_n)
        if every:
            add(f"{where} n", leaves.row("q", r.area, r.grade, SEXES), r.n, min_n)
    for r in tables.get("screening_log", pd.DataFrame()).itertuples():
        where = f"screening {r.area}/{r.grade}/{r.rule}"
        add(f"{where} n_respondents", leaves.row("q", r.area, r.grade, SEXES), r.n_respondents,
            min_n)  # fmt: skip
        add(f"{where} n_flagged", leaves.row("x", r.area, r.grade, SEXES), r.n_flagged,
            min_count, nonzero=not pd.isna(r.n_respondents))  # fmt: skip
    return out


def true_leaves(city: City, leaves: Leaves) -> np.ndarray:
    x = np.zeros(len(leaves.index))
    for key, pupils in city.pupils.groupby(["area", "grade", "sex"]):
        a, g, s = key
        x[leaves.index[("v", a, g, s)]] = pupils["valid"].sum()
        x[leaves.index[("x", a, g, s)]] = (~pupils["valid"]).sum()
        for m in leaves.measures:
            if s not in leaves.measure_sexes:
                continue
            on = pupils[pupils["valid"] & pupils[m].notna()]
            x[leaves.index[("n", m, a, g, s)]] = len(on)
            x[leaves.index[("f", m, a, g, s)]] = on[m].sum()
    return x


@dataclass(frozen=True)
class Finding:
    where: str
    true: float
    low: int
    high: int
    problem: str  # "exact" or "small"


def attack(values: list[Value], leaves: Leaves) -> list[Finding]:
    """Bound every hidden value; report exact non-zero values and small bounded groups."""
    shown = [v for v in values if v.shown]
    a_eq = np.array([v.functional for v in shown]) if shown else None
    b_eq = np.array([v.true for v in shown]) if shown else None
    # a hidden value known not to be zero is at least 1, in every relation it is in
    known = [v.functional for v in values if not v.shown and v.nonzero and v.true > 0]
    a_ub = sparse.vstack([leaves.inequalities(), *(sparse.csr_matrix(-f) for f in known)])
    b_ub = np.concatenate([np.zeros(leaves.inequalities().shape[0]), -np.ones(len(known))])
    findings, seen = [], {}
    for value in values:
        if value.shown:
            continue
        key = value.functional.tobytes()
        if key not in seen:
            seen[key] = tuple(
                _optimum(sign * value.functional, a_ub, b_ub, a_eq, b_eq) * sign
                for sign in (1.0, -1.0)
            )
        low, high = seen[key]
        low = math.ceil(low - 1e-6)
        high = math.floor(high + 1e-6) if np.isfinite(high) else math.inf
        if value.nonzero:
            low = max(low, 1)
        if low == high and value.true != 0:
            findings.append(Finding(value.where, value.true, low, high, "exact"))
        elif low >= 1 and high <= value.threshold - 1:
            findings.append(Finding(value.where, value.true, low, high, "small"))
    return findings


def _optimum(c, a_ub, b_ub, a_eq, b_eq) -> float:
    result = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None),
                     method="highs")  # fmt: skip
    if result.status == 3:  # unbounded: the value can grow without limit
        return -np.inf
    if result.status != 0:
        raise RuntimeError(f"The attacker's programme failed: {result.message}")
    return float(result.fun)


def attack_tables(tables, city: City, *, min_n: int, min_count: int, old: bool = False):
    """Findings of the attacker on published ``tables`` of ``city``."""
    leaves = Leaves(city.areas, city.grades, list(city.measures),
                    measure_sexes=SEXES if old else STATED)  # fmt: skip
    truth = true_leaves(city, leaves)
    values = published_values(tables, leaves, truth, min_n=min_n, min_count=min_count, old=old)
    return attack(values, leaves)
