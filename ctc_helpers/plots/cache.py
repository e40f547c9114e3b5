"""The charts of the phase reports, drawn once and kept as PNG files beside the published tables.

A report notebook shows a chart with one call in its section::

    report.show(
        report.section("risk_profile", lang, area=area, name=name),
        charts.chart(pub, "risk_profile", area=area, wave=wave, lang=lang),
    )

:func:`chart` looks for the picture in the chart cache, ``<published folder>/.charts/``, and draws
it (with :mod:`ctc_helpers.plots.profile`) only when it is missing. The batch (``ctc run``) draws every
chart of the planned reports beforehand with :func:`render`, in worker processes that load the
published tables and matplotlib once for many charts, so a report notebook only embeds pictures:
it no longer pays for importing matplotlib and drawing (about 0.5 s per chart).

A cached picture is used only when everything it was drawn from is unchanged. Its file name is a
checksum (:func:`chart_key`) of the chart name, area, wave, language, minimum group size, the
published folder's visible files and the helper package's code and texts, so new data, a code
change or another language draws anew. The cache sits in a hidden folder, which
:func:`ctc_helpers.fingerprint.folder_checksum` ignores; deleting it is always safe, and the batch
removes it with the rest of the folder whenever it publishes the wave anew (new data or code).

Every chart draws only published (suppressed) values, like the tables: caching adds no new
information to the published folder.

Examples
--------
>>> sorted(PHASE_CHARTS)
['01_survey_analysis', '02_factor_prioritization', '03_gap_analysis', '04_follow_up']
>>> PHASE_CHARTS["02_factor_prioritization"]
('priorities',)
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import io
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ctc_helpers.fingerprint import code_fingerprint, file_sha256, folder_checksum

if TYPE_CHECKING:
    from IPython.display import Image
    from matplotlib.axes import Axes

    from ctc_helpers.publish.read import Published

__all__ = [
    "CACHE_DIR",
    "CHARTS",
    "PHASE_CHARTS",
    "ChartSpec",
    "chart_key",
    "chart_png",
    "draw_png",
    "render",
    "chart",
    "tasks_for",
]

CACHE_DIR = ".charts"
DPI = 100  # as the notebook's inline backend draws
_FORMAT = 2  # bump when the picture format changes (dpi, margins)


@dataclass(frozen=True)
class ChartSpec:
    """One report chart: the phase that shows it, its size in inches and how to draw it.

    ``draw(pub, ax, area=..., wave=..., lang=..., **inputs)`` draws on ``ax`` from the published
    tables and the notebook parameters named in ``inputs`` (files such as the programme inventory;
    their contents are part of the cache key). A draw function may resize ``ax.figure``.
    """

    phase: str
    figsize: tuple[float, float]
    draw: Callable[..., Any]
    inputs: tuple[str, ...] = ()


def _behaviours(by: str) -> Callable[..., Any]:
    def draw(pub: Published, ax: Axes, *, area: str, wave: int, lang: str) -> Any:
        from ctc_helpers.plots import profile as plots

        return plots.plot_behaviours(
            pub.aggregates, by=by, area=area, wave=wave, measures=pub.measures, ax=ax, lang=lang
        )

    return draw


def _profile(kind: str) -> Callable[..., Any]:
    def draw(pub: Published, ax: Axes, *, area: str, wave: int, lang: str) -> Any:
        from ctc_helpers.plots import profile as plots
        from ctc_helpers.views.labels import check_area

        return plots.plot_profile(
            pub.aggregates,
            kind=kind,
            area=area,
            wave=wave,
            measures=pub.measures,
            area_label=check_area(pub, area, lang),
            ax=ax,
            lang=lang,
        )

    return draw


def _areas(kind: str) -> Callable[..., Any]:
    def draw(pub: Published, ax: Axes, *, area: str, wave: int, lang: str) -> Any:
        from ctc_helpers.plots import profile as plots

        return plots.plot_area_comparison(
            pub.aggregates,
            kind=kind,
            areas=pub.areas,
            area=area,
            wave=wave,
            measures=pub.measures,
            ax=ax,
            lang=lang,
        )

    return draw


def _priorities(pub: Published, ax: Axes, *, area: str, wave: int, lang: str) -> Any:
    from ctc_helpers.phases import prioritization as prioritize
    from ctc_helpers.plots import profile as plots

    ranked = prioritize.rank_factors(pub.aggregates, pub.comparisons, area=area, wave=wave)
    return plots.plot_prioritization(ranked, measures=pub.measures, ax=ax, lang=lang)


def _gap_inputs(pub: Published, *, area: str, wave: int, lang: str, inputs: dict) -> Any:
    """:func:`ctc_helpers.phases.gaps.inputs.load_gap_inputs`, read once for both gap charts of an area.

    The memo is keyed like the charts (file contents included), so an edited inventory is read
    again in a long-lived kernel.
    """
    key = json.dumps(
        [str(pub.path), _data_checksum(Path(pub.path)), pub.min_cell, area, wave, lang,
         {k: _input_fingerprint(v) for k, v in sorted(inputs.items())}],
        default=str,
    )  # fmt: skip
    if key not in _GAP_MEMO:
        from ctc_helpers.phases.gaps import inputs as resources

        _GAP_MEMO.clear()  # one area at a time
        _GAP_MEMO[key] = resources.load_gap_inputs(pub, area=area, wave=wave, lang=lang, **inputs)
    return _GAP_MEMO[key]


_GAP_MEMO: dict[str, Any] = {}


def _gap_labels(pub: Published, lang: str) -> tuple[dict, dict]:
    from ctc_helpers.views.labels import area_names, measure_labels

    return measure_labels(pub.measures, lang), area_names(pub)


def _gap_city(pub: Published, ax: Axes, *, area: str, wave: int, lang: str, **inputs: Any) -> Any:
    from ctc_helpers.phases.gaps.matrix import city_view, report_areas
    from ctc_helpers.plots.gaps import city_view_figsize, plot_city_view

    gap = _gap_inputs(pub, area=area, wave=wave, lang=lang, inputs=inputs)
    city = city_view(
        gap.programmes,
        gap.priorities,
        areas=report_areas(pub.areas, area),
        aggregates=pub.aggregates,
        wave=wave,
        instrument=pub.measures,
    )
    ax.figure.set_size_inches(city_view_figsize(city))
    labels, area_names = _gap_labels(pub, lang)
    return plot_city_view(city, labels=labels, area_names=area_names, lang=lang, ax=ax)


def _gap_reach(pub: Published, ax: Axes, *, area: str, wave: int, lang: str, **inputs: Any) -> Any:
    from ctc_helpers.phases.gaps.matrix import gap_matrix
    from ctc_helpers.plots.gaps import plot_reach

    low_reach = inputs.pop("low_reach")
    gap = _gap_inputs(pub, area=area, wave=wave, lang=lang, inputs=inputs)
    matrix = gap_matrix(gap.programmes, gap.priorities, area=area, instrument=pub.measures)
    labels, _ = _gap_labels(pub, lang)
    return plot_reach(matrix, low_reach=low_reach, labels=labels, lang=lang, ax=ax)


def _follow_up_trends(
    pub: Published, ax: Axes, *, area: str, wave: int, lang: str, goal_chain_dir: str
) -> Any:
    from ctc_helpers.views import followup
    from ctc_helpers.views import goal_chain as goalchain

    chain = goalchain.load_area_goal_chain(goal_chain_dir, area, instrument=pub.measures)
    trend = followup.trend_table(
        pub.aggregates,
        area=area,
        include=followup.focus_measures(pub.aggregates, chain),
        min_n=pub.min_cell,
        last_wave=wave,
    )
    return followup.plot_trends(trend, measures=pub.measures, lang=lang, ax=ax)


def _goal_chain(
    pub: Published,
    ax: Axes,
    *,
    area: str,
    wave: int,
    lang: str,
    goal_chain_dir: str,
    inventory_path: str,
) -> Any:
    from ctc_helpers.views import goal_chain as goalchain

    chain = goalchain.load_area_goal_chain(goal_chain_dir, area, instrument=pub.measures)
    figures = goalchain.load_programme_figures(inventory_path, published=pub, wave=wave)
    goals = goalchain.evaluate_goals(
        chain, pub.aggregates, wave=wave, inventory=figures, min_n=pub.min_cell
    )
    ax.figure.set_size_inches(goalchain.chain_figsize(goals))
    return goalchain.plot_goal_chain(goals, measures=pub.measures, lang=lang, ax=ax)


_GAP_INPUTS = ("programme_bank_path", "inventory_path", "enrolment_file", "priorities_dir")

CHARTS: dict[str, ChartSpec] = {
    "behaviours_by_grade": ChartSpec("01_survey_analysis", (9, 13), _behaviours("grade")),
    "behaviours_by_sex": ChartSpec("01_survey_analysis", (9, 9), _behaviours("sex")),
    "risk_profile": ChartSpec("01_survey_analysis", (9, 11), _profile("risk")),
    "protective_profile": ChartSpec("01_survey_analysis", (9, 6), _profile("protective")),
    "areas_risk": ChartSpec("01_survey_analysis", (10, 11), _areas("risk")),
    "areas_protective": ChartSpec("01_survey_analysis", (10, 6), _areas("protective")),
    "priorities": ChartSpec("02_factor_prioritization", (9, 11), _priorities),
    "gap_city_view": ChartSpec("03_gap_analysis", (9, 6), _gap_city, _GAP_INPUTS),
    "gap_reach": ChartSpec("03_gap_analysis", (9, 5), _gap_reach, (*_GAP_INPUTS, "low_reach")),
    "follow_up_trends": ChartSpec("04_follow_up", (9, 5), _follow_up_trends, ("goal_chain_dir",)),
    "goal_chain": ChartSpec(
        "04_follow_up", (13, 5), _goal_chain, ("goal_chain_dir", "inventory_path")
    ),
}
PHASE_CHARTS: dict[str, tuple[str, ...]] = {
    phase: tuple(name for name, spec in CHARTS.items() if spec.phase == phase)
    for phase in dict.fromkeys(spec.phase for spec in CHARTS.values())
}


# --------------------------------------------------------------------------------------------
# Public API


def chart_key(pub: Published, name: str, *, area: str, wave: int, lang: str, **inputs: Any) -> str:
    """Checksum of everything the chart ``name`` is drawn from (the cache file's name).

    ``inputs`` are the notebook parameters the chart uses (:attr:`ChartSpec.inputs`); a value
    naming a file or folder counts with its contents.

    Raises
    ------
    KeyError
        If ``name`` is not a chart of :data:`CHARTS`.
    TypeError
        If ``inputs`` do not match the chart's.
    """
    _check_inputs(_spec(name), name, inputs)
    payload = {
        "chart": name,
        "area": str(area),
        "wave": int(wave),
        "lang": str(lang),
        "min_cell": int(pub.min_cell),
        "inputs": {key: _input_fingerprint(value) for key, value in sorted(inputs.items())},
        "data": _data_checksum(Path(pub.path)),
        "code": code_fingerprint(),
        "format": _FORMAT,
        "matplotlib": _matplotlib_version(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def chart_png(
    pub: Published, name: str, *, area: str, wave: int, lang: str, **inputs: Any
) -> bytes:
    """The chart as PNG bytes: from the cache, or drawn now (and then kept in the cache).

    A cache that cannot be written (a read-only folder) is not an error; the chart is drawn.
    """
    path = _cache_path(pub, name, area=area, wave=wave, lang=lang, inputs=inputs)
    try:
        return path.read_bytes()
    except OSError:
        pass
    png = draw_png(pub, name, area=area, wave=wave, lang=lang, **inputs)
    _write_atomic(path, png)
    return png


def chart(pub: Published, name: str, *, area: str, wave: int, lang: str, **inputs: Any) -> Image:
    """The chart as an IPython image, for a report cell (see :func:`ctc_helpers.views.report.show`)."""
    from IPython.display import Image

    png = chart_png(pub, name, area=area, wave=wave, lang=lang, **inputs)
    return Image(data=png, format="png")


def draw_png(pub: Published, name: str, *, area: str, wave: int, lang: str, **inputs: Any) -> bytes:
    """Draw the chart now (no cache) and return it as PNG bytes."""
    from matplotlib.figure import Figure  # no pyplot: no global figure state, no GUI backend

    spec = _spec(name)
    _check_inputs(spec, name, inputs)
    figure = Figure(figsize=spec.figsize, dpi=DPI)
    spec.draw(pub, figure.add_subplot(), area=area, wave=wave, lang=lang, **inputs)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    return _compact_png(buffer.getvalue())


def _compact_png(png: bytes) -> bytes:
    """The picture with at most 256 colours (about 3 times smaller, about 0.06 s a chart).

    The charts have a dozen colours plus the anti-aliased edges, so the palette shows no visible
    difference; the reports and their notebooks get much smaller (e-mailed reports, and papermill
    saves the whole notebook around every cell).
    """
    from PIL import Image  # Pillow: a dependency of matplotlib

    with Image.open(io.BytesIO(png)) as picture:
        quantized = picture.convert("RGB").quantize(
            colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
        )
    out = io.BytesIO()
    quantized.save(out, format="PNG")
    return out.getvalue()


def render(tasks: Iterable[tuple], *, workers: int = 1) -> pd.DataFrame:
    """Draw every missing chart of the given reports into their published folders' caches.

    Parameters
    ----------
    tasks : iterable of (data_dir, area, wave, lang, min_cell, charts)
        One entry per published folder, area, wave, language and minimum group size, ``charts``
        a tuple of ``(chart name, inputs)``; build them from the planned reports with
        :func:`tasks_for`.
    workers : int, default 1
        Worker processes (1 draws in this process).

    Returns
    -------
    pandas.DataFrame
        One row per chart: ``area, wave, chart, status`` (``drawn``, ``cached`` or ``failed``),
        ``seconds`` and ``message`` (the error of a failed chart; the notebook then tries again
        and shows the problem in its own report).
    """
    work = list(tasks)
    if workers <= 1 or len(work) <= 1:
        rows = [row for item in work for row in _render_area(item)]
    else:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            rows = [row for part in pool.map(_render_area, work) for row in part]
    return pd.DataFrame(rows, columns=["area", "wave", "chart", "status", "seconds", "message"])


def tasks_for(reports: Iterable[tuple]) -> list[tuple]:
    """Group reports into :func:`render` tasks.

    Parameters
    ----------
    reports : iterable of (data_dir, area, wave, lang, min_cell, phase, parameters)
        One entry per planned report; ``parameters`` are its notebook parameters (the charts'
        inputs are taken from them; one that is missing gets the notebook's default, so such a
        chart is left to the notebook).

    Returns
    -------
    list of tuple
        ``(data_dir, area, wave, lang, min_cell, ((chart name, inputs), ...))``, one per folder,
        area, wave, language and minimum.
    """
    grouped: dict[tuple, list[tuple[str, dict[str, Any]]]] = {}
    for data_dir, area, wave, lang, min_cell, phase, parameters in reports:
        key = (str(data_dir), str(area), int(wave), str(lang), min_cell)
        entries = grouped.setdefault(key, [])
        for name in PHASE_CHARTS.get(phase, ()):
            wanted = CHARTS[name].inputs
            if all(k in parameters for k in wanted):
                entries.append((name, {k: parameters[k] for k in wanted}))
    return [(*key, tuple(entries)) for key, entries in grouped.items() if entries]


# --------------------------------------------------------------------------------------------
# Internals


def _spec(name: str) -> ChartSpec:
    try:
        return CHARTS[name]
    except KeyError:
        raise KeyError(
            f"No report chart named {name!r}; the charts are {sorted(CHARTS)}."
        ) from None


def _check_inputs(spec: ChartSpec, name: str, inputs: dict[str, Any]) -> None:
    if set(inputs) != set(spec.inputs):
        wanted = ", ".join(spec.inputs) or "none"
        raise TypeError(
            f"The chart {name!r} takes the inputs ({wanted}); got ({', '.join(inputs) or 'none'})."
        )


def _input_fingerprint(value: Any) -> Any:
    """A parameter value, with the checksum of the file or folder it names (if any)."""
    if isinstance(value, str | Path) and str(value):
        from ctc_helpers.paths import REPO_ROOT

        for path in (Path(value), REPO_ROOT / value):
            if path.is_file():
                return [str(value), file_sha256(path)]
            if path.is_dir():
                return [str(value), folder_checksum(path)]
    return value if isinstance(value, int | float | bool | type(None)) else str(value)


def _cache_path(
    pub: Published, name: str, *, area: str, wave: int, lang: str, inputs: dict[str, Any]
) -> Path:
    key = chart_key(pub, name, area=area, wave=wave, lang=lang, **inputs)
    return Path(pub.path) / CACHE_DIR / f"{name}-{key}.png"


def _folder_checksum_at(folder: str, stamp: tuple) -> str:
    return folder_checksum(Path(folder))


def _data_checksum(folder: Path) -> str:
    """The published folder's checksum, recomputed only when a visible file changed."""
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
    ) if folder.is_dir() else []  # fmt: skip
    stamp = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _folder_checksum_at(str(folder.resolve()), stamp)


