"""A loopback stand-in for the Hugging Face Hub and GitHub's raw file server, with faults on demand.

It serves the bundled samples in the upstream layouts:

    {endpoint}/api/datasets/{repo}/revision/{revision}          repo info (the first call datasets makes)
    {endpoint}/api/datasets/{repo}/tree/{revision}/{folder}     folder listing (streaming)
    {endpoint}/datasets/{repo}/resolve/{revision}/{path}        file bytes (HEAD, GET, Range)
    {endpoint}/{owner}/{repo}/raw/{commit}/{file}                 the files of a dataset pinned to a GitHub commit

The repos and the pinned folders are those the shipped builders name (``hub_repo`` of a config, the path of a
config's default ``base_url``): a new dataset is served with no edit here.

Every Hub repo is a `Repo`: its files at each commit, its branches and each commit's message. The sample repos
(``FakeUpstream.repos``, from ``HUB_REPOS``) start at ``REPO_COMMIT`` with the samples, in LFS, and read any
branch or tag name as ``main``; ``land_commit`` adds a commit that changes some files and moves ``main`` to it, at
once or right after a stated request. Hub answers carry what the Hub publishes about LFS files: ``X-Linked-Etag``
(SHA-256), ``X-Linked-Size`` and ``X-Repo-Commit`` on ``resolve``, ``lfs`` in tree entries and in the revision
API's ``siblings``.

Faults are queued per request path and consumed one request at a time (HEAD requests skip them), or
kept for every request (``sticky``): "404", "500", "cut" (announce the full length, send half, close) and
"corrupt" (same length, other bytes; the headers still state the true hash); "429" and "503" (rate limit,
unavailable), and "reset" (close the connection with a TCP reset before answering). What a server may do with a
``Range`` header, on the Hub's files: "range-ignored" (200 with the whole file and no ``Content-Range``, as olah's
mirror mode answers), "range-short" (206 with the first half of the range asked), "range-long" (206 with the
asked range and the rest of the file), and "range-ignored-cut" (Range ignored, and a GET without Range cut
after half the file, so that a client resuming with Range gets the file from its start again).
Faults of time and of the wrong server: "stall" (the headers, then nothing), "stall-body" (the headers and half
the body, then nothing), "drip" (the headers, then one byte every ``drip_seconds``), "429-after-<n>" (a 429 with
``Retry-After: <n>``), "html" (a captive portal's page, 200 with ``Content-Type: text/html``) and "html-untyped"
(the same page sent as ``application/octet-stream``). A stalled answer holds its connection until the client
closes it or the server is closed. ``redirect_elsewhere`` makes ``resolve`` answer, HEAD too, with a redirect to
the same bytes at a path that sends no ``X-Repo-Commit``, as a proxy or a portal would. With "-later"
("range-ignored-later", "range-short-later", "range-long-later") the first ranged GET of a path is answered right
and every later one has the fault ("range-long-later": 4 KiB more than asked), as a server whose answer to one
probe says nothing of the next.
Every request is logged as (method, path). ``add_repo`` adds a repo that answers as the sample repos do, holding
files a test wrote; ``serve`` serves a file at a path of the test's choosing, as a plain file server (with Range).

Servers that are not the Hub publish less (olah 0.5.4's mirror mode, measured: no file metadata in the revision
API, hashes only in paths-info and a bare ETag); switches of `FakeUpstream` play them for the sample
repos, each off by default: ``revision_metadata`` (file metadata always, only with ``?blobs=true``, or never),
``paths_info`` (``POST paths-info`` answered or 404), ``resolve_headers`` (the Hub's, olah's bare ``ETag``, or an
``ETag`` that is no hash), ``plain_git`` (files kept in git rather than LFS), ``missing_is_401``, ``unservable``
(files listed but not served) and ``chunked`` (``GET`` without ``Content-Length``). ``like_olah()`` sets them as
olah's mirror mode answers; ``publishing_no_hash()`` as a server that publishes no hash at all.

It also takes pushes, as the Hub's write API does: repos made with ``POST /api/repos/create`` (``hosted``) are
`Repo`s too, start empty, keep their files in git (no LFS), know only their own branches, and answer the read
calls above for any branch or commit. POST requests take faults as GET requests do ("404", "500"); the body of
every request is read.
"""

