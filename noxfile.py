"""The test matrix: the whole suite on the last `datasets` that runs scripts (3.6) and on the newest.

nox                       # lint, tests on both lines, then clients
nox -s "tests(datasets='3.6.0')" -- -k streaming
nox -s clients            # the rows through transformers' chat templates and TRL's SFTTrainer
"""

import nox

nox.options.sessions = ["lint", "tests", "clients"]
nox.options.error_on_missing_interpreters = True

#: `datasets` releases the suite runs against: the last with script support, and the newest.
DATASETS_LINES = ["3.6.0", "newest"]


@nox.session
@nox.parametrize("datasets", DATASETS_LINES)
def tests(session: nox.Session, datasets: str) -> None:
    """Installs the package with one `datasets` line and runs pytest (no tests collected fails too)."""
    requirement = "datasets" if datasets == "newest" else f"datasets=={datasets}"
    session.install("-e", ".[test]", requirement)
    session.run(
        "python",
        "-c",
        "import datasets, huggingface_hub; print('datasets', datasets.__version__, "
        "'huggingface_hub', huggingface_hub.__version__)",
    )
    # pytest exits 5 when it collects nothing; nox treats every non-zero exit as a failure.
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check over the whole tree."""
    # One minor line: new ruff minors change formatting rules (0.17 started formatting Markdown code blocks).
    session.install("ruff>=0.17,<0.18")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


#: The CPU build of torch, from the local wheel folder pip's find-links names: the newest torch on PyPI pulls
#: several GB of CUDA packages, and these tests run on CPU.
TORCH = "torch==2.13.0"


@nox.session
def clients(session: nox.Session) -> None:
    """Trains TRL's SFTTrainer on the rows (newest datasets, transformers, trl; CPU torch): tests marked `clients`."""
    session.install("-e", ".[test,train]", TORCH, "datasets", "transformers", "trl", "tokenizers")
    session.run(
        "python",
        "-c",
        "import datasets, tokenizers, torch, transformers, trl; print(*(f'{m.__name__} {m.__version__}' for m in "
        "(datasets, tokenizers, torch, transformers, trl)), sep=', ')",
    )
    session.run("pytest", "-m", "clients", *session.posargs)
