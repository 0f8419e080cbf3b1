"""The test matrix: the whole suite on the last `datasets` that runs scripts (3.6) and on the newest; the core
(`smoke`) on the 4.x lines that trainers pin.

nox                       # lint, tests on both lines, smoke on 4.0.0 and 4.8.4, clients, train_extra, llamafactory,
                          # then the wheel and sdist
nox -s "tests(datasets='3.6.0')" -- -k streaming
nox -s clients            # the rows through transformers' chat templates and TRL's SFTTrainer
nox -s llamafactory       # the exports through LLaMA-Factory 0.9.5's own data pipeline
nox -s "smoke(datasets='newest')"   # a quick check of the core on the newest line (not in the default list)

The test and smoke sessions run pytest on every core (pytest-xdist, ``-n auto``); ``-- -n 0`` runs it in one process.
"""

import json
import shutil
import tarfile
import zipfile
from pathlib import Path

import nox
import tomllib

nox.options.sessions = [
    "lint",
    "tests",
    "smoke(datasets='4.0.0')",
    "smoke(datasets='4.8.4')",
    "clients",
    "train_extra",
    "llamafactory",
    "package",
]
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
    # Files of the real sizes are read once, on the newest line (the boundary matrix runs on every line); a -m of
    # the posargs comes later and wins.
    once = [] if datasets == "newest" else ["-m", "not real_size"]
    # pytest exits 5 when it collects nothing; nox treats every non-zero exit as a failure. The mirror tests must
    # run here, not skip: OLAH_REQUIRED turns a missing olah into a failure.
    session.run(
        "pytest", "-n", "auto", *once, *session.posargs, env={"OLAH_CLI": _olah_cli(session), "OLAH_REQUIRED": "1"}
    )


#: The core, for a quick check: both scripts load plain and streaming, their configs and splits, load()'s keywords,
#: export, and the command line, with neither the slow tests nor the clients'.
SMOKE_FILES = [
    "test_builders.py",
    "test_load_keywords.py",
    "test_align_anything.py",
    "test_alpha.py",
    "test_boundaries.py",
    "test_export.py",
    "test_push.py",
    "test_stats.py",
    "test_infos.py",
    "test_new_dataset.py",
    "test_cli.py",
    "test_docs.py",
]


#: `datasets` lines the core runs on: those trainers pin (LLaMA-Factory 0.9.5: datasets<=4.0.0; Axolotl 0.19.0:
#: datasets==4.8.4), both in the default run, and the newest, for a quick check while you work.
SMOKE_LINES = ["4.0.0", "4.8.4", "newest"]


@nox.session
@nox.parametrize("datasets", SMOKE_LINES)
def smoke(session: nox.Session, datasets: str) -> None:
    """The core of the suite on one `datasets` line, in about 2 minutes: ``pytest -m "not slow and not clients"``
    over SMOKE_FILES (posargs go to pytest)."""
    requirement = "datasets" if datasets == "newest" else f"datasets=={datasets}"
    # test_boundaries' property test needs hypothesis.
    session.install("-e", ".", "pytest", "pytest-xdist", "hypothesis", requirement)
    files = [f"tests/{name}" for name in SMOKE_FILES]
    # pytest exits 5 when it collects nothing; nox fails on it, as on any non-zero exit.
    session.run("pytest", "-n", "auto", "-m", "not slow and not clients", "-x", "-q", *files, *session.posargs)


#: The Hub mirror tests/test_mirror.py serves the data through. It gets a venv of its own: its dependency
#: fastapi-utils pins psutil<6, and the notebook kernel's ipython needs psutil>=7.
OLAH = "olah==0.5.4"


