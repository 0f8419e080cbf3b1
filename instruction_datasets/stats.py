"""Look before you train: row counts, lengths, empty responses and duplicates, as a table and a picture.

Statistics are gathered in one pass over batches of rows, plain or streaming; memory grows with the number of
rows only by two lengths and one 8-byte hash per row.
"""

from __future__ import annotations

import hashlib
import json
import os
from array import array
from pathlib import Path
from typing import Any

import pandas as pd

from . import configs, tokens
from .configs import NATURAL_SPLITS, split_rank  # noqa: F401  (stats orders splits by them)
from .loading import load

#: Columns whose values group the rows (alpha has both; Align-Anything has neither).
GROUP_COLUMNS = ("category", "source")
_BATCH_ROWS = 10_000


def readable(value: float) -> float:
    """A length as a person reads it: one decimal (``77.8``, not ``77.79999999999997``)."""
    return round(float(value), 1)


class _Group:
    """Running figures of one group of rows."""

    def __init__(self):
        self.prompt_lengths = array("I")
        self.response_lengths = array("I")
        self.empty_responses = 0
        self.duplicates = 0

    def summary(self) -> dict[str, Any]:
        figures: dict[str, Any] = {"rows": len(self.prompt_lengths)}
        for name, lengths in (("prompt", self.prompt_lengths), ("response", self.response_lengths)):
            series = pd.Series(lengths, dtype="int64")
            figures[f"{name}_chars_min"] = int(series.min()) if len(series) else 0
            figures[f"{name}_chars_median"] = readable(series.median()) if len(series) else 0.0
            figures[f"{name}_chars_p95"] = readable(series.quantile(0.95)) if len(series) else 0.0
            figures[f"{name}_chars_max"] = int(series.max()) if len(series) else 0
        figures["empty_responses"] = self.empty_responses
        figures["duplicate_pairs"] = self.duplicates
        return figures


def collect(
    path: str,
    config: str | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    streaming: bool = False,
    cache_dir: str | os.PathLike | None = None,
    tokenizer: Any = None,
    **config_kwargs,
) -> dict[str, Any]:
    """Figures per split, and per category and source where the rows have them.

    Returns ``{"dataset", "config", "groups": {"<split>": {...}, "<split> / category=<c>": {...}, ...},
    "lengths": {"<split>": {"prompt": [...], "response": [...]}}}``. A duplicate pair is a row whose exact
    (prompt, response) appeared earlier in the same split. With a ``tokenizer`` (a name, a folder or a
    tokenizer object) the result also holds ``"tokens"``: token lengths in the same pass (see `tokens`).
    ``config_kwargs`` are fields of the config (``hub_revision=...``, ``base_url=...``), as in `load`.
    ``{config}`` in ``data_dir`` stands for the config's name, as in `export.export`.
    """
    tokenizer = tokens.load_tokenizer(tokenizer) if tokenizer is not None else None  # before any reading
    if config is not None:
        data_dir = configs.data_dir_for(data_dir, config)
    dataset_dict = load(path, config, data_dir=data_dir, cache_dir=cache_dir, streaming=streaming, **config_kwargs)
    return collect_from(dataset_dict, Path(str(path)).stem, config or "default", tokenizer=tokenizer)


def collect_from(dataset_dict, dataset_name: str, config: str, tokenizer: Any = None) -> dict[str, Any]:
    """The figures of already loaded splits (a DatasetDict or an IterableDatasetDict); see ``collect``."""
    groups: dict[str, _Group] = {}
    token_lengths = tokens.TokenLengths(tokens.load_tokenizer(tokenizer)) if tokenizer is not None else None
    for split, dataset in dataset_dict.items():
        seen: set[bytes] = set()
        for batch in dataset.iter(batch_size=_BATCH_ROWS):
            if token_lengths is not None:
                token_lengths.add(split, batch)
            for index, (prompt, response) in enumerate(zip(batch["prompt"], batch["response"], strict=True)):
                digest = hashlib.blake2b(f"{len(prompt)}:{prompt}{response}".encode(), digest_size=8).digest()
                duplicate = digest in seen
                seen.add(digest)
                keys = [split] + [
                    f"{split} / {column}={batch[column][index]}" for column in GROUP_COLUMNS if column in batch
                ]
                for key in keys:
                    group = groups.setdefault(key, _Group())
                    group.prompt_lengths.append(len(prompt))
                    group.response_lengths.append(len(response))
                    group.empty_responses += not response
                    group.duplicates += duplicate
    figures = {
        "dataset": dataset_name,
        "config": config,
        "groups": {key: group.summary() for key, group in groups.items()},
        "lengths": {
            key: {"prompt": list(group.prompt_lengths), "response": list(group.response_lengths)}
            for key, group in groups.items()
            if " / " not in key
        },
    }
    if token_lengths is not None:
        figures["tokens"] = token_lengths.summary()
    return figures


