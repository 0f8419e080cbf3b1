"""Loads configs in a fresh process, so that HF_ENDPOINT and the offline switches are read as a user's are.

    python tests/load_runner.py '{"script": ..., "configs": [...], "streaming": false, "kwargs": {...}}'

Prints one JSON object: ``{"rows": {config: {split: [row, ...]}}, "download_checksums": {config: ...}}`` (what
each config's ``info.download_checksums`` records), or ``{"error": "..."}`` (the error and
its causes) with exit status 1. ``"pin_samples": true`` pins a pinned dataset's hashes (``PARTS``) to those of its
samples, to stand for a server that serves the true upstream bytes. ``"retry_seconds": 0.01`` shortens the waits between
attempts (``INSTRUCTION_DATASETS_RETRY_WAIT``). ``"loopback_dns": true`` makes every host name but localhost fail
to resolve, as on a machine with no DNS, without looking any name up. Log lines go to stderr.
"""

import json
import os
import socket
import sys

import datasets
from helpers import error_text  # this folder is on sys.path: the runner is run as a script

from instruction_datasets import builder_class, load


def main(request):
    datasets.disable_progress_bars()
    # datasets retries streaming reads 20 times, 5 s apart: the same behaviour in seconds, not minutes.
    for name, value in {
        "STREAMING_READ_MAX_RETRIES": 3,
        "STREAMING_READ_RETRY_INTERVAL": 0.1,
        "STREAMING_READ_SERVER_UNAVAILABLE_RETRY_INTERVAL": 0.1,
        "STREAMING_READ_RATE_LIMIT_RETRY_INTERVAL": 0.1,
        "STREAMING_OPEN_MAX_RETRIES": 3,
        "STREAMING_OPEN_RETRY_INTERVAL": 0.1,
    }.items():
        if hasattr(datasets.config, name):
            setattr(datasets.config, name, value)
    if request.get("loopback_dns"):
        resolve = socket.getaddrinfo

        def loopback_only(host, *args, **kwargs):
            if host not in ("127.0.0.1", "localhost", "::1", b"127.0.0.1", b"localhost"):
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return resolve(host, *args, **kwargs)

        socket.getaddrinfo = loopback_only
    if "retry_seconds" in request:
        os.environ["INSTRUCTION_DATASETS_RETRY_WAIT"] = str(request["retry_seconds"])
    if request.get("pin_samples"):
        from huggingface_hub.utils.sha import git_hash

        from instruction_datasets.loading import sample_dir

        cls = builder_class(request["script"])
        samples = sample_dir(request["script"], next(iter(cls.builder_configs)))  # one folder holds every part
        cls.PARTS = {part: (name, git_hash((samples / name).read_bytes())) for part, (name, _) in cls.PARTS.items()}
    rows, checksums = {}, {}
    for config in request["configs"]:
        loaded = load(
            request["script"],
            config,
            streaming=request.get("streaming", False),
            cache_dir=request.get("cache_dir"),
            **request.get("kwargs", {}),
        )
        rows[config] = {split: list(dataset) for split, dataset in loaded.items()}
        checksums[config] = next(iter(loaded.values())).info.download_checksums
    return rows, checksums


if __name__ == "__main__":
    try:
        rows, checksums = main(json.loads(sys.argv[1]))
        result = {"rows": rows, "download_checksums": checksums}
    except Exception as exc:  # the test reads the message
        print(json.dumps({"error": error_text(exc)}))
        sys.exit(1)
    print(json.dumps(result))
