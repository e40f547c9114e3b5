"""The glossary of key terms (``data_schema/glossary.yaml``), one loader for reports and dashboards.

Examples
--------
>>> terms = load_glossary("en")
>>> terms.set_index("term_id").loc["cut_point", "term"]
'Cut point'
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml

from ctc_helpers.config.yaml_load import load_yaml
from ctc_helpers.errors import ConfigError
from ctc_helpers.i18n import LANGUAGES, check_language
from ctc_helpers.paths import SCHEMA_DIR

__all__ = ["DEFAULT_GLOSSARY", "load_glossary"]

DEFAULT_GLOSSARY = SCHEMA_DIR / "glossary.yaml"
_ID_PATTERN = re.compile(r"[a-z][a-z0-9_]*")


def load_glossary(lang: str | None = None, *, path: str | Path | None = None) -> pd.DataFrame:
    """Read and validate the glossary in one language.

    Parameters
    ----------
    lang : {"sv", "en"}, optional
        Language of the terms and definitions (default: Swedish, or ``CTC_LANG``).
    path : str or Path, optional
        Another glossary file of the same format (default ``data_schema/glossary.yaml``).

    Returns
    -------
    pandas.DataFrame
        One row per term in file order, columns ``term_id, group, term, definition``.

    Raises
    ------
    ConfigError
        If the file cannot be read, or an entry lacks an id, a term or a definition in each
        language, or an id is repeated; the message names the entry.
    """
    lang = check_language(lang)
    entries = _read_terms(Path(path) if path is not None else DEFAULT_GLOSSARY)
    return pd.DataFrame(
        [
            {
                "term_id": entry["id"],
                "group": str(entry.get("group", "")),
                "term": entry["term"][lang],
                "definition": entry["definition"][lang],
            }
            for entry in entries
        ],
        columns=["term_id", "group", "term", "definition"],
    )


def _read_terms(path: Path) -> list[dict]:
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the glossary {path}: {exc.strerror}.") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"The glossary {path.name} is not valid YAML: {exc}") from None
    terms = data.get("terms") if isinstance(data, dict) else None
    if not isinstance(terms, list) or not terms:
        raise ConfigError(f"The glossary {path.name} needs a non-empty list under 'terms'.")
    seen: set[str] = set()
    for number, entry in enumerate(terms, start=1):
        _check_entry(entry, number, path.name, seen)
    return terms


def _check_entry(entry: object, number: int, where: str, seen: set[str]) -> None:
    if not isinstance(entry, dict):
        raise ConfigError(
            f"{where}: term number {number} must be a mapping with id, term, definition."
        )
    term_id = entry.get("id")
    if not isinstance(term_id, str) or not _ID_PATTERN.fullmatch(term_id):
        raise ConfigError(
            f"{where}: term number {number} has the id {term_id!r}; use lower-case letters,"
            " digits and underscores."
        )
    if term_id in seen:
        raise ConfigError(f"{where}: the term id {term_id!r} occurs twice.")
    seen.add(term_id)
    for key in ("term", "definition"):
        texts = entry.get(key)
        missing = [lang for lang in LANGUAGES if not isinstance(texts, dict) or not texts.get(lang)]
        if missing:
            raise ConfigError(
                f"{where}: term {term_id!r} has no {key} in {', '.join(missing)}"
                f" (each term needs {key} in {', '.join(LANGUAGES)})."
            )
