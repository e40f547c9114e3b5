"""The prioritisation worksheet in the Prioritering view: ticked factors become a priorities
file that the project's own loader reads back; nothing is written beside the data."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest

from ctc_helpers.config.priorities import load_team_choices
from ctc_helpers.dashboard import data as dashboard_data
from ctc_helpers.dashboard import page as dashboard_page
from ctc_helpers.dashboard.worksheet import check_priorities, priorities_yaml
from ctc_helpers.i18n import t
from ctc_helpers.phases.prioritization import rank_factors
from ctc_helpers.publish.read import previous_wave_of
from tests.dashboard.test_views import widget

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _fresh_caches():
    dashboard_page.clear_caches()
    yield
    dashboard_page.clear_caches()


@pytest.fixture
def data(demo_site):
    return dashboard_data.load_dashboard_data(demo_site["reports"], data_dir=demo_site["team"])


def _file(page) -> tuple[str, str]:
    box = widget(page, "ctc-worksheet-file").value
    found = re.search(r'download="([^"]+)" href="data:[^;]+;charset=utf-8;base64,([^"]+)"', box)
    assert found, box
    return found.group(1), base64.b64decode(found.group(2)).decode("utf-8")


def _tick(page, factors: set[str]) -> None:
    worksheet = widget(page, "ctc-worksheet")
    for box in _checkboxes(worksheet):
        box.value = any(f"ctc-factor-{f}" in box._dom_classes for f in factors)


def _checkboxes(root):
    found = []
    for child in getattr(root, "children", ()) or ():
        if any(c.startswith("ctc-factor-") for c in getattr(child, "_dom_classes", ())):
            found.append(child)
        found += _checkboxes(child)
    return found


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_ticked_factors_download_as_a_file_the_loader_reads(data, tmp_path, lang):
    area = "solvik"  # the demo has no recorded choice for Solvik: the suggestion is ticked
    page = dashboard_page.build_page("priorities", data, area=area, lang=lang)
    ranked = rank_factors(
        data.published.aggregates, data.published.comparisons, area=area, wave=data.wave,
        previous_wave=previous_wave_of(data.published.aggregates, data.wave),
    )  # fmt: skip
    assert len(_checkboxes(widget(page, "ctc-worksheet"))) == len(ranked)
    name, text = _file(page)
    assert name == f"{area}.yaml"
    (tmp_path / name).write_text(text, encoding="utf-8")
    choices = load_team_choices(tmp_path, area, factors=data.published.measures)
    suggested = ranked.loc[ranked["suggested"]]
    assert set(choices.factors) == set(suggested["factor"])
    # tick two risk factors and one protective factor of the ranking, add a note
    risk = ranked.loc[ranked["kind"].eq("risk"), "factor"].iloc[[1, 3]].tolist()
    protective = ranked.loc[ranked["kind"].eq("protective"), "factor"].iloc[[0]].tolist()
    _tick(page, {*risk, *protective})
    note = next(w for w in widget(page, "ctc-worksheet").children if hasattr(w, "rows"))
    note.value = "Beslutat på <mötet> = 'ok' & \"klart\""
    name, text = _file(page)
    (tmp_path / name).write_text(text, encoding="utf-8")
    choices = load_team_choices(tmp_path, area, factors=data.published.measures)
    assert choices.risk_factors == tuple(f for f in ranked["factor"] if f in risk)
    assert choices.protective_factors == tuple(protective)
    assert choices.wave == data.wave and choices.decided == dt.date.today()
    assert choices.note == note.value
    assert f"priorities/{area}.yaml" in widget(page, "ctc-worksheet-file").value
    assert not (data.data_dir / "priorities" / f"{area}.yaml").exists()  # the server wrote nothing


def test_too_many_factors_give_the_loaders_message_instead_of_a_file(data):
    page = dashboard_page.build_page("priorities", data, area="solvik", lang="en")
    ranked = rank_factors(
        data.published.aggregates, data.published.comparisons, area="solvik", wave=data.wave,
        previous_wave=previous_wave_of(data.published.aggregates, data.wave),
    )  # fmt: skip
    _tick(page, set(ranked.loc[ranked["kind"].eq("risk"), "factor"].iloc[:6]))
    box = widget(page, "ctc-worksheet-file").value
    assert "download=" not in box and "risk_factors" in box and "6" in box
    _tick(page, set())
    assert "download=" not in widget(page, "ctc-worksheet-file").value


def test_the_municipality_has_no_worksheet(data):
    page = dashboard_page.build_page("priorities", data, area="solvik", lang="sv")
    widget(page, "ctc-area").value = "all"
    assert t("dash_worksheet_city", "sv") in widget(page, "ctc-worksheet-file").value
    assert widget(page, "ctc-worksheet-error").value == ""


def test_the_file_text_is_checked_by_the_loader(data):
    text = priorities_yaml(area="solvik", wave=2025, decided=dt.date(2025, 11, 18),
                           risk_factors=["no_such_factor"])  # fmt: skip
    problem = check_priorities(text, "solvik", measures=data.published.measures)
    assert "no_such_factor" in problem and "solvik.yaml" in problem
    assert "ctc-worksheet-" not in problem  # the temporary folder is not named
