"""A loopback stand-in for the Hugging Face Hub and GitHub's raw file server, with faults on demand.

It serves the bundled samples in the upstream layouts:

    {endpoint}/api/datasets/{repo}/revision/{revision}          repo info (the first call datasets makes)
    {endpoint}/api/datasets/{repo}/tree/{revision}/{folder}     folder listing (streaming)
    {endpoint}/datasets/{repo}/resolve/{revision}/{path}        file bytes (HEAD, GET, Range)
    {endpoint}/Rallio67/language-model-agents/raw/{commit}/{file}   the alpha files

Hub repos have commits: at first every revision is ``REPO_COMMIT`` (the samples); ``land_commit`` adds a
commit that changes some files and moves ``main`` to it, at once or right after a stated request. Hub answers
carry what the Hub publishes about LFS files: ``X-Linked-Etag`` (SHA-256), ``X-Linked-Size`` and
``X-Repo-Commit`` on ``resolve``, ``lfs`` in tree entries and in the revision API's ``siblings``.

Faults are queued per request path and consumed one request at a time (HEAD requests skip them), or
kept for every request (``sticky``): "404", "500", "cut" (announce the full length, send half, close) and
"corrupt" (same length, other bytes; the headers still state the true hash); "429" and "503" (rate limit,
unavailable), and "reset" (close the connection with a TCP reset before answering). What a server may do with a
``Range`` header, on the Hub's files: "range-ignored" (200 with the whole file and no ``Content-Range``, as olah's
mirror mode answers), "range-short" (206 with the first half of the range asked), "range-long" (206 with the
asked range and the rest of the file), and "range-ignored-cut" (Range ignored, and a GET without Range cut
after half the file, so that a client resuming with Range gets the file from its start again). With "-later"
("range-ignored-later", "range-short-later", "range-long-later") the first ranged GET of a path is answered right
and every later one has the fault ("range-long-later": 4 KiB more than asked), as a server whose answer to one
probe says nothing of the next.
Every request is logged as (method, path).

Servers that are not the Hub publish less (FORMATS.md §7); switches of `FakeUpstream` play them, each off by
default: ``revision_metadata`` (file metadata always, only with ``?blobs=true``, or never), ``paths_info``
(``POST paths-info`` answered or 404), ``resolve_headers`` (the Hub's, olah's bare ``ETag``, or an ``ETag`` that is
no hash), ``plain_git`` (files kept in git rather than LFS), ``missing_is_401``, ``unservable`` (files listed
but not served) and ``chunked`` (``GET`` without ``Content-Length``). ``like_olah()`` sets them as olah's mirror
mode answers; ``publishing_no_hash()`` as a server that publishes no hash at all.

It also takes pushes, as the Hub's write API does (see `HostedRepo`): repos made with ``POST
/api/repos/create`` keep their files per commit and answer the read calls above for any branch or commit.
POST requests take faults as GET requests do ("404", "500"); the body of every request is read.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import http.server
import json
import socket
import struct
import threading
import urllib.parse

from instruction_datasets.loading import sample_dir

ALPHA_COMMIT = "26ea044ac587e7629a8baea994165cf3e6520dea"
ALPHA_PREFIX = f"/Rallio67/language-model-agents/raw/{ALPHA_COMMIT}/"
REPO_COMMIT = "c0ffee" + "0" * 34  # what the fake Hub answers for any revision
HUB_REPOS = {
    "PKU-Alignment/Align-Anything-Instruction-100K": sample_dir("align_anything_instruction", "en"),
    "PKU-Alignment/Align-Anything-Instruction-100K-zh": sample_dir("align_anything_instruction", "zh"),
}


class FakeUpstream:
    """Runs the server in a thread; ``endpoint`` and ``alpha_base_url`` say where it listens."""

    def __init__(self):
        self.faults: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self.sticky: dict[str, str] = {}
        #: Paths that had a ranged GET (the "-later" Range faults spare the first one).
        self.ranged_paths: set[str] = set()
        self.requests: list[tuple[str, str]] = []
        #: Repos created through the write API, by "org/name".
        self.hosted: dict[str, HostedRepo] = {}
        #: The Authorization header of every POST request, in order.
        self.authorizations: list[str | None] = []
        #: Every GET and HEAD: (method, path, its Range header, its Authorization header), in order.
        self.reads: list[tuple[str, str, str | None, str | None]] = []
        self.main: dict[str, str] = {}  # repo -> the commit main points to (REPO_COMMIT when absent)
        self.commits: dict[str, tuple[str, dict[str, bytes]]] = {}  # commit -> (repo, files it changes)
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
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.alpha_base_url = self.endpoint + ALPHA_PREFIX.rstrip("/")

    def like_olah(self) -> None:
        """Answers as olah 0.5.4 does in mirror mode (FORMATS.md §7): bare siblings whatever the query, paths-info
        with ``oid``/``size``/``lfs``, ``resolve`` with a bare ``ETag``, 401 ``RepoNotFound`` for a missing file,
        chunked ``GET``s."""
        self.revision_metadata, self.paths_info, self.resolve_headers = "never", True, "etag"
        self.missing_is_401 = self.chunked = True

    def publishing_no_hash(self) -> None:
        """Answers as a server that publishes no hash at all: bare siblings, no paths-info, an ETag that is no hash."""
        self.like_olah()
        self.paths_info, self.resolve_headers = False, "none"

    def close(self) -> None:
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
        """Adds a commit to ``repo`` that changes ``files``; ``main`` moves to it now, or right after the
        first GET whose path ends with ``after`` has been answered. Returns the commit's sha."""
        parent = self.main.get(repo, REPO_COMMIT)
        commit = hashlib.sha1(repr((parent, sorted(files.items()))).encode()).hexdigest()
        self.commits[commit] = (repo, {**self.commits.get(parent, (repo, {}))[1], **files})
        if after is None:
            self.main[repo] = commit
        else:
            self._landing.append((after, repo, commit))
        return commit

    def _commit(self, repo: str, revision: str) -> str | None:
        """The commit a revision names: a known commit, or (any branch or tag) the one main points to."""
        if revision == REPO_COMMIT or self.commits.get(revision, ("",))[0] == repo:
            return revision
        if len(revision) == 40 and all(c in "0123456789abcdef" for c in revision):
            return None  # an unknown commit
        return self.main.get(repo, REPO_COMMIT)

    def _files(self, repo: str, commit: str) -> dict[str, bytes]:
        """Every file of ``repo`` at ``commit``: the samples, with what later commits changed."""
        root = HUB_REPOS[repo]
        files = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
        files.update(self.commits.get(commit, (repo, {}))[1])
        return files

    def _land(self, path: str) -> None:
        for landing in list(self._landing):
            suffix, repo, commit = landing
            if path.endswith(suffix):
                self._landing.remove(landing)
                self.main[repo] = commit

    def _take_fault(self, path: str) -> str | None:
        for suffix, fault in self.sticky.items():
            if path.endswith(suffix):
                return fault
        for suffix, queue in self.faults.items():
            if path.endswith(suffix) and queue:
                return queue.popleft()
        return None

    def _locate(self, path: str) -> tuple[bytes | None, str | None]:
        """The bytes a GET of ``path`` gives, and the Hub commit they come from (None for GitHub's files)."""
        if path.startswith(ALPHA_PREFIX):
            file = sample_dir("instruction_tuning_alpha", "all") / path[len(ALPHA_PREFIX) :]
            return (file.read_bytes() if file.is_file() else None), None
        for repo in HUB_REPOS:
            prefix = f"/datasets/{repo}/resolve/"
            if path.startswith(prefix):
                revision, _, name = path[len(prefix) :].partition("/")
                commit = self._commit(repo, urllib.parse.unquote(revision))
                if commit is None:
                    return None, None
                name = urllib.parse.unquote(name)
                return (None if name in self.unservable else self._files(repo, commit).get(name)), commit
        return None, None

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
                repo_id = "/".join(path.split("/")[3:5])
                if "/paths-info/" in path and repo_id not in upstream.hosted:
                    if not upstream.paths_info:
                        return self._send(404, b"Not Found")
                    return self._paths_info(body)  # the read side of the sample repos (HUB_REPOS)
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

            def _hosted_read(self, repo, kind, rest, head):
                """resolve/<rev>/<file>, and the revision and tree API calls, on a repo made by a push."""
                revision, _, inner = rest.partition("/")
                sha = repo.resolve(revision)
                if sha is None:
                    return self._send(404, b"Revision Not Found", [("X-Error-Code", "RevisionNotFound")], head)
                files = repo.commits[sha]
                if kind == "resolve":
                    if inner not in files:
                        return self._send(404, b"Entry Not Found", [("X-Error-Code", "EntryNotFound")], head)
                    data, status = files[inner], 200
                    headers = [("ETag", f'"{git_blob_sha1(data)}"'), ("X-Repo-Commit", sha), ("Accept-Ranges", "bytes")]
                    byte_range = self.headers.get("Range")
                    if byte_range and byte_range.startswith("bytes="):
                        first, _, last = byte_range[len("bytes=") :].partition("-")
                        start, end = int(first), min(int(last) if last else len(data) - 1, len(data) - 1)
                        headers.append(("Content-Range", f"bytes {start}-{end}/{len(data)}"))
                        data, status = data[start : end + 1], 206
                    return self._send(status, data, headers, head)
                if kind == "revision":
                    answer = {"id": repo.repo_id, "sha": sha, "private": False, "siblings": repo.siblings(sha)}
                else:  # tree
                    recursive = "recursive=true" in self.path.lower()
                    answer = repo.tree(sha, inner, recursive)
                    if answer is None:
                        return self._send(404, b"Entry Not Found", [("X-Error-Code", "EntryNotFound")], head)
                return self._send(200, json.dumps(answer).encode(), [("Content-Type", "application/json")], head)

            def _paths_info(self, body: bytes):
                rest = self.path.split("?", 1)[0][len("/api/datasets/") :]
                for repo in HUB_REPOS:
                    if rest.startswith(f"{repo}/paths-info/"):
                        revision = urllib.parse.unquote(rest[len(f"{repo}/paths-info/") :])
                        commit = upstream._commit(repo, revision)
                        if commit is None:
                            return self._send(404, b"Revision Not Found", [("X-Error-Code", "RevisionNotFound")])
                        files = upstream._files(repo, commit)
                        asked = urllib.parse.parse_qs(body.decode()).get("paths", [])
                        if body.startswith(b"{"):
                            asked = json.loads(body).get("paths", [])
                        entries = [
                            entry
                            for path in asked
                            for entry in _tree(files, path.rpartition("/")[0], upstream.plain_git)
                        ]
                        answer = [entry for entry in entries if entry["path"] in asked]
                        headers = [("Content-Type", "application/json")]
                        return self._send(200, json.dumps(answer).encode(), headers)
                return self._send(404, b"Not Found")

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
                fault = None if head else upstream._take_fault(path)
                if fault == "404":
                    return self._send(404, b"Not Found")
                if fault == "500":
                    return self._send(500, b"Internal Server Error")
                if fault in ("429", "503"):
                    return self._send(int(fault), b"Try again later", [("Retry-After", "0")])
                if fault == "reset":
                    # Linger 0 turns the close into a TCP reset (RST): the client sees "connection reset by peer".
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return None
                hosted = _hosted_target(upstream, path)
                if hosted is not None:
                    return self._hosted_read(*hosted, head)
                if path.startswith("/api/datasets/"):
                    return self._api(path, head)
                data, commit = upstream._locate(path)
                if data is None:
                    if commit is not None and upstream.missing_is_401:
                        return self._send(401, b"Repo Not Found", [("X-Error-Code", "RepoNotFound")], head)
                    return self._send(404, b"Not Found", head=head)
                if not head:
                    upstream._land(path)
                sha256 = hashlib.sha256(data).hexdigest()
                headers = [("ETag", f'"{sha256}"'), ("Accept-Ranges", "bytes")]
                if commit is not None:  # the Hub: upstream files are in LFS unless listed in plain_git
                    headers = [("Accept-Ranges", "bytes"), ("X-Repo-Commit", commit)]
                    headers += _resolve_hash_headers(upstream, path, data, sha256)
                status, start = 200, 0
                byte_range = self.headers.get("Range")
                if fault and fault.endswith("-later"):  # the first ranged GET of the path is answered right
                    first = byte_range and path not in upstream.ranged_paths
                    if byte_range:
                        upstream.ranged_paths.add(path)
                    later = {"range-long-later": "range-over"}.get(fault, fault[: -len("-later")])
                    fault = None if first or not byte_range else later
                if (
                    byte_range
                    and byte_range.startswith("bytes=")
                    and fault not in ("range-ignored", "range-ignored-cut")
                ):
                    first, _, last = byte_range[len("bytes=") :].partition("-")
                    start, end = int(first), min(int(last) if last else len(data) - 1, len(data) - 1)
                    end = _range_fault_end(fault, start, end, len(data))
                    headers.append(("Content-Range", f"bytes {start}-{end}/{len(data)}"))
                    data, status = data[start : end + 1], 206
                if fault == "corrupt":
                    data = corrupted(data)
                if fault == "cut" or (fault == "range-ignored-cut" and not byte_range):
                    self._send(status, data[: len(data) // 2], headers, head, length=len(data))
                    self.close_connection = True
                    return None
                return self._send(status, data, headers, head, chunked=upstream.chunked and commit is not None)

            def _api(self, path, head):
                rest = path[len("/api/datasets/") :]
                for repo in HUB_REPOS:
                    for kind in ("revision", "tree"):
                        if rest.startswith(f"{repo}/{kind}/"):
                            revision, _, folder = rest[len(f"{repo}/{kind}/") :].partition("/")
                            commit = upstream._commit(repo, urllib.parse.unquote(revision))
                            if commit is None:
                                return self._send(404, b"Revision Not Found", [("X-Error-Code", "RevisionNotFound")])
                            files = upstream._files(repo, commit)
                            if kind == "revision":
                                blobs = "blobs=true" in self.path.partition("?")[2].lower().split("&")
                                metadata = upstream.revision_metadata == "always" or (
                                    upstream.revision_metadata == "blobs" and blobs
                                )
                                siblings = [
                                    _sibling(name, data, name not in upstream.plain_git)
                                    if metadata
                                    else {"rfilename": name}
                                    for name, data in files.items()
                                ]
                                answer = {"id": repo, "sha": commit, "private": False, "siblings": siblings}
                            else:
                                answer = _tree(files, urllib.parse.unquote(folder), upstream.plain_git)
                            return self._send(
                                200, json.dumps(answer).encode(), [("Content-Type", "application/json")], head
                            )
                return self._send(404, b"Not Found", head=head)

        return Handler


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
    blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    sibling = {"rfilename": name, "size": len(data), "blobId": blob}
    if lfs:
        sibling["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), **_lfs(data)}
    return sibling


def _resolve_hash_headers(upstream: FakeUpstream, path: str, data: bytes, sha256: str) -> list:
    """What ``resolve`` (HEAD and GET) says about a sample repo file's hash, per ``upstream.resolve_headers``."""
    lfs = path.partition("/resolve/")[2].partition("/")[2] not in upstream.plain_git
    if upstream.resolve_headers == "none":  # as nginx makes them: modification time and size, no hash
        return [("ETag", f'"65a1b2c3-{len(data):x}"')]
    if upstream.resolve_headers == "etag":  # olah: bare, unquoted
        return [("ETag", sha256 if lfs else git_blob_sha1(data))]
    if not lfs:
        return [("ETag", f'"{git_blob_sha1(data)}"')]
    return [("ETag", f'"{sha256}"'), ("X-Linked-Etag", f'"{sha256}"'), ("X-Linked-Size", str(len(data)))]


def git_blob_sha1(data: bytes) -> str:
    """The id git (and the Hub's ``oid``) gives a file's bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class HostedRepo:
    """A dataset repo made through the write API: its files at every commit, and its branches."""

    def __init__(self, repo_id: str):
        self.repo_id = repo_id
        self.commits: dict[str, dict[str, bytes]] = {}
        self.messages: dict[str, str] = {}  # commit -> its message (the commit header's summary)
        self.branches: dict[str, str] = {"main": self.add_commit(None, {}, "initial commit")}

    def add_commit(self, parent: str | None, files: dict[str, bytes], summary: str) -> str:
        digest = hashlib.sha1(f"{parent}\n{summary}\n".encode())
        for path in sorted(files):
            digest.update(f"{path}\0{git_blob_sha1(files[path])}\n".encode())
        sha = digest.hexdigest()
        self.commits[sha] = dict(files)
        self.messages[sha] = summary
        return sha

    def resolve(self, revision: str) -> str | None:
        """The commit a branch name or a commit sha stands for."""
        return self.branches.get(revision) or (revision if revision in self.commits else None)

    def siblings(self, sha: str) -> list[dict]:
        return [{"rfilename": path} for path in sorted(self.commits[sha])]

    def tree(self, sha: str, folder: str, recursive: bool) -> list[dict] | None:
        """Entries under a folder (with ``oid``, as the Hub gives them); None if there is no such folder."""
        prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
        entries = {}
        for path, data in self.commits[sha].items():
            if not path.startswith(prefix):
                continue
            parts = path[len(prefix) :].split("/")
            if recursive:
                for depth in range(1, len(parts)):
                    name = prefix + "/".join(parts[:depth])
                    entries[name] = {"type": "directory", "oid": "0" * 40, "size": 0, "path": name}
            if recursive or len(parts) == 1:
                entries[path] = {"type": "file", "oid": git_blob_sha1(data), "size": len(data), "path": path}
            else:
                name = prefix + parts[0]
                entries[name] = {"type": "directory", "oid": "0" * 40, "size": 0, "path": name}
        return [entries[name] for name in sorted(entries)] if entries or not prefix else None


def _hosted_target(upstream: FakeUpstream, raw_path: str):
    """(repo, "resolve" | "revision" | "tree", rest) for a read on a hosted repo, else None.

    The client quotes the revision and the folder, so the raw path is split first, then each part unquoted.
    """
    parts = raw_path.split("/")
    if raw_path.startswith("/api/datasets/") and len(parts) == 5:  # repo info, at main
        repo_id, kind, rest = f"{parts[3]}/{parts[4]}", "revision", []
    elif raw_path.startswith("/api/datasets/") and len(parts) >= 6:
        repo_id, kind, rest = f"{parts[3]}/{parts[4]}", parts[5], parts[6:]
    elif raw_path.startswith("/datasets/") and len(parts) >= 5 and parts[4] == "resolve":
        repo_id, kind, rest = f"{parts[2]}/{parts[3]}", "resolve", parts[5:]
    else:
        return None
    repo = upstream.hosted.get(repo_id)
    if repo is None or kind not in ("resolve", "revision", "tree"):
        return None
    rest = [urllib.parse.unquote(part) for part in rest]
    return repo, kind, "/".join(rest or ["main"])


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
        upstream.hosted[repo_id] = HostedRepo(repo_id)
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
    if kind == "paths-info":
        request = json.loads(body) if body.startswith(b"{") else urllib.parse.parse_qs(body.decode())
        paths = request.get("paths", [])
        return 200, [e for e in repo.tree(sha, "", True) or [] if e["path"] in paths], []
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


def _tree(files: dict[str, bytes], folder: str, plain_git=frozenset()) -> list[dict]:
    """The tree API's listing of one folder: its files (the LFS entry names the SHA-256 ``oid``; files in
    ``plain_git`` have none) and subfolders."""
    prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
    listing, folders = [], set()
    for name, data in sorted(files.items()):
        if not name.startswith(prefix):
            continue
        head, sep, _ = name[len(prefix) :].partition("/")
        if sep:
            folders.add(prefix + head)
            continue
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        entry = {"type": "file", "oid": blob, "size": len(data), "path": name}
        if name not in plain_git:
            entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), **_lfs(data)}
        listing.append(entry)
    return [{"type": "directory", "oid": "0" * 40, "size": 0, "path": path} for path in sorted(folders)] + listing
