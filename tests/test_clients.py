"""The rows in the hands of their clients: transformers' chat templates and TRL's `SFTTrainer`.

Every recipe the README and the exported cards give is run here as written, on every sample config, offline
and on CPU: a byte-level BPE tokenizer trained on the samples and a tiny randomly initialised Llama, saved to a
folder, stand in for the model name. The test adds to `SFTConfig` only what this machine and a short run need
(`use_cpu`, a few `max_steps`, per-step logging, no checkpoints). `nox -s clients` installs torch,
transformers and trl; the main test sessions skip this module.
"""

from __future__ import annotations

import json
import math
import re
import sys

import pytest

pytestmark = [
    pytest.mark.clients,
    # Every load here (ours, `load_dataset` of an export, TRL's `map`) prepares into this module's own cache.
    pytest.mark.usefixtures("own_cache"),
    # trl 1.16 still sets the argument transformers 5 renamed; nothing this project can change.
    pytest.mark.filterwarnings("ignore:`gradient_checkpointing` is deprecated:FutureWarning"),
]
_NEEDS = "needs torch, transformers and trl: run nox -s clients"
torch = pytest.importorskip("torch", reason=_NEEDS)
transformers = pytest.importorskip("transformers", reason=_NEEDS)
trl = pytest.importorskip("trl", reason=_NEEDS)

import datasets  # noqa: E402
from helpers import TINY_CHAT_TEMPLATE, TINY_EOS, readme_blocks  # noqa: E402

import instruction_datasets  # noqa: E402
from instruction_datasets import stats, tokens, training  # noqa: E402
from instruction_datasets.card import PLACEHOLDER  # noqa: E402
from instruction_datasets.cli import main  # noqa: E402
from instruction_datasets.loading import builder_class, load, sample_dir  # noqa: E402

