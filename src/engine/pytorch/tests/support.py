"""Helpers shared by the worker's unit tests: the repository's templates."""

from __future__ import annotations

import importlib.util
import itertools
import os
from types import ModuleType


_counter = itertools.count()


def repo_root() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    d = here
    while True:
        if os.path.isdir(os.path.join(d, "templates", "regularizers")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            raise RuntimeError(f"no templates/ folder above {here}")
        d = parent


def template_path(kind: str, name: str) -> str:
    return os.path.join(repo_root(), "templates", kind, name)


def load_template(kind: str, name: str) -> ModuleType:
    path = template_path(kind, name)
    spec = importlib.util.spec_from_file_location(f"template_{next(_counter)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
