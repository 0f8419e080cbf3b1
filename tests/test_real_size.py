"""Files of the real sizes, read with the real default sizes, through a loopback Hub.

The real ``en`` train file is 223 MB and ``zh``'s 94.4 MB: larger than ``block_bytes`` (10 MiB), and than
``shard_bytes`` (64 MiB), which test_boundaries.py crosses only with the sizes shrunk. Here, with nothing shrunk, a
24 MB file (one shard, so streamed whole in one stream) and a 150 MB one (three byte ranges) are streamed from a
server that answers ``Range`` as the Hub does and from one that ignores it (read whole, as behind olah), as one stream
and as three ``split_dataset_by_node`` ranks, and the 150 MB one is loaded plain too. Each must give the file's rows
exactly: their count, a SHA-256 of them in order (one stream), and the sum of their hashes (ranks).

Marked ``real_size``: nox runs it once, on the newest ``datasets`` (the boundary matrix runs on every line).
"""

import json

import pytest
from fake_upstream import FakeUpstream
from helpers import LoadWorker, rows_digest

pytestmark = [pytest.mark.slow, pytest.mark.real_size]

ALIGN = "align_anything_instruction"
TEST_SPLIT = b'{"prompt": "test prompt", "response": "test response"}\n'
WORDS = ["instruction", "résumé", "tuning", "数据", "response", "assistant", "😀", "because", "\t", "the"]


def en_file(target_bytes: int) -> bytes:
    """JSON Lines of about ``target_bytes``: rows of many lengths, some with non-ASCII text written raw, some
    escaped (``\\uXXXX``), as the real files hold."""
    lines, size, index = [], 0, 0
    while size < target_bytes:
        prompt = f"Question {index}: " + " ".join(WORDS[(index + k) % len(WORDS)] for k in range(index % 60))
        response = f"Answer {index}. " + "Lorem ipsum dolor sit amet. " * (index % 37)
        line = json.dumps({"prompt": prompt, "response": response}, ensure_ascii=index % 3 == 0).encode() + b"\n"
        lines.append(line)
        size += len(line)
        index += 1
    return b"".join(lines)


def expected(data: bytes) -> dict:
    return rows_digest([row["prompt"], row["response"]] for row in map(json.loads, data.splitlines()))


SIZES = {"24 MB": 24_000_000, "150 MB": 150_000_000}


@pytest.fixture(scope="module")
def real_size(tmp_path_factory):
    """Two loopback Hubs (one ignores ``Range``) with a repo per size, a worker behind each, and each file's
    expected digest."""
    files = {name: en_file(size) for name, size in SIZES.items()}
    digests = {name: expected(data) for name, data in files.items()}
    servers = {"Range honoured": FakeUpstream(), "Range ignored": FakeUpstream()}
    servers["Range ignored"].add_fault(".jsonl", "range-ignored", sticky=True)
    for server in servers.values():
        for name, data in files.items():
            server.add_repo(
                f"real-size/{name.replace(' ', '-')}", {"data/train.jsonl": data, "data/test.jsonl": TEST_SPLIT}
            )
    workers = {
        name: LoadWorker(server.endpoint, tmp_path_factory.mktemp("real-size")) for name, server in servers.items()
    }
    yield workers, digests
    for worker in workers.values():
        worker.close()
    for server in servers.values():
        server.close()


@pytest.mark.parametrize("ranks", [1, 3], ids=["one stream", "3 ranks"])
@pytest.mark.parametrize("server", ["Range honoured", "Range ignored"])
@pytest.mark.parametrize("size", SIZES)
def test_a_real_size_file_streams_every_row_once(size, server, ranks, real_size, tmp_path):
    workers, digests = real_size
    answer = workers[server].load(
        script=ALIGN,
        config="en",
        streaming=True,
        world_size=ranks,
        digest=True,
        kwargs={"hub_repo": f"real-size/{size.replace(' ', '-')}", "cache_dir": str(tmp_path)},
    )
    assert "error" not in answer, answer.get("error")
    got, want = answer["ranks"], digests[size]
    if ranks == 1:
        assert got == [want]
    else:
        assert sum(rank["rows"] for rank in got) == want["rows"]
        assert sum(rank["sum"] for rank in got) % 2**64 == want["sum"]
        assert all(rank["rows"] for rank in got), "every rank has rows"


def test_a_real_size_file_loads_plain(real_size, tmp_path):
    """Downloaded, checked by SHA-256 in chunks of the real size, and prepared in ranges of the real size."""
    workers, digests = real_size
    answer = workers["Range honoured"].load(
        script=ALIGN, config="en", digest=True, kwargs={"hub_repo": "real-size/150-MB", "cache_dir": str(tmp_path)}
    )
    assert answer == {"ranks": [digests["150 MB"]]}


def test_a_stalled_server_with_the_default_settings_is_warned_about_in_30_s_and_fails_within_2_minutes(tmp_path):
    """The fault matrix (test_faults.py) shrinks the stall time on every read path; here the defaults run, once: a
    server that sends alpha's file's headers and then nothing (plain, where aiohttp's defaults once waited about
    15 minutes)."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    server = FakeUpstream()
    try:
        loads = {
            "alpha": f"load('instruction_tuning_alpha', 'part1', split='train', base_url={server.alpha_base_url!r}, "
            f"verify_hashes=False, cache_dir={str(tmp_path / 'alpha')!r})",
        }
        server.add_fault("instruction_tuning_dataset_alpha_part1.json", "stall", sticky=True)
        env = {key: value for key, value in os.environ.items() if not key.startswith("INSTRUCTION_DATASETS_")}
        env.update(HF_ENDPOINT=server.endpoint, HF_HOME=str(tmp_path / "hf"))
        for name, call in loads.items():
            code = f"from instruction_datasets import load\n{call}\n"
            started = time.monotonic()
            run = subprocess.Popen(
                [sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parent
            )
            warned = None
            lines = []
            for line in run.stderr:
                lines.append(line)
                if warned is None and "no byte for 30 s" in line and "[attempt 2/3]" in line:
                    warned = time.monotonic() - started
            run.wait(timeout=200)
            took = time.monotonic() - started
            assert run.returncode == 1, name
            assert warned is not None and warned <= 30 + 10, (name, warned)  # 10 s for the process to start
            assert took <= 120, (name, took)
            last = [line for line in lines if "ConnectionError" in line][-1]
            assert "cannot connect (no byte for 30 s; 0 of" in last and "after 3 attempts" in last, last
    finally:
        server.close()