from __future__ import annotations

import base64
import collections
import functools
import hashlib
import http.server
import json
import socket
import struct
import threading
import urllib.parse
from pathlib import Path

from huggingface_hub.utils.sha import git_hash

from instruction_datasets.loading import SCRIPTS, builder_class, sample_dir


def _shipped_upstreams() -> tuple[dict[str, Path], dict[str, Path]]:
    """What the shipped datasets read, from their builders, with the samples that stand for it: the Hub repos (by
    "org/name") and the pinned folders (by URL path, ``/owner/repo/raw/<commit>/``)."""
    repos, pinned = {}, {}
    for script in SCRIPTS:
        for name, config in builder_class(script).builder_configs.items():
            if getattr(config, "hub_repo", None):
                repos[config.hub_repo] = sample_dir(script, name)
            if getattr(config, "base_url", None):
                pinned[urllib.parse.urlsplit(config.base_url).path.rstrip("/") + "/"] = sample_dir(script, name)
    return repos, pinned


HUB_REPOS, PINNED_FOLDERS = _shipped_upstreams()
#: The commit alpha's files are read at upstream: the tests' own record of it, which the script must pin.
ALPHA_COMMIT = "26ea044ac587e7629a8baea994165cf3e6520dea"
ALPHA_PREFIX = f"/Rallio67/language-model-agents/raw/{ALPHA_COMMIT}/"
REPO_COMMIT = "c0ffee" + "0" * 34  # what the fake Hub answers for any revision


def _pinned_folder(path: str) -> str | None:
    """The pinned folder a request path is in, or None."""
    return next((folder for folder in PINNED_FOLDERS if path.startswith(folder)), None)


@functools.lru_cache(maxsize=64)
def git_blob_sha1(data: bytes) -> str:
    """The id git (and the Hub's ``oid``) gives a file's bytes (remembered: files of the real size are asked for
    again and again)."""
    return git_hash(data)


@functools.lru_cache(maxsize=64)
def sha256(data: bytes) -> str:
    """The SHA-256 the Hub publishes for an LFS file (remembered, as ``git_blob_sha1``)."""
    return hashlib.sha256(data).hexdigest()


def _is_commit_sha(revision: str) -> bool:
    return len(revision) == 40 and all(c in "0123456789abcdef" for c in revision)


class Repo:
    """A dataset repo of the fake Hub: its files at every commit (each commit holds all of them), its branches, and
    each commit's message.

    A repo made through the write API starts with an empty "initial commit" and knows only its own branches.
    A sample repo (``FakeUpstream.repos``) starts at ``commit`` with ``files`` and reads any branch or tag name it
    does not have as ``main`` (``any_ref_is_main``); its files are in LFS (``lfs``) unless listed in
    ``FakeUpstream.plain_git``.
    """

    def __init__(
        self,
        repo_id: str,
        files: dict[str, bytes] | None = None,
        commit: str | None = None,
        any_ref_is_main: bool = False,
        lfs: bool = False,
    ):
        self.repo_id = repo_id
        self.any_ref_is_main = any_ref_is_main
        self.lfs = lfs
        self.commits: dict[str, dict[str, bytes]] = {}
        self.messages: dict[str, str] = {}  # commit -> its message (the commit header's summary)
        if commit is None:
            commit = self.add_commit(None, files or {}, "initial commit")
        else:
            self.commits[commit], self.messages[commit] = dict(files or {}), "initial commit"
        self.branches: dict[str, str] = {"main": commit}

    def add_commit(self, parent: str | None, files: dict[str, bytes], summary: str) -> str:
        """Records a commit that holds ``files`` (all of them, not only those it changes); returns its sha. No
        branch moves."""
        digest = hashlib.sha1(f"{parent}\n{summary}\n".encode())
        for path in sorted(files):
            digest.update(f"{path}\0{git_blob_sha1(files[path])}\n".encode())
        sha = digest.hexdigest()
        self.commits[sha] = dict(files)
        self.messages[sha] = summary
        return sha

    def resolve(self, revision: str) -> str | None:
        """The commit a branch name or a commit sha stands for (None: no such revision)."""
        if revision in self.branches:
            return self.branches[revision]
        if revision in self.commits:
            return revision
        if self.any_ref_is_main and not _is_commit_sha(revision):
            return self.branches["main"]
        return None


