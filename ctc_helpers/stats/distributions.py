"""Quantiles and tail probabilities of the normal and chi-square distributions.

``math.erfc`` gives the normal tail with full precision far out in the tail without importing
``scipy.stats`` (about a second), which every report notebook would otherwise pay.

Examples
--------
>>> round(z_value(0.95), 4), float(np.round(normal_sf(1.959964), 4))
(1.96, 0.025)
>>> round(chi2_sf(3.841459, 1), 4)
0.05
"""

from __future__ import annotations

import math
import numbers
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["chi2_sf", "normal_sf", "z_value"]


def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile for ``confidence`` (0 < confidence < 1)."""
    if not isinstance(confidence, numbers.Real) or not 0.0 < confidence < 1.0:
        raise ValueError(
            f"confidence must be a number between 0 and 1 (for example 0.95); got {confidence!r}."
        )
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


_ERFC = np.frompyfunc(math.erfc, 1, 1)


def normal_sf(z: ArrayLike) -> np.ndarray:
    """Upper tail of the standard normal, P(Z > z), elementwise (NaN stays NaN).

    ``erfc`` keeps full precision far in the tail; ``math`` avoids importing ``scipy.stats``
    (about a second), which every report notebook would otherwise pay.
    """
    values = np.asarray(z, dtype=float)
    return np.asarray(_ERFC(values / math.sqrt(2.0)), dtype=float) / 2.0


def chi2_sf(statistic: float, df: int) -> float:
    """Upper tail of the chi-square distribution (NaN for a NaN statistic)."""
    from scipy.special import chdtrc  # scipy.special: 0.085 s; only the k-sample tests need it

    return float(chdtrc(df, statistic))
