"""What both loading scripts share: the builder machinery behind their rows, written once.

Each script declares its dataset (identity, files, configs, schema, row rule) in a subclass of
``InstructionBuilder``; this module holds what does not depend on the dataset:

- the builder base: ``DatasetInfo`` from the class's declarations, ``messages`` from prompts and responses, a local
  ``data_dir``, and the streaming shim that declares the features of the tables (``_StreamedTables``);
- the network: downloads with retries, failed transfers sorted into kinds with one-line errors that say what
  to do (``failure``, ``InstructionBuilder.HINTS``), and file sizes read over the network;
- JSON helpers for error messages, and the git blob SHA-1 that pins a file;
- ``HubInstructionBuilder`` (Align-Anything only): Hub files read from one commit per load, each checked against
  the hash its server publishes, recorded by repo, commit and path; and the checks of byte ranges read over the
  network.

A script imports it with ``from ._instruction_kit import (...)``: ``datasets.load_dataset`` (3.x) copies this file
beside the script it runs and hashes both; ``instruction_datasets.load()`` does the same.
"""

import contextlib
import hashlib
import json
import os
import tempfile
import time
from typing import Optional, Union

import datasets
import fsspec.caching
import numpy as np
import pyarrow as pa
from datasets.iterable_dataset import ArrowExamplesIterable
from huggingface_hub import HfApi, get_hf_file_metadata, get_session, hf_hub_url, try_to_load_from_cache
from huggingface_hub import constants as hf_constants
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
    """A SHA-1 under way of a git blob of ``size`` bytes: ``update`` it with the bytes, then read ``hexdigest()``."""
    return hashlib.sha1(b"blob %d\0" % size)


def git_blob_sha1(content: bytes) -> str:
    """The SHA-1 that git gives a file with these bytes (``git hash-object``)."""
    digest = blob_hasher(len(content))
    digest.update(content)
    return digest.hexdigest()


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


TRANSIENT = ("cannot connect", "server error")  # failure kinds worth another attempt


def failure(err: BaseException) -> tuple:
    """Sorts a failed transfer into ``(kind, detail)``; kind is "" for anything that is not a network failure.

    Kinds: "not found" (HTTP 404, or 401 with ``X-Error-Code: RepoNotFound``), "cannot connect" (refused, reset,
    timed out, host name not resolved, or the connection dropped mid-transfer), "server error" (5xx, 429),
    "access denied" (other 4xx, such as 401 and 403).
    The clients wrap the real cause (fsspec reports a refused connection as FileNotFoundError), so the whole chain
    of causes is read, the innermost connection problem first.
    """
    chain = []
    while err is not None and all(err is not seen for seen in chain):
        chain.append(err)
        err = err.__cause__ if err.__cause__ is not None or err.__suppress_context__ else err.__context__
    for link in chain:
        status = http_status(link)
        if status == 404:
            return "not found", "HTTP 404"
        if status == 401 and error_code(link) == "RepoNotFound":  # olah's answer for a missing file
            return "not found", "HTTP 401 RepoNotFound"
        if status is not None and (status >= 500 or status == 429):
            return "server error", f"HTTP {status}"
        if status is not None and status >= 400:
            return "access denied", f"HTTP {status}"
    for link in reversed(chain):
        detail = connection_problem(link)
        if detail:
            return "cannot connect", detail
    if any(isinstance(link, FileNotFoundError) for link in chain):
        return "not found", "no such file on the server"
    return "", ""


def connection_problem(err: BaseException) -> str:
    """What went wrong with a connection, from the error types of socket, requests, httpx and aiohttp; or ""."""
    if isinstance(err, ValueError):  # bad bytes, not a bad connection (their text may quote any words)
        return ""
    name, text = type(err).__name__, str(err)
    if name == "gaierror" or "DNS" in name or "Name or service not known" in text:
        return "the host name could not be resolved"
    if isinstance(err, ConnectionRefusedError) or "Connection refused" in text or "Connect call failed" in text:
        return "connection refused"
    if isinstance(err, TimeoutError) or name == "timeout" or "Timeout" in name or "timed out" in text:
        return "timed out"
    if isinstance(err, (ConnectionResetError, BrokenPipeError)) or any(
        word in name for word in ("Disconnected", "RemoteProtocol", "ReadError", "ConnectionClosed")
    ):
        return "the connection was reset"
    if any(word in name for word in ("Payload", "Incomplete", "ChunkedEncoding", "ContentLength")):
        return "the connection dropped before the whole file arrived"
    if isinstance(err, ConnectionError) or "Connect" in name:
        return f"{type(err).__name__}: {err}"
    return ""


