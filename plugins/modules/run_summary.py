#!/usr/bin/python
# Copyright: ENT PRONOTE ops
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of ent.pronote.run_summary; the code is in plugins/action/run_summary.py."""
from __future__ import annotations

DOCUMENTATION = r"""
module: run_summary
short_description: The end-of-run summary of a rentrée, per ENT project, with the failures
version_added: 0.1.0
description:
  - Reads, for every établissement of the inventory, the step results registered by the roles and the
    failure recorded by the playbook's C(rescue) (variable C(ent_pronote_failure)), and prints in French
    the counts per status and per ENT project, the identifiers imports' totals, then each failed
    établissement with its step and reason, and each one whose identifiers file is missing (not a failure).
  - Counts and établissement names only; never the name of a person.
  - Lists the findings of the diagnosis (M(ent.pronote.pronote_diagnose)) and of the failed sign-ons
    (M(ent.pronote.cas_sso_check)), by établissement and severity, with codes and counts only.
  - With O(report_dir), writes the report of the run there (docs/report.md), C(rapport-<kind>.html), a
    self-contained page in French, sortable and filterable without a server, and the same data as
    C(rapport-<kind>.json) and C(rapport-<kind>-etablissements.csv) / C(rapport-<kind>-constats.csv).
  - With O(report_dir), returns the run's records (RV(records)) and writes them with the report, so that
    M(ent.pronote.report_merge) can make one report of many runs (the slices of an AWX sliced job). A run that
    covers part of the inventory only (C(--limit), a slice) says so in its summary and report.
  - Fails when an établissement failed, so that the run's exit status says so, unless O(fail_on_failures=false).
requirements:
  - requests >= 2.28 (on the controller, where the module runs; see requirements.txt)
  - lxml >= 4.9
attributes:
  check_mode:
    support: full
    description: Can run in check mode and return a prediction of what would change, without changing anything.
  diff_mode:
    support: none
    description: Shows no difference in diff mode.
options:
  results:
    description: Names of the variables registered by the steps (for example C(ent_pronote_service_result)).
    type: list
    elements: str
    default: []
  hosts:
    description: The établissements to summarise. Defaults to every host of the inventory.
    type: list
    elements: str
  kind:
    description: What the run was, for the titles and the report's name.
    type: str
    choices: [rentree, diagnostic, preflight]
    default: rentree
    version_added: 0.4.0
  report_dir:
    description: Directory where to write the report (created, mode 0700 when new). No report when unset.
    type: path
    version_added: 0.4.0
  fail_on_failures:
    description:
      - Fail this task when an établissement failed.
      - Run once (C(run_once)), a failed task is counted on the one host it ran on, not on the établissements
        that failed. Set V(false) there, and fail each failed établissement on its own host in a task after this one,
        from RV(summary.failures) (as C(playbooks/rentree.yml) does), so that the recap, the callbacks' events and
        the retry list name exactly those.
    type: bool
    default: true
    version_added: 0.4.0
author:
  - ENT PRONOTE ops (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Summary of the rentrée
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Print the summary
      ent.pronote.run_summary:
        results: [ent_pronote_service_result, ent_pronote_identifiers_result]
"""

RETURN = r"""
summary:
  description: Counts and failures.
  returned: always
  type: dict
  contains:
    total:
      description: Number of établissements.
      type: int
    counts:
      description: Établissements per status (failed, changed, ok, not_run).
      type: dict
    projects:
      description: The same counts per ENT project.
      type: dict
    failures:
      description: One entry per failed établissement, with uai, name, project, step and msg.
      type: list
      elements: dict
    missing_files:
      description: Files a step did not find (an identifiers file not exported yet), with uai, name and file.
      type: list
      elements: dict
    not_done:
      description: Steps not done for a reason other than a failure (no client certificate for the hosting console),
        with uai, name and reason (in French).
      type: list
      elements: dict
    sign_on:
      description: Sign-on checks (ent.pronote.cas_sso_check) summed over the établissements, C(ok) and C(failed);
        empty when none ran.
      type: dict
    findings:
      description: Number of findings per severity (C(erreur), C(avertissement), C(info)); empty when none.
      type: dict
    with_findings:
      description: The établissements with findings, each with uai, name and codes (severity -> codes).
      type: list
      elements: dict
    identifiers:
      description: The identifiers imports' outcomes summed over the établissements (see
        ent.pronote.ent_identifiers_import's RV(ent.pronote.ent_identifiers_import#module:counts)); empty when none ran.
      type: dict
report:
  description: Paths of the report's files, C(html), C(json), C(csv) and C(csv_constats), and C(records), the run's
    records file (C(<report_dir>/records/<kind>-<run id>.json)).
  returned: when O(report_dir) is set
  type: dict
run_id:
  description: The run's id, a UTC time and random hex (C(20260901T163000Z_3fa9c2)), which names its records.
  returned: always
  type: str
  version_added: 0.4.0
scope:
  description: What part of the region the run covered, C(hosts), C(inventory_hosts), C(partial), and C(slice)
    (C(number), C(count)) when it is slice K of N of an AWX sliced job (docs/report.md, I(Records)).
  returned: always
  type: dict
  version_added: 0.4.0
records_key:
  description: The C(set_stats) key to publish RV(records) under, C(ent_pronote_records_<run id>); one per run, as
    AWX merges the artifacts of the slices key by key.
  returned: when O(report_dir) is set
  type: str
  version_added: 0.4.0
records:
  description: The run's records document, one record per établissement, for M(ent.pronote.report_merge).
  returned: when O(report_dir) is set
  type: dict
  version_added: 0.4.0
msg:
  description: The summary as French text lines.
  returned: always
  type: list
  elements: str
"""
