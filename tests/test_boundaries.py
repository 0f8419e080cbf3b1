"""Every read path gives a file's rows exactly, once each and in order, across every internal size.

Each reading size is a boundary where a line, a character or an escape can be cut in two. Align-Anything:
``block_bytes`` (what is read and parsed at a time), ``parse_block_bytes`` (pyarrow's tasks), ``shard_bytes`` (byte
ranges), ``hash_chunk_bytes`` (the SHA-256 check of a Hub download) and ``range_probe_bytes``; alpha: ``chunk_bytes``
(what is read, decoded and hashed at a time) and ``batch_rows``. The files here are written so that boundaries fall
inside a multi-byte UTF-8 character, a ``\\uXXXX`` escape and a surrogate pair, between the ``\\r`` and ``\\n`` of a
line end, just before and just after a newline, at every byte of each; one file starts with a BOM and holds lines
longer than a block. With the sizes shrunk, a few dozen KB cross each boundary dozens of times.

The paths: Align-Anything read from a local ``data_dir`` (plain, streaming, ``num_proc=2``), and through a loopback
Hub (``HF_ENDPOINT``; tests/fake_upstream.py) plain, streamed in byte ranges, streamed whole in one stream, and from
a server that ignores ``Range`` (so read whole, with a warning), one stream and three ``split_dataset_by_node`` ranks;
alpha from a local ``data_dir`` and from a plain file server, plain and streaming. Each must give ``json.loads`` of
every line (or item), in order; a bad line after many blocks must be named by its number, on every path. A property
test does the same over generated files and sizes. tests/test_real_size.py streams files of the real sizes with
the real default sizes.
"""

import collections
import json
import sys

import pytest
from fake_upstream import FakeUpstream
from helpers import LoadWorker, error_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from instruction_datasets import builder_class, load

ALIGN = "align_anything_instruction"
ALPHA = "instruction_tuning_alpha"
align = sys.modules[builder_class(ALIGN).__module__]
alpha = sys.modules[builder_class(ALPHA).__module__]

#: The sizes, shrunk: each is crossed dozens of times by a file of a few dozen KB.
ALIGN_SIZES = {"block_bytes": 4096, "parse_block_bytes": 1024, "hash_chunk_bytes": 1000, "range_probe_bytes": 16}
SHARD_BYTES = 12_000
ALPHA_SIZES = {"chunk_bytes": 1000, "batch_rows": 7}
BOM = b"\xef\xbb\xbf"

# --- Files that put every kind of cut at the boundaries. ---

# What a boundary falls into, as (bytes before it, bytes across it, bytes after it) of one JSON Lines record; the
# boundary falls after each byte of the middle part in turn (after all of it: the next line starts at the boundary).
ALIGN_FEATURES = [
    (b'{"prompt": "', "é".encode(), b'", "response": "r"}\n'),  # two-byte UTF-8
    (b'{"prompt": "p", "response": "', "问".encode(), b'"}\n'),  # three-byte UTF-8
    (b'{"prompt": "', "😀".encode(), b'", "response": "r"}\r\n'),  # four-byte UTF-8
    (b'{"prompt": "', b"\\u95ee", b'", "response": "r"}\n'),  # an escape
    (b'{"prompt": "p", "response": "', b"\\ud83d\\ude00", b'"}\n'),  # a surrogate pair
    (b'{"prompt": "p", "response": "', b'"}\r\n', b""),  # a line end: CR, then LF
    (b'{"prompt": "', b'", "response": "r"}\n', b""),  # just before and after a newline
]
ALPHA_FEATURES = [
    (b'["dahoas", "Q\\n\\nRosey: ', "é".encode(), b'"]'),
    (b'["synth_qa", "', "问".encode(), b'\\n\\nRosey: a"]'),
    (b'["conala", "', "😀".encode(), b'"]'),
    (b'["anthrop_helpful", "', b"\\u95ee", b'"]'),
    (b'["synth_code", "', b"\\ud83d\\ude00", b'"]'),
    (b'["anthrop_redteam", "', b'\\"], [\\"', b'"]'),  # the array's own punctuation inside a string
]
ALPHA_SEPARATORS = [b", ", b",\r\n", b",\n  "]


