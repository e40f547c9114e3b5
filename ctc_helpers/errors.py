"""Exception types whose messages are meant for the user (a municipal analyst).

Every message names the file, row, column and value involved and, where it helps, the allowed
options. The command line prints the message without a traceback.
"""

from __future__ import annotations

__all__ = ["CTCError", "InputFileError", "ConfigError", "ComparisonError"]


class CTCError(Exception):
    """Base class: a problem the user can fix; the message says what and where."""

    def text(self, lang: str | None = None) -> str:
        """The message in ``lang`` (``sv``/``en``); one written when it was raised stays as is.

        Errors that keep their problems (``ctc_helpers.config.messages.ConfigFileError``) render
        them in the language asked for, so ``ctc --lang en`` shows them in English.
        """
        return str(self)


class InputFileError(CTCError):
    """A data file cannot be used as a whole (unreadable, empty, missing columns ...)."""


class ConfigError(CTCError):
    """A configuration or schema file (instrument, run file, goal chain ...) is not valid."""


class ComparisonError(CTCError):
    """Two results cannot be compared honestly (e.g. different cut-point versions)."""
