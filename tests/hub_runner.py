"""Reads pushed repos back in a fresh process, as a user would; HF_ENDPOINT is set before `datasets` is imported.

    python tests/hub_runner.py '{"cache_dir": ..., "loads": [{"repo", "config", "streaming", "revision"}, ...],
                                 "config_names": [repo, ...]}'

Prints one JSON object: ``{"loads": [{split: [row, ...]} or {"error": "..."}], "config_names": {repo: [...]}}``.
A load with ``"config": null`` gives no config name, as a user who wants the default would. A load may name its
own ``cache_dir`` (`datasets` falls back to what it cached when the Hub has nothing).
"""

import json
import sys

import datasets
from helpers import error_text  # this folder is on sys.path: the runner is run as a script


def main(request):
    datasets.disable_progress_bars()
    # For a Hub repo at the default revision `load_dataset` also asks the Hub's dataset viewer, at
    # `datasets-server.<HF_ENDPOINT's host>`, for a Parquet export and its infos (datasets/utils/_dataset_viewer.py),
    # and quietly does without when nothing answers. For the fake Hub that is a look-up of
    # datasets-server.127.0.0.1, which leaves the machine. No environment variable turns it off in 3.6 or 5.2:
    # only this constant, read at each load. The rows read are the same, as no export exists here.
    datasets.config.USE_PARQUET_EXPORT = False
    loads = []
    for entry in request.get("loads", []):
        try:
            loaded = datasets.load_dataset(
                entry["repo"],
                entry.get("config"),
                revision=entry.get("revision"),
                streaming=entry.get("streaming", False),
                cache_dir=entry.get("cache_dir", request["cache_dir"]),
            )
            loads.append({split: list(dataset) for split, dataset in loaded.items()})
        except Exception as exc:  # the test reads the message
            loads.append({"error": error_text(exc)})
    names = {repo: datasets.get_dataset_config_names(repo) for repo in request.get("config_names", [])}
    return {"loads": loads, "config_names": names}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
