"""What the loading scripts share: the machinery behind their rows, written once.

Each script declares its dataset (identity, files, configs, schema, row rule) in a subclass of one of the readers
below; this module holds what does not depend on the dataset:

- the builder base, ``InstructionBuilder``: ``DatasetInfo`` from the class's declarations, tables of its features
  with ``messages`` built from prompts and responses (``table_of``), a local ``data_dir``, and the streaming shim
  that declares the features of the tables (``_StreamedTables``);
- the network: failed transfers sorted by the class of their errors into kinds (``Failure``, ``failure``), with
  one-line errors that say what to do (``InstructionBuilder.HINTS``); the network policy, which gives every
  request of a load its timeouts, its one count of attempts, ``Retry-After`` and a low-speed limit
  (``NetworkSettings``, ``network_policy``: a transport under ``huggingface_hub``'s client); ``fetch`` of a plain
  file server's file; file sizes read over the network;
- JSON helpers for error messages, and the git blob SHA-1 that pins a file, computed piece by piece;
- ``HubInstructionBuilder``: Hub files read from one commit per load, each checked against the hash its server
  publishes, recorded by repo, commit and path; and the checks of byte ranges read over the network;
- the readers, each given the names of the strings it reads and the dataset's row rule:
  ``HubJsonLinesBuilder`` (JSON Lines in a Hub repo, read in byte ranges and blocks; Align-Anything) and
  ``PinnedJsonArrayBuilder`` (files that are each one JSON array of arrays or objects of strings, pinned to a
  commit and checked against their git blob SHA-1s before any row; alpha).

A script imports it with ``from ._instruction_kit import (...)``: ``datasets.load_dataset`` (3.x) copies this file
beside the script it runs and hashes both; ``instruction_datasets.load()`` does the same.
"""

import codecs
import collections
import concurrent.futures
import contextlib
import contextvars
import dataclasses
import email.utils
import enum
import hashlib
import io
import json
import mmap
import os
import re
import sys
import tempfile
import threading
import time
from typing import Optional, Union

import datasets
import fsspec.caching
import numpy as np
import pyarrow as pa
import pyarrow.json as paj
from datasets.iterable_dataset import ArrowExamplesIterable
from filelock import FileLock
from huggingface_hub import HfApi, get_hf_file_metadata, get_session, hf_hub_url, try_to_load_from_cache
from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import FileMetadataError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.utils import build_hf_headers

logger = datasets.logging.get_logger(__name__)


# --- Helpers for rows and error messages. ---


def messages_column(prompts: list, responses: list) -> pa.ListArray:
    """``messages`` (a user turn, then an assistant turn) built without Python objects per row.

    ``prompts`` and ``responses`` are lists of string arrays (the chunks of each column).
    """
    n = sum(len(chunk) for chunk in prompts)
    order = np.empty(2 * n, dtype=np.int64)  # prompt 0, response 0, prompt 1, ...
    order[0::2] = np.arange(n)
    order[1::2] = order[0::2] + n
    # A take over the chunks of both columns gathers the contents in one copy, with no concatenation first.
    contents = pa.chunked_array(list(prompts) + list(responses), pa.string()).take(order).combine_chunks()
    roles = pa.array(["user", "assistant"]).take(np.tile(np.array([0, 1]), n))
    turns = pa.StructArray.from_arrays([roles, contents], names=["role", "content"])
    return pa.ListArray.from_arrays(pa.array(np.arange(0, 2 * n + 1, 2, dtype=np.int32)), turns)


#: The feature of a ``messages`` column: a plain list of a dict is a list of structs (``datasets.Sequence`` would
#: store a dict of lists).
MESSAGES = [{"role": datasets.Value("string"), "content": datasets.Value("string")}]


#: Opening brackets a line may hold for pyarrow to infer the types of its values: pyarrow 26 crashes (signal 11) on
#: a value nested 20,000 deep, and 10,000 levels take it half a minute.
SHALLOW_BRACKETS = 1_000


def shallow(block, limit: int = SHALLOW_BRACKETS) -> bool:
    """Whether every line of ``block`` (bytes or a memoryview) holds fewer than ``limit`` opening brackets, so that no
    value in it can be nested ``limit`` deep (brackets inside strings count too: the bound errs on the safe side)."""
    data = np.frombuffer(block, dtype=np.uint8)
    starts = np.concatenate(([0], np.flatnonzero(data == 0x0A) + 1))
    starts = starts[starts < len(data)]  # a final newline starts no line
    if not len(starts):
        return True
    opening = ((data == 0x7B) | (data == 0x5B)).astype(np.int32)  # "{" and "["
    return int(np.add.reduceat(opening, starts).max()) < limit


def blob_hasher(size: int):
    """A SHA-1 under way of a git blob of ``size`` bytes (``git hash-object``): ``update`` it with the bytes, then
    read ``hexdigest()``. ``huggingface_hub.utils.sha.git_hash`` gives the same of bytes in memory; this one is fed a
    file piece by piece, in the same pass as its SHA-256."""
    return hashlib.sha1(b"blob %d\0" % size)


def json_type(value) -> str:
    """The JSON name of a parsed value's type, for error messages."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def json_problem(err: json.JSONDecodeError) -> str:
    """What the JSON parser objected to, without the dangling "at" some of its messages end with."""
    message = err.msg
    return message[: -len(" at")] if message.endswith(" at") else message


def is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --- Failed transfers, sorted into kinds. ---


class Failure(str, enum.Enum):
    """The kinds of failed transfer (``failure`` says which errors are which); each reads as its words in messages,
    and HINTS are keyed by them."""

    NOT_FOUND = "not found"
    CANNOT_CONNECT = "cannot connect"
    SERVER_ERROR = "server error"
    ACCESS_DENIED = "access denied"
    WRONG_ANSWER = "wrong answer"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


TRANSIENT = (Failure.CANNOT_CONNECT, Failure.SERVER_ERROR)  # failure kinds worth another attempt

NO_REPO_COMMIT = (
    "the answer has no X-Repo-Commit header, which every Hub and Hub mirror sends: the address is no Hub, or a proxy "
    "or a captive portal answered in its place"
)

#: What to do about a kind of failure, where a dataset's HINTS say nothing of it.
DEFAULT_HINTS = {
    Failure.WRONG_ANSWER: "check the address, and whether the network needs a log-in or a proxy setting first",
}


def failure(err: BaseException) -> tuple:
    """Sorts a failed transfer into ``(kind, detail)``, kind a `Failure`; ``(None, "")`` for anything that is not a
    network failure.

    Kinds: NOT_FOUND (HTTP 404, or 401 with ``X-Error-Code: RepoNotFound``), CANNOT_CONNECT (refused, reset,
    timed out, stalled, host name not resolved, or the connection dropped mid-transfer), SERVER_ERROR (5xx, 429),
    ACCESS_DENIED (other 4xx, such as 401 and 403), WRONG_ANSWER (an HTML page, or a Hub answer with no
    ``X-Repo-Commit``: something other than the server answered).
    The clients wrap the real cause (fsspec reports a refused connection as FileNotFoundError), so the whole chain
    of causes is read, the innermost connection problem first.
    """
    chain = _causes(err)
    for link in chain:
        if isinstance(link, TransferError):  # already sorted, where the policy saw it fail
            return link.kind, link.detail
        if isinstance(link, FileMetadataError):  # huggingface_hub: an answer with no X-Repo-Commit
            return Failure.WRONG_ANSWER, NO_REPO_COMMIT
    for link in chain:
        status = http_status(link)
        if status == 404:
            return Failure.NOT_FOUND, "HTTP 404"
        if status == 401 and error_code(link) == "RepoNotFound":  # olah's answer for a missing file
            return Failure.NOT_FOUND, "HTTP 401 RepoNotFound"
        if status is not None and (status >= 500 or status == 429):
            return Failure.SERVER_ERROR, f"HTTP {status}"
        if status is not None and status >= 400:
            return Failure.ACCESS_DENIED, f"HTTP {status}"
    for link in reversed(chain):
        detail = connection_problem(link)
        if detail:
            return Failure.CANNOT_CONNECT, detail
    if any(isinstance(link, FileNotFoundError) for link in chain):
        return Failure.NOT_FOUND, "no such file on the server"
    return None, ""


#: Connection problems, each with the error classes that say it, by module: those of the standard library and of the
#: HTTP clients a load goes through (httpx under huggingface_hub, published as httpx2 from its 2.x on; requests and
#: urllib3, aiohttp under fsspec). The first that matches wins.
_CONNECTION_PROBLEMS = (
    ("the host name could not be resolved", {
        "socket": ["gaierror"], "aiohttp": ["ClientConnectorDNSError"], "urllib3.exceptions": ["NameResolutionError"],
    }),
    ("connection refused", {"builtins": ["ConnectionRefusedError"]}),
    ("timed out", {
        "builtins": ["TimeoutError"], "asyncio": ["TimeoutError"], "httpx": ["TimeoutException"],
        "httpx2": ["TimeoutException"], "requests.exceptions": ["Timeout"], "urllib3.exceptions": ["TimeoutError"],
        "aiohttp": ["ServerTimeoutError"],
    }),
    ("the connection was reset", {
        "builtins": ["ConnectionResetError", "BrokenPipeError"], "httpx": ["RemoteProtocolError", "ReadError"],
        "httpx2": ["RemoteProtocolError", "ReadError"], "aiohttp": ["ServerDisconnectedError"],
    }),
    ("the connection dropped before the whole file arrived", {
        "http.client": ["IncompleteRead"], "aiohttp": ["ClientPayloadError"], "urllib3.exceptions": ["IncompleteRead"],
        "requests.exceptions": ["ChunkedEncodingError"],
    }),
)  # fmt: skip
#: Any other error of these classes is a connection problem, said as its class and its text.
_OTHER_CONNECTION_ERRORS = {
    "builtins": ["ConnectionError"], "httpx": ["TransportError"], "httpx2": ["TransportError"],
    "aiohttp": ["ClientConnectionError"], "requests.exceptions": ["ConnectionError"],
}  # fmt: skip


def _classes(by_module: dict) -> tuple:
    """The classes named, from the modules already imported: a library that was never imported raised nothing."""
    return tuple(
        getattr(sys.modules[module], name)
        for module, names in by_module.items()
        if module in sys.modules
        for name in names
        if hasattr(sys.modules[module], name)
    )


def connection_problem(err: BaseException) -> str:
    """What went wrong with a connection, by the error's class (socket's, httpx's, requests' and urllib3's,
    aiohttp's); or ""."""
    if isinstance(err, ValueError):  # bad bytes, not a bad connection
        return ""
    for problem, by_module in _CONNECTION_PROBLEMS:
        if isinstance(err, _classes(by_module)):
            return problem
    if isinstance(err, _classes(_OTHER_CONNECTION_ERRORS)):
        return f"{type(err).__name__}: {err}"
    return ""


def _causes(err: BaseException) -> list:
    """``err`` and the errors it was raised from, outermost first. An error raised ``from None`` that holds the
    error it replaces as its argument (httpcore's do) leads to that one."""
    chain = []
    while err is not None and all(err is not seen for seen in chain):
        chain.append(err)
        if err.__cause__ is None and err.__suppress_context__ and err.args and isinstance(err.args[0], BaseException):
            err = err.args[0]
        else:
            err = err.__cause__ if err.__cause__ is not None or err.__suppress_context__ else err.__context__
    return chain


def _answer_start(err: BaseException) -> str:
    """How the answer that failed to parse as JSON begins, for an error message."""
    for link in _causes(err):
        if isinstance(link, json.JSONDecodeError):
            head = link.doc[:40].strip()
            return "an HTML page" if head.startswith("<") else f"text beginning {head!r}" if head else "nothing"
    return "something else"


def error_code(err: BaseException):
    """The ``X-Error-Code`` header of a failed Hub request (what the Hub and its mirrors say went wrong), or None."""
    headers = getattr(getattr(err, "response", None), "headers", None)
    return headers.get("X-Error-Code") if hasattr(headers, "get") else None


