"""Through servers that are not the Hub: each row exactly once, or one clear error.

- The fake Hub (tests/fake_upstream.py) with each thing a server may do with ``Range``: streams with several
  shards and with several ranks (``split_dataset_by_node``) give every row of the file once; a server that answers
  the probe right and a later range wrong fails in one line naming the URL and the bytes; a resumed transfer
  that starts the file again fails, naming the URL. A file object whose reads cannot be checked is refused,
  and a cache that would read around the check is replaced by one that reads through it.
- olah 0.5.4 (tests/olah_mirror.py), a real mirror, on 127.0.0.1 in offline mirror mode over local git
  repositories (``en`` as plain git blobs, ``zh`` as LFS objects, its train file larger than ``block_bytes``): a
  cold plain load, a warm one, an offline one after it, and streams with several shards and with several ranks all
  give exactly the files' rows.
"""

import collections
import io
import json
import os
import sys

import fsspec.caching
import pytest
from helpers import run_fresh
from olah_mirror import OLAH_VERSION, OlahMirror, make_repo, olah_command

from instruction_datasets import builder_class

align = sys.modules[builder_class("align_anything_instruction").__module__]  # the script as load() runs it

EN_REPO = "PKU-Alignment/Align-Anything-Instruction-100K"
ZH_REPO = "PKU-Alignment/Align-Anything-Instruction-100K-zh"


def jsonl_rows(count: int, seed: str) -> list[tuple[str, str]]:
    """Rows of varied lengths, with multi-byte characters, so that byte ranges end anywhere in a line."""
    return [(f"{seed} prompt {i} " + "问题" * (i % 7), f"response {i} " + "x" * (i * 13 % 97)) for i in range(count)]


def jsonl(rows) -> bytes:
    return "".join(json.dumps({"prompt": p, "response": r}, ensure_ascii=False) + "\n" for p, r in rows).encode()


def stream(endpoint, home, config="en", world_size=1, shard_bytes=1000, offline=False, streaming=True, **extra):
    """(exit status, {split: rows of each rank} or the error text, stderr) of a stream in a fresh process."""
    request = {
        **extra,
        "config": config,
        "streaming": streaming,
        "world_size": world_size,
        "cache_dir": str(home / "datasets"),
        "kwargs": {"shard_bytes": shard_bytes},
    }
    status, payload, stderr = run_fresh(request, endpoint, home, offline=offline, runner="mirror_runner.py")
    return status, payload.get("splits", payload.get("error")), stderr


def as_rows(ranks) -> collections.Counter:
    return collections.Counter(tuple(row) for rank in ranks for row in rank)


# What the warning says the server did, per fault of the fake Hub.
RANGE_FAULTS = {
    None: None,
    "range-ignored": "it answered HTTP 200 with the whole file",
    "range-short": "it answered Content-Range 'bytes 1000-1007/",
    "range-long": "it answered Content-Range 'bytes 1000-",
}


@pytest.mark.parametrize("world_size", [1, 3], ids=["shards", "ranks"])
@pytest.mark.parametrize("fault", list(RANGE_FAULTS), ids=[str(fault) for fault in RANGE_FAULTS])
def test_a_stream_gives_every_row_once_whatever_the_server_does_with_ranges(fault, world_size, upstream, tmp_path):
    rows = jsonl_rows(150, "en")
    commit = upstream.land_commit(EN_REPO, {"data/train.jsonl": jsonl(rows)})
    if fault:
        upstream.add_fault("/data/train.jsonl", fault, sticky=True)
    status, splits, stderr = stream(upstream.endpoint, tmp_path, world_size=world_size)
    assert status == 0, splits
    ranks = splits["train"]
    assert as_rows(ranks) == collections.Counter(rows)
    url = f"{upstream.endpoint}/datasets/{EN_REPO}/resolve/{commit}/data/train.jsonl"
    warning = f"{url}: the server does not answer byte ranges as asked (asked for bytes 1000-1015/"
    if fault is None:
        assert warning not in stderr
        assert all(ranks), "every rank has rows of its own"
    else:
        assert warning in stderr and RANGE_FAULTS[fault] in stderr, stderr[-3000:]
        assert "so the file is read whole, as one shard instead of 19" in stderr


