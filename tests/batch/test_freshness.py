"""A report is up to date only while the workbench that draws and words it is unchanged.

``ctc run`` skips a report whose notebook, parameters and published data are unchanged; these
tests check that a change of the workbench's own texts (``data_schema/i18n.yaml``), of its code
or of the phase notebook also makes the report out of date, and that the workbench's fingerprint
is made of relative names and contents only (a fresh clone elsewhere computes the same value,
modification times do not count). Repository files are never edited: the tests work on copies.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from ctc_helpers import fingerprint
from ctc_helpers.batch import run as batch
from ctc_helpers.config.run import run_config_from_dict
from tests.batch.test_run import TEST_NOTEBOOKS, WAVE, _published, _raw_config, _write_city

REPO = Path(__file__).resolve().parents[2]
SKIP_COPY = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


def _copy_workbench(root: Path) -> tuple[Path, Path]:
    """A copy of the helper package and the schema folder under ``root``."""
    package = shutil.copytree(REPO / "ctc_helpers", root / "ctc_helpers", ignore=SKIP_COPY)
    schema = shutil.copytree(REPO / "data_schema", root / "data_schema", ignore=SKIP_COPY)
    return Path(package), Path(schema)


def _change_text(i18n: Path, key: str, lang: str, text: str) -> None:
    texts = yaml.safe_load(i18n.read_text(encoding="utf-8"))
    texts[key][lang] = text
    i18n.write_text(yaml.safe_dump(texts, allow_unicode=True), encoding="utf-8")


def _change_notebook_heading(notebook: Path, heading: str) -> None:
    content = json.loads(notebook.read_text(encoding="utf-8"))
    first = next(cell for cell in content["cells"] if cell["cell_type"] == "markdown")
    first["source"] = [f"# {heading}\n"]
    notebook.write_text(json.dumps(content, indent=1), encoding="utf-8")


@pytest.fixture
def workbench_copy(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    """The batch's fingerprint reads a copy of the package and schema (other people editing the
    working tree during the test cannot make a report look out of date)."""
    package, schema = _copy_workbench(tmp_path / "workbench")
    monkeypatch.setattr(fingerprint, "PACKAGE_DIR", package)
    monkeypatch.setattr(fingerprint, "SCHEMA_DIR", schema)
    return package, schema


@pytest.mark.slow
def test_a_changed_text_code_or_notebook_rebuilds_the_report(tmp_path: Path, workbench_copy):
    package, schema = workbench_copy
    city = tmp_path / "city"
    city.mkdir()
    _write_city(city, {"norr": "Norra delen"})
    notebooks = Path(shutil.copytree(TEST_NOTEBOOKS, tmp_path / "notebooks"))
    config = run_config_from_dict(_raw_config(notebooks=str(notebooks)), base_dir=city)

    def build() -> str:
        results = batch.run_reports(config, _published(city), areas=["norr"])
        return results["status"].tolist()[0]

    manifest = city / "reports" / "manifest.json"
    assert build() == "ok"
    first = json.loads(manifest.read_text(encoding="utf-8"))["settings"]["workbench"]
    assert build() == "skipped"  # same inputs, same workbench
    # modification times do not count: touching the texts and the code changes nothing
    for path in (schema / "i18n.yaml", package / "views" / "style.py"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    assert build() == "skipped"

    _change_text(schema / "i18n.yaml", "city", "sv", "Hela staden")
    assert build() == "ok"  # a changed text: rebuilt without --force
    assert json.loads(manifest.read_text(encoding="utf-8"))["settings"]["workbench"] != first
    assert build() == "skipped"

    style = package / "views" / "style.py"
    style.write_text(style.read_text(encoding="utf-8") + "\n# a changed style sheet\n", "utf-8")
    assert build() == "ok"  # changed drawing code
    assert build() == "skipped"

    _change_notebook_heading(notebooks / "tiny.ipynb", "Testrapport, ny rubrik")
    assert build() == "ok"  # a changed phase notebook
    assert "Testrapport, ny rubrik" in (
        city / "reports" / str(WAVE) / "norr" / "tiny.html"
    ).read_text(encoding="utf-8")
    assert build() == "skipped"


def test_the_workbench_fingerprint_does_not_depend_on_where_the_clone_is(tmp_path: Path) -> None:
    near = _copy_workbench(tmp_path / "a")
    far = _copy_workbench(tmp_path / "somewhere" / "else" / "entirely")
    value = fingerprint.workbench_fingerprint(package_dir=near[0], schema_dir=near[1])
    assert len(value) == 64
    assert fingerprint.workbench_fingerprint(package_dir=far[0], schema_dir=far[1]) == value
    # compiled files, caches, hidden files and modification times are not part of it
    (far[0] / "__pycache__").mkdir(exist_ok=True)
    (far[0] / "__pycache__" / "vocab.cpython-311.pyc").write_bytes(b"\0compiled")
    (far[1] / ".cache").mkdir()
    (far[1] / ".cache" / "anything.json").write_text("{}", encoding="utf-8")
    os.utime(far[1] / "i18n.yaml", (2_000_000_000, 2_000_000_000))
    assert fingerprint.workbench_fingerprint(package_dir=far[0], schema_dir=far[1]) == value
    # the contents and the relative names are
    (far[1] / "i18n.yaml").write_bytes((far[1] / "i18n.yaml").read_bytes() + b"\n")
    changed = fingerprint.workbench_fingerprint(package_dir=far[0], schema_dir=far[1])
    assert changed != value
    (far[0] / "vocab.py").rename(far[0] / "vocabulary.py")
    renamed = fingerprint.workbench_fingerprint(package_dir=far[0], schema_dir=far[1])
    assert renamed not in {value, changed}
    # the package's templates count too (report and dashboard pages)
    templates = sorted(near[0].rglob("*.j2"))
    assert templates, "the package keeps its page templates beside the code"
    templates[0].write_text(templates[0].read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert fingerprint.workbench_fingerprint(package_dir=near[0], schema_dir=near[1]) != value


def test_the_repository_fingerprint_is_that_of_its_package_and_schema() -> None:
    """The default folders are the repository's, and ``code_fingerprint`` is the same value."""
    fingerprint.code_fingerprint.cache_clear()
    repo = fingerprint.workbench_fingerprint(
        package_dir=REPO / "ctc_helpers", schema_dir=REPO / "data_schema"
    )
    assert fingerprint.workbench_fingerprint() == repo
    assert fingerprint.code_fingerprint() == repo
