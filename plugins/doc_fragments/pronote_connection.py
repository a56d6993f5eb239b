"""Documentation of the options that reach a PRONOTE.net server."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  ca_path:
    description:
      - CA file (PEM) to verify the server's TLS certificate with, instead of the system's.
    type: path
  validate_certs:
    description: Verify TLS certificates. Never turn this off for a real server.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for each answer.
    type: float
    default: 30
  retries:
    description:
      - How many times a failed read (server error, timeout) is retried, and how many times in a row the
        read-compare-change cycle is started again without getting further.
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
notes:
  - Runs on the controller (action plugin); the target host is only a name, the établissement's UAI.
"""