def empty_note(stats: dict[str, Any]) -> str | None:
    """One line on the rows with an empty response per split, and what the training recipes do with them; None
    when there is none."""
    from .training import DROP_OPTION

    splits = {key: figures["empty_responses"] for key, figures in stats["groups"].items() if " / " not in key}
    held = ", ".join(f"{split} {splits[split]:,}" for split in split_order(splits) if splits[split])
    if not held:
        return None
    return (
        f"rows with an empty response: {held}. The README's TRL recipe filters them out; for LLaMA-Factory and "
        f"Axolotl, export with {DROP_OPTION}"
    )


#: Splits in the order a reader expects them; any other split follows these, by name.
def split_order(splits) -> list[str]:
    """Splits in their natural order: train, validation, test, then any other by name."""
    return sorted(splits, key=split_rank)


def table(stats: dict[str, Any]) -> pd.DataFrame:
    """The figures as a DataFrame, one row per group: each split (train first), then its categories and sources."""
    splits = split_order({key.split(" / ")[0] for key in stats["groups"]})
    order = sorted(
        stats["groups"],
        key=lambda key: (splits.index(key.split(" / ")[0]), _group_rank(key)),
    )
    frame = pd.DataFrame.from_dict({key: stats["groups"][key] for key in order}, orient="index")
    frame.index.name = "group"
    return frame


def display_table(stats: dict[str, Any]) -> pd.DataFrame:
    """The table with two-level column headings, narrow enough for a terminal."""
    frame = table(stats)
    columns = {"rows": ("", "rows"), "empty_responses": ("", "empty resp."), "duplicate_pairs": ("", "dup. pairs")}
    for field in ("prompt", "response"):
        for figure in ("min", "median", "p95", "max"):
            columns[f"{field}_chars_{figure}"] = (f"{field} chars", figure)
    frame = frame[list(columns)].rename(columns=columns)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame.round(0).astype("int64")


def _group_rank(key: str) -> int:
    """0 for a split's own row, then 1, 2, ... for its groups by the column of `GROUP_COLUMNS` they are of."""
    column = key.split(" / ")[-1].split("=", 1)[0] if " / " in key else None
    return GROUP_COLUMNS.index(column) + 1 if column in GROUP_COLUMNS else 0