CONFIGS = [
    (script, config.name) for script in instruction_datasets.SCRIPTS for config in builder_class(script).BUILDER_CONFIGS
]
#: Widely used chat formats, written out here: ChatML and Llama 3's header tokens.
OTHER_TEMPLATES = {
    "chatml": (
        "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
        "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    ),
    "llama3": (
        "{{ bos_token }}{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
        "{{ message['content'] | trim }}<|eot_id|>{% endfor %}"
    ),
}
#: What the test adds to the README's `SFTConfig`: CPU, a short run, a loss logged at every step, no checkpoints.
SHORT_CPU_RUN = {"use_cpu": True, "max_steps": 2, "logging_steps": 1, "save_strategy": "no", "report_to": "none"}


RECIPE, STREAMING_RECIPE = readme_blocks("Train with TRL")


@pytest.fixture(scope="module")
def tokenizer(model_dir):
    """The tokenizer as a user gets it back from the folder."""
    return transformers.AutoTokenizer.from_pretrained(model_dir)


@pytest.fixture(scope="module")
def report():
    """Steps, losses and mask counts seen, printed at the end of the module (`pytest -s` or the session log)."""
    lines: list[str] = []
    yield lines
    print("\n" + "\n".join(lines), file=sys.stderr)


def run_block(block, monkeypatch, tmp_path, model_dir, *, script=None, config=None, replace=None, **sft_config):
    """Runs one recipe block as written and returns its `trainer`.

    Only the environment is swapped: `load` reads the samples (of ``script``/``config`` if given, else of
    what the block names), the model name becomes the tiny model's folder, ``replace`` swaps placeholders such
    as ``card.PLACEHOLDER``, and `SFTConfig` gets ``SHORT_CPU_RUN`` plus ``sft_config``.
    """
    real_load, real_trainer, real_config = instruction_datasets.load, trl.SFTTrainer, trl.SFTConfig

    def samples_load(path, name=None, **kwargs):
        path, name = script or path, config or name
        return real_load(path, name, data_dir=sample_dir(path, name), **kwargs)

    def trainer_on_tiny_model(*args, model, **kwargs):
        assert model == training.EXAMPLE_MODEL  # the name the recipe gives, swapped for the local folder
        return real_trainer(*args, model=str(model_dir), **kwargs)

    def short_cpu_config(**kwargs):
        return real_config(**{**kwargs, **SHORT_CPU_RUN, **sft_config})

    monkeypatch.setattr(instruction_datasets, "load", samples_load)
    monkeypatch.setattr(trl, "SFTTrainer", trainer_on_tiny_model)
    monkeypatch.setattr(trl, "SFTConfig", short_cpu_config)
    monkeypatch.chdir(tmp_path)
    for old, new in (replace or {}).items():
        assert block.count(old) == 1, f"{old!r} should appear once in the block"
        block = block.replace(old, new)
    namespace: dict = {}
    exec(compile(block, "<recipe>", "exec"), namespace)
    return namespace["trainer"]


def losses(trainer) -> list[float]:
    return [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]


def sample_split(script, config, split="train"):
    return load(script, config, split=split, data_dir=sample_dir(script, config))


def trained_rows(script, config):
    """The rows the README's recipe trains on: the train split without its rows with an empty response."""
    rows = sample_split(script, config)
    return rows.filter(lambda row: row["response"] != "")


@pytest.mark.parametrize(("script", "config"), CONFIGS)
def test_readme_recipe_trains_on_every_config_with_the_whole_row_as_loss(
    script, config, monkeypatch, tmp_path, model_dir, tokenizer, report
):
    trainer = run_block(RECIPE, monkeypatch, tmp_path, model_dir, script=script, config=config)
    seen = losses(trainer)
    assert trainer.state.global_step == SHORT_CPU_RUN["max_steps"] and len(seen) == trainer.state.global_step
    assert all(math.isfinite(loss) for loss in seen)
    report.append(f"default loss, {script}/{config}: steps {trainer.state.global_step}, losses {seen}")

    rows = trained_rows(script, config)
    prepared = trainer.train_dataset
    assert prepared.num_rows == rows.num_rows
    if config in ("all", "part2", "helpful"):  # these samples hold a row with an empty response: left out
        assert rows.num_rows == sample_split(script, config).num_rows - 1
    # What the trainer tokenized is `messages` through the chat template, the length `stats --tokenizer` counts.
    lengths = tokens.TokenLengths(tokenizer)
    lengths.add("train", rows[:])
    expected = tokenizer.apply_chat_template(rows[:]["messages"], tokenize=True, return_dict=True)["input_ids"]
    assert prepared[:]["input_ids"] == expected
    assert list(lengths.groups["train"]["row"]) == [len(ids) for ids in expected]
    assert prepared[:]["labels"] == prepared[:]["input_ids"]  # the default loss covers every token of the row


@pytest.mark.parametrize(("script", "config"), CONFIGS)
def test_assistant_only_loss_covers_exactly_the_response(
    script, config, monkeypatch, tmp_path, model_dir, tokenizer, report
):
    trainer = run_block(
        RECIPE, monkeypatch, tmp_path, model_dir, script=script, config=config, assistant_only_loss=True
    )
    seen = losses(trainer)
    assert trainer.state.global_step == SHORT_CPU_RUN["max_steps"]
    assert seen and all(math.isfinite(loss) for loss in seen)

    rows = trained_rows(script, config)
    kept_total = response_total = 0
    for row, prepared in zip(rows, trainer.train_dataset, strict=True):
        kept = [token for token, label in zip(prepared["input_ids"], prepared["labels"], strict=True) if label != -100]
        assert tokenizer.decode(kept) == row["response"] + TINY_EOS
        assert prepared["labels"].count(-100) + len(kept) == len(prepared["input_ids"])
        kept_total += len(kept)
        response_total += len(tokenizer(row["response"] + TINY_EOS, add_special_tokens=False)["input_ids"])
    assert kept_total == response_total
    report.append(
        f"assistant-only loss, {script}/{config}: steps {trainer.state.global_step}, losses {seen}; "
        f"mask kept {kept_total} tokens, the responses (+ end-of-turn) have {response_total}"
    )
    if config == "zh":
        assert any(re.search(r"[\u4e00-\u9fff]", row["response"]) for row in rows)
    if config in ("all", "part1", "helpful"):
        assert any("\n\n" in row["prompt"] for row in rows)  # a multi-paragraph prompt stays out of the mask


@pytest.mark.parametrize(
    ("script", "config"), [("align_anything_instruction", "zh"), ("instruction_tuning_alpha", "all")]
)
def test_readme_streaming_recipe_trains_for_max_steps(script, config, monkeypatch, tmp_path, model_dir, report):
    trainer = run_block(STREAMING_RECIPE, monkeypatch, tmp_path, model_dir, script=script, config=config, max_steps=3)
    assert isinstance(trainer.train_dataset, datasets.IterableDataset)
    seen = losses(trainer)
    assert trainer.state.global_step == 3 and len(seen) == 3 and all(math.isfinite(loss) for loss in seen)
    report.append(f"streaming, {script}/{config}: steps {trainer.state.global_step}, losses {seen}")


def test_a_stream_without_max_steps_is_refused(monkeypatch, tmp_path, model_dir):
    stream = sample_split("align_anything_instruction", "en").to_iterable_dataset().select_columns(["messages"])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="max_steps"):
        trl.SFTTrainer(model=str(model_dir), train_dataset=stream, args=trl.SFTConfig(output_dir="sft", use_cpu=True))


