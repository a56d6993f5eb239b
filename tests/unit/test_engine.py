"""_engine.ensure: read, plan, apply, retry on transient failures."""
from __future__ import annotations

import pytest

from ansible_collections.ent.pronote.plugins.module_utils import _engine
from ansible_collections.ent.pronote.plugins.module_utils._engine import ensure
from ansible_collections.ent.pronote.plugins.module_utils._errors import (
    AccessDeniedError,
    SessionExpiredError,
    TransientError,
    ValidationError,
)


class Handler:
    """A remote counter brought to ``target``; failures are scripted per call."""

    def __init__(self, state, target, read_failures=(), apply_failures=(), apply_effect_before_failure=False):
        self.state = state
        self.target = target
        self.read_failures = list(read_failures)
        self.apply_failures = list(apply_failures)
        self.apply_effect_before_failure = apply_effect_before_failure
        self.calls = []

    def read(self):
        self.calls.append("read")
        if self.read_failures:
            error = self.read_failures.pop(0)
            if error:
                raise error
        return self.state

    def plan(self, before):
        self.calls.append("plan")
        return self.target - before

    def predict(self, before, plan):
        self.calls.append("predict")
        return before + plan

    def apply(self, before, plan):
        self.calls.append("apply")
        if self.apply_failures:
            error = self.apply_failures.pop(0)
            if error:
                if self.apply_effect_before_failure:
                    self.state = before + plan
                raise error
        self.state = before + plan
        return self.state


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    slept = []
    monkeypatch.setattr(_engine.time, "sleep", slept.append)
    monkeypatch.setattr(_engine.random, "uniform", lambda low, high: 1.0)  # the jitter's middle
    return slept


def test_nothing_to_do_is_not_changed_and_applies_nothing():
    handler = Handler(5, 5)
    outcome = ensure(handler, check_mode=False)
    assert (outcome.changed, outcome.before, outcome.after, outcome.plan, outcome.attempts, outcome.retried) == (
        False, 5, 5, 0, 1, [])
    assert "apply" not in handler.calls and "predict" not in handler.calls


def test_change_is_applied():
    handler = Handler(2, 5)
    outcome = ensure(handler, check_mode=False)
    assert (outcome.changed, outcome.before, outcome.after, outcome.plan, outcome.attempts) == (True, 2, 5, 3, 1)
    assert handler.calls == ["read", "plan", "apply"]
    assert handler.state == 5


def test_check_mode_predicts_and_applies_nothing():
    handler = Handler(2, 5)
    outcome = ensure(handler, check_mode=True)
    assert (outcome.changed, outcome.before, outcome.after, outcome.plan) == (True, 2, 5, 3)
    assert "apply" not in handler.calls
    assert handler.state == 2


def test_check_mode_with_nothing_to_do():
    handler = Handler(5, 5)
    outcome = ensure(handler, check_mode=True)
    assert not outcome.changed and "predict" not in handler.calls


def test_transient_error_during_apply_then_success(no_sleep):
    handler = Handler(2, 5, apply_failures=[SessionExpiredError("session expired")])
    outcome = ensure(handler, check_mode=False, attempts=3, backoff=0.5)
    assert outcome.changed
    assert outcome.before == 2 and outcome.after == 5
    assert outcome.attempts == 2
    assert outcome.retried == ["session expired"]
    assert handler.calls == ["read", "plan", "apply", "read", "plan", "apply"]
    assert no_sleep == [0.5]


def test_retry_after_a_partial_apply_reports_the_first_before():
    # The first attempt changed the remote object and then failed; the second finds nothing left to do.
    handler = Handler(2, 5, apply_failures=[TransientError("HTTP 502")], apply_effect_before_failure=True)
    outcome = ensure(handler, check_mode=False)
    assert outcome.changed
    assert (outcome.before, outcome.after, outcome.attempts) == (2, 5, 2)
    assert handler.calls.count("apply") == 1


def test_retry_that_finds_nothing_changed_is_not_changed():
    handler = Handler(5, 5, read_failures=[TransientError("timeout")])
    outcome = ensure(handler, check_mode=False)
    assert not outcome.changed and outcome.retried == ["timeout"] and outcome.attempts == 2


def test_transient_error_while_reading_is_retried():
    handler = Handler(2, 5, read_failures=[TransientError("HTTP 503"), TransientError("HTTP 503")])
    outcome = ensure(handler, check_mode=False, attempts=3)
    assert outcome.changed and outcome.attempts == 3 and outcome.retried == ["HTTP 503", "HTTP 503"]
    assert outcome.before == 2


def test_gives_up_after_n_attempts_with_a_clear_message(no_sleep):
    handler = Handler(2, 5, apply_failures=[TransientError("HTTP 500")] * 10)
    with pytest.raises(TransientError) as err:
        ensure(handler, check_mode=False, attempts=3, backoff=0.25)
    assert str(err.value) == "HTTP 500 (gave up after 3 attempts)"
    assert handler.calls.count("apply") == 3
    assert no_sleep == [0.25, 0.5]


def test_backoff_is_capped(no_sleep):
    handler = Handler(2, 5, read_failures=[TransientError("x")] * 10)
    with pytest.raises(TransientError):
        ensure(handler, check_mode=False, attempts=6, backoff=1.0)
    assert no_sleep == [1.0, 2.0, 3.0, 3.0, 3.0]


def test_single_attempt_raises_the_original_error():
    error = TransientError("HTTP 504")
    handler = Handler(2, 5, apply_failures=[error])
    with pytest.raises(TransientError) as err:
        ensure(handler, check_mode=False, attempts=1)
    assert err.value is error


