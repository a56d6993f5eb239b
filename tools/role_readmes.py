"""Write roles/<role>/README.md from the role's meta/argument_specs.yml (the one source of its variables).

    .venv/bin/python tools/role_readmes.py          # rewrite them
    .venv/bin/python tools/role_readmes.py --check  # exit 1 when one is out of date (tests/unit/test_docs.py)
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
#: Ansible doc markup -> Markdown
MARKUP = [(re.compile(r"[COVIM]\(([^)]*)\)"), r"`\1`"), (re.compile(r"RV\(([^)]*)\)"), r"`\1`")]


def plain(text: str) -> str:
    for pattern, repl in MARKUP:
        text = pattern.sub(repl, text)
    return text


def lines_of(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [plain(v) for v in ([value] if isinstance(value, str) else value)]


def readme(role: Path) -> str:
    spec = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))["argument_specs"]["main"]
    name = f"ent.pronote.{role.name}"
    out = [f"# {name}", "", plain(spec["short_description"]), ""]
    out += [f"{line}\n" for line in lines_of(spec.get("description"))]
    out += ["## Usage", "", "Hosts are établissements (host name = UAI); every task runs on the controller.", "",
            "```yaml", f"- name: {spec['short_description'].rstrip('.')}", "  ansible.builtin.import_role:",
            f"    name: {name}", "```", "",
            "`playbooks/rentree.yml` and `playbooks/diagnose.yml` show the roles in use, with the connection",
            "set once in `module_defaults` and a failure of one établissement recorded, not fatal.", "",
            "## Variables", "", "| Variable | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for option, body in spec.get("options", {}).items():
        default = "**required**" if body.get("required") else (
            f"`{body['default']}`" if "default" in body else "")
        kind = body.get("type", "str") + (f" of {body['elements']}" if body.get("elements") else "")
        if body.get("choices"):
            kind += " (" + ", ".join(f"`{c}`" for c in body["choices"]) + ")"
        text = " ".join(lines_of(body.get("description"))).replace("|", "\\|").replace("\n", " ")
        out.append(f"| `{option}` | {kind} | {default} | {text} |")
    out += ["", "Generated from `meta/argument_specs.yml` by `tools/role_readmes.py`: edit that file, not this one.",
            ""]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    stale = []
    for role in sorted(p for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists()):
        text, path = readme(role), role / "README.md"
        if "--check" in argv:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date (run tools/role_readmes.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
