"""The script-free export, from the library and the `export` command: what `load_dataset(folder, config)` gives
back on any `datasets` version, in Parquet or JSON Lines; the folder's layout; what a failed export leaves; where
the files come from (`--base-url`, `--hub-revision`). The card's text is tests/test_card.py's.
"""

import os
import re
import shutil
import subprocess
import sys

import datasets
import pytest
from fake_upstream import ALPHA_PREFIX, REPO_COMMIT
from helpers import EXPECTED_SPLITS, run_cli
from huggingface_hub import DatasetCard
from huggingface_hub.utils.sha import git_hash

from instruction_datasets import builder_class, card, load, script_path
from instruction_datasets import export as export_module
from instruction_datasets.export import export
from instruction_datasets.loading import sample_dir

SCRIPTS = sorted({script for script, _ in EXPECTED_SPLITS})
CASES = [pytest.param(script, config, id=f"{script}-{config}") for script, config in EXPECTED_SPLITS]


def rows(dataset):
    return list(dataset)


@pytest.mark.parametrize(("script", "config"), CASES)
def test_exported_config_loads_back_with_the_same_rows_and_features(script, config, exported, tmp_path):
    ours = load(script, config, data_dir=sample_dir(script, config), cache_dir=tmp_path / "ours")
    theirs = datasets.load_dataset(str(exported[script]), config, cache_dir=str(tmp_path / "theirs"))
    streamed = datasets.load_dataset(str(exported[script]), config, streaming=True)
    assert list(theirs) == list(ours)
    for split in ours:
        assert theirs[split].features == ours[split].features
        assert rows(theirs[split]) == rows(ours[split]), split
        assert rows(streamed[split]) == rows(ours[split]), split


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_exported_config_is_listed_and_the_default_is_the_builders(script, exported):
    cls = builder_class(script)
    assert sorted(datasets.get_dataset_config_names(str(exported[script]))) == sorted(cls.builder_configs)
    assert datasets.load_dataset_builder(str(exported[script])).config.name == cls.DEFAULT_CONFIG_NAME


def test_reexport_is_idempotent_and_leaves_no_stale_shards(tmp_path):
    script, config = "instruction_tuning_alpha", "part1"
    folder = tmp_path / "out"

    def snapshot():
        return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}

    kwargs = {"data_dir": sample_dir(script, config), "cache_dir": tmp_path / "cache"}
    export(script, config, folder, **kwargs)
    first = snapshot()
    export(script, config, folder, **kwargs)
    assert snapshot() == first
    summary = export(script, config, folder, max_shard_size="1KB", **kwargs)
    assert summary[config]["train"]["shards"] > 1
    assert rows(datasets.load_dataset(str(folder), config, split="train", cache_dir=str(tmp_path / "c1"))) == rows(
        load(script, config, split="train", **kwargs)
    )
    export(script, config, folder, **kwargs)
    assert snapshot() == first


def test_the_card_is_built_from_what_the_run_wrote_and_only_kept_configs_are_read_back(tmp_path, monkeypatch):
    """An export hands the card the counts, figures and provenance it just measured (they equal what reading the
    folder back gives, dropped empty responses included); only configs kept from earlier exports are read back."""
    script, folder = "instruction_tuning_alpha", tmp_path / "out"
    kwargs = {"data_dir": sample_dir(script, "all"), "cache_dir": tmp_path / "cache"}
    read_back, handed = [], {}
    real_read, real_render = export_module.read_facts, card.render_body

    def read_facts(out, names):
        read_back.append(list(names))
        return real_read(out, names)

    def render_body(cls, order, default, facts, repo_id=None):
        handed.update(facts)
        return real_render(cls, order, default, facts, repo_id)

    monkeypatch.setattr(export_module, "read_facts", read_facts)
    monkeypatch.setattr(card, "render_body", render_body)
    export(script, ["part1", "harmless"], folder, drop_empty_responses=True, **kwargs)
    assert read_back == [[]]
    assert handed == real_read(folder, ["part1", "harmless"])
    export(script, "part2", folder, **kwargs)
    assert read_back[-1] == ["part1", "harmless"]  # kept from the first export, in the card's order
    assert handed["part2"] == real_read(folder, ["part2"])["part2"]


