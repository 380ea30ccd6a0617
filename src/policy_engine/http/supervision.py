"""Workers die with their parent: a worker whose supervisor was killed (kill -9, OOM) must not
keep the port as an orphan. uvicorn's supervisor replaces a worker that dies; this is the
other direction."""

import ctypes
import logging
import multiprocessing
import os
import signal

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a worker process: SIGTERM (a graceful stop) when the parent dies. Linux only; a no-op
    in a process that is not a multiprocessing child (a single-process server)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    except (OSError, AttributeError) as exc:
        log.warning("workers will not follow their parent's death: %s", exc)
        return
    if os.getppid() != parent.pid:  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)
