"""instruction_tuning_dataset_alpha: instruction/response pairs for the agent "Rosey", by Rallio67.

Configs: ``all`` (default: part1 then part2), ``part1``, ``part2``, and one per category over both
files: ``python_code``, ``helpful``, ``harmless`` (red-team prompts), ``synthetic_qa``. Split: ``train``.
Columns: ``source``, ``category``, ``prompt``, ``response``, ``text`` (raw), ``messages``.

Upstream layout (GitHub, pinned commit): two files, each one JSON array of ``[source, text]`` pairs,
where ``text`` is ``"<instruction>\\n\\nRosey: <response><|endoftext|>"``. See ``parse_text`` for the rule.
"""

# What this file declares is the dataset and its row rule; the machinery both loading scripts share (downloads,
# errors) is in _instruction_kit.py. `datasets.load_dataset` (3.x) copies that file beside this one when it finds
# the import below, so the two files travel together (a user uploads both).

import codecs
import dataclasses
import json
import os
import re
from typing import Optional

import datasets
import pyarrow as pa

from ._instruction_kit import (
    InstructionBuilder,
    is_unicode,
    json_problem,
    json_type,
    messages_column,
)

_HOMEPAGE = "https://github.com/Rallio67/language-model-agents"

# No licence was stated for the data at the pinned commit.
_LICENSE = "unknown"

# The commit that still has the files (they were deleted from the branch on 2023-01-30).
_COMMIT = "26ea044ac587e7629a8baea994165cf3e6520dea"

_CITATION = (
    """\
@misc{rallio67_instruction_tuning_dataset_alpha,
  title        = {instruction\\_tuning\\_dataset\\_alpha},
  author       = {Rallio67},
  howpublished = {\\url{https://github.com/Rallio67/language-model-agents}},
  note         = {commit """
    + _COMMIT
    + """}
}
"""
)

_DESCRIPTION = """\
instruction_tuning_dataset_alpha: about 67k instructions, each with the first response of an agent \
called Rosey, from six sources: LLM-generated Python code verified to run (synth_code), one-line \
Python from CoNaLa (conala), helpful dialogues (dahoas, anthrop_helpful), red-team prompts rated \
0-2 of 4 on harm (anthrop_redteam) and synthetic who/what/where/when/why/how QA (synth_qa). \
Content warning: the harmless category holds red-team attempts to make a model say toxic things; \
inspect and filter before training.\
"""

_BASE_URL = f"https://github.com/Rallio67/language-model-agents/raw/{_COMMIT}"
# A base_url on GitHub: the repo and the commit it serves (cards name them).
_GITHUB_RAW = re.compile(re.escape("https://github.com/") + r"([^/]+/[^/]+)/raw/([0-9a-f]{40})/?$")

# Part name -> (file name, git blob SHA-1 of the file at the pinned commit).
_PARTS = {
    "part1": ("instruction_tuning_dataset_alpha_part1.json", "5e87e78f6fc446e480491c0ac2720c5eec75f719"),
    "part2": ("instruction_tuning_dataset_alpha_part2.json", "baaa24aa21bbaa8220389a1947a1be30aa69759b"),
}

# Source (as written in the files) -> category; a source not listed here gets category "other".
_CATEGORIES = {
    "synth_code": "python_code",
    "conala": "python_code",
    "dahoas": "helpful",
    "anthrop_helpful": "helpful",
    "anthrop_redteam": "harmless",
    "synth_qa": "synthetic_qa",
}
_OTHER = "other"

_VERSION = datasets.Version("1.0.0")

_FEATURES = datasets.Features(
    {
        "source": datasets.Value("string"),
        "category": datasets.Value("string"),
        "prompt": datasets.Value("string"),
        "response": datasets.Value("string"),
        "text": datasets.Value("string"),
        # A plain list of a dict is a list of structs; `datasets.Sequence` would store a dict of lists.
        "messages": [{"role": datasets.Value("string"), "content": datasets.Value("string")}],
    }
)

# The parse rule's vocabulary (see parse_text).
_AGENT_LABEL = re.compile(r"(?:\A|\n)Rosey:")  # "Rosey:" at the start of a line; only "\n" ends lines
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n")
_END_OF_TEXT = re.compile(r"<\|endoftext\|>[ \t\r\n]*\Z")
_USER_LABEL = "User:"
_WHITESPACE = " \t\r\n\f\v"  # ASCII only: U+2028, U+2029 and NBSP are text


