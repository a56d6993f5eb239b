#!/usr/bin/env python3
"""Time of the merge of many runs' records into the region's report (issue 16 §4: 2,000 records in ≤ 5 s).

Generates, in a temporary directory, the records files a region of N
établissements (4 ENT projects) leaves after a whole-region run and then a
run in S slices (so every établissement has two records, the slices' the
later), each record as a rentrée writes it (4 steps, identifiers counts,
sign-ons, a few findings, some failures). Then measures:

- ``merge``: in this process, reading the files, keeping the latest record
  per établissement, building and writing the report (HTML, JSON, 2 CSV),
  what ``ent.pronote.report_merge`` does;
- ``report.yml``: ``ansible-playbook playbooks/report.yml`` on those files,
  as a user runs it (Ansible's start-up included), its CPU time and peak
  RSS; then the same with the slices' records as AWX hands them, extra vars
  (``-e @artifacts.json``).

Nothing is written outside the temporary directory.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "collections"))

from ansible_collections.ent.pronote.plugins.module_utils import _records, _report  # noqa: E402

PROJECTS = ("Mon Bureau Numérique", "ENT Occitanie", "Lycée connecté", "ENT Auvergne-Rhône-Alpes")
CODES = (("parents_sans_acces", "avertissement", "identifiers"), ("eleves_sortis", "info", "identifiers"),
         ("version_bloc", "erreur", "service"))


def record(uai: str, index: int, rng: random.Random) -> dict:
    failed = rng.random() < 0.03
    steps = {"delegation": "ok", "service": "ok", "identifiers": "changed", "sso": "failed" if failed else "ok"}
    findings = [{"code": code, "severity": severity, "uai": uai, "step": step, "subject": "",
                 "message": f"{rng.randint(1, 40)} compte(s) concerné(s).", "fix": "Dans PRONOTE, corriger la fiche.",
                 "count": rng.randint(1, 40)} for code, severity, step in CODES if rng.random() < 0.2]
    return {"uai": uai, "name": f"Collège n° {index} « Jean Moulin »", "project": PROJECTS[index % len(PROJECTS)],
            "status": "failed" if failed else "changed", "steps": steps,
            "failure": {"step": "Connexion", "msg": "1 of 3 sign-ons failed"} if failed else None,
            "identifiers": {"ent": rng.randint(900, 2500), "assisted": rng.randint(0, 30), "kept": rng.randint(0, 50),
                            "manual": 0, "unmatched": rng.randint(0, 9), "ambiguous": rng.randint(0, 2), "skipped": 3},
            "sign_on": {"ok": 3 - failed, "failed": int(failed)}, "not_done": [], "missing_files": [],
            "findings": findings}


def generate(directory: Path, etabs: int, slices: int, seed: int = 1) -> int:
    """The records files of a whole run, then of ``slices`` slices; returns the number of records written."""
    rng = random.Random(seed)
    uais = [f"{67 + i // 10000:03d}{i % 10000:04d}X" for i in range(etabs)]
    start = datetime(2026, 9, 1, 8, tzinfo=timezone.utc)
    runs = [(start, uais)] + [(start + timedelta(hours=1, seconds=k), sorted(uais)[k::slices]) for k in range(slices)]
    written = 0
    for when, hosts in runs:
        doc = _records.document([record(u, uais.index(u), rng) for u in hosts], kind="rentree",
                                run_id=_records.new_run_id(when), generated_at=when,
                                scope={"hosts": len(hosts), "inventory_hosts": etabs, "partial": len(hosts) < etabs})
        _records.write_document(str(directory), doc)
        written += len(hosts)
    return written


def merge_in_process(directory: Path) -> tuple[float, float, int]:
    started, cpu = time.perf_counter(), time.process_time()
    documents = []
    for path in _records.record_files(str(directory), "rentree"):
        content, why_not = _records.load_file(path)
        documents.append((path, content, why_not))
    merged = _records.merge(documents, kind="rentree")
    data = _report.build(merged.records, kind="rentree", generated_at=datetime.now(timezone.utc))
    _report.write(str(directory), data, basename="rapport-rentree")
    return time.perf_counter() - started, time.process_time() - cpu, len(merged.records)


def merge_with_ansible(directory: Path, *extra: str) -> tuple[float, float, int, str]:
    """Wall time, CPU time (user + system) and peak RSS (KiB) of report.yml, and its summary's merge line."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(directory / "ansible-tmp")}
    playbook = str(Path(sys.executable).with_name("ansible-playbook"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([playbook, "playbooks/report.yml", "-e", f"ent_pronote_report_dir={directory}", *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    peak_kib = after.ru_maxrss
    if proc.returncode != 0:
        raise SystemExit(f"report.yml failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    line = next((x.strip() for x in proc.stdout.splitlines() if "Rapport fusionné" in x), "?")
    return elapsed, cpu, peak_kib, line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--etabs", type=int, default=2000)
    parser.add_argument("--slices", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="merge-bench-") as tmp:
        directory = Path(tmp) / "rapports"
        written = generate(directory, args.etabs, args.slices)
        size = sum(p.stat().st_size for p in (directory / "records").iterdir())
        print(f"records: {written} in {1 + args.slices} files ({size / 1e6:.1f} MB), {args.etabs} établissements")
        seconds, cpu, kept = merge_in_process(directory)
        print(f"merge (read, latest per établissement, build, write the 4 files): {seconds:.2f} s ({cpu:.2f} s CPU), "
              f"{kept} kept, "
              f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
        seconds, cpu, peak, line = merge_with_ansible(directory, "-e", "ent_pronote_report_source=files")
        print(f"ansible-playbook report.yml, the files (Ansible start-up included): {seconds:.2f} s "
              f"({cpu:.2f} s CPU), peak RSS {peak / 1024:.0f} MiB")
        print(f"  {line}")
        # AWX's way: the slices' set_stats artifacts, handed to the report job as extra vars
        artifacts = {}
        for path in _records.record_files(str(directory), "rentree")[1:]:  # the slices, not the earlier whole run
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
            artifacts[_records.stats_key(doc["run_id"])] = doc
        (Path(tmp) / "artifacts.json").write_text(json.dumps(artifacts, ensure_ascii=False), encoding="utf-8")
        seconds, cpu, peak, line = merge_with_ansible(directory, "-e", f"@{Path(tmp) / 'artifacts.json'}")
        print(f"ansible-playbook report.yml -e @artifacts.json (AWX's way): {seconds:.2f} s ({cpu:.2f} s CPU), "
              f"peak RSS {peak / 1024:.0f} MiB")
        print(f"  {line}")
        print(f"report.json: {json.loads((directory / 'rapport-rentree.json').read_text())['summary']['total']} "
              f"établissements")


if __name__ == "__main__":
    main()
