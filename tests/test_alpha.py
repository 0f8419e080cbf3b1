"""instruction_tuning_dataset_alpha: the parse rule, the configs, and what each kind of file gets.

Bad files fail with the file and the 0-based index of the offending item; each file case runs in
plain and streaming mode.
"""

import functools
import http.server
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from helpers import error_text
from huggingface_hub.utils.sha import git_hash

from instruction_datasets import builder_class, load
from instruction_datasets.loading import sample_dir

SCRIPT = "instruction_tuning_alpha"
alpha = sys.modules[builder_class(SCRIPT).__module__]  # the script as load() runs it, its kit beside it
PARTS, COMMIT = alpha.InstructionTuningAlpha.PARTS, alpha.InstructionTuningAlpha.COMMIT
kit = sys.modules[builder_class(SCRIPT).__mro__[1].__module__]  # _instruction_kit, as load() runs it
SAMPLES = sample_dir(SCRIPT, "all")
PART_FILES = {part: SAMPLES / name for part, (name, _) in PARTS.items()}
CATEGORY_CONFIGS = ["python_code", "helpful", "harmless", "synthetic_qa"]


def load_rows(config, data_dir, cache_dir, streaming=False, **config_kwargs):
    dataset = load(
        SCRIPT, config, split="train", data_dir=data_dir, cache_dir=cache_dir, streaming=streaming, **config_kwargs
    )
    return list(dataset)


# text -> (prompt, response, boundary), one line per rule of the README.
PARSE_CASES = {
    "label after a blank line": ("Hi\n\nRosey: Hello<|endoftext|>", ("Hi", "Hello", "label")),
    "label after a single newline": ("Hi\nRosey: Hello<|endoftext|>", ("Hi", "Hello", "label")),
    "CRLF line ends": ("Hi\r\n\r\nRosey: Hello<|endoftext|>", ("Hi", "Hello", "label")),
    "paragraphs in the prompt": ("A\n\nB\n\nRosey: C<|endoftext|>", ("A\n\nB", "C", "label")),
    "User label removed": ("User: Hi\n\nRosey: Hello<|endoftext|>", ("Hi", "Hello", "label")),
    "no end marker": ("Hi\n\nRosey: Hello", ("Hi", "Hello", "label")),
    "whitespace after end marker": ("Hi\n\nRosey: Hello<|endoftext|> \n\n", ("Hi", "Hello", "label")),
    "later labels stay": ("Hi\n\nRosey: a\nRosey: b<|endoftext|>", ("Hi", "a\nRosey: b", "label")),
    "label mid-line is text": ("Ask Rosey: why?\n\nRosey: Because.", ("Ask Rosey: why?", "Because.", "label")),
    "label at the very start": ("Rosey: Hello<|endoftext|>", ("", "Hello", "label")),
    "inner end marker is text": (
        "Hi\n\nRosey: <|endoftext|> is a token<|endoftext|>",
        ("Hi", "<|endoftext|> is a token", "label"),
    ),
    "U+2028 is not a line end": ("A\u2028Rosey: x\u2029\n\nRosey: y", ("A\u2028Rosey: x\u2029", "y", "label")),
    "no label: first blank line": ("Q\n\nA\n\nB<|endoftext|>", ("Q", "A\n\nB", "blank_line")),
    "no label: blank line with spaces": ("Q\n  \nA", ("Q", "A", "blank_line")),
    "neither": ("Just text<|endoftext|>", ("Just text", "", "none")),
    "non-ASCII edges are text": ("\u00a0Hi\u3000\n\nRosey: Yo\u2028", ("\u00a0Hi\u3000", "Yo\u2028", "label")),
}


@pytest.mark.parametrize(("text", "expected"), PARSE_CASES.values(), ids=PARSE_CASES.keys())
def test_parse_rule(text, expected):
    assert alpha.parse_text(text) == expected


@pytest.mark.parametrize("config", ["all", "part1", "part2"])
def test_every_input_row_appears_in_file_order_with_its_raw_text(config, cache_dir):
    parts = {"all": ["part1", "part2"], "part1": ["part1"], "part2": ["part2"]}[config]
    expected = [pair for part in parts for pair in json.loads(PART_FILES[part].read_text(encoding="utf-8"))]
    rows = load_rows(config, SAMPLES, cache_dir)
    assert [(row["source"], row["text"]) for row in rows] == [tuple(pair) for pair in expected]
    for row in rows:
        prompt, response, _ = alpha.parse_text(row["text"])
        assert (row["prompt"], row["response"]) == (prompt, response)
        assert row["category"] == builder_class(SCRIPT).CATEGORIES.get(row["source"], "other")


