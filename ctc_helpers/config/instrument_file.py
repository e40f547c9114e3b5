"""The pydantic models of the instrument file and of the respondent schema.

:mod:`ctc_helpers.config.instrument` reads the files and turns the validated models into its
immutable classes (``Instrument``, ``RespondentSchema``); the format is documented in
``data_schema/INSTRUMENT_FORMAT.md``. Fields are checked in the order they are declared, and the
validators of ``response_sets`` and ``items`` note the ids that later keys refer to in the
validation context (:class:`Known`), so that an item that uses an unknown response set, or a
factor or rule that names an unknown item, is reported with its own key path. What no single
entry can check (unique ids across factors, behaviours and composites) is left to
:func:`id_problems`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    PlainValidator,
    ValidationInfo,
    model_validator,
)

from ctc_helpers.config.fields import (
    FileModel,
    OpenModel,
    Text,
    choice,
    nonempty_list,
    whole,
)
from ctc_helpers.config.messages import Problem, problem, show_value
from ctc_helpers.vocab import FACTOR_KINDS

__all__ = [
    "DOMAINS",
    "LANGUAGE_NOTE",
    "BEHAVIOUR_RULES",
    "VALIDITY_RULES",
    "Known",
    "InstrumentFile",
    "RespondentsFile",
    "id_problems",
]

DOMAINS = ("community", "family", "school", "individual")
THRESHOLD_RULES = {
    "any_at_least": ("items", "min_code"),
    "count_at_least": ("items", "min_code", "min_count"),
    "sum_at_least": ("items", "threshold", "min_items"),
}
BEHAVIOUR_RULES = {
    **THRESHOLD_RULES,
    "any_code_in": ("items", "codes"),
    "any_at_most": ("items", "max_code"),
    "any_between": ("items", "min_code", "max_code"),
}
VALIDITY_RULES = {
    **THRESHOLD_RULES,
    "code_in": ("item", "codes"),
    "pair_greater": ("pairs",),
    "min_answered_share": ("share",),
}
RULE_KEYS = ("items", "item", "min_code", "max_code", "min_count", "threshold", "min_items",
             "codes", "pairs", "share")  # fmt: skip
# Spellings of the behaviour rules as the instrument format documents them (code_in, code_at_most
# and code_between read like the validity rule code_in); each is the rule named on the right.
BEHAVIOUR_ALIASES = {
    "code_in": "any_code_in",
    "code_at_most": "any_at_most",
    "code_between": "any_between",
}
# The text shown where an instrument is written in one language only (data_schema/i18n.yaml).
LANGUAGE_NOTE = "instrument_one_language"


@dataclass
class Known:
    """The validation context: the ids of the response sets and items the file defines.

    They are noted before the entries are checked, so that one broken item does not make every
    reference to it an error too; ``None`` while unknown (the section is not a list or mapping):
    references are then not checked.
    """

    response_sets: set[str] | None = None
    items: set[str] | None = None
    domains: set[str] | None = None


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise problem("cfg_number")
    return value


Number = Annotated[int | float, PlainValidator(_number)]


def _known_item(value: Any, info: ValidationInfo) -> str:
    items = info.context.items
    if not isinstance(value, str) or (items is not None and value not in items):
        raise problem("cfg_item_unknown")
    return value


ItemRef = Annotated[str, PlainValidator(_known_item)]


# --------------------------------------------------------------------------------------------
# Response sets and items


class Option(FileModel):
    """One answer of a scale: the raw code, its score (null: not an answer) and its labels."""

    code: whole(minimum=0)
    score: Number | None = None
    sv: Text | None = None
    en: Text | None = None

    @model_validator(mode="after")
    def _one_language(self) -> Option:
        if self.sv is None and self.en is None:
            raise problem("cfg_texts_one")
        return self

    def as_dict(self) -> dict[str, str]:
        return _both_languages(self.sv, self.en)


def _both_languages(sv: str | None, en: str | None) -> dict[str, str]:
    """Both languages, the missing one (if any) filled with the other's text."""
    return {"sv": sv if sv is not None else en, "en": en if en is not None else sv}


