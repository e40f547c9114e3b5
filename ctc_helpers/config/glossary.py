"""The glossary of key terms (``data_schema/glossary.yaml``), one loader for reports and dashboards.

The file is described by the pydantic model :class:`GlossaryFile`; every problem is reported at
once, naming the file, the term and the key (:mod:`ctc_helpers.config.messages`).

Examples
--------
>>> terms = load_glossary("en")
>>> terms.set_index("term_id").loc["cut_point", "term"]
'Cut point'
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
from pydantic import AfterValidator, BeforeValidator

from ctc_helpers.config.fields import FileModel, Texts, id_text, nonempty_list
from ctc_helpers.config.files import read_yaml_file
from ctc_helpers.config.messages import problem, validate
from ctc_helpers.i18n import check_language
from ctc_helpers.paths import SCHEMA_DIR

__all__ = ["DEFAULT_GLOSSARY", "GlossaryFile", "Term", "load_glossary"]

DEFAULT_GLOSSARY = SCHEMA_DIR / "glossary.yaml"


class Term(FileModel):
    """One entry: a stable id, a group (for ordering) and the term and definition in sv and en."""

    id: id_text(r"[a-z][a-z0-9_]*", key="cfg_term_id")
    group: str = ""
    term: Texts
    definition: Texts


def _unique_ids(terms: list[Term]) -> list[Term]:
    ids = [term.id for term in terms]
    twice = [i for i in ids if ids.count(i) > 1]
    if twice:
        raise problem("cfg_id_twice", id=twice[0])
    return terms


class GlossaryFile(FileModel):
    """The glossary file: a non-empty list of terms with unique ids."""

    terms: Annotated[list[Term], BeforeValidator(nonempty_list), AfterValidator(_unique_ids)]


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
    ConfigFileError
        If the file cannot be read, or entries lack an id, a term or a definition in each
        language, or an id is repeated; the message lists every such entry and key.
    """
    lang = check_language(lang)
    path = Path(path) if path is not None else DEFAULT_GLOSSARY
    raw, _ = read_yaml_file(path, what="glossary")
    glossary = validate(GlossaryFile, raw, file=path.name)
    return pd.DataFrame(
        [
            {
                "term_id": term.id,
                "group": term.group,
                "term": getattr(term.term, lang),
                "definition": getattr(term.definition, lang),
            }
            for term in glossary.terms
        ],
        columns=["term_id", "group", "term", "definition"],
    )
