"""Align-Anything-Instruction-100K: GPT-4 written prompt/response pairs for instruction tuning.

Configs: ``en`` (default, PKU-Alignment/Align-Anything-Instruction-100K) and ``zh``
(PKU-Alignment/Align-Anything-Instruction-100K-zh). Splits: ``train`` and ``test``.
Columns: ``prompt``, ``response`` and ``messages`` (user turn, assistant turn).

Upstream layout (Hub dataset repo, Git LFS): ``data/train.jsonl`` and ``data/test.jsonl``, UTF-8
JSON Lines, one object per line with string keys ``prompt`` and ``response``.
"""

# This file is self-contained (no imports from our package): it is what `datasets.load_dataset` (3.x) runs
# and what a user uploads.

import contextlib
import dataclasses
import io
import json
import os
import time

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.json as paj
from huggingface_hub import hf_hub_url

_HOMEPAGE = "https://github.com/PKU-Alignment/align-anything"

_LICENSE = "cc-by-nc-4.0"

_CITATION = """\
@misc{ji2024alignanything,
  title         = {Align Anything: Training All-Modality Models to Follow Instructions with Language Feedback},
  author        = {Ji, Jiaming and others},
  year          = {2024},
  eprint        = {2412.15838},
  archivePrefix = {arXiv},
  url           = {https://arxiv.org/abs/2412.15838}
}
"""

_DESCRIPTION = """\
Align-Anything-Instruction-100K: about 105k instruction-following prompts, each with a response \
written by GPT-4, from the PKU-Alignment team. Each row has the prompt, the response, and the \
pair as chat `messages` (one user turn, one assistant turn) ready for chat templates.\
"""

# What each split is called upstream, relative to the dataset repo (or to a local `data_dir`).
_SPLIT_FILES = {
    datasets.Split.TRAIN: "data/train.jsonl",
    datasets.Split.TEST: "data/test.jsonl",
}

_FEATURES = datasets.Features(
    {
        "prompt": datasets.Value("string"),
        "response": datasets.Value("string"),
        # A plain list of a dict is a list of structs; `datasets.Sequence` would store a dict of lists.
        "messages": [{"role": datasets.Value("string"), "content": datasets.Value("string")}],
    }
)

_REQUIRED_KEYS = ("prompt", "response")

logger = datasets.logging.get_logger(__name__)


class AlignAnythingFormatError(ValueError):
    """A row of an upstream JSON Lines file is not what the format promises."""


class AlignAnythingIntegrityError(ValueError):
    """A file was not read whole."""


@dataclasses.dataclass
class AlignAnythingInstructionConfig(datasets.BuilderConfig):
    """One language edition of the dataset.

    Attributes:
        hub_repo: Hub dataset repository that holds ``data/{split}.jsonl``.
        hub_revision: branch, tag or commit of ``hub_repo`` to read.
        language: BCP-47 code of the prompts and responses.
        shard_bytes: files are read as byte ranges of this size, one shard each, so that ``num_proc`` and
            ``datasets.distributed.split_dataset_by_node`` give each worker a disjoint part.
    """

    hub_repo: str = ""
    hub_revision: str = "main"
    language: str = ""
    shard_bytes: int = 64 * 2**20


