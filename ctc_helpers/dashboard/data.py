"""The published data a dashboard kernel reads, loaded once per kernel.

ONLY the published, suppressed folder of a wave (``reports/<wave>/data/``) and the teams' own
declarative files in the data folder (``priorities/<area>.yaml``, ``goal_chains/<area>.yaml``,
``programme_inventory.csv``). Never row-level survey data, never ``.ctc/``.

Where from: ``CTC_REPORTS_DIR`` (set by ``ctc dashboard --reports``) else ``reports/``;
``CTC_DATA_DIR`` else ``data/sample``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ctc_helpers.dashboard.settings import ENV_DATA, ENV_REPORTS
from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.paths import REPORTS_DIR, SAMPLE_DIR, resolve_path
from ctc_helpers.publish.read import Published, load_published

__all__ = [
    "DashboardData",
    "published_folders",
    "load_dashboard_data",
    "clear_data_cache",
]


@dataclass(frozen=True)
class DashboardData:
    """What every view of a kernel reads: the published folder of a wave and the team files.

    ``published`` is the folder of ``wave``; ``folders`` maps every published wave to its folder
    (an earlier wave without a folder of its own is read from ``published``, which holds every
    wave up to ``wave``); ``data_dir`` holds the teams' files (priorities, goal chains,
    programme inventory).
    """

    published: Published
    wave: int
    folders: Mapping[int, Path]
    data_dir: Path
    reports_dir: Path = field(compare=False)

    @property
    def areas(self) -> pd.DataFrame:
        """The published area list: columns ``area_id, name``."""
        return self.published.areas

    @property
    def waves(self) -> tuple[int, ...]:
        """Survey years shown (every wave of ``published``), newest first."""
        return tuple(sorted(self.published.waves, reverse=True))

    def for_wave(self, wave: int) -> Published:
        """The published folder to read ``wave`` from (its own folder when there is one)."""
        folder = self.folders.get(int(wave))
        if folder is None or folder == self.published.path:
            return self.published
        return _load_folder(str(folder), (folder / "run_info.json").stat().st_mtime_ns)


def published_folders(reports_dir: str | Path) -> dict[int, Path]:
    """The published folders of a reports folder: ``{wave: reports/<wave>/data}``, oldest first.

    Only folders holding a ``run_info.json`` count (the batch writes it last).

    >>> published_folders("/nonexistent")
    {}
    """
    root = resolve_path(reports_dir)
    found = {
        int(folder.parent.name): folder
        for folder in root.glob("*/data")
        if folder.parent.name.isdigit() and (folder / "run_info.json").is_file()
    }
    return dict(sorted(found.items()))


def load_dashboard_data(
    reports_dir: str | Path | None = None,
    *,
    wave: int | None = None,
    data_dir: str | Path | None = None,
    lang: str | None = None,
) -> DashboardData:
    """Read the published folder once per kernel (later calls with the same folder reuse it,
    until a new run rewrites it).

    Parameters
    ----------
    reports_dir : str or Path, optional
        Reports folder of a run; default ``CTC_REPORTS_DIR``, else ``reports/``.
    wave : int, optional
        Survey year; default the latest published one.
    data_dir : str or Path, optional
        Folder of the teams' files; default ``CTC_DATA_DIR``, else ``data/sample``.
    lang : {"sv", "en"}, optional
        Language of the error message.

    Returns
    -------
    DashboardData

    Raises
    ------
    InputFileError
        When the reports folder holds no published folder ("kör först make run").
    ValueError
        When ``wave`` has no published folder; the message lists the published years.
    """
    reports = resolve_path(reports_dir or os.environ.get(ENV_REPORTS) or REPORTS_DIR)
    team = resolve_path(data_dir or os.environ.get(ENV_DATA) or SAMPLE_DIR)
    folders = str(reports.resolve())
    return _load_data(folders, wave, str(team.resolve()), check_language(lang), _stamp(folders))


def clear_data_cache() -> None:
    """Forget the folders read by this kernel (the next call reads them again)."""
    _load_data.cache_clear()
    _load_folder.cache_clear()


def _stamp(reports: str) -> tuple:
    """When each published folder was last written (its ``run_info.json``, written last): a new
    run makes the cache read the folders again."""
    return tuple(
        (wave, (folder / "run_info.json").stat().st_mtime_ns)
        for wave, folder in published_folders(reports).items()
    )


@functools.cache
def _load_data(
    reports: str, wave: int | None, data_dir: str, lang: str, stamp: tuple
) -> DashboardData:
    folders = published_folders(reports)
    if not folders:
        raise InputFileError(t("dash_no_published", lang, path=reports))
    chosen = max(folders) if wave is None else int(wave)
    if chosen not in folders:
        raise ValueError(
            f"The survey year {wave!r} has no published folder in {reports}; published years:"
            f" {', '.join(map(str, folders))}."
        )
    return DashboardData(
        published=_load_folder(str(folders[chosen]), dict(stamp).get(chosen, 0)),
        wave=chosen,
        folders=folders,
        data_dir=Path(data_dir),
        reports_dir=Path(reports),
    )


@functools.cache
def _load_folder(folder: str, stamp: int) -> Published:
    return load_published(folder)