def boundaries(sizes, length: int) -> list[int]:
    return sorted({offset for size in sizes for offset in range(size, length, size)})


def across(start: bytes, targets: list[int], features, separators=(b"",), long_every=0, long_bytes=0) -> bytes:
    """Records (``features``) laid out so that each target offset falls inside one, after each byte of its middle
    part in turn; ASCII padding before the middle part puts it there. A target too close to the last one is left
    out. Every ``long_every``-th record is padded by ``long_bytes`` more, to make a line longer than a block."""
    out = bytearray(start)
    placed = 0
    for target in targets:
        head, middle, tail = features[placed % len(features)]
        before = placed // len(features) % len(middle) + 1  # bytes of ``middle`` that come before the target
        pad = target - before - len(out) - len(head)
        if pad < 0:
            continue
        if long_every and placed % long_every == long_every - 1:
            pad += long_bytes
        separator = separators[placed % len(separators)]
        out += head + b"x" * pad + middle + tail + separator
        placed += 1
    return bytes(out)


def align_file(length: int = 48_000, bom: bool = False, long_lines: bool = False) -> bytes:
    sizes = [*ALIGN_SIZES.values(), SHARD_BYTES]
    long = {"long_every": 11, "long_bytes": 3 * ALIGN_SIZES["block_bytes"]} if long_lines else {}
    return across(BOM if bom else b"", boundaries(sizes, length), ALIGN_FEATURES, **long)


def alpha_file(length: int = 30_000) -> bytes:
    body = across(b"[", boundaries([ALPHA_SIZES["chunk_bytes"]], length), ALPHA_FEATURES, ALPHA_SEPARATORS)
    return body.rstrip(b", \r\n") + b"]\n"


def align_rows(data: bytes) -> list[list[str]]:
    """``json.loads`` of every line that is not blank: what every path must give, in this order."""
    lines = data.removeprefix(BOM).split(b"\n")
    return [[row["prompt"], row["response"]] for row in map(json.loads, filter(bytes.strip, lines))]


def alpha_rows(data: bytes) -> list[list[str]]:
    return [list(pair) for pair in json.loads(data)]


TEST_SPLIT = b'{"prompt": "test prompt", "response": "test response"}\n'

ALIGN_CASES = {
    "features": align_file(),
    "bom and long lines": align_file(length=100_000, bom=True, long_lines=True),
}


def test_the_files_cross_each_boundary_with_each_kind_of_cut():
    """What the matrix claims of its files: each size is crossed often, and the files are valid."""
    for name, data in ALIGN_CASES.items():
        rows = align_rows(data)
        for size in [*ALIGN_SIZES.values(), SHARD_BYTES]:
            if size > 16:
                assert len(data) // size >= 3, (name, size)
        assert len(rows) > 80, name
    long_lines = ALIGN_CASES["bom and long lines"].split(b"\n")
    assert max(map(len, long_lines)) > 3 * ALIGN_SIZES["block_bytes"]
    assert ALIGN_CASES["bom and long lines"].startswith(BOM)
    assert b"\r\n" in ALIGN_CASES["features"]
    # A boundary between CR and LF, and one just after a newline, in the file every path reads.
    data, block = ALIGN_CASES["features"], ALIGN_SIZES["block_bytes"]
    cuts = {data[offset - 1 : offset + 1] for offset in range(block, len(data), 1000)} | {
        data[offset - 1 : offset + 1] for offset in boundaries([*ALIGN_SIZES.values(), SHARD_BYTES], len(data))
    }
    assert b"\r\n" in cuts and any(cut.startswith(b"\n") for cut in cuts)
    assert any(cut[0] >= 0x80 and cut[1] >= 0x80 for cut in cuts), "a boundary inside a UTF-8 character"
    pairs = alpha_rows(alpha_file())
    assert len(pairs) > 20 and len(alpha_file()) // ALPHA_SIZES["chunk_bytes"] >= 20


