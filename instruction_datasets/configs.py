"""Names the library checks and orders: which configs of a builder a command reads, where each config's local
copy is, the splits' natural order, and the Hub repo ids and branch names export and push are given.

The command line checks these before any work (a mistake is one line, exit status 2), and `export.export` and
`push` check them again (``ValueError``); all ask this module, so they agree.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence

#: Fields of a script's configs that stats and export take as settings; a script without the field refuses it.
SETTINGS = ("hub_revision", "base_url")
#: Stands, in a ``data_dir``, for the name of the config being read (Align-Anything keeps one folder per config).
CONFIG_FIELD = "{config}"


def selected(builder_configs: Sequence[str], config: str | Iterable[str] | None) -> list[str]:
    """The configs asked for: one name, several, or None for every config of the builder, in its order."""
    if config is None:
        return list(builder_configs)
    return [config] if isinstance(config, str) else list(config)


def unknown_config(script: str, builder_configs: Sequence[str], names: Iterable[str]) -> str | None:
    """What is wrong with ``names``, as one line naming ``script`` and its configs, or None if each is a config."""
    for name in names:
        if name not in builder_configs:
            return f"{script} has no config {name!r}; configs: {', '.join(builder_configs)}"
    return None


def unknown_settings(config_class: type, settings: Iterable[str]) -> list[str]:
    """The fields of `SETTINGS` given in ``settings`` that the script's config class has not got."""
    return [field for field in settings if not hasattr(config_class, field)]


def offered_settings(config_class: type) -> list[str]:
    """The fields of `SETTINGS` the script's config class has."""
    return [field for field in SETTINGS if hasattr(config_class, field)]


def data_dir_for(data_dir: str | os.PathLike | None, config: str) -> str | None:
    """``data_dir`` with `CONFIG_FIELD` replaced by the config's name (None stays None: download)."""
    return None if data_dir is None else os.fspath(data_dir).replace(CONFIG_FIELD, config)


def is_local(data_dir: str | os.PathLike) -> bool:
    """Whether ``data_dir`` names a folder on this machine, rather than a URL."""
    return "://" not in os.fspath(data_dir)


#: Splits in their natural order; any other comes after them, by name.
NATURAL_SPLITS = ("train", "validation", "test")


def split_rank(split: str) -> tuple[int, str]:
    """A sort key that puts splits in their natural order: train, validation, test, then any other by name."""
    return (NATURAL_SPLITS.index(split) if split in NATURAL_SPLITS else len(NATURAL_SPLITS), split)


#: What git's check-ref-format (and so the Hub) refuses anywhere in a branch name.
_NOT_IN_A_BRANCH = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|(^|/)\.|\.lock(/|$)|^[-/]|[/.]$")


def repo_id_problem(repo_id: str) -> str | None:
    """What the Hub would refuse in a dataset repo id, or None: ``ORG/NAME``, checked by `huggingface_hub`.

    A name without ``ORG/`` is refused too: the Hub reads it as a canonical dataset, not as one of yours.
    """
    shape = "give ORG/NAME: your user or organisation name, one '/', then the dataset's name"
    if repo_id.count("/") > 1:  # huggingface_hub would suggest its repo_type argument, which is not the answer here
        return shape
    from huggingface_hub.utils import HFValidationError, validate_repo_id  # not at import: --help reads this

    try:
        validate_repo_id(repo_id)
    except HFValidationError as err:
        return " ".join(str(err).split())
    return None if "/" in repo_id else shape


def revision_problem(revision: str) -> str | None:
    """What git, and so the Hub, would refuse in a branch name, or None (the rules of ``git check-ref-format``)."""
    if revision and revision != "@" and not _NOT_IN_A_BRANCH.search(revision):
        return None
    return (
        "not a branch name git accepts: no spaces, control characters, ~ ^ : ? * [ \\ or '..' or '@{'; no part "
        "that starts with '.' or ends with '.lock'; not empty or '@', not starting with '-' or '/', not ending "
        "with '/' or '.'"
    )
