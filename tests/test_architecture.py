"""The layout rules of ``ctc_helpers`` (issue 13), each a test that lists its offenders.

Every rule is a function that reads a package folder with :mod:`ast` (nothing is imported, except
in the last rule, which imports each subpackage in a fresh interpreter) and returns readable
offenders, ``"path:line: what is wrong"``. The tests at the top run the rules on the real
package; the tests at the bottom build small bad packages in ``tmp_path`` and prove that every
rule can fail, and that a clean package passes them all.

Decisions the rules encode:

- **Import cycles** count every import that runs: module level, inside functions, inside
  ``try``/``if``. Imports under ``if TYPE_CHECKING:`` are left out: they never run, and they are
  the standard way to name in an annotation a class of a module that imports this one. Importing
  a subpackage's module does not count as importing the subpackage's ``__init__``: the parent
  packages run first, never in the middle of a module, so they cannot close a cycle.
- **Function-local imports** need a measured figure (``# pandera takes ~1 s``) in a comment on
  the import's own lines, or on a comment line right above it or above the run of adjacent
  imports it belongs to (a trailing comment of the previous import does not count). The standard
  library is *not* exempt: the only reason to hide an import inside a function is a cost someone
  measured, and a cheap import belongs at the top, where a reader sees what the module depends on.
- **Private names**: ``from m import _x`` and ``m._x`` (``m`` a module of the package bound by an
  import) are offenders in any module other than ``m`` itself; dunders are not private.
- **Vocabulary**: a name may be bound to the literal ``"all"`` only in ``vocab.py`` (at any scope:
  a local ``total = "all"`` is a second definition too), and a tuple, list or set literal that
  holds both ``"risk"`` and ``"protective"`` is a copy of ``FACTOR_KINDS``/``MEASURE_KINDS``.
  Docstrings are text, not code, so their examples are free.
- **Engines** (``survey/``, ``privacy/``, ``publish/build.py``, ``phases/``, ``ingest/``) never import
  ``views/``, ``plots/``, ``dashboard/``, IPython or ipywidgets, at any scope, type hints included:
  an engine returns numbers and codes, and formatting belongs to the display edge.
- **Size**: no module over 600 lines. ``demo/synth.py`` is exempt: it is one concern (the
  synthetic city, one seeded sequence of steps whose order fixes every number of the demo data)
  and a tool beside the engine, not part of it.
- **Documentation**: every module is named in ``docs/ARCHITECTURE.md`` by its path in the package
  (``survey/profile.py``, or dotted ``ctc_helpers.survey.profile``); a package by its folder
  (``survey/``). The README's API table names modules that exist and functions they define (not
  re-export), and every dotted ``ctc_helpers.x.y`` in the README, ``docs/`` and ``data_schema/``
  resolves.
- **Light packages**: importing the package or one of its subpackages by itself loads no module
  from outside the standard library (pandas, matplotlib, ipywidgets ...), so that
  ``import ctc_helpers.x.y`` pays only for ``y``.
"""

from __future__ import annotations

import ast
import io
import json
import re
import subprocess
import sys
import textwrap
import tokenize
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pytest

from ctc_helpers.paths import PACKAGE_DIR, REPO_ROOT

ARCHITECTURE_DOC = REPO_ROOT / "docs" / "ARCHITECTURE.md"
MAX_LINES = 600
LONG_MODULES = {
    "demo/synth.py": "one concern, the synthetic demo city: a single seeded sequence of steps "
    "whose order fixes every number of the demo data; a tool beside the engine",
}
VOCABULARY_MODULE = "vocab.py"
ENGINES = ("survey/", "privacy/", "publish/build.py", "phases/", "ingest/")
DISPLAY_PARTS = ("views/", "plots/", "dashboard/")
DISPLAY_LIBRARIES = ("IPython", "ipywidgets")
FIGURE = re.compile(r"\d+(?:[.,]\d+)?\s*(?:ms|µs|us|ns|s|sec|seconds?|KB|kB|MB|MiB|GB)(?![A-Za-z])")


# ----------------------------------------------------------------------------- reading a package


