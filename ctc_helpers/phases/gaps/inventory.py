"""The area teams' programme inventory (``programme_inventory.csv`` or ``.xlsx``): read as
text, every cell checked against ``data_schema/inventory.yaml``, matched to the programme bank.
Bad rows go to a rejected table with their reasons (rows read = kept + rejected), and a flagged
programme in use is warned about (:class:`FlaggedProgrammeWarning`).

Part of the resource and gap analysis; the overview is in :mod:`ctc_helpers.phases.gaps.inputs`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctc_helpers.config.inventory import (
    CITY,
    FLAGGED_EFFECTS,
    FLAGGED_KINDS,
    FLAGGED_RATINGS,
    NO_BANK_ID,
    FlaggedProgrammeWarning,
    InventorySchema,
    _factor_kinds,
    _norm,
    _parse_ages,
    _parse_grades,
    load_inventory_schema,
    parse_target,
)
from ctc_helpers.config.programme_bank import ProgrammeBank
from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.paths import resolve_path

__all__ = [
    "Inventory",
    "load_inventory",
]


# --------------------------------------------------------------------------------------------
# Reading a table (CSV or Excel) as text


def _read_table(path: Path, *, sheet: str | None, lang: str) -> tuple[pd.DataFrame, dict]:
    """The file as stripped text cells with its header, via :func:`ctc_helpers.ingest.readers.read_table`.

    The frame's ``row`` column is the row number as the user sees it (header = row 1).
    ``info`` is read_table's (``blank_rows``, ``malformed_rows`` ...). File errors raise
    :class:`InputFileError` with read_table's message.
    """
    from ctc_helpers.ingest.readers import read_table
    from ctc_helpers.ingest.values import UNNAMED_PREFIX

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


def _canonical_columns(
    frame: pd.DataFrame, schema: InventorySchema, file: str, lang: str
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename the file's headers to the schema's column names; returns the frame and
    a map column name -> header as written."""
    names = {h: schema.header_map.get(_norm(h)) for h in frame.columns if h != "row"}
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


# --------------------------------------------------------------------------------------------
# The programme inventory


@dataclass(frozen=True)
class Inventory:
    """A validated programme inventory, made by :func:`load_inventory`.

    Attributes
    ----------
    programmes : pandas.DataFrame
        The kept rows, typed: ``row`` (spreadsheet row), the schema's columns (``year``,
        ``participants_reached``, ``eligible_population``, ``sessions_planned``,
        ``sessions_delivered`` as float with NaN when empty; ``fidelity_score`` 0..1;
        ``funding_end`` as a date or None; ``targeted_factors`` as a tuple of factor ids) plus
        ``age_min, age_max, grade_codes`` (tuple), ``bank_id`` ("" when not in the bank),
        ``evidence_rating`` (the bank's when matched), ``rating_from`` (``bank / file /
        default``), ``evidence_rank, tested, effect`` (``positive / none / harmful / ""``),
        ``flagged`` (bool).
    rejected : pandas.DataFrame
        Rows that could not be used, as written in the file: ``row``, the file's columns and
        ``reasons`` (all messages of the row, joined).
    problems : pandas.DataFrame
        One row per problem: ``row, column, value, message``.
    warnings : pandas.DataFrame
        Rows kept but worth a look: ``row, area, programme, kind, message`` (``kind`` in
        ``harmful, ineffective, rating_differs, reach_over_100, sessions_over_plan``).
    """

    programmes: pd.DataFrame
    rejected: pd.DataFrame
    problems: pd.DataFrame
    warnings: pd.DataFrame
    path: Path
    n_read: int
    n_blank: int = 0

    @property
    def n_kept(self) -> int:
        return len(self.programmes)

    @property
    def n_rejected(self) -> int:
        return len(self.rejected)


@dataclass(frozen=True)
class _Checker:
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