def parse_text(text: str) -> tuple:
    """Splits one ``text`` into ``(prompt, response, boundary)``; the README documents this rule.

    1. A trailing ``<|endoftext|>`` (and any whitespace after it) is removed.
    2. The response starts at the first line that begins with ``Rosey:`` (after a blank line or a
       single newline, or at the very start); the prompt is everything before that line, the
       response everything after the label. Later ``Rosey:`` lines stay in the response.
       ``boundary`` is ``"label"``.
    3. No such line: split at the first blank line (``boundary`` ``"blank_line"``).
    4. Neither: the whole text is the prompt and the response is empty (``boundary`` ``"none"``).
    5. Both parts are stripped of ASCII whitespace, and a leading ``User:`` label leaves the prompt.
    Only ``\\n`` (or ``\\r\\n``) ends a line: U+2028 and U+2029 are text.
    """
    body = _END_OF_TEXT.sub("", text)
    label = _AGENT_LABEL.search(body)
    if label is not None:
        prompt, response, boundary = body[: label.start()], body[label.end() :], "label"
    else:
        blank = _BLANK_LINE.search(body)
        if blank is not None:
            prompt, response, boundary = body[: blank.start()], body[blank.end() :], "blank_line"
        else:
            prompt, response, boundary = body, "", "none"
    prompt = prompt.strip(_WHITESPACE)
    if prompt.startswith(_USER_LABEL):
        prompt = prompt[len(_USER_LABEL) :].strip(_WHITESPACE)
    return prompt, response.strip(_WHITESPACE), boundary


# What to do about each kind of failed transfer (see `failure` in _instruction_kit.py): only parameters this script has.
_HINTS = {
    "not found": f"check the address (base_url=): it must serve the files of commit {_COMMIT}, or pass data_dir= "
    "with a local copy of the files",
    "cannot connect": "check the network and the address (base_url=), or pass data_dir= with a local copy of the files",
    "server error": "the server is down or busy: try again later, use a mirror (base_url=), or pass data_dir= with a "
    "local copy of the files",
    "access denied": "check the address (base_url=), or pass data_dir= with a local copy of the files",
}


logger = datasets.logging.get_logger(__name__)


class AlphaFormatError(ValueError):
    """An upstream file is not a JSON array of [source, text] string pairs."""


class AlphaIntegrityError(ValueError):
    """A file's bytes differ from the pinned upstream file, or it was not read whole."""


@dataclasses.dataclass
class InstructionTuningAlphaConfig(datasets.BuilderConfig):
    """Which files to read and which rows to keep.

    Attributes:
        parts: names of the upstream files to read, in order (keys of ``InstructionTuningAlpha.PARTS``).
        category: keep only rows of this category; ``None`` keeps every row.
        base_url: where the files are downloaded from (a mirror, or a test server).
        verify_hashes: check each file against its pinned git blob SHA-1; ``None`` means
            "for downloads, not for a local ``data_dir``" (local samples differ from upstream).
    """

    parts: tuple = ("part1", "part2")
    category: Optional[str] = None
    base_url: str = _BASE_URL
    verify_hashes: Optional[bool] = None


def _config(name, description, parts=("part1", "part2"), category=None):
    return InstructionTuningAlphaConfig(
        name=name, version=_VERSION, description=description, parts=parts, category=category
    )


