"""What the package knows before it imports `datasets`: its version and the names of its loading scripts.

The command line's ``--help`` and ``--version`` read this module (and ``configs``), not `datasets`, so they answer
at once. The scripts are found, not listed: a loading script is a top-level module beside the package (the source
checkout's root, or site-packages) that imports the kit.
"""

from __future__ import annotations

import re
from pathlib import Path

#: The distribution's name, as ``pip`` and ``pyproject.toml`` know it.
DISTRIBUTION = "instruction_datasets"

#: The package's version: the one place it is written (``pyproject.toml`` reads it from here, so the installed
#: metadata says the same).
VERSION = "0.2.0"

#: The module every loading script imports its machinery from, beside the scripts.
KIT = "_instruction_kit"

#: How a script imports the kit: at the start of a line, the one form `datasets` 3.x copies beside a script.
_IMPORTS_KIT = re.compile(rb"^from \." + KIT.encode() + rb" import\b", re.MULTILINE)

#: How much of a module is searched for that import: a script's first screen declares it.
_HEAD_BYTES = 64 * 2**10


def find_scripts(folder: Path) -> tuple[str, ...]:
    """The module names of the loading scripts in ``folder``, sorted: each ``*.py`` that imports the kit."""
    found = []
    for path in sorted(folder.glob("*.py")):
        if path.stem == KIT:
            continue
        try:
            with open(path, "rb") as f:
                head = f.read(_HEAD_BYTES)
        except OSError:
            continue
        if _IMPORTS_KIT.search(head):
            found.append(path.stem)
    return tuple(found)


#: The folder above the package: the source checkout's root, or site-packages when installed from a wheel.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: The loading scripts this library ships, by module name: those found beside the package.
SCRIPTS = find_scripts(PROJECT_ROOT)


def version() -> str:
    """The package's version (`VERSION`), whether it is installed or a source checkout."""
    return VERSION
