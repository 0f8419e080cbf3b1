"""Shared fixtures: every test prepares into its own cache, so no test sees another's Arrow files.

Also the loopback upstream server, `run_fresh`, which loads in a new process as a user would, and the loopback
guard: a test whose process, or a process it started, reaches for anything off this machine fails, and so does the
run when that happened outside every test (its fixtures of any scope are the test's).
"""

import atexit
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Tests never leave this machine (README "Testing"): the loopback guard (tests/loopback_only/sitecustomize.py) is on
# in this process, and first on PYTHONPATH for every Python process a test starts; what it refuses is written to
# LOOPBACK_GUARD_LOG, which fails the test (fixtures included) or else the run. The libraries' calls home are off too.
_GUARD_DIR = Path(__file__).resolve().with_name("loopback_only")
_others = [path for path in os.environ.get("PYTHONPATH", "").split(os.pathsep) if path and path != str(_GUARD_DIR)]
os.environ["PYTHONPATH"] = os.pathsep.join([str(_GUARD_DIR), *_others])
os.environ.update(HF_UPDATE_DOWNLOAD_COUNTS="0", HF_HUB_DISABLE_TELEMETRY="1")
if "LOOPBACK_GUARD_LOG" not in os.environ:
    _fd, os.environ["LOOPBACK_GUARD_LOG"] = tempfile.mkstemp(prefix="instruction_datasets-guard-", suffix=".log")
    os.close(_fd)
    atexit.register(lambda path=os.environ["LOOPBACK_GUARD_LOG"]: os.path.exists(path) and os.remove(path))


class GuardLog:
    """The guard's refusals (this process's and those of every process the tests started) not yet handed out."""

    def __init__(self):
        self.path = Path(os.environ["LOOPBACK_GUARD_LOG"])
        self.offset = self.path.stat().st_size if self.path.exists() else 0  # what an earlier run wrote is not ours

    def take(self) -> list[str]:
        """The refusals written since the last call; each is handed out once, so it fails one test phase at most."""
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as f:
            f.seek(self.offset)
            text = f.read()
        self.offset += len(text.encode("utf-8"))
        return text.splitlines()


#: One reader for the whole run: every refusal fails the test phase it was written in, or else the run.
guard_log = GuardLog()


def _loopback_guard():
    """The guard module: the one this process imported at start-up (a process the tests started), or loaded now."""
    loaded = sys.modules.get("sitecustomize")
    if loaded is not None and hasattr(loaded, "OutsideNetworkError"):
        return loaded
    spec = importlib.util.spec_from_file_location("loopback_guard", _GUARD_DIR / "sitecustomize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # installs the guard
    sys.modules["loopback_guard"] = module
    return module


loopback_guard = _loopback_guard()


def guard_env(*paths: str) -> dict:
    """For a process started with an environment of its own: the guard first on PYTHONPATH (then ``paths``), its
    log, and the switches that keep the libraries from calling home."""
    keep = ("LOOPBACK_GUARD_LOG", "HF_UPDATE_DOWNLOAD_COUNTS", "HF_HUB_DISABLE_TELEMETRY")
    return {"PYTHONPATH": os.pathsep.join([str(_GUARD_DIR), *paths]), **{key: os.environ[key] for key in keep}}


# Module copies go to a folder of this test run (set before `datasets` reads it), not to the user's cache:
# what another version left there, and the warning about it, must not change what the tests see.
os.environ["HF_MODULES_CACHE"] = tempfile.mkdtemp(prefix="instruction_datasets-test-modules-")
atexit.register(shutil.rmtree, os.environ["HF_MODULES_CACHE"], True)

import datasets  # noqa: E402
import pytest  # noqa: E402
from packaging.version import Version  # noqa: E402

#: Whether this `datasets` still runs loading scripts from `load_dataset` (3.x and older).
RUNS_SCRIPTS = Version(datasets.__version__).major < 4


def pytest_report_header(config):
    mode = "runs scripts" if RUNS_SCRIPTS else "no script support: load() only"
    return f"datasets {datasets.__version__} ({mode})"


@pytest.fixture
def cache_dir(tmp_path):
    """A fresh `datasets` cache for one test."""
    path = tmp_path / "hf-cache"
    path.mkdir()
    return path


def error_text(exc: BaseException) -> str:
    """The message of an error and of every error that caused it.

    `datasets` wraps errors raised while preparing a split in `DatasetGenerationError`; ours is the cause.
    """
    parts = []
    while exc is not None:
        parts.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """Every config of every shipped builder, exported from the samples in one call: one folder per builder."""
    from instruction_datasets import builder_class
    from instruction_datasets.export import export
    from instruction_datasets.loading import available_scripts, sample_dir

    folders = {}
    cache_dir = tmp_path_factory.mktemp("export-cache")
    for script in available_scripts():
        first = next(iter(builder_class(script).builder_configs))
        samples = sample_dir(script, first)
        # Align-Anything's samples sit in one folder per config; export fills in each config's name.
        data_dir = samples.parent / "{config}" if samples.name == first else samples
        folders[script] = tmp_path_factory.mktemp(f"export-{script}") / "out"
        export(script, None, folders[script], data_dir=data_dir, cache_dir=cache_dir)
    return folders


@pytest.fixture
def upstream():
    """The loopback Hub and GitHub (tests/fake_upstream.py), for one test."""
    from fake_upstream import FakeUpstream

    server = FakeUpstream()
    yield server
    server.close()


@pytest.fixture(params=[False, True], ids=["plain", "streaming"])
def streaming(request):
    """Each test that takes it runs twice: plain, then streaming."""
    return request.param


def run_fresh(request: dict, endpoint: str, home: Path, offline: bool = False, runner: str = "load_runner.py"):
    """Runs a runner script of this folder in a new process, so HF_ENDPOINT and the offline switches are read
    as a user's are; returns (exit status, the JSON object it printed last, its stderr)."""
    env = {key: value for key, value in os.environ.items() if not key.endswith("_OFFLINE")}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(home / "hf"))
    if offline:
        env.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name(runner)), json.dumps(request)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.stdout.strip(), result.stderr[-3000:]
    return result.returncode, json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


_refused_outside_tests: list[str] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """The guard goes back in front before each test's fixtures are set up (`loopback_guard.reinstall`)."""
    loopback_guard.reinstall()


def pytest_runtest_logstart():
    """What was written between tests (at collection, or by a thread or process that outlived its test) is no test's
    own: it waits for the end of the run."""
    _refused_outside_tests.extend(guard_log.take())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Fails the setup, call or teardown of a test in whose time the guard refused anything, in this process or one
    started then. Fixtures of every scope are set up and torn down within these phases: a module fixture's refusal
    fails the setup of the first test that uses it, or the teardown of the last."""
    report = yield
    if refused := guard_log.take():
        text = f"the test reached for the network beyond this machine in its {call.when}:\n" + "\n".join(refused)
        if report.failed:
            report.sections.append(("loopback guard", text))
        else:
            report.outcome, report.longrepr = "failed", text
    return report


def pytest_sessionfinish(session):
    """The backstop: refusals written outside every test's setup, call and teardown fail the run;
    `pytest_terminal_summary` lists them."""
    _refused_outside_tests.extend(guard_log.take())
    if _refused_outside_tests:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if _refused_outside_tests:
        terminalreporter.section("loopback guard", red=True)
        terminalreporter.line("the run reached for the network beyond this machine outside any test:")
        for line in _refused_outside_tests:
            terminalreporter.line(line)


@pytest.fixture
def loopback_only():
    """The guard's log, for a test that expects refusals: what it `take()`s fails nothing (README "Testing")."""
    return guard_log
