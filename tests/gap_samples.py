"""The demo city's programme inventory and planted gaps, read once for the gap tests.

``tests/phases``, ``tests/views`` and ``tests/plots`` test the steps, the tables and the charts of
the resource and gap analysis on the same inputs: the demo inventory
(``data/sample/programme_inventory.csv``) with the enrolment file, and the priorities of
``data/sample/planted_gaps.yaml``.
"""

from __future__ import annotations

import warnings
from functools import cache

import pandas as pd
import yaml

from ctc_helpers.config.inventory import FlaggedProgrammeWarning
from ctc_helpers.config.programme_bank import ProgrammeBank, load_programme_bank
from ctc_helpers.paths import SAMPLE_DIR
from ctc_helpers.phases.gaps.gaps import find_gaps
from ctc_helpers.phases.gaps.inputs import current_programmes, load_enrolment
from ctc_helpers.phases.gaps.inventory import Inventory, load_inventory
from ctc_helpers.vocab import FACTOR_KINDS

DEMO = SAMPLE_DIR / "programme_inventory.csv"
PLANTED = yaml.safe_load((SAMPLE_DIR / "planted_gaps.yaml").read_text(encoding="utf-8"))
AREAS = pd.read_csv(SAMPLE_DIR / "areas.csv", dtype=str)


@cache
def bank() -> ProgrammeBank:
    return load_programme_bank()


@cache
def demo() -> Inventory:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FlaggedProgrammeWarning)
        return load_inventory(DEMO, bank=bank(), areas=AREAS)


@cache
def enrolment() -> pd.DataFrame:
    return load_enrolment(SAMPLE_DIR / "enrolment.csv")


@cache
def current() -> pd.DataFrame:
    return current_programmes(demo(), wave=2025, enrolment=enrolment())


@cache
def planted_priorities() -> pd.DataFrame:
    rows = [
        {"area": area, "factor": f, "kind": kind, "source": "team", "rank": i}
        for area, entry in PLANTED["priorities"].items()
        for kind in FACTOR_KINDS
        for i, f in enumerate(entry[kind], start=1)
    ]
    return pd.DataFrame(rows).assign(decided="", choice_wave=2025.0)


@cache
def planted_gaps() -> pd.DataFrame:
    return find_gaps(current(), planted_priorities(), wave=2025)
