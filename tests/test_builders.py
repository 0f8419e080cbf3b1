"""One harness for every builder and config: declare what must hold, and let the harness check it.

Adding a config adds a line to EXPECTED_SPLITS in helpers.py (the row counts of its bundled samples), no test
code.
"""

import datasets
import pytest
from helpers import EXPECTED_SPLITS, RUNS_SCRIPTS

from instruction_datasets import builder_class, load, script_path
from instruction_datasets.loading import available_scripts, sample_dir

CASES = [pytest.param(script, config, id=f"{script}-{config}") for script, config in EXPECTED_SPLITS]


def rows(dataset) -> list[dict]:
    return list(dataset)


def test_every_config_has_expectations():
    declared = {
        (script, config.name) for script in available_scripts() for config in builder_class(script).BUILDER_CONFIGS
    }
    assert declared == set(EXPECTED_SPLITS)


@pytest.mark.parametrize(("script", "config"), CASES)
def test_splits_rows_and_features(script, config, cache_dir):
    dataset_dict = load(script, config, data_dir=sample_dir(script, config), cache_dir=cache_dir)
    assert isinstance(dataset_dict, datasets.DatasetDict)
    assert {split: ds.num_rows for split, ds in dataset_dict.items()} == EXPECTED_SPLITS[(script, config)]
    expected_features = builder_class(script)(config_name=config, cache_dir=cache_dir).info.features
    for split, dataset in dataset_dict.items():
        assert dataset.features == expected_features, split
        for row in dataset:
            assert row["messages"] == [
                {"role": "user", "content": row["prompt"]},
                {"role": "assistant", "content": row["response"]},
            ]


@pytest.mark.parametrize(("script", "config"), CASES)
def test_streaming_gives_the_same_rows_in_the_same_order(script, config, cache_dir):
    data_dir = sample_dir(script, config)
    plain = load(script, config, data_dir=data_dir, cache_dir=cache_dir)
    streamed = load(script, config, data_dir=data_dir, streaming=True)
    assert isinstance(streamed, datasets.IterableDatasetDict)
    assert list(streamed) == list(plain)
    for split in plain:
        assert rows(streamed[split]) == rows(plain[split]), split


@pytest.mark.parametrize(("script", "config"), CASES)
def test_one_split_gives_one_dataset(script, config, cache_dir):
    data_dir = sample_dir(script, config)
    split = next(iter(EXPECTED_SPLITS[(script, config)]))
    plain = load(script, config, split=split, data_dir=data_dir, cache_dir=cache_dir)
    streamed = load(script, config, split=split, data_dir=data_dir, streaming=True)
    assert isinstance(plain, datasets.Dataset)
    assert isinstance(streamed, datasets.IterableDataset)
    assert rows(streamed) == rows(plain)
    assert plain.num_rows == EXPECTED_SPLITS[(script, config)][split]


@pytest.mark.parametrize(("script", "config"), CASES)
def test_script_path_and_module_name_load_the_same(script, config, cache_dir, tmp_path):
    data_dir = sample_dir(script, config)
    by_name = load(script, config, data_dir=data_dir, cache_dir=cache_dir)
    by_path = load(str(script_path(script)), config, data_dir=data_dir, cache_dir=tmp_path / "other-cache")
    for split in by_name:
        assert rows(by_path[split]) == rows(by_name[split])


@pytest.mark.parametrize(("script", "config"), CASES)
def test_load_dataset_on_the_script(script, config, cache_dir, tmp_path):
    """On 3.x `load_dataset(script)` gives exactly what `load()` gives; 4.x and later refuse scripts."""
    data_dir = sample_dir(script, config)
    ours = load(script, config, data_dir=data_dir, cache_dir=cache_dir)
    path = str(script_path(script))
    if not RUNS_SCRIPTS:
        print(f"datasets {datasets.__version__} has no script support: checking that it refuses {path}")
        with pytest.raises(RuntimeError, match="Dataset scripts are no longer supported"):
            datasets.load_dataset(path, config, data_dir=str(data_dir), cache_dir=str(tmp_path / "theirs"))
        return
    theirs = datasets.load_dataset(
        path, config, data_dir=str(data_dir), cache_dir=str(tmp_path / "theirs"), trust_remote_code=True
    )
    assert list(theirs) == list(ours)
    for split in ours:
        assert theirs[split].features == ours[split].features
        assert rows(theirs[split]) == rows(ours[split]), split
    theirs_streamed = datasets.load_dataset(
        path, config, data_dir=str(data_dir), streaming=True, trust_remote_code=True
    )
    for split in ours:
        assert rows(theirs_streamed[split]) == rows(ours[split]), split


def test_default_config_is_used_when_no_name_is_given(cache_dir):
    dataset_dict = load(
        "align_anything_instruction", data_dir=sample_dir("align_anything_instruction", "en"), cache_dir=cache_dir
    )
    assert dataset_dict["train"].info.config_name == "en"


def test_unknown_script_names_the_choices():
    with pytest.raises(FileNotFoundError, match="align_anything_instruction"):
        load("no_such_dataset")
