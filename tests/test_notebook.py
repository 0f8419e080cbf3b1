"""examples/quickstart.ipynb runs top to bottom in a real Jupyter kernel, so it cannot rot.

The notebook formats `messages` with transformers' `apply_chat_template`, so this runs in the `clients` session
(`nox -s clients`), beside the other tests that need transformers; the main test sessions skip it. What they check
instead, without running it, is that the notebook does what the README says it does (tests/test_docs.py).
"""

import json
import re

import pytest

pytestmark = pytest.mark.clients
_NEEDS = "the notebook formats chats with transformers: run nox -s clients"
pytest.importorskip("transformers", reason=_NEEDS)
pytest.importorskip("tokenizers", reason=_NEEDS)

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from instruction_datasets.loading import PROJECT_ROOT, load, sample_dir  # noqa: E402

#: A cell the test adds at the end: the figures the notebook drew its picture from, as `stats --json` writes them.
FIGURES_CELL = 'import json\nprint("figures:", json.dumps({k: v for k, v in figures.items() if k != "lengths"}))'


def test_quickstart_notebook_runs_formats_a_row_and_shows_the_readme_picture(tmp_path, monkeypatch):
    # The kernel inherits both: transformers must not try to download, and the loads prepare into this test's cache.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    notebook = nbformat.read(PROJECT_ROOT / "examples" / "quickstart.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(FIGURES_CELL))
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    text = "".join(output.get("text", "") for output in outputs if output.get("name") == "stdout")

    assert "2 red-team rows; 15 rows without them" in text
    # The row the notebook formats, through its chat template: each turn's marker, its text verbatim, `<|end|>`.
    alpha = sample_dir("instruction_tuning_alpha", "all")
    row = load("instruction_tuning_alpha", "all", split="train", data_dir=alpha, cache_dir=tmp_path / "cache").filter(
        lambda row: row["category"] != "harmless"
    )[0]
    chat = f"<|user|>\n{row['prompt']}<|end|>\n<|assistant|>\n{row['response']}<|end|>\n"
    assert f"{chat}\n" in text
    (count,) = re.findall(r"^(\d+) tokens$", text, flags=re.M)
    assert 6 <= int(count) < len(chat)  # 4 markers and some text, in fewer tokens than characters
    assert f"<|user|>\n{row['prompt']}<|end|>\n<|assistant|>\n\n" in text  # the generation prompt

    assert any("image/png" in output.get("data", {}) for output in outputs)
    assert (tmp_path / "quickstart_stats.png").read_bytes().startswith(b"\x89PNG")
    (figures,) = re.findall(r"^figures: (.*)$", text, flags=re.M)
    committed = json.loads((PROJECT_ROOT / "docs" / "samples_alpha_stats.json").read_text(encoding="utf-8"))
    assert json.loads(figures) == committed  # the README's picture (docs/), drawn from the same figures
