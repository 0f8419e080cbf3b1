"""The dataset card of an export folder: render its generated part, keep the user's text, check it as the Hub would.

The generated body sits between two marker lines. Text a user writes above or below them (and YAML keys
export does not set) survives every later export. What the card shows of each config (rows, figures,
provenance) is handed to `render_body` by `export`: measured as it writes a config, or read back from the folder
(paths from `layout`) for a config kept from an earlier export.
"""

from __future__ import annotations

import collections
import dataclasses
import re
from pathlib import Path

import datasets
import yaml

from . import card_text, layout, provenance, stats, tokens, training
from .loading import declared_info

#: The line every generated part holds; a card that has it but no markers was written by an export of 0.1.0.
EXPORTED_BY = "Exported by `instruction_datasets` from its loading script: no script is needed to read it."
BEGIN = "<!-- instruction_datasets: generated part begins; export rewrites it, write your own text above or below -->"
END = "<!-- instruction_datasets: generated part ends -->"
#: What the snippets say for the repo id until one is given (`export --repo-id`, or `push` fills it in).
PLACEHOLDER = "YOUR_ORG/YOUR_DATASET"
#: The line that marks the placeholder as one; `fill_repo_id` removes it.
PLACEHOLDER_NOTE = "> **Placeholder:**"
#: The Hub's size buckets (`size_categories`), by the number of rows they end below.
SIZE_CATEGORIES = [
    (10**3, "n<1K"),
    (10**4, "1K<n<10K"),
    (10**5, "10K<n<100K"),
    (10**6, "100K<n<1M"),
    (10**7, "1M<n<10M"),
    (10**8, "10M<n<100M"),
    (10**9, "100M<n<1B"),
    (10**10, "1B<n<10B"),
    (10**11, "10B<n<100B"),
    (10**12, "100B<n<1T"),
]
#: Tags of every exported card: what the rows are for, and their form.
TAGS = ["instruction-tuning", "sft", "chat", "conversational"]
#: Entries a long table shows (the largest); the rest are summed in one line.
TOP_ENTRIES = 8
#: What the Hub accepts as a split name.
SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")
#: Characters `datasets` refuses in a config name (it becomes a cache folder).
BAD_CONFIG_CHARACTERS = set('<>:/\\|?*"')
#: The keys a feature may have in card YAML that `datasets` 3.x and 4.x+ both read.
FEATURE_KEYS = {"name", "dtype", "list", "sequence", "struct", "class_label", "length"}


@dataclasses.dataclass(frozen=True)
class ConfigFacts:
    """What the card shows of one exported config; `export` measures it and hands it to `render_body`."""

    #: Per split: ``"rows"``, and a ``Counter`` of the values of each column of `stats.GROUP_COLUMNS`.
    counts: dict[str, dict[str, object]]
    #: Where the rows came from (`provenance.record`); empty when the folder holds no record of it.
    record: dict
    #: The figures of `stats.collect_from` as written to JSON; None when the folder holds none.
    figures: dict | None = None
    #: The figures' JSON file and the picture, as paths relative to the card.
    figures_file: str = ""
    picture: str = ""
    #: The shards' file format: "parquet" or "jsonl".
    file_format: str = "parquet"


class CardError(ValueError):
    """The card would not work on the Hub or in `datasets`; the message lists every problem, one per line."""

    #: The command line prints the message's lines as they are, instead of joining them into one.
    one_per_line = True


def pretty_name(cls: type[datasets.DatasetBuilder]) -> str:
    """The dataset's name, as its builder declares it (``PRETTY_NAME``); the class name if it declares none."""
    return getattr(cls, "PRETTY_NAME", "") or cls.__name__


def split_text(text: str) -> tuple[str, str]:
    """A card's YAML (without the ``---`` lines) and its Markdown body."""
    match = re.match(r"^---\n(.*?)\n?---\n?", text, re.DOTALL)
    return (match.group(1), text[match.end() :]) if match else ("", text)


