"""The exports in LLaMA-Factory's hands: its own SFT data pipeline (`llamafactory.data.get_dataset`) on exports of
the samples, with the entry the exported card gives, row by row.

The entry is read from the card ("Train with LLaMA-Factory"), with the folder's path in `hf_hub_url` as the card
tells a user with a copy on disk, and `subset` and `split` set for each config and split. A byte-level BPE tokenizer
trained on the samples and a tiny random Llama, saved to a folder (conftest's `model_dir`), stand in for the model.
The `vicuna` template ends the assistant's turn with the tokenizer's eos token and adds nothing after it, so each
row's labels must be -100 on the prompt, then exactly the response's tokens and the eos. `nox -s llamafactory`
installs LLaMA-Factory 0.9.5 and the releases it pins; every other session skips this module.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import io
import json
import sys
import types

import pytest

pytestmark = pytest.mark.llamafactory
_NEEDS = "needs LLaMA-Factory and its stack (torch, transformers): run nox -s llamafactory"
pytest.importorskip("torch", reason=_NEEDS)
pytest.importorskip("transformers", reason=_NEEDS)
pytest.importorskip("llamafactory", reason=_NEEDS)

import datasets  # noqa: E402
from helpers import EXPECTED_SPLITS, framework_recipes, generated  # noqa: E402

from instruction_datasets import card  # noqa: E402

#: The -100 of LLaMA-Factory's labels: no loss on this token.
IGNORE_INDEX = -100
#: The template the rows go through: the assistant's turn is its content, then the eos token, and nothing else.
TEMPLATE = "vicuna"
#: Every config and split of the samples; each runs on the full export and on one without empty responses.
CASES = [(script, config, split) for (script, config), splits in EXPECTED_SPLITS.items() for split in splits]
EXPORTS = ["full", "without_empty"]


def torchaudio_stub() -> types.ModuleType:
    """LLaMA-Factory 0.9.5's data module imports torchaudio, for audio alone; PyPI's torchaudio is a CUDA build that
    breaks next to a CPU torch. The stub has a `__spec__`: transformers asks `importlib.util.find_spec`."""
    stub = types.ModuleType("torchaudio")
    stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)

    def __getattr__(name):
        raise AttributeError(f"torchaudio is a stub in tests/test_llamafactory.py: no {name}")

    stub.__getattr__ = __getattr__
    return stub


@pytest.fixture(scope="module")
def llamafactory(own_cache):
    """LLaMA-Factory's `llamafactory.data` and `llamafactory.hparams`, imported with the torchaudio stub in place
    (for this module's tests only) when no torchaudio is installed."""
    with pytest.MonkeyPatch.context() as patch:
        if importlib.util.find_spec("torchaudio") is None:
            patch.setitem(sys.modules, "torchaudio", torchaudio_stub())
        from llamafactory import data, hparams, model

        yield types.SimpleNamespace(data=data, hparams=hparams, model=model)


@pytest.fixture(scope="module")
def exports(exported, exported_without_empty):
    return {"full": exported, "without_empty": exported_without_empty}


@pytest.fixture(scope="module")
def pipeline(llamafactory, model_dir, tmp_path_factory):
    """Runs LLaMA-Factory's SFT data pipeline on one `dataset_info.json` entry; returns the tokenized rows and the
    tokenizer it used. Each entry runs once per module."""
    done = {}

    def run(entry: dict):
        key = json.dumps(entry, sort_keys=True)
        if key not in done:
            dataset_dir = tmp_path_factory.mktemp("dataset-dir")
            (dataset_dir / "dataset_info.json").write_text(json.dumps({"rows": entry}), encoding="utf-8")
            model_args, data_args, training_args, *_ = llamafactory.hparams.get_train_args(
                {
                    "stage": "sft",
                    "do_train": True,
                    "finetuning_type": "full",
                    "model_name_or_path": str(model_dir),
                    "template": TEMPLATE,
                    "dataset": "rows",
                    "dataset_dir": str(dataset_dir),
                    "cutoff_len": 1_000_000,  # nothing cut: every label is checked
                    "overwrite_cache": True,
                    "output_dir": str(dataset_dir / "out"),
                    "report_to": "none",
                }
            )
            tokenizer = llamafactory.model.load_tokenizer(model_args)["tokenizer"]
            template = llamafactory.data.get_template_and_fix_tokenizer(tokenizer, data_args)
            with contextlib.redirect_stdout(io.StringIO()):  # it prints the first row
                module = llamafactory.data.get_dataset(
                    template, model_args, data_args, training_args, stage="sft", tokenizer=tokenizer
                )
            done[key] = module["train_dataset"], tokenizer
        return done[key]

    return run


def card_entry(folder, config: str, split: str) -> dict:
    """The card's LLaMA-Factory entry with the folder's path in `hf_hub_url`, for ``config`` and ``split``."""
    _, entry, _ = framework_recipes(generated(folder))
    assert entry["hf_hub_url"] == card.PLACEHOLDER  # the card says: for a copy on disk, put its path there
    entry = {**entry, "hf_hub_url": str(folder), "subset": config}
    if split != "train":  # LLaMA-Factory reads `train` unless told
        entry["split"] = split
    return entry


def supervised(labels: list[int]) -> tuple[int, list[int]]:
    """Where the labels stop being -100, and the labels from there."""
    start = next((index for index, label in enumerate(labels) if label != IGNORE_INDEX), len(labels))
    return start, labels[start:]


@pytest.mark.parametrize("kind", EXPORTS)
@pytest.mark.parametrize(("script", "config", "split"), CASES)
def test_every_row_is_labelled_with_exactly_its_response_and_the_eos(script, config, split, kind, exports, pipeline):
    folder = exports[kind][script]
    tokenized, tokenizer = pipeline(card_entry(folder, config, split))
    rows = datasets.load_dataset(str(folder), config, split=split)
    assert tokenized.num_rows == rows.num_rows > 0  # no row dropped
    for index, (row, example) in enumerate(zip(rows, tokenized, strict=True)):
        start, span = supervised(example["labels"])
        response = tokenizer.encode(row["response"], add_special_tokens=False)
        assert span == example["input_ids"][start:] == response + [tokenizer.eos_token_id], f"row {index}"
        assert tokenizer.decode(span[:-1]) == row["response"], f"row {index}"
        assert row["prompt"] in tokenizer.decode(example["input_ids"][:start]), f"row {index}: not in order"


def test_a_row_with_an_empty_response_is_trained_on_the_eos_alone(exports, pipeline):
    """The hazard the card warns of, in the full alpha export: LLaMA-Factory keeps the row and its one label is
    the eos, which teaches the model to stop without an answer."""
    folder = exports["full"]["instruction_tuning_alpha"]
    empty = 0
    for config in (config for script, config, _ in CASES if script == "instruction_tuning_alpha"):
        tokenized, tokenizer = pipeline(card_entry(folder, config, "train"))
        rows = datasets.load_dataset(str(folder), config, split="train")
        for row, example in zip(rows, tokenized, strict=True):
            if row["response"] == "":
                assert supervised(example["labels"])[1] == [tokenizer.eos_token_id]
                empty += 1
    assert empty == 3  # one in each of `all`, `part2` and `helpful`


@pytest.mark.parametrize(("script", "config", "split"), CASES)
def test_an_export_without_empty_responses_gives_every_row_response_tokens(script, config, split, exports, pipeline):
    folder = exports["without_empty"][script]
    tokenized, tokenizer = pipeline(card_entry(folder, config, split))
    assert "" not in datasets.load_dataset(str(folder), config, split=split)["response"]
    for index, labels in enumerate(tokenized["labels"]):
        assert len(supervised(labels)[1]) > 1, f"row {index}: the eos alone"


def test_the_entry_without_tags_fails_with_keyerror_from(exports, pipeline):
    """The pitfall the card states: without `tags`, LLaMA-Factory looks for `from`/`value`."""
    entry = card_entry(exports["full"]["instruction_tuning_alpha"], "part1", "train")
    del entry["tags"]
    with pytest.raises(KeyError, match="'from'"):
        pipeline(entry)
