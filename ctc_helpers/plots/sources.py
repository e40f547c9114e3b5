"""What a report chart is drawn from, as checksums: the published folder's visible files and the
files or folders named by the chart's inputs (the programme inventory, the goal chains ...).

The chart cache (:mod:`ctc_helpers.plots.cache`) names a picture by them, and the report charts
(:mod:`ctc_helpers.plots.report_charts`) key their shared gap inputs by them, so that new data or
an edited input file is read and drawn anew.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ctc_helpers.fingerprint import file_sha256, folder_checksum
from ctc_helpers.paths import REPO_ROOT

__all__ = ["input_fingerprint", "data_checksum"]


def input_fingerprint(value: Any) -> Any:
    """A parameter value, with the checksum of the file or folder it names (if any).

    A relative path is looked for from the current folder, then from the repository root.
    Numbers, booleans and None are kept; anything else becomes text.

    >>> input_fingerprint(0.3), input_fingerprint("not a file"), input_fingerprint(None)
    (0.3, 'not a file', None)
    """
    if isinstance(value, str | Path) and str(value):
        for path in (Path(value), REPO_ROOT / value):
            if path.is_file():
                return [str(value), file_sha256(path)]
            if path.is_dir():
                return [str(value), folder_checksum(path)]
    return value if isinstance(value, int | float | bool | type(None)) else str(value)


def data_checksum(folder: Path) -> str:
    """The published folder's checksum, recomputed only when a visible file changed.

    A file's name, size and modification time (ns) stand for its contents between two calls;
    hidden files and folders (the chart cache ``.charts``) do not count.
    """
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
    ) if folder.is_dir() else []  # fmt: skip
    stamp = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _folder_checksum_at(str(folder.resolve()), stamp)


@lru_cache(maxsize=16)
def _folder_checksum_at(folder: str, stamp: tuple) -> str:
    return folder_checksum(Path(folder))
