"""Align-Anything downloads: one Hub commit per load, each file checked against the hash its server publishes.

Loads run in fresh processes (tests/load_runner.py) against the loopback Hub (tests/fake_upstream.py), which
serves LFS metadata, can land a commit between two requests, can serve other bytes under a stated hash, and can
publish hashes only as olah does (paths-info, the resolve ETag) or not at all.
"""

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
from fake_upstream import REPO_COMMIT, corrupted
from helpers import run_fresh

from instruction_datasets import load, provenance
from instruction_datasets.loading import sample_dir

SCRIPT = "align_anything_instruction"
REPO = "PKU-Alignment/Align-Anything-Instruction-100K"
SPLIT_FILES = {"train": "data/train.jsonl", "test": "data/test.jsonl"}


def run(upstream, home, cache="datasets", streaming=False, offline=False, **kwargs):
    """Loads ``en`` in a new process; returns (exit status, payload): rows and download_checksums, or the error."""
    return run_logged(upstream, home, cache, streaming, offline, **kwargs)[:2]


def run_logged(upstream, home, cache="datasets", streaming=False, offline=False, **kwargs):
    """``run``, and what the load logged (its stderr)."""
    request = {
        "script": SCRIPT,
        "configs": ["en"],
        "streaming": streaming,
        "cache_dir": str(home / cache),
        "kwargs": kwargs,
    }
    return run_fresh(request, upstream.endpoint, home, offline=offline)


def sample_bytes(path: str) -> bytes:
    return (sample_dir(SCRIPT, "en") / path).read_bytes()


def expected_checksums(upstream, commit, verified=True, files=None, mode="basic_checks"):
    """download_checksums of a load of ``en`` at ``commit``: the resolve URL, size, (verified) SHA-256, which file of
    which commit it is, and the verification_mode of the load that read it ("no_checks" for a stream)."""
    files = files or {}
    record = {}
    for path in SPLIT_FILES.values():
        data = files.get(path, sample_bytes(path))
        url = f"{upstream.endpoint}/datasets/{REPO}/resolve/{commit}/{path}"
        checksum = hashlib.sha256(data).hexdigest() if verified else None
        record[url] = {"num_bytes": len(data), "checksum": checksum, "repo": REPO, "commit": commit, "path": path}
        record[url]["verification_mode"] = mode
    return record


def local_rows(tmp_path, data_dir=None):
    loaded = load(SCRIPT, "en", data_dir=data_dir or sample_dir(SCRIPT, "en"), cache_dir=tmp_path / "local")
    return {split: list(dataset) for split, dataset in loaded.items()}


def blob(home, data: bytes) -> Path:
    """Where the Hub cache keeps a file: named by its SHA-256."""
    name = "datasets--" + REPO.replace("/", "--")
    return home / "hf" / "hub" / name / "blobs" / hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streaming"])
def test_a_load_resolves_one_commit_and_records_what_it_verified(upstream, tmp_path, streaming):
    upstream.revision_metadata = "blobs"  # as the Hub: file metadata only when asked for
    status, payload = run(upstream, tmp_path, streaming=streaming)
    assert status == 0, payload
    assert payload["rows"]["en"] == local_rows(tmp_path)
    # Streaming reads as it goes: the commit is pinned, the hashes are not checked (checksum None).
    assert payload["download_checksums"]["en"] == expected_checksums(
        upstream, REPO_COMMIT, verified=not streaming, mode="no_checks" if streaming else "basic_checks"
    )
    paths = [path for _, path in upstream.requests]
    assert paths.count(f"/api/datasets/{REPO}/revision/main") == 1
    assert not [path for path in paths if "/resolve/main/" in path]
    # The revision API's file metadata holds every hash: nothing else is asked.
    assert own_requests(upstream) == [("GET", "revision/main")]


