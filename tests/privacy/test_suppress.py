"""Tests of ctc_helpers.privacy.suppress (small-cell suppression).

Every check of "can a reader recover this cell" is written here independently of the module:
the test builds the true cube (with the unpublished sex ``U`` as real rows), writes down every
relation ``total = sum(parts)`` and asks numpy whether a cell's unit vector lies in the row space
of the relations restricted to the unknown cells (rank test), as a reader with linear algebra
would. Zero cells count as known (the module promises protection under that assumption).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_info

from ctc_helpers.privacy import cube as _suppress_cube
from ctc_helpers.privacy import rules as _suppress_rules
from ctc_helpers.privacy.suppress import (
    RESIDUAL_CODE,
    add_margins,
    check_disclosure,
    mask_for_display,
    suppress_counts,
    suppress_table,
    suppression_footnote,
)

SEXES = ("F", "M", "U")


# --------------------------------------------------------------------------------------------
# Independent helpers: build cubes by hand, attack them with numpy
# --------------------------------------------------------------------------------------------


def true_cube(leaf: dict, flagged: dict | None = None, *, areas, grades, sexes=SEXES):
    """Every cell of the cube (margins 'all' included) summed from leaf counts with loops."""
    flagged = flagged or {key: 0 for key in leaf}
    rows = []
    for a, g, s in itertools.product([*areas, "all"], [*grades, "all"], [*sexes, "all"]):
        members = [
            (x, y, z)
            for x in (areas if a == "all" else [a])
            for y in (grades if g == "all" else [g])
            for z in (sexes if s == "all" else [s])
        ]
        n = sum(leaf[m] for m in members)
        n_flagged = sum(flagged[m] for m in members)
        rows.append({"area": a, "grade": g, "sex": s, "n": n, "n_flagged": float(n_flagged)})
    cube = pd.DataFrame(rows)
    pct = cube["n_flagged"] / cube["n"].where(cube["n"] > 0)
    return cube.assign(wave=2023, measure="alcohol", pct=pct)


def published_part(cube: pd.DataFrame) -> pd.DataFrame:
    """What the product publishes: everything but the sex U rows (U stays in the totals)."""
    return cube[cube["sex"] != "U"].reset_index(drop=True)


def relations(cube: pd.DataFrame, dims=("area", "grade", "sex")):
    """(dim, total row, part rows) of every relation ``total = sum(parts)`` of the cube."""
    keys = [tuple(r) for r in cube[list(dims)].itertuples(index=False)]
    position = {key: i for i, key in enumerate(keys)}
    found = []
    for d, dim in enumerate(dims):
        groups: dict[tuple, list[int]] = {}
        for i, key in enumerate(keys):
            if key[d] != "all":
                groups.setdefault(key[:d] + key[d + 1 :], []).append(i)
        for other, parts in groups.items():  # a dim with only the total code has no relation
            found.append((dim, position[other[:d] + ("all",) + other[d:]], parts))
    return found


def attacker_recovers(cube: pd.DataFrame, known: np.ndarray, dims=("area", "grade", "sex")):
    """Boolean per cube row: unknown and fixed by the relations and the known cells."""
    rels = relations(cube, dims)
    matrix = np.zeros((len(rels), len(cube)))
    for i, (_, parent, parts) in enumerate(rels):
        matrix[i, parent] = 1.0
        matrix[i, parts] = -1.0
    unknown = np.flatnonzero(~known)
    sub = matrix[:, unknown]
    # e_x is a combination of the relations (restricted to unknowns) iff sub.T @ y = e_x has an
    # exact solution: least squares for all unit vectors at once, then look at the residuals.
    target = np.eye(len(unknown))
    y, *_ = np.linalg.lstsq(sub.T, target, rcond=None)
    fixed = np.zeros(len(cube), dtype=bool)
    fixed[unknown] = np.linalg.norm(sub.T @ y - target, axis=0) < 1e-6
    return fixed


def solve_like_attacker(cube: pd.DataFrame, known: np.ndarray, column: str, cell: int) -> float:
    """The value of a recoverable cell as a reader computes it (least squares on known cells)."""
    rels = relations(cube)
    matrix = np.zeros((len(rels), len(cube)))
    for i, (_, parent, parts) in enumerate(rels):
        matrix[i, parent] = 1.0
        matrix[i, parts] = -1.0
    values = cube[column].to_numpy(dtype=float)
    rhs = -matrix[:, known] @ values[known]
    solution, *_ = np.linalg.lstsq(matrix[:, ~known], rhs, rcond=None)
    return float(solution[int(np.flatnonzero(np.flatnonzero(~known) == cell)[0])])


def known_after(cube: pd.DataFrame, out: pd.DataFrame, column: str = "n") -> np.ndarray:
    """Known cells of the true cube given a published table: shown values and every zero."""
    shown = out.set_index(["area", "grade", "sex"])[column].notna()
    keys = pd.MultiIndex.from_frame(cube[["area", "grade", "sex"]])
    return shown.reindex(keys, fill_value=False).to_numpy() | (cube["n"].to_numpy() == 0)


def hidden_parts_too_small(cube, known, min_n):
    """Relations with a known total whose unknown parts add up to 0 < n < min_n."""
    n = cube["n"].to_numpy()
    bad = []
    for dim, parent, parts in relations(cube):
        hidden = sum(n[p] for p in parts if not known[p])
        if known[parent] and 0 < hidden < min_n:
            bad.append((dim, tuple(cube.iloc[parent][["area", "grade", "sex"]])))
    return bad


def hidden_reasons(out: pd.DataFrame, keys: list[str]) -> dict:
    """{(codes...): reason} of the suppressed rows."""
    hidden = out[out["suppressed"]]
    return dict(zip(hidden[keys].apply(tuple, axis=1), hidden["suppression_reason"], strict=True))


def one_relation(values: dict, *, dim: str = "area") -> pd.DataFrame:
    """A one-dimensional table: ``values`` maps codes (and 'all') to n."""
    return pd.DataFrame({dim: list(values), "n": list(values.values())})


# --------------------------------------------------------------------------------------------
# Hand-made examples
# --------------------------------------------------------------------------------------------


def test_single_small_cell_forces_complementary_in_same_relation():
    table = one_relation({"a": 4, "b": 30, "c": 40, "all": 74})
    out = suppress_table(table, dims=("area",), within=())
    # a is primary; the smallest non-zero sibling b is hidden with it; the sum 34 is >= 10.
    assert out["suppression_reason"].tolist() == ["primary", "complementary", "", ""]
    assert out["suppressed"].tolist() == [True, True, False, False]
    assert out["n"].isna().tolist() == [True, True, False, False]


def test_zero_is_published_and_never_used_as_complement():
    table = one_relation({"a": 4, "b": 0, "c": 30, "d": 45, "all": 79})
    out = suppress_table(table, dims=("area",), within=())
    # b = 0 would hide nothing (a + 0 = 4 would still be revealed): c is hidden instead.
    assert out["suppression_reason"].tolist() == ["primary", "", "complementary", "", ""]
    assert out.loc[1, "n"] == 0


def test_hidden_parts_must_add_up_to_min_n():
    # a and b are both small: two unknowns, but their sum 8 would reveal a group of 8.
    table = one_relation({"a": 4, "b": 4, "c": 30, "d": 50, "all": 88})
    out = suppress_table(table, dims=("area",), within=())
    assert out["suppression_reason"].tolist() == ["primary", "primary", "complementary", "", ""]


def test_zero_sibling_makes_a_total_equal_to_its_part():
    table = pd.DataFrame(
        {
            "area": ["a", "a", "a", "b", "b", "b", "all", "all", "all"],
            "sex": ["F", "M", "all"] * 3,
            "n": [4, 0, 4, 20, 25, 45, 24, 25, 49],
        }
    )
    out = suppress_table(table, dims=("area", "sex"), within=())
    reasons = hidden_reasons(out, ["area", "sex"])
    # By hand: (a,F) and (a,all) are 4 (primary; (a,all) = (a,F) + 0). Along area, F needs the
    # sibling (b,F) and "all" needs (b,all). Along sex, a and b then hold two unknowns each.
    assert reasons == {
        ("a", "F"): "primary",
        ("a", "all"): "primary",
        ("b", "F"): "complementary",
        ("b", "all"): "complementary",
    }
    known = out["n"].notna().to_numpy() | (table["n"] == 0).to_numpy()
    assert not attacker_recovers(table, known, dims=("area", "sex")).any()


def test_sex_residual_of_three_forces_suppression():
    table = one_relation({"F": 20, "M": 25, "all": 48}, dim="sex")  # U = 3, not a row
    out = suppress_table(table, dims=("sex",), within=())
    # F + M + U = 48 would reveal U = 3; hiding the smaller of F and M leaves F + U = 23 unknown.
    assert out["suppression_reason"].tolist() == ["complementary", "", ""]


@pytest.mark.parametrize("total_n", [45, 57])
def test_residual_zero_or_at_least_min_n_needs_nothing(total_n):
    table = one_relation({"F": 20, "M": 25, "all": total_n}, dim="sex")  # U = 0 or 12
    out = suppress_table(table, dims=("sex",), within=())
    assert not out["suppressed"].any()


def test_areas_summing_to_the_city():
    table = pd.DataFrame(
        {
            "area": ["a"] * 3 + ["b"] * 3 + ["c"] * 3 + ["all"] * 3,
            "sex": ["F", "M", "all"] * 4,
            "n": [5, 30, 35, 40, 35, 75, 50, 60, 110, 95, 125, 220],
        }
    )
    out = suppress_table(table, dims=("area", "sex"), within=())
    reasons = hidden_reasons(out, ["area", "sex"])
    # By hand: (a,F)=5 primary; along area for F the smallest sibling (b,F)=40; along sex for a
    # the sibling (a,M)=30; along area for M the smallest sibling (b,M)=35. A 2x2 cycle.
    expected = {("a", "F"): "primary", ("a", "M"): "complementary"}
    expected |= {("b", "F"): "complementary", ("b", "M"): "complementary"}
    assert reasons == expected


def bridge_table() -> pd.DataFrame:
    """4 x 4 areas x grades: two 2x2 cycles of primaries joined by one primary "bridge" cell.

    Every row and column holds two or three small cells adding up to at least 10, so the
    relation rules are all met, yet the bridge cell (a2, g3) is fixed by the margins.
    """
    small = {(1, 1), (1, 2), (2, 1), (2, 2), (2, 3), (3, 3), (3, 4), (4, 3), (4, 4)}
    leaf = {(r, c): 5 if (r, c) in small else 20 for r in range(1, 5) for c in range(1, 5)}
    rows = []
    for r, c in itertools.product([1, 2, 3, 4, "all"], [1, 2, 3, 4, "all"]):
        rows_in = range(1, 5) if r == "all" else [r]
        cols_in = range(1, 5) if c == "all" else [c]
        cells = list(itertools.product(rows_in, cols_in))
        area = "all" if r == "all" else f"a{r}"
        grade = "all" if c == "all" else f"g{c}"
        rows.append({"area": area, "grade": grade, "n": sum(leaf[k] for k in cells)})
    return pd.DataFrame(rows).assign(sex="all")


def test_bridge_between_two_cycles_is_found_by_the_exact_check():
    table = bridge_table()
    cube = table.copy()
    primaries = (cube["n"] > 0) & (cube["n"] < 10)
    assert primaries.sum() == 9
    # Independent proof that the rules alone leak: with only the 9 primaries hidden, the bridge
    # cell is recovered, and least squares gives its true value 5.
    fixed = attacker_recovers(cube, ~primaries.to_numpy())
    bridge = int(np.flatnonzero((cube["area"] == "a2") & (cube["grade"] == "g3"))[0])
    assert fixed.tolist().count(True) == 1 and fixed[bridge]
    assert solve_like_attacker(cube, ~primaries.to_numpy(), "n", bridge) == pytest.approx(5.0)

    out = suppress_table(table, within=())  # sex is "all" only: that dim is ignored
    assert (out.loc[primaries, "suppression_reason"] == "primary").all()
    assert (out["suppression_reason"] == "complementary").sum() >= 1
    known = out["n"].notna().to_numpy() | (cube["n"].to_numpy() == 0)
    assert not attacker_recovers(cube, known).any()


def test_input_frame_is_not_changed():
    leaf = {
        (a, g, s): n
        for (a, g, s), n in zip(
            itertools.product("ab", ["g1", "g2"], SEXES),
            [3, 12, 1, 20, 25, 0, 14, 2, 2, 30, 31, 4],
            strict=True,
        )
    }
    table = published_part(true_cube(leaf, areas=["a", "b"], grades=["g1", "g2"]))
    before = table.copy(deep=True)
    out = suppress_table(table)
    pd.testing.assert_frame_equal(table, before)
    assert out is not table and "suppressed" not in table.columns


def test_output_columns_types_and_blanking():
    table = one_relation({"a": 4, "b": 30, "c": 40, "all": 74}).assign(
        n_flagged=[1.0, 6.0, 8.0, 15.0], pct=[0.25, 0.2, 0.2, 15 / 74], label="x"
    )
    out = suppress_table(table, dims=("area",), within=())
    assert out["n"].dtype == np.float64 and out["suppressed"].dtype == bool
    assert out.loc[out["suppressed"], ["n", "n_flagged", "pct"]].isna().all().all()
    assert out.loc[~out["suppressed"], "n_flagged"].tolist() == [8.0, 15.0]
    assert out["label"].tolist() == ["x"] * 4  # other columns untouched
    assert list(out.index) == list(table.index)


def test_within_tables_are_independent():
    one = one_relation({"a": 4, "b": 30, "c": 40, "all": 74}).assign(wave=2023, measure="m1")
    two = one_relation({"a": 14, "b": 30, "c": 40, "all": 84}).assign(wave=2023, measure="m2")
    out = suppress_table(pd.concat([one, two], ignore_index=True), dims=("area",))
    assert out["suppressed"].tolist() == [True, True, False, False] + [False] * 4


def test_min_n_is_a_parameter():
    table = one_relation({"a": 4, "b": 30, "c": 40, "all": 74})
    out = suppress_table(table, dims=("area",), within=(), min_n=3)
    assert not out["suppressed"].any()
    out = suppress_table(table, dims=("area",), within=(), min_n=35)
    assert out["suppression_reason"].tolist() == ["primary", "primary", "complementary", ""]


def test_full_size_table_is_safe():
    """12 areas x 7 grades x F/M (U in the totals), checked with the independent attack."""
    rng = np.random.default_rng(7)
    areas, grades = [f"a{i:02d}" for i in range(12)], [f"g{i}" for i in range(7)]
    leaf, flagged = {}, {}
    for a, g in itertools.product(areas, grades):
        size = rng.poisson(40 * rng.uniform(0.2, 1.5))
        counts = rng.multinomial(size, [0.485, 0.485, 0.03])
        for s, n in zip(SEXES, counts, strict=True):
            leaf[(a, g, s)] = int(n)
            flagged[(a, g, s)] = int(rng.binomial(n, 0.3))
    cube = true_cube(leaf, flagged, areas=areas, grades=grades)
    out = suppress_table(published_part(cube))
    shown = out["n"].notna()
    assert not ((out.loc[shown, "n"] > 0) & (out.loc[shown, "n"] < 10)).any()
    known = known_after(cube, out)
    fixed = attacker_recovers(cube, known)
    small_u = (cube["sex"] == "U").to_numpy() & (cube["n"] < 10).to_numpy()
    assert not fixed[~known & ((cube["sex"] != "U").to_numpy() | small_u)].any()
    assert hidden_parts_too_small(cube, known, 10) == []


# --------------------------------------------------------------------------------------------
# Property tests on random cubes
# --------------------------------------------------------------------------------------------

count = st.one_of(st.just(0), st.integers(1, 9), st.integers(10, 60))
residual = st.one_of(st.just(0), st.just(0), st.integers(1, 4), st.integers(5, 15))


@st.composite
def random_cubes(draw):
    areas = [f"a{i}" for i in range(draw(st.integers(2, 4)))]
    grades = [f"g{i}" for i in range(draw(st.integers(1, 3)))]
    leaf, flagged = {}, {}
    for a, g in itertools.product(areas, grades):
        for s in SEXES:
            n = draw(residual if s == "U" else count)
            leaf[(a, g, s)] = n
            flagged[(a, g, s)] = draw(st.integers(0, n))
    min_n = draw(st.sampled_from([5, 10, 10, 15]))
    return true_cube(leaf, flagged, areas=areas, grades=grades), min_n


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(random_cubes())
def test_random_cubes_never_reveal_a_small_group(case):
    cube, min_n = case
    out = suppress_table(published_part(cube), min_n=min_n)
    # 1. No shown cell is small.
    shown = out["n"].notna()
    assert not ((out.loc[shown, "n"] > 0) & (out.loc[shown, "n"] < min_n)).any()
    # 2. No hidden n or n_flagged, and no small residual, can be computed from shown cells.
    for column in ("n", "n_flagged"):
        known = known_after(cube, out, column)
        fixed = attacker_recovers(cube, known)
        is_u = (cube["sex"] == "U").to_numpy()
        small = (cube["n"] < min_n).to_numpy()
        assert not fixed[~known & (~is_u | small)].any()
    # 3. Every relation with a shown total has unknown parts adding up to 0 or >= min_n.
    assert hidden_parts_too_small(cube, known_after(cube, out), min_n) == []
    # 4. The module's own auditor agrees.
    published = out.drop(columns="suppression_reason")
    assert check_disclosure(published_part(cube), published, min_n=min_n).empty


@settings(max_examples=30, derandomize=True, deadline=None)
@given(random_cubes())
def test_random_cubes_primary_and_reasons(case):
    cube, min_n = case
    table = published_part(cube)
    out = suppress_table(table, min_n=min_n)
    small = (table["n"] > 0) & (table["n"] < min_n)
    assert (out["suppression_reason"] == "primary").tolist() == small.tolist()
    assert (out["suppressed"] == (out["suppression_reason"] != "")).all()
    assert (out.loc[out["suppressed"], "n"].isna()).all()
    assert not (out["suppressed"] & (table["n"] == 0)).any()  # zeros are never hidden


# --------------------------------------------------------------------------------------------
# The auditor
# --------------------------------------------------------------------------------------------


def test_check_disclosure_finds_each_kind_of_problem():
    original = one_relation({"a": 4, "b": 4, "c": 30, "d": 50, "all": 88})
    shown_all = check_disclosure(original, original, dims=("area",), within=())
    assert shown_all["problem"].tolist() == ["small_cell_shown", "small_cell_shown"]
    assert shown_all["area"].tolist() == ["a", "b"]

    only_a = original.assign(n=original["n"].where(original["area"] != "a"))
    found = check_disclosure(original, only_a, dims=("area",), within=())
    assert set(found["problem"]) == {"small_cell_shown", "recoverable"}
    assert found.loc[found["problem"] == "recoverable", "n"].tolist() == [4.0]

    both = original.assign(n=original["n"].where(~original["area"].isin(["a", "b"])))
    found = check_disclosure(original, both, dims=("area",), within=())
    assert found[["area", "problem", "relation_dim", "n"]].values.tolist() == [
        ["all", "relation_total_too_small", "area", 8.0]
    ]


def test_check_disclosure_finds_a_recoverable_residual():
    original = one_relation({"F": 20, "M": 25, "all": 48}, dim="sex")
    found = check_disclosure(original, original, dims=("sex",), within=())
    assert found[["sex", "problem", "n"]].values.tolist() == [
        [RESIDUAL_CODE, "residual_recoverable", 3.0]
    ]


def test_check_disclosure_flags_and_reason_columns():
    original = one_relation({"a": 4, "b": 30, "c": 40, "all": 74})
    published = suppress_table(original, dims=("area",), within=())
    found = check_disclosure(original, published, dims=("area",), within=())
    assert found["problem"].tolist() == ["reason_shown"]
    leaky = published.drop(columns="suppression_reason").assign(n=original["n"])
    found = check_disclosure(original, leaky, dims=("area",), within=())
    assert found["problem"].value_counts().to_dict() == {
        "suppressed_but_shown": 2,
        "small_cell_shown": 1,
    }


def test_check_disclosure_of_a_safe_table_is_empty_with_columns():
    original = one_relation({"a": 4, "b": 30, "c": 40, "all": 74}).assign(wave=1, measure="m")
    published = suppress_table(original, dims=("area",)).drop(columns="suppression_reason")
    found = check_disclosure(original, published, dims=("area",))
    assert found.empty
    assert list(found.columns) == [
        "wave",
        "measure",
        "area",
        "problem",
        "relation_dim",
        "n",
        "detail",
    ]


def test_check_disclosure_reads_a_display_copy():
    original = one_relation({"a": 4, "b": 30, "c": 40, "all": 74}).assign(pct=0.5)
    display = mask_for_display(suppress_table(original, dims=("area",), within=()))
    assert display["n"].tolist() == ["–", "–", "40", "74"]
    assert check_disclosure(original, display, dims=("area",), within=()).empty
    leaky = display.assign(pct=["50", "–", "50", "50"])  # a's proportion shown
    found = check_disclosure(original, leaky, dims=("area",), within=())
    # a counts as shown (its proportion is), so b = 74 - 40 - a is recoverable too.
    assert sorted(found["problem"]) == ["recoverable", "small_cell_shown", "suppressed_but_shown"]


def test_check_disclosure_rows_missing_from_published_count_as_hidden():
    original = one_relation({"a": 4, "b": 30, "c": 40, "all": 74})
    published = original[original["area"] != "a"]
    found = check_disclosure(original, published, dims=("area",), within=())
    assert found["problem"].tolist() == ["recoverable"]


def test_check_disclosure_rejects_unknown_published_rows():
    original = one_relation({"a": 4, "b": 30, "all": 34})
    published = pd.concat([original, one_relation({"z": 1})])
    with pytest.raises(ValueError, match="1 row\\(s\\) that are not in the original"):
        check_disclosure(original, published, dims=("area",), within=())
    with pytest.raises(ValueError, match="The published table has more than one row per comb"):
        check_disclosure(original, pd.concat([original, original]), dims=("area",), within=())
    with pytest.raises(ValueError, match="The original table has more than one row per comb"):
        check_disclosure(pd.concat([original, original]), original, dims=("area",), within=())
    with pytest.raises(ValueError, match=r"lacks the key column\(s\) \['area'\]"):
        check_disclosure(
            original, original.rename(columns={"area": "x"}), dims=("area",), within=()
        )


# --------------------------------------------------------------------------------------------
# Count tables and margins
# --------------------------------------------------------------------------------------------


def test_add_margins_matches_plain_pandas_and_fills_empty_groups():
    leaf = pd.DataFrame(
        {
            "wave": [2023] * 3,
            "school": ["s1", "s1", "s2"],
            "sex": ["F", "M", "F"],
            "n": [12, 3, 20],
        }
    )
    full = add_margins(leaf, dims=("school", "sex"), value_cols=("n",), by=("wave",))
    assert len(full) == 3 * 3  # (s1, s2, all) x (F, M, all)
    got = full.set_index(["school", "sex"])["n"]
    assert got[("s2", "M")] == 0  # empty group added
    assert got[("all", "F")] == leaf.loc[leaf["sex"] == "F", "n"].sum()
    assert got[("s1", "all")] == leaf.loc[leaf["school"] == "s1", "n"].sum()
    assert got[("all", "all")] == leaf["n"].sum()
    assert full["n"].dtype == leaf["n"].dtype
    assert (full["wave"] == 2023).all()


def test_add_margins_puts_margins_last_and_accepts_categories():
    leaf = pd.DataFrame({"area": pd.Categorical(["b", "a"]), "grade": ["ak9", "ak8"], "n": [5, 7]})
    full = add_margins(leaf, dims=("area", "grade"), value_cols=("n",))
    assert full[["area", "grade"]].apply(tuple, axis=1).tolist() == [
        ("a", "ak8"), ("a", "ak9"), ("a", "all"),
        ("b", "ak8"), ("b", "ak9"), ("b", "all"),
        ("all", "ak8"), ("all", "ak9"), ("all", "all"),
    ]  # fmt: skip
    assert full["n"].tolist() == [7, 0, 7, 0, 5, 5, 7, 5, 12]
    out = suppress_counts(full.astype({"area": "category"}), count_col="n", dims=("area", "grade"))
    # By hand: every non-zero cell but the grand total is 5 or 7; the zeros stay published and
    # the grand total 12 hides the sum of two unknowns (7 + 5).
    assert out.loc[out["n"].notna(), "n"].tolist() == [0.0, 0.0, 12.0]


def test_add_margins_errors():
    leaf = pd.DataFrame({"school": ["s1", "all"], "n": [1, 1]})
    with pytest.raises(ValueError, match="'school' already holds the margin code 'all'"):
        add_margins(leaf, dims=("school",), value_cols=("n",))
    with pytest.raises(ValueError, match=r"Column\(s\) \['grade'\] not found"):
        add_margins(leaf, dims=("grade",), value_cols=("n",))
    with pytest.raises(ValueError, match="'n' has missing values"):
        add_margins(
            pd.DataFrame({"school": ["s1"], "n": [None]}), dims=("school",), value_cols=("n",)
        )
    with pytest.raises(ValueError, match="dims must be a list of column names"):
        add_margins(leaf, dims="school", value_cols=("n",))
    with pytest.raises(ValueError, match="'school' has rows without a code"):
        add_margins(pd.DataFrame({"school": [None], "n": [1]}), dims=("school",), value_cols=("n",))


def test_suppress_counts_respondents_by_school_and_sex():
    leaf = pd.DataFrame(
        {"school": ["s1", "s1", "s2", "s2"], "sex": ["F", "M", "F", "M"], "n": [12, 3, 20, 25]}
    )
    full = add_margins(leaf, dims=("school", "sex"), value_cols=("n",))
    out = suppress_counts(full, count_col="n", dims=("school", "sex"))
    reasons = hidden_reasons(out, ["school", "sex"])
    # By hand: (s1,M)=3 primary; its sex sibling (s1,F)=12; its school sibling (s2,M)=25; then
    # the F column needs a second unknown: (s2,F)=20. Margins stay published.
    assert reasons == {
        ("s1", "M"): "primary",
        ("s1", "F"): "complementary",
        ("s2", "M"): "complementary",
        ("s2", "F"): "complementary",
    }
    assert out.loc[out["suppressed"], "n"].isna().all()


def test_suppress_counts_screening_log_rules_in_within():
    leaf = pd.DataFrame(
        {
            "rule": ["fake_drug"] * 4 + ["honesty"] * 4,
            "area": ["a", "a", "b", "b"] * 2,
            "grade": ["ak8", "ak9"] * 4,
            "n": [2, 15, 14, 30, 0, 0, 11, 12],
        }
    )
    full = add_margins(leaf, dims=("area", "grade"), value_cols=("n",), by=("rule",))
    out = suppress_counts(full, count_col="n", dims=("area", "grade"), within=("rule",))
    fake = out[out["rule"] == "fake_drug"]
    assert fake["suppressed"].sum() == 4  # (a,ak8)=2 forces a 2x2 rectangle
    assert not out.loc[out["rule"] == "honesty", "suppressed"].any()


# --------------------------------------------------------------------------------------------
# Display
# --------------------------------------------------------------------------------------------


def test_mask_for_display_markers_rounding_and_footnote():
    table = pd.DataFrame(
        {
            "n": [12.0, np.nan, 30.0],
            "pct": [0.375, np.nan, 0.125],
            "pct_level2": [np.nan, np.nan, 0.004],
            "suppressed": [False, True, False],
            "suppression_reason": ["", "primary", ""],
        }
    )
    before = table.copy()
    shown = mask_for_display(table)
    assert shown["n"].tolist() == ["12", "–", "30"]
    assert shown["pct"].tolist() == ["38", "–", "13"]  # 37.5 -> 38, 12.5 -> 13 (half up)
    assert shown["pct_level2"].tolist() == ["", "–", "0"]
    assert "suppression_reason" not in shown.columns
    assert (
        shown.attrs["footnote"]
        == "– färre än 10 svar eller för få med svaret, eller dolt så att en liten grupp inte kan räknas fram"
    )
    assert mask_for_display(table, lang="en", min_n=15).attrs["footnote"] == (
        "– fewer than 15 answers or too few with the answer, or hidden so that a small group cannot be worked out"
    )
    pd.testing.assert_frame_equal(table, before)


def test_suppression_footnote_languages_and_errors():
    assert (
        suppression_footnote()
        == "– färre än 10 svar eller för få med svaret, eller dolt så att en liten grupp inte kan räknas fram"
    )
    assert (
        suppression_footnote(min_n=5, lang="en")
        == "– fewer than 5 answers or too few with the answer, or hidden so that a small group cannot be worked out"
    )
    with pytest.raises(ValueError, match="Unknown language 'de'"):
        suppression_footnote(lang="de")
    with pytest.raises(ValueError, match="needs the column 'suppressed'"):
        mask_for_display(pd.DataFrame({"n": [1.0]}))


# --------------------------------------------------------------------------------------------
# Error paths of suppress_table
# --------------------------------------------------------------------------------------------


def test_missing_combination_is_named():
    table = pd.DataFrame(
        {
            "area": ["a", "a", "b", "all", "all"],
            "sex": ["F", "all", "all", "F", "all"],
            "n": [5, 20, 30, 5, 50],
        }
    )
    with pytest.raises(
        ValueError, match="1 combination\\(s\\) of codes have no row, e.g. area=b, sex=F"
    ):
        suppress_table(table, dims=("area", "sex"), within=())


def test_duplicate_row_is_named():
    table = one_relation({"a": 4, "b": 30, "all": 34})
    with pytest.raises(ValueError, match="more than one row for area=a"):
        suppress_table(pd.concat([table, table.iloc[[0]]]), dims=("area",), within=())


def test_parts_larger_than_total_are_rejected():
    table = one_relation({"a": 40, "b": 30, "all": 60}).assign(wave=2023, measure="m")
    with pytest.raises(
        ValueError,
        match="wave=2023, measure=m: the parts add up to more than "
        "their total \\(10 too many at area=\\(other\\)\\)",
    ):
        suppress_table(table, dims=("area",))


def test_missing_margin_is_an_error():
    table = pd.DataFrame({"area": ["a", "b"], "n": [4, 30]})
    with pytest.raises(ValueError, match="have no row, e.g. area=all"):
        suppress_table(table, dims=("area",), within=())


@pytest.mark.parametrize(
    ("kwargs", "table", "message"),
    [
        ({"min_n": 0}, None, "min_n must be a whole number of at least 1, got 0"),
        ({"min_n": 2.5}, None, "min_n must be a whole number of at least 1, got 2.5"),
        ({"dims": "area"}, None, "dims must be a list of column names such as \\('area',\\)"),
        ({"dims": ()}, None, "dims must name at least one column"),
        ({"dims": ("area",), "within": ("area",)}, None, "must name distinct columns"),
        ({"dims": ("region",)}, None, r"Column\(s\) \['region'\] not found"),
        ({"size_col": "count"}, None, r"Column\(s\) \['count'\] not found"),
        ({}, one_relation({"a": 4, "all": None}), "'n' has 1 missing value"),
        ({}, one_relation({"a": -4, "all": 4}), "'n' has negative values"),
        ({}, one_relation({"a": "x", "all": 4}), "'n' must hold numbers; found 'x'"),
        ({}, one_relation({None: 4, "all": 4}), "'area' has 1 row\\(s\\) without a code"),
    ],
)
def test_option_and_data_errors(kwargs, table, message):
    table = one_relation({"a": 4, "b": 30, "all": 34}) if table is None else table
    options = {"dims": ("area",), "within": ()} | kwargs
    with pytest.raises(ValueError, match=message):
        suppress_table(table, **options)


def test_internal_error_when_nothing_is_left_to_hide(monkeypatch):
    monkeypatch.setattr(_suppress_rules, "is_candidate", lambda *args: False)
    with pytest.raises(RuntimeError, match="stays recoverable and no cell is left to hide"):
        suppress_table(bridge_table(), within=())


def test_empty_table_gives_empty_result():
    empty = one_relation({"a": 1}).iloc[:0].assign(wave=0, measure="m")
    out = suppress_table(empty, dims=("area",))
    assert out.empty and {"suppressed", "suppression_reason"} <= set(out.columns)


def test_missing_within_column_is_named():
    table = one_relation({"a": 4, "b": 30, "all": 34})
    with pytest.raises(ValueError, match=r"Column\(s\) \['wave', 'measure'\] not found"):
        suppress_table(table, dims=("area",))


# --------------------------------------------------------------------------------------------
# Shortcuts of the implementation give the plain method's results
# --------------------------------------------------------------------------------------------


def cube_of(table: pd.DataFrame, dims=("area", "grade", "sex")):
    """The module's cube of a table holding one within group."""
    [(_, cube)] = _suppress_cube.table_cubes(table, dims=dims, within=(), total="all", size_col="n")
    return cube


