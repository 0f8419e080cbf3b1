"""Token lengths: how long the rows are for one tokenizer, and how many of them a trainer's `max_length` cuts.

Three lengths per row: the prompt and the response on their own (no special tokens), and the whole row as a
trainer sees it, which is ``messages`` run through the tokenizer's chat template exactly as TRL's `SFTTrainer`
tokenizes it (``apply_chat_template(..., tokenize=True)``). A tokenizer without a chat template has no such
rendering: the row length is then the prompt's plus the response's tokens, and the figures say so.

Needs `transformers`, which the ``train`` extra installs.
"""

from __future__ import annotations

import os
from array import array
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: What to install for token lengths.
INSTALL_HINT = "pip install 'instruction_datasets[train]'"
#: Row lengths at which the share of longer rows is shown: the `max_length` values trainers are usually given.
LIMITS = (512, 1024, 2048, 4096)
PERCENTILES = (50, 95, 99)
#: Rows per tokenizer call: the token ids of a call are held in memory at once (about 1,000 per row of text).
_TOKENIZE_ROWS = 1000
#: The lengths measured per row.
FIELDS = ("prompt", "response", "row")
#: What the row length counts, with and without a chat template.
ROW_BY_TEMPLATE = "`messages` through the tokenizer's chat template"
ROW_WITHOUT_TEMPLATE = "prompt + response tokens (the tokenizer has no chat template)"


class MissingExtra(ImportError):
    """`transformers` is not installed."""


def load_tokenizer(tokenizer: Any):
    """A tokenizer object as given, or loaded with `AutoTokenizer` from a Hub name or a local folder."""
    if not isinstance(tokenizer, str | os.PathLike):
        return tokenizer
    try:
        import transformers
    except ImportError as error:
        raise MissingExtra(f"token lengths need the `transformers` package: {INSTALL_HINT}") from error
    return transformers.AutoTokenizer.from_pretrained(os.fspath(tokenizer))


class TokenLengths:
    """Token lengths of rows, gathered batch by batch, per split and per category within a split."""

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer
        self.templated = bool(getattr(tokenizer, "chat_template", None))
        self.groups: dict[str, dict[str, array]] = {}

    def add(self, split: str, batch: dict[str, list]) -> None:
        """Counts the tokens of one batch of rows (a dict of columns, as `Dataset.iter` gives)."""
        for start in range(0, len(batch["prompt"]), _TOKENIZE_ROWS):
            self._add(split, {column: values[start : start + _TOKENIZE_ROWS] for column, values in batch.items()})

    def _add(self, split: str, batch: dict[str, list]) -> None:
        prompts = self._lengths(batch["prompt"])
        responses = self._lengths(batch["response"])
        if self.templated:
            encoded = self.tokenizer.apply_chat_template(batch["messages"], tokenize=True, return_dict=True)
            rows = [len(ids) for ids in encoded["input_ids"]]
        else:
            rows = [prompt + response for prompt, response in zip(prompts, responses, strict=True)]
        categories = batch.get("category", [None] * len(rows))
        for values in zip(prompts, responses, rows, categories, strict=True):
            *lengths, category = values
            keys = [split] if category is None else [split, f"{split} / category={category}"]
            for key in keys:
                group = self.groups.setdefault(key, {field: array("I") for field in FIELDS})
                for field, length in zip(FIELDS, lengths, strict=True):
                    group[field].append(length)

    def _lengths(self, texts: list[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]

    def summary(self) -> dict[str, Any]:
        """``{"tokenizer", "row", "groups": {group: {"rows", "<field>_tokens_p50", ..., "over_<limit>"}}}``.

        Percentiles are lengths that occur (the higher neighbour, not an interpolation); ``over_<limit>`` is the
        share of rows whose whole row is longer than ``limit`` tokens.
        """
        groups = {}
        for key in sorted(self.groups, key=lambda key: (key.split(" / ")[0], " / " in key)):
            lengths = self.groups[key]
            figures: dict[str, Any] = {"rows": len(lengths["row"])}
            for field in FIELDS:
                values = np.asarray(lengths[field], dtype=np.int64)
                for percentile in PERCENTILES:
                    figures[f"{field}_tokens_p{percentile}"] = int(np.percentile(values, percentile, method="higher"))
                figures[f"{field}_tokens_max"] = int(values.max())
            rows = np.asarray(lengths["row"], dtype=np.int64)
            for limit in LIMITS:
                figures[f"over_{limit}"] = round(float((rows > limit).mean()), 4)  # 0.01% is enough
            groups[key] = figures
        return {
            "tokenizer": tokenizer_name(self.tokenizer),
            "row": ROW_BY_TEMPLATE if self.templated else ROW_WITHOUT_TEMPLATE,
            "groups": groups,
        }


def tokenizer_name(tokenizer: Any) -> str:
    """The tokenizer's Hub name, or the name of the local folder it came from (a card shows no local paths)."""
    name = str(getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__)
    return f"{Path(name).name} (a local folder)" if Path(name).is_dir() else name


def _figure_names() -> list[str]:
    return [f"p{p}" for p in PERCENTILES] + ["max"]


def display_table(tokens: dict[str, Any]) -> pd.DataFrame:
    """The token figures with two-level column headings; the shares as percentages."""
    columns: dict[str, tuple[str, str]] = {"rows": ("", "rows")}
    for field in FIELDS:
        for figure in _figure_names():
            columns[f"{field}_tokens_{figure}"] = (f"{field} tokens", figure)
    for limit in LIMITS:
        columns[f"over_{limit}"] = ("% rows longer than", str(limit))
    frame = pd.DataFrame.from_dict(tokens["groups"], orient="index")[list(columns)]
    for limit in LIMITS:
        frame[f"over_{limit}"] = (frame[f"over_{limit}"] * 100).round(1)
    frame = frame.rename(columns=columns)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index.name = "group"
    return frame


def describe(tokens: dict[str, Any]) -> str:
    """One line: which tokenizer, and what the row length counts."""
    return f"token lengths with {tokens['tokenizer']}; row = {tokens['row']}"


def to_markdown(tokens: dict[str, Any]) -> str:
    """The token figures as a Markdown table (for dataset cards), preceded by what they count."""
    figures_names = " / ".join(_figure_names())
    header = ["group", "rows"] + [f"{field} tokens ({figures_names})" for field in FIELDS]
    header += [f"> {limit}" for limit in LIMITS]
    lines = [f"Token lengths with `{tokens['tokenizer']}`; row = {tokens['row']}.", ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for group, figures in tokens["groups"].items():
        cells = [group, f"{figures['rows']:,}"]
        cells += [" / ".join(f"{figures[f'{field}_tokens_{name}']:,}" for name in _figure_names()) for field in FIELDS]
        cells += [f"{figures[f'over_{limit}']:.1%}" for limit in LIMITS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