def check_markers(card_path: Path, text: str | None) -> None:
    """Raises `CardError`, naming ``card_path``, if the card's generated part cannot be told from the user's text.

    Export calls it on the user's own card before any work, so the message names that file.
    """
    _, body = split_text(text or "")
    has_begin, has_end = BEGIN in body, END in body
    if has_begin != has_end:
        missing, where = (END, "end") if has_begin else (BEGIN, "beginning")
        raise CardError(
            f"{card_path}: one of the marker lines is missing: {missing} (it marks where the generated part "
            f"{'ends' if has_begin else 'begins'}); put it back on a line of its own at the {where} of the "
            "generated part, or delete the other marker line and the generated text, then export again"
        )
    if not has_begin and EXPORTED_BY in body:
        # Which lines of it are the user's cannot be told: duplicating it or replacing it could both lose work.
        raise CardError(
            f"{card_path}: written by an earlier export without the marker lines, so what is generated and what "
            f"is yours cannot be told apart; put the generated part between these two lines (or delete it), "
            f"then export again:  {BEGIN}  {END}"
        )


def exported_dataset(text: str | None) -> str | None:
    """The name of the dataset whose export wrote the card's generated part (its title), or None if it has none.

    The YAML's ``pretty_name`` is the user's to edit; the generated part says which dataset the folder holds.
    """
    _, body = split_text(text or "")
    if BEGIN not in body or END not in body:
        return None
    generated = body.split(BEGIN, 1)[1].split(END, 1)[0]
    title = re.search(r"^# (?:Dataset Card for )?(.+?)\s*$", generated, re.MULTILINE)
    return title.group(1) if title else None


def write(card_path: Path, yaml_text: str, generated: str, old_text: str | None) -> None:
    """Writes the card: new YAML, and the generated part in place of the old one; other text is kept."""
    check_markers(card_path, old_text)
    _, body = split_text(old_text or "")
    block = f"{BEGIN}\n\n{generated.strip()}\n\n{END}"
    if BEGIN in body:
        before, rest = body.split(BEGIN, 1)
        body = before + block + rest.split(END, 1)[1]
    else:  # a card the user wrote: keep all of it, the generated part follows
        body = f"{body.rstrip()}\n\n{block}\n" if body.strip() else f"\n{block}\n"
    card_path.unlink(missing_ok=True)  # a new file: the old one may be hard-linked into the folder being replaced
    card_path.write_text(f"---\n{yaml_text.rstrip()}\n---\n{body}", encoding="utf-8")


def fill_repo_id(text: str, repo_id: str) -> str:
    """The card with ``repo_id`` in the generated part's snippets, in place of the placeholder or an older id.

    Text outside the generated part is the user's and stays as it is.
    """
    yaml_text, body = split_text(text)
    if BEGIN not in body or END not in body:
        return text
    before, rest = body.split(BEGIN, 1)
    generated, after = rest.split(END, 1)
    named = re.search(r'load_dataset\("([^"]+)"', generated)
    if named is None:
        return text
    generated = generated.replace(f'"{named.group(1)}"', f'"{repo_id}"')
    generated = "".join(line for line in generated.splitlines(keepends=True) if not line.startswith(PLACEHOLDER_NOTE))
    return f"---\n{yaml_text}\n---\n{before}{BEGIN}{generated}{END}{after}"


def repo_id_in(text: str) -> str | None:
    """The repo id the generated part's snippets name (``PLACEHOLDER`` when none was given)."""
    named = re.search(r'load_dataset\("([^"]+)"', text.split(BEGIN, 1)[-1])
    return named.group(1) if named else None


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

    card_path = layout.card_path(folder)
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
        raise CardError(f"{layout.card_path(folder)} would be refused:\n  " + "\n  ".join(found))


def size_category(rows: int) -> str:
    """The Hub's ``size_categories`` bucket of a number of rows (``n<1K`` up to ``n>1T``)."""
    return next((name for limit, name in SIZE_CATEGORIES if rows < limit), "n>1T")


