"""The ``ctc`` command line: every exit code of the README's table and every message it prints
itself (file-system problems, internal errors and where their logs go).

``ctc run``'s own exit codes and console language are tested in ``tests/batch/test_command.py``;
the kill and second-run faults in ``tests/batch/test_faults.py``.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import pytest

from ctc_helpers import cli
from ctc_helpers.cli import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_UNUSABLE,
    describe_os_error,
    main,
)
from ctc_helpers.ingest import load as ingest_load

DATA = Path(__file__).resolve().parent / "data"
BAD = DATA / "bad"
MINI = DATA / "mini_instrument.yaml"
README = Path(__file__).resolve().parents[1] / "README.md"


def _ingest(*args: str) -> list[str]:
    return ["ingest", *args, "--instrument", str(MINI), "--areas", str(BAD / "areas.csv")]


def test_the_readme_documents_the_exit_codes() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| (\d+) +\| (.+?) +\|$", section, flags=re.M))
    assert set(rows) == {"0", "1", "2", "3", "130"}
    assert (EXIT_OK, EXIT_PROBLEMS, EXIT_UNUSABLE, EXIT_INTERNAL, EXIT_INTERRUPTED) == (
        0, 1, 2, 3, 130,
    )  # fmt: skip
    assert "--allow-quarantine" in rows["1"] and "quarantine" in rows["1"]
    assert "in use" in rows["2"] and "read-only" in rows["2"]
    assert "log" in rows["3"]


# --------------------------------------------------------------------------------------------
# 0 and 1: ctc ingest with and without quarantined rows


def test_ingest_exit_codes(tmp_path: Path) -> None:
    clean = main(_ingest(str(BAD / "cp1252.csv"), "--out", str(tmp_path / "clean")))
    assert clean == EXIT_OK
    out = tmp_path / "ingested"
    quarantined = main(_ingest(str(BAD / "unknown_area.csv"), "--out", str(out)))
    assert quarantined == EXIT_PROBLEMS
    assert (out / "quarantine.csv").is_file() and (out / "respondents.parquet").is_file()
    allowed = main(_ingest(str(BAD / "unknown_area.csv"), "--out", str(out), "--allow-quarantine"))
    assert allowed == EXIT_OK


# --------------------------------------------------------------------------------------------
# 2: bad input, and file-system problems that name the path and what to do


def test_bad_input_exits_2_without_traceback(capsys) -> None:
    code = main(["validate", str(BAD / "missing_column.csv"), "--instrument", str(MINI),
                 "--areas", str(BAD / "areas.csv"), "--lang", "en"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == EXIT_UNUSABLE and captured.err.startswith("Error: ")
    assert "missing_column.csv" in captured.err and "Traceback" not in captured.err


def test_an_output_folder_under_a_file_exits_2_naming_it(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    code = main(_ingest(str(BAD / "cp1252.csv"), "--out", str(blocker / "out")))
    err = capsys.readouterr().err
    assert code == EXIT_UNUSABLE
    assert f"Fel: {blocker / 'out'} kan inte användas som mapp: där (eller längre upp" in err
    assert "Välj en annan sökväg och kör igen." in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("code", "swedish", "english"),
    [
        (errno.EACCES, "Behörighet saknas för {p}. Ge ditt konto rätt att läsa och skriva där",
         "Permission denied for {p}. Give your account the right to read and write there"),
        (errno.EROFS, "{p} ligger på en skrivskyddad disk. Välj en mapp på en skrivbar disk",
         "{p} is on a read-only disk. Choose a folder on a writable disk"),
        (errno.ENOSPC, "Disken är full: {p} kunde inte skrivas. Frigör utrymme",
         "The disk is full: {p} could not be written. Free some space"),
        (errno.ENOENT, "{p} finns inte. Kontrollera stavningen och vilken mapp du står i",
         "{p} does not exist. Check the spelling and the folder you are in"),
        (errno.ENOTDIR, "{p} kan inte användas som mapp: där (eller längre upp i sökvägen) finns",
         "{p} cannot be used as a folder: there is a file of that name there"),
        (errno.EISDIR, "{p} är en mapp, men här behövs en fil. Ange filens sökväg",
         "{p} is a folder, but a file is needed here. Give the file's path"),
        (errno.ELOOP, "{p} kunde inte läsas eller skrivas (Too many levels of symbolic links)",
         "{p} could not be read or written (Too many levels of symbolic links)"),
    ],
)  # fmt: skip
def test_every_file_system_message_names_the_path(code, swedish, english) -> None:
    exc = OSError(code, os.strerror(code), "/data/reports")
    assert describe_os_error(exc, "sv").startswith(swedish.format(p="/data/reports"))
    assert describe_os_error(exc, "en").startswith(english.format(p="/data/reports"))
    assert describe_os_error(exc, "sv").endswith("kör igen.")
    assert describe_os_error(exc, "en").endswith("run again.")


def test_a_full_disk_without_a_file_name_is_still_explained() -> None:
    message = describe_os_error(OSError(errno.ENOSPC, "No space left on device"), "en")
    assert message.startswith("The disk is full: a file could not be written.")
    assert describe_os_error(OSError(errno.ECONNREFUSED, "refused", "x"), "en") is None
    assert describe_os_error(OSError(errno.EACCES, "denied"), "en") is None  # no path: a fault


@pytest.mark.parametrize(
    ("code", "expected"),
    [(errno.EROFS, "ligger på en skrivskyddad disk"), (errno.ENOSPC, "Disken är full")],
)
def test_a_read_only_or_full_output_folder_exits_2(tmp_path, monkeypatch, capsys, code, expected):
    out = tmp_path / "ingested"

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(out / "respondents.parquet"))

    monkeypatch.setattr(ingest_load, "write_ingest", refuse)
    status = main(_ingest(str(BAD / "cp1252.csv"), "--out", str(out)))
    err = capsys.readouterr().err
    assert status == EXIT_UNUSABLE
    path = out / "respondents.parquet"
    shown = f"{path} {expected}" if code == errno.EROFS else f"{expected}: {path}"
    assert f"Fel: {shown}" in err and err.rstrip().endswith("och kör igen.")


# --------------------------------------------------------------------------------------------
# 3: internal errors, logged beside the command's own output; 130: Ctrl-C


def _raise(exc: BaseException):
    def handler(args):
        raise exc

    return handler


def test_an_internal_error_exits_3_with_a_log_beside_the_output(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(ingest_load, "command_ingest", _raise(RuntimeError("boom")))
    code = main(_ingest(str(BAD / "cp1252.csv"), "--out", str(tmp_path / "out"), "--lang", "en"))
    err = capsys.readouterr().err
    logs = list((tmp_path / "out" / "logs").glob("error-*.log"))
    assert code == EXIT_INTERNAL and len(logs) == 1
    assert "RuntimeError: boom" in logs[0].read_text(encoding="utf-8")
    assert (
        f"An unexpected error occurred (RuntimeError); it is a fault in the tool, not in your"
        f" files. Details were saved in {logs[0]}; send that file to" in err
    )
    assert "Traceback" not in err


def test_without_an_output_folder_the_log_goes_to_the_current_folder(tmp_path, monkeypatch,
                                                                       capsys):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ingest_load, "command_validate", _raise(ValueError("bug")))
    code = main(["validate", "x.csv"])
    logs = list((tmp_path / ".ctc" / "logs").glob("error-*.log"))
    assert code == EXIT_INTERNAL and len(logs) == 1
    assert f"Detaljer har sparats i {logs[0]}" in capsys.readouterr().err


def test_an_unwritable_log_folder_falls_back_to_the_temporary_folder(tmp_path, monkeypatch,
                                                                      capsys):  # fmt: skip
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.chdir(blocker.parent)
    monkeypatch.setattr(cli, "LOG_FOLDER", Path("file") / "logs")  # under a file: cannot be made
    monkeypatch.setattr(cli.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    monkeypatch.setattr(ingest_load, "command_validate", _raise(ValueError("bug")))
    assert main(["validate", "x.csv"]) == EXIT_INTERNAL
    assert len(list((tmp_path / "tmp" / "ctc-logs").glob("error-*.log"))) == 1


def test_an_os_error_without_a_path_is_an_internal_error(monkeypatch, capsys) -> None:
    monkeypatch.setattr(ingest_load, "command_validate", _raise(ConnectionRefusedError(111, "x")))
    monkeypatch.setattr(cli, "_log_unexpected", lambda exc, args: Path("/logs/e.log"))
    assert main(["validate", "x.csv"]) == EXIT_INTERNAL
    assert "(ConnectionRefusedError)" in capsys.readouterr().err


def test_ctrl_c_exits_130(monkeypatch) -> None:
    monkeypatch.setattr(ingest_load, "command_validate", _raise(KeyboardInterrupt()))
    assert main(["validate", "x.csv"]) == EXIT_INTERRUPTED
