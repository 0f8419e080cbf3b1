"""The command line as such: `demo`, help and version, every command's mistakes in one line (status 2), failures
(status 1), Ctrl-C (status 130), and how errors and warnings are printed.

A command's own work and options are tested in the file of its concern (export, stats, push, infos).
"""

import argparse
import importlib.metadata
import inspect
import os
import re
import signal
import subprocess
import sys
import time

import datasets
import pytest
from helpers import run_cli

import instruction_datasets
from instruction_datasets import builder_class, cli, infos, layout, loading, meta, stats
from instruction_datasets import export as export_module
from instruction_datasets import push as push_module
from instruction_datasets.loading import PROJECT_ROOT, available_scripts, sample_dir

ALPHA_SAMPLES = sample_dir("instruction_tuning_alpha", "all")


def test_demo_prints_every_config_and_split_and_a_streamed_row(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "instruction_datasets", "demo"],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # the demo must not depend on the working directory
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for script in available_scripts():
        for config in builder_class(script).BUILDER_CONFIGS:
            assert f"== {script} / {config.name} " in out
    assert "  train: 5 rows; first row:" in out
    # The samples are local files, read as they are: no hash is checked, wherever the dataset comes from
    # (Hub or GitHub); a download names its commit and the hashes checked.
    assert out.count("\n  source: local files, read as they are (no hash checked)\n") == len(
        re.findall("^== ", out, re.M)
    )
    assert out.count("streamed the first") == sum(
        len(builder_class(script).BUILDER_CONFIGS) for script in available_scripts()
    )
    # Each config's warnings sit below its own header, each on a line of its own; none reach stderr.
    blocks = {block.split("  (", 1)[0]: block for block in out.split("== ")[1:]}
    alpha_all = blocks["instruction_tuning_alpha / all"].splitlines()
    warning = "  warning: instruction_tuning_dataset_alpha_part1.json, instruction_tuning_dataset_alpha_part2.json: "
    assert any(line.startswith(warning) and "1 row(s) had no 'Rosey:' line" in line for line in alpha_all)
    # Header, then the source line, then the warnings.
    assert alpha_all.index(next(line for line in alpha_all if line.startswith("  warning: "))) == 2
    assert not any("warning" in line for line in blocks["align_anything_instruction / en"].splitlines())
    assert "Rosey" not in result.stderr


# --- Mistakes answered in one line ---------------------------------------------------------------------------


