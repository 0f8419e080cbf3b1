"""The training recipe where it is shown, and `--tokenizer` without `transformers` (no torch needed here).

tests/test_clients.py runs the recipes with TRL (nox -s clients).
"""

from __future__ import annotations

import json
import re
import sys

import pytest

from instruction_datasets import training
from instruction_datasets.cli import main
from instruction_datasets.loading import PROJECT_ROOT, sample_dir


def readme_blocks(section: str) -> list[str]:
    """The ```python blocks of one `## ` section of the README, as written."""
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, flags=re.DOTALL)


def test_notebook_and_readme_give_the_same_recipe_with_the_example_model():
    recipe, streaming_recipe = readme_blocks("Train with TRL")
    notebook = json.loads((PROJECT_ROOT / "examples" / "quickstart.ipynb").read_text(encoding="utf-8"))
    markdown = "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown")
    assert f"```python\n{recipe}```" in markdown
    for block in (recipe, streaming_recipe, "\n".join(training.card_section("en", "ORG/NAME"))):
        assert '.select_columns(["messages"])' in block
        assert f'model="{training.EXAMPLE_MODEL}"' in block


@pytest.mark.parametrize("command", ["stats", "export"])
def test_tokenizer_without_transformers_says_what_to_install(command, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "transformers", None)  # as if not installed: importing it fails
    out = tmp_path / "export"
    argv = [
        command,
        "instruction_tuning_alpha",
        "all",
        "--data-dir",
        str(sample_dir("instruction_tuning_alpha", "all")),
    ]
    argv += ["--tokenizer", "some/tokenizer", "--cache-dir", str(tmp_path / "cache")]
    argv += ["--out", str(out)] if command == "export" else []
    assert main(argv) == 2  # a known mistake: one line, exit status 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "error: --tokenizer: token lengths need the `transformers` package: pip install 'instruction_datasets[train]'\n"
    )
    assert not out.exists()  # nothing written