def http_status(err: BaseException):
    """The HTTP status of a failed request, from the error types of requests, httpx and aiohttp."""
    status = getattr(err, "status", None)
    if status is None:
        status = getattr(getattr(err, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


# --- The network policy: time limits and one retry count for every request of a load. ---


@dataclasses.dataclass(frozen=True)
class NetworkSettings:
    """How long a load waits for a server, and how often it asks again; each is read from its environment variable
    when a load starts (the README's "Time limits and retries" lists them).

    Attributes:
        connect_timeout: seconds to open a connection (``INSTRUCTION_DATASETS_CONNECT_TIMEOUT``).
        stall_timeout: seconds a request may go without a byte, or below ``low_speed`` on average, before the
            attempt counts as failed (``INSTRUCTION_DATASETS_STALL_TIMEOUT``). The first stall is warned about
            when it happens; with the defaults a server that stays stalled fails the load in about 93 s (3 stalls
            and the waits between them).
        low_speed: bytes per second below which a transfer, measured over ``stall_timeout``, counts as stalled
            (``INSTRUCTION_DATASETS_LOW_SPEED``).
        attempts: requests per URL, the first included, before a failure is final (``INSTRUCTION_DATASETS_ATTEMPTS``).
            Nothing below retries on its own: ``huggingface_hub`` and ``datasets`` never see a failure worth
            retrying before this count is spent.
        retry_wait: seconds before the second attempt; each later wait doubles (``INSTRUCTION_DATASETS_RETRY_WAIT``).
        retry_after_max: the longest ``Retry-After`` a server's 429 or 503 is waited for
            (``INSTRUCTION_DATASETS_RETRY_AFTER_MAX``); a longer one is cut to this.
    """

    connect_timeout: float = 10.0
    stall_timeout: float = 30.0
    low_speed: float = 1024.0
    attempts: int = 3
    retry_wait: float = 1.0
    retry_after_max: float = 30.0

    ENVIRONMENT = {
        "connect_timeout": "INSTRUCTION_DATASETS_CONNECT_TIMEOUT",
        "stall_timeout": "INSTRUCTION_DATASETS_STALL_TIMEOUT",
        "low_speed": "INSTRUCTION_DATASETS_LOW_SPEED",
        "attempts": "INSTRUCTION_DATASETS_ATTEMPTS",
        "retry_wait": "INSTRUCTION_DATASETS_RETRY_WAIT",
        "retry_after_max": "INSTRUCTION_DATASETS_RETRY_AFTER_MAX",
    }

    @classmethod
    def from_environment(cls) -> "NetworkSettings":
        values = {}
        for field in dataclasses.fields(cls):
            text = os.environ.get(cls.ENVIRONMENT[field.name], "").strip()
            if not text:
                continue
            try:
                value = float(text)
            except ValueError:
                value = None
            if value is None or value < 0 or (field.name == "attempts" and (value < 1 or value != int(value))):
                kind = "a whole number, 1 or more" if field.name == "attempts" else "a number of seconds, 0 or more"
                if field.name == "low_speed":
                    kind = "a number of bytes per second, 0 or more"
                raise ValueError(f"{cls.ENVIRONMENT[field.name]}={text!r}: expected {kind}")
            values[field.name] = int(value) if field.name == "attempts" else value
        return cls(**values)

    def wait(self, failures: int, retry_after=None) -> float:
        """Seconds to wait after the ``failures``-th failed attempt (a server's Retry-After, up to the cap, first)."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_max)
        return self.retry_wait * 2 ** (failures - 1)


class TransferError(ConnectionError):
    """A request that failed for good: every attempt the settings allow was made, or the failure is not worth another.

    ``kind`` and ``detail`` are as ``failure`` sorts them; ``attempts`` is how many requests were made.
    """

    def __init__(self, url: str, kind: Failure, detail: str, attempts: int, status=None):
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        super().__init__(f"{url}: {kind} ({detail}){tried}")
        self.url, self.kind, self.detail, self.attempts, self.status = url, kind, detail, attempts, status


class _Load:
    """What the policy knows of one load (or one streamed file): its settings, and failed requests per URL."""

    def __init__(self, settings: NetworkSettings):
        self.settings, self.failures, self.last, self.lock = settings, {}, {}, threading.Lock()

    def failed(self, url: str, kind: Failure, detail: str) -> int:
        """Counts a failed request for ``url`` (and remembers what went wrong); returns how many it has had."""
        with self.lock:
            self.failures[url] = self.failures.get(url, 0) + 1
            self.last[url] = (kind, detail)
            return self.failures[url]

    def spent_error(self, url: str) -> "TransferError":
        """The error for a request ``url`` has no attempts left for: what went wrong the last time (a library that
        asks once more after a failure gets the failure, not a new request)."""
        kind, detail = self.last.get(url, (Failure.CANNOT_CONNECT, "no attempts left"))
        return TransferError(url, kind, detail, self.spent(url))

    def spent(self, url: str) -> int:
        with self.lock:
            return self.failures.get(url, 0)


_LOAD = contextvars.ContextVar("instruction_datasets_load", default=None)


@contextlib.contextmanager
def network_policy(load: Optional[_Load] = None):
    """Every request ``huggingface_hub``'s client makes inside this block follows the settings (``NetworkSettings``):
    their timeouts, one count of attempts per URL, ``Retry-After``, and the low-speed limit while a body arrives.
    Requests outside it (the user's own) are left as they are."""
    install_policy()
    token = _LOAD.set(load or _Load(NetworkSettings.from_environment()))
    try:
        yield _LOAD.get()
    finally:
        _LOAD.reset(token)


def _retry_after(headers) -> Optional[float]:
    """Seconds a ``Retry-After`` header asks for (a number of seconds, or an HTTP date), or None."""
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def storage_headers(storage_options: Optional[dict], url: str) -> dict:
    """The headers ``storage_options`` give requests to ``url``, as fsspec's HTTP file system reads them: ``headers``
    or ``client_kwargs["headers"]`` under the URL's protocol ("http" or "https")."""
    options = (storage_options or {}).get(url.split("://", 1)[0], {})
    return {**options.get("client_kwargs", {}).get("headers", {}), **options.get("headers", {})}


def _offline_error(url: str) -> ConnectionError:
    return ConnectionError(
        f"{url}: not in the cache, and offline mode (HF_DATASETS_OFFLINE / HF_HUB_OFFLINE) forbids downloading it: run "
        "once with the network to fill the cache, or pass data_dir= with a local copy of the files"
    )


def _begins_like_html(path: str) -> bool:
    with open(path, "rb") as f:
        return _looks_like_html(f.read(512))


def _looks_like_html(data: bytes) -> bool:
    """Whether bytes begin like an HTML page (a captive portal's, a login page): no JSON text begins with "<"."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<")


HTML_PAGE = (
    "the server sent an HTML page where a data file was expected (a captive portal or a login page of the network, "
    "a proxy, or a wrong address)"
)


def _policy_transport(http):
    """The classes that carry the policy, built on the client library ``huggingface_hub`` uses (httpx, or httpx2)."""

    class Monitored(http.SyncByteStream):
        """A response body that counts as stalled below the low-speed limit, and resumes a broken transfer with a
        ``Range`` request while the URL has attempts left. A body read from its first byte that begins like an HTML
        page is refused: no file or API answer a load asks for begins with "<"."""

        def __init__(self, transport, request, response, load: _Load, url: str):
            self._transport, self._request, self._response, self._load = transport, request, response, load
            self._stream, self._url = response.stream, url

        def __iter__(self):
            settings, sent = self._load.settings, 0
            total = self._response.headers.get("Content-Length")
            asked = self._request.headers.get("Range", "bytes=0-")
            sniffing = self._request.method == "GET" and asked.replace(" ", "").startswith("bytes=0-")
            while True:
                window, window_bytes = time.monotonic(), 0
                try:
                    for chunk in self._stream:
                        if sniffing and chunk.lstrip(b"\xef\xbb\xbf \t\r\n"):
                            if _looks_like_html(chunk):
                                raise TransferError(self._url, Failure.WRONG_ANSWER, HTML_PAGE, 1)
                            sniffing = False
                        sent += len(chunk)
                        window_bytes += len(chunk)
                        now = time.monotonic()
                        if now - window >= settings.stall_timeout > 0:
                            if window_bytes < settings.low_speed * (now - window):
                                raise _Slow(f"{window_bytes} bytes in {now - window:.0f} s")
                            window, window_bytes = now, 0
                        yield chunk
                    return
                except TransferError:
                    self._stream.close()
                    raise
                except Exception as err:  # a broken or stalled body: resume it, or say how much arrived
                    self._stream.close()
                    detail = failure(err)[1] or f"{type(err).__name__}: {err}"
                    if isinstance(err, _Slow):
                        detail = f"slower than {settings.low_speed:g} bytes/s: {err}"
                    elif detail == "timed out":
                        detail = f"no byte for {settings.stall_timeout:g} s"
                    arrived = f"{sent} of {total} bytes had arrived" if total else f"{sent} bytes had arrived"
                    failures = self._load.failed(self._url, Failure.CANNOT_CONNECT, f"{detail}; {arrived}")
                    if failures >= settings.attempts or not self._resumable():
                        said = f"{detail}; {arrived}"
                        raise TransferError(self._url, Failure.CANNOT_CONNECT, said, failures) from None
                    wait = settings.wait(failures)
                    logger.warning(
                        f"{self._url}: {detail} ({arrived}); resuming in {wait:g} s "
                        f"[attempt {failures + 1}/{settings.attempts}]"
                    )
                    time.sleep(wait)
                    self._stream = self._resume(sent)

        def _resumable(self) -> bool:
            encoding = self._response.headers.get("Content-Encoding", "identity").lower()
            return self._request.method == "GET" and encoding == "identity"

        def _resume(self, sent: int):
            """The rest of the body, from a new request for the bytes after the ``sent`` that arrived."""
            first = 0
            asked = self._request.headers.get("Range", "")
            if asked.startswith("bytes=") and asked[6:].partition("-")[0].isdigit():
                first = int(asked[6:].partition("-")[0])
            last = asked[6:].partition("-")[2] if asked.startswith("bytes=") else ""
            headers = [(k, v) for k, v in self._request.headers.multi_items() if k.lower() != "range"]
            headers.append(("Range", f"bytes={first + sent}-{last}"))
            request = type(self._request)(
                self._request.method, self._request.url, headers=headers, extensions=self._request.extensions
            )
            response = self._transport._send(request, self._load, self._url)
            content_range = response.headers.get("Content-Range", "")
            if response.status_code == 206 and content_range.startswith(f"bytes {first + sent}-"):
                return response.stream
            if response.status_code == 200 and not asked:  # Range ignored: skip what had arrived
                return _Skipped(response.stream, sent)
            response.close()
            raise TransferError(
                self._url,
                Failure.CANNOT_CONNECT,
                f"the transfer broke after {sent} bytes and the server did not resume it (HTTP "
                f"{response.status_code}, Content-Range {content_range or 'none'})",
                self._load.spent(self._url),
            )

        def close(self):
            self._stream.close()

    class PolicyTransport(http.BaseTransport):
        """The transport under ``huggingface_hub``'s client: inside ``network_policy``, it sets the timeouts, retries
        what is worth retrying up to the attempts of the URL, refuses an HTML page, and watches the body."""

        def __init__(self, inner):
            self.inner = inner

        def handle_request(self, request):
            load = _LOAD.get()
            if load is None:
                return self.inner.handle_request(request)
            url = str(request.url).split("?", 1)[0]
            response = self._send(request, load, url)
            if 200 <= response.status_code < 300:
                if "text/html" in response.headers.get("Content-Type", "").lower():
                    response.close()
                    raise TransferError(url, Failure.WRONG_ANSWER, HTML_PAGE, 1, response.status_code)
                response.stream = Monitored(self, request, response, load, url)
            return response

        def _send(self, request, load: _Load, url: str):
            """One answer that is no failure worth retrying, after as many attempts as ``url`` has left."""
            settings = load.settings
            timeout = {"connect": settings.connect_timeout, "read": settings.stall_timeout}
            request.extensions = {**request.extensions, "timeout": {**timeout, "write": timeout["read"], "pool": None}}
            while True:
                if load.spent(url) >= settings.attempts:
                    raise load.spent_error(url)
                retry_after = None
                try:
                    response = self.inner.handle_request(request)
                except Exception as err:
                    kind, detail = failure(err)
                    if detail == "timed out":
                        detail = f"no answer within {settings.stall_timeout:g} s"
                    failures = load.failed(url, kind or Failure.CANNOT_CONNECT, detail or str(err))
                    if kind not in TRANSIENT or failures >= settings.attempts:
                        raise TransferError(url, kind or Failure.CANNOT_CONNECT, detail or str(err), failures) from err
                    what = f"{kind} ({detail})"
                else:
                    status = response.status_code
                    if not (status >= 500 or status in (408, 429)):
                        return response
                    response.read()
                    response.close()
                    failures = load.failed(url, Failure.SERVER_ERROR, f"HTTP {status}")
                    if failures >= settings.attempts:
                        raise TransferError(url, Failure.SERVER_ERROR, f"HTTP {status}", failures, status)
                    retry_after = _retry_after(response.headers)
                    what = f"server error (HTTP {status}" + (
                        f", Retry-After {response.headers['Retry-After']})" if retry_after is not None else ")"
                    )
                wait = settings.wait(failures, retry_after)
                logger.warning(f"{url}: {what}; retrying in {wait:g} s [attempt {failures + 1}/{settings.attempts}]")
                time.sleep(wait)

        def close(self):
            self.inner.close()

    return PolicyTransport


class _Slow(Exception):
    """A body that arrives below the low-speed limit."""


class _Skipped:
    """A body's bytes after its first ``count`` (a server that ignores Range sends the file from its start again)."""

    def __init__(self, stream, count: int):
        self._stream, self._count = stream, count

    def __iter__(self):
        left = self._count
        for chunk in self._stream:
            if left >= len(chunk):
                left -= len(chunk)
                continue
            yield chunk[left:]
            left = 0

    def close(self):
        self._stream.close()


class PolicedFile:
    """A file opened over the network whose reads and seeks follow the network policy (``inner`` is the file)."""

    def __init__(self, inner, load: _Load):
        self.inner, self._load = inner, load

    def read(self, *args):
        with network_policy(self._load):
            return self.inner.read(*args)

    def readline(self, *args):
        with network_policy(self._load):
            return self.inner.readline(*args)

    def seek(self, *args):
        with network_policy(self._load):
            return self.inner.seek(*args)

    def __getattr__(self, name):
        return getattr(self.inner, name)


_INSTALLING = threading.Lock()


def install_policy() -> None:
    """Puts the policy's transport under ``huggingface_hub``'s client, once per process (and again should someone
    set another client factory): the client it makes, through the factory it had, gets the transport.

    ``huggingface_hub`` makes its client anew after a fork or a failed connection, always through the factory,
    so the transport stays. It is inert outside ``network_policy``.
    """
    import huggingface_hub
    from huggingface_hub.utils import _http as hub_http

    with _INSTALLING:
        previous = getattr(hub_http, "_GLOBAL_CLIENT_FACTORY", None) or hub_http.default_client_factory
        policies = getattr(previous, "instruction_datasets_policies", ())
        if any(policy is _LOAD for policy in policies):
            return

        def factory():
            client = previous()
            transport = _policy_transport(sys.modules[type(client).__module__.split(".")[0]])
            client._transport = transport(client._transport)
            client._mounts = {
                pattern: None if inner is None else transport(inner) for pattern, inner in client._mounts.items()
            }
            return client

        # Each copy of this module (one per script a process loads) has its own _LOAD: each wraps the factory, and
        # its transport acts only inside its own network_policy.
        factory.instruction_datasets_policies = (*policies, _LOAD)
        huggingface_hub.set_client_factory(factory)


def fetch(url: str, path: str, chunk_bytes: int = 2**20, headers: Optional[dict] = None) -> int:
    """Downloads ``url`` (a plain file server's: no Hub token) to ``path`` under the network policy, sending
    ``headers``; returns its size.

    ``path`` is written whole or not at all: the bytes go to a file beside it that replaces it once every byte the
    server announced has arrived and the file is no HTML page.
    """
    partial = f"{path}.{os.getpid()}.{threading.get_ident()}.part"
    try:
        with (
            network_policy(),
            get_session().stream("GET", url, headers={**(headers or {}), "Accept-Encoding": "identity"}) as answer,
        ):
            if answer.status_code >= 400:
                answer.read()
                answer.raise_for_status()
            announced = answer.headers.get("Content-Length")
            with open(partial, "wb") as out:
                for chunk in answer.iter_raw(chunk_bytes):
                    out.write(chunk)
            arrived = answer.num_bytes_downloaded
        if announced is not None and announced.isdigit() and arrived != int(announced):
            raise TransferError(
                url, Failure.CANNOT_CONNECT, f"the transfer was cut short: {arrived} of {announced} bytes arrived", 1
            )
        with open(partial, "rb") as f:
            if _looks_like_html(f.read(512)):
                raise TransferError(url, Failure.WRONG_ANSWER, HTML_PAGE, 1)
        os.replace(partial, path)
        return arrived
    finally:
        if os.path.exists(partial):
            os.remove(partial)


# --- The builder base. ---


class _StreamedTables(ArrowExamplesIterable):
    """A builder's tables in streaming mode, declaring the features they already have.

    ``datasets`` wraps a stream whose declared features differ from the dataset's in a cast and decode of
    every row, one row at a time. Every feature here is a string (or a list of structs of strings), which
    decodes to itself, so declaring them changes no value, type or order: rows then come from whole batches.
    A cast by the user (``cast_column``, ``features=``) still makes the features differ and is applied.
    """

    @property
    def features(self):
        return self._declared

    # datasets builds shuffled, sharded and resharded copies as the base class: keep them declared.
    def shuffle_data_sources(self, *args, **kwargs):
        return _streamed(super().shuffle_data_sources(*args, **kwargs), self._declared)

    def shard_data_sources(self, *args, **kwargs):
        return _streamed(super().shard_data_sources(*args, **kwargs), self._declared)

    def reshard_data_sources(self, *args, **kwargs):  # datasets 4+
        return _streamed(super().reshard_data_sources(*args, **kwargs), self._declared)


def _streamed(tables, features):
    """Declares ``features`` for a builder's plain table stream (anything else is returned as it is)."""
    if type(tables) is ArrowExamplesIterable:
        tables.__class__ = _StreamedTables
        tables._declared = features
    return tables


class InstructionBuilder(datasets.ArrowBasedBuilder):
    """A builder of instruction rows; a subclass declares its dataset in these attributes.

    Attributes:
        PRETTY_NAME: the dataset's name as people write it (cards use it).
        CARD_WORDS: the name of the dataset's card words, ``instruction_datasets/cards/<CARD_WORDS>.toml``: what an
            exported card says of it (see ``instruction_datasets.card_text``); None for a card made from
            ``DESCRIPTION``.
        DESCRIPTION, HOMEPAGE, LICENSE, CITATION: the dataset's identity, as ``DatasetInfo`` holds it; a config's
            own description follows ``DESCRIPTION`` after a blank line.
        FEATURES: the schema of every config.
        COMMIT: the upstream commit every download is pinned to, when the dataset pins one (cards name it); None
            when each load resolves its own (``HubInstructionBuilder``: ``hub_revision``).
        HINTS: per kind of failed transfer (see ``failure``), what to do about it, naming only parameters and
            environment variables that this dataset has.
        FormatError, IntegrityError: the exception classes the builder raises for a file that is not in the
            documented format, and for one that was not read whole or whose bytes are not the expected ones.
    """

    PRETTY_NAME = ""
    CARD_WORDS = None
    DESCRIPTION = ""
    HOMEPAGE = ""
    LICENSE = ""
    CITATION = ""
    FEATURES = None
    COMMIT = None
    HINTS = {}
    FormatError = ValueError
    IntegrityError = ValueError

    @classmethod
    def info_for(cls, config: datasets.BuilderConfig) -> datasets.DatasetInfo:
        """What the builder declares for ``config`` (``_info()`` of a builder with that config, with no instance)."""
        return datasets.DatasetInfo(
            description=f"{cls.DESCRIPTION}\n\n{config.description}",
            features=cls.FEATURES,
            homepage=cls.HOMEPAGE,
            license=cls.LICENSE,
            citation=cls.CITATION,
        )

    @classmethod
    def download_origin(cls, config_name: str, **settings):
        """Where a download of ``config_name`` comes from, for a card, when the builder names its files by URL;
        None when it does not (the Hub files of a load have their own record, see ``HubInstructionBuilder``).
        ``settings`` are the config fields the load was given (``base_url=...``)."""
        return None

    def _info(self) -> datasets.DatasetInfo:
        return self.info_for(self.config)

    def get_exported_dataset_info(self) -> datasets.DatasetInfo:
        """The entry of ``dataset_infos.json`` beside the script (3.x) for this config, unless it names another
        builder: config names may repeat across datasets."""
        info = super().get_exported_dataset_info()
        return info if info.builder_name in (None, self.name) else datasets.DatasetInfo()

    @classmethod
    def table_of(cls, columns: dict) -> pa.Table:
        """One Arrow table of ``FEATURES`` from its columns by name (Arrow arrays, or sequences of values); a declared
        ``messages`` that is not given is built from ``prompt`` and ``response`` (a user turn, an assistant turn)."""
        schema = cls.FEATURES.arrow_schema
        arrays = {
            name: values if isinstance(values, pa.Array) else pa.array(values, schema.field(name).type)
            for name, values in columns.items()
        }
        if "messages" in schema.names and "messages" not in arrays:
            arrays["messages"] = messages_column([arrays["prompt"]], [arrays["response"]])
        return pa.Table.from_arrays([arrays[name] for name in schema.names], schema=schema)

    def _get_examples_iterable_for_split(self, split_generator):
        """Streaming: the tables of ``_generate_tables``, with their features declared (see ``_StreamedTables``)."""
        return _streamed(super()._get_examples_iterable_for_split(split_generator), self.FEATURES)

    def _local_files(self, paths: list, layout: str) -> list:
        """The files ``paths`` (relative to ``data_dir``, a local copy read in place), which must all exist.

        ``layout`` says in the error what ``data_dir`` must hold.
        """
        data_dir = self.config.data_dir
        if "://" not in data_dir:
            data_dir = os.path.abspath(data_dir)
        files = [os.path.join(data_dir, path) for path in paths]
        for file in files:
            if not os.path.exists(file):
                raise FileNotFoundError(f"{file} not found: data_dir must hold {layout}")
        return files

    @contextlib.contextmanager
    def _reading(self, origin: str):
        """Names the file in errors of the transfer itself (streaming reads over the network), and says what to do."""
        try:
            yield
        except Exception as err:
            if str(err).startswith(f"{origin}: ") and not isinstance(err, TransferError):  # says all there is to say
                raise
            error = self._network_error(origin, err)
            if error is not None:
                raise error from err
            if isinstance(err, OSError):
                raise ConnectionError(f"{origin}: reading failed: {err}") from err
            raise

    @contextlib.contextmanager
    def _open(self, filepath: str, **kwargs):
        """``open(filepath, "rb", **kwargs)``; a file over the network is opened and read under the network policy,
        with one count of attempts per file (a ``PolicedFile``)."""
        if "://" not in str(filepath):
            with open(filepath, "rb", **kwargs) as f:
                yield f
            return
        load = _Load(NetworkSettings.from_environment())
        with network_policy(load):
            f = open(filepath, "rb", **kwargs)
        with contextlib.closing(f):
            yield PolicedFile(f, load)

    @contextlib.contextmanager
    def _whole_file(self, filepath: str, chunk_bytes: int):
        """Yields (a local path holding the whole file, its size, its git blob SHA-1), so that the file can be checked
        before any of it is parsed.

        A local file (a download in the cache, a ``data_dir`` copy) is read in place. A URL is first fetched (``fetch``:
        the network policy, and every announced byte or an error) to a temporary file that is removed afterwards:
        memory stays flat, and the disk holds one copy of the file while it is read.
        """
        path, copied = filepath, "://" in str(filepath)
        if copied:
            handle, path = tempfile.mkstemp(prefix="instruction_datasets-", suffix=".part")
            os.close(handle)
        try:
            if copied:
                fetch(filepath, path, chunk_bytes, getattr(self, "_fetch_headers", None))
            size = os.path.getsize(path)
            digest = blob_hasher(size)
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(chunk_bytes), b""):
                    digest.update(chunk)
            yield path, size, digest.hexdigest()
        finally:
            if copied and os.path.exists(path):
                os.remove(path)

    def _file_size(self, filepath: str, origin: str) -> int:
        """The size of a file; in streaming, the size the server announces (asked under the network policy)."""
        try:
            with network_policy():
                return os.path.getsize(filepath)
        except Exception as err:
            error = self._network_error(origin, err)
            if error is None:
                raise
            raise error from err

    def _download(self, dl_manager, urls: dict) -> dict:
        """Downloads each URL through ``dl_manager`` under the network policy (which retries what is worth it); errors
        name the URL and say what to do."""
        NetworkSettings.from_environment()  # a setting that is no number fails here, in its own words
        offline = bool(getattr(datasets.config, "HF_HUB_OFFLINE", False))
        if offline and isinstance(dl_manager, datasets.StreamingDownloadManager):
            raise ConnectionError(
                "streaming reads from the network, but offline mode is on (HF_DATASETS_OFFLINE / HF_HUB_OFFLINE): "
                "load without streaming from a warm cache, or pass data_dir= with a local copy"
            )
        files = {}
        for key, url in urls.items():
            try:
                with network_policy():  # the policy retries; a failure that reaches here is final
                    files[key] = dl_manager.download(url)
            except Exception as err:
                if offline:
                    raise _offline_error(url) from err
                error = self._network_error(url, err)
                raise error or ConnectionError(f"{url}: download failed: {err}") from err
        return files

    def _fetched(self, dl_manager, urls: dict) -> dict:
        """Files of a plain file server (not the Hub), by key: local copies in the download cache, fetched under the
        network policy (``fetch``) unless already there; in streaming, the URLs (``_whole_file`` fetches each when
        it is read). A cached copy that begins like an HTML page (kept by an earlier load that did not check it) is
        dropped and fetched again."""
        NetworkSettings.from_environment()  # a setting that is no number fails here, in its own words
        offline = bool(getattr(datasets.config, "HF_HUB_OFFLINE", False))
        if isinstance(dl_manager, datasets.StreamingDownloadManager):
            self._fetch_headers = storage_headers(
                dl_manager.download_config.storage_options, next(iter(urls.values()), "")
            )
            if offline:
                self._download(dl_manager, {})
            return dict(urls)
        config = dl_manager.download_config
        self._fetch_headers = storage_headers(config.storage_options, next(iter(urls.values()), ""))
        folder = os.path.join(config.cache_dir or datasets.config.DOWNLOADED_DATASETS_PATH, "instruction_datasets")
        os.makedirs(folder, exist_ok=True)
        files = {}
        for key, url in urls.items():
            path = os.path.join(folder, f"{hashlib.sha256(url.encode()).hexdigest()[:16]}-{url.rsplit('/', 1)[-1]}")
            with FileLock(f"{path}.lock"):  # loads running at once fetch a file once
                if os.path.exists(path) and (config.force_download or _begins_like_html(path)):
                    if not config.force_download:
                        logger.warning(f"{url}: the cached copy is an HTML page, not the file: fetching it again")
                    os.remove(path)
                if not os.path.exists(path):
                    if offline:
                        raise _offline_error(url)
                    try:
                        fetch(url, path, headers=self._fetch_headers)
                    except Exception as err:
                        error = self._network_error(url, err)
                        raise error or ConnectionError(f"{url}: download failed: {err}") from err
            files[key] = path
        return files

    def _hint(self, kind: Failure) -> str:
        """What to do about a kind of failed transfer: the dataset's ``HINTS``, else a general word."""
        return self.HINTS.get(kind) or DEFAULT_HINTS[kind]

    def _network_error(self, url: str, err: BaseException):
        """A one-line error for a failed transfer, naming the URL, what happened, how many requests were made, and
        what to do; None for an error that is no failed transfer."""
        kind, detail = failure(err)
        if not kind:
            return None
        attempts = next((link.attempts for link in _causes(err) if isinstance(link, TransferError)), 1)
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        message = f"{url}: {kind} ({detail}){tried}; {self._hint(kind)}"
        return FileNotFoundError(message) if kind == Failure.NOT_FOUND else ConnectionError(message)


# --- Hub downloads (Align-Anything): one commit per load, each file checked against a hash its server publishes. ---


class HubInstructionBuilder(InstructionBuilder):
    """A builder whose files are in a Hub dataset repo (``config.hub_repo`` at ``config.hub_revision``).

    Every file of a load comes from the one commit the revision names when the load starts, and is checked against
    the hash its server publishes for it. ``info.download_checksums`` records each file by its ``resolve`` URL at
    that commit: ``{"num_bytes", "checksum", "repo", "commit", "path", "verification_mode"}``, ``checksum`` being the
    checked SHA-256 (None: not checked) and ``verification_mode`` the load's ("no_checks" for a stream, which checks
    no hash). Files read over the network in byte ranges have each range checked. A prepared dataset is served only
    to a load that would have trusted how it was checked (``download_and_prepare``).

    Attributes:
        SPLIT_FILES: split name -> path of its file in the repo (and in a local ``data_dir``).
        check_ranges: probe the server before reading a file over the network in byte ranges, and check that each
            ranged read brings exactly the bytes asked for (the benchmark turns it off to measure what it costs).
        range_probe_bytes: how many bytes the probe asks for.
        hash_chunk_bytes: how much of a downloaded file is read and hashed at a time.
    """

    SPLIT_FILES = {}
    HINTS = {
        Failure.NOT_FOUND: "check the repo, the revision (hub_revision=) and the file name, or the mirror "
        "address (HF_ENDPOINT)",
        Failure.CANNOT_CONNECT: "check the network and the address (HF_ENDPOINT), or pass data_dir= with a local "
        "copy of the files",
        Failure.SERVER_ERROR: "the server is down or busy: try again later, use a mirror (HF_ENDPOINT), or pass "
        "data_dir= with a local copy of the files",
        Failure.ACCESS_DENIED: "check that you may read the repo (HF_TOKEN, hf auth login) and the address "
        "(HF_ENDPOINT)",
    }
    check_ranges = True
    range_probe_bytes = 16
    hash_chunk_bytes = 2**20

    def download_and_prepare(self, *args, **kwargs):
        """``datasets``' own, except that a dataset prepared from files this load would have checked, and its
        preparing load did not (``verification_mode="no_checks"``), is prepared again: the downloads are checked
        then (a file altered in the cache fails and is evicted), and the dataset written anew."""
        mode = _mode(kwargs.get("verification_mode"))
        reuse = str(
            getattr(kwargs.get("download_mode"), "value", kwargs.get("download_mode") or "reuse_dataset_if_exists")
        )
        record = self.info.download_checksums or {}  # the prepared dataset's, when there is one
        untrusted = [
            url
            for url, entry in record.items()
            if isinstance(entry, dict)
            and "repo" in entry
            and entry.get("checksum") is None
            and entry.get("verification_mode") != mode
        ]
        if untrusted and mode != "no_checks" and reuse == "reuse_dataset_if_exists":
            logger.warning(
                f"{untrusted[0]}: the prepared dataset in the cache was made without checking this file's hash "
                f"(verification_mode={record[untrusted[0]].get('verification_mode')!r}): preparing it again, checked"
            )
            kwargs["download_mode"] = datasets.DownloadMode.REUSE_CACHE_IF_EXISTS
        return super().download_and_prepare(*args, **kwargs)

    def _download_and_prepare(self, dl_manager, verification_mode, **prepare_split_kwargs):
        # How datasets (3.x to 5.x) tells a builder its verification_mode: which hashes are checked follows it.
        self._verification_mode = verification_mode
        if self.info.download_checksums:  # a record read back from the cache: compared as datasets records downloads
            self.info.download_checksums = {
                url: {key: entry.get(key) for key in ("num_bytes", "checksum")} if isinstance(entry, dict) else entry
                for url, entry in self.info.download_checksums.items()
            }
        super()._download_and_prepare(dl_manager, verification_mode, **prepare_split_kwargs)

    def _save_info(self):
        # Which commit and which bytes a prepared dataset holds. datasets 3.x sets download_checksums to its own
        # record (empty unless verification_mode="all_checks") just before saving: put ours back.
        checksums = getattr(self, "_hub_checksums", None)
        if checksums is not None:
            self.info.download_checksums = checksums
        super()._save_info()

    def _hub_split_files(self, dl_manager) -> tuple:
        """(files, origins) per split from the Hub, recording what was read as ``info.download_checksums`` says.

        A stream with ``config.verify_stream`` gives only checked rows: its files are first downloaded whole into the
        Hub cache, as a plain load does, and checked as ``verification_mode="all_checks"`` checks (a file with no
        published hash is refused); the rows are then streamed from those checked copies.
        """
        NetworkSettings.from_environment()  # a setting that is no number fails here, in its own words
        streaming = isinstance(dl_manager, datasets.StreamingDownloadManager)
        mode = getattr(self, "_verification_mode", None)
        if streaming and getattr(self.config, "verify_stream", False):
            dl_manager = datasets.DownloadManager(
                dataset_name=self.dataset_name, download_config=dl_manager.download_config
            )
            mode = "all_checks"
        files, origins, checksums = self._hub_files(dl_manager, self.config.hub_repo, self.config.hub_revision, mode)
        self._hub_checksums = checksums
        if streaming:
            self.info.download_checksums = checksums  # nothing is saved in streaming: the info is the record
        return files, origins

    def _hub_files(self, dl_manager, repo: str, revision: str, verification_mode=None) -> tuple:
        """Downloads every split of ``repo`` from the commit ``revision`` names now, checking each file's hash.

        Returns (files, origins, checksums): paths to read and URLs to name per split, and
        ``{url: {"num_bytes", "checksum", "repo", "commit", "path"}}`` with the commit in each URL, as
        ``DatasetInfo.download_checksums`` records downloads, naming each file's repo, commit and path;
        ``checksum`` is the checked file's SHA-256, or None where nothing was checked (streaming,
        ``verification_mode="no_checks"``, or a file whose server publishes no hash). Offline, nothing is asked of
        the network: the commit and the hashes come from the Hub cache.
        """
        streaming = isinstance(dl_manager, datasets.StreamingDownloadManager)
        mode = _mode(verification_mode)
        if getattr(datasets.config, "HF_HUB_OFFLINE", False):
            if streaming:  # _download says why streaming cannot work offline
                self._download(
                    dl_manager, {"": hf_hub_url(repo, self.SPLIT_FILES[datasets.Split.TRAIN], repo_type="dataset")}
                )
            return self._cached_hub_files(repo, revision, mode)
        hashing = not streaming and mode != "no_checks"
        commit, published, endpoint = self._resolve_commit(dl_manager, repo, revision, hashing)
        # hf_hub_url honours HF_ENDPOINT, so mirrors work; every split comes from the same commit.
        origins = {
            split: hf_hub_url(repo, path, repo_type="dataset", revision=commit)
            for split, path in self.SPLIT_FILES.items()
        }
        for split, path in self.SPLIT_FILES.items():
            if path not in published:
                raise FileNotFoundError(f"{origins[split]}: not in {repo} at commit {commit} (revision {revision!r})")
        files = self._download(dl_manager, origins)
        checksums, checked = {}, []
        for split, path in self.SPLIT_FILES.items():
            size, sha256, blob_sha1, source = published[path]
            if not hashing:
                size = size if streaming else os.path.getsize(files[split])
                checksums[origins[split]] = {"num_bytes": size, "checksum": None}
                continue
            unpublished = (
                f"{endpoint} publishes no hash for this file (none in the revision API's file metadata, its paths-info "
                "or its resolve headers)"
            )
            checksums[origins[split]] = self._verified(
                files[split], origins[split], sha256, blob_sha1, mode, unpublished
            )
            kind = "SHA-256" if sha256 else "git blob SHA-1" if blob_sha1 else "nothing"
            checked.append(f"{path} by {kind}" + (f" from {source}" if source else ""))
        if not streaming:
            self._remember_commit(files, revision, commit)
        if not hashing:
            why = "streamed" if streaming else "verification_mode='no_checks'"
            logger.info(f"{repo}: revision {revision!r} is commit {commit}; {why}, so no hash is checked")
        else:
            logger.info(f"{repo}: revision {revision!r} is commit {commit}; checked {', '.join(checked)}")
        for split, path in self.SPLIT_FILES.items():
            checksums[origins[split]].update(
                repo=repo, commit=commit, path=path, verification_mode="no_checks" if streaming else mode
            )
        return files, origins, checksums

    def _resolve_commit(self, dl_manager, repo: str, revision: str, hashes: bool = True) -> tuple:
        """The commit ``revision`` names, {path: (size, sha256, git blob SHA-1, where the hash came from)} of its files,
        and the endpoint asked.

        The revision API is asked first, with file metadata; where that gives no hash for a split's file (olah and
        other mirrors send bare names), ``paths-info``, then the file's ``resolve`` headers. ``hashes=False`` (nothing
        will be checked) asks only the first.
        """
        where = f"{repo} at revision {revision!r}"
        # HfApi's endpoint is HF_ENDPOINT, as in hf_hub_url; the token is the one datasets downloads with.
        api = HfApi(token=getattr(dl_manager.download_config, "token", None))
        url = f"{api.endpoint}/api/datasets/{repo}/revision/{revision}"  # what errors name
        try:
            with network_policy():
                info = api.dataset_info(repo, revision=revision, files_metadata=True)
        except Exception as err:
            if http_status(err) == 404 or isinstance(err, (RepositoryNotFoundError, RevisionNotFoundError)):
                # One line, without the client's pointer to HTTP docs.
                said = " ".join(line.strip() for line in str(err).splitlines() if not line.startswith("For more"))
                raise FileNotFoundError(
                    f"{where}: not found on {api.endpoint} (check hub_repo and hub_revision, or HF_ENDPOINT): {said}"
                ) from err
            if any(isinstance(link, json.JSONDecodeError) for link in _causes(err)):
                raise ConnectionError(
                    f"{url}: wrong answer (not the JSON a Hub sends, but {_answer_start(err)}); "
                    f"{DEFAULT_HINTS[Failure.WRONG_ANSWER]}"
                ) from err
            error = self._network_error(url, err)
            raise error or ConnectionError(f"{where}: resolving the revision to a commit failed: {err}") from err
        published = {}
        for sibling in info.siblings or []:
            published[sibling.rfilename] = _published(sibling.size, sibling.lfs, sibling.blob_id, "the revision API")
        wanted = [path for path in self.SPLIT_FILES.values() if path in published]
        unhashed = [path for path in wanted if hashes and published[path][1:3] == (None, None)]
        if unhashed:
            published.update(self._paths_info(api, repo, info.sha, unhashed))
        for path in wanted:
            if hashes and published[path][1:3] == (None, None):
                published[path] = self._resolve_headers(api, repo, info.sha, path, published[path])
        return info.sha, published, api.endpoint

    def _paths_info(self, api, repo: str, commit: str, paths: list) -> dict:
        """{path: published} from ``POST paths-info`` (what the tree API gives); {} where the server does not answer it.

        A failure only means this server does not offer it (the resolve headers are asked next, and fail in one line
        if the server is unreachable).
        """
        url = f"{api.endpoint}/api/datasets/{repo}/paths-info/{commit}"
        try:
            with network_policy():
                entries = api.get_paths_info(repo, paths, revision=commit, repo_type="dataset")
        except Exception as err:
            logger.info(f"{url}: no file hashes from paths-info ({failure(err)[1] or err}); asking resolve")
            return {}
        answer = {}
        for entry in entries:
            if entry.path in paths and hasattr(entry, "blob_id"):  # a RepoFile, not a RepoFolder
                answer[entry.path] = _published(entry.size, entry.lfs, entry.blob_id, "paths-info")
        return answer

    def _resolve_headers(self, api, repo: str, commit: str, path: str, known: tuple) -> tuple:
        """published of one file from its ``resolve`` headers (``X-Linked-Etag`` or ``ETag``, ``X-Linked-Size``).

        An ETag of 64 hex digits is a SHA-256 (LFS files), one of 40 a git blob SHA-1; anything else is no hash.
        """
        url = hf_hub_url(repo, path, repo_type="dataset", revision=commit)
        try:
            with network_policy():
                metadata = get_hf_file_metadata(url, token=api.token)
        except Exception as err:
            error = self._network_error(url, err)
            raise error or ConnectionError(f"{url}: asking for the file's hash failed: {err}") from err
        sha256, blob_sha1 = _hash_kind(metadata.etag)
        source = "the resolve headers" if (sha256 or blob_sha1) else None
        return metadata.size if metadata.size is not None else known[0], sha256, blob_sha1, source

    def _verified(
        self, filepath: str, origin: str, sha256, blob_sha1, mode: str = "basic_checks", unpublished: str = ""
    ) -> dict:
        """Size and SHA-256 of a downloaded file, after checking it against the hash its server publishes.

        LFS files (the upstream ones) are checked by SHA-256, others by git blob SHA-1. On a mismatch the file
        is removed from the cache, so that the next load fetches it anew. A file with no published hash
        (``unpublished`` says why) follows ``mode``: ``all_checks`` refuses it, the default loads it unchecked
        (checksum None) with a warning.
        """
        size = os.path.getsize(filepath)
        if sha256 is None and blob_sha1 is None:
            if mode == "all_checks":
                raise self.IntegrityError(
                    f"{origin}: {unpublished}, so verification_mode='all_checks' cannot check it: point HF_ENDPOINT at "
                    "a server that publishes hashes (the Hub does), or load without verification_mode='all_checks' to "
                    "read it unchecked"
                )
            logger.warning(
                f"{origin}: {unpublished}: loaded unchecked, and recorded as not checked; to check it, point "
                "HF_ENDPOINT at a server that publishes hashes (the Hub does); verification_mode='all_checks' "
                "refuses it"
            )
            return {"num_bytes": size, "checksum": None}
        digest, blob = hashlib.sha256(), blob_hasher(size)
        with open(filepath, "rb") as f:
            for chunk in iter(lambda: f.read(self.hash_chunk_bytes), b""):
                digest.update(chunk)
                if blob_sha1 is not None:
                    blob.update(chunk)
        if sha256 is not None and digest.hexdigest() != sha256:
            expected, got = f"SHA-256 expected {sha256}", digest.hexdigest()
        elif sha256 is None and blob.hexdigest() != blob_sha1:
            expected, got = f"git blob SHA-1 expected {blob_sha1}", blob.hexdigest()
        else:
            return {"num_bytes": size, "checksum": digest.hexdigest()}
        for stale in {filepath, os.path.realpath(filepath)}:  # the cache's link and the blob it points to
            if os.path.lexists(stale):
                os.remove(stale)
        raise self.IntegrityError(
            f"{origin}: content differs from the hash published for this file ({expected}, got {got}, {size} bytes). "
            "The download was removed from the cache: load again to fetch it anew."
        )

    def _cached_hub_files(self, repo: str, revision: str, mode: str = "basic_checks") -> tuple:
        """Offline: the files of the commit ``revision`` last resolved to, from the Hub cache, checked there.

        The cache names each blob by the hash the download was filed under: the SHA-256 of an LFS file, the git
        blob SHA-1 of another; each file is checked against that name, as a download is checked online. A blob
        named by no hash follows ``mode`` as a download with no published hash does.
        """
        files, origins, checksums, commits = {}, {}, {}, set()
        for split, path in self.SPLIT_FILES.items():
            cached = try_to_load_from_cache(repo, path, revision=revision, repo_type="dataset")
            if not isinstance(cached, str):
                raise ConnectionError(
                    f"{hf_hub_url(repo, path, repo_type='dataset', revision=revision)}: not in the cache, and offline "
                    "mode (HF_DATASETS_OFFLINE / HF_HUB_OFFLINE) forbids downloading it: run once with the network to "
                    "fill the cache, or pass data_dir= with a local copy of the files"
                )
            commit = os.path.normpath(cached).split(os.sep)[-len(path.split("/")) - 1]
            commits.add(commit)
            origins[split] = hf_hub_url(repo, path, repo_type="dataset", revision=commit)
            if mode == "no_checks":
                checksums[origins[split]] = {"num_bytes": os.path.getsize(cached), "checksum": None}
            else:
                blob = os.path.basename(os.path.realpath(cached))
                sha256, blob_sha1 = _hash_kind(blob)
                unpublished = f"the Hub cache files this file under {blob!r}, which is no hash"
                checksums[origins[split]] = self._verified(cached, origins[split], sha256, blob_sha1, mode, unpublished)
            checksums[origins[split]].update(repo=repo, commit=commit, path=path, verification_mode=mode)
            files[split] = cached
        if len(commits) > 1:  # cannot happen through one ref; a hand-edited cache could do it
            raise self.IntegrityError(f"{repo}: the cached splits come from different commits: {sorted(commits)}")
        return files, origins, checksums

    def _remember_commit(self, files: dict, revision: str, commit: str) -> None:
        """Records in the Hub cache which commit ``revision`` resolved to, as ``hf_hub_download`` does for a branch.

        Offline loads read it back (``try_to_load_from_cache``). Downloads by commit do not write it themselves.
        """
        if revision == commit:
            return
        for split, path in self.SPLIT_FILES.items():
            parts = os.path.normpath(files[split]).split(os.sep)
            depth = len(path.split("/"))
            if len(parts) < depth + 3 or parts[-depth - 2 :][:2] != ["snapshots", commit]:
                return  # not the Hub cache layout (a datasets that stores downloads elsewhere): nothing to record
        repo_cache = os.sep.join(parts[: -depth - 2])
        ref = os.path.join(repo_cache, "refs", *revision.split("/"))
        os.makedirs(os.path.dirname(ref), exist_ok=True)
        partial = f"{ref}.{os.getpid()}.tmp"  # loads running at once each write their own, then swap it in whole
        with open(partial, "w", encoding="utf-8") as f:
            f.write(commit)
        os.replace(partial, ref)

    def _range_problem(self, url: str, size: int, start: int, token: Optional[Union[bool, str]] = None) -> str:
        """Asks ``url`` for a few bytes from ``start`` on: "" if the server answers with exactly those bytes' range,
        else what it did instead (ignored the Range header, answered fewer or more bytes, or another range).

        The readers of ``huggingface_hub`` and fsspec take whatever a ranged request returns as the bytes asked for,
        so a server that ignores ``Range`` (some mirrors do) would hand every shard the file's first bytes. ``token``
        is the download's (None: ``HF_TOKEN`` or the saved login, as `huggingface_hub` finds it).
        """
        end = min(start + self.range_probe_bytes, size) - 1
        headers = {"Range": f"bytes={start}-{end}", "Accept-Encoding": "identity"}
        if url.startswith(hf_constants.ENDPOINT + "/"):  # the token goes to the Hub (or HF_ENDPOINT) only
            headers.update(build_hf_headers(token=token))
        try:
            with network_policy(), get_session().stream("GET", url, headers=headers) as answer:
                status, content_range = answer.status_code, answer.headers.get("Content-Range")
                body = b""  # one byte more than asked shows a longer answer; no more is read
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) > end - start + 1:
                        break
        except Exception as err:
            error = self._network_error(url, err)
            raise error or ConnectionError(f"{url}: asking for bytes {start}-{end} failed: {err}") from err
        asked = f"bytes {start}-{end}/{size}"
        if status >= 400:
            raise ConnectionError(f"{url}: HTTP {status} when asked for bytes {start}-{end}; try again later")
        if status != 206:
            return f"asked for {asked}, it answered HTTP {status} with the whole file"
        if content_range != asked:
            return f"asked for {asked}, it answered Content-Range {content_range!r}"
        if len(body) != end - start + 1:
            more = "more" if len(body) > end - start + 1 else "fewer"
            return f"asked for {asked}, it sent {more} bytes than that ({len(body)}{'+' if more == 'more' else ''})"
        return ""

    @classmethod
    def _check_ranges(cls, f, origin: str) -> None:
        """Makes every ranged read of ``f`` (a file opened over the network) give exactly the bytes asked for, or fail.

        The probe of ``_range_problem`` checks one request; a server may still answer a later one otherwise (ignore
        ``Range``, or send fewer or more bytes). huggingface_hub's ``HfFileSystemFile._fetch_range`` returns whatever
        came and fsspec's cache in front of it takes that as the bytes asked for: rows would be read twice or from the
        wrong place. So the fetcher of the file's cache (``_fetch_range``) is wrapped in one that counts the bytes of
        each answer: a request for [start, end) must bring min(end, size) - start bytes. A cache whose every fetch goes
        through its ``fetcher`` keeps its kind (huggingface_hub's files read ahead, fsspec's HTTP files cache bytes);
        any other is replaced by fsspec's read-ahead cache.
        """
        f = f.inner if isinstance(f, PolicedFile) else f
        fetch, size = getattr(f, "_fetch_range", None), getattr(f, "size", None)
        if not callable(fetch) or not isinstance(size, int) or not hasattr(f, "cache"):
            raise cls.IntegrityError(
                f"{origin}: the byte ranges read from this file cannot be checked ({type(f).__name__} is not an fsspec "
                "buffered file); load without streaming, or pass data_dir= with a local copy"
            )

        def checked(start: int, end: int) -> bytes:
            data = fetch(start, end)
            expected = max(0, min(end, size) - start)
            if len(data) != expected:
                raise cls.IntegrityError(_range_mismatch(origin, start, expected, size, len(data)))
            return data

        if getattr(f.cache, "name", None) in _FETCHER_CACHES and getattr(f.cache, "fetcher", None) == fetch:
            f.cache.fetcher = checked
        else:
            f.cache = fsspec.caching.ReadAheadCache(f.blocksize, checked, size)


_HEX = frozenset("0123456789abcdef")


def _hash_kind(value) -> tuple:
    """(sha256, git blob SHA-1) from a published hash or a cache blob's name: 64 hex is one, 40 hex the other."""
    value = value.lower() if isinstance(value, str) else ""
    if not set(value) <= _HEX:
        return None, None
    return (value, None) if len(value) == 64 else (None, value) if len(value) == 40 else (None, None)


def _mode(verification_mode) -> str:
    """datasets' verification_mode by name; a builder not given one (streaming) has the default, basic_checks."""
    return str(getattr(verification_mode, "value", verification_mode) or "basic_checks")


def _published(size, lfs, blob_id, source: str) -> tuple:
    """(size, sha256, git blob SHA-1, source) from a file entry: LFS files have a SHA-256, others a blob id."""
    sha256 = (lfs.get("sha256") if isinstance(lfs, dict) else getattr(lfs, "sha256", None)) if lfs else None
    blob_sha1 = None if lfs else blob_id
    return size, _hash_kind(sha256)[0], _hash_kind(blob_sha1)[1], source if (sha256 or blob_sha1) else None


# fsspec's caches that fetch only through their ``fetcher`` attribute, read when they fetch.
_FETCHER_CACHES = {"none", "readahead", "bytes", "blockcache", "first"}


def _range_mismatch(origin: str, start: int, expected: int, size: int, sent: int) -> str:
    """One line: which bytes were asked for, how many came, what the server did, and what to do."""
    if sent == size:
        did = "it ignores Range"
    else:
        did = f"it sent {'fewer' if sent < expected else 'more'} bytes than asked"
    return (
        f"{origin}: asked for bytes {start}-{start + expected - 1} of {size}, the server sent {sent} bytes: {did}; "
        "load without streaming, or pass data_dir= with a local copy"
    )


#: What each short read asks for while ``to_newline`` looks for the end of a line.
LINE_STEP = 2**16


def to_newline(f) -> tuple:
    """(the bytes of ``f`` up to and including the next newline, what the last read brought after it), by short
    reads; at the end of the file, (what was left, b"")."""
    pieces = []
    while True:
        data = f.read(LINE_STEP)
        newline = data.find(b"\n")
        if newline >= 0:
            pieces.append(data[: newline + 1])
            return b"".join(pieces), data[newline + 1 :]
        if not data:
            return b"".join(pieces), b""
        pieces.append(data)


class CountedStream:
    """A file read whole in one stream, counting the bytes that arrive (``chunk_bytes`` at a time when counting on).

    If the connection breaks, huggingface_hub and fsspec resume with ``Range: bytes=<where they were>-``; a server
    that ignores Range then sends the file from its first byte again, behind what had arrived. More bytes than the
    file has is how that shows.
    """

    def __init__(self, f, chunk_bytes: int):
        self._f, self._chunk_bytes, self.received = f, chunk_bytes, 0

    def read(self, size=-1):
        data = self._f.read(size)
        self.received += len(data)
        return data

    def readline(self):
        data = self._f.readline()
        self.received += len(data)
        return data

    def restarted(self, size: int) -> bool:
        """Whether more than ``size`` bytes came (what is left of the stream is read to count it)."""
        while self.received <= size and self.read(self._chunk_bytes):
            pass
        return self.received > size

    def restart_problem(self, origin: str, size: int) -> str:
        return (
            f"{origin}: the server sent more than the {size} bytes the file has ({self.received}): a transfer "
            "resumed after a broken connection started the file again (the server ignores Range); load again, or "
            "pass data_dir= with a local copy"
        )


# --- Readers: the rows of a file format, given the keys a dataset declares and its row rule. ---


def _key_list(keys) -> str:
    """``'a', 'b' and 'c'``: keys as error messages name them."""
    quoted = [repr(key) for key in keys]
    return " and ".join(quoted) if len(quoted) < 3 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


@dataclasses.dataclass
class HubConfig(datasets.BuilderConfig):
    """A config of a dataset whose files are in a Hub dataset repo.

    Attributes:
        hub_repo: Hub dataset repository that holds the files (``SPLIT_FILES``).
        hub_revision: branch, tag or commit of ``hub_repo`` to read; a load resolves it to one commit and reads
            every split from that commit (the prepared dataset's ``info.download_checksums`` names it).
        language: BCP-47 code of the rows' text (cards list it; none means English).
        shard_bytes: files are read as byte ranges of this size, one shard each, so that ``num_proc`` and
            ``datasets.distributed.split_dataset_by_node`` give each worker a disjoint part. In streaming, a file
            whose server does not answer byte ranges exactly is one shard (with a warning).
        verify_stream: in streaming, give only checked rows: each file is first downloaded whole into the Hub cache
            and checked against its published SHA-256 (refused if none is published), then streamed from there. It
            costs the whole download before the first row, and the files' size on disk.
    """

    hub_repo: str = ""
    hub_revision: str = "main"
    language: str = ""
    shard_bytes: int = 64 * 2**20
    verify_stream: bool = False


class HubJsonLinesBuilder(HubInstructionBuilder):
    """Rows of JSON Lines files in a Hub repo (or a local ``data_dir`` copy of its layout): one JSON object per
    line, with a string under each of ``KEYS``.

    Files are read in byte ranges (``shard_bytes``, one shard each), a block of whole lines at a time: pyarrow parses
    a block while the one before is written, and anything it cannot vouch for (bad UTF-8, a missing key, a value that
    is no string, a line that is no object) is read again line by line, so that the error names the file and the line.
    Blank lines are skipped and keys not in ``KEYS`` are ignored; both are counted in a warning.

    Attributes:
        KEYS: the keys every line must hold, each with a string.
        block_bytes: how much of a file is read and handed to the parser at a time (a block ends with the line
            that holds its last byte, so a line longer than a block makes the block longer).
        parse_block_bytes: how much of a block pyarrow parses per task, so that it uses every core (a line longer
            than that is parsed in one task).
    The sizes are reading knobs, not part of the data: every value gives the same rows (the tests shrink them).
    A subclass's row rule is ``columns``: by default, each key is the column of that name.
    """

    BUILDER_CONFIG_CLASS = HubConfig
    KEYS = ()
    block_bytes = 10 * 2**20  # as datasets' JSON builder does
    parse_block_bytes = 2**20

    def columns(self, values: dict) -> dict:
        """The row rule: the dataset's columns (string arrays, by name) from the values of ``KEYS`` (the same)."""
        return values

    def _expected(self) -> str:
        return f"expected JSON Lines, one object per line with string keys {_key_list(self.KEYS)}"

    def _split_generators(self, dl_manager):
        if self.config.data_dir:
            # A local copy of the upstream layout: read in place, no network.
            paths = list(self.SPLIT_FILES.values())
            local = self._local_files(paths, f"the upstream layout ({', '.join(paths)})")
            files = origins = dict(zip(self.SPLIT_FILES, local))
        else:
            files, origins = self._hub_split_files(dl_manager)  # one commit, each file's hash checked
        token = getattr(dl_manager.download_config, "token", None)  # load_dataset(..., token=...) on 3.x
        return [
            datasets.SplitGenerator(name=split, gen_kwargs=self._byte_ranges(files[split], origins[split], token))
            for split in self.SPLIT_FILES
        ]

    def _byte_ranges(self, filepath: str, origin: str, token: Optional[Union[bool, str]] = None) -> dict:
        """Shards of one file: byte ranges of ``shard_bytes``; lists in gen_kwargs are what datasets shards.

        A file read over the network is split only where the server answers a byte range with exactly that range
        (``_range_problem``, asked with ``token`` as the download is); otherwise it is one shard, read from its
        first byte to its last with one request.
        """
        size = self._file_size(filepath, origin)  # in streaming, the size the server announces
        if size == 0:  # every upstream split has rows: an empty file is a broken copy, not an empty split
            raise self.FormatError(f"{origin}: the file is empty; {self._expected()}")
        step = max(1, self.config.shard_bytes)
        if "://" in str(filepath) and size > step and self.check_ranges:
            problem = self._range_problem(origin, size, min(step, size - 1), token)
            if problem:
                logger.warning(
                    f"{origin}: the server does not answer byte ranges as asked ({problem}), so the file is read "
                    f"whole, as one shard instead of {-(-size // step)} (num_proc cannot split it; each rank of "
                    "split_dataset_by_node reads all of it and keeps its share of the rows)"
                )
                step = size
        starts = list(range(0, max(size, 1), step))
        return {
            "filepath": [filepath] * len(starts),
            "origin": [origin] * len(starts),
            "start": starts,
            "end": [min(start + step, size) for start in starts],
            "whole": [len(starts) == 1] * len(starts),  # the only range: read from the first byte to the last
        }

    def _generate_tables(self, filepath, origin, start, end, whole):
        """Yields Arrow tables of each byte range (datasets hands a worker its share of the lists)."""
        for ranged in zip(filepath, origin, start, end, whole):
            yield from self._range_tables(*ranged)

    def _lines_table(self, values: dict) -> pa.Table:
        """The table of a block's rows from each key's values (arrays or chunked arrays): the row rule's columns."""
        whole = {key: pa.chunked_array(_chunks(column)).combine_chunks() for key, column in values.items()}
        return self.table_of(self.columns(whole))

    def _range_tables(self, filepath, origin, start, end, whole=False):
        """Yields Arrow tables of the lines that start in bytes [start, end) of one JSON Lines file.

        A line belongs to the range its first byte lies in, so each line is read once whatever the ranges.
        ``filepath`` is what is read (perhaps a cached download); ``origin`` is what errors name.
        """
        report = {"blank_lines": 0, "ignored_keys": {}}
        reached = [start]  # where reading stopped: short of ``end`` means the file ended early
        # A whole file over the network is read as one stream, with no Range header (in streaming ``open`` is
        # datasets' xopen, which passes ``block_size`` to fsspec): no server can get a range wrong then.
        stream = {"block_size": 0} if whole and "://" in str(filepath) else {}
        keys, schema = tuple(self.KEYS), pa.schema([(key, pa.string()) for key in self.KEYS])

        def parse(block):
            return _fast_table(block, self.parse_block_bytes, schema, self._lines_table)

        with self._reading(origin), self._open(filepath, **stream) as f:
            if "://" in str(filepath) and not stream and self.check_ranges:
                self._check_ranges(f, origin)  # the probe vouched for one range only: every fetch is checked
            source = CountedStream(f, self.block_bytes) if stream else f
            try:
                blocks = _blocks(source, start, end, reached, self.block_bytes)
                lines = 0  # lines of the range in the blocks before this one (what errors count from)
                for block_start, block, parsed in _parsed_ahead(blocks, parse):
                    if parsed is None:  # something pyarrow cannot vouch for: the line-by-line reader decides
                        # Lines before the range are counted only now, and only if it starts later in the file.
                        first_line = lines + (self._line_number(filepath, start - 1) + 1 if start else 1)
                        block = bytes(block)
                        values = _checked_values(block, report, origin, first_line, keys, self)
                        table = self._lines_table(values)
                        lines += block.count(b"\n")
                    else:
                        table, blank, ignored, block_lines = parsed
                        lines += block_lines
                        report["blank_lines"] += blank
                        for key, n in ignored.items():
                            report["ignored_keys"][key] = report["ignored_keys"].get(key, 0) + n
                    yield f"{start}:{block_start}", table
            except self.FormatError:
                if stream and source.restarted(end):  # the bad line is where the file started again
                    raise self.IntegrityError(source.restart_problem(origin, end)) from None
                raise
            if stream and source.restarted(end):
                raise self.IntegrityError(source.restart_problem(origin, end))
        if reached[0] < end:  # what arrived: a whole stream counts its bytes; a range reads from its start
            arrived = source.received if stream else reached[0] - start
            raise self.IntegrityError(
                f"{origin}: the transfer was cut short: {arrived} of the {end - start} bytes asked for arrived"
            )
        where = origin if (start, end) == (0, os.path.getsize(filepath)) else f"{origin} (bytes {start}-{end})"
        if report["ignored_keys"]:
            counts = ", ".join(f"{key!r} ({n} rows)" for key, n in sorted(report["ignored_keys"].items()))
            logger.warning(f"{where}: ignored keys that the schema does not declare: {counts}")
        if report["blank_lines"]:
            logger.warning(f"{where}: skipped {report['blank_lines']} blank line(s)")

    def _line_number(self, filepath: str, offset: int) -> int:
        """The 1-based number of the line that starts at byte ``offset`` (counted only when a check needs it)."""
        newlines = 0
        with self._open(filepath) as f:
            if "://" in str(filepath) and self.check_ranges:
                self._check_ranges(f, filepath)
            while offset > 0:
                chunk = f.read(min(offset, self.block_bytes))
                if not chunk:
                    break
                newlines += chunk.count(b"\n")
                offset -= len(chunk)
        return newlines + 1


_BOM = b"\xef\xbb\xbf"


def _blocks(f, start: int, end: int, reached: list, block_bytes: int):
    """Yields (offset, block): whole lines, about ``block_bytes`` at a time, of the lines that start in [start, end).

    A local file is mapped into memory, so blocks are views of the page cache, not copies; a file without a
    descriptor (streaming over the network) is read instead (``_read_blocks``). ``reached[0]`` ends at the byte
    reading stopped at.
    """
    try:
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, AttributeError):  # no descriptor, or an empty file (which cannot be mapped)
        data = None
    if data is None:
        yield from _read_blocks(f, start, end, reached, block_bytes)
        return
    size, view = len(data), memoryview(data)
    pos = start
    if start > 0:  # skip the rest of a line that began in the range before
        newline = data.find(b"\n", start - 1)
        pos = size if newline < 0 else newline + 1
    previous, released = None, 0
    while pos < min(end, size):
        # The block ends with the line that holds its last byte, or earlier at the range's end.
        newline = data.find(b"\n", min(pos + block_bytes, end) - 1)
        block_start, pos = pos, size if newline < 0 else newline + 1
        skip = len(_BOM) if block_start == 0 and data[: len(_BOM)] == _BOM else 0
        yield block_start, view[block_start + skip : pos]
        # Blocks before the previous one are done with (it may still be parsing): drop their pages from this
        # process (they stay in the page cache), so memory does not grow with the range. Only a hint.
        if previous is not None and hasattr(data, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
            done = previous - previous % mmap.PAGESIZE
            if done > released:
                data.madvise(mmap.MADV_DONTNEED, released, done - released)
                released = done
        previous = block_start
    reached[0] = pos


def _read_blocks(f, start: int, end: int, reached: list, block_bytes: int):
    """``_blocks`` for a file that cannot be mapped (read over the network), with ``read`` alone.

    A file streamed whole is forward-only (huggingface_hub's, opened with ``block_size=0``): its ``readline`` reads
    nothing and it cannot seek back. So a block is what one ``read`` brings, completed up to the next newline by
    short reads (``to_newline``); what those brought past the newline starts the next block. ``read`` may return
    fewer bytes than asked; only ``b""`` ends the file.
    """
    pos, carry = 0, b""
    if start > 0:  # a later range of a file that seeks (ranged reads): skip the rest of a line begun before it
        f.seek(start - 1)
        skipped, carry = to_newline(f)
        pos = start - 1 + len(skipped)
    while pos < end:
        data = f.read(max(1, block_bytes - len(carry)))
        if not data and not carry:
            break
        pieces = [carry, data] if carry else [data]
        carry = b""
        if data and not data.endswith(b"\n"):
            rest_of_line, carry = to_newline(f)
            pieces.append(rest_of_line)
        block = pieces[0] if len(pieces) == 1 else b"".join(pieces)  # one copy at most
        # The range's last line is the one that holds byte end - 1: a block that goes past it is cut there.
        cut = len(block) if pos + len(block) <= end else block.find(b"\n", end - pos - 1) + 1 or len(block)
        skip = len(_BOM) if pos == 0 and block.startswith(_BOM) else 0
        yield pos, memoryview(block)[skip:cut]
        pos += cut
    reached[0] = pos


def _parsed_ahead(blocks, parse):
    """Yields (offset, block, ``parse(block)``), parsing the next block in a helper thread meanwhile.

    pyarrow releases the GIL while it parses, so the next block is parsed while the caller writes this one.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as helper:
        pending = []  # at most two blocks: the one handed out and the one being parsed
        for block_start, block in blocks:
            pending.append((block_start, block, helper.submit(parse, block)))
            if len(pending) > 1:
                *handed, parsed = pending.pop(0)
                yield *handed, parsed.result()
        while pending:
            *handed, parsed = pending.pop(0)
            yield *handed, parsed.result()


def _fast_table(block, parse_block_bytes: int, schema: pa.Schema, make_table):
    """Parses a block of whole lines with pyarrow: (``make_table`` of the values of the keys in ``schema``, blank
    lines, ignored keys, lines), or None.

    None means the checked reader must decide: pyarrow neither checks UTF-8 nor insists on one object per
    line, and fills a missing key with null; each of those, and any parse error, returns None. ``block`` is
    bytes or a memoryview and is never copied.
    """
    if not len(block):
        return None
    buffer = pa.py_buffer(block)
    try:  # the block as one Arrow string: Arrow checks its UTF-8 without decoding a copy
        offsets = pa.py_buffer(np.array([0, len(block)], dtype=np.int64))
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, buffer]).validate(full=True)
    except pa.ArrowInvalid:
        return None
    # Parse blocks of a part of the block let pyarrow use every core; a line longer than that needs one for all.
    # Undeclared keys' types are inferred only in a block that has some, and nests none too deep to (``shallow``).
    table, parse_block, behaviour = None, parse_block_bytes, "error"
    while table is None:
        try:
            options = paj.ParseOptions(explicit_schema=schema, unexpected_field_behavior=behaviour)
            table = paj.read_json(pa.BufferReader(buffer), paj.ReadOptions(block_size=parse_block), options)
        except pa.ArrowInvalid as err:
            if "straddling" in str(err) and parse_block <= len(block):
                parse_block = len(block) + 1
            elif "unexpected field" in str(err) and behaviour == "error" and shallow(block):
                behaviour = "infer"
            else:
                return None
    lines, blank = _count_lines(block)
    values = {key: table.column(key) for key in schema.names}
    if table.num_rows != lines - blank or any(column.null_count for column in values.values()):
        return None
    ignored = {}
    for key in table.column_names[len(schema.names) :]:
        column = table.column(key)
        if len(column) - column.null_count:
            ignored[key] = len(column) - column.null_count
    return make_table(values), blank, ignored, lines


def _count_lines(block) -> tuple:
    """Lines in a block (a final newline ends the last line), and how many are blank (only spaces, tabs, CRs)."""
    data = np.frombuffer(block, dtype=np.uint8)
    if len(data) and data[-1] == 0x0A:
        data = data[:-1]  # a view: the block is not copied
    starts = np.concatenate(([0], np.flatnonzero(data == 0x0A) + 1))
    ends = np.append(starts[1:] - 1, len(data))
    # Only a line that is empty or starts with a space, tab or CR can be blank: check just those.
    first = data[np.minimum(starts, max(len(data) - 1, 0))] if len(data) else np.zeros(len(starts), np.uint8)
    candidates = np.flatnonzero((ends == starts) | np.isin(first, (0x20, 0x09, 0x0D)))
    blank = sum(1 for i in candidates if not bytes(data[starts[i] : ends[i]]).strip(b" \t\r"))
    return len(starts), blank


def _checked_values(block: bytes, report: dict, origin: str, first_line: int, keys: tuple, builder) -> dict:
    """Reads a block line by line with the full checks: each key's values; errors name the file and the line."""
    values = {key: [] for key in keys}
    for line_number, raw in enumerate(io.BytesIO(block), start=first_line):
        if not raw.strip(b" \t\r\n"):
            report["blank_lines"] += 1
            continue
        row = _parse_line(raw, origin, line_number, keys, builder.FormatError)
        for key in row.keys() - set(keys):
            report["ignored_keys"][key] = report["ignored_keys"].get(key, 0) + 1
        for key in keys:
            values[key].append(row[key])
    return {key: pa.array(column, pa.string()) for key, column in values.items()}


def _chunks(column) -> list:
    return column.chunks if isinstance(column, pa.ChunkedArray) else [column]


def _parse_line(raw: bytes, origin: str, line_number: int, keys: tuple, error: type) -> dict:
    """Decodes one JSON Lines record and checks that it has a string under each of ``keys``."""
    where = f"{origin}, line {line_number}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(f"{where}: invalid UTF-8 at byte {err.start}") from None
    try:
        row = json.loads(text)
    except json.JSONDecodeError as err:
        if line_number == 1 and text.lstrip("\ufeff \t\r\n").startswith("<"):
            raise error(f"{where}: {HTML_PAGE}, not JSON Lines") from None
        raise error(f"{where}: invalid JSON ({json_problem(err)} at column {err.colno})") from None
    except RecursionError:
        raise error(f"{where}: JSON nested too deeply to parse; expected a flat object") from None
    if not isinstance(row, dict):
        raise error(f"{where}: expected a JSON object with string keys {_key_list(keys)}, got a JSON {json_type(row)}")
    for key in keys:
        if key not in row:
            raise error(f"{where}: key {key!r} is missing (expected a string)")
        if not isinstance(row[key], str):
            raise error(
                f"{where}: key {key!r} must be a string, got a JSON {json_type(row[key])}: {json.dumps(row[key])[:80]}"
            )
    if b"\\ud" in raw or b"\\uD" in raw:  # only \uD800-\uDFFF escapes can make a lone surrogate
        for key in keys:
            if not is_unicode(row[key]):
                raise error(
                    f"{where}: key {key!r} holds a lone UTF-16 surrogate escape, which is not a Unicode character"
                )
    return row


@dataclasses.dataclass
class PinnedFilesConfig(datasets.BuilderConfig):
    """A config of a dataset whose files are pinned to one upstream commit, each to its git blob SHA-1.

    Attributes:
        parts: names of the upstream files to read, in order (keys of the builder's ``PARTS``).
        category: for a dataset whose rows have a category, keep only rows of this one (the row rule applies it);
            ``None`` keeps every row.
        base_url: where the files are downloaded from (a mirror, or a test server); a dataset's config gives the
            upstream address as the default.
        verify_hashes: check each file against its pinned git blob SHA-1; ``None`` means
            "for downloads, not for a local ``data_dir``" (local samples differ from upstream).
    """

    parts: tuple = ()
    category: Optional[str] = None
    base_url: str = ""
    verify_hashes: Optional[bool] = None


# A base_url on GitHub: the repo and the commit it serves (cards name them).
_GITHUB_RAW = re.compile(re.escape("https://github.com/") + r"([^/]+/[^/]+)/raw/([0-9a-f]{40})/?$")


class PinnedJsonArrayBuilder(InstructionBuilder):
    """Rows of files that are each one JSON array, pinned to an upstream commit (``COMMIT``) and checked against
    their git blob SHA-1s before any row is read; each item of an array holds the strings ``ITEM`` names, as a JSON
    array of them in that order or as a JSON object with exactly those keys (``ITEM_FORM``).

    A file is read whole first (a stream is fetched into a temporary file) and hashed; then an incremental reader
    yields its items with flat memory, and anything irregular sends it to a reader of the whole file, whose error
    names the file and the item.

    Attributes:
        COMMIT: the upstream commit whose files are read (the default ``base_url`` serves them).
        PARTS: part name -> (file name, git blob SHA-1 of the file at ``COMMIT``), the hash a download is checked
            against.
        ITEM: the names of an item's strings, in order: the row rule gets an item as a list of them in this order.
        ITEM_FORM: ``"array"`` (each item is a JSON array of its strings, in ``ITEM``'s order) or ``"object"`` (a
            JSON object whose keys are exactly ``ITEM``, each value a string).
        chunk_bytes: how much of a file is read (and hashed) at a time: streaming memory stays flat however large
            the file.
        batch_rows: rows per Arrow table.
    The sizes are reading knobs, not part of the data: every value gives the same rows (the tests shrink them).
    A subclass's row rule is ``row``; ``report`` warns of what the rule counted.
    """

    BUILDER_CONFIG_CLASS = PinnedFilesConfig
    PARTS = {}
    ITEM = ()
    ITEM_FORM = "array"
    chunk_bytes = 2**20
    batch_rows = 10_000
    HINTS = {
        Failure.NOT_FOUND: "check the address (base_url=): it must serve the files of commit {commit}, or pass "
        "data_dir= with a local copy of the files",
        Failure.CANNOT_CONNECT: "check the network and the address (base_url=), or pass data_dir= with a local copy "
        "of the files",
        Failure.SERVER_ERROR: "the server is down or busy: try again later, use a mirror (base_url=), or pass "
        "data_dir= with a local copy of the files",
        Failure.ACCESS_DENIED: "check the address (base_url=), or pass data_dir= with a local copy of the files",
    }

    def row(self, item: list, tally: collections.Counter) -> Optional[tuple]:
        """The row rule: the values of one row, in ``FEATURES``' order (``messages`` aside), from one item; None
        leaves the item out. ``tally`` counts what ``report`` warns of."""
        raise NotImplementedError

    def report(self, files: str, tally: collections.Counter) -> None:
        """Warns of what ``row`` counted in ``tally`` over ``files`` (their names)."""

    def _hint(self, kind: Failure) -> str:
        return super()._hint(kind).replace("{commit}", str(self.COMMIT))

    @classmethod
    def download_origin(cls, config_name: str, **settings) -> Optional[str]:
        """Where a download of ``config_name`` comes from, for a card: the commit on GitHub (or the address given as
        ``base_url``), and each file with the git blob SHA-1 it is checked against."""
        settings = dataclasses.replace(cls.builder_configs[config_name], **settings)
        if not settings.base_url:
            return None
        files = " and ".join(
            f"`{cls.PARTS[part][0]}` (git blob SHA-1 `{cls.PARTS[part][1]}`)" for part in settings.parts
        )
        github = _GITHUB_RAW.match(settings.base_url)
        where = f"GitHub, `{github.group(1)}` at commit `{github.group(2)}`" if github else f"`{settings.base_url}`"
        return f"downloaded from {where}: {files}, each checked against that SHA-1"

    def _split_generators(self, dl_manager):
        names = [self.PARTS[part][0] for part in self.config.parts]
        if self.config.data_dir:
            files = origins = self._local_files(names, ", ".join(names))
            verify = bool(self.config.verify_hashes)
        else:
            origins = [f"{self.config.base_url.rstrip('/')}/{name}" for name in names]
            downloaded = self._fetched(dl_manager, dict(zip(names, origins)))
            files = [downloaded[name] for name in names]
            verify = self.config.verify_hashes is not False
        expected = [self.PARTS[part][1] if verify else None for part in self.config.parts]
        return [
            datasets.SplitGenerator(
                name=datasets.Split.TRAIN,
                # Lists of equal length are shards: one per file.
                gen_kwargs={"filepaths": files, "origins": origins, "blob_sha1s": expected},
            )
        ]

    def _generate_tables(self, filepaths, origins, blob_sha1s):
        """Yields Arrow tables of the rows of every item of every file, in order, as the row rule gives them."""
        tally = collections.Counter()
        names = [name for name in self.FEATURES if name != "messages"]  # messages come from prompt and response
        for filepath, origin, blob_sha1 in zip(filepaths, origins, blob_sha1s):
            rows, first = [], 0
            for index, item in self._checked_items(filepath, origin, blob_sha1):
                row = self.row(item, tally)
                if row is None:
                    continue
                if not rows:
                    first = index
                rows.append(row)
                if len(rows) == self.batch_rows:
                    yield f"{os.path.basename(origin)}:{first}", self.table_of(dict(zip(names, zip(*rows))))
                    rows = []
            if rows:
                yield f"{os.path.basename(origin)}:{first}", self.table_of(dict(zip(names, zip(*rows))))
        self.report(", ".join(os.path.basename(origin) for origin in origins), tally)

    def _checked_items(self, filepath: str, origin: str, blob_sha1):
        """Yields (index, item) of one file, after checking its pinned hash when there is one.

        Nothing is yielded before the whole file is here and checked (a stream is first fetched to a temporary
        file, see ``_whole_file``). The fast path reads incrementally; on anything irregular, the whole file is read
        and ``read_items`` raises the precise error (or, should the file be valid, yields the rest).
        """
        yielded = 0
        with self._reading(origin), self._whole_file(filepath, self.chunk_bytes) as (path, size, blob):
            if blob_sha1 is not None and blob != blob_sha1:
                self._refuse(filepath, origin, size, blob, blob_sha1)

            def chunks():
                decoder = codecs.getincrementaldecoder("utf-8-sig")()
                with open(path, "rb") as f:
                    while True:
                        data = f.read(self.chunk_bytes)
                        try:
                            text = decoder.decode(data, final=not data)
                        except UnicodeDecodeError as err:
                            raise Irregular from err
                        if not data:
                            return
                        yield text

            try:
                for item in iter_items(chunks(), self.ITEM, self.ITEM_FORM):
                    yield yielded, item
                    yielded += 1
            except Irregular:
                with open(path, "rb") as f:
                    content = f.read()
                items = read_items(content, origin, self.ITEM, self.ITEM_FORM, self.FormatError)
                for index, item in enumerate(items):
                    if index >= yielded:
                        yield index, item

    def _refuse(self, filepath: str, origin: str, size: int, blob: str, expected_blob: str) -> None:
        """Fails on a hash that is not the pinned one, removing a bad download from the cache."""
        if filepath != origin and os.path.isfile(filepath):
            # A bad download in the cache: remove it, so that the next run fetches the file anew.
            for stale in (filepath, filepath + ".lock"):
                if os.path.exists(stale):
                    os.remove(stale)
        raise self.IntegrityError(
            f"{origin}: content differs from the pinned upstream file (git blob SHA-1 expected {expected_blob}, got "
            f"{blob}, {size} bytes). A download is removed from the cache and fetched anew next time; for a local copy "
            "that is meant to differ, pass verify_hashes=False."
        )


class Irregular(Exception):
    """The incremental reader met something it does not handle: the whole-file check decides."""


_JSON_SPACE = " \t\n\r"


def item_phrases(names: tuple, form: str) -> tuple:
    """How errors say what an item of ``names`` in ``form`` is, and what a file of them holds: "[source, text] pair
    of strings" and "[source, text] pairs of strings", or "{instruction, input, output} object of strings" and
    "{instruction, input, output} objects of strings"."""
    n = len(names)
    if form == "object":
        return f"{{{', '.join(names)}}} object of strings", f"{{{', '.join(names)}}} objects of strings"
    return f"[{', '.join(names)}] {'pair' if n == 2 else f'array of {n}'} of strings", (
        f"[{', '.join(names)}] {'pairs' if n == 2 else f'arrays of {n}'} of strings"
    )


def _item_values(item, names: tuple, form: str) -> Optional[list]:
    """The strings of one decoded item, in ``names``' order, or None when it is not an item of that form."""
    if form == "object":
        if type(item) is not dict or len(item) != len(names):
            return None
        values = [item.get(name) for name in names]
    elif type(item) is list and len(item) == len(names):
        values = item
    else:
        return None
    return values if all(type(value) is str for value in values) else None


def iter_items(chunks, names: tuple, form: str = "array"):
    """Yields the items of a JSON array whose items hold the strings ``names`` (``form``: each item a JSON array of
    them in order, or a JSON object with exactly those keys), as lists in ``names``' order, from text that arrives
    in pieces.

    Raises ``Irregular`` for anything else (including every error), for ``read_items`` to name.
    """
    decoder = json.JSONDecoder()
    objects, width = form == "object", len(names)
    close = "}" if objects else "]"
    buffer, pos, ended, try_batch = "", 0, False, True

    def more() -> bool:
        nonlocal buffer, pos, ended, try_batch
        piece = next(chunks, None)
        if piece is None:
            ended = True
            return False
        buffer, pos, try_batch = buffer[pos:] + piece, 0, True
        return True

    def next_char() -> str:
        nonlocal pos
        while True:
            while pos < len(buffer) and buffer[pos] in _JSON_SPACE:
                pos += 1
            if pos < len(buffer):
                return buffer[pos]
            if not more():
                return ""

    if next_char() != "[":
        raise Irregular
    pos += 1
    if next_char() == "]":
        pos += 1
    else:
        while True:
            next_char()
            items, end, escaped = _whole_items(buffer, pos, close) if try_batch else (None, pos, True)
            if items is None:
                try_batch = False  # not again before the next piece: a failed attempt costs a parse of the buffer
                while True:
                    try:
                        item, end = decoder.raw_decode(buffer, pos)
                        break
                    except (json.JSONDecodeError, RecursionError):
                        if ended or not more():
                            raise Irregular from None
                items = [item]
            for item in items:  # the hot loop: checks written out, as _item_values says them
                if objects:
                    if type(item) is not dict or len(item) != width:
                        raise Irregular
                    item = [item.get(name) for name in names]
                elif type(item) is not list or len(item) != width:
                    raise Irregular
                for part in item:
                    if type(part) is not str or (escaped and not is_unicode(part)):
                        raise Irregular
                yield item
            pos = end
            separator = next_char()
            pos += 1
            if separator == "]":
                break
            if separator != ",":
                raise Irregular
    if next_char() != "":
        raise Irregular


def _whole_items(buffer: str, pos: int, close: str) -> tuple:
    """Decodes in one call the items from ``pos`` (an item's start) to the buffer's last ``close`` followed by a
    comma (``],`` for items that are arrays, ``},`` for objects).

    Returns (items, end, whether a surrogate escape may occur), or None as items when that text is not whole
    items: the cut lay inside a string, or an item is incomplete. The brackets added around the text only
    balance when it is a sequence of complete elements, so a success decodes exactly what item-by-item would.
    """
    cut = buffer.rfind(close + ",", pos)
    if cut < 0:
        return None, pos, True
    text = buffer[pos : cut + 1]
    try:
        items = json.loads("[" + text + "]")
    except (json.JSONDecodeError, RecursionError):
        return None, pos, True
    # Lone surrogates come only from \uD800-\uDFFF escapes: the text was decoded from UTF-8.
    return items, cut + 1, "\\ud" in text or "\\uD" in text


def read_items(content: bytes, origin: str, names: tuple, form: str, error: type) -> list:
    """Decodes one upstream file and checks it is a JSON array of items holding the strings ``names`` (``form`` as in
    ``iter_items``); returns the items as lists in ``names``' order. Errors name the file and the item, say what
    was expected (``item_phrases``), and are raised as ``error``."""
    item, items = item_phrases(names, form)
    if content.startswith(_BOM):
        content = content[len(_BOM) :]
    expected = f"expected a JSON array of {items}"
    if not content.strip(b" \t\r\n"):
        raise error(f"{origin}: the file is empty; {expected}")
    try:
        document = json.loads(content.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise error(f"{origin}: invalid UTF-8 at byte {err.start}; {expected}") from None
    except json.JSONDecodeError as err:
        raise error(
            f"{origin}: invalid JSON at line {err.lineno}, column {err.colno} (character {err.pos}): "
            f"{json_problem(err)}"
        ) from None
    except RecursionError:
        raise error(f"{origin}: JSON nested too deeply to parse; {expected}") from None
    if not isinstance(document, list):
        raise error(f"{origin}: the top level is a JSON {json_type(document)}; {expected}")
    values = [_item_values(found, names, form) for found in document]
    for index, found in enumerate(document):
        if values[index] is None:
            shape = f"a JSON {json_type(found)}"
            if isinstance(found, list):
                shape += f" of {len(found)} items"
            elif isinstance(found, dict) and form == "object":
                shape += f" with keys {', '.join(map(json.dumps, found)) or '(none)'}"
            raise error(f"{origin}: item {index} (0-based) is {shape}: {json.dumps(found)[:80]}; expected a {item}")
    if b"\\ud" in content or b"\\uD" in content:  # only \uD800-\uDFFF escapes can make a lone surrogate
        for index, found in enumerate(values):
            if not all(is_unicode(part) for part in found):
                raise error(
                    f"{origin}: item {index} (0-based) holds a lone UTF-16 surrogate escape, "
                    "which is not a Unicode character"
                )
    return values