@dataclass(frozen=True)
class Module:
    name: str  # dotted: ctc_helpers.survey.profile (a package's __init__: ctc_helpers.survey)
    rel: str  # path in the package: survey/profile.py
    path: Path
    source: str
    tree: ast.Module

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


@dataclass(frozen=True)
class Import:
    importer: str  # dotted name of the importing module
    target: str  # dotted module name ("pandas", "ctc_helpers.views.tables")
    name: str | None  # the name taken from ``target`` by ``from target import name``
    line: int
    local: bool  # inside a function
    type_checking: bool  # under ``if TYPE_CHECKING:``
    stmt: ast.stmt


def read_package(root: Path) -> dict[str, Module]:
    """Every ``*.py`` file under ``root`` (the package folder), by dotted module name."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        parts = [root.name, *rel[: -len(".py")].split("/")]
        if parts[-1] == "__init__":
            parts.pop()
        source = path.read_text(encoding="utf-8")
        modules[".".join(parts)] = Module(
            ".".join(parts), rel, path, source, ast.parse(source, str(path))
        )
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk_imports(nodes, *, local: bool = False, type_checking: bool = False):
    """(statement, local, type_checking) for every import statement in or below ``nodes``."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, local, type_checking
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _walk_imports(node.body, local=local, type_checking=True)
            yield from _walk_imports(node.orelse, local=local, type_checking=type_checking)
        else:
            inner = local or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            children = ast.iter_child_nodes(node)
            yield from _walk_imports(children, local=inner, type_checking=type_checking)


def _resolve_from(module: Module, stmt: ast.ImportFrom) -> str:
    if not stmt.level:
        return stmt.module or ""
    base = module.name.split(".")
    if not module.is_package:
        base = base[:-1]
    base = base[: len(base) - (stmt.level - 1)]
    return ".".join([*base, *([stmt.module] if stmt.module else [])])


def imports_of(module: Module, modules: dict[str, Module]) -> list[Import]:
    """Every import of ``module``; a ``from package import submodule`` targets the submodule."""
    found = []
    for stmt, local, type_checking in _walk_imports(module.tree.body):
        common = dict(
            importer=module.name, line=stmt.lineno, local=local, type_checking=type_checking,
            stmt=stmt,
        )  # fmt: skip
        if isinstance(stmt, ast.Import):
            found += [Import(target=alias.name, name=None, **common) for alias in stmt.names]
            continue
        source = _resolve_from(module, stmt)
        if source == "__future__":
            continue
        for alias in stmt.names:
            submodule = f"{source}.{alias.name}"
            if submodule in modules:
                found.append(Import(target=submodule, name=None, **common))
            else:
                found.append(Import(target=source, name=alias.name, **common))
    return found


