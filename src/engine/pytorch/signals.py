"""The worker's signals.

SIGTERM and SIGUSR1 ask the run to stop. Until training begins (torch loading, data reading) the
run ends at once; once the training loop runs, the handler only sets `requested` and the loop
writes a checkpoint at the next step boundary, then raises Interrupted (run-end 'interrupted',
exit 0); a second signal before that ends the run at once, without a new checkpoint (a variant
that never returns never reaches a step boundary). Whether a stop was the user's cancel is the
runner's call, not the worker's.

SIGUSR2 prints the Python stack of every thread to stderr (faulthandler) and the run goes on: the
runner's step watchdog sends it before it kills a worker that completes no step, so the stack
shows where the variant was stuck (its file and line)."""

from __future__ import annotations

import faulthandler
import signal
import sys
from typing import Any, IO, Optional

from errors import Interrupted
from events import EventWriter

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


def register_stack_dump(stream: Optional[IO[str]] = None) -> None:
    """SIGUSR2: dump every thread's stack to `stream` (stderr), from the C signal handler, so it
    works while Python code loops or a C call blocks."""
    faulthandler.register(signal.SIGUSR2, file=stream or sys.stderr, all_threads=True, chain=False)


class StopSignals:
    """The SIGTERM/SIGUSR1 handlers and what they asked for."""

    def __init__(self, writer: EventWriter) -> None:
        self.writer = writer
        # The signal's name ('SIGTERM', 'SIGUSR1') once one arrived during training.
        self.requested: Optional[str] = None
        self._deferred = False
        self._pending: Optional[str] = None

    def install(self) -> None:
        self.writer.after_write = self._after_write
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_signal)

    def defer(self) -> None:
        """Training begins: from now on a stop waits for the next step boundary (a second one
        ends the run at once)."""
        self._deferred = True

    def ignore(self) -> None:
        """The run is over: a late signal must not cut the error or run-end line short."""
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        self.writer.after_write = None

    def _on_signal(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if self._deferred and self.requested is None:
            self.requested = name
            return
        # Before training, or a second signal while the first waits for a step boundary (a
        # variant that never returns): end at once, without a checkpoint.
        reason = _second_reason(name, self.requested) if self._deferred else _early_reason(name)
        if self.writer.busy:
            # Let the line being written finish; _after_write raises right after it.
            self._pending = reason
            return
        raise Interrupted(reason)

    def _after_write(self) -> None:
        if self._pending is not None and not self.writer.ended:
            reason, self._pending = self._pending, None
            raise Interrupted(reason)


def _early_reason(name: str) -> str:
    return f"stopped by {name} before training began; no checkpoint written"


def _second_reason(name: str, first: Optional[str]) -> str:
    return f"stopped by {name} while the step after {first} had not ended; no new checkpoint written"
