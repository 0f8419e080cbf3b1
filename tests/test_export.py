"""The script-free export: what `load_dataset(folder, config)` gives back on any `datasets` version."""

import subprocess
import sys

import datasets
import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard
from test_builders import EXPECTED_SPLITS

from instruction_datasets import builder_class, load
from instruction_datasets.export import export
from instruction_datasets.loading import declared_info, sample_dir
from instruction_datasets.push import push

SCRIPTS = sorted({script for script, _ in EXPECTED_SPLITS})
CASES = [pytest.param(script, config, id=f"{script}-{config}") for script, config in EXPECTED_SPLITS]


def rows(dataset):
    return list(dataset)


@pytest.mark.parametrize(("script", "config"), CASES)
def test_exported_config_loads_back_with_the_same_rows_and_features(script, config, exported, tmp_path):
    ours = load(script, config, data_dir=sample_dir(script, config), cache_dir=tmp_path / "ours")
    theirs = datasets.load_dataset(str(exported[script]), config, cache_dir=str(tmp_path / "theirs"))
    streamed = datasets.load_dataset(str(exported[script]), config, streaming=True)
    assert list(theirs) == list(ours)
    for split in ours:
        assert theirs[split].features == ours[split].features
        assert rows(theirs[split]) == rows(ours[split]), split
        assert rows(streamed[split]) == rows(ours[split]), split


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_exported_config_is_listed_and_the_default_is_the_builders(script, exported):
    cls = builder_class(script)
    assert sorted(datasets.get_dataset_config_names(str(exported[script]))) == sorted(cls.builder_configs)
    assert datasets.load_dataset_builder(str(exported[script])).config.name == cls.DEFAULT_CONFIG_NAME


@pytest.mark.parametrize("script", SCRIPTS)
def test_card_parses_and_its_dataset_info_matches_the_parquet_files(script, exported):
    folder = exported[script]
    card = DatasetCard.load(folder / "README.md")
    infos = datasets.info.DatasetInfosDict.from_dataset_card_data(card.data)
    assert sorted(infos) == sorted(builder_class(script).builder_configs)
    for config, info in infos.items():
        files = sorted((folder / "data" / config).glob("*.parquet"))
        assert info.download_size == sum(path.stat().st_size for path in files)
        for split, split_info in info.splits.items():
            shard_rows = sum(pq.read_metadata(path).num_rows for path in files if path.name.startswith(f"{split}-"))
            assert split_info.num_examples == shard_rows == EXPECTED_SPLITS[(script, config)][split]
        assert info.features == declared_info(builder_class(script), config).features
    default = builder_class(script).DEFAULT_CONFIG_NAME
    assert card.data.license == declared_info(builder_class(script), default).license
    assert card.data.pretty_name and card.data.task_categories == ["text-generation"]
    assert "## Citation" in card.text


def test_alpha_card_warns_and_counts_sources_and_categories(exported):
    text = (exported["instruction_tuning_alpha"] / "README.md").read_text(encoding="utf-8")
    assert "Content warning" in text
    assert "| `all` | train | `harmless` | 2 |" in text
    assert "| `all` | train | `wiki_howto` | 1 |" in text


def test_reexport_is_idempotent_and_leaves_no_stale_shards(tmp_path):
    script, config = "instruction_tuning_alpha", "part1"
    folder = tmp_path / "out"

    def snapshot():
        return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}

    kwargs = {"data_dir": sample_dir(script, config), "cache_dir": tmp_path / "cache"}
    export(script, config, folder, **kwargs)
    first = snapshot()
    export(script, config, folder, **kwargs)
    assert snapshot() == first
    summary = export(script, config, folder, max_shard_size="1KB", **kwargs)
    assert summary[config]["train"]["shards"] > 1
    assert rows(datasets.load_dataset(str(folder), config, split="train", cache_dir=str(tmp_path / "c1"))) == rows(
        load(script, config, split="train", **kwargs)
    )
    export(script, config, folder, **kwargs)
    assert snapshot() == first


def test_card_languages_are_those_of_the_exported_configs(tmp_path):
    zh = sample_dir("align_anything_instruction", "zh")
    export("align_anything_instruction", "zh", tmp_path, data_dir=zh, cache_dir=tmp_path / "cache")
    assert DatasetCard.load(tmp_path / "README.md").data.language == ["zh"]
    en = sample_dir("align_anything_instruction", "en")
    export("align_anything_instruction", "en", tmp_path, data_dir=en, cache_dir=tmp_path / "cache")
    assert DatasetCard.load(tmp_path / "README.md").data.language == ["en", "zh"]


def test_a_folder_holds_one_dataset(tmp_path):
    export("instruction_tuning_alpha", "harmless", tmp_path, data_dir=sample_dir("instruction_tuning_alpha", "all"))
    with pytest.raises(ValueError, match="holds an export of 'instruction_tuning_dataset_alpha'"):
        export("align_anything_instruction", "en", tmp_path, data_dir=sample_dir("align_anything_instruction", "en"))


def test_push_dry_run_lists_files_and_never_shows_the_token(exported, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", "hf_secretvalue123")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    files = push(exported["instruction_tuning_alpha"], "someone/alpha", dry_run=True)
    out = capsys.readouterr().out
    assert "README.md" in files and "data/harmless/train-00000-of-00001.parquet" in files
    assert "would upload" in out and "datasets/someone/alpha" in out and "harmless" in out
    assert "hf_secretvalue123" not in out


def test_export_command_prints_a_summary(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "instruction_datasets",
            "export",
            "align_anything_instruction",
            "zh",
            "--out",
            str(tmp_path / "zh"),
            "--data-dir",
            str(sample_dir("align_anything_instruction", "zh")),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "exported zh to" in result.stdout and "train 4 rows" in result.stdout and "test 2 rows" in result.stdout
