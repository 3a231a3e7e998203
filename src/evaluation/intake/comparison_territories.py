"""The comparison territories: their groups, their records, and their declaration (``territoires.yaml``).

``comparison/territoires.yaml`` declares each territory compared with the MEL's QPV (code, name,
group, source, caveats; the format is in :mod:`evaluation.intake.comparison`). :func:`_read_declaration`
reads it as hostile input (:func:`~evaluation.intake.yaml_input.read_yaml`) and reports every problem
of it at once, each with its line and key, before building the :class:`ComparisonTerritory` records.
Its own module: the declaration is checked apart from the series files, which
:mod:`evaluation.intake.comparison` reads against it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from evaluation.intake.cells import _blank, _fold
from evaluation.intake.problems import Phrase, Problem, did_you_mean
from evaluation.intake.yaml_input import DescriptionReader, node_lines, read_yaml

#: The declaration file of the ``comparison/`` folder.
DECLARATION_FILE = "territoires.yaml"
#: Largest declaration read: a line per field of a few hundred territories.
_MAX_YAML_BYTES = 1_000_000
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,39}")
_TOP_KEYS = ("synthetic", "description", "territories")
_TERRITORY_KEYS = ("code", "name", "group", "source", "caveats")
_REQUIRED_KEYS = ("code", "name", "group", "source")


class GroupRole(StrEnum):
    """What a group's territories are in the estimates of :mod:`evaluation.stats.impact`."""

    #: Treated units of the difference-in-differences (the MEL's QPV, one by one).
    TREATED = "treated"
    #: The single treated unit of the synthetic control (the 26 QPV together).
    TREATED_AGGREGATE = "treated_aggregate"
    #: Comparison units: difference-in-differences controls and synthetic-control donors.
    DONOR = "donor"
    #: Shown for reference only, never a comparison unit.
    REFERENCE = "reference"


@dataclass(frozen=True)
class ComparisonGroup:
    """A group of territories: its French ``label``, its ``role`` and the French names accepted for it."""

    label: str
    role: GroupRole
    aliases: tuple[str, ...] = ()


#: The groups of comparison territories (closed list); ``aliases`` are folded (see :func:`_fold`).
COMPARISON_GROUPS: Mapping[str, ComparisonGroup] = MappingProxyType(
    {
        "qpv_mel": ComparisonGroup("QPV de la MEL (un par un)", GroupRole.TREATED, ("qpv mel", "qpv de la mel")),
        "qpv_mel_ensemble": ComparisonGroup(
            "QPV de la MEL (ensemble)",
            GroupRole.TREATED_AGGREGATE,
            ("qpv mel ensemble", "ensemble des qpv de la mel", "qpv de la mel ensemble"),
        ),
        "qpv_metropoles": ComparisonGroup(
            "QPV d'une autre métropole",
            GroupRole.DONOR,
            ("qpv d'autres metropoles", "qpv d'une autre metropole", "qpv autres metropoles", "autres metropoles"),
        ),
        "veille_active_mel": ComparisonGroup(
            "Quartiers de veille active de la MEL",
            GroupRole.DONOR,
            ("quartiers de veille active", "veille active", "quartiers de veille active de la mel"),
        ),
        "france_qpv": ComparisonGroup(
            "France, ensemble des QPV", GroupRole.REFERENCE, ("france qpv", "ensemble des qpv de france")
        ),
        "france_hors_qpv": ComparisonGroup("France hors QPV", GroupRole.REFERENCE, ("france hors qpv",)),
    }
)


@dataclass(frozen=True)
class ComparisonTerritory:
    """A territory of the series: its code, French name, group (:data:`COMPARISON_GROUPS`), source.

    ``declared``: False for a QPV of the MEL known from the reference list without a declaration.
    """

    code: str
    name: str
    group: str
    source: str
    caveats: str | None = None
    declared: bool = True

    @property
    def role(self) -> GroupRole:
        return COMPARISON_GROUPS[self.group].role


# --------------------------------------------------------------------------------------------------
# The declaration (territoires.yaml)


def _parse_group(value: object) -> str:
    """A code of :data:`COMPARISON_GROUPS`, its label or one of its French names (any case or accent)."""
    if _blank(value):
        raise ValueError("missing")
    folded = _fold(str(value))
    for code, group in COMPARISON_GROUPS.items():
        if folded in (_fold(code), _fold(group.label), *group.aliases):
            return code
    raise ValueError("unknown group")