# --- The paths. ---


def bad_line(data: bytes, number: int) -> bytes:
    """``data`` with line ``number`` (1-based) made invalid JSON."""
    lines = data.split(b"\n")
    lines[number - 1] = b'{"prompt": "unterminated'
    return b"\n".join(lines)


BAD_LINE = 140  # past several blocks of ALIGN_CASES["features"]


@pytest.fixture(scope="module")
def hubs(tmp_path_factory):
    """Two loopback Hubs holding one repo per case, each with a worker process whose HF_ENDPOINT points at it: one
    answers as the Hub does, the other ignores ``Range`` (200 with the whole file, as olah's mirror mode)."""
    servers = {"hub": FakeUpstream(), "range ignored": FakeUpstream()}
    servers["range ignored"].add_fault(".jsonl", "range-ignored", sticky=True)
    files = dict(ALIGN_CASES, **{"bad line": bad_line(ALIGN_CASES["features"], BAD_LINE), "empty": b"", "deep": DEEP})
    for server in servers.values():
        for index, data in enumerate(files.values()):
            server.add_repo(f"boundaries/case-{index}", {"data/train.jsonl": data, "data/test.jsonl": TEST_SPLIT})
        server.serve("/alpha/" + alpha.InstructionTuningAlpha.PARTS["part1"][0], alpha_file())
    workers = {}
    for name, server in servers.items():
        workers[name] = LoadWorker(server.endpoint, tmp_path_factory.mktemp(name.replace(" ", "-")))
    repos = {case: f"boundaries/case-{index}" for index, case in enumerate(files)}
    yield servers, workers, repos
    for worker in workers.values():
        worker.close()
    for server in servers.values():
        server.close()


#: The Hub paths: (server, streaming, shard_bytes, ranks). "whole" reads the file in one stream.
HUB_PATHS = {
    "hub plain": ("hub", False, SHARD_BYTES, 1),
    "hub streaming ranged": ("hub", True, SHARD_BYTES, 1),
    "hub streaming ranged, 3 ranks": ("hub", True, SHARD_BYTES, 3),
    "hub streaming whole": ("hub", True, 2**30, 1),
    "hub streaming, Range ignored": ("range ignored", True, SHARD_BYTES, 1),
    "hub streaming, Range ignored, 3 ranks": ("range ignored", True, SHARD_BYTES, 3),
}
LOCAL_PATHS = {"local plain": {}, "local streaming": {"streaming": True}, "local num_proc=2": {"num_proc": 2}}


def load_local(folder, monkeypatch, data: bytes, sizes=ALIGN_SIZES, shard_bytes=SHARD_BYTES, **options) -> list:
    """Rows of a local copy of ``data`` in ``folder``, read with ``sizes``."""
    for name, value in sizes.items():
        monkeypatch.setattr(builder_class(ALIGN), name, value)
    (folder / "d" / "data").mkdir(parents=True, exist_ok=True)
    (folder / "d" / "data" / "train.jsonl").write_bytes(data)
    (folder / "d" / "data" / "test.jsonl").write_bytes(TEST_SPLIT)
    dataset = load(
        ALIGN, "en", split="train", data_dir=folder / "d", cache_dir=folder / "c", shard_bytes=shard_bytes, **options
    )
    return [[row["prompt"], row["response"]] for row in dataset]


def load_hub(hubs, tmp_path, path: str, case: str) -> dict:
    servers, workers, repos = hubs
    server, streaming, shard_bytes, ranks = HUB_PATHS[path]
    kwargs = {"hub_repo": repos[case], "shard_bytes": shard_bytes, "cache_dir": str(tmp_path / "c")}
    return workers[server].load(
        script=ALIGN, config="en", streaming=streaming, world_size=ranks, knobs=ALIGN_SIZES, kwargs=kwargs
    )


