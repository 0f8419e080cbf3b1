"""A loopback stand-in for the Hugging Face Hub and GitHub's raw file server, with faults on demand.

It serves the bundled samples in the upstream layouts:

    {endpoint}/api/datasets/{repo}/revision/{revision}          repo info (the first call datasets makes)
    {endpoint}/api/datasets/{repo}/tree/{revision}/{folder}     folder listing (streaming)
    {endpoint}/datasets/{repo}/resolve/{revision}/{path}        file bytes (HEAD, GET, Range)
    {endpoint}/Rallio67/language-model-agents/raw/{commit}/{file}   the alpha files

Faults are queued per request path and consumed one request at a time (HEAD requests skip them), or
kept for every request (``sticky``): "404", "500", "cut" (announce the full length, send half, close) and
"corrupt" (same length, other bytes); "429" and "503" (rate limit, unavailable), and "reset" (close the
connection with a TCP reset before answering).
Every request is logged as (method, path).
"""

from __future__ import annotations

import collections
import hashlib
import http.server
import json
import socket
import struct
import threading
from pathlib import Path

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
        self.requests: list[tuple[str, str]] = []
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.alpha_base_url = self.endpoint + ALPHA_PREFIX.rstrip("/")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def add_fault(self, path_suffix: str, *faults: str, sticky: bool = False) -> None:
        """Queues faults for the next GET requests whose path ends with ``path_suffix`` (or all, if sticky)."""
        if sticky:
            (self.sticky[path_suffix],) = faults
        else:
            self.faults[path_suffix].extend(faults)

    def clear_faults(self) -> None:
        self.faults.clear()
        self.sticky.clear()

    def gets(self, path_suffix: str) -> int:
        """How many GET requests asked for a path ending with ``path_suffix``."""
        return sum(1 for method, path in self.requests if method == "GET" and path.endswith(path_suffix))

    def _take_fault(self, path: str) -> str | None:
        for suffix, fault in self.sticky.items():
            if path.endswith(suffix):
                return fault
        for suffix, queue in self.faults.items():
            if path.endswith(suffix) and queue:
                return queue.popleft()
        return None

    def _locate(self, path: str) -> Path | None:
        if path.startswith(ALPHA_PREFIX):
            return sample_dir("instruction_tuning_alpha", "all") / path[len(ALPHA_PREFIX) :]
        for repo, root in HUB_REPOS.items():
            prefix = f"/datasets/{repo}/resolve/"
            if path.startswith(prefix):
                return root / path[len(prefix) :].split("/", 1)[1]
        return None

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
                upstream.requests.append(("POST", self.path))
                self._send(404, b"")

            def _send(self, status, body, headers=(), head=False, length=None):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _answer(self, head):
                path = self.path.split("?", 1)[0]
                upstream.requests.append(("HEAD" if head else "GET", path))
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
                if path.startswith("/api/datasets/"):
                    return self._api(path, head)
                file = upstream._locate(path)
                if file is None or not file.is_file():
                    return self._send(404, b"Not Found", head=head)
                data = file.read_bytes()
                headers = [
                    ("ETag", f'"{hashlib.sha256(data).hexdigest()}"'),
                    ("X-Repo-Commit", REPO_COMMIT),
                    ("Accept-Ranges", "bytes"),
                ]
                status, start = 200, 0
                byte_range = self.headers.get("Range")
                if byte_range and byte_range.startswith("bytes="):
                    first, _, last = byte_range[len("bytes=") :].partition("-")
                    start, end = int(first), min(int(last) if last else len(data) - 1, len(data) - 1)
                    headers.append(("Content-Range", f"bytes {start}-{end}/{len(data)}"))
                    data, status = data[start : end + 1], 206
                if fault == "corrupt":
                    data = bytes(b ^ 0x20 if 0x61 <= b <= 0x7A else b for b in data)
                if fault == "cut":
                    self._send(status, data[: len(data) // 2], headers, head, length=len(data))
                    self.close_connection = True
                    return None
                return self._send(status, data, headers, head)

            def _api(self, path, head):
                rest = path[len("/api/datasets/") :]
                for repo, root in HUB_REPOS.items():
                    if rest.startswith(repo + "/revision/"):
                        info = {
                            "id": repo,
                            "sha": REPO_COMMIT,
                            "private": False,
                            "siblings": [
                                {"rfilename": p.relative_to(root).as_posix()} for p in sorted(root.rglob("*"))
                            ],
                        }
                        return self._send(200, json.dumps(info).encode(), [("Content-Type", "application/json")], head)
                    if rest.startswith(repo + "/tree/"):
                        folder = rest[len(repo + "/tree/") :].partition("/")[2]
                        listing = [_tree_entry(p, root) for p in sorted((root / folder).iterdir())]
                        return self._send(
                            200, json.dumps(listing).encode(), [("Content-Type", "application/json")], head
                        )
                return self._send(404, b"Not Found", head=head)

        return Handler


def _tree_entry(path: Path, root: Path) -> dict:
    relative = path.relative_to(root).as_posix()
    if path.is_dir():
        return {"type": "directory", "oid": "0" * 40, "size": 0, "path": relative}
    data = path.read_bytes()
    return {
        "type": "file",
        "oid": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(),
        "size": len(data),
        "path": relative,
        "lfs": {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134},
    }
