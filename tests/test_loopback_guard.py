"""The tests cannot leave this machine: the loopback guard refuses, and writes down, any connection or name
look-up beyond 127.0.0.1, in the test process and in every Python process a test starts (tests/conftest.py).

Each check first puts a recorder where the real socket function was, so that even a broken guard sends nothing.
"""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fake_upstream import FakeUpstream, HostedRepo
from helpers import loopback_guard

# Run in a process a test starts: the guard is there as `sitecustomize`; the real functions behind it are
# replaced by recorders, so nothing can leave even if the guard let the call through.
_SUBPROCESS_PRELUDE = """
import json, socket, sys
import sitecustomize as guard
reached = []
for name in ("getaddrinfo", "connect"):
    guard.real[name] = lambda *args, name=name: reached.append(name) or (_ for _ in ()).throw(OSError("recorder"))
"""


def test_an_outside_connection_is_refused_and_written_down(loopback_only, monkeypatch):
    reached = []
    monkeypatch.setitem(loopback_guard.real, "connect", lambda sock, address: reached.append(address))
    with socket.socket() as sock:
        with pytest.raises(ConnectionRefusedError, match=r"connect of 192\.0\.2\.1:443 refused"):
            sock.connect(("192.0.2.1", 443))
    assert reached == []
    assert [line for line in loopback_only.take() if "connect of 192.0.2.1:443 refused" in line]


def test_an_outside_datagram_is_refused_and_written_down(loopback_only, monkeypatch):
    """A DNS query sent by hand is a datagram to port 53."""
    reached = []
    monkeypatch.setitem(loopback_guard.real, "sendto", lambda sock, data, *args: reached.append(args))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(ConnectionRefusedError, match=r"datagram of 192\.0\.2\.53:53 refused"):
            sock.sendto(b"query", ("192.0.2.53", 53))
    assert reached == []
    assert [line for line in loopback_only.take() if "datagram of 192.0.2.53:53 refused" in line]


def test_an_outside_name_look_up_is_refused_and_written_down(loopback_only, monkeypatch):
    reached = []
    monkeypatch.setitem(loopback_guard.real, "getaddrinfo", lambda *args, **kwargs: reached.append(args))
    with pytest.raises(socket.gaierror, match="look-up of huggingface.co refused"):
        socket.getaddrinfo("huggingface.co", 443)
    assert reached == []
    assert [line for line in loopback_only.take() if "look-up of huggingface.co refused" in line]


@pytest.mark.network
def test_loopback_stays_open(loopback_only):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        for host in ("127.0.0.1", "localhost"):
            with socket.create_connection((host, port), timeout=5):
                pass
    assert loopback_only.take() == []


