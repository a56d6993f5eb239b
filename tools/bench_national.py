#!/usr/bin/env python3
"""Benchmark at national size (issue 16 §4): a region of 2,000 établissements over 4 ENT projects.

The hosts come from the inventory plugin (``ent.pronote.etablissements``
reading the four consoles), the variables from ``group_vars``/``host_vars``
beside its source, as a region's AWX inventory gives them. It measures, on
one freshly seeded sandbox (small établissements, the whole rentrée:
delegation, service, identifiers, sign-on check):

1. the plugin listing the region, cold (``ansible-inventory --list``);
2. the rentrée on one controller, unsliced: cold, then no-op;
3. the same no-op rentrée in 4 slices started together (hosts cut as AWX
   cuts them: in name order, every 4th), each its own ``ansible-playbook``,
   as 4 AWX nodes would run them, except that here they share this
   machine's cores (and the sandbox's): the wall time of the 4, and each
   slice's own time and throughput;
4. the merge of the 4 slices' records into the region's report
   (``playbooks/report.yml``).

With the peak memory (RSS) of each run. Targets of the issue: the plugin
≤ 10 s cold, the merge ≤ 5 s, the no-op rentrée of 2,000 on one controller
≤ 8 min. Everything runs on loopback; the sandbox is started and stopped
here.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from _sandbox import PASSWORD, PYTHON, ROOT, sandbox, stop
from bench import GUARD, RECAP, fresh_region
from bench_inventory import write_source

TARGETS = {"inventory": 10.0, "merge": 5.0, "noop": 480.0}
SLICES = 4
PROJECTS = "mbn,occitanie,kosmos,eclat-bfc"


def plugin_inventory(state: Path, region: dict, out: Path) -> Path:
    """A directory holding the plugin's source and the group and host variables of the seeded region."""
    for kind in ("group_vars", "host_vars"):  # first: write_source writes the sandbox's inventory anew
        shutil.copytree(region["inventory"] / kind, out / kind, dirs_exist_ok=True)
    return write_source(state, out, out / "cache", PROJECTS.split(","))


def timed(args: list[str], env: dict[str, str], log: Path) -> tuple[float, int, int, str]:
    """Run ``args``: wall seconds, exit code, the peak RSS (MiB) of its largest process, its output."""
    start = time.perf_counter()
    with log.open("w+") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        out.seek(0)
        text = out.read()
    # ru_maxrss of wait4 is the largest of the process and the children it waited for (Ansible's forks)
    return elapsed, os.waitstatus_to_exitcode(status), usage.ru_maxrss // 1024, text