ALPHA_CONFIGS = "configs: all, part1, part2, python_code, helpful, harmless, synthetic_qa"
MISTAKES = {
    "unknown command": (["nope"], "invalid choice: 'nope' (choose from 'demo', 'infos', 'stats', 'export', 'push')"),
    "unknown script": (
        ["export", "nope", "en", "--out", "{out}"],
        "unknown loading script 'nope': give a path to an existing .py file, or one of align_anything_instruction, "
        "instruction_tuning_alpha",
    ),
    "script path that does not exist": (["stats", "{tmp}/my_copy.py", "en"], "unknown loading script"),
    "unknown config": (
        ["export", "align_anything_instruction", "xx", "--out", "{out}"],
        "align_anything_instruction has no config 'xx'; configs: en, zh",
    ),
    "unknown alpha config": (["stats", "instruction_tuning_alpha", "nope"], ALPHA_CONFIGS),
    "missing data folder": (
        ["export", "instruction_tuning_alpha", "all", "--out", "{out}", "--data-dir", "{tmp}/nowhere"],
        "--data-dir {tmp}/nowhere: no such folder",
    ),
    "missing data folder called data_dir": (
        ["stats", "instruction_tuning_alpha", "all", "--data-dir", "data_dir"],
        "error: --data-dir data_dir: no such folder",
    ),
    "bad shard size": (
        ["export", "instruction_tuning_alpha", "all", "--out", "{out}", "--max-shard-size", "lots"],
        "argument --max-shard-size: 'lots' is not a size; give a number of bytes, or a number with a unit: KB, MB, GB",
    ),
    "bad format": (
        ["export", "instruction_tuning_alpha", "all", "--out", "{out}", "--format", "csv"],
        "argument --format: invalid choice: 'csv' (choose from 'jsonl', 'parquet')",
    ),
    "export with neither a config nor --all-configs": (
        ["export", "instruction_tuning_alpha", "--out", "{out}"],
        "export: give a config to export, or --all-configs for every config of the script",
    ),
    "export with a config and --all-configs": (
        ["export", "instruction_tuning_alpha", "all", "--all-configs", "--out", "{out}"],
        "export: give a config ('all') or --all-configs, not both",
    ),
    "repo id the Hub refuses": (
        ["push", "{tmp}", "--repo-id", "bad name!", "--dry-run"],
        "--repo-id 'bad name!': Repo id must use alphanumeric chars",
    ),
    "export with a repo id the Hub refuses": (
        ["export", "instruction_tuning_alpha", "all", "--out", "{out}", "--repo-id", "bad name!"],
        "--repo-id 'bad name!': Repo id must use alphanumeric chars",
    ),
    "repo id with two slashes": (
        ["push", "{tmp}", "--repo-id", "not-a-valid/repo/id", "--dry-run"],
        "--repo-id 'not-a-valid/repo/id': give ORG/NAME",
    ),
    "repo id without ORG/": (["push", "{tmp}", "--repo-id", "name", "--dry-run"], "--repo-id 'name': give ORG/NAME"),
    "repo id with --": (["push", "{tmp}", "--repo-id", "org/a--b", "--dry-run"], "Cannot have -- or .. in --repo-id"),
    "a setting the script does not have": (
        ["stats", "instruction_tuning_alpha", "all", "--hub-revision", "v1"],
        "--hub-revision: instruction_tuning_alpha has no such setting; it takes --base-url",
    ),
    "a setting the other script has": (
        ["export", "align_anything_instruction", "en", "--out", "{out}", "--base-url", "http://127.0.0.1:9/x"],
        "--base-url: align_anything_instruction has no such setting; it takes --hub-revision",
    ),
    "empty commit message": (
        ["push", "{tmp}", "--repo-id", "o/n", "--commit-message", " ", "--dry-run"],
        "--commit-message is empty",
    ),
    "missing export folder": (["push", "{tmp}/nowhere", "--repo-id", "o/n", "--dry-run"], "no such folder"),
    "folder that is no export": (["push", "{tmp}", "--repo-id", "o/n", "--dry-run"], "has no README.md card"),
    "plot into a missing folder": (
        ["stats", "instruction_tuning_alpha", "all", "--data-dir", ALPHA_SAMPLES, "--plot", "{tmp}/nowhere/a.png"],
        "--plot {tmp}/nowhere/a.png: the folder {tmp}/nowhere does not exist",
    ),
    "plot that is no PNG": (
        ["stats", "instruction_tuning_alpha", "all", "--plot", "{tmp}/a.txt"],
        "the picture is a PNG: give a name ending in .png, or no extension",
    ),
}


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_a_known_mistake_is_one_line_with_the_choices_and_status_2(case, tmp_path, capsys, monkeypatch):
    argv, expected = MISTAKES[case]
    fill = {"tmp": tmp_path, "out": tmp_path / "out"}
    # Each mistake is caught before any work: loading, exporting or pushing anything would fail this test.
    monkeypatch.setattr(loading, "load", lambda *a, **k: pytest.fail("loaded before checking"))
    monkeypatch.setattr(stats, "collect", lambda *a, **k: pytest.fail("collected before checking"))
    monkeypatch.setattr(export_module, "export", lambda *a, **k: pytest.fail("exported before checking"))
    monkeypatch.setattr(push_module, "push", lambda *a, **k: pytest.fail("pushed before checking"))
    monkeypatch.setattr(push_module, "plan", lambda *a, **k: pytest.fail("planned a push before checking"))
    monkeypatch.setattr(push_module, "upload", lambda *a, **k: pytest.fail("pushed before checking"))
    status, out, err = run_cli([str(arg).format(**fill) for arg in argv], capsys)
    assert status == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert expected.format(**fill) in err
    assert not (tmp_path / "out").exists()


def test_no_traceback_unless_debug(tmp_path):
    command = [sys.executable, "-m", "instruction_datasets", "stats", "instruction_tuning_alpha", "nope"]
    plain = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert plain.returncode == 2
    assert plain.stderr == f"error: instruction_tuning_alpha has no config 'nope'; {ALPHA_CONFIGS}\n"
    debug = subprocess.run([*command, "--debug"], capture_output=True, text=True, cwd=tmp_path)
    assert "Traceback (most recent call last)" in debug.stderr and "UsageError" in debug.stderr


