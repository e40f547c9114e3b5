"""Shared fixtures: small named data, a seeded RNG, a non-interactive plot backend."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ctc_helpers.config.instrument import load_instrument, load_respondent_schema  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent
DATA_DIR = TESTS_DIR / "data"
REFERENCE_DIR = DATA_DIR / "reference"  # copies of published reference values (see its README)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)


@pytest.fixture(scope="session")
def mini_instrument():
    """The hand-checkable test instrument in tests/data/mini_instrument.yaml."""
    return load_instrument(DATA_DIR / "mini_instrument.yaml")


@pytest.fixture(scope="session")
def default_instrument():
    return load_instrument()


@pytest.fixture(scope="session")
def respondent_schema():
    return load_respondent_schema()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def demo_aggregates():
    """The real pipeline on the committed demo city: ingest, score, aggregate (about 15 s)."""
    from ctc_helpers.config.instrument import load_areas, load_respondent_schema
    from ctc_helpers.ingest.load import load_survey
    from ctc_helpers.paths import SAMPLE_DIR
    from ctc_helpers.survey.profile import aggregate, prepare_scored

    instrument = load_instrument()
    files = sorted(SAMPLE_DIR.glob("exempelstad_*.csv"))
    survey = load_survey(files, instrument=instrument, areas=SAMPLE_DIR / "areas.csv")
    scored, cutpoints = prepare_scored(survey.data, instrument)
    areas = load_areas(SAMPLE_DIR / "areas.csv")["area_id"].tolist()
    return aggregate(scored, instrument, load_respondent_schema(), areas=areas, cutpoints=cutpoints)
