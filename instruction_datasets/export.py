"""Script-free export: Parquet shards plus a dataset card whose YAML the Hub viewer and every `datasets` read.

Layout of an export folder, one builder per folder:

    README.md                                   card: YAML (configs, dataset_info, ...) + generated body
    data/<config>/<split>-00000-of-00001.parquet

Exporting a config replaces that config's shards and card entries and keeps the others, as
``push_to_hub(config_name=...)`` does. The card body is regenerated from the builder and from the
Parquet files present, so it always describes what the folder holds.
"""

from __future__ import annotations

import collections
import functools
import inspect
import json
import os
import shutil
from pathlib import Path

import datasets
import jsonlines
import pyarrow.json as pa_json
import pyarrow.parquet as pq
from datasets.utils.metadata import MetadataConfigs
from datasets.utils.py_utils import convert_file_size_to_int
from huggingface_hub import DatasetCard, DatasetCardData, HfApi

from . import stats, tokens, training
from .loading import builder_class, declared_info, load, script_path

#: What `push_to_hub` uses by default: a split larger than this is written as several shards.
DEFAULT_MAX_SHARD_SIZE = datasets.config.MAX_SHARD_SIZE
TASK_CATEGORIES = ["text-generation"]
#: Columns whose value counts the card shows per split, where a config has them.
COUNTED_COLUMNS = ("category", "source")


def _pretty_name(script: str) -> str:
    """The dataset's name: the first words of its script's docstring, before the colon."""
    module = inspect.getmodule(builder_class(script))
    return (inspect.getdoc(module) or script).split(":", 1)[0].strip()


def export(
    path: str | os.PathLike,
    config: str,
    out: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    max_shard_size: str | int = DEFAULT_MAX_SHARD_SIZE,
    cache_dir: str | os.PathLike | None = None,
    file_format: str = "parquet",
    tokenizer=None,
) -> dict[str, dict[str, int]]:
    """Writes one config of a builder into an export folder; returns rows and bytes per split.

    ``file_format`` is ``"parquet"`` (what the Hub viewer pages through) or ``"jsonl"`` (UTF-8 JSON Lines
    for tools that take them; ``load_dataset("json")`` reads them back as the same rows). With a ``tokenizer``
    (a name, a folder or a tokenizer object) the card also shows token lengths (see `tokens`).
    """
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {', '.join(FILE_FORMATS)}, not {file_format!r}")
    tokenizer = tokens.load_tokenizer(tokenizer) if tokenizer is not None else None  # fails before any writing
    script = script_path(path).stem
    cls = builder_class(script)
    if config not in cls.builder_configs:
        raise ValueError(f"{script} has no config {config!r}; configs: {', '.join(cls.builder_configs)}")
    out = Path(out)
    card_path = out / "README.md"
    card_data = DatasetCard.load(card_path).data if card_path.is_file() else DatasetCardData()
    pretty_name = _pretty_name(script)
    if card_data.get("pretty_name") not in (None, pretty_name):
        raise ValueError(f"{out} holds an export of {card_data.get('pretty_name')!r}, not of {pretty_name!r}")

    dataset_dict = load(script, config, data_dir=data_dir, cache_dir=cache_dir)
    config_dir = out / "data" / config
    if config_dir.exists():
        shutil.rmtree(config_dir)  # no stale shards from an earlier export of this config
    config_dir.mkdir(parents=True)

    max_bytes = convert_file_size_to_int(max_shard_size)
    splits = datasets.SplitDict(dataset_name=script)
    data_files, summary, download_size = [], {}, 0
    for split, dataset in dataset_dict.items():
        nbytes = dataset._estimate_nbytes()
        # The same rule as push_to_hub: one shard per started max_shard_size, at most one per row.
        num_shards = max(1, min(int(nbytes / max_bytes) + 1, dataset.num_rows))
        file_bytes = 0
        for index in range(num_shards):
            shard_path = config_dir / f"{split}-{index:05d}-of-{num_shards:05d}.{file_format}"
            FILE_FORMATS[file_format](dataset.shard(num_shards=num_shards, index=index, contiguous=True), shard_path)
            file_bytes += shard_path.stat().st_size
        splits.add(datasets.SplitInfo(name=split, num_bytes=nbytes, num_examples=dataset.num_rows))
        data_files.append({"split": split, "path": f"data/{config}/{split}-*"})
        summary[split] = {"rows": dataset.num_rows, "bytes": file_bytes, "shards": num_shards}
        download_size += file_bytes

    figures = stats.collect_from(dataset_dict, script, config, tokenizer=tokenizer)
    (out / "stats").mkdir(exist_ok=True)
    stats.write_json(figures, out / "stats" / f"{config}.json")
    stats.plot(figures, out / "stats" / f"{config}.png")

    builder_info = next(iter(dataset_dict.values())).info
    info = datasets.DatasetInfo(
        features=builder_info.features,
        splits=splits,
        download_size=download_size,
        dataset_size=sum(split.num_bytes for split in splits.values()),
        config_name=config,
    )
    datasets.info.DatasetInfosDict({config: info}).to_dataset_card_data(card_data)
    configs = MetadataConfigs.from_dataset_card_data(card_data)
    configs[config] = {"data_files": data_files}
    for name, params in configs.items():
        params.pop("default", None)
        if name == cls.DEFAULT_CONFIG_NAME:
            params["default"] = True
    configs.to_dataset_card_data(card_data)

    # Languages of the configs the folder holds; a config that declares none is English.
    languages = sorted({getattr(cls.builder_configs[name], "language", "") or "en" for name in configs})
    card_data["license"] = builder_info.license
    card_data["language"] = languages
    card_data["task_categories"] = TASK_CATEGORIES
    card_data["pretty_name"] = pretty_name
    body = render_body(script, out, sorted(configs))
    card_path.write_text(f"---\n{card_data.to_yaml()}\n---\n\n{body}", encoding="utf-8")
    return summary


