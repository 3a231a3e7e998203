"""The package's layers (issue 13): each sub-package imports only from the layers below it.

    base (config, errors, io, formatting, cache) < referential < intake < stats < publish < present < batch < cli

so that a newcomer reads the tree as the architecture: the statistics never depend on how they are
rendered, the rendering never on how reports are run. Checked on the source (every import statement,
also inside functions), and on a planted upward import so that the check is seen to fail.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import evaluation
from evaluation.config import ROOT

ORDER = ("base", "referential", "intake", "stats", "publish", "present", "batch", "cli")
PACKAGE = Path(evaluation.__file__).parent


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "evaluation":
        return None
    if len(parts) > 1 and parts[1] in ORDER:
        return parts[1]
    return "base"


def _upward_imports(module: str, source: str) -> list[str]:
    own = _layer(module)
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            layer = _layer(name)
            if layer is not None and ORDER.index(layer) > ORDER.index(own):
                found.append(name)
                break
    return found


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts).removesuffix(".__init__")
        if name not in ("evaluation", "evaluation._legacy"):  # the package root wires the layers together
            out.append((name, path))
    return out


def test_every_module_imports_only_from_lower_layers():
    offences = {name: _upward_imports(name, path.read_text(encoding="utf-8")) for name, path in _modules()}
    assert {k: v for k, v in offences.items() if v} == {}


def test_every_module_is_in_a_layer_folder_or_the_base():
    base = {"cli", "config", "errors", "io", "formatting", "cache", "_imports"}
    loose = [n for n, _ in _modules() if n.count(".") == 1 and n.split(".")[1] not in base | set(ORDER)]
    assert loose == []


def test_an_upward_import_is_seen():
    source = "def f():\n    from evaluation.present.blocks import Html\n"
    assert _upward_imports("evaluation.stats.cohorts", source) == ["evaluation.present.blocks"]
    assert _upward_imports("evaluation.present.annual", "import evaluation.stats.cohorts\n") == []


def test_the_demo_generator_is_not_in_the_runtime_package():
    """Reports read data/demo/; the generator (evaluation_demo) is never imported by evaluation."""
    for name, path in _modules():
        imported = [
            n.module if isinstance(n, ast.ImportFrom) else a.name
            for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(n, ast.Import | ast.ImportFrom)
            for a in (n.names if isinstance(n, ast.Import) else [n])
        ]
        assert not any(str(m).startswith("evaluation_demo") for m in imported), name


def _readme_tree_sections() -> dict[str, str]:
    """The README's annotated tree, cut into the text of each package (``""``: the base modules)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tree = readme.split("## Folders", 1)[1].split("```", 2)[1]
    library = tree.split("src/evaluation/ ", 1)[1].split("\nsrc/evaluation_demo/", 1)[0]
    sections: dict[str, str] = {"": ""}
    current = ""
    for line in library.splitlines():
        folder = re.match(r"^  ([a-z_]+)/", line)
        if folder:
            current = folder.group(1)
            sections.setdefault(current, "")
        elif re.match(r"^  \w+\.py", line):  # a base module (cli.py after batch/)
            current = ""
        sections[current] += line + "\n"
    return sections


def test_the_readme_tree_names_every_module_where_it_lives():
    """A newcomer finds each module in the README's tree, under its own folder (issue 13)."""
    sections = _readme_tree_sections()
    missing = []
    for name, path in _modules():
        parts = name.split(".")[1:]
        if path.name == "__init__.py" or not parts:
            continue
        package = parts[0] if len(parts) > 1 else ""
        if not re.search(rf"(?<![\w.]){re.escape(path.name)}(?!\w)", sections.get(package, "")):
            missing.append(f"{package or 'src/evaluation'}/{path.name}")
    assert missing == []


def test_the_readme_tree_check_sees_a_missing_module():
    sections = _readme_tree_sections()
    assert re.search(r"(?<![\w.])kaplan_meier\.py(?!\w)", sections["stats"])
    assert not re.search(r"(?<![\w.])kaplan_meier\.py(?!\w)", sections["intake"])
