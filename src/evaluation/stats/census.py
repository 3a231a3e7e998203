"""What census counts allow: their sampling precision, their five-year vintages, and the guards.

The employment counts of the barometer come from INSEE's census: weighted estimates from a sample
(hence the design effect :data:`DEFAULT_CENSUS_DESIGN_EFFECT` of their intervals, derived from
:data:`CENSUS_SAMPLING_FRACTION`), published by vintage, a vintage ``N`` pooling the annual surveys
``N-2 .. N+2`` and appearing in ``N + 3`` (:func:`census_survey_years`,
:func:`census_publication_year`), collected by a new method from :data:`CENSUS_METHOD_CHANGE_YEAR`
on, and too imprecise to be read alone below :data:`CAUTION_COUNT`. :func:`check_guards` turns
these limits into caveats (:class:`~evaluation.stats.caveats.Caveat`) on the rows a result
compares. One module for the census as a source, used by the employment gap and by the cautions of
the impact estimates (:mod:`evaluation.stats.impact_cautions`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaluation.stats.caveats import Caveat, CaveatKind, EvaluationWarning
from evaluation.stats.gap_counts import _ALL_SEXES, _TOTAL_BAND

__all__ = [
    "CAUTION_COUNT",
    "CENSUS_METHOD_CHANGE_YEAR",
    "VINTAGE_OVERLAP_YEARS",
    "CENSUS_SAMPLING_FRACTION",
    "DEFAULT_CENSUS_DESIGN_EFFECT",
    "census_survey_years",
    "census_publication_year",
    "check_guards",
]


#: INSEE's caution threshold: census counts below 200 are too imprecise to be interpreted alone.
CAUTION_COUNT = 200
#: First census vintage of the new collection method; a series with vintages on both sides spans it.
CENSUS_METHOD_CHANGE_YEAR = 2015
#: A census vintage N pools the surveys N-2..N+2: two vintages less than 5 years apart share surveys.
VINTAGE_OVERLAP_YEARS = 5
#: Share of the dwellings a census vintage surveys in communes of 10 000 inhabitants or more: INSEE
#: surveys a sample of about 8 % of the dwellings each year, about 40 % over the five annual surveys
#: pooled in a vintage (INSEE's description of the census method; smaller communes are enumerated in
#: full, one fifth each year). Every QPV of the MEL lies in such a commune.
CENSUS_SAMPLING_FRACTION = 0.40
#: Default design effect of a rate computed on census counts: ``(1 - f) / f`` with ``f`` =
#: :data:`CENSUS_SAMPLING_FRACTION`, i.e. 1.5. A rate ``p`` estimated on a population count ``N`` from
#: a sample of a fraction ``f`` of it has the variance ``(1 - f) p (1 - p) / (f N)`` (simple random
#: sampling of ``f N`` people without replacement), ``(1 - f) / f`` times the ``p (1 - p) / N`` of
#: a simple random sample of size ``N``: the census counts are weighted up from that sample. It
#: leaves out what INSEE does not publish as a single factor: the clustering of people in dwellings
#: and addresses (wider), the calibration of the weights on the dwelling counts and the exhaustive
#: enumeration of the small communes of the MEL (narrower). An assumption, configurable
#: (``design_effect`` parameters, ``evaluation employment-gap --design-effect``): the intervals it
#: gives are orders of magnitude.
#: (Rounded: 1.5, not the 1.4999... of binary floats.)
DEFAULT_CENSUS_DESIGN_EFFECT = round((1 - CENSUS_SAMPLING_FRACTION) / CENSUS_SAMPLING_FRACTION, 10)
#: At most this many small counts are named one by one by :func:`check_guards`; the rest are counted.
_MAX_LISTED = 20


def census_survey_years(vintage: int) -> tuple[int, ...]:
    """The annual census surveys a vintage pools: vintage ``N`` covers ``N-2 .. N+2`` (INSEE)."""
    return tuple(range(int(vintage) - 2, int(vintage) + 3))


def census_publication_year(vintage: int) -> int:
    """Year INSEE publishes a census vintage ``N``: ``N + 3`` (after its last survey, ``N + 2``)."""
    return int(vintage) + 3


def _vintages_overlap(row_a: Mapping[str, Any], row_b: Mapping[str, Any]) -> bool:
    """True when the two rows' census vintages are known, distinct and share survey years."""
    vintages = [row.get("vintage", np.nan) for row in (row_a, row_b)]
    if any(v is None or pd.isna(v) for v in vintages):
        return False
    return 0 < abs(int(vintages[1]) - int(vintages[0])) < VINTAGE_OVERLAP_YEARS


