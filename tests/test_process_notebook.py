"""Notebook 06 (the process): its parameters and cells, and execution with papermill for an area,
an area without checklists and the whole municipality, on the small fake published folder."""

from __future__ import annotations

import ast
import html
import json
import re
import shutil
import textwrap

import nbformat
import papermill as pm
import pytest

from ctc_helpers.batch.report import export_html
from ctc_helpers.config.run import STANDARD_PARAMETERS
from ctc_helpers.i18n import t
from ctc_helpers.paths import NOTEBOOKS_DIR, SAMPLE_DIR
from tests.fake_published import write_fake_published

NAME = "06_process"
PARAMETER_LINE = re.compile(r"^(\w+): (str|int|float|bool) = (.+?)  # \S.*$")
EXTRA = {"process_dir", "goal_chain_dir", "inventory_path"}
INVENTORY_HEAD = (
    "area,programme,provider,bank_id,year,prevention_level,setting,target_grades,target_ages,"
    "targeted_factors,participants_reached,eligible_population,sessions_planned,"
    "sessions_delivered,fidelity_score,evidence_rating,evidence_source,funding_end,note"
)
CHAIN = """\
    area: norra-hamnen
    baseline_wave: 2023
    cutpoint_version: fake-cut-1
    goals:
      - {id: alcohol, level: long, indicator: {kind: behaviour, measure: alcohol_30d},
         baseline: 0.1, target: 0.08, target_year: 2029}
      - {id: conflict, level: medium, indicator: {kind: factor, measure: family_conflict},
         baseline: 0.4, target: 0.3, target_year: 2027, contributes_to: [alcohol]}
      - {id: northland-reach, level: short, indicator: {kind: reach, programme: Project Northland},
         baseline: null, target: 0.75, target_year: 2025, contributes_to: [conflict]}
      - {id: northland-fidelity, level: short,
         indicator: {kind: fidelity, programme: Project Northland},
         baseline: 0.7, target: 0.85, target_year: 2027, contributes_to: [conflict]}
    """


def _read() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS_DIR / f"{NAME}.ipynb", as_version=4)


def test_the_parameters_cell_holds_typed_literals_with_help():
    nb = _read()
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert tagged == [1]
    names = set()
    for line in nb.cells[1].source.splitlines():
        match = PARAMETER_LINE.match(line)
        assert match, line
        assert type(ast.literal_eval(match.group(3))).__name__ == match.group(2)
        names.add(match.group(1))
    assert names == {*STANDARD_PARAMETERS, *EXTRA}
    assert set(pm.inspect_notebook(str(NOTEBOOKS_DIR / f"{NAME}.ipynb"))) == names


def test_the_cells_are_imports_then_short_calls_without_logic():
    cells = [c for c in _read().cells if c.cell_type == "code"]
    imports = ast.parse(cells[1].source).body
    assert imports and all(isinstance(s, ast.Import | ast.ImportFrom) for s in imports)
    banned = (ast.FunctionDef, ast.ClassDef, ast.For, ast.While, ast.Try, ast.Lambda, ast.With)
    for cell in cells[1:]:
        assert not [n for n in ast.walk(ast.parse(cell.source)) if isinstance(n, banned)]
        assert len(cell.source.splitlines()) <= 7, cell.source
        assert cell.outputs == [] and cell.execution_count is None


# ------------------------------------------------------------------------------- execution


def _copy_area(source: str, target: str, folder) -> None:
    (folder / target).mkdir(parents=True)
    for path in (SAMPLE_DIR / "process" / source).glob("*.yaml"):
        text = path.read_text(encoding="utf-8").replace(f"area: {source}", f"area: {target}")
        (folder / target / path.name).write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """The fake published folder; Norra Hamnen with the demo's checklists and plan, Söderdalen
    with Stenkulla's (the steering group that never works); a goal chain and an inventory."""
    root = tmp_path_factory.mktemp("process_notebook")
    fake = write_fake_published(root / "data")
    process = root / "process"
    shutil.copytree(SAMPLE_DIR / "process" / "norra-hamnen", process / "norra-hamnen")
    _copy_area("stenkulla", "soderdalen", process)
    chains = root / "goal_chains"
    chains.mkdir()
    (chains / "norra-hamnen.yaml").write_text(textwrap.dedent(CHAIN), encoding="utf-8")
    inventory = root / "inventory.csv"
    inventory.write_text(
        f"{INVENTORY_HEAD}\n"
        "norra-hamnen,Project Northland,Hamnskolan,,2025,universal,school,ak7-ak9,,"
        "family_conflict,600,1000,24,20,0.8,,,2026-06-30,\n"
        "soderdalen,Steg för steg,Dalskolan,,2025,universal,family,ak7-ak9,,"
        "family_conflict,50,200,7,5,0.55,,,,\n",
        encoding="utf-8",
    )
    return {"data": fake.path, "process": process, "chains": chains, "inventory": inventory}


