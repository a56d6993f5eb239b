#!/usr/bin/python
# Copyright: ENT PRONOTE ops
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of ent.pronote.ent_identifiers_import; the code is in plugins/action/ent_identifiers_import.py."""
from __future__ import annotations

DOCUMENTATION = r"""
module: ent_identifiers_import
short_description: Import the PRONOTE identifiers of an établissement into a K-d'école ENT, with safe matching
version_added: 0.2.0
description:
  - Step 4 of the PRONOTE connector, I(Administration > Importer les identifiants Pronote), for one établissement.
    Binds every PRONOTE account of the export file (step 2, I(Exportation des identifiants PRONOTE)) to its ENT
    account, so that the ENT's CAS releases the right C(idPronote).
  - Reads the file on the controller, refusing a malformed, truncated or hostile file, or the file of another
    établissement, before touching the ENT.
  - Reads what the ENT holds now (I(Identifiants importés)) and its directory, and decides each person of the
    file. The ENT's own matching (exact name, first name and birth date) is completed by an assisted matching
    that tolerates accents, case, hyphens, apostrophes, ligatures and several first names, matches
    responsables through their children, and uses the I(Identifiant CAS) PRONOTE already knows.
    It never pairs a person when more than one account fits, when the account already holds another identifier
    of this établissement, or when the person is a duplicate in the file or a pupil who has left.
    The ENT's own I(reconnus) are kept only when the same checks accept them.
  - When the file would change nothing, nothing is uploaded and the result is C(ok). Otherwise the file is
    uploaded and the six steps (enseignants, élèves, responsables, maîtres de stage, inspecteurs pédagogiques,
    personnels) are validated with the decided accounts. A run cut in the middle (server error, expired
    session, import interrupted) is finished by a retry, or by the next run.
  - In mode C(complet) an account absent from the file loses its identifier. An import that would remove more
    than O(max_removed_share) of the identifiers the ENT holds (an empty or truncated file) is refused unless
    O(force=true).
  - The result holds counts only. Names of people go only to the O(report) file, written with mode 0600 when asked.
extends_documentation_fragment:
  - ent.pronote.ent_connection
requirements:
  - requests >= 2.28 (on the controller, where the module runs; see requirements.txt)
  - lxml >= 4.9
attributes:
  check_mode:
    support: full
    description: Reads the ENT, decides every person and predicts the counts; uploads and validates nothing.
      The O(report) is written in check mode too, to prepare the manual matches before the real run.
  diff_mode:
    support: full
    description: Shows the number of identifiers per profile before and after, never a name.
  action_group:
    support: full
    description: Part of the action group C(group/ent.pronote.ent), so its connection options can be set once with C(module_defaults).
    membership: [ent.pronote.ent]
