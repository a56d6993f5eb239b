"""Stand-in for the pip bootstrap script that ansible-test downloads.

ansible-test (--venv, and the sanity tests' own virtualenvs) makes each
virtualenv without pip, then downloads a ``get-pip.py`` from a host that is
not PyPI, which CI here cannot reach. It uses a copy found at
``~/.ansible/test/cache/get_pip_<version>.py`` instead (its own message says
so); ``make sanity`` puts this file there. Like get-pip.py it installs the
packages it is given (``pip==<version>``, and setuptools and wheel unless
``--no-setuptools`` / ``--no-wheel``), from the package index pip is set up
for, with the pip wheel that Python's own ``ensurepip`` ships.
"""
from __future__ import annotations

import glob
import os
import sys

import ensurepip

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
args += [name for name, flag in (("setuptools", "--no-setuptools"), ("wheel", "--no-wheel")) if flag not in sys.argv]
wheels = sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl")))
if not wheels:
    sys.exit("ensurepip has no pip wheel in this Python: install python3-pip, or put the real get-pip.py here")
sys.path.insert(0, wheels[-1])

from pip._internal.cli.main import main  # noqa: E402  (the wheel, just put on the path)

sys.exit(main(["install", *args]))