def assert_ranks_hold(ranks: list, rows: list) -> None:
    """The ranks hold every row once, and each rank its rows in file order."""
    assert collections.Counter(map(tuple, (row for rank in ranks for row in rank))) == collections.Counter(
        map(tuple, rows)
    )
    for rank in ranks:  # a subsequence of the file's rows (rows may repeat)
        remaining = iter(rows)
        assert all(any(row == other for other in remaining) for row in rank)


@pytest.mark.parametrize("case", ALIGN_CASES)
@pytest.mark.parametrize("path", LOCAL_PATHS)
def test_local_paths_give_every_row_in_order(path, case, tmp_path, monkeypatch):
    assert load_local(tmp_path, monkeypatch, ALIGN_CASES[case], **LOCAL_PATHS[path]) == align_rows(ALIGN_CASES[case])


@pytest.mark.parametrize("case", ALIGN_CASES)
@pytest.mark.parametrize("path", HUB_PATHS)
def test_hub_paths_give_every_row_in_order(path, case, hubs, tmp_path):
    answer = load_hub(hubs, tmp_path, path, case)
    assert "error" not in answer, answer.get("error")
    rows = align_rows(ALIGN_CASES[case])
    if len(answer["ranks"]) == 1:
        assert answer["ranks"][0] == rows
    else:
        assert_ranks_hold(answer["ranks"], rows)
        assert all(answer["ranks"]), "every rank has rows"


@pytest.mark.parametrize("path", [*LOCAL_PATHS, *(path for path, (*_, ranks) in HUB_PATHS.items() if ranks == 1)])
def test_a_bad_line_past_many_blocks_is_named_by_its_number(path, hubs, tmp_path, monkeypatch):
    data = bad_line(ALIGN_CASES["features"], BAD_LINE)
    if path in LOCAL_PATHS:
        with pytest.raises(Exception) as caught:
            load_local(tmp_path, monkeypatch, data, **LOCAL_PATHS[path])
        message = error_text(caught.value)
        where = f"{tmp_path / 'd' / 'data' / 'train.jsonl'}, line {BAD_LINE}: invalid JSON ("
    else:
        servers, _, repos = hubs
        message = load_hub(hubs, tmp_path, path, "bad line")["error"]
        commit = servers[HUB_PATHS[path][0]].repos[repos["bad line"]].branches["main"]
        url = f"{servers[HUB_PATHS[path][0]].endpoint}/datasets/{repos['bad line']}/resolve/{commit}/data/train.jsonl"
        where = f"{url}, line {BAD_LINE}: invalid JSON ("
    assert f"AlignAnythingFormatError: {where}" in message, message


# A line whose undeclared key nests 20,000 deep: pyarrow's type inference would crash the process on it.
DEEP = ALIGN_CASES["features"] + b'{"prompt": "p", "response": "r", "x": ' + b"[" * 20_000 + b"]" * 20_000 + b"}\n"


@pytest.mark.parametrize("path", [*LOCAL_PATHS, *(path for path, (*_, ranks) in HUB_PATHS.items() if ranks == 1)])
def test_a_line_nested_too_deep_fails_in_one_line_on_every_path(path, hubs, tmp_path, monkeypatch):
    number = DEEP.count(b"\n")
    if path in LOCAL_PATHS:
        with pytest.raises(Exception) as caught:
            load_local(tmp_path, monkeypatch, DEEP, **LOCAL_PATHS[path])
        message = error_text(caught.value)
        where = str(tmp_path / "d" / "data" / "train.jsonl")
    else:
        servers, _, repos = hubs
        server = servers[HUB_PATHS[path][0]]
        message = load_hub(hubs, tmp_path, path, "deep")["error"]
        commit = server.repos[repos["deep"]].branches["main"]
        where = f"{server.endpoint}/datasets/{repos['deep']}/resolve/{commit}/data/train.jsonl"
    expected = f"{where}, line {number}: JSON nested too deeply to parse; expected a flat object"
    assert f"AlignAnythingFormatError: {expected}" in message, message  # plain: datasets wraps it, or quotes it


