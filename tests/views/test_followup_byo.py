"""The follow-up (notebook 04) with a municipality's own survey (issue 16).

A behaviours-only instrument in one wave: the follow-up's engines return empty tables instead of
failing, and the displays say what cannot be done (no factor scales, no earlier survey, a trend
test needs three surveys, no year group seen twice). The grades of the follow-up and goal-chain
views are named in the vocabulary in force (the published run's), not the default åk 6 … gy 2:
tested with the grades of the example ``data/examples/behaviours_only`` (labels "åk 7" … in both
languages, where the default says "Year 7" in English) and with a US-style vocabulary whose codes
the default does not know. Expected values are written out by hand below.
"""

from __future__ import annotations

import pandas as pd
import pytest

from ctc_helpers.config import goal_chain as chains
from ctc_helpers.config.instrument import load_instrument, load_respondent_schema
from ctc_helpers.paths import REPO_ROOT
from ctc_helpers.phases.followup import goal_progress
from ctc_helpers.phases.followup.changes import CHANGE_COLUMNS, change_table
from ctc_helpers.phases.followup.cohorts import COHORT_COLUMNS, cohort_table, grade_years
from ctc_helpers.phases.followup.trends import TREND_COLUMNS, trend_table, trend_tests
from ctc_helpers.publish.read import Published
from ctc_helpers.views import followup as views
from ctc_helpers.views import goal_chain as gc

EXAMPLE = REPO_ROOT / "data" / "examples" / "behaviours_only"
KEEP = ("code", "year", "age", "label", "published")  # what the build publishes of each entry


def _vocabulary(schema) -> dict:
    """``run_info["respondents"]`` as the build writes it for a respondent schema."""
    return {
        key: [{k: v for k, v in entry.items() if k in KEEP} for entry in entries]
        for key, entries in (("grades", schema.grades), ("sexes", schema.sexes))
    }


EXAMPLE_RUN_INFO = {
    "instrument": {"id": "skolenkat", "title": {"sv": "Skolenkäten", "en": "Skolenkäten"}},
    "respondents": _vocabulary(
        load_respondent_schema(instrument=load_instrument(EXAMPLE / "instrument.yaml"))
    ),
    "has_factors": False,
    "has_behaviours": True,
    "has_screening": False,
    "languages": ["sv"],
}
US_GRADES = [
    {"code": f"g{y}", "year": y, "label": {"sv": f"Grade {y}", "en": f"Grade {y}"}}
    for y in (9, 10, 11, 12)
]
MEASURES = pd.DataFrame(
    {
        "measure": ["alcohol_30d", "bullied"],
        "measure_kind": ["behaviour", "behaviour"],
        "label_sv": ["Alkohol senaste 30 dagarna", "Mobbad"],
        "label_en": ["Alcohol, past 30 days", "Bullied"],
    }
)


def _row(wave, measure, x, n, *, grade="all", sex="all", area="norr") -> dict:
    return {
        "wave": wave, "area": area, "grade": grade, "sex": sex, "measure": measure,
        "measure_kind": "behaviour", "domain": "behaviour", "n": n, "n_flagged": float(x),
        "pct": x / n, "ci_low": 0.0, "ci_high": 1.0, "n_eff": float(n),
        "cutpoint_version": "", "suppressed": False,
    }  # fmt: skip


