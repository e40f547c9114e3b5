"""ctc_helpers.phases.gaps.actionplan (the draft goal chain) and notebook 03, run with papermill.

Expected baselines are read directly from the fake published aggregates; targets are worked out
by hand from the documented defaults (10 % relative change, reach 60 %, fidelity 80 %).
"""

from __future__ import annotations

import ast
import json
import re
import warnings

import nbformat
import pandas as pd
import papermill as pm
import pytest
import yaml

from ctc_helpers.config.goal_chain import load_goal_chain
from ctc_helpers.config.instrument import load_instrument
from ctc_helpers.config.inventory import FlaggedProgrammeWarning
from ctc_helpers.config.programme_bank import load_programme_bank
from ctc_helpers.config.run import STANDARD_PARAMETERS
from ctc_helpers.paths import NOTEBOOKS_DIR, SAMPLE_DIR
from ctc_helpers.phases.gaps import actionplan
from ctc_helpers.phases.gaps.inputs import current_programmes, load_enrolment, prioritised_factors
from ctc_helpers.phases.gaps.inventory import load_inventory
from ctc_helpers.publish.read import load_published
from tests.fake_published import write_fake_published

NOTEBOOK = NOTEBOOKS_DIR / "03_gap_analysis.ipynb"
PARAMETER_LINE = re.compile(r"^(\w+): (str|int|float|bool) = (.+?)  # \S.*$")
SENTINELS = ("86 %", "86%", "86,4", "86.4")  # the leaky fake folder's hidden share


@pytest.fixture(scope="module")
def fake_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("published") / "data"
    write_fake_published(folder, leaky=True)
    return folder


@pytest.fixture(scope="module")
def fake(fake_dir):
    return load_published(fake_dir)


INVENTORY = """\
area,programme,provider,year,prevention_level,setting,target_grades,target_ages,targeted_factors,participants_reached,eligible_population,sessions_planned,sessions_delivered,fidelity_score,funding_end
norra-hamnen,Steg för steg,Hamnskolan,2025,universal,family,ak7,,family_conflict;family_attachment,50,,7,6,0.7,2026-06-30
norra-hamnen,Läxhjälp,Fritidsgården,2025,universal,leisure,ak7-ak9,,low_commitment_school,40,,,,,
norra-hamnen,Studiebesök på anstalt,Polisen,2025,selective,community,ak9,,friends_drug_use,12,20,2,2,,
soderdalen,Project Northland,Dalskolan,2025,universal,school,ak7;ak9,,perceived_availability_drugs;friends_drug_use,120,,24,24,0.9,
"""


@pytest.fixture(scope="module")
def inventory_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("inv") / "programme_inventory.csv"
    path.write_text(INVENTORY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def setup(fake, inventory_path):
    bank = load_programme_bank(instrument=fake.measures)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FlaggedProgrammeWarning)
        inventory = load_inventory(inventory_path, bank=bank, areas=fake.areas,
                                             instrument=fake.measures)  # fmt: skip
    enrolment = load_enrolment(participation=fake.participation)
    programmes = current_programmes(inventory, wave=2025, enrolment=enrolment)
    return bank, programmes


def _priorities(rows):
    frame = pd.DataFrame(rows, columns=["area", "factor", "kind"])
    return frame.assign(source="team", rank=frame.groupby(["area", "kind"]).cumcount() + 1,
                        decided="2025-11-18", choice_wave=2025.0)  # fmt: skip


def _pct(aggregates, area, measure, wave=2025):
    rows = aggregates.loc[aggregates["wave"].eq(wave) & aggregates["area"].eq(area)
                          & aggregates["grade"].eq("all") & aggregates["sex"].eq("all")
                          & aggregates["measure"].eq(measure)]  # fmt: skip
    return rows["pct"].item()


# ------------------------------------------------------------------------------ the draft


def test_goal_ids():
    assert actionplan.goal_id("alcohol_30d") == "alcohol-30d"
    assert actionplan.goal_id("Steg för steg", prefix="reach") == "reach-steg-for-steg"
    assert actionplan.goal_id("!!!") == "goal"


