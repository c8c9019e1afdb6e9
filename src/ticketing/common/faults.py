"""Crash injection for the fault tests (tests/faults): off unless TICKETING_FAULT names a point.

TICKETING_FAULT is one of POINTS; the process then SIGKILLs itself there, as a power cut
would, with no cleanup. With TICKETING_FAULT_ONCE=<file> only the process that creates
that file dies, so the one its supervisor restarts runs clean; the file holds the instant
of the kill (nanoseconds since the epoch), for a test to place it among other events.
Nothing sets these outside the fault tests.
"""

import logging
import os
import signal
import time

log = logging.getLogger(__name__)

POINTS = (
    "crash_before_publish",  # outbox relay: the row is committed, not yet sent
    "crash_after_publish",  # outbox relay: JetStream acked it, the row is not yet marked sent
    "crash_before_ack",  # listener: the effect is committed, the message not yet acked
)


def crash_point(point: str) -> None:
    if os.environ.get("TICKETING_FAULT") != point:
        return
    if once := os.environ.get("TICKETING_FAULT_ONCE"):
        try:
            marker = os.open(once, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(marker, str(time.time_ns()).encode())
        os.close(marker)
    log.error("fault injected: %s; pid %s kills itself", point, os.getpid())
    os.kill(os.getpid(), signal.SIGKILL)
