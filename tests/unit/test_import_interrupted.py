"""An import cut in the middle: the next attempt goes on where the console stands, and a run that gives up
presses « Interrompre » (issue 13, §3)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from ansible_collections.ent.pronote.plugins.module_utils._errors import TransientError
from ansible_collections.ent.pronote.plugins.module_utils._import import ImportHandler, ImportPlan, ImportState
from ansible_collections.ent.pronote.plugins.module_utils._kdecole import ImportClosedError, ImportPage

UAI = "0671234C"


class Console:
    """An import of six steps; ``fail_at`` steps fail once each after the console saved them (HTTP 500)."""

    def __init__(self, fail_at: tuple[int, ...] = (), closed: bool = False) -> None:
        self.step = 0
        self.fail_at = list(fail_at)
        self.closed = closed
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
        self.step += 1
        if page.step in self.fail_at:
            self.fail_at.remove(page.step)
            raise TransientError("HTTP 500")
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


def test_a_retry_goes_on_from_where_the_console_stands():
    console = Console(fail_at=(3,))
    h = handler(console)
    with pytest.raises(TransientError):
        h.apply(ImportState(), PLAN)
    h.apply(ImportState(), PLAN)
    assert console.calls == ["upload", "step 1", "step 2", "step 3", "where", "step 4", "step 5", "step 6"]
    assert h.resumed == 1 and h.current is None


def test_an_import_the_console_closed_is_started_again():
    console = Console(fail_at=(2,))
    h = handler(console)
    with pytest.raises(TransientError):
        h.apply(ImportState(), PLAN)
    console.closed = True
    h.apply(ImportState(), PLAN)
    assert console.calls[:4] == ["upload", "step 1", "step 2", "where"] and console.calls[4] == "upload"
    assert h.resumed == 0


def test_giving_up_presses_interrompre_once():
    console = Console(fail_at=(4,))
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

    console = Console(fail_at=(3,))
    h = handler(console)
    h.mark = import_mark("https://ent.example/", UAI, str(tmp_path))
    with pytest.raises(TransientError):
        h.apply(ImportState(), PLAN)
    assert h.mark.exists()  # a SIGKILL here leaves it for the next run
    h.apply(ImportState(), PLAN)
    assert not h.mark.exists()


def test_an_interrupt_that_fails_leaves_the_mark_for_the_next_run(tmp_path):
    from ansible_collections.ent.pronote.plugins.module_utils._marks import import_mark

    console = Console(fail_at=(2,))
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
