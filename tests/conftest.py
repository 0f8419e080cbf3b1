"""Shared fixtures and the hooks that set up a test run; plain helpers are in helpers.py.

Every test prepares into its own cache, so no test sees another's Arrow files. Also the loopback upstream server
and the loopback guard: a test whose process, or a process it started, reaches for anything off this machine
fails, and so does the run when that happened outside every test (its fixtures of any scope are the test's).

Importing this module changes nothing: the environment and the guard are set up in `pytest_configure`.
"""

import atexit
import os
import shutil
import tempfile
from importlib.metadata import version

import pytest
from helpers import GUARD_DIR, NO_CALLS_HOME, RUNS_SCRIPTS, GuardLog, load_guard, sample_texts, save_tiny_model

#: One reader of the guard's log for the whole run (made in `pytest_configure`): every refusal fails the test phase
#: it was written in, or else the run.
guard_log = None
#: In a pytest-xdist worker, the log of the controller, whose end of run reports what the workers' saw outside tests.
controller_log = None


def pytest_configure(config):
    """Sets up the run before any test module (and so `datasets`) is imported.

    Tests never leave this machine (README "Testing"): the loopback guard (tests/loopback_only/sitecustomize.py) is
    on in this process, and first on PYTHONPATH for every Python process a test starts; what it refuses is written
    to LOOPBACK_GUARD_LOG, which fails the test (fixtures included) or else the run. The libraries' calls home are
    off too. Module copies go to a folder of this test run (set before `datasets` reads it), not to the user's
    cache: what another version left there, and the warning about it, must not change what the tests see; so do
    the prepared datasets and downloads of a load given no cache_dir (HF_HOME).
    """
    global guard_log
    guard_dir = str(GUARD_DIR)
    others = [path for path in os.environ.get("PYTHONPATH", "").split(os.pathsep) if path and path != guard_dir]
    os.environ["PYTHONPATH"] = os.pathsep.join([guard_dir, *others])
    os.environ.update(NO_CALLS_HOME)
    # A log per process that runs tests: pytest-xdist's workers inherit the controller's, and one worker's refusals
    # (test_loopback_guard makes some on purpose) must not fail the other's tests. What a worker's log holds outside
    # every test goes to the controller's at the end (`pytest_sessionfinish`), which fails the run.
    global controller_log
    if os.environ.get("PYTEST_XDIST_WORKER"):
        controller_log = os.environ.get("LOOPBACK_GUARD_LOG")
    if "LOOPBACK_GUARD_LOG" not in os.environ or os.environ.get("PYTEST_XDIST_WORKER"):
        fd, os.environ["LOOPBACK_GUARD_LOG"] = tempfile.mkstemp(prefix="instruction_datasets-guard-", suffix=".log")
        os.close(fd)
        atexit.register(lambda path=os.environ["LOOPBACK_GUARD_LOG"]: os.path.exists(path) and os.remove(path))
    load_guard()  # installs the guard in this process
    guard_log = GuardLog(os.environ["LOOPBACK_GUARD_LOG"])
    os.environ["HF_MODULES_CACHE"] = tempfile.mkdtemp(prefix="instruction_datasets-test-modules-")
    atexit.register(shutil.rmtree, os.environ["HF_MODULES_CACHE"], True)
    # A load given no cache_dir (a README command, a user's habit) prepares and downloads into this run's own home,
    # not the user's; the workers of one run share it, as the processes of one user would. A test that starts a
    # process with an HF_HOME of its own still gives it that one.
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="instruction_datasets-test-home-")
        atexit.register(shutil.rmtree, os.environ["HF_HOME"], True)


def pytest_report_header(config):
    mode = "runs scripts" if RUNS_SCRIPTS else "no script support: load() only"
    return f"datasets {version('datasets')} ({mode})"


@pytest.fixture
def cache_dir(tmp_path):
    """A fresh `datasets` cache for one test."""
    path = tmp_path / "hf-cache"
    path.mkdir()
    return path


def export_samples(tmp_path_factory, name: str, **options) -> dict:
    """Every config of every shipped builder, exported from the samples with ``options``: one folder per builder."""
    from helpers import samples_data_dir

    from instruction_datasets.export import export
    from instruction_datasets.loading import available_scripts

    folders = {}
    cache_dir = tmp_path_factory.mktemp(f"{name}-cache")
    for script in available_scripts():
        folders[script] = tmp_path_factory.mktemp(f"{name}-{script}") / "out"
        export(script, None, folders[script], data_dir=samples_data_dir(script), cache_dir=cache_dir, **options)
    return folders


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """Every config of every shipped builder, exported from the samples in one call: one folder per builder."""
    return export_samples(tmp_path_factory, "export")


@pytest.fixture(scope="session")
def exported_without_empty(tmp_path_factory):
    """The same exports made with ``drop_empty_responses=True`` (`--drop-empty-responses`)."""
    return export_samples(tmp_path_factory, "export-dropped", drop_empty_responses=True)


@pytest.fixture(scope="module")
def own_cache(tmp_path_factory):
    """Every load of the module that takes it (ours, `load_dataset` of an export, a trainer's `map`) prepares into
    a cache of that module's own."""
    import datasets

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path_factory.mktemp("hf-datasets-cache"))
        yield


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, own_cache):
    """A folder with a tokenizer trained on the samples and a tiny random Llama (`helpers.save_tiny_model`); needs
    tokenizers, transformers and torch."""
    import datasets

    datasets.disable_progress_bars()
    folder = tmp_path_factory.mktemp("tiny-model")
    save_tiny_model(folder, sample_texts())
    return folder


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


#: Fixtures that run a loopback server: a test that takes one is marked `network` (pyproject.toml).
SERVER_FIXTURES = {"upstream", "hub", "read_back", "olah", "hubs", "real_size"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.network)


_refused_outside_tests: list[str] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """The guard goes back in front before each test's fixtures are set up (`loopback_guard.reinstall`)."""
    load_guard().reinstall()


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
    if _refused_outside_tests and controller_log:  # a worker: the controller fails the run and lists them
        with open(controller_log, "a", encoding="utf-8") as log:
            log.write("".join(f"{line}\n" for line in _refused_outside_tests))
    elif _refused_outside_tests:
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
