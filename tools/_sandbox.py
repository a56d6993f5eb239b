"""Driving the sandbox from the tools (bench, matching report), as a user would: its CLI."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
#: the password of every account the sandbox seeds
PASSWORD = "Demo-2026!"


def sandbox(state: Path, *args: str) -> str:
    """Run ``python -m sandbox <args> --state-dir <state>``; stop the tool when it fails."""
    proc = subprocess.run([PYTHON, "-m", "sandbox", *args, "--state-dir", str(state)], cwd=ROOT,
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"sandbox {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def stop(state: Path) -> None:
    """Stop the sandbox of ``state`` if it runs."""
    subprocess.run([PYTHON, "-m", "sandbox", "stop", "--state-dir", str(state)], cwd=ROOT, capture_output=True)