def _internal(target: str, modules: dict[str, Module]) -> str | None:
    """The package module an import target runs (its longest known prefix), or None."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return None


def _where(module: Module, line: int) -> str:
    return f"{module.rel}:{line}"


def _report(offenders: list[str], rule: str) -> None:
    if offenders:
        pytest.fail(f"{rule} ({len(offenders)}):\n  " + "\n  ".join(offenders), pytrace=False)


# ----------------------------------------------------------------------------- the rules


def find_import_cycles(root: Path) -> list[str]:
    """Each import cycle once (its shortest path, ``a --[import, file:line]--> b ... a``)."""
    modules = read_package(root)
    graph: dict[str, dict[str, Import]] = {name: {} for name in modules}
    for module in modules.values():
        for imp in imports_of(module, modules):
            target = _internal(imp.target, modules)
            if target and target != module.name and not imp.type_checking:
                graph[module.name].setdefault(target, imp)
    cycles: dict[frozenset[str], list[str]] = {}
    for start in sorted(graph):
        path = _shortest_cycle(graph, start)
        if path:
            cycles.setdefault(frozenset(path), path)
    return sorted(_show_cycle(path, graph, modules) for path in cycles.values())


def _shortest_cycle(graph: dict[str, dict[str, Import]], start: str) -> list[str] | None:
    """The shortest import path from ``start`` back to itself (breadth first), or None."""
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph[node]):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    return None


def _show_cycle(path: list[str], graph: dict[str, dict[str, Import]], modules) -> str:
    steps = [path[0]]
    for here, there in zip(path, path[1:], strict=False):
        imp = graph[here][there]
        kind = "function-local import" if imp.local else "import"
        steps.append(f"--[{kind}, {_where(modules[here], imp.line)}]--> {there}")
    return " ".join(steps)


def _comments(source: str) -> dict[int, str]:
    comments = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string
    return comments


def _has_figure(line: int, comments: dict[int, str]) -> bool:
    return bool(FIGURE.search(comments.get(line, "")))


def find_unmeasured_local_imports(root: Path) -> list[str]:
    """Function-local imports without a measured figure in a comment (see the module docstring)."""
    modules = read_package(root)
    offenders = []
    for module in modules.values():
        comments = _comments(module.source)
        lines = module.source.splitlines()
        local = [stmt for stmt, is_local, _ in _walk_imports(module.tree.body) if is_local]
        ends = {stmt.end_lineno: stmt for stmt in local}
        for stmt in local:
            if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
                continue
            first = stmt
            while (first.lineno - 1) in ends:  # a run of adjacent imports shares its comment
                first = ends[first.lineno - 1]
            above = first.lineno - 1  # a comment line right above the run
            own = range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)
            if any(_has_figure(n, comments) for n in own) or (
                above >= 1
                and lines[above - 1].lstrip().startswith("#")
                and _has_figure(above, comments)
            ):
                continue
            offenders.append(f"{_where(module, stmt.lineno)}: {lines[stmt.lineno - 1].strip()}")
    return offenders


def find_private_imports(root: Path) -> list[str]:
    """``from m import _x`` and ``m._x`` where ``m`` is another module of the package."""
    modules = read_package(root)
    offenders = []
    for module in modules.values():
        bound: dict[str, str] = {}  # local name -> package module it stands for
        for imp in imports_of(module, modules):
            target = _internal(imp.target, modules)
            if target is None:
                continue
            alias = _alias_of(imp)
            if imp.name is None and alias:
                bound[alias] = imp.target if imp.target in modules else target
            if imp.name and _private(imp.name) and target != module.name:
                offenders.append(f"{_where(module, imp.line)}: {imp.name} from {target}")
            elif imp.name is None and _private(imp.target.rsplit(".", 1)[-1]):
                offenders.append(f"{_where(module, imp.line)}: private module {imp.target}")
        for node in ast.walk(module.tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in bound
                and bound[node.value.id] != module.name
                and _private(node.attr)
            ):
                offenders.append(
                    f"{_where(module, node.lineno)}: {node.value.id}.{node.attr} "
                    f"({bound[node.value.id]}.{node.attr})"
                )
    return offenders


def _alias_of(imp: Import) -> str | None:
    """The local name a module import binds (``import a.b`` binds ``a``: not a module alias)."""
    for alias in imp.stmt.names:
        if isinstance(imp.stmt, ast.Import) and alias.name == imp.target:
            return alias.asname or (None if "." in alias.name else alias.name)
        if isinstance(imp.stmt, ast.ImportFrom) and imp.target.endswith(f".{alias.name}"):
            return alias.asname or alias.name
    return None


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def find_vocabulary_copies(root: Path) -> list[str]:
    """``"all"`` bound to a name, or a ("risk", "protective") literal, outside ``vocab.py``."""
    offenders = []
    for module in read_package(root).values():
        if module.rel == VOCABULARY_MODULE:
            continue
        for node in ast.walk(module.tree):
            value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
            if isinstance(value, ast.Constant) and value.value == "all":
                names = [ast.unparse(t) for t in getattr(node, "targets", [])] or [
                    ast.unparse(node.target)
                ]
                offenders.append(
                    f"{_where(module, node.lineno)}: {', '.join(names)} = 'all' "
                    "(use TOTAL or CITY from ctc_helpers.vocab)"
                )
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                strings = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if {"risk", "protective"} <= strings:
                    offenders.append(
                        f"{_where(module, node.lineno)}: {ast.unparse(node)} "
                        "(use FACTOR_KINDS or MEASURE_KINDS from ctc_helpers.vocab)"
                    )
    return offenders


def _under(rel: str, parts: tuple[str, ...]) -> bool:
    return any(rel == p or (p.endswith("/") and rel.startswith(p)) for p in parts)


def find_engine_display_imports(root: Path) -> list[str]:
    """Imports of the display edge (views, plots, dashboard, IPython, ipywidgets) by engines."""
    modules = read_package(root)
    offenders = []
    for module in modules.values():
        if not _under(module.rel, ENGINES):
            continue
        for imp in imports_of(module, modules):
            target = _internal(imp.target, modules)
            display = (
                target is not None and _under(modules[target].rel, DISPLAY_PARTS)
            ) or imp.target.split(".")[0] in DISPLAY_LIBRARIES
            if display:
                what = f"{imp.target}.{imp.name}" if imp.name else imp.target
                offenders.append(f"{_where(module, imp.line)}: imports {what}")
    return offenders


def find_long_modules(root: Path) -> list[str]:
    """Modules over MAX_LINES lines, except the exempt ones."""
    offenders = []
    for module in read_package(root).values():
        lines = len(module.source.splitlines())
        if lines > MAX_LINES and module.rel not in LONG_MODULES:
            offenders.append(f"{module.rel}: {lines} lines (limit {MAX_LINES})")
    return offenders


def _doc_name(module: Module, package: str) -> str:
    """How the page names a module: its path in the package; a package by its folder."""
    if module.rel == "__init__.py":
        return f"{package}/__init__.py"
    return module.rel.removesuffix("__init__.py")


def find_undocumented_modules(root: Path, doc: Path) -> list[str]:
    """Modules (by path or dotted name) and packages (by folder) the architecture page omits."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else ""
    offenders = []
    for module in read_package(root).values():
        name = _doc_name(module, root.name)
        end = "" if name.endswith("/") else r"(?!\w)"
        patterns = [rf"(?<![\w./-])(?:{re.escape(root.name)}/)?{re.escape(name)}{end}"]
        if not module.is_package:
            patterns.append(rf"(?<![\w.]){re.escape(module.name)}(?![\w.])")
        if not any(re.search(p, text) for p in patterns):
            offenders.append(f"{module.rel}: not named in {doc.name} (write {name!r})")
    return offenders


