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
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ctc_helpers.config.yaml_load import LOADER as _YAML_LOADER
from ctc_helpers.errors import ConfigError, InputFileError
from ctc_helpers.i18n import LANGUAGES, text_of
from ctc_helpers.paths import SCHEMA_DIR
from ctc_helpers.vocab import FACTOR_KINDS

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
]

DEFAULT_INSTRUMENT = SCHEMA_DIR / "instrument.yaml"

DOMAINS = ("community", "family", "school", "individual")
BEHAVIOUR_RULES = {
    "any_at_least": ("items", "min_code"),
    "count_at_least": ("items", "min_code", "min_count"),
    "sum_at_least": ("items", "threshold", "min_items"),
}
VALIDITY_RULES = {
    **BEHAVIOUR_RULES,
    "code_in": ("item", "codes"),
    "pair_greater": ("pairs",),
    "min_answered_share": ("share",),
}


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
# Loading and validation of the instrument


def load_instrument(path: str | Path | None = None) -> Instrument:
    """Read and validate an instrument file (default: ``data_schema/instrument.yaml``).

    The file is read on every call; parsing it again is skipped when its content is the same
    as at an earlier call in this process (the instrument is immutable), so an edited file is
    always read anew.

    Raises
    ------
    ConfigError
        With a message naming the file, the entry and the offending value.
    """
    path = Path(path) if path is not None else DEFAULT_INSTRUMENT
    content = _read_bytes(path)
    key = (str(path), hashlib.sha256(content).hexdigest())
    if key not in _PARSED:
        _remember(key, _parse_instrument(path, _parse_yaml(path, content), key[1]))
    return _PARSED[key]


# Parsed instruments and schemas by (path as given, SHA-256 of the content); a few at most.
_PARSED: dict[tuple[str, str], Any] = {}
_PARSED_MAX = 8


def _remember(key: tuple[str, str], value: Any) -> None:
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.pop(next(iter(_PARSED)))
    _PARSED[key] = value


def _parse_instrument(path: Path, raw: dict, checksum: str) -> Instrument:
    where = path.name
    head = _mapping(raw, "instrument", where)
    response_sets = _parse_response_sets(_mapping(raw, "response_sets", where), where)
    items = _parse_items(_list(raw, "items", where), response_sets, where)
    instrument = Instrument(
        id=str(_required(head, "id", f"{where}: instrument")),
        version=str(_required(head, "version", f"{where}: instrument")),
        title=_texts(head, "title", f"{where}: instrument"),
        notice=_texts(head, "notice", f"{where}: instrument"),
        response_sets=response_sets,
        items=items,
        factors=tuple(_parse_factor(e, items, where) for e in _list(raw, "factors", where)),
        behaviours=tuple(
            _parse_behaviour(e, items, where) for e in _list(raw, "behaviours", where)
        ),
        validity=tuple(_parse_validity(e, items, where) for e in _list(raw, "validity", where)),
        composites=tuple(_parse_composite(e, where) for e in raw.get("composites") or []),
        defaults=raw.get("defaults") or {},
        path=path,
        checksum=checksum,
    )
    _check_unique_ids(instrument, where)
    return instrument


def _read_yaml(path: Path) -> tuple[dict, str]:
    content = _read_bytes(path)
    return _parse_yaml(path, content), hashlib.sha256(content).hexdigest()


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read the file {path}: {exc.strerror}.") from None


def _parse_yaml(path: Path, content: bytes) -> dict:
    try:
        data = yaml.load(content.decode("utf-8"), Loader=_YAML_LOADER)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name} is not a valid YAML file: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name} must contain a mapping of sections at the top level.")
    return data


def _required(entry: dict, key: str, where: str) -> Any:
    if not isinstance(entry, dict) or entry.get(key) is None:
        raise ConfigError(f"{where}: the key {key!r} is missing.")
    return entry[key]


def _mapping(entry: dict, key: str, where: str) -> dict:
    value = _required(entry, key, where)
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key!r} must be a mapping, not {type(value).__name__}.")
    return value


def _list(entry: dict, key: str, where: str) -> list:
    value = _required(entry, key, where)
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: {key!r} must be a non-empty list.")
    return value


def _texts(entry: dict, key: str, where: str) -> dict[str, str]:
    value = _required(entry, key, where)
    if not isinstance(value, dict) or any(not value.get(lang) for lang in LANGUAGES):
        raise ConfigError(
            f"{where}: {key!r} needs a text in each language ({', '.join(LANGUAGES)}), got {value!r}."
        )
    return {lang: str(value[lang]) for lang in LANGUAGES}


