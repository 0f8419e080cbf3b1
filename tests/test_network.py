"""Loading through the real download code, against a loopback Hub and GitHub (tests/fake_upstream.py).

Each load runs in a fresh process (tests/load_runner.py) with HF_ENDPOINT, HF_HOME and the offline switches
set as a user would set them; the rows are compared with what the same samples give from `data_dir`.
"""

import os
import subprocess
import sys

import pytest
from fake_upstream import ALPHA_PREFIX, HUB_REPOS
from helpers import RUNS_SCRIPTS, run_fresh
from test_builders import EXPECTED_SPLITS

from instruction_datasets import load, script_path
from instruction_datasets.loading import sample_dir

ALIGN = "align_anything_instruction"

# Per script: the config a single-file fault test loads, and the served file it breaks.
FAULT_TARGETS = {
    "align_anything_instruction": ("en", "/data/train.jsonl"),  # read from the commit that main names
    "instruction_tuning_alpha": ("part1", "instruction_tuning_dataset_alpha_part1.json"),
}


def run_load(upstream, home, script, configs, streaming=False, offline=False):
    """Loads configs in a new process against the fake upstream; returns (exit status, rows or error text)."""
    request = {
        "script": script,
        "configs": configs,
        "streaming": streaming,
        "cache_dir": str(home / "datasets"),
        # The samples stand in for the upstream bytes: pin their hashes, so verification stays on.
        "pin_samples": script == "instruction_tuning_alpha",
        "kwargs": {"base_url": upstream.alpha_base_url} if script == "instruction_tuning_alpha" else {},
    }
    status, payload, _ = run_fresh(request, upstream.endpoint, home, offline=offline)
    return status, payload.get("rows", payload.get("error"))


def local_rows(script, config, cache_dir):
    loaded = load(script, config, data_dir=sample_dir(script, config), cache_dir=cache_dir)
    return {split: list(dataset) for split, dataset in loaded.items()}


@pytest.mark.parametrize("script", sorted(FAULT_TARGETS))
def test_every_config_downloads_the_same_rows_as_the_local_copy(script, upstream, tmp_path, streaming):
    configs = [config for name, config in EXPECTED_SPLITS if name == script]
    status, rows = run_load(upstream, tmp_path, script, configs, streaming)
    assert status == 0, rows
    for config in configs:
        assert rows[config] == local_rows(script, config, tmp_path / "local"), config
    # What the loaders fetched: the Hub API and our repos' files, and the alpha files at the pinned commit only.
    allowed = ("/api/", *(f"/datasets/{repo}/resolve/" for repo in HUB_REPOS), ALPHA_PREFIX)
    fetched = [path for _, path in upstream.requests]
    assert fetched and all(path.startswith(allowed) for path in fetched), fetched


@pytest.mark.parametrize("script", sorted(FAULT_TARGETS))
def test_a_missing_file_fails_naming_it(script, upstream, tmp_path, streaming):
    config, target = FAULT_TARGETS[script]
    upstream.add_fault(target, "404", sticky=True)
    status, error = run_load(upstream, tmp_path, script, [config], streaming)
    assert status == 1
    assert target.rsplit("/", 1)[-1] in error
    assert "404" in error or "not found" in error.lower()
    # One line: the URL, the kind, what to check; a 404 is not retried.
    advice = "check the address (base_url=)" if script == "instruction_tuning_alpha" else "the revision (hub_revision=)"
    assert ": not found (" in error.splitlines()[0] and advice in error
    if not streaming:  # in streaming, datasets itself opens a file again before giving up
        assert upstream.gets(target) == 1
    if script == "align_anything_instruction":
        assert "PKU-Alignment/Align-Anything-Instruction-100K" in error


