"""Writes the event stream of src/protocol/events.ts: one JSON object per line, flushed, each
with runId and an ISO-8601 time. Non-finite floats never reach the stream as numbers (JSON has
none): they become null."""

from __future__ import annotations

import datetime
import json
import math
import threading
from typing import Any, Callable, Dict, IO, Optional

from errors import RunError


def iso_now() -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def finite_or_none(value: Any) -> Any:
    """Replaces NaN/Inf floats anywhere in a JSON-like value by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


class EventWriter:
    """The worker's only writer of stdout. Enforces the stream's shape: at most one `error`,
    nothing after `run-end`."""

    def __init__(self, run_id: str, stream: IO[str]) -> None:
        self.run_id = run_id
        self._stream = stream
        self._lock = threading.Lock()
        self.error_sent = False
        self.ended = False
        # A SIGTERM that arrives while a line is being written waits for the line to finish.
        self.busy = False
        self.after_write: Optional[Callable[[], None]] = None

    def emit(self, type_: str, **fields: Any) -> None:
        if self.ended:
            return
        event: Dict[str, Any] = {"type": type_, "runId": self.run_id, "time": iso_now()}
        event.update(fields)
        line = json.dumps(finite_or_none(event), allow_nan=False, separators=(",", ":"))
        with self._lock:
            self.busy = True
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            finally:
                self.busy = False
        if type_ == "run-end":
            self.ended = True
        hook = self.after_write
        if hook is not None:
            hook()

    def log(self, message: str, level: str = "info") -> None:
        self.emit("log", level=level, message=message)

    def error(self, err: RunError) -> None:
        if self.error_sent:
            return
        self.error_sent = True
        self.emit("error", **err.event_fields())
