"""The exported card: as a Hub reader sees it (every export of every builder, checked point by point), what export
keeps of the user's text and YAML, and the cards it refuses (`card.check`), before any work."""

import importlib.resources
import inspect
import itertools
import json
import logging
import re
import shlex
import shutil
import subprocess
import sys

import datasets
import pyarrow.parquet as pq
import pytest
import yaml
from helpers import (
    AXOLOTL_CONTENT,
    AXOLOTL_MESSAGES,
    AXOLOTL_ROLE,
    EXPECTED_SPLITS,
    LLAMAFACTORY_KEYS,
    framework_recipes,
    generated,
    readme_blocks,
    recipe_problems,
    run_cli,
    samples_data_dir,
    section,
)
from huggingface_hub import DatasetCard

from instruction_datasets import builder_class, card, card_text, load, script_path, stats, training
from instruction_datasets import export as export_module
from instruction_datasets.export import export
from instruction_datasets.loading import PROJECT_ROOT, declared_info, sample_dir

SCRIPTS = sorted({script for script, _ in EXPECTED_SPLITS})
ALPHA = "instruction_tuning_alpha"
ALIGN = "align_anything_instruction"


def tables(text: str) -> list[list[str]]:
    """Every Markdown table of the text, as its lines without the header and the rule."""
    found, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append(current[2:])
            current = []
    return found


def about(script) -> card_text.About:
    return card_text.words_of(builder_class(script))


def meta(folder) -> dict:
    return DatasetCard.load(folder / "README.md").data.to_dict()


def snapshot(folder):
    """Every file and folder under ``folder``, with the files' bytes."""
    return {path.relative_to(folder).as_posix(): path.is_file() and path.read_bytes() for path in folder.rglob("*")}


def alpha_kwargs(tmp_path):
    return {"data_dir": sample_dir(ALPHA, "all"), "cache_dir": tmp_path / "cache"}


@pytest.mark.parametrize("script", SCRIPTS)
def test_without_a_repo_id_every_snippet_names_a_marked_placeholder(script, exported):
    text = generated(exported[script])
    named = re.findall(r'load_dataset\("([^"]+)"', text)
    assert len(named) >= 2 and set(named) == {card.PLACEHOLDER}
    assert f"{card.PLACEHOLDER_NOTE} `{card.PLACEHOLDER}` stands for this dataset's repo id" in text
    assert "<this repo>" not in text


