"""A script and its kit travel together: copies elsewhere, edited copies, and the hash of the code they run.

Each loading script imports `_instruction_kit.py` from beside it. `datasets.load_dataset` (3.x) copies the kit beside
the script it runs (here: from a folder laid out as a wheel installs them, not the checkout); `load()` takes the kit
beside the script it is given, or else the shipped one, hashes both, and imports them so that `num_proc` workers
and streaming find them.
"""

import filecmp
import os
import sys
from pathlib import Path

import datasets
import pytest
from helpers import RUNS_SCRIPTS

from instruction_datasets import builder_class, load, script_path
from instruction_datasets.loading import KIT, kit_path, sample_dir

ALIGN, ALPHA = "align_anything_instruction", "instruction_tuning_alpha"
SHIPPED_KIT = kit_path(script_path(ALIGN))


def rows(dataset) -> list[dict]:
    return list(dataset)


def _copy(folder, script: str, edit=None, kit_edit=None):
    """Copies ``script`` into ``folder``, edited by ``edit``; with a kit beside it, edited by ``kit_edit``, if given."""
    folder.mkdir(parents=True, exist_ok=True)
    text = script_path(script).read_text(encoding="utf-8")
    (folder / f"{script}.py").write_text(edit(text) if edit else text, encoding="utf-8")
    if kit_edit is not None:
        kit = SHIPPED_KIT.read_text(encoding="utf-8")
        (folder / f"{KIT}.py").write_text(kit_edit(kit), encoding="utf-8")
    return folder / f"{script}.py"


def _kit_module(cls):
    return sys.modules[cls.__module__.rsplit(".", 1)[0] + f".{KIT}"]


@pytest.mark.skipif(not RUNS_SCRIPTS, reason="datasets 4+ runs no scripts (test_builders checks that it refuses)")
@pytest.mark.parametrize(("script", "config"), [(ALIGN, "en"), (ALPHA, "all")])
def test_load_dataset_copies_the_kit_beside_a_script_installed_elsewhere(script, config, tmp_path, cache_dir):
    """The layout a wheel installs (scripts and kit in site-packages, no dataset_infos.json): plain and streaming."""
    site = tmp_path / "site-packages"
    path = _copy(site, script, kit_edit=lambda kit: kit)
    data_dir = str(sample_dir(script, config))
    ours = load(script, config, data_dir=data_dir, cache_dir=cache_dir)
    theirs = datasets.load_dataset(
        str(path), config, data_dir=data_dir, cache_dir=str(tmp_path / "theirs"), trust_remote_code=True
    )
    streamed = datasets.load_dataset(str(path), config, data_dir=data_dir, streaming=True, trust_remote_code=True)
    for split in ours:
        assert rows(theirs[split]) == rows(ours[split]), split
        assert rows(streamed[split]) == rows(ours[split]), split
    # What load_dataset ran: the script and the kit copied beside it in its modules cache.
    copies = Path(datasets.config.HF_MODULES_CACHE) / "datasets_modules" / "datasets" / script
    ran = [
        folder
        for folder in copies.iterdir()
        if (folder / path.name).is_file() and filecmp.cmp(folder / path.name, path)
    ]
    assert ran and all((folder / f"{KIT}.py").read_bytes() == SHIPPED_KIT.read_bytes() for folder in ran), ran


@pytest.mark.skipif(not RUNS_SCRIPTS, reason="datasets 4+ runs no scripts (test_builders checks that it refuses)")
def test_load_dataset_needs_the_kit_beside_a_copy_where_load_does_not(tmp_path, cache_dir):
    """README: `load_dataset` on 3.x needs the kit beside a copy; `load()` falls back to the installed one."""
    path = _copy(tmp_path / "mine", ALPHA)
    data_dir = str(sample_dir(ALPHA, "part1"))
    with pytest.raises(FileNotFoundError) as raised:
        datasets.load_dataset(str(path), "part1", data_dir=data_dir, cache_dir=cache_dir, trust_remote_code=True)
    assert str(path.parent / f"{KIT}.py") in str(raised.value)
    assert len(load(path, "part1", data_dir=data_dir, cache_dir=str(tmp_path / "ours"), split="train")) > 0


