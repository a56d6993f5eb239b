"""The state handlers of the action plugins, over a stub console (no HTTP)."""
from __future__ import annotations

import pytest

from ansible_collections.ent.pronote.plugins.action.ent_service import ServiceHandler, ServiceState
from ansible_collections.ent.pronote.plugins.action.ent_service_access import AccessHandler, AccessState
from ansible_collections.ent.pronote.plugins.module_utils._access import Rule
from ansible_collections.ent.pronote.plugins.module_utils._engine import ensure
from ansible_collections.ent.pronote.plugins.module_utils._errors import NotFoundError, ValidationError
from ansible_collections.ent.pronote.plugins.module_utils._kdecole import AccessPage, ServicePage, ServiceRow

UAI = "0671234C"
FIELDS = {"sso_type": "SSO Pronote avec CAS", "url": "https://0671234c.index-education.net/pronote/",
          "xiti_type": "Services de vie scolaire", "group": "Scolarité", "show_block": True,
          "block_version": "PRONOTE 2024", "pronote_cas_url": "", "in_service_bar": True, "label": "pronote",
          "anonymous": False}


def service_params(**overrides):
    params = {"state": "present", "code": None, "label": "pronote", "sso_type": "SSO Pronote avec CAS", "url": None,
              "xiti_type": "Services de vie scolaire", "group": "Scolarité", "show_block": True,
              "block_version": None, "pronote_cas_url": "", "in_service_bar": True, "anonymous": False}
    params.update(overrides)
    return params


class StubConsole:
    """The console as a dict of services; records the calls that change something."""

    def __init__(self, rows=(), fields=None, rules=()):
        self.rows = list(rows)
        # each service's form says what its row in the list says
        self.fields = {r.code: dict(fields) if fields else {**FIELDS, "label": r.label, "sso_type": r.sso_type}
                       for r in self.rows}
        self.rules = list(rules)
        self.calls = []

    def list_services(self, uai):
        return list(self.rows)

    def read_service(self, uai, code):
        return ServicePage(uai, code, dict(self.fields[code]), form=None)

    def update_service(self, page, values):
        self.calls.append(("update", page.code, dict(values)))
        self.fields[page.code].update(values)
        return self.read_service(page.uai, page.code)

    def create_service(self, uai, values):
        self.calls.append(("create", dict(values)))
        row = ServiceRow(f"USER_{len(self.rows)}", values["label"], values["sso_type"], False, False)
        self.rows.append(row)
        self.fields[row.code] = {**FIELDS, "block_version": "PRONOTE 2018", **values}
        return self.read_service(uai, row.code)

    def delete_service(self, uai, row):
        self.calls.append(("delete", row.code))
        self.rows.remove(row)

    def read_access(self, uai, code):
        return AccessPage(uai, code, list(self.rules), add_form=None, delete_forms={}, etab_uais={})

    def add_rule(self, page, rule):
        self.calls.append(("add", rule))
        self.rules.append(rule)

    def delete_rule(self, page, rule):
        self.calls.append(("remove", rule))
        self.rules.remove(rule)


PRONOTE = ServiceRow("USER_0", "pronote", "SSO Pronote avec CAS", False, False)
CANTINE = ServiceRow("USER_1", "Cantine", "Pas de SSO ou SSO Standard", False, False)
ABS = ServiceRow("ABS", "Absences", "Pas de SSO ou SSO Standard", False, True)


# --- ent_service --------------------------------------------------------------
def test_service_up_to_date_is_not_changed():
    console = StubConsole([ABS, PRONOTE, CANTINE])
    outcome = ensure(ServiceHandler(console, UAI, service_params()), check_mode=False, backoff=0)
    assert not outcome.changed and console.calls == []


def test_service_update_changes_only_what_differs():
    console = StubConsole([PRONOTE], fields={**FIELDS, "show_block": False, "label": "pronote"})
    outcome = ensure(ServiceHandler(console, UAI, service_params(block_version="2025")), check_mode=False, backoff=0)
    assert outcome.changed
    assert console.calls == [("update", "USER_0", {"show_block": True, "block_version": "PRONOTE 2025"})]
    assert outcome.after.fields["block_version"] == "PRONOTE 2025"
    assert outcome.before.fields["show_block"] is False


