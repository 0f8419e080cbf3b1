"""What a user sees when the network fails: one line naming the URL, the kind of failure, and what to do.

Kinds: not found (404, not retried), cannot connect (refused, reset, timed out, host name not resolved) and
server error (5xx, 429); the last two are retried. Timeouts are sorted by error type only (below): a server that
never answers costs a minute of client timeouts per load. Every load runs in a fresh process (tests/load_runner.py)
against 127.0.0.1 only: a closed port refuses, tests/fake_upstream.py resets, rate-limits and fails, and a
host name fails to resolve because the runner's resolver answers for localhost alone (no name is looked up).
"""

import asyncio
import socket
import sys
from pathlib import Path

import pytest
import requests
from conftest import run_fresh
from test_network import FAULT_TARGETS, local_rows

from instruction_datasets import builder_class

try:  # huggingface_hub's HTTP client: httpx, published as httpx2 from huggingface_hub 2.x on
    import httpx
except ImportError:
    import httpx2 as httpx

SCRIPTS = sorted(FAULT_TARGETS)
UNRESOLVABLE = "http://no-such-mirror.invalid"  # never looked up: the runner's resolver refuses it
WHAT_TO_DO = {
    "not found": "check the repo, the revision (hub_revision=) and the file name",
    "cannot connect": "check the network and the address (HF_ENDPOINT, base_url=), or pass data_dir=",
    "server error": "try again later, use a mirror (HF_ENDPOINT, base_url=), or pass data_dir=",
}


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there once the socket is closed: connections are refused


def run_load(home: Path, script: str, streaming: bool, endpoint: str, alpha_base: str):
    """Loads the script's fault-test config in a new process; returns (exit status, rows or error, stderr)."""
    config, _ = FAULT_TARGETS[script]
    request = {
        "script": script,
        "configs": [config],
        "streaming": streaming,
        "cache_dir": str(home / "datasets"),
        "pin_samples": script == "instruction_tuning_alpha",
        "kwargs": {"base_url": alpha_base} if script == "instruction_tuning_alpha" else {},
        "retry_seconds": 0.01,
        "loopback_dns": True,
    }
    status, payload, stderr = run_fresh(request, endpoint, home)
    return status, payload.get("rows", payload.get("error")), stderr


def first_line(error: str) -> str:
    return error.splitlines()[0]


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize(
    ("where", "detail"),
    [(None, "connection refused"), (UNRESOLVABLE, "the host name could not be resolved")],
    ids=["refused", "unresolved"],
)
def test_a_server_out_of_reach_is_retried_then_named_with_what_to_do(script, streaming, where, detail, tmp_path):
    base = where or closed_port_url()
    status, error, log = run_load(tmp_path, script, streaming, base, f"{base}/mirror")
    assert status == 1
    message = first_line(error)
    # Align-Anything's first request asks the Hub which commit the revision names.
    url = (
        f"{base}/mirror/{FAULT_TARGETS[script][1]}" if script == "instruction_tuning_alpha" else base + "/api/datasets/"
    )
    assert message.startswith("ConnectionError: " + url), message
    assert f"cannot connect ({detail}) after 3 attempts; {WHAT_TO_DO['cannot connect']}" in message
    assert "not found" not in message
    assert log.count("retrying [") == 2, log[-2000:]


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_reset_connection_is_retried_and_every_row_arrives(script, streaming, upstream, tmp_path):
    # A 500 once: test_network.py. A 429 is sorted like a 5xx (see the client errors below).
    config, target = FAULT_TARGETS[script]
    upstream.add_fault(target, "reset")
    status, rows, _ = run_load(tmp_path, script, streaming, upstream.endpoint, upstream.alpha_base_url)
    assert status == 0, rows
    assert rows[config] == local_rows(script, config, tmp_path / "local")
    assert upstream.gets(target) >= 2


# huggingface_hub retries a 429 itself for 20 s: Align-Anything gets the 503, alpha the 429.
@pytest.mark.parametrize(
    ("script", "code"), [("align_anything_instruction", "503"), ("instruction_tuning_alpha", "429")]
)
def test_a_server_that_keeps_failing_is_named_with_what_to_do(script, code, streaming, upstream, tmp_path):
    _, target = FAULT_TARGETS[script]
    upstream.add_fault(target, code, sticky=True)
    status, error, _ = run_load(tmp_path, script, streaming, upstream.endpoint, upstream.alpha_base_url)
    assert status == 1
    message = first_line(error)
    assert message.startswith("ConnectionError: http://127.0.0.1:") and target in message, message
    assert f"server error (HTTP {code})" in message and WHAT_TO_DO["server error"] in message
    assert upstream.gets(target) >= 2


# The same sorting, on the errors each HTTP client raises (requests on older stacks, httpx, aiohttp via fsspec).
def _chain(*errors):
    """The first error, caused by the second, caused by the third..., as the clients raise them."""
    for outer, inner in zip(errors[:-1], errors[1:], strict=True):
        outer.__cause__ = inner
    return errors[0]


def _status_error(status):
    request = httpx.Request("GET", "http://127.0.0.1/x")
    return httpx.HTTPStatusError("failed", request=request, response=httpx.Response(status, request=request))


CLIENT_ERRORS = {
    "httpx refused": (httpx.ConnectError("[Errno 111] Connection refused"), "cannot connect", "connection refused"),
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
    # A bad row may quote any words: it is never taken for a network failure.
    "format error": (ValueError("line 3: 'Connection refused, timed out' is not JSON"), "", ""),
}


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("case", sorted(CLIENT_ERRORS))
def test_each_client_error_is_sorted_into_its_kind(script, case):
    module = sys.modules[builder_class(script).__module__]
    error, kind, detail = CLIENT_ERRORS[case]
    assert module._failure(error) == (kind, detail)
    assert module._is_transient(error) == (kind in ("cannot connect", "server error"))
