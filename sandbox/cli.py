"""Command line: ``python -m sandbox <command>``.

Commands: start, stop, status, seed, inventory, load-directory, faults,
expire-sessions, variants, export, truth, add-pronote-accounts, pronote-accounts, pronote-base, cas.
Exit codes: 0 success, 1 failure, 2 invalid input, 3 (status) not running.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
from pathlib import Path

from sandbox import cas, db, pronote, pronote_accounts, pronote_net, refdata, runtime, server
from sandbox.directory import DirectoryError, load_file
from sandbox.inventory import write_inventory
from sandbox.seed import DEFAULT_ETABS, DEFAULT_PROJECTS, DEFAULT_SEED, SeedError, SeedOptions, seed_database
from sandbox.state import StateDir, control_token, read_info, state_dir
from sandbox.tls import ensure_certificates

DEFAULT_URL = "https://127.0.0.1:8443/"
DEFAULT_HOSTING_URL = "https://127.0.0.1:8444/"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="Bac à sable ENT K-d'école (console + CAS).")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--state-dir", help="répertoire d'état (défaut : var/sandbox à la racine du dépôt)")
        return p

    p = command("start", "démarrer le serveur HTTPS (boucle locale uniquement)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8443, help="0 = un port libre")
    p.add_argument("--hosting-port", type=int, default=0,
                   help="port de la console d'hébergement (certificat client exigé) ; 0 (défaut) = un port libre")
    p.add_argument("--detach", action="store_true", help="démarrer en arrière-plan et attendre qu'il réponde")
    p.add_argument("--access-log", action="store_true", help="journaliser chaque requête")
    p.add_argument("--trust-ca", action="append", default=[], metavar="FICHIER",
                   help="autorité de certification (PEM) en qui PRONOTE.net a confiance, en plus de celle du bac à"
                        " sable, quand il valide un ticket auprès d'un autre serveur CAS (répétable ; gardé dans"
                        " sandbox.json)")
    command("stop", "arrêter le serveur")
    command("status", "état du serveur")

    p = command("seed", "construire la région de démonstration (déterministe)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--etabs", type=int, default=DEFAULT_ETABS)
    p.add_argument("--projects", default=",".join(DEFAULT_PROJECTS), help="slugs séparés par des virgules")
    p.add_argument("--scale", type=float, default=1.0, help="multiplie le nombre de personnes par établissement")
    p.add_argument("--reset", action="store_true", help="remplacer la région existante")

    p = command("inventory", "écrire un inventaire Ansible de la région")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--url", help=f"URL du bac à sable (défaut : celle de sandbox.json, sinon {DEFAULT_URL})")
    p.add_argument("--hosting-url", help="URL de la console d'hébergement (défaut : celle de sandbox.json,"
                                         f" sinon {DEFAULT_HOSTING_URL})")

    p = command("load-directory", "charger un annuaire CSV dans un projet")
    p.add_argument("file", type=Path)
    p.add_argument("--project", required=True)

    p = command("faults", "lire ou régler l'injection de pannes du serveur en marche")
    p.add_argument("--error-rate", type=float)
    p.add_argument("--latency-ms", type=int)
    p.add_argument("--session-expiry-rate", type=float)
    p.add_argument("--error-phase", choices=["before", "after"])
    p.add_argument("--fault-seed", type=int)
    p.add_argument("--import-abort-step", type=int, choices=range(0, 7), metavar="0-6",
                   help="la prochaine validation de cette étape d'import enregistre la moitié des paires,"
                        " puis répond 500 (une fois)")
    p.add_argument("--hosting-fail-next", choices=["arreter", "enregistrer", "publier", ""],
                   help="le prochain POST de cette action de la console d'hébergement répond 500 sans rien faire"
                        " (une fois) ; '' l'annule")
    p.add_argument("--reset", action="store_true", help="remettre toutes les pannes à zéro")
    command("expire-sessions", "terminer maintenant toutes les sessions console et tous les TGC")

    p = command("variants", "servir des variantes d'écrans (console, console d'hébergement) au serveur en marche")
    p.add_argument("--project", help="le projet ENT (slug) ; sans lui, tous les projets")
    p.add_argument("--variant", action="append", choices=sorted(runtime.SCREEN_VARIANTS), metavar="VARIANTE",
                   help="répétable : " + " ; ".join(f"{k} ({v})" for k, v in runtime.SCREEN_VARIANTS.items()))
    p.add_argument("--aucune", action="store_true", help="plus aucune variante pour ce projet (ou tous)")
    p.add_argument("--reset", action="store_true", help="plus aucune variante nulle part")

    p = command("export", "écrire le fichier d'identifiants PRONOTE d'un établissement (comme le client PRONOTE)")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--uai", help="l'établissement")
    target.add_argument("--all", action="store_true", help="tous les établissements (avec --out-dir)")
    p.add_argument("--sans-identifiant-cas", action="store_true",
                   help="« Uniquement les utilisateurs sans identifiants CAS »")
    p.add_argument("--out", type=Path, help="fichier à écrire (défaut : sortie standard)")
    p.add_argument("--out-dir", type=Path, help="répertoire où écrire <UAI>.xml (avec --all)")

    p = command("truth", "vérité terrain d'une base PRONOTE (JSON) : login ENT et nature de chaque identifiant")
    p.add_argument("--uai", required=True)

    p = command("add-pronote-accounts", "ajouter des élèves (et un responsable chacun) dans l'ENT et PRONOTE")
    p.add_argument("--uai", required=True)
    p.add_argument("--count", type=int, required=True)

    p = command("pronote-accounts", "modifier les comptes de la base PRONOTE d'un établissement (base saine,"
                                    " doublons, élèves sortis, responsables inconnus de l'ENT)")
    p.add_argument("--uai", required=True)
    p.add_argument("--nettoyer", action="store_true",
                   help="rendre la base saine : ni personne absente de l'ENT, ni élève sorti, ni doublon ; noms et"
                        " dates de naissance de l'ENT, accès à l'Espace Parents pour tous les responsables,"
                        " identifiants CAS faux effacés")
    p.add_argument("--dupliquer", action="append", default=[], metavar="IDENT",
                   help="ajouter un second compte pour la même personne (répétable)")
    p.add_argument("--sortie", action="append", default=[], metavar="IDENT=AAAA-MM-JJ",
                   help="date de sortie d'un élève (répétable)")
    p.add_argument("--responsables-inconnus", type=int, metavar="N",
                   help="ajouter N responsables absents de l'ENT, chacun lié à un élève dont il n'est pas parent"
                        " dans l'ENT")
    p.add_argument("--show", action="store_true",
                   help="afficher ensuite les effectifs de la base en JSON (le compte rendu passe alors sur la"
                        " sortie d'erreur)")

    p = command("pronote-base", "régler la base PRONOTE.net d'un établissement (comme la console d'hébergement)")
    p.add_argument("--uai", required=True)
    p.add_argument("--version", help="année.mineure.correctif, ex. 2025.1.3")
    publication = p.add_mutually_exclusive_group()
    publication.add_argument("--publier", dest="published", action="store_const", const=True)
    publication.add_argument("--arreter", dest="published", action="store_const", const=False)
    p.add_argument("--racine")
    cas_group = p.add_mutually_exclusive_group()
    cas_group.add_argument("--cas-url", help="active la délégation CAS avec cette URL (celle d'un CAS du bac à sable"
                                             " y lie le projet)")
    cas_group.add_argument("--sans-cas", action="store_true", help="désactive la délégation CAS")
    p.add_argument("--espace", action="append", default=[], metavar="NOM=on|off",
                   help="publier un espace (nom, clé ou page : « Espace Parents », parent, parent.html)")
    p.add_argument("--delegation", action="append", default=[], metavar="NOM=CAS|Ws-Federation|Aucune")
    p.add_argument("--acces-parents", action="append", default=[], metavar="IDENT=on|off",
                   help="« Accès à l'Espace Parents » d'un responsable (identifiant PRONOTE)")
    p.add_argument("--identifiant-cas", action="append", default=[], metavar="IDENT=LOGIN",
                   help="Identifiant CAS d'un compte ('' le vide)")
    p.add_argument("--show", action="store_true", help="afficher la base en JSON")

    p = command("cas", "régler le CAS d'un projet : dialecte (page de connexion Apereo, ou page de sélection du"
                       " profil K-d'école d'abord) et sources d'identité proposées ; affiche le résultat en JSON")
    p.add_argument("--project", required=True, help="le projet ENT (slug)")
    p.add_argument("--dialecte", choices=refdata.CAS_DIALECTS)
    p.add_argument("--sources", choices=cas.SOURCE_CHOICES,
                   help="sources de la page de sélection : toutes (comptes de l'ENT, ÉduConnect, agents) ou"
                        " seulement ÉduConnect")
    p.add_argument("--attributs", choices=cas.ATTRIBUTE_FORMS,
                   help="forme des attributs dans la réponse XML (/p3/serviceValidate) : elements :"
                        " <cas:idPronote>X</cas:idPronote> (défaut) ; name-value :"
                        " <cas:attribute name=\"idPronote\" value=\"X\"/>")
    return parser


def _err(message: str) -> None:
    print(f"sandbox: {message}", file=sys.stderr)


def _running(sd: StateDir) -> dict | None:
    info = server.running_info(sd)
    if info is None:
        _err(f"aucun bac à sable en marche pour {sd.root} (python -m sandbox start --detach)")
    return info


def _trusted_cas(paths: list[str]) -> list[str]:
    """The ``--trust-ca`` files, absolute; raise ValueError (French) for one that holds no CA certificate."""
    checked = []
    for given in paths:
        path = Path(given).expanduser().resolve()
        try:
            ssl.create_default_context(cafile=str(path))
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"--trust-ca {given} : pas un fichier de certificats PEM lisible ({exc})") from None
        checked.append(str(path))
    return checked


def cmd_start(args: argparse.Namespace, sd: StateDir) -> int:
    try:
        server.check_loopback(args.host)
        trust_ca = _trusted_cas(args.trust_ca)
    except (server.NotLoopback, ValueError) as exc:
        _err(str(exc))
        return 2
    info = server.running_info(sd)
    if info is not None:
        if args.trust_ca and info.get("trust_ca", []) != trust_ca:
            _err(f"un bac à sable est déjà en marche ({info['url']}) avec d'autres --trust-ca"
                 f" ({', '.join(info.get('trust_ca', [])) or 'aucun'}) : arrêtez-le d'abord")
            return 1
        print(f"Bac à sable déjà en marche : {info['url']} (pid {info['pid']})")
        return 0 if args.detach else 1
    ensure_certificates(sd)
    control_token(sd)
    db.migrate(sd.db)
    if args.detach:
        try:
            info = server.start_detached(sd, args.host, args.port, args.access_log, args.hosting_port, trust_ca)
        except RuntimeError as exc:
            _err(str(exc))
            return 1
        print(info["url"])
        return 0
    try:
        return server.serve(sd, args.host, args.port, args.access_log, args.hosting_port, trust_ca)
    except OSError as exc:
        _err(f"impossible d'écouter sur {args.host}:{args.port} (console d'hébergement :"
             f" {args.hosting_port}) : {exc}")
        return 1


def cmd_stop(_args: argparse.Namespace, sd: StateDir) -> int:
    if server.stop(sd):
        print("Bac à sable arrêté.")
    else:
        print("Aucun bac à sable en marche.")
    return 0


def cmd_status(_args: argparse.Namespace, sd: StateDir) -> int:
    info = server.running_info(sd)
    if info is None:
        print(f"arrêté ({sd.root})")
        return 3
    hosting = f", console d'hébergement {info['hosting_url']}" if info.get("hosting_url") else ""
    print(f"en marche : {info['url']} (pid {info['pid']}, CA {info['ca']}{hosting})")
    return 0


def cmd_seed(args: argparse.Namespace, sd: StateDir) -> int:
    opts = SeedOptions(seed=args.seed, etabs=args.etabs, scale=args.scale,
                       projects=tuple(s.strip() for s in args.projects.split(",") if s.strip()))
    db.migrate(sd.db)
    conn = db.connect(sd.db)
    try:
        summary = seed_database(conn, opts, reset=args.reset)
    except SeedError as exc:
        _err(str(exc))
        return 2
    finally:
        conn.close()
    print(summary.render())
    return 0


def cmd_inventory(args: argparse.Namespace, sd: StateDir) -> int:
    info = read_info(sd)
    url = args.url or (info or {}).get("url") or DEFAULT_URL
    hosting_url = args.hosting_url or (info or {}).get("hosting_url") or DEFAULT_HOSTING_URL
    db.migrate(sd.db)
    conn = db.connect(sd.db)
    try:
        if not db.is_seeded(conn):
            _err("la base est vide : lancez d'abord python -m sandbox seed")
            return 1
        for path in write_inventory(conn, args.out, url, hosting_url):
            print(path)
    finally:
        conn.close()
    return 0


def cmd_load_directory(args: argparse.Namespace, sd: StateDir) -> int:
    if not args.file.is_file():
        _err(f"fichier introuvable : {args.file}")
        return 2
    db.migrate(sd.db)
    conn = db.connect(sd.db)
    try:
        result = load_file(conn, args.file, args.project, label=str(args.file))
    except DirectoryError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        _err("aucun compte chargé")
        return 2
    finally:
        conn.close()
    print(f"{result.created + result.updated} compte(s) chargé(s) : {result.created} créé(s),"
          f" {result.updated} mis à jour.")
    return 0


def _control(sd: StateDir, info: dict, path: str, body: dict[str, object] | None, refused: int = 2) -> int:
    """Call a control endpoint of the running sandbox (GET without a body, POST with one); print its JSON."""
    status, payload = server.call(sd, info["url"] + "_sandbox/" + path, "GET" if body is None else "POST", body,
                                  token=control_token(sd, create=False))
    print(json.dumps(payload, ensure_ascii=False, indent=2))
    return 0 if status == 200 else refused


def cmd_faults(args: argparse.Namespace, sd: StateDir) -> int:
    info = _running(sd)
    if info is None:
        return 1
    body: dict[str, object] = {}
    if args.reset:
        body["reset"] = True
    for key in ("error_rate", "latency_ms", "session_expiry_rate", "error_phase", "fault_seed", "import_abort_step",
                "hosting_fail_next"):
        value = getattr(args, key)
        if value is not None:
            body[key] = value
    return _control(sd, info, "faults", body or None)


def cmd_expire_sessions(_args: argparse.Namespace, sd: StateDir) -> int:
    info = _running(sd)
    if info is None:
        return 1
    return _control(sd, info, "expire-sessions", {}, refused=1)


def cmd_variants(args: argparse.Namespace, sd: StateDir) -> int:
    info = _running(sd)
    if info is None:
        return 1
    body: dict[str, object] = {}
    if args.reset:
        body["reset"] = True
    if args.variant or args.aucune:
        body.update(project=args.project or runtime.ALL_PROJECTS, variants=[] if args.aucune else args.variant)
    elif args.project:
        _err("--project va avec --variant ou --aucune")
        return 2
    return _control(sd, info, "variants", body or None)


def _seeded_conn(sd: StateDir) -> db.sqlite3.Connection | None:
    db.migrate(sd.db)
    conn = db.connect(sd.db)
    if not db.is_seeded(conn):
        conn.close()
        _err("la base est vide : lancez d'abord python -m sandbox seed")
        return None
    return conn


def cmd_export(args: argparse.Namespace, sd: StateDir) -> int:
    if args.all and not args.out_dir:
        _err("--all demande --out-dir")
        return 2
    if args.uai and args.out_dir:
        _err("--out-dir va avec --all ; pour un établissement, utilisez --out")
        return 2
    conn = _seeded_conn(sd)
    if conn is None:
        return 1
    try:
        if args.all:
            args.out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            for uai in pronote.all_uais(conn):
                path = args.out_dir / f"{uai}.xml"
                size = pronote.write_export(conn, uai, path, args.sans_identifiant_cas)
                print(f"{path} ({size} octets)")
            return 0
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            size = pronote.write_export(conn, args.uai, args.out, args.sans_identifiant_cas)
            print(f"{args.out} ({size} octets)")
        else:
            sys.stdout.buffer.write(pronote.render_export(conn, args.uai, args.sans_identifiant_cas))
            sys.stdout.flush()
        return 0
    except pronote.UnknownEtab as exc:
        _err(str(exc))
        return 2
    finally:
        conn.close()


def cmd_truth(args: argparse.Namespace, sd: StateDir) -> int:
    conn = _seeded_conn(sd)
    if conn is None:
        return 1
    try:
        truth = pronote.ground_truth(conn, args.uai)
    except pronote.UnknownEtab as exc:
        _err(str(exc))
        return 2
    finally:
        conn.close()
    print(json.dumps(truth, ensure_ascii=False, indent=1))
    return 0


def cmd_add_pronote_accounts(args: argparse.Namespace, sd: StateDir) -> int:
    conn = _seeded_conn(sd)
    if conn is None:
        return 1
    try:
        added = pronote.add_accounts(conn, args.uai, args.count)
    except (pronote.UnknownEtab, ValueError) as exc:
        _err(str(exc))
        return 2
    finally:
        conn.close()
    print(f"{len(added)} compte(s) PRONOTE ajouté(s) à {args.uai.strip().upper()} (et leurs comptes ENT) :")
    for a in added:
        print(f"  {a.category:<12} {a.ident}  {a.nom} {a.prenom}  ->  {a.login}")
    return 0


def cmd_pronote_accounts(args: argparse.Namespace, sd: StateDir) -> int:
    if not (args.nettoyer or args.dupliquer or args.sortie or args.responsables_inconnus is not None or args.show):
        _err("rien à faire : indiquez --nettoyer, --dupliquer, --sortie, --responsables-inconnus ou --show")
        return 2
    conn = _seeded_conn(sd)
    if conn is None:
        return 1
    report: list[str] = []
    try:
        uai = pronote.etab_by_uai(conn, args.uai)["uai"]
        left = [pronote_accounts.parse_left(value) for value in args.sortie]
        with db.write(conn):
            if args.nettoyer:
                done = pronote_accounts.clean(conn, uai)
                report.append(f"Base PRONOTE de {uai} nettoyée :")
                report += [f"  {done[key]} {label}" for key, label in pronote_accounts.CLEAN_LABELS.items()]
            for ident in args.dupliquer:
                new = pronote_accounts.duplicate(conn, uai, ident)
                report.append(f"Doublon de {ident.strip().upper()} ajouté : {new}")
            for ident, date in left:
                pronote_accounts.set_left(conn, uai, ident, date)
                report.append(f"Élève {ident.upper()} sorti le {date}")
            if args.responsables_inconnus is not None:
                added = pronote_accounts.add_unknown_responsables(conn, uai, args.responsables_inconnus)
                report.append(f"{len(added)} responsable(s) absent(s) de l'ENT ajouté(s) : {' '.join(added)}")
        shown = pronote_accounts.counts(conn, uai) if args.show else None
    except (pronote.UnknownEtab, pronote_accounts.AccountsError) as exc:
        _err(str(exc))
        return 2
    finally:
        conn.close()
    if report:
        print("\n".join(report), file=sys.stderr if shown is not None else sys.stdout)
    if shown is not None:
        print(json.dumps(shown, ensure_ascii=False, indent=2))
    return 0


def cmd_pronote_base(args: argparse.Namespace, sd: StateDir) -> int:
    conn = _seeded_conn(sd)
    if conn is None:
        return 1
    changes = pronote_net.Changes(version=args.version, published=args.published, racine=args.racine,
                                  cas_url=args.cas_url, sans_cas=args.sans_cas, espaces=args.espace,
                                  delegations=args.delegation, acces_parents=args.acces_parents,
                                  identifiants_cas=args.identifiant_cas)
    try:
        base = pronote_net.apply_changes(conn, args.uai, changes)
        if args.show:
            url = (read_info(sd) or {}).get("url") or DEFAULT_URL
            print(json.dumps(pronote_net.base_as_dict(conn, base, url), ensure_ascii=False, indent=2))
        else:
            print(f"Base PRONOTE.net de {base.uai} : {'publiée' if base.published else 'non publiée'},"
                  f" racine {base.racine}, version {base.version},"
                  f" délégation CAS {'activée' if base.cas_actif else 'désactivée'}.")
    except pronote_net.BaseError as exc:
        _err(str(exc))
        return 2
    finally:
        conn.close()
    return 0


def cmd_cas(args: argparse.Namespace, sd: StateDir) -> int:
    conn = _seeded_conn(sd)
    if conn is None:
        return 1
    try:
        shown = cas.set_cas_options(conn, args.project, args.dialecte, args.sources, args.attributs)
    except ValueError as exc:
        _err(str(exc))
        return 2
    finally:
        conn.close()
    print(json.dumps(shown, ensure_ascii=False, indent=2))
    return 0


COMMANDS = {
    "start": cmd_start, "stop": cmd_stop, "status": cmd_status, "seed": cmd_seed, "inventory": cmd_inventory,
    "load-directory": cmd_load_directory, "faults": cmd_faults, "expire-sessions": cmd_expire_sessions,
    "variants": cmd_variants,
    "export": cmd_export, "truth": cmd_truth, "add-pronote-accounts": cmd_add_pronote_accounts,
    "pronote-accounts": cmd_pronote_accounts, "pronote-base": cmd_pronote_base, "cas": cmd_cas,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sd = state_dir(args.state_dir)
    return COMMANDS[args.command](args, sd)
