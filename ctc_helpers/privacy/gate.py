"""Protect the tables of a wave and refuse to publish what a reader could work out.

:func:`protect_wave` chooses the hidden cells of one wave (primary and complementary
suppression, then the interval audit in a loop, :mod:`ctc_helpers.privacy.protect`) and returns
the published tables. :func:`audit_published` audits published tables as a reader sees them
(the status is read from the tables themselves, not taken from the suppression), and
:func:`check_published` raises :class:`DisclosureError` naming the first cell a reader could work
out. The prepare step (:mod:`ctc_helpers.publish.build`) calls both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ctc_helpers.errors import CTCError
from ctc_helpers.i18n import t
from ctc_helpers.privacy.interval import AuditReport
from ctc_helpers.privacy.joint import audit_wave
from ctc_helpers.privacy.protect import Suppressor
from ctc_helpers.privacy.system import SHOWN, CellSystem
from ctc_helpers.privacy.tables import published_tables, status_of
from ctc_helpers.privacy.wave import (
    WaveInput,
    WaveSystem,
    area_cells,
    build_wave,
    group_cells,
    group_of_measures,
    sealed_areas,
    structural_zeros,
)

__all__ = [
    "DEFAULT_MIN_COUNT",
    "DisclosureError",
    "Protected",
    "audit_published",
    "check_published",
    "describe_cell",
    "protect_wave",
]

DEFAULT_MIN_COUNT = 5
"""Smallest number of pupils with an answer (``n_flagged``) that a shown cell may reveal."""


class DisclosureError(CTCError):
    """A published table would let a reader work out a hidden count or a small group."""


@dataclass(frozen=True)
class Protected:
    """The published tables of one wave, the audit that passed them and what it took."""

    tables: dict[str, pd.DataFrame]
    report: AuditReport
    stats: dict


def _suppressor(wave: WaveSystem) -> Suppressor:
    return Suppressor(
        wave.system,
        wave.implies,
        wave.weight,
        wave.published.copy(),
        first=group_cells(wave),
        redirect=group_of_measures(wave),
    )


def protect_wave(data: WaveInput, *, min_n: int, min_count: int = DEFAULT_MIN_COUNT) -> Protected:
    """Choose the hidden cells of one wave and return its published tables, audited.

    The suppression audits with the cheaper phases of :func:`~ctc_helpers.privacy.joint.
    audit_wave` while it chooses cells; the tables it returns are then audited in full as a
    reader sees them (:func:`audit_published`). Raises :class:`DisclosureError` when a cell
    stays exposed.
    """
    wave = build_wave(data, min_n=min_n, min_count=min_count)
    suppressor = _suppressor(wave)
    status = wave.initial_status()
    status[structural_zeros(wave)] = SHOWN
    with threadpool_limits(limits=1, user_api="blas"):

        def audit(current: np.ndarray, changed) -> AuditReport:
            return audit_wave(wave, current, suppressor.strict(current), confirm=False)

        sealed = sealed_areas(wave)
        forced = area_cells(wave, sealed) if sealed else None
        protection = suppressor.protect(status, audit=audit, forced=forced)
    tables = published_tables(wave, protection.status, data)
    report = audit_published(data, tables, min_n=min_n, min_count=min_count, wave=wave)
    stats = {**protection.stats, "audit": report.stats}
    check_published(report, wave=wave, data=data)
    return Protected(tables, report, stats)


def audit_published(
    data: WaveInput,
    tables: Mapping[str, pd.DataFrame],
    *,
    min_n: int,
    min_count: int = DEFAULT_MIN_COUNT,
    wave: WaveSystem | None = None,
) -> AuditReport:
    """The interval audit of one wave's published tables (all of them at once), as a reader
    sees them: every value shown in a table is known, every blank one is hidden."""
    wave = wave or build_wave(data, min_n=min_n, min_count=min_count)
    status = status_of(wave, tables, data)
    with threadpool_limits(limits=1, user_api="blas"):
        report = audit_wave(wave, status, _strict(wave, status))
    report.wave = wave
    return report


def _strict(wave: WaveSystem, status: np.ndarray) -> np.ndarray:
    """Hidden cells a reader knows not to be zero: not hidden with their row, and not in an
    area none of whose cells is shown (such an area hides its zeros too)."""
    suppressor = _suppressor(wave)
    for area in wave.areas:
        cells = area_cells(wave, [area])
        published = cells[wave.published[cells]]
        if not np.any(status[published] == SHOWN):
            suppressor.loose[cells] = True
    return suppressor.strict(status)


def check_published(report: AuditReport, *, wave: WaveSystem, data: WaveInput, lang=None):
    """Raise :class:`DisclosureError` (sv/en) naming the first finding of ``report``."""
    if report.ok:
        return
    first = report.findings.iloc[0]
    where = describe_cell(wave.system, int(first["cell"]))
    key = "disclosure_exact" if first["problem"] == "exact" else "disclosure_small"
    raise DisclosureError(
        t(
            key,
            lang,
            wave=int(data.aggregates["wave"].iloc[0]),
            cell=where,
            low=int(first["low"]),
            high=int(first["high"]),
            threshold=int(first["threshold"]),
            count=len(report.findings),
        )
    )


_TABLES = {
    "V": ("participation", "n_valid"),
    "Q": ("participation", "n"),
    "QS": ("participation", "n"),
    "E": ("participation", "enrolled"),
    "ES": ("participation", "enrolled"),
    "X": ("screening_log", "n_flagged (any_excluded)"),
}


def describe_cell(system: CellSystem, cell: int) -> str:
    """``"aggregates.parquet, area=asmyra, grade=ak8, sex=F, measure=alcohol_30d: n_flagged"``."""
    cube = system.cube_of(cell)
    codes = dict(cube.codes_of(cell))
    layer = cube.layer
    if ":" in layer:
        kind, name = layer.split(":", 1)
        if kind == "R":
            table, column = "screening_log", f"n_flagged (rule={name})"
        else:
            table, column = "aggregates", "n" if kind == "n" else "n_flagged"
            codes["measure"] = name
    else:
        table, column = _TABLES.get(layer, (layer, "n"))
    if codes.get("sex") == "FM":
        codes["sex"] = "all (girls and boys)"
    elif codes.get("sex") == "AP":
        codes["sex"] = "all (every pupil)"
    elif codes.get("sex") == "U":
        codes["sex"] = "no stated sex (not published)"
    keys = ", ".join(f"{k}={v}" for k, v in codes.items())
    return f"{table}.parquet, {keys}: {column}"
