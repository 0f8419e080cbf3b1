"""Command line: ``python -m instruction_datasets COMMAND``.

Commands:
    demo    load every config of every script from the bundled samples, and stream one row of each (no network)
    infos   regenerate dataset_infos.json from the builders, or check that it is current (no network)
    stats   rows, lengths, empty responses and duplicates of one config, as a table, a PNG and JSON
    export  write one config, or every config (--all-configs), as Parquet (or JSON Lines) shards plus a Hub
            dataset card
    push    upload an export folder to a Hub dataset repo in one commit (network; ``--dry-run`` lists only)

``stats`` and ``export`` download the upstream files (from the Hub, or from the URL a dataset is pinned to) unless
``--data-dir`` names a local copy; ``--hub-revision`` (a dataset read from the Hub) and ``--base-url`` (a dataset
pinned to files at a URL) set where from, and a script refuses the one it has not got. A known mistake (an
unknown script or config, a missing folder, a bad size or format) prints one line ``error: ...`` that lists the
valid choices, and exits with status 2; other failures print one line and exit with status 1. ``--debug`` shows
the full traceback instead. Errors name the options as typed here (``--data-dir``), where the library's own
errors name its parameters (``data_dir=``). Ctrl-C stops any command with one line, ``interrupted``, and exit
status 130.

``--help`` and ``--version`` import nothing heavy: each command imports `datasets`, pandas or
`huggingface_hub` when it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from . import configs
from .layout import DEFAULT_FILE_FORMAT, DEFAULT_MAX_SHARD_SIZE, FILE_FORMATS
from .meta import SCRIPTS, version
from .training import DROP_OPTION

PROG = "python -m instruction_datasets"
SIZE_SYNTAX = "a number of bytes, or a number with a unit: KB, MB, GB (1000s) or KiB, MiB, GiB (1024s), e.g. 500MB"
#: The exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130
#: The library's parameters and the options that set them here: errors are shown in the user's words.
OPTIONS = {
    "data_dir": "--data-dir",
    "cache_dir": "--cache-dir",
    "max_shard_size": "--max-shard-size",
    "file_format": "--format",
    "tokenizer": "--tokenizer",
    "streaming": "--streaming",
    "repo_id": "--repo-id",
    "revision": "--revision",
    "private": "--private",
    "commit_message": "--commit-message",
    "create_pr": "--create-pr",
    "token": "--token",
}
#: Fields of a script's configs that stats and export offer as options (a script without the field refuses it).
CONFIG_OPTIONS = {field: f"--{field.replace('_', '-')}" for field in configs.SETTINGS}
OPTIONS.update(CONFIG_OPTIONS)


class UsageError(Exception):
    """A mistake in what was asked (not a failure of the work): one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line ``error: ...`` (exit status 2), without the usage block."""

    def error(self, message: str):
        raise UsageError(f"{message} (see {self.prog} --help)")


# --- What each command does ---------------------------------------------------------------------------------


def _short(value, width: int = 100) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _print_row(row: dict, indent: str = "    ") -> None:
    for key, value in row.items():
        print(f"{indent}{key}: {_short(value)}")


def _print_demo(cache_dir: str | None = None) -> int:
    """Prints what `demo.demo` loads, config by config, as it goes."""
    from .demo import configs

    for shown in configs(cache_dir):
        print(f"== {shown.script} / {shown.config}  (samples: {shown.data_dir})", flush=True)
        print(f"  source: {shown.source}")
        for warning in shown.warnings:
            print(f"  warning: {warning}")
        for name, (num_rows, first_row) in shown.splits.items():
            print(f"  {name}: {num_rows} rows; first row:")
            _print_row(first_row)
        print(f"  streamed the first {shown.streamed_split} row:")
        _print_row(shown.streamed_row)
    return 0


def write_infos(check: bool) -> int:
    """Regenerates dataset_infos.json, or with ``check`` only reports whether it is current."""
    from . import infos

    try:
        if check:
            current = infos.is_current()
            print(f"{infos.INFOS_PATH}: {'up to date' if current else f'STALE: run {PROG} infos'}")
            return 0 if current else 1
        changed = infos.write()
    except infos.NotASourceCheckout as err:  # installed from a wheel: site-packages is not ours to write
        raise UsageError(str(err)) from None
    print(f"{infos.INFOS_PATH}: {'written' if changed else 'already up to date'}")
    return 0


def _size(n: float) -> str:
    """Bytes in decimal units, as the Hub shows them."""
    for unit in ("B", "kB", "MB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def run_demo(args: argparse.Namespace) -> int:
    return _print_demo(args.cache_dir)


def run_infos(args: argparse.Namespace) -> int:
    return write_infos(args.check)


def run_export(args: argparse.Namespace) -> int:
    """Writes one config (or every config) as data shards plus card, and prints a line per config."""
    if args.config is None and not args.all_configs:
        raise UsageError("export: give a config to export, or --all-configs for every config of the script")
    if args.config is not None and args.all_configs:
        raise UsageError(f"export: give a config ({args.config!r}) or --all-configs, not both")
    _check_source(args)
    from .configs import repo_id_problem
    from .export import export, out_problem

    if problem := out_problem(args.out):
        raise UsageError(f"--out {problem}")

    if args.repo_id is not None and (problem := repo_id_problem(args.repo_id)):
        raise UsageError(f"--repo-id {args.repo_id!r}: {in_option_names(problem)}")  # huggingface_hub's words

    start = time.perf_counter()
    with _tokenizer_extra(), _warnings_on_own_lines():
        summary = export(
            args.path,
            args.config,
            args.out,
            data_dir=args.data_dir,
            max_shard_size=args.max_shard_size,
            cache_dir=args.cache_dir,
            file_format=args.format,
            tokenizer=args.tokenizer,
            repo_id=args.repo_id,
            drop_empty_responses=args.drop_empty_responses,
            **_config_settings(args),
        )
    for config, splits in summary.items():
        parts = [
            f"{split} {entry['rows']:,} rows, {_size(entry['bytes'])} in {entry['shards']} shard(s)"
            + (f" ({entry['left_out']:,} with an empty response left out)" if "left_out" in entry else "")
            for split, entry in splits.items()
        ]
        print(f"exported {config} to {args.out}: {'; '.join(parts)}")
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0


def run_push(args: argparse.Namespace) -> int:
    """Uploads an export folder (or, with --dry-run, lists what would be uploaded)."""
    from . import push as push_module
    from .configs import repo_id_problem, revision_problem
    from .export import folder_lock, folder_problem

    problem = repo_id_problem(args.repo_id)
    if problem:
        raise UsageError(f"--repo-id {args.repo_id!r}: {in_option_names(problem)}")  # huggingface_hub's words
    if args.revision is not None and (problem := revision_problem(args.revision)):
        raise UsageError(f"--revision {args.revision!r}: {problem}")
    if args.commit_message is not None and not args.commit_message.strip():
        raise UsageError("--commit-message is empty: give a message, or leave the option out for the default")
    problem = folder_problem(args.folder)
    if problem:
        raise UsageError(f"{problem} (made by {PROG} export)")
    with folder_lock(args.folder, on_wait=lambda line: print(line, file=sys.stderr, flush=True)):
        plan = push_module.plan(
            args.folder,
            args.repo_id,
            revision=args.revision,
            dry_run=args.dry_run,
            commit_message=args.commit_message,
            create_pr=args.create_pr,
            include=args.include,
            token=args.token,
        )
        if args.dry_run:
            print("\n".join(plan.lines()))
            return 0

        def starting(changed: list[str]) -> None:
            print("\n".join(plan.lines(changed)), flush=True)

        pushed = push_module.upload(plan, private=args.private, token=args.token, on_retry=print, on_start=starting)
        print("\n".join(pushed.lines()))
    return 0


def run_stats(args: argparse.Namespace) -> int:
    """Prints the statistics table; writes the picture and the JSON when asked."""
    _check_source(args)
    import pandas as pd

    from . import stats, tokens

    picture = None
    if args.plot:
        try:
            picture = stats.picture_path(args.plot)
        except ValueError as err:
            raise UsageError(f"--plot {err}") from None
        _check_folder("--plot", picture)
    if args.json:
        _check_folder("--json", Path(args.json))
    with _tokenizer_extra(), _warnings_on_own_lines():
        figures = stats.collect(
            args.path,
            args.config,
            data_dir=args.data_dir,
            streaming=args.streaming,
            cache_dir=args.cache_dir,
            tokenizer=args.tokenizer,
            **_config_settings(args),
        )
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(stats.display_table(figures).to_string())
        if note := stats.empty_note(figures):
            print(f"\n{note}")
        if "tokens" in figures:
            print(f"\n{tokens.describe(figures['tokens'])}\n{tokens.display_table(figures['tokens']).to_string()}")
    if picture is not None:
        print(f"picture: {stats.plot(figures, picture)}")
    if args.json:
        stats.write_json(figures, args.json)
        print(f"figures: {args.json}")
    return 0


# --- Checks that turn known mistakes into one line, before any work starts -----------------------------------


def _check_source(args: argparse.Namespace) -> None:
    """The script, the config (None: every config) and the local copy exist."""
    from .loading import builder_class, script_path

    try:
        cls = builder_class(script_path(args.path))
    except FileNotFoundError:
        raise UsageError(
            f"unknown loading script {args.path!r}: give a path to an existing .py file, or one of {', '.join(SCRIPTS)}"
        ) from None
    names = configs.selected(cls.builder_configs, args.config)
    problem = configs.unknown_config(args.path, cls.builder_configs, names)
    if problem:
        raise UsageError(problem)
    unknown = configs.unknown_settings(cls.BUILDER_CONFIG_CLASS, _config_settings(args))
    if unknown:
        offered = [CONFIG_OPTIONS[field] for field in configs.offered_settings(cls.BUILDER_CONFIG_CLASS)]
        takes = f"; it takes {', '.join(offered)}" if offered else ""
        raise UsageError(f"{CONFIG_OPTIONS[unknown[0]]}: {args.path} has no such setting{takes}")
    if args.data_dir is not None and configs.is_local(args.data_dir):
        for config in names:
            data_dir = configs.data_dir_for(args.data_dir, config)  # {config} stands for each config
            if not os.path.isdir(data_dir):
                raise UsageError(f"--data-dir {data_dir}: no such folder; give a local copy of the upstream files")


def _config_settings(args: argparse.Namespace) -> dict[str, str]:
    """The config fields the user set with an option of `CONFIG_OPTIONS`."""
    return {field: getattr(args, field) for field in CONFIG_OPTIONS if getattr(args, field, None) is not None}


@contextlib.contextmanager
def _warnings_on_own_lines() -> Iterator[None]:
    """Warnings (logged by the scripts, or ``warnings.warn``) as lines ``warning: ...`` of their own.

    Written through tqdm, which takes a progress bar off its line first and draws it again below, so a
    warning never runs into the bar's line.
    """
    from tqdm import tqdm

    class Write(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            tqdm.write(f"warning: {' '.join(record.getMessage().split())}", file=sys.stderr)

    handler = Write(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)


@contextlib.contextmanager
def _tokenizer_extra() -> Iterator[None]:
    """``--tokenizer`` without `transformers` installed is a known mistake: say what to install."""
    from . import tokens

    try:
        yield
    except tokens.MissingExtra as err:
        raise UsageError(f"--tokenizer: {err}") from None


def _check_folder(flag: str, path: Path) -> None:
    """An output file's folder exists: better said now than after all the work."""
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"{flag} {path}: the folder {folder} does not exist; create it first or choose another")


