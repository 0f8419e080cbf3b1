"""Script-free export: data shards plus a dataset card whose YAML the Hub viewer and every `datasets` read.

Layout of an export folder, one builder and one file format per folder (`layout` names every path in it, and
`export`, `card` and `push` ask it):

    README.md                                   card: YAML (configs, dataset_info, ...) + generated part
    data/<config>/<split>-00000-of-00001.parquet
    stats/<config>.json, stats/<config>.png     figures the card shows
    provenance/<config>.json                    where each config's rows came from, for the card

Exporting a config replaces that config's shards and card entries and keeps the others, as
``push_to_hub(config_name=...)`` does. One export or push at a time holds a folder (`folder_lock`), so two
exports into one folder at once keep both configs. The whole export is written into a copy of the folder beside it
and swapped in only when it succeeded, so a failed or interrupted export leaves the folder as it was, and
leaves no folder it made on the way (the parents of a new export folder included).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import datasets
import jsonlines
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq
import yaml
from datasets.utils.metadata import MetadataConfigs
from datasets.utils.py_utils import convert_file_size_to_int
from filelock import FileLock, Timeout
from huggingface_hub import DatasetCardData

from . import card, card_text, configs, provenance, stats, tokens
from .configs import repo_id_problem
from .layout import (  # the folder's layout: every path in an export folder is named there
    DEFAULT_FILE_FORMAT,
    DEFAULT_MAX_SHARD_SIZE,
    EMPTY_LEFT_OUT,
    FILE_FORMATS,
    SAMPLES,
    STATS,
    card_path,
    config_data,
    data_files_pattern,
    out_problem,
    provenance_path,
    shard_path,
    shards,
    split_of,
    stats_file,
)
from .loading import builder_class, declared_info, load, script_path

TASK_CATEGORIES = ["text-generation"]

logger = logging.getLogger(__name__)

#: Locks are taken on a file named after the folder, in the system's temporary folder: the export folder itself
#: is swapped whole, and its parent is the user's.
LOCKS = Path(tempfile.gettempdir()) / "instruction_datasets-locks"
_locks: dict[str, FileLock] = {}


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Holds the lock of an export folder: one export or push at a time per folder, across processes.

    A second one waits for the first to finish (``on_wait`` is called with a line saying so; by default it is
    logged as a warning), then reads the folder as the first left it. Re-entrant within a thread.
    """
    key = os.path.realpath(folder)
    if key not in _locks:
        LOCKS.mkdir(parents=True, exist_ok=True)
        _locks[key] = FileLock(str(LOCKS / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.lock"))
    lock = _locks[key]
    try:
        lock.acquire(timeout=0)
    except Timeout:
        (on_wait or logger.warning)(f"{folder}: another export or push is using this folder; waiting for it to end")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def folder_problem(folder: str | os.PathLike) -> str | None:
    """Why ``folder`` is not an export folder (it does not exist, or has no card), or None if it is one."""
    folder = Path(folder)
    if not folder.is_dir():
        return f"{folder}: no such folder; give an export folder"
    if not card_path(folder).is_file():
        return f"{folder} is not an export folder: it has no README.md card"
    return None


def _new_counts() -> dict[str, object]:
    return {"rows": 0, "empty_responses": 0, **{column: collections.Counter() for column in stats.GROUP_COLUMNS}}


def _count(entry: dict[str, object], table) -> None:
    """Adds a table's rows to a split's counts: rows, empty responses, values of `stats.GROUP_COLUMNS`."""
    entry["rows"] += table.num_rows
    entry["empty_responses"] += pc.sum(pc.equal(table.column("response"), "")).as_py() or 0
    for column in stats.GROUP_COLUMNS:
        if column in table.column_names:
            entry[column].update(table.column(column).to_pylist())


def read_counts(folder: str | os.PathLike, config: str) -> dict[str, dict[str, object]]:
    """Per split: rows, rows with an empty response (``"empty_responses"``), and value counts of the columns of
    `stats.GROUP_COLUMNS`, read from the config's shards (splits in the order of their shards' names)."""
    per_split: dict[str, dict[str, object]] = {}
    for shard in shards(folder, config):
        if shard.suffix == ".parquet":
            table = pq.read_table(shard)
        else:
            table = pa_json.read_json(shard, parse_options=pa_json.ParseOptions(newlines_in_values=False))
        _count(per_split.setdefault(split_of(shard), _new_counts()), table)
    return per_split


def measured_counts(dataset_dict: datasets.DatasetDict) -> dict[str, dict[str, object]]:
    """What `read_counts` reads back from the shards of these splits, counted on the rows before they are written."""
    per_split: dict[str, dict[str, object]] = {}
    for split in sorted(dataset_dict, key=lambda name: f"{name}-"):  # as shard names sort
        dataset = dataset_dict[split]
        wanted = ["response", *(column for column in stats.GROUP_COLUMNS if column in dataset.column_names)]
        entry = per_split[split] = _new_counts()
        for table in dataset.select_columns(wanted).with_format("arrow").iter(batch_size=50_000):
            _count(entry, table)
    return per_split


def read_facts(folder: str | os.PathLike, names: list[str]) -> dict[str, card.ConfigFacts]:
    """What the card shows of each config, read from the folder: row counts, figures and provenance (for configs
    exported by an earlier run; `export` hands over those it writes as it writes them)."""
    facts = {}
    for config in names:
        figures_path = Path(folder) / stats_file(config, "json")
        record_path = provenance_path(folder, config)
        facts[config] = card.ConfigFacts(
            counts=read_counts(folder, config),
            record=json.loads(record_path.read_text(encoding="utf-8")) if record_path.is_file() else {},
            figures=json.loads(figures_path.read_text(encoding="utf-8")) if figures_path.is_file() else None,
            figures_file=stats_file(config, "json"),
            picture=stats_file(config, "png"),
            file_format=next((shard.suffix[1:] for shard in shards(folder, config)), DEFAULT_FILE_FORMAT),
        )
    return facts


def _write_parquet(dataset: datasets.Dataset, path: Path) -> None:
    dataset.to_parquet(str(path))


def _write_jsonl(dataset: datasets.Dataset, path: Path) -> None:
    # Not ASCII-escaped: Chinese and emoji stay readable.
    with jsonlines.open(path, mode="w", dumps=functools.partial(json.dumps, ensure_ascii=False)) as writer:
        for batch in dataset.iter(batch_size=1000):
            writer.write_all(dict(zip(batch, values, strict=True)) for values in zip(*batch.values(), strict=True))


#: Shard writers by file format (`layout.FILE_FORMATS`).
WRITERS = {"parquet": _write_parquet, "jsonl": _write_jsonl}


def export(
    path: str | os.PathLike,
    config: str | Sequence[str] | None,
    out: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    max_shard_size: str | int = DEFAULT_MAX_SHARD_SIZE,
    cache_dir: str | os.PathLike | None = None,
    file_format: str = DEFAULT_FILE_FORMAT,
    tokenizer=None,
    repo_id: str | None = None,
    drop_empty_responses: bool = False,
    **config_kwargs,
) -> dict[str, dict[str, dict[str, int]]]:
    """Writes configs of a builder into an export folder; returns rows, bytes and shards per config and split.

    ``path`` is a shipped builder's name or a script's path (that very file is exported). ``config`` is one
    config, a list, or None for every config of the builder. ``data_dir`` is passed to each config's load,
    with ``{config}`` in it replaced by the config's name (Align-Anything keeps each config in its own folder).
    ``file_format`` is ``"parquet"`` (what the Hub viewer pages through) or ``"jsonl"`` (UTF-8 JSON Lines).
    With a ``tokenizer`` (a name, a folder or a tokenizer object) the card also shows token lengths (see `tokens`).
    ``repo_id`` (``ORG/NAME``) names the dataset in the card's snippets; without it they name a marked placeholder,
    which `push` fills in. With ``drop_empty_responses`` the rows whose ``response`` is empty are left out of the
    shards (training frameworks that read the folder cannot leave them out themselves), and the card says how many
    per split; each split's summary gives the number as ``"left_out"``. ``config_kwargs`` are fields of every
    config loaded (``hub_revision=...``, ``base_url=...``), as in `load`.
    Raises ``ValueError`` (and leaves the folder as it was) on a bad argument, an ``out`` that cannot be an export
    folder (`out_problem`: checked before any work), a folder holding another dataset or another file format, or a
    card the Hub would refuse (`card.CardError`, naming the folder's card). Exports into one folder take turns
    (`folder_lock`): a second one waits for the first, then adds its configs to what the first wrote.
    A YAML key of the folder's card that export replaces with another value is named in one warning line each.
    """
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {', '.join(FILE_FORMATS)}, not {file_format!r}")
    try:
        max_bytes = convert_file_size_to_int(max_shard_size)
    except ValueError as err:
        raise ValueError(f"max_shard_size {max_shard_size!r}: expected bytes or a size like 500MB or 1GiB") from err

    if repo_id is not None and (problem := repo_id_problem(repo_id)):
        raise ValueError(f"repo_id {repo_id!r}: {problem}")
    out = Path(out)
    problem = out_problem(out)
    if problem:
        raise ValueError(problem)
    script = script_path(path)
    cls = builder_class(script)
    names = configs.selected(cls.builder_configs, config)
    problem = configs.unknown_config(script.name, cls.builder_configs, names)
    if problem:
        raise ValueError(problem)
    card_text.words_of(cls)  # card words that cannot be read fail here, before any work
    with folder_lock(out):  # a second export into this folder waits, then adds to what this one wrote
        old_text = card_path(out).read_text(encoding="utf-8") if card_path(out).is_file() else None
        card.check_markers(card_path(out), old_text)  # the user's card, named as such, before any work
        tokenizer = tokens.load_tokenizer(tokenizer) if tokenizer is not None else None  # fails before any writing
        summary, replaced = _export_into(
            script, cls, names, out, old_text, data_dir, cache_dir, max_bytes, file_format, tokenizer, repo_id,
            drop_empty_responses, config_kwargs,
        )  # fmt: skip
    for key, (old, new) in replaced.items():
        logger.warning(
            f"{card_path(out)}: YAML key {key!r} was {old!r}, export set it to {new!r} (export writes this key "
            "from the builder; keep your own note on it outside the generated part)"
        )
    return summary


def _export_into(
    script, cls, names, out, old_text, data_dir, cache_dir, max_bytes, file_format, tokenizer, repo_id,
    drop_empty_responses, config_kwargs,
) -> tuple[dict, dict]:  # fmt: skip
    """The export itself, under the folder's lock: (summary, YAML keys replaced)."""
    card_data = DatasetCardData(**(yaml.safe_load(card.split_text(old_text or "")[0]) or {}))
    exported_as = card.exported_dataset(old_text)
    if exported_as not in (None, card.pretty_name(cls)):
        raise ValueError(
            f"{out} holds an export of {exported_as!r}, not of {card.pretty_name(cls)!r}: one folder holds one "
            "dataset; export into another folder"
        )
    kept = {name: p for name, p in MetadataConfigs.from_dataset_card_data(card_data).items() if name not in names}
    other_formats = {Path(pattern).suffix for p in kept.values() for _, pattern in card.data_files(p)}
    other_formats |= {shard.suffix for name in kept for shard in shards(out, name)}
    other_formats -= {""}  # a pattern such as data/<config>/train-* names no format
    if other_formats - {f".{file_format}"}:
        raise ValueError(
            f"{out} holds configs {', '.join(kept)} as {', '.join(sorted(other_formats))} files; one folder holds "
            f"one file format (load_dataset reads a folder with one builder): export {file_format} into another "
            f"folder, or re-export every config there with --format {file_format}"
        )

    new_parents = _missing_parents(out)
    try:
        staging = _staging_copy(out)
    except BaseException:
        _remove_empty(new_parents)
        raise
    try:
        summary, written = {}, {}
        for name in names:
            settings = (data_dir, cache_dir, max_bytes, file_format, tokenizer, drop_empty_responses, config_kwargs)
            summary[name], written[name] = _write_config(script, cls, name, staging, card_data, *settings)
        replaced = _write_card(cls, staging, card_data, old_text, repo_id, written)
        card.check(staging)
        _swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_empty(new_parents)
        raise
    return summary, replaced


def _write_config(
    script,
    cls,
    config,
    out,
    card_data,
    data_dir,
    cache_dir,
    max_bytes,
    file_format,
    tokenizer,
    drop_empty,
    config_kwargs,
):
    """Shards, stats and card entries of one config; returns rows, bytes, shards (and rows left out) per split, and
    what the card shows of it (as `read_facts` would read it back)."""
    data_dir = configs.data_dir_for(data_dir, config)
    dataset_dict = load(script, config, data_dir=data_dir, cache_dir=cache_dir, **config_kwargs)
    left_out = {}
    if drop_empty:
        dataset_dict, left_out = without_empty_responses(dataset_dict)
        for split, count in left_out.items():
            if count:
                logger.warning(f"{config} {split}: {count:,} row(s) with an empty response left out of the export")
    config_dir = config_data(out, config)
    shutil.rmtree(config_dir, ignore_errors=True)  # no stale shards from an earlier export of this config
    config_dir.mkdir(parents=True)
    splits = datasets.SplitDict(dataset_name=script.stem)
    data_files, summary = [], {}
    for split, dataset in dataset_dict.items():
        nbytes = dataset._estimate_nbytes()
        # The same rule as push_to_hub: one shard per started max_shard_size, at most one per row.
        num_shards = max(1, min(int(nbytes / max_bytes) + 1, dataset.num_rows))
        file_bytes = 0
        for index in range(num_shards):
            shard = shard_path(out, config, split, index, num_shards, file_format)
            WRITERS[file_format](dataset.shard(num_shards=num_shards, index=index, contiguous=True), shard)
            file_bytes += shard.stat().st_size
        splits.add(datasets.SplitInfo(name=split, num_bytes=nbytes, num_examples=dataset.num_rows))
        data_files.append({"split": split, "path": data_files_pattern(config, split)})
        summary[split] = {"rows": dataset.num_rows, "bytes": file_bytes, "shards": num_shards}
        if drop_empty:
            summary[split]["left_out"] = left_out[split]

    figures = stats.collect_from(dataset_dict, script.stem, config, tokenizer=tokenizer)
    (out / STATS).mkdir(exist_ok=True)
    for suffix in ("json", "png"):
        (out / stats_file(config, suffix)).unlink(missing_ok=True)  # may be hard-linked to the original
    figures_text = stats.json_text(figures)
    (out / stats_file(config, "json")).write_text(figures_text)
    stats.plot(figures, out / stats_file(config, "png"))
    builder_info = next(iter(dataset_dict.values())).info
    record = provenance.record(builder_info, local=data_dir is not None, origin=_origin(data_dir))
    if record["source"] is None and record["origin"] == "download":  # files named by URL: the builder says where
        record["source"] = card.download_origin(cls, config, **config_kwargs)
    if drop_empty:
        record[EMPTY_LEFT_OUT] = left_out
    record_path = provenance_path(out, config)
    record_path.parent.mkdir(exist_ok=True)
    record_path.unlink(missing_ok=True)  # in a staged export it may be a hard link to the folder's original file
    record_text = json.dumps(record, indent=2) + "\n"
    record_path.write_text(record_text, encoding="utf-8")
    facts = card.ConfigFacts(
        counts=measured_counts(dataset_dict),
        record=json.loads(record_text),
        figures=json.loads(figures_text),
        figures_file=stats_file(config, "json"),
        picture=stats_file(config, "png"),
        file_format=file_format,
    )

    info = datasets.DatasetInfo(
        features=builder_info.features,
        splits=splits,
        download_size=sum(entry["bytes"] for entry in summary.values()),
        dataset_size=sum(split.num_bytes for split in splits.values()),
        config_name=config,
    )
    datasets.info.DatasetInfosDict({config: info}).to_dataset_card_data(card_data)
    card_configs = MetadataConfigs.from_dataset_card_data(card_data)
    card_configs[config] = {"data_files": data_files}
    card_configs.to_dataset_card_data(card_data)
    return summary, facts


#: The key of a config's provenance record that counts, per split, the rows left out for an empty response.
def without_empty_responses(dataset_dict: datasets.DatasetDict) -> tuple[datasets.DatasetDict, dict[str, int]]:
    """The splits without their rows whose ``response`` is empty, and how many rows each split lost."""
    kept = datasets.DatasetDict()
    for split, dataset in dataset_dict.items():
        kept[split] = dataset.filter(
            lambda responses: [response != "" for response in responses],
            input_columns="response",
            batched=True,
            keep_in_memory=True,  # nothing written beside the cached Arrow files
            desc=f"leaving out empty responses ({split})",
        )
    return kept, {split: dataset_dict[split].num_rows - kept[split].num_rows for split in dataset_dict}


def _origin(data_dir) -> str:
    """What a config's rows come from: ``samples`` (the bundled ones), ``data_dir`` (another copy) or ``download``."""
    if data_dir is None:
        return "download"
    if configs.is_local(data_dir) and SAMPLES in Path(data_dir).resolve().parents:
        return "samples"
    return "data_dir"


def _write_card(
    cls, out: Path, card_data: DatasetCardData, old_text: str | None, repo_id: str | None, written: dict
) -> dict:
    """The card's YAML (default config, languages, license, ...) and generated part; the user's text stays. The
    facts of the configs this run ``written`` are handed over; those of configs kept from earlier runs are read back.

    Returns the keys the builder sets whose value in the old card was another: ``{key: (old, new)}``.
    """
    configs = MetadataConfigs.from_dataset_card_data(card_data)
    # The builder's default, or, when it is not exported here, the first exported config in the builder's order.
    default = next(name for name in [cls.DEFAULT_CONFIG_NAME, *cls.builder_configs] if name in configs)
    for name, params in configs.items():
        params.pop("default", None)
        if name == default:
            params["default"] = True
    configs.to_dataset_card_data(card_data)
    set_by_builder = {
        # Languages of the configs the folder holds; a config that declares none is English.
        "language": sorted({getattr(cls.builder_configs[n], "language", "") or "en" for n in configs}),
        "license": declared_info(cls, default).license,
        "pretty_name": card.pretty_name(cls),
    }
    replaced = {}
    for key, value in set_by_builder.items():
        old = card_data.get(key)
        # A value the user set and export drops; a language list that only grows is not one.
        if old is not None and old != value and not (isinstance(old, list) and set(old) <= set(value)):
            replaced[key] = (old, value)
        card_data[key] = value
    # Lists the user may extend: their entries stay, ours are added.
    for key, ours in (("task_categories", TASK_CATEGORIES), ("tags", card.TAGS)):
        theirs = card_data.get(key) or []
        theirs = [theirs] if isinstance(theirs, str) else list(theirs)
        card_data[key] = theirs + [value for value in ours if value not in theirs]
    rows = max(sum(s["num_examples"] for s in info.get("splits", [])) for info in _infos(card_data))
    card_data["size_categories"] = [card.size_category(rows)]
    # The default first, then the builder's order (a config the builder no longer has, by name).
    order = [default] + [name for name in cls.builder_configs if name in configs and name != default]
    order += sorted(name for name in configs if name not in order)
    facts = {**read_facts(out, [name for name in order if name not in written]), **written}
    body = card.render_body(cls, order, default, facts, repo_id)
    card.write(card_path(out), card_data.to_yaml(), body, old_text)
    return replaced


def _infos(card_data: DatasetCardData) -> list[dict]:
    infos = card_data.get("dataset_info") or []
    return [infos] if isinstance(infos, dict) else list(infos)


def _missing_parents(out: Path) -> list[Path]:
    """The folders above ``out`` that do not exist yet (the export makes them), deepest first."""
    missing = []
    for parent in Path(os.path.abspath(out)).parents:
        if parent.exists():
            break
        missing.append(parent)
    return missing


def _remove_empty(folders: list[Path]) -> None:
    """Removes the folders a failed export made, deepest first; one that now holds something stays."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _staging_copy(out: Path) -> Path:
    """A copy of the folder beside it (same file system, so the swap is a rename); files are hard links.

    Nothing in the copy is written in place: every file export writes is removed first, so the originals
    behind the links never change.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.export-", dir=out.parent))
    if out.is_dir():
        staging.rmdir()
        try:
            shutil.copytree(out, staging, symlinks=True, copy_function=_link_or_copy)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    else:  # mkdtemp makes it private; a new export folder gets the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)
    return staging


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _swap_in(staging: Path, out: Path) -> None:
    """Puts the finished copy in the folder's place; the old folder is removed only after that worked."""
    if not out.exists():
        staging.rename(out)
        return
    old = out.with_name(f".{out.name}.replaced-{staging.name.rsplit('-', 1)[-1]}")
    out.rename(old)
    try:
        staging.rename(out)
    except BaseException:
        old.rename(out)
        raise
    shutil.rmtree(old)
