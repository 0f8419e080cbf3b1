"""What a loading script may do: the scripts run with the user's rights, so they stay small and plain.

They (and _instruction_kit.py, the module they import) import only what they need, never run code from strings or
other programs, open no sockets, and name no URLs but those their builders declare (homepage, citation, the pinned
GitHub commit) and GitHub's host in the kit (the Hub URL
comes from huggingface_hub). The loopback tests (test_network.py) check the same from the other side: what the
loaders fetched. What the builders need is written once, in the kit: no block of code is carried by two scripts, a
script is a declaration of at most 200 lines that imports nothing handling bytes, HTTP or hashes, and each imports
the kit in the one form `datasets.load_dataset` (3.x) copies beside a script.
"""

import ast
import itertools
import re
import sys

import datasets
import pytest
from fake_upstream import ALPHA_COMMIT
from helpers import imports

from instruction_datasets import builder_class, script_path
from instruction_datasets.loading import KIT, SCRIPTS, kit_path

ALLOWED_IMPORTS = {
    "codecs",
    "collections",  # a row rule counts what it warns of
    "concurrent",  # a helper thread parses the next block while the current one is written
    "contextlib",
    "contextvars",  # the network policy applies to the requests of a load only, in the thread that makes them
    "dataclasses",
    "email",  # a Retry-After header may be an HTTP date
    "enum",  # the kinds of failed transfer
    "hashlib",
    "io",
    "json",
    "mmap",  # local files are read through the page cache, without copies
    "os",
    "re",
    "sys",  # the network policy finds the HTTP library huggingface_hub's client comes from
    "tempfile",  # a streamed alpha file is copied to a temporary file, to check its hash before any row is given
    "threading",  # one lock installs the network policy; a fetch's partial file is named by process and thread
    "time",
    "typing",
    "datasets",
    "filelock",  # loads running at once fetch an alpha file into the download cache once
    "fsspec",  # every ranged read over the network is checked in the file's fsspec cache
    "huggingface_hub",
    "numpy",
    "pyarrow",
}
FORBIDDEN_CALLS = {
    "eval",
    "exec",
    "compile",
    "__import__",
    "breakpoint",
    "os.system",
    "os.popen",
    "os.execv",
    "os.spawnv",
}
#: The one URL the kit names: it recognises a pinned base_url on GitHub, to name it in a card.
KIT_URLS = {"https://github.com/"}


#: Longest run of lines that both scripts may hold (`duplicates` counts blocks of 6 lines and more).
SHARED_LINES = 5
#: Each script reads as its dataset: declarations, the row rule, the builder; the machinery is in the kit.
SCRIPT_LINES = 200
#: What a script may import besides the kit: nothing that handles bytes, HTTP or hashes (those are the kit's).
SCRIPT_IMPORTS = {"collections", "dataclasses", "datetime", "re", "typing", "datasets"}


def code_path(name: str):
    return kit_path(script_path(SCRIPTS[0])) if name == KIT else script_path(name)


@pytest.fixture(params=[*SCRIPTS, KIT])
def source(request):
    return code_path(request.param).read_text(encoding="utf-8")


def test_imports_only_what_it_needs(source):
    imported = imports(source, KIT)
    assert imported <= ALLOWED_IMPORTS, imported - ALLOWED_IMPORTS


def test_every_package_allowed_is_one_the_scripts_or_the_kit_import():
    """No stale allowance: the README names the packages imported (tests/test_docs.py), and so every allowed one."""
    used = set().union(*(imports(code_path(name).read_text(encoding="utf-8"), KIT) for name in [*SCRIPTS, KIT]))
    assert ALLOWED_IMPORTS - sys.stdlib_module_names == used - sys.stdlib_module_names


def test_runs_no_code_from_strings_and_no_programs(source):
    called = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Name):
                called.add(function.id)
            elif isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name):
                called.add(f"{function.value.id}.{function.attr}")
    assert not called & FORBIDDEN_CALLS


