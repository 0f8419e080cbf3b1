"""load()'s keywords that `load_dataset` takes too: each means what it means to `load_dataset` on 3.x.

Where `datasets` still runs scripts (3.x), each test makes the same call through `datasets.load_dataset(script)` and
checks that both give the same rows, features, in-memory state, warning or error. Each also checks what the README
promises outright, so that on 4.x and later, where `load_dataset` refuses scripts, load() alone is held to it.
"""

import os
import subprocess
import sys
import warnings

import datasets
import pyarrow as pa
import pytest
from datasets.table import CastError
from fake_upstream import ALPHA_PREFIX
from helpers import RUNS_SCRIPTS, run_fresh

from instruction_datasets import builder_class, load, script_path
from instruction_datasets.loading import sample_dir

ALIGN, ALPHA = "align_anything_instruction", "instruction_tuning_alpha"
DECLARED = builder_class(ALIGN).FEATURES
TOKEN = "hf_given_by_keyword"


def load_dataset(script, config, **kwargs):
    """`datasets.load_dataset` on the script, as a 3.x user calls it."""
    return datasets.load_dataset(str(script_path(script)), config, trust_remote_code=True, **kwargs)


def outcome(call, **kwargs):
    """What a call gives: ("rows", features, column order, rows) or ("error", type, its cause's type, message)."""
    try:
        dataset = call(ALIGN, "en", split="train", data_dir=str(sample_dir(ALIGN, "en")), **kwargs)
        rows = list(dataset)
    except Exception as err:
        cause = type(err.__cause__).__name__ if err.__cause__ is not None else None
        return "error", type(err), cause, str(err)
    return "rows", dataset.features, [list(row) for row in rows], rows


def with_type(name, value):
    return datasets.Features({key: value if key == name else feature for key, feature in DECLARED.items()})


# What load_dataset 3.6 does with `features=` on this script (measured): a type the values cast to, another column
# order, or a column the rows lack (filled with nulls) is applied; a column missing from them, or a type they do not
# cast to, fails; plain and streaming fail with different errors, as load_dataset's do.
COMPATIBLE = {
    "large_string": with_type("prompt", datasets.Value("large_string")),
    "reordered": datasets.Features({key: DECLARED[key] for key in reversed(list(DECLARED))}),
    "added_column": datasets.Features({**DECLARED, "source": datasets.Value("string")}),
}
INCOMPATIBLE = {  # features, (plain error, its cause), (streaming error, its cause)
    "missing_column": (
        datasets.Features({key: DECLARED[key] for key in ("prompt", "response")}),
        (datasets.exceptions.DatasetGenerationCastError, None),
        (CastError, None),
    ),
    "uncastable_type": (
        with_type("prompt", datasets.Value("int64")),
        (datasets.exceptions.DatasetGenerationError, "ArrowInvalid"),
        (pa.ArrowInvalid, None),
    ),
}


@pytest.mark.parametrize("case", sorted(COMPATIBLE))
def test_features_that_fit_cast_every_row_as_load_dataset_does(case, streaming, tmp_path):
    features = COMPATIBLE[case]
    kind, got_features, columns, rows = outcome(load, features=features, streaming=streaming, cache_dir=tmp_path / "a")
    assert kind == "rows", rows
    assert got_features == features and list(got_features) == list(features)
    plain = list(load(ALIGN, "en", split="train", data_dir=sample_dir(ALIGN, "en"), cache_dir=tmp_path / "declared"))
    assert [{key: row[key] for key in plain[0]} for row in rows] == plain  # the same values, cast
    if case == "added_column":
        assert all(row["source"] is None for row in rows)
    # Plain rows follow the given column order; streamed rows keep the script's (load_dataset's do the same).
    assert columns[0] == (list(features) if not streaming else [*DECLARED, *(set(features) - set(DECLARED))])
    if RUNS_SCRIPTS:
        theirs = outcome(load_dataset, features=features, streaming=streaming, cache_dir=str(tmp_path / "theirs"))
        assert theirs == (kind, got_features, columns, rows)


