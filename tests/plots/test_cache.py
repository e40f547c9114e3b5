"""The chart cache of the phase reports (ctc_helpers.plots.cache) and the folder checksum it relies on."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from ctc_helpers.fingerprint import folder_checksum
from ctc_helpers.plots import cache as charts
from ctc_helpers.plots import report_charts
from ctc_helpers.publish.read import load_published
from tests.fake_published import write_fake_published

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SAMPLE = NOTEBOOKS.parent / "data" / "sample"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REPORT = {"area": "norra-hamnen", "wave": 2025, "lang": "sv"}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_fake_published(tmp_path / "data")
    return tmp_path / "data"


def _cached(folder: Path) -> list[Path]:
    return sorted((folder / charts.CACHE_DIR).glob("*.png"))


def test_every_chart_shown_by_a_notebook_is_registered_for_its_phase():
    # The batch draws PHASE_CHARTS beforehand: a chart missing there would be drawn in the
    # notebook (slow), and a registered chart that no notebook shows would be drawn for nothing.
    for notebook in sorted(NOTEBOOKS.glob("0*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        shown = tuple(re.findall(r'charts\.chart\(\s*pub,\s*"(\w+)"', source))
        assert shown == charts.PHASE_CHARTS.get(notebook.stem, ()), notebook.name


def _inputs(name: str, folder: Path) -> dict:
    """Inputs for the charts that read files: a copy of the demo inventory, no goal chains."""
    inventory = folder.parent / "inventory.csv"
    if not inventory.exists():
        shutil.copy(SAMPLE / "programme_inventory.csv", inventory)
    values = {"inventory_path": str(inventory), "priorities_dir": str(folder.parent / "none"),
              "programme_bank_path": "", "enrolment_file": "", "low_reach": 0.3,
              "goal_chain_dir": str(folder.parent / "none")}  # fmt: skip
    return {k: values[k] for k in charts.CHARTS[name].inputs}


def test_every_chart_names_a_drawing_function():
    for name, spec in charts.CHARTS.items():
        assert callable(getattr(report_charts, spec.draw)), name
    assert {spec.draw for spec in charts.CHARTS.values()} == set(report_charts.__all__)


def test_each_chart_draws_a_png_from_the_published_tables(folder: Path):
    pub = load_published(folder)
    for name in charts.CHARTS:
        for area in ("norra-hamnen", "all"):
            inputs = _inputs(name, folder)
            png = charts.draw_png(pub, name, area=area, wave=2025, lang="sv", **inputs)
            assert png.startswith(PNG_SIGNATURE), (name, area)


def test_first_call_draws_and_keeps_the_chart_then_reads_it(folder: Path, monkeypatch):
    pub = load_published(folder)
    first = charts.chart_png(pub, "risk_profile", **REPORT)
    assert [p.read_bytes() for p in _cached(folder)] == [first]
    narrow = charts.chart_png(pub, "risk_profile", **REPORT, narrow=True)  # the phone's, beside
    assert sorted(p.read_bytes() for p in _cached(folder)) == sorted([first, narrow])
    assert narrow != first

    def fail(*args, **kwargs):
        raise AssertionError("drawn again although cached")

    monkeypatch.setattr(charts, "draw_png", fail)
    assert charts.chart_png(pub, "risk_profile", **REPORT) == first
    image = charts.chart(pub, "risk_profile", **REPORT)
    assert image.data == first and image.narrow == narrow and image.format == "png"


def test_key_follows_everything_the_chart_is_drawn_from(folder: Path):
    pub = load_published(folder)
    key = charts.chart_key(pub, "risk_profile", **REPORT)
    assert charts.chart_key(pub, "risk_profile", **REPORT) == key
    others = {
        charts.chart_key(pub, "protective_profile", **REPORT),
        charts.chart_key(pub, "risk_profile", **{**REPORT, "area": "soderdalen"}),
        charts.chart_key(pub, "risk_profile", **{**REPORT, "wave": 2023}),
        charts.chart_key(pub, "risk_profile", **{**REPORT, "lang": "en"}),
        charts.chart_key(load_published(folder, min_cell=20), "risk_profile", **REPORT),
    }
    assert key not in others and len(others) == 5
    measures = folder / "measures.csv"
    measures.write_text(measures.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert charts.chart_key(load_published(folder), "risk_profile", **REPORT) != key


def test_cached_chart_is_not_used_after_the_data_changed(folder: Path):
    pub = load_published(folder)
    charts.chart_png(pub, "areas_risk", **REPORT)
    run_info = folder / "run_info.json"
    run_info.write_text(run_info.read_text(encoding="utf-8") + " ", encoding="utf-8")
    charts.chart_png(load_published(folder), "areas_risk", **REPORT)
    assert len(_cached(folder)) == 2


def test_unknown_chart_names_the_known_ones(folder: Path):
    with pytest.raises(KeyError, match="No report chart named 'pie'.*risk_profile"):
        charts.chart_key(load_published(folder), "pie", **REPORT)


def test_chart_inputs_must_match_the_chart(folder: Path):
    pub = load_published(folder)
    with pytest.raises(TypeError, match=r"'goal_chain' takes the inputs \(goal_chain_dir, inv"):
        charts.chart_png(pub, "goal_chain", **REPORT, goal_chain_dir="x")
    with pytest.raises(TypeError, match=r"'risk_profile' takes the inputs \(none\); got \(extra\)"):
        charts.draw_png(pub, "risk_profile", **REPORT, extra=1)


def test_key_follows_the_contents_of_input_files(folder: Path):
    pub = load_published(folder)
    inputs = _inputs("goal_chain", folder)
    key = charts.chart_key(pub, "goal_chain", **REPORT, **inputs)
    inventory = Path(inputs["inventory_path"])
    inventory.write_text(inventory.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert charts.chart_key(pub, "goal_chain", **REPORT, **inputs) != key
    chains = Path(inputs["goal_chain_dir"])
    chains.mkdir()
    changed = charts.chart_key(pub, "goal_chain", **REPORT, **inputs)
    (chains / "norra-hamnen.yaml").write_text("area: norra-hamnen\n", encoding="utf-8")
    assert charts.chart_key(pub, "goal_chain", **REPORT, **inputs) != changed


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a read-only folder")
def test_read_only_folder_draws_without_caching(folder: Path):
    os.chmod(folder, 0o555)
    try:
        png = charts.chart_png(
            load_published(folder), "priorities", **REPORT, **_inputs("priorities", folder)
        )
    finally:
        os.chmod(folder, 0o755)
    assert png.startswith(PNG_SIGNATURE) and not _cached(folder)


def test_unwritable_cache_draws_without_caching(folder: Path):
    (folder / charts.CACHE_DIR).write_text("a file where the cache folder should be")
    png = charts.chart_png(
        load_published(folder), "priorities", **REPORT, **_inputs("priorities", folder)
    )
    assert png.startswith(PNG_SIGNATURE)


def test_render_draws_missing_charts_once_and_reports_failures(folder: Path, monkeypatch):
    follow_up = {"goal_chain_dir": "", "inventory_path": ""}
    prio = _inputs("priorities", folder)
    reports = [
        (folder, "norra-hamnen", 2025, "sv", None, "01_survey_analysis", {}),
        (folder, "norra-hamnen", 2025, "sv", None, "02_factor_prioritization", prio),
        (folder, "all", 2025, "sv", None, "02_factor_prioritization", prio),
        (folder, "all", 2025, "sv", None, "04_follow_up", {"goal_chain_dir": ""}),
        (folder, "other", 2025, "sv", None, "05_no_charts", {}),
    ]
    tasks = charts.tasks_for(reports)
    assert [(t[1], [name for name, _ in t[5]]) for t in tasks] == [
        ("norra-hamnen", [*charts.PHASE_CHARTS["01_survey_analysis"], "priorities"]),
        ("all", ["priorities", "follow_up_trends"]),  # goal_chain lacks inventory_path
    ]
    assert tasks[1][5][1] == ("follow_up_trends", {"goal_chain_dir": ""})
    assert charts.tasks_for([(folder, "all", 2025, "sv", None, "04_follow_up", follow_up)])[0][
        5
    ] == (("follow_up_trends", {"goal_chain_dir": ""}), ("goal_chain", follow_up))
    first = charts.render(tasks)
    assert first["status"].tolist() == ["drawn"] * 9
    assert len(_cached(folder)) == 2 * 9  # each chart wide and narrow (for phones)
    pub = load_published(folder)
    assert charts.chart_png(pub, "priorities", area="all", wave=2025, lang="sv", **prio) == (
        charts.draw_png(pub, "priorities", area="all", wave=2025, lang="sv", **prio)
    )
    assert charts.render(tasks)["status"].tolist() == ["cached"] * 9

    shutil.rmtree(folder / charts.CACHE_DIR)

    def broken(*args, **kwargs):
        raise ValueError("no such column")

    monkeypatch.setattr(report_charts, "draw_priorities", broken)
    result = charts.render(tasks[1:])
    assert result["status"].tolist() == ["failed", "drawn"]
    assert result.loc[0, "message"] == "ValueError: no such column"


def test_render_in_worker_processes_gives_the_same_pictures(folder: Path):
    prio = _inputs("priorities", folder)
    tasks = charts.tasks_for(
        [
            (folder, a, 2025, "en", None, "02_factor_prioritization", prio)
            for a in ("norra-hamnen", "all")
        ]
    )
    result = charts.render(tasks, workers=2)
    assert result["status"].tolist() == ["drawn", "drawn"]
    pub = load_published(folder)
    for area in ("norra-hamnen", "all"):
        cached = charts.chart_png(pub, "priorities", area=area, wave=2025, lang="en", **prio)
        assert cached == charts.draw_png(pub, "priorities", area=area, wave=2025, lang="en", **prio)


def test_folder_checksum_ignores_hidden_files_and_folders(tmp_path: Path):
    (tmp_path / "a.csv").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.csv").write_text("y")
    before = folder_checksum(tmp_path)
    (tmp_path / ".charts").mkdir()
    (tmp_path / ".charts" / "chart.png").write_bytes(b"png")
    (tmp_path / ".hidden").write_text("z")
    assert folder_checksum(tmp_path) == before
    (tmp_path / "sub" / "b.csv").write_text("changed")
    assert folder_checksum(tmp_path) != before


def test_gap_inputs_are_read_again_when_the_inventory_changed(folder: Path, monkeypatch):
    pub = load_published(folder)
    inputs = _inputs("gap_reach", folder)
    gap_inputs = {k: v for k, v in inputs.items() if k != "low_reach"}
    calls = []
    monkeypatch.setattr(report_charts, "_GAP_MEMO", {})
    real = report_charts.load_gap_inputs
    monkeypatch.setattr(
        report_charts, "load_gap_inputs", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    for name in ("gap_city_view", "gap_reach"):
        charts.draw_png(pub, name, **REPORT, **_inputs(name, folder))
    assert len(calls) == 1  # both charts of the area share one reading
    inventory = Path(gap_inputs["inventory_path"])
    inventory.write_text(inventory.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    charts.draw_png(pub, "gap_reach", **REPORT, **inputs)
    assert len(calls) == 2
