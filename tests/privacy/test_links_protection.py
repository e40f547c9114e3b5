"""The protection of links.parquet (phases.links.protect_links): a link row is shown only where
it relates to shown aggregate cells alone, so it tells a reader nothing about a hidden one."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ctc_helpers.phases.links import LINK_COLUMNS, links_for_prepare, local_links, protect_links

GRADES = ("ak7", "ak9")


def _aggregates(hidden=()):
    """Published aggregates of two areas and the city; ``hidden``: (area, grade, sex, measure)
    whose n_flagged is blank."""
    rows = []
    for area, grade, sex, measure in itertools.product(
        ["x", "y", "all"], [*GRADES, "all"], ["F", "M", "all"], ["conflict", "use"]
    ):
        flagged = np.nan if (area, grade, sex, measure) in hidden else 20.0
        rows.append({"wave": 2025, "area": area, "grade": grade, "sex": sex,
                     "measure": measure, "n": 100.0, "n_flagged": flagged})  # fmt: skip
    return pd.DataFrame(rows)


def _links(rng, n=2400):
    rows = pd.DataFrame(
        {"wave": 2025, "area": rng.choice(["x", "y"], n), "grade": rng.choice(GRADES, n),
         "sex": rng.choice(["F", "M"], n), "valid": True}
    )  # fmt: skip
    rows["flag__conflict"] = (rng.random(n) < 0.4) * 1.0
    rows["flag__use"] = (rng.random(n) < 0.3 + 0.2 * rows["flag__conflict"]) * 1.0
    return local_links(rows, factor_kinds={"conflict": "risk"}, behaviours=["use"])


def _shown(table) -> dict:
    return dict(zip(table["area"], ~table["suppressed"], strict=True))


def test_rows_shown_where_every_cell_they_touch_is_shown(rng):
    links = _links(rng)
    assert (links[["a", "b", "c", "d"]] >= 10).all().all()
    assert _shown(protect_links(links, min_n=10, aggregates=_aggregates())) == {
        "x": True, "y": True, "all": True,
    }  # fmt: skip


def test_a_hidden_aggregate_cell_hides_the_area_and_the_city(rng):
    links = _links(rng)
    for measure in ("conflict", "use"):
        aggregates = _aggregates(hidden={("y", "ak9", "M", measure)})
        table = protect_links(links, min_n=10, aggregates=aggregates)
        assert _shown(table) == {"x": True, "y": False, "all": False}
        hidden = table[table["suppressed"]]
        numbers = [c for c in LINK_COLUMNS if c not in ("wave", "area", "factor", "factor_kind",
                                                          "behaviour", "suppressed")]  # fmt: skip
        assert hidden[numbers].isna().all().all()
    # a hidden cell of another measure, or of the area's totals, does not matter
    aggregates = _aggregates(hidden={("y", "ak9", "M", "other"), ("y", "all", "M", "use")})
    assert _shown(protect_links(links, min_n=10, aggregates=aggregates))["y"]


def test_a_small_cell_hides_the_row_and_the_city(rng):
    links = _links(rng)
    at = links["area"] == "x"
    links.loc[at, "a"] = 3
    table = protect_links(links, min_n=10, aggregates=_aggregates())
    assert _shown(table) == {"x": False, "y": True, "all": False}


def test_without_the_published_aggregates_nothing_is_shown(rng):
    table = protect_links(_links(rng), min_n=10)
    assert table["suppressed"].all()


def test_links_count_girls_and_boys_only(tmp_path, rng):
    from ctc_helpers.config.instrument import load_instrument

    instrument = load_instrument()
    n = 1200
    rows = pd.DataFrame(
        {"wave": 2025, "area": rng.choice(["x", "y"], n), "grade": rng.choice(GRADES, n),
         "sex": rng.choice(["F", "M", "U"], n, p=[0.45, 0.45, 0.1]), "valid": True}
    )  # fmt: skip
    for measure in [*instrument.factor_ids, "alcohol_30d"]:
        rows[f"flag__{measure}"] = (rng.random(n) < 0.4) * 1.0
    rows.to_parquet(tmp_path / "scored.parquet", index=False)
    aggregates = pd.DataFrame(
        [{"wave": 2025, "area": a, "grade": g, "sex": s, "measure": m, "n": 50.0,
          "n_flagged": 20.0}
         for a, g, s, m in itertools.product(["x", "y"], GRADES, ["F", "M"],
                                             [*instrument.factor_ids, "alcohol_30d"])]
    )  # fmt: skip
    table = links_for_prepare(
        tmp_path / "scored.parquet", instrument, behaviours=["alcohol_30d"], waves=[2025],
        min_n=10, aggregates=aggregates,
    )  # fmt: skip
    city = table[(table["area"] == "all") & ~table["suppressed"]]
    assert len(city) > 0
    girls_and_boys = int((rows["sex"] != "U").sum())
    assert ((city["n_exposed"] + city["n_unexposed"]) == girls_and_boys).all()