@pytest.mark.parametrize("path", ["local plain", "local streaming", "hub plain", "hub streaming ranged"])
def test_an_empty_file_fails_in_one_line_naming_it(path, hubs, tmp_path, monkeypatch):
    """No silent empty split: every upstream split has rows, so an empty file is a broken copy."""
    expected = "the file is empty; expected JSON Lines, one object per line with string keys 'prompt' and 'response'"
    if path in LOCAL_PATHS:
        with pytest.raises(Exception) as caught:
            load_local(tmp_path, monkeypatch, b"", **LOCAL_PATHS[path])
        message = error_text(caught.value)
        where = str(tmp_path / "d" / "data" / "train.jsonl")
    else:
        servers, _, repos = hubs
        message = load_hub(hubs, tmp_path, path, "empty")["error"]
        commit = servers["hub"].repos[repos["empty"]].branches["main"]
        where = f"{servers['hub'].endpoint}/datasets/{repos['empty']}/resolve/{commit}/data/train.jsonl"
    assert message.splitlines()[0] == f"AlignAnythingFormatError: {where}: {expected}", message


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streaming"])
@pytest.mark.parametrize("origin", ["local", "file server"])
def test_alpha_gives_every_item_in_order(origin, streaming, hubs, tmp_path, monkeypatch):
    data = alpha_file()
    name = alpha.InstructionTuningAlpha.PARTS["part1"][0]
    if origin == "local":
        for knob, value in ALPHA_SIZES.items():
            monkeypatch.setattr(builder_class(ALPHA), knob, value)
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / name).write_bytes(data)
        dataset = load(
            ALPHA, "part1", split="train", data_dir=tmp_path / "d", cache_dir=tmp_path / "c", streaming=streaming
        )
        rows = [[row["source"], row["text"]] for row in dataset]
    else:
        servers, workers, _ = hubs
        kwargs = {"base_url": servers["hub"].endpoint + "/alpha", "verify_hashes": False, "cache_dir": str(tmp_path)}
        answer = workers["hub"].load(
            script=ALPHA,
            config="part1",
            streaming=streaming,
            knobs=ALPHA_SIZES,
            kwargs=kwargs,
            columns=["source", "text"],
        )
        assert "error" not in answer, answer.get("error")
        (rows,) = answer["ranks"]
    assert rows == alpha_rows(data)


# --- Any file, any sizes. ---

# Any Unicode text but lone surrogates, which no UTF-8 file can hold; weighted towards multi-byte characters.
TEXT = st.text(st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from('é问😀\r\n\\"')), max_size=60)


@st.composite
def jsonl_files(draw) -> bytes:
    rows = draw(st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=30))
    ends = st.sampled_from([b"\n", b"\r\n", b"\n\n", b" \n"])  # a blank line or trailing space after some
    lines = [
        json.dumps({"prompt": prompt, "response": response}, ensure_ascii=draw(st.booleans())).encode() + draw(ends)
        for prompt, response in rows
    ]
    if draw(st.booleans()):  # one line longer than any block drawn below
        lines.insert(
            draw(st.integers(0, len(lines))), json.dumps({"prompt": "L" * 700, "response": "é"}).encode() + b"\n"
        )
    return (BOM if draw(st.booleans()) else b"") + b"".join(lines)


#: Lines nested 20,000 deep, in an undeclared key (which pyarrow's inference would crash on) or in the prompt.
DEEP_LINES = [
    b'{"prompt": "p", "response": "r", "x": ' + b"[" * 20_000 + b"]" * 20_000 + b"}\n",
    b'{"prompt": ' + b'{"a": ' * 20_000 + b"1" + b"}" * 20_000 + b', "response": "r"}\n',
]