def test_category_configs_partition_all_except_other_in_file_order(cache_dir):
    everything = load_rows("all", SAMPLES, cache_dir)
    seen = []
    for config in CATEGORY_CONFIGS:
        rows = load_rows(config, SAMPLES, cache_dir)
        assert rows == [row for row in everything if row["category"] == config]
        assert rows, f"the samples must exercise category {config}"
        seen += [row["text"] for row in rows]
    assert sorted(seen) == sorted(row["text"] for row in everything if row["category"] != "other")
    assert {row["source"] for row in everything if row["category"] == "other"} == {"wiki_howto"}


def test_samples_exercise_every_rule_and_every_source(cache_dir):
    rows = load_rows("all", SAMPLES, cache_dir)
    boundaries = {alpha.parse_text(row["text"])[2] for row in rows}
    assert boundaries == {"label", "blank_line", "none"}
    assert set(builder_class(SCRIPT).CATEGORIES) <= {row["source"] for row in rows}
    texts = [row["text"] for row in rows]
    assert any("\u2028" in text for text in texts)
    assert any("\r\n" in text for text in texts)
    assert any(text.startswith("User:") for text in texts)
    assert any(not text.endswith("<|endoftext|>") for text in texts)


def test_unknown_sources_and_unsplit_rows_are_reported_once(cache_dir, streaming, caplog):
    with caplog.at_level(logging.WARNING):
        rows = load_rows("all", SAMPLES, cache_dir, streaming)
    messages = [record.getMessage() for record in caplog.records]
    unknown = [m for m in messages if "no known category" in m]
    assert len(unknown) == 1 and "'wiki_howto' (1 rows)" in unknown[0]
    neither = [m for m in messages if "neither a 'Rosey:' line nor a blank line" in m]
    assert len(neither) == 1 and neither[0].split(": ", 1)[1].startswith("1 row(s)")
    assert [row["response"] for row in rows if row["text"] == "Thanks, that is all for today.<|endoftext|>"] == [""]


@pytest.mark.network
def test_a_tampered_file_yields_no_row_before_the_error(upstream, monkeypatch, tmp_path):
    """Served under the pinned hash with other (valid) bytes, a streamed file fails before its first row, however
    small the batches: the hash is checked on the whole file first (a stream is copied to a temporary file to do
    it, and the copy is removed)."""
    from fake_upstream import ALPHA_PREFIX

    name, true = PARTS["part1"][0], PART_FILES["part1"].read_bytes()
    tampered = true.replace(b"Rosey:", b"Rosie:")
    assert tampered != true and len(json.loads(tampered)) == len(json.loads(true))
    monkeypatch.setattr(builder_class(SCRIPT), "PARTS", {"part1": (name, git_hash(true))})
    monkeypatch.setattr(builder_class(SCRIPT), "batch_rows", 1)
    monkeypatch.setattr(builder_class(SCRIPT), "chunk_bytes", 64)
    upstream.serve(ALPHA_PREFIX + name, tampered)
    # The copy is made in the temporary folder: this test's own, so that other tests' copies do not count.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    made, mkstemp = [], tempfile.mkstemp
    monkeypatch.setattr(tempfile, "mkstemp", lambda *a, **k: made.append(mkstemp(*a, **k)) or made[-1])
    received = []
    with pytest.raises(Exception) as caught:
        for row in load(SCRIPT, "part1", split="train", streaming=True, base_url=upstream.alpha_base_url):
            received.append(row)
    assert received == []
    message = error_text(caught.value)
    assert f"{upstream.alpha_base_url}/{name}: content differs from the pinned upstream file" in message
    assert f"got {git_hash(tampered)}" in message
    assert [Path(path).parent for _, path in made] == [tmp_path]  # one copy, of the whole file
    assert not list(tmp_path.glob("instruction_datasets-*.part")), "the copy is removed"


# How a user reads alpha, each in a process of its own (where logging is as a user's is): what stderr shows.
WARNED_PATHS = {
    "load(), plain": "from instruction_datasets import load; "
    "load('{script}', 'all', data_dir='{data}', cache_dir='{cache}')",
    "load(), streaming": "from instruction_datasets import load; "
    "[list(s) for s in load('{script}', 'all', data_dir='{data}', streaming=True).values()]",
    "load_dataset(script), 3.x": "import datasets; datasets.load_dataset('{path}', 'all', data_dir='{data}', "
    "cache_dir='{cache}', trust_remote_code=True)",
    "stats": "import sys; from instruction_datasets.cli import main; "
    "sys.exit(main(['stats', '{script}', 'all', '--data-dir', '{data}', '--cache-dir', '{cache}']))",
}


@pytest.mark.parametrize("path", WARNED_PATHS)
def test_a_source_with_no_known_category_is_named_on_stderr_on_every_path(path, tmp_path):
    from helpers import RUNS_SCRIPTS

    from instruction_datasets import script_path

    if path.endswith("3.x") and not RUNS_SCRIPTS:
        pytest.skip("datasets 4+ does not run scripts from load_dataset")
    code = WARNED_PATHS[path].format(script=SCRIPT, data=SAMPLES, cache=tmp_path / "cache", path=script_path(SCRIPT))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    named = [line for line in done.stderr.splitlines() if "no known category" in line]
    assert len(named) == 1 and named[0].endswith("kept as category 'other': 'wiki_howto' (1 rows)"), done.stderr


