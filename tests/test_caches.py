"""What `load()` leaves in the modules cache, and what each way of loading serves after a local file changes."""

import json
import os
import shutil
import stat
import subprocess
import sys

import datasets
import pytest
from helpers import RUNS_SCRIPTS

from instruction_datasets import load, loading, script_path
from instruction_datasets.loading import sample_dir

SCRIPT = "align_anything_instruction"


def _fresh_process(code: str, env: dict, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def _hf_env(home) -> dict:
    env = {**os.environ, "HF_HOME": str(home), "HF_MODULES_CACHE": str(home / "modules")}
    env.pop("HF_DATASETS_CACHE", None)
    return env


def test_nothing_load_writes_into_the_modules_cache_is_importable(tmp_path):
    env = _hf_env(tmp_path / "hf")
    code = f"""
import datasets.config, json, os
from instruction_datasets import load
before = set(os.listdir(datasets.config.HF_MODULES_CACHE)) if os.path.isdir(datasets.config.HF_MODULES_CACHE) else set()
load({SCRIPT!r}, "en", data_dir={str(sample_dir(SCRIPT, "en"))!r})
load("instruction_tuning_alpha", "part1", data_dir={str(sample_dir("instruction_tuning_alpha", "part1"))!r})
print(json.dumps(sorted(set(os.listdir(datasets.config.HF_MODULES_CACHE)) - before)))
"""
    run = _fresh_process(code, env, tmp_path)
    assert run.returncode == 0, run.stderr
    added = json.loads(run.stdout.strip().splitlines()[-1])
    assert added, "load() wrote nothing into the modules cache"
    # The modules cache sits on sys.path (datasets 3.x puts it there): a name there is a name `import` finds.
    # `datasets` makes its own `datasets_modules` and `__init__.py` when any builder is used.
    ours = [name for name in added if name not in {"datasets_modules", "__init__.py"}]
    assert ours and not [name for name in ours if name.removesuffix(".py").isidentifier()], added


def test_module_copies_of_the_old_layout_are_named_for_deletion(tmp_path):
    """0.1.0 kept its copies in an importable folder; load() says so (it is a cache of ours, but we delete nothing)."""
    env = _hf_env(tmp_path / "hf")
    old = tmp_path / "hf" / "modules" / "instruction_datasets" / SCRIPT / "0123456789abcdef"
    old.mkdir(parents=True)
    code = f"from instruction_datasets import load; load({SCRIPT!r}, 'en', data_dir={str(sample_dir(SCRIPT, 'en'))!r})"
    run = _fresh_process(code, env, tmp_path)
    assert run.returncode == 0, run.stderr
    assert f"{tmp_path / 'hf' / 'modules' / 'instruction_datasets'} holds module copies of" in run.stderr
    assert "delete it" in run.stderr and old.is_dir()


@pytest.mark.skipif(not RUNS_SCRIPTS, reason="datasets 4+ does not run scripts from load_dataset")
def test_the_package_still_imports_after_load_then_load_dataset_of_a_script(tmp_path):
    # The README's set-up is an editable install; run from elsewhere, so the checkout is not on sys.path.
    env = _hf_env(tmp_path / "hf")
    data_dir = str(sample_dir(SCRIPT, "en"))
    first = _fresh_process(
        f"from instruction_datasets import load; load({SCRIPT!r}, 'en', data_dir={data_dir!r})", env, tmp_path
    )
    assert first.returncode == 0, first.stderr
    second = _fresh_process(
        "import datasets\n"
        f"datasets.load_dataset({str(script_path(SCRIPT))!r}, 'en', data_dir={data_dir!r}, trust_remote_code=True)\n"
        "from instruction_datasets import load\n"
        f"print(load({SCRIPT!r}, 'en', data_dir={data_dir!r})['train'].num_rows)\n",
        env,
        tmp_path,
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip().splitlines()[-1] == "5"


def test_module_copies_are_whole_written_once_and_readable_by_all(tmp_path):
    """The first process to ask for a builder copies the script, its kit and its infos; the next finds them."""
    env = _hf_env(tmp_path / "hf")
    code = f"from instruction_datasets import builder_class; builder_class({SCRIPT!r})"
    first = _fresh_process(code, env, tmp_path)
    assert first.returncode == 0, first.stderr
    script = script_path(SCRIPT)
    (folder,) = [
        path for path in (tmp_path / "hf" / "modules" / loading.MODULES_FOLDER / SCRIPT).iterdir() if path.is_dir()
    ]
    copies = sorted(folder.iterdir())
    beside = [name for name in ("dataset_infos.json", "README.md") if (script.parent / name).is_file()]
    code_files = [script.name, f"{loading.KIT}.py"]  # the script and the kit it imports
    assert sorted(path.name for path in copies) == sorted([*code_files, *beside])  # no temporary files left
    for path in copies:
        assert path.read_bytes() == (script.parent / path.name).read_bytes()
    written = [(path.stat().st_ino, path.stat().st_mtime_ns) for path in copies]
    second = _fresh_process(code, env, tmp_path)
    assert second.returncode == 0, second.stderr
    assert [(path.stat().st_ino, path.stat().st_mtime_ns) for path in copies] == written
    umask = os.umask(0o022)
    os.umask(umask)
    assert {stat.S_IMODE(path.stat().st_mode) for path in copies} == {0o666 & ~umask}


def _changed_copy(tmp_path):
    """A local copy of the `en` samples, and the same copy with the first train row's response changed."""
    local = tmp_path / "local"
    shutil.copytree(sample_dir(SCRIPT, "en"), local)
    train = local / "data" / "train.jsonl"
    lines = train.read_text(encoding="utf-8").splitlines(keepends=True)
    row = json.loads(lines[0])
    row["response"] = "changed after the first load"
    return local, train, "".join([json.dumps(row) + "\n", *lines[1:]])


def test_load_serves_the_new_rows_after_a_local_file_changes(tmp_path):
    local, train, changed = _changed_copy(tmp_path)
    assert load(SCRIPT, "en", split="train", data_dir=local, cache_dir=tmp_path / "c")[0]["response"] != (
        "changed after the first load"
    )
    train.write_text(changed, encoding="utf-8")
    assert load(SCRIPT, "en", split="train", data_dir=local, cache_dir=tmp_path / "c")[0]["response"] == (
        "changed after the first load"
    )


@pytest.mark.skipif(not RUNS_SCRIPTS, reason="datasets 4+ does not run scripts from load_dataset")
def test_load_dataset_of_a_script_keeps_old_rows_until_force_redownload(tmp_path):
    local, train, changed = _changed_copy(tmp_path)

    def first_response(**kwargs):
        dataset = datasets.load_dataset(
            str(script_path(SCRIPT)),
            "en",
            split="train",
            data_dir=str(local),
            cache_dir=str(tmp_path / "c"),
            trust_remote_code=True,
            **kwargs,
        )
        return dataset[0]["response"]

    before = first_response()
    train.write_text(changed, encoding="utf-8")
    # datasets' cache key for a script covers its code and arguments, not the bytes in data_dir.
    assert first_response() == before
    assert first_response(download_mode="force_redownload") == "changed after the first load"
