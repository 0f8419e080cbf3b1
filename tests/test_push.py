"""Push: the library's `push()`, the `push` command, and what a user of `load_dataset("ORG/NAME", config)` gets.

- Dry runs and checks, with no server: what would be uploaded, the commit message, the repo id and branch name
  checks, the token never shown, the card's snippets filled in with the repo id.
- The round trip (marked slow): every config of both builders is exported from the samples, pushed to the fake
  Hub of tests/fake_upstream.py, then read back by `datasets.load_dataset` in a fresh process
  (tests/hub_runner.py), plain and streaming; re-pushes, branches, retries, failures and the token.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import huggingface_hub
import pytest
from fake_upstream import FakeUpstream
from helpers import EXPECTED_SPLITS, run_cli

from instruction_datasets import builder_class, card, load
from instruction_datasets import push as push_module
from instruction_datasets.card import CardError
from instruction_datasets.export import export
from instruction_datasets.loading import sample_dir
from instruction_datasets.push import PushError, push

#: The Hub round trip (the tests that take `hub` or `read_back`): one export, then pushes and reads back in fresh
#: processes, the suite's longest part.
round_trip = pytest.mark.slow

RUNNER = Path(__file__).with_name("hub_runner.py")
SECRET = "hf_roundTripSecret0123456789abcdef"
REPOS = {"align_anything_instruction": "org/align", "instruction_tuning_alpha": "org/alpha"}
CASES = [pytest.param(script, config, id=f"{script}-{config}") for script, config in EXPECTED_SPLITS]


def user_env(hub: FakeUpstream, home: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.endswith("_OFFLINE")}
    env.update(HF_ENDPOINT=hub.endpoint, HF_HOME=str(home), HF_TOKEN=SECRET, HF_HUB_DISABLE_TELEMETRY="1")
    return env


def in_process(hub: FakeUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pushes from this process go to the fake Hub, with the token, and retry without waiting."""
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", hub.endpoint)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setattr(push_module, "RETRY_DELAYS", (0.0, 0.0))


def head(hub: FakeUpstream, repo: str, branch: str = "main") -> str:
    return hub.hosted[repo].branches[branch]


@pytest.fixture(scope="module")
def hub(exported, tmp_path_factory):
    """The fake Hub after the pushes a maintainer makes: both datasets, a re-push, a push to a branch."""
    server = FakeUpstream()
    home = tmp_path_factory.mktemp("hf-home")
    # The command a maintainer runs, in its own process: its output is what the token must never appear in.
    command = [sys.executable, "-m", "instruction_datasets", "push"]
    server.cli = subprocess.run(
        [*command, str(exported["instruction_tuning_alpha"]), "--repo-id", REPOS["instruction_tuning_alpha"]],
        capture_output=True,
        text=True,
        env=user_env(server, home),
        timeout=300,
    )
    with pytest.MonkeyPatch.context() as monkeypatch:
        in_process(server, monkeypatch)
        push(exported["align_anything_instruction"], REPOS["align_anything_instruction"])
        server.first_head = head(server, "org/align")
        push(exported["align_anything_instruction"], REPOS["align_anything_instruction"])
        push(exported["align_anything_instruction"], "org/branched", revision="dev")
    yield server
    server.close()