@lru_cache(maxsize=1)
def _matplotlib_version() -> str:
    from importlib import metadata

    return metadata.version("matplotlib")


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` so that a reader never sees half a file; give up quietly on OSError."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".png")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)  # readable like the published tables (mkstemp gives 0600)
        os.replace(temporary, path)
    except OSError:
        return


@lru_cache(maxsize=4)
def _published(data_dir: str, min_cell: int | None) -> Published:
    from ctc_helpers.publish.read import load_published

    return load_published(data_dir, min_cell=min_cell)


def _render_area(item: tuple) -> list[dict[str, Any]]:
    data_dir, area, wave, lang, min_cell, entries = item
    rows = []
    for name, inputs in entries:
        start = time.perf_counter()
        status, message = "cached", ""
        try:
            pub = _published(data_dir, min_cell)
            path = _cache_path(pub, name, area=area, wave=wave, lang=lang, inputs=inputs)
            if not path.is_file():
                png = draw_png(pub, name, area=area, wave=wave, lang=lang, **inputs)
                _write_atomic(path, png)
                status = "drawn"
        except Exception as exc:  # noqa: BLE001 - one chart's failure is reported, not raised
            status, message = "failed", f"{type(exc).__name__}: {exc}"[:300]
        seconds = round(time.perf_counter() - start, 3)
        rows.append({"area": area, "wave": wave, "chart": name, "status": status,
                     "seconds": seconds, "message": message})  # fmt: skip
    return rows
