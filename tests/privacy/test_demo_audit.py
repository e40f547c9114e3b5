"""The demo city's published folder, all waves and all tables together, attacked as a reader
would (``tests/privacy/demo_attack.py``: the test's own reading of the files, programmes and
verdicts), and the acceptance figures of issue 14 checked on it."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctc_helpers.batch.index import write_manifest
from ctc_helpers.config.instrument import load_instrument
from ctc_helpers.config.run import load_run_config
from ctc_helpers.privacy.tables import wave_input
from ctc_helpers.privacy.wave import UNSTATED, build_wave
from ctc_helpers.publish import build
from tests.privacy.demo_attack import COUNT, GROUP, attack_wave, read_wave

REPO = Path(__file__).resolve().parents[2]
WAVES = (2021, 2023, 2025)
BEHAVIOURS = ("alcohol_30d", "truancy")
COUNTED = ("aggregates", "participation", "screening_log")
PATH = re.compile(r"(^|[\"'\s=(])(/(tmp|work|home|root|var|Users|private)/|[A-Za-z]:\\\\)")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo city (reports/run.yaml) prepared for every wave in a fresh output and cache."""
    root = tmp_path_factory.mktemp("demo_city")
    config = replace(
        load_run_config(REPO / "reports" / "run.yaml"),
        output_dir=root / "reports",
        cache_dir=root / "cache",
        priority_behaviours=BEHAVIOURS,  # so that links.parquet is published too
    )
    prepared = build.prepare_waves(config, waves=list(WAVES))
    return {"root": root, "config": config, "prepared": prepared}


def _latest(demo) -> Path:
    return demo["prepared"].folders[max(WAVES)]


def test_the_latest_folder_holds_every_wave_as_its_own_folder_does(demo):
    """Auditing the latest folder audits every wave: each wave's rows are the same in every
    folder that holds them."""
    folders = demo["prepared"].folders
    for name in COUNTED:
        latest = pd.read_parquet(_latest(demo) / f"{name}.parquet")
        assert sorted(latest["wave"].unique()) == list(WAVES)
        for wave, folder in folders.items():
            own = pd.read_parquet(folder / f"{name}.parquet")
            own = own[own["wave"] == wave].reset_index(drop=True)
            theirs = latest[latest["wave"] == wave].reset_index(drop=True)
            pd.testing.assert_frame_equal(own, theirs, check_dtype=False)


@pytest.mark.parametrize("wave", WAVES)
def test_no_hidden_count_can_be_worked_out(demo, wave):
    cache = Path(demo["prepared"].private["cache"])

    def private(name: str) -> pd.DataFrame:
        return pd.read_parquet(cache / f"{name}.parquet", filters=[("wave", "==", wave)])

    excluding = frozenset(r.id for r in load_instrument().validity if r.exclude)
    data = wave_input(*(private(n) for n in COUNTED), wave=wave, excluding=excluding)
    system = build_wave(data, min_n=GROUP, min_count=COUNT)
    seen = read_wave(system, _latest(demo), wave)
    assert seen.hidden.sum() > 1000  # the folder is protected, not empty
    v = system.cubes["V"]
    unstated = v.grid()[..., v.dims[2].codes.index(UNSTATED)].reshape(-1)
    findings, programmes = attack_wave(system, seen, unstated=unstated)
    assert programmes > 0
    assert findings == []


def test_shown_values_reveal_no_small_group_or_count(demo):
    folder = _latest(demo)
    agg = pd.read_parquet(folder / "aggregates.parquet")
    part = pd.read_parquet(folder / "participation.parquet")
    log = pd.read_parquet(folder / "screening_log.parquet")
    assert not agg["n_flagged"].between(1, COUNT - 1).any()
    assert not log["n_flagged"].between(1, COUNT - 1).any()
    for values in (agg["n"], part["n"], part["n_valid"], log["n_respondents"]):
        assert not values.between(1, GROUP - 1).any()
    # a measure whose n is below min_cell is hidden whatever its numerator
    assert agg.loc[agg["n"].isna(), ["n_flagged", "pct", "ci_low", "ci_high"]].isna().all().all()
    # enrolment only beside a shown count
    assert part.loc[part["enrolled"].notna(), ["n", "n_valid"]].notna().any(axis=1).all()


def test_at_most_a_quarter_of_the_factor_cells_by_sex_are_hidden_in_2025(demo):
    agg = pd.read_parquet(_latest(demo) / "aggregates.parquet")
    cells = agg[
        (agg["wave"] == 2025)
        & (agg["area"] != "all")
        & (agg["grade"] != "all")
        & agg["sex"].isin(["F", "M"])
        & agg["measure_kind"].isin(["risk", "protective"])
    ]
    assert len(cells) > 1000
    share = cells["n_flagged"].isna().mean()
    assert share <= 0.25, f"{share:.1%} hidden"


