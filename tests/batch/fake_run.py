"""``python tests/batch/fake_run.py ARGS``: ``ctc ARGS`` with a stand-in for the preparation step.

The fault tests start a real ``ctc run`` in a process of their own (to kill it with SIGKILL, or
to run two at once) on a fake city whose survey file is a placeholder: the published folder is
written here instead of by :func:`ctc_helpers.publish.build.prepare_waves`. The environment
variable ``CTC_FAKE_QUARANTINE`` sets the number of quarantined rows the preparation reports.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def fake_prepare(config, *, waves=None):
    from ctc_helpers.publish.build import Prepared

    wave = (waves or [2025])[0]
    folder = config.output_dir / str(wave) / "data"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run_info.json").write_text(json.dumps({"table": "fake"}), encoding="utf-8")
    rows = int(os.environ.get("CTC_FAKE_QUARANTINE", "0"))
    private = {"quarantine_file": str(config.cache_dir / "q.csv"), "cache": str(config.cache_dir)}
    return Prepared(
        folders={wave: folder}, summary={"quarantine_rows": rows}, seconds=0.0, private=private
    )


def main(argv: list[str]) -> int:
    from ctc_helpers import cli
    from ctc_helpers.batch import run

    run.prepare_waves = fake_prepare
    return cli.main(argv)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main(sys.argv[1:]))