def test_bytes_that_differ_from_the_hub_hash_fail_evicted_and_the_next_run_loads(upstream, tmp_path):
    train = sample_bytes(SPLIT_FILES["train"])
    upstream.add_fault("/data/train.jsonl", "corrupt", sticky=True)
    status, payload = run(upstream, tmp_path)
    assert status == 1
    url = f"{upstream.endpoint}/datasets/{REPO}/resolve/{REPO_COMMIT}/data/train.jsonl"
    expected, got = hashlib.sha256(train).hexdigest(), hashlib.sha256(corrupted(train)).hexdigest()
    assert (
        f"{url}: content differs from the hash published for this file (SHA-256 expected {expected}, "
        f"got {got}, {len(train)} bytes)"
    ) in payload["error"]
    assert "removed from the cache: load again to fetch it anew" in payload["error"]
    assert not blob(tmp_path, train).exists()

    upstream.clear_faults()
    status, payload = run(upstream, tmp_path)
    assert status == 0, payload
    assert payload["rows"]["en"] == local_rows(tmp_path)
    assert blob(tmp_path, train).read_bytes() == train


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streaming"])
def test_a_commit_landing_between_the_two_splits_does_not_mix_them(upstream, tmp_path, streaming):
    later_test = b'{"prompt": "A question from a later commit", "response": "Its answer"}\n'
    later = upstream.land_commit(REPO, {SPLIT_FILES["test"]: later_test}, after="/data/train.jsonl")
    status, payload = run(upstream, tmp_path, streaming=streaming)
    assert status == 0, payload
    assert upstream.main[REPO] == later, "the commit did not land during the load"
    assert payload["rows"]["en"] == local_rows(tmp_path)
    assert payload["download_checksums"]["en"] == expected_checksums(
        upstream, REPO_COMMIT, verified=not streaming, mode="no_checks" if streaming else "basic_checks"
    )
    if streaming:
        return
    # The prepared dataset stays as it was; hub_revision=<a commit> reads that commit (into a cache of its own).
    assert run(upstream, tmp_path) == (status, payload)
    status, payload = run(upstream, tmp_path, hub_revision=later)
    assert status == 0, payload
    assert payload["download_checksums"]["en"] == expected_checksums(
        upstream, later, files={"data/test.jsonl": later_test}
    )
    assert payload["rows"]["en"]["test"] == [
        {
            "prompt": "A question from a later commit",
            "response": "Its answer",
            "messages": [
                {"role": "user", "content": "A question from a later commit"},
                {"role": "assistant", "content": "Its answer"},
            ],
        }
    ]
    status, payload = run(upstream, tmp_path, hub_revision=REPO_COMMIT)
    assert status == 0, payload
    assert payload["rows"]["en"] == local_rows(tmp_path)
    assert payload["download_checksums"]["en"] == expected_checksums(upstream, REPO_COMMIT)


def test_offline_loads_from_a_warm_cache_ask_nothing_and_report_the_cached_hashes(upstream, tmp_path):
    status, online = run(upstream, tmp_path)
    assert status == 0, online
    before = len(upstream.requests)
    # The prepared dataset (its dataset_info.json holds the record), then only the downloads (a new prepare).
    for cache in ("datasets", "prepared-offline"):
        status, offline = run(upstream, tmp_path, cache=cache, offline=True)
        assert status == 0, offline
        assert offline == online, cache
    assert upstream.requests[before:] == []
    # Offline, a cached file is still checked against the hash it is filed under.
    train = sample_bytes(SPLIT_FILES["train"])
    blob(tmp_path, train).write_bytes(corrupted(train))
    status, offline = run(upstream, tmp_path, cache="tampered", offline=True)
    assert status == 1
    assert f"SHA-256 expected {hashlib.sha256(train).hexdigest()}" in offline["error"]
    assert not blob(tmp_path, train).exists()
    assert upstream.requests[before:] == []


def test_an_unknown_commit_fails_naming_the_repo_and_the_revision(upstream, tmp_path):
    status, payload = run(upstream, tmp_path, hub_revision="f" * 40)
    assert status == 1
    assert (
        f"{REPO} at revision {'f' * 40!r}: not found on {upstream.endpoint} (check hub_repo and hub_revision, or "
        "HF_ENDPOINT)" in payload["error"]
    )
    # Our one line (the runner adds the errors it was raised from below it) leaves out the client's links to HTTP docs.
    ours = re.split(r"\n\w+Error: ", payload["error"], maxsplit=1)[0]
    assert ours.startswith("FileNotFoundError: ") and "\n" not in ours and "For more information" not in ours


