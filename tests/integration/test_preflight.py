"""playbooks/preflight.yml: every screen of the rentrée opened and checked, nothing changed (issue 12, §6)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from _harness import ROOT, Sandbox, run_playbook, running_sandbox

PLAYBOOK = ROOT / "playbooks" / "preflight.yml"
#: every screen the preflight opens, per system, in its order
SCREENS = [
    ("CAS", "Connexion de l'administrateur"),
    ("Console ENT", "Liste des établissements"),
    ("Console ENT", "Liste des services"), ("Console ENT", "Modifier un service"),
    ("Console ENT", "Accès population"), ("Console ENT", "Importer les identifiants Pronote"),
    ("Console ENT", "Importer les identifiants Pronote > Étape"), ("Console ENT", "Identifiants importés"),
    ("Console ENT", "Annuaire"),
    ("Console d'hébergement", "Mes bases"), ("Console d'hébergement", "Page de la base"),
    ("Console d'hébergement", "Déléguer l'authentification"), ("Console d'hébergement", "Paramètres de publication"),
    ("PRONOTE.net", "infoMobileApp.json"),
]


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path_factory.mktemp("preflight"), seed=5, etabs=4) as box:
        # The seed makes some bases messy (racine « PronoteNet »: infoMobileApp.json answers 404, which the
        # preflight reports as not checked); the first établissement of each project gets a well-kept one.
        for group in ("ent_mbn", "ent_occitanie"):
            box.cli("pronote-base", "--uai", box.hosts(group)[0], "--racine", "Pronote", "--publier")
        yield box


def report(box: Sandbox) -> dict:
    return json.loads((box.state_dir / "rapports" / "rapport-preflight.json").read_text(encoding="utf-8"))


def screens_of(record: dict) -> dict[str, str]:
    """subject -> finding code, for one établissement of the report."""
    return {f["subject"]: f["code"] for f in record["findings"]}


def test_normal_screens_conform_one_etablissement_per_project_nothing_changed(region: Sandbox,
                                                                              tmp_path: Path) -> None:
    before = region.snapshot()
    run = run_playbook(region, tmp_path, PLAYBOOK)
    assert run.rc == 0, run.stdout[-4000:]
    assert region.snapshot() == before
    data = report(region)
    firsts = {group: region.hosts(group)[0] for group in ("ent_mbn", "ent_occitanie")}
    assert sorted(r["uai"] for r in data["etablissements"]) == sorted(firsts.values())
    for record in data["etablissements"]:
        assert record["status"] == "ok" and record["failure"] is None
        found = screens_of(record)
        expected = {f"{s} · {t}": "ecran_conforme" for s, t in SCREENS}
        expected["Console ENT · Importer les identifiants Pronote > Étape"] = "ecran_non_verifie"
        assert found == expected
    assert "Vérification préalable des écrans : 2 établissement(s)" in run.stdout
    assert (region.state_dir / "rapports" / "rapport-preflight.html").is_file()


def test_every_etablissement_with_scope_all_and_in_check_mode(region: Sandbox, tmp_path: Path) -> None:
    run = run_playbook(region, tmp_path, PLAYBOOK, "-e", "preflight_scope=all", check=True)
    assert run.rc == 0, run.stdout[-4000:]
    assert sorted(r["uai"] for r in report(region)["etablissements"]) == sorted(region.hosts())


def test_a_breaking_variant_is_named_per_screen_for_its_project_only(region: Sandbox, tmp_path: Path) -> None:
    region.cli("variants", "--project", "mbn", "--variant", "renamed-label")
    before = region.snapshot()
    try:
        run = run_playbook(region, tmp_path, PLAYBOOK)
    finally:
        region.cli("variants", "--reset")
    assert run.rc != 0
    assert region.snapshot() == before
    records = {r["uai"]: r for r in report(region)["etablissements"]}
    mbn, occitanie = region.hosts("ent_mbn")[0], region.hosts("ent_occitanie")[0]
    assert records[occitanie]["status"] == "ok"
    assert records[mbn]["status"] == "failed"
    found = screens_of(records[mbn])
    wrong = sorted(subject for subject, code in found.items() if code == "ecran_non_conforme")
    assert wrong == ["Console ENT · Importer les identifiants Pronote", "Console ENT · Liste des services",
                     "Console ENT · Modifier un service", "Console d'hébergement · Déléguer l'authentification"]
    # the access tab is reached from the services list, which could not be read
    assert found["Console ENT · Accès population"] == "ecran_non_verifie"
    messages = {f["subject"]: f["message"] for f in records[mbn]["findings"]}
    assert messages["Console ENT · Modifier un service"].startswith(
        f"Écran « Modifier un service » ({mbn}) non conforme — attendu : champ « Type de SSO » ; trouvé : ")
    assert "« Type d'authentification unique »" in messages["Console ENT · Modifier un service"]
    assert "attendu : colonne « Type SSO »" in messages["Console ENT · Liste des services"]
    assert "« Liste des services », illisible" in messages["Console ENT · Accès population"]
    assert "attendu : champ « Mode d'import » ; trouvé : « Établissement », « Type d'import », « Fichier »" in \
        messages["Console ENT · Importer les identifiants Pronote"]
    assert "« Activer la délégation CAS »" in messages["Console d'hébergement · Déléguer l'authentification"]
    assert found["Console ENT · Annuaire"] == "ecran_conforme"
    failure = records[mbn]["failure"]["msg"]
    assert failure.startswith(f"4 écran(s) non conforme(s) pour {mbn} : ") and "Traceback" not in run.stdout
    assert f"ÉCHEC {mbn}" in " ".join(run.stdout.split())
