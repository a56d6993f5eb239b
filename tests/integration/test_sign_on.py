"""The whole rentrée on a fresh region, then sign-on for real, and each FAQ cause found by cas_sso_check."""
from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import lxml.html
import pytest
import requests
import yaml

from _harness import ADMIN_PASSWORD, ROOT, Sandbox, run_playbook, run_tasks, running_sandbox

RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
PAGES = {"Elève": ("eleve.html", "Espace Elèves"), "Parent": ("parent.html", "Espace Parents"),
         "Enseignant": ("professeur.html", "Espace Professeurs"), "Personnel": ("viescolaire.html", "Espace Vie scolaire")}


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path_factory.mktemp("sign-on"), seed=42, etabs=6) as box:
        yield box


@pytest.fixture(scope="module")
def after_rentree(region: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """The region once ``rentree.yml`` ran (checked by the first test)."""
    tmp = tmp_path_factory.mktemp("rentree")
    first = run_playbook(region, tmp, ROOT / "playbooks" / "rentree.yml")
    assert first.rc == 0, first.stdout[-6000:]
    region.first_run = first  # type: ignore[attr-defined]
    return region


def changed(stdout: str) -> dict[str, int]:
    return {m[1]: int(m[3]) for m in RECAP.finditer(stdout)}


def test_rentree_then_nothing_to_change_and_check_mode_changes_nothing(after_rentree: Sandbox, tmp_path: Path):
    first = after_rentree.first_run  # type: ignore[attr-defined]
    text = " ".join(first.stdout.split())
    assert "Connexions PRONOTE testées" in text and "0 en échec" in text, text[-3000:]
    assert sum(changed(first.stdout).values()) > 0
    second = run_playbook(after_rentree, tmp_path, ROOT / "playbooks" / "rentree.yml")
    assert second.rc == 0, second.stdout[-4000:]
    assert all(n == 0 for n in changed(second.stdout).values()), second.stdout[-4000:]
    before = after_rentree.snapshot()
    check = run_playbook(after_rentree, tmp_path, ROOT / "playbooks" / "rentree.yml", check=True)
    assert check.rc == 0, check.stdout[-4000:]
    assert all(n == 0 for n in changed(check.stdout).values()), check.stdout[-4000:]
    assert after_rentree.snapshot() == before


def test_check_mode_on_a_fresh_region_changes_nothing(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path):
    with running_sandbox(tmp_path_factory.mktemp("fresh"), seed=42, etabs=6) as box:
        before = box.snapshot()
        check = run_playbook(box, tmp_path, ROOT / "playbooks" / "rentree.yml", check=True)
        assert check.rc == 0, check.stdout[-6000:]
        assert box.snapshot() == before


# --- a real browser ------------------------------------------------------------------------

def browser_sign_on(box: Sandbox, uai: str, profile: str, login: str) -> tuple[int, str, str]:
    """Open the espace as the ENT's tile does, sign in at the CAS, follow every redirect: (status, h1, user)."""
    page, _ = PAGES[profile]
    url = urljoin(box.group_vars(box.group_of(uai))["pronote_root"], f"{uai.lower()}/pronote/{page}")
    with requests.Session() as http:
        http.trust_env = False
        http.verify = box.ca
        answer = http.get(url)
        doc = lxml.html.document_fromstring(answer.content)
        form = doc.get_element_by_id("fm1")
        data = {i.get("name"): i.get("value", "") for i in form.iter("input") if i.get("name")}
        data.update(username=login, password=ADMIN_PASSWORD)
        landing = http.post(urljoin(answer.url, form.get("action")), data=data)
    doc = lxml.html.document_fromstring(landing.content)
    h1 = doc.xpath("string(//h1)").strip()
    user = doc.xpath("string(//*[@id='utilisateur'])").strip()
    return landing.status_code, h1, user


def accounts_of(box: Sandbox, uai: str) -> dict[str, dict]:
    data = yaml.safe_load((box.inventory / "host_vars" / f"{uai}.yml").read_text())
    return {a["profile"]: a for a in data["pronote_sso_test_accounts"]}


def test_pupil_teacher_and_parent_sign_on_into_their_espace(after_rentree: Sandbox):
    uai = sorted(after_rentree.hosts())[0]
    for profile in ("Elève", "Enseignant", "Parent"):
        account = accounts_of(after_rentree, uai)[profile]
        status, h1, user = browser_sign_on(after_rentree, uai, profile, account["login"])
        assert (status, h1) == (200, PAGES[profile][1]), (profile, status, h1)
        assert user == account["name"]


def parent_in_two_etablissements(box: Sandbox) -> tuple[str, list[str]]:
    """An ENT parent with identifiers imported in two établissements of the region."""
    db = sqlite3.connect(f"file:{box.state_dir / 'sandbox.db'}?mode=ro", uri=True)
    try:
        row = db.execute(
            "SELECT u.login, group_concat(e.uai) FROM ent_identifiers i JOIN users u ON u.id = i.user_id"
            " JOIN etabs e ON e.id = i.etab_id WHERE u.profile = 'Parent' GROUP BY u.id"
            " HAVING count(DISTINCT i.etab_id) = 2 ORDER BY u.login LIMIT 1").fetchone()
    finally:
        db.close()
    assert row, "the seed has no parent with children in two établissements of one ENT"
    return row[0], sorted(row[1].split(","))


def test_a_parent_with_children_in_two_etablissements_signs_on_into_both(after_rentree: Sandbox):
    login, uais = parent_in_two_etablissements(after_rentree)
    for uai in uais:
        status, h1, user = browser_sign_on(after_rentree, uai, "Parent", login)
        assert (status, h1) == (200, "Espace Parents"), (uai, status, h1)
        assert user


# --- each FAQ cause, on one établissement and nowhere else -----------------------------------

def sso_task(accounts: list[dict] | None = None, host: str = "") -> dict:
    """The check with each host's test accounts, or ``accounts`` instead for ``host``."""
    chosen = "pronote_sso_test_accounts"
    if accounts is not None:
        chosen = f"({json.dumps(accounts, ensure_ascii=False)}) if inventory_hostname == '{host}' else pronote_sso_test_accounts"
    return {"ent.pronote.cas_sso_check": {
        "uai": "{{ inventory_hostname }}", "pronote_root": "{{ pronote_root }}", "ca_path": "{{ ent_ca_path }}",
        "cas_url": "{{ ent_cas_url }}", "accounts": "{{ " + chosen + " }}"}}


def codes(result: dict) -> dict[str, str]:
    return {c["profile"]: c["code"] for c in result["checks"]}


def truth(box: Sandbox, uai: str) -> dict[str, dict]:
    return json.loads(box.cli("truth", "--uai", uai).stdout)


def ident_of(box: Sandbox, uai: str, login: str) -> str:
    return next(ident for ident, v in truth(box, uai).items() if v["login"] == login)


def test_a_healthy_region_raises_no_alarm(after_rentree: Sandbox, tmp_path: Path):
    run = run_tasks(after_rentree, tmp_path, [sso_task()])
    for uai in after_rentree.hosts():
        result = run.result(uai)
        assert not result.get("failed") and result["ok"] == len(result["checks"]) > 0, result


#: the causes PRONOTE.net finds after validating the ticket, also with the CAS answering in the other form
AFTER_VALIDATION = ["sans_idpronote", "identification_impossible", "compte_test", "url_cas"]


@pytest.mark.parametrize(("cause", "form"), [(cause, "elements") for cause in (
    "base_non_publiee", "cas_inactif", "url_cas", "espace_non_publie", "espace_sans_delegation",
    "base_introuvable", "sans_idpronote", "identification_impossible", "acces_espace_refuse", "compte_test",
    "mauvaise_personne",
)] + [(cause, "name-value") for cause in AFTER_VALIDATION])
def test_each_faq_cause_is_found_on_its_etablissement_only(after_rentree: Sandbox, tmp_path: Path, cause: str,
                                                            form: str):
    """``form``: how the ENT's CAS writes the attributes PRONOTE.net validates the ticket for
    (``<cas:idPronote>`` or ``<cas:attribute name= value=>``): the same codes either way."""
    box = after_rentree
    uai, other = sorted(box.hosts())[1], sorted(box.hosts())[2]
    slug = box.group_of(uai).removeprefix("ent_")
    accounts = accounts_of(box, uai)
    pupil, parent = accounts["Elève"], accounts["Parent"]
    wanted = {"Elève": cause}  # the profiles expected to fail; the others must pass
    setup, undo = [], []
    db_undo = None
    overrides: list[dict] | None = None
    if cause == "base_non_publiee":
        setup, undo = ["--arreter"], ["--publier"]
        wanted = dict.fromkeys(accounts, cause)
    elif cause == "cas_inactif":
        show = json.loads(box.cli("pronote-base", "--uai", uai, "--show").stdout)
        setup, undo = ["--sans-cas"], ["--cas-url", show["cas"]["url"]]
        wanted = dict.fromkeys(accounts, cause)
    elif cause == "url_cas":
        show = json.loads(box.cli("pronote-base", "--uai", uai, "--show").stdout)
        setup, undo = ["--cas-url", "https://cas.monbureaunumerique.fr"], ["--cas-url", show["cas"]["url"]]
        wanted = dict.fromkeys(accounts, cause)
    elif cause == "espace_non_publie":
        setup, undo = ["--espace", "Espace Elèves=off"], ["--espace", "Espace Elèves=on"]
    elif cause == "espace_sans_delegation":
        setup, undo = ["--delegation", "Espace Elèves=Aucune"], ["--delegation", "Espace Elèves=CAS"]
    elif cause == "base_introuvable":
        setup, undo = ["--racine", "PronoteNet"], ["--racine", "Pronote"]
        wanted = dict.fromkeys(accounts, cause)
    elif cause == "sans_idpronote":
        ident = ident_of(box, uai, pupil["login"])
        db_undo = remove_ent_identifier(box, ident)
    elif cause == "identification_impossible":
        ident = ident_of(box, uai, pupil["login"])
        setup, undo = ["--identifiant-cas", f"{ident}=quelqu.un.autre"], ["--identifiant-cas", f"{ident}={pupil['login']}"]
    elif cause == "acces_espace_refuse":
        ident = ident_of(box, uai, parent["login"])
        setup, undo = ["--acces-parents", f"{ident}=off"], ["--acces-parents", f"{ident}=on"]
        wanted = {"Parent": cause}
    elif cause == "compte_test":
        overrides = [{**a, "password": "pas-le-bon"} if a["profile"] == "Elève" else a for a in accounts.values()]
    elif cause == "mauvaise_personne":
        overrides = [{**a, "name": "QUELQU'UN Autre"} if a["profile"] == "Elève" else a for a in accounts.values()]
    if setup:
        box.cli("pronote-base", "--uai", uai, *setup)
    box.cli("cas-attributes", "--project", slug, "--form", form)
    try:
        run = run_tasks(box, tmp_path, [sso_task(overrides, uai)], hosts=f"{uai}:{other}")
        result = run.result(uai)
        assert result["failed"] is True, result
        expected = {profile: wanted.get(profile, "ok") for profile in codes(result)}
        assert codes(result) == expected, result
        bad = next(c for c in result["checks"] if c["code"] == cause)
        assert bad["cause"] and bad["fix"]
        dumped = json.dumps(result)
        assert "ST-" not in dumped and ADMIN_PASSWORD not in dumped and "pas-le-bon" not in dumped
        healthy = run.result(other)
        assert not healthy.get("failed") and set(codes(healthy).values()) == {"ok"}, healthy
    finally:
        box.cli("cas-attributes", "--project", slug, "--form", "elements")
        if undo:
            box.cli("pronote-base", "--uai", uai, *undo)
        if db_undo:
            db_undo()


def control(box: Sandbox, path: str, body: dict) -> dict:
    token = (box.state_dir / "control-token").read_text().strip()
    answer = requests.post(box.url + "_sandbox/" + path, json=body, headers={"X-Sandbox-Token": token},
                           verify=box.ca, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_cas_that_does_not_answer_pronote_net_is_cas_injoignable(after_rentree: Sandbox, tmp_path: Path):
    """The ENT's CAS answers the browser, slowly, and PRONOTE.net gives up waiting for its validation
    (« … (NETWORK_ERROR) »): every account fails with cas_injoignable, not ticket_invalide."""
    box = after_rentree
    uai = sorted(box.hosts())[1]
    control(box, "settings", {"cas_validation_timeout_s": 0.1})
    control(box, "faults", {"latency_ms": 400})
    try:
        run = run_tasks(box, tmp_path, [sso_task()], hosts=uai)
    finally:
        control(box, "faults", {"reset": True})
        control(box, "settings", {"cas_validation_timeout_s": 5.0})
    result = run.result(uai)
    assert result["failed"] is True, result
    assert set(codes(result).values()) == {"cas_injoignable"}, result
    bad = result["checks"][0]
    assert "n'a pas pu faire valider le ticket" in bad["cause"] and bad["fix"]
    assert "ST-" not in json.dumps(result)
    # back to normal, the same accounts sign on
    again = run_tasks(box, tmp_path, [sso_task()], hosts=uai).result(uai)
    assert not again.get("failed") and set(codes(again).values()) == {"ok"}, again


def remove_ent_identifier(box: Sandbox, ident: str):
    """Take an imported identifier out of the ENT (as if never imported); return what puts it back."""
    db = sqlite3.connect(box.state_dir / "sandbox.db")
    try:
        row = db.execute("SELECT * FROM ent_identifiers WHERE ident = ?", (ident,)).fetchone()
        columns = [d[0] for d in db.execute("SELECT * FROM ent_identifiers LIMIT 0").description]
        with db:
            db.execute("DELETE FROM ent_identifiers WHERE ident = ?", (ident,))
    finally:
        db.close()

    def restore() -> None:
        again = sqlite3.connect(box.state_dir / "sandbox.db")
        try:
            with again:
                again.execute(f"INSERT INTO ent_identifiers ({', '.join(columns)}) VALUES "
                              f"({', '.join('?' for _ in columns)})", row)
        finally:
            again.close()
    return restore
