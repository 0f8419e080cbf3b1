"""What an exported card says in words, per dataset: written for a reader on the Hub, not taken from the code.

The loading scripts' docstrings and descriptions speak to someone reading the script; a card's reader has only
the card. `card.render_body` puts these texts together with what export measured in the exported files. A card
describes the configs and splits of its folder, not the whole dataset: words about one config live with that config
(``configs``, ``producers_by_config``), and words about rows of one kind are `IfHeld`, said only where the export
holds such rows.
"""

from __future__ import annotations

import dataclasses

#: Language codes of the card YAML, as a reader names them.
LANGUAGE_NAMES = {"en": "English", "zh": "Chinese"}


@dataclasses.dataclass(frozen=True)
class IfHeld:
    """Words that depend on whether the export holds rows whose ``column`` is ``value``."""

    column: str
    value: str
    #: When the export holds such rows beside others.
    held: str
    #: When every row of the export is such a row ("": as ``held``).
    alone: str = ""
    #: When it holds none ("": nothing is said).
    otherwise: str = ""

    def words(self, values: set) -> str:
        """What to say for an export whose ``column`` takes ``values``."""
        if self.value not in values:
            return self.otherwise
        return self.alone if values == {self.value} and self.alone else self.held


@dataclasses.dataclass(frozen=True)
class About:
    """The words of one dataset's card; every field is Markdown."""

    #: What the dataset is, in one paragraph (no row counts: the card gives those of the export).
    summary: str
    #: Config name -> what its rows are.
    configs: dict[str, str]
    #: Column name -> what it holds; ``{values}`` stands for the values the export's rows hold.
    columns: dict[str, str]
    #: Paragraphs: how each row is made from the upstream files.
    how_made: list[str]
    curated_by: str
    #: Where upstream lives; ``{commit}`` stands for the builder's pinned ``COMMIT``.
    repository: str
    paper: str | None
    #: Who wrote the prompts and responses: what is true of every config, then per config.
    producers: str
    #: The licence situation, in words (the YAML holds the Hub's licence identifier).
    licence: str
    #: A note the reader must see first (alpha: no licence was stated), or None.
    licence_warning: str | None
    direct_use: str
    out_of_scope: str | IfHeld
    risks: list[str | IfHeld]
    recommendations: str | IfHeld
    producers_by_config: dict[str, str] = dataclasses.field(default_factory=dict)


_MESSAGES = "The prompt and the response as a conversation: one `user` turn, then one `assistant` turn."

ALIGN_ANYTHING = About(
    summary=(
        "Instruction-following prompts, each with one response written by GPT-4, published by the PKU-Alignment "
        "team. Each row gives the prompt, the response, and the same pair as a chat conversation (`messages`) that "
        "a chat template takes as it is."
    ),
    configs={
        "en": "English: prompts drawn from PKU-SafeRLHF-QA, DialogSum, Empathetic Dialogues, InstructionWild and "
        "Alpaca and refined by GPT-4, with responses by GPT-4. Upstream: the Hub dataset "
        "`PKU-Alignment/Align-Anything-Instruction-100K`.",
        "zh": "Chinese, a collection of its own (written in Chinese, not translated): prompts from Firefly, COIG "
        "and the authors' own question-answer pairs, with responses by GPT-4. Upstream: the Hub dataset "
        "`PKU-Alignment/Align-Anything-Instruction-100K-zh`.",
    },
    columns={
        "prompt": "The instruction, as published upstream.",
        "response": "GPT-4's response, as published upstream.",
        "messages": _MESSAGES,
    },
    how_made=[
        "Upstream, each split is one JSON Lines file (`data/train.jsonl`, `data/test.jsonl`) holding one "
        "prompt and its response per line. Every line becomes one row, in file order, with the prompt and the "
        "response unchanged; the splits are the upstream ones."
    ],
    curated_by="The PKU-Alignment team (Peking University)",
    repository="https://github.com/PKU-Alignment/align-anything",
    paper="[Align Anything: Training All-Modality Models to Follow Instructions with Language Feedback]"
    "(https://arxiv.org/abs/2412.15838)",
    producers="GPT-4 wrote every response.",
    producers_by_config={
        "en": "The English prompts come from PKU-SafeRLHF-QA, DialogSum, Empathetic Dialogues, InstructionWild and "
        "Alpaca, refined by GPT-4.",
        "zh": "The Chinese prompts come from Firefly, COIG and the authors' own question-answer pairs.",
    },
    licence="CC BY-NC 4.0, as the PKU-Alignment team publishes it: you may share and adapt the data, with "
    "attribution, for non-commercial purposes only (https://creativecommons.org/licenses/by-nc/4.0/).",
    licence_warning=None,
    direct_use="Supervised fine-tuning of instruction-following and chat models (see *Train with TRL* below), "
    "and evaluation on the `test` split.",
    out_of_scope="Commercial use: the licence forbids it. Using the responses as checked facts: a model wrote them.",
    risks=["GPT-4 wrote the responses: they can be wrong, and they carry that model's biases."],
    recommendations="Check a sample of the rows against your own standard before training on them.",
)

