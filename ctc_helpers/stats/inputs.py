"""Checks and safe arithmetic shared by the statistics modules.

Every statistic accepts scalars, NumPy arrays and pandas Series and never mutates them: the
values are copied to float arrays (:func:`as_float`), counts are checked (``0 <= x <= n``, NaN
allowed: :func:`check_counts`), and division by an empty group gives NaN without a warning
(:func:`safe_ratio`). Errors are ``ValueError`` naming the argument, the value and its position.

Examples
--------
>>> x, n = check_counts([3, 0], 10, names=("x", "n"))
>>> safe_ratio(x, np.array([10.0, 0.0]))
array([0.3, nan])
>>> try:
...     check_counts([3, 12], [10, 10], names=("x", "n"))
... except ValueError as error:
...     print(error)
x cannot exceed n; got x=12 with n=10 at position 1.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "as_float",
    "check_counts",
    "check_range",
    "first_position",
    "one_dim",
    "position_text",
    "safe_ratio",
    "unwrap",
]

_COUNT_TOLERANCE = 1e-9  # relative slack for x <= n with floating-point (weighted) counts


def as_float(value: ArrayLike, *, name: str) -> np.ndarray:
    """Return ``value`` as a float array (a copy never shares memory with pandas input)."""
    try:
        return np.array(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numeric; got {value!r}.") from error


def unwrap(array: np.ndarray) -> float | np.ndarray:
    """Return a 0-d result as a NumPy float scalar, anything else unchanged."""
    return array[()] if array.ndim == 0 else array


def first_position(mask: np.ndarray) -> int | tuple[int, ...]:
    """Position of the first True in ``mask`` (flat index for 1-d, tuple otherwise)."""
    position = np.argwhere(mask)[0]
    return int(position[0]) if mask.ndim == 1 else tuple(int(i) for i in position)


def position_text(mask: np.ndarray) -> str:
    """`` at position i`` of the first True in ``mask``, for messages (empty for a scalar)."""
    return "" if mask.ndim == 0 else f" at position {first_position(mask)}"


def check_range(values: np.ndarray, *, name: str, low: float, high: float) -> None:
    """Raise when a non-missing value lies outside ``[low, high]`` (or is infinite)."""
    bad = ~np.isnan(values) & ((values < low) | (values > high))
    if np.any(bad):
        value = values[bad].flat[0]
        raise ValueError(
            f"{name} must lie between {low:g} and {high:g}; got {value:g}{position_text(bad)}."
        )


def check_counts(x: ArrayLike, n: ArrayLike, *, names: tuple[str, str]) -> tuple[np.ndarray, ...]:
    """Validate counts ``0 <= x <= n`` (NaN allowed) and broadcast them to one shape."""
    x_name, n_name = names
    x_arr, n_arr = np.broadcast_arrays(as_float(x, name=x_name), as_float(n, name=n_name))
    check_range(n_arr, name=n_name, low=0.0, high=np.inf)
    check_range(x_arr, name=x_name, low=0.0, high=np.inf)
    too_big = x_arr > n_arr * (1.0 + _COUNT_TOLERANCE) + _COUNT_TOLERANCE
    if np.any(too_big):
        raise ValueError(
            f"{x_name} cannot exceed {n_name}; got {x_name}={x_arr[too_big].flat[0]:g} with "
            f"{n_name}={n_arr[too_big].flat[0]:g}{position_text(too_big)}."
        )
    return x_arr, n_arr


def safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Element-wise division giving NaN (no warning) where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def one_dim(value: ArrayLike, *, name: str) -> np.ndarray:
    """``value`` as a one-dimensional float array (a scalar becomes one value)."""
    array = np.atleast_1d(as_float(value, name=name))
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {array.shape}.")
    return array
