"""The ``ctc`` command line: it parses arguments, hands them to the modules and turns what
went wrong into an exit code and one clear message.

Each sub-command is implemented by a function ``command_<name>(args) -> int`` in the module that
owns the work; the registry below names it. Errors the user can fix are printed as one clear
message (Swedish by default, ``--lang en`` for English; ``ctc run`` also follows the run file's
``lang``) without a traceback. Exit codes (the README's table):

====  =====================================================================================
0     all good
1     finished, with quarantined rows (unless ``--allow-quarantine``) or failed reports
2     nothing done: bad input or configuration, a file or folder that cannot be read or
      written (the message names it and says what to do), an output folder in use
3     internal error: the traceback is saved in a log file beside the run's cache
130   interrupted (Ctrl-C)
====  =====================================================================================
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
import tempfile
import traceback
from datetime import datetime
from pathlib import Path

from ctc_helpers.errors import CTCError
from ctc_helpers.i18n import LANGUAGES, check_language, default_language, t
from ctc_helpers.paths import REPO_ROOT

__all__ = [
    "COMMANDS",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PROBLEMS",
    "EXIT_UNUSABLE",
    "build_parser",
    "describe_os_error",
    "main",
]

EXIT_OK, EXIT_PROBLEMS, EXIT_UNUSABLE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
LOG_FOLDER = Path(".ctc") / "logs"  # under the current folder, when a command names no other

# File-system problems a user can fix: errno -> text key
_FILE_PROBLEMS = {
    errno.EACCES: "fs_denied", errno.EPERM: "fs_denied", errno.EROFS: "fs_read_only",
    errno.ENOSPC: "fs_full", errno.EDQUOT: "fs_full", errno.ENOENT: "fs_missing",
    errno.ENOTDIR: "fs_not_folder", errno.EEXIST: "fs_not_folder", errno.EISDIR: "fs_folder",
    errno.ENAMETOOLONG: "fs_other", errno.ELOOP: "fs_other",
}  # fmt: skip

_TEXTS = {
    "fs_denied": {
        "sv": "Behörighet saknas för {path}. Ge ditt konto rätt att läsa och skriva där, eller"
        " välj en annan mapp (till exempel med --out), och kör igen.",
        "en": "Permission denied for {path}. Give your account the right to read and write"
        " there, or choose another folder (for example with --out), and run again.",
    },
    "fs_read_only": {
        "sv": "{path} ligger på en skrivskyddad disk. Välj en mapp på en skrivbar disk (till"
        " exempel med --out) och kör igen.",
        "en": "{path} is on a read-only disk. Choose a folder on a writable disk (for example"
        " with --out) and run again.",
    },
    "fs_full": {
        "sv": "Disken är full: {path} kunde inte skrivas. Frigör utrymme, eller välj en mapp på"
        " en annan disk (till exempel med --out), och kör igen.",
        "en": "The disk is full: {path} could not be written. Free some space, or choose a"
        " folder on another disk (for example with --out), and run again.",
    },
    "fs_missing": {
        "sv": "{path} finns inte. Kontrollera stavningen och vilken mapp du står i, och kör igen.",
        "en": "{path} does not exist. Check the spelling and the folder you are in, and run again.",
    },
    "fs_not_folder": {
        "sv": "{path} kan inte användas som mapp: där (eller längre upp i sökvägen) finns en fil"
        " med samma namn. Välj en annan sökväg och kör igen.",
        "en": "{path} cannot be used as a folder: there is a file of that name there (or higher"
        " up in the path). Choose another path and run again.",
    },
    "fs_folder": {
        "sv": "{path} är en mapp, men här behövs en fil. Ange filens sökväg och kör igen.",
        "en": "{path} is a folder, but a file is needed here. Give the file's path and run again.",
    },
    "fs_other": {
        "sv": "{path} kunde inte läsas eller skrivas ({reason}). Kontrollera sökvägen och kör"
        " igen.",
        "en": "{path} could not be read or written ({reason}). Check the path and run again.",
    },
    "unknown_file": {"sv": "en fil", "en": "a file"},
    "internal_error": {
        "sv": "Ett oväntat fel inträffade ({kind}); det är ett fel i verktyget, inte i dina"
        " filer. Detaljer har sparats i {log}; skicka filen till den som förvaltar verktyget.",
        "en": "An unexpected error occurred ({kind}); it is a fault in the tool, not in your"
        " files. Details were saved in {log}; send that file to whoever maintains the tool.",
    },
}

# sub-command -> (module, function, help text)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": (
        "ctc_helpers.ingest.project",
        "command_validate",
        "check survey files, or a whole project (--config), without writing anything",
    ),
    "ingest": (
        "ctc_helpers.ingest.load",
        "command_ingest",
        "validate survey files and store them as Parquet",
    ),
    "init": ("ctc_helpers.config.project", "command_init", "write a new project folder"),
    "map": (
        "ctc_helpers.ingest.mapping",
        "command_map",
        "apply a mapping file to a survey export (written to a new file)",
    ),
    "demo-data": (
        "ctc_helpers.demo.synth",
        "command_demo_data",
        "regenerate the synthetic demo city",
    ),
    "run": ("ctc_helpers.batch.command", "command_run", "run the per-area report batch"),
    "dashboard": (
        "ctc_helpers.dashboard.server",
        "command_dashboard",
        "serve the Voilà dashboards",
    ),
}


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=LANGUAGES, default=None, help="language of messages")
    parser.add_argument("--instrument", type=Path, default=None, help="instrument YAML file")


def _add_files(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files", nargs="+", type=Path, help="survey files (CSV, xlsx, sav, parquet)"
    )
    parser.add_argument("--areas", type=Path, default=None, help="area list CSV")
    parser.add_argument("--sheet", default=None, help="Excel sheet name (default: the first)")


def _add_validate(parser: argparse.ArgumentParser) -> None:
    _add_files(parser)
    parser.set_defaults(config=None)


def _add_validate_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files", nargs="*", type=Path, help="survey files (CSV, xlsx, sav, parquet)"
    )
    parser.add_argument("--areas", type=Path, default=None, help="area list CSV")
    parser.add_argument("--sheet", default=None, help="Excel sheet name (default: the first)")
    parser.add_argument("--config", type=Path, default=None, help="run file: check the project")


def _add_init(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, help="new project folder")


def _add_map(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("export", type=Path, help="survey export (CSV, xlsx, sav, parquet)")
    parser.add_argument("--mapping", type=Path, required=True, help="mapping file (YAML)")
    parser.add_argument("--out", type=Path, required=True, help="mapped table (.parquet)")


def _add_allow_quarantine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-quarantine",
        action="store_true",
        help="exit 0 even when rows were quarantined (default: exit code 1)",
    )


def _add_ingest(parser: argparse.ArgumentParser) -> None:
    _add_validate(parser)
    parser.add_argument("--out", type=Path, default=None, help="output folder")
    _add_allow_quarantine(parser)


def _add_demo_data(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default data/sample)"
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: documented)")
    parser.add_argument("--respondents", type=int, default=None, help="respondents per wave")


def _add_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "reports" / "run.yaml")
    parser.add_argument("--areas", nargs="*", default=None, help="area ids (default: all)")
    parser.add_argument(
        "--waves", nargs="*", type=int, default=None, help="waves (default: latest)"
    )
    parser.add_argument("--phases", nargs="*", default=None, help="phase notebooks to run")
    parser.add_argument(
        "--workers", type=int, default=None, help="parallel workers (default: cores)"
    )
    parser.add_argument("--timeout", type=int, default=None, help="seconds allowed per notebook")
    parser.add_argument("--scheduler", default=None, help="Dask scheduler address")
    parser.add_argument("--out", type=Path, default=None, help="reports folder")
    parser.add_argument("--force", action="store_true", help="rebuild reports that are up to date")
    _add_allow_quarantine(parser)


def _add_dashboard(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8866)
    parser.add_argument("--reports", type=Path, default=None, help="reports folder of a run")
    parser.add_argument(
        "--token-file", type=Path, default=None,
        help="file holding the token required beyond localhost (or set CTC_DASHBOARD_TOKEN)",
    )  # fmt: skip
    parser.add_argument("--token", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--ip", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--max-kernels", type=int, default=None, help="pages served at once (default 24)"
    )
    parser.add_argument(
        "--idle-minutes", type=float, default=None, help="close unused pages after (default 15)"
    )


_ARGUMENTS = {
    "validate": _add_validate_command,
    "init": _add_init,
    "map": _add_map,
    "ingest": _add_ingest,
    "demo-data": _add_demo_data,
    "run": _add_run,
    "dashboard": _add_dashboard,
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ctc`` with one sub-parser per registered command."""
    parser = argparse.ArgumentParser(prog="ctc", description="CTC workbench")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, _, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text)
        _add_common(command)
        _ARGUMENTS[name](command)
    return parser