def export(upstream, home, *configs) -> Path:
    """Runs ``instruction_datasets export`` of (config, extra options) pairs into one folder; returns the folder."""
    out = home / "export"
    env = {key: value for key, value in os.environ.items() if not key.endswith("_OFFLINE")}
    env.update(HF_ENDPOINT=upstream.endpoint, HF_HOME=str(home / "hf"))
    for config, extra in configs:
        command = ["export", SCRIPT, config, "--out", str(out), "--cache-dir", str(home / "datasets"), *extra]
        result = subprocess.run(
            [sys.executable, "-m", "instruction_datasets", *command], capture_output=True, text=True, env=env
        )
        assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_exported_cards_name_the_commit_and_hashes_of_a_download_and_say_local_files_were_not_checked(
    upstream, tmp_path
):
    out = export(upstream, tmp_path, ("en", []), ("zh", ["--data-dir", str(sample_dir(SCRIPT, "zh"))]))
    card = (out / "README.md").read_text(encoding="utf-8")
    for path in SPLIT_FILES.values():
        sha256, size = hashlib.sha256(sample_bytes(path)).hexdigest(), len(sample_bytes(path))
        assert f"| `en` | `{REPO}/{path}` | `{REPO_COMMIT}` | {size:,} | `{sha256}` |" in card
    assert f'en = load("{SCRIPT}", "en", hub_revision="{REPO_COMMIT}")' in card
    assert card.index(f"`{REPO}/{SPLIT_FILES['train']}`") < card.index(f"`{REPO}/{SPLIT_FILES['test']}`")  # train first
    assert "Each file was checked against the hash its server published when it was downloaded." in card
    assert "- `zh`: the samples bundled with the `instruction_datasets` package" in card


# --- Servers that publish less than the Hub (tests/fake_upstream.py plays olah and a plain file server). ---

TEST_FILE = SPLIT_FILES["test"]  # kept in git itself, not in LFS, in the tests below: checked by git blob SHA-1


def git_blob(home, data: bytes) -> Path:
    """Where the Hub cache keeps a file that is not in LFS: named by its git blob SHA-1."""
    name = "datasets--" + REPO.replace("/", "--")
    return home / "hf" / "hub" / name / "blobs" / hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def own_requests(upstream) -> list:
    """What the loader itself asked, as (method, path after the repo): every request before datasets downloads
    (its first request is the revision API at the commit, then HEAD and GET of each file)."""
    downloads = ("GET", f"/api/datasets/{REPO}/revision/{REPO_COMMIT}")
    requests = upstream.requests
    own = requests[: requests.index(downloads)] if downloads in requests else requests
    return [(method, path.rpartition(f"/{REPO}/")[2]) for method, path in own]


def olah(upstream, paths_info=True, resolve_headers="etag"):
    upstream.like_olah()
    upstream.paths_info, upstream.resolve_headers = paths_info, resolve_headers
    upstream.plain_git = {TEST_FILE}


@pytest.mark.parametrize(
    ("paths_info", "resolve_headers"),
    [(True, "etag"), (False, "etag"), (False, "hub")],
    ids=["paths-info", "etag", "x-linked-etag"],
)
def test_a_mirror_without_file_metadata_is_checked_with_the_hashes_it_publishes_elsewhere(
    upstream, tmp_path, paths_info, resolve_headers
):
    olah(upstream, paths_info, resolve_headers)
    status, payload, log = run_logged(upstream, tmp_path)
    assert status == 0, payload
    assert payload["rows"]["en"] == local_rows(tmp_path)
    assert payload["download_checksums"]["en"] == expected_checksums(upstream, REPO_COMMIT)
    assert "publishes no hash" not in log
    hashes = ", ".join(
        f"{path} {hashlib.sha256(sample_bytes(path)).hexdigest()}" for path in sorted(SPLIT_FILES.values())
    )
    info = datasets.DatasetInfo(download_checksums=payload["download_checksums"]["en"])
    assert provenance.describe(info, local=False) == (
        f"{REPO} at commit {REPO_COMMIT}; checked against the hashes the server published, SHA-256: {hashes}"
    )
    # Where the hashes came from: one paths-info call for both files, or (where it fails) one HEAD of each file.
    asked = [("GET", "revision/main"), ("POST", f"paths-info/{REPO_COMMIT}")]
    if not paths_info:
        asked += [("HEAD", f"resolve/{REPO_COMMIT}/{path}") for path in SPLIT_FILES.values()]
    assert own_requests(upstream) == asked


