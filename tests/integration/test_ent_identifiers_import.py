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
HOST = {"complet": 0, "partiel": 1, "guard": 2, "abort": 3, "manual": 4, "mismatch": 5}


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
    assert bad["failed"] is True and re.search(r"line \d+", bad["msg"]), bad
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
    left = first["counts"]["total"]["unmatched"] + first["counts"]["total"]["ambiguous"]
    with todo.open(encoding="utf-8-sig") as handle:
        to_fill = list(csv.DictReader(handle, delimiter=";"))
    assert len(to_fill) == left > 0

    # A person decides, from the truth, for the people the ENT knows; the next run binds them.
    known = truth(sandbox, uai)
    decided = [row for row in to_fill if known[row["identifiant_pronote"]]["login"]]
    assert decided, "no unmatched person has an ENT account in this établissement"
    for row in decided:
        row["compte_ent"] = known[row["identifiant_pronote"]]["login"]
    with todo.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(to_fill[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(to_fill)
    second = run_tasks(sandbox, work, [imp(src=str(src), manual_matches=str(todo))], hosts=uai).result(uai)
    assert second["changed"] is True and second["counts"]["total"]["manual"] == len(decided), second
    pairs = assert_no_wrong_pair(sandbox, uai)
    assert all(pairs.get(row["identifiant_pronote"]) == row["compte_ent"] for row in decided)
    # without the file, the decisions stay: they are kept, not removed
    third = run_tasks(sandbox, work, [imp(src=str(src))], hosts=uai).result(uai)
    assert third["changed"] is False and third["counts"]["total"]["kept"] >= len(decided), third


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
    from ansible_collections.ent.pronote.plugins.module_utils._http import HttpSettings
    from ansible_collections.ent.pronote.plugins.module_utils._kdecole import ConsoleSettings, KdecoleConsole

    sandbox = clean_faults
    uai = uai_for(sandbox, "abort")
    src = export(sandbox, uai, work / f"{uai}.xml")
    group = sandbox.group_vars(sandbox.group_of(uai))
    # A run killed after its first step: the import stays « en cours » at step 2/6.
    console = KdecoleConsole(ConsoleSettings(group["ent_console_url"], group["ent_admin_login"], ADMIN_PASSWORD,
                                             HttpSettings(ca_path=sandbox.ca), session_cache=False))
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
