"""Writes the event stream of src/protocol/events.ts: one JSON object per line, flushed, each
with runId and an ISO-8601 time. Non-finite floats never reach the stream as numbers (JSON has
none): they become null. Every event is checked against src/protocol/events.schema.json (the file
the TypeScript validator derives its table from) before it is written: a violation is an engine
bug and raises ValueError (a NaN or Inf float counts as a number there, and is written as null)."""

from __future__ import annotations

import datetime
import json
import math
import threading
from typing import Any, Callable, Dict, IO, List, Optional, Tuple

from errors import RunError
from protocol import EVENTS_SCHEMA, allowed_values

_JSON_TYPES = {"string": (str,), "number": (int, float), "integer": (int,), "boolean": (bool,),
               "object": (dict,), "array": (list, tuple), "null": (type(None),)}


def _field_rules(node: Dict[str, Any]) -> Dict[str, Tuple[bool, Tuple[str, ...], List[str]]]:
    required = set(node.get("required", []))
    rules: Dict[str, Tuple[bool, Tuple[str, ...], List[str]]] = {}
    for name, prop in node.get("properties", {}).items():
        if name == "type":
            continue
        values = allowed_values(prop)
        t = prop.get("type", "string" if values else ())
        types = tuple(t) if isinstance(t, list) else ((t,) if isinstance(t, str) else ())
        rules[name] = (name in required, types, values)
    return rules


# Per event type: field -> (required, JSON types, allowed values).
EVENT_FIELDS = {t: _field_rules(node) for t, node in EVENTS_SCHEMA["$defs"]["events"].items()}


def _is_type(value: Any, t: str) -> bool:
    if isinstance(value, bool) and t != "boolean":
        return False
    return isinstance(value, _JSON_TYPES[t])


def schema_violation(event: Dict[str, Any]) -> Optional[str]:
    """The first way `event` breaks events.schema.json, or None (events.ts validateEvent's rules)."""
    rules = EVENT_FIELDS.get(event.get("type"))  # type: ignore[arg-type]
    if rules is None:
        return f"unknown event type {event.get('type')!r}"
    for name, (required, types, values) in rules.items():
        if name not in event:
            if required:
                return f"{event['type']} event lacks '{name}'"
            continue
        value = event[name]
        if types and not any(_is_type(value, t) for t in types):
            return f"{event['type']} field '{name}' must be {'|'.join(types)}, got {value!r}"
        if values and value not in values:
            return f"{event['type']} field '{name}' must be one of {', '.join(values)}, got {value!r}"
    return None


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
        # Checked before non-finite floats become null: a NaN loss is a number the run must
        # handle (diverged), not a malformed event.
        problem = schema_violation(event)
        if problem is not None:
            raise ValueError(f"the worker built an invalid event: {problem}")
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
