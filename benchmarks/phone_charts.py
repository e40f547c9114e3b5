"""Benchmark: what drawing every chart a second time, narrow for phones, costs; prints figures.

Reports (ctc_helpers.plots.cache) and dashboards (ctc_helpers.dashboard.charts) draw each chart
twice: at its own size, and :data:`~ctc_helpers.plots.cache.NARROW_WIDTH` inches wide for phones
(:func:`~ctc_helpers.plots.cache.fit_narrow`). Printed side by side, per chart (median of
``--repeats`` draws, after one draw that warms the imports and the phase computations):

- reports: the wide chart alone (what the batch drew before), the narrow one, and both;
- dashboards: the profile chart (the one a pre-heated kernel warms for every area and group)
  wide, narrow and both, as the kernel renders them.

The fake published folder of the tests (tests/fake_published.py: three areas, two waves) is
drawn from, so the figures are about drawing, not reading tables. The load average is printed;
the machine may be shared.

Usage: python benchmarks/phone_charts.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ctc_helpers.dashboard.charts import render_png  # noqa: E402
from ctc_helpers.plots import cache as charts  # noqa: E402
from ctc_helpers.plots.profile import plot_profile  # noqa: E402
from ctc_helpers.publish.read import load_published  # noqa: E402
from tests.fake_charts import AREA, inputs_of  # noqa: E402
from tests.fake_published import write_fake_published  # noqa: E402


def _median_seconds(draw, repeats: int) -> float:
    draw()  # imports, phase computations and memos warmed
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        draw()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _report_rows(folder: Path, repeats: int) -> list[tuple[str, float, float]]:
    pub = load_published(folder)
    rows = []
    for name in charts.CHARTS:
        inputs = inputs_of(name, folder)
        where = {"area": AREA, "wave": 2025, "lang": "sv", **inputs}
        wide = _median_seconds(lambda n=name, w=where: charts.draw_png(pub, n, **w), repeats)
        narrow = _median_seconds(
            lambda n=name, w=where: charts.draw_png(pub, n, narrow=True, **w), repeats
        )
        rows.append((name, wide, narrow))
    return rows


def _dashboard_row(folder: Path, repeats: int) -> tuple[str, float, float]:
    pub = load_published(folder)

    def draw(ax):
        return plot_profile(pub.aggregates, kind="risk", area=AREA, wave=2025,
                            measures=pub.measures, lang="sv", ax=ax)  # fmt: skip

    wide = _median_seconds(lambda: render_png(draw, width=6.2, height=4.0), repeats)
    narrow = _median_seconds(lambda: render_png(draw, width=6.2, height=4.0, narrow=True), repeats)
    return ("dashboard profile (risk)", wide, narrow)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        write_fake_published(folder)
        rows = [*_report_rows(folder, args.repeats), _dashboard_row(folder, args.repeats)]
    print(f"load average {os.getloadavg()[0]:.1f}; median of {args.repeats} draws, seconds")
    print(f"{'chart':28} {'wide':>7} {'narrow':>7} {'both':>7} {'both/wide':>9}")
    for name, wide, narrow in rows:
        print(f"{name:28} {wide:7.3f} {narrow:7.3f} {wide + narrow:7.3f} "
              f"{(wide + narrow) / wide:9.2f}")  # fmt: skip
    wide, narrow = (sum(row[i] for row in rows[:-1]) for i in (1, 2))
    print(f"{'all report charts':28} {wide:7.3f} {narrow:7.3f} {wide + narrow:7.3f} "
          f"{(wide + narrow) / wide:9.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