class OneOrBothTexts(FileModel):
    """A text in Swedish and English, or in one of them: ``{sv: ...}`` / ``{en: ...}``.

    :meth:`as_dict` gives both; a missing language gets the other's text, and the instrument
    notes which languages it is written in (:attr:`Instrument.languages`) so that reports say so.
    """

    sv: Text | None = None
    en: Text | None = None

    @model_validator(mode="after")
    def _one_language(self) -> OneOrBothTexts:
        if self.sv is None and self.en is None:
            raise problem("cfg_texts_one")
        return self

    def as_dict(self) -> dict[str, str]:
        return _both_languages(self.sv, self.en)


def _codes_in_order(options: list[Option]) -> list[Option]:
    codes = [o.code for o in options]
    if codes and codes[0] == 0:
        raise problem("cfg_option_codes_zero", n=len(codes), codes=str(codes))
    if codes != list(range(1, len(codes) + 1)):
        raise problem("cfg_option_codes", n=len(codes), codes=str(codes))
    if all(o.score is None for o in options):
        raise problem("cfg_option_no_score")
    return options


class ResponseSetEntry(FileModel):
    label: OneOrBothTexts
    options: Annotated[
        list[Option], BeforeValidator(nonempty_list), AfterValidator(_codes_in_order)
    ]


def _note_sets(raw: Any, info: ValidationInfo) -> Any:
    if isinstance(raw, dict):
        info.context.response_sets = {k for k in raw if isinstance(k, str)}
    return raw


def _known_set(value: Any, info: ValidationInfo) -> str:
    defined = info.context.response_sets
    if not isinstance(value, str) or (defined is not None and value not in defined):
        raise problem("cfg_response_set_unknown", defined=sorted(defined or ()))
    return value


class ItemEntry(FileModel):
    id: Text
    response_set: Annotated[str, PlainValidator(_known_set)]
    text: OneOrBothTexts


def _note_items(raw: Any, info: ValidationInfo) -> Any:
    if isinstance(raw, list):
        entries = [e for e in raw if isinstance(e, dict)]
        info.context.items = {e["id"] for e in entries if isinstance(e.get("id"), str)}
    return nonempty_list(raw)


# --------------------------------------------------------------------------------------------
# Factors, behaviours, validity rules, composites


class FactorItem(FileModel):
    id: ItemRef
    reverse: bool = False


class Cutpoint(FileModel):
    method: choice(("percentile", "fixed"))
    flag: Number
    high: Number
    version: Text | None = None

    @model_validator(mode="after")
    def _method_rules(self) -> Cutpoint:
        if self.method == "percentile" and not (0 < self.flag < 100 and 0 < self.high < 100):
            raise problem("cfg_cutpoint_percentile", flag=self.flag, high=self.high)
        if self.method == "fixed" and self.version is None:
            raise problem("cfg_cutpoint_version")
        return self


def _known_domain(value: Any, info: ValidationInfo) -> str:
    defined = info.context.domains
    allowed = tuple(sorted(defined)) if defined is not None else DOMAINS
    if not isinstance(value, str) or value not in allowed:
        raise problem("cfg_choice", allowed=allowed)
    return value


class FactorEntry(FileModel):
    id: Text
    domain: Annotated[str, PlainValidator(_known_domain)]
    kind: choice(FACTOR_KINDS)
    label: OneOrBothTexts
    description: OneOrBothTexts
    items: Annotated[list[FactorItem], BeforeValidator(nonempty_list)]
    min_items: whole(minimum=1)
    cutpoint: Cutpoint

    @model_validator(mode="after")
    def _enough_items(self) -> FactorEntry:
        if self.min_items > len(self.items):
            raise problem("cfg_min_items", min_items=self.min_items, n=len(self.items))
        return self


def _pair(pair: list[str]) -> list[str]:
    if len(pair) != 2:
        raise problem("cfg_rule_pair")
    return pair


