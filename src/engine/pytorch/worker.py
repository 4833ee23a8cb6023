"""Regbench's PyTorch worker. The parent runs `python3 -u worker.py`, writes one line of JSON (the
RunSpec of src/protocol/benchmarks.ts) to stdin and closes it; the worker answers on stdout with
the event stream of src/protocol/events.ts (hello, run-start, progress/epoch/log, at most one
error, run-end) and exits 0 when the run completed, 1 otherwise. Everything else, including a
variant's print() calls, goes to stderr. SIGTERM ends the run at once as 'cancelled'."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from typing import Any, Dict, IO, Optional

# The worker's modules sit beside this file; Python puts that folder first on sys.path.
from errors import INTERNAL, USAGE, Cancelled, RunError
from events import EventWriter
from protocol import EXIT_COMPLETED, EXIT_NOT_COMPLETED, PROTOCOL_VERSION
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


def install_sigterm(writer: EventWriter) -> None:
    pending = {"cancel": False}

    def on_sigterm(signum: int, frame: Any) -> None:
        if writer.busy:
            # Let the line being written finish; emit() raises right after it.
            pending["cancel"] = True
            return
        raise Cancelled()

    def after_write() -> None:
        if pending["cancel"] and not writer.ended:
            pending["cancel"] = False
            raise Cancelled()

    writer.after_write = after_write
    signal.signal(signal.SIGTERM, on_sigterm)


def ignore_sigterm() -> None:
    """The run is over: a late SIGTERM must not cut the error or run-end line short."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def main() -> int:
    events_out = take_stdout()
    started = time.perf_counter()
    spec: Dict[str, Any] = {}
    spec_error: Optional[RunError] = None
    try:
        spec = read_spec()
    except RunError as e:
        spec_error = e
    writer = EventWriter(str(spec.get("runId", "unknown")), events_out)
    install_sigterm(writer)

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
        train.run(spec, writer, state)
        status = "completed"
    except Cancelled:
        ignore_sigterm()
        status, reason = "cancelled", "stopped by SIGTERM"
    except RunError as e:
        ignore_sigterm()
        writer.error(e)
        status = "diverged" if e.kind == "diverged" else "failed"
        reason = e.message
    except KeyboardInterrupt:
        ignore_sigterm()
        status, reason = "cancelled", "interrupted"
    except Exception as e:  # an engine bug: report it rather than die without run-end
        ignore_sigterm()
        detail = traceback.format_exc()
        sys.stderr.write(detail)
        writer.error(RunError(INTERNAL, f"PyTorch worker error: {type(e).__name__}: {e}", detail=detail))
        status, reason = "failed", f"internal error: {type(e).__name__}: {e}"

    ignore_sigterm()
    end: Dict[str, Any] = {
        "status": status,
        "bestTestAcc": getattr(state, "best_test_acc", None),
        "finalTestAcc": getattr(state, "final_test_acc", None),
        "epochsCompleted": getattr(state, "epochs_completed", 0),
        "seconds": round(time.perf_counter() - started, 3),
    }
    if reason:
        end["reason"] = " ".join(reason.split())
    writer.after_write = None
    writer.emit("run-end", **end)
    events_out.flush()
    return EXIT_COMPLETED if status == "completed" else EXIT_NOT_COMPLETED


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    # Skip interpreter teardown (thread pools, CUDA contexts): the stream is complete.
    os._exit(code)