def test_a_process_a_test_starts_is_guarded_too(loopback_only):
    code = _SUBPROCESS_PRELUDE + textwrap.dedent("""
        outcomes = []
        for call in (lambda: socket.getaddrinfo("s3.amazonaws.com", 443),
                     lambda: socket.socket().connect(("192.0.2.1", 443))):
            try:
                call()
            except OSError as err:
                outcomes.append(type(err).__name__)
        print(json.dumps({"outcomes": outcomes, "reached": reached}))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert json.loads(result.stdout) == {"outcomes": ["gaierror", "OutsideNetworkError"], "reached": []}
    refused = loopback_only.take()
    assert any("look-up of s3.amazonaws.com refused" in line for line in refused), refused
    assert any("connect of 192.0.2.1:443 refused" in line for line in refused), refused


# Look-ups whose refusal the code swallows, as libraries do for their optional requests.
_SWALLOWED = """
import socket, subprocess, sys
from helpers import loopback_guard

def look_up(name):
    try:
        socket.getaddrinfo(name, 443)
    except OSError:
        pass

def look_up_in_a_started_process(name):
    code = f"import socket\\ntry:\\n    socket.gethostbyname({name!r})\\nexcept OSError:\\n    pass"
    subprocess.run([sys.executable, "-c", code], check=True)
"""


def run_pytest(folder: Path, source: str, *options: str) -> subprocess.CompletedProcess:
    """Runs pytest, with this folder's conftest and a log of its own, on one test file: ``source`` after the
    look-up helpers above."""
    (folder / "test_inner.py").write_text(_SWALLOWED + textwrap.dedent(source), encoding="utf-8")
    tests = os.path.dirname(__file__)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.environ["PYTHONPATH"], tests]))
    env.pop("LOOPBACK_GUARD_LOG")  # the inner run keeps its own
    for name in [name for name in env if name.startswith("PYTEST_XDIST")]:  # nor is it a worker of this run
        env.pop(name)
    for name in ("CI", "BUILD_NUMBER"):  # on CI, pytest prints summary lines whole, repeating each message
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-q", "-p", "no:cacheprovider", *options, str(folder)],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        timeout=300,
    )


def test_a_refusal_that_the_code_swallows_still_fails_the_test(tmp_path):
    """A library that catches the error (as datasets does for its download counts) cannot hide the attempt."""
    result = run_pytest(
        tmp_path,
        """
            def test_in_process(monkeypatch):
                recorder = lambda *args: (_ for _ in ()).throw(OSError("recorder"))  # noqa: E731
                monkeypatch.setitem(loopback_guard.real, "getaddrinfo", recorder)
                look_up("huggingface.co")

            def test_in_a_started_process():
                look_up_in_a_started_process("huggingface.co")

            def test_on_the_machine():
                socket.getaddrinfo("localhost", 80)
        """,
    )
    # Each of the first two passes its own assertions (none) and fails all the same, when the log is read.
    assert "2 failed, 1 passed" in result.stdout, result.stdout[-3000:]
    assert "FAILED test_inner.py::test_in_process" in result.stdout
    assert "FAILED test_inner.py::test_in_a_started_process" in result.stdout
    assert result.stdout.count("reached for the network beyond this machine in its call") == 2, result.stdout[-3000:]
    assert "look-up of huggingface.co refused" in result.stdout
    assert result.returncode == 1


def test_a_refusal_in_a_module_fixture_fails_the_tests_that_set_it_up_and_tore_it_down(tmp_path):
    """A fixture shared by a module's tests (as `read_back` in test_push.py) is set up in the first test's
    setup and torn down in the last one's teardown: that is where its refusals fail, each once."""
    result = run_pytest(
        tmp_path,
        """
            import pytest

            @pytest.fixture(scope="module")
            def shared():
                look_up_in_a_started_process("at-setup.example")
                yield
                look_up("at-teardown.example")

            def test_first(shared):
                pass

            def test_second(shared):
                pass
        """,
    )
    out = result.stdout
    assert "1 passed, 2 errors" in out, out[-3000:]
    assert "ERROR at setup of test_first" in out and "ERROR at teardown of test_second" in out, out[-3000:]
    assert out.count("in its setup:\nloopback guard: look-up of at-setup.example refused") == 1, out[-3000:]
    assert out.count("in its teardown:\nloopback guard: look-up of at-teardown.example refused") == 1, out[-3000:]
    assert result.returncode == 1


def test_the_guard_is_back_in_front_for_each_test_whatever_an_earlier_test_put_back(tmp_path):
    """pytest-socket puts back, after every test, the connect it saw when it was loaded: the one from before the
    guard. Had the guard stayed off from then on, the second test's connect would reach the recorder."""
    result = run_pytest(
        tmp_path,
        """
            import pytest

            reached = []

            def test_first():
                socket.socket.connect = lambda sock, address: reached.append(address)

            def test_second():
                with socket.socket() as sock:
                    with pytest.raises(ConnectionRefusedError):
                        sock.connect(("192.0.2.1", 443))
                assert reached == []
        """,
    )
    out = result.stdout
    assert "1 failed, 1 passed" in out and "FAILED test_inner.py::test_second" in out, out[-3000:]
    assert "in its call:\nloopback guard: connect of 192.0.2.1:443 refused" in out, out[-3000:]
    assert "DID NOT RAISE" not in out and "assert reached == []" not in out, out[-3000:]


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "two xdist workers"])
def test_a_refusal_outside_every_test_fails_the_run(tmp_path, workers):
    """What no test phase reported (here: at collection, when the test module is imported) fails the run, also when
    a worker of pytest-xdist saw it (each worker keeps a log of its own, and hands the controller what no test took).
    """
    result = run_pytest(
        tmp_path,
        """
            look_up("at-import.example")

            def test_on_the_machine():
                socket.getaddrinfo("localhost", 80)
        """,
        *workers,
    )
    assert "1 passed" in result.stdout, result.stdout[-3000:]
    summary = result.stdout.split("loopback guard", 1)[-1]
    assert "outside any test:\nloopback guard: look-up of at-import.example refused" in summary, result.stdout[-3000:]
    assert result.returncode == 1


