"""Evaluation toolkit for the MEL plan "Économie et emploi pour les quartiers prioritaires 2018-2021".

Public names: :func:`load_plan` (the referential), :func:`audit_plan` (the plan's internal
discrepancies), :func:`load_dataset` (a data directory). The package is in layers, each a
sub-package imported on demand (report kernels start fast):

- :mod:`evaluation.referential`: the plan as data and its checks (plan, audit, territories, labels);
- :mod:`evaluation.intake`: partners' files read and checked (and their Excel collection template);
- :mod:`evaluation.stats`: the statistics (targets, budget, employment gap, barometer, cohorts,
  survival, surveys, impact, disclosure control);
- :mod:`evaluation.publish`: what a year publishes, built and protected once (cohort release, gap
  series, barometer, exported tables);
- :mod:`evaluation.present`: French rendering (report blocks, charts, formatting, templates);
- :mod:`evaluation.batch`: run plans, kernels, cache, lock, index: ``evaluation run``.

The module names of the former flat layout (``evaluation.cohorts``, ``evaluation.views``...) still
import, as the modules they became (:mod:`evaluation._legacy`).
"""

from importlib.metadata import PackageNotFoundError, version

from evaluation import _legacy
from evaluation.errors import EvaluationError, InputError, PlanError, UsageError
from evaluation.io import Dataset, load_dataset
from evaluation.referential.audit import Finding, audit_plan
from evaluation.referential.plan import Plan, load_plan

try:
    __version__ = version("evaluation")
except PackageNotFoundError:  # a source tree on sys.path without an installed distribution
    __version__ = "0+unknown"

_legacy.install()

__all__ = [
    "__version__",
    "Plan",
    "load_plan",
    "Finding",
    "audit_plan",
    "Dataset",
    "load_dataset",
    "EvaluationError",
    "InputError",
    "PlanError",
    "UsageError",
]
