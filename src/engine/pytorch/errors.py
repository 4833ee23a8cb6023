"""RunError: a failure that ends the run with one `error` event (src/protocol/events.schema.json), and
Interrupted, raised when SIGTERM or SIGUSR1 stopped the run (after a checkpoint, once training has
begun): run-end 'interrupted'."""

from __future__ import annotations

from typing import Any, Dict, Optional

from protocol import ERROR_KINDS


def _kind(name: str) -> str:
    """An ErrorKind of events.schema.json; fails at import if the schema lost it."""
    if name not in ERROR_KINDS:
        raise ImportError(f"events.schema.json has no error kind '{name}' (it has {', '.join(ERROR_KINDS)})")
    return name


VARIANT = _kind("variant")
DATA = _kind("data")
DIVERGED = _kind("diverged")
USAGE = _kind("usage")
INTERNAL = _kind("internal")


class RunError(Exception):
    def __init__(
        self,
        kind: str,
        message: str,
        file: Optional[str] = None,
        line: Optional[int] = None,
        column: Optional[int] = None,
        detail: Optional[str] = None,
        epoch: Optional[int] = None,
        step: Optional[int] = None,
    ) -> None:
        # The message goes to a status bar as is: one line.
        one_line = " ".join(str(message).split())
        super().__init__(one_line)
        self.kind = kind
        self.message = one_line
        self.file = file
        self.line = line
        self.column = column
        self.detail = detail
        self.epoch = epoch
        self.step = step

    def event_fields(self) -> Dict[str, Any]:
        fields: Dict[str, Any] = {"kind": self.kind, "message": self.message}
        for name in ("file", "line", "column", "epoch", "step", "detail"):
            value = getattr(self, name)
            if value is not None:
                fields[name] = value
        return fields


class Interrupted(BaseException):
    """SIGTERM or SIGUSR1 stopped the run; `reason` is run-end's one-line reason. A BaseException
    so that a variant's `except Exception` cannot swallow it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
