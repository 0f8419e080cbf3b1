"""Downloads through the real download code, and what a user sees when the network fails.

Each load runs in a fresh process (tests/load_runner.py) with HF_ENDPOINT, HF_HOME and the offline switches set as
a user would set them, against 127.0.0.1 only: the loopback Hub and GitHub (tests/fake_upstream.py), a closed port,
or a host name the runner's resolver refuses (no name is looked up).

- Loads: every config gives the rows the same samples give from `data_dir`, plain and streaming, fetching only
  the expected paths; each fault the README lists (a missing file, a server error, a cut body, altered bytes,
  offline with a warm or a cold cache) ends in the rows or in one error.
- Failures: one line naming the URL, the kind of failure, and what to do. Kinds: not found (404, or the 401
  RepoNotFound olah answers; not retried), cannot connect (refused, reset, timed out, host name not resolved) and
  server error (5xx, 429); the last two are retried. Timeouts are sorted by error type only: a server that never
  answers costs a minute of client timeouts per load. What to do names only parameters the script has, and each
  is followed by a load that works.
"""

import asyncio
import dataclasses
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import urllib.parse
from pathlib import Path

import aiohttp
import pytest
import requests
from fake_upstream import HUB_REPOS, PINNED_FOLDERS
from helpers import EXPECTED_SPLITS, RUNS_SCRIPTS, run_fresh

from instruction_datasets import builder_class, load, script_path
from instruction_datasets.loading import SCRIPTS, sample_dir

ALIGN = "align_anything_instruction"


def fault_target(script: str) -> tuple[str, str]:
    """The config a single-file fault test loads (one that reads the fewest files) and the end of the served path
    of the first file it reads, which the test breaks: the first split's file, or the first pinned part's."""
    cls = builder_class(script)
    if hasattr(cls, "SPLIT_FILES"):  # the same files for every config, each read from the commit main names
        return cls.BUILDER_CONFIGS[0].name, "/" + next(iter(cls.SPLIT_FILES.values()))
    config = min(cls.BUILDER_CONFIGS, key=lambda config: len(config.parts))
    return config.name, cls.PARTS[config.parts[0]][0]


#: Per shipped script: what `fault_target` gives.
FAULT_TARGETS = {script: fault_target(script) for script in SCRIPTS}


def pinned(script: str) -> bool:
    """Whether the dataset reads files pinned to a commit at a ``base_url`` (else: files of a Hub repo)."""
    return any(getattr(config, "base_url", None) for config in builder_class(script).BUILDER_CONFIGS)


def pinned_kwargs(script: str, endpoint: str) -> dict:
    """The ``base_url`` that points a pinned dataset at the loopback server ``endpoint`` (the path of its default
    one there, which the fake upstream serves); none for a Hub dataset (HF_ENDPOINT does that)."""
    if not pinned(script):
        return {}
    default = next(config.base_url for config in builder_class(script).BUILDER_CONFIGS if config.base_url)
    return {"base_url": endpoint + urllib.parse.urlsplit(default).path.rstrip("/")}


def run_load(upstream, home, script, configs, streaming=False, offline=False):
    """Loads configs in a new process against the fake upstream; returns (exit status, rows or error text)."""
    request = {
        "script": script,
        "configs": configs,
        "streaming": streaming,
        "cache_dir": str(home / "datasets"),
        # The samples stand in for the upstream bytes: pin their hashes, so verification stays on.
        "pin_samples": pinned(script),
        "kwargs": pinned_kwargs(script, upstream.endpoint),
    }
    status, payload, _ = run_fresh(request, upstream.endpoint, home, offline=offline)
    return status, payload.get("rows", payload.get("error"))


def local_rows(script, config, cache_dir):
    loaded = load(script, config, data_dir=sample_dir(script, config), cache_dir=cache_dir)
    return {split: list(dataset) for split, dataset in loaded.items()}


