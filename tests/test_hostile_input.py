"""Hostile and odd input, plain and streaming, and property tests of the JSON-array readers and alpha's parse rule.

Nothing is lost, added or reordered; what cannot be loaded fails naming the file and the line or item. Align's bad
lines are tests/test_align_anything.py's (BAD_THIRD_LINES); its byte ranges, tests/test_boundaries.py's.
"""

import json
import sys

import pytest
from helpers import error_text
from hypothesis import given, settings
from hypothesis import strategies as st

from instruction_datasets import builder_class, load

alpha = sys.modules[builder_class("instruction_tuning_alpha").__module__]  # the script as load() runs it
kit = sys.modules[alpha.InstructionTuningAlpha.__mro__[1].__module__]  # the kit it imports, as load() runs it

BIG = "x" * (10 * 1024 * 1024)
DEEP = "[" * 100_000 + "]" * 100_000
NESTED = "[" * 50 + '"p"' + "]" * 50


def align_rows(tmp_path, lines: list[bytes], cache_dir, streaming):
    (tmp_path / "d" / "data").mkdir(parents=True)
    (tmp_path / "d" / "data" / "train.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (tmp_path / "d" / "data" / "test.jsonl").write_bytes(b'{"prompt": "a", "response": "b"}\n')
    dataset = load(
        "align_anything_instruction",
        "en",
        split="train",
        data_dir=tmp_path / "d",
        cache_dir=cache_dir,
        streaming=streaming,
    )
    return [(row["prompt"], row["response"]) for row in dataset]


def alpha_rows(tmp_path, document: bytes, cache_dir, streaming):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / alpha.InstructionTuningAlpha.PARTS["part1"][0]).write_bytes(document)
    dataset = load(
        "instruction_tuning_alpha",
        "part1",
        split="train",
        data_dir=tmp_path / "d",
        cache_dir=cache_dir,
        streaming=streaming,
    )
    return [(row["source"], row["text"]) for row in dataset]


GOOD = b'{"prompt": "a", "response": "b"}'

ALIGN_ODD_BUT_VALID = {
    "10 MB prompt": (json.dumps({"prompt": BIG, "response": "r"}).encode(), (BIG, "r")),
    "NUL characters": (b'{"prompt": "a\\u0000b", "response": "\\u0000"}', ("a\x00b", "\x00")),
    "surrogate pair": (b'{"prompt": "\\ud83d\\ude00", "response": "ok"}', ("\U0001f600", "ok")),
}


@pytest.mark.parametrize(("line", "row"), ALIGN_ODD_BUT_VALID.values(), ids=ALIGN_ODD_BUT_VALID.keys())
def test_align_odd_but_valid_rows_load_unchanged(line, row, tmp_path, cache_dir, streaming):
    assert align_rows(tmp_path, [GOOD, line, GOOD], cache_dir, streaming) == [("a", "b"), row, ("a", "b")]


def test_alpha_odd_but_valid_items_load_unchanged(tmp_path, cache_dir, streaming):
    items = [["dahoas", "Q\n\nRosey: " + BIG], ["synth_qa", "a\x00b\n\nRosey: \U0001f600"]]
    assert alpha_rows(tmp_path, json.dumps(items).encode(), cache_dir, streaming) == [tuple(i) for i in items]


ALPHA_HOSTILE = {
    "lone surrogate": (b'[["dahoas", "ok"], ["dahoas", "\\udfff"]]', "item 1 (0-based) holds a lone UTF-16 surrogate"),
    "deep nesting": (f'[["dahoas", {DEEP}]]'.encode(), "JSON nested too deeply to parse"),
    "nested text": (f'[["dahoas", {NESTED}]]'.encode(), "item 0 (0-based) is a JSON array of 2 items"),
}


@pytest.mark.parametrize(("document", "expected"), ALPHA_HOSTILE.values(), ids=ALPHA_HOSTILE.keys())
def test_alpha_hostile_files_fail_naming_file_and_item(document, expected, tmp_path, cache_dir, streaming):
    with pytest.raises(Exception) as excinfo:
        alpha_rows(tmp_path, document, cache_dir, streaming)
    message = error_text(excinfo.value)
    assert f"{tmp_path / 'd' / alpha.InstructionTuningAlpha.PARTS['part1'][0]}: " in message
    assert expected in message


# Any Unicode text but lone surrogates, which no UTF-8 file can hold.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=150, deadline=None)
@given(pairs=st.lists(st.tuples(TEXT, TEXT), max_size=12), ascii_only=st.booleans())
def test_alpha_reader_keeps_every_item_in_order(pairs, ascii_only):
    content = json.dumps([list(pair) for pair in pairs], ensure_ascii=ascii_only).encode()
    assert [tuple(item) for item in kit.read_items(content, "mem", ("a", "b"), "array", ValueError)] == pairs


#: What alpha's parse rule strips around the prompt and the response: ASCII whitespace only (its docstring).
ASCII_WHITESPACE = " \t\r\n\f\v"


def _clean(text: str) -> str:
    return text.strip(ASCII_WHITESPACE)


