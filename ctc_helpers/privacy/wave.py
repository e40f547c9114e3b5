"""Every table published for one survey wave as one :class:`~ctc_helpers.privacy.system.CellSystem`.

Cubes (``docs/PRIVACY.md`` describes what each published table shows of them):

==========  ===============================================================  ==================
layer       cells                                                            small below
==========  ===============================================================  ==================
``V``       valid questionnaires, area x grade x sex (F, M, U; FM, AP)      ``min_n``
``Q``       answered questionnaires, area x grade (every pupil)             ``min_n``
``X``       questionnaires excluded by the validity rules, area x grade      ``min_count``
``R:<id>``  questionnaires flagged by one validity rule, area x grade        ``min_count``
``QS``      answered questionnaires, area x school                           ``min_n``
``E``       enrolled pupils, area x grade; ``ES`` area x school              (not a group)
``n:<m>``   girls and boys with a value on measure m, area x grade x sex     ``min_n``
``f:<m>``   of them flagged (at risk, with protection, with the behaviour)   ``min_count``
==========  ===============================================================  ==================

The sex dimension of ``V`` has the leaves ``F``, ``M`` and ``U`` (no stated sex) and two totals:
``FM`` (girls and boys) and ``AP`` (all pupils). A measure is reported for girls and boys only
(sex ``F``, ``M`` and their total ``FM``), so that no measure has an unpublished residual.
Areas and grades have the total ``all``. Relations: every total is the sum of its parts;
``Q = V[AP] + X``; the school table's area total is the area's ``Q``. Inequalities (between
leaves; the totals follow): ``f <= n <= V``, a rule's count ``<= X`` (an excluding rule), ``X
<=`` the sum of the excluding rules, ``Q <= E``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from ctc_helpers.privacy.system import SHOWN, UNPUBLISHED, CellSystem, Cube, Dim, SystemBuilder
from ctc_helpers.vocab import CITY, FACTOR_KINDS, PUBLISHED_SEXES, TOTAL

__all__ = ["ALL_PUPILS", "GIRLS_BOYS", "UNSTATED", "WaveInput", "WaveSystem", "build_wave"]

UNSTATED = "U"  # sex leaf of pupils without a stated sex (code U or missing)
GIRLS_BOYS = "FM"  # sex total of girls and boys (published as "all" in area x grade rows)
ALL_PUPILS = "AP"  # sex total of every pupil (published as "all" in the coarse rows)
ANY_EXCLUDED = "any_excluded"


@dataclass(frozen=True)
class WaveInput:
    """The unsuppressed tables of one wave (from the private cache) and the rules' kinds.

    ``aggregates``: ``area, grade, sex (F, M, all = every pupil), measure, measure_kind, n,
    n_flagged``; ``participation``: ``area, school, grade, sex, n, n_valid, enrolled``;
    ``screening``: ``area, grade, rule, n_respondents, n_flagged``. ``excluding``: the ids of the
    rules that exclude a questionnaire.
    """

    aggregates: pd.DataFrame
    participation: pd.DataFrame
    screening: pd.DataFrame
    excluding: frozenset[str]


@dataclass(frozen=True)
class WaveSystem:
    """The system of one wave and what the suppression needs to know about its cells."""

    system: CellSystem
    cubes: dict[str, Cube]
    areas: tuple[str, ...]
    grades: tuple[str, ...]
    schools: tuple[str, ...]
    measures: tuple[str, ...]
    rules: tuple[str, ...]
    published: np.ndarray  # bool: the cell is a value of a published table
    implies: sparse.csr_matrix  # row i: cells hidden together with cell i
    weight: np.ndarray  # cost of hiding the cell while it is shown
    min_n: int
    min_count: int

    def initial_status(self) -> np.ndarray:
        """Published cells shown, the others unpublished (structural zeros shown)."""
        status = np.where(self.published, SHOWN, UNPUBLISHED).astype(np.int8)
        return status


def _dims(areas, grades, schools):
    area = Dim.flat("area", areas)
    grade = Dim.flat("grade", grades)
    sex = Dim.tree(
        "sex",
        [*PUBLISHED_SEXES, UNSTATED],
        [(GIRLS_BOYS, PUBLISHED_SEXES), (ALL_PUPILS, (GIRLS_BOYS, UNSTATED))],
    )
    stated = Dim.tree("sex", PUBLISHED_SEXES, [(GIRLS_BOYS, PUBLISHED_SEXES)])
    school = Dim.flat("school", schools)
    return area, grade, sex, stated, school


def build_wave(data: WaveInput, *, min_n: int, min_count: int) -> WaveSystem:
    """Build the system of one wave (see the module docstring)."""
    agg = data.aggregates
    areas = tuple(str(a) for a in dict.fromkeys(agg["area"]) if a != CITY)
    grades = tuple(str(g) for g in dict.fromkeys(agg["grade"]) if g != TOTAL)
    part = data.participation
    member = part[(part["area"] != CITY) & (part["school"] != TOTAL) & (part["grade"] == TOTAL)]
    member = member[(member["sex"] == TOTAL) & ((member["n"] > 0) | (member["enrolled"] > 0))]
    schools = tuple(sorted(str(s) for s in member["school"].unique()))
    area, grade, sex, stated, school = _dims(areas, grades, schools)
    builder = SystemBuilder()
    cubes: dict[str, Cube] = {}
    groups = part[part["school"] == TOTAL]
    cubes["V"] = builder.add_cube(
        "V", [area, grade, sex], _sex_leaves(groups, areas, grades, "n_valid"), threshold=min_n
    )
    totals = groups[groups["sex"] == TOTAL]
    q_leaves = _grid(totals, areas, grades, "n")
    cubes["Q"] = builder.add_cube("Q", [area, grade], q_leaves, threshold=min_n)
    x_leaves = q_leaves - _grid(totals, areas, grades, "n_valid")
    cubes["X"] = builder.add_cube("X", [area, grade], x_leaves, threshold=min_count)
    leaf = (slice(0, -1), slice(0, -1))
    builder.add_sum(
        cubes["Q"].grid()[leaf], [cubes["V"].grid()[..., -1][leaf], cubes["X"].grid()[leaf]]
    )
    rules = _add_rules(builder, cubes, data, areas, grades, area, grade, min_count)
    _add_schools(builder, cubes, part, areas, schools, area, school, min_n)
    has_enrolment = _add_enrolment(
        builder, cubes, part, areas, grades, schools, area, grade, school
    )
    measures = tuple(dict.fromkeys(agg["measure"]))
    v_stated = cubes["V"].grid()[:-1, :-1, : len(PUBLISHED_SEXES)]
    for measure, rows in agg.groupby("measure", sort=False):
        leaves = {c: _sex_leaves(rows, areas, grades, c)[..., :-1] for c in ("n", "n_flagged")}
        n = builder.add_cube(f"n:{measure}", [area, grade, stated], leaves["n"], threshold=min_n)
        f = builder.add_cube(
            f"f:{measure}", [area, grade, stated], leaves["n_flagged"], threshold=min_count
        )
        n_leaves = n.grid()[:-1, :-1, :-1]
        builder.add_at_most(n_leaves, v_stated)
        builder.add_at_most(f.grid()[:-1, :-1, :-1], n_leaves)
        cubes[f"n:{measure}"], cubes[f"f:{measure}"] = n, f
    system = builder.build()
    system.check()
    kinds = agg.drop_duplicates("measure").set_index("measure")["measure_kind"]
    published = _published(system, cubes, measures, rules, has_enrolment, member)
    return WaveSystem(
        system=system,
        cubes=cubes,
        areas=areas,
        grades=grades,
        schools=schools,
        measures=measures,
        rules=rules,
        published=published,
        implies=_implications(system, cubes, measures, has_enrolment),
        weight=_weights(system, cubes, measures, kinds),
        min_n=min_n,
        min_count=min_count,
    )


# --------------------------------------------------------------------------------------------
# Leaves


def _grid(rows: pd.DataFrame, areas, grades, column: str) -> np.ndarray:
    """Leaf values (area x grade) of ``column`` from rows keyed by area and grade."""
    table = rows.set_index(["area", "grade"])[column]
    index = pd.MultiIndex.from_product([areas, grades])
    return table.reindex(index).fillna(0.0).to_numpy(dtype=float).reshape(len(areas), len(grades))


def _sex_leaves(rows: pd.DataFrame, areas, grades, column: str) -> np.ndarray:
    """Leaves (area x grade x F, M, U); U = everyone minus girls and boys."""
    by_sex = {
        s: _grid(rows[rows["sex"] == s], areas, grades, column) for s in (*PUBLISHED_SEXES, TOTAL)
    }
    unstated = by_sex[TOTAL] - sum(by_sex[s] for s in PUBLISHED_SEXES)
    return np.stack([*(by_sex[s] for s in PUBLISHED_SEXES), unstated], axis=-1)


def _add_rules(builder, cubes, data, areas, grades, area, grade, min_count) -> tuple[str, ...]:
    log = data.screening
    rules = tuple(r for r in dict.fromkeys(log["rule"]) if r != ANY_EXCLUDED)
    excluding = []
    for rule in rules:
        cube = builder.add_cube(
            f"R:{rule}", [area, grade], _grid(log[log["rule"] == rule], areas, grades, "n_flagged"),
            threshold=min_count,
        )  # fmt: skip
        cubes[f"R:{rule}"] = cube
        if rule in data.excluding:
            builder.add_at_most(cube.grid()[:-1, :-1], cubes["X"].grid()[:-1, :-1])
            excluding.append(cube.grid()[:-1, :-1])
        else:
            builder.add_at_most(cube.grid()[:-1, :-1], cubes["Q"].grid()[:-1, :-1])
    if excluding:
        builder.add_at_most(cubes["X"].grid()[:-1, :-1], excluding)
    return rules


def _add_schools(builder, cubes, part, areas, schools, area, school, min_n) -> None:
    rows = part[(part["grade"] == TOTAL) & (part["sex"] == TOTAL) & (part["school"] != TOTAL)]
    leaves = _grid(rows.rename(columns={"school": "grade", "grade": "_g"}), areas, schools, "n")
    cubes["QS"] = builder.add_cube("QS", [area, school], leaves, threshold=min_n)
    builder.add_sum(cubes["QS"].grid()[:-1, -1], [cubes["Q"].grid()[:-1, -1]])


def _add_enrolment(builder, cubes, part, areas, grades, schools, area, grade, school) -> bool:
    """Enrolment cubes, when every enrolment figure of the wave is known."""
    rows = part[(part["sex"] == TOTAL) & (part["area"] != CITY)]
    by_grade = rows[(rows["school"] == TOTAL) & (rows["grade"] != TOTAL)]
    by_school = rows[(rows["grade"] == TOTAL) & (rows["school"] != TOTAL)]
    if by_grade["enrolled"].isna().any() or by_school["enrolled"].isna().any() or rows.empty:
        return False
    cubes["E"] = builder.add_cube(
        "E", [area, grade], _grid(by_grade, areas, grades, "enrolled"), threshold=0
    )
    school_rows = by_school.rename(columns={"school": "grade", "grade": "_g"})
    cubes["ES"] = builder.add_cube(
        "ES", [area, school], _grid(school_rows, areas, schools, "enrolled"), threshold=0
    )
    builder.add_sum(cubes["ES"].grid()[:-1, -1], [cubes["E"].grid()[:-1, -1]])
    builder.add_at_most(cubes["Q"].grid()[:-1, :-1], cubes["E"].grid()[:-1, :-1])
    builder.add_at_most(cubes["QS"].grid()[:-1, :-1], cubes["ES"].grid()[:-1, :-1])
    return True


# --------------------------------------------------------------------------------------------
# What is published, what is hidden together, what hiding costs


def sex_published(cube: Cube) -> np.ndarray:
    """Bool in the shape of ``V`` (the participation table): F and M everywhere, girls + boys in
    area x grade rows, all pupils in the rows of an area total, a city grade or the city."""
    shape = cube.shape
    fine = np.zeros(shape[:2], dtype=bool)
    fine[:-1, :-1] = True  # a real area and a real grade
    out = np.zeros(shape, dtype=bool)
    sexes = cube.dims[2].codes
    for s in PUBLISHED_SEXES:
        out[..., sexes.index(s)] = True
    out[..., sexes.index(GIRLS_BOYS)] = fine
    out[..., sexes.index(ALL_PUPILS)] = ~fine
    return out


def coarse(cube: Cube) -> np.ndarray:
    """Bool (area x grade): the row of an area total, a city grade or the city."""
    fine = np.zeros(cube.shape[:2], dtype=bool)
    fine[:-1, :-1] = True
    return ~fine


def _published(system, cubes, measures, rules, has_enrolment, member) -> np.ndarray:
    published = np.zeros(system.size, dtype=bool)
    published[cubes["V"].grid()[sex_published(cubes["V"])]] = True
    for name in (f"{k}:{m}" for m in measures for k in "nf"):
        published[cubes[name].grid().reshape(-1)] = True
    for name in ("Q", "X", *(f"R:{r}" for r in rules)):
        published[cubes[name].grid()[coarse(cubes[name])]] = True
    qs = cubes["QS"]
    shown = qs.grid()[:-1, :-1]
    is_member = _membership(qs, member)
    published[shown[is_member]] = True
    published[qs.grid()[:, -1]] = True  # duplicates of Q's area totals
    if has_enrolment:
        published[cubes["E"].grid().reshape(-1)] = True  # beside a count of each row
        published[cubes["ES"].grid()[:-1, :-1][is_member]] = True
        published[cubes["ES"].grid()[:, -1]] = True
    return published


def _membership(qs: Cube, member: pd.DataFrame) -> np.ndarray:
    areas, schools = qs.dims[0].codes[:-1], qs.dims[1].codes[:-1]
    pairs = set(zip(member["area"].astype(str), member["school"].astype(str), strict=True))
    return np.array([[(a, s) in pairs for s in schools] for a in areas], dtype=bool)


def structural_zeros(wave: WaveSystem) -> np.ndarray:
    """Cells a reader knows to be zero without a table: a school outside an area."""
    qs = wave.cubes["QS"]
    member = np.zeros(qs.shape, dtype=bool)
    member[:, -1] = True
    member[-1, :] = True
    status = wave.published[qs.grid()]
    member[:-1, :-1] = status[:-1, :-1]
    cells = [qs.grid()[~member]]
    if "ES" in wave.cubes:
        cells.append(wave.cubes["ES"].grid()[~member])
    return np.concatenate(cells)


def _implications(system, cubes, measures, has_enrolment) -> sparse.csr_matrix:
    """Hiding a cell hides these cells too (a row of a table shows them together)."""
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    v = cubes["V"].grid()
    sexes = cubes["V"].dims[2].codes
    v_stated = v[..., [sexes.index(s) for s in (*PUBLISHED_SEXES, GIRLS_BOYS)]]
    for m in measures:
        n, f = cubes[f"n:{m}"].grid(), cubes[f"f:{m}"].grid()
        pairs += [(v_stated, n), (v_stated, f), (n, f)]
    q_ap = v[..., -1]
    wide = coarse(cubes["Q"])
    q = cubes["Q"].grid()
    pairs += [(q_ap[wide], q[wide]), (q[wide], q_ap[wide])]
    qs = cubes["QS"].grid()
    pairs += [(qs[:, -1], q[:, -1]), (q[:, -1], qs[:, -1])]
    if has_enrolment:
        e, es = cubes["E"].grid(), cubes["ES"].grid()
        fine = ~wide
        v_fm = v[..., sexes.index(GIRLS_BOYS)]
        pairs += [(v_fm[fine], e[fine]), (q[wide], e[wide]), (qs, es)]
    rows = np.concatenate([np.asarray(a).reshape(-1) for a, _ in pairs])
    cols = np.concatenate([np.asarray(b).reshape(-1) for _, b in pairs])
    return sparse.csr_matrix(
        (np.ones(len(rows), dtype=bool), (rows, cols)), shape=(system.size, system.size)
    )


def _weights(system, cubes, measures, kinds: pd.Series) -> np.ndarray:
    """Cost of hiding a shown cell: what a team loses (an area x grade x sex value of a risk or
    protective factor counts most, a bare group size least)."""
    weight = np.zeros(system.size)
    for m in measures:
        factor = kinds.get(m) in FACTOR_KINDS
        f = cubes[f"f:{m}"]
        shape = f.shape
        w = np.full(shape, 4.0 if factor else 2.0)
        w[-1, :, :] *= 2.0  # the city's rows
        w[:, -1, :] *= 1.5  # an area's or the city's totals over grades
        w[..., -1] *= 0.75  # girls and boys together
        weight[f.grid()] = w
        weight[cubes[f"n:{m}"].grid()] = 0.1
    for name in ("V", "Q", "QS"):
        weight[cubes[name].grid()] = 0.5
    for name, cube in cubes.items():
        if name == "X" or name.startswith("R:"):
            weight[cube.grid()] = 1.0
    return weight


def group_of_measures(wave: WaveSystem) -> np.ndarray:
    """Per cell: the group-size cell (``V``) at the same area, grade and sex for a measure's
    ``n`` (a hidden ``n`` is protected by hiding the group: ``n`` is nearly the group size);
    -1 for every other cell."""
    out = np.full(wave.system.size, -1)
    v = wave.cubes["V"]
    sexes = v.dims[2].codes
    stated = v.grid()[..., [sexes.index(s) for s in (*PUBLISHED_SEXES, GIRLS_BOYS)]]
    for measure in wave.measures:
        out[wave.cubes[f"n:{measure}"].grid()] = stated
    return out


SEAL_SMALL_GROUPS = 2
"""An area with at least this many small girls' or boys' grade groups is *sealed*."""


def sealed_areas(wave: WaveSystem) -> tuple[str, ...]:
    """The areas published only as part of the city: those with ``SEAL_SMALL_GROUPS`` or more
    small girls' or boys' groups in their grades (``0 < n < min_n``), and, when that is a single
    area, the area with the fewest girls and boys besides it (a lone hidden area would be the
    city minus the others).

    Every qualifying area is sealed, however many there are. Protecting a city of small areas
    cell by cell instead (tried: no seal when most areas qualify) kept their totals but took the
    suppression's audit loop more than 15 minutes for one wave of a 600-pupil city, against
    about 100 seconds for all three waves sealed (measured 2026-12-05 on the 2-core machine)."""
    v = wave.cubes["V"]
    values = wave.system.values[v.grid()]
    groups = values[:-1, :-1, : len(PUBLISHED_SEXES)]
    small = ((groups > 0) & (groups < wave.min_n)).sum(axis=(1, 2))
    sealed = [a for a, k in zip(wave.areas, small, strict=True) if k >= SEAL_SMALL_GROUPS]
    if len(sealed) == 1:
        totals = values[:-1, -1, v.dims[2].codes.index(GIRLS_BOYS)]
        others = [(t, a) for t, a in zip(totals, wave.areas, strict=True) if a not in sealed]
        sealed.append(min(others)[1])
    return tuple(a for a in wave.areas if a in sealed)


def area_cells(wave: WaveSystem, areas) -> np.ndarray:
    """Every cell whose area is one of ``areas`` (all cubes with an area dimension)."""
    cells = []
    for cube in wave.cubes.values():
        codes = cube.dims[0].codes
        rows = [codes.index(a) for a in areas]
        cells.append(cube.grid()[rows].reshape(-1))
    return np.concatenate(cells) if cells else np.zeros(0, dtype=int)


def measure_cells(wave: WaveSystem, measure: str) -> np.ndarray:
    """The cells of one measure (its ``n`` and ``f`` cubes)."""
    return np.concatenate([wave.cubes[f"{k}:{measure}"].grid().reshape(-1) for k in "nf"])


def group_cells(wave: WaveSystem) -> np.ndarray:
    """The cells of the group tables (participation, screening, enrolment)."""
    names = [n for n in wave.cubes if not n.startswith(("n:", "f:"))]
    return np.concatenate([wave.cubes[n].grid().reshape(-1) for n in names])


def cells_of(wave: WaveSystem, names: Sequence[str]) -> np.ndarray:
    return np.concatenate([wave.cubes[n].grid().reshape(-1) for n in names])
