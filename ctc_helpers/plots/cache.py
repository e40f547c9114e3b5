"""The charts of the phase reports, drawn once and kept as PNG files beside the published tables.

A report notebook shows a chart with one call in its section::

    report.show(
        report.section("risk_profile", lang, area=area, name=name),
        charts.chart(pub, "risk_profile", area=area, wave=wave, lang=lang),
    )

:func:`chart` looks for the picture in the chart cache, ``<published folder>/.charts/``, and draws
it (with :mod:`ctc_helpers.plots.report_charts`) only when it is missing. The batch (``ctc run``) draws every
chart of the planned reports beforehand with :func:`render`, in worker processes that load the
published tables and matplotlib once for many charts, so a report notebook only embeds pictures:
it no longer pays for importing matplotlib and drawing (about 0.5 s per chart).

A cached picture is used only when everything it was drawn from is unchanged. Its file name is a
checksum (:func:`chart_key`) of the chart name, area, wave, language, minimum group size, the
published folder's visible files, the input files (:mod:`ctc_helpers.plots.sources`) and the
helper package's code and texts, so new data, a code
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

import base64
import concurrent.futures
import hashlib
import html
import io
import json
import multiprocessing
import os
import tempfile
import textwrap
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from PIL import Image as PILImage

from ctc_helpers.fingerprint import code_fingerprint
from ctc_helpers.i18n import t
from ctc_helpers.plots.sources import data_checksum, input_fingerprint
from ctc_helpers.publish.read import Published, load_published

__all__ = [
    "CACHE_DIR",
    "CHARTS",
    "PHASE_CHARTS",
    "ChartSpec",
    "ChartPicture",
    "NARROW_WIDTH",
    "PHONE_MEDIA",
    "fit_narrow",
    "narrow_png",
    "chart_key",
    "chart_png",
    "draw_png",
    "render",
    "chart",
    "tasks_for",
]

CACHE_DIR = ".charts"
DPI = 100  # as the notebook's inline backend draws
_FORMAT = 3  # bump when the picture format changes (dpi, margins, the narrow version)
# A phone's chart: drawn this wide (inches) with the same font sizes in points, so that shown at
# a phone's width (about 360 CSS px) a 10-point label is about 12 px high, not 5 px.
NARROW_WIDTH = 4.2
PHONE_MEDIA = "screen and (max-width: 600px)"  # the browser shows the narrow chart (never in print)
_WRAP = {"y": 20, "x": 14, "label": 40, "legend": 28}  # characters per line in a narrow chart


@dataclass(frozen=True)
class ChartSpec:
    """One report chart: the phase that shows it, its size in inches and how to draw it.

    ``draw`` names the function of :mod:`ctc_helpers.plots.report_charts` that draws it,
    ``draw(pub, ax, area=..., wave=..., lang=..., **inputs)``, from the published tables and the
    notebook parameters named in ``inputs`` (files such as the programme inventory; their
    contents are part of the cache key). A draw function may resize ``ax.figure``. ``needs``
    names the part of the instrument the chart shows (``"factors"`` or ``"behaviours"``):
    :func:`chart` gives ``None`` (nothing shown) for an instrument without it. ``narrow``
    are keyword arguments the draw function gets for the phone's version (another layout).
    """

    phase: str
    figsize: tuple[float, float]
    draw: str
    inputs: tuple[str, ...] = ()
    needs: str = ""
    narrow: tuple[tuple[str, Any], ...] = ()


_GAP_INPUTS = ("programme_bank_path", "inventory_path", "enrolment_file", "priorities_dir")

CHARTS: dict[str, ChartSpec] = {
    "behaviours_by_grade": ChartSpec(
        "01_survey_analysis", (9, 13), "draw_behaviours_by_grade", needs="behaviours"
    ),
    "behaviours_by_sex": ChartSpec(
        "01_survey_analysis", (9, 9), "draw_behaviours_by_sex", needs="behaviours"
    ),
    "risk_profile": ChartSpec("01_survey_analysis", (9, 11), "draw_risk_profile", needs="factors"),
    "protective_profile": ChartSpec(
        "01_survey_analysis", (9, 6), "draw_protective_profile", needs="factors"
    ),
    "areas_risk": ChartSpec("01_survey_analysis", (10, 11), "draw_areas_risk", needs="factors"),
    "areas_protective": ChartSpec(
        "01_survey_analysis", (10, 6), "draw_areas_protective", needs="factors"
    ),
    "priorities": ChartSpec(
        "02_factor_prioritization", (9, 11), "draw_priorities", ("priorities_dir",), "factors"
    ),
    "gap_city_view": ChartSpec(
        "03_gap_analysis", (9, 6), "draw_gap_city_view", _GAP_INPUTS, needs="factors"
    ),
    "gap_reach": ChartSpec(
        "03_gap_analysis", (9, 5), "draw_gap_reach", (*_GAP_INPUTS, "low_reach"), needs="factors"
    ),
    "follow_up_trends": ChartSpec(
        "04_follow_up", (9, 5), "draw_follow_up_trends", ("goal_chain_dir",)
    ),
    "goal_chain": ChartSpec(
        "04_follow_up",
        (13, 5),
        "draw_goal_chain",
        ("goal_chain_dir", "inventory_path"),
        narrow=(("stacked", True),),
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
        "inputs": {key: input_fingerprint(value) for key, value in sorted(inputs.items())},
        "data": data_checksum(Path(pub.path)),
        "code": code_fingerprint(),
        "format": _FORMAT,
        "matplotlib": _matplotlib_version(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def chart_png(
    pub: Published,
    name: str,
    *,
    area: str,
    wave: int,
    lang: str,
    narrow: bool = False,
    **inputs: Any,
) -> bytes:
    """The chart as PNG bytes: from the cache, or drawn now (and then kept in the cache).

    ``narrow`` gives the phone's version (:func:`fit_narrow`), cached beside the other. A cache
    that cannot be written (a read-only folder) is not an error; the chart is drawn.
    """
    path = _cache_path(pub, name, area=area, wave=wave, lang=lang, inputs=inputs, narrow=narrow)
    try:
        return path.read_bytes()
    except OSError:
        pass
    png = draw_png(pub, name, area=area, wave=wave, lang=lang, narrow=narrow, **inputs)
    _write_atomic(path, png)
    return png


@dataclass(frozen=True)
class ChartPicture:
    """A report chart for a notebook output: the wide picture, and the narrow one for phones.

    Shown as HTML: a ``<picture>`` whose ``<source>`` holds the narrow PNG for screens up to
    600 px wide (:data:`PHONE_MEDIA`) and whose ``<img>`` (with alt text) the wide one, both as
    ``data:`` URIs, so the self-contained HTML report lets the browser pick; print and wider
    screens get the wide chart. ``data`` is the wide PNG, ``narrow`` the phone's.
    """

    data: bytes
    narrow: bytes
    alt: str
    format: str = "png"

    def html(self) -> str:
        """The ``<picture>`` element."""
        wide, narrow = (base64.b64encode(png).decode("ascii") for png in (self.data, self.narrow))
        return (
            f'<picture><source media="{PHONE_MEDIA}" srcset="data:image/png;base64,{narrow}">'
            f'<img src="data:image/png;base64,{wide}" alt="{html.escape(self.alt)}"></picture>'
        )

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:  # the notebook's text/plain: the alt text, not the bytes
        return self.alt


def chart(
    pub: Published, name: str, *, area: str, wave: int, lang: str, **inputs: Any
) -> ChartPicture | None:
    """The chart for a report cell (see :func:`ctc_helpers.views.report.show`): the wide and
    the narrow picture (:class:`ChartPicture`).

    ``None`` (nothing shown) when the instrument lacks what the chart shows (``ChartSpec.needs``:
    no factor scales, no behaviours); the section's table says so.
    """
    needs = _spec(name).needs
    if needs and not pub.has(needs):
        return None
    wide, narrow = (
        chart_png(pub, name, area=area, wave=wave, lang=lang, narrow=phone, **inputs)
        for phone in (False, True)
    )
    return ChartPicture(wide, narrow, t("chart_alt", lang))


def draw_png(
    pub: Published,
    name: str,
    *,
    area: str,
    wave: int,
    lang: str,
    narrow: bool = False,
    **inputs: Any,
) -> bytes:
    """Draw the chart now (no cache) and return it as PNG bytes (``narrow``: for a phone)."""
    # matplotlib.figure: 0.3 s at import (after pandas); Figure, not pyplot: no global state
    from matplotlib.figure import Figure

    from ctc_helpers.plots import report_charts  # the phases and plots: 0.3 s more at import

    spec = _spec(name)
    _check_inputs(spec, name, inputs)
    # a phone's chart starts a quarter lower (fit_narrow makes room for wrapped labels)
    figsize = (NARROW_WIDTH, 0.75 * spec.figsize[1]) if narrow else spec.figsize
    figure = Figure(figsize=figsize, dpi=DPI, layout="constrained" if narrow else None)
    draw = getattr(report_charts, spec.draw)
    options = dict(spec.narrow) if narrow else {}
    draw(pub, figure.add_subplot(), area=area, wave=wave, lang=lang, **inputs, **options)
    if narrow:
        fit_narrow(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    return _compact_png(buffer.getvalue())


def narrow_png(draw: Any, *, height: float, dpi: int = DPI) -> bytes:
    """The phone's version of a chart drawn outside the cache: ``draw(figure)`` draws on a
    figure :data:`NARROW_WIDTH` inches wide and ``height`` high (constrained layout), then
    :func:`fit_narrow`; returns the PNG bytes."""
    from matplotlib.figure import Figure  # 0.3 s at import (see draw_png)

    figure = Figure(figsize=(NARROW_WIDTH, height), dpi=dpi, layout="constrained")
    draw(figure)
    fit_narrow(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


def fit_narrow(figure: Any, *, width: float = NARROW_WIDTH) -> None:
    """Make a drawn chart fit a phone: ``width`` inches wide, the font sizes unchanged.

    Long tick labels, axis labels and legend entries are wrapped (text stays text), the legend
    gets at most two columns, the figure grows taller when wrapped row labels need the room,
    and the figure's constrained layout (make it with ``layout="constrained"``) shrinks the axes
    so that every label fits inside the width (a saved picture cropped to its content is then at
    most ``width`` inches wide).
    """
    rows = 0.0
    for ax in figure.axes:
        if not ax.axison:  # a diagram without axes (the goal chain) sizes itself
            if ax.get_legend() is not None:
                _narrow_legend(ax, ax.get_legend())
            continue
        rows = max(rows, _wrap_ticks(ax.yaxis, _WRAP["y"]))
        _wrap_ticks(ax.xaxis, _WRAP["x"])
        _turn_crowded_columns(ax, width)
        for label in (ax.xaxis.label, ax.yaxis.label, ax.title):
            label.set_text(_wrapped(label.get_text(), _WRAP["label"]))
        if ax.get_legend() is not None:
            _narrow_legend(ax, ax.get_legend())
    height = max(figure.get_figheight(), rows)
    figure.set_size_inches(width, height)


def _narrow_legend(ax: Any, legend: Any) -> None:
    """Draw ``legend`` again with at most two columns and wrapped entries (a legend lays
    itself out when made): in its place when it lies inside the axes, else under the whole
    chart (a legend beside or below the axes would widen the chart or crowd its axis)."""
    texts = legend.get_texts()
    anchor = legend.get_bbox_to_anchor().transformed(ax.transAxes.inverted())
    options = {
        "handles": legend.legend_handles,
        "labels": [_wrapped(text.get_text(), _WRAP["legend"]) for text in texts],
        "ncols": min(2, len(texts)),
        "frameon": legend.get_frame_on(),
        "fontsize": texts[0].get_fontsize() if texts else None,
        "title": legend.get_title().get_text() or None,
        "title_fontsize": legend.get_title().get_fontsize(),
    }
    inside = min(anchor.x0, anchor.y0) >= -0.001 and max(anchor.x1, anchor.y1) <= 1.001
    if inside:
        loc = legend._loc  # noqa: SLF001 - matplotlib has no getter for the location code
        ax.legend(loc=loc, bbox_to_anchor=anchor.bounds, bbox_transform=ax.transAxes, **options)
    else:
        legend.remove()
        ax.figure.legend(loc="outside lower center", **options)


def _wrapped(text: str, width: int) -> str:
    if len(text) <= width or "$" in text.replace("\\$", ""):
        return text  # short, or mathtext (escaped "\\$" is plain text and wraps)
    return "\n".join(
        textwrap.fill(line, width, break_long_words=False) for line in text.split("\n")
    )


def _wrap_ticks(axis: Any, width: int) -> float:
    """Wrap the tick labels of ``axis``; the inches their lines need one under another."""
    from matplotlib.ticker import FuncFormatter  # matplotlib.ticker: 0.2 s cold, 0 s after Figure

    shown = axis.get_major_formatter()
    axis.set_major_formatter(FuncFormatter(lambda x, pos: _wrapped(str(shown(x, pos)), width)))
    texts = [axis.get_major_formatter()(x, i) for i, x in enumerate(axis.get_majorticklocs())]
    lines = max((text.count("\n") + 1 for text in texts), default=1)  # rows are evenly spaced
    points = max((label.get_fontsize() for label in axis.get_ticklabels()), default=10.0)
    return len(texts) * lines * points * 1.4 / 72 + 2.2  # lines, and the axis and legend


def _turn_crowded_columns(ax: Any, width: float) -> None:
    """Turn upright the column labels (x ticks, wrapped) whose longest word is wider than a
    column's share of the figure: side by side they would run into each other."""
    labels = [label for label in ax.get_xticklabels() if label.get_text()]
    words = [word for label in labels for word in label.get_text().split()]
    if not labels or not words or labels[0].get_rotation() != 0:
        return
    points = max(label.get_fontsize() for label in labels)
    column = 0.8 * width * 72 / len(ax.get_xticks())  # points of width per column
    if max(map(len, words)) * 0.6 * points > column:
        ax.tick_params(axis="x", labelrotation=90)


