"""The parameters a phase notebook declares, and checking the values the run file gives them.

A phase notebook's cell tagged ``parameters`` declares each parameter with a type and a default
(``low_reach: float = 0.3  # ...``). Two checks use it:

- :func:`check_parameter_types`, when the run file is read: every extra parameter of the run
  file (``parameters``, ``phase_parameters``, per-area ``overrides``) whose notebook declares it
  with a type must have a value of that type, so ``low_reach: "abc"`` is refused with the file,
  area, key and value before anything runs, not as a ``TypeError`` inside a report. The cell is
  read with :mod:`ast` (milliseconds), not papermill (1.4 s to import).
- :func:`check_parameters`, when a run starts: every parameter passed must be one that
  ``papermill.inspect_notebook`` reads, since papermill only warns about unknown parameters and a
  misspelt name would silently be ignored.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from pydantic import ConfigDict, TypeAdapter, ValidationError

from ctc_helpers.config.messages import ConfigFileError, Problem, Text

__all__ = [
    "Declared",
    "declared_parameters",
    "parameters_source",
    "check_parameter_types",
    "check_parameters",
    "notebook_defaults",
]

# Annotations checked; a tuple is checked as a list, since YAML (and papermill) give lists.
_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "list": list, "dict": dict,
          "tuple": list}  # fmt: skip


@dataclass(frozen=True)
class Declared:
    """One declared parameter: ``name``, its ``annotation`` as written (``""`` when none), the
    Python type it stands for (``None`` when it cannot be checked) and the declaring line."""

    name: str
    annotation: str
    kind: Any
    line: str

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` has the declared type (an int is a float; True is not an int)."""
        if self.kind is None:
            return True
        try:
            _adapter(self.kind).validate_python(value)
        except ValidationError:
            return False
        return True


@cache
def _adapter(kind: Any) -> TypeAdapter:
    return TypeAdapter(kind, config=ConfigDict(strict=True))


def parameters_source(notebook: Path) -> str | None:
    """The source of the cell tagged ``parameters`` (None when there is none)."""
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    for cell in cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            source = cell.get("source", "")
            return "".join(source) if isinstance(source, list) else source
    return None


def declared_parameters(notebook: Path) -> dict[str, Declared]:
    """The parameters a notebook declares with a type, by name (empty when it cannot be read).

    >>> from ctc_helpers.paths import REPO_ROOT
    >>> found = declared_parameters(REPO_ROOT / "notebooks" / "03_gap_analysis.ipynb")
    >>> found["low_reach"].annotation, found["low_reach"].accepts("abc")
    ('float', False)
    """
    try:
        source = parameters_source(notebook)
        tree = ast.parse(source or "")
    except (OSError, ValueError, SyntaxError):  # unreadable: check_parameters names it later
        return {}
    found = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            line = ast.get_source_segment(source, node) or node.target.id
            annotation = ast.unparse(node.annotation)
            found[node.target.id] = Declared(
                node.target.id, annotation, _type_of(node.annotation), line
            )
    return found


def _type_of(node: ast.AST) -> Any:
    """The type an annotation stands for, from a small safe set (None: not checked)."""
    if isinstance(node, ast.Constant) and node.value is None:
        return type(None)
    if isinstance(node, ast.Name):
        return _TYPES.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, right = _type_of(node.left), _type_of(node.right)
        return None if left is None or right is None else left | right
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        outer = _TYPES.get(node.value.id)
        inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        args = [
            ... if isinstance(a, ast.Constant) and a.value is ... else _type_of(a) for a in inner
        ]
        if node.value.id == "tuple" and len(args) == 2 and args[1] is ...:
            args = args[:1]  # tuple[X, ...]: a list of X
        if None in args or ... in args or outer not in (list, dict):
            return None
        return outer[tuple(args)] if len(args) > 1 else outer[args[0]]
    return None


def check_parameter_types(
    given: Iterable[tuple[str, Mapping[str, Any], Iterable[str]]], notebooks: Mapping[str, Path]
) -> list[Problem]:
    """Problems of parameter values whose notebooks declare another type.

    ``given`` holds ``(key path, {name: value}, phases)`` for each set of parameters of the run
    file; ``notebooks`` maps each phase to its notebook. A value is checked against every
    notebook of its phases that declares the name with a type; the first that refuses it is
    named.
    """
    problems = []
    for path, values, phases in given:
        declared = [(p, declared_parameters(notebooks[p])) for p in phases if p in notebooks]
        for name, value in values.items():
            for phase, params in declared:
                spec = params.get(name)
                if spec is not None and not spec.accepts(value):
                    problems.append(
                        Problem(
                            f"{path}.{name}",
                            "cfg_param_type",
                            {"notebook": phase, "expected": _expected(spec), "line": spec.line},
                            value,
                        )
                    )
                    break
    return problems


def _expected(spec: Declared) -> Any:
    """A plain word for the simple types ("a number (float)"), else the annotation as written."""
    simple = spec.annotation in ("int", "float", "str", "bool")
    return Text(f"cfg_type_{spec.annotation}") if simple else spec.annotation


# --------------------------------------------------------------------------------------------
# What papermill reads (the names a run may pass)


class _HasParameters(Protocol):
    notebook: Path
    parameters: Mapping[str, Any]


def check_parameters(jobs: Iterable[_HasParameters]) -> None:
    """Refuse any parameter that a job's notebook does not declare in its ``parameters`` cell.

    Raises
    ------
    ConfigFileError
        Naming the parameter, the notebook and the parameters it declares.
    """
    declared: dict[Path, dict] = {}
    for job in jobs:
        if job.notebook not in declared:
            declared[job.notebook] = _inspect(job.notebook)
        known = declared[job.notebook]
        unknown = [name for name in job.parameters if name not in known]
        if unknown:
            raise _unknown_parameter(job.notebook, unknown[0], known)


def notebook_defaults(notebook: Path) -> dict[str, Any]:
    """The default values of a notebook's parameters cell (those that are plain literals).

    Raises
    ------
    ConfigFileError
        If papermill cannot read the notebook.
    """
    defaults = {}
    for name, info in _inspect(notebook).items():
        try:
            defaults[name] = ast.literal_eval(info.get("default") or "")
        except (ValueError, SyntaxError):
            continue
    return defaults


def _inspect(notebook: Path) -> dict:
    import papermill  # 1.4 s to import (python -X importtime), so only when a run starts

    try:
        return papermill.inspect_notebook(str(notebook))
    except (ValueError, OSError) as exc:  # no kernelspec, not a notebook, unreadable
        raise _error("cfg_notebook_unreadable", notebook=str(notebook), detail=str(exc)) from None


def _error(key: str, **values: Any) -> ConfigFileError:
    return ConfigFileError("", [Problem("", key, values)])


def _unknown_parameter(notebook: Path, name: str, known: Iterable[str]) -> ConfigFileError:
    source = parameters_source(notebook)
    if source is None:
        return _error("cfg_notebook_no_parameters", notebook=notebook.name, name=name)
    for number, line in enumerate(source.splitlines(), 1):
        if re.match(rf"\s*{re.escape(name)}\s*(:[^=]*)?=", line):
            return _error(
                "cfg_notebook_bad_line", notebook=notebook.name, line=number, text=line.strip()
            )
    return _error(
        "cfg_notebook_unknown_parameter",
        notebook=notebook.name,
        name=name,
        known=list(known) or Text("cfg_none"),
    )