@pytest.mark.parametrize("paths_info", [True, False], ids=["paths-info", "resolve-headers"])
@pytest.mark.parametrize("path", sorted(SPLIT_FILES.values()))
def test_other_bytes_from_such_a_mirror_fail_with_the_hash_it_published(upstream, tmp_path, paths_info, path):
    olah(upstream, paths_info)
    upstream.add_fault(path, "corrupt", sticky=True)
    status, payload = run(upstream, tmp_path)
    assert status == 1
    data = sample_bytes(path)
    url = f"{upstream.endpoint}/datasets/{REPO}/resolve/{REPO_COMMIT}/{path}"
    if path == TEST_FILE:  # not in LFS: the git blob SHA-1
        expected = f"git blob SHA-1 expected {git_blob(tmp_path, data).name}"
    else:
        expected = f"SHA-256 expected {hashlib.sha256(data).hexdigest()}"
    assert f"{url}: content differs from the hash published for this file ({expected}, got " in payload["error"]


def test_a_server_that_publishes_no_hash_loads_unchecked_with_a_warning_per_file(upstream, tmp_path):
    upstream.publishing_no_hash()
    status, payload, log = run_logged(upstream, tmp_path)
    assert status == 0, payload
    assert payload["rows"]["en"] == local_rows(tmp_path)
    assert payload["download_checksums"]["en"] == expected_checksums(upstream, REPO_COMMIT, verified=False)
    for path in SPLIT_FILES.values():
        url = f"{upstream.endpoint}/datasets/{REPO}/resolve/{REPO_COMMIT}/{path}"
        warning = f"{url}: {upstream.endpoint} publishes no hash for this file"
        assert log.count(warning) == 1, log[-3000:]
    assert "point HF_ENDPOINT at a server that publishes hashes" in log


def test_all_checks_refuses_a_file_with_no_published_hash_in_one_line(upstream, tmp_path):
    upstream.publishing_no_hash()
    status, payload = run(upstream, tmp_path, verification_mode="all_checks")
    assert status == 1
    url = f"{upstream.endpoint}/datasets/{REPO}/resolve/{REPO_COMMIT}/data/train.jsonl"
    first = payload["error"].splitlines()[0]
    assert first.startswith(f"AlignAnythingIntegrityError: {url}: {upstream.endpoint} publishes no hash"), first
    assert "so verification_mode='all_checks' cannot check it: point HF_ENDPOINT at a server" in first


@pytest.mark.parametrize("server", ["olah", "no hash"])
def test_no_checks_hashes_nothing_and_asks_for_no_hash(upstream, tmp_path, server):
    olah(upstream) if server == "olah" else upstream.publishing_no_hash()
    status, payload, log = run_logged(upstream, tmp_path, verification_mode="no_checks")
    assert status == 0, payload
    assert payload["rows"]["en"] == local_rows(tmp_path)
    assert payload["download_checksums"]["en"] == expected_checksums(
        upstream, REPO_COMMIT, verified=False, mode="no_checks"
    )
    assert own_requests(upstream) == [("GET", "revision/main")]
    assert "publishes no hash" not in log
    # Offline, no_checks hashes nothing either (the commit main named is remembered all the same).
    status, offline = run(upstream, tmp_path, cache="offline", offline=True, verification_mode="no_checks")
    assert status == 0, offline
    assert offline == payload
    # Other bytes than the published ones are not caught by a hash: only the row reader can object to them.
    upstream.add_fault(TEST_FILE, "corrupt", sticky=True)
    status, payload = run(
        upstream, tmp_path, cache="altered", verification_mode="no_checks", download_mode="force_redownload"
    )
    assert status == 1
    assert "content differs" not in payload["error"] and "key 'prompt' is missing" in payload["error"]


def test_a_no_checks_load_never_leaves_rows_that_a_checked_load_would_serve(upstream, tmp_path):
    # A cached download altered on disk, and the prepared dataset dropped: a no_checks load prepares its rows.
    status, checked = run(upstream, tmp_path)
    assert status == 0, checked
    train = sample_bytes(SPLIT_FILES["train"])
    lines = train.splitlines(keepends=True)
    altered = lines[1] + lines[0] + b"".join(lines[2:])  # other rows, still valid JSON Lines
    blob(tmp_path, train).write_bytes(altered)
    status, unchecked = run(upstream, tmp_path, cache="again", verification_mode="no_checks")
    assert status == 0, unchecked
    assert unchecked["rows"]["en"]["train"][:2] == checked["rows"]["en"]["train"][1::-1]
    url = f"{upstream.endpoint}/datasets/{REPO}/resolve/{REPO_COMMIT}/data/train.jsonl"
    assert unchecked["download_checksums"]["en"][url]["verification_mode"] == "no_checks"
    # The next default load does not serve them: it prepares again, and the download fails its hash.
    status, payload, log = run_logged(upstream, tmp_path, cache="again")
    assert status == 1
    assert "made without checking this file's hash (verification_mode='no_checks'): preparing it again" in log
    assert f"{url}: content differs from the hash published for this file" in payload["error"]
    # Then it fetches the file anew and serves the rows the Hub publishes; no_checks is still served its own.
    status, payload = run(upstream, tmp_path, cache="again")
    assert status == 0, payload
    assert payload == checked
    status, payload, log = run_logged(upstream, tmp_path, cache="again", verification_mode="no_checks")
    assert status == 0 and "preparing it again" not in log
    assert payload["rows"] == checked["rows"]


