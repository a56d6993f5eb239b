"""The inventory plugin ent.pronote.etablissements: its CSV source, its UAI checks, « Liste des établissements »
read page after page, and the inventory it builds (groups, variables, Constructable, the cache, a console down)."""
from __future__ import annotations

from pathlib import Path

import pytest
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader

from ansible_collections.ent.pronote.plugins.inventory import etablissements as plugin
from ansible_collections.ent.pronote.plugins.module_utils._errors import ScreenMismatchError, UnexpectedPageError

from .fakes import BASE

PROJECTS = {"mbn": "mbn", "mon bureau numérique": "mbn", "occitanie": "occitanie"}


# --- the CSV source ---------------------------------------------------------------
def test_csv_lines_become_etablissements_of_their_project() -> None:
    text = "UAI;Nom;Projet\n0671234c;Collège Vauban;mbn\n\n0312615Z;Lycée Olympe de Gouges;Occitanie\n" \
           "0518928C;Collège Molière;Mon Bureau Numérique\n"
    etabs, problems = plugin.read_csv(text, "annuaire.csv", PROJECTS)
    assert problems == []
    assert [(e.uai, e.name, e.project, e.source) for e in etabs] == [
        ("0671234C", "Collège Vauban", "mbn", "csv"),  # upper-cased, as the console shows it
        ("0312615Z", "Lycée Olympe de Gouges", "occitanie", "csv"),
        ("0518928C", "Collège Molière", "mbn", "csv")]


def test_a_uai_with_a_wrong_check_letter_is_reported_with_its_line_and_left_out() -> None:
    text = "0671234C;Collège Vauban;mbn\n0671234D;Collège Faux;mbn\n123;Trop court;mbn\n"
    etabs, problems = plugin.read_csv(text, "annuaire.csv", PROJECTS)
    assert [e.uai for e in etabs] == ["0671234C"]
    assert len(problems) == 2
    assert "annuaire.csv, ligne 2" in problems[0].message and "0671234D" in problems[0].message
    assert "invalide" in problems[0].message
    assert "annuaire.csv, ligne 3" in problems[1].message and "« 123 »" in problems[1].message


def test_csv_lines_that_cannot_be_read_are_reported_not_guessed() -> None:
    text = "0671234C;Collège Vauban\n0671234C;Collège Vauban;bretagne\n0671234C;Collège Vauban;mbn\n" \
           "0671234C;Collège Vauban bis;mbn\n"
    etabs, problems = plugin.read_csv(text, "r.csv", PROJECTS)
    assert [(e.uai, e.name) for e in etabs] == [("0671234C", "Collège Vauban")]
    messages = [p.message for p in problems]
    assert "r.csv, ligne 1" in messages[0] and "UAI;nom;projet" in messages[0]
    assert "r.csv, ligne 2" in messages[1] and "« bretagne » inconnu" in messages[1] and "mbn, occitanie" in messages[1]
    assert "r.csv, ligne 4" in messages[2] and "déjà à la ligne 3" in messages[2]


def test_a_csv_in_windows_1252_is_read() -> None:
    data = "0671234C;Collège Vauban;mbn\n".encode("cp1252")
    assert plugin.decode_csv(data) == "0671234C;Collège Vauban;mbn\n"
    assert plugin.decode_csv("\ufeffUAI;Nom;Projet\n".encode()) == "UAI;Nom;Projet\n"


def test_group_names_are_those_of_the_sandbox_inventory() -> None:
    assert plugin.group_name("mbn") == "ent_mbn"
    assert plugin.group_name("ile-de-france") == "ent_ile_de_france"


# --- « Liste des établissements », page after page -----------------------------
ETABS = "admin/etablissements"


def etabs_page(rows: list[tuple[str, ...]], header: tuple[str, ...] = ("UAI", "Nom", "Type", "Commune"),
               following: str = "") -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    nav = f'<nav class="pagination"><a rel="next" href="{following}">Page suivante</a></nav>' if following else ""
    return (f"<html><body><h1>Liste des établissements</h1><table id=\"etablissements\"><thead><tr>{head}</tr>"
            f"</thead><tbody>{body}</tbody></table>{nav}</body></html>")


def test_the_list_is_read_page_after_page(fake_ent, console_factory) -> None:
    fake_ent.pages[ETABS] = etabs_page([("<a href='x'>0671234C</a>", "Collège Vauban", "Collège", "Strasbourg")],
                                       following=f"{fake_ent.prefix}{ETABS}?page=2")
    fake_ent.pages[ETABS + "?page=2"] = etabs_page([("0312615Z", "Lycée Olympe de Gouges", "Lycée", "Toulouse")])
    listed = console_factory().list_etablissements()
    assert [(e.uai, e.name, e.kind) for e in listed] == [("0671234C", "Collège Vauban", "Collège"),
                                                         ("0312615Z", "Lycée Olympe de Gouges", "Lycée")]
    assert fake_ent.sign_ins == 1
    assert [r.url.rsplit("/", 1)[-1] for r in fake_ent.log if r.path.endswith(ETABS)][-2:] == [
        "etablissements", "etablissements?page=2"]