def playbook(source: Path, cache: Path, report_dir: Path, log: Path, *args: str,
             book: str = "playbooks/rentree.yml") -> dict:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ENT_PRONOTE_CACHE_DIR": str(cache),
           "ANSIBLE_NOCOLOR": "1", "ENT_BENCH_PASSWORD": PASSWORD}
    elapsed, rc, peak, text = timed([str(Path(PYTHON).with_name("ansible-playbook")), book, "-i", str(source),
                                     "-e", f"ent_pronote_report_dir={report_dir}", *GUARD, *args], env, log)
    stats = RECAP.findall(text)
    if rc or any(int(failed) for _, failed in stats):
        raise SystemExit(f"{book} failed ({rc}), see {log}:\n{text[-4000:]}")
    return {"seconds": elapsed, "peak": peak, "hosts": len(stats), "changed": sum(int(c) for c, _ in stats)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--etabs", type=int, default=2000)
    parser.add_argument("--scale", type=float, default=1.0, help="people per établissement, as the seed's --scale")
    parser.add_argument("--keep", type=Path, help="keep the logs and records in this directory")
    args = parser.parse_args()
    return national(args.etabs, args.scale, args.keep)


def national(etabs: int = 2000, scale: float = 1.0, keep: Path | None = None) -> int:
    """The measures above, then their table; 0 when every target is met (``make bench``'s phase ``national``)."""
    args = argparse.Namespace(etabs=etabs, scale=scale, keep=keep)
    tmp = Path(tempfile.mkdtemp(prefix="bench-national-"))
    logs = args.keep or tmp / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    state = tmp / "sandbox"
    rows: list[tuple[str, str, float, int, str]] = []
    try:
        t0 = time.perf_counter()
        region = fresh_region(state, args.etabs, 0, args.scale, full=True, projects=PROJECTS)
        print(f"Région : {args.etabs} établissements, projets {PROJECTS} (semée en {time.perf_counter() - t0:.0f} s)",
              flush=True)
        source = plugin_inventory(state, region, tmp / "region")
        env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ENT_BENCH_PASSWORD": PASSWORD}
        seconds, rc, peak, text = timed([str(Path(PYTHON).with_name("ansible-inventory")), "-i", str(source),
                                         "--list"], env, logs / "inventory.log")
        listed = json.loads(text[text.index("{"):])
        hosts = sorted(listed["_meta"]["hostvars"])
        if rc or len(hosts) != args.etabs:
            raise SystemExit(f"ansible-inventory: rc {rc}, {len(hosts)} hosts of {args.etabs}")
        rows.append(("plugin, ansible-inventory --list à froid", "", seconds, peak, "inventory"))
        print(f"   inventaire {seconds:.1f} s", flush=True)

        whole = tmp / "rapports-region"
        cold = playbook(source, tmp / "cache", whole, logs / "cold.log")
        rows.append(("rentrée, un contrôleur, à froid", f"{cold['seconds'] / args.etabs:.3f}", cold["seconds"],
                     cold["peak"], ""))
        print(f"   à froid {cold['seconds']:.0f} s", flush=True)
        noop = playbook(source, tmp / "cache", whole, logs / "noop.log")
        if noop["changed"]:
            print(f"   ATTENTION : le passage sans changement a changé {noop['changed']} tâche(s)")
        rows.append(("rentrée, un contrôleur, sans changement", f"{noop['seconds'] / args.etabs:.3f}",
                     noop["seconds"], noop["peak"], "noop"))
        print(f"   sans changement {noop['seconds']:.0f} s", flush=True)

        # 4 slices as AWX cuts them, in parallel, each with its own cache and report directory (a container each)
        volume = tmp / "rapports-tranches"
        parts = [hosts[k::SLICES] for k in range(SLICES)]
        for k, part in enumerate(parts):
            (tmp / f"tranche-{k + 1}.txt").write_text("\n".join(part) + "\n")

        def one(k: int) -> dict:
            return playbook(source, tmp / f"cache-{k + 1}", volume, logs / f"tranche-{k + 1}.log",
                            "--limit", f"@{tmp / f'tranche-{k + 1}.txt'}")

        started = time.perf_counter()
        with ThreadPoolExecutor(SLICES) as pool:
            slices = list(pool.map(one, range(SLICES)))
        wall = time.perf_counter() - started
        rows.append((f"{SLICES} tranches en parallèle, sans changement (ensemble)", f"{wall / args.etabs:.3f}", wall,
                     max(s["peak"] for s in slices), ""))
        for k, (part, run) in enumerate(zip(parts, slices), 1):
            rows.append((f"  tranche {k} : {len(part)} établissements", f"{run['seconds'] / len(part):.3f}",
                         run["seconds"], run["peak"], ""))
        print(f"   {SLICES} tranches {wall:.0f} s", flush=True)

        merged = playbook(source, tmp / "cache", volume, logs / "report.log", "-e", "ent_pronote_report_source=files",
                          book="playbooks/report.yml")
        report = json.loads((volume / "rapport-rentree.json").read_text(encoding="utf-8"))
        if len(report["etablissements"]) != args.etabs:
            raise SystemExit(f"the merged report has {len(report['etablissements'])} établissements")
        rows.append((f"fusion des {SLICES} tranches (report.yml)", "", merged["seconds"], merged["peak"], "merge"))
    finally:
        stop(state)
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(f"{args.etabs} établissements, {PROJECTS.count(',') + 1} projets ENT, machine de {os.cpu_count()} cœurs "
          "partagés avec le bac à sable")
    print(f"{'':<52} {'s':>8} {'s/étab':>7} {'RSS max':>9}  cible")
    verdicts = []
    for label, per, seconds, peak, target in rows:
        goal = TARGETS.get(target)
        verdict = "" if goal is None else f"≤ {goal:g} s : " + ("tenue" if seconds <= goal else "NON TENUE")
        if goal is not None:
            verdicts.append(seconds <= goal)
        print(f"{label:<52} {seconds:>8.1f} {per:>7} {peak:>5} Mio  {verdict}")
    print("Le débit par tranche est celui qu'un nœud AWX donnerait seul ; ici les 4 tranches se partagent deux cœurs "
          "et le bac à sable.")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
