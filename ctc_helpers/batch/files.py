"""Files of the batch: writes a reader never sees half done, and one run per output folder.

Everything the batch puts into the output folder (reports, notebooks, build stamps, the index
page, the manifest) is written to a temporary file first and then moved into place with
:func:`os.replace`, which is atomic on one file system. The temporary files live in the output
folder's work folder ``.ctc-partial/`` (same file system, hidden from the index and from
``glob``); a run that was killed leaves it behind and the next run removes it
(:func:`clear_work_folder`) while it holds the folder's lock.

:class:`OutputLock` is that lock: an exclusive ``flock`` on ``.ctc-run.lock`` in the output
folder, naming its holder (process id and start time). The kernel releases it when the holder
dies, whatever kills it; the report workers keep a copy of the lock's file descriptor, so a
folder stays locked until the last worker of a killed run has stopped.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> write_atomic(folder / "a.json", '{"x": 1}').name
'a.json'
>>> read_json(folder / "a.json")
{'x': 1}
>>> with OutputLock(folder) as lock:
...     lock.holder()["pid"] == os.getpid()
True
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from ctc_helpers.errors import CTCError
from ctc_helpers.i18n import check_language

__all__ = [
    "LOCK_FILE",
    "WORK_DIR",
    "FolderInUseError",
    "OutputLock",
    "clear_work_folder",
    "locked_output",
    "read_json",
    "replace_into",
    "work_folder",
    "write_atomic",
]

WORK_DIR = ".ctc-partial"  # temporary files of a run, inside the output folder
LOCK_FILE = ".ctc-run.lock"
DEAD_HOLDER_WAIT = 15.0  # seconds to wait for the workers of a run whose batch has died

_TEXTS = {
    "in_use": {
        "sv": "Rapportmappen {folder} används redan av en annan körning (process {pid}, startad"
        " {started}). Vänta tills den är klar, eller välj en annan mapp med --out.",
        "en": "The reports folder {folder} is in use by another run (process {pid}, started"
        " {started}). Wait until it has finished, or choose another folder with --out.",
    },
    "unknown": {"sv": "okänd", "en": "unknown"},
}


class FolderInUseError(CTCError):
    """Another run holds the output folder's lock (the message names its process and start)."""


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON file's content, or None when it is missing or not valid JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def work_folder(output_dir: Path) -> Path:
    """The output folder's work folder for temporary files (created when missing)."""
    folder = Path(output_dir) / WORK_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_atomic(path: str | Path, data: str | bytes, *, work_dir: Path | None = None) -> Path:
    """Write ``data`` to ``path`` so that a reader sees the old file or the whole new one.

    The data go to a temporary file in ``work_dir`` (default: beside ``path``, hidden), which
    is then moved over ``path``. ``work_dir`` must be on the same file system as ``path``.
    An :class:`OSError` (disk full, read-only folder) names ``path`` and leaves no temporary
    file behind.
    """
    path = Path(path)
    folder = Path(work_dir) if work_dir is not None else path.parent
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(exc.filename or path)) from exc
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(raw)
        os.chmod(temporary, 0o644)  # readable like any report (mkstemp gives 0600)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    return path


def replace_into(source: Path, target: Path) -> Path:
    """Move a finished file (written in the work folder) over ``target`` in one step."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(source, 0o644)
    os.replace(source, target)
    return target


def clear_work_folder(output_dir: Path) -> int:
    """Remove what earlier runs left in the work folder (a killed run); the number of entries.

    Call it only while holding the folder's :class:`OutputLock`: a running batch keeps its
    job folders there.
    """
    folder = Path(output_dir) / WORK_DIR
    if not folder.is_dir():
        return 0
    entries = list(folder.iterdir())
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    return len(entries)


# --------------------------------------------------------------------------------------------
# One run per output folder

_HELD: dict[Path, list[Any]] = {}  # folder -> [OutputLock, depth]: re-entrant in one process


class OutputLock:
    """An exclusive lock on an output folder for one run (re-entrant within a process).

    Parameters
    ----------
    output_dir : path
        The folder (created when missing).
    lang : {"sv", "en"}
        Language of the message when another run holds the folder.

    Raises
    ------
    FolderInUseError
        On entering, when another living run holds the folder.
    OSError
        When the folder or its lock file cannot be created (read-only, full, a file in the
        way ...); ``filename`` is the path that failed.
    """

    def __init__(self, output_dir: str | Path, *, lang: str = "sv") -> None:
        self.folder = Path(output_dir).resolve()
        self.path = self.folder / LOCK_FILE
        self.lang = check_language(lang)
        self.fd: int | None = None

    def __enter__(self) -> OutputLock:
        held = _HELD.get(self.folder)
        if held is not None:
            held[1] += 1
            self.fd = held[0].fd
            return self
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:  # name the folder the user chose, not the hidden lock file
            named = exc.filename if exc.filename not in (None, str(self.path)) else self.folder
            raise OSError(exc.errno, exc.strerror, str(named)) from exc
        try:
            self._acquire(fd)
            self._record(fd)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        _HELD[self.folder] = [self, 1]
        return self

    def __exit__(self, *exc: object) -> None:
        held = _HELD[self.folder]
        held[1] -= 1
        if held[1] == 0:
            del _HELD[self.folder]
            os.close(held[0].fd)  # releases the lock (the workers' copies are closed by now)
        self.fd = None

    def holder(self) -> dict[str, Any]:
        """What the lock file says of the run holding it: ``pid``, ``started``, ``argv``."""
        return read_json(self.path) or {}

    def _acquire(self, fd: int) -> None:
        deadline = None
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                holder = self.holder()
                if _alive(holder.get("pid")):
                    raise self._in_use(holder) from None
                # the batch is gone; its workers are still stopping (they hold the lock)
                deadline = deadline or time.monotonic() + DEAD_HOLDER_WAIT
                if time.monotonic() > deadline:
                    raise self._in_use(holder) from None
                time.sleep(0.2)

    def _record(self, fd: int) -> None:
        record = {
            "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "argv": list(sys.argv),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode("utf-8"), 0)

    def _in_use(self, holder: dict[str, Any]) -> FolderInUseError:
        unknown = _TEXTS["unknown"][self.lang]
        return FolderInUseError(
            _TEXTS["in_use"][self.lang].format(
                folder=self.folder,
                pid=holder.get("pid", unknown),
                started=holder.get("started", unknown),
            )
        )


def _alive(pid: Any) -> bool:
    """True when the process runs (a zombie has stopped; it only waits for its parent)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@contextlib.contextmanager
def locked_output(output_dir: Path, *, lang: str = "sv") -> Iterator[OutputLock]:
    """``with locked_output(folder):`` hold the folder for a run and clear its work folder."""
    with OutputLock(output_dir, lang=lang) as lock:
        if _HELD[lock.folder][1] == 1:
            clear_work_folder(lock.folder)
        yield lock