options:
  uai:
    description: UAI of the établissement. The file's C(UAI) must be this one.
    type: str
    required: true
  src:
    description: The identifiers file exported by PRONOTE, on the controller.
    type: path
    required: true
  skip_missing:
    description: When O(src) does not exist, report the task C(skipped) with a message instead of failing.
      The rentrée does this, so that a file not exported yet is reported, not fatal.
    type: bool
    default: false
  mode:
    description:
      - I(Mode d'import). C(complet) replaces the établissement's identifiers; C(partiel) only adds.
      - C(auto) takes C(partiel) when the file was exported with I(Uniquement les utilisateurs sans identifiants
        CAS), C(complet) otherwise, as the vendor's guide says.
    type: str
    choices: [auto, complet, partiel]
    default: auto
  manual_matches:
    description:
      - The matches a person decided, as a CSV file (C(;) or C(,), UTF-8, a header line) with the columns
        C(identifiant_pronote) and C(compte_ent). Other columns are ignored, rows with an empty C(compte_ent) too, so the
        C(.correspondances.csv) file written next to O(report) can be filled in and given back as it is.
      - Each account must exist in the établissement's directory with the profile of the person's category.
    type: path
  assisted:
    description: Add the product's assisted matching to the ENT's. When false, only the ENT's own I(reconnus),
      the pairs already in place and O(manual_matches) are validated.
    type: bool
    default: true
  max_removed_share:
    description: The largest share (0 to 1) of the identifiers the ENT holds that a C(complet) import may remove.
    type: float
    default: 0.1
  force:
    description: Import even when more than O(max_removed_share) of the identifiers would be removed.
    type: bool
    default: false
  report:
    description:
      - Write a per-person report to this path (CSV, C(;), mode 0600), in French, with each unmatched and ambiguous
        account and its ENT candidates, and next to it the manual matches to fill in
        (C(<report>.correspondances.csv)).
      - It holds names of pupils and parents. Keep it out of shared places.
    type: path
  rapprochement:
    description:
      - Also write, to this path, the matching in the other direction, ENT to PRONOTE, in Index Éducation's
        RapprochementSSO V2.0 format (C(docs/schemas/rapprochementsso-v2.0.xsd)), for PRONOTE to fill in its
        « Identifiant CAS » in bulk instead of account by account. Validated against the schema; mode 0600.
      - Only the pairs decided with certainty (reconnus by the ENT, assisted, kept, manual); never an ambiguous,
        unmatched or skipped person, nor a login two identifiers would share, nor homonyms PRONOTE could
        confuse (the format identifies people by name). Maîtres de stage and inspecteurs have no element in
        the format.
      - It holds names of pupils and parents. Keep it out of shared places.
    type: path
    version_added: 0.4.0
  partner:
    description: « Partenaire » of the RapprochementSSO file, the ENT project's name. Defaults to C(ENT).
    type: str
    version_added: 0.4.0
  max_file_size:
    description: Refuse an identifiers file larger than this many bytes (checked from its size before it is read; 50 MiB by default).
    type: int
    default: 52428800
  reuse_verdict:
    description:
      - Remember, in the cache directory (mode 0600, counts only), that the file changes nothing on the ENT.
        The next run still reads the site's identifiers and directory; when these pages, the file, the manual
        matches and the options are byte for byte the same, it returns the remembered result instead of
        deciding every person again.
      - Any difference decides again. A verdict is never used when O(report) or O(rapprochement) is asked.
      - After a real import, the site is read and decided once more to prove the import converged; a warning
        says so when something would still change.
    type: bool
    default: true
    version_added: 0.3.0
author:
  - ENT PRONOTE ops (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Import the identifiers of the rentrée (all users, mode complet)
  ent.pronote.ent_identifiers_import:
    uai: "{{ inventory_hostname }}"
    src: "files/identifiants/{{ inventory_hostname }}.xml"
    report: "reports/{{ inventory_hostname }}-rapprochement.csv"

- name: Later in the year, the new users only, with the matches a person decided
  ent.pronote.ent_identifiers_import:
    uai: 0671234C
    src: files/0671234C-nouveaux.xml
    mode: partiel
    manual_matches: reports/0671234C-rapprochement.correspondances.csv
"""

RETURN = r"""
uai:
  description: The établissement.
  returned: always
  type: str
mode:
  description: The I(Mode d'import) used, C(complet) or C(partiel).
  returned: success
  type: str
uploaded:
  description: Whether the file was uploaded (false when nothing had to change, and in check mode).
  returned: success
  type: bool
reused_verdict:
  description: True when nothing had to change and the result is the one remembered by an earlier run (O(reuse_verdict)).
  returned: when a verdict was reused
  type: bool
people:
  description: Number of people in the file.
  returned: success
  type: int
counts:
  description:
    - Per category (C(enseignants), C(eleves), C(responsables), C(maitres_de_stage), C(inspecteurs),
      C(personnels)) and in C(total), the number of people per outcome.
    - C(ent) recognised by the ENT's own matching, C(assisted) by the assisted matching, C(kept) already bound,
      C(manual) from O(manual_matches), C(unmatched) no account found, C(ambiguous) several accounts fit or the
      account is taken, C(skipped) pupils who have left and duplicates in the file.
  returned: success
  type: dict
  sample: {"total": {"ent": 812, "assisted": 1490, "kept": 0, "manual": 2, "unmatched": 31, "ambiguous": 4,
           "skipped": 12}}
identifiers:
  description: Identifiers the ENT holds before and after (predicted in check mode), and how many are added,
    replaced (another identifier for the account) and removed.
  returned: success
  type: dict
  sample: {"before": 0, "after": 2304, "added": 2304, "replaced": 0, "removed": 0}
removed_by_profile:
  description: The identifiers this import removed (predicted in check mode), per ENT profile of their account.
  returned: success
  type: dict
  sample: {"Elève": 3, "Parent": 2}
  version_added: 0.4.0
findings:
  description:
    - What the import removed, as a finding of the report (M(ent.pronote.run_summary)) with its French message
      and fix, C(identifiants_retires) (C(info)), or C(identifiants_retires_nombreux) (C(avertissement)) when more
      than 2 % of the identifiers the ENT held were removed, which is also a warning of the task.
  returned: when identifiers were removed
  type: list
  elements: dict
  version_added: 0.4.0
pairs_withdrawn:
  description:
    - Mode complet. Pairs the ENT held that the matching's rules would not make, removed by this import, per
      kind (C(left) pupils who left, C(duplicate) people written twice in PRONOTE, C(ambiguous) two ENT accounts
      fit, listed in the file to fill in by hand, C(no_paired_child) parents with no child paired). They count
      under O(max_removed_share) like any removal. All zero in mode partiel.
  returned: success
  type: dict
  sample: {"left": 3, "duplicate": 2, "ambiguous": 1, "no_paired_child": 4}
pairs_contested:
  description: Mode partiel. The same pairs, kept (nothing is removed in mode partiel) and reported. All zero in
    mode complet.
  returned: success
  type: dict
  sample: {"left": 0, "duplicate": 0, "ambiguous": 2, "no_paired_child": 0}
report:
  description: Path of the report written.
  returned: when O(report) is set
  type: str
manual_matches_template:
  description: Path of the manual matches file to fill in.
  returned: when O(report) is set
  type: str
rapprochement:
  description: The RapprochementSSO file written, counts only, C(path), C(format), C(written), C(left_out) and
    per category C(people), C(written), C(unchanged) (the login already in PRONOTE) and C(left_out) by reason
    (C(unmatched), C(ambiguous), C(skipped), C(undecided), C(login_conflict), C(already_set), C(no_element),
    C(no_birth_date), C(homonym)).
  returned: when O(rapprochement) is set
  type: dict
resumed:
  description: How many times an attempt went on with the import an earlier attempt of this run had left in
    progress (after a server error or an expired session), instead of uploading the file again.
  returned: when it happened
  type: int
abandoned_import:
  description: The step (1 to 6) of an import left in progress by an earlier run (killed), which was
    interrupted (« Interrompre ») before this one was uploaded.
  returned: when there was one
  type: list
  elements: int
"""
