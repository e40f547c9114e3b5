"""Files of the batch: atomic writes, the work folder, and the output folder's lock."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ctc_helpers.batch import files
from ctc_helpers.batch.files import (
    LOCK_FILE,
    WORK_DIR,
    FolderInUseError,
    OutputLock,
    clear_work_folder,
    locked_output,
    read_json,
    replace_into,
    work_folder,
    write_atomic,
)


def test_write_atomic_replaces_the_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "index.html"
    write_atomic(target, "old")
    assert write_atomic(target, "new – ny") == target
    assert target.read_text(encoding="utf-8") == "new – ny"
    assert sorted(p.name for p in target.parent.iterdir()) == ["index.html"]  # no temp left
    assert oct(target.stat().st_mode & 0o777) == "0o644"


def test_write_atomic_uses_the_work_folder(tmp_path: Path, monkeypatch) -> None:
    work = work_folder(tmp_path)
    seen: list[str] = []
    real_replace = os.replace

    def replace(source, target):
        seen.append(str(Path(source).parent))
        real_replace(source, target)

    monkeypatch.setattr(files.os, "replace", replace)
    write_atomic(tmp_path / "manifest.json", b"{}", work_dir=work)
    assert seen == [str(work)] and work.name == WORK_DIR
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_failed_write_names_the_file_and_leaves_the_old_one(tmp_path, monkeypatch, code):
    target = tmp_path / "manifest.json"
    target.write_text('{"old": true}', encoding="utf-8")

    class Full:
        def __init__(self, fd: int, mode: str) -> None:
            self.fd = fd

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            os.close(self.fd)

        def write(self, data):
            raise OSError(code, os.strerror(code))

    monkeypatch.setattr(files.os, "fdopen", Full)
    with pytest.raises(OSError) as caught:
        write_atomic(target, '{"new": true}')
    assert caught.value.errno == code and caught.value.filename == str(target)
    assert read_json(target) == {"old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


def test_write_atomic_in_a_missing_place_names_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(OSError) as caught:
        write_atomic(blocker / "reports" / "index.html", "x")
    assert caught.value.errno in (errno.ENOTDIR, errno.EEXIST)
    assert str(blocker) in str(caught.value.filename)


def test_replace_into_and_read_json(tmp_path: Path) -> None:
    source = tmp_path / "tmp.json"
    source.write_text('{"a": 1}', encoding="utf-8")
    target = replace_into(source, tmp_path / "out" / "a.json")
    assert read_json(target) == {"a": 1} and not source.exists()
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    assert read_json(tmp_path / "bad.json") is None
    assert read_json(tmp_path / "missing.json") is None


def test_clear_work_folder_removes_what_a_killed_run_left(tmp_path: Path) -> None:
    assert clear_work_folder(tmp_path) == 0
    work = work_folder(tmp_path)
    (work / "job-abc" / "files").mkdir(parents=True)
    (work / "job-abc" / "files" / "01.ipynb").write_text("half", encoding="utf-8")
    (work / ".index.html.x.tmp").write_text("half", encoding="utf-8")
    assert clear_work_folder(tmp_path) == 2
    assert list(work.iterdir()) == []


# --------------------------------------------------------------------------------------------
# The lock

_HOLDER = textwrap.dedent(
    """
    import sys, time
    from ctc_helpers.batch.files import OutputLock
    with OutputLock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(60)
    """
)


@pytest.fixture
def holder(tmp_path: Path):
    """Another process holding the lock of ``tmp_path / 'reports'``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path / "reports")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "locked"
    yield proc
    proc.kill()
    proc.wait()


def test_a_second_run_is_refused_naming_the_holder(tmp_path: Path, holder) -> None:
    started = time.perf_counter()
    with pytest.raises(FolderInUseError) as caught:
        OutputLock(tmp_path / "reports").__enter__()
    assert time.perf_counter() - started < 2  # fails fast
    record = json.loads((tmp_path / "reports" / LOCK_FILE).read_text(encoding="utf-8"))
    assert record["pid"] == holder.pid
    message = str(caught.value)
    assert f"process {holder.pid}, startad {record['started']}" in message
    assert str(tmp_path / "reports") in message and "--out" in message
    with pytest.raises(FolderInUseError, match=rf"in use by another run \(process {holder.pid}"):
        OutputLock(tmp_path / "reports", lang="en").__enter__()


def test_the_lock_is_free_again_when_its_holder_dies(tmp_path: Path, holder) -> None:
    holder.kill()
    holder.wait()
    with OutputLock(tmp_path / "reports") as lock:  # the kernel released the flock
        assert lock.holder()["pid"] == os.getpid()


def test_a_dead_batch_whose_workers_still_hold_the_lock_is_waited_for(tmp_path, monkeypatch):
    """A worker keeps a copy of the lock: the next run waits for it, then runs."""
    folder = tmp_path / "reports"
    folder.mkdir()
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, json.dumps({"pid": 2**22 + 12345, "started": "x"}).encode())  # no such process
    monkeypatch.setattr(files, "DEAD_HOLDER_WAIT", 0.5)
    with pytest.raises(FolderInUseError, match=r"process 4206649, startad x"):
        OutputLock(folder).__enter__()
    os.close(fd)  # the last worker ends
    with OutputLock(folder) as lock:
        assert lock.holder()["pid"] == os.getpid()


def test_the_lock_is_reentrant_in_one_process_and_clears_the_work_folder(tmp_path: Path) -> None:
    left = work_folder(tmp_path) / "job-old"
    left.mkdir()
    with locked_output(tmp_path) as outer:
        assert not left.exists()
        (work_folder(tmp_path) / "job-now").mkdir()
        with locked_output(tmp_path) as inner:  # run_batch -> run_reports
            assert inner.fd == outer.fd
            assert (tmp_path / WORK_DIR / "job-now").exists()  # not cleared by the inner one
    assert not files._HELD
