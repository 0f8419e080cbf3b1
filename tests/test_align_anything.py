"""Align-Anything-Instruction-100K: what a user gets from each kind of JSON Lines file.

Good rows load exactly as written; a bad row fails the load with the file and the 1-based line.
Each case runs in plain and streaming mode.
"""

import json
import logging

import jsonlines
import pytest
from helpers import error_text

from instruction_datasets import load
from instruction_datasets.loading import sample_dir

SCRIPT = "align_anything_instruction"
GOOD_LINE = b'{"prompt": "Hi?", "response": "Hello."}\n'


def write_data_dir(root, train: bytes, test: bytes = GOOD_LINE):
    """A local copy of the upstream layout with the given bytes as data/train.jsonl."""
    (root / "data").mkdir(parents=True)
    (root / "data" / "train.jsonl").write_bytes(train)
    (root / "data" / "test.jsonl").write_bytes(test)
    return root


def load_train(data_dir, cache_dir, streaming):
    dataset = load(SCRIPT, "en", split="train", data_dir=data_dir, cache_dir=cache_dir, streaming=streaming)
    return [(row["prompt"], row["response"]) for row in dataset]


@pytest.mark.parametrize("config", ["en", "zh"])
def test_rows_are_the_upstream_file_rows_in_order(config, cache_dir):
    data_dir = sample_dir(SCRIPT, config)
    dataset_dict = load(SCRIPT, config, data_dir=data_dir, cache_dir=cache_dir)
    for split, dataset in dataset_dict.items():
        with jsonlines.open(data_dir / "data" / f"{split}.jsonl") as reader:
            expected = [(obj["prompt"], obj["response"]) for obj in reader]
        assert list(zip(dataset["prompt"], dataset["response"], strict=True)) == expected


def test_crlf_bom_blank_lines_and_line_separators_load_as_written(tmp_path, cache_dir, streaming, caplog):
    odd_text = "line one\u2028line two\u2029end \r\n tab\t"
    train = (
        b"\xef\xbb\xbf"
        + json.dumps({"prompt": "first", "response": "r1"}).encode()
        + b"\r\n\r\n   \n"
        + json.dumps({"prompt": odd_text, "response": "\u4f60\u597d"}, ensure_ascii=False).encode()
        + b"\r\n"
        + json.dumps({"prompt": "last", "response": odd_text}).encode()  # no final newline
    )
    data_dir = write_data_dir(tmp_path / "odd", train)
    with caplog.at_level(logging.WARNING):
        rows = load_train(data_dir, cache_dir, streaming)
    assert rows == [("first", "r1"), (odd_text, "\u4f60\u597d"), ("last", odd_text)]
    assert "skipped 2 blank line(s)" in caplog.text


def test_undeclared_keys_are_ignored_with_one_warning_naming_them(tmp_path, cache_dir, streaming, caplog):
    lines = [
        {"prompt": "a", "response": "b", "category": "x"},
        {"prompt": "c", "response": "d", "category": "y", "score": 3},
        {"prompt": "e", "response": "f"},
    ]
    data_dir = write_data_dir(tmp_path / "extra", "".join(json.dumps(line) + "\n" for line in lines).encode())
    with caplog.at_level(logging.WARNING):
        rows = load_train(data_dir, cache_dir, streaming)
    assert rows == [("a", "b"), ("c", "d"), ("e", "f")]
    warnings = [record.getMessage() for record in caplog.records if "ignored keys" in record.getMessage()]
    assert len(warnings) == 1
    assert "'category' (2 rows)" in warnings[0] and "'score' (1 rows)" in warnings[0]
    assert str(data_dir / "data" / "train.jsonl") in warnings[0]


BAD_THIRD_LINES = {
    "missing response": (b'{"prompt": "p"}', "key 'response' is missing (expected a string)"),
    "missing prompt": (b'{"response": "r"}', "key 'prompt' is missing (expected a string)"),
    "number response": (b'{"prompt": "p", "response": 42}', "key 'response' must be a string, got a JSON number"),
    "null prompt": (b'{"prompt": null, "response": "r"}', "key 'prompt' must be a string, got a JSON null"),
    "nested prompt": (b'{"prompt": {"text": "p"}, "response": "r"}', "must be a string, got a JSON object"),
    "array line": (b'["p", "r"]', "expected a JSON object with string keys 'prompt' and 'response', got a JSON array"),
    "nested response": (
        b'{"prompt": "p", "response": ' + b"[" * 50 + b'"r"' + b"]" * 50 + b"}",
        "key 'response' must be a string, got a JSON array",
    ),
    "invalid JSON": (b'{"prompt": "p", "response": "r"', "invalid JSON"),
    # A raw control character in a string: Python's parser says "Invalid control character at", then the place.
    "raw tab": (b'{"prompt": "a\tb", "response": "r"}', "invalid JSON (Invalid control character at column 14)"),
    "raw NUL byte": (b'{"prompt": "a\x00b", "response": "r"}', "invalid JSON"),
    "invalid UTF-8": (b'{"prompt": "\xff\xfe", "response": "r"}', "invalid UTF-8 at byte 12"),
    "lone surrogate": (b'{"prompt": "\\ud800", "response": "r"}', "key 'prompt' holds a lone UTF-16 surrogate escape"),
    "deep prompt": (
        b'{"prompt": ' + b"[" * 100_000 + b"]" * 100_000 + b', "response": "r"}',
        "JSON nested too deeply to parse",
    ),
    # In a key the schema does not declare: pyarrow's type inference crashes the process on these (signal 11).
    # tests/test_boundaries.py puts deep lists on every read path.
    "deep object in an undeclared key": (
        b'{"prompt": "p", "response": "r", "extra": ' + b'{"a":' * 20_000 + b"1" + b"}" * 20_000 + b"}",
        "JSON nested too deeply to parse",
    ),
}


