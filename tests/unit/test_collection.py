"""The collection as the Ansible world installs it: its requirements, its guarded imports, its role READMEs."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import yaml

from ansible_collections.ent.pronote.plugins.module_utils import _requirements

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
STDLIB = sys.stdlib_module_names


def top_level_imports(path: Path) -> set[str]:
    """The top-level packages a file imports (not ansible, not the collection, not the standard library)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    # jinja2: a requirement of ansible-core itself, always beside it on the controller (_report's page template)
    return {n for n in names if n not in STDLIB and n not in ("ansible", "ansible_collections", "__future__", "jinja2")}


def requirement_names(path: Path) -> set[str]:
    out = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            out.add(re.split(r"[<>=!~ ;\[]", line)[0].lower())
    return out


def test_only_the_shim_imports_third_party_libraries() -> None:
    """Every other plugin file takes them from module_utils/_requirements.py, whose imports are guarded."""
    offenders = {str(p.relative_to(ROOT)): top_level_imports(p) for p in PLUGINS.rglob("*.py")
                 if p.name != "_requirements.py" and top_level_imports(p)}
    assert offenders == {}
    assert top_level_imports(PLUGINS / "module_utils" / "_requirements.py") == set(_requirements.LIBRARIES)


def test_requirements_txt_lists_what_the_plugins_import_with_ranges_not_pins() -> None:
    assert requirement_names(ROOT / "requirements.txt") == set(_requirements.LIBRARIES.values())
    lines = [line.split("#")[0] for line in (ROOT / "requirements.txt").read_text().splitlines()]
    assert not any("==" in line for line in lines)
    assert "ansible-core" not in requirement_names(ROOT / "requirements.txt")
    for sandbox_only in ("flask", "cryptography"):
        assert sandbox_only not in requirement_names(ROOT / "requirements.txt")
    # the checkout installs everything pinned: each runtime library has its exact version in constraints.txt
    pinned = {line.split("==")[0].lower() for line in (ROOT / "constraints.txt").read_text().split()}
    assert requirement_names(ROOT / "requirements-test.txt") <= pinned
    assert requirement_names(ROOT / "requirements.txt") <= pinned


def test_nothing_is_missing_here() -> None:
    assert _requirements.MISSING == {}


def test_a_placeholder_names_the_missing_library() -> None:
    lxml = _requirements.Missing("lxml")
    try:
        lxml.html.fromstring("<p/>")
    except ImportError as exc:
        assert "lxml.html.fromstring" in str(exc) and "requirements.txt" in str(exc)
    else:
        raise AssertionError("a placeholder was callable")


def test_every_module_documents_its_requirements() -> None:
    for path in sorted([*(PLUGINS / "modules").glob("*.py"), *(PLUGINS / "inventory").glob("*.py")]):
        namespace: dict = {}
        exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # doc strings only
        doc = yaml.safe_load(namespace["DOCUMENTATION"])
        assert any("requests" in r for r in doc.get("requirements", [])), path.name
        assert any("lxml" in r for r in doc.get("requirements", [])), path.name


def test_every_role_has_its_readme_up_to_date() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "role_readmes.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for role in (ROOT / "roles").iterdir():
        spec = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]
        text = (role / "README.md").read_text()
        for option in spec.get("options", {}):
            assert f"`{option}`" in text, (role.name, option)