def _compact_png(png: bytes) -> bytes:
    """The picture with at most 256 colours (about 3 times smaller, about 0.06 s a chart).

    The charts have a dozen colours plus the anti-aliased edges, so the palette shows no visible
    difference; the reports and their notebooks get much smaller (e-mailed reports, and papermill
    saves the whole notebook around every cell).
    """
    with PILImage.open(io.BytesIO(png)) as picture:
        quantized = picture.convert("RGB").quantize(
            colors=256, method=PILImage.Quantize.FASTOCTREE, dither=PILImage.Dither.NONE
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
        One row per chart: ``area, wave, chart, status`` (``drawn``, ``cached``, ``failed``, or
        ``not_needed``: the instrument lacks what the chart shows), ``seconds`` and ``message`` (the error of a failed chart; the notebook then tries again
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


def _cache_path(
    pub: Published,
    name: str,
    *,
    area: str,
    wave: int,
    lang: str,
    inputs: dict[str, Any],
    narrow: bool = False,
) -> Path:
    key = chart_key(pub, name, area=area, wave=wave, lang=lang, **inputs)
    return Path(pub.path) / CACHE_DIR / f"{name}-{key}{'-narrow' if narrow else ''}.png"


@lru_cache(maxsize=1)
def _matplotlib_version() -> str:
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
    return load_published(data_dir, min_cell=min_cell)


def _draw_missing(
    pub: Published, name: str, *, area: str, wave: int, lang: str, inputs: dict[str, Any]
) -> bool:
    """Draw the wide and the narrow chart where the cache lacks them; whether any was drawn."""
    drawn = False
    for narrow in (False, True):
        where = {"area": area, "wave": wave, "lang": lang}
        if not _cache_path(pub, name, **where, inputs=inputs, narrow=narrow).is_file():
            png = draw_png(pub, name, **where, narrow=narrow, **inputs)
            _write_atomic(_cache_path(pub, name, **where, inputs=inputs, narrow=narrow), png)
            drawn = True
    return drawn


def _render_area(item: tuple) -> list[dict[str, Any]]:
    data_dir, area, wave, lang, min_cell, entries = item
    rows = []
    for name, inputs in entries:
        start = time.perf_counter()
        status, message = "cached", ""
        try:
            pub = _published(data_dir, min_cell)
            needs = CHARTS[name].needs
            if needs and not pub.has(needs):  # the instrument lacks it: the report shows none
                status = "not_needed"
            elif _draw_missing(pub, name, area=area, wave=wave, lang=lang, inputs=inputs):
                status = "drawn"
        except Exception as exc:  # noqa: BLE001 - one chart's failure is reported, not raised
            status, message = "failed", f"{type(exc).__name__}: {exc}"[:300]
        seconds = round(time.perf_counter() - start, 3)
        rows.append({"area": area, "wave": wave, "chart": name, "status": status,
                     "seconds": seconds, "message": message})  # fmt: skip
    return rows
