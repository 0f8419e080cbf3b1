"""Plain helpers the tests and the runners import: importing this module changes nothing (no environment variable,
no guard, no `datasets` import); conftest.py does the set-up when pytest starts (`pytest_configure`).

- `error_text`: an error's message with every cause (the runners print it; tests match it);
- `run_fresh`: runs a runner of this folder in a new process, as a user's load would run;
- `guard_env`: the environment a process started with an environment of its own needs to stay guarded;
- `RUNS_SCRIPTS`: whether the installed `datasets` still runs loading scripts;
- the loopback guard (tests/loopback_only/sitecustomize.py): `load_guard()`, `GuardLog`, and `loopback_guard`,
  the guard module, loaded (and so installed) when first asked for.
"""

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

#: The folder that holds the loopback guard as `sitecustomize`: first on PYTHONPATH, every Python process a test
#: starts imports it.
GUARD_DIR = Path(__file__).resolve().with_name("loopback_only")

#: The switches that keep the libraries from calling home (download counts, telemetry).
NO_CALLS_HOME = {"HF_UPDATE_DOWNLOAD_COUNTS": "0", "HF_HUB_DISABLE_TELEMETRY": "1"}

#: Whether this `datasets` still runs loading scripts from `load_dataset` (3.x and older). Read from the installed
#: distribution, so that asking imports nothing (`datasets` reads HF_MODULES_CACHE when imported).
RUNS_SCRIPTS = int(importlib.metadata.version("datasets").split(".")[0]) < 4


def error_text(exc: BaseException) -> str:
    """The message of an error and of every error that caused it.

    `datasets` wraps errors raised while preparing a split in `DatasetGenerationError`; ours is the cause.
    """
    parts = []
    while exc is not None:
        parts.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


def guard_env(*paths: str) -> dict:
    """For a process started with an environment of its own: the guard first on PYTHONPATH (then ``paths``), its
    log, and the switches that keep the libraries from calling home."""
    keep = ("LOOPBACK_GUARD_LOG", *NO_CALLS_HOME)
    return {"PYTHONPATH": os.pathsep.join([str(GUARD_DIR), *paths]), **{key: os.environ[key] for key in keep}}


def run_fresh(request: dict, endpoint: str, home: Path, offline: bool = False, runner: str = "load_runner.py"):
    """Runs a runner script of this folder in a new process, so HF_ENDPOINT and the offline switches are read
    as a user's are; returns (exit status, the JSON object it printed last, its stderr)."""
    env = {key: value for key, value in os.environ.items() if not key.endswith("_OFFLINE")}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(home / "hf"))
    if offline:
        env.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name(runner)), json.dumps(request)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.stdout.strip(), result.stderr[-3000:]
    return result.returncode, json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def load_guard():
    """The guard module, installed in this process: the one it imported at start-up (a process the tests started,
    or a run with the guard's folder on PYTHONPATH), or the one loaded here before, or loaded now (which installs
    it)."""
    loaded = sys.modules.get("sitecustomize")
    if loaded is not None and hasattr(loaded, "OutsideNetworkError"):
        return loaded
    if "loopback_guard" not in sys.modules:
        spec = importlib.util.spec_from_file_location("loopback_guard", GUARD_DIR / "sitecustomize.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # installs the guard
        sys.modules["loopback_guard"] = module
    return sys.modules["loopback_guard"]


def __getattr__(name: str):
    """``loopback_guard``: the guard module (`load_guard()`), looked up when first asked for, not at import."""
    if name == "loopback_guard":
        return load_guard()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class GuardLog:
    """The guard's refusals (this process's and those of every process the tests started) not yet handed out."""

    def __init__(self, path: str):
        self.path = Path(path)
        self.offset = self.path.stat().st_size if self.path.exists() else 0  # what an earlier run wrote is not ours

    def take(self) -> list[str]:
        """The refusals written since the last call; each is handed out once, so it fails one test phase at most."""
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as f:
            f.seek(self.offset)
            text = f.read()
        self.offset += len(text.encode("utf-8"))
        return text.splitlines()