def plain_rules(values, suppressed, layout, min_n):
    """The rules as the module docstring states them, recomputed from scratch after every hidden
    cell: the first relation (dim by dim, line by line) that breaks a rule and has a cell to hide
    gets its smallest published non-zero part (non-totals first, then n, then id), else its total.
    """
    shape = layout.shape
    n_totals = [
        sum(i == s - 1 for i, s in zip(np.unravel_index(c, shape), shape, strict=True))
        for c in range(len(values))
    ]
    residual = [
        any(i == s - 2 for i, s in zip(np.unravel_index(c, shape), shape, strict=True))
        for c in range(len(values))
    ]
    suppressed = suppressed.copy()
    while True:
        unknown = [
            bool(suppressed[c]) or (residual[c] and values[c] > 0) for c in range(len(values))
        ]

        def free(c, unknown=unknown):
            return not residual[c] and not unknown[c] and values[c] > 0

        choice = None
        for line in (list(map(int, line)) for lines in layout.lines for line in lines):
            if all(residual[c] for c in line):
                continue
            hidden_sum = sum(values[c] for c in line[:-1] if unknown[c])
            small_sum = not unknown[line[-1]] and 0 < hidden_sum < min_n
            lone = [c for c in line if unknown[c]]
            lone = len(lone) == 1 and not (residual[lone[0]] and values[lone[0]] >= min_n)
            parts = [c for c in line[:-1] if free(c)]
            if (small_sum or lone) and (parts or free(line[-1])):
                key = {c: (n_totals[c], values[c], c) for c in parts}
                choice = min(parts, key=key.get) if parts else line[-1]
                break
        if choice is None:
            return suppressed
        suppressed[choice] = True


