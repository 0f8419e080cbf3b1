"""instruction_tuning_dataset_alpha: instruction/response pairs for the agent "Rosey", by Rallio67.

Configs: ``all`` (default: part1 then part2), ``part1``, ``part2``, and one per category over both
files: ``python_code``, ``helpful``, ``harmless`` (red-team prompts), ``synthetic_qa``. Split: ``train``.
Columns: ``source``, ``category``, ``prompt``, ``response``, ``text`` (raw), ``messages``.

Upstream layout (GitHub, pinned commit): two files, each one JSON array of ``[source, text]`` pairs,
where ``text`` is ``"<instruction>\\n\\nRosey: <response><|endoftext|>"``. See ``parse_text`` for the rule.
"""

# This file declares the dataset and its row rule; the machinery is in _instruction_kit.py, which
# `datasets.load_dataset` (3.x) copies beside this file when it finds the import below (a user uploads both).

import collections
import dataclasses
import re

import datasets

from ._instruction_kit import MESSAGES, PinnedFilesConfig, PinnedJsonArrayBuilder

_HOMEPAGE = "https://github.com/Rallio67/language-model-agents"

# No licence was stated for the data at the pinned commit.
_LICENSE = "unknown"

# The commit that still has the files (they were deleted from the branch on 2023-01-30).
_COMMIT = "26ea044ac587e7629a8baea994165cf3e6520dea"

_CITATION = """\
@misc{rallio67_instruction_tuning_dataset_alpha,
  title        = {instruction\\_tuning\\_dataset\\_alpha},
  author       = {Rallio67},
  howpublished = {\\url{https://github.com/Rallio67/language-model-agents}},
  note         = {commit COMMIT}
}
""".replace("COMMIT", _COMMIT)

_DESCRIPTION = """\
instruction_tuning_dataset_alpha: about 67k instructions, each with the first response of an agent \
called Rosey, from six sources: LLM-generated Python code verified to run (synth_code), one-line \
Python from CoNaLa (conala), helpful dialogues (dahoas, anthrop_helpful), red-team prompts rated \
0-2 of 4 on harm (anthrop_redteam) and synthetic who/what/where/when/why/how QA (synth_qa). \
Content warning: the harmless category holds red-team attempts to make a model say toxic things; \
inspect and filter before training.\
"""

_BASE_URL = f"https://github.com/Rallio67/language-model-agents/raw/{_COMMIT}"

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

_VERSION = datasets.Version("1.0.0")

_FEATURES = datasets.Features(
    {
        "source": datasets.Value("string"),
        "category": datasets.Value("string"),
        "prompt": datasets.Value("string"),
        "response": datasets.Value("string"),
        "text": datasets.Value("string"),
        "messages": MESSAGES,
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


logger = datasets.logging.get_logger(__name__)


class AlphaFormatError(ValueError):
    """An upstream file is not a JSON array of [source, text] string pairs."""


class AlphaIntegrityError(ValueError):
    """A file's bytes differ from the pinned upstream file, or it was not read whole."""


@dataclasses.dataclass
class InstructionTuningAlphaConfig(PinnedFilesConfig):
    """Which files to read and which rows to keep (``PinnedFilesConfig`` in _instruction_kit.py says what each field
    does): by default both files, from GitHub at the pinned commit."""

    parts: tuple = ("part1", "part2")
    base_url: str = _BASE_URL


def _config(name, description, **fields):
    return InstructionTuningAlphaConfig(name=name, version=_VERSION, description=description, **fields)


class InstructionTuningAlpha(PinnedJsonArrayBuilder):
    """instruction_tuning_dataset_alpha as clean prompt/response rows, whole, per file or per category.

    Each item of a file is a ``[source, text]`` pair. The row rule (``row``): the category from the source, the
    prompt and response from the text (``parse_text``), and ``messages`` from those two. How the files are fetched,
    checked and read, and the reading knobs, are ``PinnedJsonArrayBuilder``'s.

    Attributes:
        CATEGORIES: source -> category; a source not listed gets category ``"other"``.
    """

    PRETTY_NAME = "instruction_tuning_dataset_alpha"
    CARD_WORDS = "instruction_tuning_alpha"  # instruction_datasets/cards/instruction_tuning_alpha.toml
    DESCRIPTION, HOMEPAGE, LICENSE, CITATION = _DESCRIPTION, _HOMEPAGE, _LICENSE, _CITATION
    FEATURES = _FEATURES
    FormatError, IntegrityError = AlphaFormatError, AlphaIntegrityError
    COMMIT = _COMMIT
    PARTS = _PARTS
    ITEM = ("source", "text")
    CATEGORIES = _CATEGORIES

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

    def row(self, item: list, tally: collections.Counter):
        """One row from a ``[source, text]`` pair, or None when the config's category leaves it out; counts the
        sources with no category, and the texts split by a fallback of ``parse_text``."""
        source, text = item
        category = self.CATEGORIES.get(source, "other")
        if category == "other":
            tally["source", source] += 1
        if self.config.category is not None and category != self.config.category:
            return None
        prompt, response, boundary = parse_text(text)
        tally[boundary] += 1
        return source, category, prompt, response, text

    def report(self, files: str, tally: collections.Counter) -> None:
        unknown = {key[1]: n for key, n in tally.items() if isinstance(key, tuple)}
        if unknown and self.config.category is None:
            named = ", ".join(f"{source!r} ({n} rows)" for source, n in sorted(unknown.items()))
            logger.warning(f"{files}: sources with no known category, kept as category 'other': {named}")
        if tally["blank_line"]:
            logger.warning(f"{files}: {tally['blank_line']} row(s) had no 'Rosey:' line; split at the first blank line")
        if tally["none"]:
            logger.warning(
                f"{files}: {tally['none']} row(s) had neither a 'Rosey:' line nor a blank line; "
                "kept with the whole text as prompt and an empty response"
            )
