"""Write export.sav: a synthetic SPSS export of the example school survey (deterministic).

Every answer is invented (seeded random numbers); nothing comes from a real survey. The export
uses its own variable names and codes, as a school office's export would (0-based answer codes,
8 = "vet ej", 9 = "vill inte svara", SPSS value labels); mapping.yaml translates them.

    .venv/bin/python data/examples/behaviours_only/generate.py [OUT.sav]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

SEED = 20250416
ROWS = 600
HERE = Path(__file__).resolve().parent

TIMES = {0: "Aldrig", 1: "1-2 gånger", 2: "3-9 gånger", 3: "10 gånger eller fler"}
DONT_KNOW = {8: "Vet ej", 9: "Vill inte svara"}
LABELS = {
    "skolomr": {1: "Norra", 2: "Centrala", 3: "Södra"},
    "arskurs": {7: "Årskurs 7", 9: "Årskurs 9", 11: "Gymnasiet år 2"},
    "kon": {1: "Flicka", 2: "Pojke", 3: "Annat", 9: "Vill inte svara"},
    "F12": {**TIMES, **DONT_KNOW},
    "F13": {**TIMES, **DONT_KNOW},
    "F20": {0: "Nej", 1: "Ja", **DONT_KNOW},
    "F31": {
        0: "Aldrig",
        1: "Någon gång",
        2: "Varje månad",
        3: "Varje vecka",
        4: "Varje dag",
        8: "Vet ej",
    },  # fmt: skip
    "F40": {1: "Under 6 timmar", 2: "6-7 timmar", 3: "8-9 timmar", 4: "10 timmar eller mer"},
    "F5": {
        1: "Stämmer helt",
        2: "Stämmer ganska bra",
        3: "Stämmer ganska dåligt",
        4: "Stämmer inte alls",
        8: "Vet ej",
    },  # fmt: skip
}


def _answers(rng: np.random.Generator, codes: list[int], weights: list[float]) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(codes, size=ROWS, p=p / p.sum()).astype(float)


def build_export(seed: int = SEED) -> pd.DataFrame:
    """The export as a DataFrame (codes as floats, as SPSS stores them)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "lopnr": [f"S{i:04d}" for i in range(1, ROWS + 1)],
            "ar": np.full(ROWS, 2025.0),
            "skolomr": _answers(rng, [1, 2, 3], [3, 4, 3]),
            "arskurs": _answers(rng, [7, 9, 11], [1, 1, 1]),
            "kon": _answers(rng, [1, 2, 3, 9], [48, 48, 2, 2]),
            "F12": _answers(rng, [0, 1, 2, 3, 8, 9], [70, 15, 8, 3, 2, 2]),
            "F13": _answers(rng, [0, 1, 2, 3, 8, 9], [80, 8, 5, 3, 2, 2]),
            "F20": _answers(rng, [0, 1, 8, 9], [88, 7, 3, 2]),
            "F31": _answers(rng, [0, 1, 2, 3, 4, 8], [60, 20, 8, 6, 3, 3]),
            "F40": _answers(rng, [1, 2, 3, 4], [10, 35, 45, 10]),
            "F5": _answers(rng, [1, 2, 3, 4, 8], [35, 35, 15, 10, 5]),
        }
    )
    blank = rng.random(ROWS) < 0.03  # a few unanswered questions
    return frame.assign(F40=frame["F40"].mask(blank))


def write_export(out: Path = HERE / "export.sav", seed: int = SEED) -> Path:
    """Write the export with its SPSS value labels; the same seed gives the same file."""
    pyreadstat.write_sav(
        build_export(seed),
        str(out),
        file_label="Skolenkät 2025 (syntetisk)",
        variable_value_labels=LABELS,
    )
    return out


if __name__ == "__main__":
    print(write_export(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "export.sav"))
