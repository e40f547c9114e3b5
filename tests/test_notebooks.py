"""The phase notebooks: house-style checks, and execution with papermill on a small fake folder.

The published folder is "leaky" (hidden rows keep a sentinel share, 86.42 %), so the executed
reports prove that no suppressed number reaches a reader even if a file carried one.
"""

from __future__ import annotations

import ast
import html
import json
import re

import nbformat
import numpy as np
import pandas as pd
import papermill as pm
import pytest
import yaml

from ctc_helpers.batch.report import REMOVE_CELL_TAG, export_html, first_heading
from ctc_helpers.config.run import STANDARD_PARAMETERS
from ctc_helpers.i18n import t
from ctc_helpers.paths import NOTEBOOKS_DIR, REPO_ROOT
from tests.fake_published import write_fake_published

TEMPLATES = ("01_survey_analysis", "02_factor_prioritization")
NOTEBOOKS = (*TEMPLATES, "explore")
# every phase template (executed by the tests of its phase), for the checks of how it reads
PHASES = tuple(sorted(p.stem for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")))
PARAMETERS = {
    "01_survey_analysis": {"area", "wave", "lang", "data_dir", "min_cell", "output_dir",
                           "readiness_file"},
    "02_factor_prioritization": {"area", "wave", "lang", "data_dir", "min_cell", "output_dir",
                                 "priorities_dir"},
    "explore": {"area", "area_b", "wave", "previous_wave", "lang", "data_dir", "scored_path"},
}  # fmt: skip
PARAMETER_LINE = re.compile(r"^(\w+): (str|int|float|bool) = (.+?)  # \S.*$")
SENTINELS = ("86 %", "86%", "86,4", "86.4")  # the hidden rows' share, formatted any way


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)


def _code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


# ------------------------------------------------------------------------------- house style


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_without_outputs_and_with_the_ctc_kernel(name):
    nb = _read(name)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec == {
        "name": "ctc", "display_name": "CTC (workbench)", "language": "python",
    }  # fmt: skip
    for cell in _code_cells(nb):
        assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_parameters_cell_holds_typed_literals_with_help(name):
    nb = _read(name)
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert tagged == [1]  # after the title cell
    names = set()
    for line in nb.cells[1].source.splitlines():
        match = PARAMETER_LINE.match(line)
        assert match, f"not a typed literal with a help comment: {line!r}"
        value = ast.literal_eval(match.group(3))
        assert type(value).__name__ == match.group(2)
        names.add(match.group(1))
    assert names == PARAMETERS[name]
    assert set(pm.inspect_notebook(str(NOTEBOOKS_DIR / f"{name}.ipynb"))) == names


@pytest.mark.parametrize("name", TEMPLATES)
def test_templates_accept_the_batch_parameters(name):
    assert set(STANDARD_PARAMETERS) <= PARAMETERS[name]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_imports_cell_and_no_logic_in_the_notebook(name):
    cells = _code_cells(_read(name))
    imports = ast.parse(cells[1].source).body
    assert imports and all(isinstance(s, ast.Import | ast.ImportFrom) for s in imports)
    banned = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.While, ast.Try,
              ast.Lambda, ast.With)  # fmt: skip
    for cell in cells:
        nodes = list(ast.walk(ast.parse(cell.source)))
        assert not [n for n in nodes if isinstance(n, banned)], cell.source
        assert len(cell.source.splitlines()) <= 7


def test_the_reading_checks_see_every_phase_of_the_run_file():
    run = yaml.safe_load((REPO_ROOT / "reports" / "run.yaml").read_text(encoding="utf-8"))
    assert set(run["phases"]) <= set(PHASES) and len(PHASES) >= 4


@pytest.mark.parametrize("name", PHASES)
def test_template_markdown_is_a_visible_heading_that_the_report_drops(name):
    """An evaluator reading a template sees a heading and a sentence in Swedish and English;
    the report has its own translated headings, so the exporter drops these cells."""
    nb = _read(name)
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    assert markdown and markdown[0] is nb.cells[0]
    for i, cell in enumerate(markdown):
        heading, *paragraphs = cell.source.split("\n\n")
        assert heading.startswith("## " if i == 0 else "### "), heading
        assert " / " in heading, f"not in Swedish and English: {heading!r}"
        assert len(paragraphs) == 2 and all(p.strip().endswith(".") for p in paragraphs), (
            cell.source
        )
        assert "<!--" not in cell.source
        assert cell.metadata.get("tags") == [REMOVE_CELL_TAG]
    # the report's title is the first level-1 heading of its outputs, never the template's
    assert first_heading(nb) is None
    assert set(nb.metadata.ctc.title) == {"sv", "en"}


