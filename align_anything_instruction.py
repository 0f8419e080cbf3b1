"""Align-Anything-Instruction-100K: GPT-4 written prompt/response pairs for instruction tuning.

Configs: ``en`` (default, PKU-Alignment/Align-Anything-Instruction-100K) and ``zh``
(PKU-Alignment/Align-Anything-Instruction-100K-zh). Splits: ``train`` and ``test``.
Columns: ``prompt``, ``response`` and ``messages`` (user turn, assistant turn).

Upstream layout (Hub dataset repo, Git LFS): ``data/train.jsonl`` and ``data/test.jsonl``, UTF-8
JSON Lines, one object per line with string keys ``prompt`` and ``response``.
"""

# What this file declares is the dataset and its row rule; the machinery both loading scripts share (downloads,
# errors, Hub pinning and hashes) is in _instruction_kit.py. `datasets.load_dataset` (3.x) copies that file beside
# this one when it finds the import below, so the two files travel together (a user uploads both).

import concurrent.futures
import dataclasses
import io
import json
import mmap
import os
from typing import Optional, Union

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.json as paj

from ._instruction_kit import (
    HTML_PAGE,
    CountedStream,
    HubInstructionBuilder,
    is_unicode,
    json_problem,
    json_type,
    messages_column,
    shallow,
    to_newline,
)

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


# What to do about each kind of failed transfer (see `failure` in _instruction_kit.py): only parameters this script has.
_HINTS = {
    "not found": "check the repo, the revision (hub_revision=) and the file name, or the mirror address (HF_ENDPOINT)",
    "cannot connect": "check the network and the address (HF_ENDPOINT), or pass data_dir= with a local copy of the "
    "files",
    "server error": "the server is down or busy: try again later, use a mirror (HF_ENDPOINT), or pass data_dir= with "
    "a local copy of the files",
    "access denied": "check that you may read the repo (HF_TOKEN, hf auth login) and the address (HF_ENDPOINT)",
}

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
        verify_stream: in streaming, give only checked rows: each file is first downloaded whole into the Hub cache
            and checked against its published SHA-256 (refused if none is published), then streamed from there. It
            costs the whole download before the first row, and the files' size on disk.
    """

    hub_repo: str = ""
    hub_revision: str = "main"
    language: str = ""
    shard_bytes: int = 64 * 2**20
    verify_stream: bool = False


class AlignAnythingInstruction(HubInstructionBuilder):
    """Align-Anything-Instruction-100K in English and Chinese, as prompt/response/messages rows.

    Attributes (besides those of ``InstructionBuilder`` and ``HubInstructionBuilder`` in _instruction_kit.py):
        block_bytes: how much of a file is read and handed to the parser at a time (a block ends with the line
            that holds its last byte, so a line longer than a block makes the block longer).
        parse_block_bytes: how much of a block pyarrow parses per task, so that it uses every core (a line longer
            than that is parsed in one task).
    The sizes are reading knobs, not part of the data: every value gives the same rows (the tests shrink them).
    """

    PRETTY_NAME = "Align-Anything-Instruction-100K"
    DESCRIPTION, HOMEPAGE, LICENSE, CITATION = _DESCRIPTION, _HOMEPAGE, _LICENSE, _CITATION
    FEATURES = _FEATURES
    SPLIT_FILES = _SPLIT_FILES
    HINTS = _HINTS
    FormatError, IntegrityError = AlignAnythingFormatError, AlignAnythingIntegrityError
    block_bytes = 10 * 2**20  # as datasets' JSON builder does
    parse_block_bytes = 2**20

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

    def _split_generators(self, dl_manager):
        if self.config.data_dir:
            # A local copy of the upstream layout: read in place, no network.
            paths = list(_SPLIT_FILES.values())
            local = self._local_files(paths, f"the upstream layout ({', '.join(paths)})")
            files = origins = dict(zip(_SPLIT_FILES, local))
        else:
            files, origins = self._hub_split_files(dl_manager)  # one commit, each file's hash checked
        token = getattr(dl_manager.download_config, "token", None)  # load_dataset(..., token=...) on 3.x
        return [
            datasets.SplitGenerator(name=split, gen_kwargs=self._byte_ranges(files[split], origins[split], token))
            for split in _SPLIT_FILES
        ]

    def _byte_ranges(self, filepath: str, origin: str, token: Optional[Union[bool, str]] = None) -> dict:
        """Shards of one file: byte ranges of ``shard_bytes``; lists in gen_kwargs are what datasets shards.

        A file read over the network is split only where the server answers a byte range with exactly that range
        (``_range_problem``, asked with ``token`` as the download is); otherwise it is one shard, read from its
        first byte to its last with one request.
        """
        size = self._file_size(filepath, origin)  # in streaming, the size the server announces
        if size == 0:  # every upstream split has rows: an empty file is a broken copy, not an empty split
            raise AlignAnythingFormatError(
                f"{origin}: the file is empty; expected JSON Lines, one object per line with string keys 'prompt' "
                "and 'response'"
            )
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
        with self._reading(origin), self._open(filepath, **stream) as f:
            if "://" in str(filepath) and not stream and self.check_ranges:
                self._check_ranges(f, origin)  # the probe vouched for one range only: every fetch is checked
            source = CountedStream(f, self.block_bytes) if stream else f
            try:
                blocks = _blocks(source, start, end, reached, self.block_bytes)
                lines = 0  # lines of the range in the blocks before this one (what errors count from)
                for block_start, block, parsed in _parsed_ahead(blocks, self.parse_block_bytes):
                    if parsed is None:  # something pyarrow cannot vouch for: the line-by-line reader decides
                        # Lines before the range are counted only now, and only if it starts later in the file.
                        first_line = lines + (self._line_number(filepath, start - 1) + 1 if start else 1)
                        block = bytes(block)
                        table = _checked_table(block, report, origin, first_line)
                        lines += block.count(b"\n")
                    else:
                        table, blank, ignored, block_lines = parsed
                        lines += block_lines
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
        if reached[0] < end:  # what arrived: a whole stream counts its bytes; a range reads from its start
            arrived = source.received if stream else reached[0] - start
            raise AlignAnythingIntegrityError(
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
_ARROW_SCHEMA = pa.schema([("prompt", pa.string()), ("response", pa.string())])


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


def _parsed_ahead(blocks, parse_block_bytes: int):
    """Yields (offset, block, ``_fast_table(block)``), parsing the next block in a helper thread meanwhile.

    pyarrow releases the GIL while it parses, so the next block is parsed while the caller writes this one.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as helper:
        pending = []  # at most two blocks: the one handed out and the one being parsed
        for block_start, block in blocks:
            pending.append((block_start, block, helper.submit(_fast_table, block, parse_block_bytes)))
            if len(pending) > 1:
                *handed, parsed = pending.pop(0)
                yield *handed, parsed.result()
        while pending:
            *handed, parsed = pending.pop(0)
            yield *handed, parsed.result()


