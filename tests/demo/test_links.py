"""Planted factor -> behaviour links of the demo generator (ctc_helpers/demo/links.py): the
variance formula against a simulation, the link raising the association while the prevalence
stays close, the truth it records, and the model errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from ctc_helpers.demo import synth
from ctc_helpers.demo.links import link_variance
from ctc_helpers.errors import ConfigError
from ctc_helpers.paths import SAMPLE_DIR

MODEL = yaml.safe_load((SAMPLE_DIR / "synth_model.yaml").read_text(encoding="utf-8"))
PREFIX = MODEL["city"]["file_prefix"]


def test_link_variance_equals_a_simulation_of_the_latent_model(default_instrument):
    """Var(b_R R + b_P P + sum c_f d_f) - Var(b_R R + b_P P), by drawing the latent model."""
    rng = np.random.default_rng(7)
    rho, n = -0.45, 400_000
    model = {"latent": {"correlation": rho}, "factor_defaults": {"loading": 0.7},
             "factors": {"social_skills": {"loading": 0.5}}}  # fmt: skip
    par = {"risk": 0.6, "protection": -0.6,
           "factors": {"friends_drug_use": 1.2, "antisocial_peers": 0.8, "social_skills": -0.5}}  # fmt: skip
    general = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], n)
    r, p = general[:, 0], general[:, 1]

    def deviation(loading, latent):
        return loading * latent + np.sqrt(1 - loading**2) * rng.standard_normal(n)

    base = par["risk"] * r + par["protection"] * p
    linked = base + 1.2 * deviation(0.7, r) + 0.8 * deviation(0.7, r) - 0.5 * deviation(0.5, p)
    simulated = linked.var() - base.var()
    assert link_variance(par, model, default_instrument) == pytest.approx(simulated, abs=0.03)
    assert link_variance({"risk": 1.0}, model, default_instrument) == 0.0


def _model_file(tmp_path, change):
    model = yaml.safe_load((SAMPLE_DIR / "synth_model.yaml").read_text(encoding="utf-8"))
    change(model)
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(model, allow_unicode=True), encoding="utf-8")
    return path


def _without_links(model):
    for par in model["behaviours"].values():
        par.pop("factors", None)


def _flags(frame, factor, instrument):
    """At risk on a factor: mean item score in the top quarter (plain pandas, every row)."""
    f = instrument.factor(factor)
    scores = {}
    for item, reverse in f.items:
        rs = instrument.items[item].response_set
        values = frame[item].map(dict(zip(rs.codes, rs.scores, strict=True))).astype(float)
        scores[item] = (rs.min_score + rs.max_score - values) if reverse else values
    score = pd.DataFrame(scores).mean(axis=1)
    return (score > score.quantile(0.75)).to_numpy()


def test_a_planted_link_raises_the_association_and_keeps_the_prevalence(
    tmp_path, default_instrument
):
    """The same city (same draws) with and without the demo's links: against an unplanted factor
    (the comparison with the city without links cancels confounding by grade),
    the planted factor's ratio rises clearly, and the behaviour's prevalence stays close."""
    kwargs = {"instrument": default_instrument, "respondents_per_wave": 6000}
    linked = synth.generate_city(**kwargs)
    plain = synth.generate_city(_model_file(tmp_path, _without_links), **kwargs)
    waves = [f"{PREFIX}_{wave}" for wave in MODEL["waves"]]

    def ratio(city, factor):
        frame = pd.concat([city[key] for key in waves], ignore_index=True)
        at_risk = _flags(frame, factor, default_instrument)
        use = frame["can_life"].astype(float) >= 2
        return use[at_risk].mean() / use[~at_risk].mean(), use.mean()

    (planted, share), (other, _) = (
        ratio(linked, f) for f in ("friends_drug_use", "rebelliousness")
    )
    (planted_0, share_0), (other_0, _) = (
        ratio(plain, f) for f in ("friends_drug_use", "rebelliousness")
    )
    assert planted / other > 1.3 * (planted_0 / other_0)
    assert share == pytest.approx(share_0, abs=0.01)


def test_the_truth_lists_the_planted_links_and_the_unplanted_pairs():
    truth = yaml.safe_load((SAMPLE_DIR / "planted_truth.yaml").read_text(encoding="utf-8"))
    configured = {
        (b, f, c)
        for b, par in MODEL["behaviours"].items()
        for f, c in (par.get("factors") or {}).items()
    }
    planted = {(e["behaviour"], e["factor"], e["coefficient"]) for e in truth["links"]["planted"]}
    assert planted == configured and len(planted) >= 2
    unplanted = {(e["behaviour"], e["factor"]) for e in truth["links"]["unplanted"]}
    assert unplanted and not unplanted & {(b, f) for b, f, _ in planted}
    linked_factors = {f for _, f, _ in planted}
    assert {f for _, f in unplanted} <= linked_factors  # the same factors, another behaviour


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda m: m["behaviours"]["cannabis_lifetime"].update(factors={"no_such": 1.0}),
         ["cannabis_lifetime", "no_such", "factor"]),
        (lambda m: m["behaviours"]["cannabis_lifetime"].update(factors={"rebelliousness": "hög"}),
         ["rebelliousness", "number", "hög"]),
        (lambda m: m["behaviours"]["cannabis_lifetime"].update(factors=["rebelliousness"]),
         ["cannabis_lifetime", "map factor ids"]),
        (lambda m: m["behaviours"].update(cannabis_30d={"factors": {"rebelliousness": 1.0}}),
         ["cannabis_30d", "follows", "can_life"]),
        (lambda m: m["behaviours"].update(antisocial_variety={"factors": {"rebelliousness": 1}}),
         ["antisocial_variety", "no items of its own"]),
        (lambda m: m["behaviours"]["violence_any"].update(factors={"academic_failure": 0.5}),
         ["academic_failure", "CTC effect"]),
    ],
)  # fmt: skip
def test_link_errors_name_the_behaviour_and_factor(tmp_path, default_instrument, change, words):
    path = _model_file(tmp_path, change)
    with pytest.raises(ConfigError) as error:
        synth.generate_city(path, instrument=default_instrument, respondents_per_wave=50)
    for word in [*words, "model.yaml"]:
        assert word in str(error.value)