class Rule(FileModel):
    """A rule: a kind and that kind's keys (items named must be items of the instrument)."""

    KINDS: ClassVar[dict[str, tuple[str, ...]]] = VALIDITY_RULES

    kind: str
    items: Annotated[list[ItemRef], BeforeValidator(nonempty_list)] | None = None
    item: ItemRef | None = None
    min_code: whole(minimum=0) | None = None
    max_code: whole(minimum=1) | None = None
    min_count: whole(minimum=1) | None = None
    threshold: Number | None = None
    min_items: whole(minimum=1) | None = None
    codes: list[whole()] | None = None
    pairs: list[Annotated[list[ItemRef], AfterValidator(_pair)]] | None = None
    share: Number | None = None

    @model_validator(mode="before")
    @classmethod
    def _kind_first(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and raw.get("kind") not in cls.KINDS:
            kind = show_value(raw.get("kind"))
            raise problem("cfg_rule_kind", kind=kind, allowed=tuple(cls.KINDS))
        return raw

    @model_validator(mode="after")
    def _keys_of_the_kind(self) -> Rule:
        needed = self.KINDS[self.kind]
        for key in RULE_KEYS:
            given = getattr(self, key) is not None
            if given != (key in needed):
                text = "cfg_rule_key_extra" if given else "cfg_rule_key_missing"
                raise problem(text, key=key, kind=self.kind, keys=needed)
        return self

    def as_dict(self) -> dict[str, Any]:
        """The rule as the survey engines read it: its kind and its keys."""
        return self.model_dump(exclude_none=True)


class BehaviourRule(Rule):
    KINDS: ClassVar[dict[str, tuple[str, ...]]] = {
        **BEHAVIOUR_RULES,
        **{alias: BEHAVIOUR_RULES[kind] for alias, kind in BEHAVIOUR_ALIASES.items()},
    }

    @model_validator(mode="after")
    def _range_in_order(self) -> BehaviourRule:
        low, high = self.min_code, self.max_code
        if low is not None and high is not None and low > high:
            raise problem("cfg_rule_range", min_code=low, max_code=high)
        return self

    def as_dict(self) -> dict[str, Any]:
        """The rule as the survey engines read it, an alias spelt as the rule it stands for."""
        rule = self.model_dump(exclude_none=True)
        return {**rule, "kind": BEHAVIOUR_ALIASES.get(rule["kind"], rule["kind"])}


class BehaviourEntry(FileModel):
    id: Text
    group: str = ""
    label: OneOrBothTexts
    rule: BehaviourRule


class ValidityEntry(FileModel):
    id: Text
    label: OneOrBothTexts
    exclude: bool = True
    rule: Rule


def _share(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise problem("cfg_share")
    return float(value)


class CompositeEntry(FileModel):
    id: Text
    kind: choice(FACTOR_KINDS)
    label: OneOrBothTexts
    min_flagged: whole(minimum=1)
    min_scored_share: Annotated[float, PlainValidator(_share)]


def _version_text(value: Any) -> Any:
    """A version written as a number (2026.1) is the same version as text."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return str(value) if is_number else value


class Head(FileModel):
    id: Text
    version: Annotated[Text, BeforeValidator(_version_text)]
    title: OneOrBothTexts
    notice: OneOrBothTexts


def _none_is_empty(value: Any) -> Any:
    return [] if value is None else value


# --------------------------------------------------------------------------------------------
# The respondent schema (data_schema/respondents.yaml)


class ColumnEntry(OpenModel):
    name: Text
    label: OneOrBothTexts
    required: bool = False


class GradeEntry(OpenModel):
    code: Text
    year: whole(minimum=0)
    age: whole(minimum=0) | None = None
    label: OneOrBothTexts
    aliases: list[str | int] = []


class SexEntry(OpenModel):
    code: Text
    label: OneOrBothTexts
    published: bool = True
    aliases: list[str | int] = []


class RespondentsFile(OpenModel):
    columns: Annotated[list[ColumnEntry], BeforeValidator(nonempty_list)]
    grades: Annotated[list[GradeEntry], BeforeValidator(nonempty_list)]
    sexes: Annotated[list[SexEntry], BeforeValidator(nonempty_list)]
    total_code: Text


def _codes_once(entries: list[Any]) -> list[Any]:
    codes = [e.code for e in entries]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise problem("cfg_id_twice", id=twice[0])
    return entries


class Vocabulary(FileModel):
    """``respondents:`` in an instrument: its own grades and/or sexes, in display order.

    A list given here replaces the default one (``data_schema/respondents.yaml``) whole: the
    default's aliases (``"10"`` for gy 1 ...) do not apply, only the codes and aliases written here.
    """

    grades: (
        Annotated[list[GradeEntry], BeforeValidator(nonempty_list), AfterValidator(_codes_once)]
        | None
    ) = None
    sexes: (
        Annotated[list[SexEntry], BeforeValidator(nonempty_list), AfterValidator(_codes_once)]
        | None
    ) = None


class DomainEntry(FileModel):
    """A domain of factor scales: its id (used by ``factors[].domain``) and its name."""

    id: Text
    label: OneOrBothTexts


def _note_domains(raw: Any, info: ValidationInfo) -> Any:
    if isinstance(raw, list):
        entries = [e for e in raw if isinstance(e, dict)]
        info.context.domains = {e["id"] for e in entries if isinstance(e.get("id"), str)}
    return nonempty_list(raw)


class GlossaryTerm(FileModel):
    """A glossary entry that comes with the instrument (shown beside the workbench's own)."""

    term: OneOrBothTexts
    definition: OneOrBothTexts


class InstrumentFile(FileModel):
    """The instrument file, section by section (checked in this order).

    Optional: ``domains`` (default: the four CTC domains), ``respondents`` (the grade and sex
    vocabulary; default ``data_schema/respondents.yaml``), ``factors`` or ``behaviours`` (one
    of them is needed), ``validity`` (none: no screening), ``composites``, ``glossary``.
    """

    instrument: Head
    domains: Annotated[list[DomainEntry], BeforeValidator(_note_domains)] | None = None
    respondents: Vocabulary | None = None
    response_sets: Annotated[dict[Text, ResponseSetEntry], BeforeValidator(_note_sets)]
    items: Annotated[list[ItemEntry], BeforeValidator(_note_items)]
    factors: Annotated[list[FactorEntry], BeforeValidator(_none_is_empty)] = []
    behaviours: Annotated[list[BehaviourEntry], BeforeValidator(_none_is_empty)] = []
    validity: Annotated[list[ValidityEntry], BeforeValidator(_none_is_empty)] = []
    composites: Annotated[list[CompositeEntry], BeforeValidator(_none_is_empty)] = []
    glossary: Annotated[list[GlossaryTerm], BeforeValidator(_none_is_empty)] = []
    defaults: Annotated[dict[str, Any], BeforeValidator(lambda v: {} if v is None else v)] = {}

    @model_validator(mode="after")
    def _something_to_report(self) -> InstrumentFile:
        if not self.factors and not self.behaviours:
            raise problem("cfg_instrument_no_measures")
        return self

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages every text of the file is written in (one or both of sv, en)."""
        found = {"sv": True, "en": True}
        for node in _texts_of(self):
            for lang in found:
                found[lang] &= getattr(node, lang) is not None
        return tuple(lang for lang, every in found.items() if every)


def _texts_of(node: Any) -> list[Any]:
    """Every text entry (label, option, glossary text) in a validated instrument model."""
    if isinstance(node, OneOrBothTexts | Option):
        return [node]
    if isinstance(node, FileModel):
        return [t for name in type(node).model_fields for t in _texts_of(getattr(node, name))]
    if isinstance(node, list | tuple):
        return [t for entry in node for t in _texts_of(entry)]
    if isinstance(node, dict):
        return [t for entry in node.values() for t in _texts_of(entry)]
    return []


def id_problems(model: InstrumentFile) -> list[Problem]:
    """Ids defined twice: an item, a measure (factor, behaviour, composite), or an id used both
    as an item and as a measure."""
    problems = []
    items = [i.id for i in model.items]
    twice = sorted({i for i in items if items.count(i) > 1})
    if twice:
        problems.append(Problem("items", "cfg_id_twice", {"id": twice[0]}))
    measures = [e.id for section in (model.factors, model.behaviours, model.composites)
                for e in section]  # fmt: skip
    twice = sorted({m for m in measures if measures.count(m) > 1})
    if twice:
        problems.append(Problem("", "cfg_measure_twice", {"ids": twice}))
    clash = sorted(set(measures) & set(items))
    if clash:
        problems.append(Problem("", "cfg_item_and_measure", {"ids": clash}))
    return problems
