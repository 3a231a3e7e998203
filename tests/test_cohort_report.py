"""The cohort report publishes nothing below the threshold, and no hidden cell can be recomputed.

Run on the demo cohorts (synthetic), for every programme and for all of them together.
"""

from __future__ import annotations

import numpy as np
import pytest

from evaluation import cohorts as co
from evaluation import disclosure as dc
from evaluation import views_cohort as vc

PROGRAMMES = ["all", "1", "3", "9", "10", "12"]


@pytest.fixture(scope="module", params=PROGRAMMES)
def report(request):
    ctx = vc.cohort_context(request.param, 2021)
    blocks = [
        vc.entrants_block(ctx),
        vc.outcomes_block(ctx),
        vc.groups_block(ctx),
        vc.attrition_block(ctx),
        vc.targets_block(ctx),
    ]
    return ctx, blocks


def test_published_counts_respect_the_threshold(report):
    ctx, _blocks = report
    threshold = ctx.rule.threshold
    assert ctx.protected, "the entrants tables go through protect_table"
    for protected in ctx.protected:
        shown = protected.values.to_numpy(dtype=float)
        published = protected.flags.to_numpy() == dc.Flag.PUBLISHED
        small = (shown > 0) & (shown < threshold)
        assert not (small & published).any(), protected.name


def test_no_hidden_cell_can_be_recomputed(report):
    ctx, _blocks = report
    for protected in ctx.protected:
        intervals = dc.feasible_intervals(protected)
        assert (intervals["upper"] - intervals["lower"] > 0).all(), protected.name


def test_published_rates_are_judged_on_their_counts(report):
    """Every rate shown has a numerator and a complement of 0 or at least the threshold."""
    ctx, _blocks = report
    threshold = ctx.rule.threshold
    rates = co.outcome_rates(ctx.cohort, outcome="employment", by=("programme",), as_of=ctx.as_of)
    flags = dc.protect_rates(rates["successes"], rates["observable"], ctx.rule)
    shown = rates[[dc.Flag(f) is dc.Flag.PUBLISHED for f in flags]]
    for count in (shown["successes"], shown["observable"] - shown["successes"]):
        assert ((count == 0) | (count >= threshold)).all()


def test_survival_curve_is_coarsened(report):
    ctx, _blocks = report
    data = co.survival_data(ctx.cohort, outcome="employment", as_of=ctx.as_of)
    km = co.kaplan_meier(data["duration_months"], data["event"], entry=data["entry_months"])
    published = dc.coarsen_km(km, ctx.rule.threshold)
    assert ((published["events"] + published["censored"]) >= ctx.rule.threshold).all()
    assert np.allclose(published["time"], np.round(published["time"]))  # whole months, no exact dates
