"""dataset_infos.json comes from the builders, is current (`infos --check` says so), and every `datasets` version
reads it."""

import json
import subprocess
import sys

import datasets

from instruction_datasets import builder_class, infos
from instruction_datasets.loading import available_scripts


def test_committed_file_is_current():
    committed = infos.INFOS_PATH.read_text(encoding="utf-8")
    assert committed == infos.render(), "dataset_infos.json is stale: run `python -m instruction_datasets infos`"


def test_every_config_is_recorded_and_reads_back_with_the_builders_features(tmp_path):
    recorded = json.loads(infos.INFOS_PATH.read_text(encoding="utf-8"))
    for script in available_scripts():
        cls = builder_class(script)
        for config in cls.BUILDER_CONFIGS:
            info = datasets.DatasetInfo.from_dict(recorded[config.name])
            builder = cls(config_name=config.name, cache_dir=tmp_path)
            assert info.features == builder.info.features
            assert info.license == builder.info.license
            assert str(info.version) == str(config.version)


def test_no_sizes_or_checksums_are_recorded():
    # Sizes recorded without measuring the real files would fail every local data_dir load.
    recorded = json.loads(infos.INFOS_PATH.read_text(encoding="utf-8"))
    for config, info in recorded.items():
        assert not {"splits", "download_checksums", "download_size", "dataset_size"} & info.keys(), config


def test_list_features_are_written_in_the_form_every_version_reads():
    """`datasets` 4+ writes a list feature as ``{"_type": "List", ...}``, which 3.x cannot read; the file holds the
    ``[feature]`` form, which every version reads as the builders' features."""
    recorded = json.loads(infos.INFOS_PATH.read_text(encoding="utf-8"))
    assert '"List"' not in json.dumps(recorded)
    for entry in recorded.values():
        messages = entry["features"]["messages"]
        assert isinstance(messages, list) and len(messages) == 1, messages
        features = datasets.Features.from_dict(entry["features"])
        assert (
            features["messages"]
            == datasets.Features({"m": [{"role": datasets.Value("string"), "content": datasets.Value("string")}]})["m"]
        )


def test_infos_check_passes_on_the_committed_file():
    result = subprocess.run(
        [sys.executable, "-m", "instruction_datasets", "infos", "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout
