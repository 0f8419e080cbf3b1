"""Many processes loading at once, as the ranks of a multi-GPU job do, all succeed with the same rows.

`torchrun --nproc_per_node 8` starts 8 processes that each call `load()` at about the same moment. Here 8
processes share one fresh `HF_HOME`, import everything, wait for a common start signal, then each load every
config of both builders from the samples, over a few trials, each trial on a cold cache.
"""

import hashlib
import json
import os
import subprocess
import sys
import time

import pytest

from instruction_datasets import builder_class, load
from instruction_datasets.loading import available_scripts, sample_dir

#: Many processes at once: over 10 s on a busy machine.
pytestmark = pytest.mark.slow

RANKS = 8

# One rank: import, say "ready", wait for the start file, load every config, print a digest of its rows.
RANK = """
import hashlib, json, os, sys, time
import datasets
from instruction_datasets import load
datasets.disable_progress_bars()
request = json.loads(sys.argv[1])
print("ready", flush=True)
while not os.path.exists(request["go"]):
    time.sleep(0.002)
digests = {}
for script, config, data_dir in request["loads"]:
    loaded = load(script, config, data_dir=data_dir, num_proc=request["num_proc"])
    rows = {split: list(dataset) for split, dataset in loaded.items()}
    digests[script + "/" + config] = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()
print(json.dumps(digests))
"""


def _loads() -> list[tuple[str, str, str]]:
    return [
        (script, config.name, str(sample_dir(script, config.name)))
        for script in available_scripts()
        for config in builder_class(script).BUILDER_CONFIGS
    ]


def _digest(dataset_dict) -> str:
    rows = {split: list(dataset) for split, dataset in dataset_dict.items()}
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()


def _trial(folder, loads, num_proc) -> list[str]:
    """Starts the ranks together on a cold cache; returns one line per rank that failed or disagreed."""
    home = folder / "hf-home"
    env = {**os.environ, "HF_HOME": str(home), "HF_MODULES_CACHE": str(home / "modules")}
    env.pop("HF_DATASETS_CACHE", None)
    go = folder / "go"
    request = json.dumps({"go": str(go), "loads": loads, "num_proc": num_proc})
    ranks = [
        subprocess.Popen(
            [sys.executable, "-c", RANK, request],
            env=env,
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(RANKS)
    ]
    for rank in ranks:
        assert rank.stdout.readline().strip() == "ready", rank.stderr.read()
    go.touch()
    outcomes = []
    for index, rank in enumerate(ranks):
        out, err = rank.communicate(timeout=600)
        if rank.returncode != 0:
            last = [line for line in err.splitlines() if line.strip()][-1:]
            outcomes.append(f"rank {index} failed: {last[0] if last else rank.returncode}")
        else:
            outcomes.append(json.loads(out.splitlines()[-1]))
    return outcomes


# Before module copies were written whole, every one of these trials saw ranks fail: a few trials are enough.
@pytest.mark.parametrize(("num_proc", "trials"), [(None, 2), (2, 1)], ids=["one-process-each", "num_proc-2"])
def test_ranks_started_together_on_a_cold_cache_all_get_the_same_rows(num_proc, trials, tmp_path):
    loads = _loads()
    expected = {
        f"{script}/{config}": _digest(load(script, config, data_dir=data_dir, cache_dir=tmp_path / "reference"))
        for script, config, data_dir in loads
    }
    problems = []
    for trial in range(trials):
        folder = tmp_path / f"trial-{trial}"
        folder.mkdir()
        started = time.monotonic()
        outcomes = _trial(folder, loads, num_proc)
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, str):
                problems.append(f"trial {trial}: {outcome}")
            elif outcome != expected:
                wrong = sorted(key for key in expected if outcome.get(key) != expected[key])
                problems.append(f"trial {trial}: rank {index} got other rows for {', '.join(wrong)}")
        print(f"trial {trial}: {RANKS} ranks in {time.monotonic() - started:.1f} s")
    assert not problems, "\n".join(problems)
