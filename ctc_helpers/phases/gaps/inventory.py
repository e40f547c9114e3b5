"""The area teams' programme inventory (``programme_inventory.csv`` or ``.xlsx``): read as
text, every cell checked against ``data_schema/inventory.yaml``
(:mod:`ctc_helpers.phases.gaps.inventory_rows`), matched to the programme bank. Bad rows go to a
rejected table with their reasons (rows read = kept + rejected), and a flagged programme in use is
warned about (:class:`~ctc_helpers.config.inventory.FlaggedProgrammeWarning`).

Part of the resource and gap analysis; the overview is in :mod:`ctc_helpers.phases.gaps.inputs`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ctc_helpers.config.inventory import (
    FLAGGED_EFFECTS,
    FLAGGED_KINDS,
    FLAGGED_RATINGS,
    NO_BANK_ID,
    FlaggedProgrammeWarning,
    factor_kinds,
    load_inventory_schema,
    normalise,
    parse_target,
)
from ctc_helpers.config.programme_bank import ProgrammeBank
from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.paths import resolve_path
from ctc_helpers.phases.gaps.inventory_rows import (
    RowChecker,
    canonical_columns,
    check_rows,
    duplicate_problems,
    malformed_problems,
    read_text_table,
    rejected_rows,
)
from ctc_helpers.vocab import CITY

__all__ = ["KEPT_COLUMNS", "Inventory", "load_inventory"]


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
        One row per problem: ``row, column, value, message`` (naming the file, row and column,
        for the coordinator), ``kind`` (the message's text key, e.g. ``inv_unknown_bank_id``),
        ``programme`` (as written) and ``area`` (the area id, "" when it could not be read).
    warnings : pandas.DataFrame
        Rows kept but worth a look: ``row, area, programme, kind, message`` (``kind`` in
        ``harmful, ineffective, rating_differs, reach_over_100, sessions_over_plan``; the
        message names the file and row, for the coordinator), ``key`` (its text key) and
        ``details`` (the message's values without file and row, for a reader's wording).
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
    table, info = read_text_table(path, sheet=sheet, lang=lang)
    frame, headers = canonical_columns(table, schema, path.name, lang)
    blank = frame.drop(columns="row").eq("").all(axis=1)
    frame = frame.loc[~blank].reset_index(drop=True)
    malformed = malformed_problems(info, path.name, lang)
    if frame.empty and not malformed:
        raise InputFileError(t("inv_file_empty", lang, file=path.name))
    checker = RowChecker(
        file=path.name,
        lang=lang,
        schema=schema,
        areas=_area_lookup(areas),
        area_ids=tuple(dict.fromkeys(_area_lookup(areas).values())),
        factors=factor_kinds(instrument),
        bank=bank,
        headers=headers,
        area_names=_area_names(areas),
    )
    parsed, problems = check_rows(frame, checker)
    problems = problems + duplicate_problems(parsed, checker) + malformed
    bad_rows = {p["row"] for p in problems}
    kept = _with_bank(pd.DataFrame([p for p in parsed if p["row"] not in bad_rows]), bank)
    notes = _inventory_warnings(kept, checker)
    for message in notes.loc[notes["kind"].isin(FLAGGED_KINDS) & warn, "message"]:
        warnings.warn(message, FlaggedProgrammeWarning, stacklevel=2)
    return Inventory(
        programmes=kept,
        rejected=rejected_rows(frame, problems, headers, info),
        problems=_problem_table(problems, frame, parsed),
        warnings=notes,
        path=path,
        n_read=len(frame) + len(malformed),
        n_blank=int(blank.sum()) + int(info.get("blank_rows", 0)),
    )


def _problem_table(problems: list[dict], frame: pd.DataFrame, parsed: list[dict]) -> pd.DataFrame:
    """The problems with the programme as written and the area id when it could be read ("")."""
    programmes = dict(zip(frame["row"], frame["programme"], strict=True))
    areas = {row["row"]: row.get("area") or "" for row in parsed}
    table = pd.DataFrame(problems, columns=["row", "column", "value", "message", "kind"])
    return (
        table.assign(
            programme=[programmes.get(r, "") for r in table["row"]],
            area=[areas.get(r, "") for r in table["row"]],
        )
        .sort_values("row", kind="stable")
        .reset_index(drop=True)
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
            **{normalise(n): i for n, i in zip(names, ids, strict=True)},
            **{normalise(i): i for i in ids},
        }
    return {normalise(a): str(a) for a in areas if str(a) != CITY}


def _with_bank(kept: pd.DataFrame, bank: ProgrammeBank) -> pd.DataFrame:
    """Add the target ages, the bank match, the rating used and the flag."""
    if kept.empty:
        return pd.DataFrame(columns=[*KEPT_COLUMNS])
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
    return out.loc[:, list(KEPT_COLUMNS)]


KEPT_COLUMNS = (
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


def _inventory_warnings(kept: pd.DataFrame, checker: RowChecker) -> pd.DataFrame:
    """One row per warning: ``message`` names the file and row (for the coordinator); ``key``
    and ``details`` let a report say the same in a reader's words (``views.gaps``)."""
    rows = []
    for record in kept.to_dict("records"):
        where = {"file": checker.file, "row": record["row"]}
        named = {
            "programme": record["programme"],
            "area": checker.area_names.get(record["area"], record["area"]),
        }
        for kind, key, values in _warnings_of(record, checker):
            details = {**named, **values}
            message = t(key, checker.lang, **where, **details)
            if details.get("prefix"):
                message = f"{message} {t('inv_warn_prefix_note', checker.lang)}"
            rows.append(
                {
                    "row": record["row"],
                    "area": record["area"],
                    "programme": record["programme"],
                    "kind": kind,
                    "message": message,
                    "key": key,
                    "details": details,
                }
            )
    return pd.DataFrame(rows, columns=[*WARNING_COLUMNS])


