"""Adding a dataset is one dataset's worth of work: CONTRIBUTING's "A new dataset", followed in a copy of the project.

The copy gets a minimal third JSON Lines dataset (a script, its two sample files and its card words) and the one
line of `pyproject.toml` a wheel needs; no package module is edited. Its config is named `en`, as one of
Align-Anything's is: config names may repeat across datasets. Then every command and `load()` must serve it, in
fresh processes that find the scripts as a user's would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from helpers import PROJECT_ROOT, RUNS_SCRIPTS, guard_env

NAME = "tiny_chat"

SCRIPT = '''"""Tiny Chat: questions and answers, the smallest dataset the kit reads."""

import dataclasses

import datasets

from ._instruction_kit import MESSAGES, HubConfig, HubJsonLinesBuilder


class TinyChatFormatError(ValueError):
    """A line of a file is not a question/answer object."""


class TinyChatIntegrityError(ValueError):
    """A file was not read whole, or its bytes are not the published ones."""


@dataclasses.dataclass
class TinyChatConfig(HubConfig):
    """One edition of Tiny Chat."""


class TinyChat(HubJsonLinesBuilder):
    """Each line's question is the prompt and its answer the response."""

    PRETTY_NAME = "Tiny Chat"
    CARD_WORDS = "tiny_chat"
    DESCRIPTION = "Tiny Chat: questions, each with an answer."
    HOMEPAGE = "https://example.org/tiny-chat"
    LICENSE = "cc0-1.0"
    CITATION = ""
    FEATURES = datasets.Features(
        {"prompt": datasets.Value("string"), "response": datasets.Value("string"), "messages": MESSAGES}
    )
    SPLIT_FILES = {datasets.Split.TRAIN: "data/train.jsonl", datasets.Split.TEST: "data/test.jsonl"}
    KEYS = ("question", "answer")
    FormatError, IntegrityError = TinyChatFormatError, TinyChatIntegrityError
    VERSION = datasets.Version("1.0.0")
    BUILDER_CONFIG_CLASS = TinyChatConfig
    BUILDER_CONFIGS = [
        TinyChatConfig(name="en", version=VERSION, description="English.", hub_repo="example/tiny-chat", language="en")
    ]
    DEFAULT_CONFIG_NAME = "en"

    def columns(self, values):
        return {"prompt": values["question"], "response": values["answer"]}