@pytest.fixture(scope="module")
def read_back(hub, tmp_path_factory):
    """Everything a user reads, asked in one fresh process: each config plain and streaming, and more."""
    loads = [
        {"repo": REPOS[script], "config": config, "streaming": streaming}
        for script, config in EXPECTED_SPLITS
        for streaming in (False, True)
    ]
    loads += [{"repo": repo, "config": None} for repo in REPOS.values()]
    # main of the repo pushed to a branch only, read into a cache of its own: `datasets` would fall back to
    # what it cached from the branch.
    main_cache = str(tmp_path_factory.mktemp("hub-cache-main"))
    loads += [{"repo": "org/branched", "config": "zh", "cache_dir": main_cache}]
    loads += [{"repo": "org/branched", "config": "zh", "revision": "dev"}]
    request = {"cache_dir": str(tmp_path_factory.mktemp("hub-cache")), "loads": loads}
    request["config_names"] = list(REPOS.values())
    home = tmp_path_factory.mktemp("hf-home-reader")
    result = subprocess.run(
        [sys.executable, str(RUNNER), json.dumps(request)],
        capture_output=True,
        text=True,
        env=user_env(hub, home),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    answer["loads"] = {
        json.dumps(entry, sort_keys=True): got for entry, got in zip(loads, answer["loads"], strict=True)
    }
    return answer


def loaded(read_back, **entry) -> dict:
    return read_back["loads"][json.dumps(entry, sort_keys=True)]


def ours(script: str, config: str) -> dict:
    return {split: list(rows) for split, rows in load(script, config, data_dir=sample_dir(script, config)).items()}


@round_trip
@pytest.mark.parametrize(("script", "config"), CASES)
def test_every_pushed_config_loads_back_as_load_gives_it(script, config, read_back):
    expected = ours(script, config)
    assert loaded(read_back, repo=REPOS[script], config=config, streaming=False) == expected
    assert loaded(read_back, repo=REPOS[script], config=config, streaming=True) == expected


@round_trip
@pytest.mark.parametrize("script", sorted(REPOS))
def test_every_config_is_listed_and_a_load_without_a_name_gives_the_default(script, read_back):
    cls = builder_class(script)
    assert sorted(read_back["config_names"][REPOS[script]]) == sorted(cls.builder_configs)
    assert loaded(read_back, repo=REPOS[script], config=None) == ours(script, cls.DEFAULT_CONFIG_NAME)


@round_trip
def test_pushing_the_same_folder_again_makes_no_commit(hub):
    assert head(hub, "org/align") == hub.first_head
    assert len(hub.hosted["org/align"].commits) == 2  # the repo's first commit, and the push


@round_trip
def test_a_push_to_a_branch_fills_the_branch_and_leaves_main(hub, read_back):
    assert loaded(read_back, repo="org/branched", config="zh", revision="dev") == ours(
        "align_anything_instruction", "zh"
    )
    assert hub.hosted["org/branched"].commits[head(hub, "org/branched")] == {}
    main = next(got for entry, got in read_back["loads"].items() if '"org/branched"' in entry and "dev" not in entry)
    assert "error" in main


@round_trip
def test_the_token_is_sent_and_never_shown(hub, exported):
    assert hub.cli.returncode == 0, hub.cli.stderr
    assert "committed:" in hub.cli.stdout
    assert hub.authorizations and set(hub.authorizations) == {f"Bearer {SECRET}"}
    assert SECRET not in hub.cli.stdout + hub.cli.stderr
    assert all(SECRET not in path for _, path in hub.requests)
    for repo in hub.hosted.values():
        for files in repo.commits.values():
            assert all(SECRET.encode() not in data for data in files.values())


@round_trip
def test_a_server_error_on_commit_is_retried(hub, exported, monkeypatch, capsys):
    in_process(hub, monkeypatch)
    hub.add_fault("/api/datasets/org/retried/commit/main", "500")
    told = []
    pushed = push(exported["instruction_tuning_alpha"], "org/retried", on_retry=told.append)
    assert "the Hub answered 500; trying again" in "\n".join(pushed.retries)
    assert told == list(pushed.retries) and capsys.readouterr().out == ""  # told as it happens; nothing printed
    commits = hub.hosted["org/retried"].commits
    assert len(commits) == 2 and "data/all/train-00000-of-00001.parquet" in commits[head(hub, "org/retried")]


@round_trip
def test_a_lasting_server_error_fails_with_a_message_and_leaves_the_repo_as_it_was(
    hub, exported, monkeypatch, tmp_path
):
    in_process(hub, monkeypatch)
    folder = tmp_path / "alpha"
    shutil.copytree(exported["instruction_tuning_alpha"], folder)
    with open(folder / "README.md", "a", encoding="utf-8") as card:
        card.write("\nReviewed by the data team.\n")
    before = dict(hub.hosted["org/alpha"].commits[head(hub, "org/alpha")])
    hub.add_fault("/api/datasets/org/alpha/commit/main", "500", sticky=True)
    try:
        with pytest.raises(PushError, match=r"the Hub answered 500 to 3 attempts .*keeps what it held before"):
            push(folder, "org/alpha")
    finally:
        hub.clear_faults()
    assert hub.hosted["org/alpha"].commits[head(hub, "org/alpha")] == before


@round_trip
def test_a_bad_card_is_refused_before_any_network_call(hub, exported, monkeypatch, tmp_path):
    in_process(hub, monkeypatch)
    folder = tmp_path / "alpha"
    shutil.copytree(exported["instruction_tuning_alpha"], folder)
    card = folder / "README.md"
    card.write_text(card.read_text(encoding="utf-8").replace("split: train", "split: train-v2"), encoding="utf-8")
    calls = len(hub.requests)
    with pytest.raises(CardError, match=r"README.md would be refused:\n  config 'all': split name 'train-v2'"):
        push(folder, "org/refused")
    assert len(hub.requests) == calls and "org/refused" not in hub.hosted


@round_trip
def test_shards_the_folder_no_longer_holds_are_deleted_in_the_same_commit(hub, monkeypatch, tmp_path):
    in_process(hub, monkeypatch)
    kwargs = {"data_dir": sample_dir("instruction_tuning_alpha", "all"), "cache_dir": tmp_path / "cache"}
    export("instruction_tuning_alpha", "harmless", tmp_path / "out", max_shard_size="1KB", **kwargs)
    push(tmp_path / "out", "org/reshard")
    assert "data/harmless/train-00001-of-00002.parquet" in hub.hosted["org/reshard"].commits[head(hub, "org/reshard")]
    export("instruction_tuning_alpha", "harmless", tmp_path / "out", **kwargs)
    push(tmp_path / "out", "org/reshard")
    files = hub.hosted["org/reshard"].commits[head(hub, "org/reshard")]
    assert sorted(name for name in files if name.startswith("data/")) == ["data/harmless/train-00000-of-00001.parquet"]
    assert len(hub.hosted["org/reshard"].commits) == 3


@round_trip
def test_push_options_of_the_command_line_reach_the_hub(hub, exported, tmp_path):
    """--create-pr, --commit-message and --token: a pull request whose commit carries the message, main left as it
    was, and the token sent as ``Authorization: Bearer`` (HF_TOKEN unset) but shown nowhere."""
    folder = tmp_path / "alpha"
    shutil.copytree(exported["instruction_tuning_alpha"], folder)
    with open(folder / "README.md", "a", encoding="utf-8") as card:
        card.write("\nReviewed by the data team.\n")
    repo = hub.hosted["org/alpha"]
    main, prs = head(hub, "org/alpha"), sum(name.startswith("refs/pr/") for name in repo.branches)
    calls = len(hub.authorizations)
    env = user_env(hub, tmp_path / "home")
    del env["HF_TOKEN"]
    token = "hf_commandLineSecret0123456789"
    command = [sys.executable, "-m", "instruction_datasets", "push", str(folder), "--repo-id", "org/alpha"]
    command += ["--create-pr", "--commit-message", "Note the review", "--token", token]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert head(hub, "org/alpha") == main
    pull_request = repo.branches[f"refs/pr/{prs + 1}"]
    assert repo.messages[pull_request] == "Note the review"
    assert repo.commits[pull_request]["README.md"].endswith(b"\nReviewed by the data team.\n")
    assert f"opened pull request: {hub.endpoint}/datasets/org/alpha/discussions/{prs + 1} " in result.stdout
    assert set(hub.authorizations[calls:]) == {f"Bearer {token}"}
    assert token not in result.stdout + result.stderr


@round_trip
def test_a_commit_carries_the_message_given_or_one_naming_the_configs(hub, exported, monkeypatch):
    in_process(hub, monkeypatch)
    assert hub.hosted["org/align"].messages[head(hub, "org/align")] == "Upload en, zh (export by instruction_datasets)"
    push(exported["instruction_tuning_alpha"], "org/messaged", commit_message="First upload of alpha")
    assert hub.hosted["org/messaged"].messages[head(hub, "org/messaged")] == "First upload of alpha"


@round_trip
def test_a_token_in_an_error_is_not_shown(hub, exported, tmp_path):
    env = user_env(hub, tmp_path / "home")
    token = "hf_brokenSecret0123456789\n"  # a pasted line break: the HTTP client refuses the header, naming it
    command = [sys.executable, "-m", "instruction_datasets", "push", str(exported["instruction_tuning_alpha"])]
    result = subprocess.run(
        [*command, "--repo-id", "org/broken", "--token", token], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 1 and result.stderr.startswith("error: ")
    assert token.strip() not in result.stdout + result.stderr


def test_push_dry_run_lists_files_and_never_shows_the_token(exported, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", "hf_secretvalue123")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    plan = push(exported["instruction_tuning_alpha"], "someone/alpha", dry_run=True)
    files, out = plan.files, "\n".join(plan.lines())  # what the command line prints
    assert capsys.readouterr().out == ""  # the library prints nothing
    assert "README.md" in files and "data/harmless/train-00000-of-00001.parquet" in files
    assert "would upload" in out and "datasets/someone/alpha" in out and "harmless" in out
    assert "hf_secretvalue123" not in out


def test_push_never_sends_a_git_clones_own_files(exported, tmp_path):
    folder = tmp_path / "alpha"
    shutil.copytree(exported["instruction_tuning_alpha"], folder)
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    files = push(folder, "someone/alpha", dry_run=True).files
    assert "README.md" in files and not [name for name in files if ".git" in name]


@pytest.mark.parametrize("script", sorted(REPOS))
def test_push_fills_in_the_repo_id_and_its_dry_run_shows_it(script, exported, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = tmp_path / "out"
    shutil.copytree(exported[script], folder)
    before = (folder / "README.md").read_text(encoding="utf-8")
    out = "\n".join(push(folder, "someone/instructions", dry_run=True).lines())  # what the command line prints
    assert 'the card\'s snippets read: datasets.load_dataset("someone/instructions", ...)' in out
    assert (folder / "README.md").read_text(encoding="utf-8") == before  # the folder's card is left as it is
    filled = card.fill_repo_id(before, "someone/instructions")
    assert card.PLACEHOLDER not in filled and card.PLACEHOLDER_NOTE not in filled
    assert set(re.findall(r'load_dataset\("([^"]+)"', filled)) == {"someone/instructions"}
    # A card that names a repo already gets the new one.
    assert set(re.findall(r'load_dataset\("([^"]+)"', card.fill_repo_id(filled, "else/where"))) == {"else/where"}
    # The user's own text is theirs, placeholder or not.
    mine = before.replace(card.BEGIN, f'Ours: load_dataset("{card.PLACEHOLDER}")\n\n{card.BEGIN}')
    assert f'Ours: load_dataset("{card.PLACEHOLDER}")' in card.fill_repo_id(mine, "someone/instructions")


@pytest.mark.network
def test_a_pushed_card_names_the_repo_it_was_pushed_to(exported, monkeypatch, tmp_path):
    folder = tmp_path / "alpha"
    shutil.copytree(exported["instruction_tuning_alpha"], folder)
    before = (folder / "README.md").read_bytes()
    hub = FakeUpstream()
    try:
        in_process(hub, monkeypatch)
        push(folder, "org/alpha")
        repo = hub.hosted["org/alpha"]
        pushed = repo.commits[repo.branches["main"]]["README.md"].decode("utf-8")
    finally:
        hub.close()
    assert set(re.findall(r'load_dataset\("([^"]+)"', pushed)) == {"org/alpha"}
    assert card.PLACEHOLDER not in pushed
    assert (folder / "README.md").read_bytes() == before


def test_the_token_is_never_printed_in_a_dry_run_or_an_error(tmp_path, exported, capsys):
    secret = "hf_cliSecret0123456789abcdef"
    argv = ["push", exported["instruction_tuning_alpha"], "--repo-id", "org/name", "--dry-run", "--token", secret]
    status, out, err = run_cli(argv, capsys)
    assert status == 0 and "would upload" in out
    assert secret not in out + err
    # A mistake that argparse reports with the words it did not understand, the token among them.
    status, out, err = run_cli(["push", tmp_path, "--repo-id", "o/n", "--token", secret, "--tokn", secret], capsys)
    assert status == 2 and "unrecognized arguments: --tokn ***" in err
    assert secret not in out + err


def test_a_push_dry_run_shows_the_commit_message_given_or_the_default(exported, capsys):
    folder = exported["instruction_tuning_alpha"]
    status, out, _ = run_cli(["push", folder, "--repo-id", "org/name", "--dry-run"], capsys)
    assert status == 0
    configs = ", ".join(sorted(builder_class("instruction_tuning_alpha").builder_configs))
    assert f"to datasets/org/name in one commit: 'Upload {configs} (export by instruction_datasets)'\n" in out
    argv = ["push", folder, "--repo-id", "org/name", "--dry-run", "--commit-message", "Fix the card", "--create-pr"]
    status, out, _ = run_cli(argv, capsys)
    assert status == 0
    assert "to datasets/org/name in one commit, as a new pull request: 'Fix the card'\n" in out


def test_the_library_checks_the_repo_id_too_and_names_its_parameter(exported):
    with pytest.raises(ValueError, match=r"^repo_id 'not-a-valid/repo/id': give ORG/NAME"):
        push_module.push(exported["instruction_tuning_alpha"], "not-a-valid/repo/id", dry_run=True)


@pytest.mark.parametrize("revision", ["bad branch", "a..b", "-x", "x.lock", "feature/", ".hidden", "a:b", "@"])
def test_a_branch_name_git_refuses_is_refused_before_anything_else(revision, exported, capsys):
    folder = exported["instruction_tuning_alpha"]
    status, out, err = run_cli(["push", folder, "--repo-id", "o/n", f"--revision={revision}", "--dry-run"], capsys)
    assert status == 2 and out == ""
    assert err.startswith(f"error: --revision {revision!r}: not a branch name git accepts") and err.count("\n") == 1
    with pytest.raises(ValueError, match=rf"^revision {re.escape(repr(revision))}: not a branch name git accepts"):
        push_module.push(exported["instruction_tuning_alpha"], "org/name", revision=revision, dry_run=True)


@pytest.mark.parametrize("revision", ["v1.0", "feature/new-rows", "release_2026.12", "refs-like/a.b/c"])
def test_a_branch_name_git_accepts_goes_through(revision, exported, capsys):
    argv = ["push", exported["instruction_tuning_alpha"], "--repo-id", "org/name", "--revision", revision, "--dry-run"]
    status, out, _ = run_cli(argv, capsys)
    assert status == 0 and f"to datasets/org/name@{revision} in one commit" in out


# --- What is sent: what export wrote, never a link or a dotfile, never a token ---------------------------------


def with_extras(exported, tmp_path) -> Path:
    """A copy of the alpha export holding what a user's folder may hold besides: a .env with a token, links to a
    file and a folder outside it, a link among export's own figures, and notes of their own."""
    folder = tmp_path / "alpha"
    shutil.copytree(exported["instruction_tuning_alpha"], folder)
    outside = tmp_path / "outside.txt"
    outside.write_text("OUTSIDE-THE-FOLDER\n", encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "data.txt").write_text("OUTSIDE-THE-FOLDER too\n", encoding="utf-8")
    (folder / ".env").write_text(f"HF_TOKEN={SECRET}\n", encoding="utf-8")
    (folder / "link.txt").symlink_to(outside)
    (folder / "stats" / "linked.json").symlink_to(outside)
    (folder / "linked-folder").symlink_to(tmp_path / "elsewhere")
    (folder / "notes.md").write_text("# My notes\nnothing secret here\n", encoding="utf-8")
    return folder


def written_by_export(folder: Path) -> list[str]:
    configs = [name for _, name in EXPECTED_SPLITS if _ == "instruction_tuning_alpha"]
    names = ["README.md"]
    for config in configs:
        names += [f"data/{config}/{shard.name}" for shard in (folder / "data" / config).iterdir()]
        names += [f"stats/{config}.json", f"stats/{config}.png", f"provenance/{config}.json"]
    return sorted(names)


LEFT_OUT = {
    ".env": "a dotfile: never sent, even with --include (only .gitattributes is)",
    "link.txt": "a symbolic link: never followed, even with --include",
    "stats/linked.json": "a symbolic link: never followed, even with --include",
    "linked-folder/": "a symbolic link: never followed, even with --include",
    "notes.md": "not written by export for a config the card lists",
}


def test_a_dry_run_sends_what_export_wrote_and_lists_the_rest_with_the_reason(exported, tmp_path):
    folder = with_extras(exported, tmp_path)
    planned = push(folder, "org/alpha", dry_run=True)
    assert planned.files == written_by_export(folder)
    assert dict(planned.left_out) == LEFT_OUT
    lines = planned.lines()
    assert "left out 5 (--include PATTERN sends a file export did not write):" in lines
    assert "  .env: a dotfile: never sent, even with --include (only .gitattributes is)" in lines
    assert SECRET not in "\n".join(lines)
    # --include adds the notes, and nothing that is a link or a dotfile, whatever the pattern.
    included = push(folder, "org/alpha", dry_run=True, include=["*"])
    assert included.files == sorted([*written_by_export(folder), "notes.md"])
    assert set(dict(included.left_out)) == set(LEFT_OUT) - {"notes.md"}


def test_shards_of_a_config_the_card_does_not_list_are_left_out(exported, tmp_path):
    folder = tmp_path / "alpha"
    shutil.copytree(exported["instruction_tuning_alpha"], folder)
    shutil.copytree(folder / "data" / "part1", folder / "data" / "old-config")
    planned = push(folder, "org/alpha", dry_run=True)
    assert not [name for name in planned.files if "old-config" in name]
    assert {name for name, _ in planned.left_out} == {
        f"data/old-config/{shard.name}" for shard in (folder / "data" / "old-config").iterdir()
    }


@pytest.mark.network
def test_a_push_stores_neither_dotfiles_nor_links_and_include_adds_only_what_it_names(
    exported, tmp_path, monkeypatch, capsys
):
    folder = with_extras(exported, tmp_path)
    hub = FakeUpstream()
    try:
        in_process(hub, monkeypatch)
        status, out, err = run_cli(["push", str(folder), "--repo-id", "org/alpha", "--include", "notes.md"], capsys)
        repo = hub.hosted["org/alpha"]
        stored = repo.commits[repo.branches["main"]]
    finally:
        hub.close()
    assert status == 0, err
    assert sorted(stored) == sorted([*written_by_export(folder), "notes.md"])
    assert not [name for name, data in stored.items() if b"OUTSIDE-THE-FOLDER" in data or SECRET.encode() in data]
    assert "left out 4 (--include PATTERN sends a file export did not write):" in out.splitlines()
    assert SECRET not in out + err


@pytest.mark.parametrize(
    ("where", "written"),
    [
        ("notes.md", "# notes\nmy token: hf_abcdefghijklmnopqrstuvwxyz0123456789\n"),
        ("notes.md", f"# notes\n\nthe one HF_TOKEN holds: {SECRET[3:]}-{SECRET}\n"),
        ("README.md", None),  # a token written in the user's part of the card
    ],
    ids=["token shape", "HF_TOKEN's value", "in the card"],
)
@pytest.mark.network
def test_a_token_in_a_file_to_send_refuses_the_push_naming_file_and_line(
    where, written, exported, tmp_path, monkeypatch, capsys
):
    folder = tmp_path / "alpha"
    shutil.copytree(exported["instruction_tuning_alpha"], folder)
    if written is None:
        card_text = (folder / "README.md").read_text(encoding="utf-8")
        (folder / "README.md").write_text(card_text + f"\nMy token, for later: {SECRET}\n", encoding="utf-8")
        line = card_text.count("\n") + 2
    else:
        (folder / where).write_text(written, encoding="utf-8")
        line = written.count("\n")
    hub = FakeUpstream()
    try:
        in_process(hub, monkeypatch)
        status, out, err = run_cli(["push", str(folder), "--repo-id", "org/alpha", "--include", "notes.md"], capsys)
        requests = list(hub.requests)
    finally:
        hub.close()
    assert status == 1
    assert err.strip().splitlines() == [
        f"error: {folder / where}, line {line}: holds a Hugging Face token; remove it from the file (or leave the "
        "file out) and push again: nothing was sent (--debug shows the traceback)"
    ]
    assert requests == [], "nothing reached the Hub"
    assert "hf_" not in out + err.replace(str(folder), "")


@pytest.mark.network
def test_a_re_push_that_changes_nothing_says_so_in_its_first_line_and_makes_no_commit(
    exported, tmp_path, monkeypatch, capsys
):
    hub = FakeUpstream()
    try:
        in_process(hub, monkeypatch)
        argv = ["push", str(exported["instruction_tuning_alpha"]), "--repo-id", "org/alpha"]
        first = run_cli(argv, capsys)
        commits = len(hub.hosted["org/alpha"].commits)
        again = run_cli(argv, capsys)
        assert len(hub.hosted["org/alpha"].commits) == commits
    finally:
        hub.close()
    assert first[0] == again[0] == 0
    assert first[1].splitlines()[0].startswith("uploading ")
    assert again[1].splitlines() == [
        f"nothing to commit: datasets/org/alpha already holds these files (commit {head(hub, 'org/alpha')})"
    ]


@pytest.mark.network
def test_a_push_sends_only_the_files_that_changed(exported, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "alpha"
    shutil.copytree(exported["instruction_tuning_alpha"], folder)
    hub = FakeUpstream()
    try:
        in_process(hub, monkeypatch)
        run_cli(["push", str(folder), "--repo-id", "org/alpha"], capsys)
        (folder / "stats" / "all.json").write_text("{}\n", encoding="utf-8")
        status, out, err = run_cli(["push", str(folder), "--repo-id", "org/alpha"], capsys)
        stored = hub.hosted["org/alpha"].commits[head(hub, "org/alpha")]
    finally:
        hub.close()
    assert status == 0, err
    total = len(push(folder, "org/alpha", dry_run=True).files)
    assert out.splitlines()[:2] == [
        f"uploading 1 file(s) ({total - 1} unchanged) to datasets/org/alpha in one commit: "
        "'Upload all, harmless, helpful, part1, part2, python_code, synthetic_qa (export by instruction_datasets)'",
        "  stats/all.json",
    ]
    assert stored["stats/all.json"] == b"{}\n"


@pytest.mark.slow
def test_a_push_waits_for_an_export_that_holds_the_folder(exported, tmp_path):
    from instruction_datasets.export import folder_lock

    folder = tmp_path / "alpha"
    shutil.copytree(exported["instruction_tuning_alpha"], folder)
    command = [sys.executable, "-m", "instruction_datasets", "push", str(folder), "--repo-id", "org/a", "--dry-run"]
    with folder_lock(folder):
        waiting = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        said = waiting.stderr.readline()  # written before the push reads anything
        assert waiting.poll() is None, "the push went on while the folder was held"
    out, err = waiting.communicate(timeout=120)
    assert said == f"{folder}: another export or push is using this folder; waiting for it to end\n"
    assert waiting.returncode == 0, err
    assert out.startswith("would upload ")