def test_the_changelog_is_generated_from_changelogs(tmp_path: Path) -> None:
    """CHANGELOG.md is antsibull-changelog's output from changelogs/: edit a fragment, not the file."""
    tool = Path(sys.executable).with_name("antsibull-changelog")
    lint = subprocess.run([str(tool), "lint"], cwd=ROOT, capture_output=True, text=True)
    assert lint.returncode == 0 and not lint.stdout.strip(), lint.stdout + lint.stderr
    out = tmp_path / "CHANGELOG.md"
    subprocess.run([str(tool), "generate", "--output", str(out)], cwd=ROOT, check=True, capture_output=True)
    assert out.read_text(encoding="utf-8") == (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_the_installed_collection_finds_its_schema_and_ships_its_requirements(tmp_path: Path) -> None:
    """Built and installed as ansible-galaxy does, outside the checkout: the RapprochementSSO schema the writer
    validates against is inside it, and so are requirements.txt, meta/execution-environment.yml and the report
    page's template."""
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    tarball = next(tmp_path.glob("ent-pronote-*.tar.gz"))
    # --force and another directory: the checkout's ansible.cfg would find ent.pronote already installed
    subprocess.run([str(bin_dir / "ansible-galaxy"), "collection", "install", "--force", "-p", str(tmp_path / "coll"),
                    str(tarball)], check=True, capture_output=True, cwd=tmp_path)
    installed = tmp_path / "coll" / "ansible_collections" / "ent" / "pronote"
    for shipped in ("requirements.txt", "bindep.txt", "meta/execution-environment.yml", "changelogs/changelog.yaml"):
        assert (installed / shipped).is_file(), shipped
    for kept_out in ("sandbox", "tests", "tools", "requirements-test.txt", "execution-environment.yml"):
        assert not (installed / kept_out).exists(), kept_out
    probe = ("from ansible_collections.ent.pronote.plugins.module_utils import _rapprochement as r; "
             "print(r.SCHEMA_PATH); r._schema()")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path / "coll"), "PATH": str(bin_dir)})
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).resolve().is_relative_to(installed.resolve())
    # the report page's template, style and script are data files of the installed collection, found there
    probe = ("import datetime; from ansible_collections.ent.pronote.plugins.module_utils import _report as r; "
             "print(r.TEMPLATES); page = r.to_html(r.build([], kind='rentree', "
             "generated_at=datetime.datetime(2026, 9, 1))); assert 'Rapport de rentrée PRONOTE' in page")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path / "coll"), "PATH": str(bin_dir)})
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).resolve() == (installed / "templates" / "report").resolve()


COLLECTION_README = ROOT / "docs" / "collection.md"


def content_names() -> set[str]:
    modules = {f"ent.pronote.{p.stem}" for p in (PLUGINS / "modules").glob("*.py")}
    roles = {f"ent.pronote.{p.name}" for p in (ROOT / "roles").iterdir() if p.is_dir()}
    playbooks = {f"ent.pronote.{p.stem}" for p in (ROOT / "playbooks").glob("*.yml")}
    inventories = {f"ent.pronote.{p.stem}" for p in (PLUGINS / "inventory").glob("*.py")}
    return modules | roles | playbooks | inventories


def test_the_collection_readme_is_for_an_installed_collection() -> None:
    """It ships (galaxy.yml readme), starts with the two install commands and the versions, and speaks of
    nothing that stays in the checkout."""
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    assert (ROOT / galaxy["readme"]).resolve() == COLLECTION_README
    text = COLLECTION_README.read_text(encoding="utf-8")
    first_block = text.split("```")[1]
    assert "ansible-galaxy collection install" in first_block and "pip install -r" in first_block
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    head = text[:text.index("## ")]
    assert runtime["requires_ansible"] in head and all(v in head for v in ("2.17", "2.18", "2.19"))
    for checkout_only in ("make ", "Makefile", "sandbox", "molecule", "requirements-test", ".venv"):
        assert checkout_only not in text, checkout_only
    for setting in ("forks", "run_vars_plugins", "gathering", "inject_facts_as_vars"):
        assert setting in text


def test_the_readmes_list_every_module_role_and_playbook() -> None:
    names = content_names()
    for readme in (COLLECTION_README, ROOT / "README.md"):
        text = readme.read_text(encoding="utf-8")
        listed = set(re.findall(r"^\| `(ent\.pronote\.\w+)` \| (?:module|role|playbook|inventory) \|", text, re.M))
        assert listed == names, (readme.name, names ^ listed)
    layout = (ROOT / "README.md").read_text(encoding="utf-8").split("## Layout", 1)[1].split("## ", 1)[0]
    for role in (ROOT / "roles").iterdir():
        assert f"roles/{role.name}/" in layout
    for playbook in (ROOT / "playbooks").glob("*.yml"):
        assert f"playbooks/{playbook.name}" in layout


def test_the_files_docs_awx_md_names_exist() -> None:
    text = (ROOT / "docs" / "awx.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:docs|tests|inventories|playbooks|roles|meta)/[\w./-]+\.(?:yml|md|py))`", text))
    named |= {"execution-environment.yml", "requirements.txt", "bindep.txt"}
    assert len(named) > 5
    for path in named:
        assert (ROOT / path).is_file() or (ROOT / "docs" / path).is_file(), path