API_SECTION = "## For evaluators: the Python API"


def _top_level_names(module: Module) -> set[str]:
    names = set()
    for node in module.tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def find_stale_api_rows(readme: Path, root: Path) -> list[str]:
    """Modules of the README's API table that do not exist, and names they do not define.

    A row names its modules in backticks, the first in full (``ctc_helpers.survey.screening``),
    the others in full, from the package (``views.frames``) or beside the first (``scoring``).
    """
    modules = read_package(root)
    text = readme.read_text(encoding="utf-8")
    section = text.split(API_SECTION, 1)[1].split("\n## ", 1)[0] if API_SECTION in text else ""
    offenders = [] if section else [f"{readme.name}: no section {API_SECTION!r}"]
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[0].startswith(f"`{root.name}"):
            continue
        written = re.findall(r"`([\w.]+)`", cells[0])
        parent = written[0].rsplit(".", 1)[0]
        found = []
        for name in written:
            candidates = [name, f"{root.name}.{name}", f"{parent}.{name}"]
            match = next((c for c in candidates if c in modules), None)
            if match is None:
                offenders.append(f"{readme.name}: no module {name!r} ({line[:60]}...)")
            else:
                found.append(modules[match])
        defined = set().union(*(_top_level_names(m) for m in found)) if found else set()
        for name in re.findall(r"`([A-Za-z_]\w*)`", cells[1]):
            if found and name not in defined:
                where = ", ".join(m.name for m in found)
                offenders.append(f"{readme.name}: {name} is not defined in {where}")
    return offenders


