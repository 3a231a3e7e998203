"""Encoder's aid: check that every `source` string of the given sheet files occurs in the plan text.

Usage: python tools/check_sheet_sources.py data/plan/sheets/2.yaml [...]
(The package's own test suite does the same check on every sheet; this script needs only PyYAML.)
"""

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def norm(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u2013", "-").replace("\u2014", "-")
    text = text.replace("\u00a0", " ").replace("**", "")
    return re.sub(r"\s+", " ", text).strip().lower()


PLAN = norm((ROOT / "data/plan/source_plan_2018_2021.txt").read_text(encoding="utf-8"))


def walk(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            if str(key).endswith("source") and isinstance(value, str):
                yield f"{path}.{key}", value
            else:
                yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}[{i}]")


bad = 0
for name in sys.argv[1:]:
    data = yaml.safe_load(Path(name).read_text(encoding="utf-8"))
    for path, text in walk(data):
        if norm(text) not in PLAN:
            bad += 1
            print(f"{name}: {path}: not verbatim in the plan: {text!r}")
print(f"{bad} source(s) not found")
sys.exit(1 if bad else 0)