def _shard_size(value: str) -> int:
    """``--max-shard-size``: bytes, or a number with a unit, as ``push_to_hub`` takes it."""
    from datasets.utils.py_utils import convert_file_size_to_int

    try:
        size = int(value) if value.isdigit() else convert_file_size_to_int(value)
    except ValueError:
        size = 0
    if size <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a size; give {SIZE_SYNTAX}")
    return size


# --- The parser: one function; shared options in parent parsers; each command names its handler --------------


def build_parser() -> argparse.ArgumentParser:
    """The whole command line. To add a command: a subparser (with the parents it needs) and a handler."""
    common = _Parser(add_help=False)
    # SUPPRESS: the flag works before or after the command, and a later default does not undo it.
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="on an error, show the full traceback"
    )
    common.add_argument(
        "--version", action="version", version=f"instruction_datasets {version()}", help="show the version and exit"
    )
    cached = _Parser(add_help=False)
    cached.add_argument("--cache-dir", help="datasets cache for preparing (default: datasets' cache)")

    def source(config_help: str, **config_options) -> argparse.ArgumentParser:
        """The options of a command that reads one config of a script."""
        parent = _Parser(add_help=False, parents=[cached])
        parent.add_argument("path", help=f"a loading script: a path to a .py file, or one of {', '.join(SCRIPTS)}")
        parent.add_argument("config", help=config_help, **config_options)
        parent.add_argument(
            "--data-dir", help="read the upstream files from this local copy (default: download them from upstream)"
        )
        parent.add_argument(
            "--hub-revision",
            metavar="REVISION",
            help="a dataset read from the Hub: the branch, tag or commit to read (default: main)",
        )
        parent.add_argument(
            "--base-url",
            metavar="URL",
            help="a dataset pinned to files at a URL: where to download them from, such as a mirror (default: the "
            "pinned upstream URL)",
        )
        return parent

    one_config = "the config (the script's configs are listed on a mistake)"
    tokenizer_flag, tokenizer_help = "--tokenizer", "also token lengths with this tokenizer (Hub name or folder)"

    parser = _Parser(
        prog=PROG,
        description="Instruction-tuning datasets as Hugging Face `datasets` loaders.",
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent(f"""\
            stats and export download the upstream files unless --data-dir names a local copy;
            push uploads; demo and infos never use the network.

            examples:
              {PROG} demo     load every config from the bundled samples
              {PROG} infos    regenerate dataset_infos.json
              {PROG} stats instruction_tuning_alpha all --plot alpha.png
              {PROG} export instruction_tuning_alpha harmless --out export/alpha
              {PROG} push export/alpha --repo-id ORG/NAME --dry-run"""),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, parents: list) -> argparse.ArgumentParser:
        """A command whose one-line summary shows both in the list of commands and atop its own --help."""
        return commands.add_parser(name, parents=parents, help=summary, description=summary)

    demo_parser = command("demo", "load every config from the bundled samples (no network)", [common])
    demo_parser.add_argument("--cache-dir", help="keep the prepared Arrow files here (default: a temporary folder)")
    demo_parser.set_defaults(handler=run_demo)

    infos_parser = command("infos", "regenerate dataset_infos.json from the builders (no network)", [common])
    infos_parser.add_argument("--check", action="store_true", help="only check that the file is current")
    infos_parser.set_defaults(handler=run_infos)

    stats_parser = command(
        "stats",
        "rows, lengths, empty responses and duplicates, with a plot (downloads unless --data-dir)",
        [common, source(one_config)],
    )
    stats_parser.add_argument(
        "--plot", help="write the length distributions and the source mix to this PNG (.png added if no extension)"
    )
    stats_parser.add_argument("--json", help="write the figures to this JSON file")
    stats_parser.add_argument("--streaming", action="store_true", help="read as a stream (nothing prepared on disk)")
    stats_parser.add_argument(tokenizer_flag, help=tokenizer_help)
    stats_parser.set_defaults(handler=run_stats)

    export_parser = command(
        "export",
        "write a config (or --all-configs) as data shards plus a Hub dataset card (downloads unless --data-dir)",
        [common, source(f"{one_config}; leave it out with --all-configs", nargs="?")],
    )
    export_parser.add_argument(
        "--all-configs",
        action="store_true",
        help="export every config of the script into one folder, one card ({config} in --data-dir stands for "
        "each config's name)",
    )
    export_parser.add_argument("--out", required=True, help="the export folder (other configs in it are kept)")
    export_parser.add_argument(
        "--max-shard-size",
        type=_shard_size,
        default=DEFAULT_MAX_SHARD_SIZE,
        help=f"largest shard, as push_to_hub: {SIZE_SYNTAX} (default: {DEFAULT_MAX_SHARD_SIZE})",
    )
    export_parser.add_argument(
        "--format",
        choices=FILE_FORMATS,
        default=DEFAULT_FILE_FORMAT,
        help=f"shard file format (default: {DEFAULT_FILE_FORMAT})",
    )
    export_parser.add_argument(tokenizer_flag, help=f"{tokenizer_help}, shown in the card")
    export_parser.add_argument(
        DROP_OPTION,
        action="store_true",
        help="leave out rows whose response is empty (the card counts them), for LLaMA-Factory and Axolotl, which "
        "read the folder and cannot leave rows out themselves (default: keep every upstream row)",
    )
    export_parser.add_argument(
        "--repo-id",
        help="ORG/NAME of the Hub repo the card's snippets name (default: a placeholder, which push fills in)",
    )
    export_parser.set_defaults(handler=run_export)

    push_parser = command("push", "upload an export folder to a Hub dataset repo in one commit (network)", [common])
    push_parser.add_argument("folder", help="an export folder")
    push_parser.add_argument("--repo-id", required=True, help="ORG/NAME of the dataset repo (created if needed)")
    push_parser.add_argument("--revision", help="branch to commit to (created if needed)")
    push_parser.add_argument("--private", action="store_true", help="create the repo private")
    push_parser.add_argument("--dry-run", action="store_true", help="list the files and the commit message only")
    push_parser.add_argument(
        "--commit-message", help="the commit message (default: 'Upload <configs> (export by instruction_datasets)')"
    )
    push_parser.add_argument(
        "--create-pr",
        action="store_true",
        help="open a pull request with the commit instead of committing to the branch",
    )
    push_parser.add_argument(
        "--token",
        help="Hub token (default: HF_TOKEN or your saved login); never printed",
    )
    push_parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="PATTERN",
        help="also send the folder's files that match this glob, relative to the folder (repeat for more); only "
        "what export wrote is sent otherwise, and never a symbolic link or a dotfile",
    )
    push_parser.set_defaults(handler=run_push)
    return parser