def _parse_response_sets(raw: dict, where: str) -> dict[str, ResponseSet]:
    sets = {}
    for set_id, entry in raw.items():
        here = f"{where}: response set {set_id!r}"
        options = _list(entry, "options", here)
        codes = tuple(int(_required(o, "code", here)) for o in options)
        if codes != tuple(range(1, len(codes) + 1)):
            raise ConfigError(f"{here}: codes must be 1..{len(codes)} in order, got {list(codes)}.")
        scores = tuple(None if o.get("score") is None else float(o["score"]) for o in options)
        if all(s is None for s in scores):
            raise ConfigError(f"{here}: at least one option needs a score.")
        labels = tuple({lang: str(o.get(lang, "")) for lang in LANGUAGES} for o in options)
        for code, label in zip(codes, labels, strict=True):
            if not all(label.values()):
                raise ConfigError(f"{here}: option {code} needs a label in sv and en.")
        sets[set_id] = ResponseSet(set_id, _texts(entry, "label", here), codes, scores, labels)
    return sets


def _parse_items(raw: list, response_sets: dict[str, ResponseSet], where: str) -> dict[str, Item]:
    items: dict[str, Item] = {}
    for entry in raw:
        item_id = str(_required(entry, "id", f"{where}: items"))
        here = f"{where}: item {item_id!r}"
        if item_id in items:
            raise ConfigError(f"{here} is defined twice.")
        set_id = _required(entry, "response_set", here)
        if set_id not in response_sets:
            raise ConfigError(
                f"{here} uses the response set {set_id!r}, which is not defined under"
                f" response_sets (defined: {', '.join(response_sets)})."
            )
        items[item_id] = Item(item_id, response_sets[set_id], _texts(entry, "text", here))
    return items


def _check_items(ids: list, items: dict[str, Item], here: str) -> None:
    unknown = [i for i in ids if i not in items]
    if unknown:
        raise ConfigError(f"{here} refers to items not defined under items: {', '.join(unknown)}.")


def _choice(entry: dict, key: str, allowed: tuple[str, ...], here: str) -> str:
    value = _required(entry, key, here)
    if value not in allowed:
        raise ConfigError(f"{here}: {key} is {value!r}; allowed: {', '.join(allowed)}.")
    return value


def _parse_factor(entry: dict, items: dict[str, Item], where: str) -> Factor:
    factor_id = str(_required(entry, "id", f"{where}: factors"))
    here = f"{where}: factor {factor_id!r}"
    item_entries = _list(entry, "items", here)
    pairs = tuple(
        (str(_required(e, "id", here)), bool(e.get("reverse", False))) for e in item_entries
    )
    _check_items([i for i, _ in pairs], items, here)
    min_items = int(_required(entry, "min_items", here))
    if not 1 <= min_items <= len(pairs):
        raise ConfigError(f"{here}: min_items is {min_items}; it must be 1..{len(pairs)}.")
    return Factor(
        id=factor_id,
        domain=_choice(entry, "domain", DOMAINS, here),
        kind=_choice(entry, "kind", FACTOR_KINDS, here),
        label=_texts(entry, "label", here),
        description=_texts(entry, "description", here),
        items=pairs,
        min_items=min_items,
        cutpoint=_parse_cutpoint(_mapping(entry, "cutpoint", here), here),
    )


def _parse_cutpoint(raw: dict, here: str) -> dict[str, Any]:
    method = _choice(raw, "method", ("percentile", "fixed"), f"{here} cutpoint")
    flag, high = float(_required(raw, "flag", here)), float(_required(raw, "high", here))
    if method == "percentile" and not (0 < flag < 100 and 0 < high < 100):
        raise ConfigError(f"{here}: percentile cut points must lie between 0 and 100.")
    if method == "fixed" and not raw.get("version"):
        raise ConfigError(f"{here}: fixed cut points need a 'version' naming their source.")
    return {**raw, "flag": flag, "high": high}


def _check_rule(rule: dict, kinds: dict, items: dict[str, Item], here: str) -> dict:
    kind = _choice(rule, "kind", tuple(kinds), f"{here} rule")
    for key in kinds[kind]:
        _required(rule, key, f"{here} rule")
    if "items" in rule:
        _check_items(list(rule["items"]), items, here)
    if "item" in rule:
        _check_items([rule["item"]], items, here)
    if "pairs" in rule:
        _check_items([i for pair in rule["pairs"] for i in pair], items, here)
    return dict(rule)