class InstructionTuningAlpha(InstructionBuilder):
    """instruction_tuning_dataset_alpha as clean prompt/response rows, whole, per file or per category.

    Attributes (besides those of ``InstructionBuilder`` in _instruction_kit.py):
        COMMIT: the upstream commit whose files are read (the default ``base_url`` serves them).
        PARTS: part name -> (file name, git blob SHA-1 of the file at ``COMMIT``), the hash a download is checked
            against.
        CATEGORIES: source -> category; a source not listed gets category ``"other"``.
        chunk_bytes: how much of a file is read (and hashed) at a time: streaming memory stays flat however large
            the file.
        batch_rows: rows per Arrow table.
    The sizes are reading knobs, not part of the data: every value gives the same rows (the tests shrink them).
    """

    PRETTY_NAME = "instruction_tuning_dataset_alpha"
    DESCRIPTION, HOMEPAGE, LICENSE, CITATION = _DESCRIPTION, _HOMEPAGE, _LICENSE, _CITATION
    FEATURES = _FEATURES
    HINTS = _HINTS
    FormatError, IntegrityError = AlphaFormatError, AlphaIntegrityError
    COMMIT = _COMMIT
    PARTS = _PARTS
    CATEGORIES = _CATEGORIES
    chunk_bytes = 2**20
    batch_rows = 10_000

    VERSION = _VERSION
    RELEASE_NOTES = {"1.0.0": "First release: parts, categories, Rosey-label parse rule, pinned hashes."}

    BUILDER_CONFIG_CLASS = InstructionTuningAlphaConfig
    BUILDER_CONFIGS = [
        _config("all", "Every row of part1, then every row of part2, in file order."),
        _config("part1", "Every row of instruction_tuning_dataset_alpha_part1.json.", parts=("part1",)),
        _config("part2", "Every row of instruction_tuning_dataset_alpha_part2.json.", parts=("part2",)),
        _config("python_code", "Python code: sources synth_code and conala.", category="python_code"),
        _config("helpful", "Generic helpful: sources dahoas and anthrop_helpful.", category="helpful"),
        _config("harmless", "Red-team prompts (source anthrop_redteam): content warning.", category="harmless"),
        _config("synthetic_qa", "Synthetic QA: source synth_qa.", category="synthetic_qa"),
    ]
    DEFAULT_CONFIG_NAME = "all"

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
        """Yields Arrow tables of every pair of every file, in order, kept by category."""
        unknown_sources: dict[str, int] = {}
        fallbacks = {"blank_line": 0, "none": 0}
        categories = self.CATEGORIES
        for filepath, origin, blob_sha1 in zip(filepaths, origins, blob_sha1s):
            batch = []
            for index, source, text in self._checked_pairs(filepath, origin, blob_sha1):
                category = categories.get(source, _OTHER)
                if category == _OTHER:
                    unknown_sources[source] = unknown_sources.get(source, 0) + 1
                if self.config.category is None or category == self.config.category:
                    batch.append((index, source, category, text))
                if len(batch) == self.batch_rows:
                    yield f"{os.path.basename(origin)}:{batch[0][0]}", _table(batch, fallbacks)
                    batch = []
            if batch:
                yield f"{os.path.basename(origin)}:{batch[0][0]}", _table(batch, fallbacks)
        read = ", ".join(os.path.basename(origin) for origin in origins)
        if unknown_sources and self.config.category is None:
            named = ", ".join(f"{source!r} ({n} rows)" for source, n in sorted(unknown_sources.items()))
            logger.warning(f"{read}: sources with no known category, kept as category 'other': {named}")
        if fallbacks["blank_line"]:
            logger.warning(
                f"{read}: {fallbacks['blank_line']} row(s) had no 'Rosey:' line; split at the first blank line"
            )
        if fallbacks["none"]:
            logger.warning(
                f"{read}: {fallbacks['none']} row(s) had neither a 'Rosey:' line nor a blank line; "
                "kept with the whole text as prompt and an empty response"
            )

    def _checked_pairs(self, filepath: str, origin: str, blob_sha1):
        """Yields (index, source, text) of one file, after checking its pinned hash when there is one.

        Nothing is yielded before the whole file is here and checked (a stream is first fetched to a temporary
        file, see ``_whole_file``). The fast path reads incrementally; on anything irregular, the whole file is read
        and ``_read_pairs`` raises the precise error (or, should the file be valid, yields the rest).
        """
        yielded = 0
        with self._reading(origin), self._whole_file(filepath, self.chunk_bytes) as (path, size, blob):
            if blob_sha1 is not None:
                _check_integrity(filepath, origin, size, blob, blob_sha1)

            def chunks():
                decoder = codecs.getincrementaldecoder("utf-8-sig")()
                with open(path, "rb") as f:
                    while True:
                        data = f.read(self.chunk_bytes)
                        try:
                            text = decoder.decode(data, final=not data)
                        except UnicodeDecodeError as err:
                            raise _Irregular from err
                        if not data:
                            return
                        yield text

            try:
                for pair in _iter_pairs(chunks()):
                    yield yielded, *pair
                    yielded += 1
            except _Irregular:
                with open(path, "rb") as f:
                    content = f.read()
                for index, (source, text) in enumerate(_read_pairs(content, origin)):
                    if index >= yielded:
                        yield index, source, text


def _table(batch: list, fallbacks: dict) -> pa.Table:
    """One Arrow table from (index, source, category, text) tuples, parsed by ``parse_text``."""
    prompts, responses = [], []
    for _, _, _, text in batch:
        prompt, response, boundary = parse_text(text)
        prompts.append(prompt)
        responses.append(response)
        if boundary in fallbacks:
            fallbacks[boundary] += 1
    prompt_array, response_array = pa.array(prompts, pa.string()), pa.array(responses, pa.string())
    messages = messages_column([prompt_array], [response_array])
    columns = [
        pa.array([row[1] for row in batch], pa.string()),
        pa.array([row[2] for row in batch], pa.string()),
        prompt_array,
        response_array,
        pa.array([row[3] for row in batch], pa.string()),
        messages,
    ]
    return pa.Table.from_arrays(columns, schema=_FEATURES.arrow_schema)


class _Irregular(Exception):
    """The incremental reader met something it does not handle: the whole-file check decides."""