def _suggest_group(value: object) -> Phrase:
    options = {_fold(code): code for code in COMPARISON_GROUPS}
    for code, group in COMPARISON_GROUPS.items():
        options.update({alias: code for alias in group.aliases})
    close = difflib.get_close_matches(_fold(str(value)), list(options), n=1, cutoff=0.5)
    if close:
        return did_you_mean(options[close[0]])
    return _one_of(COMPARISON_GROUPS, "groupes")


def _one_of(codes: Iterable[str], what: str = "codes") -> Phrase:
    listed = ", ".join(codes)
    return Phrase(f"use one of {listed}", f"indiquer l'un des {what} {listed}")


def _read_yaml(path: Path) -> tuple[Any, dict[str, int], list[Problem]]:
    """The declaration's content and key lines, or a fatal problem (links, size, encoding, syntax, aliases)."""
    content, node, problems = read_yaml(
        path,
        _MAX_YAML_BYTES,
        Phrase(
            "it declares territories, not their series: check it",
            "il déclare les territoires, pas leurs séries : le vérifier",
        ),
        Phrase(
            "start with 'territories:' and one entry per territory",
            "commencer par « territories: » puis une entrée par territoire",
        ),
    )
    return (content, node_lines(node), []) if not problems else (None, {}, problems)


class _Declaration(DescriptionReader):
    """Reads ``territoires.yaml``, collecting every problem before building the records."""

    parent_line = True

    def __init__(self, path: Path, lines: dict[str, int], qpv_codes: frozenset[str]) -> None:
        super().__init__(path, lines)
        self.qpv_codes = qpv_codes

    def text(self, data: Mapping[str, Any], key: str, prefix: str, hint: Phrase) -> str | None:
        value = data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            missing = Phrase(f"'{key}' is missing", f"la clé « {key} » est absente")
            self.problem(f"{prefix}{key}" if key in data else prefix.rstrip("."), None, missing, hint)
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.problem(
                f"{prefix}{key}", None, Phrase(f"'{key}' is not a text", f"la clé « {key} » n'est pas un texte"), hint
            )
            return None
        return str(value).strip()

    def territory(self, item: object, index: int, seen: dict[str, int]) -> ComparisonTerritory | None:
        prefix = f"territories[{index}]."
        if not isinstance(item, Mapping):
            self.problem(
                prefix[:-1],
                None,
                Phrase("is not a mapping", "n'est pas un dictionnaire"),
                Phrase(
                    "write code:, name:, group: and source: under '- '",
                    "écrire code:, name:, group: et source: sous « - »",
                ),
            )
            return None
        before = len(self.problems)
        self.unknown_keys(item, _TERRITORY_KEYS, prefix)
        code = self.text(
            item,
            "code",
            prefix,
            Phrase(
                "give a code of letters, digits, _ or -, e.g. QPV_LYON",
                "indiquer un code fait de lettres, de chiffres, de _ ou de -, par exemple QPV_LYON",
            ),
        )
        if code is not None and not _CODE.fullmatch(code):
            self.problem(
                f"{prefix}code",
                code,
                Phrase("is not a valid code", "n'est pas un code valide"),
                Phrase(
                    "use 1 to 40 letters, digits, _ or -, e.g. QPV_LYON",
                    "utiliser de 1 à 40 lettres, chiffres, _ ou -, par exemple QPV_LYON",
                ),
            )
            code = None
        if code is not None:
            code = code.upper()
            if code in seen:
                self.problem(
                    f"{prefix}code",
                    code,
                    Phrase(
                        f"is declared twice (first at territories[{seen[code]}])",
                        f"est déclaré deux fois (première occurrence à territories[{seen[code]}])",
                    ),
                    Phrase("declare each territory once", "déclarer chaque territoire une seule fois"),
                )
            seen.setdefault(code, index)
        name = self.text(
            item,
            "name",
            prefix,
            Phrase(
                "give the territory's French name, e.g. QPV de la Métropole de Lyon",
                "indiquer le nom français du territoire, par exemple QPV de la Métropole de Lyon",
            ),
        )
        group_text = self.text(item, "group", prefix, _one_of(COMPARISON_GROUPS, "groupes"))
        group = None
        if group_text is not None:
            try:
                group = _parse_group(group_text)
            except ValueError:
                self.problem(
                    f"{prefix}group",
                    group_text,
                    Phrase(
                        "is not a group of comparison territories", "n'est pas un groupe de territoires de comparaison"
                    ),
                    _suggest_group(group_text),
                )
        source = self.text(
            item,
            "source",
            prefix,
            Phrase(
                "name where the figures come from, e.g. ONPV, INSEE recensement",
                "indiquer d'où viennent les chiffres, par exemple ONPV, INSEE recensement",
            ),
        )
        caveats = None
        if not _blank(item.get("caveats")):  # optional: absent or blank means none
            caveats = self.text(
                item, "caveats", prefix, Phrase("write the caveats as one text", "écrire les réserves en un seul texte")
            )
        if code is not None and group is not None:
            if group == "qpv_mel" and code not in self.qpv_codes:
                self.problem(
                    f"{prefix}group",
                    group_text,
                    Phrase(
                        f"is for the 26 QPV of the reference list, and {code} is not one of them",
                        f"est réservé aux 26 QPV de la liste de référence, et {code} n'en fait pas partie",
                    ),
                    Phrase(
                        "use qpv_mel_ensemble for the 26 together, or the QPV's code (e.g. QN05972M)",
                        "utiliser qpv_mel_ensemble pour les 26 ensemble, ou le code du QPV (par exemple QN05972M)",
                    ),
                )
            elif group != "qpv_mel" and code in self.qpv_codes:
                self.problem(
                    f"{prefix}group",
                    group_text,
                    Phrase(f"does not fit {code}, a QPV of the MEL", f"ne convient pas à {code}, un QPV de la MEL"),
                    Phrase(
                        "use qpv_mel for a QPV of the MEL (or leave it undeclared: the 26 are known)",
                        "utiliser qpv_mel pour un QPV de la MEL (ou ne pas le déclarer : les 26 sont connus)",
                    ),
                )
        if len(self.problems) > before or None in (code, name, group, source):
            return None
        return ComparisonTerritory(code, name, group, source, caveats)  # type: ignore[arg-type]


