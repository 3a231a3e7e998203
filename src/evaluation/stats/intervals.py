"""Confidence intervals for proportions and their differences, with a design effect.

Wilson's score interval for one proportion (:func:`wilson_ci`), Newcombe's hybrid score interval for
the difference of two independent proportions (:func:`rate_difference_ci`), and the method of
variance estimates recovery (MOVER, :func:`_difference_ci`) that combines two intervals into one for
a difference of estimates (the change of the employment gap between two years). Census counts are
not sample sizes: the proportion intervals take a ``design_effect`` (effective sample size
``n / deff``). Its own module because the employment gap, the cohort rates
(:mod:`evaluation.stats.cohorts`) and the cumulative incidence (:mod:`evaluation.stats.incidence`)
all rely on these intervals and on the normal quantile :func:`_critical_value`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from evaluation.errors import UsageError

__all__ = ["wilson_ci", "rate_difference_ci"]


def _critical_value(conf_level: float) -> float:
    """Two-sided standard normal quantile ``z = Phi^-1(1 - (1 - conf_level) / 2)``."""
    if not 0 < conf_level < 1:
        raise UsageError(f"conf_level must be strictly between 0 and 1, got {conf_level!r} (e.g. 0.95)")
    # -ndtri(q) is what scipy.stats.norm.isf(q) computes; scipy.special spares the import of
    # scipy.stats (about 1 s in every process that computes an interval).
    return float(-special.ndtri((1 - conf_level) / 2))


def _check_design_effect(design_effect: float) -> None:
    if not (design_effect > 0 and math.isfinite(design_effect)):
        raise UsageError(
            f"design_effect must be a positive number, got {design_effect!r} (1 for simple random sampling)"
        )


def _scalar_or_array(values: np.ndarray, scalar: bool) -> Any:
    return float(values) if scalar else values


def wilson_ci(
    successes: Any,
    trials: Any,
    conf_level: float = 0.95,
    design_effect: float = 1.0,
) -> tuple[Any, Any]:
    """Wilson score interval for a proportion ``p = x / n``, vectorised.

    With ``z`` the two-sided normal quantile of ``conf_level`` and the effective sample size
    ``m = n / deff`` (``deff`` = ``design_effect``; the effective successes are ``x / deff``, so the
    rate ``p`` is unchanged)::

        centre = (p + z^2 / (2 m)) / (1 + z^2 / m)
        half   = z / (1 + z^2 / m) * sqrt(p (1 - p) / m + z^2 / (4 m^2))
        (low, high) = (centre - half, centre + half), clipped to [0, 1]

    Edge cases: ``x = 0`` gives ``low = 0`` and ``x = n`` gives ``high = 1`` exactly (the interval stays
    non-degenerate, unlike the Wald interval); ``n = 0`` gives NaN; NaN inputs give NaN. Counts may be
    non-integer (weighted census counts). Raises :class:`~evaluation.errors.UsageError` when
    ``x < 0`` or ``x > n``, for a ``conf_level`` outside (0, 1) or a non-positive ``design_effect``.

    Returns ``(low, high)`` as proportions (not percentages): floats for scalar inputs, arrays of the
    broadcast shape otherwise.
    """
    z = _critical_value(conf_level)
    _check_design_effect(design_effect)
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    scalar = x.ndim == 0 and n.ndim == 0
    x, n = np.broadcast_arrays(x, n)
    if np.any(x < 0) or np.any(x > n):
        bad = np.flatnonzero((x < 0) | (x > n))[0]
        raise UsageError(
            f"successes must lie between 0 and trials: got {float(x.flat[bad])!r} successes out of {float(n.flat[bad])!r} "
            "(check that numerator and denominator are not swapped)"
        )
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(n > 0, n / design_effect, np.nan)
        p = x / np.where(n > 0, n, np.nan)
        denominator = 1 + z2 / m
        centre = (p + z2 / (2 * m)) / denominator
        half = z * np.sqrt(p * (1 - p) / m + z2 / (4 * m**2)) / denominator
    # The bounds at 0 and n successes are exactly 0 and 1; the formula gives them up to rounding.
    low = np.where((x == 0) & (n > 0), 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where((x == n) & (n > 0), 1.0, np.clip(centre + half, 0.0, 1.0))
    return _scalar_or_array(low, scalar), _scalar_or_array(high, scalar)


def rate_difference_ci(
    x1: Any,
    n1: Any,
    x2: Any,
    n2: Any,
    conf_level: float = 0.95,
    design_effect: float = 1.0,
) -> tuple[Any, Any, Any]:
    """Difference of two proportions ``d = p1 - p2`` with Newcombe's hybrid score interval.

    Newcombe (1998), "Interval estimation for the difference between independent proportions",
    *Statistics in Medicine* 17, method 10. With ``(l1, u1)`` and ``(l2, u2)`` the Wilson intervals of
    ``p1 = x1 / n1`` and ``p2 = x2 / n2`` (:func:`wilson_ci`, same ``conf_level`` and
    ``design_effect``, applied to both samples)::

        low  = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)
        high = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)

    The method assumes **independent samples**. Edge cases as in :func:`wilson_ci`: 0 or all
    successes are fine; an empty sample gives NaN. Returns ``(difference, low, high)`` as proportions:
    floats for scalar inputs, arrays for vector inputs.
    """
    a1 = np.asarray(x1, dtype=float)
    b1 = np.asarray(n1, dtype=float)
    a2 = np.asarray(x2, dtype=float)
    b2 = np.asarray(n2, dtype=float)
    scalar = all(v.ndim == 0 for v in (a1, b1, a2, b2))
    low1, high1 = wilson_ci(a1, b1, conf_level, design_effect)
    low2, high2 = wilson_ci(a2, b2, conf_level, design_effect)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = a1 / np.where(b1 > 0, b1, np.nan)
        p2 = a2 / np.where(b2 > 0, b2, np.nan)
    difference = p1 - p2
    low = difference - np.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)
    high = difference + np.sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2)
    return (
        _scalar_or_array(difference, scalar),
        _scalar_or_array(low, scalar),
        _scalar_or_array(high, scalar),
    )


def _difference_ci(
    estimate_b: float,
    widths_b: tuple[float, float] | None,
    estimate_a: float,
    widths_a: tuple[float, float] | None,
    scale_a: float = 1.0,
) -> tuple[float | None, float | None]:
    """MOVER interval of ``estimate_b - scale_a * estimate_a`` from the two intervals (independent).

    Zou and Donner (2008), "Construction of confidence limits about effect measures: a general
    approach", *Statistics in Medicine* 27:1693-1702 (the method of variance estimates recovery,
    which gives Newcombe's interval when applied to two Wilson intervals). With the half-widths
    ``(lb, ub)`` of B and ``(la, ua)`` of A, ``c = scale_a >= 0`` and ``d = B - c A``::

        low  = d - sqrt(lb^2 + (c ua)^2)
        high = d + sqrt(ub^2 + (c la)^2)

    An estimate without interval (exhaustive source) counts as exact; (None, None) when neither has one.
    """
    if widths_a is None and widths_b is None:
        return None, None
    lb, ub = widths_b or (0.0, 0.0)
    la, ua = widths_a or (0.0, 0.0)
    difference = estimate_b - scale_a * estimate_a
    return (
        difference - math.sqrt(lb**2 + (scale_a * ua) ** 2),
        difference + math.sqrt(ub**2 + (scale_a * la) ** 2),
    )
