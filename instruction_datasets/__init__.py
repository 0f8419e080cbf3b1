"""instruction_datasets: Hugging Face `datasets` loaders for instruction-tuning data.

``load()`` runs the loading scripts on every supported `datasets` version, including 4.x and 5.x,
which no longer run scripts from ``load_dataset``.

Importing the package is cheap: `datasets` is imported when ``load``, ``builder_class`` or ``script_path``
is first used (so ``python -m instruction_datasets --help`` answers at once).
"""

from .meta import SCRIPTS
from .meta import version as _version

__all__ = ["SCRIPTS", "builder_class", "load", "script_path"]
__version__ = _version()

_FROM_LOADING = {"builder_class", "load", "script_path"}


def __getattr__(name: str):
    if name in _FROM_LOADING:
        from . import loading

        return getattr(loading, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_FROM_LOADING})
