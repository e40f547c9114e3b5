"""Voilà dashboards for area teams: the server (:mod:`.server`) and one function per view
(:mod:`.views`). A dashboard notebook is a title, an import and one call to :func:`app`."""

from ctc_helpers.dashboard.server import app

__all__ = ["app"]
