"""The test matrix: the whole suite on the last `datasets` that runs scripts (3.6) and on the newest.

nox                       # lint, then tests on both lines
nox -s "tests(datasets='3.6.0')" -- -k streaming
"""

import nox

nox.options.sessions = ["lint", "tests"]
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
