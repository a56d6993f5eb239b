#!/usr/bin/env python3
"""Take docs/report.png: the report page of a demo region, as headless Chromium shows it.

Builds the report of a synthetic region (12 établissements, 3 ENT projects, a
few failures and findings; counts only, nobody's name), writes it to a
temporary directory, loads the page from disk (file://) and screenshots it.
Then loads it once more with the console on stderr and fails if the page's
script threw, was refused by the page's Content-Security-Policy, or did not
run to its end (``<html data-js="pret">``).

    make screenshot
    .venv/bin/python tools/screenshot_report.py [--out docs/report.png] [--chromium /usr/bin/chromium]

Needs Chromium (Debian: apt-get install chromium). Nothing leaves the machine:
the page fetches nothing, and Chromium runs without its background services.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "collections"))

from ansible_collections.ent.pronote.plugins.module_utils import _report  # noqa: E402

MBN, OCC, BFC = "Mon Bureau Numérique", "ENT Occitanie", "Éclat-BFC"
STEPS = ("delegation", "service", "identifiers", "sso")
# the tasks of the roles, as ansible_failed_task.name gives them
SERVICE_TASK = "Declare the PRONOTE service of the établissement and who may use it"
DELEGATION_TASK = "Delegate the PRONOTE.net authentication to the ENT's CAS"


def ids(ent: int, assisted: int = 0, kept: int = 0, manual: int = 0, unmatched: int = 0, ambiguous: int = 0,
        skipped: int = 0) -> dict[str, int]:
    return {"ent": ent, "assisted": assisted, "kept": kept, "manual": manual, "unmatched": unmatched,
            "ambiguous": ambiguous, "skipped": skipped}


def finding(code: str, severity: str, step: str, message: str, fix: str, count: int | None = None,
            subject: str = "") -> dict:
    return {"code": code, "severity": severity, "step": step, "message": message, "fix": fix, "count": count,
            "subject": subject}


VERSION_BLOC = finding(
    "version_bloc", "erreur", "service",
    "La « Version » du bloc PRONOTE dans l'ENT est « 2024 », mais le serveur PRONOTE est en version 2025.0.3 (2025).",
    "ENT, « Gestion portail > Services », service PRONOTE, « Configuration du bloc PRONOTE » : choisir « Version » "
    "« 2025 » (à refaire à chaque changement de version de PRONOTE).")


def parents_sans_acces(n: int) -> dict:
    return finding("parents_sans_acces", "avertissement", "identifiers",
                   f"{n} responsable(s) sans « Accès à l'Espace Parents » dans PRONOTE : ils ne peuvent pas se "
                   "connecter à l'Espace Parents.",
                   "Dans PRONOTE, fiche du responsable : cocher « Accès à l'Espace Parents » (liste dans le fichier "
                   "de détail de l'établissement).", n)


def eleves_sortis(n: int) -> dict:
    return finding("eleves_sortis", "info", "identifiers",
                   f"{n} élève(s) sorti(s) de l'établissement (date de sortie) encore dans la base PRONOTE : ils sont "
                   "écartés de l'import, et leurs responsables ne sont pas reconnus.",
                   "Dans PRONOTE, archiver ou supprimer les élèves sortis, puis exporter de nouveau les identifiants.",
                   n)


def region() -> list[dict]:
    """12 établissements of 3 ENT projects, as run_summary hands them to the report."""
    ok4 = dict.fromkeys(STEPS, "ok")

    def etab(uai: str, name: str, project: str, status: str, steps: dict, **rest) -> dict:
        return {"uai": uai, "name": name, "project": project, "status": status, "steps": steps,
                "failure": None, "identifiers": None, "sign_on": None, "not_done": [], "missing_files": [],
                "findings": [], **rest}

    return [
        etab("0671632K", "Collège Jean Moulin", MBN, "failed",
             {"delegation": "ok", "service": "failed", "identifiers": "not_run", "sso": "not_run"},
             failure={"step": SERVICE_TASK, "msg": "Could not read the services: https://mbn.example.fr/kdecole/ "
                                                   "answered HTTP 500."},
             findings=[VERSION_BLOC]),
        etab("0670001M", "Lycée Kléber", MBN, "changed",
             {"delegation": "ok", "service": "ok", "identifiers": "changed", "sso": "ok"},
             identifiers=ids(2104, assisted=31, kept=1870, manual=2, unmatched=6, ambiguous=1, skipped=9),
             sign_on={"ok": 3, "failed": 0}, findings=[parents_sans_acces(7), eleves_sortis(12)]),
        etab("0681761V", "Collège Louis Pasteur", MBN, "ok", ok4,
             identifiers=ids(1320, kept=1302, skipped=4), sign_on={"ok": 3, "failed": 0}),
        etab("0573044Z", "Collège Erckmann-Chatrian", MBN, "changed",
             {"delegation": "changed", "service": "changed", "identifiers": "changed", "sso": "ok"},
             identifiers=ids(1488, assisted=18, manual=1, unmatched=3), sign_on={"ok": 3, "failed": 0}),
        etab("0542293Z", "Lycée Georges de La Tour", MBN, "ok", ok4,
             identifiers=ids(1951, kept=1940), sign_on={"ok": 3, "failed": 0}, findings=[eleves_sortis(5)]),
        etab("0311234Y", "Collège Jean Jaurès", OCC, "failed",
             {"delegation": "ok", "service": "ok", "identifiers": "ok", "sso": "failed"},
             identifiers=ids(1105, kept=1090, ambiguous=2), sign_on={"ok": 1, "failed": 2},
             findings=[finding("identification_impossible", "erreur", "sso",
                               "Parent (Espace Parents) : PRONOTE répond « Identification impossible » : "
                               "l'identifiant CAS reçu ne correspond à aucun compte de la base.",
                               "Importer les identifiants de l'établissement (rentrée, --tags identifiers) ; "
                               "si le compte a un autre identifiant CAS, « Supprimer l'identifiant CAS (ENT) ».",
                               1, "Parent"),
                       finding("identification_impossible", "erreur", "sso",
                               "Élève (Espace Élèves) : PRONOTE répond « Identification impossible » : "
                               "l'identifiant CAS reçu ne correspond à aucun compte de la base.",
                               "Importer les identifiants de l'établissement (rentrée, --tags identifiers) ; "
                               "si le compte a un autre identifiant CAS, « Supprimer l'identifiant CAS (ENT) ».",
                               1, "Élève")]),
        etab("0341111Y", "Lycée Joffre", OCC, "ok", ok4,
             identifiers=ids(2630, kept=2588, manual=4, skipped=12), sign_on={"ok": 3, "failed": 0}),
        etab("0310099P", "Collège Les Aiguerelles", OCC, "not_run", dict.fromkeys(STEPS, "not_run"),
             not_done=["hôte injoignable : la console ENT n'a pas répondu"]),
        etab("0110023R", "Lycée Pierre-Paul Riquet", OCC, "changed",
             {"delegation": "ok", "service": "changed", "identifiers": "changed", "sso": "ok"},
             identifiers=ids(1712, assisted=22, kept=1640, unmatched=8, skipped=3), sign_on={"ok": 3, "failed": 0},
             findings=[finding("doublons_pronote", "avertissement", "identifiers",
                               "3 compte(s) PRONOTE en double (même nom, prénom et date de naissance) : l'import les "
                               "écarte, et la connexion échoue quand la première copie détient déjà l'identifiant "
                               "CAS.",
                               "Dans PRONOTE, fusionner ou supprimer les doublons ; si un doublon détient "
                               "l'identifiant CAS, « Supprimer l'identifiant CAS (ENT) » puis réessayer.", 3)]),
        etab("0251111X", "Collège Victor Hugo", BFC, "ok", ok4,
             identifiers=ids(1240, kept=1236), sign_on={"ok": 3, "failed": 0}),
        etab("0210017E", "Lycée Carnot", BFC, "failed",
             {"delegation": "failed", "service": "not_run", "identifiers": "not_run", "sso": "not_run"},
             failure={"step": DELEGATION_TASK, "msg": "The CAS of the delegation is https://cas.eclat-bfc.fr/, not "
                                                      "the ENT's (https://cas.eclat-bfc.fr/cas/)."},
             findings=[finding("url_cas", "erreur", "delegation",
                               "La délégation d'authentification de PRONOTE.net pointe vers un autre CAS que celui "
                               "de l'ENT.",
                               "Console d'hébergement, « Délégation d'authentification » : URL du CAS de l'ENT.")]),
        etab("0390786T", "Collège Gaston Bachelard", BFC, "changed",
             {"delegation": "ok", "service": "ok", "identifiers": "skipped", "sso": "ok"},
             sign_on={"ok": 3, "failed": 0},
             missing_files=["identifiants/0390786T.xml"]),
    ]


def chromium(binary: str, profile: str, *args: str) -> subprocess.CompletedProcess:
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "report.png"), help="PNG to write (docs/report.png)")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium binary (/usr/bin/chromium)")
    parser.add_argument("--window-size", default="1400,1800", help="width,height in pixels (1400,1800)")
    args = parser.parse_args()
    if not Path(args.chromium).exists():
        print(f"error: {args.chromium} not found (Debian: apt-get install chromium)", file=sys.stderr)
        return 1
    when = datetime(2025, 9, 2, 18, 42, tzinfo=timezone(timedelta(hours=2)))
    data = _report.build(region(), kind="rentree", generated_at=when)
    with tempfile.TemporaryDirectory(prefix="ent-pronote-report-") as tmp:
        page = Path(_report.write(str(Path(tmp) / "rapports"), data)["html"]).as_uri()
        out = Path(args.out).resolve()
        shot = chromium(args.chromium, str(Path(tmp) / "profile-1"), f"--window-size={args.window_size}",
                        "--hide-scrollbars", f"--screenshot={out}", page)
        if shot.returncode != 0 or not out.exists():
            print(shot.stderr, file=sys.stderr)
            print(f"error: chromium exited with status {shot.returncode}", file=sys.stderr)
            return 1
        # The script: no exception, nothing refused by the page's policy, and it ran to its end.
        dom = chromium(args.chromium, str(Path(tmp) / "profile-2"), "--enable-logging=stderr", "--v=0",
                       "--dump-dom", page)
        problems = [line for line in dom.stderr.splitlines()
                    if "Uncaught" in line or "Refused to" in line or "Content Security Policy" in line]
        if dom.returncode != 0 or problems or 'data-js="pret"' not in dom.stdout:
            print("\n".join(problems) or dom.stderr, file=sys.stderr)
            print("error: the page's script did not run cleanly", file=sys.stderr)
            return 1
    print(f"{out.relative_to(REPO) if out.is_relative_to(REPO) else out}: the report of a demo region "
          f"({data['summary']['total']} établissements); script checked: no console error")
    return 0


if __name__ == "__main__":
    sys.exit(main())
