"""Loads one request after another in a process that lives across them (``helpers.LoadWorker`` starts it).

HF_ENDPOINT is read when huggingface_hub is imported, so a load through a loopback Hub needs a process started with
it set; this one pays that import once for many loads. One JSON request per line on stdin:

    {"script": "align_anything_instruction", "config": "en", "split": "train", "streaming": true, "world_size": 3,
     "columns": ["prompt", "response"], "knobs": {"block_bytes": 4096}, "kwargs": {"shard_bytes": 9000, ...}}

``knobs`` are attributes of the builder class set for this load only (the reading sizes its docstring lists);
``kwargs`` go to ``load()``. One JSON answer per line on stdout: ``{"ranks": [[row, ...], ...]}``, a row being the
values of ``columns``; a stream with ``world_size`` > 1 is split with ``datasets.distributed.split_dataset_by_node``,
anything else is one rank. With ``"digest": true`` each rank is ``rows_digest`` of its rows instead (files of
real size). On failure: ``{"error": "..."}`` (the error and its causes). Log lines go to stderr.
"""

import json
import sys

import datasets
from datasets.distributed import split_dataset_by_node
from helpers import error_text, rows_digest  # this folder is on sys.path: the worker is run as a script

from instruction_datasets import builder_class, load


def answer(request: dict) -> dict:
    cls = builder_class(request["script"])
    knobs = request.get("knobs", {})
    saved = {name: cls.__dict__[name] for name in knobs if name in cls.__dict__}
    for name, value in knobs.items():
        setattr(cls, name, value)
    try:
        dataset = load(
            request["script"],
            request["config"],
            split=request.get("split", "train"),
            streaming=request.get("streaming", False),
            **request.get("kwargs", {}),
        )
        world_size = request.get("world_size", 1)
        parts = [dataset]
        if request.get("streaming") and world_size > 1:
            parts = [split_dataset_by_node(dataset, rank=rank, world_size=world_size) for rank in range(world_size)]
        columns = request.get("columns", ["prompt", "response"])
        ranks = [([row[column] for column in columns] for row in part) for part in parts]
        return {"ranks": [rows_digest(rows) if request.get("digest") else list(rows) for rows in ranks]}
    finally:
        for name in knobs:
            if name in saved:
                setattr(cls, name, saved[name])
            else:
                delattr(cls, name)


def main() -> None:
    datasets.disable_progress_bars()
    # datasets retries streaming reads 20 times, 5 s apart: the same behaviour in seconds, not minutes.
    for name in ("STREAMING_READ_RETRY_INTERVAL", "STREAMING_OPEN_RETRY_INTERVAL"):
        if hasattr(datasets.config, name):
            setattr(datasets.config, name, 0.1)
    for line in sys.stdin:
        try:
            result = answer(json.loads(line))
        except Exception as exc:  # the test reads the message
            result = {"error": error_text(exc)}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
