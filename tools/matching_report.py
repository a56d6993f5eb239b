#!/usr/bin/env python3
"""Matching report: how many PRONOTE accounts the import binds, and whether rightly, per category.

Seeds a sandbox region (its PRONOTE bases are messy the way real ones are),
exports every établissement's identifiers file, and imports it in mode
complet through the console, in this order:

- the product on an empty ENT (a first import of a file without anybody
  empties it);
- the plain ENT alone: every step validated as the ENT proposes it (its
  exact, case-insensitive nom + prénom + date de naissance);
- the product again, after the ENT's own import (the pairs it left judged
  by the product's rules).

After each, the pairs the ENT holds are compared with the seed's ground
truth (the ENT login of the same person). Printed per category:

- precision: right pairs / pairs made (a wrong pair lets a parent read
  another child's grades: the target is no wrong pair at all);
- recall: right pairs / accounts that have exactly one true counterpart in
  the établissement's ENT directory (the target is at least 98%).

Then, per scenario, the pairs the ENT holds that the rules forbid, by
reason (0 expected from the product): another person's account, a pupil who
left, a person written twice in PRONOTE, a parent whose account lists no
paired child, a pair where two ENT accounts fit the person (nom, compatible
prénoms, no conflicting birth date).

Counts only; no name is printed. Everything runs on loopback.
"""
from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from _sandbox import PASSWORD, ROOT, sandbox, stop

sys.path[:0] = [str(ROOT / "collections"), str(ROOT)]

from ansible_collections.ent.pronote.plugins.module_utils._engine import ensure  # noqa: E402
from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings  # noqa: E402
from ansible_collections.ent.pronote.plugins.module_utils._identifiers import CATEGORIES, read_identifiers  # noqa: E402
from ansible_collections.ent.pronote.plugins.module_utils._import import ImportHandler  # noqa: E402
from ansible_collections.ent.pronote.plugins.module_utils._kdecole import (  # noqa: E402
    ConsoleSettings,
    KdecoleConsole,
    directory_of,
)
from ansible_collections.ent.pronote.plugins.module_utils._matching import (  # noqa: E402
    compatible_first_names,
    normalise,
)
from sandbox.pronote import ground_truth  # noqa: E402  (a tool may read the sandbox; the product never does)


def plain_import(console: KdecoleConsole, uai: str, src: Path) -> None:
    """The ENT alone: upload in mode complet, validate every step as the ENT proposes it."""
    page, _left = console.start_import(uai, "complet", src.name, src.read_bytes())
    while not page.finished:
        page = console.validate_step(page, {row.ident: row.login for row in page.rows if row.login})


def empty_ent(console: KdecoleConsole, uai: str, src: Path) -> None:
    """An import in mode complet of the file's header alone: the ENT then holds no identifier."""
    text = src.read_text(encoding="utf-8")
    root = re.search(r"<IdentifiantsPRONOTE\b[^>]*>", text)
    assert root is not None
    empty = text[:root.end()] + "\r\n</IdentifiantsPRONOTE>\r\n"
    page, _left = console.start_import(uai, "complet", src.name, empty.encode("utf-8"))
    while not page.finished:
        page = console.validate_step(page, {})
    assert not console.read_identifiers(uai), f"{uai}: the ENT still holds identifiers"


UNSAFE = {"other_person": "autre personne", "left": "élève sorti", "duplicate": "doublon PRONOTE",
          "no_paired_child": "parent sans enfant lié", "ambiguous": "deux comptes ENT possibles"}