def _parse_behaviour(entry: dict, items: dict[str, Item], where: str) -> Behaviour:
    behaviour_id = str(_required(entry, "id", f"{where}: behaviours"))
    here = f"{where}: behaviour {behaviour_id!r}"
    rule = _check_rule(_mapping(entry, "rule", here), BEHAVIOUR_RULES, items, here)
    return Behaviour(behaviour_id, str(entry.get("group", "")), _texts(entry, "label", here), rule)


def _parse_validity(entry: dict, items: dict[str, Item], where: str) -> ValidityRule:
    rule_id = str(_required(entry, "id", f"{where}: validity"))
    here = f"{where}: validity rule {rule_id!r}"
    rule = _check_rule(_mapping(entry, "rule", here), VALIDITY_RULES, items, here)
    return ValidityRule(
        rule_id, _texts(entry, "label", here), bool(entry.get("exclude", True)), rule
    )


def _parse_composite(entry: dict, where: str) -> Composite:
    composite_id = str(_required(entry, "id", f"{where}: composites"))
    here = f"{where}: composite {composite_id!r}"
    share = float(_required(entry, "min_scored_share", here))
    if not 0 < share <= 1:
        raise ConfigError(f"{here}: min_scored_share is {share}; it must be in (0, 1].")
    return Composite(
        composite_id,
        _choice(entry, "kind", FACTOR_KINDS, here),
        _texts(entry, "label", here),
        int(_required(entry, "min_flagged", here)),
        share,
    )


def _check_unique_ids(instrument: Instrument, where: str) -> None:
    ids = [
        *instrument.factor_ids,
        *(b.id for b in instrument.behaviours),
        *(c.id for c in instrument.composites),
    ]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(
            f"{where}: measure ids must be unique; repeated: {', '.join(duplicates)}."
        )
    clash = sorted(set(ids) & set(instrument.items))
    if clash:
        raise ConfigError(f"{where}: ids used both as item and measure: {', '.join(clash)}.")


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


def load_respondent_schema(path: str | Path | None = None) -> RespondentSchema:
    """Read ``data_schema/respondents.yaml`` (or another file of the same shape)."""
    path = Path(path) if path is not None else SCHEMA_DIR / "respondents.yaml"
    content = _read_bytes(path)
    key = (f"respondents:{path}", hashlib.sha256(content).hexdigest())
    if key not in _PARSED:
        raw, where = _parse_yaml(path, content), path.name
        schema = RespondentSchema(
            columns=tuple(_list(raw, "columns", where)),
            grades=tuple(_list(raw, "grades", where)),
            sexes=tuple(_list(raw, "sexes", where)),
            total_code=str(_required(raw, "total_code", where)),
        )
        _remember(key, schema)
    return _PARSED[key]


def load_areas(path: str | Path) -> pd.DataFrame:
    """Read and validate an area list (CSV with the columns of ``data_schema/areas.yaml``).

    Returns columns ``area_id, name, municipality`` (all strings), one row per area.
    """
    path = Path(path)
    schema, _ = _read_yaml(SCHEMA_DIR / "areas.yaml")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputFileError(f"Cannot read the area list {path}: {exc}") from None
    for column in schema["columns"]:
        name = column["name"]
        if name not in frame.columns:
            raise InputFileError(
                f"The area list {path.name} has no column {name!r} (columns found:"
                f" {', '.join(frame.columns)})."
            )
        values = frame[name].str.strip()
        empty = values.eq("")
        if empty.any():
            row = int(empty.idxmax()) + 2
            raise InputFileError(f"{path.name}, row {row}: the column {name!r} is empty.")
        if column.get("unique") and values.duplicated().any():
            value = values[values.duplicated()].iloc[0]
            raise InputFileError(f"{path.name}: the value {value!r} occurs twice in {name!r}.")
        if column.get("pattern"):
            bad = ~values.str.fullmatch(column["pattern"])
            if bad.any():
                row = int(bad.idxmax()) + 2
                raise InputFileError(
                    f"{path.name}, row {row}: {name} {values[bad].iloc[0]!r} may only contain"
                    " lower-case letters a-z, digits and hyphens."
                )
    return frame[[c["name"] for c in schema["columns"]]].apply(lambda s: s.str.strip())
