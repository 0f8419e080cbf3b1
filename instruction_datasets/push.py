"""Upload an export folder to a Hub dataset repo: the card is checked first, then one commit of what changed.

What is sent is what `export` wrote for the configs the card lists (the card, their shards, figures and provenance,
and ``.gitattributes``), plus what ``include`` patterns name. Never a symbolic link (nor anything under one), never
a dotfile but ``.gitattributes``; every other file is listed as left out, with the reason. Before anything is sent,
each text file to be sent is searched for a Hugging Face token: one found refuses the push, naming file and line.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import time
from collections.abc import Callable, Sequence
from fnmatch import fnmatch
from pathlib import Path

import yaml
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, get_token
from huggingface_hub.utils import HfHubHTTPError
from huggingface_hub.utils.sha import git_hash, sha_fileobj

from . import card, export, layout
from .configs import repo_id_problem, revision_problem

#: Seconds to wait before each new attempt when the Hub answers a server error (5xx or 429).
RETRY_DELAYS = (1.0, 3.0)


#: The one dotfile sent: it says which files the Hub keeps in LFS.
GITATTRIBUTES = ".gitattributes"
#: What a Hugging Face user access token looks like.
TOKEN = re.compile(r"hf_[A-Za-z0-9]{30,}")
NEWLINE = b"\n"


class PushError(RuntimeError):
    """The Hub kept answering with a server error."""


class SecretError(ValueError):
    """A file to be sent holds a Hugging Face token: nothing was sent."""


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a push sends: the files, where to, and the commit message. Nothing has touched the network."""

    folder: Path
    repo_id: str
    revision: str | None
    #: ``datasets/ORG/NAME``, with ``@<revision>`` when a branch is given.
    target: str
    #: The folder's files to send, relative to it, in the order they are listed.
    files: list[str]
    message: str
    create_pr: bool
    dry_run: bool
    #: The card as sent: its snippets name ``repo_id`` (the folder's own card is left as it is).
    readme: bytes
    #: What the folder holds and is not sent: (path relative to the folder, why), in the order they are listed.
    left_out: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def lines(self, files: Sequence[str] | None = None) -> list[str]:
        """The plan as the command line prints it: a summary, one line per file (``files``: those that differ from
        the repo's, when known), what is left out and why, and what the snippets read."""
        how = "one commit, as a new pull request" if self.create_pr else "one commit"
        verb = "would upload" if self.dry_run else "uploading"
        sent = self.files if files is None else list(files)
        same = f" ({len(self.files) - len(sent)} unchanged)" if len(sent) < len(self.files) else ""
        lines = [f"{verb} {len(sent)} file(s){same} to {self.target} in {how}: {self.message!r}"]
        lines += [f"  {name}" for name in sent]
        lines += self.left_out_lines()
        named = card.repo_id_in(self.readme.decode("utf-8"))
        if named:
            lines.append(f'the card\'s snippets read: datasets.load_dataset("{named}", ...)')
        return lines

    def left_out_lines(self) -> list[str]:
        """What the folder holds and is not sent, one line each with the reason."""
        if not self.left_out:
            return []
        lines = [f"left out {len(self.left_out)} (--include PATTERN sends a file export did not write):"]
        return lines + [f"  {name}: {why}" for name, why in self.left_out]


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
            done = f"nothing to commit: {self.plan.target} already holds these files (commit {self.head})"
            return [done, *self.plan.left_out_lines()]
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
    include: Sequence[str] = (),
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
    `Pushed.lines` say it as the command line does. What is sent: see this module's docstring; ``include`` are
    glob patterns (relative to the folder) of more files to send. The folder is held (`export.folder_lock`) from
    the first read to the commit, so an export into it waits.
    """
    with export.folder_lock(folder):
        planned = plan(
            folder,
            repo_id,
            revision=revision,
            dry_run=dry_run,
            commit_message=commit_message,
            create_pr=create_pr,
            include=include,
            token=token,
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
    include: Sequence[str] = (),
    token: str | None = None,
) -> Plan:
    """Checks the arguments and the folder's card, and says what a push would send (see `push`); no network.

    Raises `SecretError` when a file to be sent holds a Hugging Face token (one like ``hf_...``, ``token``, or the
    one ``HF_TOKEN`` or the saved login holds), naming the file and the line, never the token.
    """
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
    files, left_out = selection(folder, include)
    readme = card.fill_repo_id(layout.card_path(folder).read_text(encoding="utf-8"), repo_id).encode("utf-8")
    secrets = {secret for secret in (token, os.environ.get("HF_TOKEN"), get_token()) if secret}
    for name in files:
        problem = token_problem(folder / name, secrets)  # the card as the user wrote it: the lines are theirs
        if problem:
            raise SecretError(problem)
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
        readme=readme,
        left_out=left_out,
    )


def selection(folder: Path, include: Sequence[str] = ()) -> tuple[list[str], list[tuple[str, str]]]:
    """(files to send, [(what is left out, why)]), relative to ``folder``: what export wrote for the configs the card
    lists, and files ``include`` names; never a symbolic link or what is under one, never a dotfile but
    ``.gitattributes``."""
    meta = yaml.safe_load(card.split_text(layout.card_path(folder).read_text(encoding="utf-8"))[0]) or {}
    listed = [config for config in meta.get("configs") or [] if isinstance(config, dict)]
    patterns = [pattern for config in listed for _, pattern in card.data_files(config)]
    own = {layout.CARD, GITATTRIBUTES}
    for name in (str(config.get("config_name")) for config in listed):
        own |= {layout.stats_file(name, "json"), layout.stats_file(name, "png")}
        own.add(layout.provenance_path(folder, name).relative_to(folder).as_posix())
    files, left_out = [], []
    for root, folders, names in os.walk(folder):
        where = Path(root).relative_to(folder)
        for name in sorted(folders):
            relative = (where / name).as_posix() + "/"
            if (Path(root) / name).is_symlink() or name.startswith("."):
                left_out.append((relative, _never_sent(name, Path(root) / name)))
                folders.remove(name)  # nothing under it is looked at
        folders.sort()
        for name in sorted(names):
            relative = (where / name).as_posix()
            if (Path(root) / name).is_symlink() or (name.startswith(".") and relative != GITATTRIBUTES):
                left_out.append((relative, _never_sent(name, Path(root) / name)))
            elif relative in own or any(fnmatch(relative, pattern) for pattern in patterns):
                files.append(relative)
            elif any(fnmatch(relative, pattern) for pattern in include):
                files.append(relative)
            else:
                left_out.append((relative, "not written by export for a config the card lists"))
    return sorted(files), left_out


def _never_sent(name: str, path: Path) -> str:
    if path.is_symlink():
        return "a symbolic link: never followed, even with --include"
    return "a dotfile: never sent, even with --include (only .gitattributes is)"


def token_problem(path: Path, secrets: set[str]) -> str | None:
    """Where a file has a Hugging Face token: "<path>, line N: ...", or None.

    A token is ``hf_`` and 30 or more letters and digits, or any of ``secrets``. Pictures are not read; any other
    file is searched as bytes, a MiB at a time, so a token is found whatever the format around it.
    """
    if path.suffix == ".png":
        return None
    finder = re.compile(b"|".join([TOKEN.pattern.encode(), *(re.escape(secret.encode()) for secret in secrets)]))
    line, tail = 1, b""
    for chunk in _chunks(path):
        data = tail + chunk
        found = finder.search(data)
        if found:
            line += data.count(NEWLINE, 0, found.start())
            return (
                f"{path}, line {line}: holds a Hugging Face token; remove it from the file (or leave the file out) "
                "and push again: nothing was sent"
            )
        keep = min(len(data), 256)  # a token across two chunks is found in the next
        line += data.count(NEWLINE, 0, len(data) - keep)
        tail = data[len(data) - keep :]
    return None


def _chunks(path: Path):
    with open(path, "rb") as f:
        while chunk := f.read(2**20):
            yield chunk


def upload(
    plan: Plan,
    *,
    private: bool = False,
    token: str | None = None,
    on_retry: Callable[[str], None] | None = None,
    on_start: Callable[[list[str]], None] | None = None,
) -> Pushed:
    """Sends what `plan` lists in one commit (see `push`), and returns what it did.

    Only files whose bytes differ from the repo's are sent; ``on_start`` is called with them before the commit.
    With nothing to send or delete, no commit is made and ``on_start`` is not called.
    """
    repo_id, revision, files = plan.repo_id, plan.revision, plan.files
    api = HfApi(token=token)

    def attempt():
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        if revision:
            api.create_branch(repo_id, repo_type="dataset", branch=revision, exist_ok=True)
        head = api.repo_info(repo_id, repo_type="dataset", revision=revision).sha
        remote = {
            entry.path: entry
            for entry in api.list_repo_tree(repo_id, repo_type="dataset", revision=head, recursive=True)
            if hasattr(entry, "blob_id")  # a file, not a folder
        }
        stale = [name for name in remote if name not in files and any(fnmatch(name, p) for p in layout.MIRRORED)]
        contents = {name: plan.readme if name == layout.CARD else plan.folder / name for name in files}
        changed = [name for name in files if not _held(remote.get(name), contents[name])]
        if not changed and not stale:
            return head, None
        if on_start is not None:
            on_start(changed)
        operations = [CommitOperationDelete(name) for name in stale]
        operations += [
            CommitOperationAdd(name, content if isinstance(content, bytes) else str(content))
            for name, content in contents.items()
            if name in changed
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
    if commit is None:
        return Pushed(plan=plan, head=head, commit=head, retries=tuple(retries))
    return Pushed(
        plan=plan,
        head=head,
        commit=commit.oid,
        commit_url=commit.commit_url,
        pr_url=commit.pr_url,
        retries=tuple(retries),
    )


def _held(entry, content: bytes | Path) -> bool:
    """Whether the repo's file ``entry`` (None: the repo has no such file) has these bytes: by the SHA-256 of a file
    in LFS, else by its git blob SHA-1."""
    if entry is None:
        return False
    lfs = getattr(entry, "lfs", None)
    if lfs:  # read a MiB at a time: shards can be large
        sha256 = lfs.get("sha256") if isinstance(lfs, dict) else getattr(lfs, "sha256", None)
        with io.BytesIO(content) if isinstance(content, bytes) else open(content, "rb") as f:
            return sha_fileobj(f).hex() == sha256
    return git_hash(content if isinstance(content, bytes) else content.read_bytes()) == entry.blob_id


def default_commit_message(folder: Path) -> str:
    """A commit message that says which configs the folder holds."""
    return f"Upload {', '.join(layout.exported_configs(folder)) or 'card'} (export by instruction_datasets)"