def _table(rows: list[dict], run_info: dict | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if run_info is not None:
        frame.attrs["run_info"] = run_info
    return frame


def _published(aggregates: pd.DataFrame, run_info: dict) -> Published:
    empty = pd.DataFrame()
    return Published(
        path=REPO_ROOT, aggregates=aggregates, comparisons=empty, participation=empty,
        screening_log=empty, cutpoints=empty, measures=MEASURES, run_info=run_info, min_cell=10,
    )  # fmt: skip


@pytest.fixture
def one_wave() -> pd.DataFrame:
    """The example's shape: behaviours only, one survey (2025)."""
    rows = [_row(2025, "alcohol_30d", 40, 200), _row(2025, "bullied", 20, 200)]
    rows += [_row(2025, "alcohol_30d", 12, 60, grade=g) for g in ("ak7", "ak9", "gy2")]
    return _table(rows, EXAMPLE_RUN_INFO)


# --------------------------------------------------------------------------------------------
# Engines: no measures of a kind, one wave


def test_kinds_the_instrument_lacks_give_empty_tables(one_wave):
    changes = change_table(one_wave, area="norr", wave=2025, kinds=["risk"])
    assert changes.empty and changes.columns.tolist() == CHANGE_COLUMNS
    tests = trend_tests(one_wave, area="norr", kinds=["protective"], last_wave=2025)
    assert tests.empty and tests.columns.tolist() == TREND_COLUMNS
    assert trend_table(one_wave, area="norr", kinds=["risk"]).empty
    # a wave that is not in the table is still an error when the measures exist
    with pytest.raises(ValueError, match=r"survey year 2023 is not in the table.*years: 2025"):
        change_table(one_wave, area="norr", wave=2023, kinds=["behaviour"])


def test_one_wave_has_nothing_to_compare_and_too_few_waves_to_test(one_wave):
    assert change_table(one_wave, area="norr", wave=2025, kinds=["behaviour"]).empty
    tests = trend_tests(one_wave, area="norr", kinds=["behaviour"])
    assert tests["measure"].tolist() == ["alcohol_30d", "bullied"]
    assert set(tests["trend"]) == {"too_few_waves"}
    assert cohort_table(one_wave, area="norr").empty


def test_without_goal_chain_or_composites_the_behaviours_are_followed(one_wave):
    assert goal_progress.focus_measures(one_wave) == ["alcohol_30d", "bullied"]
    assert goal_progress.focus_measures(one_wave.iloc[:0]) == []


# --------------------------------------------------------------------------------------------
# Displays say what cannot be done


def test_missing_factor_scales_are_said_once_per_section(one_wave):
    pub = _published(one_wave, EXAMPLE_RUN_INFO)
    risks = change_table(one_wave, area="norr", wave=2025, kinds=["risk"])
    note = views.change_display(risks, published=pub, kind="risk", lang="en")
    assert note.data.startswith("The survey Skolenkäten has no risk or protective factors")
    swedish = views.change_display(risks, published=pub, kind="protective", lang="sv").data
    assert swedish.startswith("Enkäten Skolenkäten har inga risk- eller skyddsfaktorer")
    tests = trend_tests(one_wave, area="norr", kinds=["risk"])
    assert views.trend_test_display(tests, published=pub, lang="en") is None  # said above


def test_one_wave_is_said_in_words(one_wave):
    pub = _published(one_wave, EXAMPLE_RUN_INFO)
    changes = change_table(one_wave, area="norr", wave=2025, kinds=["behaviour"])
    shown = views.change_display(changes, published=pub, kind="behaviour", lang="en")
    assert shown.data == "There is no earlier survey to compare with."
    tests = trend_tests(one_wave, area="norr", kinds=["behaviour"])
    assert views.trend_test_display(tests, published=pub, lang="sv").data == (
        "Ett trendtest behöver minst tre mätningar; hittills finns bara data från 2025."
    )
    cohorts = views.cohort_display(cohort_table(one_wave, area="norr"), published=pub, lang="en")
    assert cohorts.data.startswith("No year group can be followed yet")


def test_two_waves_name_both_in_the_trend_sentence(one_wave):
    earlier = one_wave.assign(wave=2023, n_flagged=30.0, pct=0.15)
    both = pd.concat([earlier, one_wave], ignore_index=True)
    tests = trend_tests(both, area="norr", kinds=["behaviour"])
    text = views.trend_test_display(tests, measures=MEASURES, lang="en").data
    assert (
        text
        == "A trend test needs at least three surveys; so far there are data from 2023, 2025 only."
    )
    # with two waves the change table is shown, labelled from the published catalogue
    pub = _published(both, EXAMPLE_RUN_INFO)
    changes = change_table(both, area="norr", wave=2025, kinds=["behaviour"])
    table = views.change_display(changes, published=pub, kind="behaviour", lang="en")
    assert table.frame["Measure"].tolist() == ["Alcohol, past 30 days", "Bullied"]
    assert table.frame.columns[1:3].tolist() == ["2023", "2025"]


# --------------------------------------------------------------------------------------------
# The vocabulary in force


def _example_cohort() -> pd.DataFrame:
    # the same year group: åk 7 in 2021, åk 9 in 2023, gy 2 in 2025 (years 7, 9, 11)
    rows = [
        _row(2021, "alcohol_30d", 10, 100, grade="ak7"),
        _row(2023, "alcohol_30d", 20, 100, grade="ak9"),
        _row(2025, "alcohol_30d", 30, 100, grade="gy2"),
    ]
    return _table(rows, EXAMPLE_RUN_INFO)


def test_cohort_display_names_the_examples_grades():
    aggregates = _example_cohort()
    cohorts = cohort_table(aggregates, area="norr")
    assert cohorts.columns.tolist() == COHORT_COLUMNS
    # carried by the table itself, and given explicitly: the same words
    for published in (None, _published(aggregates, EXAMPLE_RUN_INFO)):
        table = views.cohort_display(cohorts, measures=MEASURES, lang="en", published=published)
        assert table.frame.values.tolist() == [
            ["åk 7 2021", "Alcohol, past 30 days", "10% (åk 7)", "20% (åk 9)", "30% (gy 2)"]
        ]
    # the default vocabulary would have said "Year 7" in English
    assert load_respondent_schema().grade_labels("en")["ak7"] == "Year 7"


def test_cohorts_follow_the_years_of_an_own_vocabulary():
    run_info = {"respondents": {"grades": US_GRADES, "sexes": []}}
    rows = [
        _row(2023, "alcohol_30d", 5, 100, grade="g9"),
        _row(2024, "alcohol_30d", 10, 100, grade="g10"),
        _row(2025, "alcohol_30d", 15, 100, grade="g11"),
        _row(2025, "alcohol_30d", 40, 100, grade="g12"),  # started in 2013: seen once
    ]
    aggregates = _table(rows, run_info)
    assert grade_years(US_GRADES) == {"g9": 9, "g10": 10, "g11": 11, "g12": 12}
    cohorts = cohort_table(aggregates, area="norr")
    assert cohorts[["cohort", "wave", "grade", "start_year"]].values.tolist() == [
        ["g9-2023", 2023, "g9", 2014], ["g9-2023", 2024, "g10", 2014],
        ["g9-2023", 2025, "g11", 2014],
    ]  # fmt: skip
    table = views.cohort_display(cohorts, lang="sv")
    assert table.frame.values.tolist() == [
        ["Grade 9 2023", "alcohol_30d", "5 % (Grade 9)", "10 % (Grade 10)", "15 % (Grade 11)"]
    ]
    # without the published vocabulary the default knows none of these codes
    assert cohort_table(pd.DataFrame(rows), area="norr").empty


def _chain() -> chains.GoalChain:
    return chains.GoalChain(
        area="norr", baseline_wave=2023,
        goals=(chains.Goal(id="alc", level="long", kind="behaviour", direction="decrease",
                           baseline=0.3, target=0.2, target_year=2029, measure="alcohol_30d",
                           grade="ak9", sex="F"),),
    )  # fmt: skip


def _goal_table(run_info: dict | None) -> pd.DataFrame:
    rows = [
        _row(w, "alcohol_30d", x, 200, grade="ak9", sex="F") for w, x in ((2023, 60), (2025, 50))
    ]
    rows += [_row(w, "alcohol_30d", 100, 400) for w in (2023, 2025)]
    return _table(rows, run_info)


def test_goal_names_use_the_vocabulary_in_force():
    evaluated = goal_progress.evaluate_goals(_chain(), _goal_table(EXAMPLE_RUN_INFO), wave=2025)
    assert evaluated.attrs["run_info"] is not None
    labels = {"alcohol_30d": "Alcohol"}
    row = evaluated.iloc[0]
    assert gc.goal_name(row, labels, "en") == "Alcohol (åk 9, Girls)"
    assert gc.box_text(row, labels, "en").startswith(
        "Alcohol (åk 9, Girls)\n30% → 25% (target 20% 2029)"
    )
    table = gc.goal_display(evaluated, measures=MEASURES, lang="en")
    assert table.frame["Goal"].tolist() == ["Alcohol, past 30 days (åk 9, Girls)"]
    # a table without the vocabulary: the published folder given explicitly wins
    bare = goal_progress.evaluate_goals(_chain(), _goal_table(None), wave=2025)
    assert gc.goal_name(bare.iloc[0], labels, "en") == "Alcohol (Year 9, Girls)"
    pub = _published(_goal_table(None), {**EXAMPLE_RUN_INFO, "respondents": {
        "grades": [{"code": "ak9", "year": 9, "label": {"sv": "nian", "en": "ninth"}}],
        "sexes": [{"code": "F", "label": {"sv": "tjejer", "en": "gals"}}]}})  # fmt: skip
    shown = gc.goal_display(bare, published=pub, lang="en")
    assert shown.frame["Goal"].tolist() == ["Alcohol, past 30 days (ninth, gals)"]


def test_no_goals_show_no_table():
    empty = goal_progress.evaluate_goals(None, _goal_table(EXAMPLE_RUN_INFO), wave=2025)
    assert empty.empty and gc.goal_display(empty, lang="sv") is None
