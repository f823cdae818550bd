"""The layering, read from the source (ast): the machinery (evolution, runtime, results) imports no
task module and no game or sim, and only the runtime imports Ray."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "negoray"
MACHINERY = ("evolution", "runtime", "results")
TASK_MODULES = ("negoray.game", "negoray.sim", "negoray.tasks.negotiation", "negoray.tasks.classify")
"""What the machinery must not import (`negoray.tasks.base` and `negoray.tasks.registry` it may)."""


def _module(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every import in the file under ``root`` (the folder above the package),
    anywhere in it (functions, TYPE_CHECKING blocks too); ``from a import b`` yields ``a`` and
    ``a.b``; relative imports are resolved."""
    package = _module(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join([*package[:len(package) - node.level + 1]] + ([node.module] if node.module else [])) \
                if node.level else node.module or ""
            yield node.lineno, base
            yield from ((node.lineno, f"{base}.{a.name}") for a in node.names)


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def violations(folder: Path, forbidden: tuple[str, ...], root: Path = PACKAGE.parent) -> list[str]:
    return sorted({f"{path.relative_to(root)}:{line} imports {module}"
                   for path in folder.rglob("*.py") for line, module in imports(path, root)
                   if any(_within(module, f) for f in forbidden)})


@pytest.mark.parametrize("layer", MACHINERY)
def test_the_machinery_imports_no_task_module(layer):
    assert violations(PACKAGE / layer, TASK_MODULES) == []


def test_only_the_runtime_imports_ray():
    found = [v for v in violations(PACKAGE, ("ray",)) if not v.startswith("negoray/runtime/")]
    assert found == []


def test_the_check_sees_every_form_of_import(tmp_path):
    """The check can fail: plain, from, relative, nested and TYPE_CHECKING imports are all seen."""
    folder = tmp_path / "negoray" / "evolution"
    folder.mkdir(parents=True)
    (folder / "probe.py").write_text(
        "from typing import TYPE_CHECKING\nimport negoray.game.scenario\nfrom ..sim import model\n"
        "from negoray.tasks import classify\nif TYPE_CHECKING:\n    from negoray.tasks.negotiation.task import X\n"
        "def f():\n    import ray\n    from negoray.tasks import base, registry\n    from . import gating\n")
    found = [v.split(" imports ")[1] for v in violations(folder, TASK_MODULES, tmp_path)]
    assert found == ["negoray.game.scenario", "negoray.sim", "negoray.sim.model", "negoray.tasks.classify",
                     "negoray.tasks.negotiation.task", "negoray.tasks.negotiation.task.X"]
    assert violations(folder, ("ray",), tmp_path) == ["negoray/evolution/probe.py:8 imports ray"]