def test_export_repo_id_names_the_repo_in_every_snippet(tmp_path):
    command = [sys.executable, "-m", "instruction_datasets", "export", ALIGN, "--all-configs", "--repo-id", "org/aa"]
    data_dir = str(sample_dir(ALIGN, "en").parent / "{config}")
    result = subprocess.run(
        [*command, "--out", str(tmp_path / "out"), "--data-dir", data_dir, "--cache-dir", str(tmp_path / "c")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    text = generated(tmp_path / "out")
    assert set(re.findall(r'load_dataset\("([^"]+)"', text)) == {"org/aa"}
    assert card.PLACEHOLDER not in text


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_licence_is_said_in_words_and_alpha_warns_first(script, exported):
    text = generated(exported[script])
    words = about(script).licence
    cls = builder_class(script)
    assert meta(exported[script])["license"] == declared_info(cls, cls.DEFAULT_CONFIG_NAME).license
    # The samples are the package's rows, under its licence; the upstream data's licence follows.
    said = (
        "The rows of this export are samples the `instruction_datasets` package wrote in the upstream format to test "
        f"with, under that package's licence, Apache-2.0. The upstream data itself: {words}"
    )
    assert section(text, "## License").strip() == said
    assert f"- **License:** {said}" in text
    warning = about(script).licence_warning
    if script == ALPHA:
        # Before any section: the first thing a reader sees after the title.
        assert text.index(f"> {warning}") < text.index("\n## ")
        assert "No licence was stated for this data upstream" in warning and "Check with the author" in warning
        assert "`unknown`" in words and meta(exported[script])["license"] == "unknown"
    else:
        assert warning is None and "CC BY-NC 4.0" in words and "non-commercial" in words
        assert meta(exported[script])["license"] == "cc-by-nc-4.0"


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_config_is_described_once_for_a_reader_and_nothing_is_taken_from_code(script, exported):
    text = generated(exported[script])
    cls = builder_class(script)
    module = inspect.getmodule(cls)
    configs = [entry["config_name"] for entry in meta(exported[script])["configs"]]
    for config in configs:
        described = about(script).configs[config]
        assert text.count(described) == 1, config
    # Nothing written for the script's reader: its docstrings, its descriptions, its pointers to code or README.
    code_texts = [inspect.getdoc(module), inspect.getdoc(getattr(module, "parse_text", None)) or ""]
    code_texts += [cls.builder_configs[config].description for config in configs]
    code_texts += declared_info(cls, configs[0]).description.split("\n\n")
    for code_text in code_texts:
        for line in filter(None, (line.strip() for line in code_text.splitlines())):
            if len(line) > 25:
                assert line not in text
    for phrase in ("See ", "README", "parse_text", "about 67k", "about 105k"):
        assert phrase not in text
    assert not re.search(r"(?<!`)``(?!`)", text)  # reStructuredText quoting of docstrings
    # No paragraph is said twice (the opening one used to come back under "About the data").
    paragraphs = [p.strip() for p in text.split("\n\n") if len(p.strip()) > 40 and not p.startswith(("|", "#", "!"))]
    assert len(paragraphs) == len(set(paragraphs))
    languages = ", ".join(card_text.LANGUAGE_NAMES[code] for code in meta(exported[script])["language"])
    assert f"- **Language(s):** {languages}" in text
    if script == ALIGN:  # a card holding en and zh describes both
        assert languages == "English, Chinese"


@pytest.mark.parametrize("script", SCRIPTS)
def test_row_counts_are_those_exported_with_train_first_and_the_samples_said(script, exported):
    text = generated(exported[script])
    configs_table = section(text, "### Configs and rows")
    header = next(line for line in configs_table.splitlines() if line.startswith("| config |"))
    splits = [cell.strip() for cell in header.strip("|").split("|")][2:]
    expected = {config: counts for (name, config), counts in EXPECTED_SPLITS.items() if name == script}
    assert splits[0] == "train" and sorted(splits) == sorted({s for counts in expected.values() for s in counts})
    (rows,) = tables(configs_table)
    assert len(rows) == len(expected)
    for line in rows:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        config = cells[0].split("`")[1]
        assert [int(cell.replace(",", "")) for cell in cells[2:]] == [expected[config][s] for s in splits]
    note = next(line for line in text.splitlines() if line.startswith("> **Sample rows, not the dataset.**"))
    assert all(f"`{config}`" in note for config in expected)
    assert "the row counts below are those of the samples" in note


def test_a_local_copy_is_said_as_such(tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(sample_dir(ALPHA, "all"), copy)
    export(ALPHA, "harmless", tmp_path / "out", data_dir=copy, cache_dir=tmp_path / "cache")
    text = generated(tmp_path / "out")
    assert "> **From a local copy.** `harmless`: exported from a local copy of the upstream files" in text
    assert "Sample rows" not in text


@pytest.mark.parametrize("script", SCRIPTS)
def test_size_categories_and_tags_are_in_the_yaml(script, exported):
    data = meta(exported[script])
    # The buckets `datasets` knows for this key.
    buckets = json.loads((importlib.resources.files("datasets.utils.resources") / "size_categories.json").read_text())
    (bucket,) = data["size_categories"]
    assert bucket in buckets
    rows = max(sum(split["num_examples"] for split in info["splits"]) for info in data["dataset_info"])
    low, high = _bounds(bucket)
    assert low <= rows < high
    assert set(card.TAGS) <= set(data["tags"]) and data["task_categories"] == ["text-generation"]


def _bounds(bucket: str) -> tuple[float, float]:
    units = {"K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}

    def number(text):
        return int(text[:-1]) * units[text[-1]]

    if bucket.startswith("n<"):
        return 0, number(bucket[2:])
    if bucket.startswith("n>"):
        return number(bucket[2:]), float("inf")
    low, _, high = bucket.split("<")
    return number(low), number(high)


@pytest.mark.parametrize(("rows", "bucket"), [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (105_050, "100K<n<1M")])
def test_size_category_follows_the_hub_buckets(rows, bucket):
    assert card.size_category(rows) == bucket
    low, high = _bounds(bucket)
    assert low <= rows < high


@pytest.mark.parametrize("script", SCRIPTS)
def test_no_table_of_the_card_is_long(script, exported):
    text = generated(exported[script])
    longest = max(len(rows) for rows in tables(text))
    # The configs table has one line per config; the others at most the top entries plus a few.
    assert longest <= max(len(builder_class(script).builder_configs), card.TOP_ENTRIES + 6)


def test_long_tables_show_the_top_entries_and_sum_the_rest(tmp_path):
    """Twenty sources: the card lists the largest, then one line for the rest, with their rows."""
    data_dir = tmp_path / "alpha"
    data_dir.mkdir()
    text = "Question {}.{}\n\nRosey: Answer.<|endoftext|>"
    items = [[f"source_{n:02d}", text.format(n, i)] for n in range(20) for i in range(n + 1)]
    for part, chunk in (("part1", items[::2]), ("part2", items[1::2])):
        (data_dir / f"instruction_tuning_dataset_alpha_{part}.json").write_text(json.dumps(chunk), encoding="utf-8")
    export(ALPHA, "all", tmp_path / "out", data_dir=data_dir, cache_dir=tmp_path / "cache")
    text = generated(tmp_path / "out")
    (rows,) = tables(section(text, "### Rows per source"))
    assert len(rows) == card.TOP_ENTRIES + 1
    shown = [line.split("`")[1] for line in rows[:-1]]
    assert shown == [f"source_{n:02d}" for n in range(19, 19 - card.TOP_ENTRIES, -1)]  # the largest, largest first
    rest = sum(n + 1 for n in range(20 - card.TOP_ENTRIES))
    assert rows[-1] == f"| {20 - card.TOP_ENTRIES} other source values | {rest:,} |"
    look = section(text, "#### `all`")
    assert look.count("train / source=") == card.TOP_ENTRIES
    assert f"train: {20 - card.TOP_ENTRIES} more source values, with {rest:,} rows, are left out here." in look


@pytest.mark.parametrize("script", SCRIPTS)
def test_provenance_names_where_each_configs_files_came_from(script, exported):
    text = section(generated(exported[script]), "### Source Data")
    for config in builder_class(script).builder_configs:
        assert f"`{config}`" in text
    assert "the samples bundled with the `instruction_datasets` package" in text
    assert "not checked against the Hub" not in text


def test_an_alpha_download_names_the_pinned_github_commit_and_each_files_hash():
    cls = builder_class(ALPHA)
    for config in cls.builder_configs:
        words = card.download_origin(cls, config)
        github = f"GitHub, `Rallio67/language-model-agents` at commit `{cls.COMMIT}`"
        assert words.startswith(f"downloaded from {github}")
        for part in cls.builder_configs[config].parts:
            name, sha1 = cls.PARTS[part]
            assert f"`{name}` (git blob SHA-1 `{sha1}`)" in words
    assert card.download_origin(builder_class(ALIGN), "en") is None  # its Hub files have their own table


# --- Errors that point at the user's own card ------------------------------------------------------------------


def test_a_marker_problem_names_the_users_card_before_any_work(tmp_path, monkeypatch):
    folder = tmp_path / "mine2"
    export(ALPHA, "harmless", folder, data_dir=sample_dir(ALPHA, "all"), cache_dir=tmp_path / "cache")
    text = (folder / "README.md").read_text(encoding="utf-8")
    (folder / "README.md").write_text(text.replace(card.END + "\n", ""), encoding="utf-8")
    before = snapshot(folder)

    def no_work(*args, **kwargs):
        raise AssertionError("a config was prepared before the card was checked")

    monkeypatch.setattr(export_module, "load", no_work)
    monkeypatch.setattr(export_module, "_staging_copy", no_work)
    with pytest.raises(card.CardError) as caught:
        export(ALPHA, "part1", folder, data_dir=sample_dir(ALPHA, "all"))
    message = str(caught.value)
    assert message.startswith(f"{folder / 'README.md'}: one of the marker lines is missing")
    assert ".export-" not in message and card.END in message
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cache", "mine2"]
    assert snapshot(folder) == before  # the card is kept as the user left it


def test_card_problems_are_listed_one_per_line(exported, tmp_path):
    folder = tmp_path / "alpha"
    shutil.copytree(exported[ALPHA], folder)
    text = (folder / "README.md").read_text(encoding="utf-8")
    text = text.replace("split: train\n", "split: train-v2\n", 2)  # two configs with a bad split name
    (folder / "README.md").write_text(text, encoding="utf-8")
    command = [sys.executable, "-m", "instruction_datasets", "push", str(folder), "--repo-id", "a/b", "--dry-run"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: {folder / 'README.md'} would be refused:"
    problems = card.problems(folder)
    assert len(problems) == 2
    assert lines[1:] == [f"  {problem}" for problem in problems[:-1]] + [
        f"  {problems[-1]} (--debug shows the traceback)"
    ]


def test_replacing_a_yaml_key_the_user_set_is_said_in_one_line(tmp_path, caplog):
    folder = tmp_path / "out"
    kwargs = {"data_dir": sample_dir(ALPHA, "all"), "cache_dir": tmp_path / "cache"}
    export(ALPHA, "harmless", folder, **kwargs)
    with caplog.at_level(logging.WARNING, logger="instruction_datasets.export"):
        export(ALPHA, "harmless", folder, **kwargs)
    assert not caplog.records  # nothing of the user's was replaced
    text = (folder / "README.md").read_text(encoding="utf-8")
    yaml_text, body = card.split_text(text)
    data = yaml.safe_load(yaml_text)
    data.update(license="mit", tags=["our-tag"])
    (folder / "README.md").write_text(f"---\n{yaml.safe_dump(data)}---\n{body}", encoding="utf-8")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="instruction_datasets.export"):
        export(ALPHA, "part1", folder, **kwargs)
    (record,) = caplog.records
    assert "\n" not in record.getMessage()
    said = f"{folder / 'README.md'}: YAML key 'license' was 'mit', export set it to 'unknown'"
    assert record.getMessage().startswith(said)
    data = meta(folder)
    assert data["license"] == "unknown" and data["tags"][0] == "our-tag" and set(card.TAGS) <= set(data["tags"])


def test_the_languages_are_those_of_the_exported_configs_and_adding_one_is_no_replacement(tmp_path, caplog):
    for config, languages in (("zh", ["zh"]), ("en", ["en", "zh"])):
        with caplog.at_level(logging.WARNING, logger="instruction_datasets.export"):
            export(ALIGN, config, tmp_path / "out", data_dir=sample_dir(ALIGN, config), cache_dir=tmp_path / "c")
        assert meta(tmp_path / "out")["language"] == languages
    assert not caplog.records


def test_a_copy_of_a_script_keeps_the_words_of_its_dataset_under_another_name(tmp_path):
    """A copy of a script, with its file and its class renamed, still names its dataset's card words."""
    edited = tmp_path / "my_copy.py"
    text = script_path(ALIGN).read_text(encoding="utf-8").replace("class AlignAnythingInstruction(", "class MyCopy(")
    edited.write_text(text, encoding="utf-8")
    assert builder_class(edited).__name__ == "MyCopy"
    export(str(edited), "zh", tmp_path / "out", data_dir=sample_dir(ALIGN, "zh"), cache_dir=tmp_path / "cache")
    assert about(ALIGN).configs["zh"] in generated(tmp_path / "out")


def test_each_dataset_names_its_card_words_and_each_words_file_has_its_dataset():
    """Every shipped script's CARD_WORDS reads, and no file in cards/ is left over from a dataset that went."""
    named = {builder_class(script).CARD_WORDS for script in SCRIPTS}
    for script in SCRIPTS:
        assert isinstance(about(script), card_text.About), script
    assert {path.stem for path in card_text.WORDS_FOLDER.glob("*.toml")} == named


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda text: 'funding = "me"\n' + text, "unknown key(s) funding"),
        (lambda text: text.replace('curated_by = "The PKU', 'curator = "The PKU'), "unknown key(s) curator"),
        (lambda text: text.replace('producers = "GPT-4 wrote every response."\n', ""), "missing key(s) producers"),
        (lambda text: text.replace('producers = "GPT-4 wrote every response."', "producers = 4"), "producers must be"),
        (lambda text: text.replace("[[risks]]\ntext =", "[[risks]]\ntexts ="), "risks[0] must be a string"),
        (lambda text: text.replace("summary = ", "summary == "), "not a TOML file of card words"),
    ],
    ids=["unknown", "misspelt", "missing", "type", "risk", "syntax"],
)
def test_card_words_that_cannot_be_read_fail_the_export_before_any_work(tmp_path, monkeypatch, edit, problem):
    """A broken words file names itself and the key, and the export folder is not made."""
    words = tmp_path / "cards"
    words.mkdir()
    name = f"{builder_class(ALIGN).CARD_WORDS}.toml"
    broken = edit((card_text.WORDS_FOLDER / name).read_text(encoding="utf-8"))
    (words / name).write_text(broken, encoding="utf-8")
    monkeypatch.setattr(card_text, "WORDS_FOLDER", words)
    with pytest.raises(card_text.CardWordsError, match=re.escape(f"{words / name}: {problem}")):
        export(ALIGN, "zh", tmp_path / "out", data_dir=sample_dir(ALIGN, "zh"), cache_dir=tmp_path / "cache")
    assert not (tmp_path / "out").exists()


def test_a_dataset_with_no_card_words_gets_a_card_from_its_description(tmp_path):
    """A script whose builder names no CARD_WORDS still exports, its card saying its DESCRIPTION."""
    edited = tmp_path / "plain.py"
    text = script_path(ALIGN).read_text(encoding="utf-8")
    edited.write_text(re.sub(r"\n    CARD_WORDS = .*", "", text), encoding="utf-8")
    assert builder_class(edited).CARD_WORDS is None
    export(str(edited), "zh", tmp_path / "out", data_dir=sample_dir(ALIGN, "zh"), cache_dir=tmp_path / "cache")
    body = generated(tmp_path / "out")
    assert builder_class(ALIGN).DESCRIPTION.split("\n\n")[0] in body
    assert about(ALIGN).summary not in body


def template_headings() -> list[str]:
    """The section headings of Hugging Face's dataset card template, as `huggingface_hub` ships it."""
    import huggingface_hub

    template = importlib.resources.files(huggingface_hub) / "templates" / "datasetcard_template.md"
    return [line.split(" [optional]")[0] for line in template.read_text().splitlines() if line.startswith("#")]


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_card_follows_the_hub_templates_sections_in_order(script, exported):
    text = generated(exported[script])
    ours = [line for line in text.splitlines() if line.startswith("#") and not line.startswith("#### `")]
    template = template_headings()
    assert ours[0] == f"# Dataset Card for {card.pretty_name(builder_class(script))}"
    shared = [heading for heading in ours if heading in template]
    assert shared == [heading for heading in template if heading in shared]  # the template's order
    for heading in (
        "## Dataset Details",
        "### Dataset Description",
        "### Dataset Sources",
        "## Uses",
        "### Direct Use",
        "### Out-of-Scope Use",
        "## Dataset Structure",
        "## Dataset Creation",
        "### Source Data",
        "#### Who are the source data producers?",
        "## Bias, Risks, and Limitations",
        "### Recommendations",
    ):
        assert heading in shared
    words = about(script)

    def held(text):  # the export holds every config, so every kind of row beside others
        return text.held if isinstance(text, card_text.IfHeld) else text

    for risk in words.risks:
        assert f"- {held(risk)}" in section(text, "## Bias, Risks, and Limitations")
    assert words.direct_use in section(text, "### Direct Use")
    assert held(words.out_of_scope) in section(text, "### Out-of-Scope Use")
    assert words.producers in section(text, "#### Who are the source data producers?")
    assert "[More Information Needed]" not in text
    # Every column is described.
    for column in declared_info(builder_class(script), builder_class(script).DEFAULT_CONFIG_NAME).features:
        described = words.columns[column].split("{values}")
        assert f"| `{column}` |" in text and all(part in text for part in described), column


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_figures_of_each_config_list_train_first(script, exported):
    text = generated(exported[script])
    for config in builder_class(script).builder_configs:
        (rows, *_) = tables(section(text, f"#### `{config}`"))
        assert rows[0].startswith("| train |")


@pytest.mark.parametrize(
    ("repo_id", "expected"),
    [
        ("bad name!", "Repo id must use alphanumeric chars"),
        ("justaname", "give ORG/NAME: your user or organisation name"),
    ],
)
def test_a_bad_repo_id_is_refused_before_any_work(repo_id, expected, tmp_path, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("a config was prepared")

    monkeypatch.setattr(export_module, "load", no_work)
    with pytest.raises(ValueError, match=re.escape(f"repo_id {repo_id!r}: {expected}")):
        export(ALPHA, "harmless", tmp_path / "out", data_dir=sample_dir(ALPHA, "all"), repo_id=repo_id)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("exported_before", [False, True], ids=["own-card", "exported-card"])
def test_a_pretty_name_of_the_users_is_replaced_with_one_line_not_refused(tmp_path, caplog, exported_before):
    """The YAML's pretty_name is the user's to edit: the generated part, not that key, tells which dataset a folder
    holds. A card the user wrote before the first export keeps its text."""
    folder = tmp_path / "out"
    kwargs = {"data_dir": sample_dir(ALPHA, "all"), "cache_dir": tmp_path / "cache"}
    if exported_before:
        export(ALPHA, "harmless", folder, **kwargs)
        yaml_text, body = card.split_text((folder / "README.md").read_text(encoding="utf-8"))
    else:
        folder.mkdir()
        yaml_text, body = "", "# Rosey instructions\n\nMy notes on this copy.\n"
    data = yaml.safe_load(yaml_text) or {}
    data["pretty_name"] = "Rosey instructions (my copy)"
    (folder / "README.md").write_text(f"---\n{yaml.safe_dump(data)}---\n{body}", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="instruction_datasets.export"):
        export(ALPHA, "part1", folder, **kwargs)
    (record,) = caplog.records
    said = f"{folder / 'README.md'}: YAML key 'pretty_name' was 'Rosey instructions (my copy)', export set it to "
    assert record.getMessage().startswith(said + "'instruction_tuning_dataset_alpha'")
    assert meta(folder)["pretty_name"] == "instruction_tuning_dataset_alpha"
    if not exported_before:
        assert "My notes on this copy." in (folder / "README.md").read_text(encoding="utf-8")


# --- The training recipes: every name they use is in the export they read ------------------------------------------


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_framework_recipes_name_only_columns_tags_and_configs_the_export_holds(script, exported):
    folder = exported[script]
    name, entry, axolotl = framework_recipes(generated(folder))
    default = builder_class(script).DEFAULT_CONFIG_NAME
    assert set(entry) <= LLAMAFACTORY_KEYS and entry["formatting"] == "sharegpt"
    assert entry["hf_hub_url"] == card.PLACEHOLDER and entry["subset"] == default
    tags = entry["tags"]
    assert set(tags) == {"role_tag", "content_tag", "user_tag", "assistant_tag"}  # every one left out becomes None
    names = (tags["role_tag"], tags["content_tag"], tags["user_tag"], tags["assistant_tag"])
    assert recipe_problems(folder, entry["subset"], entry["columns"]["messages"], *names) == []

    (dataset,) = axolotl["datasets"]
    assert dataset == {"path": card.PLACEHOLDER, "name": default, "type": "chat_template"}
    assert axolotl["fp16"] is False and axolotl["bf16"] is False
    roles = (AXOLOTL_ROLE, AXOLOTL_CONTENT, "user", "assistant")
    assert recipe_problems(folder, dataset["name"], AXOLOTL_MESSAGES, *roles) == []


def test_the_recipe_check_fails_on_a_name_the_export_lacks(exported):
    folder = exported[ALPHA]
    roles = ("role", "content", "user", "assistant")
    assert recipe_problems(folder, "part1", "conversations", *roles)[0].startswith("no column 'conversations'")
    assert recipe_problems(folder, "part1", "messages", "from", "value", "human", "gpt")[0].startswith("row 0: turns")
    assert recipe_problems(folder, "part1", "messages", "role", "content", "human", "gpt")[0].startswith("row 0: turns")
    assert recipe_problems(folder, "part3", "messages", *roles)[0].startswith("config 'part3'")
    assert recipe_problems(folder, "part1", "messages", *roles, split="test")[0].startswith("config 'part1', split")


def test_a_repo_id_fills_the_framework_recipes_too(exported):
    text = card.fill_repo_id((exported[ALPHA] / "README.md").read_text(encoding="utf-8"), "ORG/NAME")
    _, entry, axolotl = framework_recipes(text.split(card.BEGIN, 1)[1])
    assert entry["hf_hub_url"] == axolotl["datasets"][0]["path"] == "ORG/NAME"
    assert card.PLACEHOLDER not in text


def empty_responses(script, config) -> dict[str, int]:
    """Rows with an empty response per split, as `load()` gives them from the samples: the oracle."""
    loaded = load(script, config, data_dir=sample_dir(script, config))
    return {split: sum(1 for response in rows["response"] if response == "") for split, rows in loaded.items()}


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_card_counts_rows_with_an_empty_response_per_config_and_split(script, exported):
    text = generated(exported[script])
    expected = [
        f"`{config}` {split} {count:,}"
        for config in builder_class(script).builder_configs
        for split, count in empty_responses(script, config).items()
        if count
    ]
    warnings = {
        "## Train with LLaMA-Factory": "trains such a row on the end-of-turn token alone",
        "## Train with Axolotl": "Axolotl trains nothing on a row with an empty `response`",
    }
    if expected:  # alpha: texts with neither a `Rosey:` line nor a blank line
        assert f"Rows with an empty `response`: {', '.join(expected)}." in text
        for heading, warning in warnings.items():
            assert warning in section(text, heading) and "--drop-empty-responses" in section(text, heading)
    else:
        assert "No row of this export has an empty `response`." in text
        assert not any(warning in text for warning in warnings.values())
    assert script != ALPHA or len(expected) >= 2


def test_the_readme_framework_recipes_read_the_export_its_command_writes(tmp_path, monkeypatch, capsys):
    heading = "Train with LLaMA-Factory or Axolotl"
    (command,) = readme_blocks(heading, "sh")
    program, argv = shlex.split(command)[:3], shlex.split(command)[3:]
    assert program == ["python", "-m", "instruction_datasets"] and argv[:2] == ["export", ALPHA]
    assert training.DROP_OPTION in argv
    monkeypatch.chdir(tmp_path)
    status, out, _ = run_cli([*argv, "--data-dir", sample_dir(ALPHA, "all")], capsys)
    assert status == 0
    assert "part2 to export/alpha: train 7 rows" in out and "(1 with an empty response left out)" in out

    (block,) = readme_blocks(heading, "json")
    ((name, entry),) = json.loads(block).items()
    assert block.strip() == training.llamafactory_block(name, entry["hf_hub_url"], entry["subset"])
    assert f"`dataset: {name}`" in " ".join(readme_section(heading).split())
    folder = tmp_path / entry["hf_hub_url"]
    tags = entry["tags"]
    names = (tags["role_tag"], tags["content_tag"], tags["user_tag"], tags["assistant_tag"])
    assert recipe_problems(folder, entry["subset"], entry["columns"]["messages"], *names) == []

    (block,) = readme_blocks(heading, "yaml")
    assert block.strip() == training.axolotl_block(entry["hf_hub_url"], entry["subset"])
    (dataset,) = yaml.safe_load(block)["datasets"]
    roles = (AXOLOTL_ROLE, AXOLOTL_CONTENT, "user", "assistant")
    assert recipe_problems(tmp_path / dataset["path"], dataset["name"], AXOLOTL_MESSAGES, *roles) == []

    # What the frameworks read holds no row with an empty response, and the card says what was left out.
    for config in builder_class(ALPHA).builder_configs:
        assert "" not in load_parquet_column(folder, config, "response")
    assert "Left out of this export for an empty `response` (`--drop-empty-responses`): `all` train 1" in generated(
        folder
    )


def load_parquet_column(folder, config, column) -> list:
    shards = sorted((folder / "data" / config).glob("*.parquet"))
    return [value for shard in shards for value in pq.read_table(shard).column(column).to_pylist()]


def readme_section(heading: str) -> str:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


# --- A card is true of its folder: every subset of configs, with and without --drop-empty-responses -------------


def subsets(names: list[str]) -> list[tuple[str, ...]]:
    return [(name,) for name in names] + list(itertools.combinations(names, 2)) + [tuple(names)]


def subset_cases():
    return [
        pytest.param(script, subset, dropped, id=f"{script}-{'+'.join(subset)}{'-dropped' if dropped else ''}")
        for script in SCRIPTS
        for subset in subsets(list(builder_class(script).builder_configs))
        for dropped in (False, True)
    ]


@pytest.mark.parametrize(("script", "subset", "dropped"), subset_cases())
def test_a_card_names_no_config_language_or_split_its_folder_does_not_hold(
    script, subset, dropped, exported, exported_without_empty
):
    """Rendered from the facts of the subset's configs alone, as an export of just those configs would write it."""
    cls = builder_class(script)
    folder = (exported_without_empty if dropped else exported)[script]
    configs = [name for name in cls.builder_configs if name in subset]
    default = next(name for name in [cls.DEFAULT_CONFIG_NAME, *cls.builder_configs] if name in configs)
    order = [default, *(name for name in configs if name != default)]
    facts = export_module.read_facts(folder, order)
    text = card.render_body(cls, order, default, facts)
    # Values the rows hold (a category called like a config, say) may be named: they are true of this folder.
    values = {
        value
        for name in order
        for split in facts[name].counts.values()
        for column in stats.GROUP_COLUMNS
        for value in split[column]
    }
    absent = set(cls.builder_configs) - set(configs) - values
    named = set(re.findall(r"`([^`\n]+)`", text)) | set(re.findall(r'"([^"\n]+)"', text))
    assert not named & absent, f"names configs the folder does not hold: {sorted(named & absent)}"
    codes = {getattr(cls.builder_configs[name], "language", "") or "en" for name in configs}
    languages = {card_text.LANGUAGE_NAMES[code] for code in codes}
    for language in set(card_text.LANGUAGE_NAMES.values()) - languages:
        assert language not in text, f"names {language}, which the folder does not hold"
    splits = {split for name in configs for split in facts[name].counts}
    for split in {"train", "test", "validation"} - splits:
        assert f"`{split}`" not in text, f"names split {split!r}, which the folder does not hold"
    assert "where there is one" not in text
    if dropped:
        table = section(text, "### Configs and rows")
        assert "Every row" not in table
        left = {name: sum(facts[name].record.get(export_module.EMPTY_LEFT_OUT, {}).values()) for name in configs}
        for name, count in left.items():
            if count:
                assert f"This export leaves out its {count:,} row(s) with an empty `response`." in table, name
    # A filter that would leave no row is not recommended.
    if values & {"harmless"} and values & {"helpful", "python_code", "synthetic_qa"}:
        assert 'row["category"] != "harmless"' in text
    else:
        assert 'row["category"] != "harmless"' not in text


@pytest.mark.parametrize("file_format", ["parquet", "jsonl"])
@pytest.mark.parametrize("script", SCRIPTS)
def test_the_cards_pandas_polars_and_duckdb_lines_read_one_split_alone(script, file_format, exported, tmp_path):
    """Run as the card gives them, in a copy of the folder: each reads the rows of that split, and no other."""
    folder = exported[script]
    if file_format == "jsonl":
        folder = tmp_path / "jsonl"
        samples = {"data_dir": samples_data_dir(script), "cache_dir": tmp_path / "cache"}
        export(script, None, folder, file_format="jsonl", **samples)
    block = section(generated(folder), "### Read one split without `datasets`").split("```python\n", 1)[1]
    code = block.split("```", 1)[0]
    split = re.search(r"^(\w+) = pd\.", code, re.M).group(1)
    cls = builder_class(script)
    expected = load(script, cls.DEFAULT_CONFIG_NAME, split=split, data_dir=sample_dir(script, cls.DEFAULT_CONFIG_NAME))
    namespace = {}
    for line in code.splitlines():
        if line.startswith(f"{split} = "):  # each reader in turn, from the folder, as a user runs it
            with pytest.MonkeyPatch.context() as monkeypatch:
                monkeypatch.chdir(folder)
                exec(compile("\n".join([*code.splitlines()[:6], line]), "card", "exec"), namespace)
            frame = namespace[split]
            prompts = frame["prompt"].to_list() if hasattr(frame["prompt"], "to_list") else list(frame["prompt"])
            assert prompts == expected["prompt"], line


# --- What export writes of the card, and what it refuses (moved from test_export.py) ---


@pytest.mark.parametrize("script", SCRIPTS)
def test_card_parses_and_its_dataset_info_matches_the_parquet_files(script, exported):
    folder = exported[script]
    exported_card = DatasetCard.load(folder / "README.md")
    infos = datasets.info.DatasetInfosDict.from_dataset_card_data(exported_card.data)
    assert sorted(infos) == sorted(builder_class(script).builder_configs)
    for config, info in infos.items():
        files = sorted((folder / "data" / config).glob("*.parquet"))
        assert info.download_size == sum(path.stat().st_size for path in files)
        for split, split_info in info.splits.items():
            shard_rows = sum(pq.read_metadata(path).num_rows for path in files if path.name.startswith(f"{split}-"))
            assert split_info.num_examples == shard_rows == EXPECTED_SPLITS[(script, config)][split]
        assert info.features == declared_info(builder_class(script), config).features
    assert exported_card.data.pretty_name and "## Citation" in exported_card.text


def test_alpha_card_warns_and_counts_sources_and_categories(exported):
    text = (exported["instruction_tuning_alpha"] / "README.md").read_text(encoding="utf-8")
    assert "Content warning" in text
    assert "| category | `all` | `part1` | `part2` |" in text  # configs holding more than one category
    assert "| `harmless` | 2 | 1 | 1 |" in text
    assert "| source | `all` | `part1` | `part2` | `python_code` | `helpful` |" in text
    assert "| `wiki_howto` | 1 | 0 | 1 | 0 | 0 |" in text


def test_the_users_own_card_text_survives_every_export(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    notes = "# Our copy of alpha\n\nReviewed by the data team on 2026-11-01: keep `harmless` out of training.\n"
    (folder / "README.md").write_text(
        f"---\nannotations_creators:\n- machine-generated\n---\n{notes}", encoding="utf-8"
    )
    export(ALPHA, "harmless", folder, **alpha_kwargs(tmp_path))
    with open(folder / "README.md", "a", encoding="utf-8") as card_file:
        card_file.write("\n## Added below the generated part\n")
    export(ALPHA, "part1", folder, **alpha_kwargs(tmp_path))
    text = (folder / "README.md").read_text(encoding="utf-8")
    assert notes in text and text.endswith("\n## Added below the generated part\n")
    assert text.index(notes) < text.index(card.BEGIN)
    assert text.count(card.BEGIN) == text.count(card.END) == 1 and text.count("### Configs and rows") == 1
    # The generated part is the new one; without the builder's default (`all`), its first exported config is.
    assert re.search(r"\| `part1` \(default\) \| [^|]+ \| 9 \|", text)
    data = DatasetCard.load(folder / "README.md").data
    assert data.annotations_creators == ["machine-generated"] and sorted(data.configs[i]["config_name"] for i in (0, 1))


def test_a_card_from_an_export_without_markers_is_refused_until_the_user_marks_it(tmp_path):
    """Cards exported before the markers existed: generated text and the user's notes cannot be told apart."""
    folder = tmp_path / "out"
    export(ALPHA, "harmless", folder, **alpha_kwargs(tmp_path))
    text = (folder / "README.md").read_text(encoding="utf-8")
    unmarked = text.replace(f"{card.BEGIN}\n", "").replace(f"{card.END}\n", "") + "\nOur notes.\n"
    (folder / "README.md").write_text(unmarked, encoding="utf-8")
    before = snapshot(folder)
    with pytest.raises(ValueError, match=r"README.md: written by an earlier export without the marker lines"):
        export(ALPHA, "part1", folder, **alpha_kwargs(tmp_path))
    assert snapshot(folder) == before
    # The user marks the generated part: the next export replaces it and keeps the notes.
    yaml_part, body = card.split_text(unmarked)
    generated, notes = body.split("\nOur notes.\n")
    marked = f"---\n{yaml_part}\n---\n{card.BEGIN}\n{generated}{card.END}\n\nOur notes.\n"
    (folder / "README.md").write_text(marked, encoding="utf-8")
    export(ALPHA, "part1", folder, **alpha_kwargs(tmp_path))
    text = (folder / "README.md").read_text(encoding="utf-8")
    assert text.count(card.EXPORTED_BY) == 1 and text.endswith("\nOur notes.\n")


BAD_CARDS = {
    "split name": ("split: train", "split: train-v2", "config 'all': split name 'train-v2' does not match"),
    "no files": ("path: data/harmless/train-*", "path: data/harmless/training-*", "matches no file"),
    "config named data": ("config_name: part1\n", "config_name: data\n", "config name 'data'"),
    "config name with a slash": ("config_name: part1\n", "config_name: part/1\n", "config name 'part/1'"),
    "config twice": ("config_name: part2\n", "config_name: part1\n", "config 'part1' is declared twice"),
    "no default": ("  default: true\n", "", "exactly one config marked `default: true`, found 0"),
    "4.x feature form": ("  - name: messages\n    list:", "  - name: messages\n    _type: List\n    list:", "'_type'"),
}


@pytest.mark.parametrize("case", sorted(BAD_CARDS))
def test_a_card_the_hub_would_refuse_is_named_with_its_problem(case, exported, tmp_path):
    old, new, problem = BAD_CARDS[case]
    folder = tmp_path / "alpha"
    shutil.copytree(exported[ALPHA], folder)
    assert card.problems(folder) == []
    text = (folder / "README.md").read_text(encoding="utf-8")
    assert old in text
    (folder / "README.md").write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(card.CardError, match=re.escape(problem)):
        card.check(folder)


def test_a_folder_mixing_file_formats_is_refused(exported, tmp_path):
    folder = tmp_path / "alpha"
    shutil.copytree(exported[ALPHA], folder)
    shard = folder / "data" / "part1" / "train-00000-of-00001.parquet"
    shard.rename(shard.with_suffix(".jsonl"))
    assert any("configs in several file formats (.jsonl: part1; .parquet: " in p for p in card.problems(folder))