'''

CARD_WORDS = """summary = "Questions, each with one answer, for trying a new dataset."
curated_by = "The project's tests"
repository = "https://example.org/tiny-chat"
producers = "The test wrote every row."
licence = "CC0 1.0: no rights reserved."
direct_use = "Trying the loaders."
out_of_scope = "Training: there are four rows."
recommendations = "Read all four rows."
how_made = ["Each line of `data/<split>.jsonl` is one row."]

[configs]
en = "English questions with answers."

[columns]
prompt = "The question."
response = "The answer."
messages = "The question and the answer as a conversation."

[[risks]]
text = "Four rows say little."
"""

ROWS = {
    "train": [("What is 2 + 2?", "4"), ("Name a colour.", "Blue."), ("Say hello in French.", "Bonjour.")],
    "test": [("What is the capital of Italy?", "Rome.")],
}


def expected(split: str) -> list[dict]:
    return [
        {
            "prompt": question,
            "response": answer,
            "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}],
        }
        for question, answer in ROWS[split]
    ]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project with the new dataset added as CONTRIBUTING says, and its infos regenerated."""
    root = tmp_path_factory.mktemp("project")
    for path in PROJECT_ROOT.glob("*.py"):
        if path.name != "noxfile.py":
            shutil.copy(path, root / path.name)
    for name in ("pyproject.toml", "README.md", "dataset_infos.json"):
        shutil.copy(PROJECT_ROOT / name, root / name)
    shutil.copytree(
        PROJECT_ROOT / "instruction_datasets",
        root / "instruction_datasets",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    # Step 1: the script, beside the others.
    (root / f"{NAME}.py").write_text(SCRIPT, encoding="utf-8")
    # Step 2: the wheel installs it (pyproject.toml is no package module).
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    modules = tomllib.loads(pyproject)["tool"]["setuptools"]["py-modules"]
    listed = "py-modules = [" + ", ".join(f'"{m}"' for m in modules) + "]"
    assert listed in pyproject
    (root / "pyproject.toml").write_text(
        pyproject.replace(listed, "py-modules = [" + ", ".join(f'"{m}"' for m in [*modules, NAME]) + "]"),
        encoding="utf-8",
    )
    # Step 3: samples in the upstream layout.
    samples = root / "instruction_datasets" / "samples" / NAME / "data"
    samples.mkdir(parents=True)
    for split, rows in ROWS.items():
        lines = [json.dumps({"question": q, "answer": a}) for q, a in rows]
        (samples / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # Step 4: its card words.
    (root / "instruction_datasets" / "cards" / f"{NAME}.toml").write_text(CARD_WORDS, encoding="utf-8")
    # Step 5: dataset_infos.json.
    run(root, "-m", "instruction_datasets", "infos")
    return root


def run(root: Path, *argv: str) -> str:
    """Runs Python in the copy, offline and guarded, as a user's fresh process; returns its output."""
    env = {
        **guard_env(str(root)),
        "HF_HOME": str(root / "hf-home"),
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "PATH": os.environ.get("PATH", ""),
    }
    result = subprocess.run(
        [sys.executable, *argv], cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def samples(root: Path) -> Path:
    return root / "instruction_datasets" / "samples" / NAME


def test_the_package_finds_it_and_its_infos_keep_both_datasets_that_use_one_config_name(project):
    found = run(project, "-c", "from instruction_datasets import SCRIPTS; print(' '.join(SCRIPTS))").split()
    assert NAME in found and "align_anything_instruction" in found
    infos = json.loads((project / "dataset_infos.json").read_text(encoding="utf-8"))
    assert infos[f"{NAME}/en"]["builder_name"] == NAME
    assert infos["align_anything_instruction/en"]["builder_name"] == "align_anything_instruction"
    assert "en" not in infos  # each dataset's en is named by its script
    assert run(project, "-m", "instruction_datasets", "infos", "--check").strip().endswith("up to date")


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streaming"])
def test_load_gives_its_rows(project, streaming):
    code = (
        "import json, sys\nfrom instruction_datasets import load\n"
        f"ds = load({NAME!r}, 'en', data_dir={str(samples(project))!r}, streaming={streaming})\n"
        "print(json.dumps({split: list(ds[split]) for split in ('train', 'test')}))"
    )
    rows = json.loads(run(project, "-c", code).strip().splitlines()[-1])
    assert rows == {"train": expected("train"), "test": expected("test")}


@pytest.mark.skipif(not RUNS_SCRIPTS, reason="datasets 4+ does not run scripts from load_dataset")
def test_load_dataset_runs_its_script(project):
    code = (
        "import json, datasets\n"
        f"ds = datasets.load_dataset({str(project / (NAME + '.py'))!r}, 'en', data_dir={str(samples(project))!r}, "
        "trust_remote_code=True)\n"
        "print(json.dumps(list(ds['train'])))"
    )
    assert json.loads(run(project, "-c", code).strip().splitlines()[-1]) == expected("train")


def test_export_writes_its_rows_and_card_and_stats_and_demo_count_them(project, tmp_path):
    out = tmp_path / "export"
    run(
        project,
        "-m",
        "instruction_datasets",
        "export",
        NAME,
        "en",
        "--data-dir",
        str(samples(project)),
        "--out",
        str(out),
    )
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "# Dataset Card for Tiny Chat" in card and "license: cc0-1.0" in card
    for words in ("Questions, each with one answer", "English questions with answers.", "Four rows say little."):
        assert words in card
    code = (
        "import json, datasets\n"
        f"ds = datasets.load_dataset('parquet', data_files={{'train': {str(out)!r} + '/data/en/train-*.parquet'}})\n"
        "print(json.dumps(list(ds['train'])))"
    )
    assert json.loads(run(project, "-c", code).strip().splitlines()[-1]) == expected("train")
    stats = run(project, "-m", "instruction_datasets", "stats", NAME, "en", "--data-dir", str(samples(project)))
    assert re.search(r"^train +3 +0 +0 ", stats, re.MULTILINE) and re.search(r"^test +1 +0 +0 ", stats, re.MULTILINE)
    demo = run(project, "-m", "instruction_datasets", "demo")
    assert f"== {NAME} / en" in demo
