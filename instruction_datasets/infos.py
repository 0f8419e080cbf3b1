"""`dataset_infos.json`, generated from the builders.

It records what the code declares (description, features, homepage, license, citation, version per
config; a config name two datasets share is qualified by the script's name) and nothing measured: recorded split
sizes would be verified against whatever a user passes as `data_dir`, so sizes that were never measured on the real
files must not be written.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

from .loading import PROJECT_ROOT, SCRIPTS, available_scripts, builder_class, declared_info

INFOS_PATH = PROJECT_ROOT / "dataset_infos.json"


class NotASourceCheckout(RuntimeError):
    """`dataset_infos.json` belongs beside the scripts of a source checkout, not into an installed package."""


def in_source_checkout(root: Path = PROJECT_ROOT) -> bool:
    """Whether the package runs from a source checkout (or unpacked sdist), where the scripts sit beside it.

    Installed from a wheel, the folder above the package is site-packages: no file there is ours to write.
    """
    return (root / "pyproject.toml").is_file() and all((root / f"{name}.py").is_file() for name in SCRIPTS)


def _require_checkout(path: Path) -> None:
    if path == INFOS_PATH and not in_source_checkout():
        raise NotASourceCheckout(
            f"{PROJECT_ROOT} is not a source checkout of instruction_datasets (no pyproject.toml beside the "
            "scripts): dataset_infos.json is generated in a checkout, run this there"
        )


def _legacy_features(feature: Any) -> Any:
    """Serialises features the way `datasets` 3.x writes them, which every later version also reads.

    `datasets` 4+ writes a list of features as ``{"_type": "List", "feature": ...}``, a form 3.x cannot
    read; ``[feature]`` means the same to both.
    """
    if isinstance(feature, dict):
        if feature.get("_type") == "List" and feature.get("length", -1) == -1:
            return [_legacy_features(feature["feature"])]
        return {key: _legacy_features(value) for key, value in feature.items()}
    if isinstance(feature, list):
        return [_legacy_features(value) for value in feature]
    return feature


def dataset_infos() -> dict[str, dict[str, Any]]:
    """Per config name, the info that the builders declare, in `dataset_infos.json` form.

    A config name that two datasets use is written once per dataset, as ``<script>/<config>``: `datasets` 3.x
    finds no entry for either then, and the builder declares the whole info itself (the kit's builders also ignore
    an entry that names another builder).
    """
    builders = {script: builder_class(script) for script in available_scripts()}
    uses = collections.Counter(config.name for cls in builders.values() for config in cls.BUILDER_CONFIGS)
    infos: dict[str, dict[str, Any]] = {}
    for script, cls in builders.items():
        for config in cls.BUILDER_CONFIGS:
            info = declared_info(cls, config.name)
            infos[config.name if uses[config.name] == 1 else f"{script}/{config.name}"] = {
                "description": info.description,
                "citation": info.citation,
                "homepage": info.homepage,
                "license": info.license,
                "features": _legacy_features(info.features.to_dict()),
                "builder_name": script,
                "dataset_name": script,
                "config_name": config.name,
                "version": {
                    "version_str": str(config.version),
                    "major": config.version.major,
                    "minor": config.version.minor,
                    "patch": config.version.patch,
                },
            }
    return infos


def render() -> str:
    """The text that `dataset_infos.json` must hold."""
    return json.dumps(dataset_infos(), indent=2, ensure_ascii=False) + "\n"


def is_current(path: Path = INFOS_PATH) -> bool:
    """Whether the file holds what `render()` gives; raises `NotASourceCheckout` outside a checkout."""
    _require_checkout(path)
    return path.is_file() and path.read_text(encoding="utf-8") == render()


def write(path: Path = INFOS_PATH) -> bool:
    """Writes the file; returns whether its content changed. Raises `NotASourceCheckout` outside a checkout."""
    _require_checkout(path)
    text = render()
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True