@pytest.mark.skipif(torch.cuda.is_available() or torch.backends.mps.is_available(), reason="a GPU is present")
def test_without_a_gpu_sft_config_needs_use_cpu(tmp_path):
    with pytest.raises(ValueError, match="use_cpu"):
        trl.SFTConfig(output_dir=str(tmp_path))
    assert trl.SFTConfig(output_dir=str(tmp_path), use_cpu=True).bf16


@pytest.mark.parametrize(
    ("script", "config"), [("align_anything_instruction", "en"), ("instruction_tuning_alpha", "all")]
)
def test_rows_as_loaded_fail_in_sft_trainer_with_keyerror_completion(script, config, monkeypatch, tmp_path, model_dir):
    monkeypatch.chdir(tmp_path)
    rows = sample_split(script, config)
    assert {"prompt", "messages"} <= set(rows.column_names)
    with pytest.raises(KeyError, match="completion"):
        trl.SFTTrainer(model=str(model_dir), train_dataset=rows, args=trl.SFTConfig(output_dir="sft", use_cpu=True))


def test_select_columns_leaves_the_loaded_rows_as_they_are():
    rows = sample_split("instruction_tuning_alpha", "all")
    columns = rows.column_names
    assert rows.select_columns(["messages"]).column_names == ["messages"]
    assert rows.column_names == columns and {"prompt", "response"} <= set(columns)


def test_sft_config_cuts_rows_longer_than_max_length_1024_by_default(monkeypatch, tmp_path, model_dir, tokenizer):
    assert trl.SFTConfig(output_dir=str(tmp_path), use_cpu=True).max_length == 1024
    trainer = run_block(RECIPE, monkeypatch, tmp_path, model_dir, max_length=16)
    rows = sample_split("align_anything_instruction", "en")
    lengths = tokens.TokenLengths(tokenizer)
    lengths.add("train", rows[:])
    assert [len(ids) for ids in trainer.train_dataset[:]["input_ids"]] == [
        min(n, 16) for n in lengths.groups["train"]["row"]
    ]
    assert max(lengths.groups["train"]["row"]) > 16  # some rows were cut


@pytest.mark.parametrize("template", ["ours", *OTHER_TEMPLATES])
@pytest.mark.parametrize(("script", "config"), CONFIGS)
def test_chat_templates_render_prompt_and_response_verbatim_in_order(script, config, template, tokenizer):
    chat_template = TINY_CHAT_TEMPLATE if template == "ours" else OTHER_TEMPLATES[template]
    for dataset in load(script, config, data_dir=sample_dir(script, config)).values():
        for row in dataset:
            text = tokenizer.apply_chat_template(row["messages"], chat_template=chat_template, tokenize=False)
            prompt_at = text.index(row["prompt"])
            assert text.index(row["response"], prompt_at + len(row["prompt"])) >= prompt_at + len(row["prompt"])