def load_inventory(
    path: str | Path,
    *,
    bank: ProgrammeBank,
    areas: pd.DataFrame | Iterable[str],
    instrument: Any = None,
    lang: str | None = None,
    sheet: str | None = None,
    warn: bool = True,
) -> Inventory:
    """Read and validate a programme inventory (CSV or Excel, ``data_schema/inventory.yaml``).

    Parameters
    ----------
    path : str or Path
        The file; a relative path that does not exist here is taken from the repository root.
    bank : ProgrammeBank
        Programmes are matched with it (``bank_id``, else name and aliases): ratings are taken
        from the bank and flagged programmes are warned about.
    areas : pandas.DataFrame or iterable of str
        The area list (``area_id`` and ``name`` columns, e.g. ``Published.areas``) or area ids.
        A row may name the area by id or by name.
    instrument : Instrument or pandas.DataFrame, optional
        Factor ids allowed in ``targeted_factors`` (an Instrument or a measures table).
    lang : {"sv", "en"}, optional
        Language of the messages (default Swedish).
    sheet : str, optional
        Excel sheet (default the first).
    warn : bool
        Also issue a :class:`FlaggedProgrammeWarning` for every flagged programme (the
        ``warnings`` frame holds them either way; a report shows that frame instead).

    Returns
    -------
    Inventory
        ``programmes`` (kept), ``rejected``, ``problems``, ``warnings``; ``n_read`` = kept +
        rejected.

    Raises
    ------
    InputFileError
        The file cannot be used as a whole (missing, unreadable, empty, a required column
        missing, an unknown or repeated column); the message names the file and the column.
    """
    lang = check_language(lang)
    path = resolve_path(path)
    schema = load_inventory_schema()
    table, info = _read_table(path, sheet=sheet, lang=lang)
    frame, headers = _canonical_columns(table, schema, path.name, lang)
    blank = frame.drop(columns="row").eq("").all(axis=1)
    frame = frame.loc[~blank].reset_index(drop=True)
    malformed = _malformed_problems(info, path.name, lang)
    if frame.empty and not malformed:
        raise InputFileError(t("inv_file_empty", lang, file=path.name))
    checker = _Checker(
        file=path.name,
        lang=lang,
        schema=schema,
        areas=_area_lookup(areas),
        area_ids=tuple(dict.fromkeys(_area_lookup(areas).values())),
        factors=_factor_kinds(instrument),
        bank=bank,
        headers=headers,
        area_names=_area_names(areas),
    )
    parsed, problems = _check_rows(frame, checker)
    problems = problems + _duplicate_problems(parsed, checker) + malformed
    bad_rows = {p["row"] for p in problems}
    kept = _with_bank(pd.DataFrame([p for p in parsed if p["row"] not in bad_rows]), bank)
    notes = _inventory_warnings(kept, checker)
    for message in notes.loc[notes["kind"].isin(FLAGGED_KINDS) & warn, "message"]:
        warnings.warn(message, FlaggedProgrammeWarning, stacklevel=2)
    return Inventory(
        programmes=kept,
        rejected=_rejected(frame, problems, headers, info),
        problems=pd.DataFrame(problems, columns=["row", "column", "value", "message"])
        .sort_values("row", kind="stable")
        .reset_index(drop=True),
        warnings=notes,
        path=path,
        n_read=len(frame) + len(malformed),
        n_blank=int(blank.sum()) + int(info.get("blank_rows", 0)),
    )


def _area_names(areas: pd.DataFrame | Iterable[str]) -> dict[str, str]:
    if isinstance(areas, pd.DataFrame) and "name" in areas.columns:
        return dict(zip(areas["area_id"].astype(str), areas["name"].astype(str), strict=True))
    return {}


def _area_lookup(areas: pd.DataFrame | Iterable[str]) -> dict[str, str]:
    if isinstance(areas, pd.DataFrame):
        ids = areas["area_id"].astype(str)
        names = areas["name"].astype(str) if "name" in areas.columns else ids
        return {
            **{_norm(n): i for n, i in zip(names, ids, strict=True)},
            **{_norm(i): i for i in ids},
        }
    return {_norm(a): str(a) for a in areas if str(a) != CITY}


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


def _check_rows(frame: pd.DataFrame, checker: _Checker) -> tuple[list[dict], list[dict]]:
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


def _check_cell(value: str, spec: dict, checker: _Checker) -> Any:
    if value == "":
        if not spec.get("nullable", False):
            raise _CellProblem("inv_required")
        return None
    return _KINDS[spec["type"]](value, spec, checker)


def _problem(row: int, column: str, value: str, problem: _CellProblem, checker: _Checker) -> dict:
    header = checker.headers.get(column, column)
    shown = header if _norm(header) == _norm(column) else f"{header} ({column})"
    where = t("inv_where", checker.lang, file=checker.file, row=row, column=shown)
    message = t(problem.key, checker.lang, where=where, value=value, **problem.values)
    return {"row": row, "column": column, "value": value, "message": message}


def _check_area(value: str, checker: _Checker) -> str:
    area = checker.areas.get(_norm(value))
    if area is None:
        raise _CellProblem("inv_unknown_area", allowed=", ".join(checker.area_ids))
    return area