class AlignAnythingInstruction(datasets.ArrowBasedBuilder):
    """Align-Anything-Instruction-100K in English and Chinese, as prompt/response/messages rows."""

    VERSION = datasets.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: en and zh, train and test, prompt/response/messages."}

    BUILDER_CONFIG_CLASS = AlignAnythingInstructionConfig
    BUILDER_CONFIGS = [
        AlignAnythingInstructionConfig(
            name="en",
            version=VERSION,
            description="English: prompts refined by GPT-4 from PKU-SafeRLHF-QA, DialogSum, "
            "Empathetic Dialogues, InstructionWild and Alpaca; responses by GPT-4.",
            hub_repo="PKU-Alignment/Align-Anything-Instruction-100K",
            language="en",
        ),
        AlignAnythingInstructionConfig(
            name="zh",
            version=VERSION,
            description="Chinese (not a translation of en): prompts from Firefly, COIG and the "
            "authors' own question-answer pairs; responses by GPT-4.",
            hub_repo="PKU-Alignment/Align-Anything-Instruction-100K-zh",
            language="zh",
        ),
    ]
    DEFAULT_CONFIG_NAME = "en"

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=f"{_DESCRIPTION}\n\n{self.config.description}",
            features=_FEATURES,
            homepage=_HOMEPAGE,
            license=_LICENSE,
            citation=_CITATION,
        )

    def _split_generators(self, dl_manager):
        if self.config.data_dir:
            # A local copy of the upstream layout: read in place, no network.
            data_dir = self.config.data_dir
            if "://" not in data_dir:
                data_dir = os.path.abspath(data_dir)
            origins = {split: os.path.join(data_dir, path) for split, path in _SPLIT_FILES.items()}
            for origin in origins.values():
                if not os.path.exists(origin):
                    raise FileNotFoundError(
                        f"{origin} not found: data_dir must hold the upstream layout "
                        f"({', '.join(_SPLIT_FILES.values())})"
                    )
            files = origins
        else:
            # hf_hub_url honours HF_ENDPOINT, so mirrors work.
            origins = {
                split: hf_hub_url(self.config.hub_repo, path, repo_type="dataset", revision=self.config.hub_revision)
                for split, path in _SPLIT_FILES.items()
            }
            files = _download(dl_manager, origins)
        return [
            datasets.SplitGenerator(name=split, gen_kwargs=self._byte_ranges(files[split], origins[split]))
            for split in _SPLIT_FILES
        ]

    def _byte_ranges(self, filepath: str, origin: str) -> dict:
        """Shards of one file: byte ranges of ``shard_bytes``; lists in gen_kwargs are what datasets shards."""
        size = _file_size(filepath, origin)  # in streaming, the size the server announces
        step = max(1, self.config.shard_bytes)
        starts = list(range(0, max(size, 1), step))
        return {
            "filepath": [filepath] * len(starts),
            "origin": [origin] * len(starts),
            "start": starts,
            "end": [min(start + step, size) for start in starts],
        }

    def _generate_tables(self, filepath, origin, start, end):
        """Yields Arrow tables of each byte range (datasets hands a worker its share of the lists)."""
        for ranged in zip(filepath, origin, start, end):
            yield from self._range_tables(*ranged)

    def _range_tables(self, filepath, origin, start, end):
        """Yields Arrow tables of the lines that start in bytes [start, end) of one JSON Lines file.

        A line belongs to the range its first byte lies in, so each line is read once whatever the ranges.
        ``filepath`` is what is read (perhaps a cached download); ``origin`` is what errors name.
        """
        report = {"blank_lines": 0, "ignored_keys": {}}
        with _reading(origin), open(filepath, "rb") as f:
            pos = start
            if start > 0:
                f.seek(start - 1)
                pos = start - 1 + len(f.readline())  # the rest of a line that began in the range before
            while pos < end:
                block = f.read(_BLOCK_BYTES)
                if not block:
                    break
                if not block.endswith(b"\n"):
                    block += f.readline()
                if pos + len(block) > end:
                    block = block[: block.find(b"\n", end - pos - 1) + 1 or len(block)]
                block_start, pos = pos, pos + len(block)
                if block_start == 0 and block.startswith(_BOM):
                    block = block[len(_BOM) :]
                table = _fast_table(block, report)
                if table is None:  # something pyarrow cannot vouch for: the line-by-line reader decides
                    table = _checked_table(block, report, origin, _line_number(filepath, block_start))
                yield f"{start}:{block_start}", table
        if pos < end:
            raise AlignAnythingIntegrityError(
                f"{origin}: the file ended at byte {pos}, before byte {end}: the transfer was cut short"
            )
        where = origin if (start, end) == (0, os.path.getsize(filepath)) else f"{origin} (bytes {start}-{end})"
        if report["ignored_keys"]:
            counts = ", ".join(f"{key!r} ({n} rows)" for key, n in sorted(report["ignored_keys"].items()))
            logger.warning(f"{where}: ignored keys that the schema does not declare: {counts}")
        if report["blank_lines"]:
            logger.warning(f"{where}: skipped {report['blank_lines']} blank line(s)")