def test_service_created_when_missing():
    console = StubConsole([ABS, CANTINE])
    outcome = ensure(ServiceHandler(console, UAI, service_params()), check_mode=False, backoff=0)
    assert outcome.changed and not outcome.before.exists and outcome.after.exists
    (call,) = console.calls
    assert call[0] == "create" and "block_version" not in call[1]
    assert call[1]["url"] == "https://0671234c.index-education.net/pronote/"


def test_service_check_mode_predicts():
    console = StubConsole([PRONOTE], fields={**FIELDS, "label": "Vie scolaire"})
    outcome = ensure(ServiceHandler(console, UAI, service_params(code="USER_0")), check_mode=True, backoff=0)
    assert outcome.changed and console.calls == []
    assert outcome.after == {**FIELDS, "label": "pronote"}


def test_service_absent_deletes_and_then_is_stable():
    console = StubConsole([PRONOTE, CANTINE])
    handler = ServiceHandler(console, UAI, service_params(state="absent"))
    assert ensure(handler, check_mode=False, backoff=0).changed
    assert console.calls == [("delete", "USER_0")]
    assert not ensure(handler, check_mode=False, backoff=0).changed


def test_service_several_candidates_need_a_code():
    console = StubConsole([PRONOTE, ServiceRow("USER_5", "PRONOTE", "Pas de SSO ou SSO Standard", False, False)])
    with pytest.raises(ValidationError, match=r"\(USER_0, USER_5\): say which one to manage with the option code"):
        ServiceHandler(console, UAI, service_params()).read()
    state = ServiceHandler(console, UAI, service_params(code="USER_5")).read()
    assert state.page.code == "USER_5"


def test_service_unknown_code():
    with pytest.raises(NotFoundError, match="Service 'USER_9' does not exist"):
        ServiceHandler(StubConsole([PRONOTE]), UAI, service_params(code="USER_9")).read()
    assert ServiceHandler(StubConsole([PRONOTE]), UAI, service_params(code="USER_9", state="absent")).read() == \
        ServiceState()


def test_service_internal_code_is_refused():
    with pytest.raises(ValidationError, match="internal service"):
        ServiceHandler(StubConsole([ABS]), UAI, service_params(code="ABS")).read()


# --- ent_service_access -------------------------------------------------------
def access_params(**overrides):
    params = {"code": None, "label": "pronote", "exclusive": False, "profiles": None, "rules": None}
    params.update(overrides)
    return params


def test_access_adds_missing_rules():
    console = StubConsole([PRONOTE], rules=[Rule("Elève")])
    handler = AccessHandler(console, UAI, access_params(profiles=["Elève", "Parent"]), check_mode=False)
    outcome = ensure(handler, check_mode=False, backoff=0)
    assert outcome.changed and console.calls == [("add", Rule("Parent"))]
    assert outcome.plan == ([Rule("Parent")], [])
    assert not ensure(handler, check_mode=False, backoff=0).changed


def test_access_exclusive_removes_first():
    console = StubConsole([PRONOTE], rules=[Rule("Elève"), Rule("Inspecteur", "ent")])
    handler = AccessHandler(console, UAI, access_params(profiles=["Parent"], exclusive=True), check_mode=False)
    ensure(handler, check_mode=False, backoff=0)
    assert console.calls == [("remove", Rule("Elève")), ("remove", Rule("Inspecteur", "ent")),
                             ("add", Rule("Parent"))]
    assert console.rules == [Rule("Parent")]


def test_access_without_service():
    console = StubConsole([CANTINE])
    with pytest.raises(NotFoundError, match="declare it first with ent.pronote.ent_service"):
        AccessHandler(console, UAI, access_params(profiles=["Elève"]), check_mode=False).read()
    handler = AccessHandler(console, UAI, access_params(profiles=["Elève"]), check_mode=True)
    assert handler.read() == AccessState()
    outcome = ensure(handler, check_mode=True, backoff=0)
    assert outcome.changed and outcome.after.rules == [Rule("Elève")] and console.calls == []