def test_draft_by_hand(fake, setup):
    bank, programmes = setup
    priorities = _priorities([("norra-hamnen", "family_conflict", "risk"),
                              ("norra-hamnen", "family_attachment", "protective")])  # fmt: skip
    draft = actionplan.draft_goal_chain("norra-hamnen", 2025, priorities, fake.aggregates,
                                        programmes, bank=bank)  # fmt: skip
    assert draft["area"] == "norra-hamnen" and draft["baseline_wave"] == 2025
    assert draft["cutpoint_version"] == "fake-cut-1"  # the fake folder's common version
    goals = {g["id"]: g for g in draft["goals"]}
    # long: family_conflict and family_attachment both lead to all five outcome groups; only
    # those with a published behaviour count, and the fake survey publishes alcohol_30d
    # (substance use) and truancy (school dropout)
    assert [g["id"] for g in draft["goals"] if g["level"] == "long"] == ["alcohol-30d", "truancy"]
    alcohol = _pct(fake.aggregates, "norra-hamnen", "alcohol_30d")
    assert goals["alcohol-30d"]["baseline"] == round(alcohol, 3)
    assert goals["alcohol-30d"]["target"] == round(round(alcohol, 3) * 0.9, 3)
    assert (
        goals["alcohol-30d"]["target_year"] == 2031
        and goals["alcohol-30d"]["direction"] == "decrease"
    )
    conflict = goals["family-conflict"]
    assert conflict["baseline"] == round(
        _pct(fake.aggregates, "norra-hamnen", "family_conflict"), 3
    )
    assert conflict["target_year"] == 2029
    assert conflict["contributes_to"] == ["alcohol-30d", "truancy"]
    attachment = goals["family-attachment"]
    assert attachment["direction"] == "increase"
    assert attachment["target"] == round(min(1, attachment["baseline"] * 1.1), 3)
    # short: Steg för steg serves both priorities; Läxhjälp serves none; the prison visit is flagged
    short = [g for g in draft["goals"] if g["level"] == "short"]
    assert [g["id"] for g in short] == ["reach-steg-for-steg", "fidelity-steg-for-steg"]
    reach, fidelity = short
    enrolled_ak7 = 168  # the fake participation's åk 7 enrolment in Norra Hamnen
    assert reach["baseline"] == round(50 / enrolled_ak7, 3) and reach["target"] == 0.6
    assert fidelity["baseline"] == 0.7 and fidelity["target"] == 0.8
    assert reach["contributes_to"] == ["family-conflict", "family-attachment"]
    assert reach["indicator"] == {"kind": "reach", "programme": "Steg för steg"}
    assert "group" not in reach and reach["target_year"] == 2027


def test_a_suppressed_baseline_is_null(fake, setup):
    bank, programmes = setup
    aggregates = fake.aggregates.assign(suppressed=fake.aggregates["measure"].eq("family_conflict"))
    priorities = _priorities([("norra-hamnen", "family_conflict", "risk")])
    draft = actionplan.draft_goal_chain(
        "norra-hamnen", 2025, priorities, aggregates, None, bank=bank
    )
    goal = next(g for g in draft["goals"] if g["id"] == "family-conflict")
    assert goal["baseline"] is None and goal["target"] is None
    assert not [g for g in draft["goals"] if g["level"] == "short"]
    text = actionplan.goal_chain_text(draft, lang="en")
    assert "target: null  # SET A TARGET" in text


def test_targets_floor_and_horizons_are_parameters(fake, setup):
    bank, programmes = setup
    priorities = _priorities([("soderdalen", "perceived_availability_drugs", "risk")])
    draft = actionplan.draft_goal_chain(
        "soderdalen", 2025, priorities, fake.aggregates, programmes, bank=bank,
        horizon_years={"short": 1, "medium": 3, "long": 8}, relative_change=0.2, reach_target=0.3,
    )  # fmt: skip
    goals = {g["id"]: g for g in draft["goals"]}
    base = goals["perceived-availability-drugs"]["baseline"]
    assert goals["perceived-availability-drugs"]["target"] == round(base * 0.8, 3)
    assert goals["perceived-availability-drugs"]["target_year"] == 2028
    reach = goals["reach-project-northland"]
    assert reach["target_year"] == 2026
    # 120 reached of 138 + 14 enrolled (åk 7 and åk 9): already above 0.3, so kept
    assert reach["baseline"] == round(120 / 152, 3) == reach["target"]
    with pytest.raises(ValueError, match="horizon_years\\['medium'\\]"):
        actionplan.draft_goal_chain("soderdalen", 2025, priorities, fake.aggregates,
                                    horizon_years={"short": 1, "long": 6})  # fmt: skip
    with pytest.raises(ValueError, match="relative_change"):
        actionplan.draft_goal_chain("soderdalen", 2025, priorities, fake.aggregates,
                                    relative_change=1.5)  # fmt: skip


def test_city_priorities_are_those_of_most_areas():
    priorities = _priorities([
        ("a", "family_conflict", "risk"), ("a", "academic_failure", "risk"),
        ("b", "family_conflict", "risk"), ("b", "friends_drug_use", "risk"),
        ("c", "friends_drug_use", "risk"), ("c", "family_conflict", "risk"),
        ("c", "family_attachment", "protective"),
    ])  # fmt: skip
    city = actionplan.city_priorities(priorities)
    # family_conflict: 3 areas, friends_drug_use: 2; the others only 1 (left out)
    assert city["factor"].tolist() == ["family_conflict", "friends_drug_use"]
    assert city["n_areas"].tolist() == [3, 2] and set(city["area"]) == {"all"}
    single = actionplan.city_priorities(priorities.loc[priorities["area"].eq("a")])
    assert single["factor"].tolist() == ["family_conflict", "academic_failure"]