@settings(max_examples=300, deadline=None)
@given(
    prompt=TEXT.map(_clean),
    response=TEXT.map(_clean),
    separator=st.sampled_from(["\n\n", "\n", "\r\n\r\n", "\n \n"]),
    end_marker=st.sampled_from(["", "<|endoftext|>", "<|endoftext|>\n"]),
)
def test_alpha_prompt_and_response_round_trip(prompt, response, separator, end_marker):
    # Texts that hold the labels themselves are outside the promise: the rule reads those as labels.
    if "\nRosey:" in prompt or prompt.startswith(("Rosey:", "User:")) or response.endswith("<|endoftext|>"):
        return
    text = f"{prompt}{separator}Rosey: {response}{end_marker}"
    assert alpha.parse_text(text) == (prompt, response, "label")


# Texts that look like the array's own punctuation: the reader decodes runs of items up to a "]," at once.
JSON_LIKE = st.lists(st.sampled_from(['"], ["', "],", "]", "[", '"', "\\", ",", " ", "a"]), max_size=8).map("".join)


@settings(max_examples=200, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.one_of(TEXT, JSON_LIKE), st.one_of(TEXT, JSON_LIKE)), max_size=8),
    indent=st.sampled_from([None, 0, 2]),
    ascii_only=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=6),
)
def test_alpha_incremental_reader_agrees_with_json_whatever_the_pieces(pairs, indent, ascii_only, cuts):
    document = json.dumps([list(pair) for pair in pairs], indent=indent, ensure_ascii=ascii_only)
    bounds = sorted({min(cut, len(document)) for cut in cuts} | {0, len(document)})
    pieces = [document[start:end] for start, end in zip(bounds, bounds[1:], strict=False)]
    assert [tuple(item) for item in kit.iter_items(iter(pieces), ("a", "b"))] == pairs


# The same for items that are objects: the reader decodes runs of them up to a "}," at once.
OBJECT_LIKE = st.lists(st.sampled_from(['"}, {"', "},", "}", "{", '":"', '"', "\\", ",", " ", "a"]), max_size=8).map(
    "".join
)
KEYS = ("instruction", "input", "output")


@settings(max_examples=200, deadline=None)
@given(
    records=st.lists(st.tuples(*[st.one_of(TEXT, OBJECT_LIKE)] * 3), max_size=8),
    indent=st.sampled_from([None, 0, 2]),
    ascii_only=st.booleans(),
    key_order=st.permutations(KEYS),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=6),
)
def test_object_items_are_read_alike_whatever_the_pieces_and_the_key_order(
    records, indent, ascii_only, key_order, cuts
):
    """Both readers give each object's values in ITEM's order, whatever order the file writes the keys in."""
    objects = [{key: dict(zip(KEYS, record, strict=True))[key] for key in key_order} for record in records]
    document = json.dumps(objects, indent=indent, ensure_ascii=ascii_only)
    bounds = sorted({min(cut, len(document)) for cut in cuts} | {0, len(document)})
    pieces = [document[start:end] for start, end in zip(bounds, bounds[1:], strict=False)]
    assert [tuple(item) for item in kit.iter_items(iter(pieces), KEYS, "object")] == records
    assert [tuple(item) for item in kit.read_items(document.encode(), "mem", KEYS, "object", ValueError)] == records


OBJECTS_HOSTILE = {
    "a key missing": (
        '[{"instruction": "i", "output": "o"}]',
        'item 0 (0-based) is a JSON object with keys "instruction", "output": ',
    ),
    "a key of another name": (
        '[{"instruction": "i", "input": "", "output": "o"}, {"instruction": "i", "inputs": "", "output": "o"}]',
        'item 1 (0-based) is a JSON object with keys "instruction", "inputs", "output": ',
    ),
    "a key more": (
        '[{"instruction": "i", "input": "", "output": "o", "id": "1"}]',
        'item 0 (0-based) is a JSON object with keys "instruction", "input", "output", "id": ',
    ),
    "a value that is no string": (
        '[{"instruction": "i", "input": null, "output": "o"}]',
        "item 0 (0-based) is a JSON object with keys",
    ),
    "an array for an object": ('[["i", "", "o"]]', "item 0 (0-based) is a JSON array of 3 items: "),
    "a lone surrogate": (
        '[{"instruction": "i", "input": "\\udfff", "output": "o"}]',
        "item 0 (0-based) holds a lone UTF-16 surrogate escape",
    ),
}


@pytest.mark.parametrize(("document", "expected"), OBJECTS_HOSTILE.values(), ids=OBJECTS_HOSTILE.keys())
def test_object_items_of_another_shape_fail_naming_the_item_and_the_keys_expected(document, expected):
    with pytest.raises(ValueError) as excinfo:
        kit.read_items(document.encode(), "mem.json", KEYS, "object", ValueError)
    assert str(excinfo.value).startswith(f"mem.json: {expected}")
    if "JSON object with keys" in expected or "array of 3" in expected:
        assert str(excinfo.value).endswith("; expected a {instruction, input, output} object of strings")
    with pytest.raises(kit.Irregular):  # the incremental reader hands every such file to read_items
        list(kit.iter_items(iter([document]), KEYS, "object"))