def _check_choice(value: str, spec: dict, checker: _Checker) -> str:
    vocabulary = spec["choices"]
    if vocabulary == "evidence_ratings":
        allowed = tuple(checker.bank.ratings["evidence_rating"])
        lookup = {_norm(r): r for r in allowed}
        labels = dict(zip(allowed, checker.bank.ratings[f"label_{checker.lang}"], strict=True))
    else:
        allowed = checker.schema.choice_ids(vocabulary)
        lookup = checker.schema.choice_map(vocabulary)
        labels = checker.schema.choice_labels(vocabulary, checker.lang)
    choice = lookup.get(_norm(value))
    if choice is None:
        options = ", ".join(f"{a} ({labels[a]})" if _norm(labels[a]) != a else a for a in allowed)
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


def _check_grades(value: str, checker: _Checker) -> str:
    try:
        _parse_grades(value, checker.schema)
    except ValueError:
        codes = ", ".join(g["code"] for g in checker.schema.grades)
        raise _CellProblem("inv_bad_grades", allowed=codes) from None
    return value


def _check_ages(value: str) -> str:
    try:
        _parse_ages(value)
    except ValueError:
        raise _CellProblem("inv_bad_ages") from None
    return value


def _check_factors(value: str, spec: dict, checker: _Checker) -> tuple[str, ...]:
    parts = [p.strip() for p in re.split(r"[;,|]", value) if p.strip()]
    unknown = [p for p in parts if p not in checker.factors]
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(checker.factors), n=1)
        key = "inv_unknown_factor_hint" if close else "inv_unknown_factor"
        raise _CellProblem(key, factor=unknown[0], hint=close[0] if close else "")
    if not parts:
        raise _CellProblem("inv_required")
    return tuple(dict.fromkeys(parts))


def _check_bank_id(value: str, checker: _Checker) -> str:
    if value.strip().casefold() in NO_BANK_ID:
        return NO_BANK_ID[0]
    if value not in set(checker.bank.programmes["programme_id"]):
        match = checker.bank.match(value)
        hint = match or ", ".join(
            difflib.get_close_matches(value, list(checker.bank.programmes["programme_id"]), n=3)
        )
        raise _CellProblem("inv_unknown_bank_id", hint=hint or "-")
    return value


def _target_problems(record: dict, row: dict, checker: _Checker) -> list[dict]:
    if row.get("target_grades") or row.get("target_ages"):
        return []
    problem = _CellProblem("inv_no_target")
    return [_problem(record["row"], "target_grades", "", problem, checker)]


def _duplicate_problems(parsed: list[dict], checker: _Checker) -> list[dict]:
    first: dict[tuple, int] = {}
    problems = []
    for row in parsed:
        if not row.get("area") or not row.get("programme"):
            continue
        key = (row["area"], _norm(row["programme"]), row.get("year"))
        if key in first:
            problem = _CellProblem("inv_duplicate_row", first=first[key])
            problems.append(_problem(row["row"], "programme", row["programme"], problem, checker))
        else:
            first[key] = row["row"]
    return problems


def _with_bank(kept: pd.DataFrame, bank: ProgrammeBank) -> pd.DataFrame:
    """Add the target ages, the bank match, the rating used and the flag."""
    if kept.empty:
        return pd.DataFrame(columns=[*_KEPT_COLUMNS])
    targets = [
        parse_target(g, a)
        for g, a in zip(
            kept["target_grades"].fillna(""), kept["target_ages"].fillna(""), strict=True
        )
    ]
    given_ids = kept["bank_id"].fillna("")
    exact = [bank.match(p) or "" for p in kept["programme"]]
    begins = [bank.match(p, prefix=True) or "" for p in kept["programme"]]
    bank_ids = [
        "" if g in NO_BANK_ID else g or e or b
        for g, e, b in zip(given_ids, exact, begins, strict=True)
    ]
    how = [
        "none" if g in NO_BANK_ID else "bank_id" if g else "exact" if e else "prefix" if b else ""
        for g, e, b in zip(given_ids, exact, begins, strict=True)
    ]
    table = bank.programmes.set_index("programme_id")
    ratings = bank.ratings.set_index("evidence_rating")
    given = kept["evidence_rating"].fillna("")
    used = [
        table.loc[b, "evidence_rating"] if b else (g or "not_rated")
        for b, g in zip(bank_ids, given, strict=True)
    ]
    source = [
        "bank" if b else ("file" if g else "default") for b, g in zip(bank_ids, given, strict=True)
    ]
    effect = [
        table.loc[b, "effect"] if b else FLAGGED_RATINGS.get(r, "")
        for b, r in zip(bank_ids, used, strict=True)
    ]
    out = kept.assign(
        age_min=[a for a, _, _ in targets],
        age_max=[b for _, b, _ in targets],
        grade_codes=[c for _, _, c in targets],
        bank_id=bank_ids,
        bank_match=how,
        given_rating=given,
        evidence_rating=used,
        rating_from=source,
        evidence_rank=[int(ratings.loc[r, "rank"]) for r in used],
        tested=[bool(ratings.loc[r, "tested"]) for r in used],
        effect=effect,
        flagged=[e in FLAGGED_EFFECTS for e in effect],
        evidence_source=[
            s or (table.loc[b, "evidence_source"] if b else "")
            for s, b in zip(kept["evidence_source"].fillna(""), bank_ids, strict=True)
        ],
    )
    return out.loc[:, list(_KEPT_COLUMNS)]


