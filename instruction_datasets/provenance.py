"""Where a loaded dataset's bytes came from, read back from what its builder recorded.

Align-Anything downloads record, in ``info.download_checksums``, each file's ``resolve`` URL at the Hub
commit the load used, with its ``repo``, ``commit`` and ``path``, its size, and its SHA-256 once checked against the
hash its server published (``None``: not checked, because the file was streamed, ``verification_mode="no_checks"``
was given, or the server published no hash). Loading with ``hub_revision=<that commit>`` reads the same bytes again.
"""

from __future__ import annotations

import re
from pathlib import Path

import datasets

from .configs import split_rank

_HUB_FILE = ("repo", "commit", "path")  # what a Hub file's entry in download_checksums names, beside its bytes


def hub_files(info: datasets.DatasetInfo) -> list[dict]:
    """The Hub files a load recorded: ``repo``, ``commit``, ``path``, ``num_bytes``, ``sha256`` (None: not checked)."""
    files = []
    for _, entry in sorted((info.download_checksums or {}).items()):
        if isinstance(entry, dict) and all(entry.get(key) for key in _HUB_FILE):
            files.append(
                {
                    **{key: entry[key] for key in _HUB_FILE},
                    "num_bytes": entry.get("num_bytes"),
                    "sha256": entry.get("checksum"),
                }
            )
    return files


def describe(info: datasets.DatasetInfo, local: bool) -> str | None:
    """One line on where the rows came from; None if the record says nothing (a download with no Hub record)."""
    files = hub_files(info)
    if files:
        sources = sorted({f"{file['repo']} at commit {file['commit']}" for file in files})
        hashes = ", ".join(f"{file['path']} {file['sha256']}" for file in files if file["sha256"])
        unchecked = ", ".join(file["path"] for file in files if not file["sha256"])
        said = [f"checked against the hashes the server published, SHA-256: {hashes}"] if hashes else []
        said += [f"not checked: {unchecked}"] if unchecked else []
        return "; ".join(sources + said)
    if local:
        return "local files, read as they are (no hash checked)"
    return None


def record(info: datasets.DatasetInfo, local: bool, origin: str | None = None) -> dict:
    """One config's provenance, as export keeps it in its folder so that the card shows every exported config's.

    ``origin`` says what the rows were read from: ``"samples"`` (the bundled ones), ``"data_dir"`` (another local
    copy) or ``"download"``.
    """
    return {"source": describe(info, local), "files": hub_files(info), "origin": origin}


def _file_rank(path: str) -> tuple:
    """Files in their splits' natural order (train, validation, test, then others by name)."""
    return (split_rank(Path(path).name.split(".", 1)[0])[0], path)


def card_markdown(records: dict[str, dict], script: str) -> str:
    """The card's "Source files" section, from export's records per config (an empty one: none); may be empty."""
    records = {config: entry for config, entry in records.items() if entry}
    if not any(record["source"] for record in records.values()):
        return ""
    lines = ["## Source files", ""]
    rows = [
        (config, file)
        for config, record in records.items()
        for file in sorted(record["files"], key=lambda file: _file_rank(file["path"]))
    ]
    if rows:
        lines += ["| config | file | Hub commit | bytes | SHA-256 |", "|---|---|---|---|---|"]
        for config, file in rows:
            sha256 = f"`{file['sha256']}`" if file["sha256"] else "not checked"
            where = f"`{file['repo']}/{file['path']}` | `{file['commit']}`"
            lines.append(f"| `{config}` | {where} | {file['num_bytes']:,} | {sha256} |")
        lines.append("")
        if all(file["sha256"] for _, file in rows):
            lines += ["Each file was checked against the hash its server published when it was downloaded.", ""]
        commits = {config: file["commit"] for config, file in rows}  # one commit per config
        lines += ["To read the same bytes again:", "", "```python", "from instruction_datasets import load", ""]
        for config, commit in commits.items():
            name = re.sub(r"\W", "_", config)  # a Python name for the config's dataset
            lines.append(f'{name} = load("{script}", "{config}", hub_revision="{commit}")')
        lines += ["```", ""]
    for config, record in records.items():
        if record["source"] and not record["files"]:
            lines.append(f"- `{config}`: {record['source']}.")
    return "\n".join(lines).rstrip("\n") + "\n"
