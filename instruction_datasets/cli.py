"""Command line: ``python -m instruction_datasets {demo,infos}``."""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence

import datasets
import pandas as pd

from . import infos, stats, tokens
from .export import DEFAULT_MAX_SHARD_SIZE, FILE_FORMATS, export, push
from .loading import available_scripts, builder_class, load, sample_dir


def _short(value, width: int = 100) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _print_row(row: dict, indent: str = "    ") -> None:
    for key, value in row.items():
        print(f"{indent}{key}: {_short(value)}")


def demo(cache_dir: str | None = None) -> int:
    """Loads every config of every builder from the bundled samples, then streams one row of each."""
    datasets.disable_progress_bars()  # a few sample rows per split: the bars would only hide the output
    with tempfile.TemporaryDirectory(prefix="instruction_datasets-demo-") as scratch:
        cache_dir = cache_dir or scratch
        for script in available_scripts():
            cls = builder_class(script)
            for config in cls.BUILDER_CONFIGS:
                data_dir = sample_dir(script, config.name)
                dataset_dict = load(script, config.name, data_dir=data_dir, cache_dir=cache_dir)
                print(f"== {script} / {config.name}  (samples: {data_dir})")
                for split, dataset in dataset_dict.items():
                    print(f"  {split}: {dataset.num_rows} rows; first row:")
                    _print_row(dataset[0])
                streamed = load(script, config.name, data_dir=data_dir, streaming=True)
                split, iterable = next(iter(streamed.items()))
                print(f"  streamed the first {split} row:")
                _print_row(next(iter(iterable)))
    return 0


def write_infos(check: bool) -> int:
    """Regenerates dataset_infos.json, or with ``check`` only reports whether it is current."""
    if check:
        current = infos.INFOS_PATH.is_file() and infos.INFOS_PATH.read_text(encoding="utf-8") == infos.render()
        print(f"{infos.INFOS_PATH}: {'up to date' if current else 'STALE: run python -m instruction_datasets infos'}")
        return 0 if current else 1
    changed = infos.write()
    print(f"{infos.INFOS_PATH}: {'written' if changed else 'already up to date'}")
    return 0


