"""Research links between factors and problem behaviours (``data_schema/factor_links.yaml``).

The file says which risk and protective factors research ties to which groups of problem
behaviours, one source per link (see the file's header). :func:`load_factor_links` reads and
checks it against the instrument (every factor, behaviour and source key must exist) and reports
every problem at once, naming the file, the key and the value.

>>> links = load_factor_links()
>>> table = links.table
>>> table.query("factor == 'low_perceived_risk_drugs'")[["group", "source"]].iloc[0].tolist()
['substance_use', 'hawkins_1992']
>>> links.groups_of("alcohol_30d")
('substance_use',)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ctc_helpers.config.files import read_yaml_file
from ctc_helpers.config.instrument import Instrument, load_instrument
from ctc_helpers.errors import ConfigError
from ctc_helpers.i18n import t
from ctc_helpers.paths import SCHEMA_DIR, resolve_path

__all__ = ["FACTOR_LINKS_FILE", "FactorLinks", "load_factor_links"]

FACTOR_LINKS_FILE = SCHEMA_DIR / "factor_links.yaml"
LINK_TABLE_COLUMNS = ("factor", "group", "behaviour", "source", "citation")


@dataclass(frozen=True)
class FactorLinks:
    """The research links: a tidy ``table`` (``factor, group, behaviour, source, citation``),
    the behaviour groups' labels and the sources' notes."""

    table: pd.DataFrame
    group_labels: dict[str, dict[str, str]]
    source_notes: dict[str, dict[str, str]]
    path: Path

    def groups_of(self, behaviour: str) -> tuple[str, ...]:
        """The behaviour groups a behaviour belongs to."""
        rows = self.table[self.table["behaviour"] == behaviour]
        return tuple(dict.fromkeys(rows["group"]))

    def linked(self, factor: str, behaviour: str) -> str | None:
        """The source key of the research link factor -> behaviour, None when there is none."""
        rows = self.table[(self.table["factor"] == factor) & (self.table["behaviour"] == behaviour)]
        return None if rows.empty else str(rows["source"].iloc[0])


def load_factor_links(
    path: str | Path | None = None,
    *,
    instrument: Instrument | None = None,
    lang: str | None = None,
) -> FactorLinks:
    """Read and check the research links file.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        The file (default: ``data_schema/factor_links.yaml``).
    instrument : Instrument, optional
        The instrument whose factor and behaviour ids the file must use (default instrument).
    lang : str, optional
        Language of the error message.

    Returns
    -------
    FactorLinks

    Raises
    ------
    ConfigError
        Naming every key whose value is unknown (file, key path, value, the allowed values).
    """
    file = resolve_path(path) if path is not None else FACTOR_LINKS_FILE
    raw, _ = read_yaml_file(file, what="factor_links")
    instrument = instrument or load_instrument()
    problems: list[str] = []
    sources = _section(raw, "sources", file, problems, lang)
    groups = _section(raw, "behaviour_groups", file, problems, lang)
    links = _section(raw, "links", file, problems, lang)
    behaviours = set(instrument.measures()["measure"]) - set(instrument.factor_ids)
    rows = _rows(links, groups, sources, instrument, behaviours, file, problems, lang)
    if problems:
        raise ConfigError("\n".join(problems))
    return FactorLinks(
        table=pd.DataFrame(rows, columns=list(LINK_TABLE_COLUMNS)),
        group_labels={g: dict(v.get("label", {})) for g, v in groups.items()},
        source_notes={s: dict(v.get("note", {})) for s, v in sources.items()},
        path=file,
    )


def _problem(problems, file: Path, key: str, value: Any, allowed, lang) -> None:
    shown = ", ".join(sorted(map(str, allowed)))
    problems.append(
        t("factor_links_problem", lang, file=file.name, key=key, value=value, allowed=shown)
    )


def _section(raw: Any, name: str, file: Path, problems: list[str], lang) -> dict[str, Any]:
    value = raw.get(name) if isinstance(raw, dict) else None
    if not isinstance(value, dict) or not value:
        _problem(problems, file, name, value, ["a mapping / en mappning"], lang)
        return {}
    return value


def _rows(links, groups, sources, instrument, behaviours, file, problems, lang) -> list[tuple]:
    for group, spec in groups.items():
        for behaviour in (spec or {}).get("behaviours", []):
            if behaviour not in behaviours:
                key = f"behaviour_groups.{group}.behaviours"
                _problem(problems, file, key, behaviour, behaviours, lang)
    rows = []
    for factor, linked in links.items():
        if factor not in instrument.factor_ids:
            _problem(problems, file, "links", factor, instrument.factor_ids, lang)
            continue
        for group, source in (linked or {}).items():
            if group not in groups:
                _problem(problems, file, f"links.{factor}", group, groups, lang)
            elif source not in sources:
                _problem(problems, file, f"links.{factor}.{group}", source, sources, lang)
            else:
                citation = " ".join(str(sources[source].get("citation", "")).split())
                rows += [
                    (factor, group, b, source, citation)
                    for b in groups[group].get("behaviours", [])
                    if b in behaviours
                ]
    return rows
