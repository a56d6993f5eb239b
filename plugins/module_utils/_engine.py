"""One "ensure state" flow for every module: read, compare, change, retry.

A module describes its remote object with a :class:`StateHandler`; the
engine reads the state before, asks for a plan, applies it unless in check
mode, and retries the whole cycle on a transient failure (server error,
timeout, expired session). Because the plan is recomputed from a fresh read
on every attempt, a retry never repeats work already done: a run cut in the
middle is finished by the next attempt, or by the next run.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from ansible_collections.ent.pronote.plugins.module_utils._errors import TransientError

S = TypeVar("S")
P = TypeVar("P")
T = TypeVar("T")


class StateHandler(Protocol[S, P]):
    """The remote object a module manages."""

    def read(self) -> S:
        """The current state."""

    def plan(self, before: S) -> P:
        """What to change; a falsy plan means nothing to do."""

    def predict(self, before: S, plan: P) -> S:
        """The state once ``plan`` is applied (check mode, diff)."""

    def apply(self, before: S, plan: P) -> S:
        """Apply ``plan``; return the state read back afterwards."""


@dataclass
class Outcome(Generic[S, P]):
    changed: bool
    before: S
    after: S
    plan: P
    attempts: int = 1
    retried: list[str] = field(default_factory=list)


def ensure(handler: StateHandler[S, P], check_mode: bool, attempts: int = 4, backoff: float = 0.25) -> Outcome[S, P]:
    """Bring the remote object to the desired state (or predict it in check mode).

    ``attempts`` bounds the failures in a row that made no progress. An
    attempt that changed the remote object before failing (a long plan cut by
    a 500 in its middle) does not use up the budget: the next read finds a
    smaller plan, so the run converges however long the plan is, as long as
    each attempt gets somewhere. A handler may say where an attempt got
    without changing the state read (``progress()``, such as the step an
    import reached before the console binds its pairs at the end): getting
    further counts as progress too. A hard ceiling of ``attempts * 8`` cycles
    still bounds a server that keeps failing after some progress.
    """
    attempts = max(1, attempts)
    progress: Callable[[], Any] = getattr(handler, "progress", lambda: None)
    first_before: Any = _UNSET
    previous: Any = _UNSET
    retried: list[str] = []
    in_a_row = 0
    cycle = 0
    while True:
        cycle += 1
        before: Any = _UNSET
        try:
            before = handler.read()
            if first_before is _UNSET:
                first_before = before
            todo = handler.plan(before)
            if not todo:
                # Nothing (left) to do: changed only if an earlier attempt changed something.
                return Outcome(bool(retried) and before != first_before, first_before, before, todo, cycle, retried)
            if check_mode:
                return Outcome(True, before, handler.predict(before, todo), todo, cycle, retried)
            after = handler.apply(before, todo)
            return Outcome(True, first_before, after, todo, cycle, retried)
        except TransientError as exc:
            reached = (before, progress()) if before is not _UNSET else _UNSET
            progressed = reached is not _UNSET and previous is not _UNSET and reached != previous
            in_a_row = 1 if progressed else in_a_row + 1
            if reached is not _UNSET:
                previous = reached
            if in_a_row >= attempts or cycle >= attempts * 8:
                if retried:
                    raise TransientError(f"{exc} (gave up after {cycle} attempts)") from None
                raise
            retried.append(str(exc))
            pause(backoff, in_a_row)


def pause(backoff: float, in_a_row: int) -> None:
    """Wait before the next attempt: ``backoff`` × 2^(n-1), at most 3 s, with ±50 % jitter so that runs
    and workers that failed together do not come back together."""
    time.sleep(min(backoff * 2 ** (in_a_row - 1), 3.0) * random.uniform(0.5, 1.5))


def retrying(read: Callable[[], T], attempts: int = 4, backoff: float = 0.25) -> T:
    """``read()``, retried as the ensure cycle is on a transient failure (an expired session, a server
    error that outlived the HTTP layer's retries): for reads made outside a cycle."""
    attempts = max(1, attempts)
    for attempt in range(1, attempts + 1):
        try:
            return read()
        except TransientError as exc:
            if attempt == attempts and attempts == 1:
                raise
            if attempt == attempts:
                raise TransientError(f"{exc} (gave up after {attempts} attempts)") from None
            pause(backoff, attempt)
    raise AssertionError("unreachable")  # pragma: no cover


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


_UNSET = _Unset()
