"""Statistics and the picture, from the library and the `stats` command: what a user looks at before training.

Token lengths need TRL's stack (tests/test_clients.py); here, `--tokenizer` without `transformers`.
"""

import json
import re
import subprocess
import sys

import pytest
from helpers import EXPECTED_SPLITS, run_cli

from instruction_datasets import load, stats
from instruction_datasets.cli import main
from instruction_datasets.export import export
from instruction_datasets.loading import PROJECT_ROOT, sample_dir

ALPHA = sample_dir("instruction_tuning_alpha", "all")


def test_alpha_figures_match_the_rows(cache_dir):
    figures = stats.collect("instruction_tuning_alpha", "all", data_dir=ALPHA, cache_dir=cache_dir)
    rows = list(load("instruction_tuning_alpha", "all", split="train", data_dir=ALPHA, cache_dir=cache_dir))
    train = figures["groups"]["train"]
    assert train["rows"] == len(rows) == 17
    assert train["empty_responses"] == sum(1 for row in rows if not row["response"]) == 1
    assert train["duplicate_pairs"] == 0
    assert train["prompt_chars_max"] == max(len(row["prompt"]) for row in rows)
    assert train["response_chars_min"] == 0
    for category in ("python_code", "helpful", "harmless", "synthetic_qa"):
        expected = EXPECTED_SPLITS[("instruction_tuning_alpha", category)]["train"]
        assert figures["groups"][f"train / category={category}"]["rows"] == expected
    assert figures["groups"]["train / source=wiki_howto"]["rows"] == 1


def test_streaming_gives_the_same_figures(cache_dir):
    plain = stats.collect(
        "align_anything_instruction", "zh", data_dir=sample_dir("align_anything_instruction", "zh"), cache_dir=cache_dir
    )
    streamed = stats.collect(
        "align_anything_instruction", "zh", data_dir=sample_dir("align_anything_instruction", "zh"), streaming=True
    )
    assert streamed == plain
    assert set(plain["groups"]) == {"train", "test"}