def test_a_folder_holds_one_dataset(tmp_path):
    export("instruction_tuning_alpha", "harmless", tmp_path, data_dir=sample_dir("instruction_tuning_alpha", "all"))
    refused = "holds an export of 'instruction_tuning_dataset_alpha', not of 'Align-Anything-Instruction-100K': one"
    with pytest.raises(ValueError, match=re.escape(refused)):
        export("align_anything_instruction", "en", tmp_path, data_dir=sample_dir("align_anything_instruction", "en"))


def test_export_command_prints_a_summary(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "instruction_datasets",
            "export",
            "align_anything_instruction",
            "zh",
            "--out",
            str(tmp_path / "zh"),
            "--data-dir",
            str(sample_dir("align_anything_instruction", "zh")),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "exported zh to" in result.stdout and "train 4 rows" in result.stdout and "test 2 rows" in result.stdout


ALPHA = "instruction_tuning_alpha"
ALIGN = "align_anything_instruction"


def snapshot(folder):
    """Every file and folder under ``folder``, with the files' bytes."""
    return {path.relative_to(folder).as_posix(): path.is_file() and path.read_bytes() for path in folder.rglob("*")}


def alpha_kwargs(tmp_path):
    return {"data_dir": sample_dir(ALPHA, "all"), "cache_dir": tmp_path / "cache"}


def test_one_folder_holds_one_file_format(tmp_path):
    folder = tmp_path / "out"
    export(ALPHA, "harmless", folder, **alpha_kwargs(tmp_path))
    before = snapshot(folder)
    with pytest.raises(
        ValueError, match=r"holds configs harmless as \.parquet files; one folder holds one file format"
    ):
        export(ALPHA, "part1", folder, file_format="jsonl", **alpha_kwargs(tmp_path))
    assert snapshot(folder) == before
    # Every config in JSON Lines: each loads from the folder.
    jsonl = tmp_path / "jsonl"
    export(ALPHA, ["harmless", "part1"], jsonl, file_format="jsonl", **alpha_kwargs(tmp_path))
    for config in ("harmless", "part1"):
        theirs = datasets.load_dataset(str(jsonl), config, split="train", cache_dir=str(tmp_path / config))
        assert rows(theirs) == rows(load(ALPHA, config, split="train", **alpha_kwargs(tmp_path)))


def test_a_failed_export_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    folder = tmp_path / "out"
    export(ALPHA, "harmless", folder, **alpha_kwargs(tmp_path))
    before, beside = snapshot(folder), sorted(tmp_path.iterdir())
    with pytest.raises(ValueError, match=r"max_shard_size 'lots': expected bytes or a size like 500MB"):
        export(ALPHA, "part1", folder, max_shard_size="lots", **alpha_kwargs(tmp_path))
    assert snapshot(folder) == before

    def half_written(dataset, path):
        path.write_bytes(b"PAR1 and then the disk was full")
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(export_module.WRITERS, "parquet", half_written)
    for config in ("harmless", "part1"):  # a config the folder holds, and a new one
        with pytest.raises(OSError, match="No space left"):
            export(ALPHA, config, folder, **alpha_kwargs(tmp_path))
        assert snapshot(folder) == before and sorted(tmp_path.iterdir()) == beside
    with pytest.raises(OSError, match="No space left"):
        export(ALPHA, "harmless", tmp_path / "new", **alpha_kwargs(tmp_path))
    assert sorted(tmp_path.iterdir()) == beside  # no folder, no leftovers

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.undo()  # shards are written again; the stats picture is where Ctrl-C comes
    monkeypatch.setattr(export_module.stats, "plot", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export(ALPHA, "harmless", folder, **alpha_kwargs(tmp_path))
    assert snapshot(folder) == before and sorted(tmp_path.iterdir()) == beside


def test_files_export_does_not_rewrite_stay_the_same_files_hard_linked_where_it_can(tmp_path, monkeypatch):
    """README: the hidden copy export builds in links the folder's files where it can, and copies where it cannot."""
    folder = tmp_path / "out"
    export(ALPHA, "harmless", folder, **alpha_kwargs(tmp_path))
    (folder / "NOTES.md").write_text("my own notes\n")
    kept = sorted(path for path in folder.rglob("*") if path.is_file() and "harmless" in path.parts)
    kept.append(folder / "NOTES.md")
    inodes = {path: path.stat().st_ino for path in kept}
    export(ALPHA, "part1", folder, **alpha_kwargs(tmp_path))
    assert {path: path.stat().st_ino for path in kept} == inodes  # linked into the copy, not copied

    def no_links(source, target):
        raise OSError(1, "Operation not permitted")

    before = {path: path.read_bytes() for path in kept}
    monkeypatch.setattr(export_module.os, "link", no_links)
    export(ALPHA, "part2", folder, **alpha_kwargs(tmp_path))
    assert {path: path.read_bytes() for path in kept} == before
    assert all(path.stat().st_ino != inodes[path] for path in kept)  # copied instead
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cache", "out"]


@pytest.mark.parametrize("name", ["my_copy.py", "align_anything_instruction.py"])
def test_a_script_given_by_path_is_exported_from_that_path(name, tmp_path):
    shipped = script_path(ALIGN).read_text(encoding="utf-8")
    edited = tmp_path / "edited" / name
    edited.parent.mkdir()
    edited.write_text(
        shipped.replace('PRETTY_NAME = "Align-Anything-Instruction-100K"', 'PRETTY_NAME = "Our edited Align-Anything"'),
        "utf-8",
    )
    zh = sample_dir(ALIGN, "zh")
    export(str(edited), "zh", tmp_path / "out", data_dir=zh, cache_dir=tmp_path / "cache")
    assert DatasetCard.load(tmp_path / "out" / "README.md").data.pretty_name == "Our edited Align-Anything"


def test_export_all_configs_command_writes_one_folder_with_one_card(tmp_path):
    samples = sample_dir(ALIGN, "en").parent / "{config}"
    command = [sys.executable, "-m", "instruction_datasets", "export", ALIGN, "--all-configs"]
    result = subprocess.run(
        [*command, "--out", str(tmp_path / "out"), "--data-dir", str(samples), "--cache-dir", str(tmp_path / "c")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "exported en to" in result.stdout and "exported zh to" in result.stdout
    assert sorted(path.name for path in (tmp_path / "out" / "data").iterdir()) == ["en", "zh"]
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["README.md", "data", "provenance", "stats"]
    assert card.problems(tmp_path / "out") == []


def test_a_failed_export_leaves_no_folder_it_made(tmp_path, capsys):
    (tmp_path / "copy" / "data").mkdir(parents=True)
    (tmp_path / "copy" / "data" / "train.jsonl").write_text('{"prompt": "p", "response": "r"}\n{"prompt": 1}\n')
    (tmp_path / "copy" / "data" / "test.jsonl").write_text('{"prompt": "p", "response": "r"}\n')
    argv = ["export", "align_anything_instruction", "en", "--data-dir", tmp_path / "copy", "--out", tmp_path / "a/b/c"]
    status, _, err = run_cli([*argv, "--cache-dir", tmp_path / "cache"], capsys)
    assert status == 1, err
    assert "line 2: key 'prompt' must be a string" in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cache", "copy"]


def test_an_export_that_cannot_make_its_copy_leaves_nothing_either(tmp_path, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    samples = {"data_dir": sample_dir(ALPHA, "all"), "cache_dir": tmp_path / "cache"}
    monkeypatch.setattr(export_module.tempfile, "mkdtemp", disk_full)
    with pytest.raises(OSError, match="No space left"):
        export_module.export("instruction_tuning_alpha", "harmless", tmp_path / "a" / "b" / "c", **samples)
    assert sorted(path.name for path in tmp_path.iterdir()) == []
    monkeypatch.undo()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "README.md").write_text("my notes\n")
    copied = []

    def copy_then_fail(source, target):
        if copied:
            raise OSError(28, "No space left on device")
        copied.append(export_module.shutil.copy2(source, target))

    (tmp_path / "out" / "notes.txt").write_text("more notes\n")
    monkeypatch.setattr(export_module, "_link_or_copy", copy_then_fail)
    with pytest.raises(OSError, match="No space left"):
        export_module.export("instruction_tuning_alpha", "harmless", tmp_path / "out", **samples)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["README.md", "notes.txt"]


def test_export_reads_alpha_from_the_address_given_with_base_url(upstream, tmp_path, capsys, monkeypatch):
    """The loopback server stands for a mirror of GitHub; it serves the samples, whose hashes are pinned here."""
    cls, files = builder_class("instruction_tuning_alpha"), sample_dir(ALPHA, "all")
    pinned = {part: (name, git_hash((files / name).read_bytes())) for part, (name, _) in cls.PARTS.items()}
    monkeypatch.setattr(cls, "PARTS", pinned)
    argv = ["export", "instruction_tuning_alpha", "part1", "--base-url", upstream.alpha_base_url]
    status, out, err = run_cli([*argv, "--out", tmp_path / "out", "--cache-dir", tmp_path / "cache"], capsys)
    assert status == 0, err
    assert f"exported part1 to {tmp_path / 'out'}: train 9 rows" in out
    assert [path for method, path in upstream.requests if method == "GET"] == [f"{ALPHA_PREFIX}{pinned['part1'][0]}"]
    card_text = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert f"- `part1`: downloaded from `{upstream.alpha_base_url}`: `{pinned['part1'][0]}`" in card_text
    assert "downloaded from GitHub" not in card_text


def test_export_reads_the_hub_revision_given(upstream, tmp_path):
    """main has moved on to a commit with other rows; --hub-revision reads the commit the user names."""
    repo = "PKU-Alignment/Align-Anything-Instruction-100K"
    rows = "".join(f'{{"prompt": "p{i}", "response": "r{i}"}}\n' for i in range(3)).encode()
    upstream.land_commit(repo, {"data/train.jsonl": rows})
    env = {key: value for key, value in os.environ.items() if not key.endswith("_OFFLINE")}
    env.update(HF_ENDPOINT=upstream.endpoint, HF_HOME=str(tmp_path / "hf"))
    exported = {}
    for revision in (None, REPO_COMMIT):
        out = tmp_path / f"out-{revision}"
        command = [sys.executable, "-m", "instruction_datasets", "export", "align_anything_instruction", "en"]
        command += ["--out", out, *(["--hub-revision", revision] if revision else [])]
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert run.returncode == 0, run.stderr[-3000:]
        exported[revision] = re.search(r"train (\d+) rows", run.stdout).group(1)
    assert exported == {None: "3", REPO_COMMIT: "5"}


@pytest.mark.parametrize(
    ("script", "config"), [("align_anything_instruction", "zh"), ("instruction_tuning_alpha", "all")]
)
def test_jsonl_export_loads_back_identically(script, config, tmp_path):
    ours = load(script, config, data_dir=sample_dir(script, config), cache_dir=tmp_path / "ours")
    export(
        script,
        config,
        tmp_path / "out",
        data_dir=sample_dir(script, config),
        cache_dir=tmp_path / "ours",
        file_format="jsonl",
    )
    for split in ours:
        files = sorted(str(path) for path in (tmp_path / "out" / "data" / config).glob(f"{split}-*.jsonl"))
        raw = b"".join(open(path, "rb").read() for path in files)
        assert b"\\u" not in raw  # UTF-8, not ASCII escapes
        theirs = datasets.load_dataset("json", data_files=files, split="train", cache_dir=str(tmp_path / "json"))
        assert list(theirs) == list(ours[split])
    from_folder = datasets.load_dataset(str(tmp_path / "out"), config, cache_dir=str(tmp_path / "folder"))
    for split in ours:
        assert list(from_folder[split]) == list(ours[split])


@pytest.mark.parametrize("file_format", ["parquet", "jsonl"])
def test_drop_empty_responses_leaves_out_exactly_those_rows_and_a_later_export_brings_them_back(file_format, tmp_path):
    config = "part2"
    data_dir = sample_dir("instruction_tuning_alpha", config)
    loaded = load("instruction_tuning_alpha", config, split="train", data_dir=data_dir)
    answered = [row for row in loaded if row["response"] != ""]
    assert len(answered) < loaded.num_rows  # the samples hold a text with no `Rosey:` line and no blank line
    out = tmp_path / "alpha"
    summary = export(
        "instruction_tuning_alpha", config, out, data_dir=data_dir, file_format=file_format, drop_empty_responses=True
    )
    assert summary[config]["train"]["rows"] == len(answered)
    assert summary[config]["train"]["left_out"] == loaded.num_rows - len(answered)
    assert rows(datasets.load_dataset(str(out), config, split="train")) == answered
    record = export_module.read_facts(out, [config])[config].record
    assert record[export_module.EMPTY_LEFT_OUT] == {"train": loaded.num_rows - len(answered)}

    # Exported again without the option, the folder holds every row again, and nothing says rows were left out.
    summary = export("instruction_tuning_alpha", config, out, data_dir=data_dir, file_format=file_format)
    assert "left_out" not in summary[config]["train"]
    assert rows(datasets.load_dataset(str(out), config, split="train")) == rows(loaded)
    assert export_module.EMPTY_LEFT_OUT not in export_module.read_facts(out, [config])[config].record
    assert "Left out of this export" not in (out / "README.md").read_text(encoding="utf-8")


# --- Where export may write, and one writer per folder ------------------------------------------------------------


def everything(root) -> dict:
    """Every path under ``root`` (links not followed): what it is, and a file's bytes or a link's target."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            found[path] = ("link", os.readlink(path))
        elif path.is_file():
            found[path] = ("file", path.read_bytes())
        else:
            found[path] = ("folder", None)
    return found


def out_cases(tmp_path, exported):
    """--out values export must refuse, each with the line it is refused in."""
    (tmp_path / "notes.txt").write_text("my notes\n")
    (tmp_path / "real").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    shutil.copytree(exported[ALPHA], tmp_path / "linked-data")
    shutil.rmtree(tmp_path / "linked-data" / "stats")
    (tmp_path / "linked-data" / "stats").symlink_to(tmp_path / "real")
    samples = sample_dir(ALPHA, "all")
    return {
        "a file": (tmp_path / "notes.txt", f"{tmp_path / 'notes.txt'} is a file, not a folder: give a new folder or "
                   "an earlier export folder"),
        "a link to a folder": (tmp_path / "linked", f"{tmp_path / 'linked'} is a symbolic link: give the folder "
                               "itself (export replaces the folder it writes)"),
        "below a file": (tmp_path / "notes.txt" / "out", f"{tmp_path / 'notes.txt' / 'out'}: "
                         f"{tmp_path / 'notes.txt'} is a file, not a folder"),
        "inside the samples": (samples / "out", f"{samples / 'out'} is inside the package's samples "
                               f"({samples.parent}): export into a folder of your own"),
        "a linked folder export writes": (tmp_path / "linked-data", f"{tmp_path / 'linked-data'}: stats is a symbolic "
                                          "link; export writes there, and would write through the link: replace it "
                                          "with a folder or file of its own"),
    }  # fmt: skip


@pytest.mark.parametrize(
    "case", ["a file", "a link to a folder", "below a file", "inside the samples", "a linked folder export writes"]
)
def test_an_out_export_cannot_write_is_refused_in_one_line_before_any_work(case, tmp_path, exported, capsys):
    out, line = out_cases(tmp_path, exported)[case]
    before, samples = everything(tmp_path), everything(sample_dir(ALPHA, "all").parent)
    argv = ["export", ALPHA, "part1", "--data-dir", sample_dir(ALPHA, "all"), "--out", out]
    status, stdout, err = run_cli([*argv, "--cache-dir", tmp_path / "cache"], capsys)
    assert (status, stdout, err.splitlines()) == (2, "", [f"error: --out {line}"])
    assert everything(tmp_path) == before and everything(sample_dir(ALPHA, "all").parent) == samples
    with pytest.raises(ValueError) as caught:  # the library refuses it too, with the same words
        export(ALPHA, "part1", out, data_dir=sample_dir(ALPHA, "all"), cache_dir=tmp_path / "cache")
    assert str(caught.value) == line
    assert everything(tmp_path) == before


def exporting(config: str, out, cache) -> subprocess.Popen:
    command = [sys.executable, "-m", "instruction_datasets", "export", ALPHA, config]
    command += ["--data-dir", str(sample_dir(ALPHA, config)), "--out", str(out), "--cache-dir", str(cache)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.parametrize(
    "configs",
    [["part1", "part2"], ["harmless", "helpful", "harmless"], ["all", "python_code", "synthetic_qa", "all"]],
    ids=["2 processes", "3 processes, one config twice", "4 processes, one config twice"],
)
def test_exports_into_one_folder_at_once_keep_every_config(configs, tmp_path):
    out = tmp_path / "out"
    running = [exporting(config, out, tmp_path / f"cache-{index}") for index, config in enumerate(configs)]
    results = [process.communicate(timeout=300) for process in running]
    assert [process.returncode for process in running] == [0] * len(configs), results
    listed = [entry["config_name"] for entry in DatasetCard.load(out / "README.md").data.to_dict()["configs"]]
    assert sorted(listed) == sorted(set(configs))
    for config in set(configs):
        theirs = datasets.load_dataset(str(out), config, split="train", cache_dir=str(tmp_path / "read" / config))
        assert theirs.num_rows == EXPECTED_SPLITS[(ALPHA, config)]["train"], config
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith(".")) == []
