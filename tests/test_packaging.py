"""Set-up files agree with each other: pyproject.toml, environment.yml, README.md and .ci/run."""

from __future__ import annotations

import re
import tomllib

import yaml

from evaluation.config import ROOT


def _requirements(specs: list[str]) -> dict[str, str]:
    parsed = {}
    for spec in specs:
        match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
        assert match, spec
        parsed[match.group(1).lower()] = match.group(2).replace(" ", "")
    return parsed


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = _requirements(project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip_section = [d for d in env["dependencies"] if isinstance(d, dict)][0]["pip"]
    assert pip_section[-1] == "-e ."
    listed = _requirements(conda)
    assert listed.pop("python") == "=3.11"
    assert listed.pop("pip") == ""
    assert listed == declared


def test_ci_runs_the_readme_test_command():
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines() if "pytest" in line]
    assert len(ci_lines) == 1
    assert ci_lines[0].strip() in (ROOT / "README.md").read_text(encoding="utf-8")


def test_design_card_packages_are_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = set(_requirements(project["dependencies"] + project["optional-dependencies"]["test"]))
    assert {"jupyterlab", "pandas", "numpy", "scipy", "seaborn", "papermill", "nbconvert", "pytest", "nbval"} <= names
