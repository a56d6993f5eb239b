"""An import cut in the middle: the next attempt goes on where the console stands, and a run that gives up
presses « Interrompre » (issue 13, §3)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from ansible_collections.ent.pronote.plugins.module_utils._errors import SessionExpiredError, TransientError
from ansible_collections.ent.pronote.plugins.module_utils._import import ImportHandler, ImportPlan, ImportState
from ansible_collections.ent.pronote.plugins.module_utils._kdecole import ImportClosedError, ImportPage

UAI = "0671234C"


class Console:
    """An import of six steps; each step of ``fail_at`` fails once (a step named three times fails three
    times), with an HTTP 500 after the console saved it, or before when not ``saved``."""

    def __init__(self, fail_at: tuple[int, ...] = (), closed: bool = False, saved: bool = True) -> None:
        self.step = 0
        self.fail_at = list(fail_at)
        self.closed = closed
        self.saved = saved
        self.calls: list[str] = []

    def _page(self) -> ImportPage:
        if self.step > 6:
            return ImportPage(UAI, "https://ent.example/import/1/fin", 0, "Import terminé")
        return ImportPage(UAI, f"https://ent.example/import/1/etape/{self.step}", self.step, f"Étape {self.step}",
                          form=SimpleNamespace())

    def start_import(self, uai, mode, filename, content):
        self.calls.append("upload")
        self.step = 1
        return self._page(), None

    def validate_step(self, page, logins):
        self.calls.append(f"step {page.step}")
        assert page.step == self.step, "a step validated twice"
        if page.step in self.fail_at:
            self.fail_at.remove(page.step)
            self.step += self.saved
            raise TransientError("HTTP 500")
        self.step += 1
        return self._page()

    def read_import(self, uai, url):
        self.calls.append("where")
        if self.closed:
            raise ImportClosedError("no longer in progress")
        return self._page()

    def interrupt_import(self, page):
        self.calls.append(f"interrupt at {page.step}")

    def read_identifiers(self, uai):
        return {}


def handler(console: Console) -> ImportHandler:
    h = ImportHandler(console, UAI, SimpleNamespace(people=[]), b"<xml/>", "x.xml", "complet")
    h.match = SimpleNamespace(pairs=lambda: {})
    return h


PLAN = ImportPlan({}, 0, 0, 0)
#: a step that fails more often in a row than the handler resumes in place: the attempt fails
STUCK = (3, 3, 3)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    from ansible_collections.ent.pronote.plugins.module_utils import _engine

    slept: list[float] = []
    monkeypatch.setattr(_engine.time, "sleep", slept.append)
    return slept


@pytest.mark.parametrize("saved", [True, False])
def test_a_failed_step_goes_on_in_place_from_where_the_console_stands(saved, no_sleep):
    console = Console(fail_at=(3,), saved=saved)
    h = handler(console)
    h.apply(ImportState(), PLAN)
    again = ["step 3"] if not saved else []
    assert console.calls == ["upload", "step 1", "step 2", "step 3", "where", *again, "step 4", "step 5", "step 6"]
    assert h.resumed == 1 and h.current is None and len(no_sleep) == 1


def test_with_no_retries_a_failed_step_fails_the_attempt(no_sleep):
    """``retries: 0``: one fault fails, as the module's option says; nothing is resumed in place."""
    console = Console(fail_at=(3,), saved=False)
    h = handler(console)
    h.retries = 0
    with pytest.raises(TransientError):
        h.apply(ImportState(), PLAN)
    assert console.calls == ["upload", "step 1", "step 2", "step 3"] and not no_sleep and h.progress() == 3


def test_a_retry_goes_on_from_where_the_console_stands():
    console = Console(fail_at=STUCK, saved=False)
    h = handler(console)
    with pytest.raises(TransientError):
        h.apply(ImportState(), PLAN)
    assert h.progress() == 3  # where the attempt got: ensure counts getting further as progress
    h.apply(ImportState(), PLAN)
    assert console.calls == ["upload", "step 1", "step 2", "step 3", "where", "step 3", "where", "step 3",
                             "where", "step 3", "step 4", "step 5", "step 6"]
    assert h.resumed == 3 and h.current is None and h.progress() is None