def test_verify_stream_streams_only_checked_rows(upstream, tmp_path):
    status, payload = run(upstream, tmp_path, streaming=True, verify_stream=True)
    assert status == 0, payload
    assert payload["rows"]["en"] == local_rows(tmp_path)
    assert payload["download_checksums"]["en"] == expected_checksums(upstream, REPO_COMMIT, mode="all_checks")
    train = sample_bytes(SPLIT_FILES["train"])
    assert blob(tmp_path, train).read_bytes() == train  # the checked copy the rows were streamed from
    # Other bytes under the published hash: the load fails before the stream exists, so no row can leave it.
    upstream.add_fault("/data/train.jsonl", "corrupt", sticky=True)
    blob(tmp_path, train).unlink()
    status, payload = run(upstream, tmp_path, cache="tampered", streaming=True, verify_stream=True)
    assert status == 1 and "rows" not in payload
    assert "content differs from the hash published for this file" in payload["error"].splitlines()[0]
    # A server that publishes no hash cannot give checked rows: refused in one line, as all_checks refuses.
    upstream.clear_faults()
    upstream.publishing_no_hash()
    status, payload = run(upstream, tmp_path, cache="unpublished", streaming=True, verify_stream=True)
    assert status == 1
    assert "so verification_mode='all_checks' cannot check it" in payload["error"].splitlines()[0]


def test_offline_checks_what_online_checked_the_git_blob_sha1_too(upstream, tmp_path):
    olah(upstream)
    status, online = run(upstream, tmp_path)
    assert status == 0, online
    before = len(upstream.requests)
    status, offline = run(upstream, tmp_path, cache="offline", offline=True)
    assert status == 0, offline
    assert offline == online
    # The file kept in git is filed under its git blob SHA-1, and checked against it.
    data = sample_bytes(TEST_FILE)
    git_blob(tmp_path, data).write_bytes(corrupted(data))
    status, offline = run(upstream, tmp_path, cache="tampered", offline=True)
    assert status == 1
    assert f"git blob SHA-1 expected {git_blob(tmp_path, data).name}" in offline["error"]
    assert not git_blob(tmp_path, data).exists()
    assert upstream.requests[before:] == []


def test_offline_after_a_server_with_no_hash_warns_or_refuses_as_online(upstream, tmp_path):
    upstream.publishing_no_hash()
    status, online = run(upstream, tmp_path)
    assert status == 0, online
    status, offline, log = run_logged(upstream, tmp_path, cache="offline", offline=True)
    assert status == 0, offline
    assert offline == online  # rows, and checksum None: not checked
    assert log.count("which is no hash") == len(SPLIT_FILES), log[-3000:]
    status, offline = run(upstream, tmp_path, cache="refused", offline=True, verification_mode="all_checks")
    assert status == 1
    assert "which is no hash, so verification_mode='all_checks' cannot check it" in offline["error"]


def test_cards_and_the_recorded_source_say_not_checked_where_the_server_published_no_hash(upstream, tmp_path):
    upstream.publishing_no_hash()
    out = export(upstream, tmp_path, ("en", []))
    card = (out / "README.md").read_text(encoding="utf-8")
    for path in SPLIT_FILES.values():
        assert f"| `en` | `{REPO}/{path}` | `{REPO_COMMIT}` | {len(sample_bytes(path)):,} | not checked |" in card
    assert "Each file was checked" not in card
    status, payload = run(upstream, tmp_path)
    assert status == 0, payload
    info = datasets.DatasetInfo(download_checksums=payload["download_checksums"]["en"])
    assert provenance.describe(info, local=False) == (
        f"{REPO} at commit {REPO_COMMIT}; not checked: data/test.jsonl, data/train.jsonl"
    )
