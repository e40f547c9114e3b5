"""An area team's recorded choice of priority factors (``<priorities dir>/<area>.yaml``).

The file format is described in ``data_schema/priorities.yaml``: its keys and whether each is
required, the range of ``wave`` and how many risk and protective factors a team may choose are
read from there; :class:`PrioritiesFile` is the model that checks a file against it. Factor ids
are checked against the instrument's (or the published measures') risk and protective factors.
Every problem is reported at once, naming the file, the key and the value.

>>> from ctc_helpers.paths import SAMPLE_DIR
>>> choices = load_team_choices(SAMPLE_DIR / "priorities", "norra-hamnen")
>>> choices.wave, choices.risk_factors[0]
(2025, 'family_conflict')
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import AfterValidator, BeforeValidator, PlainValidator, ValidationInfo

from ctc_helpers.config.fields import Date, FileModel
from ctc_helpers.config.fields import Text as NonEmptyText
from ctc_helpers.config.files import read_yaml_file
from ctc_helpers.config.instrument import load_instrument
from ctc_helpers.config.messages import Text, problem, validate
from ctc_helpers.paths import SCHEMA_DIR, resolve_path
from ctc_helpers.vocab import FACTOR_KINDS, OUTCOME_KINDS

__all__ = [
    "PRIORITIES_SCHEMA",
    "TeamChoices",
    "PrioritiesFile",
    "priorities_fields",
    "load_team_choices",
]

PRIORITIES_SCHEMA = SCHEMA_DIR / "priorities.yaml"


@dataclass(frozen=True)
class TeamChoices:
    """An area team's recorded priorities (``<data dir>/priorities/<area>.yaml``)."""

    area: str
    wave: int
    decided: dt.date
    risk_factors: tuple[str, ...]
    protective_factors: tuple[str, ...] = ()
    note: str = ""
    path: Path | None = field(default=None, compare=False)
    priority_behaviours: tuple[str, ...] = ()

    @property
    def factors(self) -> tuple[str, ...]:
        return self.risk_factors + self.protective_factors


@cache
def priorities_fields() -> dict[str, dict[str, Any]]:
    """The fields of ``data_schema/priorities.yaml`` by name (limits, kinds, labels)."""
    raw, _ = read_yaml_file(PRIORITIES_SCHEMA, what="schema")
    return {spec["name"]: spec for spec in raw["fields"]}


@dataclass(frozen=True)
class _Context:
    area: str  # the file name: the area the file is read for
    known: dict[str, str]  # factor id -> risk / protective
    behaviours: tuple[str, ...] = ()  # behaviour ids of the instrument


def _area(value: Any, info: ValidationInfo) -> str:
    if value != info.context.area:
        raise problem("cfg_area_file", area=info.context.area)
    return value


def _wave(value: Any) -> int:
    spec = priorities_fields()["wave"]
    if isinstance(value, bool) or not isinstance(value, int):
        raise problem("cfg_whole_range", min=spec["min"], max=spec["max"])
    if not spec["min"] <= value <= spec["max"]:
        raise problem("cfg_whole_range", min=spec["min"], max=spec["max"])
    return value


def _factor(kind: str):
    def check(value: Any, info: ValidationInfo) -> str:
        known = info.context.known
        if not isinstance(value, str) or value not in known:
            ids = [f for f, k in known.items() if k == kind]
            close = difflib.get_close_matches(str(value), ids, n=1)
            raise problem(
                "cfg_factor_unknown_close" if close else "cfg_factor_unknown",
                kind=Text(f"cfg_factor_{kind}"),
                kinds=Text(f"cfg_factors_{kind}"),
                known=ids,
                close=close[0] if close else "",
            )
        if known[value] != kind:
            other = known[value]
            raise problem(
                "cfg_factor_kind",
                kind=Text(f"cfg_factor_{kind}"),
                other=Text(f"cfg_factor_{other}"),
                key=f"{other}_factors",
            )
        return value

    return check