def _bound_names(module: Module) -> set[str]:
    """Names a module defines or imports at its top level (what ``module.name`` can reach)."""
    names = _top_level_names(module)
    for node in module.tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def find_stale_references(docs: list[Path], root: Path) -> list[str]:
    """Dotted references ``ctc_helpers.x.y[.name]`` in the docs (under the package's parent folder)
    that the package cannot resolve."""
    modules = read_package(root)
    offenders = []
    for doc in docs:
        text = doc.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), start=1):
            for ref in re.findall(rf"(?<![\w/.]){re.escape(root.name)}(?:\.\w+)+", line):
                module = _internal(ref, modules)
                rest = ref[len(module) + 1 :].split(".") if module and ref != module else []
                if module and (
                    not rest or (len(rest) == 1 and rest[0] in _bound_names(modules[module]))
                ):
                    continue
                offenders.append(f"{doc.relative_to(root.parent)}:{number}: {ref}")
    return offenders


def find_heavy_packages(root: Path) -> list[str]:
    """Packages whose ``__init__`` loads modules from outside the standard library."""
    packages = [m.name for m in read_package(root).values() if m.is_package]
    script = textwrap.dedent(
        """
        import importlib, json, sys, sysconfig
        sys.path.insert(0, sys.argv[1])
        before = set(sys.modules)
        importlib.import_module(sys.argv[2])
        own = sys.argv[3]
        paths = sysconfig.get_paths()
        site = tuple(paths[k] for k in ("purelib", "platlib"))  # in a venv: inside platstdlib
        stdlib = tuple(paths[k] for k in ("stdlib", "platstdlib"))
        files = {name: getattr(sys.modules[name], "__file__", None) or ""
                 for name in set(sys.modules) - before}
        print(json.dumps(sorted({
            name.split(".")[0] for name, file in files.items()
            if file and (file.startswith(site) or not file.startswith((*stdlib, own)))
        })))
        """
    )
    offenders = []
    for package in packages:
        result = subprocess.run(
            [sys.executable, "-c", script, str(root.parent), package, str(root)],
            capture_output=True, text=True, timeout=120, cwd=root.parent,
        )  # fmt: skip
        if result.returncode:
            offenders.append(f"{package}: cannot be imported: {result.stderr.strip()[-300:]}")
            continue
        heavy = json.loads(result.stdout)
        if heavy:
            offenders.append(f"{package}: importing it loads {', '.join(heavy)}")
    return offenders


# ----------------------------------------------------------------------------- the real package


def test_no_import_cycles():
    _report(find_import_cycles(PACKAGE_DIR), "Import cycles (function-local imports count)")


def test_function_local_imports_carry_a_measured_figure():
    _report(
        find_unmeasured_local_imports(PACKAGE_DIR),
        "Function-local imports without a measured figure in a comment (move them to the top, "
        "or measure the import and write the figure, e.g. '# pandas: 0.4 s')",
    )


def test_no_private_name_imported_from_another_module():
    _report(find_private_imports(PACKAGE_DIR), "Private names used from another module")


def test_shared_vocabulary_is_defined_only_in_vocab():
    _report(find_vocabulary_copies(PACKAGE_DIR), "Copies of the shared vocabulary")


def test_engines_never_import_the_display_edge():
    _report(find_engine_display_imports(PACKAGE_DIR), "Engines importing display code")


def test_no_module_over_600_lines():
    _report(find_long_modules(PACKAGE_DIR), "Modules over 600 lines")


def test_every_module_is_named_in_the_architecture_page():
    _report(
        find_undocumented_modules(PACKAGE_DIR, ARCHITECTURE_DOC),
        "Modules missing from docs/ARCHITECTURE.md",
    )


def test_the_readme_api_table_names_real_modules_and_functions():
    _report(
        find_stale_api_rows(REPO_ROOT / "README.md", PACKAGE_DIR),
        "README's API table out of date with the package",
    )


def test_the_docs_name_modules_and_functions_that_exist():
    docs = [
        REPO_ROOT / "README.md",
        ARCHITECTURE_DOC,
        *sorted((REPO_ROOT / "data_schema").glob("*")),
    ]
    _report(
        find_stale_references([d for d in docs if d.suffix in (".md", ".yaml")], PACKAGE_DIR),
        "References to ctc_helpers in the docs and data_schema/ that do not resolve",
    )


def test_packages_import_nothing_heavy():
    _report(find_heavy_packages(PACKAGE_DIR), "Package __init__ files loading third-party code")


