"""The survey instrument, the respondent table schema and the area list, read from data files.

Nothing else in the package lists items, factors, grades or areas: it asks the objects built here.
The file format is documented in ``data_schema/INSTRUMENT_FORMAT.md``.

Examples
--------
>>> inst = load_instrument()
>>> inst.factor("family_conflict").kind
'risk'
>>> schema = load_respondent_schema()
>>> schema.grade_codes[0], schema.grade_labels("sv")["gy2"]
('ak6', 'gy 2')
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctc_helpers.config.files import parse_yaml, read_bytes, read_csv_text, read_yaml_file
from ctc_helpers.config.instrument_file import (
    DOMAINS,
    InstrumentFile,
    Known,
    RespondentsFile,
    id_problems,
)
from ctc_helpers.config.messages import check, raise_problems, validate
from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import check_language, t, text_of
from ctc_helpers.paths import SCHEMA_DIR

__all__ = [
    "ResponseSet",
    "Item",
    "Factor",
    "Behaviour",
    "ValidityRule",
    "Composite",
    "Instrument",
    "RespondentSchema",
    "load_instrument",
    "load_respondent_schema",
    "load_areas",
    "DEFAULT_INSTRUMENT",
    "DOMAINS",
]

DEFAULT_INSTRUMENT = SCHEMA_DIR / "instrument.yaml"


@dataclass(frozen=True)
class ResponseSet:
    """An answer scale: raw codes 1..k with a score each (``None`` = not a valid answer)."""

    id: str
    label: dict[str, str]
    codes: tuple[int, ...]
    scores: tuple[float | None, ...]
    option_labels: tuple[dict[str, str], ...]

    @property
    def min_score(self) -> float:
        return min(s for s in self.scores if s is not None)

    @property
    def max_score(self) -> float:
        return max(s for s in self.scores if s is not None)

    def score_lookup(self, *, reverse: bool = False) -> np.ndarray:
        """Array indexed by raw code (0..k) giving the scored value, NaN where not scored."""
        table = np.full(max(self.codes) + 1, np.nan)
        for code, score in zip(self.codes, self.scores, strict=True):
            if score is not None:
                table[code] = (self.min_score + self.max_score - score) if reverse else score
        return table

    def labels(self, lang: str | None = None) -> dict[int, str]:
        return {
            c: text_of(lab, lang) for c, lab in zip(self.codes, self.option_labels, strict=True)
        }


@dataclass(frozen=True)
class Item:
    id: str
    response_set: ResponseSet
    text: dict[str, str]


@dataclass(frozen=True)
class Factor:
    """A risk or protective factor scale."""

    id: str
    domain: str
    kind: str
    label: dict[str, str]
    description: dict[str, str]
    items: tuple[tuple[str, bool], ...]  # (item id, reverse)
    min_items: int
    cutpoint: dict[str, Any]

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item_id for item_id, _ in self.items)


@dataclass(frozen=True)
class Behaviour:
    id: str
    group: str
    label: dict[str, str]
    rule: dict[str, Any]


@dataclass(frozen=True)
class ValidityRule:
    id: str
    label: dict[str, str]
    exclude: bool
    rule: dict[str, Any]


@dataclass(frozen=True)
class Composite:
    id: str
    kind: str
    label: dict[str, str]
    min_flagged: int
    min_scored_share: float


@dataclass(frozen=True)
class Instrument:
    """A validated instrument. Build it with :func:`load_instrument`."""

    id: str
    version: str
    title: dict[str, str]
    notice: dict[str, str]
    response_sets: dict[str, ResponseSet]
    items: dict[str, Item]
    factors: tuple[Factor, ...]
    behaviours: tuple[Behaviour, ...]
    validity: tuple[ValidityRule, ...]
    composites: tuple[Composite, ...]
    defaults: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    checksum: str = ""
    domains: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> label, in order
    languages: tuple[str, ...] = ("sv", "en")  # languages every text is written in
    vocabulary: dict[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)
    glossary: tuple[dict[str, dict[str, str]], ...] = ()  # {term: {sv, en}, definition: ...}

    @property
    def has_factors(self) -> bool:
        """Whether the instrument has risk or protective factor scales (phases 02/03 need them)."""
        return bool(self.factors)

    @property
    def has_behaviours(self) -> bool:
        return bool(self.behaviours)

    @property
    def has_screening(self) -> bool:
        """Whether answers are screened (validity rules that exclude questionnaires)."""
        return any(rule.exclude for rule in self.validity)

    def missing_language(self, lang: str | None = None) -> bool:
        """Whether texts in ``lang`` are missing (shown in the other language, with a note)."""
        return check_language(lang) not in self.languages

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(self.items)

    @property
    def factor_ids(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.factors)

    def factor(self, factor_id: str) -> Factor:
        for factor in self.factors:
            if factor.id == factor_id:
                return factor
        raise KeyError(
            f"The instrument has no factor {factor_id!r}. Known factors: {', '.join(self.factor_ids)}."
        )

    def factors_of(self, kind: str) -> tuple[Factor, ...]:
        return tuple(f for f in self.factors if f.kind == kind)

    def item_max_code(self, item_id: str) -> int:
        return max(self.items[item_id].response_set.codes)

    @cached_property
    def factor_item_ids(self) -> tuple[str, ...]:
        """Every item used by at least one factor scale, in instrument order."""
        used = {item_id for f in self.factors for item_id in f.item_ids}
        return tuple(i for i in self.items if i in used)

    def measures(self, lang: str | None = None) -> pd.DataFrame:
        """One row per measure with its kind, domain, label, description and display order.

        Returns columns ``measure, measure_kind, domain, group, label, description, order``.
        """
        rows = [(f.id, f.kind, f.domain, f.domain, f.label, f.description) for f in self.factors]
        rows += [
            (b.id, "behaviour", "behaviour", b.group, b.label, b.label) for b in self.behaviours
        ]
        rows += [
            (c.id, "composite", "composite", c.kind, c.label, c.label) for c in self.composites
        ]
        return pd.DataFrame(
            [
                {
                    "measure": m,
                    "measure_kind": kind,
                    "domain": domain,
                    "group": group,
                    "label": text_of(label, lang),
                    "description": text_of(desc, lang),
                    "order": i,
                }
                for i, (m, kind, domain, group, label, desc) in enumerate(rows)
            ]
        )


# --------------------------------------------------------------------------------------------
# Loading and validation of the instrument (the model: ctc_helpers.config.instrument_file)


def load_instrument(path: str | Path | None = None) -> Instrument:
    """Read and validate an instrument file (default: ``data_schema/instrument.yaml``).

    The file is read on every call; parsing it again is skipped when its content is the same
    as at an earlier call in this process (the instrument is immutable), so an edited file is
    always read anew.

    Raises
    ------
    ConfigFileError
        Listing every problem with the file, the key path (``factors[family_conflict].domain``)
        and the offending value.
    """
    path = Path(path) if path is not None else DEFAULT_INSTRUMENT
    content = read_bytes(path, what="instrument")
    key = (str(path), hashlib.sha256(content).hexdigest())
    if key not in _PARSED:
        _remember(key, _parse_instrument(path, parse_yaml(content, name=path.name), key[1]))
    return _PARSED[key]


# Parsed instruments and schemas by (path as given, SHA-256 of the content); a few at most.
_PARSED: dict[tuple[str, str], Any] = {}
_PARSED_MAX = 8


def _remember(key: tuple[str, str], value: Any) -> None:
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.pop(next(iter(_PARSED)))
    _PARSED[key] = value


def _parse_instrument(path: Path, raw: Any, checksum: str) -> Instrument:
    model, problems = check(InstrumentFile, raw, context=Known())
    raise_problems(path.name, problems or id_problems(model))
    sets = {
        set_id: ResponseSet(
            id=set_id,
            label=entry.label.as_dict(),
            codes=tuple(o.code for o in entry.options),
            scores=tuple(None if o.score is None else float(o.score) for o in entry.options),
            option_labels=tuple(o.as_dict() for o in entry.options),
        )
        for set_id, entry in model.response_sets.items()
    }
    items = {i.id: Item(i.id, sets[i.response_set], i.text.as_dict()) for i in model.items}
    head = model.instrument
    return Instrument(
        id=head.id,
        version=head.version,
        title=head.title.as_dict(),
        notice=head.notice.as_dict(),
        response_sets=sets,
        items=items,
        factors=tuple(
            Factor(
                id=f.id,
                domain=f.domain,
                kind=f.kind,
                label=f.label.as_dict(),
                description=f.description.as_dict(),
                items=tuple((i.id, i.reverse) for i in f.items),
                min_items=f.min_items,
                cutpoint={
                    **f.cutpoint.model_dump(exclude_none=True),
                    "flag": float(f.cutpoint.flag),
                    "high": float(f.cutpoint.high),
                },
            )
            for f in model.factors
        ),
        behaviours=tuple(
            Behaviour(b.id, b.group, b.label.as_dict(), b.rule.as_dict()) for b in model.behaviours
        ),
        validity=tuple(
            ValidityRule(v.id, v.label.as_dict(), v.exclude, v.rule.as_dict())
            for v in model.validity
        ),
        composites=tuple(
            Composite(c.id, c.kind, c.label.as_dict(), c.min_flagged, c.min_scored_share)
            for c in model.composites
        ),
        defaults=model.defaults,
        path=path,
        checksum=checksum,
        domains=_domains(model),
        languages=model.languages,
        vocabulary=_vocabulary(model),
        glossary=tuple(
            {"term": g.term.as_dict(), "definition": g.definition.as_dict()} for g in model.glossary
        ),
    )


def _domains(model: InstrumentFile) -> dict[str, dict[str, str]]:
    """The declared domains (id -> label); the four CTC domains when none are declared."""
    if model.domains is None:
        return {d: {"sv": t(f"domain_{d}", "sv"), "en": t(f"domain_{d}", "en")} for d in DOMAINS}
    return {d.id: d.label.as_dict() for d in model.domains}


def _vocabulary(model: InstrumentFile) -> dict[str, tuple[dict[str, Any], ...]]:
    """``grades`` and/or ``sexes`` declared by the instrument, as the respondent schema holds them."""
    if model.respondents is None:
        return {}
    found = {"grades": model.respondents.grades, "sexes": model.respondents.sexes}
    return {key: tuple(_entry(e) for e in entries) for key, entries in found.items() if entries}


def _entry(entry: Any) -> dict[str, Any]:
    return {**entry.model_dump(exclude_unset=True), "label": entry.label.as_dict()}


# --------------------------------------------------------------------------------------------
# Respondent schema and area list


@dataclass(frozen=True)
class RespondentSchema:
    """Columns, grade codes and sex codes of the respondent table (``respondents.yaml``)."""

    columns: tuple[dict[str, Any], ...]
    grades: tuple[dict[str, Any], ...]
    sexes: tuple[dict[str, Any], ...]
    total_code: str

    @property
    def grade_codes(self) -> tuple[str, ...]:
        return tuple(g["code"] for g in self.grades)

    @property
    def sex_codes(self) -> tuple[str, ...]:
        return tuple(s["code"] for s in self.sexes)

    @property
    def published_sex_codes(self) -> tuple[str, ...]:
        return tuple(s["code"] for s in self.sexes if s.get("published", True))

    @property
    def grade_years(self) -> dict[str, int]:
        return {g["code"]: int(g["year"]) for g in self.grades}

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c["name"] for c in self.columns if c.get("required"))

    def grade_labels(self, lang: str | None = None) -> dict[str, str]:
        return {g["code"]: text_of(g["label"], lang) for g in self.grades}

    def sex_labels(self, lang: str | None = None) -> dict[str, str]:
        return {s["code"]: text_of(s["label"], lang) for s in self.sexes}

    def column_label(self, name: str, lang: str | None = None) -> str:
        for column in self.columns:
            if column["name"] == name:
                return text_of(column["label"], lang)
        return name

    @staticmethod
    def _alias_map(entries: tuple[dict[str, Any], ...]) -> dict[str, str]:
        mapping = {}
        for entry in entries:
            for alias in [entry["code"], *entry.get("aliases", [])]:
                mapping[str(alias).strip().casefold()] = entry["code"]
        return mapping

    @cached_property
    def grade_aliases(self) -> dict[str, str]:
        """Accepted spellings (case-folded) mapped to canonical grade codes."""
        return self._alias_map(self.grades)

    @cached_property
    def sex_aliases(self) -> dict[str, str]:
        return self._alias_map(self.sexes)


def load_respondent_schema(
    path: str | Path | None = None, *, instrument: Instrument | None = None
) -> RespondentSchema:
    """Read ``data_schema/respondents.yaml`` (or another file of the same shape).

    With an ``instrument`` that declares its own grades or sexes (``respondents:``), those
    replace the file's whole: codes, order, labels and only the aliases written there (the
    default aliases such as ``"10"`` for gy 1 never apply to another vocabulary).

    >>> from ctc_helpers.paths import REPO_ROOT
    >>> own = load_instrument(REPO_ROOT / "data/examples/behaviours_only/instrument.yaml")
    >>> load_respondent_schema(instrument=own).grade_codes
    ('ak7', 'ak9', 'gy2')
    >>> load_respondent_schema(instrument=own).grade_aliases.get("10") is None
    True
    """
    schema = _read_respondent_schema(path)
    if instrument is None or not instrument.vocabulary:
        return schema
    return replace(schema, **instrument.vocabulary)


def _read_respondent_schema(path: str | Path | None) -> RespondentSchema:
    path = Path(path) if path is not None else SCHEMA_DIR / "respondents.yaml"
    content = read_bytes(path, what="schema")
    key = (f"respondents:{path}", hashlib.sha256(content).hexdigest())
    if key not in _PARSED:
        raw = parse_yaml(content, name=path.name)
        model = validate(RespondentsFile, raw, file=path.name)
        schema = RespondentSchema(
            columns=tuple(c.model_dump(exclude_unset=True) for c in model.columns),
            grades=tuple(g.model_dump(exclude_unset=True) for g in model.grades),
            sexes=tuple(s.model_dump(exclude_unset=True) for s in model.sexes),
            total_code=model.total_code,
        )
        _remember(key, schema)
    return _PARSED[key]


def load_areas(path: str | Path, *, lang: str | None = None) -> pd.DataFrame:
    """Read and validate an area list (CSV with the columns of ``data_schema/areas.yaml``).

    Returns columns ``area_id, name, municipality`` (all strings), one row per area, plus the
    optional columns (``required: false``) the file has; those may be empty.

    Raises
    ------
    InputFileError
        The file cannot be read, lacks a column, has an empty required cell, a value twice in a
        unique column or an area id with other characters than a-z, digits and hyphens (file,
        row, column and value named, in ``lang``).
    """
    path = Path(path)
    schema, _ = read_yaml_file(SCHEMA_DIR / "areas.yaml", what="schema")
    frame = read_csv_text(path, lang=lang, error=InputFileError, unreadable="area_list_unreadable")
    for column in schema["columns"]:
        name = column["name"]
        required = column.get("required", True)
        if name not in frame.columns and not required:
            continue
        if name not in frame.columns:
            raise InputFileError(
                t("area_list_column", lang, file=path.name, column=name,
                  columns=", ".join(frame.columns))
            )  # fmt: skip
        values = frame[name].str.strip()
        empty = values.eq("")
        if empty.any() and required:
            row = int(empty.idxmax()) + 2
            raise InputFileError(t("area_list_empty", lang, file=path.name, row=row, column=name))
        if column.get("unique") and values.duplicated().any():
            value = values[values.duplicated()].iloc[0]
            raise InputFileError(
                t("area_list_twice", lang, file=path.name, value=repr(value), column=name)
            )
        if column.get("pattern"):
            bad = ~values.str.fullmatch(column["pattern"]) & ~empty
            if bad.any():
                row = int(bad.idxmax()) + 2
                raise InputFileError(
                    t("area_list_pattern", lang, file=path.name, row=row, column=name,
                      value=repr(values[bad].iloc[0]))
                )  # fmt: skip
    present = [c["name"] for c in schema["columns"] if c["name"] in frame.columns]
    return frame[present].apply(lambda s: s.str.strip())
