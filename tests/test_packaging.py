"""Installed from a wheel: the samples come with the package, and `infos` leaves site-packages alone. And the
package's modules form layers: no import runs back up.

The `package` nox session builds the real sdist and wheel and runs `demo` from the wheel in a fresh venv; these
tests check the same rules quickly, on a copy of the installed layout.
"""

import ast
import graphlib
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import guard_env

import instruction_datasets
from instruction_datasets.loading import SCRIPTS, kit_path, sample_dir, script_path


def test_samples_are_package_data():
    package = Path(instruction_datasets.__file__).resolve().parent
    for script in SCRIPTS:
        folder = sample_dir(script, "en")
        assert folder.is_relative_to(package / "samples"), folder
        assert any(path.is_file() for path in folder.rglob("*")), folder


def _installed_layout(tmp_path) -> Path:
    """What a wheel puts into site-packages: the package (samples inside) and the two scripts beside it."""
    site = tmp_path / "site-packages"
    package = Path(instruction_datasets.__file__).resolve().parent
    shutil.copytree(package, site / "instruction_datasets", ignore=shutil.ignore_patterns("__pycache__"))
    for script in SCRIPTS:
        shutil.copyfile(script_path(script), site / f"{script}.py")
    shutil.copyfile(kit_path(script_path(SCRIPTS[0])), site / "_instruction_kit.py")
    return site


def test_infos_refuses_to_write_outside_a_source_checkout(tmp_path):
    site = _installed_layout(tmp_path)
    for args in (["infos"], ["infos", "--check"]):
        run = subprocess.run(
            [sys.executable, "-m", "instruction_datasets", *args],
            cwd=tmp_path,
            env={**guard_env(str(site)), "HF_HOME": str(tmp_path / "hf"), "PATH": ""},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 2, run.stderr
        assert f"{site} is not a source checkout" in run.stderr
    assert sorted(path.name for path in site.iterdir()) == sorted(
        ["instruction_datasets", "_instruction_kit.py", *(f"{s}.py" for s in SCRIPTS)]
    )


def _package_imports() -> dict[str, set[str]]:
    """Each module of the package -> the package modules it imports, at the top or inside a function."""
    package = Path(instruction_datasets.__file__).resolve().parent
    modules = {path.stem for path in package.glob("*.py")}
    graph = {}
    for path in package.glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [node.module.split(".")[0]] if node.module else [alias.name for alias in node.names]
                imported |= {name for name in names if name in modules}
        graph[path.stem] = imported - {path.stem}
    return graph


def test_the_package_modules_form_layers_with_no_import_running_back_up():
    graph = _package_imports()
    try:
        layers = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as err:
        raise AssertionError(f"an import circle: {' -> '.join(err.args[1])}") from None
    assert layers.index("meta") < layers.index("loading") < layers.index("export") < layers.index("push")
    assert layers.index("layout") < layers.index("card") < layers.index("export")
    assert "export" not in graph["card"] and "push" not in graph["export"] and "stats" not in graph["provenance"]
