"""Upload an export folder to a Hub dataset repo: the card is checked first, then one commit of what changed."""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import Callable
from fnmatch import fnmatch
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.utils import HfHubHTTPError, HFValidationError, validate_repo_id

from . import card, export

#: Seconds to wait before each new attempt when the Hub answers a server error (5xx or 429).
RETRY_DELAYS = (1.0, 3.0)


#: Folders never sent: a git clone's own files, and huggingface_hub's download cache.
NOT_SENT = {".git", ".cache"}
#: What git's check-ref-format (and so the Hub) refuses anywhere in a branch name.
_NOT_IN_A_BRANCH = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|(^|/)\.|\.lock(/|$)|^[-/]|[/.]$")


class PushError(RuntimeError):
    """The Hub kept answering with a server error."""


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a push sends: the files, where to, and the commit message. Nothing has touched the network."""

    folder: Path
    repo_id: str
    revision: str | None
    #: ``datasets/ORG/NAME``, with ``@<revision>`` when a branch is given.
    target: str
    #: The folder's files, relative to it, in the order they are listed.
    files: list[str]
    message: str
    create_pr: bool
    dry_run: bool
    #: The card as sent: its snippets name ``repo_id`` (the folder's own card is left as it is).
    readme: bytes

    def lines(self) -> list[str]:
        """The plan as the command line prints it: a summary, one line per file, and what the snippets read."""
        how = "one commit, as a new pull request" if self.create_pr else "one commit"
        verb = "would upload" if self.dry_run else "uploading"
        lines = [f"{verb} {len(self.files)} file(s) to {self.target} in {how}: {self.message!r}"]
        lines += [f"  {name}" for name in self.files]
        named = card.repo_id_in(self.readme.decode("utf-8"))
        if named:
            lines.append(f'the card\'s snippets read: datasets.load_dataset("{named}", ...)')
        return lines


@dataclasses.dataclass(frozen=True)
class Pushed:
    """What a push did: the commit it made (or that there was nothing to commit), after any retries."""

    plan: Plan
    #: The branch's commit before the push.
    head: str
    #: The commit made; ``head`` when the repo already held these files.
    commit: str
    commit_url: str | None = None
    #: The pull request opened, with ``create_pr``.
    pr_url: str | None = None
    #: One line per attempt the Hub answered with a server error and that was tried again.
    retries: tuple[str, ...] = ()

    @property
    def files(self) -> list[str]:
        """The folder's files, relative to it."""
        return self.plan.files

    def lines(self) -> list[str]:
        """The outcome as the command line prints it."""
        if self.commit == self.head:
            return [f"nothing to commit: {self.plan.target} already holds these files (commit {self.head})"]
        if self.pr_url:
            return [f"opened pull request: {self.pr_url} (commit {self.commit})"]
        return [f"committed: {self.commit_url}"]


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
    on_retry: Callable[[str], None] | None = None,
) -> Plan | Pushed:
    """Uploads an export folder to a Hub dataset repo in one commit; returns what it did (`Pushed`).

    The card is checked as the Hub would before anything is sent (`card.CardError` names every problem).
    Files the repo already holds with the same bytes are not sent; shards and stats the folder no longer
    holds are deleted, so a repo never mixes old and new shards; with nothing changed no commit is made.
    ``revision`` is a branch, created from ``main`` if needed. With ``create_pr`` the commit opens a pull
    request against that branch instead (as `huggingface_hub`'s ``create_commit(create_pr=True)``), for a repo
    you may not write to. ``commit_message`` replaces the default one (see `commit_message`). A server error is
    retried twice, each time calling ``on_retry`` with a line saying so. The ``token`` (default: where
    `huggingface_hub` looks, ``HF_TOKEN`` or the saved login) is never shown. ``repo_id`` is checked first, as
    the Hub checks it, and ``revision`` as git checks a branch name (``ValueError``). With ``dry_run`` nothing
    touches the network, and the `Plan` is returned. The card sent names ``repo_id`` in its snippets
    (`card.fill_repo_id`); the folder's own card is left as it is. Nothing is printed: `Plan.lines` and
    `Pushed.lines` say it as the command line does.
    """
    planned = plan(
        folder, repo_id, revision=revision, dry_run=dry_run, commit_message=commit_message, create_pr=create_pr
    )
    if dry_run:
        return planned
    return upload(planned, private=private, token=token, on_retry=on_retry)


