"""Report 02's chart highlights the factors its tables suggest: it is drawn from the same ranking,
started from the same priority problem behaviours (the team's, else the run file's default).

The published folder is the fake one with a local link table naming truancy
(``tests/fake_links.py``), where the behaviour changes Söderdalen's suggested risk factors.
Report 02's ``ranked`` comes from running the report's own cells up to the ranking.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest

from ctc_helpers.config.factor_links import load_factor_links
from ctc_helpers.paths import NOTEBOOKS_DIR
from ctc_helpers.phases.prioritization import rank_factors
from ctc_helpers.plots import cache as charts
from ctc_helpers.plots import report_charts
from ctc_helpers.publish.read import load_published
from tests.fake_links import write_links
from tests.fake_published import write_fake_published

AREA = "soderdalen"


@pytest.fixture
def site(tmp_path: Path) -> dict:
    folder = tmp_path / "data"
    write_fake_published(folder)
    write_links(folder)
    team = tmp_path / "priorities"
    team.mkdir()
    return {"folder": folder, "team": team}


def _report_02_ranked(site: dict, area: str) -> pd.DataFrame:
    """Report 02's ``ranked``: the notebook's own cells, run as written, up to the ranking."""
    notebook = nbformat.read(NOTEBOOKS_DIR / "02_factor_prioritization.ipynb", as_version=4)
    names: dict = {}
    for cell in (c for c in notebook.cells if c.cell_type == "code"):
        exec(cell.source, names)  # noqa: S102 - the report's own cells, from the repository
        if "parameters" in cell.metadata.get("tags", []):
            names.update(area=area, wave=2025, lang="sv", data_dir=str(site["folder"]),
                         priorities_dir=str(site["team"]))  # fmt: skip
        if "ranked" in names:
            return names["ranked"]
    raise AssertionError("report 02 has no cell that ranks the factors")


def _suggested(ranked: pd.DataFrame) -> list[str]:
    return ranked.loc[ranked["suggested"], "factor"].tolist()


@pytest.fixture
def drawn(monkeypatch) -> list[pd.DataFrame]:
    """The rankings the chart was drawn from, one per drawing."""
    seen: list[pd.DataFrame] = []
    real = report_charts.plot_prioritization

    def spy(ranked, **kwargs):
        seen.append(ranked.copy())
        return real(ranked, **kwargs)

    monkeypatch.setattr(report_charts, "plot_prioritization", spy)
    return seen


def test_the_chart_highlights_the_tables_suggestions_from_the_run_files_behaviours(site, drawn):
    pub = load_published(site["folder"])
    without = rank_factors(pub.aggregates, pub.comparisons, area=AREA, wave=2025)
    ranked = _report_02_ranked(site, AREA)
    assert _suggested(ranked) != _suggested(without), "truancy should change the suggestion"
    assert set(ranked["local_status"]) >= {"clear", "unclear"}  # the local links counted
    png = charts.draw_png(pub, "priorities", area=AREA, wave=2025, lang="sv",
                          priorities_dir=str(site["team"]))  # fmt: skip
    assert png.startswith(b"\x89PNG")
    assert len(drawn) == 1
    assert _suggested(drawn[0]) == _suggested(ranked)
    pd.testing.assert_frame_equal(drawn[0], ranked)


def test_the_chart_follows_the_teams_own_behaviours(site, drawn):
    (site["team"] / f"{AREA}.yaml").write_text(
        f"area: {AREA}\nwave: 2025\ndecided: 2025-11-18\nrisk_factors: [family_conflict]\n"
        "protective_factors: []\npriority_behaviours: [alcohol_30d]\n",
        encoding="utf-8",
    )
    pub = load_published(site["folder"])
    ranked = _report_02_ranked(site, AREA)
    default = rank_factors(
        pub.aggregates, pub.comparisons, area=AREA, wave=2025, behaviours=("truancy",),
        research=load_factor_links().table, links=pd.read_parquet(site["folder"] / "links.parquet"),
    )  # fmt: skip
    assert set(ranked["research_behaviours"]) - {""} == {"alcohol_30d"}
    assert _suggested(ranked) != _suggested(default), "the team's behaviour should change it"
    charts.draw_png(pub, "priorities", area=AREA, wave=2025, lang="en",
                    priorities_dir=str(site["team"]))  # fmt: skip
    pd.testing.assert_frame_equal(drawn[0], ranked)


def test_a_cached_chart_is_drawn_anew_when_the_team_names_other_behaviours(site, drawn):
    pub = load_published(site["folder"])
    report = {"area": AREA, "wave": 2025, "lang": "sv", "priorities_dir": str(site["team"])}
    key = charts.chart_key(pub, "priorities", **report)
    charts.chart_png(pub, "priorities", **report)
    charts.chart_png(pub, "priorities", **report)
    assert len(drawn) == 1  # the second came from the cache
    (site["team"] / f"{AREA}.yaml").write_text(
        f"area: {AREA}\nwave: 2025\ndecided: 2025-11-18\nrisk_factors: [family_conflict]\n"
        "protective_factors: []\npriority_behaviours: [alcohol_30d]\n",
        encoding="utf-8",
    )
    assert charts.chart_key(pub, "priorities", **report) != key
    charts.chart_png(pub, "priorities", **report)
    assert len(drawn) == 2
    pd.testing.assert_frame_equal(drawn[1], _report_02_ranked(site, AREA))
    assert _suggested(drawn[1]) != _suggested(drawn[0])


def test_the_chart_needs_the_teams_folder(site):
    pub = load_published(site["folder"])
    with pytest.raises(TypeError, match=r"'priorities' takes the inputs \(priorities_dir\)"):
        charts.chart_png(pub, "priorities", area=AREA, wave=2025, lang="sv")