@pytest.mark.parametrize("case", sorted(INCOMPATIBLE))
def test_features_that_do_not_fit_fail_as_load_dataset_fails(case, streaming, tmp_path):
    features, plain_error, streamed_error = INCOMPATIBLE[case]
    kind, error, cause, message = outcome(load, features=features, streaming=streaming, cache_dir=tmp_path / "a")
    assert (kind, error, cause) == ("error", *(streamed_error if streaming else plain_error)), message
    if RUNS_SCRIPTS:
        theirs = outcome(load_dataset, features=features, streaming=streaming, cache_dir=str(tmp_path / "theirs"))
        assert theirs[:3] == (kind, error, cause)
        assert message.startswith(theirs[3].split(":", 1)[0])  # load() adds the cause to a generic message


def test_features_get_a_cache_folder_of_their_own(tmp_path):
    data_dir = sample_dir(ALIGN, "en")
    cast = load(ALIGN, "en", split="train", data_dir=data_dir, cache_dir=tmp_path, features=COMPATIBLE["reordered"])
    declared = load(ALIGN, "en", split="train", data_dir=data_dir, cache_dir=tmp_path)
    assert list(declared.features) == list(DECLARED) and list(cast.features) == list(COMPATIBLE["reordered"])
    assert cast.cache_files[0]["filename"] != declared.cache_files[0]["filename"]


@pytest.mark.parametrize(
    ("keep_in_memory", "max_size", "in_memory"),
    [(True, 0, True), (False, 0, False), (None, 0, False), (None, 2**30, True), (False, 2**30, False)],
    ids=["true", "false", "default", "default-small-dataset", "false-small-dataset"],
)
def test_keep_in_memory_and_its_default_as_load_dataset(keep_in_memory, max_size, in_memory, tmp_path, monkeypatch):
    """In memory, a split has no cache files; when omitted, `datasets.config.IN_MEMORY_MAX_SIZE` decides."""
    monkeypatch.setattr(datasets.config, "IN_MEMORY_MAX_SIZE", max_size)
    data_dir = sample_dir(ALIGN, "en")
    ours = load(ALIGN, "en", data_dir=data_dir, cache_dir=tmp_path / "ours", keep_in_memory=keep_in_memory)
    assert in_memory_splits(ours) == {"train": in_memory, "test": in_memory}
    streamed = load(ALIGN, "en", data_dir=data_dir, streaming=True, keep_in_memory=keep_in_memory)
    assert isinstance(streamed, datasets.IterableDatasetDict)  # streaming keeps nothing, in memory or not
    if RUNS_SCRIPTS:
        theirs = load_dataset(
            ALIGN, "en", data_dir=str(data_dir), cache_dir=str(tmp_path / "theirs"), keep_in_memory=keep_in_memory
        )
        assert in_memory_splits(theirs) == in_memory_splits(ours)
        assert {split: list(rows) for split, rows in theirs.items()} == {
            split: list(rows) for split, rows in ours.items()
        }


def in_memory_splits(dataset_dict) -> dict:
    """Per split, whether its table is in memory: a split read from its Arrow files lists them in `cache_files`."""
    return {split: not dataset.cache_files for split, dataset in dataset_dict.items()}


@pytest.mark.parametrize("value", [True, False])
def test_trust_remote_code_is_ignored_with_one_warning(value, tmp_path):
    data_dir = sample_dir(ALIGN, "en")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = load(ALIGN, "en", split="train", data_dir=data_dir, cache_dir=tmp_path, trust_remote_code=value)
    about_it = [str(warning.message) for warning in caught if "trust_remote_code" in str(warning.message)]
    assert about_it == [
        f"load() ignores trust_remote_code={value}: it is not needed, as load() runs the shipped script itself "
        "(only datasets.load_dataset on 3.x asks for it)"
    ]
    assert list(ours) == list(load(ALIGN, "en", split="train", data_dir=data_dir, cache_dir=tmp_path))