def test_the_exemptions_still_exist():
    """An exemption for a module that is gone (or now short) is removed, not kept."""
    for rel in LONG_MODULES:
        path = PACKAGE_DIR / rel
        assert path.exists(), rel
        assert len(path.read_text(encoding="utf-8").splitlines()) > MAX_LINES, rel
    assert (PACKAGE_DIR / VOCABULARY_MODULE).exists()


# ----------------------------------------------------------------------------- each rule can fail


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    """A package ``ctc_helpers`` under ``tmp_path`` made of ``files`` (path -> source)."""
    root = tmp_path / "ctc_helpers"
    for rel, source in {"__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in path.relative_to(root).parents:
            init = root / folder / "__init__.py"
            if not init.exists():
                init.write_text("", encoding="utf-8")
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    return root


CLEAN = {
    "vocab.py": 'TOTAL = "all"\nFACTOR_KINDS = ("risk", "protective")\n',
    "survey/profile.py": """\
        from typing import TYPE_CHECKING

        from ctc_helpers.vocab import FACTOR_KINDS, TOTAL

        if TYPE_CHECKING:
            from pandas import DataFrame  # a type hint only: never runs


        def aggregate(kinds=FACTOR_KINDS):
            '''>>> [k for k in ("risk", "protective")]'''
            import json  # 0.3 ms, only the report needs it

            # pandera takes ~1 s, so only validation pays it
            import pandera
            from pandera.errors import SchemaErrors

            return TOTAL, json, pandera, SchemaErrors
        """,
    "views/tables.py": """\
        import IPython

        from ctc_helpers.survey import profile
        from ctc_helpers.survey.profile import aggregate

        Table = dict
        shown = profile.aggregate, aggregate, IPython, profile.__name__
        """,
    "demo/synth.py": "x = 1\n" * 700,
}
CLEAN_DOC = (
    "ctc_helpers/__init__.py, vocab.py, survey/, `survey/profile.py`, views/ and "
    "ctc_helpers.views.tables, demo/ with demo/synth.py.\n"
)


def test_a_clean_package_passes_every_rule(tmp_path):
    root = _package(tmp_path, CLEAN)
    doc = tmp_path / "ARCHITECTURE.md"
    doc.write_text(CLEAN_DOC, encoding="utf-8")
    assert find_import_cycles(root) == []
    assert find_unmeasured_local_imports(root) == []
    assert find_private_imports(root) == []
    assert find_vocabulary_copies(root) == []
    assert find_engine_display_imports(root) == []
    assert find_long_modules(root) == []
    assert find_undocumented_modules(root, doc) == []
    assert find_heavy_packages(root) == []


def test_a_cycle_through_a_function_local_import_is_found(tmp_path):
    root = _package(
        tmp_path,
        {
            "views/tables.py": "from ctc_helpers.phases import prioritization\n",
            "phases/prioritization.py": """\
                from ctc_helpers.survey.profile import aggregate
                """,
            "survey/profile.py": """\
                def aggregate():
                    from ctc_helpers.views.tables import prioritization  # 2 s
                """,
            "survey/other.py": "from . import profile\nfrom .profile import aggregate\n",
        },
    )
    assert find_import_cycles(root) == [
        "ctc_helpers.phases.prioritization --[import, phases/prioritization.py:1]--> "
        "ctc_helpers.survey.profile --[function-local import, survey/profile.py:2]--> "
        "ctc_helpers.views.tables --[import, views/tables.py:1]--> "
        "ctc_helpers.phases.prioritization"
    ]


def test_a_cycle_through_a_package_init_and_a_relative_import_is_found(tmp_path):
    root = _package(
        tmp_path,
        {
            "dashboard/__init__.py": "from .server import app\n",
            "dashboard/server.py": "app = 1\n\ndef reset():\n    from . import views  # 1 ms\n",
            "dashboard/views.py": "from ctc_helpers.dashboard import app\n",
        },
    )
    (cycle,) = find_import_cycles(root)
    assert cycle.startswith("ctc_helpers.dashboard --[import, dashboard/__init__.py:1]--> ")
    assert "--[function-local import, dashboard/server.py:4]--> ctc_helpers.dashboard.views" in (
        cycle
    )


def test_a_cycle_only_in_type_hints_is_not_a_cycle(tmp_path):
    root = _package(
        tmp_path,
        {
            "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ctc_helpers.b"
            " import B\n",
            "b.py": "from ctc_helpers.a import A\n",
        },
    )
    assert find_import_cycles(root) == []


def test_local_imports_without_a_figure_are_found(tmp_path):
    root = _package(
        tmp_path,
        {
            "x.py": """\
                def f():
                    import json
                    import pandas  # imported here: pandas is slow
                    from ctc_helpers import vocab
                    return json, pandas, vocab


                def g():
                    import numpy  # 120 ms
                    import scipy
                    # pandera: 1.1 s
                    import pandera
                    from pandera import errors
                    return numpy, scipy, pandera, errors
                """,
        },
    )
    assert find_unmeasured_local_imports(root) == [
        "x.py:2: import json",
        "x.py:3: import pandas  # imported here: pandas is slow",
        "x.py:4: from ctc_helpers import vocab",
        "x.py:10: import scipy",
    ]


def test_private_names_from_another_module_are_found(tmp_path):
    root = _package(
        tmp_path,
        {
            "a.py": "_SECRET = 1\n_x = 2\n__version__ = '1'\n",
            "b.py": """\
                from ctc_helpers import a
                from ctc_helpers.a import _SECRET, __version__
                from . import a as other

                value = a._x + other._x + _SECRET + len(__version__)
                """,
            "c/_helpers.py": "",
            "c/d.py": "from ctc_helpers.c import _helpers\n",
        },
    )
    assert find_private_imports(root) == [
        "b.py:2: _SECRET from ctc_helpers.a",
        "b.py:5: a._x (ctc_helpers.a._x)",
        "b.py:5: other._x (ctc_helpers.a._x)",
        "c/d.py:1: private module ctc_helpers.c._helpers",
    ]


def test_copies_of_the_vocabulary_are_found(tmp_path):
    root = _package(
        tmp_path,
        {
            "vocab.py": 'TOTAL = "all"\nFACTOR_KINDS = ("risk", "protective")\n',
            "a.py": """\
                '''("risk", "protective") in a docstring is text.'''
                CITY = "all"
                KINDS = ("risk", "protective", "behaviour")


                def f(table):
                    total: str = "all"
                    return table.isin(["protective", "risk"]), total
                """,
        },
    )
    assert find_vocabulary_copies(root) == [
        "a.py:2: CITY = 'all' (use TOTAL or CITY from ctc_helpers.vocab)",
        "a.py:3: ('risk', 'protective', 'behaviour') (use FACTOR_KINDS or MEASURE_KINDS from "
        "ctc_helpers.vocab)",
        "a.py:7: total = 'all' (use TOTAL or CITY from ctc_helpers.vocab)",
        "a.py:8: ['protective', 'risk'] (use FACTOR_KINDS or MEASURE_KINDS from ctc_helpers.vocab)",
    ]


def test_engines_importing_display_code_are_found(tmp_path):
    root = _package(
        tmp_path,
        {
            "views/tables.py": "def format_pct(x):\n    return x\n",
            "plots/profile.py": "",
            "survey/scoring.py": "from ctc_helpers.views.tables import format_pct\n",
            "phases/gaps/gaps.py": "def f():\n    from IPython.display import Markdown  # 1 s\n",
            "publish/build.py": "from ctc_helpers import plots\n",
            "publish/read.py": "from ctc_helpers.views import tables\n",  # not an engine
            "ingest/readers.py": "import ipywidgets\nfrom ctc_helpers.plots import profile\n",
            "privacy/suppress.py": "from ctc_helpers.dashboard.views import app\n",
            "dashboard/views.py": "app = 1\n",
        },
    )
    assert find_engine_display_imports(root) == [
        "ingest/readers.py:1: imports ipywidgets",
        "ingest/readers.py:2: imports ctc_helpers.plots.profile",
        "phases/gaps/gaps.py:2: imports IPython.display.Markdown",
        "privacy/suppress.py:1: imports ctc_helpers.dashboard.views.app",
        "publish/build.py:1: imports ctc_helpers.plots",
        "survey/scoring.py:1: imports ctc_helpers.views.tables.format_pct",
    ]


def test_long_modules_are_found(tmp_path):
    root = _package(tmp_path, {"big.py": "x = 1\n" * 601, "ok.py": "x = 1\n" * 600})
    assert find_long_modules(root) == ["big.py: 601 lines (limit 600)"]


def test_modules_missing_from_the_page_are_found(tmp_path):
    root = _package(tmp_path, {"stats.py": "", "survey/profile.py": "", "survey/scoring.py": ""})
    doc = tmp_path / "ARCHITECTURE.md"
    doc.write_text(
        "ctc_helpers/__init__.py; survey/: profile.py and ctc_helpers.survey.scoring_extra; "
        "mystats.py\n",
        encoding="utf-8",
    )
    assert find_undocumented_modules(root, doc) == [
        "stats.py: not named in ARCHITECTURE.md (write 'stats.py')",
        "survey/profile.py: not named in ARCHITECTURE.md (write 'survey/profile.py')",
        "survey/scoring.py: not named in ARCHITECTURE.md (write 'survey/scoring.py')",
    ]


def test_packages_loading_third_party_code_are_found(tmp_path):
    root = _package(
        tmp_path,
        {
            "dashboard/__init__.py": "from ctc_helpers.dashboard.server import app\n",
            "dashboard/server.py": "import heavylib\napp = heavylib\n",
            "views/__init__.py": "import json\n",
        },
    )
    (tmp_path / "heavylib.py").write_text("", encoding="utf-8")  # a third-party library
    assert find_heavy_packages(root) == ["ctc_helpers.dashboard: importing it loads heavylib"]


def test_stale_rows_of_the_api_table_are_found(tmp_path):
    root = _package(
        tmp_path,
        {
            "survey/screening.py": "def screen_respondents(x):\n    return x\n",
            "survey/scoring.py": "class Scores:\n    pass\n\nSCALE = 1\n",
            "views/frames.py": "def breakdown_frame():\n    pass\n",
        },
    )
    readme = tmp_path / "README.md"
    readme.write_text(
        "## For evaluators: the Python API\n\n| Module | Main functions |\n| --- | --- |\n"
        "| `ctc_helpers.survey.screening`, `scoring`, `views.frames` | `screen_respondents`, "
        "`Scores`, `SCALE`, `breakdown_frame` (take `ax=None`) |\n"
        "| `ctc_helpers.survey.gone` | `score_scales` |\n"
        "| `ctc_helpers.survey.scoring` | `score_scales`, `screen_respondents` |\n\n"
        "## Layout\n\n| `ctc_helpers.nothing` | `checked` |\n",
        encoding="utf-8",
    )
    assert find_stale_api_rows(readme, root) == [
        "README.md: no module 'ctc_helpers.survey.gone' (| `ctc_helpers.survey.gone` | "
        "`score_scales` |...)",
        "README.md: score_scales is not defined in ctc_helpers.survey.scoring",
        "README.md: screen_respondents is not defined in ctc_helpers.survey.scoring",
    ]


def test_stale_references_in_the_docs_are_found(tmp_path):
    root = _package(
        tmp_path, {"survey/profile.py": "from json import dumps\n\ndef aggregate():\n    pass\n"}
    )
    doc = tmp_path / "docs" / "README.md"
    doc.parent.mkdir()
    doc.write_text(
        "`ctc_helpers.survey.profile.aggregate(rows)` and ctc_helpers.survey.profile, "
        "ctc_helpers.survey.profile.dumps, ctc_helpers.survey.\n"
        "ctc_helpers.survey.profile.gone; ctc_helpers.views.tables.show; "
        "ctc_helpers.survey.profile.aggregate.x\n",
        encoding="utf-8",
    )
    assert find_stale_references([doc], root) == [
        "docs/README.md:2: ctc_helpers.survey.profile.gone",
        "docs/README.md:2: ctc_helpers.views.tables.show",
        "docs/README.md:2: ctc_helpers.survey.profile.aggregate.x",
    ]
