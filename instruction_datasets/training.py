"""From the rows to a trainer: the recipes for TRL, LLaMA-Factory and Axolotl that the README and exported cards give.

The rows keep the upstream vocabulary, ``prompt`` and ``response``, beside ``messages`` (one ``user`` turn, one
``assistant`` turn, as ``role``/``content``). Each trainer is pointed at ``messages``:
- TRL's `SFTTrainer` picks its path from the column names: it takes a ``prompt`` column for prompt-completion
  data and then fails for want of a ``completion`` column, so ``select_columns(["messages"])`` leaves it the
  conversation alone.
- LLaMA-Factory reads an export through `datasets` (``hf_hub_url`` with ``subset``); its ``sharegpt`` formatting
  looks for ``conversations`` with ``from``/``value`` unless the entry names our column and tags.
- Axolotl's ``chat_template`` type reads ``messages`` with ``role``/``content`` by default.

Rows with an empty ``response`` teach a model to answer with nothing (LLaMA-Factory trains them on the end-of-turn
token alone), so every recipe leaves them out: TRL's with a filter, the frameworks' by reading an export made with
``--drop-empty-responses``, since neither can leave rows out itself. tests/test_clients.py runs the TRL recipes;
tests/test_card.py holds the others to the export they describe.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

#: The model the examples name; any causal LM with a chat template, on the Hub or in a local folder, will do.
EXAMPLE_MODEL = "Qwen/Qwen3-0.6B"
#: LLaMA-Factory's template for `EXAMPLE_MODEL`.
EXAMPLE_TEMPLATE = "qwen3"
#: The column the recipes train on, and the keys and roles of its turns.
MESSAGES, ROLE, CONTENT, USER, ASSISTANT = "messages", "role", "content", "user", "assistant"
#: What TRL's recipes chain onto a split: leave out the rows with an empty response, keep the conversation alone.
TRL_ROWS = '.filter(lambda row: row["response"] != "").select_columns(["messages"])'
#: The export option that leaves rows with an empty response out of the folder.
DROP_OPTION = "--drop-empty-responses"


def llamafactory_entry(source: str, config: str) -> dict:
    """The smallest LLaMA-Factory ``dataset_info.json`` entry for the ``train`` split of ``config`` of an export,
    which ``source`` names: ``ORG/NAME`` on the Hub, or the folder's path."""
    return {
        "hf_hub_url": source,
        "subset": config,
        "formatting": "sharegpt",
        "columns": {"messages": MESSAGES},
        "tags": {"role_tag": ROLE, "content_tag": CONTENT, "user_tag": USER, "assistant_tag": ASSISTANT},
    }


def llamafactory_block(name: str, source: str, config: str) -> str:
    """``dataset_info.json`` with one entry, ``name``, as the recipes show it (one line per key of the entry)."""
    entry = [f"    {json.dumps(key)}: {json.dumps(value)}" for key, value in llamafactory_entry(source, config).items()]
    return "\n".join(["{", f"  {json.dumps(name)}: {{", ",\n".join(entry), "  }", "}"])


def axolotl_block(source: str, config: str) -> str:
    """The lines of an Axolotl config that read the ``train`` split of ``config`` of an export, and let it run on a
    CPU. Strings are quoted, so a repo id in them can be found and replaced like the other snippets'."""
    return "\n".join(
        [
            "datasets:",
            f"  - path: {json.dumps(source)}",
            f"    name: {config}",
            "    type: chat_template",
            "fp16: false  # on a CPU: with neither line, Axolotl picks fp16 and fails at the first step",
            "bf16: false",
        ]
    )


def card_section(
    config: str, repo_id: str, holds_empty: bool = False, splits: Sequence[str] = ("train",), token_table: bool = False
) -> list[str]:
    """The card's training sections (Markdown lines), for the repo ``repo_id`` that holds ``config``.

    ``holds_empty``: some rows of this export have an empty response; the frameworks' sections warn of them.
    ``splits``: the config's splits, in order. ``token_table``: the card shows token lengths.
    """
    merged = " and ".join(f"`{split}`" for split in splits)
    counted = (
        "the token table above shows how many rows that is"
        if token_table
        else "`python -m instruction_datasets stats ... --tokenizer MODEL` shows how many rows that is"
    )
    lines = [
        "## Train with TRL",
        "",
        "Give TRL's `SFTTrainer` the `messages` column alone. It reads a `prompt` column as prompt-completion",
        "data and fails on these rows with `KeyError: 'completion'`. The filter leaves out rows with an empty",
        "response, which would teach the model to answer with nothing.",
        "",
        "```python",
        "import datasets",
        "from trl import SFTConfig, SFTTrainer",
        "",
        f'train = datasets.load_dataset("{repo_id}", "{config}", split="train")',
        f"train = train{TRL_ROWS}",
        f'trainer = SFTTrainer(model="{EXAMPLE_MODEL}", train_dataset=train, args=SFTConfig(output_dir="sft"))',
        "trainer.train()",
        "```",
        "",
        "With `SFTConfig(..., assistant_only_loss=True)` the loss covers the response alone, when the model's chat",
        "template wraps the assistant's turn in `{% generation %}...{% endgeneration %}`. `SFTConfig` cuts rows",
        f"longer than `max_length` (1024 tokens by default); {counted}. Without a GPU, `SFTConfig` needs",
        "`use_cpu=True`.",
        "",
    ]
    export_again = f"`python -m instruction_datasets export ... {DROP_OPTION}`"
    llamafactory_warning = axolotl_warning = []
    if holds_empty:
        llamafactory_warning = [
            'This export holds rows with an empty `response` (counted under "Configs and rows"). LLaMA-Factory',
            "trains such a row on the end-of-turn token alone, which teaches the model to stop without an answer,",
            f"and cannot leave rows out: train on an export made with {export_again} instead.",
            "",
        ]
        axolotl_warning = [
            "Axolotl trains nothing on a row with an empty `response`, and says nothing about it; this export",
            f'holds such rows (counted under "Configs and rows"). An export made with {export_again} leaves',
            "them out.",
            "",
        ]
    name = f"{config}_train"
    lines += [
        "## Train with LLaMA-Factory",
        "",
        "Add this entry to the `dataset_info.json` of your `dataset_dir`; for a copy of this folder on disk, put its",
        "path in `hf_hub_url`. It reads the `train` split of the config.",
        "",
        "```json",
        llamafactory_block(name, repo_id, config),
        "```",
        "",
        f"Then, in the training YAML: `dataset: {name}`, and the `template` of your model "
        f"(`{EXAMPLE_TEMPLATE}` for `{EXAMPLE_MODEL}`).",
        "",
        "On a CPU, LLaMA-Factory needs no setting of its own (it trains in float32 when `fp16` and `bf16` are left",
        "out).",
        "",
        "- Without `tags`, LLaMA-Factory looks for `from`/`value` and fails with `KeyError: 'from'`.",
        "- Do not point `file_name` at this folder: it reads every file in it (this card too) and fails"
        + (f"; pointed\n  at `data/<config>`, it merges {merged} without a word." if len(splits) > 1 else "."),
        "",
        *llamafactory_warning,
        "## Train with Axolotl",
        "",
        "In the Axolotl config (the `chat_template` type reads `messages` with `role`/`content` by default; for a",
        "copy of this folder on disk, put its path in `path`):",
        "",
        "```yaml",
        axolotl_block(repo_id, config),
        "```",
        "",
        *axolotl_warning,
    ]
    return lines