_BLOCK_BYTES = 10 * 2**20  # read and parsed at a time, as datasets' JSON builder does
_BOM = b"\xef\xbb\xbf"
_PARSE_BLOCK_BYTES = 2**20
_ARROW_SCHEMA = pa.schema([("prompt", pa.string()), ("response", pa.string())])


def _fast_table(block: bytes, report: dict):
    """Parses a block of whole lines with pyarrow, or returns None where the checked reader must decide.

    pyarrow neither checks UTF-8 nor insists on one object per line, and fills a missing key with null:
    each of those, and any parse error, sends the block to the line-by-line reader.
    """
    if not block:
        return None
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        return None
    table = None
    # 1 MiB parse blocks let pyarrow use both cores; a line longer than that needs one block for all.
    for parse_block in (_PARSE_BLOCK_BYTES, len(block) + 1):
        try:
            table = paj.read_json(
                io.BytesIO(block),
                read_options=paj.ReadOptions(block_size=parse_block),
                parse_options=paj.ParseOptions(explicit_schema=_ARROW_SCHEMA, unexpected_field_behavior="infer"),
            )
            break
        except pa.ArrowInvalid as err:
            if "straddling" not in str(err) or parse_block > len(block):
                return None
    lines, blank = _count_lines(block[:-1] if block.endswith(b"\n") else block)
    prompts, responses = table.column("prompt"), table.column("response")
    if table.num_rows != lines - blank or prompts.null_count or responses.null_count:
        return None
    report["blank_lines"] += blank
    for key in table.column_names[2:]:
        column = table.column(key)
        if len(column) - column.null_count:
            report["ignored_keys"][key] = report["ignored_keys"].get(key, 0) + len(column) - column.null_count
    return _table(prompts.combine_chunks(), responses.combine_chunks())


def _count_lines(body: bytes) -> tuple:
    """Lines in a block (without its final newline), and how many are blank (only spaces, tabs, CRs)."""
    data = np.frombuffer(body, dtype=np.uint8)
    starts = np.concatenate(([0], np.flatnonzero(data == 0x0A) + 1))
    ends = np.append(starts[1:] - 1, len(data))
    # Only a line that is empty or starts with a space, tab or CR can be blank: check just those.
    first = data[np.minimum(starts, max(len(data) - 1, 0))] if len(data) else np.zeros(len(starts), np.uint8)
    candidates = np.flatnonzero((ends == starts) | np.isin(first, (0x20, 0x09, 0x0D)))
    blank = sum(1 for i in candidates if not body[starts[i] : ends[i]].strip(b" \t\r"))
    return len(starts), blank


def _checked_table(block: bytes, report: dict, origin: str, first_line: int) -> pa.Table:
    """Reads a block line by line with the full checks; errors name the file and the line."""
    prompts, responses = [], []
    for line_number, raw in enumerate(io.BytesIO(block), start=first_line):
        if not raw.strip(b" \t\r\n"):
            report["blank_lines"] += 1
            continue
        row = _parse_line(raw, origin, line_number)
        for key in row.keys() - set(_REQUIRED_KEYS):
            report["ignored_keys"][key] = report["ignored_keys"].get(key, 0) + 1
        prompts.append(row["prompt"])
        responses.append(row["response"])
    return _table(pa.array(prompts, pa.string()), pa.array(responses, pa.string()))


def _table(prompts: pa.Array, responses: pa.Array) -> pa.Table:
    """The rows as Arrow columns: prompt, response, and messages built without Python objects per row."""
    n = len(prompts)
    contents = pa.concat_arrays([prompts, responses]).take(np.stack([np.arange(n), np.arange(n) + n], 1).ravel())
    roles = pa.array(["user", "assistant"]).take(np.tile(np.array([0, 1]), n))
    turns = pa.StructArray.from_arrays([roles, contents], names=["role", "content"])
    messages = pa.ListArray.from_arrays(pa.array(np.arange(0, 2 * n + 1, 2, dtype=np.int32)), turns)
    return pa.Table.from_arrays([prompts, responses, messages], schema=_FEATURES.arrow_schema)