def _write_parquet(dataset: datasets.Dataset, path: Path) -> None:
    dataset.to_parquet(str(path))


def _write_jsonl(dataset: datasets.Dataset, path: Path) -> None:
    # Not ASCII-escaped: Chinese and emoji stay readable.
    with jsonlines.open(path, mode="w", dumps=functools.partial(json.dumps, ensure_ascii=False)) as writer:
        for batch in dataset.iter(batch_size=1000):
            writer.write_all(dict(zip(batch, values, strict=True)) for values in zip(*batch.values(), strict=True))


#: Shard writers by file format (the suffix of the shard files).
FILE_FORMATS = {"parquet": _write_parquet, "jsonl": _write_jsonl}


def _counts(config_dir: Path) -> dict[str, dict[str, object]]:
    """Per split: rows, and value counts of the counted columns, read back from the exported shards."""
    per_split: dict[str, dict[str, object]] = {}
    for shard in sorted(config_dir.glob("*-of-*.*")):
        split = shard.name.split("-", 1)[0]
        entry = per_split.setdefault(
            split, {"rows": 0, **{column: collections.Counter() for column in COUNTED_COLUMNS}}
        )
        if shard.suffix == ".parquet":
            table = pq.read_table(shard)
        else:
            table = pa_json.read_json(shard, parse_options=pa_json.ParseOptions(newlines_in_values=False))
        present = [column for column in COUNTED_COLUMNS if column in table.column_names]
        entry["rows"] += table.num_rows
        for column in present:
            entry[column].update(table.column(column).to_pylist())
    return per_split


