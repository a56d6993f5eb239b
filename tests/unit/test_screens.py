"""The tables of screens (``SCREENS`` of _kdecole and _pronote) agree with the documentation.

Each client module holds, in one table, every label, column, option and text
the product relies on in the remote screens. The documentation describes the
same screens for a maintainer comparing them with a real console: the two
must say the same, so a label spelled otherwise in one of them fails here.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from ansible_collections.ent.pronote.plugins.module_utils import _kdecole, _pronote
from ansible_collections.ent.pronote.plugins.module_utils._html import Screen

DOCS = Path(__file__).resolve().parents[2] / "docs"
#: remote system -> (its table of screens, the documentation of those screens)
SYSTEMS = {
    "console": (_kdecole.SCREENS, ("console-screens.md", "import-screens.md")),
    "hosting": (_pronote.SCREENS, ("pronote-net-screens.md",)),
}
#: columns the documentation shows and the product does not read, per table id, with why
NOT_READ = {
    "etablissements": {"Type": "read when the column is shown (SCREENS texts), not required",
                       "Commune": "the inventory does not need it"},
    "services": {"Actions": "the delete form is found in the row, not by its column"},
    "droits-acces": {"Actions": "the delete form is found in the row, not by its column"},
    "rapprochement": {"Nom": "the step is bound by Identifiant PRONOTE only",
                      "Prénom": "idem", "Date de naissance": "idem"},
    "identifiants": {"Nom": "pairs are read by Identifiant PRONOTE and Compte ENT",
                     "Prénom": "idem"},
}
#: labels of the service form's documentation table the product does not set
SERVICE_FORM_NOT_READ = {"Code": "read-only, the code is read from the page's <span id=code>"}


def doc_text(system: str) -> str:
    """The documentation of ``system``, whitespace collapsed (labels may wrap across lines)."""
    return " ".join(" ".join((DOCS / name).read_text(encoding="utf-8").split()) for name in SYSTEMS[system][1])


def screens() -> list[tuple[str, str, Screen]]:
    return [(system, key, screen) for system, (table, _) in SYSTEMS.items() for key, screen in table.items()]


def mentioned(text: str, doc: str) -> bool:
    """Whether ``text`` appears in ``doc`` as a whole label; ``{x}`` stands for a ``<x>`` of the docs."""
    pattern = re.sub(r"\\\{\w+\\\}", "<[^>]+>", re.escape(text))
    return re.search(rf"(?<![\w'’]){pattern}(?![\w'’])", doc) is not None


def filled_template(text: str, screen: Screen, doc: str) -> bool:
    """Whether ``text`` is one of the screen's templates (``Délégation {espace}``) filled with documented words."""
    for template in screen.texts.values():
        pattern = re.sub(r"\\\{\w+\\\}", "(.+)", re.escape(template))
        found = re.fullmatch(pattern, text) if pattern != re.escape(template) else None
        if found and mentioned(template, doc) and all(mentioned(part, doc) for part in found.groups()):
            return True
    return False


def documented_header(doc: str, table_id: str) -> list[str]:
    """The header the documentation gives for ``<table id=table_id>``: `A | B | C` after its id."""
    found = re.search(rf'id="{re.escape(table_id)}"[^`]*`(?:\s*with (?:header|the columns))?\s*`([^`]+)`', doc)
    if found is None:
        found = re.search(rf'id="{re.escape(table_id)}"`? with the columns ([^.(]+?)(?: \(|\.|;)', doc)
        assert found, f"the documentation gives no header for table {table_id}"
        return [c.strip() for c in re.split(r",|\band\b", found.group(1)) if c.strip()]
    return [c.strip() for c in found.group(1).split("|")]


@pytest.mark.parametrize(("system", "key", "screen"), screens(), ids=[f"{s}-{k}" for s, k, _ in screens()])
def test_every_expected_label_is_documented(system: str, key: str, screen: Screen) -> None:
    doc = doc_text(system)
    missing = [text for text in (screen.title, *screen.verbatim())
               if not mentioned(text, doc) and not filled_template(text, screen, doc)]
    assert missing == [], f"{system} screen {key}: not in the documentation: {missing}"
    for ident in filter(None, (screen.form, screen.table)):
        assert f'id="{ident}"' in doc, f"{system} screen {key}: id {ident} not in the documentation"


@pytest.mark.parametrize(("system", "key", "screen"), [s for s in screens() if s[2].table],
                         ids=[f"{s}-{k}" for s, k, sc in screens() if sc.table])
def test_documented_columns_are_in_the_table_of_screens(system: str, key: str, screen: Screen) -> None:
    header = documented_header(doc_text(system), screen.table)
    expected = set(screen.columns.values())
    assert expected <= set(header), f"{screen.table}: documented header {header} lacks {expected - set(header)}"
    unread = set(header) - expected
    assert unread == set(NOT_READ.get(screen.table, {})), (
        f"{screen.table}: documented columns {sorted(unread)} are neither in SCREENS nor listed as not read")


def test_documented_service_form_labels_are_in_the_table_of_screens() -> None:
    doc = (DOCS / "console-screens.md").read_text(encoding="utf-8")
    section = doc.split('## "Nouveau service"', 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|") for line in section.splitlines() if line.startswith("|") and "---" not in line]
    labels = {cells[2].strip().rstrip(" *") for cells in rows[1:]}
    fields = set(_kdecole.SCREENS["service"].fields.values())
    assert labels - fields == set(SERVICE_FORM_NOT_READ)
    assert fields <= labels


def test_the_checks_find_a_label_that_is_not_documented() -> None:
    # The checkers themselves: a label spelled otherwise is not "mentioned", a lost column is seen.
    doc = doc_text("console")
    assert mentioned("Type de SSO", doc) and not mentioned("Type de S.S.O.", doc)
    assert not mentioned("Ver", doc)  # only part of "Version"
    assert mentioned("Compte ENT pour {ident}", doc)
    assert documented_header(doc, "services") == ["Code", "Intitulé", "Type SSO", "Anonyme", "Interne", "Actions"]
    assert documented_header(doc_text("hosting"), "bases") == ["UAI", "Établissement", "Version", "État"]


def test_every_screen_of_the_product_has_a_title_and_something_to_check() -> None:
    for system, key, screen in screens():
        assert screen.title and (screen.fields or screen.columns or screen.texts), f"{system} {key}"
        for option_key in screen.options:
            assert option_key in screen.fields or option_key in screen.optional, f"{system} {key}: {option_key}"
