#!/usr/bin/python
# Copyright: ENT PRONOTE ops
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of ent.pronote.report_merge; the code is in plugins/action/report_merge.py."""
from __future__ import annotations

DOCUMENTATION = r"""
module: report_merge
short_description: The region's report from the records of many runs (AWX slices, runs limited with -l)
version_added: 0.4.0
description:
  - Every run of C(playbooks/rentree.yml) or C(diagnose.yml) publishes its records, one per établissement
    (statuses per step, counts, findings, sign-ons, no person's name), with C(set_stats) under a key of its own,
    C(ent_pronote_records_<run id>), which AWX hands to the next node of a workflow as extra vars; and as a file,
    C(<report_dir>/records/<kind>-<run id>.json) (docs/report.md, I(Records)). C(preflight.yml) writes the file only.
  - This module takes those records, keeps for each établissement the record of the latest run, and writes the
    region's report, the same files as a whole-region run writes (C(rapport-<kind>.html), C(.json), the two CSV).
  - It says what it took and why. A records document that cannot be read (truncated), of another schema (another
    version of the product) or of another kind is left out, with a warning naming it; so is a record that does not
    follow the format. Two records for one établissement from different runs, the latest run's is taken and a
    warning names the others. A status is never made up.
  - Fails when no record at all could be taken.
requirements:
  - requests >= 2.28 (on the controller, where the module runs; see requirements.txt)
  - lxml >= 4.9
attributes:
  check_mode:
    support: full
    description: Writes the report in check mode too; it changes nothing elsewhere.
  diff_mode:
    support: none
    description: Shows no difference in diff mode.
options:
  kind:
    description: Which runs' records to merge, and the report's name.
    type: str
    choices: [rentree, diagnostic, preflight]
    default: rentree
  report_dir:
    description: Directory where the report is written, and whose C(records/) holds the runs' records files.
    type: path
    required: true
  source:
    description:
      - V(artifacts) merges the records passed as variables C(ent_pronote_records_<run id>) (AWX's artifacts of the
        slices, or C(-e @artifacts.json)); V(files), the files of C(<report_dir>/records/).
      - V(auto) takes the artifacts when there are any, else the files.
    type: str
    choices: [auto, artifacts, files]
    default: auto
  artifacts:
    description: The artifacts to merge, a mapping of C(ent_pronote_records_<run id>) to its records. Defaults to the
      variables of that name the task sees.
    type: dict
  runs:
    description: Merge only these runs (their run ids, as the records files and keys name them). Defaults to all.
    type: list
    elements: str
  hosts:
    description: Keep only these établissements (UAIs). Defaults to every établissement with a record.
    type: list
    elements: str
author:
  - ENT PRONOTE ops (!UNKNOWN)
"""

EXAMPLES = r"""
- name: The region's report from the records of the report directory
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Merge the latest record of every établissement
      ent.pronote.report_merge:
        kind: rentree
        report_dir: /data/rapports
        source: files
"""

RETURN = r"""
summary:
  description: Counts and failures, as RV(ent.pronote.run_summary#module:summary).
  returned: success
  type: dict
sources:
  description: One entry per records document given, with C(origin) (file or key), C(run_id), C(generated_at),
    C(product_version), C(scope) (what part of the region the run covered), C(taken) and C(superseded) (numbers of
    établissements), and C(rejected) (why the document was left out, in French; null when it was not).
  returned: success
  type: list
  elements: dict
report:
  description: Paths of the report's files, C(html), C(json), C(csv) and C(csv_constats).
  returned: success
  type: dict
msg:
  description: The summary as French text lines, then what was left out or replaced and why.
  returned: success
  type: list
  elements: str
"""
