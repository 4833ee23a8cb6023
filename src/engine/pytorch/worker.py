"""Regbench's PyTorch worker. The parent runs `python3 -u worker.py`, writes one line of JSON (the
RunSpec of src/protocol/benchmarks.ts) to stdin and closes it; the worker answers on stdout with
the event stream of src/protocol/events.ts (hello, run-start, progress/epoch/log, at most one
error, run-end) and exits 0 when the run completed or was interrupted, 1 otherwise. Everything else,
including a variant's print() calls, goes to stderr. SIGTERM or SIGUSR1 during training writes a
checkpoint at the next step boundary and ends the run as 'interrupted' (before training: at once);
SIGUSR2 prints every thread's stack to stderr and the run goes on (signals.py)."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from typing import Any, Dict, IO, Optional

# The worker's modules sit beside this file; Python puts that folder first on sys.path.
from errors import INTERNAL, USAGE, Interrupted, RunError
from events import EventWriter
from protocol import EXIT_COMPLETED, EXIT_NOT_COMPLETED, PROTOCOL_VERSION
from signals import StopSignals, register_stack_dump
from threads import prefer_passive_waits
from variant_source import compile_variant


def take_stdout() -> IO[str]:
    """Keeps the real stdout for events and points fd 1 and sys.stdout at stderr, so nothing else
    (a variant's print, a C library's printf) can break the JSON-lines stream."""
    events_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(events_fd, "w", encoding="utf-8", buffering=1)


def read_spec() -> Dict[str, Any]:
    line = sys.stdin.readline()
    if not line.strip():
        raise RunError(USAGE, "no run spec on stdin: write one line of JSON (the RunSpec) and close stdin")
    try:
        spec = json.loads(line)
    except ValueError as e:
        raise RunError(USAGE, f"the run spec on stdin is not JSON: {e}") from e
    if not isinstance(spec, dict):
        raise RunError(USAGE, "the run spec on stdin must be a JSON object")
    return spec


def main() -> int:
    events_out = take_stdout()
    register_stack_dump(sys.stderr)
    started = time.perf_counter()
    spec: Dict[str, Any] = {}
    spec_error: Optional[RunError] = None
    try:
        spec = read_spec()
    except RunError as e:
        spec_error = e
    writer = EventWriter(str(spec.get("runId", "unknown")), events_out)
    stop = StopSignals(writer)
    stop.install()

    # Imported after the stdout swap: importing torch can print, and must not delay hello.
    state: Any = None
    status, reason = "failed", None
    try:
        writer.emit("hello", protocol=PROTOCOL_VERSION, pid=os.getpid())
        if spec_error is not None:
            raise spec_error
        if isinstance(spec.get("variantPath"), str):
            compile_variant(os.path.abspath(spec["variantPath"]))
        prefer_passive_waits()
        import train  # noqa: E402  (torch loads here)

        state = train.RunState()
        train.run(spec, writer, state, stop=stop)
        status = "completed"
    except Interrupted as e:
        stop.ignore()
        status, reason = "interrupted", e.reason
    except RunError as e:
        stop.ignore()
        writer.error(e)
        status = "diverged" if e.kind == "diverged" else "failed"
        reason = e.message
    except KeyboardInterrupt:
        stop.ignore()
        status, reason = "cancelled", "interrupted"
    except Exception as e:  # an engine bug: report it rather than die without run-end
        stop.ignore()
        detail = traceback.format_exc()
        sys.stderr.write(detail)
        writer.error(RunError(INTERNAL, f"PyTorch worker error: {type(e).__name__}: {e}", detail=detail))
        status, reason = "failed", f"internal error: {type(e).__name__}: {e}"

    stop.ignore()
    end: Dict[str, Any] = {
        "status": status,
        "bestTestAcc": getattr(state, "best_test_acc", None),
        "finalTestAcc": getattr(state, "final_test_acc", None),
        "epochsCompleted": getattr(state, "epochs_completed", 0),
        "seconds": round(time.perf_counter() - started, 3),
    }
    if reason:
        end["reason"] = " ".join(reason.split())
    writer.emit("run-end", **end)
    events_out.flush()
    return EXIT_COMPLETED if status in ("completed", "interrupted") else EXIT_NOT_COMPLETED


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    # Skip interpreter teardown (thread pools, CUDA contexts): the stream is complete.
    os._exit(code)