def describe_os_error(exc: OSError, lang: str = "sv") -> str | None:
    """A message naming the path and what to do for a file-system problem a user can fix, or
    None when the error is not one (a fault in the tool).

    >>> describe_os_error(FileNotFoundError(2, "No such file", "data/x.csv"), "en")
    'data/x.csv does not exist. Check the spelling and the folder you are in, and run again.'
    """
    key = _FILE_PROBLEMS.get(exc.errno)
    if key is None or (exc.filename is None and key != "fs_full"):
        return None
    lang = check_language(lang)
    path = exc.filename if exc.filename is not None else _TEXTS["unknown_file"][lang]
    return _TEXTS[key][lang].format(path=path, reason=exc.strerror)


def _log_folders(args: argparse.Namespace) -> list[Path]:
    """Where an unexpected error's log goes: the folder the command named (``ctc run``: the
    run's cache; ``ctc ingest``: its output folder), else ``.ctc/logs`` in the current folder,
    else the system's temporary folder."""
    named = getattr(args, "log_dir", None)
    if named is None and args.command == "ingest" and getattr(args, "out", None) is not None:
        named = Path(args.out) / "logs"
    folders = [Path(named)] if named is not None else []
    return [*folders, Path.cwd() / LOG_FOLDER, Path(tempfile.gettempdir()) / "ctc-logs"]


