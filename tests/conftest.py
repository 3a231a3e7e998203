"""Shared fixtures: small hand-made referentials whose audit findings are obvious."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from evaluation.config import PLAN_DIR

#: A two-priority plan with two sheets; every figure consistent, so its audit is empty.
MINI_PLAN: dict[str, Any] = {
    "title": "Plan miniature",
    "period": {"start": 2018, "end": 2021},
    "headline": {"qpv_employment_rate_pct": 44, "comparator_employment_rate_pct": 59, "gap_pp": 15},
    "announced": {
        "engagements": {"value": 2, "source": "2 engagements"},
        "priorities": {"value": 2, "source": "2 priorités"},
        "indicators_in_every_engagement": {"value": 2, "source": "indicateurs"},
    },
    "priorities": [
        {
            "id": "P1",
            "title": "Impliquer l'entreprise",
            "toc_title": "Impliquer l’entreprise",
            "intro_rank": 1,
            "intro_title": "Impliquer l'entreprise",
            "announced_engagements": 1,
            "listed_engagements": [{"ref": "1", "title": "Clause d'insertion"}],
            "source": "1 engagement",
        },
        {
            "id": "P2",
            "title": "Développer des initiatives",
            "toc_title": "Développer des initiatives",
            "intro_rank": 2,
            "intro_title": "Développer des initiatives",
            "announced_engagements": 1,
            "listed_engagements": [{"ref": "2", "title": "Emplois francs"}],
            "source": "1 engagement",
        },
    ],
    "transversal": {"title": "Gouvernance", "announced_engagements": 0, "listed_engagements": [], "source": "x"},
    "toc": [
        {"ref": "P1", "page": 1, "title": "Impliquer l'entreprise"},
        {"ref": "1", "page": 2, "title": "Clause d’insertion"},
        {"ref": "P2", "page": 3, "title": "Développer des initiatives"},
        {"ref": "2", "page": 4, "title": "Emplois francs"},
    ],
    "arithmetic": [
        {"id": "gap", "engagement": None, "label": "Écart", "stated": 15, "terms": [59, -44], "source": "15 points"},
    ],
}


def mini_sheet(sheet_id: str, title: str, priority: str, total: float, years: list[float]) -> dict[str, Any]:
    return {
        "id": sheet_id,
        "number": sheet_id,
        "title": title,
        "priority": priority,
        "parent": None,
        "objectives": ["Objectif"],
        "target_public": [],
        "territories": [],
        "pilot": None,
        "partners": [],
        "milestones": [{"date": "2018-12", "end": None, "label": "Étape", "source": "Décembre 2018 : étape"}],
        "budget": {
            "total_cost_eur": total,
            "total_cost_source": "x euros",
            "mel_financing_eur": dict(zip([2018, 2019, 2020, 2021], years, strict=True)),
            "mel_financing_source": "...",
            "mel_financing_label": "Financement MEL",
            "mel_total": None,
            "cofinancing": [],
            "envelopes": [],
            "notes": [],
        },
        "indicators": [
            {
                "id": f"{sheet_id}.1",
                "label": "Bénéficiaires",
                "unit": "bénéficiaires",
                "measure": "count",
                "direction": "increase",
                "cumulation": "per_year",
                "baseline": {"value": 300, "year": None},
                "target": {"value": 400, "year": 2021, "year_stated": False},
                "section": "results",
                "source": "Passer de 300 à 400",
                "note": None,
            }
        ],
    }


MINI_SHEETS = {
    "1": mini_sheet("1", "Clause d'insertion", "P1", 280000, [70000, 70000, 70000, 70000]),
    "2": mini_sheet("2", "Emplois francs", "P2", 15000, [15000, 0, 0, 0]),
}


@pytest.fixture
def make_plan(tmp_path: Path) -> Callable[..., Path]:
    """Write a mini referential, after ``edit(plan, sheets)`` changes it, and return its folder."""

    def build(edit: Callable[[dict, dict], None] | None = None) -> Path:
        plan = copy.deepcopy(MINI_PLAN)
        sheets = copy.deepcopy(MINI_SHEETS)
        if edit is not None:
            edit(plan, sheets)
        folder = tmp_path / "plan"
        (folder / "sheets").mkdir(parents=True)
        (folder / "plan.yaml").write_text(yaml.safe_dump(plan, allow_unicode=True, sort_keys=False), encoding="utf-8")
        for sheet_id, sheet in sheets.items():
            (folder / "sheets" / f"{sheet_id}.yaml").write_text(
                yaml.safe_dump(sheet, allow_unicode=True, sort_keys=False), encoding="utf-8"
            )
        return folder

    return build


@pytest.fixture(scope="session")
def plan_text() -> str:
    return (PLAN_DIR / "source_plan_2018_2021.txt").read_text(encoding="utf-8")