@pytest.mark.parametrize("error", [ValidationError("refused", ["x"]), AccessDeniedError("no"), KeyError("k"),
                                   ValueError("bad")])
def test_non_transient_errors_propagate_immediately(error, no_sleep):
    handler = Handler(2, 5, apply_failures=[error])
    with pytest.raises(type(error)) as err:
        ensure(handler, check_mode=False, attempts=4)
    assert err.value is error
    assert handler.calls == ["read", "plan", "apply"]
    assert no_sleep == []


def test_attempts_below_one_still_tries_once():
    handler = Handler(2, 5)
    assert ensure(handler, check_mode=False, attempts=0).changed


class Stepper(Handler):
    """Each apply moves the counter one step towards the target, then fails ``failing`` times in all."""

    def __init__(self, state, target, failing):
        super().__init__(state, target)
        self.failing = failing

    def apply(self, before, plan):
        self.calls.append("apply")
        self.state = before + 1
        if self.failing:
            self.failing -= 1
            raise TransientError("HTTP 500")
        return self.state


def test_failures_that_make_progress_do_not_use_up_the_attempts(no_sleep):
    # A long plan cut by a 500 after every step: 9 failures in all, but each attempt gets one step further.
    handler = Stepper(0, 10, failing=9)
    outcome = ensure(handler, check_mode=False, attempts=3, backoff=0.25)
    assert outcome.changed and handler.state == 10
    assert (outcome.before, outcome.after, outcome.attempts) == (0, 10, 10)
    assert len(outcome.retried) == 9
    # The back-off starts again after each step forward.
    assert no_sleep == [0.25] * 9


def test_progress_then_failures_without_progress_give_up(no_sleep):
    handler = Stepper(0, 10, failing=2)
    handler.read_failures = [None, None] + [TransientError("HTTP 503")] * 10
    with pytest.raises(TransientError) as err:
        ensure(handler, check_mode=False, attempts=3)
    # Attempt 2 sees the step of attempt 1 (progress, count back to 1), then two failed reads end it.
    assert str(err.value) == "HTTP 503 (gave up after 4 attempts)"
    assert handler.state == 2


def test_a_server_that_always_fails_after_a_step_is_bounded(no_sleep):
    handler = Stepper(0, 1000, failing=10_000)
    with pytest.raises(TransientError) as err:
        ensure(handler, check_mode=False, attempts=2)
    assert str(err.value) == "HTTP 500 (gave up after 16 attempts)"
    assert handler.calls.count("apply") == 16


class Walker(Handler):
    """An import: each attempt gets through some of its steps, then fails; the state read changes only
    when the last step is validated (the console binds every pair at the end)."""

    def __init__(self, steps_per_attempt, last=6):
        super().__init__(0, 1)
        self.step, self.last, self.steps_per_attempt = 0, last, list(steps_per_attempt)

    def progress(self):
        return self.step

    def apply(self, before, plan):
        self.calls.append("apply")
        self.step += self.steps_per_attempt.pop(0) if self.steps_per_attempt else 0
        if self.step < self.last:
            raise TransientError(f"HTTP 500 at step {self.step + 1}")
        self.state = 1
        return self.state


def test_a_handler_that_gets_further_without_changing_the_state_progresses(no_sleep):
    # Six failures, each one step further: more than the attempts, but every one got somewhere.
    handler = Walker([0, 1, 1, 1, 1, 1, 1])
    outcome = ensure(handler, check_mode=False, attempts=2)
    assert outcome.changed and handler.state == 1 and len(outcome.retried) == 6


def test_a_handler_stuck_at_one_step_gives_up(no_sleep):
    handler = Walker([3])
    with pytest.raises(TransientError) as err:
        ensure(handler, check_mode=False, attempts=3)
    assert str(err.value) == "HTTP 500 at step 4 (gave up after 3 attempts)"
    assert handler.calls.count("apply") == 3


# --- retrying: a read outside the cycle ---------------------------------------------
def test_retrying_reads_again_after_a_transient_failure(monkeypatch):
    from ansible_collections.ent.pronote.plugins.module_utils import _engine

    monkeypatch.setattr(_engine.time, "sleep", lambda _s: None)
    calls = []

    def read():
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("HTTP 503")
        return "pages"

    assert _engine.retrying(read, attempts=4) == "pages" and len(calls) == 3


def test_retrying_gives_up_and_says_so(monkeypatch):
    from ansible_collections.ent.pronote.plugins.module_utils import _engine

    monkeypatch.setattr(_engine.time, "sleep", lambda _s: None)

    def read():
        raise TransientError("HTTP 503")

    with pytest.raises(TransientError, match=r"HTTP 503 \(gave up after 3 attempts\)"):
        _engine.retrying(read, attempts=3)
    with pytest.raises(TransientError, match=r"^HTTP 503$"):
        _engine.retrying(read, attempts=1)


def test_retrying_does_not_retry_what_is_not_transient():
    from ansible_collections.ent.pronote.plugins.module_utils import _engine

    calls = []

    def read():
        calls.append(1)
        raise ValidationError("refused")

    with pytest.raises(ValidationError):
        _engine.retrying(read, attempts=5)
    assert len(calls) == 1


def test_the_pause_has_jitter_within_half_either_side(monkeypatch, no_sleep):
    import random

    monkeypatch.setattr(_engine.random, "uniform", random.Random(5).uniform)  # the real jitter, seeded
    slept = no_sleep
    for _ in range(200):
        _engine.pause(1.0, 2)
    assert all(1.0 <= s <= 3.0 for s in slept) and len(set(slept)) > 100