def render_body(
    cls: type[datasets.DatasetBuilder],
    configs: list[str],
    default: str,
    facts: dict[str, ConfigFacts],
    repo_id: str | None = None,
) -> str:
    """The card's generated Markdown, from the dataset's words (`card_text`) and what export measured (``facts``).

    ``repo_id`` names the dataset in the snippets; without one they name ``PLACEHOLDER``, marked as such.
    """
    info = declared_info(cls, default)
    about = card_text.words_of(cls)
    counts = {config: facts[config].counts for config in configs}
    records = {config: facts[config].record for config in configs}
    repo = repo_id or PLACEHOLDER
    # The values each grouped column takes in this export: words about rows of one kind are said only where they are.
    held = {
        column: {value for config in configs for split in counts[config].values() for value in split[column]}
        for column in stats.GROUP_COLUMNS
    }

    def said(words) -> str:
        return words.words(held.get(words.column, set())) if isinstance(words, card_text.IfHeld) else words

    licence = _licence(about.licence if about else f"`{info.license}`", records)
    languages = sorted({getattr(cls.builder_configs[c], "language", "") or "en" for c in configs})
    lines = [f"# Dataset Card for {pretty_name(cls)}", ""]
    if about is not None and about.licence_warning:
        lines += [f"> {about.licence_warning}", ""]
    lines += [about.summary if about else info.description.split("\n\n")[0], ""]
    lines += _origin_note(records, counts)
    lines += [EXPORTED_BY, ""]
    lines += ["```python", "import datasets", "", f'ds = datasets.load_dataset("{repo}", "{default}")', "```", ""]
    if repo_id is None:
        lines += [
            f"{PLACEHOLDER_NOTE} `{PLACEHOLDER}` stands for this dataset's repo id; replace it with yours "
            "(`python -m instruction_datasets push --repo-id ORG/NAME` fills it in).",
            "",
        ]
    lines += ["## Dataset Details", "", "### Dataset Description", ""]
    lines += [f"- **Curated by:** {about.curated_by}"] if about else []
    lines += [f"- **Language(s):** {', '.join(card_text.LANGUAGE_NAMES.get(code, code) for code in languages)}"]
    lines += [f"- **License:** {licence}"]
    if about:
        lines += ["", "### Dataset Sources", "", f"- **Repository:** {about.repository.format(commit=cls.COMMIT)}"]
        lines += [f"- **Paper:** {about.paper}"] if about.paper else []
    lines += ["", "### Configs and rows", ""]
    lines += _configs_table(cls, about, configs, default, counts, records)
    lines += _empty_responses(configs, counts, records)
    lines += _one_split(default, counts[default], facts[default].file_format)
    if about:
        lines += ["## Uses", "", "### Direct Use", "", about.direct_use, ""]
        lines += ["### Out-of-Scope Use", "", said(about.out_of_scope), ""]
    lines += ["## Dataset Structure", "", "### Columns", "", "| column | type | what it holds |", "|---|---|---|"]
    for column, feature in info.features.items():
        words = (about.columns.get(column, "") if about else "").replace(
            "{values}", _config_list(sorted(held.get(column, ())))
        )
        lines.append(f"| `{column}` | {_type_name(feature)} | {words} |")
    lines.append("")
    if about:
        lines += ["### How each row is made", ""]
        for paragraph in about.how_made:
            lines += [paragraph, ""]
    for column in stats.GROUP_COLUMNS:
        lines += _value_table(column, configs, counts)
    lines += ["### A look at the rows", ""]
    for config in configs:
        figures = facts[config].figures
        if figures is not None:
            lines += [f"#### `{config}`", "", f"![Lengths and mix of {config}]({facts[config].picture})", ""]
            lines += [stats.to_markdown(figures, top=TOP_ENTRIES), ""]
            lines += [f"All figures, for every group: `{facts[config].figures_file}`.", ""]
            if "tokens" in figures:
                lines += [tokens.to_markdown(figures["tokens"]), ""]
    lines += ["## Dataset Creation", "", "### Source Data", ""]
    lines += _where_from(cls, records)
    if about:
        producers = [about.producers_by_config[config] for config in configs if config in about.producers_by_config]
        lines += ["#### Who are the source data producers?", "", " ".join([*producers, about.producers]), ""]
        lines += ["## Bias, Risks, and Limitations", ""]
        lines += [f"- {said(risk)}" for risk in about.risks if said(risk)] + [""]
        lines += ["### Recommendations", "", said(about.recommendations), ""]
    holds_empty = any(split["empty_responses"] for config in configs for split in counts[config].values())
    token_table = any("tokens" in (facts[config].figures or {}) for config in configs)
    lines += training.card_section(default, repo, holds_empty, stats.split_order(counts[default]), token_table)
    lines += ["## License", ""]
    lines += [licence, ""]
    lines += ["## Citation", "", "```bibtex", info.citation.strip(), "```", ""]
    return "\n".join(lines)


def _config_list(configs) -> str:
    return ", ".join(f"`{config}`" for config in configs)