def _behaviour(value: Any, info: ValidationInfo) -> str:
    known = info.context.behaviours
    if not isinstance(value, str) or value not in known:
        close = difflib.get_close_matches(str(value), known, n=1)
        key = "cfg_bank_unknown_behaviour_close" if close else "cfg_bank_unknown_behaviour"
        raise problem(key, close=close[0] if close else "")
    return value


def _list_or_empty(name: str):
    def before(value: Any) -> Any:
        if value is None and not priorities_fields()[name].get("required"):
            return []
        if not isinstance(value, list):
            raise problem("cfg_factor_list")
        return value

    return BeforeValidator(before)


def _counted(name: str):
    def after(values: list[str]) -> tuple[str, ...]:
        spec = priorities_fields()[name]
        low, high = spec.get("min_items", 0), spec.get("max_items", len(values))
        if not low <= len(values) <= high:
            raise problem("cfg_factor_count", n=len(values), min=low, max=high)
        twice = [v for v in values if values.count(v) > 1]
        if twice:
            raise problem("cfg_factor_twice", id=twice[0])
        return tuple(values)

    return AfterValidator(after)


def _factors(kind: str) -> Any:
    name = f"{kind}_factors"
    item = Annotated[str, PlainValidator(_factor(kind))]
    return Annotated[list[item], _list_or_empty(name), _counted(name)]


class PrioritiesFile(FileModel):
    """One team's file; the keys are those of ``data_schema/priorities.yaml`` (a test checks)."""

    area: Annotated[NonEmptyText, AfterValidator(_area)]
    wave: Annotated[int, PlainValidator(_wave)]
    decided: Date
    risk_factors: _factors("risk")
    protective_factors: _factors("protective") = ()
    priority_behaviours: Annotated[
        list[Annotated[str, PlainValidator(_behaviour)]],
        _list_or_empty("priority_behaviours"),
        _counted("priority_behaviours"),
    ] = ()
    note: str | None = None


def _known_behaviours(factors: pd.DataFrame | None) -> tuple[str, ...]:
    measures = load_instrument().measures() if factors is None else factors
    behaviour = OUTCOME_KINDS[0]
    return tuple(measures.loc[measures["measure_kind"].eq(behaviour), "measure"])


def _known_factors(factors: pd.DataFrame | None) -> dict[str, str]:
    if factors is None:
        return {f.id: f.kind for f in load_instrument().factors}
    rows = factors.loc[factors["measure_kind"].isin(FACTOR_KINDS)]
    return dict(zip(rows["measure"], rows["measure_kind"], strict=True))


def load_team_choices(
    priorities_dir: str | Path, area: str, *, factors: pd.DataFrame | None = None
) -> TeamChoices | None:
    """Read and validate ``<priorities_dir>/<area>.yaml``; ``None`` when the file does not exist.

    Parameters
    ----------
    priorities_dir : str or Path
        Folder of the teams' files (a relative path that does not exist from the current
        folder is taken from the repository root).
    area : str
        Area id (the file name without ``.yaml``; the file's ``area`` must equal it).
    factors : pandas.DataFrame, optional
        Known factors and behaviours with columns ``measure`` and ``measure_kind`` (e.g. the
        published ``measures.csv``); default: those of the default instrument.

    Raises
    ------
    ConfigFileError
        The file is not valid against ``data_schema/priorities.yaml``: missing or unknown keys,
        values of the wrong type, too many factors, unknown factor ids or ones of the wrong
        kind. The message lists every problem with the file, the key and the value.
    """
    path = resolve_path(priorities_dir) / f"{area}.yaml"
    if not path.is_file():
        return None
    raw, _ = read_yaml_file(path, what="priorities")
    context = _Context(
        area=area, known=_known_factors(factors), behaviours=_known_behaviours(factors)
    )
    choice = validate(PrioritiesFile, raw, file=path.name, context=context)
    return TeamChoices(
        area=choice.area,
        wave=choice.wave,
        decided=choice.decided,
        risk_factors=choice.risk_factors,
        protective_factors=tuple(choice.protective_factors),
        note=choice.note or "",
        path=path,
        priority_behaviours=tuple(choice.priority_behaviours),
    )
