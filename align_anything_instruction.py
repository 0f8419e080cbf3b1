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
import hashlib
import io
import json
import mmap
import os
import time

import datasets
import fsspec.caching
import numpy as np
import pyarrow as pa
import pyarrow.json as paj
from datasets.iterable_dataset import ArrowExamplesIterable
from huggingface_hub import HfApi, get_hf_file_metadata, get_session, hf_hub_url, try_to_load_from_cache
from huggingface_hub import constants as hf_constants
from huggingface_hub.utils import build_hf_headers

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
    """A file was not read whole, or its bytes do not match the hash its server publishes for it."""


@dataclasses.dataclass
class AlignAnythingInstructionConfig(datasets.BuilderConfig):
    """One language edition of the dataset.

    Attributes:
        hub_repo: Hub dataset repository that holds ``data/{split}.jsonl``.
        hub_revision: branch, tag or commit of ``hub_repo`` to read; a load resolves it to one commit and reads
            every split from that commit (the prepared dataset's ``info.download_checksums`` names it).
        language: BCP-47 code of the prompts and responses.
        shard_bytes: files are read as byte ranges of this size, one shard each, so that ``num_proc`` and
            ``datasets.distributed.split_dataset_by_node`` give each worker a disjoint part. In streaming, a file
            whose server does not answer byte ranges exactly is one shard (with a warning).
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
            files, origins, checksums = _hub_files(
                dl_manager, self.config.hub_repo, self.config.hub_revision, getattr(self, "_verification_mode", None)
            )
            self._hub_checksums = checksums
            if isinstance(dl_manager, datasets.StreamingDownloadManager):
                self.info.download_checksums = checksums  # nothing is saved in streaming: the info is the record
        token = getattr(dl_manager.download_config, "token", None)  # load_dataset(..., token=...) on 3.x
        return [
            datasets.SplitGenerator(name=split, gen_kwargs=self._byte_ranges(files[split], origins[split], token))
            for split in _SPLIT_FILES
        ]

    def _download_and_prepare(self, dl_manager, verification_mode, **prepare_split_kwargs):
        # How datasets (3.x to 5.x) tells a builder its verification_mode: which hashes are checked follows it.
        self._verification_mode = verification_mode
        super()._download_and_prepare(dl_manager, verification_mode, **prepare_split_kwargs)

    def _save_info(self):
        # Which commit and which bytes a prepared dataset holds. datasets 3.x sets download_checksums to its own
        # record (empty unless verification_mode="all_checks") just before saving: put ours back.
        checksums = getattr(self, "_hub_checksums", None)
        if checksums is not None:
            self.info.download_checksums = checksums
        super()._save_info()

    def _byte_ranges(self, filepath: str, origin: str, token: bool | str | None = None) -> dict:
        """Shards of one file: byte ranges of ``shard_bytes``; lists in gen_kwargs are what datasets shards.

        A file read over the network is split only where the server answers a byte range with exactly that range
        (``_range_problem``, asked with ``token`` as the download is); otherwise it is one shard, read from its
        first byte to its last with one request.
        """
        size = _file_size(filepath, origin)  # in streaming, the size the server announces
        step = max(1, self.config.shard_bytes)
        if "://" in str(filepath) and size > step:
            problem = _range_problem(origin, size, min(step, size - 1), token)
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
        with _reading(origin), open(filepath, "rb", **stream) as f:
            if "://" in str(filepath) and not stream:
                _check_ranges(f, origin)  # the probe vouched for one range only: every fetch is checked
            source = _Counted(f) if stream else f
            try:
                for block_start, block, parsed in _parsed_ahead(_blocks(source, start, end, reached)):
                    if parsed is None:  # something pyarrow cannot vouch for: the line-by-line reader decides
                        table = _checked_table(bytes(block), report, origin, _line_number(filepath, block_start))
                    else:
                        table, blank, ignored = parsed
                        report["blank_lines"] += blank
                        for key, n in ignored.items():
                            report["ignored_keys"][key] = report["ignored_keys"].get(key, 0) + n
                    yield f"{start}:{block_start}", table
            except AlignAnythingFormatError:
                if stream and source.restarted(end):  # the bad line is where the file started again
                    raise AlignAnythingIntegrityError(source.restart_problem(origin, end)) from None
                raise
            if stream and source.restarted(end):
                raise AlignAnythingIntegrityError(source.restart_problem(origin, end))
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


class _Counted:
    """A file read whole in one stream, counting the bytes that arrive.

    If the connection breaks, huggingface_hub and fsspec resume with ``Range: bytes=<where they were>-``; a server
    that ignores Range then sends the file from its first byte again, behind what had arrived. More bytes than the
    file has is how that shows.
    """

    def __init__(self, f):
        self._f, self.received = f, 0

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
        while self.received <= size and self.read(_BLOCK_BYTES):
            pass
        return self.received > size

    def restart_problem(self, origin: str, size: int) -> str:
        return (
            f"{origin}: the server sent more than the {size} bytes the file has ({self.received}): a transfer "
            "resumed after a broken connection started the file again (the server ignores Range); load again, or "
            "pass data_dir= with a local copy"
        )


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


_RANGE_PROBE_BYTES = 16


def _range_problem(url: str, size: int, start: int, token: bool | str | None = None) -> str:
    """Asks ``url`` for a few bytes from ``start`` on: "" if the server answers with exactly those bytes' range,
    else what it did instead (ignored the Range header, answered fewer or more bytes, or another range).

    The readers of ``huggingface_hub`` and fsspec take whatever a ranged request returns as the bytes asked for,
    so a server that ignores ``Range`` (some mirrors do) would hand every shard the file's first bytes. ``token``
    is the download's (None: ``HF_TOKEN`` or the saved login, as `huggingface_hub` finds it).
    """
    end = min(start + _RANGE_PROBE_BYTES, size) - 1
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
        failure = _network_error(url, err)
        raise failure or ConnectionError(f"{url}: asking for bytes {start}-{end} failed: {err}") from err
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


def _check_ranges(f, origin: str) -> None:
    """Makes every ranged read of ``f`` (a file opened over the network) give exactly the bytes asked for, or fail.

    The probe of ``_range_problem`` checks one request; a server may still answer a later one otherwise (ignore
    ``Range``, or send fewer or more bytes). huggingface_hub's ``HfFileSystemFile._fetch_range`` returns whatever
    came and fsspec's cache in front of it takes that as the bytes asked for: rows would be read twice or from the
    wrong place. So the fetcher of the file's cache (``_fetch_range``) is wrapped in one that counts the bytes of each
    answer: a request for [start, end) must bring min(end, size) - start bytes. A cache whose every fetch goes
    through its ``fetcher`` keeps its kind (huggingface_hub's files read ahead, fsspec's HTTP files cache bytes);
    any other is replaced by fsspec's read-ahead cache.
    """
    fetch, size = getattr(f, "_fetch_range", None), getattr(f, "size", None)
    if not callable(fetch) or not isinstance(size, int) or not hasattr(f, "cache"):
        raise AlignAnythingIntegrityError(
            f"{origin}: the byte ranges read from this file cannot be checked ({type(f).__name__} is not an fsspec "
            "buffered file); load without streaming, or pass data_dir= with a local copy"
        )

    def checked(start: int, end: int) -> bytes:
        data = fetch(start, end)
        expected = max(0, min(end, size) - start)
        if len(data) != expected:
            raise AlignAnythingIntegrityError(_range_mismatch(origin, start, expected, size, len(data)))
        return data

    if getattr(f.cache, "name", None) in _FETCHER_CACHES and getattr(f.cache, "fetcher", None) == fetch:
        f.cache.fetcher = checked
    else:
        f.cache = fsspec.caching.ReadAheadCache(f.blocksize, checked, size)


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
        if "://" in str(filepath):
            _check_ranges(f, filepath)
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


# --- Hub downloads: one commit per load, each file checked against a hash its server publishes for it. ---

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


def _hub_files(dl_manager, repo: str, revision: str, verification_mode=None) -> tuple:
    """Downloads every split of ``repo`` from the commit ``revision`` names now, checking each file's hash.

    Returns (files, origins, checksums): paths to read and URLs to name per split, and
    ``{url: {"num_bytes", "checksum"}}`` with the commit in each URL, as ``DatasetInfo.download_checksums``
    records downloads; ``checksum`` is the checked file's SHA-256, or None where nothing was checked (streaming,
    ``verification_mode="no_checks"``, or a file whose server publishes no hash). Offline, nothing is asked of
    the network: the commit and the hashes come from the Hub cache.
    """
    streaming = isinstance(dl_manager, datasets.StreamingDownloadManager)
    mode = _mode(verification_mode)
    if getattr(datasets.config, "HF_HUB_OFFLINE", False):
        if streaming:  # _download says why streaming cannot work offline
            _download(dl_manager, {"": hf_hub_url(repo, _SPLIT_FILES[datasets.Split.TRAIN], repo_type="dataset")})
        return _cached_hub_files(repo, revision, mode)
    hashing = not streaming and mode != "no_checks"
    commit, published, endpoint = _resolve_commit(dl_manager, repo, revision, hashing)
    # hf_hub_url honours HF_ENDPOINT, so mirrors work; every split comes from the same commit.
    origins = {
        split: hf_hub_url(repo, path, repo_type="dataset", revision=commit) for split, path in _SPLIT_FILES.items()
    }
    for split, path in _SPLIT_FILES.items():
        if path not in published:
            raise FileNotFoundError(f"{origins[split]}: not in {repo} at commit {commit} (revision {revision!r})")
    files = _download(dl_manager, origins)
    checksums, checked = {}, []
    for split, path in _SPLIT_FILES.items():
        size, sha256, blob_sha1, source = published[path]
        if not hashing:
            size = size if streaming else os.path.getsize(files[split])
            checksums[origins[split]] = {"num_bytes": size, "checksum": None}
            continue
        unpublished = (
            f"{endpoint} publishes no hash for this file (none in the revision API's file metadata, its paths-info "
            "or its resolve headers)"
        )
        checksums[origins[split]] = _verified(files[split], origins[split], sha256, blob_sha1, mode, unpublished)
        kind = "SHA-256" if sha256 else "git blob SHA-1" if blob_sha1 else "nothing"
        checked.append(f"{path} by {kind}" + (f" from {source}" if source else ""))
    if not streaming:
        _remember_commit(files, revision, commit)
    if not hashing:
        why = "streamed" if streaming else "verification_mode='no_checks'"
        logger.info(f"{repo}: revision {revision!r} is commit {commit}; {why}, so no hash is checked")
    else:
        logger.info(f"{repo}: revision {revision!r} is commit {commit}; checked {', '.join(checked)}")
    return files, origins, checksums


def _resolve_commit(dl_manager, repo: str, revision: str, hashes: bool = True) -> tuple:
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
    for attempt in range(1, _DOWNLOAD_ATTEMPTS + 1):
        try:
            info = api.dataset_info(repo, revision=revision, files_metadata=True)
            break
        except Exception as err:
            if _http_status(err) == 404 or type(err).__name__ in ("RepositoryNotFoundError", "RevisionNotFoundError"):
                # One line, without the client's pointer to HTTP docs.
                said = " ".join(line.strip() for line in str(err).splitlines() if not line.startswith("For more"))
                raise FileNotFoundError(
                    f"{where}: not found on {api.endpoint} (check hub_repo and hub_revision, or HF_ENDPOINT): {said}"
                ) from err
            if not _is_transient(err) or attempt == _DOWNLOAD_ATTEMPTS:
                failure = _network_error(url, err, attempt)
                raise failure or ConnectionError(f"{where}: resolving the revision to a commit failed: {err}") from err
            _wait_before_retry(url, err, attempt)
    published = {}
    for sibling in info.siblings or []:
        published[sibling.rfilename] = _published(sibling.size, sibling.lfs, sibling.blob_id, "the revision API")
    wanted = [path for path in _SPLIT_FILES.values() if path in published]
    unhashed = [path for path in wanted if hashes and published[path][1:3] == (None, None)]
    if unhashed:
        published.update(_paths_info(api, repo, info.sha, unhashed))
    for path in wanted:
        if hashes and published[path][1:3] == (None, None):
            published[path] = _resolve_headers(api, repo, info.sha, path, published[path])
    return info.sha, published, api.endpoint


def _published(size, lfs, blob_id, source: str) -> tuple:
    """(size, sha256, git blob SHA-1, source) from a file entry: LFS files have a SHA-256, others a blob id."""
    sha256 = (lfs.get("sha256") if isinstance(lfs, dict) else getattr(lfs, "sha256", None)) if lfs else None
    blob_sha1 = None if lfs else blob_id
    return size, _hash_kind(sha256)[0], _hash_kind(blob_sha1)[1], source if (sha256 or blob_sha1) else None


def _paths_info(api, repo: str, commit: str, paths: list) -> dict:
    """{path: published} from ``POST paths-info`` (what the tree API gives); {} where the server does not answer it.

    Transient failures are retried; any other failure only means this server does not offer it (the resolve
    headers are asked next, and fail in one line if the server is unreachable).
    """
    url = f"{api.endpoint}/api/datasets/{repo}/paths-info/{commit}"
    for attempt in range(1, _DOWNLOAD_ATTEMPTS + 1):
        try:
            entries = api.get_paths_info(repo, paths, revision=commit, repo_type="dataset")
            break
        except Exception as err:
            if not _is_transient(err) or attempt == _DOWNLOAD_ATTEMPTS:
                logger.info(f"{url}: no file hashes from paths-info ({_failure(err)[1] or err}); asking resolve")
                return {}
            _wait_before_retry(url, err, attempt)
    answer = {}
    for entry in entries:
        if entry.path in paths and hasattr(entry, "blob_id"):  # a RepoFile, not a RepoFolder
            answer[entry.path] = _published(entry.size, entry.lfs, entry.blob_id, "paths-info")
    return answer


def _resolve_headers(api, repo: str, commit: str, path: str, known: tuple) -> tuple:
    """published of one file from its ``resolve`` headers (``X-Linked-Etag`` or ``ETag``, ``X-Linked-Size``).

    An ETag of 64 hex digits is a SHA-256 (LFS files), one of 40 a git blob SHA-1; anything else is no hash.
    """
    url = hf_hub_url(repo, path, repo_type="dataset", revision=commit)
    for attempt in range(1, _DOWNLOAD_ATTEMPTS + 1):
        try:
            metadata = get_hf_file_metadata(url, token=api.token)
            break
        except Exception as err:
            if not _is_transient(err) or attempt == _DOWNLOAD_ATTEMPTS:
                failure = _network_error(url, err, attempt)
                raise failure or ConnectionError(f"{url}: asking for the file's hash failed: {err}") from err
            _wait_before_retry(url, err, attempt)
    sha256, blob_sha1 = _hash_kind(metadata.etag)
    source = "the resolve headers" if (sha256 or blob_sha1) else None
    return metadata.size if metadata.size is not None else known[0], sha256, blob_sha1, source


def _verified(filepath: str, origin: str, sha256, blob_sha1, mode: str = "basic_checks", unpublished: str = "") -> dict:
    """Size and SHA-256 of a downloaded file, after checking it against the hash its server publishes.

    LFS files (the upstream ones) are checked by SHA-256, others by git blob SHA-1. On a mismatch the file
    is removed from the cache, so that the next load fetches it anew. A file with no published hash
    (``unpublished`` says why) follows ``mode``: ``all_checks`` refuses it, the default loads it unchecked
    (checksum None) with a warning.
    """
    size = os.path.getsize(filepath)
    if sha256 is None and blob_sha1 is None:
        if mode == "all_checks":
            raise AlignAnythingIntegrityError(
                f"{origin}: {unpublished}, so verification_mode='all_checks' cannot check it: point HF_ENDPOINT at a "
                "server that publishes hashes (the Hub does), or load without verification_mode='all_checks' to "
                "read it unchecked"
            )
        logger.warning(
            f"{origin}: {unpublished}: loaded unchecked, and recorded as not checked; to check it, point "
            "HF_ENDPOINT at a server that publishes hashes (the Hub does); verification_mode='all_checks' refuses it"
        )
        return {"num_bytes": size, "checksum": None}
    digest, blob = hashlib.sha256(), hashlib.sha1(b"blob %d\0" % size)
    with open(filepath, "rb") as f:
        for chunk in iter(lambda: f.read(_HASH_CHUNK_BYTES), b""):
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
    raise AlignAnythingIntegrityError(
        f"{origin}: content differs from the hash published for this file ({expected}, got {got}, {size} bytes). "
        "The download was removed from the cache: load again to fetch it anew."
    )


def _cached_hub_files(repo: str, revision: str, mode: str = "basic_checks") -> tuple:
    """Offline: the files of the commit ``revision`` last resolved to, from the Hub cache, checked there.

    The cache names each blob by the hash the download was filed under: the SHA-256 of an LFS file, the git
    blob SHA-1 of another; each file is checked against that name, as a download is checked online. A blob
    named by no hash follows ``mode`` as a download with no published hash does.
    """
    files, origins, checksums, commits = {}, {}, {}, set()
    for split, path in _SPLIT_FILES.items():
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
            checksums[origins[split]] = _verified(cached, origins[split], sha256, blob_sha1, mode, unpublished)
        files[split] = cached
    if len(commits) > 1:  # cannot happen through one ref; a hand-edited cache could do it
        raise AlignAnythingIntegrityError(f"{repo}: the cached splits come from different commits: {sorted(commits)}")
    return files, origins, checksums


def _remember_commit(files: dict, revision: str, commit: str) -> None:
    """Records in the Hub cache which commit ``revision`` resolved to, as ``hf_hub_download`` does for a branch.

    Offline loads read it back (``try_to_load_from_cache``). Downloads by commit do not write it themselves.
    """
    if revision == commit:
        return
    for split, path in _SPLIT_FILES.items():
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


_HASH_CHUNK_BYTES = 2**20  # read and hashed at a time


# What to do about each kind of failed transfer (see `_failure`): only parameters this script has.
_HINTS = {
    "not found": "check the repo, the revision (hub_revision=) and the file name, or the mirror address (HF_ENDPOINT)",
    "cannot connect": "check the network and the address (HF_ENDPOINT), or pass data_dir= with a local copy of the "
    "files",
    "server error": "the server is down or busy: try again later, use a mirror (HF_ENDPOINT), or pass data_dir= with "
    "a local copy of the files",
    "access denied": "check that you may read the repo (HF_TOKEN, hf auth login) and the address (HF_ENDPOINT)",
}


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
        status = _http_status(link)
        if status == 404:
            return "not found", "HTTP 404"
        if status == 401 and _error_code(link) == "RepoNotFound":  # olah's answer for a missing file
            return "not found", "HTTP 401 RepoNotFound"
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


def _error_code(err: BaseException):
    """The ``X-Error-Code`` header of a failed Hub request (what the Hub and its mirrors say went wrong), or None."""
    headers = getattr(getattr(err, "response", None), "headers", None)
    return headers.get("X-Error-Code") if hasattr(headers, "get") else None


def _http_status(err: BaseException):
    """The HTTP status of a failed request, from the error types of requests, httpx and aiohttp."""
    status = getattr(err, "status", None)
    if status is None:
        status = getattr(getattr(err, "response", None), "status_code", None)
    return status if isinstance(status, int) else None
