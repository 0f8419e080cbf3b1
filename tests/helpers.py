"""Plain helpers the tests and the runners import: importing this module changes nothing (no environment variable,
no guard, no `datasets` import); conftest.py does the set-up when pytest starts (`pytest_configure`).

- `error_text`: an error's message with every cause (the runners print it; tests match it);
- `samples_data_dir`: the `data_dir` that exports every config of a script from the samples;
- `run_fresh`: runs a runner of this folder in a new process, as a user's load would run;
- `LoadWorker`: one such process that takes many loads, one after another (tests/load_worker.py), and
  `rows_digest`, what it answers for rows too many to send;
- `guard_env`: the environment a process started with an environment of its own needs to stay guarded;
- `RUNS_SCRIPTS`: whether the installed `datasets` still runs loading scripts;
- `EXPECTED_SPLITS`: the rows per split each config gives from the bundled samples (a new config adds a line);
- `run_cli`: runs the command line in this process and returns its exit status and output;
- `readme_blocks`, `imports`: the ```python blocks of a README section; the packages a script's source imports;
- `generated`, `section`, `framework_recipes`: an exported card's generated part, a section of it, and the
  LLaMA-Factory entry and Axolotl config it gives;
- `sample_texts`, `save_tiny_model`, `save_tiny_tokenizer`: every prompt and response of the samples, and a
  tokenizer trained on such texts (with a tiny random Llama), saved to a folder (conftest's `model_dir`, the
  stand-in model);
- the loopback guard (tests/loopback_only/sitecustomize.py): `load_guard()`, `GuardLog`, and `loopback_guard`,
  the guard module, loaded (and so installed) when first asked for.
"""

import ast
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

#: The folder that holds the loopback guard as `sitecustomize`: first on PYTHONPATH, every Python process a test
#: starts imports it.
GUARD_DIR = Path(__file__).resolve().with_name("loopback_only")

#: The switches that keep the libraries from calling home (download counts, telemetry).
NO_CALLS_HOME = {"HF_UPDATE_DOWNLOAD_COUNTS": "0", "HF_HUB_DISABLE_TELEMETRY": "1"}

#: Whether this `datasets` still runs loading scripts from `load_dataset` (3.x and older). Read from the installed
#: distribution, so that asking imports nothing (`datasets` reads HF_MODULES_CACHE when imported).
RUNS_SCRIPTS = int(importlib.metadata.version("datasets").split(".")[0]) < 4

#: The repository root (the scripts, README.md, examples/), found without importing the package.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Rows per split that each config gives from the bundled samples: tests/test_builders.py checks every config of
#: every script against it, and other files take their cases from it. A new config adds a line here, no test code.
EXPECTED_SPLITS = {
    ("align_anything_instruction", "en"): {"train": 5, "test": 2},
    ("align_anything_instruction", "zh"): {"train": 4, "test": 2},
    ("instruction_tuning_alpha", "all"): {"train": 17},
    ("instruction_tuning_alpha", "part1"): {"train": 9},
    ("instruction_tuning_alpha", "part2"): {"train": 8},
    ("instruction_tuning_alpha", "python_code"): {"train": 4},
    ("instruction_tuning_alpha", "helpful"): {"train": 7},
    ("instruction_tuning_alpha", "harmless"): {"train": 2},
    ("instruction_tuning_alpha", "synthetic_qa"): {"train": 3},
}


def samples_data_dir(script: str) -> Path:
    """The ``data_dir`` that exports every config of ``script`` from the samples: Align-Anything's sit in one folder
    per config (``{config}`` stands for each config's name), alpha's in one."""
    from instruction_datasets import builder_class
    from instruction_datasets.loading import sample_dir

    first = next(iter(builder_class(script).builder_configs))
    samples = sample_dir(script, first)
    return samples.parent / "{config}" if samples.name == first else samples


def error_text(exc: BaseException) -> str:
    """The message of an error and of every error that caused it.

    `datasets` wraps errors raised while preparing a split in `DatasetGenerationError`; ours is the cause.
    """
    parts = []
    while exc is not None:
        parts.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


def run_cli(argv, capsys):
    """Runs the command line in this process; returns (exit status, stdout, stderr)."""
    from instruction_datasets import cli

    try:
        status = cli.main([str(arg) for arg in argv])
    except SystemExit as exit_:  # argparse's own mistakes
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def readme_blocks(section: str, language: str = "python") -> list[str]:
    """The code blocks in ``language`` of one `## ` section of the README, as written."""
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", body, flags=re.DOTALL)


