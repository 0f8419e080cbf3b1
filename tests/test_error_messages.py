"""Mistakes in a call to load() and bytes that are not JSON: one message that says what was wrong and what fits."""

import json

import pytest

from instruction_datasets import load

ALIGN_FIELDS = "Fields of AlignAnythingInstructionConfig: hub_repo, hub_revision, language, shard_bytes, verify_stream"
ALPHA_FIELDS = "Fields of InstructionTuningAlphaConfig: parts, category, base_url, verify_hashes"
LOAD_PARAMETERS = (
    "load() parameters: path, name, split, streaming, data_dir, cache_dir, num_proc, download_mode, verification_mode, "
    "features, keep_in_memory, token, storage_options, trust_remote_code"
)
#: Why load() refuses load_dataset's `revision=` (tests/test_load_keywords.py shows that 3.x ignores it for a script).
REVISION = (
    "revision= is datasets.load_dataset's revision of a script or repo on the Hub, which 3.x ignores for a local "
    "script; load() runs the shipped script"
)


@pytest.mark.parametrize(
    ("script", "keyword", "advice", "fields"),
    [
        (
            "align_anything_instruction",
            "revision",
            f"(did you mean hub_revision=? {REVISION}, and hub_revision= picks the revision of the data's Hub repo)",
            ALIGN_FIELDS,
        ),
        (
            "instruction_tuning_alpha",
            "revision",
            f"({REVISION}, and this dataset's files come from the commit it pins, "
            "26ea044ac587e7629a8baea994165cf3e6520dea)",
            ALPHA_FIELDS,
        ),
        ("instruction_tuning_alpha", "base_ur", "(did you mean base_url=?)", ALPHA_FIELDS),
        ("instruction_tuning_alpha", "streamin", "(did you mean streaming=?)", ALPHA_FIELDS),
        ("instruction_tuning_alpha", "foo", "(no field or parameter has a similar name)", ALPHA_FIELDS),
        ("instruction_tuning_alpha", "keep_in_memry", "(did you mean keep_in_memory=?)", ALPHA_FIELDS),
    ],
)
def test_an_unknown_keyword_is_named_with_the_nearest_and_every_valid_one(script, keyword, advice, fields, tmp_path):
    with pytest.raises(TypeError) as raised:
        load(script, cache_dir=tmp_path, **{keyword: True})
    assert str(raised.value) == f"load() got an unknown keyword {keyword!r} {advice}. {fields}; {LOAD_PARAMETERS}"
    assert not any(tmp_path.iterdir())  # refused before anything was prepared


def test_a_config_field_still_passes(tmp_path):
    (tmp_path / "alpha").mkdir()
    pairs = [["dahoas", "Hi\n\nRosey: Hello"]]
    (tmp_path / "alpha" / "instruction_tuning_dataset_alpha_part1.json").write_text(json.dumps(pairs), encoding="utf-8")
    rows = load(
        "instruction_tuning_alpha",
        "part1",
        split="train",
        data_dir=tmp_path / "alpha",
        cache_dir=tmp_path / "cache",
        verify_hashes=False,  # a config field
    )
    assert rows[0]["response"] == "Hello"


def test_alpha_json_errors_read_as_one_sentence(tmp_path):
    (tmp_path / "alpha").mkdir()
    path = tmp_path / "alpha" / "instruction_tuning_dataset_alpha_part1.json"
    path.write_text('[["dahoas", "a\tb"]]', encoding="utf-8")
    with pytest.raises(Exception) as raised:
        load("instruction_tuning_alpha", "part1", data_dir=tmp_path / "alpha", cache_dir=tmp_path / "cache")
    ours = f"{path}: invalid JSON at line 1, column 15 (character 14): Invalid control character"
    assert str(raised.value).endswith(ours), str(raised.value)
