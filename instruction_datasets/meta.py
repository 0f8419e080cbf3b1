"""What the package knows before it imports `datasets`: its version and the names of its loading scripts.

The command line's ``--help`` and ``--version`` read this module (and ``configs``), not `datasets`, so they answer
at once.
"""

from __future__ import annotations

#: The distribution's name, as ``pip`` and ``pyproject.toml`` know it.
DISTRIBUTION = "instruction_datasets"

#: The package's version: the one place it is written (``pyproject.toml`` reads it from here, so the installed
#: metadata says the same).
VERSION = "0.2.0"

#: The loading scripts this library ships, by module name.
SCRIPTS = ("align_anything_instruction", "instruction_tuning_alpha")


def version() -> str:
    """The package's version (`VERSION`), whether it is installed or a source checkout."""
    return VERSION
