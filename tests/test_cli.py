"""The README's main command, and the front page it lives on."""

import re
import subprocess
import sys
from pathlib import Path

from huggingface_hub import DatasetCard

from instruction_datasets import builder_class
from instruction_datasets.loading import PROJECT_ROOT, available_scripts


def test_demo_prints_every_config_and_split_and_a_streamed_row(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "instruction_datasets", "demo"],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # the demo must not depend on the working directory
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for script in available_scripts():
        for config in builder_class(script).BUILDER_CONFIGS:
            assert f"== {script} / {config.name} " in out
    assert "  train: 5 rows; first row:" in out
    # The samples are local files: the demo says they were not checked against the Hub (a download names its commit).
    assert out.count("\n  source: local files, not checked against the Hub\n") == len(re.findall("^== ", out, re.M))
    assert out.count("streamed the first") == sum(
        len(builder_class(script).BUILDER_CONFIGS) for script in available_scripts()
    )


def test_infos_check_passes_on_the_committed_file():
    result = subprocess.run(
        [sys.executable, "-m", "instruction_datasets", "infos", "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_readme_front_matter_is_a_dataset_card():
    card = DatasetCard.load(PROJECT_ROOT / "README.md")
    data = card.data.to_dict()
    assert data["license"] == "other" and data["license_name"]
    assert {"en", "zh"} <= set(data["language"])
    assert "text-generation" in data["task_categories"]
    assert data["pretty_name"]
    assert data["tags"]


def test_ci_runs_the_readme_test_command():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- test-command -->\s*```(?:sh|bash)?\n(.+?)\n```", readme)
    assert match, "README must show the test command in the block after <!-- test-command -->"
    ci = Path(PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert match.group(1).strip() in ci