def render_body(script: str, out: Path, configs: list[str]) -> str:
    """The card's Markdown body, from the builder's declarations and the exported files."""
    cls = builder_class(script)
    module = inspect.getmodule(cls)
    default = cls.builder_configs[cls.DEFAULT_CONFIG_NAME]
    info = declared_info(cls, default.name)
    lines = [f"# {_pretty_name(script)}", "", info.description.split("\n\n")[0], ""]
    lines += [
        "Exported by `instruction_datasets` from its loading script: no script is needed to read it.",
        "",
        "```python",
        "import datasets",
        f'ds = datasets.load_dataset("<this repo>", "{configs[0]}")',
        "```",
        "",
        "## Configs",
        "",
        "| config | split | rows |",
        "|---|---|---|",
    ]
    counts = {config: _counts(out / "data" / config) for config in configs}
    for config in configs:
        for split, entry in counts[config].items():
            lines.append(
                f"| `{config}`{' (default)' if config == default.name else ''} | {split} | {entry['rows']:,} |"
            )
    lines += ["", "## Columns", "", "| column | type |", "|---|---|"]
    for column, feature in info.features.items():
        lines.append(f"| `{column}` | {_type_name(feature)} |")
    lines += ["", "## How the rows were made", "", inspect.getdoc(module) or "", ""]
    parse_rule = getattr(module, "parse_text", None)
    if parse_rule is not None:
        lines += ["How each `text` is split into `prompt` and `response`:", "", inspect.getdoc(parse_rule), ""]
    for column in COUNTED_COLUMNS:
        tables = [
            (config, split, entry[column])
            for config in configs
            for split, entry in counts[config].items()
            if entry[column]
        ]
        if tables:
            lines += [f"## Rows per {column}", "", f"| config | split | {column} | rows |", "|---|---|---|---|"]
            for config, split, counter in tables:
                for value, n in sorted(counter.items()):
                    lines.append(f"| `{config}` | {split} | `{value}` | {n:,} |")
            lines.append("")
    lines += ["## A look at the rows", ""]
    for config in configs:
        figures_path = out / "stats" / f"{config}.json"
        if figures_path.is_file():
            figures = json.loads(figures_path.read_text(encoding="utf-8"))
            lines += [f"### `{config}`", "", f"![Lengths and mix of {config}](stats/{config}.png)", ""]
            lines += [stats.to_markdown(figures), ""]
            if "tokens" in figures:
                lines += [tokens.to_markdown(figures["tokens"]), ""]
    lines += training.card_section(configs[0])
    lines += ["## Configs described", ""]
    for config in configs:
        lines.append(f"- `{config}`: {cls.builder_configs[config].description}")
    lines += ["", "## About the data", "", info.description, "", f"Homepage: {info.homepage}", ""]
    lines += [f"License: `{info.license}`.", "", "## Citation", "", "```bibtex", info.citation.strip(), "```", ""]
    return "\n".join(lines)


def _type_name(feature) -> str:
    if isinstance(feature, datasets.Value):
        return feature.dtype
    if isinstance(feature, list):
        return f"list of {{{', '.join(feature[0])}}}"
    inner = getattr(feature, "feature", None)  # `datasets.List` in 4.x and later
    if isinstance(inner, dict):
        return f"list of {{{', '.join(inner)}}}"
    return type(feature).__name__


def push(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    revision: str | None = None,
    private: bool = False,
    dry_run: bool = False,
) -> list[str]:
    """Uploads an export folder to a Hub dataset repo in one commit; returns the files it holds.

    The token comes from where `huggingface_hub` looks (``HF_TOKEN``, the saved login) and is never printed.
    With ``dry_run`` nothing touches the network.
    """
    folder = Path(folder)
    if not (folder / "README.md").is_file():
        raise FileNotFoundError(f"{folder} is not an export folder: it has no README.md card")
    files = sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())
    message = commit_message(folder)
    print(
        f"{'would upload' if dry_run else 'uploading'} {len(files)} file(s) to datasets/{repo_id}"
        f"{f'@{revision}' if revision else ''} in one commit: {message!r}"
    )
    for name in files:
        print(f"  {name}")
    if dry_run:
        return files
    api = HfApi()
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    if revision:
        api.create_branch(repo_id, repo_type="dataset", branch=revision, exist_ok=True)
    commit = api.upload_folder(
        folder_path=str(folder), repo_id=repo_id, repo_type="dataset", revision=revision, commit_message=message
    )
    print(f"committed: {commit.commit_url}")
    return files


def commit_message(folder: Path) -> str:
    """A commit message that says which configs the folder holds."""
    configs = (
        sorted(path.name for path in (folder / "data").iterdir() if path.is_dir()) if (folder / "data").is_dir() else []
    )
    return f"Upload {', '.join(configs) or 'card'} (export by instruction_datasets)"