def plan(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    revision: str | None = None,
    dry_run: bool = False,
    commit_message: str | None = None,
    create_pr: bool = False,
) -> Plan:
    """Checks the arguments and the folder's card, and says what a push would send (see `push`); no network."""
    problem = repo_id_problem(repo_id)
    if problem:
        raise ValueError(f"repo_id {repo_id!r}: {problem}")
    if revision is not None and (problem := revision_problem(revision)):
        raise ValueError(f"revision {revision!r}: {problem}")
    if commit_message is not None and not commit_message.strip():
        raise ValueError("commit_message is empty: give a message, or None for the default")
    folder = Path(folder)
    problem = export.folder_problem(folder)
    if problem:
        raise FileNotFoundError(problem)
    card.check(folder)
    files = sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and not NOT_SENT & set(path.relative_to(folder).parts)
    )
    return Plan(
        folder=folder,
        repo_id=repo_id,
        revision=revision,
        target=f"datasets/{repo_id}{f'@{revision}' if revision else ''}",
        files=files,
        message=commit_message if commit_message is not None else default_commit_message(folder),
        create_pr=create_pr,
        dry_run=dry_run,
        # The card sent names this repo in its snippets; the folder's own card is left as it is.
        readme=card.fill_repo_id(export.card_path(folder).read_text(encoding="utf-8"), repo_id).encode("utf-8"),
    )


def upload(
    plan: Plan, *, private: bool = False, token: str | None = None, on_retry: Callable[[str], None] | None = None
) -> Pushed:
    """Sends what `plan` lists in one commit (see `push`), and returns what it did."""
    repo_id, revision, files = plan.repo_id, plan.revision, plan.files
    api = HfApi(token=token)

    def attempt():
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        if revision:
            api.create_branch(repo_id, repo_type="dataset", branch=revision, exist_ok=True)
        head = api.repo_info(repo_id, repo_type="dataset", revision=revision).sha
        remote = api.list_repo_files(repo_id, repo_type="dataset", revision=head)
        stale = [name for name in remote if name not in files and any(fnmatch(name, p) for p in export.MIRRORED)]
        operations = [CommitOperationDelete(name) for name in stale]
        operations += [
            CommitOperationAdd(name, plan.readme if name == export.CARD else str(plan.folder / name)) for name in files
        ]
        # create_commit, not upload_folder: huggingface_hub 2.x splits a large or failing upload_folder into
        # several commits, and a failure half way would leave a half-pushed dataset.
        commit = api.create_commit(
            repo_id,
            operations,
            commit_message=plan.message,
            repo_type="dataset",
            revision=revision,
            parent_commit=head,
            create_pr=plan.create_pr,
        )
        return head, commit

    retries = []
    for attempts, delay in enumerate((*RETRY_DELAYS, None), start=1):
        try:
            head, commit = attempt()
            break
        except HfHubHTTPError as err:
            status = getattr(err.response, "status_code", None)
            if status is None or (status < 500 and status != 429):
                raise
            if delay is None:
                raise PushError(
                    f"push to {plan.target}: the Hub answered {status} to {attempts} attempts ({err.response.url}); "
                    "the repo keeps what it held before. Push again later: only the files that differ are sent."
                ) from err
            retries.append(f"the Hub answered {status}; trying again in {delay:.0f} s")
            if on_retry is not None:
                on_retry(retries[-1])
            time.sleep(delay)
    return Pushed(
        plan=plan,
        head=head,
        commit=commit.oid,
        commit_url=commit.commit_url,
        pr_url=commit.pr_url,
        retries=tuple(retries),
    )


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
    return f"Upload {', '.join(export.exported_configs(folder)) or 'card'} (export by instruction_datasets)"
