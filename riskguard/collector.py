"""The cyclic garbage collector paused while one command builds objects that live until it ends, and those
objects left unfreed when the process exits.

A module of its own, importing nothing heavy, so that a command can pause the collector before it imports
the modules it runs.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for one command's imports, evaluation and report, on again after.

    Reading a snapshot and reporting on it builds millions of objects that all stay alive until the command
    ends, and almost none in reference cycles; each full collection walks every one of them, which cost a
    fifth of `check` on a thousand accounts (issue 8).  The modules a command imports are such objects too
    (module, class and function objects, kept to the end): collections during those imports cost a sixth of
    their time.  Reference counting still frees everything else.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


_kept: list[object] = []


def keep_until_exit(*objects: object) -> None:
    """Leave a command's large results to the operating system instead of freeing them object by object.

    Freeing the snapshot, evaluation and report of a thousand accounts (millions of objects, each one
    deallocated in turn) took a tenth of `check`'s run.  The `riskguard` executable ends the process without
    that work once a command has kept its objects here (``riskguard.cli.console``); run in-process (tests,
    embedding), nothing changes but the objects' lifetime.
    """
    _kept.extend(objects)


def objects_kept() -> bool:
    return bool(_kept)