def _read_declaration(
    path: Path, qpv_codes: frozenset[str]
) -> tuple[list[ComparisonTerritory], bool, str | None, list[Problem], dict[str, int], bool]:
    """Territories, synthetic flag, description, problems, line of each declared code, and whether it was read."""
    content, lines, problems = _read_yaml(path)
    if content is None:
        return [], False, None, problems, {}, False
    reader = _Declaration(path, lines, qpv_codes)
    reader.unknown_keys(content, _TOP_KEYS, "")
    synthetic = content.get("synthetic", False)
    if not isinstance(synthetic, bool):
        reader.problem(
            "synthetic",
            synthetic,
            Phrase("is not true or false", "n'est ni true ni false"),
            Phrase("write synthetic: true or synthetic: false", "écrire synthetic: true ou synthetic: false"),
        )
        synthetic = False
    description = content.get("description")
    if description is not None and not isinstance(description, str):
        reader.problem(
            "description",
            None,
            Phrase("is not a text", "n'est pas un texte"),
            Phrase("write the description as one text", "écrire la description en un seul texte"),
        )
        description = None
    items = content.get("territories")
    territories: list[ComparisonTerritory] = []
    declared_lines: dict[str, int] = {}
    if not isinstance(items, list) or not items:
        reader.problem(
            "territories" if "territories" in content else "",
            None,
            Phrase(
                "'territories' must list the comparison territories",
                "la clé « territories » doit lister les territoires de comparaison",
            ),
            Phrase(
                "one entry per territory, each with code:, name:, group: and source:",
                "une entrée par territoire, chacune avec code:, name:, group: et source:",
            ),
        )
    else:
        seen: dict[str, int] = {}
        groups: dict[str, list[int]] = {}
        for index, item in enumerate(items):
            territory = reader.territory(item, index, seen)
            if territory is None:
                continue
            if territory.code in declared_lines:
                continue  # a second declaration of a code: reported, the first one kept
            groups.setdefault(territory.group, []).append(index)
            if territory.group == "qpv_mel_ensemble" and len(groups[territory.group]) > 1:
                reader.problem(
                    f"territories[{index}].group",
                    "qpv_mel_ensemble",
                    Phrase(
                        f"is already the group of territories[{groups[territory.group][0]}]",
                        f"est déjà le groupe de territories[{groups[territory.group][0]}]",
                    ),
                    Phrase(
                        "declare the 26 QPV of the MEL together once",
                        "déclarer une seule fois les 26 QPV de la MEL ensemble",
                    ),
                )
                continue
            territories.append(territory)
            declared_lines[territory.code] = lines.get(f"territories[{index}]", 0)
    return territories, synthetic, description, reader.problems, declared_lines, True