def _line_number(filepath: str, offset: int) -> int:
    """The 1-based number of the line that starts at byte ``offset`` (counted only when a check needs it)."""
    newlines = 0
    with open(filepath, "rb") as f:
        while offset > 0:
            chunk = f.read(min(offset, _BLOCK_BYTES))
            if not chunk:
                break
            newlines += chunk.count(b"\n")
            offset -= len(chunk)
    return newlines + 1


def _parse_line(raw: bytes, origin: str, line_number: int) -> dict:
    """Decodes one JSON Lines record and checks that it has string ``prompt`` and ``response``."""
    where = f"{origin}, line {line_number}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise AlignAnythingFormatError(f"{where}: invalid UTF-8 at byte {err.start}") from None
    try:
        row = json.loads(text)
    except json.JSONDecodeError as err:
        raise AlignAnythingFormatError(f"{where}: invalid JSON ({_json_problem(err)} at column {err.colno})") from None
    except RecursionError:
        raise AlignAnythingFormatError(f"{where}: JSON nested too deeply to parse; expected a flat object") from None
    if not isinstance(row, dict):
        raise AlignAnythingFormatError(
            f"{where}: expected a JSON object with string keys 'prompt' and 'response', got a JSON {_json_type(row)}"
        )
    for key in _REQUIRED_KEYS:
        if key not in row:
            raise AlignAnythingFormatError(f"{where}: key {key!r} is missing (expected a string)")
        if not isinstance(row[key], str):
            raise AlignAnythingFormatError(
                f"{where}: key {key!r} must be a string, got a JSON {_json_type(row[key])}: {json.dumps(row[key])[:80]}"
            )
    if b"\\ud" in raw or b"\\uD" in raw:  # only \uD800-\uDFFF escapes can make a lone surrogate
        for key in _REQUIRED_KEYS:
            if not _is_unicode(row[key]):
                raise AlignAnythingFormatError(
                    f"{where}: key {key!r} holds a lone UTF-16 surrogate escape, which is not a Unicode character"
                )
    return row


# --- Shared by both loading scripts, kept identical (tests/test_script_policy.py checks): errors, downloads. ---


