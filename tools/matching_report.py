#!/usr/bin/env python3
"""Matching report: how many PRONOTE accounts the import binds, and whether rightly, per category.

Seeds a sandbox region (its PRONOTE bases are messy the way real ones are),
exports every établissement's identifiers file, and imports each one twice
in mode complet through the console:

- the product: ``ent.pronote``'s import (assisted matching on);
- the plain ENT alone: every step validated as the ENT proposes it (its
  exact, case-insensitive nom + prénom + date de naissance).

After each, the pairs the ENT holds are compared with the seed's ground
truth (the ENT login of the same person). Printed per category:

- precision: right pairs / pairs made (a wrong pair lets a parent read
  another child's grades: the target is no wrong pair at all);
- recall: right pairs / accounts that have exactly one true counterpart in
  the établissement's ENT directory (the target is at least 98%).

Counts only; no name is printed. Everything runs on loopback.
"""
from __future__ import annotations

import argparse
import json
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
from ansible_collections.ent.pronote.plugins.module_utils._kdecole import ConsoleSettings, KdecoleConsole  # noqa: E402
from sandbox.pronote import ground_truth  # noqa: E402  (a tool may read the sandbox; the product never does)


def plain_import(console: KdecoleConsole, uai: str, src: Path) -> None:
    """The ENT alone: upload in mode complet, validate every step as the ENT proposes it."""
    page, _left = console.start_import(uai, "complet", src.name, src.read_bytes())
    while not page.finished:
        page = console.validate_step(page, {row.ident: row.login for row in page.rows if row.login})


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
    tallies = {"produit": defaultdict(Counter), "ENT seul": defaultdict(Counter)}
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
                product_import(console, uai, src)
                score(console, uai, truth, findable, tallies["produit"])
                plain_import(console, uai, src)
                score(console, uai, truth, findable, tallies["ENT seul"])
            db.close()
        finally:
            stop(state)

    print(f"Rapprochement des identifiants : {len(etabs)} établissements (graine {args.seed}, "
          f"échelle {args.scale:g})")
    print(f"{'catégorie':<26} {'qui':<9} {'liés':>6} {'faux':>5} {'précision':>10} {'trouvables':>11} "
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
            print(f"{title:<26} {who:<9} {t['made']:>6} {t['wrong']:>5} {precision:>10.1%} {t['findable']:>11} "
                  f"{t['found']:>8} {recall:>7.1%}")
            if who == "produit" and category is None:
                failed = t["wrong"] > 0 or recall < 0.98
    print("Objectifs (produit) : aucune paire fausse, rappel d'au moins 98 %."
          + (" NON ATTEINTS." if failed else " Atteints."))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