def unsafe_pairs(console: KdecoleConsole, uai: str, truth: dict[str, dict], src: Path, tally: Counter) -> None:
    """Count the pairs the ENT holds that the rules forbid, by reason (the first that applies)."""
    held = {ident: pair.login for ident, pair in console.read_identifiers(uai).items()}
    people = {p.ident: p for p in read_identifiers(src).people}
    directory = {a.login.casefold(): a for a in directory_of(console.read_import_pages(uai).directory, uai)}
    profiles = {c.key: c.profile for c in CATEGORIES}
    counterparts = Counter(f["login"].casefold() for f in truth.values() if f["login"])
    for ident, login in held.items():
        person, fact = people.get(ident), truth.get(ident, {})
        if (fact.get("login") or "").casefold() != login.casefold():
            tally["other_person"] += 1
        elif person is not None and person.left_on:
            tally["left"] += 1
        elif counterparts[login.casefold()] > 1:
            tally["duplicate"] += 1
        elif person is not None and person.category == "responsables" and not (
                {held[c].casefold() for c in person.children if c in held}
                & {c.casefold() for c in directory[login.casefold()].children}):
            tally["no_paired_child"] += 1
        elif person is not None and len(fitting(person, directory, profiles[person.category], held)) > 1:
            tally["ambiguous"] += 1


def fitting(person, directory: dict, profile: str, held: dict[str, str]) -> list:
    """The accounts that fit a person by the evidence rules (README, docs): the same nom and compatible prénoms,
    and the same birth date (pupils: known on both sides; staff: or the same prénom when a date is missing);
    a parent: linked to one of its children's accounts, or the same birth date known on both sides."""
    children = {held[c].casefold() for c in person.children if c in held}
    out = []
    for a in directory.values():
        if a.profile != profile or normalise(a.nom) != normalise(person.nom):
            continue
        if not compatible_first_names(a.prenom, person.prenom):
            continue
        dated = a.birth_date is not None and person.birth_date is not None
        if dated and a.birth_date != person.birth_date:
            continue
        if person.category == "responsables":
            if not (dated or {c.casefold() for c in a.children} & children):
                continue
        elif not dated and (person.category == "eleves" or normalise(a.prenom) != normalise(person.prenom)):
            continue
        out.append(a)
    return out


def product_import(console: KdecoleConsole, uai: str, src: Path) -> None:
    file = read_identifiers(src)
    ensure(ImportHandler(console, uai, file, src.read_bytes(), src.name, "complet", force=True), False)


def score(console: KdecoleConsole, uai: str, truth: dict[str, dict], findable_idents: set[str],
          tally: dict[str, Counter]) -> None:
    held = {ident: pair.login for ident, pair in console.read_identifiers(uai).items()}
    for ident, fact in truth.items():
        key = fact["category"]
        login = fact["login"]
        findable = ident in findable_idents
        tally[key]["findable"] += findable
        if ident in held:
            tally[key]["made"] += 1
            if held[ident].casefold() == (login or "").casefold():
                tally[key]["right"] += 1
                tally[key]["found"] += findable
            else:
                tally[key]["wrong"] += 1