def _log_unexpected(exc: BaseException, args: argparse.Namespace) -> Path | None:
    text = "".join(traceback.format_exception(exc))
    name = f"error-{datetime.now():%Y%m%d-%H%M%S}.log"
    for folder in _log_folders(args):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
        except OSError:
            continue
        return folder / name
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ctc`` console script; returns the exit code (module docstring)."""
    args = build_parser().parse_args(argv)
    args.lang_explicit = args.lang is not None
    args.lang = args.lang or default_language()
    module_name, function_name, _ = COMMANDS[args.command]
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
        return int(handler(args) or 0)
    except CTCError as exc:
        print(f"{t('error_prefix', args.lang)}: {exc.text(args.lang)}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except OSError as exc:
        message = describe_os_error(exc, args.lang)
        if message is None:
            return _internal_error(exc, args)
        print(f"{t('error_prefix', args.lang)}: {message}", file=sys.stderr)
        return EXIT_UNUSABLE
    except Exception as exc:  # noqa: BLE001 - last resort: never show a traceback to a user
        return _internal_error(exc, args)


def _internal_error(exc: BaseException, args: argparse.Namespace) -> int:
    log = _log_unexpected(exc, args)
    shown = log if log is not None else "-"
    print(_TEXTS["internal_error"][args.lang].format(kind=type(exc).__name__, log=shown),
          file=sys.stderr)  # fmt: skip
    return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
