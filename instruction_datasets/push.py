"""Upload an export folder to a Hub dataset repo: the card is checked first, then one commit of what changed."""

from __future__ import annotations

import os
import re
import time
from fnmatch import fnmatch
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.utils import HfHubHTTPError, HFValidationError, validate_repo_id

from . import card

#: Seconds to wait before each new attempt when the Hub answers a server error (5xx or 429).
RETRY_DELAYS = (1.0, 3.0)
#: Remote files that the folder mirrors: those it no longer holds are deleted in the same commit.
MIRRORED = ["data/*", "stats/*"]


#: Folders never sent: a git clone's own files, and huggingface_hub's download cache.
NOT_SENT = {".git", ".cache"}
#: What git's check-ref-format (and so the Hub) refuses anywhere in a branch name.
_NOT_IN_A_BRANCH = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|(^|/)\.|\.lock(/|$)|^[-/]|[/.]$")


class PushError(RuntimeError):
    """The Hub kept answering with a server error."""


def push(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    revision: str | None = None,
    private: bool = False,
    dry_run: bool = False,
    commit_message: str | None = None,
    create_pr: bool = False,
    token: str | None = None,
) -> list[str]:
    """Uploads an export folder to a Hub dataset repo in one commit; returns the files it holds.

    The card is checked as the Hub would before anything is sent (`card.CardError` names every problem).
    Files the repo already holds with the same bytes are not sent; shards and stats the folder no longer
    holds are deleted, so a repo never mixes old and new shards; with nothing changed no commit is made.
    ``revision`` is a branch, created from ``main`` if needed. With ``create_pr`` the commit opens a pull
    request against that branch instead (as `huggingface_hub`'s ``create_commit(create_pr=True)``), for a repo
    you may not write to. ``commit_message`` replaces the default one (see `commit_message`). A server error is
    retried twice. The ``token`` (default: where `huggingface_hub` looks, ``HF_TOKEN`` or the saved login) is
    never printed. ``repo_id`` is checked first, as the Hub checks it, and ``revision`` as git checks a branch
    name (``ValueError``). With ``dry_run`` nothing touches the network. The card sent names ``repo_id`` in its
    snippets (`card.fill_repo_id`); the folder's own card is left as it is.
    """
    problem = repo_id_problem(repo_id)
    if problem:
        raise ValueError(f"repo_id {repo_id!r}: {problem}")
    if revision is not None and (problem := revision_problem(revision)):
        raise ValueError(f"revision {revision!r}: {problem}")
    if commit_message is not None and not commit_message.strip():
        raise ValueError("commit_message is empty: give a message, or None for the default")
    folder = Path(folder)
    if not (folder / "README.md").is_file():
        raise FileNotFoundError(f"{folder} is not an export folder: it has no README.md card")
    card.check(folder)
    files = sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and not NOT_SENT & set(path.relative_to(folder).parts)
    )
    message = commit_message if commit_message is not None else default_commit_message(folder)
    target = f"datasets/{repo_id}{f'@{revision}' if revision else ''}"
    # The card sent names this repo in its snippets; the folder's own card is left as it is.
    readme = card.fill_repo_id((folder / "README.md").read_text(encoding="utf-8"), repo_id).encode("utf-8")
    how = "one commit, as a new pull request" if create_pr else "one commit"
    print(f"{'would upload' if dry_run else 'uploading'} {len(files)} file(s) to {target} in {how}: {message!r}")
    for name in files:
        print(f"  {name}")
    named = card.repo_id_in(readme.decode("utf-8"))
    if named:
        print(f'the card\'s snippets read: datasets.load_dataset("{named}", ...)')
    if dry_run:
        return files
    api = HfApi(token=token)

    def upload():
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        if revision:
            api.create_branch(repo_id, repo_type="dataset", branch=revision, exist_ok=True)
        head = api.repo_info(repo_id, repo_type="dataset", revision=revision).sha
        remote = api.list_repo_files(repo_id, repo_type="dataset", revision=head)
        stale = [name for name in remote if name not in files and any(fnmatch(name, p) for p in MIRRORED)]
        operations = [CommitOperationDelete(name) for name in stale]
        operations += [
            CommitOperationAdd(name, readme if name == "README.md" else str(folder / name)) for name in files
        ]
        # create_commit, not upload_folder: huggingface_hub 2.x splits a large or failing upload_folder into
        # several commits, and a failure half way would leave a half-pushed dataset.
        commit = api.create_commit(
            repo_id,
            operations,
            commit_message=message,
            repo_type="dataset",
            revision=revision,
            parent_commit=head,
            create_pr=create_pr,
        )
        return head, commit

    for attempt, delay in enumerate((*RETRY_DELAYS, None), start=1):
        try:
            head, commit = upload()
            break
        except HfHubHTTPError as err:
            status = getattr(err.response, "status_code", None)
            if status is None or (status < 500 and status != 429):
                raise
            if delay is None:
                raise PushError(
                    f"push to {target}: the Hub answered {status} to {attempt} attempts ({err.response.url}); "
                    "the repo keeps what it held before. Push again later: only the files that differ are sent."
                ) from err
            print(f"the Hub answered {status}; trying again in {delay:.0f} s")
            time.sleep(delay)
    if commit.oid == head:
        print(f"nothing to commit: {target} already holds these files (commit {head})")
    elif commit.pr_url:
        print(f"opened pull request: {commit.pr_url} (commit {commit.oid})")
    else:
        print(f"committed: {commit.commit_url}")
    return files


def repo_id_problem(repo_id: str) -> str | None:
    """What the Hub would refuse in a dataset repo id, or None: ``ORG/NAME``, checked by `huggingface_hub`.

    A name without ``ORG/`` is refused too: the Hub reads it as a canonical dataset, not as one of yours.
    """
    shape = "give ORG/NAME: your user or organisation name, one '/', then the dataset's name"
    if repo_id.count("/") > 1:  # huggingface_hub would suggest its repo_type argument, which is not the answer here
        return shape
    try:
        validate_repo_id(repo_id)
    except HFValidationError as err:
        return " ".join(str(err).split())
    return None if "/" in repo_id else shape


def revision_problem(revision: str) -> str | None:
    """What git, and so the Hub, would refuse in a branch name, or None (the rules of ``git check-ref-format``)."""
    if revision and revision != "@" and not _NOT_IN_A_BRANCH.search(revision):
        return None
    return (
        "not a branch name git accepts: no spaces, control characters, ~ ^ : ? * [ \\ or '..' or '@{'; no part "
        "that starts with '.' or ends with '.lock'; not empty or '@', not starting with '-' or '/', not ending "
        "with '/' or '.'"
    )


def default_commit_message(folder: Path) -> str:
    """A commit message that says which configs the folder holds."""
    data = folder / "data"
    configs = sorted(path.name for path in data.iterdir() if path.is_dir()) if data.is_dir() else []
    return f"Upload {', '.join(configs) or 'card'} (export by instruction_datasets)"