def to_markdown(stats: dict[str, Any], top: int | None = None) -> str:
    """The table as Markdown (for dataset cards), without needing `tabulate`.

    With ``top``, each split shows at most its ``top`` largest sources (and categories); a line below the table
    says how many more there are and how many rows they hold.
    """
    header = [
        "group",
        "rows",
        "prompt chars (min / median / p95 / max)",
        "response chars (min / median / p95 / max)",
        "empty responses",
        "duplicate pairs",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    groups = list(table(stats).index)
    left_out: dict[tuple[str, str], list[int]] = {}
    if top is not None:
        for column in GROUP_COLUMNS:
            for split in [group for group in groups if " / " not in group]:
                members = [group for group in groups if group.startswith(f"{split} / {column}=")]
                members.sort(key=lambda group: -stats["groups"][group]["rows"])
                for group in members[top:]:
                    left_out.setdefault((split, column), []).append(stats["groups"][group]["rows"])
                    groups.remove(group)
    for group in groups:
        figures = stats["groups"][group]
        prompt = " / ".join(f"{figures[f'prompt_chars_{k}']:,.0f}" for k in ("min", "median", "p95", "max"))
        response = " / ".join(f"{figures[f'response_chars_{k}']:,.0f}" for k in ("min", "median", "p95", "max"))
        counts = f"{figures['empty_responses']:,} | {figures['duplicate_pairs']:,}"
        lines.append(f"| {group} | {figures['rows']:,} | {prompt} | {response} | {counts} |")
    for (split, column), rows in left_out.items():
        lines += ["", f"{split}: {len(rows):,} more {column} values, with {sum(rows):,} rows, are left out here."]
    return "\n".join(lines)


def picture_path(out: str | os.PathLike) -> Path:
    """Where ``plot`` writes: the path as given, with ``.png`` added when the name has no extension.

    Raises ``ValueError`` for any other extension: the picture is always a PNG.
    """
    out = Path(out)
    if not out.suffix:
        return out.with_name(out.name + ".png")
    if out.suffix.lower() != ".png":
        raise ValueError(f"{out}: the picture is a PNG: give a name ending in .png, or no extension")
    return out


def plot(stats: dict[str, Any], out: str | os.PathLike) -> Path:
    """Writes one PNG (see ``picture_path``) and returns its path: length distributions per split, and the
    category and source mix where there is one."""
    out = picture_path(out)
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    mixes = {
        column: {
            key.split("=", 1)[1]: figures["rows"] for key, figures in stats["groups"].items() if f"/ {column}=" in key
        }
        for column in GROUP_COLUMNS
    }
    mixes = {column: counts for column, counts in mixes.items() if counts}
    rows = 1 + (len(mixes) + 1) // 2
    fig, grid = plt.subplots(rows, 2, figsize=(12, 4.4 * rows), squeeze=False)
    axes = list(grid.ravel())
    for ax in axes[2 + len(mixes) :]:
        ax.set_visible(False)
    bins = {
        field: _log_bins([max(1, n) for lengths in stats["lengths"].values() for n in lengths[field]])
        for field in ("prompt", "response")
    }
    for ax, field in zip(axes[:2], ("prompt", "response"), strict=True):
        for split, lengths in stats["lengths"].items():
            values = [max(1, n) for n in lengths[field]]
            empty = sum(1 for n in lengths[field] if n == 0)
            label = f"{split} ({len(values):,} rows" + (f", {empty:,} empty)" if empty else ")")
            # Shares, not counts: a 1k-row test split stays visible beside a 100k-row train split.
            ax.hist(values, bins=bins[field], weights=[1 / len(values)] * len(values), alpha=0.6, label=label)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:,.0f}"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(f"{field.capitalize()} length")
        ax.set_xlabel("characters (log scale; empty counted as 1)")
        ax.set_ylabel("share of the split's rows")
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.legend()
    for ax, (column, counts) in zip(axes[2 : 2 + len(mixes)], mixes.items(), strict=True):
        names = sorted(counts, key=counts.get)
        ax.barh(names, [counts[name] for name in names], color="tab:green")
        for y, name in enumerate(names):
            ax.text(counts[name], y, f" {counts[name]:,}", va="center")
        ax.set_title(f"Rows per {column}")
        ax.set_xlabel("rows")
        ax.margins(x=0.25)
    fig.suptitle(f"{stats['dataset']} / {stats['config']}: what the rows look like")
    fig.tight_layout()
    fig.savefig(out, dpi=110, format="png")
    plt.close(fig)
    return out


def _log_bins(values: list[int]) -> list[float]:
    """About 30 bins, evenly spaced on a log scale, whose edges are the shortest and the longest value exactly.

    The last bin includes its right edge (as in `numpy.histogram` and `matplotlib`), so every value falls in a
    bin; the last edge is set, not computed, since ``low * step**30`` can land a hair below the maximum.
    """
    low, high = min(values, default=1), max(values, default=1)
    if high <= low:
        return [low * 0.9, high * 1.1]
    step = (high / low) ** (1 / 30)
    return [float(low)] + [low * step**i for i in range(1, 30)] + [float(high)]


def json_text(stats: dict[str, Any]) -> str:
    """The figures (not the per-row lengths) as the text of a JSON file."""
    return json.dumps({k: v for k, v in stats.items() if k != "lengths"}, indent=2) + "\n"


def write_json(stats: dict[str, Any], out: str | os.PathLike) -> None:
    """The figures (not the per-row lengths) as a JSON file."""
    Path(out).write_text(json_text(stats))
