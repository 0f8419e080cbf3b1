"""What the package knows before it imports `datasets`: its version and the names of its loading scripts.

The command line's ``--help`` and ``--version`` read only this module, so they answer at once.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

#: The distribution's name, as ``pip`` and ``pyproject.toml`` know it.
DISTRIBUTION = "instruction_datasets"

#: The loading scripts this library ships, by module name.
SCRIPTS = ("align_anything_instruction", "instruction_tuning_alpha")


def version() -> str:
    """The installed package's version (its metadata, from ``pyproject.toml``).

    A source checkout that was never installed has no metadata: its ``pyproject.toml`` says the version;
    without that file the answer is ``"unknown"``.
    """
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pass
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return "unknown"
    project = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    found = re.search(r'^version\s*=\s*"([^"]+)"', project.group(1) if project else "", re.M)
    return found.group(1) if found else "unknown"