def _check_integrity(filepath: str, origin: str, size: int, blob: str, expected_blob: str) -> None:
    """Fails on a hash that is not the pinned one, removing a bad download from the cache."""
    if blob == expected_blob:
        return
    if filepath != origin and os.path.isfile(filepath):
        # A bad download in the cache: remove it, so that the next run fetches the file anew.
        for stale in (filepath, filepath + ".lock"):
            if os.path.exists(stale):
                os.remove(stale)
    raise AlphaIntegrityError(
        f"{origin}: content differs from the pinned upstream file (git blob SHA-1 expected {expected_blob}, got "
        f"{blob}, {size} bytes). A download is removed from the cache and fetched anew next time; for a local copy "
        "that is meant to differ, pass verify_hashes=False."
    )


_JSON_SPACE = " \t\n\r"


def _iter_pairs(chunks):
    """Yields (source, text) from a JSON array of string pairs that arrives in pieces of text.

    Raises ``_Irregular`` for anything else (including every error), for ``_read_pairs`` to name.
    """
    decoder = json.JSONDecoder()
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
        raise _Irregular
    pos += 1
    if next_char() == "]":
        pos += 1
    else:
        while True:
            next_char()
            items, end, escaped = _whole_items(buffer, pos) if try_batch else (None, pos, True)
            if items is None:
                try_batch = False  # not again before the next piece: a failed attempt costs a parse of the buffer
                while True:
                    try:
                        item, end = decoder.raw_decode(buffer, pos)
                        break
                    except (json.JSONDecodeError, RecursionError):
                        if ended or not more():
                            raise _Irregular from None
                items = [item]
            for item in items:
                if not (type(item) is list and len(item) == 2 and type(item[0]) is str and type(item[1]) is str):
                    raise _Irregular
                if escaped and not (is_unicode(item[0]) and is_unicode(item[1])):
                    raise _Irregular
                yield item[0], item[1]
            pos = end
            separator = next_char()
            pos += 1
            if separator == "]":
                break
            if separator != ",":
                raise _Irregular
    if next_char() != "":
        raise _Irregular


def _whole_items(buffer: str, pos: int) -> tuple:
    """Decodes in one call the items from ``pos`` (an item's start) to the buffer's last ``],``.

    Returns (items, end, whether a surrogate escape may occur), or None as items when that text is not whole
    items: the ``],`` lay inside a string, or an item is incomplete. The brackets added around the text only
    balance when it is a sequence of complete elements, so a success decodes exactly what item-by-item would.
    """
    cut = buffer.rfind("],", pos)
    if cut < 0:
        return None, pos, True
    text = buffer[pos : cut + 1]
    try:
        items = json.loads("[" + text + "]")
    except (json.JSONDecodeError, RecursionError):
        return None, pos, True
    # Lone surrogates come only from \uD800-\uDFFF escapes: the text was decoded from UTF-8.
    return items, cut + 1, "\\ud" in text or "\\uD" in text


def _read_pairs(content: bytes, origin: str) -> list:
    """Decodes one upstream file and checks it is a JSON array of [source, text] string pairs."""
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    expected = "expected a JSON array of [source, text] pairs of strings"
    if not content.strip(b" \t\r\n"):
        raise AlphaFormatError(f"{origin}: the file is empty; {expected}")
    try:
        document = json.loads(content.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise AlphaFormatError(f"{origin}: invalid UTF-8 at byte {err.start}; {expected}") from None
    except json.JSONDecodeError as err:
        raise AlphaFormatError(
            f"{origin}: invalid JSON at line {err.lineno}, column {err.colno} (character {err.pos}): "
            f"{json_problem(err)}"
        ) from None
    except RecursionError:
        raise AlphaFormatError(f"{origin}: JSON nested too deeply to parse; {expected}") from None
    if not isinstance(document, list):
        raise AlphaFormatError(f"{origin}: the top level is a JSON {json_type(document)}; {expected}")
    for index, item in enumerate(document):
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(part, str) for part in item)):
            shape = f"a JSON {json_type(item)}" + (f" of {len(item)} items" if isinstance(item, list) else "")
            raise AlphaFormatError(
                f"{origin}: item {index} (0-based) is {shape}: {json.dumps(item)[:80]}; "
                "expected a [source, text] pair of strings"
            )
    if b"\\ud" in content or b"\\uD" in content:  # only \uD800-\uDFFF escapes can make a lone surrogate
        for index, item in enumerate(document):
            if not all(is_unicode(part) for part in item):
                raise AlphaFormatError(
                    f"{origin}: item {index} (0-based) holds a lone UTF-16 surrogate escape, "
                    "which is not a Unicode character"
                )
    return document
