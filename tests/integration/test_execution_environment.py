"""execution-environment.yml: ansible-builder makes the image's build context (no container engine needed),
and finds the collection's requirements through meta/execution-environment.yml."""
from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import yaml

from _harness import ANSIBLE_PLAYBOOK, ROOT

BIN = Path(ANSIBLE_PLAYBOOK).parent


def test_ansible_builder_creates_the_context_with_the_collection_and_its_requirements(tmp_path: Path) -> None:
    # as `make ee` does: the tarball under the name execution-environment.yml expects, beside a copy of it
    shutil.copy(ROOT / "execution-environment.yml", tmp_path / "execution-environment.yml")
    dist = tmp_path / "build" / "ee-collection"
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(dist), str(ROOT)],
                   check=True, capture_output=True)
    next(dist.glob("ent-pronote-*.tar.gz")).rename(dist / "ent-pronote.tar.gz")
    context = tmp_path / "context"
    subprocess.run([str(BIN / "ansible-builder"), "create", "-f", str(tmp_path / "execution-environment.yml"),
                    "-c", str(context), "--output-filename", "Containerfile"], check=True, capture_output=True)

    containerfile = (context / "Containerfile").read_text()
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    with tarfile.open(context / "_build" / "collections" / "ent-pronote.tar.gz") as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))  # type: ignore[arg-type]
        names = set(tar.getnames())
    assert manifest["collection_info"]["version"] == galaxy["version"]
    assert {"meta/execution-environment.yml", "requirements.txt", "bindep.txt"} <= names
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert requirements["collections"] == [{"name": "/build/collections/ent-pronote.tar.gz", "type": "file"}]
    assert "COPY _build /build" in containerfile and "ansible-galaxy collection install" in containerfile
    # ansible-core: the versions meta/runtime.yml declares and CI tests
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    assert runtime["requires_ansible"] == ">=2.17.0"
    assert "ansible-core>=2.17,<2.20" in containerfile and "ansible-runner" in containerfile


def test_ansible_builder_introspects_the_collection_requirements(tmp_path: Path) -> None:
    """What the image build runs (``introspect``) over the installed collection: requirements.txt and bindep.txt."""
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--force", "-p", str(tmp_path / "coll"),
                    str(next(tmp_path.glob("ent-pronote-*.tar.gz")))], check=True, capture_output=True, cwd=tmp_path)
    out = subprocess.run([str(BIN / "ansible-builder"), "introspect", "--sanitize", str(tmp_path / "coll")],
                         check=True, capture_output=True, text=True).stdout
    data = yaml.safe_load(out.split("---", 1)[1])
    python = [line.split("#")[0].strip() for line in data["python"]]
    wanted = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert python == wanted
    system = [line.split("#")[0].strip() for line in data["system"]]
    assert "libxml2-devel [platform:rpm compile]" in system and "libxslt1-dev [platform:dpkg compile]" in system
