"""diagnose.yml on a region whose bases are kept well: nothing found; then each FAQ cause, set up in the
sandbox on one établissement, found there with its code and nowhere else; and the report of the run."""
from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import lxml.html
import pytest
import yaml

from _harness import ADMIN_PASSWORD, ROOT, Sandbox, run_playbook, run_tasks, running_sandbox

DIAGNOSE = ROOT / "playbooks" / "diagnose.yml"


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """Three établissements whose PRONOTE bases are clean, after a whole rentrée."""
    with running_sandbox(tmp_path_factory.mktemp("diagnose"), seed=7, etabs=3) as box:
        for uai in box.hosts():
            box.cli("pronote-accounts", "--uai", uai, "--nettoyer")
            export(box, uai)
        rentree = run_playbook(box, tmp_path_factory.mktemp("rentree"), ROOT / "playbooks" / "rentree.yml",
                               "-e", "ent_identifiers_force=true")
        assert rentree.rc == 0, rentree.stdout[-6000:]
        yield box


def export(box: Sandbox, uai: str) -> None:
    """What the school's PRONOTE exports today, where the inventory takes it from."""
    box.cli("export", "--uai", uai, "--out", str(box.state_dir / "identifiants" / f"{uai}.xml"))


def diagnose(box: Sandbox, tmp: Path, *args: str) -> dict:
    """Run diagnose.yml; return the report's JSON, after checking the run and the files written."""
    run = run_playbook(box, tmp, DIAGNOSE, *args)
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    report_dir = box.state_dir / "rapports"
    data = json.loads((report_dir / "rapport-diagnostic.json").read_text(encoding="utf-8"))
    failed = [(e["uai"], e["failure"]) for e in data["etablissements"] if e["status"] == "failed"]
    assert not failed, (failed, run.stdout[-4000:])
    assert run.rc == 0, run.stdout[-4000:]
    return data


def codes_by_uai(data: dict) -> dict[str, set[str]]:
    return {e["uai"]: {f["code"] for f in e["findings"]} for e in data["etablissements"]}


def test_a_healthy_region_has_no_finding_and_its_report_says_so(region: Sandbox, tmp_path: Path):
    data = diagnose(region, tmp_path)
    assert codes_by_uai(data) == {uai: set() for uai in region.hosts()}, data["findings"]
    assert data["summary"]["findings"]["total"] == 0 and data["summary"]["total"] == len(region.hosts())
    page = lxml.html.parse(str(region.state_dir / "rapports" / "rapport-diagnostic.html")).getroot()
    rows = page.xpath("//table[@id='etablissements']/tbody/tr")
    assert sorted(r.get("data-uai") for r in rows) == sorted(region.hosts())
    # every sign-on of the sample was made and succeeded
    assert all(e["sign_on"] and e["sign_on"]["failed"] == 0 and e["sign_on"]["ok"] > 0
               for e in data["etablissements"]), data["etablissements"]


# --- each cause, on one établissement -----------------------------------------------------------

def ident_of(box: Sandbox, uai: str, *, category: str, avoid: set[str] = frozenset()) -> str:
    """An identifier of that category (file element name) in the base, not one of the test accounts."""
    truth = json.loads(box.cli("truth", "--uai", uai).stdout)
    return next(ident for ident, v in sorted(truth.items())
                if v["category"] == category and v["login"] and v["login"] not in avoid)


def sso_accounts(box: Sandbox, uai: str) -> list[dict]:
    return yaml.safe_load((box.inventory / "host_vars" / f"{uai}.yml").read_text())["pronote_sso_test_accounts"]


def service_task(**options) -> dict:
    return {"ent.pronote.ent_service": {"uai": "{{ inventory_hostname }}", "pronote_root": "{{ pronote_root }}",
                                        "pronote_ca_path": "{{ pronote_ca_path }}", "allow_unsafe": True,
                                        "block_version": "auto", **options}}


