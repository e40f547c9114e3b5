"""A project folder per municipality: what ``ctc init DIR`` writes.

The folder holds everything a municipality edits, outside the workbench's tracked files::

    DIR/run.yaml             the run file (paths relative to DIR)
    DIR/instrument.yaml      a copy of the default instrument, to adapt
    DIR/mapping.yaml         a template of the mapping file (export columns and codes)
    DIR/areas.csv            the area list, with one example row to replace
    DIR/data/                the survey exports (never edited) and the mapped tables
    DIR/priorities/          the area teams' priorities, <area_id>.yaml
    DIR/goal_chains/         goal chains (målkedjor), <area_id>.yaml
    DIR/programme_inventory/ the programme inventory (programme_inventory.csv)
    DIR/README.md            what to do next, in Swedish and English

Nothing is overwritten: :func:`init_project` refuses a folder that already holds one of these
files. ``ctc validate --config DIR/run.yaml`` then checks the whole project
(:mod:`ctc_helpers.ingest.project`).
"""

from __future__ import annotations

from pathlib import Path

from ctc_helpers.config.instrument import DEFAULT_INSTRUMENT
from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.paths import NOTEBOOKS_DIR

__all__ = ["PROJECT_FILES", "PROJECT_FOLDERS", "init_project", "command_init"]

PROJECT_FILES = ("run.yaml", "instrument.yaml", "mapping.yaml", "areas.csv", "README.md")
PROJECT_FOLDERS = ("data", "priorities", "goal_chains", "programme_inventory")

_RUN_FILE = """\
# Run file of this project (`ctc validate --config run.yaml`, then `ctc run --config run.yaml`).
# Paths are relative to this folder. Körfil för projektet; sökvägar relativa till den här mappen.
data:
  survey: data/*.parquet            # mapped tables (`ctc map`), or CSV/xlsx/sav in the
                                    # workbench's own columns and codes
  areas: areas.csv                  # area_id, name, municipality
  instrument: instrument.yaml       # copy of the default instrument: adapt it
  # cutpoints: cutpoints.yaml       # frozen cut points (default: from the baseline wave)

output: reports                     # reports folder
cache: .ctc/cache                   # private, row-level cache (never share it)
notebooks: {notebooks}

waves: latest                       # `latest`, or survey years, e.g. [2023, 2025]
areas: all
city: true
phases:
  - 01_survey_analysis
  - 02_factor_prioritization
  - 03_gap_analysis
  - 04_follow_up
min_cell: 10
lang: sv
timeout: 600

phase_parameters:
  02_factor_prioritization:
    priorities_dir: priorities
  03_gap_analysis:
    priorities_dir: priorities
    inventory_path: programme_inventory/programme_inventory.csv
  04_follow_up:
    goal_chain_dir: goal_chains
    inventory_path: programme_inventory/programme_inventory.csv
"""

_MAPPING = """\
# Mapping file: the export's column names and codes -> the instrument's (see
# data_schema/README.md, "Using your own survey"). The export is never edited.
# Mappningsfil: exportens kolumnnamn och koder -> instrumentets. Exporten ändras aldrig.
columns:
  respondent_id: {from: RESPONDENT_ID_COLUMN}
  wave: {value: 2025}
  area: {from: AREA_COLUMN}
  grade: {from: GRADE_COLUMN}
  sex: {from: SEX_COLUMN}
items: {}
#  alc_30d: {from: Q12, offset: 1, missing: [8, 9]}   # 0-based codes; 8 vet ej, 9 vill inte svara
"""

_AREAS = "area_id,name,municipality\nexempel-omrade,Exempelområdet,Exempelkommun\n"

_README = """\
# {name}

**Svenska.** Projektmapp för CTC-arbetsbänken. Gör så här:

1. Lägg enkätexporten i `data/` (den ändras aldrig).
2. Anpassa `instrument.yaml` (frågor, svarskoder, årskurser) och `mapping.yaml` (exportens
   kolumner och koder).
3. `ctc map data/EXPORT.sav --mapping mapping.yaml --instrument instrument.yaml --out
   data/EXPORT.parquet`
4. Ersätt exempelraden i `areas.csv` med era områden.
5. `ctc validate --config run.yaml`: listar allt som skulle stoppa eller ändra körningen.
6. `ctc run --config run.yaml`.

Teamens filer: `priorities/`, `goal_chains/`, `programme_inventory/`.

**English.** Project folder for the CTC workbench: put the export in `data/` (never edited),
adapt `instrument.yaml` and `mapping.yaml`, run `ctc map`, replace the example row of
`areas.csv`, then `ctc validate --config run.yaml` (lists everything that would stop or change
the run) and `ctc run --config run.yaml`. The teams' files go in `priorities/`, `goal_chains/`
and `programme_inventory/`.
"""


def init_project(folder: str | Path, *, lang: str | None = None) -> list[Path]:
    """Write a new project folder; return the files and folders written, in order.

    Raises
    ------
    InputFileError
        When the folder already holds one of the project's files (nothing is written then).
    """
    folder = Path(folder)
    taken = [name for name in (*PROJECT_FILES, *PROJECT_FOLDERS) if (folder / name).exists()]
    if taken:
        raise InputFileError(
            t("init_exists", check_language(lang), folder=str(folder), files=", ".join(taken))
        )
    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        "run.yaml": _RUN_FILE.format(notebooks=NOTEBOOKS_DIR.as_posix()),
        "instrument.yaml": DEFAULT_INSTRUMENT.read_text(encoding="utf-8"),
        "mapping.yaml": _MAPPING,
        "areas.csv": _AREAS,
        "README.md": _README.format(name=folder.resolve().name),
    }
    written = []
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
        written.append(folder / name)
    for name in PROJECT_FOLDERS:
        (folder / name).mkdir()
        written.append(folder / name)
    return written


def command_init(args) -> int:
    """``ctc init DIR``: write the project folder and say what to do next."""
    written = init_project(args.folder, lang=args.lang)
    print(t("init_written", args.lang, folder=str(args.folder), n=len(written)))
    return 0