# What a server that answers the probe right does with the ranged GETs after it, and the one-line error it gets.
LATER_RANGE_FAULTS = {
    "range-ignored-later": "the server sent {size} bytes: it ignores Range; ",
    "range-short-later": "bytes: it sent fewer bytes than asked; ",
    "range-long-later": "bytes: it sent more bytes than asked; ",
}


@pytest.mark.parametrize("world_size", [1, 3], ids=["shards", "ranks"])
@pytest.mark.parametrize("fault", [None, *LATER_RANGE_FAULTS])
def test_a_server_that_answers_only_the_probe_right_fails_in_one_line(fault, world_size, upstream, tmp_path):
    # 6 MB in 3 shards, read 64 KiB at a time: a request (a read and fsspec's 5 MiB read-ahead) asks for less
    # than the rest of the file, so that an answer can be longer than asked.
    rows = jsonl_rows(45_000, "en")
    data = jsonl(rows)
    commit = upstream.land_commit(EN_REPO, {"data/train.jsonl": data})
    if fault:
        upstream.add_fault("/data/train.jsonl", fault, sticky=True)
    read = {"shard_bytes": 2**21, "block_bytes": 2**16}
    status, splits, stderr = stream(upstream.endpoint, tmp_path, world_size=world_size, **read)
    # The probe was answered right, so the file was cut into ranges.
    assert "does not answer byte ranges as asked" not in stderr
    if fault is None:
        assert status == 0, splits
        assert as_rows(splits["train"]) == collections.Counter(rows)
        assert all(splits["train"]), "every rank has rows of its own"
        return
    assert status == 1, "a wrong answer to a later range must fail, not give rows"
    url = f"{upstream.endpoint}/datasets/{EN_REPO}/resolve/{commit}/data/train.jsonl"
    first = splits.splitlines()[0]
    assert first.startswith(f"AlignAnythingIntegrityError: {url}: asked for bytes "), splits
    assert f" of {len(data)}, " in first and LATER_RANGE_FAULTS[fault].format(size=len(data)) in first, first
    assert first.endswith("load without streaming, or pass data_dir= with a local copy"), first


# --- olah ---

# Per config: the repo, whether its data files are LFS objects, and what the files hold.
OLAH_REPOS = {
    "en": (EN_REPO, False, {"train": jsonl_rows(150, "en"), "test": jsonl_rows(12, "en test")}),
    # More than block_bytes (10 MiB): read whole behind olah, the file crosses the reader's block boundary.
    "zh": (ZH_REPO, True, {"train": jsonl_rows(90_000, "中文"), "test": jsonl_rows(9, "中文 test")}),
}


@pytest.fixture(scope="module")
def olah(tmp_path_factory):
    """olah on 127.0.0.1, serving both repos from local git repositories; stopped after the module's tests."""
    command = olah_command()
    if command is None:
        message = f"olah {OLAH_VERSION} is not installed (nox installs it; or set OLAH_CLI to an olah-cli)"
        if os.environ.get("OLAH_REQUIRED"):
            pytest.fail(message)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("olah")
    for repo, lfs, splits in OLAH_REPOS.values():
        files = {f"data/{split}.jsonl": jsonl(rows) for split, rows in splits.items()}
        if repo == ZH_REPO:
            assert len(files["data/train.jsonl"]) > builder_class("align_anything_instruction").block_bytes
        files["README.md"] = f"---\nlicense: cc-by-nc-4.0\n---\n# {repo}\n".encode()
        make_repo(root / "mirrors", repo, files, lfs=lfs)
    mirror = OlahMirror(command, root / "mirrors", root / "work")
    yield mirror
    mirror.close()


def expected_rows(config):
    return {split: [list(row) for row in rows] for split, rows in OLAH_REPOS[config][2].items()}