@pytest.mark.parametrize("name", (*PHASES, "explore"))
def test_every_name_a_notebook_assigns_is_used(name):
    assigned, used = {}, set()
    for cell in _code_cells(_read(name)):
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                assigned.setdefault(node.id, cell.source.splitlines()[node.lineno - 1])
            elif isinstance(node, ast.Name):
                used.add(node.id)
    dead = {n: line for n, line in assigned.items() if n not in used and not n.startswith("_")}
    assert not dead, f"assigned and never used: {dead}"


@pytest.mark.parametrize("name", (*PHASES, "explore"))
def test_no_imported_name_is_reassigned(name):
    cells = _code_cells(_read(name))
    imported = {
        (alias.asname or alias.name).split(".")[0]
        for node in ast.walk(ast.parse(cells[1].source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    for cell in cells[2:]:
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                assert node.id not in imported, f"{node.id!r} hides an import: {cell.source}"


def test_explore_markdown_is_visible():
    for cell in _read("explore").cells:
        if cell.cell_type == "markdown":
            assert cell.source.startswith("#") and "<!--" not in cell.source


# ------------------------------------------------------------------------------- execution


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("notebooks")
    fake = write_fake_published(root / "data", leaky=True)
    priorities = root / "priorities"
    priorities.mkdir()
    (priorities / "norra-hamnen.yaml").write_text(
        "area: norra-hamnen\nwave: 2025\ndecided: 2025-11-18\n"
        "risk_factors: [family_conflict, low_commitment_school]\n"
        "protective_factors: [family_attachment]\nnote: Testval i teamet.\n",
        encoding="utf-8",
    )
    return {"data": fake.path, "priorities": priorities, "root": root}


def _execute(name: str, folders, tmp_path, **parameters) -> nbformat.NotebookNode:
    output = tmp_path / f"{name}.ipynb"
    pm.execute_notebook(
        str(NOTEBOOKS_DIR / f"{name}.ipynb"),
        str(output),
        parameters={"data_dir": str(folders["data"]), "wave": 2025, **parameters},
        kernel_name="ctc",
        progress_bar=False,
        cwd=str(NOTEBOOKS_DIR),
        execution_timeout=120,
    )
    return nbformat.read(output, as_version=4)


def _rendered(markdown: str) -> str:
    """Markdown as a reader sees it: backslash escapes and HTML entities undone."""
    return html.unescape(re.sub(r"\\([^\w\s]|_)", r"\1", markdown))


def _outputs(nb) -> tuple[str, int, list[str]]:
    """All text a reader sees, the number of images, and anything written to stderr."""
    texts, images, errors = [], 0, []
    for cell in _code_cells(nb):
        for out in cell.outputs:
            if out.output_type == "stream":
                (errors if out.name == "stderr" else texts).append(out.text)
            data = out.get("data", {})
            # a chart is a <picture>: the wide PNG, and the narrow one a phone gets
            images += "image/png" in data or str(data.get("text/html", "")).count("<picture")
            texts += [_rendered(data["text/markdown"])] if "text/markdown" in data else []
            texts += [data[k] for k in ("text/html", "text/plain") if k in data]
    return "\n".join(texts), images, errors


def _assert_private(text: str, lang: str) -> None:
    assert not [s for s in SENTINELS if s in text]
    assert t("suppressed_note", lang, min_n=10) in text


def _assert_template_text_not_in_the_report(nb, tmp_path, lang: str) -> None:
    """The exporter drops the template's markdown cells (tagged): the report has its own."""
    page = export_html(nb, tmp_path / "report.html", lang=lang).read_text(encoding="utf-8")
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert markdown
    for source in markdown:
        for line in source.splitlines():
            assert not line.strip() or html.escape(line.lstrip("# ")) not in page, line
    assert t("report_participation", lang) in page


PROFILE_SECTIONS = ("participation", "screening", "behaviours", "risk_profile",
                    "protective_profile", "composites", "areas", "methods", "glossary")  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    ("area", "lang"), [("norra-hamnen", "sv"), ("all", "en"), ("lillby", "sv")]
)
def test_survey_analysis_runs(folders, tmp_path, area, lang):
    nb = _execute("01_survey_analysis", folders, tmp_path, area=area, lang=lang,
                  output_dir=str(tmp_path / "out"))  # fmt: skip
    text, images, errors = _outputs(nb)
    assert errors == []
    for key in PROFILE_SECTIONS:
        assert t(f"report_{key}", lang) in text
    assert t("synthetic_notice", lang) in text
    assert images == 6  # behaviours by grade and by sex, two profiles, two area comparisons
    _assert_private(text, lang)
    record = json.loads((tmp_path / "out" / "01_survey_analysis.json").read_text(encoding="utf-8"))
    assert record["area"] == area and record["wave"] == 2025
    if area == "norra-hamnen":
        assert "Hamnskolan" in text and "tydligt högre" in text
        assert "family_conflict" in record["clear_vs_city"]
        _assert_template_text_not_in_the_report(nb, tmp_path, lang)
    if area == "all":
        assert "Difference from the municipality" not in text  # no city column for the city
        assert "Söderdalen" in text  # the areas are compared instead
    if area == "lillby":
        assert record["cells_suppressed"] == record["cells"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("area", "lang"), [("norra-hamnen", "en"), ("all", "sv"), ("lillby", "en")]
)
def test_factor_prioritization_runs(folders, tmp_path, area, lang):
    nb = _execute("02_factor_prioritization", folders, tmp_path, area=area, lang=lang,
                  output_dir=str(tmp_path / "out"), priorities_dir=str(folders["priorities"]))  # fmt: skip
    text, images, errors = _outputs(nb)
    assert errors == []
    for key in ("worksheet", "ranking_risk", "ranking_protective", "prio_chart", "choice"):
        assert t(f"report_{key}", lang) in text
    assert images == 1
    assert not [s for s in SENTINELS if s in text]
    record = json.loads(
        (tmp_path / "out" / "02_factor_prioritization.json").read_text(encoding="utf-8")
    )
    if area == "norra-hamnen":
        assert {"family_conflict", "friends_drug_use"} <= set(record["suggested_risk"])
        assert record["chosen_risk"] == ["family_conflict", "low_commitment_school"]
        assert "Chosen by the team" in text and "Testval i teamet." in text
    if area == "all":
        assert record["chosen_risk"] is None and "Inget val är registrerat ännu" in text
    if area == "lillby":
        assert record["suggested_risk"] == [] and "Too few answers to judge" in text
        _assert_private(text, lang)


@pytest.mark.slow
def test_unknown_area_stops_the_notebook_with_a_clear_message(folders, tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match="'nowhere' is not in the published data"):
        _execute("01_survey_analysis", folders, tmp_path, area="nowhere")


@pytest.fixture(scope="module")
def scored_file(folders):
    """Private scored rows of the small test instrument (as the run cache holds them)."""
    from ctc_helpers.config.instrument import load_instrument
    from ctc_helpers.survey.profile import prepare_scored

    instrument = load_instrument(REPO_ROOT / "tests" / "data" / "mini_instrument.yaml")
    rng = np.random.default_rng(20261123)
    n = 240
    items = {i: pd.array(rng.integers(1, 5, n), dtype="Int8") for i in instrument.item_ids}
    rows = pd.DataFrame(items).assign(
        wave=2025, area="norra-hamnen", school=rng.choice(["Hamnskolan", "Kajskolan"], n),
        grade=rng.choice(["ak7", "ak9"], n), sex=rng.choice(["F", "M"], n),
        fict_life=pd.array([1] * n, dtype="Int8"), honesty=pd.array([1] * n, dtype="Int8"),
        alc_life=pd.array([7] * n, dtype="Int8"), can_life=pd.array([7] * n, dtype="Int8"),
    )  # fmt: skip
    scored, _ = prepare_scored(rows, instrument, reference={"wave": 2025})
    path = folders["root"] / "scored.parquet"
    scored.to_parquet(path)
    return path


@pytest.mark.slow
def test_explore_runs_with_private_data(folders, tmp_path, scored_file):
    nb = _execute("explore", folders, tmp_path, area="soderdalen", area_b="norra-hamnen",
                  previous_wave=2023, lang="en", scored_path=str(scored_file))  # fmt: skip
    text, images, errors = _outputs(nb)
    # the one message on stderr is the deliberate warning of ctc.load_scored
    assert [e for e in errors if "PrivateDataWarning" not in e] == []
    assert [e for e in errors if "PrivateDataWarning" in e]
    assert images == 2  # area A against B, and the behaviours over the waves
    private = _code_cells(nb)[-1]  # the local links computed from the private rows, protected
    assert "depressive_symptoms" in str(private.outputs)
    assert "holm_family" in text  # the comparisons state their Holm family
    assert "friends_drug_use" in text  # the new cuts show the published measures
    assert not [s for s in SENTINELS if s in text]