def setup(box: Sandbox, tmp: Path, uai: str, cause: str) -> Callable[[], None]:
    """Make ``cause`` true on ``uai``; return what undoes it."""
    logins = {a["login"] for a in sso_accounts(box, uai)}

    def base(*args: str, undo: tuple[str, ...]) -> Callable[[], None]:
        box.cli("pronote-base", "--uai", uai, *args)
        return lambda: box.cli("pronote-base", "--uai", uai, *undo)

    def accounts(*args: str) -> Callable[[], None]:
        box.cli("pronote-accounts", "--uai", uai, *args)
        export(box, uai)

        def undo() -> None:
            box.cli("pronote-accounts", "--uai", uai, "--nettoyer")
            export(box, uai)
        return undo

    def service(**options) -> Callable[[], None]:
        run = run_tasks(box, tmp, [service_task(**options)], hosts=uai)
        assert run.result(uai).get("changed"), run.result(uai)
        return lambda: run_tasks(box, tmp, [service_task()], hosts=uai)

    cas = json.loads(box.cli("pronote-base", "--uai", uai, "--show").stdout)["cas"]["url"]
    if cause == "version_bloc":
        return service(block_version="PRONOTE 2023")
    if cause == "type_sso":
        return service(sso_type="Pas de SSO ou SSO Standard")
    if cause == "url_cas_pronote_net":
        return service(pronote_cas_url="https://cas.monbureaunumerique.fr/")
    if cause == "service_anonyme":
        return service(anonymous=True)
    if cause == "profil_sans_acces":
        access = {"profiles": ["Elève", "Enseignant", "Personnel"], "exclusive": True}
        run_tasks(box, tmp, [service_task(access=access)], hosts=uai)
        return lambda: run_tasks(box, tmp, [service_task(access={"profiles": ["Elève", "Parent", "Enseignant",
                                                                                  "Personnel"]})], hosts=uai)
    if cause == "espace_non_publie":
        return base("--espace", "Espace Parents=off", undo=("--espace", "Espace Parents=on"))
    if cause == "espace_sans_delegation":
        return base("--delegation", "Espace Elèves=Aucune", undo=("--delegation", "Espace Elèves=CAS"))
    if cause == "cas_inactif":
        return base("--sans-cas", undo=("--cas-url", cas))
    if cause == "url_cas":
        return base("--cas-url", "https://cas.monbureaunumerique.fr", undo=("--cas-url", cas))
    if cause == "racine":
        return base("--racine", "PronoteNet", undo=("--racine", "Pronote"))
    if cause == "base_non_publiee":
        return base("--arreter", undo=("--publier",))
    if cause == "parents_sans_acces":
        ident = ident_of(box, uai, category="responsables", avoid=logins)
        return accounts_then(box, uai, ("pronote-base", "--uai", uai, "--acces-parents", f"{ident}=off"))
    if cause == "doublons_pronote":
        return accounts("--dupliquer", ident_of(box, uai, category="enseignants", avoid=logins))
    if cause == "eleves_sortis":
        return accounts("--sortie", f"{ident_of(box, uai, category='eleves', avoid=logins)}=2026-10-16")
    if cause == "identifiant_cas_change":
        ident = ident_of(box, uai, category="enseignants", avoid=logins)
        return accounts_then(box, uai, ("pronote-base", "--uai", uai, "--identifiant-cas", f"{ident}=ancien.login"))
    if cause == "responsables_non_reconnus":
        return accounts("--responsables-inconnus", "40")
    if cause == "fichier_autre_etablissement":
        other = next(h for h in sorted(box.hosts()) if h != uai)
        target = box.state_dir / "identifiants" / f"{uai}.xml"
        target.write_bytes((box.state_dir / "identifiants" / f"{other}.xml").read_bytes())
        return lambda: export(box, uai)
    if cause == "comptes_non_importes":
        box.cli("add-pronote-accounts", "--uai", uai, "--count", "2")
        export(box, uai)
        return lambda: reimport(box, tmp, uai)
    if cause == "identification_impossible":
        pupil = next(a for a in sso_accounts(box, uai) if a["profile"] == "Elève")
        ident = pupil_ident(box, uai, pupil["login"])
        # the file is not exported again: only the sign-on sees it
        return base("--identifiant-cas", f"{ident}=quelqu.un.autre",
                    undo=("--identifiant-cas", f"{ident}={pupil['login']}"))
    if cause == "compte_test":
        path = box.inventory / "host_vars" / f"{uai}.yml"
        saved = path.read_text()
        data = yaml.safe_load(saved)
        data["pronote_sso_test_accounts"][0]["password"] = "pas-le-bon"
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
        return lambda: path.write_text(saved)
    raise AssertionError(f"no set-up for {cause}")


def accounts_then(box: Sandbox, uai: str, command: tuple[str, ...]) -> Callable[[], None]:
    box.cli(*command)
    export(box, uai)

    def undo() -> None:
        box.cli("pronote-accounts", "--uai", uai, "--nettoyer")
        export(box, uai)
    return undo


def pupil_ident(box: Sandbox, uai: str, login: str) -> str:
    truth = json.loads(box.cli("truth", "--uai", uai).stdout)
    return next(ident for ident, v in truth.items() if v["login"] == login)


def reimport(box: Sandbox, tmp: Path, uai: str) -> None:
    run = run_playbook(box, tmp, ROOT / "playbooks" / "rentree.yml", "--tags", "identifiers", "-l", uai)
    assert run.rc == 0, run.stdout[-3000:]


CAUSES = [
    "version_bloc", "type_sso", "url_cas_pronote_net", "service_anonyme", "profil_sans_acces",
    "espace_non_publie", "espace_sans_delegation", "cas_inactif", "url_cas", "racine", "base_non_publiee",
    "parents_sans_acces", "doublons_pronote", "eleves_sortis", "identifiant_cas_change",
    "responsables_non_reconnus", "comptes_non_importes", "fichier_autre_etablissement", "identification_impossible",
    "compte_test",
]


