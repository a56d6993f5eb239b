"""inventories/demo describes the region that the demo's seed builds."""
from __future__ import annotations

import yaml

from _harness import ROOT, Sandbox


def test_demo_inventory_matches_the_default_seed(sandbox: Sandbox) -> None:
    # The session sandbox is seeded like `make demo` (seed 42, 6 établissements).
    generated = yaml.safe_load((sandbox.inventory / "hosts.yml").read_text())
    committed = yaml.safe_load((ROOT / "inventories" / "demo" / "hosts.yml").read_text())
    assert committed["all"]["children"] == generated["all"]["children"]
    for group in generated["all"]["children"]:
        project = yaml.safe_load((ROOT / "inventories" / "demo" / "group_vars" / f"{group}.yml").read_text())
        assert project["ent_project"] == sandbox.group_vars(group)["ent_project"]
