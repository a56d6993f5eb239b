"""ent.pronote.ent_identifiers_import against the sandbox: files exported by its PRONOTE bases."""
from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
import requests

from _harness import ADMIN_PASSWORD, Sandbox, cas_login_form, run_tasks

#: every test works on its own établissement of the session's sandbox (seed 42)
#: (ent_first imports into the établissement mismatch only refuses: that test holds whatever its state)
HOST = {"complet": 0, "partiel": 1, "guard": 2, "abort": 3, "manual": 4, "mismatch": 5, "ent_first": 5}


def uai_for(sandbox: Sandbox, test: str) -> str:
    return sorted(sandbox.hosts())[HOST[test]]


def export(sandbox: Sandbox, uai: str, out: Path, *, new_only: bool = False) -> Path:
    args = ["export", "--uai", uai, "--out", str(out)]
    if new_only:
        args.append("--sans-identifiant-cas")
    sandbox.cli(*args)
    return out


def truth(sandbox: Sandbox, uai: str) -> dict[str, dict]:
    return json.loads(sandbox.cli("truth", "--uai", uai).stdout)


def ent_pairs(sandbox: Sandbox, uai: str) -> dict[str, str]:
    """Identifiant PRONOTE -> ENT login, as the sandbox's database holds them."""
    db = sqlite3.connect(f"file:{sandbox.state_dir / 'sandbox.db'}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT i.ident, u.login FROM ent_identifiers i JOIN users u ON u.id = i.user_id"
            " JOIN etabs e ON e.id = i.etab_id WHERE e.uai = ?", (uai,)).fetchall()
    finally:
        db.close()
    return dict(rows)


def imp(**options) -> dict:
    return {"ent.pronote.ent_identifiers_import": {"uai": "{{ inventory_hostname }}", **options}}


def assert_no_wrong_pair(sandbox: Sandbox, uai: str) -> dict[str, str]:
    pairs = ent_pairs(sandbox, uai)
    known = truth(sandbox, uai)
    wrong = {ident: login for ident, login in pairs.items() if known[ident]["login"] != login}
    assert not wrong, f"{len(wrong)} wrong pair(s) in {uai}"
    return pairs


def id_pronote(sandbox: Sandbox, uai: str, login: str) -> list[str]:
    """Sign in at the ENT's CAS as ``login``, ask a ticket for the PRONOTE URL, validate it: idPronote."""
    group = sandbox.group_of(uai)
    cas = sandbox.group_vars(group)["ent_console_url"].rstrip("/") + "/cas/"
    service = f"https://{uai.lower()}.index-education.net/pronote/"
    with requests.Session() as http:
        http.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
        http.verify = sandbox.ca
        page, form = cas_login_form(http, http.get(cas + "login", params={"service": service}))
        data = {i.get("name"): i.get("value", "") for i in form.iter("input") if i.get("name")}
        data.update(username=login, password=ADMIN_PASSWORD)
        answer = http.post(urljoin_form(page.url, form.get("action")), data=data, allow_redirects=False)
        ticket = parse_qs(urlsplit(answer.headers["Location"]).query)["ticket"][0]
        checked = http.get(cas + "p3/serviceValidate", params={"service": service, "ticket": ticket, "format": "JSON"})
    success = checked.json()["serviceResponse"]["authenticationSuccess"]
    value = success["attributes"].get("idPronote", [])
    return value if isinstance(value, list) else [value]


def urljoin_form(url: str, action: str | None) -> str:
    from urllib.parse import urljoin

    return urljoin(url, action or url)


# --------------------------------------------------------------------------------------------

