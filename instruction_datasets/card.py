"""The dataset card of an export folder: render its generated part, keep the user's text, check it as the Hub would.

The generated body sits between two marker lines. Text a user writes above or below them (and YAML keys
export does not set) survives every later export.
"""

from __future__ import annotations

import collections
import inspect
import json
import re
from pathlib import Path

import datasets
import pyarrow.json as pa_json
import pyarrow.parquet as pq
import yaml

from . import provenance, stats, tokens, training
from .loading import declared_info

#: The line every generated part holds; a card that has it but no markers was written by an export of 0.1.0.
EXPORTED_BY = "Exported by `instruction_datasets` from its loading script: no script is needed to read it."
BEGIN = "<!-- instruction_datasets: generated part begins; export rewrites it, write your own text above or below -->"
END = "<!-- instruction_datasets: generated part ends -->"
#: Columns whose value counts the card shows per split, where a config has them.
COUNTED_COLUMNS = ("category", "source")
#: What the Hub accepts as a split name.
SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")
#: Characters `datasets` refuses in a config name (it becomes a cache folder).
BAD_CONFIG_CHARACTERS = set('<>:/\\|?*"')
#: The keys a feature may have in card YAML that `datasets` 3.x and 4.x+ both read.
FEATURE_KEYS = {"name", "dtype", "list", "sequence", "struct", "class_label", "length"}


class CardError(ValueError):
    """The card would not work on the Hub or in `datasets`; the message lists every problem."""


def pretty_name(cls: type[datasets.DatasetBuilder]) -> str:
    """The dataset's name: the first words of its script's docstring, before the colon."""
    return (inspect.getdoc(inspect.getmodule(cls)) or cls.__name__).split(":", 1)[0].strip()


def split_text(text: str) -> tuple[str, str]:
    """A card's YAML (without the ``---`` lines) and its Markdown body."""
    match = re.match(r"^---\n(.*?)\n?---\n?", text, re.DOTALL)
    return (match.group(1), text[match.end() :]) if match else ("", text)


def write(card_path: Path, yaml_text: str, generated: str, old_text: str | None) -> None:
    """Writes the card: new YAML, and the generated part in place of the old one; other text is kept."""
    _, body = split_text(old_text or "")
    block = f"{BEGIN}\n\n{generated.strip()}\n\n{END}"
    has_begin, has_end = BEGIN in body, END in body
    if has_begin != has_end:
        raise CardError(f"{card_path}: one of the marker lines is missing; expected both\n  {BEGIN}\n  {END}")
    if not has_begin and EXPORTED_BY in body:
        # Which lines of it are the user's cannot be told: duplicating it or replacing it could both lose work.
        raise CardError(
            f"{card_path}: written by an earlier export without the marker lines, so what is generated and what "
            f"is yours cannot be told apart; put the generated part between these two lines (or delete it), "
            f"then export again:\n  {BEGIN}\n  {END}"
        )
    if has_begin:
        before, rest = body.split(BEGIN, 1)
        body = before + block + rest.split(END, 1)[1]
    else:  # a card the user wrote: keep all of it, the generated part follows
        body = f"{body.rstrip()}\n\n{block}\n" if body.strip() else f"\n{block}\n"
    card_path.unlink(missing_ok=True)  # a new file: the old one may be hard-linked into the folder being replaced
    card_path.write_text(f"---\n{yaml_text.rstrip()}\n---\n{body}", encoding="utf-8")


def data_files(config: dict) -> list[tuple[str, str]]:
    """(split, pattern) pairs of a config in card YAML, in any of the forms the Hub accepts."""
    files = config.get("data_files", [])
    if isinstance(files, str):
        return [("train", files)]
    pairs = []
    for entry in files:
        if isinstance(entry, dict):
            paths = entry.get("path", [])
            pairs += [
                (str(entry.get("split", "train")), path) for path in ([paths] if isinstance(paths, str) else paths)
            ]
        else:
            pairs.append(("train", str(entry)))
    return pairs


