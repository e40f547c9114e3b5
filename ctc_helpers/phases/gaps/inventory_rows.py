"""The rows of a programme inventory, read as text and checked cell by cell against
``data_schema/inventory.yaml``: every problem is named with the file, row, column (as the user
wrote its header) and value, in Swedish or English, so a bad row can go to the rejected table
with its reasons instead of stopping the whole file.

Part of the resource and gap analysis: :func:`ctc_helpers.phases.gaps.inventory.load_inventory`
uses these steps; :func:`read_text_table` also reads the enrolment file.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctc_helpers.config.inventory import NO_BANK_ID, InventorySchema, normalise, parse_target
from ctc_helpers.config.programme_bank import ProgrammeBank
from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import t
from ctc_helpers.ingest.readers import read_table
from ctc_helpers.ingest.values import UNNAMED_PREFIX

__all__ = [
    "RowChecker",
    "read_text_table",
    "canonical_columns",
    "check_rows",
    "duplicate_problems",
    "malformed_problems",
    "rejected_rows",
]


def read_text_table(path: Path, *, sheet: str | None, lang: str) -> tuple[pd.DataFrame, dict]:
    """The file as stripped text cells with its header (:func:`ctc_helpers.ingest.readers.read_table`).

    The frame's ``row`` column is the row number as the user sees it (header = row 1).
    ``info`` is read_table's (``blank_rows``, ``malformed_rows`` ...). File errors raise
    :class:`InputFileError` with read_table's message.
    """
    frame, info = read_table(path, sheet=sheet, lang=lang)
    unnamed = [i for i, c in enumerate(frame.columns) if str(c).startswith(UNNAMED_PREFIX)]
    if unnamed:
        raise InputFileError(t("inv_column_no_name", lang, file=path.name, number=unnamed[0] + 1))
    text = frame.astype(object).map(_cell_text)
    return text.assign(row=[int(i) for i in frame.index]).reset_index(drop=True), info


def _cell_text(value: Any) -> str:
    """A cell as text: Excel dates as YYYY-MM-DD, whole floats without decimals, NA as ""."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def canonical_columns(
    frame: pd.DataFrame, schema: InventorySchema, file: str, lang: str
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename the file's headers to the schema's column names; returns the frame and
    a map column name -> header as written."""
    names = {h: schema.header_map.get(normalise(h)) for h in frame.columns if h != "row"}
    unknown = [h for h, name in names.items() if name is None]
    if unknown:
        raise InputFileError(
            t(
                "inv_unknown_columns",
                lang,
                file=file,
                columns=", ".join(unknown),
                allowed=", ".join(schema.column_names),
            )
        )
    written: dict[str, str] = {}
    for header, name in names.items():
        if name in written:
            raise InputFileError(
                t(
                    "inv_duplicate_column",
                    lang,
                    file=file,
                    column=name,
                    headers=f"{written[name]}, {header}",
                )
            )
        written[name] = header
    missing = [c for c in schema.required_columns if c not in written]
    if missing:
        raise InputFileError(
            t(
                "inv_missing_columns",
                lang,
                file=file,
                columns=", ".join(missing),
                required=", ".join(schema.required_columns),
            )
        )
    renamed = frame.rename(columns=names)
    absent = {c: "" for c in schema.column_names if c not in renamed.columns}
    return renamed.assign(**absent)[["row", *schema.column_names]], written


@dataclass(frozen=True)
class RowChecker:
    """What the checks of one inventory file know: the file, the language of the messages, the
    schema, the areas, factor kinds and bank allowed, and the headers as the user wrote them."""

    file: str
    lang: str
    schema: InventorySchema
    areas: dict[str, str]  # normalised id or name -> area id
    area_ids: tuple[str, ...]
    factors: dict[str, str]
    bank: ProgrammeBank
    headers: dict[str, str]
    area_names: dict[str, str] = field(default_factory=dict)


class _CellProblem(Exception):
    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key, self.values = key, values


_KINDS = {
    "text": lambda v, s, c: v,
    "area": lambda v, s, c: _check_area(v, c),
    "choice": lambda v, s, c: _check_choice(v, s, c),
    "int": lambda v, s, c: _check_int(v, s),
    "proportion": lambda v, s, c: _check_proportion(v, s),
    "date": lambda v, s, c: _check_date(v),
    "grades": lambda v, s, c: _check_grades(v, c),
    "ages": lambda v, s, c: _check_ages(v),
    "factors": lambda v, s, c: _check_factors(v, s, c),
    "bank_id": lambda v, s, c: _check_bank_id(v, c),
}


def check_rows(frame: pd.DataFrame, checker: RowChecker) -> tuple[list[dict], list[dict]]:
    parsed, problems = [], []
    for record in frame.to_dict("records"):
        row, found = {"row": record["row"]}, []
        for spec in checker.schema.columns:
            name, value = spec["name"], record[spec["name"]]
            try:
                row[name] = _check_cell(value, spec, checker)
            except _CellProblem as problem:
                found.append(_problem(record["row"], name, value, problem, checker))
        found += _target_problems(record, row, checker) if not found else []
        parsed.append(row)
        problems += found
    return parsed, problems


def _check_cell(value: str, spec: dict, checker: RowChecker) -> Any:
    if value == "":
        if not spec.get("nullable", False):
            raise _CellProblem("inv_required")
        return None
    return _KINDS[spec["type"]](value, spec, checker)


def _problem(row: int, column: str, value: str, problem: _CellProblem, checker: RowChecker) -> dict:
    header = checker.headers.get(column, column)
    shown = header if normalise(header) == normalise(column) else f"{header} ({column})"
    where = t("inv_where", checker.lang, file=checker.file, row=row, column=shown)
    message = t(problem.key, checker.lang, where=where, value=value, **problem.values)
    return {"row": row, "column": column, "value": value, "message": message, "kind": problem.key}


def _check_area(value: str, checker: RowChecker) -> str:
    area = checker.areas.get(normalise(value))
    if area is None:
        raise _CellProblem("inv_unknown_area", allowed=", ".join(checker.area_ids))
    return area


def _check_choice(value: str, spec: dict, checker: RowChecker) -> str:
    vocabulary = spec["choices"]
    if vocabulary == "evidence_ratings":
        allowed = tuple(checker.bank.ratings["evidence_rating"])
        lookup = {normalise(r): r for r in allowed}
        labels = dict(zip(allowed, checker.bank.ratings[f"label_{checker.lang}"], strict=True))
    else:
        allowed = checker.schema.choice_ids(vocabulary)
        lookup = checker.schema.choice_map(vocabulary)
        labels = checker.schema.choice_labels(vocabulary, checker.lang)
    choice = lookup.get(normalise(value))
    if choice is None:
        options = ", ".join(
            f"{a} ({labels[a]})" if normalise(labels[a]) != a else a for a in allowed
        )
        raise _CellProblem("inv_bad_choice", allowed=options)
    return choice


def _number(value: str) -> float:
    text = value.replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
    text = text.replace("−", "-")
    try:
        number = float(text)
    except ValueError:
        raise _CellProblem("inv_bad_number") from None
    if not np.isfinite(number):
        raise _CellProblem("inv_bad_number")
    return number


def _check_int(value: str, spec: dict) -> float:
    try:
        number = _number(value)
    except _CellProblem:
        raise _CellProblem("inv_bad_int") from None
    if not number.is_integer():
        raise _CellProblem("inv_bad_int")
    if "min" in spec and number < spec["min"]:
        raise _CellProblem("inv_below_min", min=spec["min"])
    if "max" in spec and number > spec["max"]:
        raise _CellProblem("inv_above_max", max=spec["max"])
    return float(number)


def _check_proportion(value: str, spec: dict) -> float:
    number = _number(value.rstrip())
    if not spec.get("min", 0) <= number <= spec.get("max", 1):
        raise _CellProblem("inv_bad_proportion")
    return number


def _check_date(value: str) -> dt.date:
    text = value.split(" ")[0].split("T")[0]
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise _CellProblem("inv_bad_date")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _CellProblem("inv_bad_date") from None


def _check_grades(value: str, checker: RowChecker) -> str:
    try:
        parse_target(value, schema=checker.schema)
    except ValueError:
        codes = ", ".join(g["code"] for g in checker.schema.grades)
        raise _CellProblem("inv_bad_grades", allowed=codes) from None
    return value


def _check_ages(value: str) -> str:
    try:
        parse_target("", value)
    except ValueError:
        raise _CellProblem("inv_bad_ages") from None
    return value


def _check_factors(value: str, spec: dict, checker: RowChecker) -> tuple[str, ...]:
    parts = [p.strip() for p in re.split(r"[;,|]", value) if p.strip()]
    unknown = [p for p in parts if p not in checker.factors]
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(checker.factors), n=1)
        key = "inv_unknown_factor_hint" if close else "inv_unknown_factor"
        raise _CellProblem(key, factor=unknown[0], hint=close[0] if close else "")
    if not parts:
        raise _CellProblem("inv_required")
    return tuple(dict.fromkeys(parts))


def _check_bank_id(value: str, checker: RowChecker) -> str:
    if value.strip().casefold() in NO_BANK_ID:
        return NO_BANK_ID[0]
    if value not in set(checker.bank.programmes["programme_id"]):
        match = checker.bank.match(value)
        hint = match or ", ".join(
            difflib.get_close_matches(value, list(checker.bank.programmes["programme_id"]), n=3)
        )
        raise _CellProblem("inv_unknown_bank_id", hint=hint or "-")
    return value


def _target_problems(record: dict, row: dict, checker: RowChecker) -> list[dict]:
    if row.get("target_grades") or row.get("target_ages"):
        return []
    problem = _CellProblem("inv_no_target")
    return [_problem(record["row"], "target_grades", "", problem, checker)]


def duplicate_problems(parsed: list[dict], checker: RowChecker) -> list[dict]:
    first: dict[tuple, int] = {}
    problems = []
    for row in parsed:
        if not row.get("area") or not row.get("programme"):
            continue
        key = (row["area"], normalise(row["programme"]), row.get("year"))
        if key in first:
            problem = _CellProblem("inv_duplicate_row", first=first[key])
            problems.append(_problem(row["row"], "programme", row["programme"], problem, checker))
        else:
            first[key] = row["row"]
    return problems


def malformed_problems(info: dict, file: str, lang: str) -> list[dict]:
    """CSV rows with the wrong number of values (kept out of the frame by read_table)."""
    return [
        {"row": int(m["row"]), "column": "", "value": str(m.get("text", "")),
         "message": t("inv_malformed_row", lang, file=file, row=m["row"], values=m["values"],
                      expected=m["expected"]), "kind": "inv_malformed_row"}
        for m in info.get("malformed_rows", [])
    ]  # fmt: skip


def rejected_rows(
    frame: pd.DataFrame, problems: list[dict], headers: dict[str, str], info: dict
) -> pd.DataFrame:
    reasons: dict[int, list[str]] = {}
    for problem in problems:
        reasons.setdefault(problem["row"], []).append(problem["message"])
    columns = ["row", *headers]
    rows = frame.loc[frame["row"].isin(reasons), columns].rename(columns=headers)
    raw = pd.DataFrame(
        [{"row": int(m["row"]), "raw_text": str(m.get("text", ""))}
         for m in info.get("malformed_rows", [])], columns=["row", "raw_text"],
    )  # fmt: skip
    rows = pd.concat([rows, raw], ignore_index=True) if not raw.empty else rows
    rows = rows.assign(reasons=[" ".join(reasons[r]) for r in rows["row"]])
    return rows.sort_values("row", kind="stable").reset_index(drop=True)