def test_an_edited_copy_of_a_script_elsewhere_runs_with_the_shipped_kit(tmp_path, cache_dir):
    path = _copy(tmp_path / "mine", ALIGN, edit=lambda text: text.replace('PRETTY_NAME = "Align', 'PRETTY_NAME = "My'))
    assert kit_path(path) == SHIPPED_KIT
    cls = builder_class(path)
    assert cls.PRETTY_NAME == "My-Anything-Instruction-100K"
    assert _kit_module(cls).__file__ != str(SHIPPED_KIT)  # a copy, in the modules cache
    assert open(_kit_module(cls).__file__, "rb").read() == SHIPPED_KIT.read_bytes()
    data_dir = sample_dir(ALIGN, "en")
    loaded = load(path, "en", data_dir=data_dir, cache_dir=cache_dir)
    shipped = load(ALIGN, "en", data_dir=data_dir, cache_dir=tmp_path / "shipped")
    for split in shipped:
        assert rows(loaded[split]) == rows(shipped[split]), split


def test_an_edited_copy_of_a_script_with_a_kit_beside_it_runs_that_kit(tmp_path, cache_dir):
    path = _copy(
        tmp_path / "mine",
        ALPHA,
        kit_edit=lambda kit: kit.replace('"user", "assistant"', '"human", "assistant"'),
    )
    assert kit_path(path) == path.parent / f"{KIT}.py"
    loaded = load(path, "part1", data_dir=sample_dir(ALPHA, "part1"), cache_dir=cache_dir, split="train")
    assert {row["messages"][0]["role"] for row in loaded} == {"human"}
    streamed = load(path, "part1", data_dir=sample_dir(ALPHA, "part1"), streaming=True, split="train")
    assert rows(streamed) == rows(loaded)


def test_the_code_hash_covers_the_kit(tmp_path):
    """Two copies of a script that differ only in their kits are two builders with two caches; a copy with the
    shipped kit as it is shares the shipped script's cache."""
    same = _copy(tmp_path / "same", ALIGN, kit_edit=lambda kit: kit)
    other = _copy(
        tmp_path / "other", ALIGN, kit_edit=lambda kit: kit.replace("range_probe_bytes = 16", "range_probe_bytes = 32")
    )
    assert same.read_bytes() == other.read_bytes()
    first, second = builder_class(same), builder_class(other)
    assert first is not second and (first.range_probe_bytes, second.range_probe_bytes) == (16, 32)
    data_dir = sample_dir(ALIGN, "en")
    cache = tmp_path / "cache"
    shipped, same_folders, other_folders = (
        {
            os.path.dirname(file["filename"])
            for file in load(path, "en", data_dir=data_dir, cache_dir=cache)["train"].cache_files
        }
        for path in (script_path(ALIGN), same, other)
    )
    assert same_folders == shipped and other_folders != same_folders


@pytest.mark.parametrize("kit_beside", [False, True], ids=["shipped-kit", "kit-beside"])
def test_num_proc_workers_import_the_script_copy_and_its_kit(kit_beside, tmp_path, cache_dir):
    """Several shards prepared by two processes: the workers unpickle the builder, whose classes live in the copies."""
    path = _copy(tmp_path / "mine", ALIGN, kit_edit=(lambda kit: kit) if kit_beside else None)
    data_dir = sample_dir(ALIGN, "en")
    parallel = load(path, "en", data_dir=data_dir, cache_dir=cache_dir, num_proc=2, shard_bytes=256)
    single = load(ALIGN, "en", data_dir=data_dir, cache_dir=tmp_path / "single")
    for split in single:
        assert rows(parallel[split]) == rows(single[split]), split