WARNING_COLUMNS = ("row", "area", "programme", "kind", "message", "key", "details")


def _warnings_of(record: dict, checker: RowChecker) -> list[tuple[str, str, dict]]:
    """``(kind, text key, values)`` of every warning about one kept row."""
    found = []
    if record["flagged"]:
        found.append(_flag_warning(record, checker.bank, checker.lang))
    given, used = record["given_rating"], record["evidence_rating"]
    if record["rating_from"] == "bank" and given not in ("", used):
        bank, lang = checker.bank, checker.lang
        values = {
            "given": given,
            "bank_rating": used,
            "bank_name": bank.programme(record["bank_id"])["name"],
            "given_label": bank.rating_label(given, lang),
            "bank_label": bank.rating_label(used, lang),
        }
        found.append(("rating_differs", "inv_warn_rating_differs", values))
    reached, eligible = record["participants_reached"], record["eligible_population"]
    if pd.notna(reached) and pd.notna(eligible) and reached > eligible:
        values = {"reached": int(reached), "eligible": int(eligible)}
        found.append(("reach_over_100", "inv_warn_reach_over", values))
    planned, delivered = record["sessions_planned"], record["sessions_delivered"]
    if pd.notna(planned) and pd.notna(delivered) and delivered > planned:
        values = {"planned": int(planned), "delivered": int(delivered)}
        found.append(("sessions_over_plan", "inv_warn_sessions", values))
    return found


def _flag_warning(record: dict, bank: ProgrammeBank, lang: str) -> tuple[str, str, dict]:
    if record["bank_id"]:
        entry = bank.programme(record["bank_id"])
        kind = "harmful" if entry["effect"] == "harmful" else "ineffective"
        values = {
            "bank_name": entry["name"],
            "evidence": entry[f"effect_evidence_{lang}"],
            "source": entry["effect_source"],
            "prefix": record["bank_match"] == "prefix",
        }
        return kind, f"inv_warn_{kind}", values
    kind = "harmful" if record["effect"] == "harmful" else "ineffective"
    rating = bank.rating_label(record["evidence_rating"], lang)
    return kind, "inv_warn_rated_flagged", {"rating": rating}