def _size(n: float) -> str:
    """Bytes in decimal units, as the Hub shows them."""
    for unit in ("B", "kB", "MB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def run_export(args: argparse.Namespace) -> int:
    """Writes one config as Parquet plus card, and prints a one-line summary."""
    start = time.perf_counter()
    try:
        summary = export(
            args.path,
            args.config,
            args.out,
            data_dir=args.data_dir,
            max_shard_size=args.max_shard_size,
            cache_dir=args.cache_dir,
            file_format=args.format,
            tokenizer=args.tokenizer,
        )
    except tokens.MissingExtra as error:
        return _missing_extra(error)
    parts = [
        f"{split} {entry['rows']:,} rows, {_size(entry['bytes'])} in {entry['shards']} shard(s)"
        for split, entry in summary.items()
    ]
    print(f"exported {args.config} to {args.out}: {'; '.join(parts)} ({time.perf_counter() - start:.1f} s)")
    return 0


def run_push(args: argparse.Namespace) -> int:
    """Uploads an export folder (or, with --dry-run, lists what would be uploaded)."""
    push(args.folder, args.repo_id, revision=args.revision, private=args.private, dry_run=args.dry_run)
    return 0


def _missing_extra(error: tokens.MissingExtra) -> int:
    print(f"error: --tokenizer: {error}", file=sys.stderr)  # one line, not a traceback
    return 1


def run_stats(args: argparse.Namespace) -> int:
    """Prints the statistics table; writes the picture and the JSON when asked."""
    try:
        figures = stats.collect(
            args.path,
            args.config,
            data_dir=args.data_dir,
            streaming=args.streaming,
            cache_dir=args.cache_dir,
            tokenizer=args.tokenizer,
        )
    except tokens.MissingExtra as error:
        return _missing_extra(error)
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(stats.display_table(figures).to_string())
        if "tokens" in figures:
            print(f"\n{tokens.describe(figures['tokens'])}\n{tokens.display_table(figures['tokens']).to_string()}")
    if args.plot:
        print(f"picture: {stats.plot(figures, args.plot)}")
    if args.json:
        stats.write_json(figures, args.json)
        print(f"figures: {args.json}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m instruction_datasets``."""
    parser = argparse.ArgumentParser(
        prog="python -m instruction_datasets",
        description="Instruction-tuning datasets as Hugging Face `datasets` loaders.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent("""\
            examples:
              python -m instruction_datasets demo     load every config from the bundled samples
              python -m instruction_datasets infos    regenerate dataset_infos.json
              python -m instruction_datasets export instruction_tuning_alpha harmless --out export/alpha
              python -m instruction_datasets push export/alpha --repo-id ORG/NAME --dry-run"""),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="load every config from the bundled samples (no network)")
    demo_parser.add_argument("--cache-dir", help="keep the prepared Arrow files here (default: a temporary folder)")
    infos_parser = commands.add_parser("infos", help="regenerate dataset_infos.json from the builders")
    infos_parser.add_argument("--check", action="store_true", help="only check that the file is current")
    export_parser = commands.add_parser("export", help="write one config as Parquet shards plus a Hub dataset card")
    export_parser.add_argument("path", help="a loading script's module name or path")
    export_parser.add_argument("config", help="the config to export")
    export_parser.add_argument("--out", required=True, help="the export folder (other configs in it are kept)")
    export_parser.add_argument("--data-dir", help="read the upstream files from this local copy")
    export_parser.add_argument(
        "--max-shard-size",
        default=DEFAULT_MAX_SHARD_SIZE,
        help=f"largest Parquet shard, as push_to_hub (default: {DEFAULT_MAX_SHARD_SIZE})",
    )
    export_parser.add_argument("--cache-dir", help="datasets cache for preparing (default: datasets' cache)")
    export_parser.add_argument(
        "--format", choices=sorted(FILE_FORMATS), default="parquet", help="shard file format (default: parquet)"
    )
    push_parser = commands.add_parser("push", help="upload an export folder to a Hub dataset repo in one commit")
    push_parser.add_argument("folder", help="an export folder")
    push_parser.add_argument("--repo-id", required=True, help="ORG/NAME of the dataset repo (created if needed)")
    push_parser.add_argument("--revision", help="branch to commit to (created if needed)")
    push_parser.add_argument("--private", action="store_true", help="create the repo private")
    push_parser.add_argument("--dry-run", action="store_true", help="list the files and the commit message only")
    stats_parser = commands.add_parser("stats", help="rows, lengths, empty responses and duplicates, with a plot")
    stats_parser.add_argument("path", help="a loading script's module name or path")
    stats_parser.add_argument("config", help="the config to look at")
    stats_parser.add_argument("--data-dir", help="read the upstream files from this local copy")
    stats_parser.add_argument("--plot", help="write the length distributions and the source mix to this PNG")
    stats_parser.add_argument("--json", help="write the figures to this JSON file")
    stats_parser.add_argument("--streaming", action="store_true", help="read as a stream (nothing prepared on disk)")
    stats_parser.add_argument("--cache-dir", help="datasets cache for preparing (default: datasets' cache)")
    for subparser in (stats_parser, export_parser):
        subparser.add_argument("--tokenizer", help="also token lengths with this tokenizer (Hub name or folder)")
    args = parser.parse_args(argv)
    if args.command == "stats":
        return run_stats(args)
    if args.command == "demo":
        return demo(args.cache_dir)
    if args.command == "export":
        return run_export(args)
    if args.command == "push":
        return run_push(args)
    return write_infos(args.check)


if __name__ == "__main__":
    sys.exit(main())