_KEPT_COLUMNS = (
    "row",
    "area",
    "programme",
    "provider",
    "bank_id",
    "bank_match",
    "year",
    "prevention_level",
    "setting",
    "target_grades",
    "target_ages",
    "age_min",
    "age_max",
    "grade_codes",
    "targeted_factors",
    "participants_reached",
    "eligible_population",
    "sessions_planned",
    "sessions_delivered",
    "fidelity_score",
    "evidence_rating",
    "given_rating",
    "rating_from",
    "evidence_rank",
    "tested",
    "evidence_source",
    "effect",
    "flagged",
    "funding_end",
    "note",
)


def _inventory_warnings(kept: pd.DataFrame, checker: _Checker) -> pd.DataFrame:
    rows = []
    lang, bank = checker.lang, checker.bank
    for record in kept.to_dict("records"):
        base = {"row": record["row"], "area": record["area"], "programme": record["programme"]}
        where = {
            "file": checker.file,
            "row": record["row"],
            "programme": record["programme"],
            "area": checker.area_names.get(record["area"], record["area"]),
        }
        if record["flagged"]:
            rows.append(
                {
                    **base,
                    "kind": "harmful" if record["effect"] == "harmful" else "ineffective",
                    "message": _flag_message(record, bank, lang, where),
                }
            )
        if record["rating_from"] == "bank" and record["given_rating"] not in (
            "",
            record["evidence_rating"],
        ):
            rows.append(
                {
                    **base,
                    "kind": "rating_differs",
                    "message": t(
                        "inv_warn_rating_differs",
                        lang,
                        **where,
                        given=record["given_rating"],
                        bank_rating=record["evidence_rating"],
                        bank_name=bank.programme(record["bank_id"])["name"],
                    ),
                }
            )
        reached, eligible = record["participants_reached"], record["eligible_population"]
        if pd.notna(reached) and pd.notna(eligible) and reached > eligible:
            rows.append(
                {
                    **base,
                    "kind": "reach_over_100",
                    "message": t(
                        "inv_warn_reach_over",
                        lang,
                        **where,
                        reached=int(reached),
                        eligible=int(eligible),
                    ),
                }
            )
        planned, delivered = record["sessions_planned"], record["sessions_delivered"]
        if pd.notna(planned) and pd.notna(delivered) and delivered > planned:
            rows.append(
                {
                    **base,
                    "kind": "sessions_over_plan",
                    "message": t(
                        "inv_warn_sessions",
                        lang,
                        **where,
                        planned=int(planned),
                        delivered=int(delivered),
                    ),
                }
            )
    return pd.DataFrame(rows, columns=["row", "area", "programme", "kind", "message"])


def _flag_message(record: dict, bank: ProgrammeBank, lang: str, where: dict) -> str:
    if record["bank_id"]:
        entry = bank.programme(record["bank_id"])
        kind = "harmful" if entry["effect"] == "harmful" else "ineffective"
        text = t(
            f"inv_warn_{kind}",
            lang,
            **where,
            bank_name=entry["name"],
            evidence=entry[f"effect_evidence_{lang}"],
            source=entry["effect_source"],
        )
        note = t("inv_warn_prefix_note", lang) if record["bank_match"] == "prefix" else ""
        return f"{text} {note}".strip()
    return t(
        "inv_warn_rated_flagged",
        lang,
        **where,
        rating=bank.rating_label(record["evidence_rating"], lang),
    )


def _malformed_problems(info: dict, file: str, lang: str) -> list[dict]:
    """CSV rows with the wrong number of values (kept out of the frame by read_table)."""
    return [
        {"row": int(m["row"]), "column": "", "value": str(m.get("text", "")),
         "message": t("inv_malformed_row", lang, file=file, row=m["row"], values=m["values"],
                      expected=m["expected"])}
        for m in info.get("malformed_rows", [])
    ]  # fmt: skip


def _rejected(
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
