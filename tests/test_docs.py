"""What the project's pages say, read against the tree: README.md, CONTRIBUTING.md, benchmarks/README.md and the
notebook's text.

Every path, command, option, marker and session the pages name exists, every link leads somewhere, every benchmark
figure is the one `bench.py --show` prints, and each README claim that reading can check is checked here (the front
matter, the test command, the card, the recipe, the scripts' imports, what the notebook shows; CONTRIBUTING's session
times, which are not in the README). A
claim that holds only when its feature runs is tested by running it, in its concern's file (the TRL recipes:
tests/test_clients.py; the samples' picture: tests/test_stats.py; the notebook's output: tests/test_notebook.py).
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from helpers import imports, readme_blocks
from huggingface_hub import DatasetCard

from instruction_datasets import builder_class, card, load, meta, script_path, training
from instruction_datasets.loading import KIT, PROJECT_ROOT, kit_path, sample_dir

README = PROJECT_ROOT / "README.md"
CONTRIBUTING = PROJECT_ROOT / "CONTRIBUTING.md"
BENCHMARKS = PROJECT_ROOT / "benchmarks" / "README.md"
PAGES = [README, CONTRIBUTING, BENCHMARKS]
#: Where a bare file name in the pages may live (`loading.py` is the package's, `conftest.py` the tests').
FOLDERS = ["", "instruction_datasets/", "tests/"]


def text(page) -> str:
    return page.read_text(encoding="utf-8")


def code_spans(page) -> list[str]:
    """The `inline code` of a page, fenced blocks left out."""
    prose = re.sub(r"```.*?```", "", text(page), flags=re.S)
    return re.findall(r"`([^`\n]+)`", prose)


def shell_lines(page) -> list[str]:
    """The lines of a page's ```sh blocks, comments cut off."""
    blocks = re.findall(r"```sh\n(.*?)```", text(page), flags=re.S)
    return [line.split("#", 1)[0].strip() for block in blocks for line in block.splitlines() if line.strip()]


#: Options whose value is a file a command writes, not one of the tree.
OUTPUT_OPTIONS = {"--out", "--plot", "--json"}
#: Files of other tools that the pages name (LLaMA-Factory's list of datasets), not files of this tree.
OTHER_TOOLS_FILES = {"dataset_info.json"}


def named_paths(page) -> set[str]:
    """Files and folders of this repository a page names in code spans (placeholders such as `<name>` left out)."""
    paths = set()
    for span in code_spans(page) + shell_lines(page):
        words = span.split()
        for before, word in zip(["", *words[:-1]], words, strict=True):
            word = word.strip("',\"()")
            if "<" in word or "{" in word or "*" in word or word.startswith(("/", "-", "http", "path/to/")):
                continue
            if before in OUTPUT_OPTIONS or word in OTHER_TOOLS_FILES:  # a file the command writes, or another tool's
                continue
            if re.fullmatch(r"[\w./-]+\.(py|md|json|ipynb|toml|png)", word) or re.match(
                r"(tests|benchmarks|docs|examples|instruction_datasets|\.ci)/", word
            ):
                paths.add(word.rstrip("/").split("#")[0])
    return paths


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(PROJECT_ROOT).as_posix())
def test_every_path_a_page_names_exists(page):
    paths = named_paths(page)
    assert paths, f"{page.name} names no file?"
    folders = [*FOLDERS, page.parent.relative_to(PROJECT_ROOT).as_posix() + "/"]  # `bench.py` beside its page
    missing = sorted(
        path for path in paths if not any((PROJECT_ROOT / f"{folder}{path}").exists() for folder in folders)
    )
    assert not missing, f"{page.name} names files this tree lacks: {', '.join(missing)}"


def slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(PROJECT_ROOT).as_posix())
def test_every_link_between_the_pages_leads_somewhere(page):
    links = re.findall(r"\]\(([^)\s]+)\)", text(page))
    local = [link for link in links if not link.startswith(("http://", "https://"))]
    for link in local:
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        assert path.exists(), f"{page.name} links to {link}, which does not exist"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), flags=re.M)
            assert anchor in {slug(heading) for heading in headings}, f"{page.name}: no heading for {link}"