def test_complet_check_then_import_then_nothing_to_do(sandbox: Sandbox, work: Path) -> None:
    uai = uai_for(sandbox, "complet")
    src = export(sandbox, uai, work / f"{uai}.xml")
    task = imp(src=str(src))

    before = sandbox.snapshot()
    check = run_tasks(sandbox, work, [task], hosts=uai, check=True, diff=True).result(uai)
    assert check["changed"] is True and check["uploaded"] is False, check
    assert check["mode"] == "complet"
    assert check["identifiers"]["before"] == 0 and check["identifiers"]["added"] > 0
    assert sandbox.snapshot() == before, "check mode changed the sandbox"

    real = run_tasks(sandbox, work, [task], hosts=uai).result(uai)
    assert real["changed"] is True and real["uploaded"] is True, real
    assert real["counts"] == check["counts"], "check mode predicted other counts"
    assert real["identifiers"]["after"] == check["identifiers"]["after"]
    totals = real["counts"]["total"]
    assert totals["ent"] > 0 and totals["assisted"] > 0 and totals["skipped"] > 0, totals
    assert sum(totals.values()) == real["people"]
    pairs = assert_no_wrong_pair(sandbox, uai)
    assert len(pairs) == real["identifiers"]["after"] == totals["ent"] + totals["assisted"]
    # nothing in the result names a person
    known = truth(sandbox, uai)
    dumped = json.dumps(real)
    assert not any(ident in dumped for ident in known) and not any(
        (v["login"] or "@") in dumped for v in known.values())

    assert "warnings" not in real, "the import did not converge"
    after = sandbox.snapshot()
    again = run_tasks(sandbox, work, [task], hosts=uai).result(uai)
    assert again["changed"] is False and again["uploaded"] is False, again
    # the real run read the site again after importing and found nothing left: that verdict is reused
    assert again.get("reused_verdict") is True, again
    assert again["counts"] == real["counts"]
    assert sandbox.snapshot() == after
    assert run_tasks(sandbox, work, [task], hosts=uai, check=True).result(uai)["changed"] is False
    # without the verdict, deciding everything again gives the same answer
    fresh = run_tasks(sandbox, work, [imp(src=str(src), reuse_verdict=False)], hosts=uai).result(uai)
    assert fresh["changed"] is False and "reused_verdict" not in fresh
    same = ("counts", "identifiers", "people", "mode", "uploaded")
    assert {k: again[k] for k in same} == {k: fresh[k] for k in same}
    verdicts = list((work / "cache" / "verdicts").iterdir())
    assert len(verdicts) == 1 and stat.S_IMODE(verdicts[0].stat().st_mode) == 0o600
    assert not any(ident in verdicts[0].read_text() for ident in known), "a verdict holds names or identifiers"

    # someone empties one identifier on the console: the page differs, the verdict is not reused, the run repairs
    lost = sorted(pairs)[0]
    db = sqlite3.connect(sandbox.state_dir / "sandbox.db")
    with db:
        db.execute("DELETE FROM ent_identifiers WHERE ident = ?", (lost,))
    db.close()
    repaired = run_tasks(sandbox, work, [task], hosts=uai).result(uai)
    assert repaired["changed"] is True and "reused_verdict" not in repaired, repaired
    assert repaired["identifiers"]["added"] == 1 and ent_pairs(sandbox, uai) == pairs
    assert run_tasks(sandbox, work, [task], hosts=uai).result(uai).get("reused_verdict") is True

    # the CAS now releases each matched person's identifier for this établissement's PRONOTE
    pupil = next(ident for ident, login in sorted(pairs.items()) if known[ident]["category"] == "eleves")
    assert id_pronote(sandbox, uai, pairs[pupil]) == [pupil]


def test_partiel_file_adds_only_the_new_users(sandbox: Sandbox, work: Path) -> None:
    uai = uai_for(sandbox, "partiel")
    run_tasks(sandbox, work, [imp(src=str(export(sandbox, uai, work / "all.xml")))], hosts=uai)
    first = ent_pairs(sandbox, uai)
    assert first

    added = sandbox.cli("add-pronote-accounts", "--uai", uai, "--count", "3")
    assert added.returncode == 0
    src = export(sandbox, uai, work / "new.xml", new_only=True)
    assert 'UniquementSansIdentifiantCAS="true"' in src.read_text(encoding="utf-8")
    result = run_tasks(sandbox, work, [imp(src=str(src))], hosts=uai).result(uai)
    assert result["changed"] is True and result["mode"] == "partiel", result
    pairs = assert_no_wrong_pair(sandbox, uai)
    assert first.items() <= pairs.items(), "a partiel import removed or changed an identifier"
    assert len(pairs) - len(first) == result["identifiers"]["added"] >= 3
    assert result["identifiers"]["removed"] == 0


def test_file_of_another_etablissement_is_refused(sandbox: Sandbox, work: Path) -> None:
    uai = uai_for(sandbox, "mismatch")
    other = uai_for(sandbox, "complet")
    src = export(sandbox, other, work / f"{other}.xml")
    before = sandbox.snapshot()
    result = run_tasks(sandbox, work, [imp(src=str(src))], hosts=uai).result(uai)
    assert result["failed"] is True and other in result["msg"] and uai in result["msg"], result
    assert sandbox.snapshot() == before