def problems(folder: Path) -> list[str]:
    """Everything in the folder's card that the Hub would reject or `datasets` (3.x or newer) could not load."""
    card_path = folder / "README.md"
    if not card_path.is_file():
        return [f"{folder} has no README.md card"]
    try:
        meta = yaml.safe_load(split_text(card_path.read_text(encoding="utf-8"))[0]) or {}
    except yaml.YAMLError as err:
        return [f"the YAML header does not parse: {err}"]
    configs = meta.get("configs") or []
    found = [] if isinstance(configs, list) and configs else ["no `configs` list: the Hub would not know the files"]
    names = [config.get("config_name") for config in configs if isinstance(config, dict)]
    for name in names:
        if not isinstance(name, str) or not name or BAD_CONFIG_CHARACTERS & set(name) or name == "data":
            found.append(f'config name {name!r}: expected a non-empty name, not `data`, without any of <>:/\\|?*"')
    found += [f"config {name!r} is declared twice" for name, n in collections.Counter(names).items() if n > 1]
    defaults = [config.get("config_name") for config in configs if config.get("default")]
    if len(defaults) != 1:
        found.append(f"expected exactly one config marked `default: true`, found {len(defaults)} ({defaults})")
    suffixes = collections.defaultdict(set)
    for config in configs:
        for split, pattern in data_files(config):
            if not SPLIT_NAME.match(split):
                found.append(
                    f"config {config.get('config_name')!r}: split name {split!r} does not match {SPLIT_NAME.pattern}"
                )
            matched = [path for path in folder.glob(pattern) if path.is_file()]
            if not matched:
                found.append(f"config {config.get('config_name')!r}: data_files pattern {pattern!r} matches no file")
            for path in matched:
                suffixes[path.suffix].add(config.get("config_name"))
    if len(suffixes) > 1:
        mix = "; ".join(f"{suffix}: {', '.join(sorted(map(str, names)))}" for suffix, names in sorted(suffixes.items()))
        found.append(
            f"configs in several file formats ({mix}): `load_dataset` reads every config of a repo with one builder"
        )
    infos = meta.get("dataset_info") or []
    for info in [infos] if isinstance(infos, dict) else infos:
        name = info.get("config_name")
        found += [f"dataset_info of {name!r}: {problem}" for problem in _feature_problems(info.get("features", []))]
        for split in info.get("splits") or []:
            if not SPLIT_NAME.match(str(split.get("name"))):
                found.append(
                    f"dataset_info of {name!r}: split name {split.get('name')!r} does not match {SPLIT_NAME.pattern}"
                )
    return found


def _feature_problems(features) -> list[str]:
    """Feature YAML that only one `datasets` line reads (4.x's ``_type: List``), or that this line cannot read."""
    found = []

    def walk(node, where):
        if isinstance(node, list):
            for item in node:
                walk(item, where)
        elif isinstance(node, dict):
            unknown = sorted(set(node) - FEATURE_KEYS)
            if unknown:
                found.append(f"feature {where}: keys {unknown} are not read by every datasets line (3.x and newer)")
            for key in ("list", "sequence", "struct"):
                if key in node:
                    walk(node[key], f"{where}.{node.get('name', key)}")

    for feature in features if isinstance(features, list) else [features]:
        walk(feature, str(feature.get("name") if isinstance(feature, dict) else feature))
    if not found:
        try:
            datasets.Features._from_yaml_list(features)
        except Exception as err:  # whatever datasets raises, it cannot read these features
            found.append(f"features do not load in datasets {datasets.__version__}: {err}")
    return found


def check(folder: Path) -> None:
    """Raises `CardError` naming the card and every problem, if there is any."""
    found = problems(Path(folder))
    if found:
        raise CardError(f"{Path(folder) / 'README.md'} would be refused:\n  " + "\n  ".join(found))


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
        entry["rows"] += table.num_rows
        for column in COUNTED_COLUMNS:
            if column in table.column_names:
                entry[column].update(table.column(column).to_pylist())
    return per_split


def render_body(cls: type[datasets.DatasetBuilder], out: Path, configs: list[str], default: str) -> str:
    """The card's generated Markdown, from the builder's declarations and the exported files."""
    module = inspect.getmodule(cls)
    info = declared_info(cls, cls.DEFAULT_CONFIG_NAME)
    lines = [f"# {pretty_name(cls)}", "", info.description.split("\n\n")[0], ""]
    lines += [EXPORTED_BY, ""]
    lines += ["```python", "import datasets", f'ds = datasets.load_dataset("<this repo>", "{default}")', "```", ""]
    lines += ["## Configs", "", "| config | split | rows |", "|---|---|---|"]
    counts = {config: _counts(out / "data" / config) for config in configs}
    for config in configs:
        for split, entry in counts[config].items():
            lines.append(f"| `{config}`{' (default)' if config == default else ''} | {split} | {entry['rows']:,} |")
    lines += ["", "## Columns", "", "| column | type |", "|---|---|"]
    lines += [f"| `{column}` | {_type_name(feature)} |" for column, feature in info.features.items()]
    lines += ["", "## How the rows were made", "", inspect.getdoc(module) or "", ""]
    parse_rule = getattr(module, "parse_text", None)
    if parse_rule is not None:
        lines += ["How each `text` is split into `prompt` and `response`:", "", inspect.getdoc(parse_rule), ""]
    for column in COUNTED_COLUMNS:
        tables = [(c, split, entry[column]) for c in configs for split, entry in counts[c].items() if entry[column]]
        if tables:
            lines += [f"## Rows per {column}", "", f"| config | split | {column} | rows |", "|---|---|---|---|"]
            for config, split, counter in tables:
                lines += [f"| `{config}` | {split} | `{value}` | {n:,} |" for value, n in sorted(counter.items())]
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
    # The Hub commit and SHA-256 of the files each config was read from.
    sources = provenance.card_markdown(out, cls.__module__.rsplit(".", 1)[-1], configs)
    lines += [sources] if sources else []
    lines += training.card_section(default)
    lines += ["## Configs described", ""]
    lines += [f"- `{config}`: {cls.builder_configs[config].description}" for config in configs]
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