@pytest.mark.parametrize("script", sorted(FAULT_TARGETS))
def test_a_server_error_is_retried(script, upstream, tmp_path, streaming):
    config, target = FAULT_TARGETS[script]
    upstream.add_fault(target, "500")
    status, rows = run_load(upstream, tmp_path, script, [config], streaming)
    assert status == 0, rows
    assert rows[config] == local_rows(script, config, tmp_path / "local")
    assert upstream.gets(target) >= 2


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(FAULT_TARGETS))
def test_a_body_cut_short_never_gives_a_short_dataset(script, upstream, tmp_path, streaming):
    config, target = FAULT_TARGETS[script]
    if script == "align_anything_instruction" and streaming:
        # huggingface_hub backs off for up to 23 s per range read; against a server that always cuts, that is
        # minutes per test. Three cuts show the same thing: the read resumes and every row arrives.
        upstream.add_fault(target, "cut", "cut", "cut")
    else:
        upstream.add_fault(target, "cut", sticky=True)
    status, outcome = run_load(upstream, tmp_path, script, [config], streaming)
    if status == 0:  # the client resumed the transfer with range requests and got every byte
        assert outcome[config] == local_rows(script, config, tmp_path / "local")
    else:
        assert target.rsplit("/", 1)[-1] in outcome
    # Nothing half-written is trusted later: with the server healthy, the same cache loads in full.
    upstream.clear_faults()
    status, rows = run_load(upstream, tmp_path, script, [config], streaming)
    assert status == 0, rows
    assert rows[config] == local_rows(script, config, tmp_path / "local")


def test_alpha_bytes_that_differ_from_the_pin_fail_and_are_not_kept(upstream, tmp_path, streaming):
    config, target = FAULT_TARGETS["instruction_tuning_alpha"]
    upstream.add_fault(target, "corrupt", sticky=True)
    status, error = run_load(upstream, tmp_path, "instruction_tuning_alpha", [config], streaming)
    assert status == 1
    assert f"{upstream.alpha_base_url}/{target}: content differs from the pinned upstream file" in error
    upstream.clear_faults()
    status, rows = run_load(upstream, tmp_path, "instruction_tuning_alpha", [config], streaming)
    assert status == 0, rows
    assert rows[config] == local_rows("instruction_tuning_alpha", config, tmp_path / "local")


@pytest.mark.parametrize("script", sorted(FAULT_TARGETS))
def test_offline_a_warm_cache_loads_and_a_cold_one_says_how_to_fix_it(script, upstream, tmp_path):
    config, _ = FAULT_TARGETS[script]
    status, error = run_load(upstream, tmp_path / "cold", script, [config], offline=True)
    assert status == 1
    assert "offline mode" in error and "data_dir=" in error and "run once with the network" in error
    status, error = run_load(upstream, tmp_path / "cold", script, [config], streaming=True, offline=True)
    assert status == 1 and "offline mode" in error

    status, online = run_load(upstream, tmp_path / "warm", script, [config])
    assert status == 0, online
    before = len(upstream.requests)
    status, offline = run_load(upstream, tmp_path / "warm", script, [config], offline=True)
    assert status == 0, offline
    assert offline == online
    assert upstream.requests[before:] == []


@pytest.mark.skipif(not RUNS_SCRIPTS, reason="datasets 4+ does not run scripts from load_dataset")
def test_a_token_given_to_load_dataset_goes_with_every_read_of_the_hub_the_range_probe_included(upstream, tmp_path):
    """``load_dataset(script, token=...)`` on 3.x: the probe asked without it, so a gated repo's probe got 401."""
    code = (
        "import datasets\n"
        f"rows = datasets.load_dataset({str(script_path(ALIGN))!r}, 'en', split='train', streaming=True, "
        "token='hf_given_by_keyword', shard_bytes=300, trust_remote_code=True)\n"
        "print(sum(1 for _ in rows))\n"
    )
    env = {key: value for key, value in os.environ.items() if key not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(HF_ENDPOINT=upstream.endpoint, HF_HOME=str(tmp_path / "hf"))
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split() == [str(len(local_rows(ALIGN, "en", tmp_path / "c")["train"]))]
    reads = [read for read in upstream.reads if "/resolve/" in read[1] and read[1].endswith("train.jsonl")]
    probes = [read for read in reads if read[2] and len(range(*map(int, read[2][6:].split("-")))) == 15]
    assert probes, reads
    assert {authorization for *_, authorization in reads} == {"Bearer hf_given_by_keyword"}, reads
