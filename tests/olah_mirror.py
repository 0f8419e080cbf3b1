"""olah (PyPI ``olah``, a self-hosted Hub mirror written by others) on 127.0.0.1, in offline mirror mode.

With ``mirrors-path`` in its TOML config and ``offline = true``, olah serves the git work trees at
``<mirrors-path>/datasets/<org>/<name>`` as Hub dataset repos and asks nothing of the Hub. ``make_repo`` writes
such a repository: plain git blobs, or LFS objects laid out by hand under ``.git/lfs/objects`` with pointer files
committed (no git-lfs binary). ``OlahMirror`` starts the server, waits until its port answers, and stops it.

Where olah comes from: ``OLAH_CLI`` (an ``olah-cli`` executable, as the nox sessions install it in a venv of its
own: its dependencies pin packages the test venvs need newer), else ``olah-cli`` on PATH, else this interpreter.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

OLAH_VERSION = "0.5.4"


def olah_command() -> list[str] | None:
    """How to start olah here, or None when it is not installed."""
    cli = os.environ.get("OLAH_CLI") or shutil.which("olah-cli")
    if cli:
        return [os.path.abspath(cli)]  # olah runs in a folder of its own
    if importlib.util.find_spec("olah") is not None:
        return [sys.executable, "-c", "import sys; from olah.server import cli; sys.exit(cli())"]
    return None


def _git(repo: Path, *args: str) -> str:
    # No user or system git config (no LFS filters, hooks or signing from the machine): the same everywhere.
    env = dict(os.environ, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", HOME=str(repo))
    identity = ["-c", "user.name=tests", "-c", "user.email=tests@localhost", "-c", "commit.gpgsign=false"]
    done = subprocess.run(["git", "-C", str(repo), *identity, *args], capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"git {' '.join(args)} in {repo} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def lfs_pointer(data: bytes) -> bytes:
    """The pointer file git-lfs commits in place of a file's bytes."""
    oid = hashlib.sha256(data).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(data)}\n".encode()


def make_repo(root: Path, repo_id: str, files: dict[str, bytes], lfs: bool) -> str:
    """A git work tree at ``root/datasets/<repo_id>`` holding ``files`` in one commit on ``main``; its sha.

    With ``lfs``, each ``.jsonl`` file is an LFS object under ``.git/lfs/objects/<oid[:2]>/<oid[2:4]>/<oid>`` and
    the commit holds its pointer, as ``git lfs`` would leave them.
    """
    path = root / "datasets" / repo_id
    path.mkdir(parents=True)
    _git(path, "init", "-q", "-b", "main")
    for name, data in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if lfs and name.endswith(".jsonl"):
            oid = hashlib.sha256(data).hexdigest()
            stored = path / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
            stored.parent.mkdir(parents=True, exist_ok=True)
            stored.write_bytes(data)
            data = lfs_pointer(data)
        target.write_bytes(data)
    if lfs:
        (path / ".gitattributes").write_text("*.jsonl filter=lfs diff=lfs merge=lfs -text\n", encoding="utf-8")
    _git(path, "add", "-A")
    _git(path, "commit", "-q", "-m", "Upload the data")
    return _git(path, "rev-parse", "HEAD")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OlahMirror:
    """olah serving the repositories under ``mirrors`` on 127.0.0.1; ``endpoint`` is its address."""

    def __init__(self, command: list[str], mirrors: Path, work: Path, timeout: float = 60.0):
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        work.mkdir(parents=True, exist_ok=True)
        config = work / "olah.toml"
        config.write_text(
            "[basic]\n"
            'host = "127.0.0.1"\n'
            f"port = {self.port}\n"
            f'repos-path = "{work / "repos"}"\n'
            f'mirror-netloc = "127.0.0.1:{self.port}"\n'
            f'mirror-lfs-netloc = "127.0.0.1:{self.port}"\n'
            f'mirrors-path = ["{mirrors}"]\n'
            "[accessibility]\n"
            "offline = true\n",
            encoding="utf-8",
        )
        self.output = work / "olah-output.txt"
        with open(self.output, "wb") as output:
            self.process = subprocess.Popen(
                [*command, "--config", str(config)], cwd=work, stdout=output, stderr=subprocess.STDOUT
            )
        self._wait_until_ready(timeout)

    def _wait_until_ready(self, timeout: float) -> None:
        """Polls the port until olah accepts connections; fails with olah's output if it exits or never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"olah exited with status {self.process.returncode}: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.close()
        raise RuntimeError(f"olah did not answer on {self.endpoint} within {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")[-3000:]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
