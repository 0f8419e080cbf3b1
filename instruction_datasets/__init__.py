"""instruction_datasets: Hugging Face `datasets` loaders for instruction-tuning data.

``load()`` runs the loading scripts on every supported `datasets` version, including 4.x and 5.x,
which no longer run scripts from ``load_dataset``.
"""

from .loading import SCRIPTS, builder_class, load, script_path

__all__ = ["SCRIPTS", "builder_class", "load", "script_path"]
__version__ = "0.1.0"