ALPHA = About(
    summary=(
        "Instructions, each with the first response of an assistant called Rosey, collected by Rallio67 for "
        "instruction tuning. The dataset mixes six sources (each config below says which it holds): Python code "
        "written by a language model and checked to run, "
        "one-line Python answers from CoNaLa, helpful dialogues (Dahoas and Anthropic's helpful set), Anthropic "
        "red-team prompts rated 0 to 2 on a harm scale of 4, and synthetic who/what/where/when/why/how questions."
    ),
    configs={
        "all": "Both upstream files: the first file's rows, then the second's, in file order.",
        "part1": "The first upstream file (`instruction_tuning_dataset_alpha_part1.json`) alone.",
        "part2": "The second upstream file (`instruction_tuning_dataset_alpha_part2.json`) alone.",
        "python_code": "Python programming, from both files: code written by a language model and checked to run "
        "(source `synth_code`) and one-line answers from CoNaLa (`conala`).",
        "helpful": "Helpful assistant dialogue, from both files: sources `dahoas` and `anthrop_helpful`.",
        "harmless": "Red-team prompts, from both files (source `anthrop_redteam`): attempts to make a model say "
        "harmful things, with Rosey's responses. Content warning.",
        "synthetic_qa": "Synthetic who/what/where/when/why/how questions and answers, from both files "
        "(source `synth_qa`).",
    },
    columns={
        "source": "The upstream source of the row, as the files name it (`dahoas`, `synth_code`, ...).",
        "category": "The group of that source ({values} in this export); a source outside the dataset's four groups "
        "is `other`.",
        "prompt": "The instruction: the upstream text before Rosey's response.",
        "response": "Rosey's response: the upstream text after the `Rosey:` label. Empty when the text has none.",
        "text": "The upstream text, unchanged.",
        "messages": _MESSAGES,
    },
    how_made=[
        "Upstream, each file is one JSON array of items; an item is a source name and one text: the instruction, "
        "then a line that starts with `Rosey:` and holds the response, then an end-of-text token "
        "(`<|endoftext|>`). Every item becomes one row, in file order.",
        "The prompt is everything before the first line that starts with `Rosey:`, the response everything after "
        "that label; the end-of-text token and the whitespace around both parts are removed, and so is a `User:` "
        "label at the start of the prompt. A text with no `Rosey:` line is split at its first blank line; a text "
        "with neither gives an empty response. The text itself is kept in `text`, so another rule can be applied.",
    ],
    curated_by="Rallio67",
    repository="https://github.com/Rallio67/language-model-agents (the data files were later deleted from its "
    "branch; they remain at commit `{commit}`)",
    paper=None,
    producers="Rallio67 gathered the rows from the sources named above; language models wrote the synthetic code "
    "and questions, and Rosey's responses.",
    licence="No licence was stated for this data: the upstream repository held no licence at the commit the files "
    "come from (its Apache-2.0 licence file was added after the data files had been deleted). The YAML says "
    "`unknown` for that reason.",
    licence_warning="**No licence was stated for this data upstream.** Check with the author, Rallio67, before "
    "you redistribute it or publish work built on it.",
    direct_use="Supervised fine-tuning of instruction-following models, once the licence question above is settled "
    "(see *Train with TRL* below).",
    out_of_scope=IfHeld(
        "category",
        "harmless",
        held="Training on the `harmless` category unfiltered: it holds red-team attempts to draw out harmful answers.",
        alone="Training on these rows as helpful behaviour without reading them: every one is a red-team attempt to "
        "draw out a harmful answer.",
        otherwise="Using the responses as checked facts: language models wrote much of the text.",
    ),
    risks=[
        IfHeld(
            "category",
            "harmless",
            held="Content warning: the `harmless` category holds red-team attempts to make a model say toxic or "
            "harmful things.",
        ),
        "Language models wrote much of the text; their answers can be wrong.",
    ],
    recommendations=IfHeld(
        "category",
        "harmless",
        held="Inspect the rows and filter before training, for example: "
        '`ds.filter(lambda row: row["category"] != "harmless")`.',
        alone="Read the responses before you train on any of them: the prompts are red-team attempts, and a "
        "response that gives in to one teaches a model to do the same.",
        otherwise="Inspect a sample of the rows before training.",
    ),
)

#: By builder class name: a copy of a script, exported from its own path, keeps its class and its card's words.
BY_BUILDER = {"AlignAnythingInstruction": ALIGN_ANYTHING, "InstructionTuningAlpha": ALPHA}
