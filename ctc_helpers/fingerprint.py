"""Checksums that decide whether something built earlier is still up to date.

- :func:`file_sha256`: one file.
- :func:`folder_checksum`: the visible files of a folder (names and contents); hidden files and
  everything under hidden folders (``.charts/``, the chart cache) are left out, so caches kept
  inside a published folder do not make its reports look out of date.
- :func:`code_fingerprint`: the helper package's source and the schema files, so that a change of
  code or texts invalidates what was drawn with the old ones.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from ctc_helpers.paths import PACKAGE_DIR, SCHEMA_DIR

__all__ = ["code_fingerprint", "file_sha256", "folder_checksum"]


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


@cache
def code_fingerprint() -> str:
    """Checksum of ``ctc_helpers/**/*.py`` and ``data_schema/*.yaml`` (computed once per process)."""
    digest = hashlib.sha256()
    for path in [*sorted(PACKAGE_DIR.rglob("*.py")), *sorted(Path(SCHEMA_DIR).glob("*.yaml"))]:
        name = path.relative_to(path.parents[1] if path.suffix == ".yaml" else PACKAGE_DIR)
        digest.update(f"{name.as_posix()}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()