def in_option_names(message: str) -> str:
    """A library error in the command line's words: ``pass data_dir= with ...`` becomes ``pass --data-dir with ...``.

    A parameter is renamed where the library names it: written ``name=`` with no value after it, or, for a
    name no English word shares (``data_dir``, not ``revision``), standing as a word of its own. Values stay
    as they are: ``?revision=main`` in a URL, ``data_dir='x'`` in a repr, a folder called ``data_dir/``.
    """
    named = r"(?<![\w?&/.=-])(" + "|".join(OPTIONS) + r")=(?=[\s),;]|$)"
    message = re.sub(named, lambda match: OPTIONS[match.group(1)], message)
    words = r"(?<![\w?&/.=-])(" + "|".join(name for name in OPTIONS if "_" in name) + r")(?![\w/.=-])"
    return re.sub(words, lambda match: OPTIONS[match.group(1)], message)


def _secrets(argv: Sequence[str]) -> list[str]:
    """The token given on the command line or in ``HF_TOKEN``, whichever way it was spelt, to keep out of messages."""
    found = [os.environ.get("HF_TOKEN", "")]
    for index, arg in enumerate(argv):
        if arg.startswith("--tok") and "=" in arg and "--token".startswith(arg.split("=", 1)[0]):
            found.append(arg.split("=", 1)[1])
        elif arg.startswith("--tok") and "--token".startswith(arg) and index + 1 < len(argv):
            found.append(argv[index + 1])
    return [secret for value in found for secret in {value, value.strip()} if len(secret) >= 4]


