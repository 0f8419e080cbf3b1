"""Run the loading scripts on every supported `datasets` version, with or without script support.

`datasets` 4.0 removed scripts from `load_dataset`, but its builder classes still work when used
directly. `load()` does here what `load_dataset` did for a script: copy it (and the module it imports,
`_instruction_kit.py`) into the modules cache, import it, instantiate its builder with a hash of the code it
runs, prepare and return the splits.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import importlib.resources
import importlib.util
import inspect
import os
import sys
import uuid
import warnings
from pathlib import Path
from types import ModuleType

import datasets
from datasets.exceptions import DatasetGenerationError
from datasets.utils.info_utils import is_small_dataset
from filelock import FileLock

# The kit's name, where the scripts are, and the scripts found there (kept where --help reads them).
from .meta import KIT, PROJECT_ROOT, SCRIPTS

# Files that `load_dataset` copies beside a script; the builder reads dataset infos from them (3.x).
_RESOURCES_BESIDE_SCRIPT = ("dataset_infos.json", "README.md")

#: Where `load()` keeps its module copies inside `HF_MODULES_CACHE`. `datasets` 3.x puts that cache on
#: `sys.path`; a name with a hyphen cannot be imported, so nothing in it can shadow a package a user imports.
MODULES_FOLDER = "instruction-datasets-modules"
#: Where 0.1.0 kept them: an importable name, which shadows this package on 3.x (see `_warn_of_old_copies`).
OLD_MODULES_FOLDER = "instruction_datasets"


def available_scripts() -> list[str]:
    """Names of the shipped loading scripts that are present in this installation."""
    return [name for name in SCRIPTS if _find_script(name) is not None]


def script_path(path: str | os.PathLike) -> Path:
    """Resolves a builder's module name (``"align_anything_instruction"``) or a script path to a file."""
    candidate = Path(path)
    if candidate.suffix == ".py" or candidate.is_file():
        if not candidate.is_file():
            raise FileNotFoundError(f"no loading script at {candidate}")
        return candidate.resolve()
    found = _find_script(str(path))
    if found is None:
        raise FileNotFoundError(
            f"unknown loading script {str(path)!r}: give a path to a .py file or one of {', '.join(SCRIPTS)}"
        )
    return found


def _find_script(name: str) -> Path | None:
    if name not in SCRIPTS:
        return None
    beside_package = PROJECT_ROOT / f"{name}.py"
    if beside_package.is_file():
        return beside_package
    spec = importlib.util.find_spec(name)  # a non-editable install puts the scripts in site-packages
    if spec is not None and spec.origin and spec.origin.endswith(".py"):
        return Path(spec.origin)
    return None


def builder_class(path: str | os.PathLike) -> type[datasets.DatasetBuilder]:
    """The builder class defined by a loading script (imported once per content of the script and its kit)."""
    script = script_path(path)
    return _builder_class(script, _code_hash(script))


def kit_path(script: Path) -> Path | None:
    """The `_instruction_kit.py` a script runs with: the one beside it if there is one (an edited copy of a script
    may come with its own), else the one installed with this package (beside it in a checkout, or in site-packages).
    """
    beside = script.parent / f"{KIT}.py"
    if beside.is_file():
        return beside
    shipped = PROJECT_ROOT / f"{KIT}.py"
    if shipped.is_file():
        return shipped
    spec = importlib.util.find_spec(KIT)
    if spec is not None and spec.origin and spec.origin.endswith(".py"):
        return Path(spec.origin)
    return None


def declared_info(cls: type[datasets.DatasetBuilder], config_name: str) -> datasets.DatasetInfo:
    """What a builder's ``_info()`` declares for one config, without instantiating it.

    An instance would create cache folders, and on 3.x merge in `dataset_infos.json`, which is generated from this.
    """
    config = cls.builder_configs[config_name]
    if hasattr(cls, "info_for"):  # the kit's builders say it themselves
        return cls.info_for(config)
    return cls._info(_ConfigOnly(config))


class _ConfigOnly:
    """Stands in for a builder instance: `_info()` reads only `self.config`."""

    def __init__(self, config: datasets.BuilderConfig):
        self.config = config


