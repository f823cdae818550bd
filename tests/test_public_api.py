"""The package's public API and its layering: a literal ``__all__`` whose names all resolve,
``import negoray`` without Ray, and the llm layer without the sim."""

import ast
import subprocess
import sys
from pathlib import Path

import negoray

ROOT = Path(negoray.__file__).parent


def _imported_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_all_is_a_literal_list_of_names_that_resolve():
    tree = ast.parse((ROOT / "__init__.py").read_text())
    literal = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                   and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets))
    assert isinstance(literal, ast.List) and all(isinstance(e, ast.Constant) for e in literal.elts)
    names = [e.value for e in literal.elts]
    assert len(names) == len(set(names)) and set(names) == set(negoray._WHERE)
    for name in names:
        assert getattr(negoray, name) is not None


def test_what_a_researcher_imports_is_exported():
    wanted = {"Experiment", "load_config", "ExperimentConfig", "write_report", "make_plan", "generate_v7",
              "generate_lewis", "v7_splits", "parse_move", "run_negotiation", "LLMClient", "SimModel"}
    assert wanted <= set(negoray.__all__)
    from negoray.compat import create_llm_fn
    assert negoray.create_llm_fn is create_llm_fn  # the original code's shims stay importable


def test_import_negoray_and_its_api_does_not_import_ray():
    names = [n for n in negoray.__all__ if n != "Experiment"]
    modules = _imported_after(f"import negoray\nfor n in {names!r}: getattr(negoray, n)")
    assert "ray" not in modules


def test_the_llm_layer_does_not_import_the_sim():
    modules = _imported_after("import negoray.llm.client, negoray.llm.factory, negoray.llm.health, negoray.llm.failover")
    assert not {m for m in modules if m.startswith("negoray.sim")}