def _say(message: str, argv: Sequence[str]) -> None:
    """One line on stderr, with the token, if it is in it, replaced by ``***``."""
    for secret in sorted(_secrets(argv), key=len, reverse=True):
        message = message.replace(secret, "***")
    print(message, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m instruction_datasets``: runs the command's handler, one line per error."""
    argv = [str(arg) for arg in (sys.argv[1:] if argv is None else argv)]
    args = None
    try:
        args = build_parser().parse_args(argv)
        status = args.handler(args)
        sys.stdout.flush()  # a reader that stopped early (| head) shows here, not at exit
        return status
    except BrokenPipeError:
        # The reader has what it wanted: stop quietly, and keep Python's flush at exit from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        if getattr(args, "debug", False):
            raise
        new_line = "\n" if sys.stderr.isatty() else ""  # a terminal echoed ^C where the cursor was
        _say(f"{new_line}interrupted", argv)
        return INTERRUPTED
    except Exception as err:
        if getattr(args, "debug", False):
            raise
        status = 2 if isinstance(err, UsageError) else 1
        # A refused card (card.CardError) lists one problem per line; any other error is one line.
        lines = str(err).splitlines() if getattr(err, "one_per_line", False) else [str(err)]
        message = "\n  ".join(" ".join(line.split()) for line in lines if line.strip()) or type(err).__name__
        if status == 1:  # the library's words; a UsageError is already in the command line's
            message = in_option_names(message)
        hint = "" if status == 2 else " (--debug shows the traceback)"
        _say(f"error: {message}{hint}", argv)
        return status


if __name__ == "__main__":
    sys.exit(main())
