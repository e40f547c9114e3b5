"""The Uppföljning dashboard shows what report 04 shows, for every area of the test city.

The report side is computed with the calls of ``notebooks/04_follow_up.ipynb`` (published
folder, goal chain, programme figures, goal evaluation, change tables and their display); the
dashboard side is what its widgets hold (parsed from their HTML). Compared: every goal's row of
the goal table (status and every figure), and for every measure of the three follow-up kinds the
shares of each survey the report shows, the municipality's shares and the verdict on the change
since the previous survey.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd
import pytest
import yaml

from ctc_helpers.config.goal_chain import load_area_goal_chain
from ctc_helpers.dashboard import data as dashboard_data
from ctc_helpers.dashboard import page as dashboard_page
from ctc_helpers.dashboard.followup import FOLLOWUP_KINDS, followup_parts
from ctc_helpers.dashboard.gap import INVENTORY_FILE
from ctc_helpers.i18n import t
from ctc_helpers.phases.followup import changes as change_phase
from ctc_helpers.phases.followup import goal_progress
from ctc_helpers.publish.read import load_published
from ctc_helpers.views import followup as followup_views
from ctc_helpers.views import goal_chain as goal_views
from ctc_helpers.views.labels import area_name
from ctc_helpers.views.tables import DisplayTable
from ctc_helpers.vocab import CITY
from tests.fake_published import CUTPOINT_VERSION, write_fake_published

LANG = "sv"


class _Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(_plain("".join(self.cell)))
            self.cell = None

    def handle_data(self, text):
        if self.cell is not None:
            self.cell.append(text)


def _plain(text: object) -> str:
    """A cell as a reader reads it (no-break spaces and word joiners as plain text)."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    return str(text).replace("\u2060", "").replace("\xa0", " ").replace("\u202f", " ").strip()


def rows_of(markup: str) -> list[list[str]]:
    parser = _Rows()
    parser.feed(markup)
    return [row for row in parser.rows if row]


def display_rows(table: DisplayTable) -> list[list[str]]:
    frame = table.frame
    return [[_plain(c) for c in frame.columns]] + [
        [_plain(c) for c in row] for row in frame.itertuples(index=False, name=None)
    ]


