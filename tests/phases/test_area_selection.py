"""Area selection for a first CTC start (phases/area_selection.py): criteria computed by hand on
a small table, points and ranking, readiness file checks."""

from __future__ import annotations

import pandas as pd
import pytest

from ctc_helpers.errors import ConfigError
from ctc_helpers.phases.area_selection import load_readiness, rank_areas, tercile_points

# area -> (risk share 2025, risk share 2023, protective share, behaviour share, n)
AREAS = {
    "all": (0.20, 0.20, 0.70, 0.10, 1000),
    "a": (0.30, 0.20, 0.60, 0.15, 300),
    "b": (0.20, 0.22, 0.70, 0.10, 400),
    "c": (0.10, 0.10, 0.80, 0.05, 300),
    "tiny": (None, None, None, None, 4),
}


def _aggregates() -> pd.DataFrame:
    rows = []
    for area, (risk, risk_before, protection, behaviour, n) in AREAS.items():
        for wave, measure, kind, pct in [
            (2025, "r1", "risk", risk), (2023, "r1", "risk", risk_before),
            (2025, "p1", "protective", protection), (2025, "b1", "behaviour", behaviour),
            (2025, "b2", "behaviour", 0.5),
        ]:  # fmt: skip
            rows.append(
                {"wave": wave, "area": area, "grade": "all", "sex": "all", "measure": measure,
                 "measure_kind": kind, "n": n, "pct": pct, "suppressed": pct is None}
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_criteria_points_and_rank_by_hand():
    readiness = pd.DataFrame({"area": ["a", "b", "c"], "readiness": [2, 5, 3], "note": ""})
    ranked = rank_areas(_aggregates(), wave=2025, behaviours=["b1"], readiness=readiness)
    by = ranked.set_index("area")
    assert by.loc["a", "risk_diff"] == pytest.approx(0.10)
    assert by.loc["c", "protection_diff"] == pytest.approx(0.10)
    assert by.loc["a", "behaviour_diff"] == pytest.approx(0.05)  # b2 (not a priority) left out
    assert by.loc["b", "risk_change"] == pytest.approx(-0.02)
    # a: risk 2, protection 2, behaviour 2, change 2, n 1 (ties with c), readiness 0 -> 9
    # b: risk 1, protection 1, behaviour 1, change 0, n 2, readiness 2 -> 7
    # c: 0 + 0 + 0 + 1 + 1 + readiness 1 -> 3
    assert by.loc[["a", "b", "c"], "score"].tolist() == [9, 7, 3]
    assert ranked["area"].tolist()[:3] == ["a", "b", "c"]
    assert by.loc["tiny", "status"] == "too_few" and pd.isna(by.loc["tiny", "rank"])
    assert set(ranked["behaviours"]) == {"b1"}


def test_without_behaviours_every_behaviour_counts_and_readiness_is_blank():
    ranked = rank_areas(_aggregates(), wave=2025).set_index("area")
    assert ranked.loc["a", "behaviour_diff"] == pytest.approx(0.025)
    assert ranked["readiness"].isna().all() and (ranked["points_readiness"] == 0).all()


def test_tercile_points_favour_need_and_ties():
    assert tercile_points(pd.Series([3.0, 1.0, 2.0])).tolist() == [2, 0, 1]
    assert tercile_points(pd.Series([3.0, 1.0, 2.0]), higher_is_need=False).tolist() == [0, 2, 1]
    assert tercile_points(pd.Series([1.0, 1.0, float("nan")])).tolist() == [2, 2, 0]


def test_readiness_file_is_read_and_checked(tmp_path):
    good = tmp_path / "readiness.csv"
    good.write_text("area,readiness,note\na,4,Skolan med\nb,2,\n", encoding="utf-8")
    table = load_readiness(good, areas=["a", "b"])
    assert table["readiness"].tolist() == [4, 2] and table["note"].tolist()[0] == "Skolan med"
    bad = tmp_path / "bad.csv"
    bad.write_text("area,readiness\na,6\nx,3\na,2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_readiness(bad, areas=["a", "b"], lang="en")
    message = str(caught.value)
    assert "bad.csv, row 2, column readiness: '6'" in message
    assert "row 3, column area: the area 'x'" in message and "'a' is on several rows" in message
    no_column = tmp_path / "cols.csv"
    no_column.write_text("area,score\na,3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="kolumnen readiness saknas"):
        load_readiness(no_column, lang="sv")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("area,readiness,note\na,3,Rektorn är med\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1.csv är inte UTF-8-text \(byte 33\)"):
        load_readiness(latin1, lang="sv")
    with pytest.raises(ConfigError, match="The file nowhere.csv cannot be read"):
        load_readiness(tmp_path / "nowhere.csv", lang="en")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="Filen empty.csv kan inte läsas"):
        load_readiness(empty, lang="sv")


def test_view_gives_the_frame_and_texts_in_both_languages(tmp_path):
    from ctc_helpers.publish.read import load_published
    from ctc_helpers.views.area_selection import (
        area_selection,
        area_selection_parts,
        area_selection_table,
    )
    from tests.fake_published import write_fake_published

    write_fake_published(tmp_path / "data")
    pub = load_published(tmp_path / "data")
    readiness = tmp_path / "readiness.csv"
    readiness.write_text("area,readiness,note\nnorra-hamnen,4,\n", encoding="utf-8")
    en = area_selection(pub, wave=2025, readiness_file=readiness, lang="en")
    sv = area_selection(pub, wave=2025, lang="sv")
    assert set(en.frame["area"]) == {"norra-hamnen", "soderdalen", "lillby"}
    assert en.frame.set_index("area").loc["norra-hamnen", "name"] == "Norra Hamnen"
    assert en.frame.set_index("area").loc["lillby", "status"] == "too_few"
    assert "Avoid labelling an area" in en.cautions[0] and "Readiness matters" in en.cautions[1]
    assert "Undvik att peka ut" in sv.cautions[0] and sv.title.startswith("Var börja")
    table = area_selection_table(en, lang="en").frame.set_index("Area")
    assert table.loc["Norra Hamnen", "Readiness (1–5)"] == "4 (2)"
    assert table.loc["Söderdalen", "Readiness (1–5)"] == "not entered"
    assert table.loc["Lillby", "Score"] == "–"
    assert area_selection_parts(pub, area="norra-hamnen", wave=2025, lang="en") == ()
    parts = area_selection_parts(pub, area="all", wave=2025, lang="sv")
    assert len(parts) == 3 and "Var börja" in parts[0].data
    assert "inte angett någon bedömning av beredskapen" in parts[0].data
    parts = area_selection_parts(pub, area="all", wave=2025, readiness_file=readiness, lang="en")
    assert "entered for 1 of 3 areas" in parts[0].data  # norra-hamnen only
    assert "readiness.csv" not in parts[0].data  # no file names for readers