def _code_files(script: Path) -> dict[str, bytes]:
    """The code a script runs, by file name: the script and, if one is found, its kit (see `kit_path`)."""
    files = {script.name: script.read_bytes()}
    kit = kit_path(script)
    if kit is not None:
        files[kit.name] = kit.read_bytes()
    return files


def _code_hash(script: Path) -> str:
    """A hash of every file the builder runs: the script and its kit."""
    files = _code_files(script)
    if len(files) == 1:  # no kit found anywhere (a stray script): the script alone, hashed as before the kit
        return hashlib.sha256(files[script.name]).hexdigest()[:16]
    return _content_hash(files)


@functools.cache
def _builder_class(script: Path, code_hash: str) -> type[datasets.DatasetBuilder]:
    module = _import_copy(script, code_hash)
    builders = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, datasets.DatasetBuilder) and obj.__module__ == module.__name__
    ]
    if len(builders) != 1:
        raise TypeError(f"{script} must define exactly one DatasetBuilder subclass, found {len(builders)}")
    return builders[0]


def _import_copy(script: Path, code_hash: str) -> ModuleType:
    """Imports a copy of the script, with its kit beside it, from the modules cache, as `load_dataset` does.

    The builder's name is the module's last dotted part, so cache folders match `load_dataset`'s;
    streaming patches `open` in the modules of the builder's classes, so they must sit in `sys.modules`. The
    copy's package is registered first, with the copy's folder as its path, so that the script's
    ``from ._instruction_kit import ...`` imports the kit copied beside it.
    """
    stem = script.stem
    files = _code_files(script)
    for name in _RESOURCES_BESIDE_SCRIPT:
        if (script.parent / name).is_file():
            files[name] = (script.parent / name).read_bytes()
    _warn_of_old_copies(Path(datasets.config.HF_MODULES_CACHE))
    target_dir = Path(datasets.config.HF_MODULES_CACHE) / MODULES_FOLDER / stem / _content_hash(files)
    _write_once(target_dir, files)
    package = f"instruction_datasets_modules.{stem}.h{code_hash}"
    module_name = f"{package}.{stem}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    _register_package(package, target_dir)
    spec = importlib.util.spec_from_file_location(module_name, target_dir / script.name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    _register_parents(module_name)
    return module


def _register_package(name: str, folder: Path) -> None:
    """Makes ``name`` an importable package whose modules are the files in ``folder`` (and its parents packages)."""
    package = sys.modules.get(name)
    if package is None:
        package = ModuleType(name)
        sys.modules[name] = package
    package.__path__ = [str(folder)]
    package.__package__ = name
    _register_parents(name)


@functools.cache
def _warn_of_old_copies(modules_cache: Path) -> None:
    """Names the module copies of 0.1.0, once: the folder can shadow this package wherever 3.x runs a script."""
    old = modules_cache / OLD_MODULES_FOLDER
    if old.is_dir():
        warnings.warn(
            f"{old} holds module copies of instruction_datasets 0.1.0, which no longer uses them; with datasets "
            f"3.x, `import instruction_datasets` can find that folder instead of this package: delete it",
            stacklevel=2,
        )


def _content_hash(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0{len(files[name])}\0".encode())
        digest.update(files[name])
    return digest.hexdigest()[:16]


def _write_once(folder: Path, files: dict[str, bytes]) -> None:
    """Makes ``folder`` hold ``files``; the folder is named by their content, so it never needs rewriting.

    Other processes may import or read these files at any moment (every rank of a job calls `load()`
    together): each file appears whole, through a rename, and is never truncated, rewritten or removed.
    """
    if all(_holds(folder / name, data) for name, data in files.items()):
        return
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder.parent / f"{folder.name}.lock")):
        for name, data in files.items():
            if _holds(folder / name, data):
                continue
            # open() rather than mkstemp: the copy gets the umask's permissions, so a shared cache stays readable.
            temporary = folder / f".{name}.{uuid.uuid4().hex}.tmp"
            try:
                with open(temporary, "xb") as out:
                    out.write(data)
                os.replace(temporary, folder / name)
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise


def _holds(path: Path, data: bytes) -> bool:
    return path.is_file() and path.read_bytes() == data