def test_city_draft_has_no_short_goals(fake, setup):
    bank, programmes = setup
    priorities = prioritised_factors(fake, area="all", wave=2025)
    draft = actionplan.draft_goal_chain(
        "all", 2025, priorities, fake.aggregates, programmes, bank=bank
    )
    assert draft["area"] == "all"
    assert {g["level"] for g in draft["goals"]} <= {"long", "medium"}
    medium = [g["indicator"]["measure"] for g in draft["goals"] if g["level"] == "medium"]
    assert medium == actionplan.city_priorities(priorities)["factor"].tolist()


def test_written_file_round_trips_and_passes_the_goal_chain_schema(fake, setup, tmp_path):
    bank, programmes = setup
    priorities = _priorities([("norra-hamnen", "family_conflict", "risk")])
    draft = actionplan.draft_goal_chain("norra-hamnen", 2025, priorities, fake.aggregates,
                                        programmes, bank=bank, labels={"family_conflict": "Konflikter: i familjen"})  # fmt: skip
    path = actionplan.write_goal_chain(draft, tmp_path / "sub" / "norra-hamnen.yaml", lang="sv")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# UTKAST till målkedja")
    assert yaml.safe_load(text) == draft
    chain = load_goal_chain(path, instrument=fake.measures, area="norra-hamnen")
    assert [g.id for g in chain.goals] == [g["id"] for g in draft["goals"]]
    assert actionplan.write_goal_chain(draft, "") is None
    assert actionplan.draft_path("", "x") == ""


@pytest.mark.parametrize("area", ["norra-hamnen", "solvik", "stenkulla"])
def test_demo_goal_chains_are_valid_and_name_inventory_programmes(area):
    path = SAMPLE_DIR / "goal_chains" / f"{area}.yaml"
    chain = load_goal_chain(path, instrument=load_instrument(), area=area)
    assert chain.baseline_wave == 2021
    assert {g.level for g in chain.goals} == {"long", "medium", "short"}
    inventory = pd.read_csv(SAMPLE_DIR / "programme_inventory.csv")
    named = set(inventory.loc[inventory["area"].eq(area) & inventory["year"].eq(2021), "programme"])
    programmes = {g.programme for g in chain.goals if g.programme}
    assert programmes and programmes <= named


# ------------------------------------------------------------------------------ notebook 03


def test_notebook_is_committed_clean_with_typed_parameters():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec["name"] == "ctc"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert "parameters" in nb.cells[1].metadata.get("tags", [])
    names = set()
    for line in nb.cells[1].source.splitlines():
        match = PARAMETER_LINE.match(line)
        assert match, line
        assert type(ast.literal_eval(match.group(3))).__name__ == match.group(2)
        names.add(match.group(1))
    assert set(STANDARD_PARAMETERS) <= names
    assert {"priorities_dir", "inventory_path", "programme_bank_path", "enrolment_file"} <= names
    assert set(pm.inspect_notebook(str(NOTEBOOK))) == names
    for cell in code[1:]:
        tree = ast.parse(cell.source)
        banned = (ast.FunctionDef, ast.ClassDef, ast.For, ast.While, ast.Try, ast.Lambda)
        assert not any(isinstance(node, banned) for node in ast.walk(tree)), cell.source


def _outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", output
            parts += [str(v) for k, v in output.get("data", {}).items() if k.startswith("text")]
            parts.append(output.get("text", ""))
    return "\n".join(parts)


@pytest.mark.slow
@pytest.mark.parametrize(("area", "lang"), [("norra-hamnen", "sv"), ("all", "en")])
def test_notebook_runs_under_papermill(fake_dir, inventory_path, tmp_path, area, lang):
    out = tmp_path / "reports" / area
    pm.execute_notebook(
        str(NOTEBOOK), str(tmp_path / "out.ipynb"), kernel_name="ctc", cwd=str(NOTEBOOKS_DIR),
        parameters={"area": area, "wave": 2025, "lang": lang, "data_dir": str(fake_dir),
                    "output_dir": str(out), "inventory_path": str(inventory_path),
                    "priorities_dir": ""},
        progress_bar=False,
    )  # fmt: skip
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    text = _outputs_text(nb)
    assert not any(s in text for s in SENTINELS)
    assert "Studiebesök på anstalt" in text  # the harmful programme is named in the report
    record = json.loads((out / "03_gap_analysis.json").read_text(encoding="utf-8"))
    assert record["phase"] == "03_gap_analysis" and record["gaps"]["harmful_or_ineffective"] == 1
    draft = yaml.safe_load((out / "goal_chain_draft.yaml").read_text(encoding="utf-8"))
    assert draft["area"] == area and draft["baseline_wave"] == 2025