@pytest.mark.skipif(not RUNS_SCRIPTS, reason="datasets 4+ does not run scripts from load_dataset")
def test_load_dataset_ignores_revision_for_a_local_script_as_the_error_of_load_says(tmp_path):
    """load() refuses `revision=` (tests/test_error_messages.py) and says why: 3.x loads the same rows with any."""
    data_dir = str(sample_dir(ALIGN, "en"))
    with_revision = load_dataset(ALIGN, "en", split="train", data_dir=data_dir, cache_dir=str(tmp_path), revision="v0")
    assert list(with_revision) == list(load(ALIGN, "en", split="train", data_dir=data_dir, cache_dir=tmp_path / "o"))


# --- Keywords that reach the servers: the fake upstream (tests/fake_upstream.py) records what it was sent. --------


def hub_reads(upstream):
    """The Authorization header of every request to the loopback Hub (its API and its files), POSTs included."""
    gets = [(method, path, auth) for method, path, _, auth in upstream.reads if not path.startswith(ALPHA_PREFIX)]
    return {auth for *_, auth in gets} | set(upstream.authorizations), gets


@pytest.mark.parametrize("token", [TOKEN, None], ids=["token", "no-token"])
def test_a_token_goes_with_every_request_to_the_hub_from_load(token, upstream, tmp_path, streaming, monkeypatch):
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    request = {
        "script": ALIGN,
        "configs": ["en"],
        "streaming": streaming,
        "cache_dir": str(tmp_path / "datasets"),
        "kwargs": {"token": token, "shard_bytes": 300} if token else {"shard_bytes": 300},
    }
    status, payload, _ = run_fresh(request, upstream.endpoint, tmp_path)
    assert status == 0, payload
    assert len(payload["rows"]["en"]["train"]) == 5
    authorizations, gets = hub_reads(upstream)
    assert any("/resolve/" in path for _, path, _ in gets) and any(path.startswith("/api/") for _, path, _ in gets)
    assert authorizations == ({f"Bearer {token}"} if token else {None}), gets


@pytest.mark.skipif(not RUNS_SCRIPTS, reason="datasets 4+ does not run scripts from load_dataset")
def test_a_token_goes_with_every_request_to_the_hub_from_load_dataset(upstream, tmp_path, streaming):
    code = (
        "import datasets\n"
        f"rows = datasets.load_dataset({str(script_path(ALIGN))!r}, 'en', split='train', streaming={streaming}, "
        f"cache_dir={str(tmp_path / 'datasets')!r}, token={TOKEN!r}, shard_bytes=300, trust_remote_code=True)\n"
        "print(sum(1 for _ in rows))\n"
    )
    env = {key: value for key, value in os.environ.items() if key not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(HF_ENDPOINT=upstream.endpoint, HF_HOME=str(tmp_path / "hf"))
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split() == ["5"]
    authorizations, gets = hub_reads(upstream)
    assert any("/resolve/" in path for _, path, _ in gets) and any(path.startswith("/api/") for _, path, _ in gets)
    assert authorizations == {f"Bearer {TOKEN}"}, gets


STORAGE_OPTIONS = {"http": {"headers": {"X-Storage-Option": "given"}}}


@pytest.mark.parametrize("storage_options", [STORAGE_OPTIONS, None], ids=["given", "none"])
def test_storage_options_reach_the_file_system_of_every_download(storage_options, upstream, tmp_path, streaming):
    """Alpha's files over HTTP: the options for the `http` protocol are the headers of every request."""
    kwargs = {"base_url": upstream.alpha_base_url, "verify_hashes": False, "storage_options": storage_options}
    calls = {"load": lambda **extra: load(ALPHA, "part1", split="train", **kwargs, **extra)}
    if RUNS_SCRIPTS:
        calls["load_dataset"] = lambda **extra: load_dataset(ALPHA, "part1", split="train", **kwargs, **extra)
    local = list(load(ALPHA, "part1", split="train", data_dir=sample_dir(ALPHA, "part1"), cache_dir=tmp_path / "l"))
    for caller, call in calls.items():
        before = len(upstream.read_headers)
        rows = list(call(streaming=streaming, cache_dir=str(tmp_path / caller)))
        assert rows == local, caller
        sent = [headers.get("X-Storage-Option") for path, headers in upstream.read_headers[before:]]
        assert sent, caller
        assert set(sent) == ({"given"} if storage_options else {None}), caller