def test_duplicate_pairs_are_counted_once_per_repeat(tmp_path, cache_dir):
    (tmp_path / "data").mkdir()
    lines = [
        {"prompt": "p", "response": "r"},
        {"prompt": "p", "response": "r"},
        {"prompt": "pr", "response": ""},
        {"prompt": "p", "response": "r"},
    ]
    (tmp_path / "data" / "train.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (tmp_path / "data" / "test.jsonl").write_text(json.dumps({"prompt": "p", "response": "r"}) + "\n")
    figures = stats.collect("align_anything_instruction", "en", data_dir=tmp_path, cache_dir=cache_dir)
    assert figures["groups"]["train"]["duplicate_pairs"] == 2
    assert figures["groups"]["train"]["empty_responses"] == 1
    assert figures["groups"]["test"]["duplicate_pairs"] == 0  # duplicates are counted within a split


def test_stats_command_prints_the_table_and_writes_picture_and_json(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "instruction_datasets",
            "stats",
            "instruction_tuning_alpha",
            "all",
            "--data-dir",
            str(ALPHA),
            "--plot",
            str(tmp_path / "mix.png"),
            "--json",
            str(tmp_path / "mix.json"),
            "--streaming",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "train / category=harmless" in result.stdout and "dup. pairs" in result.stdout
    png = (tmp_path / "mix.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000
    assert json.loads((tmp_path / "mix.json").read_text())["groups"]["train"]["rows"] == 17


def test_exported_card_shows_the_picture_and_the_table(tmp_path):
    export("instruction_tuning_alpha", "harmless", tmp_path, data_dir=ALPHA, cache_dir=tmp_path / "cache")
    card = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "![Lengths and mix of harmless](stats/harmless.png)" in card
    assert "| train / category=harmless | 2 |" in card
    assert (tmp_path / "stats" / "harmless.png").read_bytes().startswith(b"\x89PNG")


def test_the_readme_picture_of_the_samples_is_current(tmp_path):
    committed = json.loads((PROJECT_ROOT / "docs" / "samples_alpha_stats.json").read_text(encoding="utf-8"))
    fresh = stats.collect("instruction_tuning_alpha", "all", data_dir=ALPHA, cache_dir=tmp_path)
    assert committed == {key: value for key, value in fresh.items() if key != "lengths"}, (
        "regenerate: python -m instruction_datasets stats instruction_tuning_alpha all "
        "--data-dir instruction_datasets/samples/instruction_tuning_alpha --plot docs/samples_alpha_stats.png "
        "--json docs/samples_alpha_stats.json"
    )


CASES = [pytest.param(script, config, id=f"{script}-{config}") for script, config in EXPECTED_SPLITS]


@pytest.mark.parametrize(("script", "config"), CASES)
def test_every_row_is_in_a_bar_of_the_picture(script, config, streaming, tmp_path, monkeypatch):
    """The longest (and the shortest) row of each split is drawn: the bars of each histogram hold every row."""
    import matplotlib.axes
    import numpy as np

    drawn = []
    hist = matplotlib.axes.Axes.hist

    def spy(self, values, *args, **kwargs):
        drawn.append((values, kwargs["bins"]))
        return hist(self, values, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "hist", spy)
    figures = stats.collect(
        script, config, data_dir=sample_dir(script, config), streaming=streaming, cache_dir=tmp_path / "cache"
    )
    stats.plot(figures, tmp_path / "picture.png")
    expected = EXPECTED_SPLITS[(script, config)]
    # One histogram per split for the prompt lengths, then one per split for the response lengths.
    counts = [int(np.histogram(values, bins=bins)[0].sum()) for values, bins in drawn]
    assert counts == [*expected.values(), *expected.values()]


def test_figures_are_rounded_as_a_person_reads_them(tmp_path):
    """No float noise such as 77.79999999999997 in the JSON: lengths to one decimal."""
    import numpy as np

    figures = stats.collect("instruction_tuning_alpha", "all", data_dir=ALPHA, cache_dir=tmp_path)
    stats.write_json(figures, tmp_path / "figures.json")
    text = (tmp_path / "figures.json").read_text(encoding="utf-8")
    assert not re.search(r"\d\.\d{2,}", text), text
    prompts = figures["lengths"]["train"]["prompt"]
    train = json.loads(text)["groups"]["train"]
    assert train["prompt_chars_p95"] == round(float(np.percentile(prompts, 95)), 1)
    assert train["prompt_chars_median"] == round(float(np.median(prompts)), 1)


def test_stats_plot_without_extension_writes_and_prints_a_png(tmp_path, capsys):
    argv = ["stats", "instruction_tuning_alpha", "part2", "--data-dir", ALPHA, "--plot", tmp_path / "a_noext"]
    status, out, _ = run_cli([*argv, "--cache-dir", tmp_path / "c"], capsys)
    assert status == 0
    assert f"picture: {tmp_path / 'a_noext.png'}\n" in out
    assert (tmp_path / "a_noext.png").read_bytes().startswith(b"\x89PNG")
    assert not (tmp_path / "a_noext").exists()


def test_stats_reads_the_folder_config_names_in_data_dir(tmp_path, capsys):
    """``{config}`` in ``--data-dir`` stands for the config in stats as in export: the folder checked is read."""
    data_dir = sample_dir("align_anything_instruction", "zh").parent / "{config}"
    argv = ["stats", "align_anything_instruction", "zh", "--data-dir", data_dir, "--cache-dir", tmp_path / "c"]
    status, out, err = run_cli(argv, capsys)
    assert status == 0, err
    named = run_cli([*argv[:3], "--data-dir", data_dir.with_name("zh"), *argv[5:]], capsys)
    assert named[0] == 0 and out == named[1]
    assert re.search(r"^train\s+\d+", out, re.M), out


@pytest.mark.parametrize("command", ["stats", "export"])
def test_tokenizer_without_transformers_says_what_to_install(command, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "transformers", None)  # as if not installed: importing it fails
    out = tmp_path / "export"
    argv = [
        command,
        "instruction_tuning_alpha",
        "all",
        "--data-dir",
        str(sample_dir("instruction_tuning_alpha", "all")),
    ]
    argv += ["--tokenizer", "some/tokenizer", "--cache-dir", str(tmp_path / "cache")]
    argv += ["--out", str(out)] if command == "export" else []
    assert main(argv) == 2  # a known mistake: one line, exit status 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "error: --tokenizer: token lengths need the `transformers` package: pip install 'instruction_datasets[train]'\n"
    )
    assert not out.exists()  # nothing written


@pytest.mark.parametrize(("config", "line"), [("all", "rows with an empty response: train 1."), ("harmless", None)])
def test_stats_command_says_how_many_rows_have_an_empty_response(config, line, capsys):
    status, out, _ = run_cli(["stats", "instruction_tuning_alpha", config, "--data-dir", ALPHA], capsys)
    assert status == 0
    if line is None:
        assert "rows with an empty response" not in out
    else:
        assert f"\n{line} The README's TRL recipe filters them out; for LLaMA-Factory and Axolotl, export with " in out
        assert out.rstrip().endswith("--drop-empty-responses")


@pytest.mark.train_extra
def test_the_readme_token_recipe_runs_with_the_train_extra_and_a_chat_template_tokenizer(tmp_path, capsys):
    """`pip install -e '.[train]'` alone (no torch, which brings jinja2 along) is enough for `stats --tokenizer` with
    a tokenizer that has a chat template: `nox -s train_extra` runs this in such an environment."""
    pytest.importorskip("transformers", reason="needs the train extra (nox -s train_extra)")
    from helpers import sample_texts, save_tiny_tokenizer

    from instruction_datasets import tokens

    save_tiny_tokenizer(tmp_path / "tokenizer", sample_texts())
    data_dir = sample_dir("align_anything_instruction", "en")
    argv = ["stats", "align_anything_instruction", "en", "--data-dir", data_dir, "--tokenizer", tmp_path / "tokenizer"]
    status, out, err = run_cli([*argv, "--cache-dir", tmp_path / "cache"], capsys)
    assert status == 0, err
    assert tokens.ROW_BY_TEMPLATE in out and tokens.ROW_WITHOUT_TEMPLATE not in out, out
