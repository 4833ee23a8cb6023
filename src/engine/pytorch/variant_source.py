"""Reads and compiles a variant file without importing torch, so that the most common mistake, a
syntax error, is reported within a fraction of a second of the worker starting."""

from __future__ import annotations

import traceback
from types import CodeType

from errors import VARIANT, RunError


def compile_variant(path: str) -> CodeType:
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as e:
        raise RunError(VARIANT, f"{path}: cannot read the variant file ({e.strerror or e})", file=path) from e
    try:
        return compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as e:
        line = e.lineno
        where = f"{path}:{line}" if line else path
        raise RunError(VARIANT, f"{where}: {type(e).__name__}: {e.msg}", file=path, line=line,
                       column=e.offset if e.offset else None,
                       detail="".join(traceback.format_exception_only(type(e), e))) from e
    except ValueError as e:  # e.g. null bytes in the source
        raise RunError(VARIANT, f"{path}: cannot compile: {e}", file=path) from e