def write_parts(root, part1: bytes, part2: bytes | None = None):
    root.mkdir(parents=True, exist_ok=True)
    (root / PARTS["part1"][0]).write_bytes(part1)
    (root / PARTS["part2"][0]).write_bytes(part2 if part2 is not None else PART_FILES["part2"].read_bytes())
    return root


GOOD_PAIR = ["dahoas", "Hi\n\nRosey: Hello<|endoftext|>"]

BAD_FILES = {
    "empty file": (b"", "the file is empty; expected a JSON array of [source, text] pairs of strings"),
    "only whitespace": (b" \n", "the file is empty"),
    "top level object": (b'{"dahoas": "text"}', "the top level is a JSON object; expected a JSON array"),
    "item of three": (json.dumps([GOOD_PAIR, ["a", "b", "c"]]).encode(), "item 1 (0-based) is a JSON array of 3 items"),
    "item not an array": (json.dumps([GOOD_PAIR, GOOD_PAIR, "text"]).encode(), "item 2 (0-based) is a JSON string"),
    "number text": (json.dumps([["dahoas", 7]]).encode(), 'item 0 (0-based) is a JSON array of 2 items: ["dahoas", 7]'),
    "null source": (json.dumps([GOOD_PAIR, [None, "t"]]).encode(), "item 1 (0-based)"),
    "invalid JSON": (b'[["dahoas", "a"],\n ["dahoas" "b"]]', "invalid JSON at line 2, column 12"),
    "invalid UTF-8": (b'[["dahoas", "\xc3\x28"]]', "invalid UTF-8 at byte 13"),
}


@pytest.mark.parametrize(("content", "expected"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_fails_naming_file_and_item(content, expected, tmp_path, cache_dir, streaming):
    data_dir = write_parts(tmp_path / "bad", content)
    with pytest.raises(Exception) as excinfo:
        load_rows("part1", data_dir, cache_dir, streaming)
    message = error_text(excinfo.value)
    assert f"{data_dir / PARTS['part1'][0]}: " in message
    assert expected in message


def test_a_byte_order_mark_is_not_an_error(tmp_path, cache_dir, streaming):
    data_dir = write_parts(tmp_path / "bom", b"\xef\xbb\xbf" + json.dumps([GOOD_PAIR]).encode())
    rows = load_rows("part1", data_dir, cache_dir, streaming)
    assert [(row["prompt"], row["response"]) for row in rows] == [("Hi", "Hello")]


def test_the_blob_sha1_fed_piece_by_piece_is_what_git_computes(tmp_path):
    content = PART_FILES["part1"].read_bytes()
    if shutil.which("git") is None:
        pytest.fail("git is needed to check the blob hash against git itself")
    path = tmp_path / "blob"
    path.write_bytes(content)
    expected = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True, check=True).stdout
    digest = kit.blob_hasher(len(content))
    for start in range(0, len(content), 1000):
        digest.update(content[start : start + 1000])
    assert digest.hexdigest() == expected.strip() == git_hash(content)


def test_local_copies_are_verified_only_when_asked(cache_dir, tmp_path, streaming):
    assert len(load_rows("part1", SAMPLES, cache_dir, streaming)) == 9
    with pytest.raises(Exception) as excinfo:
        load_rows("part1", SAMPLES, tmp_path / "verified", streaming, verify_hashes=True)
    message = error_text(excinfo.value)
    assert str(PART_FILES["part1"]) in message
    assert PARTS["part1"][1] in message  # the pinned hash
    assert git_hash(PART_FILES["part1"].read_bytes()) in message  # the hash of what was read


@pytest.mark.network
def test_downloads_from_base_url_are_verified_against_the_pinned_hashes(cache_dir, tmp_path, streaming):
    root = tmp_path / "served"
    (root / "raw" / COMMIT).mkdir(parents=True)
    for path in PART_FILES.values():
        shutil.copy(path, root / "raw" / COMMIT / path.name)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base_url = f"http://127.0.0.1:{server.server_address[1]}/raw/{COMMIT}"
        # Our samples are not the upstream bytes: the default download path must refuse them.
        with pytest.raises(Exception) as excinfo:
            load_rows("part1", None, cache_dir, streaming, base_url=base_url)
        message = error_text(excinfo.value)
        assert f"{base_url}/{PARTS['part1'][0]}: content differs from the pinned upstream file" in message
        # With verification off, the same download gives exactly the local rows.
        downloaded = load_rows("all", None, tmp_path / "c2", streaming, base_url=base_url, verify_hashes=False)
        assert downloaded == load_rows("all", SAMPLES, tmp_path / "c3")
    finally:
        server.shutdown()
        thread.join()
