"""Reading a YAML file a user edits: size limit, alias limit, encoding and syntax, in sv and en.

Every loader of :mod:`ctc_helpers.config` reads its file here, so that an unreadable, too large,
alias-bombed, non-UTF-8 or syntactically broken file gets the same clear message naming the file
(the limits themselves are in :mod:`ctc_helpers.config.yaml_load`).

>>> from ctc_helpers.paths import SCHEMA_DIR
>>> raw, content = read_yaml_file(SCHEMA_DIR / "priorities.yaml", what="schema")
>>> raw["table"], len(content) > 0
('priorities', True)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ctc_helpers.config.messages import ConfigFileError, Problem, Text
from ctc_helpers.config.yaml_load import (
    MAX_YAML_BYTES,
    YamlDuplicateKeyError,
    YamlLimitError,
    load_yaml,
)
from ctc_helpers.errors import ConfigError, CTCError
from ctc_helpers.i18n import t

__all__ = ["WHAT", "read_bytes", "parse_yaml", "read_yaml_file", "file_error"]

# Kinds of file, for "Cannot read <the run file> ...": text keys cfg_what_<kind>.
WHAT = (
    "run_file", "instrument", "schema", "goal_chain", "programme_bank", "programme_file",
    "glossary", "priorities", "checklist", "implementation_plan", "cutpoints",
)  # fmt: skip
_REASONS = {FileNotFoundError: "cfg_reason_missing", PermissionError: "cfg_reason_permission",
            IsADirectoryError: "cfg_reason_folder"}  # fmt: skip


def file_error(key: str, /, **values: Any) -> ConfigFileError:
    """A problem with a file as a whole (its text names the file itself)."""
    return ConfigFileError("", [Problem("", key, values)])


def read_bytes(path: str | Path, *, what: str, max_bytes: int = MAX_YAML_BYTES) -> bytes:
    """The content of a file, refused (without reading it) when larger than ``max_bytes``.

    Raises
    ------
    ConfigFileError
        The file cannot be read (named with the kind of file ``what`` and the reason) or is too
        large (its size and the limit in MB).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_big(path.name, size, max_bytes)
        return path.read_bytes()
    except OSError as exc:
        known = _REASONS.get(type(exc))
        reason = Text(known) if known else exc.strerror or type(exc).__name__
        raise file_error(
            "cfg_cannot_read", what=Text(f"cfg_what_{_what(what)}"), where=str(path), reason=reason
        ) from None


def parse_yaml(content: bytes | str, *, name: str, max_bytes: int = MAX_YAML_BYTES) -> Any:
    """Parse a file's content (UTF-8) within the limits; ``name`` is the file name in messages.

    Raises
    ------
    ConfigFileError
        Not UTF-8, too large, too many alias expansions, a self-referring alias, a key written
        twice in one mapping (both lines named), or not valid YAML (with the line and column).
    """
    try:
        text = content.decode("utf-8") if isinstance(content, bytes) else content
        return load_yaml(text, max_bytes=max_bytes)
    except UnicodeDecodeError as exc:
        raise file_error("cfg_not_utf8", file=name, position=exc.start + 1) from None
    except YamlLimitError as exc:
        raise _limit_error(name, exc) from None
    except YamlDuplicateKeyError as exc:
        raise file_error(
            "cfg_duplicate_key", file=name, line=exc.line, key=exc.key, first=exc.first_line
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise file_error(
            "cfg_not_yaml",
            file=name,
            line=mark.line + 1 if mark else "?",
            column=mark.column + 1 if mark else "?",
            problem=getattr(exc, "problem", None) or str(exc),
        ) from None


def read_yaml_file(
    path: str | Path, *, what: str, max_bytes: int = MAX_YAML_BYTES
) -> tuple[Any, bytes]:
    """Read and parse a user's YAML file: ``(data, content)`` (the bytes, e.g. for a checksum).

    Raises
    ------
    ConfigFileError
        See :func:`read_bytes` and :func:`parse_yaml`.
    """
    content = read_bytes(path, what=what, max_bytes=max_bytes)
    return parse_yaml(content, name=Path(path).name, max_bytes=max_bytes), content


def _what(kind: str) -> str:
    return kind if kind in WHAT else "schema"


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f}".rstrip("0").rstrip(".")


def _too_big(name: str, size: int, limit: int) -> ConfigFileError:
    return file_error("cfg_too_big", file=name, size=_mb(size), limit=_mb(limit))


def _limit_error(name: str, exc: YamlLimitError) -> ConfigFileError:
    if exc.kind == "size":
        return _too_big(name, exc.amount, exc.limit)
    if exc.kind == "recursive_alias":
        return file_error("cfg_alias_recursive", file=name, line=exc.line)
    return file_error("cfg_alias_bomb", file=name, limit=exc.limit, line=exc.line)


def read_csv_text(
    path: Path,
    *,
    lang: str | None = None,
    error: type[CTCError] = ConfigError,
    unreadable: str = "ingest_unreadable",
) -> pd.DataFrame:
    """A small CSV file a user keeps (area list, enrolment, readiness scores), every value as
    text and nothing read as missing.

    Raises
    ------
    CTCError
        Of type ``error``: the file is not UTF-8 (the byte named, counted from 1), or cannot be
        read as a table (missing, empty, broken quoting), with the text ``unreadable``
        (placeholders ``file`` and ``detail``), in ``lang``.
    """
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(t("cfg_not_utf8", lang, file=path.name, position=exc.start + 1)) from None
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise error(t(unreadable, lang, file=path.name, detail=detail)) from None