@pytest.mark.parametrize("counts", ["0", None], ids=["as-the-tests-run", "download-counts-on"])
def test_the_packaged_json_loader_asks_nothing_outside(counts, tmp_path, loopback_only):
    """datasets.load_dataset("json", ...) sends a download-count HEAD to an outside host unless told not to."""
    (tmp_path / "rows.jsonl").write_text('{"prompt": "p", "response": "r"}\n', encoding="utf-8")
    code = _SUBPROCESS_PRELUDE + textwrap.dedent(f"""
        import datasets
        ds = datasets.load_dataset("json", data_files={str(tmp_path / "rows.jsonl")!r}, split="train",
                                   cache_dir={str(tmp_path / "cache")!r})
        print(json.dumps({{"rows": ds.num_rows, "reached": reached}}))
    """)
    env = {key: value for key, value in os.environ.items() if not key.endswith("_OFFLINE")}
    env.pop("HF_UPDATE_DOWNLOAD_COUNTS")
    if counts is not None:
        env["HF_UPDATE_DOWNLOAD_COUNTS"] = counts
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"rows": 1, "reached": []}, result.stderr[-2000:]
    refused = loopback_only.take()
    if counts == "0":
        assert refused == []
    else:  # what the suite would have sent without the switch: the guard catches it
        assert any("look-up of" in line and "amazonaws.com" in line for line in refused), refused


def test_the_benchmark_contenders_are_guarded_too(monkeypatch, loopback_only, tmp_path):
    """benchmarks/bench.py runs each contender under the same guard, and stops when one reaches out."""
    spec = importlib.util.spec_from_file_location("bench", Path(__file__).parents[1] / "benchmarks" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    snippet = _SUBPROCESS_PRELUDE + textwrap.dedent("""
        try:
            socket.getaddrinfo("huggingface.co", 443)
        except OSError:
            pass  # swallowed, as libraries do
        print(1)
    """)
    monkeypatch.setitem(bench.CONTENDERS, "reaches_out", snippet)
    with pytest.raises(SystemExit, match="reaches_out reached beyond this machine:\nloopback guard: look-up of "):
        bench.run("reaches_out", tmp_path)
    loopback_only.take()  # the contender's log was its own; nothing reached this test's log


@pytest.mark.network
@pytest.mark.parametrize("reader", ["hub_runner", "user"])
def test_a_hub_load_asks_nothing_outside_as_the_tests_run(reader, tmp_path, loopback_only):
    """`load_dataset("ORG/NAME")` asks `datasets-server.<HF_ENDPOINT's host>` for a Parquet export: with the
    endpoint on 127.0.0.1, a look-up of an outside name. tests/hub_runner.py switches that off; a user's load makes
    it, swallows the failure and reads the same rows."""
    rows = [{"prompt": "p", "response": "r"}]
    server = FakeUpstream()
    repo = server.hosted["org/tiny"] = HostedRepo("org/tiny")
    files = {"README.md": b"# tiny\n", "data/train.jsonl": b"".join(json.dumps(row).encode() + b"\n" for row in rows)}
    repo.branches["main"] = repo.add_commit(repo.branches["main"], files, "rows")
    env = {key: value for key, value in os.environ.items() if not key.endswith("_OFFLINE")}
    env.update(HF_ENDPOINT=server.endpoint, HF_HOME=str(tmp_path / "hf"))
    cache = str(tmp_path / "cache")
    if reader == "hub_runner":
        request = {"cache_dir": cache, "loads": [{"repo": "org/tiny", "config": None}]}
        command = [str(Path(__file__).with_name("hub_runner.py")), json.dumps(request)]
    else:
        code = f"import datasets, json\nds = datasets.load_dataset('org/tiny', cache_dir={cache!r})\n"
        command = ["-c", code + "print(json.dumps({'loads': [{name: list(split) for name, split in ds.items()}]}))"]
    try:
        result = subprocess.run([sys.executable, *command], capture_output=True, text=True, env=env, timeout=300)
    finally:
        server.close()
    assert json.loads(result.stdout)["loads"] == [{"train": rows}], result.stderr[-2000:]
    refused = loopback_only.take()
    if reader == "hub_runner":
        assert refused == []
    else:
        assert refused and all("look-up of datasets-server.127.0.0.1 refused" in line for line in refused), refused