@pytest.mark.parametrize(
    ("script", "config"), [("align_anything_instruction", "en"), ("instruction_tuning_alpha", "all")]
)
def test_exported_card_recipe_trains_and_shows_token_lengths(
    script, config, monkeypatch, tmp_path, model_dir, tokenizer, report
):
    out = tmp_path / "export"
    argv = ["export", script, config, "--out", str(out), "--data-dir", str(sample_dir(script, config))]
    assert main([*argv, "--tokenizer", str(model_dir), "--cache-dir", str(tmp_path / "cache")]) == 0
    card = (out / "README.md").read_text(encoding="utf-8")
    body = card.split("\n## Train with TRL\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```python\n(.*?)```", body, flags=re.DOTALL)
    trainer = run_block(block, monkeypatch, tmp_path, model_dir, replace={f'"{PLACEHOLDER}"': repr(str(out))})
    seen = losses(trainer)
    assert trainer.state.global_step == SHORT_CPU_RUN["max_steps"] and all(math.isfinite(loss) for loss in seen)
    report.append(f"card recipe, export of {script}/{config}: steps {trainer.state.global_step}, losses {seen}")

    figures = stats.collect(script, config, data_dir=sample_dir(script, config), tokenizer=tokenizer)["tokens"]
    assert tokens.to_markdown(figures) in card
    assert json.loads((out / "stats" / f"{config}.json").read_text())["tokens"]["groups"] == figures["groups"]


# --- stats --tokenizer ---------------------------------------------------------------------------------------------


def _nearest_rank(values, percentile):
    ordered = sorted(values)
    return ordered[math.ceil(percentile / 100 * (len(ordered) - 1))]


