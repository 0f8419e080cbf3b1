"""The command line (its answers to mistakes included), the README's main command, and the front page."""

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import DatasetCard

from instruction_datasets import builder_class, cli
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
    # The samples are local files: the demo says they were not checked against the Hub (a download names its commit).
    assert out.count("\n  source: local files, not checked against the Hub\n") == len(re.findall("^== ", out, re.M))
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


def test_infos_check_passes_on_the_committed_file():
    result = subprocess.run(
        [sys.executable, "-m", "instruction_datasets", "infos", "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_readme_front_matter_is_a_dataset_card():
    card = DatasetCard.load(PROJECT_ROOT / "README.md")
    data = card.data.to_dict()
    assert data["license"] == "other" and data["license_name"]
    assert {"en", "zh"} <= set(data["language"])
    assert "text-generation" in data["task_categories"]
    assert data["pretty_name"]
    assert data["tags"]


def test_ci_runs_the_readme_test_command():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- test-command -->\s*```(?:sh|bash)?\n(.+?)\n```", readme)
    assert match, "README must show the test command in the block after <!-- test-command -->"
    ci = Path(PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert match.group(1).strip() in ci


# --- Mistakes answered in one line ---------------------------------------------------------------------------


def run_cli(argv, capsys):
    """Runs the command line in this process; returns (exit status, stdout, stderr)."""
    try:
        status = cli.main([str(arg) for arg in argv])
    except SystemExit as exit_:  # argparse's own mistakes
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


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
    "bad shard size": (
        ["export", "instruction_tuning_alpha", "all", "--out", "{out}", "--max-shard-size", "lots"],
        "argument --max-shard-size: 'lots' is not a size; give a number of bytes, or a number with a unit: KB, MB, GB",
    ),
    "bad format": (
        ["export", "instruction_tuning_alpha", "all", "--out", "{out}", "--format", "csv"],
        "argument --format: invalid choice: 'csv' (choose from 'jsonl', 'parquet')",
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
    # Each mistake is caught before any work: loading anything would fail this test.
    monkeypatch.setattr(cli, "load", lambda *a, **k: pytest.fail("loaded before checking"))
    monkeypatch.setattr(cli.stats, "collect", lambda *a, **k: pytest.fail("collected before checking"))
    monkeypatch.setattr(cli, "export", lambda *a, **k: pytest.fail("exported before checking"))
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
    assert "``stats`` and ``export`` download the upstream files (the Hub, or GitHub for alpha) unless" in docstring
    for command in ("stats", "export"):
        assert "(downloads unless --data-dir)" in " ".join(commands.choices[command].format_help().split())


def test_stats_plot_without_extension_writes_and_prints_a_png(tmp_path, capsys):
    argv = ["stats", "instruction_tuning_alpha", "part2", "--data-dir", ALPHA_SAMPLES, "--plot", tmp_path / "a_noext"]
    status, out, _ = run_cli([*argv, "--cache-dir", tmp_path / "c"], capsys)
    assert status == 0
    assert f"picture: {tmp_path / 'a_noext.png'}\n" in out
    assert (tmp_path / "a_noext.png").read_bytes().startswith(b"\x89PNG")
    assert not (tmp_path / "a_noext").exists()


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
