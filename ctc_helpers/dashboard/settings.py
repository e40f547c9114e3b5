"""Names and defaults shared by the dashboard pages and the server that runs them.

The dashboards (view name -> notebook in ``notebooks/dashboards/``), the environment variables
through which ``ctc dashboard`` tells its kernels where the published folder is, the log file
and the server's defaults. Nothing here imports more than the standard library and the paths.

Server defaults (seconds unless named otherwise)
-------------------------------------------------
- ``ORPHAN_TIMEOUT``: a kernel whose page never opened its connection (a script, a closed tab,
  a link preview) is shut down this long after its last activity; checked every
  ``CULL_INTERVAL``, so it is returned within ``ORPHAN_TIMEOUT + CULL_INTERVAL`` (< 60 s).
- ``IDLE_TIMEOUT``: an open page nobody has used for this long is closed (15 minutes); the page
  then offers to reload.
- ``MAX_KERNELS``: kernels serving pages at the same time (the pre-heated ones come on top);
  a visitor beyond it gets a short "busy, try again" page instead of exhausting the memory.
- ``POOL_SIZE``: pre-heated kernels per dashboard; ``CELL_TIMEOUT``: longest a cell may run.
"""

from __future__ import annotations

from ctc_helpers.paths import NOTEBOOKS_DIR, REPO_ROOT

__all__ = [
    "VIEWS",
    "DASHBOARD_DIR",
    "ENV_REPORTS",
    "ENV_DATA",
    "ENV_LANG",
    "ENV_TOKEN",
    "ENV_FORKSERVER",
    "KERNEL_PROCESS_NAME",
    "LOG_FILE",
    "SERVER_LOG",
    "ORPHAN_TIMEOUT",
    "IDLE_TIMEOUT",
    "CULL_INTERVAL",
    "MAX_KERNELS",
    "POOL_SIZE",
    "CELL_TIMEOUT",
    "notebook_file",
]

# view name -> notebook in notebooks/dashboards/ (the URL an area team opens)
VIEWS = {
    "profile": "omradesprofil",
    "priorities": "prioritering",
    "gap": "gap",
    "followup": "uppfoljning",
    "effects": "effekter",
    "process": "process",
    "area_selection": "omradesval",
}
DASHBOARD_DIR = NOTEBOOKS_DIR / "dashboards"
ENV_REPORTS = "CTC_REPORTS_DIR"
ENV_DATA = "CTC_DATA_DIR"
ENV_LANG = "CTC_LANG"
ENV_TOKEN = "CTC_DASHBOARD_TOKEN"  # the access token (never on a command line)
ENV_FORKSERVER = "CTC_DASHBOARD_FORKSERVER"  # the fork server's socket, in the Voilà process
KERNEL_PROCESS_NAME = "ctc-kernel"  # the process name of a forked kernel (ps, psutil)
LOG_FILE = REPO_ROOT / ".ctc" / "logs" / "dashboard.log"  # errors in the kernels (tracebacks)
SERVER_LOG = REPO_ROOT / ".ctc" / "logs" / "dashboard-server.log"  # Voilà's own log

ORPHAN_TIMEOUT = 40
CULL_INTERVAL = 10
IDLE_TIMEOUT = 15 * 60
MAX_KERNELS = 24
POOL_SIZE = 1
CELL_TIMEOUT = 120


def notebook_file(view: str) -> str:
    """The notebook of a view, as Voilà names it (``"omradesprofil.ipynb"``).

    >>> notebook_file("gap")
    'gap.ipynb'
    """
    return f"{VIEWS[view]}.ipynb"