def test_comparisons_show_only_what_the_aggregates_show(demo):
    folder = _latest(demo)
    agg = pd.read_parquet(folder / "aggregates.parquet")
    comparisons = pd.read_parquet(folder / "comparisons.parquet")
    shown = agg.set_index(["wave", "area", "grade", "sex", "measure"])["n"]
    city = comparisons[comparisons["comparison"] == "city"]
    columns = ["wave", "area", "grade", "sex", "measure"]
    area_n = shown.reindex(pd.MultiIndex.from_frame(city[columns])).to_numpy()
    whole = pd.MultiIndex.from_frame(city[columns].assign(area="all"))
    city_n = shown.reindex(whole).to_numpy()
    for column, expected in (("n_area", area_n), ("n_city", city_n)):
        got = city[column].to_numpy(dtype=float)
        assert np.all(np.isnan(got) | (got == expected)), column
    rest = city["n_rest"].to_numpy(dtype=float)
    known = ~np.isnan(area_n) & ~np.isnan(city_n)
    assert np.all(np.isnan(rest) | known)
    assert np.allclose(rest[~np.isnan(rest)], (city_n - area_n)[~np.isnan(rest)])


def _private_text(demo, path: Path) -> list[str]:
    """What in a published file names the suppression reason or a private path."""
    prepared = demo["prepared"]
    if path.suffix == ".parquet":
        table = pd.read_parquet(path)
        problems = ["suppression_reason column"] if "suppression_reason" in table.columns else []
        text = table.astype(str).to_csv(index=False)
    else:
        problems, text = [], path.read_text(encoding="utf-8")
    private = [str(demo["root"]), prepared.private["cache"], str(REPO)]
    problems += [p for p in private if p in text]
    problems += [m.group(0) for m in PATH.finditer(text)]
    return problems


def test_no_published_file_holds_a_reason_or_a_path(demo):
    folders = demo["prepared"].folders.values()
    files = [f for folder in folders for f in folder.iterdir()]
    assert {f.name for f in files} >= {"aggregates.parquet", "run_info.json", "links.parquet"}
    assert {f.name: _private_text(demo, f) for f in files} == {f.name: [] for f in files}
    for folder in folders:
        info = (folder / "run_info.json").read_text(encoding="utf-8")
        assert "suppression_reason" not in info and "quarantine" not in info


def test_the_manifest_holds_no_path(demo):
    prepared = demo["prepared"]
    manifest = write_manifest(
        demo["config"], [], published=prepared.folders,
        checksums={w: "0" * 64 for w in prepared.folders}, settings={},
        summary=prepared.summary, timings={},
    )  # fmt: skip
    assert _private_text(demo, manifest) == []


def test_links_relate_only_to_shown_cells(demo):
    """A shown area row of links.parquet touches only shown aggregate cells (each grade x
    girls/boys n and n_flagged of its factor and behaviour), so it narrows no hidden cell; the
    city row is shown only with every area row; a hidden row is blank and in no published
    relation; shown rows count girls and boys only and no cell below min_cell."""
    folder = _latest(demo)
    links = pd.read_parquet(folder / "links.parquet")
    agg = pd.read_parquet(folder / "aggregates.parquet")
    assert set(links["behaviour"]) == set(BEHAVIOURS) and set(links["wave"]) == set(WAVES)
    fine = agg[(agg["area"] != "all") & (agg["grade"] != "all") & agg["sex"].isin(["F", "M"])]
    complete = (
        fine[["n", "n_flagged"]]
        .notna()
        .all(axis=1)
        .groupby([fine["wave"], fine["area"], fine["measure"]])
        .all()
    )
    totals = agg[(agg["grade"] == "all") & (agg["sex"] == "all")].set_index(
        ["wave", "area", "measure"]
    )["n"]
    shown = links[~links["suppressed"]]
    assert len(shown) > 0
    for row in shown.itertuples():
        if row.area != "all":
            assert complete[(row.wave, row.area, row.factor)], row
            assert complete[(row.wave, row.area, row.behaviour)], row
        a = round(row.pct_exposed * row.n_exposed)
        c = round(row.pct_unexposed * row.n_unexposed)
        cells = (a, row.n_exposed - a, c, row.n_unexposed - c)
        assert min(cells) >= GROUP, row
        size = row.n_exposed + row.n_unexposed
        assert size <= totals[(row.wave, row.area, row.factor)], row
        assert size <= totals[(row.wave, row.area, row.behaviour)], row
    by_link = links.groupby(["wave", "factor", "behaviour"])
    for _, rows in by_link:
        city = rows[rows["area"] == "all"]
        if not city["suppressed"].all():
            assert not rows["suppressed"].any()
    numbers = [c for c in links.columns if c.startswith(("n_", "pct_", "rd", "rr", "or"))]
    assert links.loc[links["suppressed"], numbers].isna().all().all()