def test_a_hostile_path_is_refused_at_once_in_french(sandbox: Sandbox, work: Path) -> None:
    """Issue 14 §4 through the module: a named pipe, a file over max_file_size; nothing imported, fast."""
    import time

    uai = uai_for(sandbox, "mismatch")
    fifo = work / f"{uai}.xml"
    os.mkfifo(fifo)
    big = export(sandbox, uai, work / "big.xml")
    before = sandbox.snapshot()
    run = run_tasks(sandbox, work, [imp(src=str(fifo)), imp(src=str(big), max_file_size=1000)], hosts=uai)
    refused = [run.result(uai, 0), run.result(uai, 1)]
    assert "est un tube nommé, pas un fichier ordinaire" in refused[0]["msg"], refused[0]
    assert "plus que les 1000 permis (max_file_size)" in refused[1]["msg"], refused[1]
    assert all(r["failed"] is True for r in refused)
    assert sandbox.snapshot() == before
    start = time.perf_counter()
    from ansible_collections.ent.pronote.plugins.module_utils._identifiers import IdentifiersFileError, read_bounded
    with pytest.raises(IdentifiersFileError):
        read_bounded(str(fifo))
    assert time.perf_counter() - start < 0.5


def _cut(src: Path, dest: Path, keep_people: int) -> Path:
    """A file that is still valid XML but holds only the first ``keep_people`` people (a truncated export)."""
    text = src.read_text(encoding="utf-8")
    people = list(re.finditer(r"<(Professeur|Eleve|Responsable|MaitreDeStage|InspecteurPedagogique|Personnel)\b", text))
    header_end = people[0].start() if people else text.index(">", text.index("<IdentifiantsPRONOTE")) + 1
    kept = text[:header_end]
    body = text[header_end:]
    chunks = re.split(r"(?=<(?:Professeur|Eleve|Responsable|MaitreDeStage|InspecteurPedagogique|Personnel)\b)", body)
    kept += "".join(chunks[1:keep_people + 1]) if keep_people else ""
    # close the containers still open
    for tag in ("Professeurs", "Eleves", "Responsables", "MaitresDeStage", "InspecteursPedagogiques", "Personnels"):
        if kept.count(f"<{tag}>") > kept.count(f"</{tag}>"):
            kept += f"</{tag}>\r\n"
    kept = re.sub(r"<(Professeurs|Eleves|Responsables|MaitresDeStage|InspecteursPedagogiques|Personnels)>\s*$", "",
                  kept)
    dest.write_text(kept + "</IdentifiantsPRONOTE>\r\n", encoding="utf-8")
    return dest


@pytest.mark.parametrize("keep", [0, 40], ids=["empty", "truncated"])
def test_guard_refuses_a_complet_file_that_removes_too_much(sandbox: Sandbox, work: Path, keep: int) -> None:
    uai = uai_for(sandbox, "guard")
    full = export(sandbox, uai, work / "full.xml")
    run_tasks(sandbox, work, [imp(src=str(full))], hosts=uai)
    held = ent_pairs(sandbox, uai)
    assert len(held) > 50

    short = _cut(full, work / "short.xml", keep)
    before = sandbox.snapshot()
    refused = run_tasks(sandbox, work, [imp(src=str(short), mode="complet")], hosts=uai).result(uai)
    assert refused["failed"] is True and "max_removed_share" in refused["msg"], refused
    assert sandbox.snapshot() == before
    # check mode says the same, and changes nothing either
    assert run_tasks(sandbox, work, [imp(src=str(short), mode="complet")], hosts=uai,
                     check=True).result(uai)["failed"] is True
    # a malformed (cut mid-element) file is refused before anything, naming its line
    broken = work / "broken.xml"
    broken.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 2])
    bad = run_tasks(sandbox, work, [imp(src=str(broken))], hosts=uai).result(uai)
    assert bad["failed"] is True and re.search(r"ligne \d+", bad["msg"]), bad
    assert sandbox.snapshot() == before


def test_an_import_cut_in_the_middle_is_finished_by_the_next_run(clean_faults: Sandbox, work: Path) -> None:
    sandbox = clean_faults
    uai = uai_for(sandbox, "abort")
    src = export(sandbox, uai, work / f"{uai}.xml")
    sandbox.faults(import_abort_step=2)
    cut = run_tasks(sandbox, work, [imp(src=str(src), retries=0)], hosts=uai).result(uai)
    assert cut["failed"] is True, cut
    partial = ent_pairs(sandbox, uai)
    expected = run_tasks(sandbox, work, [imp(src=str(src))], hosts=uai, check=True).result(uai)
    assert expected["changed"] is True and len(partial) < expected["identifiers"]["after"]

    done = run_tasks(sandbox, work, [imp(src=str(src), retries=0)], hosts=uai).result(uai)
    assert done["changed"] is True and done["uploaded"] is True, done
    assert len(assert_no_wrong_pair(sandbox, uai)) == expected["identifiers"]["after"]
    assert run_tasks(sandbox, work, [imp(src=str(src))], hosts=uai).result(uai)["changed"] is False


