"""Which configs of a builder a command reads, and where each config's local copy is.

The command line checks these before any work (a mistake is one line, exit status 2), and `export.export`
checks them again (``ValueError``); both ask this module, so they agree.
"""

from __future__ import annotations

import os
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