def is_transient(err: BaseException) -> bool:
    """Connection failures, server errors and rate limits are worth another try; a 404 is not."""
    return failure(err)[0] in TRANSIENT


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
        DESCRIPTION, HOMEPAGE, LICENSE, CITATION: the dataset's identity, as ``DatasetInfo`` holds it; a config's
            own description follows ``DESCRIPTION`` after a blank line.
        FEATURES: the schema of every config.
        COMMIT: the upstream commit every download is pinned to, when the dataset pins one (cards name it); None
            when each load resolves its own (``HubInstructionBuilder``: ``hub_revision``).
        HINTS: per kind of failed transfer (see ``failure``), what to do about it, naming only parameters and
            environment variables that this dataset has.
        FormatError, IntegrityError: the exception classes the builder raises for a file that is not in the
            documented format, and for one that was not read whole or whose bytes are not the expected ones.
        download_attempts: how many times a transfer is tried when it fails in a way worth retrying.
        retry_seconds: the first wait between attempts; each later wait doubles it.
    """

    PRETTY_NAME = ""
    DESCRIPTION = ""
    HOMEPAGE = ""
    LICENSE = ""
    CITATION = ""
    FEATURES = None
    COMMIT = None
    HINTS = {}
    FormatError = ValueError
    IntegrityError = ValueError
    download_attempts = 3
    retry_seconds = 1.0

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
            if str(err).startswith(f"{origin}: "):  # already says which file and what went wrong
                raise
            error = self._network_error(origin, err)
            if error is not None:
                raise error from err
            if isinstance(err, OSError):
                raise ConnectionError(f"{origin}: reading failed: {err}") from err
            raise

    @contextlib.contextmanager
    def _whole_file(self, filepath: str, chunk_bytes: int):
        """Yields (a local path holding the whole file, its size, its git blob SHA-1), so that the file can be checked
        before any of it is parsed.

        A local file (a download in the cache, a ``data_dir`` copy) is read in place. A stream is first copied as it
        arrives, ``chunk_bytes`` at a time, to a temporary file that is removed afterwards: memory stays flat, and
        the disk holds one copy of the file while it is read.
        """
        path, copied = filepath, "://" in str(filepath)
        if copied:
            handle, path = tempfile.mkstemp(prefix="instruction_datasets-", suffix=".part")
        try:
            if copied:
                with os.fdopen(handle, "wb") as out, open(filepath, "rb") as f:
                    for chunk in iter(lambda: f.read(chunk_bytes), b""):
                        out.write(chunk)
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
        """The size of a file; in streaming, the size the server announces, asked again after a transient failure."""
        for attempt in range(1, self.download_attempts + 1):
            try:
                return os.path.getsize(filepath)
            except Exception as err:
                if not is_transient(err) or attempt == self.download_attempts:
                    error = self._network_error(origin, err, attempt)
                    if error is None:
                        raise
                    raise error from err
                self._wait_before_retry(origin, err, attempt)
        raise AssertionError("the loop above returns or raises")

    def _download(self, dl_manager, urls: dict) -> dict:
        """Downloads each URL, retrying transient failures; errors name the URL and say what to do."""
        offline = bool(getattr(datasets.config, "HF_HUB_OFFLINE", False))
        if offline and isinstance(dl_manager, datasets.StreamingDownloadManager):
            raise ConnectionError(
                "streaming reads from the network, but offline mode is on (HF_DATASETS_OFFLINE / HF_HUB_OFFLINE): "
                "load without streaming from a warm cache, or pass data_dir= with a local copy"
            )
        files = {}
        for key, url in urls.items():
            for attempt in range(1, self.download_attempts + 1):
                try:
                    files[key] = dl_manager.download(url)
                    break
                except Exception as err:
                    if offline:
                        raise ConnectionError(
                            f"{url}: not in the cache, and offline mode (HF_DATASETS_OFFLINE / HF_HUB_OFFLINE) forbids "
                            "downloading it: run once with the network to fill the cache, or pass data_dir= with a "
                            "local copy of the files"
                        ) from err
                    if not is_transient(err) or attempt == self.download_attempts:
                        error = self._network_error(url, err, attempt)
                        raise error or ConnectionError(f"{url}: download failed: {err}") from err
                    self._wait_before_retry(url, err, attempt)
        return files

    def _wait_before_retry(self, url: str, err: BaseException, attempt: int) -> None:
        kind, detail = failure(err)
        logger.warning(f"{url}: {kind} ({detail}), retrying [{attempt}/{self.download_attempts}]")
        time.sleep(self.retry_seconds * 2 ** (attempt - 1))

    def _network_error(self, url: str, err: BaseException, attempts: int = 1):
        """A one-line error for a failed transfer, naming the URL, what happened and what to do; None otherwise."""
        kind, detail = failure(err)
        if not kind:
            return None
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        message = f"{url}: {kind} ({detail}){tried}; {self.HINTS[kind]}"
        return FileNotFoundError(message) if kind == "not found" else ConnectionError(message)


# --- Hub downloads (Align-Anything): one commit per load, each file checked against a hash its server publishes. ---


class HubInstructionBuilder(InstructionBuilder):
    """A builder whose files are in a Hub dataset repo (``config.hub_repo`` at ``config.hub_revision``).

    Every file of a load comes from the one commit the revision names when the load starts, and is checked against
    the hash its server publishes for it. ``info.download_checksums`` records each file by its ``resolve`` URL at
    that commit: ``{"num_bytes", "checksum", "repo", "commit", "path"}``, ``checksum`` being the checked SHA-256 (None:
    not checked). Files read over the network in byte ranges have each range checked.

    Attributes:
        SPLIT_FILES: split name -> path of its file in the repo (and in a local ``data_dir``).
        check_ranges: probe the server before reading a file over the network in byte ranges, and check that each
            ranged read brings exactly the bytes asked for (the benchmark turns it off to measure what it costs).
        range_probe_bytes: how many bytes the probe asks for.
        hash_chunk_bytes: how much of a downloaded file is read and hashed at a time.
    """

    SPLIT_FILES = {}
    check_ranges = True
    range_probe_bytes = 16
    hash_chunk_bytes = 2**20

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
        """(files, origins) per split from the Hub, recording what was read as ``info.download_checksums`` says."""
        files, origins, checksums = self._hub_files(
            dl_manager, self.config.hub_repo, self.config.hub_revision, getattr(self, "_verification_mode", None)
        )
        self._hub_checksums = checksums
        if isinstance(dl_manager, datasets.StreamingDownloadManager):
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
            checksums[origins[split]].update(repo=repo, commit=commit, path=path)
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
        for attempt in range(1, self.download_attempts + 1):
            try:
                info = api.dataset_info(repo, revision=revision, files_metadata=True)
                break
            except Exception as err:
                if http_status(err) == 404 or type(err).__name__ in (
                    "RepositoryNotFoundError",
                    "RevisionNotFoundError",
                ):
                    # One line, without the client's pointer to HTTP docs.
                    said = " ".join(line.strip() for line in str(err).splitlines() if not line.startswith("For more"))
                    raise FileNotFoundError(
                        f"{where}: not found on {api.endpoint} (check hub_repo and hub_revision, or HF_ENDPOINT): "
                        f"{said}"
                    ) from err
                if not is_transient(err) or attempt == self.download_attempts:
                    error = self._network_error(url, err, attempt)
                    raise error or ConnectionError(
                        f"{where}: resolving the revision to a commit failed: {err}"
                    ) from err
                self._wait_before_retry(url, err, attempt)
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

        Transient failures are retried; any other failure only means this server does not offer it (the resolve
        headers are asked next, and fail in one line if the server is unreachable).
        """
        url = f"{api.endpoint}/api/datasets/{repo}/paths-info/{commit}"
        for attempt in range(1, self.download_attempts + 1):
            try:
                entries = api.get_paths_info(repo, paths, revision=commit, repo_type="dataset")
                break
            except Exception as err:
                if not is_transient(err) or attempt == self.download_attempts:
                    logger.info(f"{url}: no file hashes from paths-info ({failure(err)[1] or err}); asking resolve")
                    return {}
                self._wait_before_retry(url, err, attempt)
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
        for attempt in range(1, self.download_attempts + 1):
            try:
                metadata = get_hf_file_metadata(url, token=api.token)
                break
            except Exception as err:
                if not is_transient(err) or attempt == self.download_attempts:
                    error = self._network_error(url, err, attempt)
                    raise error or ConnectionError(f"{url}: asking for the file's hash failed: {err}") from err
                self._wait_before_retry(url, err, attempt)
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
            checksums[origins[split]].update(repo=repo, commit=commit, path=path)
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
        session = get_session()
        try:
            if hasattr(session, "stream"):  # huggingface_hub 1.x and later: an httpx client
                answering = session.stream("GET", url, headers=headers, timeout=60)
            else:  # 0.x: a requests session
                answering = contextlib.closing(session.get(url, headers=headers, stream=True, timeout=60))
            with answering as answer:
                status, content_range = answer.status_code, answer.headers.get("Content-Range")
                body = b""  # one byte more than asked shows a longer answer; no more is read
                for chunk in answer.iter_bytes() if hasattr(answer, "iter_bytes") else answer.iter_content(1024):
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
