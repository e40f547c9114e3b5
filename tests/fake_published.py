"""A small fake published folder (``reports/<wave>/data/``) for the notebook and display tests.

Built from hand-set group counts that follow ``docs/ARCHITECTURE.md`` and the files the batch
writes: three areas (one too small to publish), two grades, two sexes, two waves, four risk and
two protective factors, two behaviours and the two composites. Planted, and checked by the tests:

- ``norra-hamnen`` 2025: family_conflict clearly above the city (45 % vs about 30 %),
  family_attachment clearly below (40 % vs about 55 %), friends_drug_use clearly up since 2023;
- ``soderdalen``: girls and boys of ``ak9`` are small (6 and 5) and hidden, with the sex margins;
- ``lillby``: 2 pupils per cell, every group hidden.

With ``leaky=True`` the hidden rows keep a sentinel number (``SENTINEL_PCT``) instead of NaN, to
test that every display honours ``suppressed`` rather than trusting the blanks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from ctc_helpers.stats.intervals import wilson_ci
from ctc_helpers.survey.compare import compare_to_city, compare_waves

WAVES = (2023, 2025)
GRADES = ("ak7", "ak9")
SEXES = ("F", "M")
MIN_CELL = 10
SENTINEL_PCT = 0.8642  # never a real value here (all real shares are below 0.8)
AREAS = {"norra-hamnen": "Norra Hamnen", "soderdalen": "Söderdalen", "lillby": "Lillby"}
SCHOOLS = {
    "norra-hamnen": ("Hamnskolan", "Kajskolan"),
    "soderdalen": ("Dalskolan",),
    "lillby": ("Lillbyskolan",),
}
# measure: (kind, domain, group, label sv, label en)
MEASURES = {
    "perceived_availability_drugs": ("risk", "community", "community", "Upplevd tillgång till droger", "Perceived availability of drugs"),
    "family_conflict": ("risk", "family", "family", "Konflikter i familjen", "Family conflict"),
    "low_commitment_school": ("risk", "school", "school", "Låg motivation för skolarbetet", "Low commitment to school"),
    "friends_drug_use": ("risk", "individual", "individual", "Vänner som använder droger", "Friends' use of drugs"),
    "family_attachment": ("protective", "family", "family", "Anknytning till familjen", "Family attachment"),
    "school_opportunities_prosocial": ("protective", "school", "school", "Möjligheter till prosocialt deltagande i skolan", "School opportunities for prosocial involvement"),
    "alcohol_30d": ("behaviour", "behaviour", "substance", "Druckit alkohol senaste 30 dagarna", "Alcohol, past 30 days"),
    "truancy": ("behaviour", "behaviour", "school", "Skolkat", "Truancy"),
    "high_risk": ("composite", "composite", "risk", "Hög risk", "High risk"),
    "high_protection": ("composite", "composite", "protective", "Högt skydd", "High protection"),
}  # fmt: skip
BASE_RATE = {
    "perceived_availability_drugs": 0.25,
    "family_conflict": 0.25,
    "low_commitment_school": 0.22,
    "friends_drug_use": 0.15,
    "family_attachment": 0.65,
    "school_opportunities_prosocial": 0.60,
    "alcohol_30d": 0.10,
    "truancy": 0.08,
    "high_risk": 0.12,
    "high_protection": 0.40,
}
PLANTED = {  # (area, wave, measure) -> rate
    ("norra-hamnen", 2025, "family_conflict"): 0.45,
    ("norra-hamnen", 2023, "family_conflict"): 0.40,
    ("norra-hamnen", 2025, "low_commitment_school"): 0.27,
    ("norra-hamnen", 2025, "family_attachment"): 0.40,
    ("norra-hamnen", 2023, "family_attachment"): 0.45,
    ("norra-hamnen", 2025, "friends_drug_use"): 0.32,
}
CELL_SIZE = {"norra-hamnen": 30, "soderdalen": 50, "lillby": 2}  # per school x grade x sex
SMALL_CELLS = {("soderdalen", "ak9", "F"): 6, ("soderdalen", "ak9", "M"): 5}
CUTPOINT_VERSION = "fake-cut-1"


@dataclass(frozen=True)
class FakePublished:
    path: Path
    aggregates_unsuppressed: pd.DataFrame
    aggregates: pd.DataFrame


def _cells() -> pd.DataFrame:
    rows = []
    for wave in WAVES:
        for area, schools in SCHOOLS.items():
            for school in schools:
                for grade in GRADES:
                    for sex in SEXES:
                        size = SMALL_CELLS.get((area, grade, sex), CELL_SIZE[area])
                        rows.append((wave, area, school, grade, sex, size))
    return pd.DataFrame(rows, columns=["wave", "area", "school", "grade", "sex", "n"])


def _with_margins(leaves: pd.DataFrame, dims: list[str], values: list[str]) -> pd.DataFrame:
    frames = [leaves]
    for k in range(1, len(dims) + 1):
        for total_dims in _subsets(dims, k):
            keep = [d for d in dims if d not in total_dims]
            summed = leaves.groupby(["wave", *keep], as_index=False)[values].sum(min_count=1)
            frames.append(summed.assign(**{d: "all" for d in total_dims}))
    return pd.concat(frames, ignore_index=True)


def _subsets(items: list[str], k: int) -> list[tuple[str, ...]]:
    from itertools import combinations

    return list(combinations(items, k))


def _rate(area: str, wave: int, grade: str, measure: str) -> float:
    base = PLANTED.get((area, wave, measure), BASE_RATE[measure])
    return base + (0.04 if grade == "ak9" else 0.0)


def _aggregates() -> pd.DataFrame:
    cells = _cells().groupby(["wave", "area", "grade", "sex"], as_index=False)["n"].sum()
    frames = []
    for measure, (kind, domain, *_rest) in MEASURES.items():
        flagged = [
            float(np.floor(_rate(a, w, g, measure) * n + 0.5))
            for w, a, g, n in zip(
                cells["wave"], cells["area"], cells["grade"], cells["n"], strict=True
            )
        ]
        frames.append(
            cells.assign(measure=measure, measure_kind=kind, domain=domain, n_flagged=flagged)
        )
    leaves = pd.concat(frames, ignore_index=True)
    table = pd.concat(
        [
            _with_margins(part.drop(columns=["measure", "measure_kind", "domain"]), ["area", "grade", "sex"], ["n", "n_flagged"])
            .assign(measure=m, measure_kind=part["measure_kind"].iloc[0], domain=part["domain"].iloc[0])
            for m, part in leaves.groupby("measure", sort=False)
        ],
        ignore_index=True,
    )  # fmt: skip
    low, high = wilson_ci(table["n_flagged"].to_numpy(), table["n"].to_numpy())
    pct = table["n_flagged"] / table["n"]
    versions = np.where(table["measure_kind"].eq("behaviour"), "", CUTPOINT_VERSION)
    return table.assign(
        n=table["n"].astype(int), pct=pct, ci_low=low, ci_high=high, n_eff=table["n"].astype(float),
        pct_level2=pct / 2, cutpoint_version=versions,
    )  # fmt: skip


def _hidden(frame: pd.DataFrame) -> pd.Series:
    small = frame["area"].eq("lillby") | frame["n"].between(1, MIN_CELL - 1)
    soder = frame["area"].eq("soderdalen") & frame["sex"].isin(SEXES)
    complementary = soder & (frame["grade"].isin(["ak9", "all"]))
    return small | complementary


def _suppress(frame: pd.DataFrame, values: list[str], *, leaky: bool) -> pd.DataFrame:
    hidden = _hidden(frame)
    reason = np.where(
        frame["n"].between(1, MIN_CELL - 1), "primary", np.where(hidden, "complementary", "")
    )
    if leaky:
        fill = {
            c: SENTINEL_PCT
            if c in ("pct", "ci_low", "ci_high", "pct_level2", "response_rate")
            else 7.0
            for c in values
        }
    else:
        fill = dict.fromkeys(values, np.nan)
    blanked = {c: frame[c].astype(float).mask(hidden, fill[c]) for c in values}
    return frame.assign(**blanked, suppressed=hidden.to_numpy(), suppression_reason=reason)


def _participation(*, leaky: bool) -> pd.DataFrame:
    cells = _cells().assign(n_valid=lambda f: f["n"])
    cells = cells.assign(n=cells["n_valid"] + np.where(cells["n_valid"] >= 20, 2, 0))
    enrolled = np.where(cells["area"].eq("lillby"), np.nan, np.floor(cells["n"] / 0.75))
    table = _with_margins(
        cells.assign(enrolled=enrolled),
        ["area", "school", "grade", "sex"],
        ["n", "n_valid", "enrolled"],
    )
    table = table.assign(enrolled=table["enrolled"].where(table["sex"].eq("all")))
    unknown = table["area"].isin(["lillby", "all"])
    table = table.assign(enrolled=table["enrolled"].mask(unknown))
    table = table.assign(response_rate=table["n"] / table["enrolled"])
    return _suppress(table, ["n", "n_valid", "response_rate"], leaky=leaky)


def _screening_log(participation: pd.DataFrame, *, leaky: bool) -> pd.DataFrame:
    groups = participation.loc[participation["school"].eq("all") & participation["sex"].eq("all")]
    rules = {"fictitious_drug": 1, "dishonest": 1, "inconsistent": 0, "any_excluded": 2}
    rows = []
    for rule, count in rules.items():
        rows.append(
            groups.loc[:, ["wave", "area", "grade", "n", "suppressed"]].assign(
                rule=rule, n_flagged=count
            )
        )
    log = pd.concat(rows, ignore_index=True).rename(columns={"n": "n_respondents"})
    log = log.assign(
        n_flagged=np.where(log["n_respondents"].isna(), np.nan, log["n_flagged"]).astype(float)
    )
    sentinel = 7.0 if leaky else np.nan
    hidden = log["suppressed"]
    return log.assign(
        n_respondents=log["n_respondents"].mask(hidden, sentinel),
        n_flagged=log["n_flagged"].mask(hidden, sentinel),
    )


def _comparisons(aggregates: pd.DataFrame) -> pd.DataFrame:
    groups = [("all", "all"), ("ak7", "all"), ("ak9", "all"), ("all", "F"), ("all", "M")]
    frames = [
        compare_to_city(aggregates, area=a, wave=2025, grade=g, sex=s, min_n=MIN_CELL).assign(
            comparison="city", reference_wave=float("nan")
        )
        for a in AREAS
        for g, s in groups
    ]
    frames += [
        compare_waves(aggregates, wave=2025, previous_wave=2023, area=a, grade=g, sex=s, min_n=MIN_CELL).assign(
            comparison="previous_wave", reference_wave=2023.0
        )
        for a in ["all", *AREAS]
        for g, s in groups
    ]  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def _measures() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"measure": m, "measure_kind": k, "domain": d, "group": g, "label_sv": sv,
             "description_sv": sv, "order": i, "label_en": en, "description_en": en}
            for i, (m, (k, d, g, sv, en)) in enumerate(MEASURES.items())
        ]
    )  # fmt: skip


def _cutpoints() -> pd.DataFrame:
    factors = [m for m, spec in MEASURES.items() if spec[0] in ("risk", "protective")]
    return pd.DataFrame(
        {"factor": factors, "method": "percentile", "flag_value": 2.5, "high_value": 3.0,
         "reference": "wave 2023", "version": CUTPOINT_VERSION}
    )  # fmt: skip


def run_info(*, synthetic: bool = True) -> dict:
    return {
        "wave": 2025,
        "previous_wave": 2023,
        "waves": list(WAVES),
        "min_cell": MIN_CELL,
        "synthetic": synthetic,
        "instrument": {
            "id": "fake-instrument",
            "version": "0.1",
            "title": {"sv": "Testenkät", "en": "Test survey"},
            "notice": {"sv": "Endast för tester.", "en": "For tests only."},
        },
        "cutpoint_version": CUTPOINT_VERSION,
        "data_checksums": {},
        "areas": [{"area_id": a, "name": n} for a, n in AREAS.items()],
    }


@cache
def _tables(leaky: bool) -> dict[str, pd.DataFrame]:
    unsuppressed = _aggregates()
    values = ["n", "n_flagged", "pct", "ci_low", "ci_high", "n_eff", "pct_level2"]
    participation = _participation(leaky=leaky)
    return {
        "unsuppressed": unsuppressed,
        "aggregates": _suppress(unsuppressed, values, leaky=leaky),
        "comparisons": _comparisons(_suppress(unsuppressed, values, leaky=False)),
        "participation": participation,
        "screening_log": _screening_log(participation, leaky=leaky),
    }


def write_fake_published(
    folder: Path, *, leaky: bool = False, synthetic: bool = True
) -> FakePublished:
    """Write the seven files of a published folder into ``folder`` and return the tables."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = _tables(leaky)
    for name in ("aggregates", "comparisons", "participation", "screening_log"):
        tables[name].to_parquet(folder / f"{name}.parquet", index=False)
    _cutpoints().to_csv(folder / "cutpoints.csv", index=False)
    _measures().to_csv(folder / "measures.csv", index=False)
    info = json.dumps(run_info(synthetic=synthetic), ensure_ascii=False, indent=1)
    (folder / "run_info.json").write_text(info, encoding="utf-8")
    return FakePublished(folder, tables["unsuppressed"].copy(), tables["aggregates"].copy())
