"""Evaluation toolkit for the MEL plan "Économie et emploi pour les quartiers prioritaires 2018-2021".

Public names: :func:`load_plan` (the referential), :func:`audit_plan` (the plan's internal
discrepancies), :func:`load_dataset` (a data directory). Heavier modules (``reports``, ``views``)
are imported on demand so that report kernels start fast.
"""

from evaluation.audit import Finding, audit_plan
from evaluation.errors import EvaluationError, InputError, PlanError, UsageError
from evaluation.io import Dataset, load_dataset
from evaluation.plan import Plan, load_plan

__version__ = "0.1.0"

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
