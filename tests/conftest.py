"""Shared fixtures: every test prepares into its own cache, so no test sees another's Arrow files.

Also the loopback upstream server, `run_fresh`, which loads in a new process as a user would, and the loopback
guard that fails any test whose process, or a process it started, reaches for anything off this machine.
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
# LOOPBACK_GUARD_LOG, which fails the test that caused it. The libraries' optional calls home are switched off too.
_GUARD_DIR = Path(__file__).resolve().with_name("loopback_only")
_others = [path for path in os.environ.get("PYTHONPATH", "").split(os.pathsep) if path and path != str(_GUARD_DIR)]
os.environ["PYTHONPATH"] = os.pathsep.join([str(_GUARD_DIR), *_others])
os.environ.update(HF_UPDATE_DOWNLOAD_COUNTS="0", HF_HUB_DISABLE_TELEMETRY="1")
if "LOOPBACK_GUARD_LOG" not in os.environ:
    _fd, os.environ["LOOPBACK_GUARD_LOG"] = tempfile.mkstemp(prefix="instruction_datasets-guard-", suffix=".log")
    os.close(_fd)
    atexit.register(lambda path=os.environ["LOOPBACK_GUARD_LOG"]: os.path.exists(path) and os.remove(path))


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


class GuardWatch:
    """What the loopback guard refused since the test started, in this process or any it started."""

    def __init__(self):
        self.log = Path(os.environ["LOOPBACK_GUARD_LOG"])
        self.offset = self.log.stat().st_size if self.log.exists() else 0

    def take(self) -> list[str]:
        """The refusals written down since the last call (or the test's start); they no longer fail the test."""
        if not self.log.exists():
            return []
        with open(self.log, encoding="utf-8") as f:
            f.seek(self.offset)
            text = f.read()
        self.offset += len(text.encode("utf-8"))
        return text.splitlines()


@pytest.fixture(autouse=True)
def loopback_only():
    """Fails the test if it, or a process it started, tried to connect to or look up anything off this machine."""
    watch = GuardWatch()
    yield watch
    if refused := watch.take():
        pytest.fail("the test reached for the network beyond this machine:\n" + "\n".join(refused), pytrace=False)