def test_report_then_manual_matches(sandbox: Sandbox, work: Path) -> None:
    uai = uai_for(sandbox, "manual")
    src = export(sandbox, uai, work / f"{uai}.xml")
    report = work / "rapports" / f"{uai}.csv"
    first = run_tasks(sandbox, work, [imp(src=str(src), report=str(report))], hosts=uai).result(uai)
    assert first["changed"] is True, first
    todo = Path(first["manual_matches_template"])
    for path in (report, todo):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with report.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert len(rows) == first["people"]
    duplicates = sum(1 for row in rows if row["raison"].startswith(("doublon dans le fichier", "doublon suspecté")))
    left = first["counts"]["total"]["unmatched"] + first["counts"]["total"]["ambiguous"] + duplicates
    with todo.open(encoding="utf-8-sig") as handle:
        to_fill = list(csv.DictReader(handle, delimiter=";"))
    assert len(to_fill) == left > 0
    assert all(row["raison"] for row in to_fill)

    # A person decides, from the truth, for the people the ENT knows (one copy of a duplicate); the next run
    # binds them.
    known = truth(sandbox, uai)
    decided, chosen = [], set()
    for row in to_fill:
        login = known[row["identifiant_pronote"]]["login"]
        if login and login not in chosen:
            chosen.add(login)
            decided.append(row)
            row["compte_ent"] = login
    assert decided, "no unmatched person has an ENT account in this établissement"
    with todo.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(to_fill[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(to_fill)
    second = run_tasks(sandbox, work, [imp(src=str(src), manual_matches=str(todo))], hosts=uai).result(uai)
    assert second["changed"] is True and second["counts"]["total"]["manual"] == len(decided), second
    pairs = assert_no_wrong_pair(sandbox, uai)
    assert all(pairs.get(row["identifiant_pronote"]) == row["compte_ent"] for row in decided)
    # given back again (the inventory keeps pointing at the file), the decisions stay
    third = run_tasks(sandbox, work, [imp(src=str(src), manual_matches=str(todo))], hosts=uai).result(uai)
    assert third["changed"] is False and third["counts"]["total"]["manual"] == len(decided), third
    # without the file, a decision no evidence contradicts is kept; one the rules would not make (a duplicate,
    # an ambiguous pair) is withdrawn, and counted by kind
    fourth = run_tasks(sandbox, work, [imp(src=str(src))], hosts=uai).result(uai)
    assert sum(fourth["pairs_withdrawn"].values()) == fourth["identifiers"]["removed"], fourth
    assert fourth["counts"]["total"]["kept"] + fourth["identifiers"]["removed"] >= len(decided), fourth
    assert_no_wrong_pair(sandbox, uai)


# --- after the ENT's own plain import (issue 14 §3) -------------------------------------------------

def _console(sandbox: Sandbox, uai: str):
    from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings
    from ansible_collections.ent.pronote.plugins.module_utils._kdecole import ConsoleSettings, KdecoleConsole

    gv = sandbox.group_vars(sandbox.group_of(uai))
    return KdecoleConsole(ConsoleSettings(gv["ent_console_url"], gv["ent_admin_login"], ADMIN_PASSWORD,
                                          HttpSettings(ca_path=sandbox.ca), session_cache=False))


def plain_import(sandbox: Sandbox, uai: str, src: Path) -> dict[str, str]:
    """The ENT's own import, as a person clicking « Valider » six times: every step as the ENT proposes it."""
    console = _console(sandbox, uai)
    page, _left = console.start_import(uai, "complet", src.name, src.read_bytes())
    while not page.finished:
        page = console.validate_step(page, {row.ident: row.login for row in page.rows if row.login})
    return ent_pairs(sandbox, uai)


def _messy_file(sandbox: Sandbox, uai: str, work: Path) -> tuple[Path, dict[str, list[str]]]:
    """The school's file, made to hold what the ENT's plain import binds and the rules would not:

    a responsable the ENT recognises, all of whose children have left (DateSortie), and a pupil the ENT
    recognises written a second time with a prénom the ENT compares exactly and the product does not ("Léa.").
    Returns the file and the identifiers of each kind.
    """
    from ansible_collections.ent.pronote.plugins.module_utils._identifiers import read_identifiers

    src = export(sandbox, uai, work / "original.xml")
    bound = plain_import(sandbox, uai, src)
    file = read_identifiers(src)
    pupils = {p.ident for p in file.people if p.category == "eleves" and not p.left_on}
    parent = next(p for p in file.people if p.category == "responsables" and p.ident in bound and p.children
                  and all(c in pupils and c in bound for c in p.children))
    twin = next(p for p in file.people if p.category == "eleves" and p.ident in bound and p.ident not in parent.children
                and p.birth_date and not p.left_on)
    text = src.read_text(encoding="utf-8")
    for child in parent.children:
        text, n = re.subn(f'(<Eleve Identifiant="{child}"[^>]*?)(/?>)', r'\1 DateSortie="2025-07-04"\2', text)
        assert n == 1
    copy = "ZZZZ" + twin.ident[4:]
    assert copy not in text
    line = re.search(f'<Eleve Identifiant="{twin.ident}"[^>]*/>', text).group(0)
    twin_line = line.replace(twin.ident, copy).replace(f'Prenom="{twin.prenom}"', f'Prenom="{twin.prenom}."')
    text = text.replace(line, line + "\r\n    " + twin_line)
    messy = work / f"{uai}.xml"
    messy.write_text(text, encoding="utf-8")
    return messy, {"left": list(parent.children), "no_paired_child": [parent.ident], "duplicate": [twin.ident, copy]}


def test_pairs_the_ents_own_import_made_are_judged_by_the_same_rules(sandbox: Sandbox, work: Path) -> None:
    uai = uai_for(sandbox, "ent_first")
    src, kinds = _messy_file(sandbox, uai, work)
    plain = plain_import(sandbox, uai, src)
    contested = {ident for idents in kinds.values() for ident in idents if ident in plain}
    assert set(kinds["left"]) | set(kinds["no_paired_child"]) | {kinds["duplicate"][0]} <= contested, \
        "the ENT's plain import did not bind what the test expects"

    # mode partiel: nothing removed, the same pairs reported
    partiel = run_tasks(sandbox, work, [imp(src=str(src), mode="partiel")], hosts=uai).result(uai)
    assert partiel["identifiers"]["removed"] == 0, partiel
    assert plain.items() <= ent_pairs(sandbox, uai).items()
    reported = partiel["pairs_contested"]
    assert reported["left"] >= len(kinds["left"]) and reported["duplicate"] >= 1, reported
    assert reported["no_paired_child"] >= 1, reported
    assert sum(partiel["pairs_withdrawn"].values()) == 0

    # mode complet: those pairs end unpaired, counted by kind and by the removal guard
    plain_import(sandbox, uai, src)
    before = sandbox.snapshot()
    guarded = run_tasks(sandbox, work, [imp(src=str(src), mode="complet", max_removed_share=0.0)],
                        hosts=uai).result(uai)
    assert guarded["failed"] is True and "max_removed_share" in guarded["msg"], guarded
    assert "paires que les règles ne feraient pas" in guarded["msg"] and "élèves sortis" in guarded["msg"], guarded
    assert sandbox.snapshot() == before
    report = work / "rapports" / f"{uai}.csv"
    complet = run_tasks(sandbox, work, [imp(src=str(src), mode="complet", report=str(report), max_removed_share=0.5)],
                        hosts=uai).result(uai)
    assert "pairs_withdrawn" in complet, complet
    withdrawn = complet["pairs_withdrawn"]
    assert withdrawn["left"] >= len(kinds["left"]) and withdrawn["duplicate"] >= 1, withdrawn
    assert withdrawn["no_paired_child"] >= 1, withdrawn
    assert complet["identifiers"]["removed"] >= sum(withdrawn.values()), complet
    pairs = assert_no_wrong_pair(sandbox, uai)
    assert not contested & set(pairs), "a pair the rules would not make is still held"
    # the pairs that remain are exactly those the rules make (the report's compte_ent column)
    with report.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert pairs == {row["identifiant_pronote"]: row["compte_ent"] for row in rows if row["compte_ent"]}
    # the duplicate is in the file to fill in, with its reason and candidate; a person confirms one copy
    todo = Path(complet["manual_matches_template"])
    with todo.open(encoding="utf-8-sig") as handle:
        to_fill = {row["identifiant_pronote"]: row for row in csv.DictReader(handle, delimiter=";")}
    original, copy = kinds["duplicate"]
    assert to_fill[original]["raison"].startswith("doublon") and to_fill[copy]["candidats"] == plain[original]
    chosen = work / "choix.csv"
    chosen.write_text(f"identifiant_pronote;compte_ent\r\n{original};{plain[original]}\r\n", encoding="utf-8")
    confirmed = run_tasks(sandbox, work, [imp(src=str(src), manual_matches=str(chosen), max_removed_share=0.5)],
                          hosts=uai).result(uai)
    assert confirmed["changed"] is True and confirmed["counts"]["total"]["manual"] == 1, confirmed
    assert assert_no_wrong_pair(sandbox, uai)[original] == plain[original]
    again = run_tasks(sandbox, work, [imp(src=str(src), manual_matches=str(chosen))], hosts=uai).result(uai)
    assert again["changed"] is False, again


def imports_of(sandbox: Sandbox, uai: str) -> list[tuple[str, int]]:
    """(status, current step) of every import of the site, oldest first."""
    db = sqlite3.connect(f"file:{sandbox.state_dir / 'sandbox.db'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT i.status, i.current_step FROM imports i JOIN etabs e ON e.id = i.etab_id"
                          " WHERE e.uai = ? ORDER BY i.id", (uai,)).fetchall()
    finally:
        db.close()


def test_an_import_left_in_progress_by_a_killed_run_is_interrupted_and_said(clean_faults: Sandbox,
                                                                             work: Path) -> None:
    sandbox = clean_faults
    uai = uai_for(sandbox, "abort")
    src = export(sandbox, uai, work / f"{uai}.xml")
    # A run killed after its first step: the import stays « en cours » at step 2/6.
    console = _console(sandbox, uai)
    page, left = console.start_import(uai, "complet", src.name, src.read_bytes())
    assert left is None
    console.validate_step(page, {})
    console.close()
    assert imports_of(sandbox, uai)[-1] == ("en_cours", 2)

    run = run_tasks(sandbox, work, [imp(src=str(src))], hosts=uai).result(uai)
    assert run.get("failed") is not True, run
    assert run["abandoned_import"] == [2]
    assert any("left in progress by an earlier run (step 2/6) was interrupted" in w for w in run["warnings"])
    statuses = imports_of(sandbox, uai)
    assert statuses[-2][0] == "interrompu" and statuses[-1][0] == "termine"
    assert not any(status == "en_cours" for status, _ in statuses)
    assert_no_wrong_pair(sandbox, uai)


def test_removals_under_the_guard_are_counted_and_a_large_share_is_a_warning(sandbox: Sandbox, work: Path) -> None:
    """Issue 13: a file with some of its people missing removes their identifiers under the 10 % guard, and the
    result says how many per profile, as a finding (a warning above 2 %), never silently."""
    uai = uai_for(sandbox, "guard")
    full = export(sandbox, uai, work / "full.xml")
    run_tasks(sandbox, work, [imp(src=str(full))], hosts=uai)
    held = ent_pairs(sandbox, uai)
    people = len(re.findall(r"<(?:Professeur|Eleve|Responsable|MaitreDeStage|InspecteurPedagogique|Personnel)\b",
                            full.read_text(encoding="utf-8")))
    # all but the last 6 % of the file's people, in file order: under the 10 % guard
    short = _cut(full, work / "short.xml", people - max(3, people * 6 // 100))
    run = run_tasks(sandbox, work, [imp(src=str(short), mode="complet")], hosts=uai).result(uai)
    assert run.get("failed") is not True, run
    removed = run["identifiers"]["removed"]
    assert 0 < removed == len(held) - len(ent_pairs(sandbox, uai)) and removed / len(held) <= 0.10, run
    assert sum(run["removed_by_profile"].values()) == removed
    [finding] = run["findings"]
    assert finding["count"] == removed and f"{removed} identifiant(s)" in finding["message"]
    if removed / len(held) > 0.02:
        assert (finding["code"], finding["severity"]) == ("identifiants_retires_nombreux", "avertissement")
        assert any("retiré" in w for w in run["warnings"])
    else:
        assert (finding["code"], finding["severity"]) == ("identifiants_retires", "info")
    # and giving the whole file back restores them, with nothing said about removals
    back = run_tasks(sandbox, work, [imp(src=str(full))], hosts=uai).result(uai)
    assert "findings" not in back and ent_pairs(sandbox, uai) == held