def _vintages_of(barometer: pd.DataFrame, years: Sequence[int] | None) -> list[float]:
    rows = barometer if years is None else barometer[barometer["year"].isin(list(years))]
    return list(rows["vintage"].dropna().unique())


def _vintage_messages(vintages: Iterable[Any]) -> list[Caveat]:
    """Guards (1) and (2) of :func:`check_guards` on a set of compared census vintages."""
    distinct = sorted({int(v) for v in vintages if v is not None and not pd.isna(v)})
    messages = []
    close = [(a, b) for i, a in enumerate(distinct) for b in distinct[i + 1 :] if b - a < VINTAGE_OVERLAP_YEARS]
    if close:
        pairs = ", ".join(f"{a} vs {b} ({VINTAGE_OVERLAP_YEARS - (b - a)} of 5 surveys shared)" for a, b in close)
        messages.append(
            Caveat(
                f"census vintages less than {VINTAGE_OVERLAP_YEARS} years apart are compared: {pairs}; a vintage N "
                "pools the surveys N-2..N+2, so their difference is not a change between disjoint samples",
                CaveatKind.OVERLAPPING_VINTAGES,
            )
        )
    if distinct and distinct[0] < CENSUS_METHOD_CHANGE_YEAR <= distinct[-1]:
        before = [v for v in distinct if v < CENSUS_METHOD_CHANGE_YEAR]
        after = [v for v in distinct if v >= CENSUS_METHOD_CHANGE_YEAR]
        messages.append(
            Caveat(
                f"the series spans the {CENSUS_METHOD_CHANGE_YEAR} change of the census collection method (vintages "
                f"{before} before, {after} from {CENSUS_METHOD_CHANGE_YEAR}): part of the change may be a method effect",
                CaveatKind.METHOD_CHANGE,
            )
        )
    return messages


def check_guards(
    barometer: pd.DataFrame, years: Sequence[int] | None = None, *, disclosure_threshold: int | None = None
) -> list[Caveat]:
    """The statistical caveats of the barometer rows of ``years`` (default: all), warned and returned.

    1. **Overlapping vintages**: two distinct census vintages less than
       :data:`VINTAGE_OVERLAP_YEARS` (5) years apart among the compared rows. A vintage N pools the
       annual surveys N-2..N+2, so vintages ``d`` years apart share ``5 - d`` survey years: their
       difference is not a change between disjoint samples (and it understates the sampling
       variance of a change). One message lists every such pair.
    2. **Method change**: a vintage before :data:`CENSUS_METHOD_CHANGE_YEAR` (2015) and one from 2015
       on are both present.
    3. **Small counts**: a *sampled* count below :data:`CAUTION_COUNT` (200), INSEE's caution
       threshold for census counts, named by territory, year, indicator (and sex and age band when
       not the totals). The threshold is about sampling imprecision, so exhaustive counts (for
       example registered jobseekers) are not flagged. The first 20 are listed one per message,
       then one message counts the rest. With ``disclosure_threshold`` (the published messages: the
       dataset's disclosure rule), a count ``0 < x < disclosure_threshold`` is named without its
       value, which statistical confidentiality forbids to publish.

    Each message is a :class:`Caveat` (one English line, with its kind) emitted with ``warnings.warn(message, EvaluationWarning)``
    and returned in that order; an empty list means no caveat.
    """
    rows = barometer if years is None else barometer[barometer["year"].isin(list(years))]
    messages = _vintage_messages(_vintages_of(rows, None))
    sampled = rows["sampled"].astype("boolean").fillna(False).astype(bool)
    small = rows[sampled & (rows["value"] < CAUTION_COUNT)]
    small = small.sort_values(["territory", "year", "indicator"], kind="stable")
    for row in small.head(_MAX_LISTED).itertuples():
        detail = "" if (row.sex, row.age_band) == (_ALL_SEXES, _TOTAL_BAND) else f" (sex {row.sex}, age {row.age_band})"
        secret = disclosure_threshold is not None and 0 < row.value < disclosure_threshold
        value = (
            f"a count under {disclosure_threshold} (not shown: statistical confidentiality)"
            if secret
            else f"{row.value:g}"
        )
        messages.append(
            Caveat(
                f"{row.territory} {row.year} {row.indicator}{detail}: {value} is below {CAUTION_COUNT}, "
                "INSEE's caution threshold for census counts",
                CaveatKind.SMALL_COUNT,
            )
        )
    if len(small) > _MAX_LISTED:
        more = len(small) - _MAX_LISTED
        messages.append(
            Caveat(f"... and {more} more sampled counts below {CAUTION_COUNT}", CaveatKind.MORE_SMALL_COUNTS, more)
        )
    for message in messages:
        warnings.warn(message, EvaluationWarning, stacklevel=2)
    return messages