@pytest.mark.parametrize("cause", CAUSES)
def test_each_faq_cause_is_found_on_its_etablissement_and_nowhere_else(region: Sandbox, tmp_path: Path, cause: str):
    hosts = sorted(region.hosts())
    uai = hosts[1]
    undo = setup(region, tmp_path, uai, cause)
    try:
        data = diagnose(region, tmp_path)
        found = codes_by_uai(data)
        assert cause in found[uai], (cause, data["findings"])
        assert {other: found[other] for other in hosts if other != uai} == {
            other: set() for other in hosts if other != uai}, data["findings"]
        for f in data["findings"]:
            assert f["uai"] == uai and f["message"] and f["fix"] and f["severity"] in ("erreur", "avertissement",
                                                                                       "info")
        dumped = json.dumps(data, ensure_ascii=False)
        assert ADMIN_PASSWORD not in dumped and "pas-le-bon" not in dumped and "ST-" not in dumped
    finally:
        undo()
    # the fix undone, the établissement is healthy again
    assert codes_by_uai(diagnose(region, tmp_path, "-l", uai))[uai] == set()


def test_the_people_behind_the_findings_only_in_the_detail_file(region: Sandbox, tmp_path: Path):
    uai = sorted(region.hosts())[0]
    ident = ident_of(region, uai, category="responsables", avoid={a["login"] for a in sso_accounts(region, uai)})
    undo = accounts_then(region, uai, ("pronote-base", "--uai", uai, "--acces-parents", f"{ident}=off"))
    details = tmp_path / "details"
    try:
        data = diagnose(region, tmp_path, "-l", uai, "-e", f"pronote_diagnose_details_dir={details}")
    finally:
        undo()
    (finding,) = [f for f in data["findings"] if f["code"] == "parents_sans_acces"]
    assert finding["count"] == 1
    path = details / f"{uai}-diagnostic.csv"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    rows = [line.split(";") for line in path.read_text(encoding="utf-8-sig").splitlines()]
    assert [row[1:3] for row in rows[1:]] == [["parents_sans_acces", ident]]
    # the person's name is in the detail file and nowhere in the report
    name = rows[1][4]
    for report in (region.state_dir / "rapports").glob("rapport-diagnostic*"):
        assert name not in report.read_text(encoding="utf-8-sig")


def test_check_mode_changes_nothing(region: Sandbox, tmp_path: Path):
    before = region.snapshot()
    run = run_playbook(region, tmp_path, DIAGNOSE, check=True)
    assert run.rc == 0, run.stdout[-3000:]
    assert region.snapshot() == before


# --- RapprochementSSO: ENT -> PRONOTE ------------------------------------------------------------

def test_the_rapprochementsso_file_validates_and_holds_only_true_pairs(region: Sandbox, tmp_path: Path):
    from lxml import etree

    uai = sorted(region.hosts())[2]
    out = tmp_path / f"{uai}-rapprochementsso.xml"
    task = {"ent.pronote.ent_identifiers_import": {
        "uai": "{{ inventory_hostname }}", "src": "{{ ent_identifiers_dir }}/{{ inventory_hostname }}.xml",
        "rapprochement": str(out), "partner": "{{ ent_project }}"}}
    result = run_tasks(region, tmp_path, [task], hosts=uai).result(uai)
    assert not result.get("failed") and result["changed"] is False, result
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    schema = etree.XMLSchema(etree.parse(str(ROOT / "docs" / "schemas" / "rapprochementsso-v2.0.xsd")))
    doc = etree.parse(str(out), etree.XMLParser(resolve_entities=False, no_network=True))
    schema.assertValid(doc)
    # Each person written is found in the exported file by name (and birth date), and the ENT login
    # written for them is the one of the same person in the sandbox's ground truth: never a wrong pair.
    exported = etree.parse(str(region.state_dir / "identifiants" / f"{uai}.xml")).getroot()
    by_name: dict[tuple, list[str]] = {}
    for el in exported.iter():
        if el.get("Identifiant") and el.get("Nom"):
            by_name.setdefault((etree.QName(el).localname, el.get("Nom"), el.get("Prenom")), []).append(
                el.get("Identifiant"))
    truth = json.loads(region.cli("truth", "--uai", uai).stdout)
    people = [el for el in doc.getroot().iter() if el.get("ID_Partenaire")]
    assert len(people) == result["rapprochement"]["written"] > 0
    for el in people:
        # the same element names in both formats; homonyms are never written
        (ident,) = by_name[(etree.QName(el).localname, el.get("Nom"), el.get("Prenom"))]
        assert truth[ident]["login"] == el.get("ID_Partenaire"), (ident, el.attrib)
    # a healthy base: everyone but the categories the format has no element for is written
    left = {reason for c in result["rapprochement"]["categories"].values() for reason in c["left_out"]}
    assert left <= {"no_element", "no_birth_date", "homonym"}, result["rapprochement"]
