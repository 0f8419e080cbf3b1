"""Align-Anything-Instruction-100K: GPT-4 written prompt/response pairs for instruction tuning.

Configs: ``en`` (default, PKU-Alignment/Align-Anything-Instruction-100K) and ``zh``
(PKU-Alignment/Align-Anything-Instruction-100K-zh). Splits: ``train`` and ``test``.
Columns: ``prompt``, ``response`` and ``messages`` (user turn, assistant turn).

Upstream layout (Hub dataset repo, Git LFS): ``data/train.jsonl`` and ``data/test.jsonl``, UTF-8
JSON Lines, one object per line with string keys ``prompt`` and ``response``.
"""

# This file is self-contained (no imports from our package): it is what `datasets.load_dataset` (3.x) runs
# and what a user uploads.

import concurrent.futures
import contextlib
import dataclasses
import io
import json
import mmap
import os
import time

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.json as paj
from datasets.iterable_dataset import ArrowExamplesIterable
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


class _StreamedTables(ArrowExamplesIterable):
    """The builder's tables in streaming mode, declaring the features they already have.

    ``datasets`` wraps a stream whose declared features differ from the dataset's in a cast and decode of
    every row, one row at a time. Every feature here is a string (or a list of structs of strings), which
    decodes to itself, so declaring them changes no value, type or order: rows then come from whole batches.
    A cast by the user (``cast_column``, ``features=``) still makes the features differ and is applied.
    """

    @property
    def features(self):
        return _FEATURES

    # datasets builds shuffled, sharded and resharded copies as the base class: keep them declared.
    def shuffle_data_sources(self, *args, **kwargs):
        return _streamed(super().shuffle_data_sources(*args, **kwargs))

    def shard_data_sources(self, *args, **kwargs):
        return _streamed(super().shard_data_sources(*args, **kwargs))

    def reshard_data_sources(self, *args, **kwargs):  # datasets 4+
        return _streamed(super().reshard_data_sources(*args, **kwargs))


def _streamed(tables):
    """Declares the features of a builder's plain table stream (anything else is returned as it is)."""
    if type(tables) is ArrowExamplesIterable:
        tables.__class__ = _StreamedTables
    return tables


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

    def _get_examples_iterable_for_split(self, split_generator):
        """Streaming: the tables of ``_generate_tables``, with their features declared (see ``_StreamedTables``)."""
        return _streamed(super()._get_examples_iterable_for_split(split_generator))

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
        size = os.path.getsize(filepath)  # in streaming, the size the server announces
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
        reached = [start]  # where reading stopped: short of ``end`` means the file ended early
        with _reading(origin), open(filepath, "rb") as f:
            for block_start, block, parsed in _parsed_ahead(_blocks(f, start, end, reached)):
                if parsed is None:  # something pyarrow cannot vouch for: the line-by-line reader decides
                    table = _checked_table(bytes(block), report, origin, _line_number(filepath, block_start))
                else:
                    table, blank, ignored = parsed
                    report["blank_lines"] += blank
                    for key, n in ignored.items():
                        report["ignored_keys"][key] = report["ignored_keys"].get(key, 0) + n
                yield f"{start}:{block_start}", table
        if reached[0] < end:
            raise AlignAnythingIntegrityError(
                f"{origin}: the file ended at byte {reached[0]}, before byte {end}: the transfer was cut short"
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


def _blocks(f, start: int, end: int, reached: list):
    """Yields (offset, block): whole lines, about ``_BLOCK_BYTES`` at a time, of the lines that start in [start, end).

    A local file is mapped into memory, so blocks are views of the page cache, not copies; a file without a
    descriptor (streaming over the network) is read instead. ``reached[0]`` ends at the byte reading stopped at.
    """
    try:
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, AttributeError):  # no descriptor, or an empty file (which cannot be mapped)
        data = None
    if data is None:
        yield from _read_blocks(f, start, end, reached)
        return
    size, view = len(data), memoryview(data)
    pos = start
    if start > 0:  # skip the rest of a line that began in the range before
        newline = data.find(b"\n", start - 1)
        pos = size if newline < 0 else newline + 1
    previous, released = None, 0
    while pos < min(end, size):
        # The block ends with the line that holds its last byte, or earlier at the range's end.
        newline = data.find(b"\n", min(pos + _BLOCK_BYTES, end) - 1)
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


def _read_blocks(f, start: int, end: int, reached: list):
    """``_blocks`` for a file object that cannot be mapped: reads each block (and the rest of its last line)."""
    pos = start
    if start > 0:
        f.seek(start - 1)
        pos = start - 1 + len(f.readline())
    while pos < end:
        block = f.read(_BLOCK_BYTES)
        if not block:
            break
        if not block.endswith(b"\n"):
            block += f.readline()
        if pos + len(block) > end:
            block = block[: block.find(b"\n", end - pos - 1) + 1 or len(block)]
        block_start, pos = pos, pos + len(block)
        yield block_start, block[len(_BOM) :] if block_start == 0 and block.startswith(_BOM) else block
    reached[0] = pos


