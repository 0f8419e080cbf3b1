"""From the rows to TRL's `SFTTrainer`: the recipe that exported dataset cards give.

The rows keep the upstream vocabulary, ``prompt`` and ``response``, beside ``messages``. `SFTTrainer` picks its
path from the column names: it takes a ``prompt`` column for prompt-completion data and then fails for want of a
``completion`` column. ``select_columns(["messages"])`` leaves it the conversation alone, which it runs through
the tokenizer's chat template. The README gives the same recipe for `load()`; tests/test_clients.py runs both.
"""

from __future__ import annotations

#: The model the examples name; any causal LM with a chat template, on the Hub or in a local folder, will do.
EXAMPLE_MODEL = "Qwen/Qwen3-0.6B"


def card_section(config: str, repo_id: str) -> list[str]:
    """The card's "Train with TRL" section (Markdown lines), for the repo ``repo_id`` that holds ``config``."""
    return [
        "## Train with TRL",
        "",
        "Give TRL's `SFTTrainer` the `messages` column alone. It reads a `prompt` column as prompt-completion",
        "data and fails on these rows with `KeyError: 'completion'`.",
        "",
        "```python",
        "import datasets",
        "from trl import SFTConfig, SFTTrainer",
        "",
        f'train = datasets.load_dataset("{repo_id}", "{config}", split="train").select_columns(["messages"])',
        f'trainer = SFTTrainer(model="{EXAMPLE_MODEL}", train_dataset=train, args=SFTConfig(output_dir="sft"))',
        "trainer.train()",
        "```",
        "",
        "With `SFTConfig(..., assistant_only_loss=True)` the loss covers the response alone, when the model's chat",
        "template wraps the assistant's turn in `{% generation %}...{% endgeneration %}`. `SFTConfig` cuts rows",
        "longer than `max_length` (1024 tokens by default); the token table above, where there is one, shows how",
        "many rows that is.",
        "",
    ]