@pytest.mark.parametrize("expiries", [2, 3])
def test_an_upload_sent_to_the_cas_goes_again(expiries, no_sleep):
    """The console session ended before the upload was posted (nothing imported): uploaded again, twice at most
    in place, then the attempt fails for the ensure cycle."""
    console = Console()
    upload = console.start_import
    left = [expiries]

    def expiring(*args):
        if left[0]:
            left[0] -= 1
            console.calls.append("sent to the CAS")
            raise SessionExpiredError("the console session expired")
        return upload(*args)

    console.start_import = expiring
    h = handler(console)
    if expiries == 3:
        with pytest.raises(SessionExpiredError):
            h.apply(ImportState(), PLAN)
        assert h.current is None and not h.uploaded and "upload" not in console.calls
    else:
        h.apply(ImportState(), PLAN)
        assert h.uploaded and console.calls[:4] == ["sent to the CAS", "sent to the CAS", "upload", "step 1"]
    assert console.calls.count("sent to the CAS") == expiries and len(no_sleep) == 2


def test_an_import_the_console_closed_is_started_again():
    console = Console(fail_at=(2,))
    h = handler(console)
    console.closed = True
    with pytest.raises(TransientError):
        h.apply(ImportState(), PLAN)
    h.apply(ImportState(), PLAN)
    assert console.calls[:4] == ["upload", "step 1", "step 2", "where"] and console.calls[4] == "upload"
    assert h.resumed == 0


def test_giving_up_presses_interrompre_once():
    console = Console(fail_at=(4, 4, 4), saved=False)
    h = handler(console)
    with pytest.raises(TransientError):
        h.apply(ImportState(), PLAN)
    assert h.interrupt() is True
    assert console.calls[-1] == "interrupt at 4"
    assert h.interrupt() is False  # nothing left in progress


def test_nothing_to_interrupt_when_the_import_finished_or_never_started():
    console = Console()
    h = handler(console)
    assert h.interrupt() is False
    h.apply(ImportState(), PLAN)
    assert h.interrupt() is False and not any(c.startswith("interrupt") for c in console.calls)


# --- a mark while an import is « en cours », for a run that was killed -----------------------------------
def test_the_mark_is_set_while_the_import_runs_and_cleared_when_it_ends(tmp_path):
    from ansible_collections.ent.pronote.plugins.module_utils._marks import import_mark

    console = Console(fail_at=STUCK, saved=False)
    h = handler(console)
    h.mark = import_mark("https://ent.example/", UAI, str(tmp_path))
    with pytest.raises(TransientError):
        h.apply(ImportState(), PLAN)
    assert h.mark.exists()  # a SIGKILL here leaves it for the next run
    h.apply(ImportState(), PLAN)
    assert not h.mark.exists()


def test_an_interrupt_that_fails_leaves_the_mark_for_the_next_run(tmp_path):
    from ansible_collections.ent.pronote.plugins.module_utils._marks import import_mark

    console = Console(fail_at=(2, 2, 2), saved=False)
    h = handler(console)
    h.mark = import_mark("https://ent.example/", UAI, str(tmp_path))
    with pytest.raises(TransientError):
        h.apply(ImportState(), PLAN)

    def refused(page):
        raise TransientError("HTTP 500")

    console.interrupt_import = refused
    assert h.interrupt() is False and h.mark.exists()


def test_a_marked_import_is_interrupted_first_and_said(monkeypatch, tmp_path):
    from ansible_collections.ent.pronote.plugins.module_utils import _import as imp
    from ansible_collections.ent.pronote.plugins.module_utils._marks import import_mark

    monkeypatch.setenv("ENT_PRONOTE_CACHE_DIR", str(tmp_path))
    calls = []

    class Left:
        base = "https://ent.example/"

        def interrupt_left_import(self, uai):
            calls.append(uai)
            return 4

    assert imp._interrupt_left_import(Left(), UAI, 2) == [] and calls == []  # no mark: not even a request
    import_mark(Left.base, UAI).set()
    assert imp._interrupt_left_import(Left(), UAI, 2) == [4] and calls == [UAI]
    assert not import_mark(Left.base, UAI).exists()
