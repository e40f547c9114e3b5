"""Planted factor -> behaviour links of the demo city (the ``factors:`` key of a behaviour).

In ``synth_model.yaml`` a behaviour may name factors with a coefficient (logit per SD)::

    behaviours:
      cannabis_lifetime:
        factors: {friends_drug_use: 0.9}

Each named factor then adds ``coefficient * d_f`` to the behaviour's latent logit, where
``d_f = eta_f - (base_f + slope_f (y - y_mean) + sex_f)`` is the pupil's own deviation of the
factor (``lambda_f L + sqrt(1 - lambda_f^2) u_f`` plus the factor's planted area effects and
trends): the part that is the pupil's, not the grade's or the sex's. So the link is specific: it
runs through ``u_f``, which no other factor or behaviour shares, while every behaviour is linked to
every factor of the same kind through the general latents R and P anyway (the *general-latent
baseline* every unplanted pair shows). The generator's ``k`` correction includes the variance the
link terms add (with their covariance with R, P and each other), so the marginal prevalence stays
close to the configured one.

A 30-day behaviour that follows its lifetime item inherits the link through the shared latent; a
factor with a CTC effect cannot be linked (its effect would then move the behaviour too, and the
realised CTC truth would not say so).

Examples
--------
>>> link_term({"factors": {"f": 0.5}}, {"f": np.array([2.0, -1.0])})
array([ 1. , -0.5])
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from pathlib import Path

import numpy as np

from ctc_helpers.config.instrument import Instrument
from ctc_helpers.errors import ConfigError

__all__ = ["check_links", "link_term", "link_variance", "linked_factors", "links_truth"]


def linked_factors(model: dict) -> dict[str, dict[str, float]]:
    """Behaviour id -> {factor id: coefficient} for every behaviour with a ``factors`` key."""
    return {
        behaviour: {str(f): float(c) for f, c in (par.get("factors") or {}).items()}
        for behaviour, par in (model.get("behaviours") or {}).items()
        if par.get("factors")
    }


def check_links(
    model: dict,
    instrument: Instrument,
    *,
    followers: Mapping[str, str],
    leading: Collection[str],
) -> None:
    """Check every ``factors`` entry of the behaviours.

    ``followers``: behaviour id -> the item its items follow (30-day items, ``follows``);
    ``leading``: the behaviours whose items are generated from their own latent.

    Raises
    ------
    ConfigError
        Naming the model file, the behaviour and the factor when the factors section is not a
        mapping, a factor is unknown, a coefficient is not a number, the behaviour follows
        another one or has no items of its own, or the factor has a CTC effect.
    """
    where = Path(model["_path"]).name
    with_ctc = {e["measure"] for e in model.get("ctc_effects") or []}
    for behaviour, par in (model.get("behaviours") or {}).items():
        factors = par.get("factors")
        if factors is None:
            continue
        here = f"{where}: behaviours: {behaviour}: factors"
        if not isinstance(factors, dict):
            raise ConfigError(f"{here} must map factor ids to coefficients, got {factors!r}.")
        if behaviour in followers:
            raise ConfigError(
                f"{here}: {behaviour!r} follows {followers[behaviour]!r}; plant the link on the"
                " behaviour it follows (it moves both)."
            )
        if behaviour not in leading:
            raise ConfigError(
                f"{here}: {behaviour!r} has no items of its own (its rule counts the items of"
                " other behaviours); plant the link on those behaviours."
            )
        for factor, coefficient in factors.items():
            if factor not in instrument.factor_ids:
                raise ConfigError(
                    f"{here} names the factor {factor!r}, which the instrument does not have"
                    f" (known: {', '.join(instrument.factor_ids)})."
                )
            if isinstance(coefficient, bool) or not isinstance(coefficient, int | float):
                raise ConfigError(f"{here}: {factor} needs a number, got {coefficient!r}.")
            if factor in with_ctc:
                raise ConfigError(
                    f"{here}: {factor!r} has a CTC effect (ctc_effects); a linked factor cannot"
                    " have one. Plant the CTC effect on the behaviour instead."
                )


def link_term(par: dict, deviations: Mapping[str, np.ndarray]) -> np.ndarray | float:
    """``sum(coefficient * d_f)`` over the behaviour's linked factors (0.0 when none)."""
    total: np.ndarray | float = 0.0
    for factor, coefficient in (par.get("factors") or {}).items():
        total = total + float(coefficient) * deviations[factor]
    return total


def link_variance(par: dict, model: dict, instrument: Instrument) -> float:
    """Variance the link terms add to the behaviour's logit, with their covariances.

    ``d_f = lambda_f L_f + sqrt(1 - lambda_f^2) u_f`` has variance 1, covariance ``lambda_f``
    with its own general latent and ``rho lambda_f`` with the other; two deviations covary by
    ``lambda_f lambda_g`` (same kind) or ``rho lambda_f lambda_g`` (different kinds). Planted
    area shifts are left out (they move a few areas, not the spread of the city).
    """
    factors = {str(f): float(c) for f, c in (par.get("factors") or {}).items()}
    if not factors:
        return 0.0
    rho = float((model.get("latent") or {}).get("correlation", -0.4))
    kinds = {f.id: f.kind for f in instrument.factors}
    loading = _loadings(model, factors)
    b_r, b_p = float(par.get("risk", 1.0)), float(par.get("protection", -0.5))
    total = 0.0
    for f, c in factors.items():
        with_r, with_p = (1.0, rho) if kinds[f] == "risk" else (rho, 1.0)
        total += c**2 + 2 * c * loading[f] * (b_r * with_r + b_p * with_p)
        for g, d in factors.items():
            if g != f:
                same = 1.0 if kinds[f] == kinds[g] else rho
                total += c * d * loading[f] * loading[g] * same
    return total


def _loadings(model: dict, factors: Mapping[str, float]) -> dict[str, float]:
    default = float((model.get("factor_defaults") or {}).get("loading", 0.7))
    own = model.get("factors") or {}
    return {f: float((own.get(f) or {}).get("loading", default)) for f in factors}


def links_truth(model: dict, instrument: Instrument, followers: Callable[[str], list[str]]) -> dict:
    """The planted links and the explicitly unplanted pairs, for ``planted_truth.yaml``.

    ``no_planted_link``: for each behaviour with planted links, the factors linked to another
    behaviour but not to it (the same factors, so their only link here is the general-latent
    baseline). ``followers(behaviour)`` names the behaviours that move with it.
    """
    kinds = {f.id: f.kind for f in instrument.factors}
    planted = linked_factors(model)
    all_linked = sorted({f for factors in planted.values() for f in factors})
    return {
        "note": (
            "A planted link adds coefficient x the pupil's own deviation of the factor (SD) to the"
            " behaviour's logit; every other factor x behaviour pair is linked only through the"
            " general latents R and P (the baseline the unplanted pairs show)."
        ),
        "planted": [
            {
                "behaviour": b,
                "factor": f,
                "factor_kind": kinds[f],
                "coefficient": round(c, 4),
                "unit": "logit per sd",
                "also_moves": followers(b),
            }
            for b, factors in planted.items()
            for f, c in factors.items()
        ],  # fmt: skip
        "unplanted": [
            {"behaviour": b, "factor": f, "factor_kind": kinds[f]}
            for b, factors in planted.items()
            for f in all_linked
            if f not in factors
        ],
    }