def fixed_by_least_squares(layout, unknown_ids):
    """Unknown cells fixed by the relations: lstsq on the relation matrix written from the lines."""
    matrix = np.zeros((sum(len(lines) for lines in layout.lines), layout.size))
    row = 0
    for lines in layout.lines:
        for line in lines:
            matrix[row, line[:-1]], matrix[row, line[-1]] = -1.0, 1.0
            row += 1
    sub = matrix[:, unknown_ids]
    target = np.eye(len(unknown_ids))
    y, *_ = np.linalg.lstsq(sub.T, target, rcond=None)
    return unknown_ids[np.linalg.norm(sub.T @ y - target, axis=0) < 1e-6]


def random_hidden(cube, share: float, seed: int) -> np.ndarray:
    """Published non-zero cells hidden at random (a state the rules may pass through)."""
    rng = np.random.default_rng(seed)
    published = ~cube.layout.hidden & (cube.values > 0)
    return published & (rng.random(len(cube.values)) < share)


def test_relation_columns_match_relations_written_by_hand():
    shape = (4, 3, 5)  # 2 areas, 1 grade, 3 sexes, each with residual and total
    layout = _suppress_cube.layout_of(shape)
    expected = set()
    for d, size in enumerate(shape):
        for other in itertools.product(*(range(s) for k, s in enumerate(shape) if k != d)):
            cells = [np.ravel_multi_index((*other[:d], i, *other[d:]), shape) for i in range(size)]
            row = np.zeros(layout.size)
            row[cells[:-1]], row[cells[-1]] = -1.0, 1.0
            expected.add(tuple(row))
    got = layout.columns(np.arange(layout.size))
    assert len(got) == len(expected) and {tuple(r) for r in got} == expected


