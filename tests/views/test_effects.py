"""The effect evaluation for people (ctc_helpers.views.effects) and notebook 05.

Unit tests use the small fake published folder (tests/fake_published.py) with effect tables
computed from its unsuppressed cells; the notebook runs end to end on a small synthetic city
prepared by the real prepare step (ctc_helpers.publish.build), in Swedish and English.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import replace

import nbformat
import numpy as np
import pandas as pd
import papermill as pm
import pytest
import yaml

from ctc_helpers.batch.report import REMOVE_CELL_TAG, first_heading
from ctc_helpers.config.run import STANDARD_PARAMETERS, load_run_config
from ctc_helpers.errors import ConfigError, InputFileError
from ctc_helpers.i18n import t
from ctc_helpers.paths import NOTEBOOKS_DIR, REPO_ROOT
from ctc_helpers.phases.effects.evaluate import ESTIMATE_COLUMNS, Settings
from ctc_helpers.phases.effects.tables import EFFECT_FILES, build_effect_tables
from ctc_helpers.publish.read import load_published
from ctc_helpers.views import effects as ev
from tests.fake_published import MEASURES, write_fake_published

NOTEBOOK = NOTEBOOKS_DIR / "05_effect_evaluation.ipynb"
PARAMETERS = {*STANDARD_PARAMETERS, "group", "priorities_dir", "inventory_path"}
PARAMETER_LINE = re.compile(r"^(\w+): (str|int|float|bool) = (.+?)  # \S.*$")
SENTINELS = ("86 %", "86%", "86,4", "86.4")  # the hidden rows' share in the leaky fake folder


# --------------------------------------------------------------------------------------------
# The fake folder with effect tables: Norra Hamnen started in 2024, Söderdalen is its comparison
# area and Lillby (every group hidden) is left out. Two areas: no effect can ever be shown.


@pytest.fixture(scope="module")
def fake_pub(tmp_path_factory):
    fake = write_fake_published(tmp_path_factory.mktemp("effects") / "data", leaky=True)
    areas = pd.DataFrame(
        {"area": ["norra-hamnen", "soderdalen", "lillby"], "name": ["Norra Hamnen", "Söderdalen",
         "Lillby"], "ctc_start": pd.array([2024, None, None], dtype="Int64"),
         "comparison_group": ""}
    )  # fmt: skip
    measures = pd.DataFrame(
        [(m, kind, group) for m, (kind, _, group, *_) in MEASURES.items()],
        columns=["measure", "measure_kind", "group"],
    )
    tables = build_effect_tables(
        fake.aggregates_unsuppressed, areas, measures=measures, published=fake.aggregates,
        settings=Settings(n_bootstrap=99),
    )  # fmt: skip
    for name, table in tables.items():
        table.to_parquet(fake.path / EFFECT_FILES[name])
    return load_published(fake.path)


def test_two_areas_cannot_show_an_effect_and_the_hidden_area_is_left_out(fake_pub):
    effects = ev.load_effects(fake_pub, lang="en")
    design = effects.design.set_index("area")
    assert design.loc["lillby", "reason"] == "hidden"
    assert design.loc["norra-hamnen", "role"] == "ctc"
    assert (effects.estimates["smallest_p"] == 0.5).all()
    assert (effects.estimates["mde"] == np.inf).all()
    table = ev.estimates_display(effects, fake_pub, kinds=["risk"], lang="en")
    assert set(table.frame[t("report_col_eff_verdict", "en")]) == {
        t("effects_verdict_cannot_show", "en")
    }
    text = ev.design_text(effects, fake_pub, "en").data
    assert "Norra Hamnen" in text and "Söderdalen" in text and "2 ways" in text
    assert t("effects_cannot_show", "en", alpha="0.050") in text
    shown = ev.design_display(effects, fake_pub, "sv").frame
    assert shown.iloc[:, 1].tolist() == ["CTC sedan 2024", "Jämförelseområde", "Utelämnat"]
    assert shown.iloc[2, 3] == t("effects_reason_hidden", "sv")


def test_no_hidden_number_reaches_the_effect_tables(fake_pub):
    """The hidden cells carry a sentinel share (leaky folder): pooled estimates cannot show it,
    and nothing in the tables is per area and wave."""
    effects = ev.load_effects(fake_pub)
    text = "\n".join(
        repr(ev.estimates_display(effects, fake_pub, kinds=[k], lang="sv"))
        for k in ("risk", "protective", "behaviour")
    )
    assert not [s for s in SENTINELS if s in text]
    assert set(effects.estimates.columns) == set(ESTIMATE_COLUMNS)


def test_a_folder_without_effect_tables_or_an_unknown_group_is_refused(tmp_path, fake_pub):
    old = load_published(write_fake_published(tmp_path / "old").path)
    with pytest.raises(InputFileError, match="har ingen effektutvärdering.*ctc run"):
        ev.load_effects(old)
    with pytest.raises(ValueError, match="no comparison group 'north'.*all"):
        ev.load_effects(fake_pub, group="north", lang="en")


def test_the_evaluation_is_a_report_of_the_whole_city():
    assert ev.check_city("all") == "all"
    with pytest.raises(ValueError, match=r"area 'all' \(got 'norra-hamnen'\)"):
        ev.check_city("norra-hamnen", "en")


# --------------------------------------------------------------------------------------------
# Verdicts and tables on hand-made estimates


def _effects(rows: list[dict]) -> ev.Effects:
    defaults = {c: np.nan for c in ESTIMATE_COLUMNS} | {
        "group": "all", "status": "ok", "smallest_p": 1 / 56, "rtm_flag": False,
        "n_pupils_ctc": 1200.0, "n_pupils_comparison": 2400.0, "waves_before": 1,
    }  # fmt: skip
    estimates = pd.DataFrame([defaults | r for r in rows])
    design = pd.DataFrame({"group": "all", "area": ["a"], "ctc_start": [2022],
                           "comparison_group": [""], "role": ["ctc"], "reason": [""],
                           "waves_before": [1], "waves_after": [2]})  # fmt: skip
    return ev.Effects("all", estimates, pd.DataFrame(), design)


@pytest.mark.parametrize(
    ("row", "code"),
    [
        ({"measure_kind": "behaviour", "estimate": -0.05, "p_value": 0.02}, "better"),
        ({"measure_kind": "behaviour", "estimate": 0.05, "p_value": 0.02}, "worse"),
        ({"measure_kind": "protective", "estimate": 0.05, "p_value": 0.02}, "better"),
        ({"measure_kind": "composite", "group_kind": "protective", "estimate": -0.05,
          "p_value": 0.02}, "worse"),
        ({"measure_kind": "risk", "estimate": -0.05, "p_value": 0.2}, "chance"),
        ({"measure_kind": "risk", "estimate": -0.5, "p_value": 0.25, "smallest_p": 0.25},
         "cannot_show"),
        ({"measure_kind": "risk", "status": "not_estimable"}, "not_estimable"),
    ],
)  # fmt: skip
def test_verdicts(row, code):
    base = {"status": "ok", "smallest_p": 1 / 56, "estimate": 0.0, "p_value": 1.0}
    assert ev.verdict(base | row) == code


def test_estimates_table_says_chance_in_swedish_and_marks_priorities_and_rtm(fake_pub):
    effects = _effects([
        {"measure": "family_conflict", "measure_kind": "risk", "estimate": -0.012, "ci_low": -0.03,
         "ci_high": 0.01, "p_value": 0.4, "change_ctc": -0.02, "change_comparison": -0.008,
         "rtm_flag": True},
        {"measure": "friends_drug_use", "measure_kind": "risk", "estimate": -0.061,
         "ci_low": -np.inf, "ci_high": -0.02, "p_value": 0.018, "change_ctc": -0.1,
         "change_comparison": -0.039},
    ])  # fmt: skip
    table = ev.estimates_display(effects, fake_pub, kinds=["risk"], lang="sv",
                                 first=["friends_drug_use"])  # fmt: skip
    frame = table.frame
    assert frame.iloc[0, 0] == "Vänner som använder droger ★"  # the priority comes first
    assert frame.iloc[1, 0] == "Konflikter i familjen †"
    assert frame.iloc[1, -1] == "kan inte skiljas från slumpen"
    assert frame.iloc[0, -1] == "tydligt bättre i CTC-områdena"
    assert frame.iloc[0, 3] == "−6,1 (ingen gräns – −2,0)"
    assert frame.iloc[1, 1:4].tolist() == ["−2,0", "−0,8", "−1,2 (−3,0 – +1,0)"]
    assert frame.iloc[0, 4] == "0,018"
    assert any(note.startswith("★") for note in table.footnotes)
    assert any(note.startswith("†") for note in table.footnotes)
    assert "1\u202f200" in table.footnotes[-1] and "2\u202f400" in table.footnotes[-1]
    summary = ev.summary_text(effects, kinds=["risk"], lang="en").data
    assert summary.startswith("1 of 2 measures differ clearly") and "about 0.1" in summary


def test_honest_words_in_both_languages(fake_pub):
    effects = _effects([{"measure": "alcohol_30d", "measure_kind": "behaviour", "estimate": -0.01,
                         "change_ctc": -0.05, "change_comparison": -0.04, "p_value": 0.5,
                         "p_boot": 0.4}])  # fmt: skip
    sv = ev.assumptions_text(effects, fake_pub, "sv").data
    assert "bevisar" in sv and "parallella trender" in sv and "Återgång mot medelvärdet" in sv
    assert "Druckit alkohol senaste 30 dagarna ändrades med −5,0 procentenheter" in sv
    assert "för 1 av 1 mått" in sv
    en = ev.assumptions_text(effects, fake_pub, "en").data
    assert "Why a change in the CTC areas alone proves nothing" in en
    assert ev.pretrend_text(effects, "sv").data.startswith("**Förtrender kan inte prövas.**")
    more = _effects([{"measure": "alcohol_30d", "measure_kind": "behaviour", "waves_before": 3,
                      "pretrend_p": 0.01}])  # fmt: skip
    assert "for 1 of them" in ev.pretrend_text(more, "en").data


def test_power_and_planning_tables(fake_pub):
    effects = _effects([{"measure": "alcohol_30d", "measure_kind": "behaviour", "estimate": -0.01,
                         "prevalence": 0.184, "mde": 0.0304, "icc": 0.0004, "icc_wave": 0.0,
                         "n_areas_ctc": 3, "n_areas_comparison": 5, "waves_after": 2}])  # fmt: skip
    power = ev.power_display(effects, fake_pub, measures=["alcohol_30d"], lang="sv").frame
    assert power.iloc[0].tolist() == ["Druckit alkohol senaste 30 dagarna", "18,4 %", "3,0",
                                      "−1,0", "0,000"]  # fmt: skip
    plan = ev.plan_display(effects, lang="en").frame
    assert plan.iloc[0].tolist() == ["2 + 2", t("effects_mde_none", "en"), "0.167"]
    assert plan.iloc[1, 2] == "0.050"


# --------------------------------------------------------------------------------------------
# Notebook 05: house style


def _code(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_notebook_house_style():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec["name"] == "ctc" and set(nb.metadata.ctc.title) == {"sv", "en"}
    assert all(c.outputs == [] and c.execution_count is None for c in _code(nb))
    assert [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])] == [1]
    for line in nb.cells[1].source.splitlines():
        match = PARAMETER_LINE.match(line)
        assert match and type(ast.literal_eval(match.group(3))).__name__ == match.group(2), line
    assert set(pm.inspect_notebook(str(NOTEBOOK))) == PARAMETERS
    imports = ast.parse(_code(nb)[1].source).body
    assert all(isinstance(s, ast.Import | ast.ImportFrom) for s in imports)
    banned = (ast.FunctionDef, ast.ClassDef, ast.For, ast.While, ast.Try, ast.Lambda, ast.With)
    assigned, used = set(), set()
    for cell in _code(nb):
        nodes = list(ast.walk(ast.parse(cell.source)))
        assert not [n for n in nodes if isinstance(n, banned)]
        short = "parameters" in cell.metadata.get("tags", []) or len(cell.source.splitlines()) <= 7
        assert short, cell.source
        assigned |= {
            n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        used |= {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    assert assigned <= used
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "markdown"):
        heading, *paragraphs = cell.source.split("\n\n")
        assert heading.startswith("## " if i == 0 else "### ") and " / " in heading
        assert len(paragraphs) == 2 and cell.metadata.get("tags") == [REMOVE_CELL_TAG]
    assert first_heading(nb) is None


# --------------------------------------------------------------------------------------------
# Notebook 05 end to end: a small synthetic city through the real prepare step


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    from ctc_helpers.demo.synth import write_city
    from ctc_helpers.publish.build import prepare_waves

    root = tmp_path_factory.mktemp("city05")
    write_city(root / "city", respondents_per_wave=3000)
    run = {
        "data": {"survey": [str(root / "city" / "exempelstad_*.csv")],
                 "areas": str(root / "city" / "areas.csv"),
                 "enrolment": str(root / "city" / "enrolment.csv"),
                 "instrument": str(REPO_ROOT / "data_schema" / "instrument.yaml"),
                 "synthetic": True},
        "output": str(root / "reports"), "cache": str(root / "cache"),
        "notebooks": str(NOTEBOOKS_DIR), "phases": ["05_effect_evaluation"], "min_cell": 10,
    }  # fmt: skip
    (root / "run.yaml").write_text(yaml.safe_dump(run), encoding="utf-8")
    folder = prepare_waves(load_run_config(root / "run.yaml")).folders[2025]
    return root, folder


def _run(root, folder, lang: str, **extra) -> tuple[str, int, dict]:
    out = root / f"05-{lang}.ipynb"
    pm.execute_notebook(
        str(NOTEBOOK), str(out), kernel_name="ctc", progress_bar=False, cwd=str(root),
        parameters={"area": "all", "wave": 2025, "lang": lang, "data_dir": str(folder),
                    "min_cell": 10, "output_dir": str(root / lang), **extra},
    )  # fmt: skip
    nb = nbformat.read(out, as_version=4)
    texts, images = [], 0
    for cell in _code(nb):
        for output in cell.outputs:
            data = output.get("data", {})
            images += "image/png" in data or str(data.get("text/html", "")).count("<picture")
            texts += [data[k] for k in ("text/markdown", "text/html", "text/plain") if k in data]
            assert output.get("name") != "stderr", output.get("text")
    record = json.loads((root / lang / "05_effect_evaluation.json").read_text(encoding="utf-8"))
    return "\n".join(texts), images, record


@pytest.mark.slow
def test_notebook_runs_on_a_prepared_city_in_swedish(prepared):
    root, folder = prepared
    text, images, record = _run(*prepared, "sv")
    assert "Effektutvärdering: gjorde CTC skillnad? Hela kommunen 2025" in text
    assert t("synthetic_notice", "sv") in text
    assert "kan inte skiljas från slumpen" in text
    assert "Förtrender kan inte prövas" in text and images == 1
    assert "Vad gjordes i CTC-områdena (beskrivning, inte orsak)" in text
    assert record["ctc_areas"] == ["norra-hamnen", "solvik", "stenkulla"]
    assert record["waves_before"] == 1 and record["group"] == "all"
    assert {"granby", "asmyra"} <= set(record["excluded"])
    published = pd.read_parquet(folder / "effects.parquet")
    assert set(published["group"]) == {"all", "stad"}
    assert set(published.columns) == set(ESTIMATE_COLUMNS)


@pytest.mark.slow
def test_notebook_runs_for_a_comparison_group_in_english(prepared):
    text, images, record = _run(*prepared, "en", group="stad", priorities_dir="",
                                inventory_path="")  # fmt: skip
    assert "Effect evaluation: did CTC make a difference?" in text
    assert "cannot be told apart from chance" in text and images == 1
    assert t("effects_reach_none", "en") in text
    assert record["group"] == "stad" and record["excluded"] == {}


@pytest.mark.slow
def test_notebook_refuses_an_area_report(prepared):
    root, folder = prepared
    with pytest.raises(pm.PapermillExecutionError, match="whole municipality"):
        _run(root, folder, "en", area="norra-hamnen")


def test_the_batch_runs_notebook_05_for_the_whole_city_only(tmp_path):
    from ctc_helpers.config.run import plan_jobs, run_config_from_dict

    raw = {
        "data": {"survey": [str(REPO_ROOT / "data" / "sample" / "exempelstad_*.csv")],
                 "areas": str(REPO_ROOT / "data" / "sample" / "areas.csv")},
        "notebooks": str(NOTEBOOKS_DIR), "phases": ["01_survey_analysis", "05_effect_evaluation"],
        "city_phases": ["05_effect_evaluation"], "output": str(tmp_path),
    }  # fmt: skip
    config = run_config_from_dict(raw, base_dir=REPO_ROOT / "reports")
    jobs = plan_jobs(config, waves=[2025])
    assert [j.area for j in jobs if j.phase == "05_effect_evaluation"] == ["all"]
    assert len([j for j in jobs if j.phase == "01_survey_analysis"]) == 11  # city + 10 areas
    with pytest.raises(ConfigError, match=r"city_phases\[1\].*'03_gap_analysis'"):
        run_config_from_dict({**raw, "city_phases": ["03_gap_analysis"]},
                             base_dir=REPO_ROOT / "reports")  # fmt: skip


@pytest.mark.slow
def test_effects_summary_gives_the_dashboard_every_part_from_the_published_folder(prepared):
    _, folder = prepared
    pub = load_published(folder)
    parts = ev.effects_summary(pub, group="stad", lang="en")
    assert set(parts) == {
        "effects", "design", "design_table", "behaviours", "risk", "protective", "summary",
        "assumptions", "pretrend", "chart", "power", "plan", "reach", "record",
    }  # fmt: skip
    assert parts["effects"].group == "stad" and parts["record"]["group"] == "stad"
    assert parts["chart"] is not None and parts["chart"].data.startswith(b"\x89PNG")
    behaviours = parts["behaviours"].frame
    assert len(behaviours) == (pub.measures["measure_kind"] == "behaviour").sum()
    assert t("effects_pretrend_impossible", "en", n=1)[:30] in parts["pretrend"].data
    assert t("effects_reach_none", "en") == parts["reach"].data  # no inventory given


def test_no_design_says_why_when_every_area_is_hidden(fake_pub):
    """A city whose every area is too small to show gets no "fix the area list" advice."""
    effects = ev.load_effects(fake_pub, lang="sv")
    empty = effects.estimates.iloc[0:0]
    hidden = effects.design.assign(role="excluded", reason="hidden")
    text = ev.design_text(replace(effects, estimates=empty, design=hidden), fake_pub, "sv").data
    assert text == t("effects_no_design_hidden", "sv")
    listed = effects.design.assign(role="excluded", reason="no_group")
    text = ev.design_text(replace(effects, estimates=empty, design=listed), fake_pub, "en").data
    assert text == t("effects_no_design", "en")