def generated(folder) -> str:
    """The generated part of an export folder's card."""
    from instruction_datasets import card

    text = (Path(folder) / "README.md").read_text(encoding="utf-8")
    return text.split(card.BEGIN, 1)[1].split(card.END, 1)[0]


def section(text: str, heading: str) -> str:
    """The text under a Markdown heading, up to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    body = text.split(f"\n{heading}\n", 1)[1]
    return re.split(rf"\n#{{1,{len(level)}}} ", body, maxsplit=1)[0]


def framework_recipes(text: str) -> tuple[str, dict, dict]:
    """The LLaMA-Factory entry's name and entry, and the Axolotl config, as a card's generated part gives them."""
    import yaml

    llamafactory = section(text, "## Train with LLaMA-Factory")
    (name, entry), *others = json.loads(re.search(r"```json\n(.*?)```", llamafactory, re.DOTALL).group(1)).items()
    assert not others and f"`dataset: {name}`" in llamafactory
    axolotl = yaml.safe_load(
        re.search(r"```yaml\n(.*?)```", section(text, "## Train with Axolotl"), re.DOTALL).group(1)
    )
    return name, entry, axolotl


#: The keys LLaMA-Factory 0.9.5 reads from a `dataset_info.json` entry (`DatasetAttr` in its data/parser.py).
LLAMAFACTORY_KEYS = {
    "hf_hub_url", "ms_hub_url", "om_hub_url", "script_url", "cloud_file_name", "file_name", "formatting", "ranking",
    "subset", "split", "folder", "num_samples", "columns", "tags",
}  # fmt: skip
#: What Axolotl 0.19.0's `chat_template` type reads when a dataset entry names nothing else: the `messages` field,
#: each turn's `role` and `content` (its default `field_messages`, and the keys of a turn it reads by default).
AXOLOTL_MESSAGES, AXOLOTL_ROLE, AXOLOTL_CONTENT = "messages", "role", "content"


def recipe_problems(folder, config, messages, role, content, user, assistant, split="train") -> list[str]:
    """What a training recipe names that the export in ``folder`` lacks, read as both frameworks read an export
    (``datasets.load_dataset(folder, config, split=split)``): the config and split, the messages column, the keys
    of its turns, and one ``user`` turn holding ``prompt`` then one ``assistant`` turn holding ``response``."""
    import datasets

    try:
        rows = datasets.load_dataset(str(folder), config, split=split)
    except (ValueError, FileNotFoundError) as err:
        return [f"config {config!r}, split {split!r}: {err}"]
    if messages not in rows.column_names:
        return [f"no column {messages!r}, only {rows.column_names}"]
    found = []
    for index, row in enumerate(rows):
        turns = row[messages]
        if any(set(turn) != {role, content} for turn in turns):
            return [f"row {index}: turns have keys {sorted(turns[0])}, not {role!r} and {content!r}"]
        expected = [(user, row["prompt"]), (assistant, row["response"])]
        if [(turn[role], turn[content]) for turn in turns] != expected:
            found.append(f"row {index}: turns {[turn[role] for turn in turns]}, expected {user!r} then {assistant!r}")
    return found


def sample_texts() -> list[str]:
    """Every prompt and response of every config's samples, as `load()` gives them (into `datasets`' cache)."""
    from instruction_datasets import SCRIPTS
    from instruction_datasets.loading import builder_class, load, sample_dir

    texts = []
    for script in SCRIPTS:
        for config in builder_class(script).builder_configs:
            for dataset in load(script, config, data_dir=sample_dir(script, config)).values():
                texts += dataset[:]["prompt"] + dataset[:]["response"]
    return texts


TINY_EOS = "<|end|>"
TINY_PAD = "<|pad|>"
#: The tiny model's chat template: it marks the assistant's turn, end-of-turn token included, for assistant-only loss.
TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "<|assistant|>\n{% generation %}{{ message['content'] }}<|end|>{% endgeneration %}\n"
    "{% else %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def save_tiny_model(folder, texts) -> None:
    """Saves to ``folder`` a byte-level BPE tokenizer trained on ``texts`` (`save_tiny_tokenizer`) and a tiny Llama,
    randomly initialised with a fixed seed: offline and on a CPU, it stands in for a model name. Needs tokenizers,
    transformers and torch."""
    import torch
    import transformers

    tokenizer = save_tiny_tokenizer(folder, texts)
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(config).save_pretrained(folder)


def save_tiny_tokenizer(folder, texts):
    """Saves to ``folder``, and returns, a byte-level BPE tokenizer trained on ``texts`` (eos `TINY_EOS`, pad
    `TINY_PAD`, chat template `TINY_CHAT_TEMPLATE`). Needs tokenizers and transformers, not torch."""
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=1000,
            special_tokens=["<|user|>", "<|assistant|>", TINY_EOS, TINY_PAD],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=bpe, chat_template=TINY_CHAT_TEMPLATE, eos_token=TINY_EOS, pad_token=TINY_PAD
    )
    tokenizer.save_pretrained(folder)
    return tokenizer


def imports(source: str, kit: str) -> set:
    """The top-level packages a script's (or the kit's) source imports; a relative import must be of `kit`."""
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # the one module a script may import from beside it
                assert (node.level, node.module) == (1, kit), ast.unparse(node)
                continue
            imported.add(node.module.split(".")[0])
    return imported


def guard_env(*paths: str) -> dict:
    """For a process started with an environment of its own: the guard first on PYTHONPATH (then ``paths``), its
    log, and the switches that keep the libraries from calling home."""
    keep = ("LOOPBACK_GUARD_LOG", *NO_CALLS_HOME)
    return {"PYTHONPATH": os.pathsep.join([str(GUARD_DIR), *paths]), **{key: os.environ[key] for key in keep}}


def run_fresh(request: dict, endpoint: str, home: Path, offline: bool = False, runner: str = "load_runner.py"):
    """Runs a runner script of this folder in a new process, so HF_ENDPOINT and the offline switches are read
    as a user's are; returns (exit status, the JSON object it printed last, its stderr)."""
    env = {key: value for key, value in os.environ.items() if not key.endswith("_OFFLINE")}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(home / "hf"))
    if offline:
        env.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name(runner)), json.dumps(request)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.stdout.strip(), result.stderr[-3000:]
    return result.returncode, json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def rows_digest(rows) -> dict:
    """What identifies a sequence of rows (lists of strings) without holding them: how many, a SHA-256 of them in
    order, and the sum of each row's own hash (mod 2**64), which adds up across ranks whatever their order."""
    ordered, total, count = hashlib.sha256(), 0, 0
    for row in rows:
        encoded = json.dumps(row).encode() + b"\n"
        ordered.update(encoded)
        total = (total + int.from_bytes(hashlib.sha256(encoded).digest()[:8], "big")) % 2**64
        count += 1
    return {"rows": count, "sha256": ordered.hexdigest(), "sum": total}


