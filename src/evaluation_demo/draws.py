"""What every generator of the SYNTHETIC demo data shares: the seed, the plan's years, a uniform draw.

**Nothing drawn with these is real** (see :mod:`evaluation_demo.generate`). The seed of the committed
files (:data:`DEMO_SEED`) is the default of every generator of ``data/demo/`` except the survey
waves and the comparison territories, which keep their own; each generator makes its own
``numpy.random.default_rng(seed)``, so that adding a draw to one table leaves the others as they
are. Its own file so that the generators of the monitoring values, the spending, the barometer
and the cohorts import these without importing one another.
"""

from __future__ import annotations

import numpy as np

from evaluation.config import PLAN_YEARS

__all__ = ["DEMO_SEED", "FIRST_YEAR", "LAST_YEAR"]

#: The seed of the committed demo files (the date the Conseil métropolitain voted the plan).
DEMO_SEED = 20180615

FIRST_YEAR, LAST_YEAR = PLAN_YEARS[0], PLAN_YEARS[-1]


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(*bounds))