def test_the_type_is_read_only_when_the_console_shows_it(fake_ent, console_factory) -> None:
    fake_ent.pages[ETABS] = etabs_page([("0671234C", "Collège Vauban")], header=("UAI", "Nom"))
    assert [(e.uai, e.kind) for e in console_factory().list_etablissements()] == [("0671234C", "")]


def test_a_list_without_the_uai_column_names_what_it_expected(fake_ent, console_factory) -> None:
    fake_ent.pages[ETABS] = etabs_page([("0671234C", "Collège Vauban")], header=("Code", "Nom"))
    with pytest.raises(ScreenMismatchError) as caught:
        console_factory().list_etablissements()
    assert "Liste des établissements" in str(caught.value) and "« UAI »" in str(caught.value)


def test_a_next_page_that_comes_back_or_leaves_the_console_is_an_error(fake_ent, console_factory) -> None:
    row = [("0671234C", "Collège Vauban", "Collège", "Sélestat")]
    fake_ent.pages[ETABS] = etabs_page(row, following=f"{fake_ent.prefix}{ETABS}")
    with pytest.raises(UnexpectedPageError, match="does not end"):
        console_factory().list_etablissements()
    fake_ent.pages[ETABS] = etabs_page(row, following="https://elsewhere.test/x")
    with pytest.raises(UnexpectedPageError, match="leads out of the console"):
        console_factory().list_etablissements()