def _origin_note(records: dict[str, dict], counts: dict) -> list[str]:
    """A note at the top when rows come from the bundled samples or a local copy, not from upstream."""
    lines = []
    samples = [config for config, record in records.items() if record.get("origin") == "samples"]
    local = [config for config, record in records.items() if record.get("origin") == "data_dir"]
    if samples:
        lines += [
            f"> **Sample rows, not the dataset.** {_config_list(samples)}: exported from the samples bundled with "
            "the `instruction_datasets` package, a few rows that package wrote in the upstream format to test with. "
            "They are not upstream data, and the row counts below are those of the samples.",
            "",
        ]
    if local:
        lines += [
            f"> **From a local copy.** {_config_list(local)}: exported from a local copy of the upstream files, read "
            "as it was; its bytes were not compared with upstream's.",
            "",
        ]
    return lines


def _licence(licence: str, records: dict[str, dict]) -> str:
    """The licence in words; rows the package wrote (the samples) are under the package's own licence, said first."""
    samples = [config for config, record in records.items() if record.get("origin") == "samples"]
    if not samples:
        return licence
    which = "The rows of this export" if len(samples) == len(records) else f"The rows of {_config_list(samples)}"
    return (
        f"{which} are samples the `instruction_datasets` package wrote in the upstream format to test with, under "
        f"that package's licence, Apache-2.0. The upstream data itself: {licence}"
    )


def _one_split(config: str, counts: dict, file_format: str) -> list[str]:
    """How to read one split of a config with pandas, polars or DuckDB: the split is only in the shards' names."""
    splits = stats.split_order(counts)
    split = splits[0]
    pattern = f"data/{config}/{split}-*.{file_format}"
    if file_format == "parquet":
        readers = [
            f'{split} = pd.concat(pd.read_parquet(path) for path in sorted(glob.glob("{pattern}")))',
            f'{split} = pl.read_parquet("{pattern}")',
            f"{split} = duckdb.sql(\"SELECT * FROM '{pattern}'\").df()",
        ]
    else:
        readers = [
            f'{split} = pd.concat(pd.read_json(path, lines=True) for path in sorted(glob.glob("{pattern}")))',
            f'{split} = pl.read_ndjson("{pattern}")',
            f"{split} = duckdb.sql(\"SELECT * FROM read_json_auto('{pattern}')\").df()",
        ]
    mixed = (
        f" Reading `data/{config}` whole gives {' and '.join(f'`{name}`' for name in splits)} together."
        if len(splits) > 1
        else ""
    )
    return [
        "### Read one split without `datasets`",
        "",
        "In a copy of this folder, a split's rows are the files named after it: "
        f"`data/<config>/<split>-*.{file_format}`.{mixed} With pandas, polars or DuckDB, `{split}` of `{config}`:",
        "",
        "```python",
        "import glob",
        "",
        "import duckdb",
        "import pandas as pd",
        "import polars as pl",
        "",
        *readers,
        "```",
        "",
    ]