@st.composite
def files_with_a_deep_line(draw) -> tuple:
    """(a drawn file with one deep line in it, that line's number)."""
    data = draw(jsonl_files())
    ends = [i + 1 for i, byte in enumerate(data) if byte == 0x0A]
    cut = draw(st.sampled_from([0, *ends]))
    cut = max(cut, len(BOM)) if data.startswith(BOM) else cut
    return data[:cut] + draw(st.sampled_from(DEEP_LINES)) + data[cut:], data[:cut].count(b"\n") + 1


SIZES = st.fixed_dictionaries(
    {
        "block_bytes": st.integers(1, 600),
        "parse_block_bytes": st.integers(1, 600),
        "hash_chunk_bytes": st.integers(1, 600),
        "range_probe_bytes": st.integers(1, 40),
    }
)

PROPERTY_PATHS = ["hub plain", "hub streaming ranged", "hub streaming whole", "hub streaming, Range ignored"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=jsonl_files(), sizes=SIZES, shard_bytes=st.integers(32, 900))
def test_every_path_gives_json_loads_of_every_line_whatever_the_file_and_sizes(
    data, sizes, shard_bytes, hubs, tmp_path_factory
):
    expected = align_rows(data)
    servers, workers, repos = hubs
    repo = f"boundaries/drawn-{len(servers['hub'].repos)}"
    for server in servers.values():
        server.add_repo(repo, {"data/train.jsonl": data, "data/test.jsonl": TEST_SPLIT})
    with pytest.MonkeyPatch.context() as monkeypatch:
        for path in ("local plain", "local streaming"):  # num_proc=2 runs local plain's reader in two processes
            folder = tmp_path_factory.mktemp("drawn")
            assert load_local(folder, monkeypatch, data, sizes, shard_bytes, **LOCAL_PATHS[path]) == expected, path
    for path in PROPERTY_PATHS:
        server, streaming, _, _ = HUB_PATHS[path]
        whole = path == "hub streaming whole"
        kwargs = {
            "hub_repo": repo,
            "shard_bytes": 2**30 if whole else shard_bytes,
            "cache_dir": str(tmp_path_factory.mktemp("drawn-cache")),
        }
        answer = workers[server].load(script=ALIGN, config="en", streaming=streaming, knobs=sizes, kwargs=kwargs)
        assert answer == {"ranks": [expected]}, path


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=files_with_a_deep_line(), sizes=SIZES, shard_bytes=st.integers(32, 900))
def test_a_deep_line_anywhere_fails_in_one_line_naming_it_on_every_path(
    drawn, sizes, shard_bytes, hubs, tmp_path_factory
):
    data, number = drawn
    expected = f"line {number}: JSON nested too deeply to parse; expected a flat object"
    servers, workers, repos = hubs
    repo = f"boundaries/deep-{len(servers['hub'].repos)}"
    for server in servers.values():
        server.add_repo(repo, {"data/train.jsonl": data, "data/test.jsonl": TEST_SPLIT})
    with pytest.MonkeyPatch.context() as monkeypatch:
        for path in ("local plain", "local streaming"):
            with pytest.raises(Exception) as caught:
                load_local(tmp_path_factory.mktemp("deep"), monkeypatch, data, sizes, shard_bytes, **LOCAL_PATHS[path])
            assert expected in error_text(caught.value), path
    for path in PROPERTY_PATHS:
        server, streaming, _, _ = HUB_PATHS[path]
        kwargs = {
            "hub_repo": repo,
            "shard_bytes": 2**30 if path == "hub streaming whole" else shard_bytes,
            "cache_dir": str(tmp_path_factory.mktemp("deep-cache")),
        }
        answer = workers[server].load(script=ALIGN, config="en", streaming=streaming, knobs=sizes, kwargs=kwargs)
        assert expected in answer.get("error", "").splitlines()[0], (path, answer.get("error", "")[:500])