# --- the inventory it builds ---------------------------------------------------------
def source(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "region.ent.yml"
    path.write_text("plugin: ent.pronote.etablissements\n" + body, encoding="utf-8")
    return path


PROJECTS_YAML = f"""projects:
  - slug: mbn
    name: Mon Bureau Numérique
    console_url: {BASE}
    cas_url: "{{{{ 'https://ent.example.test/mbn/' ~ 'cas' }}}}"
    admin_login: admin.mbn
    admin_password: "{{{{ 'p' ~ 'w' }}}}"
    ca_path: ca.pem
    vars:
      pronote_root: "{{{{ ent_sandbox_url }}}}index-education/"
  - slug: occitanie
    name: Mon ENT Occitanie
    console_url: https://ent.example.test/occitanie/
    admin_login: admin.occitanie
    admin_password: secret-occ
    cas_selection: TOULO-ENT_parent_eleve
"""


class Warnings:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def warning(self, message: str, *args, **kwargs) -> None:
        self.messages.append(message)

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def loaded_plugin() -> plugin.InventoryModule:
    """The plugin with its options defined from its DOCUMENTATION, as ansible-inventory's loader does."""
    from ansible.plugins.loader import inventory_loader

    inventory_loader._load_config_defs(plugin.InventoryModule.NAME, plugin, plugin.__file__)
    module = plugin.InventoryModule()
    module._load_name = module.ansible_name = plugin.InventoryModule.NAME
    module._redirected_names = [plugin.InventoryModule.NAME]  # set by the loader (read by ansible-core 2.17)
    return module


def build(path: Path, monkeypatch, consoles: dict[str, object], cache: bool = True) -> tuple[InventoryData, Warnings, list]:
    """Run the plugin on ``path``; ``consoles``: console URL -> its list, or an error text."""
    read: list[str] = []

    def fake_read(settings):
        read.append(settings.console_url)
        assert settings.password in ("pw", "secret-occ")  # the template was rendered, the value never shown
        answer = consoles[settings.console_url]
        return (answer, None) if isinstance(answer, list) else ([], answer)

    monkeypatch.setattr(plugin, "_read_console", fake_read)
    inventory, shown = InventoryData(), Warnings()
    module = loaded_plugin()
    monkeypatch.setattr(module, "display", shown)
    assert module.verify_file(str(path))
    module.parse(inventory, DataLoader(), str(path), cache=cache)
    if module.get_option("cache"):
        module.update_cache_if_changed()  # as the ``auto`` inventory plugin does after parse
    return inventory, shown, read


MBN = [{"uai": "0671234C", "name": "Collège Vauban", "kind": "Collège"},
       {"uai": "0518928C", "name": "Collège Molière", "kind": "Collège"}]
OCC = [{"uai": "0312615Z", "name": "Lycée Olympe de Gouges", "kind": "Lycée"}]


def test_one_host_per_uai_grouped_per_project_with_the_project_variables(tmp_path, monkeypatch) -> None:
    (tmp_path / "annuaire.csv").write_text("UAI;Nom;Projet\n0679674B;Collège Jean Jaurès;mbn\n"
                                           "0671234C;Autre nom;mbn\n0679674C;Mauvaise lettre;mbn\n", encoding="utf-8")
    path = source(tmp_path, PROJECTS_YAML + "csv: annuaire.csv\nkeyed_groups:\n  - key: etab_type\n    prefix: type\n"
                             "groups:\n  lycees: etab_type is defined and etab_type.startswith('Lycée')\n"
                             "compose:\n  etab_label: etab_name ~ ' (' ~ inventory_hostname ~ ')'\n")
    inventory, shown, _ = build(path, monkeypatch, {BASE: MBN, "https://ent.example.test/occitanie/": OCC})
    groups = {name: sorted(h.name for h in group.get_hosts()) for name, group in inventory.groups.items()}
    assert groups["ent_mbn"] == ["0518928C", "0671234C", "0679674B"]
    assert groups["ent_occitanie"] == ["0312615Z"]
    assert groups["type_Collège"] == ["0518928C", "0671234C"] and groups["lycees"] == ["0312615Z"]
    vauban = inventory.get_host("0671234C").vars
    assert vauban["etab_name"] == "Collège Vauban" and vauban["etab_source"] == "console"  # the console wins
    assert vauban["etab_label"] == "Collège Vauban (0671234C)"
    assert inventory.get_host("0679674B").vars["etab_source"] == "csv"
    mbn = inventory.groups["ent_mbn"].vars
    assert mbn["ent_project"] == "Mon Bureau Numérique" and mbn["ent_admin_login"] == "admin.mbn"
    assert mbn["ent_console_url"] == BASE and mbn["ent_cas_url"] == "https://ent.example.test/mbn/cas"
    assert mbn["ent_ca_path"] == str(tmp_path / "ca.pem")
    assert mbn["pronote_root"] == "{{ ent_sandbox_url }}index-education/"  # left to the plays
    assert inventory.groups["ent_occitanie"].vars["ent_cas_selection"] == "TOULO-ENT_parent_eleve"
    for group in inventory.groups.values():
        assert "admin_password" not in group.vars and "ent_admin_password" not in group.vars
        assert "secret-occ" not in repr(group.vars)
    assert len(shown.messages) == 1 and "annuaire.csv, ligne 4" in shown.messages[0]


def test_a_console_that_cannot_be_read_is_a_warning_naming_it_and_the_others_are_listed(tmp_path, monkeypatch) -> None:
    path = source(tmp_path, PROJECTS_YAML)
    inventory, shown, _ = build(path, monkeypatch, {BASE: "cannot connect (secret-occ)",
                                                    "https://ent.example.test/occitanie/": OCC})
    assert sorted(inventory.hosts) == ["0312615Z"]
    assert len(shown.messages) == 1
    assert "« mbn » (Mon Bureau Numérique)" in shown.messages[0] and "cannot connect" in shown.messages[0]
    assert "les autres projets le sont" in shown.messages[0]


def test_the_cache_answers_without_the_consoles_and_stands_in_for_one_down(tmp_path, monkeypatch) -> None:
    path = source(tmp_path, PROJECTS_YAML + f"cache: true\ncache_plugin: jsonfile\n"
                                            f"cache_connection: {tmp_path / 'cache'}\ncache_timeout: 600\n")
    consoles = {BASE: MBN, "https://ent.example.test/occitanie/": OCC}
    first, _, read = build(path, monkeypatch, consoles)
    assert len(read) == 2 and len(first.hosts) == 3
    again, shown, read = build(path, monkeypatch, consoles)
    assert read == [] and sorted(again.hosts) == sorted(first.hosts) and shown.messages == []
    # refreshed (--flush-cache): the consoles are read; one of them down, its cached list stands in
    down, shown, read = build(path, monkeypatch, {**consoles, BASE: "HTTP 503"}, cache=False)
    assert len(read) == 2 and sorted(down.hosts) == sorted(first.hosts)
    assert len(shown.messages) == 1 and "liste en cache utilisée (2 établissement(s))" in shown.messages[0]


def test_a_source_without_what_a_project_needs_names_it(tmp_path, monkeypatch) -> None:
    from ansible.errors import AnsibleParserError
    path = source(tmp_path, "projects:\n  - slug: mbn\n    name: MBN\n    console_url: https://x.test/\n")
    with pytest.raises(AnsibleParserError, match=r"projects\[1\] \(mbn\) : admin_login, admin_password manquant"):
        build(path, monkeypatch, {})
    assert not plugin.InventoryModule().verify_file(str(tmp_path / "hosts.yml"))


def test_a_password_template_that_does_not_render_leaves_that_project_out_only(tmp_path, monkeypatch) -> None:
    path = source(tmp_path, PROJECTS_YAML.replace("admin_password: secret-occ",
                                                  'admin_password: "{{ vault_occitanie_password }}"'))
    inventory, shown, read = build(path, monkeypatch, {BASE: MBN})
    assert read == [BASE] and sorted(inventory.hosts) == ["0518928C", "0671234C"]
    assert len(shown.messages) == 1
    assert "« occitanie »" in shown.messages[0] and "'vault_occitanie_password' is undefined" in shown.messages[0]
