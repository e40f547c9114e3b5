"""Checksums that decide whether something built earlier is still up to date.

- :func:`file_sha256`: one file.
- :func:`folder_checksum`: the visible files of a folder (names and contents); hidden files and
  everything under hidden folders (``.charts/``, the chart cache) are left out, so caches kept
  inside a published folder do not make its reports look out of date.
- :func:`workbench_fingerprint`: what shapes a report besides its notebook and data: the helper
  package (its ``*.py`` source and the templates kept beside it) and every visible file of
  ``data_schema/`` (texts in ``i18n.yaml``, labels, the programme bank, ...). It is taken from
  relative names and contents only, never from modification times or absolute paths, so a fresh
  clone computes the same value. ``ctc run`` computes it once per run and puts it into each
  report's up-to-date key.
- :func:`code_fingerprint`: the same, computed once per process (the chart cache's key).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from ctc_helpers.paths import PACKAGE_DIR, SCHEMA_DIR

__all__ = ["code_fingerprint", "file_sha256", "folder_checksum", "workbench_fingerprint"]


def file_sha256(path: Path) -> str:
    """The SHA-256 checksum of a file (hex)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_checksum(folder: Path) -> str:
    """One checksum over the names and contents of the visible files of a folder (recursive).

    A file counts as hidden when its name or the name of a folder on its way starts with ".".
    """
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            digest.update(f"{relative.as_posix()}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def _visible_files(folder: Path) -> list[Path]:
    """Files under ``folder`` (recursive) outside hidden folders and ``__pycache__``, not compiled."""
    return [
        path
        for path in folder.rglob("*")
        if path.is_file()
        and not any(
            part.startswith(".") or part == "__pycache__" for part in path.relative_to(folder).parts
        )
        and path.suffix not in {".pyc", ".pyo"}
    ]


def workbench_fingerprint(
    *, package_dir: Path | None = None, schema_dir: Path | None = None
) -> str:
    """Checksum of the helper package and the schema folder, from relative names and contents.

    Parameters
    ----------
    package_dir : Path, optional
        The ``ctc_helpers`` folder (default: the installed package). Every visible file counts
        (``*.py`` and the templates beside them), except ``__pycache__`` and compiled files.
    schema_dir : Path, optional
        The ``data_schema`` folder (default: the repository's). Every visible file counts.

    Examples
    --------
    >>> len(workbench_fingerprint()) == 64
    True
    """
    package_dir = Path(package_dir or PACKAGE_DIR)
    schema_dir = Path(schema_dir or SCHEMA_DIR)
    digest = hashlib.sha256()
    for label, folder in (("ctc_helpers", package_dir), ("data_schema", schema_dir)):
        for path in sorted(_visible_files(folder), key=lambda p: p.relative_to(folder)):
            name = f"{label}/{path.relative_to(folder).as_posix()}"
            digest.update(f"{name}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


@cache
def code_fingerprint() -> str:
    """:func:`workbench_fingerprint` computed once per process (long-lived processes such as the
    chart cache's users do not notice a later change; ``ctc run`` calls the uncached one)."""
    return workbench_fingerprint()
