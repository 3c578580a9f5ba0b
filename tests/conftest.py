"""Test set-up shared by the whole suite: host-free packages importable by file location, pack root untouched.

Tests write `from pipelines.x import y`, `from apps.render import main` and `from scripts.comfy_host import ComfyHost`.
The repository root is not put on sys.path for that: the root `__init__.py` and `nodes/` are the pack as the host imports it (relative
imports, `comfy` at import time), and a top-level `nodes` would shadow ComfyUI's own module. Only the packages
named below are registered, each from its own folder.
"""

import importlib.machinery
import importlib.util
import sys
import types
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST_FREE_PACKAGES = ("pipelines", "apps", "scripts")


def _import_package_by_location(name: str) -> None:
    """Register `REPO_ROOT/name` as the top-level package `name` (a namespace package when it has no __init__)."""
    folder = REPO_ROOT / name
    init = folder / "__init__.py"
    if init.is_file():
        spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(folder)])
    else:
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [str(folder)]
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    if spec.loader is not None:
        spec.loader.exec_module(module)


for _name in HOST_FREE_PACKAGES:
    if str(REPO_ROOT / _name) not in getattr(sys.modules.get(_name), "__path__", []):
        _import_package_by_location(_name)


def _keep_pytest_from_importing_the_pack_root() -> None:
    """Give pytest an empty stand-in for the root `__init__.py`, which it would import as package `<folder>`.

    pytest 8+ collects the rootdir as a Package and imports its `__init__.py` under the folder's name when that
    name is an identifier (e.g. a clone in `main/`); the pack then imports `comfy` and collection fails. For a
    folder like `ComfyUI-GatedPortrait` pytest imports it as a plain module, which the root's `if __package__:`
    guard keeps harmless. pytest reuses a module already in sys.modules for an `__init__.py`.
    """
    name = REPO_ROOT.name
    if name.isidentifier() and name not in sys.modules and importlib.util.find_spec(name) is None:
        stand_in = types.ModuleType(name, "Stand-in for the pack root, which only the ComfyUI host imports.")
        stand_in.__file__ = str(REPO_ROOT / "__init__.py")
        stand_in.__path__ = []
        sys.modules[name] = stand_in


_keep_pytest_from_importing_the_pack_root()


@pytest.fixture(autouse=True, scope="session")
def single_thread():
    """Tiny models run fastest on one thread (and far faster than two threads on a busy 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