def test_a_failure_of_the_work_is_one_line_with_status_1(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text('{"prompt": "p", "response": "r"}\n{"prompt": 1}\n')
    (tmp_path / "data" / "test.jsonl").write_text('{"prompt": "p", "response": "r"}\n')
    argv = ["stats", "align_anything_instruction", "en", "--data-dir", tmp_path, "--cache-dir", tmp_path / "c"]
    status, _, err = run_cli(argv, capsys)
    assert status == 1
    last = err.rstrip("\n").split("\n")[-1]  # after the progress bars, on a line of its own
    assert last.startswith("error: ") and "Traceback" not in err
    assert f"{tmp_path / 'data' / 'train.jsonl'}, line 2: key 'prompt' must be a string" in err
    assert err.endswith("(--debug shows the traceback)\n")


def test_help_and_docstring_list_every_command_and_say_which_download(capsys):
    parser = cli.build_parser()
    (commands,) = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    assert set(commands.choices) == {"demo", "infos", "stats", "export", "push"}
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    docstring = " ".join(cli.__doc__.split())
    for command in commands.choices:
        assert f" {command} " in help_text and f" {command} " in docstring, command
    assert "stats and export download the upstream files unless --data-dir names a local copy" in help_text
    assert "``stats`` and ``export`` download the upstream files" in docstring
    assert "unless ``--data-dir`` names a local copy" in docstring
    for command in ("stats", "export"):
        assert "(downloads unless --data-dir)" in " ".join(commands.choices[command].format_help().split())


def test_a_reader_that_stops_early_gets_no_error_line():
    """`python -m instruction_datasets ... | head`: the closed pipe ends the command quietly, with no traceback."""
    process = subprocess.Popen(
        [sys.executable, "-m", "instruction_datasets", "infos", "--check"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # before the command writes its line
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 1
    assert stderr.decode() == ""


# --- The basics: version, a fast --help, Ctrl-C, errors in the command line's words ---------------------------


def test_version_is_the_package_metadata_and_pyproject_says_it():
    result = subprocess.run([sys.executable, "-m", "instruction_datasets", "--version"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    # pyproject.toml takes the version from meta.VERSION: it is written there only.
    assert re.search(r'^dynamic = \["version"\]$', pyproject, re.M) and not re.search(r'^version = "', pyproject, re.M)
    assert 'version = {attr = "instruction_datasets.meta.VERSION"}' in pyproject
    declared = meta.VERSION
    assert result.stdout == f"instruction_datasets {declared}\n"
    assert instruction_datasets.__version__ == importlib.metadata.version("instruction_datasets") == declared


def test_a_source_checkout_that_is_not_installed_knows_its_version(monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert meta.version() == meta.VERSION and re.fullmatch(r"\d+\.\d+\.\d+", meta.version())


HEAVY = ("datasets", "pandas", "matplotlib", "huggingface_hub", "pyarrow")


COMMANDS = ["demo", "infos", "stats", "export", "push"]


@pytest.mark.parametrize("argv", [["--help"], ["--version"], *([command, "--help"] for command in COMMANDS)])
def test_help_and_version_import_nothing_heavy(argv):
    code = (
        "import sys\nfrom instruction_datasets import cli\ntry:\n    cli.main(sys.argv[1:])\nexcept SystemExit:\n"
        f"    pass\nprint('imported:', *sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("imported:"), result.stdout[-300:]


def test_the_default_shard_size_is_push_to_hubs_and_every_format_has_a_writer():
    """The defaults are written once, in layout (light enough for --help); the shard size is `datasets`' own."""
    assert layout.DEFAULT_MAX_SHARD_SIZE == datasets.config.MAX_SHARD_SIZE
    assert set(layout.FILE_FORMATS) == set(export_module.WRITERS)
    args = cli.build_parser().parse_args(["export", "x", "y", "--out", "z"])
    given = cli.build_parser().parse_args(["export", "x", "y", "--out", "z", "--max-shard-size", "500MB"])
    assert (args.max_shard_size, args.format) == (given.max_shard_size, "parquet")
    assert inspect.signature(export_module.export).parameters["file_format"].default == "parquet"


INTERRUPTIONS = {
    "demo": (["demo"], loading, "load"),
    "infos": (["infos", "--check"], infos, "is_current"),
    "stats": (["stats", "instruction_tuning_alpha", "all", "--data-dir", ALPHA_SAMPLES], stats, "collect"),
    "export": (["export", "instruction_tuning_alpha", "all", "--out", "{tmp}/out"], export_module, "export"),
    "push": (["push", "{tmp}", "--repo-id", "o/n"], push_module, "plan"),
}


@pytest.mark.parametrize("command", sorted(INTERRUPTIONS))
def test_ctrl_c_in_any_command_is_one_line_and_status_130(command, tmp_path, capsys, monkeypatch):
    argv, module, work = INTERRUPTIONS[command]
    (tmp_path / "README.md").write_text("a card\n")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, work, interrupted)
    monkeypatch.setattr("datasets.disable_progress_bars", lambda: None)  # demo's switch would outlive this test
    status, _, err = run_cli([str(arg).format(tmp=tmp_path) for arg in argv], capsys)
    assert status == 130
    assert err == "interrupted\n"


@pytest.mark.slow
def test_ctrl_c_during_an_export_leaves_nothing_behind(tmp_path):
    """A real SIGINT while export reads its input (a pipe nobody writes to): one line, status 130, no new folders."""
    data = tmp_path / "data"
    data.mkdir()
    os.mkfifo(data / "instruction_tuning_dataset_alpha_part1.json")
    command = [sys.executable, "-m", "instruction_datasets", "export", "instruction_tuning_alpha", "part1"]
    command += ["--data-dir", data, "--out", tmp_path / "a" / "b" / "c", "--cache-dir", tmp_path / "cache"]
    # As at a terminal: a test run started in the background (CI's may be) ignores SIGINT, and a child inherits
    # that, so without this Python would install no Ctrl-C handler and the export would wait on the pipe for ever.
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    writer, deadline = None, time.monotonic() + 120
    while writer is None and process.poll() is None and time.monotonic() < deadline:
        try:  # succeeds once export has opened the pipe to read it
            writer = os.open(data / "instruction_tuning_dataset_alpha_part1.json", os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            time.sleep(0.05)
    assert writer is not None, process.communicate(timeout=60)
    time.sleep(0.5)  # export is most often in read() by then; the fallback below covers the times it is not
    try:
        process.send_signal(signal.SIGINT)
        try:
            out, err = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            # The signal came after export's open() of the pipe returned but before its read() began: Python noted
            # it, but no signal is left to wake the read that then blocked. As a file would, the input ends here;
            # the read returns and Python raises the KeyboardInterrupt it noted.
            os.close(writer)
            writer = None
            out, err = process.communicate(timeout=120)
    finally:
        if writer is not None:
            os.close(writer)
    assert process.returncode == 130, err
    assert err.split("\n")[-2:] == ["interrupted", ""] and "Traceback" not in err, err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cache", "data"]


def test_errors_name_the_options_the_user_typed_where_the_library_names_its_parameters(tmp_path):
    """Offline with nothing cached: the library says ``pass data_dir=``, the command line ``pass --data-dir``."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "home")}
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"  # nothing listens there; offline mode sends nothing anyway
    library = subprocess.run(
        [sys.executable, "-c", "from instruction_datasets import load; load('align_anything_instruction', 'en')"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert "or pass data_dir= with a local copy" in library.stderr
    command = [sys.executable, "-m", "instruction_datasets", "stats", "align_anything_instruction", "en"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 1
    last = result.stderr.rstrip("\n").split("\n")[-1]
    assert last.startswith("error: ") and "or pass --data-dir with a local copy" in last
    assert "data_dir" not in last


def test_a_layout_error_names_the_option_too(tmp_path, capsys):
    argv = ["stats", "align_anything_instruction", "en", "--data-dir", tmp_path, "--cache-dir", tmp_path / "c"]
    status, _, err = run_cli(argv, capsys)
    assert status == 1
    assert "not found: --data-dir must hold the upstream layout" in err and "data_dir" not in err


def test_option_names_replace_only_parameters_named_for_the_user():
    message = "check the revision (hub_revision=), or pass data_dir= with a copy; see https://h/x?revision=main"
    assert cli.in_option_names(message) == (
        "check the revision (--hub-revision), or pass --data-dir with a copy; see https://h/x?revision=main"
    )
    message = "data_dir='x' and cache_dir=, token=; /home/data_dir/f: the token and revision of repo_id"
    assert cli.in_option_names(message) == (
        "data_dir='x' and --cache-dir, --token; /home/data_dir/f: the token and revision of --repo-id"
    )


def test_export_and_stats_print_each_warning_on_a_line_of_its_own(tmp_path):
    """The alpha samples warn (a source with no category, rows without 'Rosey:') while a progress bar is drawn."""
    base = [sys.executable, "-m", "instruction_datasets"]
    source = ["instruction_tuning_alpha", "all", "--data-dir", ALPHA_SAMPLES]
    for command in (["export", *source, "--out", tmp_path / "out"], ["stats", *source]):
        argv = [*base, *command, "--cache-dir", tmp_path / command[0]]
        result = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        # What a terminal shows of each line: what follows the last carriage return.
        shown = [line.rsplit("\r", 1)[-1] for line in result.stderr.split("\n")]
        warned = [line for line in shown if "1 row(s) had no 'Rosey:' line" in line]
        assert len(warned) == 1 and warned[0].startswith("warning: instruction_tuning_dataset_alpha_part1.json")
        assert any(line.startswith("warning: ") and "'wiki_howto' (1 rows)" in line for line in shown)
        assert any(line.startswith("Generating train split: 17 examples") for line in shown), result.stderr
