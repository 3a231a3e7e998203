"""Set-up files agree with each other: pyproject.toml, environment.yml, README.md and .ci/run."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

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


def test_the_project_folder_is_found_from_a_checkout_or_from_the_working_folder(tmp_path):
    """An editable install finds the checkout beside the package; a regular install (the package in
    site-packages, no data beside it) finds the project from the working folder or a parent of it."""
    from evaluation.config import ROOT, project_root

    assert project_root() == ROOT == Path(__file__).resolve().parents[1]
    installed = tmp_path / "venv" / "lib" / "python3.11" / "site-packages" / "evaluation" / "config.py"
    installed.parent.mkdir(parents=True)
    project = tmp_path / "projet"
    (project / "data" / "plan").mkdir(parents=True)
    (project / "data" / "plan" / "plan.yaml").write_text("title: t\n", encoding="utf-8")
    (project / "notebooks").mkdir()
    assert project_root(installed, cwd=project / "notebooks") == project
    assert project_root(installed, cwd=project) == project
    # Nowhere: the place a checkout would be, so that the first read names the missing plan file.
    assert project_root(installed, cwd=tmp_path) == installed.resolve().parents[2]
    # A project others may write in (planted in a shared folder) is not used.
    project.chmod(0o777)
    assert project_root(installed, cwd=project / "notebooks") == installed.resolve().parents[2]
    project.chmod(0o755)
    assert project_root(installed, cwd=project / "notebooks") == project


def test_every_template_ships_in_the_wheel():
    """Every file under present/templates/ matches a package-data pattern of pyproject.toml, expanded
    from the package's folder as setuptools does (glob): a template in a folder the patterns do not
    reach would be left out of the wheel, and an installed `evaluation run` would fail on it."""
    package = ROOT / "src" / "evaluation"
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]["evaluation"]
    shipped = {path for pattern in patterns for path in package.glob(pattern) if path.is_file()}
    folder = package / "present" / "templates"
    templates = {path for path in folder.rglob("*") if path.is_file()}
    assert templates - shipped == set()
    # The templates `evaluation run` renders: the reports (nbconvert), the index and error pages (Jinja2).
    assert {
        "report/index.html.j2",
        "report/publication.css.j2",
        "pages/base.html.j2",
        "pages/index.html.j2",
        "pages/error.html.j2",
        "pages/notices.html.j2",
        "pages/pages.css.j2",
    } <= {path.relative_to(folder).as_posix() for path in templates}
