"""The demo: every config of every shipped builder, loaded from the bundled samples, and one row of each streamed.

No network: the samples are package data. ``python -m instruction_datasets demo`` prints what `configs` yields.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@dataclasses.dataclass(frozen=True)
class ConfigDemo:
    """One config, loaded from its samples."""

    script: str
    config: str
    #: The samples it was loaded from.
    data_dir: Path
    #: Where the rows came from (`provenance.describe`).
    source: str | None
    #: What the loading script warned about (blank lines, rows without a label, ...), each once, in order.
    warnings: list[str]
    #: Per split: its number of rows and its first row.
    splits: dict[str, tuple[int, dict[str, Any]]]
    #: The split read as a stream, and the first row it gave.
    streamed_split: str
    streamed_row: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class DemoResult:
    """Every config of every shipped builder, in the builders' order."""

    configs: list[ConfigDemo]


def demo(cache_dir: str | None = None) -> DemoResult:
    """Loads every config of every builder from the bundled samples, then streams one row of each.

    ``cache_dir`` keeps the prepared Arrow files; without it they go to a temporary folder, removed at the end.
    """
    return DemoResult(list(configs(cache_dir)))


def configs(cache_dir: str | None = None) -> Iterator[ConfigDemo]:
    """What `demo` returns, one config at a time, as each is loaded."""
    import datasets

    from . import provenance
    from .loading import available_scripts, builder_class, load, sample_dir

    datasets.disable_progress_bars()  # a few sample rows per split: the bars would only hide the output
    with tempfile.TemporaryDirectory(prefix="instruction_datasets-demo-") as scratch:
        cache_dir = cache_dir or scratch
        for script in available_scripts():
            cls = builder_class(script)
            for config in cls.BUILDER_CONFIGS:
                data_dir = sample_dir(script, config.name)
                with _collected_warnings() as warnings:
                    dataset_dict = load(script, config.name, data_dir=data_dir, cache_dir=cache_dir)
                    streamed = load(script, config.name, data_dir=data_dir, streaming=True)
                    split, iterable = next(iter(streamed.items()))
                    first_streamed = next(iter(iterable))
                yield ConfigDemo(
                    script=script,
                    config=config.name,
                    data_dir=data_dir,
                    source=provenance.describe(next(iter(dataset_dict.values())).info, local=True),
                    warnings=warnings,
                    splits={name: (dataset.num_rows, dataset[0]) for name, dataset in dataset_dict.items()},
                    streamed_split=split,
                    streamed_row=first_streamed,
                )


@contextlib.contextmanager
def _collected_warnings() -> Iterator[list[str]]:
    """Collects the warnings the loading scripts log, instead of letting them reach stderr as they happen."""
    collected: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if message not in collected:
                collected.append(message)

    handler = Collect(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield collected
    finally:
        root.removeHandler(handler)
