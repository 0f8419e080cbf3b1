"""Through servers that are not the Hub: each row exactly once, or one clear error.

- The fake Hub (tests/fake_upstream.py) with each thing a server may do with ``Range``: streams with several
  shards and with several ranks (``split_dataset_by_node``) give every row of the file once.
"""

import collections
import json

import pytest
from conftest import run_fresh

EN_REPO = "PKU-Alignment/Align-Anything-Instruction-100K"


def jsonl_rows(count: int, seed: str) -> list[tuple[str, str]]:
    """Rows of varied lengths, with multi-byte characters, so that byte ranges end anywhere in a line."""
    return [(f"{seed} prompt {i} " + "问题" * (i % 7), f"response {i} " + "x" * (i * 13 % 97)) for i in range(count)]


def jsonl(rows) -> bytes:
    return "".join(json.dumps({"prompt": p, "response": r}, ensure_ascii=False) + "\n" for p, r in rows).encode()


def stream(endpoint, home, config="en", world_size=1, shard_bytes=1000, offline=False):
    """(exit status, {split: rows of each rank} or the error text, stderr) of a stream in a fresh process."""
    request = {
        "config": config,
        "streaming": True,
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
