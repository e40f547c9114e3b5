"""The ``ctc`` command line: it only parses arguments and hands them to the modules.

Each sub-command is implemented by a function ``command_<name>(args) -> int`` in the module that
owns the work; the registry below names it. Errors the user can fix are printed as one clear
message (Swedish by default, ``--lang en`` for English) without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from datetime import datetime
from pathlib import Path

from ctc_helpers.errors import CTCError
from ctc_helpers.i18n import LANGUAGES, default_language, t
from ctc_helpers.paths import REPO_ROOT

__all__ = ["main", "build_parser", "COMMANDS"]

# sub-command -> (module, function, help text)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": (
        "ctc_helpers.ingest.load",
        "command_validate",
        "check survey files without writing anything",
    ),
    "ingest": (
        "ctc_helpers.ingest.load",
        "command_ingest",
        "validate survey files and store them as Parquet",
    ),
    "demo-data": (
        "ctc_helpers.demo.synth",
        "command_demo_data",
        "regenerate the synthetic demo city",
    ),
    "run": ("ctc_helpers.batch.run", "command_run", "run the per-area report batch"),
    "dashboard": (
        "ctc_helpers.dashboard.server",
        "command_dashboard",
        "serve the Voilà dashboards",
    ),
}


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=LANGUAGES, default=None, help="language of messages")
    parser.add_argument("--instrument", type=Path, default=None, help="instrument YAML file")


def _add_validate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files", nargs="+", type=Path, help="survey files (CSV, xlsx, sav, parquet)"
    )
    parser.add_argument("--areas", type=Path, default=None, help="area list CSV")
    parser.add_argument("--sheet", default=None, help="Excel sheet name (default: the first)")


def _add_ingest(parser: argparse.ArgumentParser) -> None:
    _add_validate(parser)
    parser.add_argument("--out", type=Path, default=None, help="output folder")


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


def _add_dashboard(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8866)
    parser.add_argument("--reports", type=Path, default=None, help="reports folder of a run")
    parser.add_argument(
        "--token", default=None, help="require this token (serving beyond localhost)"
    )
    parser.add_argument("--ip", default="127.0.0.1", help="address to bind (default 127.0.0.1)")


_ARGUMENTS = {
    "validate": _add_validate,
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


def _log_unexpected(exc: BaseException) -> Path:
    log_dir = REPO_ROOT / ".ctc" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"error-{datetime.now():%Y%m%d-%H%M%S}.log"
    log.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    return log


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ctc`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    lang = args.lang or default_language()
    args.lang = lang
    module_name, function_name, _ = COMMANDS[args.command]
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
        return int(handler(args) or 0)
    except CTCError as exc:
        print(f"{t('error_prefix', lang)}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: never show a traceback to a user
        log = _log_unexpected(exc)
        print(t("internal_error", lang, kind=type(exc).__name__, log=log), file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
