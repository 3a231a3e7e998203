"""The module names of the flat layout (before the layers of issue 13), still importable.

``import evaluation.cohorts`` or ``from evaluation.views import Html`` give the module of the new
layout (:data:`MOVED`): notebooks and scripts written against the old names keep working, and the
interfaces listed in the design (``evaluation.cohorts.kaplan_meier``, ``evaluation.survey.proportion``,
``evaluation.impact.did``...) stay where they were listed. Nothing is imported before it is asked for.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import MappingProxyType, ModuleType

#: Old name -> the module it now is.
MOVED = MappingProxyType(
    {
        "evaluation.audit": "evaluation.referential.audit",
        "evaluation.barometer": "evaluation.stats.barometer",
        "evaluation.barometer_disclosure": "evaluation.publish.barometer_disclosure",
        "evaluation.budget": "evaluation.stats.budget",
        "evaluation.cohort_release": "evaluation.publish.cohort_release",
        "evaluation.cohorts": "evaluation.stats.cohorts",
        "evaluation.demo": "evaluation_demo.generate",
        "evaluation.demo_comparison": "evaluation_demo.comparison",
        "evaluation.demo_survey": "evaluation_demo.survey",
        "evaluation.disclosure": "evaluation.stats.disclosure",
        "evaluation.disclosure_linked": "evaluation.stats.disclosure_linked",
        "evaluation.employment_gap": "evaluation.stats.employment_gap",
        "evaluation.gap_publication": "evaluation.publish.gap_publication",
        "evaluation.impact": "evaluation.stats.impact",
        "evaluation.incidence": "evaluation.stats.incidence",
        "evaluation.labels": "evaluation.referential.labels",
        "evaluation.monitoring": "evaluation.stats.monitoring",
        "evaluation.plan": "evaluation.referential.plan",
        "evaluation.reports": "evaluation.batch.runner",
        "evaluation.runplan": "evaluation.batch.runplan",
        "evaluation.survey": "evaluation.stats.survey",
        "evaluation.survival_inputs": "evaluation.stats.survival_inputs",
        "evaluation.tables": "evaluation.present.tables",
        "evaluation.targets": "evaluation.stats.targets",
        "evaluation.template": "evaluation.intake.template",
        "evaluation.territories": "evaluation.referential.territories",
        "evaluation.views": "evaluation.present.engagement",
        "evaluation.views_annual": "evaluation.present.annual",
        "evaluation.views_cohort": "evaluation.present.cohort",
        "evaluation.views_impact": "evaluation.present.impact",
        "evaluation.views_survey": "evaluation.present.survey",
        "evaluation.views_synthesis": "evaluation.present.synthesis",
    }
)


class _LegacyNames(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old name and hands back the new module itself (one module object, two names)."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(MOVED[spec.name])
        self._real_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The import system has set the alias' spec on the module: give it its own back.
        module.__spec__ = self._real_spec


def install() -> None:
    """Make the old names importable (once per process)."""
    if not any(isinstance(finder, _LegacyNames) for finder in sys.meta_path):
        sys.meta_path.append(_LegacyNames())
