"""Loads Align-Anything in a fresh process, as a user behind a mirror would (HF_ENDPOINT is read at import).

    python tests/mirror_runner.py '{"config": "en", "streaming": true, "world_size": 3, "kwargs": {...}}'

Prints one JSON object: ``{"splits": {split: [rows of rank 0, rows of rank 1, ...]}}``, each row a
``[prompt, response]`` pair; a stream with ``world_size`` > 1 is split with
``datasets.distributed.split_dataset_by_node``, a plain load has one rank. On failure: ``{"error": "..."}``
(the error and its causes) and exit status 1. ``"block_bytes"`` sets how much the reader asks for at a time.
Log lines go to stderr.
"""

import json
import sys

import datasets
from datasets.distributed import split_dataset_by_node
from helpers import error_text  # this folder is on sys.path: the runner is run as a script

from instruction_datasets import builder_class, load


def main(request: dict) -> dict:
    datasets.disable_progress_bars()
    # datasets retries streaming reads 20 times, 5 s apart: the same behaviour in seconds, not minutes.
    for name in ("STREAMING_READ_RETRY_INTERVAL", "STREAMING_OPEN_RETRY_INTERVAL"):
        if hasattr(datasets.config, name):
            setattr(datasets.config, name, 0.1)
    if "block_bytes" in request:  # smaller reads, so that small files take many (as real ones do)
        builder_class("align_anything_instruction").block_bytes = request["block_bytes"]
    loaded = load(
        "align_anything_instruction",
        request["config"],
        streaming=request.get("streaming", False),
        cache_dir=request.get("cache_dir"),
        **request.get("kwargs", {}),
    )
    world_size = request.get("world_size", 1)
    splits = {}
    for split, dataset in loaded.items():
        parts = [dataset]
        if request.get("streaming") and world_size > 1:
            parts = [split_dataset_by_node(dataset, rank=rank, world_size=world_size) for rank in range(world_size)]
        splits[split] = [[[row["prompt"], row["response"]] for row in part] for part in parts]
    return {"splits": splits}


if __name__ == "__main__":
    try:
        result = main(json.loads(sys.argv[1]))
    except Exception as exc:  # the test reads the message
        print(json.dumps({"error": error_text(exc)}))
        sys.exit(1)
    print(json.dumps(result))
