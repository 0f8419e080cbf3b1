"""What a loading script may do: the scripts run with the user's rights, so they stay small and plain.

They import only what they need, never run code from strings or other programs, open no sockets, and
name no hosts but their homepages and the pinned GitHub commit (the Hub URL comes from huggingface_hub).
The loopback tests (test_network.py) check the same from the other side: what the loaders fetched.
"""

import ast
import re
import sys

import pytest

from instruction_datasets import script_path
from instruction_datasets.loading import PROJECT_ROOT, SCRIPTS

ALLOWED_IMPORTS = {
    "codecs",
    "concurrent",  # a helper thread parses the next block while the current one is written
    "contextlib",
    "dataclasses",
    "hashlib",
    "io",
    "json",
    "mmap",  # local files are read through the page cache, without copies
    "os",
    "re",
    "time",
    "typing",
    "datasets",
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
README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
ALLOWED_URLS = {
    "https://github.com/PKU-Alignment/align-anything",
    "https://arxiv.org/abs/2412.15838",
    "https://github.com/Rallio67/language-model-agents",
    "https://github.com/Rallio67/language-model-agents/raw/{_COMMIT}",
}


@pytest.fixture(params=SCRIPTS)
def source(request):
    return script_path(request.param).read_text(encoding="utf-8")


def imports(source: str) -> set:
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "a script is self-contained: no relative imports"
            imported.add(node.module.split(".")[0])
    return imported


def test_imports_only_what_it_needs(source):
    imported = imports(source)
    assert imported <= ALLOWED_IMPORTS, imported - ALLOWED_IMPORTS


def test_the_readme_names_every_package_the_scripts_import_beyond_the_standard_library():
    claim = re.search(r"They import only the standard library, (.+?)\.", " ".join(README.split()))
    assert claim, "README must say what the scripts import"
    named = set(re.findall(r"`(\w+)`", claim.group(1)))
    used = set().union(*(imports(script_path(name).read_text(encoding="utf-8")) for name in SCRIPTS))
    assert named == used - sys.stdlib_module_names
    assert named == ALLOWED_IMPORTS - sys.stdlib_module_names


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


def test_names_no_hosts_but_its_homepages_and_the_pinned_commit(source):
    urls = set(re.findall(r"https?://[^\s\"'}]+}?", source))
    urls = {url.rstrip("}") if not url.endswith("{_COMMIT}") else url for url in urls}
    assert urls <= ALLOWED_URLS, urls - ALLOWED_URLS
    if "_BASE_URL" in source:
        assert 'raw/{_COMMIT}"' in source and '_COMMIT = "26ea044ac587e7629a8baea994165cf3e6520dea"' in source


def test_the_helpers_both_scripts_carry_are_the_same_text():
    # Each script must stand alone, so the download and error helpers are copied, not imported: never apart.
    marker = "# --- Shared by both loading scripts"
    tails = [script_path(name).read_text(encoding="utf-8").split(marker, 1)[1] for name in SCRIPTS]
    assert tails[0] == tails[1]