@settings(max_examples=40, derandomize=True, deadline=None)
@given(random_cubes(), st.sampled_from([0.0, 0.0, 0.1, 0.3]), st.integers(0, 2**16))
def test_rules_match_the_plain_rule_loop(case, share, seed):
    cube_table, min_n = case
    cube = cube_of(published_part(cube_table))
    start = ((cube.values > 0) & (cube.values < min_n) & ~cube.layout.hidden) | random_hidden(
        cube, share, seed
    )
    got = _suppress_rules.apply_rules(cube.values, start, cube.layout, min_n=min_n)
    assert got.tolist() == plain_rules(cube.values, start, cube.layout, min_n).tolist()


@settings(max_examples=40, derandomize=True, deadline=None)
@given(random_cubes(), st.sampled_from([0.0, 0.0, 0.1, 0.3, 0.6]), st.integers(0, 2**16))
def test_exact_check_shortcut_and_cache_agree_with_a_full_check(case, share, seed):
    cube_table, min_n = case
    cube = cube_of(published_part(cube_table))
    values, layout = cube.values, cube.layout
    suppressed = random_hidden(cube, share, seed)
    unknown = suppressed | (layout.hidden & (values > 0))
    fixed = fixed_by_least_squares(layout, np.flatnonzero(unknown))
    exposed = fixed[~layout.hidden[fixed] | (values[fixed] < min_n)]
    cache: dict = {}
    fresh = _suppress_rules.exact_fix(values, suppressed, layout, min_n=min_n, cache=cache)
    again = _suppress_rules.exact_fix(values, suppressed, layout, min_n=min_n, cache=cache)
    assert (fresh is None) == (len(exposed) == 0)
    assert again == fresh  # answered from the cache when the full check ran
    if not suppressed.any() and not (layout.hidden & (values > 0) & (values < min_n)).any():
        assert cache == {}  # the shortcut: nothing can be exposed, so nothing was computed
    for key, cells in cache.items():
        assert cells.tolist() == fixed.tolist() and key[0] == layout.shape
    own: dict = {}
    for computed in (True, False):  # computed with its span, then remembered without
        found, span = _suppress_rules.fixed_cells(layout, np.flatnonzero(unknown), own)
        assert found.tolist() == fixed.tolist() and (span is not None) == computed