def _execute(folders, tmp_path, **parameters) -> tuple[nbformat.NotebookNode, str]:
    output = tmp_path / f"{NAME}.ipynb"
    pm.execute_notebook(
        str(NOTEBOOKS_DIR / f"{NAME}.ipynb"),
        str(output),
        parameters={
            "data_dir": str(folders["data"]), "wave": 2025, "output_dir": str(tmp_path / "out"),
            "process_dir": str(folders["process"]), "goal_chain_dir": str(folders["chains"]),
            "inventory_path": str(folders["inventory"]), **parameters,
        },
        kernel_name="ctc", progress_bar=False, cwd=str(NOTEBOOKS_DIR), execution_timeout=120,
    )  # fmt: skip
    nb = nbformat.read(output, as_version=4)
    texts, errors = [], []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                (errors if out.name == "stderr" else texts).append(out.text)
            data = out.get("data", {})
            texts += [data[k] for k in ("text/markdown", "text/html", "text/plain") if k in data]
    assert errors == []
    return nb, "\n".join(texts)


def _images(nb) -> int:
    outputs = [o.get("data", {}) for c in nb.cells for o in c.get("outputs", [])]
    # a chart: a picture (wide, and narrow for phones) or a plain PNG
    return sum("image/png" in d or "<picture" in str(d.get("text/html", "")) for d in outputs)


def _record(tmp_path) -> dict:
    return json.loads((tmp_path / "out" / f"{NAME}.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_an_area_whose_steering_group_does_not_work(folders, tmp_path):
    nb, text = _execute(folders, tmp_path, area="soderdalen", lang="sv")
    for key in ("proc_phases", "proc_unmet", "proc_steering", "proc_plan", "proc_delivery",
                "proc_goals", "proc_methods"):  # fmt: skip
        assert t(f"report_{key}", "sv") in text
    assert t("synthetic_notice", "sv") in text
    assert _images(nb) == 1
    assert "Styrgruppens kriterier var inte uppfyllda 2025" in text
    assert "Malmös utvärdering" in text
    assert "Steg för steg: de som leder programmet får ingen handledning." in text
    assert "Steg för steg nådde 25 % 2025; planen siktar på 60 %." in text  # 50 / 200
    assert t("proc_no_goal_chain", "sv", area="Söderdalen") in text
    record = _record(tmp_path)["areas"]["soderdalen"]
    assert record["steering_group"] == "unmet" and record["reached_phase"] == 5
    page = export_html(nb, tmp_path / "report.html", lang="sv").read_text(encoding="utf-8")
    for cell in (c for c in nb.cells if c.cell_type == "markdown"):
        heading = cell.source.split("\n\n")[0].lstrip("# ")
        assert html.escape(heading) not in page  # the template's own headings are dropped
    assert "Fas 1: Starta processen" in page


@pytest.mark.slow
def test_the_city_shows_every_area_side_by_side(folders, tmp_path):
    nb, text = _execute(folders, tmp_path, area="all", lang="en")
    assert "Every area side by side, each with its latest checklist." in text
    assert _images(nb) == 1
    assert "Norra Hamnen" in text and "Söderdalen" in text
    summary = "2 areas have checklists. The steering group's criteria are not met in:"
    assert f"{summary} Söderdalen." in text
    assert "The funding of Project Northland ends on 2026-06-30, before the plan ends on " \
           "2027-06-30." in text  # fmt: skip
    record = _record(tmp_path)
    assert record["area"] == "all" and list(record["areas"]) == ["norra-hamnen", "soderdalen"]
    assert record["areas"]["norra-hamnen"]["steering_group"] == "met"
    assert "fidelity_below_target" in record["areas"]["norra-hamnen"]["plan_flags"]  # 0.8 < 0.85


@pytest.mark.slow
def test_an_area_without_checklists_gets_a_sentence_not_an_error(folders, tmp_path):
    nb, text = _execute(folders, tmp_path, area="lillby", lang="sv")
    assert "Det finns inga checklistor för Lillby ännu." in text
    assert t("proc_plan_none", "sv", area="Lillby", file=f"{folders['process']}/lillby/"
             "implementation_plan.yaml") in text  # fmt: skip
    assert _images(nb) == 0
    assert _record(tmp_path)["areas"] == {"lillby": {
        "latest_year": None, "reached_phase": None, "phase_status": {}, "steering_group": None,
        "steering_unmet": [], "unmet": [], "plan_flags": [],
    }}  # fmt: skip
