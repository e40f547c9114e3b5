"""Locations of the repository's declarative files and default folders (no I/O at import)."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "REPO_ROOT", "SCHEMA_DIR", "SAMPLE_DIR", "REPORTS_DIR", "NOTEBOOKS_DIR", "CACHE_DIR",
    "resolve_path",
]  # fmt: skip

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
SCHEMA_DIR = REPO_ROOT / "data_schema"
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
REPORTS_DIR = REPO_ROOT / "reports"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
CACHE_DIR = REPO_ROOT / ".ctc" / "cache"


def resolve_path(path: str | Path) -> Path:
    """A relative path from the current folder when it exists there, else from the repository.

    >>> resolve_path("data_schema").name
    'data_schema'
    """
    candidate = Path(path).expanduser()
    if candidate.is_absolute() or candidate.exists():
        return candidate
    return REPO_ROOT / candidate
