"""ctc_helpers: the analytical core of the CTC workbench.

The public API is listed here explicitly; notebooks and users import from ``ctc_helpers``.
"""

from .errors import ComparisonError, ConfigError, CTCError, InputFileError
from .i18n import t, text_of
from .instrument import (
    Instrument,
    RespondentSchema,
    load_areas,
    load_instrument,
    load_respondent_schema,
)

__all__ = [
    "CTCError",
    "ComparisonError",
    "ConfigError",
    "InputFileError",
    "Instrument",
    "RespondentSchema",
    "load_areas",
    "load_instrument",
    "load_respondent_schema",
    "t",
    "text_of",
]

__version__ = "0.1.0"
