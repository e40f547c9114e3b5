"""The set-up promises of the README: two commands, declared and synced dependency lists, clean
notebooks.

Dependencies: every third-party package ``ctc_helpers`` imports is declared in ``pyproject.toml``
(found with :mod:`ast` over the whole package, every scope, and mapped from import names to
distributions by :func:`importlib.metadata.packages_distributions`); a package that only an extra
declares is imported inside a function, so the package works without the extra; every main
dependency is imported or named below as a tool the workbench runs; and ``environment.yml`` lists
the same packages with the same ranges as the dependencies and every extra.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ctc_helpers"

# Main dependencies the package never imports: tools the workbench runs.
RUNTIME_TOOLS = {
    "ipykernel": "the 'ctc' Jupyter kernel that executes every phase notebook",
    "jupyterlab": "`make lab`: the notebooks for analysts and evaluators",
}
# Imported modules that come with a declared package, which pins their exact version.
COMES_WITH = {"pydantic-core": "pydantic"}


def _canonical(name: str) -> str:
    """PEP 503 name: 'Jupyter_Server' -> 'jupyter-server'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _normalise(requirement: str) -> set[tuple[str, str]]:
    """'dask[distributed]>=2024.1,<2027' -> {('dask', '>=2024.1,<2027'), ('distributed', ...)}."""
    match = re.match(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]+\])?\s*(.*)$", requirement)
    name, extras, spec = match.group(1), match.group(2), match.group(3).replace(" ", "")
    names = {name} | ({e.strip() for e in extras[1:-1].split(",")} if extras else set())
    return {(_canonical(n), spec) for n in names}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _declared(requirements: list[str]) -> set[str]:
    return {name for r in requirements for name, _ in _normalise(r)}


def _pyproject_requirements() -> set[tuple[str, str]]:
    project = _project()
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return set().union(*(_normalise(r) for r in reqs))


def _conda_requirements() -> set[tuple[str, str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    plain = [d for d in env["dependencies"] if isinstance(d, str)]
    skip = {"python", "pip"}
    return {r for d in plain for r in _normalise(d) if r[0] not in skip}


def _third_party_imports() -> dict[str, list[tuple[str, bool]]]:
    """Top-level module -> [(where, at module level)] for every import of a third-party module
    anywhere in the package (function bodies, try and if blocks included)."""
    found: dict[str, list[tuple[str, bool]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in ("ctc_helpers", "__future__"):
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                found.setdefault(top, []).append((where, id(node) in top_level))
    return found


def _distribution(module: str) -> str | None:
    names = metadata.packages_distributions().get(module)
    return _canonical(names[0]) if names else None


def test_every_imported_package_is_declared():
    project = _project()
    declared = _declared(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared |= _declared(extra)
    imports = _third_party_imports()
    assert {"pandas", "psutil", "PIL", "jinja2", "IPython"} <= set(imports)  # the scan works
    problems = []
    for module, places in sorted(imports.items()):
        dist = _distribution(module)
        if dist is None:
            problems.append(f"{module} ({places[0][0]}) is imported but not installed")
        elif dist not in declared and COMES_WITH.get(dist) not in declared:
            problems.append(f"{module} ({places[0][0]}) comes from {dist}, not in pyproject.toml")
    assert problems == []


def test_packages_of_an_extra_are_imported_inside_functions():
    project = _project()
    main = _declared(project["dependencies"])
    problems = [
        f"{where}: {module} belongs to an extra; import it where it is used"
        for module, places in _third_party_imports().items()
        if (dist := _distribution(module)) is not None and dist not in main
        and COMES_WITH.get(dist) not in main
        for where, module_level in places
        if module_level
    ]  # fmt: skip
    assert problems == []


def test_every_main_dependency_is_imported_or_a_tool_the_workbench_runs():
    imported = {_distribution(m) for m in _third_party_imports()} - {None}
    unused = _declared(_project()["dependencies"]) - imported - set(RUNTIME_TOOLS)
    assert unused == set(), f"declared but never imported (move to an extra): {sorted(unused)}"


def test_tests_only_and_cluster_packages_are_extras():
    project = _project()
    main, extras = _declared(project["dependencies"]), project["optional-dependencies"]
    assert "statsmodels" not in main and "statsmodels" in _declared(extras["dev"])
    assert {"dask", "distributed"} & main == set()
    assert {"dask", "distributed"} <= _declared(extras["cluster"])
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r'pip install .*-e "\.\[dev,cluster\]"', makefile)


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    pyproject, conda = _pyproject_requirements(), _conda_requirements()
    assert pyproject - conda == set(), f"missing in environment.yml: {sorted(pyproject - conda)}"
    assert conda - pyproject == set(), f"missing in pyproject.toml: {sorted(conda - pyproject)}"


def test_normalise_splits_extras_into_packages():
    assert _normalise("dask[distributed]>=2024.1,<2027") == {
        ("dask", ">=2024.1,<2027"),
        ("distributed", ">=2024.1,<2027"),
    }
    assert _normalise("Jupyter_Server >=2.10, <3") == {("jupyter-server", ">=2.10,<3")}


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