def _parsed_ahead(blocks):
    """Yields (offset, block, ``_fast_table(block)``), parsing the next block in a helper thread meanwhile.

    pyarrow releases the GIL while it parses, so the next block is parsed while the caller writes this one.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as helper:
        pending = []  # at most two blocks: the one handed out and the one being parsed
        for block_start, block in blocks:
            pending.append((block_start, block, helper.submit(_fast_table, block)))
            if len(pending) > 1:
                block_start, block, parsed = pending.pop(0)
                yield block_start, block, parsed.result()
        while pending:
            block_start, block, parsed = pending.pop(0)
            yield block_start, block, parsed.result()


def _fast_table(block):
    """Parses a block of whole lines with pyarrow: (table, blank lines, ignored keys), or None.

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
    table = None
    # 1 MiB parse blocks let pyarrow use both cores; a line longer than that needs one block for all.
    for parse_block in (_PARSE_BLOCK_BYTES, len(block) + 1):
        try:
            table = paj.read_json(
                pa.BufferReader(buffer),
                read_options=paj.ReadOptions(block_size=parse_block),
                parse_options=paj.ParseOptions(explicit_schema=_ARROW_SCHEMA, unexpected_field_behavior="infer"),
            )
            break
        except pa.ArrowInvalid as err:
            if "straddling" not in str(err) or parse_block > len(block):
                return None
    lines, blank = _count_lines(block)
    prompts, responses = table.column("prompt"), table.column("response")
    if table.num_rows != lines - blank or prompts.null_count or responses.null_count:
        return None
    ignored = {}
    for key in table.column_names[2:]:
        column = table.column(key)
        if len(column) - column.null_count:
            ignored[key] = len(column) - column.null_count
    return _table(prompts, responses), blank, ignored


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


def _table(prompts, responses) -> pa.Table:
    """The rows as Arrow columns: prompt, response, and messages built without Python objects per row.

    ``prompts`` and ``responses`` are arrays or chunked arrays; each column comes out as one chunk.
    """
    prompts, responses = pa.chunked_array(_chunks(prompts)), pa.chunked_array(_chunks(responses))
    n = len(prompts)
    order = np.empty(2 * n, dtype=np.int64)  # prompt 0, response 0, prompt 1, ...
    order[0::2] = np.arange(n)
    order[1::2] = order[0::2] + n
    # A take over the chunks of both columns gathers the contents in one copy, with no concatenation first.
    contents = pa.chunked_array(prompts.chunks + responses.chunks, pa.string()).take(order).combine_chunks()
    roles = pa.array(["user", "assistant"]).take(np.tile(np.array([0, 1]), n))
    turns = pa.StructArray.from_arrays([roles, contents], names=["role", "content"])
    messages = pa.ListArray.from_arrays(pa.array(np.arange(0, 2 * n + 1, 2, dtype=np.int32)), turns)
    return pa.Table.from_arrays(
        [prompts.combine_chunks(), responses.combine_chunks(), messages], schema=_FEATURES.arrow_schema
    )


def _chunks(column) -> list:
    return column.chunks if isinstance(column, pa.ChunkedArray) else [column]


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
        raise AlignAnythingFormatError(f"{where}: invalid JSON ({err.msg} at column {err.colno})") from None
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


@contextlib.contextmanager
def _reading(origin: str):
    """Names the file in errors of the transfer itself (streaming reads over the network)."""
    try:
        yield
    except Exception as err:
        status = _http_status(err)
        if isinstance(err, FileNotFoundError) or status == 404:
            raise FileNotFoundError(f"{origin}: not found on the server: {err}") from err
        if isinstance(err, OSError) or status is not None or _is_transient(err, None):
            raise ConnectionError(f"{origin}: reading failed: {err}") from err
        raise


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_DOWNLOAD_ATTEMPTS = 3


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
                status = _http_status(err)
                if status == 404 or isinstance(err, FileNotFoundError):
                    raise FileNotFoundError(
                        f"{url}: not found on the server (check repo, revision, file): {err}"
                    ) from err
                if not _is_transient(err, status):
                    raise ConnectionError(f"{url}: download failed: {err}") from err
                if attempt == _DOWNLOAD_ATTEMPTS:
                    raise ConnectionError(f"{url}: download failed after {attempt} attempts: {err}") from err
                logger.warning(
                    f"{url}: download failed ({type(err).__name__}), retrying [{attempt}/{_DOWNLOAD_ATTEMPTS}]"
                )
                time.sleep(0.5 * 2**attempt)
    return files


def _is_transient(err: BaseException, status) -> bool:
    """Server errors, rate limits, dropped connections and cut bodies are worth another try."""
    if status is not None:
        return status >= 500 or status == 429
    name = type(err).__name__
    return isinstance(err, (ConnectionError, TimeoutError)) or any(
        word in name for word in ("Payload", "Timeout", "Connect", "Protocol", "Incomplete", "ChunkedEncoding")
    )


def _http_status(err: BaseException):
    """The HTTP status of a failed request, from the error types of requests, httpx and aiohttp."""
    status = getattr(err, "status", None)
    if status is None:
        status = getattr(getattr(err, "response", None), "status_code", None)
    return status if isinstance(status, int) else None