@pytest.mark.parametrize(("bad_line", "expected"), BAD_THIRD_LINES.values(), ids=BAD_THIRD_LINES.keys())
def test_a_bad_row_fails_naming_file_line_and_expectation(bad_line, expected, tmp_path, cache_dir, streaming):
    data_dir = write_data_dir(tmp_path / "bad", GOOD_LINE + b"\n" + bad_line + b"\n" + GOOD_LINE)
    with pytest.raises(Exception) as excinfo:
        load_train(data_dir, cache_dir, streaming)
    message = error_text(excinfo.value)
    assert f"{data_dir / 'data' / 'train.jsonl'}, line 3: " in message
    assert expected in message
    assert "at at" not in message  # one sentence, without the parser's dangling "at"


def test_a_missing_split_file_says_which_layout_is_expected(tmp_path, cache_dir):
    (tmp_path / "partial" / "data").mkdir(parents=True)
    (tmp_path / "partial" / "data" / "train.jsonl").write_bytes(GOOD_LINE)
    with pytest.raises(FileNotFoundError, match=r"test\.jsonl not found: data_dir must hold the upstream layout"):
        load(SCRIPT, "en", data_dir=tmp_path / "partial", cache_dir=cache_dir)


def test_byte_range_shards_split_work_without_losing_or_repeating_rows(cache_dir, tmp_path):
    from datasets.distributed import split_dataset_by_node

    data_dir = sample_dir(SCRIPT, "en")
    whole = load(SCRIPT, "en", split="train", data_dir=data_dir, cache_dir=cache_dir)
    # About 300 bytes a shard: each of the 5 rows straddles or fills a range of its own.
    parallel = load(
        SCRIPT, "en", split="train", data_dir=data_dir, cache_dir=tmp_path / "p", num_proc=2, shard_bytes=300
    )
    assert list(parallel) == list(whole)
    streamed = load(SCRIPT, "en", split="train", data_dir=data_dir, streaming=True, shard_bytes=300)
    assert streamed.num_shards > 2
    ranks = [list(split_dataset_by_node(streamed, rank=rank, world_size=2)) for rank in (0, 1)]
    assert ranks[0] and ranks[1]
    assert sorted(ranks[0] + ranks[1], key=lambda row: row["prompt"]) == sorted(whole, key=lambda row: row["prompt"])
    # A shuffled stream is built by datasets from copies of the shards: still every row once.
    shuffled = list(streamed.shuffle(seed=0, buffer_size=2))
    assert sorted(shuffled, key=lambda row: row["prompt"]) == sorted(whole, key=lambda row: row["prompt"])


def range_rows(builder, path, step: int) -> list:
    size = path.stat().st_size
    tables = [
        table
        for start in range(0, size, step)
        for _, table in builder._range_tables(str(path), "https://host/train.jsonl", start, min(start + step, size))
    ]
    return [(row["prompt"], row["response"]) for table in tables for row in table.to_pylist()]


@pytest.mark.parametrize("mapped", [True, False], ids=["mapped", "read"])
def test_any_byte_ranges_read_each_line_once_whether_mapped_or_read(tmp_path, monkeypatch, mapped):
    """A local file is memory-mapped; one without a descriptor (streaming over the network) is read: same rows."""
    import io
    import sys

    from instruction_datasets import builder_class

    align = sys.modules[builder_class("align_anything_instruction").__module__]  # the script as load() runs it

    lines = [
        b'\xef\xbb\xbf{"prompt": "p0", "response": "r0"}',
        b"",
        b'{"prompt": "p1", "response": "r1"}\r',
        b" \t",
        b'{"prompt": "\xc3\xa9", "response": "r2", "extra": 1}',
        b'{"prompt": "p3", "response": "r3"}',
    ]
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    if not mapped:
        kit = sys.modules[align.__name__.rsplit(".", 1)[0] + "._instruction_kit"]  # its _open opens the file
        monkeypatch.setattr(kit, "open", lambda name, mode="r": io.BytesIO(path.read_bytes()), raising=False)
    builder = align.AlignAnythingInstruction(cache_dir=str(tmp_path / "cache"))
    expected = [("p0", "r0"), ("p1", "r1"), ("é", "r2"), ("p3", "r3")]
    size = path.stat().st_size
    for step in (1, 2, 3, 5, 8, 13, 21, 34, 55, 89, size):
        assert range_rows(builder, path, step) == expected, step
    # A file shorter than its announced size (a transfer cut short) fails after its last row, naming it.
    with pytest.raises(
        align.AlignAnythingIntegrityError, match=f"cut short: {size} of the {size + 9} bytes asked for arrived"
    ):
        list(builder._range_tables(str(path), "https://host/train.jsonl", 0, size + 9))
