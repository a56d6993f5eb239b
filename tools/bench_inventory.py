#!/usr/bin/env python3
"""Benchmark of the inventory plugin ent.pronote.etablissements on a national-size region.

Seeds a sandbox with N établissements (default 2,000) over four ENT projects
(small établissements: the plugin reads only « Liste des établissements »,
100 a page), writes an ``.ent.yml`` source naming the four consoles, then
times ``ansible-inventory --list``:

- cold: an empty cache, every console signed in to (through its CAS) and
  read page after page;
- from the cache (``jsonfile``): no console read.

Each is run ``--repeat`` times; it prints every time, the median, the peak
memory (RSS) of ``ansible-inventory``, and the targets of issue 16 (cold
≤ 10 s, cache ≤ 1 s). It checks that every établissement of the seed is
listed, in its project's group. Everything runs on loopback; the sandbox is
started and stopped here.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from _sandbox import PASSWORD, PYTHON, ROOT, sandbox, stop

ANSIBLE_INVENTORY = str(Path(PYTHON).with_name("ansible-inventory"))
#: issue 16: the plugin lists 2,000 établissements in ≤ 10 s cold and ≤ 1 s from its cache
TARGETS = {"cold": 10.0, "cache": 1.0}


def write_source(state: Path, out: Path, cache_dir: Path, slugs: list[str]) -> Path:
    """``region.ent.yml`` for the seeded projects, from the group vars the sandbox's inventory generator writes."""
    info = json.loads((state / "sandbox.json").read_text())
    generated = state / "inventory"
    sandbox(state, "inventory", "--out", str(generated))
    projects = []
    for path in sorted((generated / "group_vars").glob("ent_*.yml")):
        values = yaml.safe_load(path.read_text())
        slug = next(s for s in slugs if "ent_" + s.replace("-", "_") == path.stem)
        project = {"slug": slug, "name": values["ent_project"], "console_url": values["ent_console_url"],
                   "cas_url": values["ent_cas_url"], "admin_login": f"admin.{slug}",
                   "admin_password": "{{ lookup('ansible.builtin.env', 'ENT_BENCH_PASSWORD') }}",
                   "ca_path": info["ca"]}
        if values.get("ent_cas_selection"):
            project["cas_selection"] = values["ent_cas_selection"]
        projects.append(project)
    out.mkdir(parents=True, exist_ok=True)
    source = out / "region.ent.yml"
    source.write_text(yaml.safe_dump(
        {"plugin": "ent.pronote.etablissements", "projects": projects, "cache": True,
         "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(cache_dir), "cache_timeout": 3600},
        allow_unicode=True, sort_keys=False))
    return source


def run_inventory(source: Path) -> tuple[float, dict, int]:
    """One ``ansible-inventory --list``: wall seconds, its JSON, and its own peak RSS in MiB."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ENT_BENCH_PASSWORD": PASSWORD}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([ANSIBLE_INVENTORY, "-i", str(source), "--list"], cwd=ROOT, env=env,
                                stdout=out, stderr=err, text=True)
        # wait4: this child's own rusage (its peak RSS), not the largest of all children so far
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode or "WARNING" in stderr:
        raise SystemExit(f"ansible-inventory failed ({proc.returncode}):\n{stderr[-3000:]}")
    return elapsed, json.loads(stdout), usage.ru_maxrss // 1024


#: the plugin's own time: the inventory built in-process (ansible's imports and the JSON output left out)
PARSE = """
import json, sys, time
from ansible.parsing.dataloader import DataLoader
from ansible.inventory.manager import InventoryManager
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader()
start = time.perf_counter()
inventory = InventoryManager(DataLoader(), sources=[sys.argv[1]])
print(json.dumps({"seconds": time.perf_counter() - start, "hosts": len(inventory.hosts)}))
"""


def run_parse(source: Path) -> tuple[float, int]:
    """The plugin's time to build the inventory (in a fresh process), and the hosts it made."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ENT_BENCH_PASSWORD": PASSWORD}
    proc = subprocess.run([PYTHON, "-c", PARSE, str(source)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    if proc.returncode or "WARNING" in proc.stderr:
        raise SystemExit(f"the inventory could not be built ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["seconds"], result["hosts"]


def expected(state: Path) -> dict[str, set[str]]:
    db = sqlite3.connect(f"file:{state / 'sandbox.db'}?mode=ro", uri=True)
    try:
        out: dict[str, set[str]] = {}
        for slug, uai in db.execute("SELECT p.slug, e.uai FROM etabs e JOIN projects p ON p.id = e.project_id"):
            out.setdefault("ent_" + slug.replace("-", "_"), set()).add(uai)
        return out
    finally:
        db.close()


def check(listed: dict, wanted: dict[str, set[str]]) -> None:
    for group, uais in wanted.items():
        got = set(listed.get(group, {}).get("hosts", []))
        if got != uais:
            raise SystemExit(f"{group}: {len(got)} hosts listed, {len(uais)} in the seed")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--etabs", type=int, default=2000)
    parser.add_argument("--projects", default="mbn,occitanie,kosmos,eclat-bfc")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", default="0.05", help="people per établissement, as the seed's --scale")
    parser.add_argument("--state-dir", type=Path, default=None)
    args = parser.parse_args()
    state = args.state_dir or Path(tempfile.mkdtemp(prefix="bench-inventory-"))
    work = Path(tempfile.mkdtemp(prefix="bench-inventory-src-"))
    try:
        stop(state)
        t0 = time.perf_counter()
        sandbox(state, "seed", "--seed", "1", "--etabs", str(args.etabs), "--projects", args.projects,
                "--scale", args.scale, "--reset")
        sandbox(state, "start", "--detach", "--port", "0", "--hosting-port", "0")
        print(f"Région : {args.etabs} établissements, projets {args.projects} (semée en "
              f"{time.perf_counter() - t0:.1f} s)")
        cache_dir = work / "cache"
        source = write_source(state, work / "region", cache_dir, args.projects.split(","))
        wanted = expected(state)
        print("Établissements par projet : " + ", ".join(f"{g} {len(u)}" for g, u in sorted(wanted.items())))
        hosts = sum(len(u) for u in wanted.values())
        times: dict[str, list[float]] = {k: [] for k in ("cold", "cache", "list_cold", "list_cache", "static")}
        peak = {"list_cold": 0, "list_cache": 0, "static": 0}
        for kind in ("cold", "cache"):
            for _ in range(args.repeat):
                if kind == "cold":
                    shutil.rmtree(cache_dir, ignore_errors=True)
                seconds, made = run_parse(source)
                if made != hosts:
                    raise SystemExit(f"{made} hosts built, {hosts} in the seed")
                times[kind].append(seconds)
            for _ in range(args.repeat):
                if kind == "cold":
                    shutil.rmtree(cache_dir, ignore_errors=True)
                elapsed, listed, rss = run_inventory(source)
                check(listed, wanted)
                times["list_" + kind].append(elapsed)
                peak["list_" + kind] = max(peak["list_" + kind], rss)
        # the floor: the same hosts and groups written by hand (the sandbox's generated hosts.yml)
        static = state / "inventory" / "hosts.yml"
        for _ in range(args.repeat):
            elapsed, listed, rss = run_inventory(static)
            check(listed, wanted)
            times["static"].append(elapsed)
            peak["static"] = max(peak["static"], rss)
        print()
        print(f"{'':<44} {'chaque passage (s)':<20} {'médiane':>8} {'cible':>7} {'RSS max':>8}  verdict")
        verdicts = []
        rows = (("cold", "le plugin construit l'inventaire, à froid"), ("cache", "le plugin, depuis le cache"),
                ("list_cold", "ansible-inventory --list, à froid"), ("list_cache", "ansible-inventory --list, cache"),
                ("static", "ansible-inventory --list, hosts.yml écrit"))
        for kind, label in rows:
            median = statistics.median(times[kind])
            target = TARGETS.get(kind)
            verdict = "" if target is None else ("tenue" if median <= target else "NON TENUE")
            if target is not None:
                verdicts.append(median <= target)
            print(f"{label:<44} {' '.join(f'{t:.2f}' for t in times[kind]):<20} {median:>7.2f}s "
                  f"{'≤ ' + str(int(target)) + ' s' if target else '':>7} "
                  f"{str(peak[kind]) + ' Mio' if kind in peak else '':>8}  {verdict}")
        print(f"{hosts} hôtes à chaque passage, chacun dans le groupe de son projet. Les cibles portent sur le "
              "plugin ; ansible-inventory --list y ajoute le chargement d'Ansible, les variables de chaque hôte "
              "et la sortie JSON, comme pour un hosts.yml écrit à la main (dernière ligne).")
        return 0 if all(verdicts) else 1
    finally:
        stop(state)
        shutil.rmtree(work, ignore_errors=True)
        if args.state_dir is None:
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