class LoadWorker:
    """A process of tests/load_worker.py with HF_ENDPOINT set to ``endpoint``: ``load(**request)`` asks it for one
    load and returns its answer (``{"ranks": ...}`` or ``{"error": ...}``); ``close()`` ends it. Its stderr (the
    libraries' log lines) goes to ``home / "worker.log"``, so that a long run never fills a pipe. ``env`` adds
    environment variables (the network settings, for example)."""

    def __init__(self, endpoint: str, home: Path, env: dict | None = None):
        env = {**{key: value for key, value in os.environ.items() if not key.endswith("_OFFLINE")}, **(env or {})}
        env.update(HF_ENDPOINT=endpoint, HF_HOME=str(home / "hf"))
        self.log = home / "worker.log"
        with open(self.log, "wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("load_worker.py"))],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
            )

    def load(self, **request) -> dict:
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        assert line, f"the load worker died:\n{self.log.read_text(encoding='utf-8', errors='replace')[-3000:]}"
        return json.loads(line)

    def close(self) -> None:
        self._process.stdin.close()
        self._process.wait(timeout=60)


def load_guard():
    """The guard module, installed in this process: the one it imported at start-up (a process the tests started,
    or a run with the guard's folder on PYTHONPATH), or the one loaded here before, or loaded now (which installs
    it)."""
    loaded = sys.modules.get("sitecustomize")
    if loaded is not None and hasattr(loaded, "OutsideNetworkError"):
        return loaded
    if "loopback_guard" not in sys.modules:
        spec = importlib.util.spec_from_file_location("loopback_guard", GUARD_DIR / "sitecustomize.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # installs the guard
        sys.modules["loopback_guard"] = module
    return sys.modules["loopback_guard"]


def __getattr__(name: str):
    """``loopback_guard``: the guard module (`load_guard()`), looked up when first asked for, not at import."""
    if name == "loopback_guard":
        return load_guard()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class GuardLog:
    """The guard's refusals (this process's and those of every process the tests started) not yet handed out."""

    def __init__(self, path: str):
        self.path = Path(path)
        self.offset = self.path.stat().st_size if self.path.exists() else 0  # what an earlier run wrote is not ours

    def take(self) -> list[str]:
        """The refusals written since the last call; each is handed out once, so it fails one test phase at most."""
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as f:
            f.seek(self.offset)
            text = f.read()
        self.offset += len(text.encode("utf-8"))
        return text.splitlines()