def findable_accounts(db: sqlite3.Connection, uai: str, truth: dict[str, dict], src: Path) -> set[str]:
    """The file's accounts that have exactly one true counterpart among the site's ENT accounts.

    Not findable: people absent from the ENT (or not attached to this site), pupils who have left, and
    the copies of a person PRONOTE holds twice (one ENT account, two true counterparts).
    """
    attached = {row[0].casefold() for row in db.execute(
        "SELECT u.login FROM users u JOIN user_etabs ue ON ue.user_id = u.id JOIN etabs e ON e.id = ue.etab_id"
        " WHERE e.uai = ?", (uai,))}
    left = {p.ident for p in read_identifiers(src).people if p.left_on}
    counterparts = Counter(f["login"].casefold() for f in truth.values() if f["login"])
    return {ident for ident, f in truth.items()
            if f["login"] and f["login"].casefold() in attached and counterparts[f["login"].casefold()] == 1
            and ident not in left}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--etabs", type=int, default=10)
    parser.add_argument("--scale", type=float, default=4.0, help="size of the établissements (1: ~30 pupils)")
    args = parser.parse_args()
    tallies = {"produit": defaultdict(Counter), "ENT seul": defaultdict(Counter),
               "produit après l'ENT": defaultdict(Counter)}
    unsafe = {who: Counter() for who in tallies}
    with tempfile.TemporaryDirectory(prefix="ent-pronote-matching-") as tmp:
        state = Path(tmp) / "sandbox"
        files = Path(tmp) / "identifiants"
        sandbox(state, "seed", "--seed", str(args.seed), "--etabs", str(args.etabs), "--scale", str(args.scale))
        sandbox(state, "export", "--all", "--out-dir", str(files))
        sandbox(state, "start", "--detach", "--port", "0")
        try:
            info = json.loads((state / "sandbox.json").read_text())
            db = sqlite3.connect(f"file:{state / 'sandbox.db'}?mode=ro", uri=True)
            db.row_factory = sqlite3.Row
            etabs = db.execute("SELECT e.uai, p.slug FROM etabs e JOIN projects p ON p.id = e.project_id"
                               " ORDER BY e.uai").fetchall()
            consoles: dict[str, KdecoleConsole] = {}
            for etab in etabs:
                uai, slug = etab["uai"], etab["slug"]
                console = consoles.get(slug) or consoles.setdefault(slug, KdecoleConsole(ConsoleSettings(
                    f"{info['url'].rstrip('/')}/{slug}/", f"admin.{slug}", PASSWORD,
                    HttpSettings(ca_path=info["ca"]), session_cache=False)))
                truth = ground_truth(db, uai)
                src = files / f"{uai}.xml"
                findable = findable_accounts(db, uai, truth, src)
                empty_ent(console, uai, src)
                product_import(console, uai, src)
                score(console, uai, truth, findable, tallies["produit"])
                unsafe_pairs(console, uai, truth, src, unsafe["produit"])
                plain_import(console, uai, src)
                score(console, uai, truth, findable, tallies["ENT seul"])
                unsafe_pairs(console, uai, truth, src, unsafe["ENT seul"])
                product_import(console, uai, src)
                score(console, uai, truth, findable, tallies["produit après l'ENT"])
                unsafe_pairs(console, uai, truth, src, unsafe["produit après l'ENT"])
            db.close()
        finally:
            stop(state)

    print(f"Rapprochement des identifiants : {len(etabs)} établissements (graine {args.seed}, "
          f"échelle {args.scale:g})")
    print(f"{'catégorie':<26} {'qui':<19} {'liés':>6} {'faux':>5} {'précision':>10} {'trouvables':>11} "
          f"{'trouvés':>8} {'rappel':>7}")
    failed = False
    for category in [*CATEGORIES, None]:
        for who, tally in tallies.items():
            if category is None:
                t = sum(tally.values(), Counter())
                title = "total"
            else:
                t = tally[category.key]
                title = category.title
            precision = t["right"] / t["made"] if t["made"] else 1.0
            recall = t["found"] / t["findable"] if t["findable"] else 1.0
            print(f"{title:<26} {who:<19} {t['made']:>6} {t['wrong']:>5} {precision:>10.1%} {t['findable']:>11} "
                  f"{t['found']:>8} {recall:>7.1%}")
            if who == "produit" and category is None:
                failed = t["wrong"] > 0 or recall < 0.98
    labels = {"produit": "produit, ENT vide", "ENT seul": "ENT seul", "produit après l'ENT": "produit après l'ENT"}
    for who, tally in unsafe.items():
        shown = ", ".join(f"{tally[k]} {label}" for k, label in UNSAFE.items())
        print(f"Paires interdites ({labels[who]}) : {sum(tally.values())} — {shown}")
        if who != "ENT seul" and sum(tally.values()):
            failed = True
    print("Objectifs (produit) : aucune paire fausse ni interdite, rappel d'au moins 98 %."
          + (" NON ATTEINTS." if failed else " Atteints."))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