def _register_parents(module_name: str) -> None:
    """Makes every dotted prefix of the name an importable package holding the next part.

    `num_proc` pickles the builder with dill, which pickles a module's functions by reference only
    if it can import the module by name; otherwise it copies their globals, and fails.
    """
    parts = module_name.split(".")
    for depth in range(len(parts) - 1, 0, -1):
        parent_name, child = ".".join(parts[:depth]), parts[depth]
        parent = sys.modules.get(parent_name)
        if parent is None:
            parent = ModuleType(parent_name)
            parent.__path__ = []
            parent.__package__ = parent_name
            sys.modules[parent_name] = parent
        setattr(parent, child, sys.modules[".".join(parts[: depth + 1])])


def _data_fingerprint(data_dir: str | os.PathLike | None) -> str:
    """Sizes and modification times of a local data_dir, so edited local files are not served stale."""
    if data_dir is None or "://" in str(data_dir) or not os.path.isdir(data_dir):
        return ""
    entries = []
    for root, _, files in os.walk(data_dir):
        for name in sorted(files):
            stat = os.stat(os.path.join(root, name))
            entries.append(f"{os.path.relpath(os.path.join(root, name), data_dir)}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(sorted(entries))


def load(
    path: str | os.PathLike,
    name: str | None = None,
    *,
    split: str | None = None,
    streaming: bool = False,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    num_proc: int | None = None,
    download_mode: str | None = None,
    verification_mode: str | None = None,
    features: datasets.Features | None = None,
    keep_in_memory: bool | None = None,
    token: bool | str | None = None,
    storage_options: dict | None = None,
    trust_remote_code: bool | None = None,
    **config_kwargs,
):
    """Loads a config of one of our datasets, as ``datasets.load_dataset`` would from its script.

    The keywords ``load_dataset`` takes for a script mean the same here, on every ``datasets`` line, except
    ``revision`` (a ``TypeError``: for ``load_dataset`` it is the revision of a script on the Hub, which 3.x ignores
    for a local script; Align-Anything's ``hub_revision=`` picks the revision of the data).

    Args:
        path: a builder's module name (``"align_anything_instruction"``) or a path to its script.
        name: config name; the builder's default config when omitted.
        split: one split (``"train"``), or all splits as a dict when omitted.
        streaming: return ``IterableDataset``(s) that read as they go, with nothing prepared on disk.
        data_dir: a local copy of the upstream files, read instead of downloading.
        cache_dir: where prepared Arrow files go (``datasets``' default cache when omitted).
        num_proc: processes for preparing (non-streaming only).
        download_mode: ``"reuse_dataset_if_exists"`` (default) or ``"force_redownload"``, as in ``load_dataset``.
        verification_mode: as in ``load_dataset``.
        features: replace the declared ``Features``; every row is cast to them, plain and streaming, as
            ``load_dataset`` casts (a type the values cast to, or a column added as nulls; a missing or renamed
            column fails). A load with other features is prepared in a cache folder of its own.
        keep_in_memory: copy the prepared splits into memory; when omitted, only a dataset smaller than
            ``datasets.config.IN_MEMORY_MAX_SIZE`` is (0, the default, keeps none), as ``load_dataset`` decides.
        token: the Hub token the downloads send (``True``: the saved one); Align-Anything's Hub API calls send it too.
        storage_options: options for the ``fsspec`` file systems the downloads and the cache go through, by
            protocol (``{"https": {"headers": {...}}}``), as in ``load_dataset``.
        trust_remote_code: accepted and ignored, with a warning: load() runs the shipped script itself.
        **config_kwargs: fields of the builder's config (``hub_revision=...``, ``base_url=...``).

    Returns:
        ``DatasetDict``, ``Dataset``, ``IterableDatasetDict`` or ``IterableDataset``, as ``load_dataset`` does.
    """
    script = script_path(path)
    code_hash = _code_hash(script)
    cls = _builder_class(script, code_hash)
    check_keywords(cls, config_kwargs)
    if trust_remote_code is not None:
        warnings.warn(
            f"load() ignores trust_remote_code={trust_remote_code!r}: it is not needed, as load() runs the shipped "
            "script itself (only datasets.load_dataset on 3.x asks for it)",
            stacklevel=2,
        )
    # The datasets version too: 3.x cannot read the dataset_info.json that 4.x+ writes into a shared cache.
    fingerprint = hashlib.sha256(
        f"{code_hash}\n{datasets.__version__}\n{_data_fingerprint(data_dir)}".encode()
    ).hexdigest()[:16]
    builder = cls(
        config_name=name,
        data_dir=os.fspath(data_dir) if data_dir is not None else None,
        cache_dir=os.fspath(cache_dir) if cache_dir is not None else None,
        hash=fingerprint,
        base_path=str(script.parent),
        features=features,
        token=token,
        storage_options=storage_options,
        **config_kwargs,
    )
    if streaming:
        if num_proc is not None:
            raise ValueError("num_proc applies to preparing, not to streaming")
        return builder.as_streaming_dataset(split=split)
    try:
        builder.download_and_prepare(
            download_mode=download_mode,
            verification_mode=verification_mode,
            num_proc=num_proc,
            storage_options=storage_options,
        )
    except DatasetGenerationError as err:
        # `datasets` hides the cause (which names the file and line) behind a generic message: surface it.
        if err.__cause__ is None:
            raise
        raise DatasetGenerationError(f"{err}: {err.__cause__}") from err.__cause__
    if keep_in_memory is None:  # load_dataset's rule: in memory only below datasets.config.IN_MEMORY_MAX_SIZE
        keep_in_memory = is_small_dataset(builder.info.dataset_size)
    return builder.as_dataset(split=split, in_memory=keep_in_memory)


#: What load() itself takes; anything else must be a field of the builder's config.
_LOAD_PARAMETERS = tuple(name for name in inspect.signature(load).parameters if name != "config_kwargs")
#: Config fields that load() sets itself or that only `datasets` uses: never suggested.
_NOT_SUGGESTED = ("name", "data_dir", "data_files", "version", "description")
#: What ``revision=`` is to ``datasets.load_dataset``, and why load() does not take it.
_REVISION = (
    "revision= is datasets.load_dataset's revision of a script or repo on the Hub, which 3.x ignores for a local "
    "script; load() runs the shipped script"
)


def _revision_advice(cls: type[datasets.DatasetBuilder], fields: list[str]) -> str:
    """Why ``revision=`` is refused, and what picks the revision of this builder's data instead."""
    if "hub_revision" in fields:
        return f"did you mean hub_revision=? {_REVISION}, and hub_revision= picks the revision of the data's Hub repo"
    if getattr(cls, "COMMIT", None):
        return f"{_REVISION}, and this dataset's files come from the commit it pins, {cls.COMMIT}"
    return f"{_REVISION}, and this dataset has no revision to pick"


def check_keywords(cls: type[datasets.DatasetBuilder], config_kwargs: dict) -> None:
    """Raises ``TypeError`` for a keyword that is neither a load() parameter nor a field of the builder's config.

    The message names the keyword, suggests the nearest valid one, and lists the config's fields and
    load()'s parameters (``datasets`` would otherwise fail with a dump of the whole config).
    """
    fields = [
        field.name
        for field in dataclasses.fields(cls.BUILDER_CONFIG_CLASS)
        if field.init and field.name not in _NOT_SUGGESTED
    ]
    for key in config_kwargs:
        if key in fields or key in ("version", "description", "data_files"):
            continue
        if key == "revision":
            advice = _revision_advice(cls, fields)
        else:
            nearest = difflib.get_close_matches(key, fields + list(_LOAD_PARAMETERS), n=1, cutoff=0.6)
            advice = f"did you mean {nearest[0]}=?" if nearest else "no field or parameter has a similar name"
        raise TypeError(
            f"load() got an unknown keyword {key!r} ({advice}). "
            f"Fields of {cls.BUILDER_CONFIG_CLASS.__name__}: {', '.join(fields)}; "
            f"load() parameters: {', '.join(_LOAD_PARAMETERS)}"
        )


def sample_dir(script: str, config: str) -> Path:
    """Where the bundled samples for one config live: ``samples/<script>/<config>`` or ``samples/<script>``.

    The samples are package data (``instruction_datasets/samples``), found through `importlib.resources`.
    """
    samples = importlib.resources.files(__package__) / "samples"
    if not isinstance(samples, Path):
        raise FileNotFoundError(f"the bundled samples must be files on disk to be read as a data_dir, not {samples}")
    per_config = samples / script / config
    return per_config if per_config.is_dir() else samples / script
