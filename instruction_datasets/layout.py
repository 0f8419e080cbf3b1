"""The export folder's layout: every path in an export folder is named here, and the keys of its records.

`export` writes the folder, `card` reads back what it needs of it, and `push` uploads it; each asks this module
where things are, so that none of them imports another for a path.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The bundled samples: rows read from here are marked as samples in the card.
SAMPLES = Path(__file__).resolve().with_name("samples")

#: The key of a config's record that counts, per split, the rows left out for an empty response.
EMPTY_LEFT_OUT = "empty_responses_left_out"


#: The shards' file formats (their suffixes): UTF-8 JSON Lines, and Parquet, which the Hub viewer pages through and
#: which is the default.
FILE_FORMATS = ("jsonl", "parquet")
DEFAULT_FILE_FORMAT = "parquet"
#: The largest shard by default: `push_to_hub`'s (``datasets.config.MAX_SHARD_SIZE``), written here so that the
#: command line's help shows it without importing `datasets`.
DEFAULT_MAX_SHARD_SIZE = "500MB"

#: The dataset card, at the top of the folder (where the Hub reads it).
CARD = "README.md"
#: The data shards, one folder per config.
DATA = "data"
#: The figures the card shows, per config: JSON and PNG.
STATS = "stats"
#: Where each config's rows came from, per config (see `provenance.record`).
PROVENANCE = "provenance"
#: Remote files that an export folder mirrors: `push` deletes those the folder no longer holds.
MIRRORED = [f"{DATA}/*", f"{STATS}/*"]


def card_path(folder: str | os.PathLike) -> Path:
    """The folder's dataset card."""
    return Path(folder) / CARD


def config_data(folder: str | os.PathLike, config: str) -> Path:
    """The folder holding one config's shards."""
    return Path(folder) / DATA / config


def shard_path(folder: str | os.PathLike, config: str, split: str, index: int, count: int, file_format: str) -> Path:
    """One shard of a split: ``data/<config>/<split>-<index>-of-<count>.<file_format>``."""
    return config_data(folder, config) / f"{split}-{index:05d}-of-{count:05d}.{file_format}"


def shards(folder: str | os.PathLike, config: str) -> list[Path]:
    """The shards of one config the folder holds, by name."""
    return sorted(config_data(folder, config).glob("*-of-*.*"))


def split_of(shard: Path) -> str:
    """The split a shard belongs to."""
    return shard.name.split("-", 1)[0]


def data_files_pattern(config: str, split: str) -> str:
    """The card YAML's ``data_files`` pattern of a split's shards, relative to the card."""
    return f"{DATA}/{config}/{split}-*"


def stats_file(config: str, suffix: str) -> str:
    """A config's figures (``json``) or picture (``png``), relative to the card."""
    return f"{STATS}/{config}.{suffix}"


def provenance_path(folder: str | os.PathLike, config: str) -> Path:
    """A config's provenance record."""
    return Path(folder) / PROVENANCE / f"{config}.json"


def exported_configs(folder: str | os.PathLike) -> list[str]:
    """The configs whose shards the folder holds, by name."""
    data = Path(folder) / DATA
    return sorted(path.name for path in data.iterdir() if path.is_dir()) if data.is_dir() else []


def out_problem(out: str | os.PathLike) -> str | None:
    """Why ``out`` cannot be an export folder, or None: it is a file or a symbolic link (export replaces the folder
    it writes, and would move the user's file or link aside), it lies inside the package's own samples, an ancestor
    is a file, or a path export writes inside it is a link (export would write through it, outside the folder)."""
    out = Path(out)
    if out.is_symlink():
        return f"{out} is a symbolic link: give the folder itself (export replaces the folder it writes)"
    if out.exists() and not out.is_dir():
        return f"{out} is a file, not a folder: give a new folder or an earlier export folder"
    ancestor = next((parent for parent in Path(os.path.abspath(out)).parents if parent.exists()), None)
    if ancestor is not None and not ancestor.is_dir():
        return f"{out}: {ancestor} is a file, not a folder"
    real = Path(os.path.realpath(out))
    if real == SAMPLES or SAMPLES in real.parents:
        return f"{out} is inside the package's samples ({SAMPLES}): export into a folder of your own"
    if out.is_dir():
        own = [CARD, DATA, STATS, PROVENANCE]
        if (out / DATA).is_dir() and not (out / DATA).is_symlink():
            own += [f"{DATA}/{child.name}" for child in (out / DATA).iterdir()]
        linked = [name for name in own if (out / name).is_symlink()]
        if linked:
            return (
                f"{out}: {', '.join(linked)} {'is a symbolic link' if len(linked) == 1 else 'are symbolic links'}; "
                "export writes there, and would write through the link: replace it with a folder or file of its own"
            )
    return None
