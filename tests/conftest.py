"""Shared fixtures: every test prepares into its own cache, so no test sees another's Arrow files."""

import datasets
import pytest
from packaging.version import Version

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