def write_long_rows(folder, tokenizer):
    """Align-Anything files whose prompts run from about 100 to 5,850 tokens, so every limit splits the rows."""
    unit = " zq"  # one pre-token each time: a prompt of k units has k times its tokens
    per_unit = len(tokenizer(unit, add_special_tokens=False)["input_ids"])
    (folder / "data").mkdir(parents=True)
    for split, count in (("train", 24), ("test", 3)):
        with open(folder / "data" / f"{split}.jsonl", "w", encoding="utf-8") as file:
            for index in range(count):
                prompt = "Q" + unit * ((100 + 250 * index) // per_unit)
                file.write(json.dumps({"prompt": prompt, "response": f"answer {index}\n\nsecond paragraph"}) + "\n")


def test_token_figures_are_the_rows_token_lengths(tmp_path, tokenizer):
    data_dir = tmp_path / "long"
    write_long_rows(data_dir, tokenizer)
    figures = stats.collect("align_anything_instruction", "en", data_dir=data_dir, tokenizer=tokenizer)["tokens"]
    assert figures["row"] == tokens.ROW_BY_TEMPLATE
    for split, dataset in load("align_anything_instruction", "en", data_dir=data_dir).items():
        per_row = {
            "prompt": [len(tokenizer(row["prompt"], add_special_tokens=False)["input_ids"]) for row in dataset],
            "response": [len(tokenizer(row["response"], add_special_tokens=False)["input_ids"]) for row in dataset],
            "row": [len(tokenizer.apply_chat_template(row["messages"])["input_ids"]) for row in dataset],
        }
        group = figures["groups"][split]
        assert group["rows"] == dataset.num_rows
        for field, values in per_row.items():
            for percentile in tokens.PERCENTILES:
                assert group[f"{field}_tokens_p{percentile}"] == _nearest_rank(values, percentile)
            assert group[f"{field}_tokens_max"] == max(values)
        for limit in tokens.LIMITS:
            # shares are kept to 4 decimals, as a person reads them
            assert group[f"over_{limit}"] == round(sum(n > limit for n in per_row["row"]) / len(per_row["row"]), 4)
    train = figures["groups"]["train"]
    assert 1 > train["over_512"] > train["over_1024"] > train["over_2048"] > train["over_4096"] > 0


def test_tokenizer_without_chat_template_counts_prompt_plus_response(tmp_path, tokenizer, capsys, model_dir):
    plain = tmp_path / "no-template"
    tokenizer.save_pretrained(plain)
    (plain / "chat_template.jinja").unlink()
    config = json.loads((plain / "tokenizer_config.json").read_text())
    assert "chat_template" not in config
    data_dir = sample_dir("instruction_tuning_alpha", "all")
    assert (
        main(["stats", "instruction_tuning_alpha", "all", "--data-dir", str(data_dir), "--tokenizer", str(plain)]) == 0
    )
    assert tokens.ROW_WITHOUT_TEMPLATE in capsys.readouterr().out
    figures = stats.collect("instruction_tuning_alpha", "all", data_dir=data_dir, tokenizer=plain)["tokens"]
    group = figures["groups"]["train"]
    rows = sample_split("instruction_tuning_alpha", "all")
    sums = [
        len(tokenizer(row["prompt"], add_special_tokens=False)["input_ids"])
        + len(tokenizer(row["response"], add_special_tokens=False)["input_ids"])
        for row in rows
    ]
    assert figures["row"] == tokens.ROW_WITHOUT_TEMPLATE and group["row_tokens_max"] == max(sums)


@pytest.mark.parametrize(("script", "config"), CONFIGS)
def test_stats_tokenizer_prints_the_same_figures_plain_and_streaming(script, config, tmp_path, model_dir, capsys):
    data_dir = sample_dir(script, config)
    printed, saved = [], []
    for streaming in (False, True):
        out = tmp_path / "figures.json"
        argv = ["stats", script, config, "--data-dir", str(data_dir), "--tokenizer", str(model_dir), "--json", str(out)]
        argv += ["--cache-dir", str(tmp_path / "cache")] + (["--streaming"] if streaming else [])
        assert main(argv) == 0
        printed.append(capsys.readouterr().out)
        saved.append(json.loads(out.read_text())["tokens"])
    assert saved[0] == saved[1] and printed[0] == printed[1]
    assert f"token lengths with {model_dir.name} (a local folder); row = {tokens.ROW_BY_TEMPLATE}" in printed[0]
    for heading in ("prompt tokens", "response tokens", "row tokens", "% rows longer than", "p99", "4096"):
        assert heading in printed[0]
    splits = set(load(script, config, data_dir=data_dir))
    categories = set(sample_split(script, config)[:]["category"]) if script == "instruction_tuning_alpha" else set()
    assert set(saved[0]["groups"]) == splits | {f"train / category={category}" for category in categories}


def test_rows_are_tokenized_in_batches(tokenizer, monkeypatch):
    calls = []

    class Counting:
        """The tokenizer, counting the calls that tokenize."""

        chat_template = tokenizer.chat_template
        name_or_path = "counting"

        def __call__(self, texts, **kwargs):
            calls.append(len(texts))
            return tokenizer(texts, **kwargs)

        def apply_chat_template(self, conversations, **kwargs):
            calls.append(len(conversations))
            return tokenizer.apply_chat_template(conversations, **kwargs)

    data_dir = sample_dir("instruction_tuning_alpha", "all")
    whole = stats.collect("instruction_tuning_alpha", "all", data_dir=data_dir, tokenizer=Counting())["tokens"]
    assert calls == [17] * 3  # prompts, responses, chats: one call each for the one batch
    calls.clear()
    monkeypatch.setattr(stats, "_BATCH_ROWS", 5)  # batches of 5 rows, tokenized 3 rows at a time
    monkeypatch.setattr(tokens, "_TOKENIZE_ROWS", 3)
    figures = stats.collect("instruction_tuning_alpha", "all", data_dir=data_dir, tokenizer=Counting())["tokens"]
    assert calls == ([3] * 3 + [2] * 3) * 3 + [2] * 3
    assert figures == whole


def test_a_hub_name_goes_to_auto_tokenizer(monkeypatch, tokenizer):
    asked = []

    def from_pretrained(name, *args, **kwargs):
        asked.append(name)
        return tokenizer

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", from_pretrained)
    assert tokens.load_tokenizer(training.EXAMPLE_MODEL) is tokenizer and asked == [training.EXAMPLE_MODEL]
