"""Direct standardisation and Kitagawa's decomposition of the change of a weighted mean rate.

Two generic tools, free of any territory: :func:`direct_standardise` (the rate a population would
have with a standard population's structure) and :func:`kitagawa` (the change of a weighted mean
rate split into a composition effect and a rate effect, without residual). The employment gap
applies them to age bands and to QPV (:mod:`evaluation.stats.gap_decomposition`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from evaluation.errors import UsageError

__all__ = ["direct_standardise", "kitagawa"]


def direct_standardise(rates: Mapping[str, float], standard: Mapping[str, float]) -> float:
    """Directly standardised rate: ``sum_a w_a r_a / sum_a w_a`` over the bands ``a`` of ``standard``.

    ``rates`` maps an age band to the territory's rate in that band (any unit: the result has the
    same); ``standard`` maps each band to the standard population's weight (a count or a share).
    The result is the rate the territory would have with the standard's age structure. A territory
    standardised on its own structure gets its crude rate back. Bands of ``rates`` absent from the
    standard are ignored; a NaN rate gives NaN. Raises :class:`~evaluation.errors.UsageError` when a
    band of the standard has no rate, when a weight is negative or when the weights sum to 0.
    """
    missing = [band for band in standard if band not in rates]
    if missing:
        raise UsageError(f"no rate for the age band(s) {', '.join(map(repr, missing))} of the standard population")
    weights = np.array([float(standard[band]) for band in standard])
    values = np.array([float(rates[band]) for band in standard])
    if np.any(weights < 0) or not weights.sum() > 0:
        raise UsageError(f"the standard population's weights must be >= 0 with a positive sum, got {dict(standard)!r}")
    return float(np.sum(weights * values) / np.sum(weights))


def _aligned(values: Mapping[str, float] | Sequence[float], keys: list[str] | None, name: str) -> np.ndarray:
    if keys is not None:
        if not isinstance(values, Mapping) or set(values) != set(keys):
            raise UsageError(f"{name} must have the same groups as weights_a: {keys}")
        return np.array([float(values[k]) for k in keys])
    if isinstance(values, Mapping):
        raise UsageError(f"{name} is a mapping but weights_a is not: pass four mappings or four sequences")
    return np.asarray(values, dtype=float)


def kitagawa(
    rates_a: Mapping[str, float] | Sequence[float],
    weights_a: Mapping[str, float] | Sequence[float],
    rates_b: Mapping[str, float] | Sequence[float],
    weights_b: Mapping[str, float] | Sequence[float],
) -> tuple[float, float, float]:
    """Kitagawa (1955) decomposition of the change of a weighted mean rate from A to B.

    With the weights normalised to shares ``s = w / sum w`` and the mean rate ``R = sum_g s_g r_g``
    over the groups ``g`` (age bands, QPV)::

        total       = R_B - R_A
        composition = sum_g (s_Bg - s_Ag) * (r_Ag + r_Bg) / 2     (the structure changed)
        rate        = sum_g (r_Bg - r_Ag) * (s_Ag + s_Bg) / 2     (the rates changed)

    The symmetric form has no residual: ``composition + rate == total`` algebraically (up to float
    rounding, about 1e-16 for rates in [0, 1]). Pass four mappings keyed by the same groups or four
    aligned sequences. Returns ``(total, composition, rate)`` in the unit of the rates. A NaN rate
    gives NaN; raises :class:`~evaluation.errors.UsageError` when the groups differ, a weight is
    negative or a weight set sums to 0.
    """
    keys = list(weights_a) if isinstance(weights_a, Mapping) else None
    wa = _aligned(weights_a, keys, "weights_a")
    ra = _aligned(rates_a, keys, "rates_a")
    rb = _aligned(rates_b, keys, "rates_b")
    wb = _aligned(weights_b, keys, "weights_b")
    if not (wa.shape == ra.shape == rb.shape == wb.shape and wa.ndim == 1):
        raise UsageError(
            f"rates and weights must be four sequences of the same length, got {[len(v) for v in (ra, wa, rb, wb)]}"
        )
    for name, w in (("weights_a", wa), ("weights_b", wb)):
        if np.any(w < 0) or not w.sum() > 0:
            raise UsageError(f"{name} must be >= 0 with a positive sum, got {w.tolist()}")
    sa = wa / wa.sum()
    sb = wb / wb.sum()
    total = float(np.sum(sb * rb) - np.sum(sa * ra))
    composition = float(np.sum((sb - sa) * (ra + rb) / 2))
    rate = float(np.sum((rb - ra) * (sa + sb) / 2))
    return total, composition, rate
