"""The set-up promises of the README: two commands, synced dependency lists, clean notebooks."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _normalise(requirement: str) -> set[tuple[str, str]]:
    """'dask[distributed]>=2024.1,<2027' -> {('dask', '>=2024.1,<2027'), ('distributed', ...)}."""
    match = re.match(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]+\])?\s*(.*)$", requirement)
    name, extras, spec = match.group(1).lower(), match.group(2), match.group(3).replace(" ", "")
    names = {name} | ({e.strip().lower() for e in extras[1:-1].split(",")} if extras else set())
    return {(n, spec) for n in names}


def _pyproject_requirements() -> set[tuple[str, str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])
    return set().union(*(_normalise(r) for r in reqs))


def _conda_requirements() -> set[tuple[str, str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    plain = [d for d in env["dependencies"] if isinstance(d, str)]
    skip = {"python", "pip"}
    return {r for d in plain for r in _normalise(d) if r[0] not in skip}


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    pyproject, conda = _pyproject_requirements(), _conda_requirements()
    assert pyproject - conda == set(), f"missing in environment.yml: {sorted(pyproject - conda)}"
    assert conda - pyproject == set(), f"missing in pyproject.toml: {sorted(conda - pyproject)}"


def test_normalise_splits_extras_into_packages():
    assert _normalise("dask[distributed]>=2024.1,<2027") == {
        ("dask", ">=2024.1,<2027"),
        ("distributed", ">=2024.1,<2027"),
    }


def test_readme_quick_start_is_exactly_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", quick, re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert commands == ["make run", "make test"]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


def test_makefile_documents_every_user_target():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("run", "test", "lab", "dashboard", "bench", "help"):
        assert re.search(rf"^{target}:.*## ", makefile, re.M), target


def _tracked_notebooks() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    found = {ROOT / p for p in listed} | set((ROOT / "notebooks").rglob("*.ipynb"))
    return sorted(p for p in found if ".ipynb_checkpoints" not in p.parts and p.exists())


def test_notebooks_are_committed_without_outputs():
    dirty = []
    for path in _tracked_notebooks():
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count")):
                dirty.append(path.relative_to(ROOT))
                break
    assert dirty == [], f"strip outputs from: {dirty}"


def test_notebooks_use_the_ctc_kernel():
    for path in _tracked_notebooks():
        spec = json.loads(path.read_text(encoding="utf-8"))["metadata"].get("kernelspec", {})
        assert spec.get("name") == "ctc", path


def test_every_lazy_public_name_resolves():
    import ctc_helpers

    for name in ctc_helpers.__all__:
        assert getattr(ctc_helpers, name) is not None, name