def test_access_with_code_does_not_list_services():
    console = StubConsole([PRONOTE], rules=[Rule("Elève")])
    console.list_services = None  # would fail if called
    state = AccessHandler(console, UAI, access_params(code="USER_0", profiles=["Elève"]), False).read()
    assert state.code == "USER_0" and state.rules == [Rule("Elève")]


# --- two runs that raced to create the service ---------------------------------
COPY = ServiceRow("USER_9", "pronote", "SSO Pronote avec CAS", False, False)


def test_exact_copies_left_by_a_race_are_repaired_keeping_the_first():
    console = StubConsole([ABS, PRONOTE, CANTINE, COPY])
    handler = ServiceHandler(console, UAI, service_params())
    before = handler.read()
    assert before.row is PRONOTE and [r.code for r in before.duplicates] == ["USER_9"]
    outcome = ensure(handler, check_mode=False, backoff=0)
    assert outcome.changed and console.calls == [("delete", "USER_9")]
    assert outcome.plan == {"_duplicates": ["USER_9"]}
    # and the next run has nothing to do
    again = ensure(ServiceHandler(console, UAI, service_params()), check_mode=False, backoff=0)
    assert not again.changed and console.calls == [("delete", "USER_9")]


def test_a_race_copy_is_only_predicted_in_check_mode():
    console = StubConsole([PRONOTE, COPY])
    outcome = ensure(ServiceHandler(console, UAI, service_params()), check_mode=True, backoff=0)
    assert outcome.changed and console.calls == []


def test_two_services_that_differ_are_not_a_race_and_stay_refused():
    console = StubConsole([PRONOTE, COPY])
    console.fields["USER_9"]["xiti_type"] = "Autre"  # made by hand, or by another tool: not provably ours
    with pytest.raises(ValidationError, match=r"Several services of 0671234C look like PRONOTE \(USER_0, USER_9\)"):
        ensure(ServiceHandler(console, UAI, service_params()), check_mode=False, backoff=0)
    assert console.calls == []


def test_copies_are_never_removed_when_a_code_is_given():
    console = StubConsole([PRONOTE, COPY])
    outcome = ensure(ServiceHandler(console, UAI, service_params(code="USER_9")), check_mode=False, backoff=0)
    assert not outcome.changed and console.calls == []


class RacingConsole(StubConsole):
    """Another controller's run creates its copy while this one creates its own."""

    def create_service(self, uai, values):
        mine = super().create_service(uai, values)
        self.rows.append(ServiceRow("USER_99", values["label"], values["sso_type"], False, False))
        self.fields["USER_99"] = dict(self.fields[mine.code])
        return mine


def test_the_create_path_reads_again_and_removes_the_other_runs_copy():
    console = RacingConsole([ABS, CANTINE])
    outcome = ensure(ServiceHandler(console, UAI, service_params(block_version="2018")), check_mode=False,
                     backoff=0)
    assert outcome.changed and len(outcome.retried) == 1 and "at the same time" in outcome.retried[0]
    assert [c[0] for c in console.calls] == ["create", "delete"] and console.calls[1] == ("delete", "USER_99")
    assert sum(1 for r in console.rows if r.sso_type == "SSO Pronote avec CAS") == 1


class VanishingConsole(StubConsole):
    """Another run removes the listed service before this one reads it."""

    def read_service(self, uai, code):
        if code in self.gone:
            raise NotFoundError(f"Service inconnu : {code}")
        return super().read_service(uai, code)


def test_a_service_removed_by_another_run_between_list_and_read_is_read_again():
    from ansible_collections.ent.pronote.plugins.module_utils._errors import TransientError

    console = VanishingConsole([PRONOTE, COPY])
    console.gone = {"USER_0"}
    with pytest.raises(TransientError, match="removed while it was being read"):
        ServiceHandler(console, UAI, service_params()).read()


def test_racing_runs_all_keep_the_oldest_copy_whatever_the_list_order():
    console = StubConsole([COPY, PRONOTE])  # USER_9 listed before USER_0
    before = ServiceHandler(console, UAI, service_params()).read()
    assert before.row.code == "USER_0" and [r.code for r in before.duplicates] == ["USER_9"]
