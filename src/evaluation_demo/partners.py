"""Who reports the values of each engagement in the SYNTHETIC demo: plausible partner names, invented attribution.

The ``source`` column of a monitoring row names the partner of its engagement, whether the value
is drawn by scenario (:mod:`evaluation_demo.monitoring`) or counted in the synthetic cohort records
(:mod:`evaluation_demo.cohort_indicators`): both read :data:`SOURCES` here. **The attribution is
synthetic**: it must not be quoted as who reports what in the MEL plan.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["SOURCES"]

#: The partner who reports an engagement's values (plausible names, synthetic attribution).
SOURCES = MappingProxyType(
    {
        "1": "MEL - facilitateurs clause d'insertion",
        "2": "Pôle emploi",
        "3": "CCI Grand Lille",
        "4": "PDEC",
        "4a": "MEL - service emploi",
        "5": "Fabrique MEL Entreprendre (opérateurs)",
        "5a": "Anis (opérateur)",
        "5b": "MEL - service développement économique",
        "5c": "Ville de Lille",
        "6": "Comité local Territoire zéro chômeur",
        "7": "Lille's Agency",
        "8": "Éducation nationale",
        "9": "Mission locale",
        "10": "Opérateurs (Nes & Cité, Sport dans la Ville)",
        "11": "Opérateur mobilité (marché public)",
        "12": "MEL - projet EYES",
        "13": "MEL - service renouvellement urbain",
        "14": "MEL - service développement économique",
        "15": "MEL - service développement économique",
        "16": "MEL - service emploi",
        "17": "MEL - marketing territorial",
        "gouvernance": "MEL - service emploi",
        "evaluation": "MEL - mission évaluation",
    }
)
_DEFAULT_SOURCE = "MEL - service emploi"
