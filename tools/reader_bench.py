#!/usr/bin/env python3
"""Memory and time of the identifiers reader on big files (issue 14 §4: peak within about twice the file).

Generates identifiers files of N people (pupils, responsables with their
children, staff; accented names) in a temporary directory, then for each
runs a fresh Python process that reads the file's bytes (as the import does:
it uploads them) and then calls ``read_identifiers``. It prints the file's
size, the process's peak RSS once the bytes are read (the baseline), the
peak RSS after the read, their difference (what the reader costs) and the
ratio of the whole peak to the file. ``--reader PATH`` measures another
version of ``_identifiers.py`` (e.g. one taken from git) for comparison.
Nothing is written outside the temporary directory.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import quoteattr

ROOT = Path(__file__).resolve().parents[1]
NOMS = ["MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND", "LEROY", "MOREAU",
        "SIMON", "LAURENT", "LEFÈBVRE", "MICHEL", "GARCIA", "DAVID", "BERTRAND", "ROUX", "VINCENT", "FOURNIER",
        "D’ALMEIDA", "CŒURDEVEY", "NGUYỄN", "MÜLLER", "SAINT-ÉTIENNE"]
PRENOMS = ["Léa", "Hugo", "Chloé", "Noé", "Zoé", "Louis", "Inès", "Jules", "Anaïs", "Théo", "Maëlys", "Jean-Émile",
           "Marie-Claire", "Éloïse", "Gaël", "Sofiane", "Aïcha", "Björn"]


def generate(path: Path, people: int, seed: int = 1) -> None:
    """About ``people`` people: 40 % pupils, 55 % responsables (one or two children each), 5 % staff."""
    rng = random.Random(seed)
    pupils = int(people * 0.4)
    parents = int(people * 0.55)
    staff = people - pupils - parents

    def ident(kind: str, n: int) -> str:
        return f"{kind}{n:015d}"[-16:]

    def name() -> str:
        return f'Nom={quoteattr(rng.choice(NOMS))} Prenom={quoteattr(rng.choice(PRENOMS))}'

    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<IdentifiantsPRONOTE Version="1.0" '
                  'DateExport="2025-09-01T08:30:00" UAI="0671234C" NomEtablissement="Cité scolaire">\n')
        out.write("  <Professeurs>\n")
        for n in range(staff):
            out.write(f'    <Professeur Identifiant="{ident("P", n)}" {name()} DateNaissance="1975-04-02"/>\n')
        out.write("  </Professeurs>\n  <Eleves>\n")
        for n in range(pupils):
            out.write(f'    <Eleve Identifiant="{ident("E", n)}" {name()} DateNaissance="2012-0{1 + n % 9}-1{n % 9}" '
                      f'Classe="{3 + n % 4}{"ABCDEF"[n % 6]}"/>\n')
        out.write("  </Eleves>\n  <Responsables>\n")
        for n in range(parents):
            kids = "".join(f'\n      <Enfant Identifiant="{ident("E", rng.randrange(max(pupils, 1)))}"/>'
                           for _ in range(rng.choice((1, 1, 2))))
            out.write(f'    <Responsable Identifiant="{ident("R", n)}" {name()} CodePostal="67000" '
                      f'AccesEspaceParents="true">{kids}\n    </Responsable>\n')
        out.write("  </Responsables>\n</IdentifiantsPRONOTE>\n")


CHILD = r"""
import importlib.util, os, resource, sys, time
sys.path[:0] = [sys.argv[3]]
path, reader = sys.argv[1], sys.argv[2]
if reader:
    spec = importlib.util.spec_from_file_location("reader_under_test", reader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
else:
    from ansible_collections.ent.pronote.plugins.module_utils import _identifiers as module
with open(path, "rb") as handle:
    data = handle.read()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
file = module.read_identifiers(data, max_bytes=1 << 31)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(file.people), base, peak, seconds)
"""


def measure(path: Path, reader: str | None) -> tuple[int, int, int, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), reader or "", str(ROOT / "collections")],
                         check=False, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    out = out.stdout.split()
    return int(out[0]), int(out[1]), int(out[2]), float(out[3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[10_000, 100_000, 480_000])
    parser.add_argument("--reader", help="another _identifiers.py to measure (default: this checkout's)")
    args = parser.parse_args()
    print(f"{'people':>9} {'file MiB':>9} {'bytes read MiB':>15} {'peak MiB':>9} {'reader MiB':>11} "
          f"{'peak/file':>10} {'seconds':>8}")
    with tempfile.TemporaryDirectory(prefix="reader-bench-") as tmp:
        for count in args.people:
            path = Path(tmp) / f"identifiants-{count}.xml"
            started = time.perf_counter()
            generate(path, count)
            size = os.path.getsize(path)
            people, base, peak, seconds = measure(path, args.reader)
            mib = 1024 * 1024
            print(f"{people:>9} {size / mib:>9.1f} {base / 1024:>15.1f} {peak / 1024:>9.1f} "
                  f"{(peak - base) / 1024:>11.1f} {peak * 1024 / size:>10.2f} {seconds:>8.2f}"
                  f"   (generated in {time.perf_counter() - started:.1f} s)", flush=True)
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