@pytest.mark.parametrize("config", sorted(OLAH_REPOS))
def test_plain_loads_through_olah_cold_warm_and_offline_give_the_files(config, olah, tmp_path):
    for load in ("cold", "warm", "offline"):
        status, splits, stderr = stream(
            olah.endpoint, tmp_path, config, offline=load == "offline", streaming=False, shard_bytes=2**20
        )
        assert status == 0, f"{load} load: {splits}\n{olah.log_tail()}"
        assert {split: ranks[0] for split, ranks in splits.items()} == expected_rows(config), load


@pytest.mark.parametrize("world_size", [1, 3], ids=["shards", "ranks"])
@pytest.mark.parametrize("config", sorted(OLAH_REPOS))
def test_streams_through_olah_give_every_row_once(config, world_size, olah, tmp_path):
    status, splits, stderr = stream(olah.endpoint, tmp_path, config, world_size=world_size)
    assert status == 0, f"{splits}\n{olah.log_tail()}"
    for split, rows in expected_rows(config).items():
        assert as_rows(splits[split]) == collections.Counter(map(tuple, rows)), split
    # olah's mirror mode answers a ranged GET with the whole file: the train file is read whole, and said so.
    assert "it answered HTTP 200 with the whole file), so the file is read whole, as one shard" in stderr, stderr


def test_a_transfer_resumed_from_a_server_that_ignores_range_gives_every_row_once(upstream, tmp_path):
    """A server that ignores Range and drops the connection: the resumed request brings the file from byte 0 again,
    and the bytes that had already arrived are skipped (the network policy's resume), not read twice."""
    rows = jsonl_rows(150, "en")
    upstream.land_commit(EN_REPO, {"data/train.jsonl": jsonl(rows)})
    upstream.add_fault("/data/train.jsonl", "range-ignored-cut", sticky=True)
    # Reads of 1,000 bytes: the first ones arrive before the cut, so the client resumes from where it was.
    status, splits, stderr = stream(upstream.endpoint, tmp_path, block_bytes=1000)
    assert status == 0, splits
    assert [tuple(row) for row in splits["train"][0]] == rows
    assert "resuming in" in stderr and "[attempt 2/3]" in stderr, stderr[-2000:]


def test_a_streamed_file_whose_ranges_cannot_be_checked_is_refused_not_read_unchecked():
    """The per-read check needs fsspec's buffered file; any other file object fails in one line, saying what to do."""
    with pytest.raises(align.AlignAnythingIntegrityError) as caught:
        align.AlignAnythingInstruction._check_ranges(
            io.BytesIO(b'{"prompt": "p", "response": "r"}\n'), "https://mirror.test/train.jsonl"
        )
    assert str(caught.value) == (
        "https://mirror.test/train.jsonl: the byte ranges read from this file cannot be checked (BytesIO is not an "
        "fsspec buffered file); load without streaming, or pass data_dir= with a local copy"
    )


@pytest.mark.parametrize("sent", ["right", "short"])
def test_a_cache_that_would_bypass_the_check_is_replaced_by_one_that_reads_through_it(sent):
    """A file whose cache does not fetch through ``fetcher`` gets fsspec's read-ahead cache over the checked fetch."""
    content = bytes(range(200))

    class File:  # the parts of fsspec's AbstractBufferedFile the check uses
        size, blocksize = len(content), 64
        cache = fsspec.caching.MMapCache(64, lambda start, end: content[start:end], len(content))

        def _fetch_range(self, start, end):
            return content[start:end] if sent == "right" else content[start : end - 1]

    f = File()
    align.AlignAnythingInstruction._check_ranges(f, "https://mirror.test/train.jsonl")
    assert isinstance(f.cache, fsspec.caching.ReadAheadCache)
    if sent == "right":
        assert f.cache._fetch(10, 30) == content[10:30]
    else:
        with pytest.raises(align.AlignAnythingIntegrityError, match=r"asked for bytes 10-\d+ of 200, the server sent"):
            f.cache._fetch(10, 30)