def test_cache_is_shared_by_tables_with_the_same_unknown_cells(monkeypatch):
    leaf = {
        (a, g, s): n
        for (a, g, s), n in zip(
            itertools.product("abc", ["g1", "g2"], SEXES),
            [3, 12, 1, 20, 25, 0, 14, 2, 2, 30, 31, 4, 11, 13, 0, 40, 3, 2],
            strict=True,
        )
    }
    one = published_part(true_cube(leaf, areas=["a", "b", "c"], grades=["g1", "g2"]))
    other = one.assign(measure="other", n_flagged=one["n_flagged"] + 1.0)  # same n
    doubled = pd.concat([one, other], ignore_index=True)
    computed = []
    span_of = _suppress_rules.span_of
    monkeypatch.setattr(_suppress_rules, "span_of", lambda *a: computed.append(1) or span_of(*a))
    alone = suppress_table(one)
    calls_alone = len(computed)
    both = suppress_table(doubled)
    assert calls_alone >= 1 and len(computed) - calls_alone == calls_alone  # not twice as many
    assert both["suppressed"].tolist() == alone["suppressed"].tolist() * 2


def test_tables_with_different_codes_are_built_as_if_alone():
    rng = np.random.default_rng(3)
    areas, grades = ["a", "b", "c"], ["g1", "g2"]
    leaf = {k: int(rng.integers(0, 25)) for k in itertools.product(areas, grades, SEXES)}
    first = published_part(true_cube(leaf, areas=areas, grades=grades))
    two = {k: v for k, v in leaf.items() if k[0] != "b"}  # area b absent: another shape
    second = published_part(true_cube(two, areas=["a", "c"], grades=grades)).assign(measure="m2")
    third = first[first["grade"] == "all"].assign(measure="m3")  # grade has the total only
    shuffled = first.sample(frac=1.0, random_state=1).assign(measure="m4")  # other row order
    table = pd.concat([first, second, third, shuffled], ignore_index=True)
    table = table.astype({"area": pd.CategoricalDtype(["z", *areas, "all"])})  # unused "z"
    out = suppress_table(table)
    keys = ["area", "grade", "sex"]
    by_key = out.assign(area=out["area"].astype(str)).set_index(["measure", *keys])["suppressed"]
    assert by_key["m4"].sort_index().tolist() == by_key["alcohol"].sort_index().tolist()
    for _, part in table.groupby("measure", sort=False):
        alone = suppress_table(part.astype({"area": object}))
        assert out.loc[part.index, "suppressed"].tolist() == alone["suppressed"].tolist()
        assert out.loc[part.index, "suppression_reason"].tolist() == (
            alone["suppression_reason"].tolist()
        )
    with pytest.raises(ValueError, match="wave=2023, measure=m2: 1 combination"):
        suppress_table(table.drop(index=second.index[0] + len(first)))