def _configs_table(cls, about, configs: list[str], default: str, counts: dict, records: dict) -> list[str]:
    """One line per config: what it holds (and what this export left out of it), and the rows of each split."""

    splits = stats.split_order({split for config in configs for split in counts[config]})
    lines = [
        "Rows are those of this export, per split.",
        "",
        "| config | what it holds | " + " | ".join(splits) + " |",
        "|---|---|" + "---:|" * len(splits),
    ]
    for config in configs:
        described = about.configs.get(config) if about else None
        described = described or cls.builder_configs[config].description or ""
        left_out = sum((records[config].get(layout.EMPTY_LEFT_OUT) or {}).values())
        if left_out:
            described += f" This export leaves out its {left_out:,} row(s) with an empty `response`."
        name = f"`{config}`{' (default)' if config == default else ''}"
        cells = [f"{counts[config][split]['rows']:,}" if split in counts[config] else "" for split in splits]
        lines.append(f"| {name} | {described} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _empty_responses(configs: list[str], counts: dict, records: dict[str, dict]) -> list[str]:
    """How many rows of each config and split have an empty response, and how many an export left out."""

    def listed(per_config: dict[str, dict[str, int]]) -> str:
        return ", ".join(
            f"`{config}` {split} {count:,}"
            for config, splits in per_config.items()
            for split, count in sorted(splits.items(), key=lambda item: stats.split_rank(item[0]))
            if count
        )

    held = listed({config: {split: n["empty_responses"] for split, n in counts[config].items()} for config in configs})
    left_out = listed({config: records[config].get(layout.EMPTY_LEFT_OUT) or {} for config in configs})
    lines = []
    if held:
        lines.append(
            f"Rows with an empty `response`: {held}. Their prompt has no answer; trained on, they teach a model to "
            "answer with nothing. The TRL recipe below leaves them out; for LLaMA-Factory and Axolotl, which cannot, "
            f"export with `{training.DROP_OPTION}`."
        )
    else:
        lines.append("No row of this export has an empty `response`.")
    if left_out:
        lines.append(f"Left out of this export for an empty `response` (`{training.DROP_OPTION}`): {left_out}.")
    return [" ".join(lines), ""]


def _value_table(column: str, configs: list[str], counts: dict) -> list[str]:
    """Rows per value of ``column``: the largest values, then one line for the rest; one column per config split.

    Configs whose split holds a single value are left out (the config's description names it).
    """
    shown = [
        (config, split, counts[config][split][column])
        for config in configs
        for split in stats.split_order(counts[config])
        if len(counts[config][split][column]) > 1
    ]
    if not shown:
        return []
    total = collections.Counter()
    for _, _, counter in shown:
        total.update(counter)
    first = shown[0][2]  # the default config comes first when it is in the table
    order = sorted(total, key=lambda value: (-first.get(value, 0), -total[value], value))
    top = order[:TOP_ENTRIES]
    several_splits = any(len(counts[config]) > 1 for config, _, _ in shown)
    names = [f"`{config}` {split}" if several_splits else f"`{config}`" for config, split, _ in shown]
    lines = [f"### Rows per {column}", ""]
    lines += [f"| {column} | " + " | ".join(names) + " |", "|---|" + "---:|" * len(shown)]
    for value in top:
        lines.append(f"| `{value}` | " + " | ".join(f"{counter.get(value, 0):,}" for _, _, counter in shown) + " |")
    rest = [value for value in total if value not in top]
    if rest:
        cells = [f"{sum(counter.get(value, 0) for value in rest):,}" for _, _, counter in shown]
        lines.append(f"| {len(rest):,} other {column} values | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _where_from(cls, records: dict[str, dict]) -> list[str]:
    """Where each config's files came from: the samples, a local copy, a Hub commit or the pinned GitHub commit."""
    lines = ["Where the files of each config came from:", ""]
    by_text: dict[str, list[str]] = {}
    hub = []
    for config, record in records.items():
        origin = record.get("origin")
        if record.get("files"):
            hub.append(config)
            continue
        if origin == "samples":
            text = "the samples bundled with the `instruction_datasets` package (written by that package, not upstream)"
        elif origin == "data_dir":
            text = "a local copy of the upstream files, read as it was (not compared with upstream's hashes)"
        else:
            text = record.get("source") or download_origin(cls, config) or "downloaded by the loading script"
        by_text.setdefault(text, []).append(config)
    for text, names in by_text.items():
        lines.append(f"- {_config_list(names)}: {text}.")
    if hub:
        lines.append(f"- {_config_list(hub)}: the Hub, at the commit and with the SHA-256 below.")
    lines.append("")
    if hub:
        table = provenance.card_markdown({config: records[config] for config in hub}, cls.__module__.rsplit(".", 1)[-1])
        lines += [table.replace("## Source files", "#### Hub files", 1), ""]
    return lines


def download_origin(cls, config: str, **settings) -> str | None:
    """Where a download of ``config`` comes from when the builder names its files by URL (alpha: GitHub, or the
    ``base_url=`` among ``settings``), as the builder says it (``download_origin``); None for a builder that does
    not (Align-Anything: its Hub files have their own table)."""
    says = getattr(cls, "download_origin", None)
    return says(config, **settings) if says is not None else None


def _type_name(feature) -> str:
    if isinstance(feature, datasets.Value):
        return feature.dtype
    if isinstance(feature, list):
        return f"list of {{{', '.join(feature[0])}}}"
    inner = getattr(feature, "feature", None)  # `datasets.List` in 4.x and later
    if isinstance(inner, dict):
        return f"list of {{{', '.join(inner)}}}"
    return type(feature).__name__