@pytest.mark.parametrize("script", sorted(FAULT_TARGETS))
def test_every_config_downloads_the_same_rows_as_the_local_copy(script, upstream, tmp_path, streaming):
    configs = [config for name, config in EXPECTED_SPLITS if name == script]
    status, rows = run_load(upstream, tmp_path, script, configs, streaming)
    assert status == 0, rows
    for config in configs:
        assert rows[config] == local_rows(script, config, tmp_path / "local"), config
    # What the loaders fetched: the Hub API and our repos' files, and the alpha files at the pinned commit only.
    allowed = ("/api/", *(f"/datasets/{repo}/resolve/" for repo in HUB_REPOS), *PINNED_FOLDERS)
    fetched = [path for _, path in upstream.requests]
    assert fetched and all(path.startswith(allowed) for path in fetched), fetched


@pytest.mark.parametrize("script", sorted(FAULT_TARGETS))
def test_a_missing_file_fails_naming_it(script, upstream, tmp_path, streaming):
    config, target = FAULT_TARGETS[script]
    upstream.add_fault(target, "404", sticky=True)
    status, error = run_load(upstream, tmp_path, script, [config], streaming)
    assert status == 1
    assert target.rsplit("/", 1)[-1] in error
    assert "404" in error or "not found" in error.lower()
    # One line: the URL, the kind, what to check; a 404 is not retried.
    advice = "check the address (base_url=)" if pinned(script) else "the revision (hub_revision=)"
    assert ": not found (" in error.splitlines()[0] and advice in error
    if not streaming:  # in streaming, datasets itself opens a file again before giving up
        assert upstream.gets(target) == 1
    if not pinned(script):
        assert builder_class(script).builder_configs[config].hub_repo in error


@pytest.mark.parametrize("script", sorted(FAULT_TARGETS))
def test_a_server_error_is_retried(script, upstream, tmp_path, streaming):
    config, target = FAULT_TARGETS[script]
    upstream.add_fault(target, "500")
    status, rows = run_load(upstream, tmp_path, script, [config], streaming)
    assert status == 0, rows
    assert rows[config] == local_rows(script, config, tmp_path / "local")
    assert upstream.gets(target) >= 2


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(FAULT_TARGETS))
def test_a_body_cut_short_never_gives_a_short_dataset(script, upstream, tmp_path, streaming):
    config, target = FAULT_TARGETS[script]
    if not pinned(script) and streaming:
        # huggingface_hub backs off for up to 23 s per range read; against a server that always cuts, that is
        # minutes per test. Three cuts show the same thing: the read resumes and every row arrives.
        upstream.add_fault(target, "cut", "cut", "cut")
    else:
        upstream.add_fault(target, "cut", sticky=True)
    status, outcome = run_load(upstream, tmp_path, script, [config], streaming)
    if status == 0:  # the client resumed the transfer with range requests and got every byte
        assert outcome[config] == local_rows(script, config, tmp_path / "local")
    else:
        assert target.rsplit("/", 1)[-1] in outcome
    # Nothing half-written is trusted later: with the server healthy, the same cache loads in full.
    upstream.clear_faults()
    status, rows = run_load(upstream, tmp_path, script, [config], streaming)
    assert status == 0, rows
    assert rows[config] == local_rows(script, config, tmp_path / "local")


def test_alpha_bytes_that_differ_from_the_pin_fail_and_are_not_kept(upstream, tmp_path, streaming):
    config, target = FAULT_TARGETS["instruction_tuning_alpha"]
    upstream.add_fault(target, "corrupt", sticky=True)
    status, error = run_load(upstream, tmp_path, "instruction_tuning_alpha", [config], streaming)
    assert status == 1
    assert f"{upstream.alpha_base_url}/{target}: content differs from the pinned upstream file" in error
    upstream.clear_faults()
    status, rows = run_load(upstream, tmp_path, "instruction_tuning_alpha", [config], streaming)
    assert status == 0, rows
    assert rows[config] == local_rows("instruction_tuning_alpha", config, tmp_path / "local")