#: The name tests and older code know the pushed repos by.
HostedRepo = Repo


def _read_samples(root) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


class FakeUpstream:
    """Runs the server in a thread; ``endpoint`` and ``alpha_base_url`` say where it listens."""

    def __init__(self):
        self.faults: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self.sticky: dict[str, str] = {}
        #: Paths that had a ranged GET (the "-later" Range faults spare the first one).
        self.ranged_paths: set[str] = set()
        self.requests: list[tuple[str, str]] = []
        #: The sample repos (HUB_REPOS), by "org/name".
        self.repos: dict[str, Repo] = {
            repo_id: Repo(repo_id, _read_samples(root), commit=REPO_COMMIT, any_ref_is_main=True, lfs=True)
            for repo_id, root in HUB_REPOS.items()
        }
        #: Repos created through the write API, by "org/name".
        self.hosted: dict[str, Repo] = {}
        #: The Authorization header of every POST request, in order.
        self.authorizations: list[str | None] = []
        #: Every GET and HEAD: (method, path, its Range header, its Authorization header), in order.
        self.reads: list[tuple[str, str, str | None, str | None]] = []
        #: Every GET and HEAD: (path, all its headers), in order.
        self.read_headers: list[tuple[str, dict[str, str]]] = []
        self._landing: list[tuple[str, str, str]] = []  # (path suffix, repo, commit): move main after that GET
        #: The revision API's file metadata (size, blob id, LFS SHA-256): "always" sends it whatever the query,
        #: "blobs" only when asked with ``?blobs=true`` (the Hub), "never" (bare ``rfilename`` siblings, olah).
        self.revision_metadata = "always"
        #: Whether ``POST /api/datasets/<repo>/paths-info/<rev>`` answers for the sample repos (else 404).
        self.paths_info = True
        #: What ``resolve`` says about a file's hash: "hub" (``X-Linked-Etag``/``X-Linked-Size`` for LFS files, an
        #: ``ETag`` for all), "etag" (only an unquoted ``ETag``: the SHA-256 of LFS files, the git blob SHA-1 of
        #: others, as olah), "none" (an ``ETag`` that is no hash, as a plain file server).
        self.resolve_headers = "hub"
        #: Paths of the sample repos kept in git itself, not in LFS: no ``lfs`` entry, ETag the git blob SHA-1.
        self.plain_git: set[str] = set()
        #: Whether ``resolve`` of a missing file answers 401 ``X-Error-Code: RepoNotFound`` (olah) instead of 404.
        self.missing_is_401 = False
        #: Paths of the sample repos that are listed (siblings, paths-info, tree) but not served: missing on resolve.
        self.unservable: set[str] = set()
        #: Whether ``GET`` of a file answers chunked, without ``Content-Length`` (olah).
        self.chunked = False
        #: Plain files served at their path (``serve``), with ``Range``, as a static file server (GitHub's raw files).
        self.static: dict[str, bytes] = {}
        #: Seconds between the bytes of a "drip" answer.
        self.drip_seconds = 0.1
        #: Whether ``resolve`` redirects to a copy that sends no ``X-Repo-Commit`` (see the module's docstring).
        self.redirect_elsewhere = False
        #: Set when the server closes: stalled answers let go of their connections.
        self.closing = threading.Event()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.alpha_base_url = self.endpoint + ALPHA_PREFIX.rstrip("/")

    @property
    def main(self) -> dict[str, str]:
        """The commit ``main`` points to, per sample repo."""
        return {repo_id: repo.branches["main"] for repo_id, repo in self.repos.items()}

    def like_olah(self) -> None:
        """Answers as olah 0.5.4 does in mirror mode (as measured against it): bare siblings whatever the query,
        paths-info with ``oid``/``size``/``lfs``, ``resolve`` with a bare ``ETag``, 401 ``RepoNotFound`` for a missing
        file, chunked ``GET``s."""
        self.revision_metadata, self.paths_info, self.resolve_headers = "never", True, "etag"
        self.missing_is_401 = self.chunked = True

    def publishing_no_hash(self) -> None:
        """Answers as a server that publishes no hash at all: bare siblings, no paths-info, an ETag that is no hash."""
        self.like_olah()
        self.paths_info, self.resolve_headers = False, "none"

    def add_repo(self, repo_id: str, files: dict[str, bytes]) -> None:
        """Adds a repo that answers as the sample repos do (LFS files, any branch name read as ``main``), holding
        ``files`` in one commit."""
        self.repos[repo_id] = Repo(repo_id, files, any_ref_is_main=True, lfs=True)

    def serve(self, path: str, data: bytes) -> str:
        """Serves ``data`` at ``path`` (which starts with "/") as a plain file; returns its URL."""
        self.static[path] = data
        return self.endpoint + path

    def close(self) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def add_fault(self, path_suffix: str, *faults: str, sticky: bool = False) -> None:
        """Queues faults for the next GET or POST requests whose path ends with ``path_suffix`` (all, if sticky)."""
        if sticky:
            (self.sticky[path_suffix],) = faults
        else:
            self.faults[path_suffix].extend(faults)

    def clear_faults(self) -> None:
        self.faults.clear()
        self.sticky.clear()
        self.ranged_paths.clear()

    def gets(self, path_suffix: str) -> int:
        """How many GET requests asked for a path ending with ``path_suffix``."""
        return sum(1 for method, path in self.requests if method == "GET" and path.endswith(path_suffix))

    def land_commit(self, repo: str, files: dict[str, bytes], after: str | None = None) -> str:
        """Adds a commit to the sample repo ``repo`` that changes ``files``; ``main`` moves to it now, or right after
        the first GET whose path ends with ``after`` has been answered. Returns the commit's sha."""
        sample = self.repos[repo]
        parent = sample.branches["main"]
        commit = sample.add_commit(parent, {**sample.commits[parent], **files}, "")
        if after is None:
            sample.branches["main"] = commit
        else:
            self._landing.append((after, repo, commit))
        return commit

    def _land(self, path: str) -> None:
        for landing in list(self._landing):
            suffix, repo, commit = landing
            if path.endswith(suffix):
                self._landing.remove(landing)
                self.repos[repo].branches["main"] = commit

    def _take_fault(self, path: str) -> str | None:
        for suffix, fault in self.sticky.items():
            if path.endswith(suffix):
                return fault
        for suffix, queue in self.faults.items():
            if path.endswith(suffix) and queue:
                return queue.popleft()
        return None

    def _lfs(self, repo: Repo, name: str) -> bool:
        """Whether a file of ``repo`` is kept in LFS (a sample repo's, unless listed in ``plain_git``)."""
        return repo.lfs and name not in self.plain_git

    def _target(self, raw_path: str) -> tuple[Repo, str, str, str] | None:
        """(repo, "resolve" | "revision" | "tree" | "paths-info", revision, the rest) for a read of a Hub repo, else
        None. The client quotes the revision and the path, so the raw path is split first, then each part unquoted.
        The bare repo info (``/api/datasets/<repo>``, at main) is answered for pushed repos only."""
        parts = raw_path.split("/")
        if raw_path.startswith("/api/datasets/") and len(parts) == 5:
            repo_id, kind, rest = f"{parts[3]}/{parts[4]}", "info", ["main"]
        elif raw_path.startswith("/api/datasets/") and len(parts) >= 7:
            repo_id, kind, rest = f"{parts[3]}/{parts[4]}", parts[5], parts[6:]
        elif raw_path.startswith("/datasets/") and len(parts) >= 6 and parts[4] == "resolve":
            repo_id, kind, rest = f"{parts[2]}/{parts[3]}", "resolve", parts[5:]
        else:
            return None
        repo = self.hosted.get(repo_id)
        if kind == "info" and repo is not None:
            kind = "revision"
        elif repo is None:
            repo = self.repos.get(repo_id)
        if repo is None or kind not in ("resolve", "revision", "tree", "paths-info"):
            return None
        revision, inner = urllib.parse.unquote(rest[0]), urllib.parse.unquote("/".join(rest[1:]))
        return repo, kind, revision, inner

    def _handler(self):
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self._answer(head=True)

            def do_GET(self):
                self._answer(head=False)

            def do_POST(self):
                path = self.path.split("?", 1)[0]
                upstream.requests.append(("POST", path))
                upstream.authorizations.append(self.headers.get("Authorization"))
                body = self._read_body()
                fault = upstream._take_fault(path)
                if fault in ("404", "500"):
                    return self._send(int(fault), json.dumps({"error": f"injected {fault}"}).encode())
                target = upstream._target(path)
                if target is not None and target[1] == "paths-info":
                    return self._paths_info(*target, body)
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                status, answer, headers = _write_call(upstream, path, body, query)
                return self._send(status, json.dumps(answer).encode(), [("Content-Type", "application/json"), *headers])

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()  # the CRLF after each chunk
                        if size == 0:
                            return b"".join(chunks)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _paths_info(self, repo, kind, revision, inner, body: bytes):
                """The entries (as the tree API gives them) of the paths asked for, at a revision."""
                hosted = repo.repo_id in upstream.hosted
                if not hosted and not upstream.paths_info:
                    return self._send(404, b"Not Found")
                sha = repo.resolve(revision)
                if sha is None and hosted:
                    answer = json.dumps({"error": f"Revision Not Found: {revision}"}).encode()
                    headers = [("Content-Type", "application/json"), ("X-Error-Code", "RevisionNotFound")]
                    return self._send(404, answer, headers)
                if sha is None:
                    return self._send(404, b"Revision Not Found", [("X-Error-Code", "RevisionNotFound")])
                asked = urllib.parse.parse_qs(body.decode()).get("paths", [])
                if body.startswith(b"{"):
                    asked = json.loads(body).get("paths", [])
                entries = _tree(repo.commits[sha], "", True, lambda name: upstream._lfs(repo, name)) or []
                answer = [entry for entry in entries if entry["path"] in asked]
                return self._send(200, json.dumps(answer).encode(), [("Content-Type", "application/json")])

            def _api(self, repo, kind, revision, folder, head):
                """The revision (repo info) and tree API calls on a Hub repo."""
                hosted = repo.repo_id in upstream.hosted
                sha = repo.resolve(revision)
                if sha is None:
                    return self._send(404, b"Revision Not Found", [("X-Error-Code", "RevisionNotFound")], head)
                files = repo.commits[sha]
                if kind == "revision":
                    blobs = "blobs=true" in self.path.partition("?")[2].lower().split("&")
                    metadata = not hosted and (
                        upstream.revision_metadata == "always" or (upstream.revision_metadata == "blobs" and blobs)
                    )
                    siblings = [
                        _sibling(name, data, upstream._lfs(repo, name)) if metadata else {"rfilename": name}
                        for name, data in (sorted(files.items()) if hosted else files.items())
                    ]
                    answer = {"id": repo.repo_id, "sha": sha, "private": False, "siblings": siblings}
                else:
                    recursive = hosted and "recursive=true" in self.path.lower()
                    answer = _tree(files, folder, recursive, lambda name: upstream._lfs(repo, name))
                    if answer is None and hosted:
                        return self._send(404, b"Entry Not Found", [("X-Error-Code", "EntryNotFound")], head)
                return self._send(200, json.dumps(answer or []).encode(), [("Content-Type", "application/json")], head)

            def _send(self, status, body, headers=(), head=False, length=None, chunked=False):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                if chunked and not head:  # no Content-Length: the body's end is its last (empty) chunk
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for start in range(0, len(body), 2**16):
                        piece = body[start : start + 2**16]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _answer(self, head):
                path = self.path.split("?", 1)[0]
                upstream.requests.append(("HEAD" if head else "GET", path))
                upstream.reads.append(
                    ("HEAD" if head else "GET", path, self.headers.get("Range"), self.headers.get("Authorization"))
                )
                upstream.read_headers.append((path, dict(self.headers)))
                fault = None if head else upstream._take_fault(path)
                if fault == "404":
                    return self._send(404, b"Not Found")
                if fault == "500":
                    return self._send(500, b"Internal Server Error")
                if fault in ("429", "503"):
                    return self._send(int(fault), b"Try again later", [("Retry-After", "0")])
                if fault and fault.startswith("429-after-"):
                    return self._send(429, b"Slow down", [("Retry-After", fault[len("429-after-") :])])
                if fault in ("html", "html-untyped"):
                    kind = "text/html; charset=utf-8" if fault == "html" else "application/octet-stream"
                    return self._send(200, PORTAL_PAGE, [("Content-Type", kind)])
                if path.startswith("/elsewhere/"):  # what redirect_elsewhere points to: the bytes, no X-Repo-Commit
                    target = upstream._target(path[len("/elsewhere") :])
                    data = target[0].commits[target[0].resolve(target[2])][target[3]]
                    return self._file(path, data, [("Accept-Ranges", "bytes")], fault, head, False)
                if fault == "reset":
                    # Linger 0 turns the close into a TCP reset (RST): the client sees "connection reset by peer".
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return None
                target = upstream._target(path)
                if target is not None and target[1] in ("revision", "tree"):
                    return self._api(*target, head)
                if target is not None and target[1] == "resolve":
                    found = self._resolve(*target, head)
                    if found is None:
                        return None  # answered: no such revision or file
                    data, headers, chunked = found
                elif path in upstream.static:
                    data, chunked = upstream.static[path], False
                    headers = [("ETag", f'"{sha256(data)}"'), ("Accept-Ranges", "bytes")]
                elif (folder := _pinned_folder(path)) is not None:
                    file = PINNED_FOLDERS[folder] / path[len(folder) :]
                    if not file.is_file():
                        return self._send(404, b"Not Found", head=head)
                    data, chunked = file.read_bytes(), False
                    headers = [("ETag", f'"{sha256(data)}"'), ("Accept-Ranges", "bytes")]
                else:
                    return self._send(404, b"Not Found", head=head)
                if not head:
                    upstream._land(path)
                return self._file(path, data, headers, fault, head, chunked)

            def _resolve(self, repo, kind, revision, name, head):
                """(bytes, headers, whether to answer chunked) of a file of a Hub repo, or None once a 404 (or,
                with ``missing_is_401``, 401, or a redirect elsewhere) is sent."""
                if upstream.redirect_elsewhere and repo.repo_id not in upstream.hosted:
                    self._send(302, b"", [("Location", "/elsewhere" + self.path.split("?", 1)[0])], head)
                    return None
                hosted = repo.repo_id in upstream.hosted
                sha = repo.resolve(revision)
                if sha is None and hosted:
                    self._send(404, b"Revision Not Found", [("X-Error-Code", "RevisionNotFound")], head)
                    return None
                if sha is None:
                    self._send(404, b"Not Found", head=head)
                    return None
                data = repo.commits[sha].get(name)
                if hosted and data is None:
                    self._send(404, b"Entry Not Found", [("X-Error-Code", "EntryNotFound")], head)
                    return None
                if data is None or name in upstream.unservable:
                    if upstream.missing_is_401:
                        self._send(401, b"Repo Not Found", [("X-Error-Code", "RepoNotFound")], head)
                    else:
                        self._send(404, b"Not Found", head=head)
                    return None
                headers = [("Accept-Ranges", "bytes"), ("X-Repo-Commit", sha)]
                published = "hub" if hosted else upstream.resolve_headers
                headers += _resolve_hash_headers(published, data, upstream._lfs(repo, name))
                return data, headers, upstream.chunked and not hosted

            def _sent(self, data: bytes) -> bool:
                try:
                    self.wfile.write(data)
                    self.wfile.flush()
                    return True
                except OSError:  # the client let go
                    return False

            def _file(self, path, data, headers, fault, head, chunked):
                """Sends a file's bytes, or the part a ``Range`` header asks for, with the fault queued for it."""
                byte_range = self.headers.get("Range")
                if fault and fault.endswith("-later"):  # the first ranged GET of the path is answered right
                    first = byte_range and path not in upstream.ranged_paths
                    if byte_range:
                        upstream.ranged_paths.add(path)
                    later = {"range-long-later": "range-over"}.get(fault, fault[: -len("-later")])
                    fault = None if first or not byte_range else later
                status = 200
                if fault not in ("range-ignored", "range-ignored-cut"):
                    status, data, headers = _ranged(data, byte_range, headers, fault)
                if fault == "corrupt":
                    data = corrupted(data)
                if fault == "cut" or (fault == "range-ignored-cut" and not byte_range):
                    self._send(status, data[: len(data) // 2], headers, head, length=len(data))
                    self.close_connection = True
                    return None
                if fault in ("stall", "stall-body", "drip"):
                    self._send(
                        status, data[: len(data) // 2] if fault == "stall-body" else b"", headers, length=len(data)
                    )
                    self.wfile.flush()
                    for byte in range(len(data)) if fault == "drip" else ():
                        if upstream.closing.wait(upstream.drip_seconds) or not self._sent(data[byte : byte + 1]):
                            break
                    upstream.closing.wait(None if fault != "drip" else 0)
                    self.close_connection = True
                    return None
                return self._send(status, data, headers, head, chunked=chunked)

        return Handler


PORTAL_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in to the network</title></head><body>Accept the terms</body></html>\n"
)


def _ranged(data: bytes, byte_range: str | None, headers: list, fault: str | None = None) -> tuple[int, bytes, list]:
    """(status, body, headers) of a GET with ``byte_range`` (the ``Range`` header, or None): the whole file (200),
    or the bytes asked for (206, with ``Content-Range``) as ``fault`` ("range-short", "range-long", "range-over")
    may change them."""
    if not (byte_range and byte_range.startswith("bytes=")):
        return 200, data, headers
    first, _, last = byte_range[len("bytes=") :].partition("-")
    start, end = int(first), min(int(last) if last else len(data) - 1, len(data) - 1)
    end = _range_fault_end(fault, start, end, len(data))
    return 206, data[start : end + 1], [*headers, ("Content-Range", f"bytes {start}-{end}/{len(data)}")]


def _range_fault_end(fault: str | None, start: int, end: int, size: int) -> int:
    """The last byte a ranged answer sends: as asked, or for "range-short" half of that (at least one byte), or for
    "range-long" everything to the end of the file, for "range-over" 4 KiB more than asked (as a server answering
    whole blocks); Content-Range says what is sent, as a server is allowed to."""
    if fault == "range-short":
        return start + (end - start) // 2
    if fault == "range-long":
        return size - 1
    if fault == "range-over":
        return min(size - 1, end + 4096)
    return end


def corrupted(data: bytes) -> bytes:
    """What the "corrupt" fault serves: the same length, lowercase ASCII letters in upper case."""
    return bytes(b ^ 0x20 if 0x61 <= b <= 0x7A else b for b in data)


def _lfs(data: bytes) -> dict:
    return {"size": len(data), "pointerSize": 134}


def _sibling(name: str, data: bytes, lfs: bool = True) -> dict:
    """A file in the revision API's answer (``?blobs=true``): the LFS entry names its SHA-256 ``sha256``."""
    sibling = {"rfilename": name, "size": len(data), "blobId": git_blob_sha1(data)}
    if lfs:
        sibling["lfs"] = {"sha256": sha256(data), **_lfs(data)}
    return sibling


def _resolve_hash_headers(published: str, data: bytes, lfs: bool) -> list:
    """What ``resolve`` (HEAD and GET) says about a Hub file's hash, as ``FakeUpstream.resolve_headers`` says."""
    if published == "none":  # as nginx makes them: modification time and size, no hash
        return [("ETag", f'"65a1b2c3-{len(data):x}"')]
    digest = sha256(data)
    if published == "etag":  # olah: bare, unquoted
        return [("ETag", digest if lfs else git_blob_sha1(data))]
    if not lfs:
        return [("ETag", f'"{git_blob_sha1(data)}"')]
    return [("ETag", f'"{digest}"'), ("X-Linked-Etag", f'"{digest}"'), ("X-Linked-Size", str(len(data)))]


def _tree(files: dict[str, bytes], folder: str, recursive: bool, lfs) -> list[dict] | None:
    """The tree API's listing of a folder: its subfolders, then its files (with what is under the subfolders too,
    if ``recursive``); each file with its git blob ``oid``, and for a file in LFS (``lfs(name)``) an ``lfs`` entry
    that names its SHA-256. None if there is no such folder."""
    prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
    listing, folders = [], set()
    for name, data in sorted(files.items()):
        if not name.startswith(prefix):
            continue
        parts = name[len(prefix) :].split("/")
        for depth in range(1, len(parts) if recursive else min(2, len(parts))):
            folders.add(prefix + "/".join(parts[:depth]))
        if not recursive and len(parts) > 1:
            continue
        entry = {"type": "file", "oid": git_blob_sha1(data), "size": len(data), "path": name}
        if lfs(name):
            entry["lfs"] = {"oid": sha256(data), **_lfs(data)}
        listing.append(entry)
    if prefix and not listing and not folders:
        return None
    return [{"type": "directory", "oid": "0" * 40, "size": 0, "path": path} for path in sorted(folders)] + listing


def _write_call(upstream: FakeUpstream, raw_path: str, body: bytes, query: dict) -> tuple[int, object, list]:
    """Answers one call of the Hub's write API: (status, JSON answer, extra headers).

    A commit with ``?create_pr=1`` leaves the branch as it was: as the Hub does, it goes to a new ref
    ``refs/pr/<n>`` and the answer carries ``pullRequestUrl`` (``.../discussions/<n>``).
    """
    if raw_path == "/api/validate-yaml":
        return 200, {}, []
    if raw_path == "/api/repos/create":
        request = json.loads(body)
        repo_id = "/".join(filter(None, [request.get("organization"), request["name"]]))
        url = f"{upstream.endpoint}/datasets/{repo_id}"
        if repo_id in upstream.hosted:
            return 409, {"error": "You already created this dataset repo", "url": url}, []
        upstream.hosted[repo_id] = Repo(repo_id)
        return 200, {"url": url, "name": repo_id}, []
    parts = raw_path.split("/")
    if not raw_path.startswith("/api/datasets/") or len(parts) < 7:
        return 404, {"error": "Not Found"}, []
    repo = upstream.hosted.get(f"{parts[3]}/{parts[4]}")
    if repo is None:
        return 404, {"error": "Repository Not Found"}, [("X-Error-Code", "RepoNotFound")]
    kind, revision = parts[5], urllib.parse.unquote(parts[6])
    if kind == "branch":
        if revision in repo.branches:
            return 409, {"error": f"Reference {revision} already exists"}, []
        start = (json.loads(body) if body else {}).get("startingPoint") or "main"
        repo.branches[revision] = repo.resolve(start)
        return 200, {}, []
    sha = repo.resolve(revision)
    if sha is None:
        return 404, {"error": f"Revision Not Found: {revision}"}, [("X-Error-Code", "RevisionNotFound")]
    files = repo.commits[sha]
    if kind == "preupload":
        answer = [
            {
                "path": entry["path"],
                "uploadMode": "regular",  # no LFS or Xet transfer: the bytes come in the commit body
                "shouldIgnore": False,
                "oid": git_blob_sha1(files[entry["path"]]) if entry["path"] in files else None,
            }
            for entry in json.loads(body)["files"]
        ]
        return 200, {"files": answer}, []
    if kind != "commit" or revision not in repo.branches:
        return 404, {"error": f"cannot {kind} at {revision}"}, []
    new_files, summary = dict(files), ""
    for line in body.splitlines():
        operation = json.loads(line)
        key, value = operation["key"], operation["value"]
        if key == "header":
            summary = value.get("summary", "")
        elif key == "file":
            new_files[value["path"]] = base64.b64decode(value["content"])
        elif key == "deletedFile":
            new_files.pop(value["path"], None)
        elif key == "deletedFolder":
            folder = value["path"].rstrip("/") + "/"
            new_files = {path: data for path, data in new_files.items() if not path.startswith(folder)}
        else:
            return 400, {"error": f"this fake Hub takes no {key!r} operations"}, []
    new_sha = repo.add_commit(sha, new_files, summary)
    answer = {"commitUrl": f"{upstream.endpoint}/datasets/{repo.repo_id}/commit/{new_sha}", "commitOid": new_sha}
    if query.get("create_pr") == ["1"]:
        number = 1 + sum(name.startswith("refs/pr/") for name in repo.branches)
        repo.branches[f"refs/pr/{number}"] = new_sha
        answer["pullRequestUrl"] = f"{upstream.endpoint}/datasets/{repo.repo_id}/discussions/{number}"
    else:
        repo.branches[revision] = new_sha
    return 200, answer, []