def test_the_readme_points_to_the_two_other_pages():
    readme = text(PROJECT_ROOT / "README.md")
    assert "](CONTRIBUTING.md" in readme and "](benchmarks/README.md)" in readme


def test_contributing_answers_where_a_test_a_dataset_and_a_command_go():
    headings = re.findall(r"^#+ (.+)$", text(CONTRIBUTING), flags=re.M)
    for needed in ("A quick check", "Where things live", "A new test", "A new dataset", "A new command", "Testing"):
        assert needed in headings


def nox_sessions() -> tuple[list[str], list[str]]:
    """The noxfile's sessions by full name (``tests(datasets='3.6.0')``, ``lint``), read without importing nox: those
    `nox` alone runs (``nox.options.sessions``, in its order; a bare name stands for all its parametrizations), then
    the others, in the order they are defined."""
    tree = ast.parse(text(PROJECT_ROOT / "noxfile.py"))
    constants = {
        node.targets[0].id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    by_function = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        decorators = [ast.unparse(decorator) for decorator in node.decorator_list]
        if not any(decorator.startswith("nox.session") for decorator in decorators):
            continue
        names = [node.name]
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "nox.parametrize":
                argument, values = decorator.args
                values = ast.literal_eval(constants[values.id] if isinstance(values, ast.Name) else values)
                names = [f"{node.name}({argument.value}={value!r})" for value in values]
        by_function[node.name] = names
    selected = ast.literal_eval(
        next(
            node.value
            for node in tree.body
            if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "nox.options.sessions"
        )
    )
    default = [name for entry in selected for name in by_function.get(entry, [entry])]
    every = [name for names in by_function.values() for name in names]
    assert set(default) <= set(every), f"nox.options.sessions names no session: {set(default) - set(every)}"
    return list(dict.fromkeys(default)), [name for name in every if name not in default]


def test_every_nox_session_the_pages_name_exists():
    default, others = nox_sessions()
    functions = {name.split("(")[0] for name in default + others}
    named = set()
    for page in PAGES:
        named |= set(re.findall(r"nox -s (\"[^\"]+\"|[\w()='.]+)", text(page)))
    assert named
    for name in named:
        name = name.strip('"')
        assert name in default + others or name in functions, f"no nox session {name!r}"


def test_every_pytest_marker_contributing_names_is_registered():
    pyproject = text(PROJECT_ROOT / "pyproject.toml")
    registered = set(re.findall(r'^\s*"(\w+):', pyproject.split("markers = [", 1)[1].split("]", 1)[0], flags=re.M))
    named = set(
        re.findall(r"marked `(\w+)`|`@pytest\.mark\.(\w+)`|`-m \"not (\w+)\"`|`(\w+)` marks", text(CONTRIBUTING))
    )
    named = {name for group in named for name in group if name}
    assert named >= {"slow", "network", "clients"}
    assert named <= registered, f"not registered in pyproject.toml: {', '.join(sorted(named - registered))}"


def test_every_command_contributing_names_is_a_command_of_the_package():
    help_text = subprocess.run(
        [sys.executable, "-m", "instruction_datasets", "--help"], capture_output=True, text=True, check=True
    ).stdout
    commands = set(re.findall(r"python -m instruction_datasets (\w+)", text(CONTRIBUTING)))
    assert commands
    for command in commands:
        assert re.search(rf"\b{command}\b", help_text), f"--help lists no command {command!r}"


def test_every_script_beside_the_package_is_found_and_has_samples_and_a_place_in_the_wheel():
    scripts = {path.stem for path in PROJECT_ROOT.glob("*.py") if not path.name.startswith("_")} - {"noxfile"}
    assert set(meta.SCRIPTS) == scripts
    for script in meta.SCRIPTS:
        assert (PROJECT_ROOT / "instruction_datasets" / "samples" / script).is_dir()
    # ... and in pyproject's py-modules, with the kit, so that the wheel installs them.
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert sorted(pyproject["tool"]["setuptools"]["py-modules"]) == sorted([*meta.SCRIPTS, KIT])


def test_the_commits_the_pages_name_are_those_the_scripts_pin():
    """The README names each pinned commit; it is written in its script only, so the pages must follow it."""
    pinned = {builder_class(script).COMMIT for script in meta.SCRIPTS} - {None}
    assert pinned, "no script pins a commit"
    for page in PAGES:
        named = set(re.findall(r"\b[0-9a-f]{40}\b", text(page)))
        assert named <= pinned, f"{page.name} names commits no script pins: {named - pinned}"
    for commit in pinned:
        assert commit in text(README), commit


def test_each_fixture_is_defined_once():
    where: dict[str, list[str]] = {}
    for path in sorted((PROJECT_ROOT / "tests").glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and any(
                "fixture" in ast.unparse(decorator) for decorator in node.decorator_list
            ):
                where.setdefault(node.name, []).append(path.name)
    twice = {name: files for name, files in where.items() if len(files) > 1}
    assert not twice, f"fixtures defined more than once: {twice}"


def test_the_table_of_concerns_names_each_test_file_once():
    """CONTRIBUTING's "A new test" table has one line per test file, and every test file has its line."""
    section = text(CONTRIBUTING).split("### A new test\n", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`tests/" in line]
    files = [name for line in rows for name in re.findall(r"`tests/(test_\w+\.py)`", line)]
    assert len(files) == len(rows), "one test file per line"
    assert sorted(files) == sorted(path.name for path in (PROJECT_ROOT / "tests").glob("test_*.py"))


def test_no_test_file_imports_from_another():
    """What two test files need is in conftest.py (fixtures) or helpers.py (helpers, tables), never in a test file."""
    for path in sorted((PROJECT_ROOT / "tests").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [name for name in names if name.startswith("test_")], f"{path.name}: {ast.unparse(node)}"


# --- README.md: what reading it can check ---------------------------------------------------------------------


def test_readme_front_matter_is_a_dataset_card():
    card = DatasetCard.load(PROJECT_ROOT / "README.md")
    data = card.data.to_dict()
    assert data["license"] == "other" and data["license_name"]
    assert {"en", "zh"} <= set(data["language"])
    assert "text-generation" in data["task_categories"]
    assert data["pretty_name"]
    assert data["tags"]


def test_the_readme_gives_load_its_whole_signature():
    """Every parameter of load(), in order, with its default: the README then says what each means."""
    parts, starred = [], False
    for parameter in inspect.signature(load).parameters.values():
        if parameter.kind is parameter.KEYWORD_ONLY and not starred:
            parts.append("*")
            starred = True
        if parameter.kind is parameter.VAR_KEYWORD:
            parts.append(f"**{parameter.name}")
        else:
            default = "" if parameter.default is parameter.empty else f"={parameter.default!r}"
            parts.append(f"{parameter.name}{default}")
    readme = " ".join(text(README).split())
    assert f"`load({', '.join(parts)})`" in readme
    for keyword in ("features", "keep_in_memory", "token", "storage_options", "trust_remote_code", "revision"):
        assert f"- `{keyword}` " in readme, keyword


def test_ci_runs_the_readme_test_command():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- test-command -->\s*```(?:sh|bash)?\n(.+?)\n```", readme)
    assert match, "README must show the test command in the block after <!-- test-command -->"
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert match.group(1).strip() in ci


def test_contributing_gives_a_time_for_every_nox_session():
    """The table lists the sessions `nox` runs, in its order, then those it runs only when named (smoke's newest).
    It is in CONTRIBUTING, not in the README: one run's times change with every test added."""
    contributing = (PROJECT_ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert "<!-- nox-sessions -->" not in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = contributing.split("<!-- nox-sessions -->", 1)[1].split("\n\n", 1)[0]
    listed = re.findall(r"^\| `([^`]+)` \| [^|]*\d[^|]*\|$", table, re.M)
    default, others = nox_sessions()
    assert listed == default + others


def test_the_readme_says_what_the_card_does():
    readme = " ".join((PROJECT_ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"(the {card.TOP_ENTRIES} largest, then one line for the rest)" in readme
    assert f"they name a placeholder, `{card.PLACEHOLDER}`, marked as one" in readme
    assert "`tags`" in readme and "`size_categories` (the Hub's bucket for the rows of the largest config" in readme


NOTEBOOK = PROJECT_ROOT / "examples" / "quickstart.ipynb"


def notebook_cells(kind: str) -> list[str]:
    """The sources of the notebook's cells of one kind ("code" or "markdown"), in order."""
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == kind]


def calls(tree: ast.AST, name: str) -> list[ast.Call]:
    """The calls of `name` or of `<anything>.name` in a tree."""
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)) == name
    ]


def test_the_notebook_shows_what_the_readme_says_it_does():
    """README "Look at the data": the notebook walks through loading, streaming, leaving out the red-team rows,
    formatting `messages` with a chat template, and the samples' picture; tests/test_notebook.py runs it in the
    `clients` session. Read here, without transformers; running it checks the output."""
    readme = " ".join(text(README).split())
    claim = re.search(r"`examples/quickstart\.ipynb` walks through (.+?)\. (.+?)\.(?: |$)", readme)
    assert claim, "README must say what the notebook shows"
    shows, runs = claim.groups()
    assert shows.startswith(
        "loading, streaming, leaving out the red-team rows, formatting `messages` with a chat template"
    ) and shows.endswith("and this picture")
    assert "`tests/test_notebook.py` runs it in a Jupyter kernel in the `clients` session" in runs
    test_file = (PROJECT_ROOT / "tests" / "test_notebook.py").read_text(encoding="utf-8")
    assert "pytestmark = pytest.mark.clients" in test_file and "NotebookClient(" in test_file

    code = "\n".join(notebook_cells("code"))
    tree = ast.parse(code)
    assigned = {
        target.id: node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    loads = calls(tree, "load")
    streaming = [call for call in loads if any(kw.arg == "streaming" for kw in call.keywords)]
    # loading, and streaming
    assert streaming and len(streaming) < len(loads)
    assert all(ast.literal_eval(kw.value) for call in streaming for kw in call.keywords if kw.arg == "streaming")
    # leaving out the red-team rows, as the README's own code does
    (red_team_filter,) = re.findall(r"\.filter\(lambda row: [^\n]*\"harmless\"\)", text(README))
    assert red_team_filter in code

    # formatting `messages` with a chat template: transformers' apply_chat_template on a row's `messages`, with a
    # tokenizer built in the notebook (nothing downloaded) and a chat template of its own
    formatted = calls(tree, "apply_chat_template")
    assert formatted and not [node for node in ast.walk(tree) if getattr(node, "name", None) == "apply_chat_template"]
    for call in formatted:
        conversation = call.args[0]
        while isinstance(conversation, ast.Subscript) and isinstance(conversation.slice, ast.Slice):
            conversation = conversation.value  # messages[:1]
        conversation = assigned.get(getattr(conversation, "id", None), conversation)
        assert isinstance(conversation, ast.Subscript) and ast.literal_eval(conversation.slice) == "messages"
    (built,) = calls(tree, "PreTrainedTokenizerFast")
    assert {kw.arg for kw in built.keywords} >= {"tokenizer_object", "chat_template"}
    assert "from transformers import PreTrainedTokenizerFast" in code
    shown = [call.args[0] for call in calls(tree, "print") if call.args and call.args[0] in formatted]
    assert any(kw.arg == "tokenize" and kw.value.value is False for call in shown for kw in call.keywords)
    assert not calls(tree, "from_pretrained")
    markdown = "\n".join(notebook_cells("markdown"))
    assert f'`AutoTokenizer.from_pretrained("{training.EXAMPLE_MODEL}")`' in markdown

    # this picture: the README's stats command's script and config, on the samples docs/ drew it from
    (command,) = re.findall(r"python -m instruction_datasets stats (\w+) (\w+) --plot", text(README))
    (collect,) = calls(tree, "collect")
    assert [ast.literal_eval(arg) for arg in collect.args] == list(command)
    (data_dir,) = [kw.value for kw in collect.keywords if kw.arg == "data_dir"]
    samples = assigned[data_dir.id]
    assert ast.unparse(samples) == f"sample_dir({command[0]!r}, {command[1]!r})"
    drawn_from = re.search(r"made by the command above with `--data-dir ([\w/]+)`", readme).group(1)
    assert sample_dir(*command).parts[-3:] == tuple(drawn_from.split("/"))  # the package's samples, wherever it is
    assert calls(tree, "plot") and calls(tree, "display_table")


def test_the_notebook_is_stored_without_outputs():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, "clear the notebook's outputs"


def test_notebook_and_readme_give_the_same_recipe_with_the_example_model():
    recipe, streaming_recipe = readme_blocks("Train with TRL")
    markdown = "\n".join(notebook_cells("markdown"))
    assert f"```python\n{recipe}```" in markdown
    for block in (recipe, streaming_recipe, "\n".join(training.card_section("en", "ORG/NAME"))):
        assert '.select_columns(["messages"])' in block
        assert f'model="{training.EXAMPLE_MODEL}"' in block


def test_the_readme_names_every_package_the_scripts_import_beyond_the_standard_library():
    """And every one tests/test_script_policy.py allows is imported: the README names exactly the allowed ones."""
    claim = re.search(r"They import only the standard library, (.+?)\.", " ".join(text(README).split()))
    assert claim, "README must say what the scripts import"
    named = set(re.findall(r"`(\w+)`", claim.group(1)))
    sources = [*map(script_path, meta.SCRIPTS), kit_path(script_path(meta.SCRIPTS[0]))]
    used = set().union(*(imports(path.read_text(encoding="utf-8"), KIT) for path in sources))
    assert named == used - sys.stdlib_module_names


# --- benchmarks/README.md -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench", PROJECT_ROOT / "benchmarks" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def shown(bench):
    """What `bench.py --show` prints for each results file, line by line."""
    import contextlib
    import io

    lines = set()
    for name in ("results.json", "results_range_check.json", "results_hub_streaming.json"):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            bench.show(json.loads((PROJECT_ROOT / "benchmarks" / name).read_text(encoding="utf-8")))
        lines |= set(out.getvalue().splitlines())
    return lines


def test_every_benchmark_table_row_is_what_bench_show_prints(shown):
    rows = [line for line in text(BENCHMARKS).splitlines() if line.startswith("| ") or line.startswith("**x")]
    assert len(rows) > 30
    missing = [row for row in rows if row not in shown]
    assert not missing, "rows bench.py --show does not print:\n" + "\n".join(missing)
    growth = [line for line in text(BENCHMARKS).splitlines() if line.startswith("- peak memory ")]
    assert growth and set(growth) <= shown


def test_the_readme_summary_quotes_figures_bench_show_prints(shown):
    readme = text(PROJECT_ROOT / "README.md")
    summary = readme.split("\n## Performance\n", 1)[1].split("\n## ", 1)[0]
    figures = re.findall(r"\d+\.\d\dx", summary)
    assert len(figures) >= 6
    printed = set(re.findall(r"\d+\.\d\dx", "\n".join(shown)))
    assert set(figures) <= printed, set(figures) - printed


def test_every_bench_option_the_page_uses_is_one_bench_takes(bench):
    source = (PROJECT_ROOT / "benchmarks" / "bench.py").read_text(encoding="utf-8")
    taken = set(re.findall(r'add_argument\(\s*"(--[\w-]+)"', source))
    taken.add("--help")  # argparse adds it
    used = set()
    for line in shell_lines(BENCHMARKS):
        used |= set(re.findall(r"(?<!\S)(--[\w-]+)", line))
    used |= {span.split()[0] for span in code_spans(BENCHMARKS) if span.startswith("--")}
    assert used and used <= taken, used - taken
    groups = [group for found in re.findall(r'--groups "([^"]+)"', text(BENCHMARKS)) for group in found.split(",")]
    assert groups and set(groups) <= set(bench.GROUPS)


def test_no_project_file_cites_the_teams_notes_outside_the_project():
    """The team's notes beside the repository are not shipped: a reader of the code could not follow a reference to
    them, so what a reader needs is written in the project's own files."""
    notes = ("FORMATS" + ".md", "STYLE" + ".md")  # spelled apart, so that this file does not cite them either
    skipped = {".git", ".nox", ".venv", "build", "dist", "__pycache__"}
    citing = []
    for folder, subfolders, files in os.walk(PROJECT_ROOT):
        subfolders[:] = [name for name in subfolders if name not in skipped and not name.endswith(".egg-info")]
        for name in files:
            path = Path(folder) / name
            try:
                content = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            citing += [f"{path.relative_to(PROJECT_ROOT)}: {note}" for note in notes if note in content]
    assert citing == []
