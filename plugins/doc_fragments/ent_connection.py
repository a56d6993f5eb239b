"""Documentation fragment: connection to an ENT project's admin console."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  console_url:
    description:
      - URL of the ENT project's admin console, for example C(https://www.monbureaunumerique.fr/).
      - The client signs in through the ENT's CAS by following the console's redirects.
      - Set it once for all modules with C(module_defaults) and the group C(group/ent.pronote.ent).
    type: str
    required: true
  admin_login:
    description: Login of a console administrator of the ENT project.
    type: str
    required: true
  admin_password:
    description: Password of O(admin_login). Never logged; keep it in ansible-vault.
    type: str
    required: true
  ca_path:
    description:
      - CA certificate(s) (PEM) that signed the console's and the CAS's TLS certificates.
      - When unset, the system's trust store is used. C(REQUESTS_CA_BUNDLE) is ignored.
    type: path
  validate_certs:
    description: Verify TLS certificates. Turn off only to diagnose, never in production.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for each answer of the console or the CAS.
    type: float
    default: 30
  retries:
    description:
      - How many times a failed read (server error, timeout, expired session) is retried,
        and how many times in a row the whole read-compare-change cycle is started again
        without getting further. A cycle that changed something before it failed starts the count
        again, up to 8 times as many cycles in all.
    type: int
    default: 3
  retry_time:
    description:
      - Seconds during which a failing read (server error, timeout, lost connection) is retried, beyond
        O(retries) attempts, with a growing pause (up to 5 s, with jitter) between two attempts.
      - The default rides out an outage of about 30 seconds. A form post is never sent twice;
        the read-compare-change cycle starts again from a fresh read instead.
    type: float
    version_added: 0.4.0
    default: 60
  cas_selection:
    description:
      - The identity source of the ENT's own accounts on a K-d'école CAS, the C(selection) parameter of its
        address (C(https://cas.<ent-domain>/login?selection=<source>)), for example C(TOULO-ENT_parent_eleve).
      - The client asks the CAS for that source when the console sends it to sign in. Without it, when the
        CAS shows its page where the user picks an identity source, the client follows the source whose
        label says it is the ENT's accounts; a CAS that offers only EduConnect or agents is an error (the
        administrator, like a test account, must be a local ENT account).
      - Set it for all modules with C(module_defaults) from the group variable C(ent_cas_selection).
    type: str
    version_added: 0.4.0
  session_cache:
    description:
      - Keep the signed-in console session in a file of the user's cache directory (mode 0600),
        so that the tasks of a run sign in once instead of once per task and host.
      - The cache directory is C($ENT_PRONOTE_CACHE_DIR), or C($XDG_CACHE_HOME/ent.pronote), or C(~/.cache/ent.pronote).
    type: bool
    default: true
  lock_timeout:
    description:
      - Seconds to wait while another run (on this controller) changes the same établissement in this
        console. A run takes a lock per console and établissement around each read-compare-change cycle,
        so that two runs started together end with what one run makes (one service, no duplicate rule).
      - When the wait is over, this établissement fails with "another run is working on it" and nothing is changed.
      - The lock of a run that was killed is released at once by the system.
    type: float
    version_added: 0.4.0
    default: 600
notes:
  - Runs on the controller (action plugin); the target host is only a name, the établissement's UAI.
"""
