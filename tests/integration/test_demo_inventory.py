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
        # the K-d'école CAS's local-accounts source, for the project whose CAS speaks that dialect
        assert project.get("ent_cas_selection") == sandbox.group_vars(group).get("ent_cas_selection")


def test_demo_test_accounts_are_the_ones_the_seed_picks(sandbox: Sandbox) -> None:
    # The sign-on check's test accounts of the demo: what `python -m sandbox inventory` writes for seed 42.
    for uai in sandbox.hosts():
        generated = yaml.safe_load((sandbox.inventory / "host_vars" / f"{uai}.yml").read_text())
        committed = yaml.safe_load((ROOT / "inventories" / "demo" / "host_vars" / f"{uai}.yml").read_text())
        assert committed == generated
        assert {a["profile"] for a in committed["pronote_sso_test_accounts"]} == {
            "Elève", "Parent", "Enseignant", "Personnel"}