def _json_type(value) -> str:
    """The JSON name of a parsed value's type, for error messages."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _json_problem(err: json.JSONDecodeError) -> str:
    """What the JSON parser objected to, without the dangling "at" some of its messages end with."""
    message = err.msg
    return message[: -len(" at")] if message.endswith(" at") else message


@contextlib.contextmanager
def _reading(origin: str):
    """Names the file in errors of the transfer itself (streaming reads over the network), and says what to do."""
    try:
        yield
    except Exception as err:
        if str(err).startswith(f"{origin}: "):  # already says which file and what went wrong
            raise
        failure = _network_error(origin, err)
        if failure is not None:
            raise failure from err
        if isinstance(err, OSError):
            raise ConnectionError(f"{origin}: reading failed: {err}") from err
        raise


def _file_size(filepath: str, origin: str) -> int:
    """The size of a file; in streaming, the size the server announces, asked again after a transient failure."""
    for attempt in range(1, _DOWNLOAD_ATTEMPTS + 1):
        try:
            return os.path.getsize(filepath)
        except Exception as err:
            if not _is_transient(err) or attempt == _DOWNLOAD_ATTEMPTS:
                failure = _network_error(origin, err, attempt)
                if failure is None:
                    raise
                raise failure from err
            _wait_before_retry(origin, err, attempt)
    raise AssertionError("the loop above returns or raises")


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_DOWNLOAD_ATTEMPTS = 3
_RETRY_SECONDS = 1.0  # the first wait between attempts; each later wait doubles it
_TRANSIENT = ("cannot connect", "server error")  # failure kinds worth another attempt
_HINTS = {
    "not found": "check the repo, the revision (hub_revision=) and the file name, or the mirror address "
    "(HF_ENDPOINT, base_url=)",
    "cannot connect": "check the network and the address (HF_ENDPOINT, base_url=), or pass data_dir= with a "
    "local copy of the files",
    "server error": "the server is down or busy: try again later, use a mirror (HF_ENDPOINT, base_url=), or pass "
    "data_dir= with a local copy of the files",
    "access denied": "check that you may read the repo (HF_TOKEN, hf auth login) and the address "
    "(HF_ENDPOINT, base_url=)",
}


def _download(dl_manager, urls: dict) -> dict:
    """Downloads each URL, retrying transient failures; errors name the URL and say what to do."""
    offline = bool(getattr(datasets.config, "HF_HUB_OFFLINE", False))
    if offline and isinstance(dl_manager, datasets.StreamingDownloadManager):
        raise ConnectionError(
            "streaming reads from the network, but offline mode is on (HF_DATASETS_OFFLINE / HF_HUB_OFFLINE): "
            "load without streaming from a warm cache, or pass data_dir= with a local copy"
        )
    files = {}
    for key, url in urls.items():
        for attempt in range(1, _DOWNLOAD_ATTEMPTS + 1):
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
                if not _is_transient(err) or attempt == _DOWNLOAD_ATTEMPTS:
                    failure = _network_error(url, err, attempt)
                    raise failure or ConnectionError(f"{url}: download failed: {err}") from err
                _wait_before_retry(url, err, attempt)
    return files


def _wait_before_retry(url: str, err: BaseException, attempt: int) -> None:
    kind, detail = _failure(err)
    logger.warning(f"{url}: {kind} ({detail}), retrying [{attempt}/{_DOWNLOAD_ATTEMPTS}]")
    time.sleep(_RETRY_SECONDS * 2 ** (attempt - 1))


def _network_error(url: str, err: BaseException, attempts: int = 1):
    """A one-line error for a failed transfer, naming the URL, what happened and what to do; None otherwise."""
    kind, detail = _failure(err)
    if not kind:
        return None
    tried = f" after {attempts} attempts" if attempts > 1 else ""
    message = f"{url}: {kind} ({detail}){tried}; {_HINTS[kind]}"
    return FileNotFoundError(message) if kind == "not found" else ConnectionError(message)


def _failure(err: BaseException) -> tuple:
    """Sorts a failed transfer into ``(kind, detail)``; kind is "" for anything that is not a network failure.

    Kinds: "not found" (HTTP 404), "cannot connect" (refused, reset, timed out, host name not resolved, or the
    connection dropped mid-transfer), "server error" (5xx, 429), "access denied" (other 4xx, such as 401 and 403).
    The clients wrap the real cause (fsspec reports a refused connection as FileNotFoundError), so the whole chain
    of causes is read, the innermost connection problem first.
    """
    chain = []
    while err is not None and all(err is not seen for seen in chain):
        chain.append(err)
        err = err.__cause__ if err.__cause__ is not None or err.__suppress_context__ else err.__context__
    for link in chain:
        status = _http_status(link)
        if status == 404:
            return "not found", "HTTP 404"
        if status is not None and (status >= 500 or status == 429):
            return "server error", f"HTTP {status}"
        if status is not None and status >= 400:
            return "access denied", f"HTTP {status}"
    for link in reversed(chain):
        detail = _connection_problem(link)
        if detail:
            return "cannot connect", detail
    if any(isinstance(link, FileNotFoundError) for link in chain):
        return "not found", "no such file on the server"
    return "", ""


def _connection_problem(err: BaseException) -> str:
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


def _is_transient(err: BaseException) -> bool:
    """Connection failures, server errors and rate limits are worth another try; a 404 is not."""
    return _failure(err)[0] in _TRANSIENT


def _http_status(err: BaseException):
    """The HTTP status of a failed request, from the error types of requests, httpx and aiohttp."""
    status = getattr(err, "status", None)
    if status is None:
        status = getattr(getattr(err, "response", None), "status_code", None)
    return status if isinstance(status, int) else None