def _fast_table(block, parse_block_bytes: int):
    """Parses a block of whole lines with pyarrow: (table, blank lines, ignored keys, lines), or None.

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
            options = paj.ParseOptions(explicit_schema=_ARROW_SCHEMA, unexpected_field_behavior=behaviour)
            table = paj.read_json(pa.BufferReader(buffer), paj.ReadOptions(block_size=parse_block), options)
        except pa.ArrowInvalid as err:
            if "straddling" in str(err) and parse_block <= len(block):
                parse_block = len(block) + 1
            elif "unexpected field" in str(err) and behaviour == "error" and shallow(block):
                behaviour = "infer"
            else:
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
    return _table(prompts, responses), blank, ignored, lines


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
    messages = messages_column(prompts.chunks, responses.chunks)
    return pa.Table.from_arrays(
        [prompts.combine_chunks(), responses.combine_chunks(), messages], schema=_FEATURES.arrow_schema
    )


def _chunks(column) -> list:
    return column.chunks if isinstance(column, pa.ChunkedArray) else [column]


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
        if line_number == 1 and text.lstrip("\ufeff \t\r\n").startswith("<"):
            raise AlignAnythingFormatError(f"{where}: {HTML_PAGE}, not JSON Lines") from None
        raise AlignAnythingFormatError(f"{where}: invalid JSON ({json_problem(err)} at column {err.colno})") from None
    except RecursionError:
        raise AlignAnythingFormatError(f"{where}: JSON nested too deeply to parse; expected a flat object") from None
    if not isinstance(row, dict):
        raise AlignAnythingFormatError(
            f"{where}: expected a JSON object with string keys 'prompt' and 'response', got a JSON {json_type(row)}"
        )
    for key in _REQUIRED_KEYS:
        if key not in row:
            raise AlignAnythingFormatError(f"{where}: key {key!r} is missing (expected a string)")
        if not isinstance(row[key], str):
            raise AlignAnythingFormatError(
                f"{where}: key {key!r} must be a string, got a JSON {json_type(row[key])}: {json.dumps(row[key])[:80]}"
            )
    if b"\\ud" in raw or b"\\uD" in raw:  # only \uD800-\uDFFF escapes can make a lone surrogate
        for key in _REQUIRED_KEYS:
            if not is_unicode(row[key]):
                raise AlignAnythingFormatError(
                    f"{where}: key {key!r} holds a lone UTF-16 surrogate escape, which is not a Unicode character"
                )
    return row
