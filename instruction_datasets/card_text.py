"""What an exported card says in words: the form of a dataset's card words, and how they are read.

The loading scripts' docstrings and descriptions speak to someone reading the script; a card's reader has only
the card. Each dataset's words are a TOML file in ``instruction_datasets/cards/``, which its builder names in
``CARD_WORDS`` (so a copy of the script, or a renamed class, keeps them); `words_of` reads it into an `About`, and
`card.render_body` puts those words together with what export measured in the exported files. A builder with no
``CARD_WORDS`` gets a card built from its ``DESCRIPTION`` and ``LICENSE``.

A card describes the configs and splits of its folder, not the whole dataset: words about one config live with that
config (``configs``, ``producers_by_config``), and words about rows of one kind are `IfHeld`, said only where the
export holds such rows.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, before it joined the standard library
    import tomli as tomllib

#: Where the datasets' card words are: ``<CARD_WORDS>.toml``.
WORDS_FOLDER = Path(__file__).resolve().with_name("cards")

#: Language codes of the card YAML, as a reader names them.
LANGUAGE_NAMES = {"en": "English", "zh": "Chinese"}


@dataclasses.dataclass(frozen=True)
class IfHeld:
    """Words that depend on whether the export holds rows whose ``column`` is ``value``."""

    column: str
    value: str
    #: When the export holds such rows beside others.
    held: str
    #: When every row of the export is such a row ("": as ``held``).
    alone: str = ""
    #: When it holds none ("": nothing is said).
    otherwise: str = ""

    def words(self, values: set) -> str:
        """What to say for an export whose ``column`` takes ``values``."""
        if self.value not in values:
            return self.otherwise
        return self.alone if values == {self.value} and self.alone else self.held


@dataclasses.dataclass(frozen=True)
class About:
    """The words of one dataset's card; every field is Markdown."""

    #: What the dataset is, in one paragraph (no row counts: the card gives those of the export).
    summary: str
    #: Config name -> what its rows are.
    configs: dict[str, str]
    #: Column name -> what it holds; ``{values}`` stands for the values the export's rows hold.
    columns: dict[str, str]
    #: Paragraphs: how each row is made from the upstream files.
    how_made: list[str]
    curated_by: str
    #: Where upstream lives; ``{commit}`` stands for the builder's pinned ``COMMIT``.
    repository: str
    paper: str | None
    #: Who wrote the prompts and responses: what is true of every config, then per config.
    producers: str
    #: The licence situation, in words (the YAML holds the Hub's licence identifier).
    licence: str
    #: A note the reader must see first (for example: no licence was stated), or None.
    licence_warning: str | None
    direct_use: str
    out_of_scope: str | IfHeld
    risks: list[str | IfHeld]
    recommendations: str | IfHeld
    producers_by_config: dict[str, str] = dataclasses.field(default_factory=dict)


class CardWordsError(ValueError):
    """A dataset's card words are missing, or not in the form `About` describes."""


#: The fields a words file may leave out.
_OPTIONAL = {"paper", "licence_warning", "producers_by_config"}
#: The fields that are words for rows of one kind: a string, or a table of `IfHeld`'s fields.
_WORDS = {"out_of_scope", "recommendations"}


def words_of(builder: type) -> About | None:
    """The card words a builder class names in ``CARD_WORDS``, or None when it names none.

    A table ``{text = "..."}`` stands for words said whatever the export holds; a table with ``column`` and
    ``value`` is an `IfHeld`. Raises `CardWordsError`, naming the file and the key, for a missing file or a key that
    is unknown, missing or of the wrong type.
    """
    name = getattr(builder, "CARD_WORDS", None)
    if name is None:
        return None
    path = WORDS_FOLDER / f"{name}.toml"
    if not path.is_file():
        raise CardWordsError(f"{builder.__name__}.CARD_WORDS is {name!r}, but there is no {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise CardWordsError(f"{path}: not a TOML file of card words: {error}") from None
    fields = {field.name: field for field in dataclasses.fields(About)}
    if unknown := sorted(set(data) - set(fields)):
        raise CardWordsError(
            f"{path}: unknown key(s) {', '.join(unknown)}; expected the fields of About: {', '.join(fields)}"
        )
    if missing := sorted(set(fields) - set(data) - _OPTIONAL):
        raise CardWordsError(f"{path}: missing key(s) {', '.join(missing)}")

    def words(key: str, value) -> str | IfHeld:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and set(value) == {"text"} and isinstance(value["text"], str):
            return value["text"]
        if isinstance(value, dict) and all(isinstance(part, str) for part in value.values()):
            try:
                return IfHeld(**value)
            except TypeError:
                pass
        raise CardWordsError(
            f"{path}: {key} must be a string, a table {{text}}, or a table {{column, value, held, alone?, otherwise?}}"
        )

    def strings(key: str, value) -> None:
        shape = {"how_made": list, "configs": dict, "columns": dict, "producers_by_config": dict}.get(key, str)
        parts = value if shape is list else value.values() if shape is dict else [value]
        if not isinstance(value, shape) or not all(isinstance(part, str) for part in parts):
            kind = {list: "an array of strings", dict: "a table of strings", str: "a string"}[shape]
            raise CardWordsError(f"{path}: {key} must be {kind}")

    for key, value in data.items():
        if key in _WORDS:
            data[key] = words(key, value)
        elif key == "risks":
            if not isinstance(value, list):
                raise CardWordsError(f"{path}: risks must be an array of tables ([[risks]])")
            data[key] = [words(f"risks[{index}]", part) for index, part in enumerate(value)]
        else:
            strings(key, value)
    return About(**{"paper": None, "licence_warning": None, **data})
