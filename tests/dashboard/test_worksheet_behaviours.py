"""The worksheet under the Prioritering view starts from the same ranking as the view and report
02: the one that starts from the area's priority problem behaviours (the team's, else the run
file's default), not a ranking without them.

The published folder is the fake one with a local link table naming truancy (the run file's
default, ``tests/fake_links.py``), where the behaviour changes Söderdalen's suggestion.
"""

from __future__ import annotations

import pandas as pd
import pytest

from ctc_helpers.config.priorities import load_team_choices
from ctc_helpers.dashboard import data as dashboard_data
from ctc_helpers.dashboard import page as dashboard_page
from ctc_helpers.dashboard.widgets import find_widget
from ctc_helpers.i18n import t
from ctc_helpers.phases.links import ranking_inputs
from ctc_helpers.phases.prioritization import rank_factors
from ctc_helpers.publish.read import previous_wave_of
from tests.fake_links import write_links
from tests.fake_published import write_fake_published

AREA = "soderdalen"


@pytest.fixture(autouse=True)
def _fresh_caches():
    dashboard_page.clear_caches()
    yield
    dashboard_page.clear_caches()


@pytest.fixture
def site(tmp_path) -> dict:
    folder = tmp_path / "reports" / "2025" / "data"
    write_fake_published(folder)
    write_links(folder)
    (tmp_path / "team" / "priorities").mkdir(parents=True)
    return {"reports": tmp_path / "reports", "team": tmp_path / "team"}


def _data(site) -> dashboard_data.DashboardData:
    return dashboard_data.load_dashboard_data(site["reports"], data_dir=site["team"])


def _ranked(data, choices=None, *, with_behaviours: bool = True) -> pd.DataFrame:
    """The ranking computed here from the published folder, with or without the behaviours."""
    pub = data.published
    evidence = ranking_inputs(pub, choices) if with_behaviours else {}
    return rank_factors(
        pub.aggregates, pub.comparisons, area=AREA, wave=data.wave,
        previous_wave=previous_wave_of(pub.aggregates, data.wave), **evidence,
    )  # fmt: skip


def _boxes(root) -> list:
    found = []
    for child in getattr(root, "children", ()) or ():
        if any(c.startswith("ctc-factor-") for c in getattr(child, "_dom_classes", ())):
            found.append(child)
        found += _boxes(child)
    return found


def _factor(box) -> str:
    return next(c for c in box._dom_classes if c.startswith("ctc-factor-"))[len("ctc-factor-") :]


def _worksheet(data, lang: str) -> list:
    page = dashboard_page.build_page("priorities", data, area=AREA, lang=lang)
    worksheet = find_widget(page, "ctc-worksheet")
    assert worksheet is not None
    return _boxes(worksheet)


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_first_ticks_are_the_suggestion_of_the_ranking_with_the_behaviours(site, lang):
    data = _data(site)
    ranked, without = _ranked(data), _ranked(data, with_behaviours=False)
    suggested = set(ranked.loc[ranked["suggested"], "factor"])
    assert suggested != set(without.loc[without["suggested"], "factor"]), "truancy should count"
    boxes = _worksheet(data, lang)
    assert [_factor(b) for b in boxes] == ranked["factor"].tolist()  # in the ranking's order
    assert {_factor(b) for b in boxes if b.value} == suggested
    marker = t("dash_worksheet_suggested", lang)
    assert {_factor(b) for b in boxes if b.description.endswith(marker)} == suggested


def test_the_marks_follow_the_teams_own_behaviours_and_the_ticks_its_choice(site):
    (site["team"] / "priorities" / f"{AREA}.yaml").write_text(
        f"area: {AREA}\nwave: 2025\ndecided: 2025-11-18\nrisk_factors: [friends_drug_use]\n"
        "protective_factors: []\npriority_behaviours: [alcohol_30d]\n",
        encoding="utf-8",
    )
    data = _data(site)
    choices = load_team_choices(site["team"] / "priorities", AREA, factors=data.published.measures)
    ranked, default = _ranked(data, choices), _ranked(data)
    suggested = set(ranked.loc[ranked["suggested"], "factor"])
    assert suggested != set(default.loc[default["suggested"], "factor"]), "alcohol should count"
    boxes = _worksheet(data, "sv")
    assert [_factor(b) for b in boxes] == ranked["factor"].tolist()
    marker = t("dash_worksheet_suggested", "sv")
    assert {_factor(b) for b in boxes if b.description.endswith(marker)} == suggested
    assert {_factor(b) for b in boxes if b.value} == {"friends_drug_use"}  # the team's choice