@pytest.mark.parametrize("script", sorted(FAULT_TARGETS))
def test_offline_a_warm_cache_loads_and_a_cold_one_says_how_to_fix_it(script, upstream, tmp_path):
    config, _ = FAULT_TARGETS[script]
    status, error = run_load(upstream, tmp_path / "cold", script, [config], offline=True)
    assert status == 1
    assert "offline mode" in error and "data_dir=" in error and "run once with the network" in error
    status, error = run_load(upstream, tmp_path / "cold", script, [config], streaming=True, offline=True)
    assert status == 1 and "offline mode" in error

    status, online = run_load(upstream, tmp_path / "warm", script, [config])
    assert status == 0, online
    before = len(upstream.requests)
    status, offline = run_load(upstream, tmp_path / "warm", script, [config], offline=True)
    assert status == 0, offline
    assert offline == online
    assert upstream.requests[before:] == []


@pytest.mark.skipif(not RUNS_SCRIPTS, reason="datasets 4+ does not run scripts from load_dataset")
def test_a_token_given_to_load_dataset_goes_with_every_read_of_the_hub_the_range_probe_included(upstream, tmp_path):
    """``load_dataset(script, token=...)`` on 3.x: the probe asked without it, so a gated repo's probe got 401."""
    code = (
        "import datasets\n"
        f"rows = datasets.load_dataset({str(script_path(ALIGN))!r}, 'en', split='train', streaming=True, "
        "token='hf_given_by_keyword', shard_bytes=300, trust_remote_code=True)\n"
        "print(sum(1 for _ in rows))\n"
    )
    env = {key: value for key, value in os.environ.items() if key not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(HF_ENDPOINT=upstream.endpoint, HF_HOME=str(tmp_path / "hf"))
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split() == [str(len(local_rows(ALIGN, "en", tmp_path / "c")["train"]))]
    reads = [read for read in upstream.reads if "/resolve/" in read[1] and read[1].endswith("train.jsonl")]
    probes = [read for read in reads if read[2] and len(range(*map(int, read[2][6:].split("-")))) == 15]
    assert probes, reads
    assert {authorization for *_, authorization in reads} == {"Bearer hf_given_by_keyword"}, reads


# --- What a user sees when the network fails ------------------------------------------------------------------------

try:  # huggingface_hub's HTTP client: httpx, published as httpx2 from huggingface_hub 2.x on
    import httpx
except ImportError:
    import httpx2 as httpx

UNRESOLVABLE = "http://no-such-mirror.invalid"  # never looked up: the runner's resolver refuses it
# What each kind of dataset advises: only parameters it has (one read from the Hub; one pinned to a file server).
WHAT_TO_DO = {
    "hub": {
        "not found": "check the repo, the revision (hub_revision=) and the file name, or the mirror address "
        "(HF_ENDPOINT)",
        "cannot connect": "check the network and the address (HF_ENDPOINT), or pass data_dir=",
        "server error": "try again later, use a mirror (HF_ENDPOINT), or pass data_dir=",
    },
    "pinned": {
        "cannot connect": "check the network and the address (base_url=), or pass data_dir=",
        "server error": "try again later, use a mirror (base_url=), or pass data_dir=",
    },
}


def what_to_do(script: str) -> dict:
    return WHAT_TO_DO["pinned" if pinned(script) else "hub"]


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there once the socket is closed: connections are refused


def run_fault_load(home: Path, script: str, streaming: bool, endpoint: str, base_url: str):
    """Loads the script's fault-test config in a new process; returns (exit status, rows or error, stderr)."""
    config, _ = FAULT_TARGETS[script]
    request = {
        "script": script,
        "configs": [config],
        "streaming": streaming,
        "cache_dir": str(home / "datasets"),
        "pin_samples": pinned(script),
        "kwargs": {"base_url": base_url} if pinned(script) else {},
        "retry_seconds": 0.01,
        "loopback_dns": True,
    }
    status, payload, stderr = run_fresh(request, endpoint, home)
    return status, payload.get("rows", payload.get("error")), stderr


def first_line(error: str) -> str:
    return error.splitlines()[0]


@pytest.mark.parametrize("script", sorted(FAULT_TARGETS))
@pytest.mark.parametrize(
    ("where", "detail"),
    [(None, "connection refused"), (UNRESOLVABLE, "the host name could not be resolved")],
    ids=["refused", "unresolved"],
)
def test_a_server_out_of_reach_is_retried_then_named_with_what_to_do(script, streaming, where, detail, tmp_path):
    base = where or closed_port_url()
    status, error, log = run_fault_load(tmp_path, script, streaming, base, f"{base}/mirror")
    assert status == 1
    message = first_line(error)
    # A Hub dataset's first request asks the Hub which commit the revision names.
    url = f"{base}/mirror/{FAULT_TARGETS[script][1]}" if pinned(script) else base + "/api/datasets/"
    assert message.startswith("ConnectionError: " + url), message
    assert f"cannot connect ({detail}) after 3 attempts; {what_to_do(script)['cannot connect']}" in message
    assert "not found" not in message
    assert log.count("retrying in ") == 2, log[-2000:]


@pytest.mark.parametrize("script", sorted(FAULT_TARGETS))
def test_a_reset_connection_is_retried_and_every_row_arrives(script, streaming, upstream, tmp_path):
    # A 500 once: above. A 429 is sorted like a 5xx (see the client errors below).
    config, target = FAULT_TARGETS[script]
    upstream.add_fault(target, "reset")
    status, rows, _ = run_fault_load(tmp_path, script, streaming, upstream.endpoint, upstream.alpha_base_url)
    assert status == 0, rows
    assert rows[config] == local_rows(script, config, tmp_path / "local")
    assert upstream.gets(target) >= 2


# A 503 for Align-Anything, a 429 for alpha: both are server errors, retried by the network policy alone.
@pytest.mark.parametrize(
    ("script", "code"), [("align_anything_instruction", "503"), ("instruction_tuning_alpha", "429")]
)
def test_a_server_that_keeps_failing_is_named_with_what_to_do(script, code, streaming, upstream, tmp_path):
    _, target = FAULT_TARGETS[script]
    upstream.add_fault(target, code, sticky=True)
    status, error, _ = run_fault_load(tmp_path, script, streaming, upstream.endpoint, upstream.alpha_base_url)
    assert status == 1
    message = first_line(error)
    assert message.startswith("ConnectionError: http://127.0.0.1:") and target in message, message
    assert f"server error (HTTP {code}) after 3 attempts" in message and what_to_do(script)["server error"] in message
    assert upstream.gets(target) == 3  # the README's "3 attempts": 3 requests, whatever the libraries below do


# The same sorting, on the errors each HTTP client raises (requests on older stacks, httpx, aiohttp via fsspec).
def _chain(*errors):
    """The first error, caused by the second, caused by the third..., as the clients raise them."""
    for outer, inner in zip(errors[:-1], errors[1:], strict=True):
        outer.__cause__ = inner
    return errors[0]


def _status_error(status, headers=None):
    request = httpx.Request("GET", "http://127.0.0.1/x")
    response = httpx.Response(status, request=request, headers=headers)
    return httpx.HTTPStatusError("failed", request=request, response=response)


CLIENT_ERRORS = {
    "httpx refused": (
        _chain(httpx.ConnectError("[Errno 111] Connection refused"), ConnectionRefusedError(111, "Connection refused")),
        "cannot connect",
        "connection refused",
    ),
    "httpx connect error": (httpx.ConnectError("no route"), "cannot connect", "ConnectError: no route"),
    "httpx remote protocol": (httpx.RemoteProtocolError("peer closed"), "cannot connect", "the connection was reset"),
    "http.client incomplete": (
        _chain(requests.exceptions.ChunkedEncodingError("broken"), http.client.IncompleteRead(b"x", 10)),
        "cannot connect",
        "the connection dropped before the whole file arrived",
    ),
    "aiohttp payload": (
        aiohttp.ClientPayloadError("Response payload is not completed"),
        "cannot connect",
        "the connection dropped before the whole file arrived",
    ),
    "aiohttp disconnected": (aiohttp.ServerDisconnectedError(), "cannot connect", "the connection was reset"),
    "requests timeout": (requests.exceptions.ReadTimeout("read"), "cannot connect", "timed out"),
    "httpx unresolved": (
        _chain(httpx.ConnectError("[Errno -2] Name or service not known"), socket.gaierror(-2, "Name or service")),
        "cannot connect",
        "the host name could not be resolved",
    ),
    "httpx read timeout": (httpx.ReadTimeout("timed out"), "cannot connect", "timed out"),
    "asyncio timeout": (asyncio.TimeoutError(), "cannot connect", "timed out"),
    "requests reset": (
        _chain(requests.ConnectionError("aborted"), ConnectionResetError(104, "Connection reset by peer")),
        "cannot connect",
        "the connection was reset",
    ),
    "fsspec refused": (
        _chain(FileNotFoundError("http://127.0.0.1:9/x"), ConnectionRefusedError(111, "Connect call failed")),
        "cannot connect",
        "connection refused",
    ),
    "fsspec 404": (FileNotFoundError("http://127.0.0.1:9/x"), "not found", "no such file on the server"),
    "httpx 404": (_status_error(404), "not found", "HTTP 404"),
    "httpx 503": (_status_error(503), "server error", "HTTP 503"),
    "httpx 429": (_status_error(429), "server error", "HTTP 429"),
    "httpx 403": (_status_error(403), "access denied", "HTTP 403"),
    "httpx 401": (_status_error(401), "access denied", "HTTP 401"),
    # olah answers a missing file so (the Hub: 404 EntryNotFound).
    "httpx 401 RepoNotFound": (
        _status_error(401, {"X-Error-Code": "RepoNotFound"}),
        "not found",
        "HTTP 401 RepoNotFound",
    ),
    # A bad row may quote any words: it is never taken for a network failure.
    "format error": (ValueError("line 3: 'Connection refused, timed out' is not JSON"), None, ""),
}


@pytest.mark.parametrize("script", sorted(FAULT_TARGETS))
@pytest.mark.parametrize("case", sorted(CLIENT_ERRORS))
def test_each_client_error_is_sorted_into_its_kind(script, case):
    kit = sys.modules[builder_class(script).__module__.rsplit(".", 1)[0] + "._instruction_kit"]  # the script's kit
    error, kind, detail = CLIENT_ERRORS[case]
    assert kit.failure(error) == (kind, detail)


def test_a_file_a_mirror_lists_but_answers_401_repo_not_found_is_named_as_not_found(upstream, tmp_path, streaming):
    # olah answers a file it cannot serve with 401 RepoNotFound; its GETs are chunked, with no Content-Length.
    upstream.like_olah()
    upstream.unservable = {"data/train.jsonl"}
    status, error, _ = run_fault_load(tmp_path, "align_anything_instruction", streaming, upstream.endpoint, "")
    assert status == 1
    message = first_line(error)
    assert "/data/train.jsonl: not found (HTTP 401 RepoNotFound); " in message, message
    assert WHAT_TO_DO["hub"]["not found"] in message
    assert "access denied" not in error


def suggested(script: str) -> set:
    """The parameters and environment variables a script's hints tell users to set."""
    text = " ".join(builder_class(script).HINTS.values())
    return set(re.findall(r"\b([a-z_]+)=", text)) | set(re.findall(r"\bHF_[A-Z_]+\b", text))


# What each script may suggest: each is followed by a load below.
FOLLOWED = {
    "align_anything_instruction": {"data_dir", "hub_revision", "HF_ENDPOINT", "HF_TOKEN"},
    "instruction_tuning_alpha": {"data_dir", "base_url"},
}


@pytest.mark.parametrize("script", sorted(FAULT_TARGETS))
def test_each_script_suggests_only_parameters_it_has(script):
    assert suggested(script) == FOLLOWED[script]
    fields = {field.name for field in dataclasses.fields(builder_class(script).BUILDER_CONFIG_CLASS)}
    assert {name for name in suggested(script) if not name.isupper()} <= fields


@pytest.mark.parametrize(
    ("script", "suggestion"), [(script, name) for script in sorted(FAULT_TARGETS) for name in sorted(FOLLOWED[script])]
)
def test_each_suggestion_loads(script, suggestion, upstream, tmp_path, monkeypatch):
    config, _ = FAULT_TARGETS[script]
    expected = local_rows(script, config, tmp_path / "local")
    if suggestion == "data_dir":  # a local copy of the files, in the upstream layout
        copy = shutil.copytree(sample_dir(script, config), tmp_path / "copy")
        loaded = load(script, config, data_dir=copy, cache_dir=tmp_path / "datasets")
        assert {split: list(dataset) for split, dataset in loaded.items()} == expected
        return
    kwargs = pinned_kwargs(script, upstream.endpoint)
    if suggestion == "hub_revision":
        kwargs["hub_revision"] = "c0ffee" + "0" * 34  # the fake Hub's commit
    if suggestion == "HF_TOKEN":  # sent with every Hub request; the olah-like server's paths-info is a POST
        monkeypatch.setenv("HF_TOKEN", "hf_suggested")
        upstream.like_olah()
    request = {
        "script": script,
        "configs": [config],
        "cache_dir": str(tmp_path / "datasets"),
        "pin_samples": pinned(script),
        "kwargs": kwargs,
    }
    status, payload, _ = run_fresh(request, upstream.endpoint, tmp_path)  # HF_ENDPOINT: the loopback server
    assert status == 0, payload
    assert payload["rows"][config] == expected
    if suggestion == "HF_TOKEN":
        assert "Bearer hf_suggested" in upstream.authorizations


@pytest.mark.parametrize("fault", ["html", "html-untyped"])
def test_an_html_page_from_the_hub_api_is_named_as_such(fault, upstream, tmp_path):
    """A captive portal answering the revision API: said in one line, whatever Content-Type the page comes with."""
    upstream.add_fault(f"/api/datasets/{sorted(HUB_REPOS)[0]}/revision/main", fault, sticky=True)
    status, error, _ = run_fault_load(tmp_path, ALIGN, False, upstream.endpoint, upstream.alpha_base_url)
    assert status == 1
    message = first_line(error)
    assert message.startswith(f"ConnectionError: {upstream.endpoint}/api/datasets/"), message
    assert "wrong answer (" in message and "HTML page" in message, message
    assert "log-in or a proxy setting" in message


def test_a_redirect_to_an_answer_without_x_repo_commit_is_named_as_such(upstream, tmp_path):
    """A proxy or portal that redirects the Hub's resolve to another answer: no X-Repo-Commit, said in one line."""
    upstream.redirect_elsewhere = True
    status, error, _ = run_fault_load(tmp_path, ALIGN, False, upstream.endpoint, upstream.alpha_base_url)
    assert status == 1
    message = first_line(error)
    assert "/data/train.jsonl: wrong answer (the answer has no X-Repo-Commit header" in message, message
    assert "not found" not in message


def test_a_cached_html_page_is_dropped_and_the_file_fetched_again(upstream, tmp_path):
    """An unchecked alpha load (verify_hashes=False) never keeps a page; one kept by an earlier version is refetched."""
    _, target = FAULT_TARGETS["instruction_tuning_alpha"]
    upstream.add_fault(target, "html-untyped", sticky=True)
    kwargs = {"base_url": upstream.alpha_base_url, "verify_hashes": False}
    request = {"script": "instruction_tuning_alpha", "configs": ["part1"], "cache_dir": str(tmp_path / "datasets")}
    status, payload, _ = run_fresh({**request, "kwargs": kwargs}, upstream.endpoint, tmp_path)
    assert status == 1 and "HTML page" in first_line(payload["error"]), payload
    cached = list((tmp_path / "datasets" / "downloads" / "instruction_datasets").glob(f"*-{target}"))
    assert cached == []  # nothing kept
    # A page left in the cache (as an older loader kept one): dropped with a warning, and the file fetched again.
    upstream.clear_faults()
    status, payload, log = run_fresh({**request, "kwargs": kwargs}, upstream.endpoint, tmp_path)
    assert status == 0, payload
    (cached,) = (tmp_path / "datasets" / "downloads" / "instruction_datasets").glob(f"*-{target}")
    cached.write_bytes(b"<!DOCTYPE html><html>Sign in</html>\n")
    prepare_again = {**kwargs, "download_mode": "reuse_cache_if_exists"}  # the downloads, not the prepared rows
    status, again, log = run_fresh({**request, "kwargs": prepare_again}, upstream.endpoint, tmp_path)
    assert status == 0, again
    assert again["rows"] == payload["rows"]
    assert "the cached copy is an HTML page, not the file: fetching it again" in log