def _olah_cli(session: nox.Session) -> str:
    """The olah-cli of a venv in this session's temporary folder, made on the first run."""
    venv = Path(session.create_tmp()).resolve() / "olah-venv"
    cli = venv / "bin" / "olah-cli"
    if not cli.exists():
        session.run("python", "-m", "venv", str(venv))
        session.run(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", OLAH, external=True)
    return str(cli)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check over the whole tree."""
    # One minor line: new ruff minors change formatting rules (0.17 started formatting Markdown code blocks).
    session.install("ruff>=0.17,<0.18")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


#: What the sdist must hold besides the package, so that it builds the wheel and runs `nox` on its own.
SDIST_FILES = [
    "README.md",
    "CONTRIBUTING.md",
    "pyproject.toml",
    "MANIFEST.in",
    "noxfile.py",
    ".ci/run",
    "dataset_infos.json",
]
SDIST_FOLDERS = ["instruction_datasets", "tests", "examples", "docs", "benchmarks"]


def _tree(root: Path, folder: str) -> set[str]:
    return {
        path.relative_to(root).as_posix()
        for path in (root / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def _top_level_modules(root: Path) -> list[str]:
    """The loading scripts and their shared module, as pyproject.toml lists them for the wheel."""
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["py-modules"]


@nox.session
def package(session: nox.Session) -> None:
    """Builds the sdist and, from it, the wheel; runs `demo` from the wheel in a fresh venv, in a temporary folder."""
    session.install("build")
    root = Path(__file__).resolve().parent
    dist = Path(session.create_tmp()) / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist), str(root))  # the wheel is built from the sdist
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")

    with tarfile.open(sdist) as archive:
        held = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    wanted = set(SDIST_FILES).union(*(_tree(root, folder) for folder in SDIST_FOLDERS))
    wanted |= {f"{name}.py" for name in _top_level_modules(root)}
    if missing := sorted(wanted - held):
        session.error(f"{sdist.name} lacks {', '.join(missing)}")

    with zipfile.ZipFile(wheel) as archive:
        in_wheel = set(archive.namelist())
    package_data = _tree(root, "instruction_datasets/samples") | _tree(root, "instruction_datasets/cards")
    if missing := sorted(package_data - in_wheel):
        session.error(f"{wheel.name} lacks {', '.join(missing)}")
    if stray := sorted(name for name in in_wheel if name.startswith(("tests/", "samples/"))):
        session.error(f"{wheel.name} holds files outside the package: {', '.join(stray)}")
    session.log(f"{wheel.name}: {wheel.stat().st_size:,} bytes, {len(in_wheel)} files; {sdist.name}: {len(held)} files")

    # This session's venv has only the wheel (and its dependencies); a temporary folder keeps the checkout off sys.path.
    session.install(str(wheel))
    work = Path(session.create_tmp()) / "elsewhere"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    session.chdir(work)
    # The loopback guard the tests use (tests/loopback_only): the demo may reach nothing beyond this machine.
    guard_log = work / "loopback-guard.log"
    env = {
        "HF_HOME": str(work / "hf-home"),
        "PYTHONPATH": str(root / "tests" / "loopback_only"),
        "LOOPBACK_GUARD_LOG": str(guard_log),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
    }
    output = session.run("python", "-m", "instruction_datasets", "demo", env=env, silent=True)
    print(output)
    expected = session.run(
        "python",
        "-c",
        "import json; from instruction_datasets import builder_class, SCRIPTS; "
        "print(json.dumps([[s, c.name] for s in SCRIPTS for c in builder_class(s).BUILDER_CONFIGS]))",
        env=env,
        silent=True,
    )
    configs = json.loads(expected.strip().splitlines()[-1])
    if absent := [f"{script}/{config}" for script, config in configs if f"== {script} / {config} " not in output]:
        session.error(f"demo from the wheel did not load {', '.join(absent)}")
    if "site-packages" not in output:
        session.error("demo did not read the samples installed with the wheel")
    refused = session.run("python", "-m", "instruction_datasets", "infos", env=env, silent=True, success_codes=[2])
    session.log(f"infos from the wheel: {refused.strip()}")
    if guard_log.exists() and guard_log.read_text(encoding="utf-8").strip():
        session.error(f"the wheel's commands reached beyond this machine:\n{guard_log.read_text(encoding='utf-8')}")


#: The CPU build of torch, from the local wheel folder pip's find-links names: the newest torch on PyPI pulls
#: several GB of CUDA packages, and these tests run on CPU.
TORCH = "torch==2.13.0"


@nox.session
def clients(session: nox.Session) -> None:
    """Trains TRL's SFTTrainer on the rows (newest datasets, transformers, trl; CPU torch) and runs the notebook in a
    Jupyter kernel (nbclient and ipykernel come with the `test` extra): tests marked `clients`."""
    session.install("-e", ".[test,train]", TORCH, "datasets", "transformers", "trl", "tokenizers")
    session.run(
        "python",
        "-c",
        "import datasets, tokenizers, torch, transformers, trl; print(*(f'{m.__name__} {m.__version__}' for m in "
        "(datasets, tokenizers, torch, transformers, trl)), sep=', ')",
    )
    session.run("pytest", "-m", "clients", *session.posargs)


@nox.session
def train_extra(session: nox.Session) -> None:
    """The README's `pip install -e '.[train]'` alone, with no torch (which would bring jinja2 along): `stats
    --tokenizer` with a chat-template tokenizer, the tests marked `train_extra`."""
    session.install("-e", ".[train]", "pytest")
    session.run("python", "-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is not None)")
    session.run("pytest", "-m", "train_extra", "tests/test_stats.py")  # the other files import the test extra


#: One LLaMA-Factory release and the releases it was tried with (README "Train with LLaMA-Factory or Axolotl"):
#: pinned, since this session is a test matrix of one framework release, not a range this package supports.
#: LLaMA-Factory goes in with ``--no-deps``: its own requirements pull PyPI's torchvision and torchaudio, CUDA
#: builds that break imports next to the CPU torch, and gradio, modelscope and more that the data pipeline never
#: imports. tests/test_llamafactory.py stands a stub in for torchaudio, which its data module imports.
LLAMAFACTORY = "llamafactory==0.9.5"
LLAMAFACTORY_STACK = [
    TORCH,
    "transformers==5.6.0",
    "datasets==4.0.0",  # LLaMA-Factory 0.9.5 pins datasets<=4.0.0
    "peft==0.18.1",
    "trl==0.24.0",
    "accelerate==1.11.0",
    "tokenizers==0.22.2",
]
#: What LLaMA-Factory's data pipeline and its argument parser import beyond that stack (from its requirements).
LLAMAFACTORY_IMPORTS = ["omegaconf"]


@nox.session
def llamafactory(session: nox.Session) -> None:
    """Runs LLaMA-Factory's own SFT data pipeline on exports of the samples and checks every row's labels: tests
    marked `llamafactory`."""
    session.install("-e", ".[test]", *LLAMAFACTORY_STACK, *LLAMAFACTORY_IMPORTS)
    session.install("--no-deps", LLAMAFACTORY)
    session.run(
        "python",
        "-c",
        "import datasets, llamafactory, torch, transformers; print(*(f'{m.__name__} {m.__version__}' for m in "
        "(llamafactory, datasets, torch, transformers)), sep=', ')",
    )
    session.run("pytest", "-m", "llamafactory", *session.posargs)