def test_codes_are_sorted_as_text_whatever_the_row_order():
    rows = pd.DataFrame({"area": ["9", 10, "all", 9], "n": [20, 30, 70, 20]})
    table = pd.concat([rows.assign(m="one"), rows.iloc[[3, 2, 1, 0]].assign(m="two")])
    cubes = _suppress_cube.table_cubes(
        table, dims=("area",), within=("m",), total="all", size_col="n"
    )
    one, two = (cube for _, cube in cubes)
    # As sorted(pd.unique(codes of the table), key=str): "10" < "9"; the int 9 and the text "9"
    # tie and keep the order in which they first appear in their own table.
    assert one.codes == ((10, "9", 9),) and two.codes == ((10, 9, "9"),)
    assert one.values.tolist() == two.values.tolist() == [30.0, 20.0, 20.0, 0.0, 70.0]


def test_blas_runs_on_one_thread_during_the_call_only(monkeypatch):
    def blas_threads():
        return sorted(
            {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}
        )

    before = blas_threads()
    seen = []
    suppress_cube = _suppress_rules.suppress_cube
    monkeypatch.setattr(
        "ctc_helpers.privacy.suppress.suppress_cube",
        lambda *a, **k: seen.append(blas_threads()) or suppress_cube(*a, **k),
    )
    suppress_table(bridge_table(), within=())
    assert seen == [[1]] and blas_threads() == before