def declared_urls(cls) -> set[str]:
    """The URLs a builder declares: its homepage, those its citation names, and its configs' default base_urls."""
    urls = {cls.HOMEPAGE, *re.findall(r"https?://[^\s}]+", cls.CITATION)}
    return urls | {config.base_url for config in cls.BUILDER_CONFIGS if getattr(config, "base_url", None)}


@pytest.mark.parametrize("name", [*SCRIPTS, KIT])
def test_names_no_hosts_but_its_homepage_citation_and_pinned_commit(name):
    """A script names only the URLs its builder declares (a ``{_COMMIT}`` in one stands for the builder's COMMIT),
    and a default base_url is pinned to that commit; the kit names only GitHub's host."""
    source = code_path(name).read_text(encoding="utf-8")
    urls = set(re.findall(r"https?://[^\s\"'{}]+(?:\{_COMMIT\})?", source))
    if name == KIT:
        assert urls <= KIT_URLS, urls - KIT_URLS
        return
    cls = builder_class(name)
    declared = declared_urls(cls)
    assert {url.replace("{_COMMIT}", str(cls.COMMIT)) for url in urls} <= declared, urls
    for config in cls.BUILDER_CONFIGS:
        if getattr(config, "base_url", None):
            assert re.fullmatch(r"[0-9a-f]{40}", cls.COMMIT) and config.base_url.endswith(f"/raw/{cls.COMMIT}")


def test_alpha_is_pinned_to_the_commit_that_still_has_its_files():
    assert builder_class("instruction_tuning_alpha").COMMIT == ALPHA_COMMIT


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_script_imports_the_kit_in_the_form_load_dataset_copies_beside_it(script):
    """One ``from ._instruction_kit import (...)`` at column 0: datasets 3.x's get_imports finds only that form."""
    path = script_path(script)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    relative = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level]
    assert [(node.module, node.col_offset) for node in relative] == [(KIT, 0)]
    assert relative[0] in tree.body  # at the top level, run on import
    get_imports = getattr(getattr(datasets.utils, "py_utils", None), "get_imports", None)
    if get_imports is not None:  # 3.x: what load_dataset copies beside the script it runs
        internal = [found[1] for found in get_imports(str(path)) if found[0] == "internal"]
        assert internal == [KIT]


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_script_builds_on_the_kit_and_declares_its_dataset(script):
    cls = builder_class(script)
    kit = sys.modules[cls.__module__.rsplit(".", 1)[0] + f".{KIT}"]
    assert issubclass(cls, kit.InstructionBuilder)
    for name in ("PRETTY_NAME", "DESCRIPTION", "HOMEPAGE", "LICENSE", "CITATION", "FEATURES"):
        assert name in vars(cls) and getattr(cls, name), name  # declared by the script, not inherited
    assert cls.HINTS  # the kit's reader says what to do about a failed transfer, naming the script's parameters
    assert cls.FormatError is not ValueError and cls.IntegrityError is not ValueError
    source = script_path(script).read_text(encoding="utf-8")
    lines = len(source.splitlines())
    assert lines <= SCRIPT_LINES, f"{script}.py has {lines} lines"
    assert imports(source, KIT) <= SCRIPT_IMPORTS, imports(source, KIT) - SCRIPT_IMPORTS


def _runs(path, size: int) -> set:
    """Every run of ``size`` consecutive non-blank lines of a file, each line without its indentation."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {tuple(lines[i : i + size]) for i in range(len(lines) - size + 1)}


def test_no_code_is_carried_by_both_scripts():
    """What the builders need is in the kit, once: no run of lines longer than SHARED_LINES is in two scripts."""
    for first, second in itertools.combinations(map(script_path, SCRIPTS), 2):
        shared = _runs(first, SHARED_LINES + 1) & _runs(second, SHARED_LINES + 1)
        assert not shared, (first.name, second.name, sorted(shared)[:3])
