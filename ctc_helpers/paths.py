"""Locations of the repository's declarative files and default folders (no I/O at import)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["REPO_ROOT", "SCHEMA_DIR", "SAMPLE_DIR", "REPORTS_DIR", "NOTEBOOKS_DIR", "CACHE_DIR"]

REPO_ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = REPO_ROOT / "data_schema"
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
REPORTS_DIR = REPO_ROOT / "reports"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
CACHE_DIR = REPO_ROOT / ".ctc" / "cache"
