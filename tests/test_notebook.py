"""examples/quickstart.ipynb runs top to bottom in a real Jupyter kernel, so it cannot rot."""

import nbformat
from nbclient import NotebookClient

from instruction_datasets.loading import PROJECT_ROOT


def test_quickstart_notebook_runs_and_shows_the_picture(tmp_path):
    notebook = nbformat.read(PROJECT_ROOT / "examples" / "quickstart.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    text = "".join(output.get("text", "") for output in outputs)
    assert "2 red-team rows; 15 rows without them" in text
    assert "<|user|>" in text and "<|assistant|>" in text
    assert any("image/png" in output.get("data", {}) for output in outputs)
    assert (tmp_path / "quickstart_stats.png").is_file()