GOAL_CHAINS = {
    "norra-hamnen": {
        "area": "norra-hamnen", "baseline_wave": 2023, "cutpoint_version": CUTPOINT_VERSION,
        "goals": [
            {"id": "alcohol", "level": "long",
             "indicator": {"kind": "behaviour", "measure": "alcohol_30d"},
             "baseline": 0.12, "target": 0.08, "target_year": 2029},
            {"id": "friends", "level": "medium",
             "indicator": {"kind": "factor", "measure": "friends_drug_use"},
             "baseline": 0.15, "target": 0.12, "target_year": 2027,
             "contributes_to": ["alcohol"]},
            {"id": "parents-reach", "level": "short",
             "indicator": {"kind": "reach", "programme": "Föräldraträff"},
             "baseline": None, "target": 0.5, "target_year": 2025,
             "contributes_to": ["friends"]},
            {"id": "parents-fidelity", "level": "short",
             "indicator": {"kind": "fidelity", "programme": "Föräldraträff"},
             "baseline": 0.7, "target": 0.8, "target_year": 2025,
             "contributes_to": ["friends"]},
        ],
    },
    "soderdalen": {
        "area": "soderdalen", "baseline_wave": 2023, "cutpoint_version": CUTPOINT_VERSION,
        "goals": [
            {"id": "truancy", "level": "long",
             "indicator": {"kind": "behaviour", "measure": "truancy"},
             "baseline": 0.08, "target": 0.05, "target_year": 2029},
            {"id": "conflict", "level": "medium",
             "indicator": {"kind": "factor", "measure": "family_conflict"},
             "baseline": 0.25, "target": 0.2, "target_year": 2027,
             "contributes_to": ["truancy"]},
        ],
    },
}  # fmt: skip
# the eligible population is left empty: it comes from the published enrolment, as in the demo
INVENTORY = (
    "area,programme,provider,bank_id,year,prevention_level,setting,target_grades,target_ages,"
    "targeted_factors,participants_reached,eligible_population,sessions_planned,"
    "sessions_delivered,fidelity_score,evidence_rating,evidence_source,funding_end,note\n"
    "norra-hamnen,Föräldraträff,Familjecentralen,,2023,universal,school,ak7;ak9,,"
    "friends_drug_use,40,,10,8,0.7,,,,\n"
    "norra-hamnen,Föräldraträff,Familjecentralen,,2025,universal,school,ak7;ak9,,"
    "friends_drug_use,90,,10,9,0.85,,,,\n"
)


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> dict:
    """The fake city's published folder (two waves, three areas, one too small) and a team
    folder with goal chains for two areas (survey, reach and fidelity goals) and an inventory."""
    dashboard_page.clear_caches()
    root = tmp_path_factory.mktemp("followup_vs_report")
    folder = write_fake_published(root / "reports" / "2025" / "data").path
    team = root / "team"
    (team / "goal_chains").mkdir(parents=True)
    for area, chain in GOAL_CHAINS.items():
        (team / "goal_chains" / f"{area}.yaml").write_text(
            yaml.safe_dump(chain, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
    (team / INVENTORY_FILE).write_text(INVENTORY, encoding="utf-8")
    data = dashboard_data.load_dashboard_data(root / "reports", data_dir=team)
    published = load_published(folder, min_cell=data.published.min_cell)
    return {"data": data, "pub": published, "team": team}


def report_goals(city: dict, area: str) -> tuple[pd.DataFrame, DisplayTable | None]:
    """Goals and the goal table exactly as notebook 04 computes them."""
    pub, team, wave = city["pub"], city["team"], city["data"].wave
    chain = load_area_goal_chain(team / "goal_chains", area, instrument=pub.measures)
    figures = goal_progress.load_programme_figures(team / INVENTORY_FILE, published=pub, wave=wave)
    goals = goal_progress.evaluate_goals(
        chain, pub.aggregates, wave=wave, inventory=figures, min_n=pub.min_cell
    )
    table = None if goals.empty else goal_views.goal_display(goals, published=pub, lang=LANG)
    return goals, table


def report_changes(city: dict, area: str, kind: str) -> pd.DataFrame:
    pub = city["pub"]
    return change_phase.change_table(
        pub.aggregates, wave=city["data"].wave, kinds=[kind], area=area, measures=pub.measures,
        min_n=pub.min_cell,
    )  # fmt: skip


def areas(city: dict) -> list[str]:
    return [*map(str, city["data"].areas["area_id"]), CITY]


def test_the_test_city_has_goals_to_compare(city):
    with_goals = [a for a in areas(city) if not report_goals(city, a)[0].empty]
    assert len(with_goals) >= 2, with_goals
    kinds = set().union(*(set(report_goals(city, a)[0]["indicator_kind"]) for a in with_goals))
    assert {"reach", "fidelity"} <= kinds  # programme goals too, not only survey measures


def test_every_goal_status_and_figure_matches_report_04(city):
    data = city["data"]
    compared = 0
    for area in areas(city):
        goals, report_table = report_goals(city, area)
        parts = followup_parts(data, area=area, lang=LANG)
        if report_table is None:
            assert parts["goal_table"] == "" and parts["goal_display"] == "none", area
            continue
        shown = rows_of(parts["goal_table"])
        assert shown == display_rows(report_table), area
        statuses = sorted(goal_views.status_label(s, LANG) for s in goals["status"])
        assert sorted(cell for row in shown[1:] for cell in row if cell in statuses) == statuses
        compared += len(goals)
    assert compared >= 4


def test_a_measured_reach_goal_is_shown_with_its_figures(city):
    """Report 04 and the dashboard both read the programme figures (with the enrolment) of the
    inventory: a reach goal the report can judge is judged on the dashboard too."""
    judged = []
    for area in areas(city):
        goals, _ = report_goals(city, area)
        reach = (
            goals.loc[goals["indicator_kind"].eq("reach") & goals["latest"].notna()]
            if not goals.empty
            else goals
        )
        judged += [(area, row) for _, row in reach.iterrows()]
    assert judged, "the test city has no measured reach goal"
    for area, row in judged:
        shown = rows_of(followup_parts(city["data"], area=area, lang=LANG)["goal_table"])
        status = goal_views.status_label(row["status"], LANG)
        assert any(status in " ".join(r) for r in shown[1:]), (area, status)
        assert not any("saknar värde" in " ".join(r) for r in shown[1:]), (area, shown)


@pytest.mark.parametrize("kind", FOLLOWUP_KINDS)
def test_every_share_and_change_verdict_matches_report_04(city, kind):
    data, pub = city["data"], city["pub"]
    wave = data.wave
    city_changes = report_changes(city, CITY, kind)
    city_table = followup_views.change_display(city_changes, published=pub, kind=kind, lang=LANG)
    checked = 0
    for area in areas(city):
        report = report_changes(city, area, kind)
        table = followup_views.change_display(report, published=pub, kind=kind, lang=LANG)
        frame = table.frame.set_index(t("followup_col_measure", LANG))
        city_frame = city_table.frame.set_index(t("followup_col_measure", LANG))
        previous = report.loc[report["reference"].eq("previous")].set_index("measure")
        for measure, label in zip(previous.index, frame.index, strict=True):
            parts = followup_parts(data, area=area, measure=measure, lang=LANG)
            shown = rows_of(parts["tables"])
            header, body = shown[0], {row[0]: row for row in shown[1:]}
            name = area_name(pub, area, LANG)
            for year in (c for c in frame.columns if c.isdigit()):
                assert body[year][header.index(name)] == _plain(frame.loc[label, year]), (
                    area,
                    measure,
                    year,
                )
                if area != CITY:
                    city_cell = body[year][header.index(t("city", LANG))]
                    assert city_cell == _plain(city_frame.loc[label, year]), (area, measure, year)
            verdict = body[str(wave)][-1]
            code = previous.loc[measure]
            expected = {t(f"change_{c}", LANG) for c in (code["assessment"], code["change"])}
            if code["change"] in ("too_few", "not_comparable"):
                continue
            assert all(word in verdict for word in expected), (area, measure, verdict, expected)
            checked += 1
    assert checked >= 2  # the small area is hidden; too few and not comparable are skipped
