"""Align-Anything-Instruction-100K: GPT-4 written prompt/response pairs for instruction tuning.

Configs: ``en`` (default, PKU-Alignment/Align-Anything-Instruction-100K) and ``zh``
(PKU-Alignment/Align-Anything-Instruction-100K-zh). Splits: ``train`` and ``test``.
Columns: ``prompt``, ``response`` and ``messages`` (user turn, assistant turn).

Upstream layout (Hub dataset repo, Git LFS): ``data/train.jsonl`` and ``data/test.jsonl``, UTF-8
JSON Lines, one object per line with string keys ``prompt`` and ``response``.
"""

# This file declares the dataset and its row rule; the machinery is in _instruction_kit.py, which
# `datasets.load_dataset` (3.x) copies beside this file when it finds the import below (a user uploads both).

import dataclasses

import datasets

from ._instruction_kit import MESSAGES, HubConfig, HubJsonLinesBuilder

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
        "messages": MESSAGES,
    }
)


class AlignAnythingFormatError(ValueError):
    """A row of an upstream JSON Lines file is not what the format promises."""


class AlignAnythingIntegrityError(ValueError):
    """A file was not read whole, or its bytes do not match the hash its server publishes for it."""


@dataclasses.dataclass
class AlignAnythingInstructionConfig(HubConfig):
    """One language edition of the dataset (``HubConfig`` in _instruction_kit.py says what each field does)."""


class AlignAnythingInstruction(HubJsonLinesBuilder):
    """Align-Anything-Instruction-100K in English and Chinese, as prompt/response/messages rows.

    The row rule: each line's ``prompt`` and ``response`` are the row's, as they are, and ``messages`` is the pair
    as a user turn and an assistant turn. How files are read, and the reading knobs, are ``HubJsonLinesBuilder``'s.
    """

    PRETTY_NAME = "Align-Anything-Instruction-100K"
    CARD_WORDS = "align_anything_instruction"  # instruction_datasets/cards/align_anything_instruction.toml
    DESCRIPTION, HOMEPAGE, LICENSE, CITATION = _DESCRIPTION, _HOMEPAGE, _LICENSE, _CITATION
    FEATURES = _FEATURES
    SPLIT_FILES = _SPLIT_FILES
    KEYS = ("prompt", "response")  # each line's string keys: with the default row rule, the columns of the same name
    FormatError, IntegrityError = AlignAnythingFormatError, AlignAnythingIntegrityError

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
