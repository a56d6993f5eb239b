"""_service: UAIs, the service's desired fields, unsafe settings, changes, finding the service."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.ent.pronote.plugins.module_utils import _service as svc

LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def check_letter(digits: str) -> str:
    return LETTERS[int(digits) % 23]


# --- normalise_uai ------------------------------------------------------------
@pytest.mark.parametrize("uai", ["0671234C", "0670001M", "0672345K", "0311234Y", "0000000A", "9999999P", "0341111Y"])
def test_normalise_uai_accepts_valid_uais(uai):
    assert svc.normalise_uai(uai) == uai


@pytest.mark.parametrize("given_uai, expected", [
    ("0671234c", "0671234C"),
    ("  0670001m  ", "0670001M"),
    ("\t0311234y\n", "0311234Y"),
])
def test_normalise_uai_upper_cases_and_strips(given_uai, expected):
    assert svc.normalise_uai(given_uai) == expected


@pytest.mark.parametrize("uai", ["0671234A", "0671234D", "0670001C", "0000000B", "9999999Z"])
def test_normalise_uai_rejects_a_wrong_check_letter(uai):
    with pytest.raises(ValueError) as err:
        svc.normalise_uai(uai)
    expected = check_letter(uai[:7])
    assert f"check letter should be {expected}" in str(err.value)
    assert uai in str(err.value)


@pytest.mark.parametrize("uai", [
    "", "067123C", "06712345C", "0671234", "0671234CC", "A671234C", "0671 234C", "0671234 C",
    "0671-234C", "06712340", "O671234C", "0671234Ç",
])
def test_normalise_uai_rejects_malformed_values(uai):
    with pytest.raises(ValueError, match="is not a UAI"):
        svc.normalise_uai(uai)


def test_normalise_uai_rejects_none():
    with pytest.raises(ValueError):
        svc.normalise_uai(None)


def test_letters_i_o_q_are_never_check_letters():
    # The alphabet skips I, O and Q: a UAI ending with them is always refused.
    for digits in ("0000008", "0000013", "0000015"):
        with pytest.raises(ValueError):
            svc.normalise_uai(digits + "I")
        with pytest.raises(ValueError):
            svc.normalise_uai(digits + "O")
        with pytest.raises(ValueError):
            svc.normalise_uai(digits + "Q")


@given(st.integers(min_value=0, max_value=9_999_999))
def test_normalise_uai_property_exactly_one_letter_fits(number):
    digits = f"{number:07d}"
    good = check_letter(digits)
    assert svc.normalise_uai(digits + good.lower()) == digits + good
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        if letter != good:
            with pytest.raises(ValueError):
                svc.normalise_uai(digits + letter)


# --- default_url --------------------------------------------------------------
@pytest.mark.parametrize("uai, url", [
    ("0671234C", "https://0671234c.index-education.net/pronote/"),
    ("0311234Y", "https://0311234y.index-education.net/pronote/"),
])
def test_default_url(uai, url):
    assert svc.default_url(uai) == url


# --- normalise_version --------------------------------------------------------
@pytest.mark.parametrize("given_version, expected", [
    ("2024", "PRONOTE 2024"),
    ("pronote 2024", "PRONOTE 2024"),
    ("PRONOTE 2024", "PRONOTE 2024"),
    ("PRONOTE  2024", "PRONOTE 2024"),
    ("  Pronote\t2018 ", "PRONOTE 2018"),
    ("pronote2025", "PRONOTE 2025"),
    (2023, "PRONOTE 2023"),
    (None, None),
])
def test_normalise_version(given_version, expected):
    assert svc.normalise_version(given_version) == expected


@pytest.mark.parametrize("bad", ["", "24", "20245", "PRONOTE", "PRONOTE 24", "v2024", "PRONOTE 2024 bis",
                                 "EDT 2024", "2024.1", "PRONOTE-2024"])
def test_normalise_version_rejects(bad):
    with pytest.raises(ValueError, match="is not a PRONOTE version"):
        svc.normalise_version(bad)


# --- desired_fields -----------------------------------------------------------
def params(**overrides):
    base = {
        "sso_type": svc.SSO_PRONOTE, "url": None, "xiti_type": "Services de vie scolaire", "group": "Scolarité",
        "show_block": True, "block_version": None, "pronote_cas_url": "", "in_service_bar": True,
        "label": "pronote", "anonymous": False,
    }
    base.update(overrides)
    return base


def test_desired_fields_with_defaults():
    fields = svc.desired_fields(params(), "0671234C")
    assert fields == {
        "sso_type": "SSO Pronote avec CAS",
        "url": "https://0671234c.index-education.net/pronote/",
        "xiti_type": "Services de vie scolaire",
        "group": "Scolarité",
        "show_block": True,
        "block_version": None,
        "pronote_cas_url": "",
        "in_service_bar": True,
        "label": "pronote",
        "anonymous": False,
    }
    assert tuple(fields) == svc.MANAGED_FIELDS


def test_desired_fields_keeps_given_values_and_normalises():
    fields = svc.desired_fields(params(url="  https://pronote.example.test/pronote/ ", block_version="2024",
                                       pronote_cas_url=" https://cas.example.test/ ", label="PRONOTE",
                                       show_block=False, in_service_bar=False, anonymous=True,
                                       sso_type=svc.SSO_STANDARD, group="Outils", xiti_type="Aucun"),
                               "0671234C")
    assert fields["url"] == "https://pronote.example.test/pronote/"
    assert fields["block_version"] == "PRONOTE 2024"
    assert fields["pronote_cas_url"] == "https://cas.example.test/"
    assert (fields["label"], fields["show_block"], fields["in_service_bar"], fields["anonymous"]) == (
        "PRONOTE", False, False, True)
    assert (fields["sso_type"], fields["group"], fields["xiti_type"]) == (svc.SSO_STANDARD, "Outils", "Aucun")


def test_desired_fields_empty_url_means_default_and_none_cas_url_means_empty():
    fields = svc.desired_fields(params(url="", pronote_cas_url=None), "0311234Y")
    assert fields["url"] == "https://0311234y.index-education.net/pronote/"
    assert fields["pronote_cas_url"] == ""


def test_desired_fields_bad_version_is_refused():
    with pytest.raises(ValueError):
        svc.desired_fields(params(block_version="latest"), "0671234C")


# --- unsafe_settings ----------------------------------------------------------
def test_safe_defaults_have_no_problem():
    assert svc.unsafe_settings(svc.desired_fields(params(), "0671234C")) == []


def test_unmanaged_sso_type_is_not_a_problem():
    assert svc.unsafe_settings({"sso_type": None, "pronote_cas_url": "", "anonymous": False}) == []
    assert svc.unsafe_settings({}) == []


def test_unsafe_sso_type_alone():
    problems = svc.unsafe_settings(svc.desired_fields(params(sso_type=svc.SSO_STANDARD), "0671234C"))
    assert len(problems) == 1
    assert "Type de SSO" in problems[0] and svc.SSO_STANDARD in problems[0] and "idPronote" in problems[0]


def test_unsafe_cas_url_alone():
    problems = svc.unsafe_settings(svc.desired_fields(params(pronote_cas_url="https://x.test/"), "0671234C"))
    assert len(problems) == 1
    assert "URL CAS de PRONOTE.net" in problems[0]


def test_unsafe_anonymous_alone():
    problems = svc.unsafe_settings(svc.desired_fields(params(anonymous=True), "0671234C"))
    assert len(problems) == 1
    assert "Service anonyme" in problems[0]


def test_all_three_unsafe_settings_together_in_order():
    problems = svc.unsafe_settings(svc.desired_fields(
        params(sso_type=svc.SSO_STANDARD, pronote_cas_url="https://x.test/", anonymous=True), "0671234C"))
    assert len(problems) == 3
    assert "Type de SSO" in problems[0]
    assert "URL CAS de PRONOTE.net" in problems[1]
    assert "Service anonyme" in problems[2]


# --- changes ------------------------------------------------------------------
DESIRED = {"sso_type": svc.SSO_PRONOTE, "url": "https://a.test/", "block_version": None, "label": "pronote",
           "show_block": False}


def test_changes_when_absent_are_all_managed_fields():
    assert svc.changes(None, DESIRED) == {"sso_type": svc.SSO_PRONOTE, "url": "https://a.test/",
                                          "label": "pronote", "show_block": False}


def test_changes_equal_is_empty():
    before = {**DESIRED, "block_version": "PRONOTE 2019"}
    assert svc.changes(before, DESIRED) == {}


def test_changes_none_is_unmanaged():
    before = {**DESIRED, "block_version": "PRONOTE 2019"}
    assert "block_version" not in svc.changes(before, {**DESIRED, "label": "x"})
    assert svc.changes(before, {**DESIRED, "block_version": "PRONOTE 2024"}) == {"block_version": "PRONOTE 2024"}


def test_changes_only_differences():
    before = {**DESIRED, "url": "https://old.test/", "show_block": True}
    assert svc.changes(before, DESIRED) == {"url": "https://a.test/", "show_block": False}


def test_changes_false_is_a_value_not_unmanaged():
    assert svc.changes({"anonymous": True}, {"anonymous": False}) == {"anonymous": False}
    assert svc.changes({"pronote_cas_url": "https://x/"}, {"pronote_cas_url": ""}) == {"pronote_cas_url": ""}


# --- find_pronote_service -----------------------------------------------------
@dataclass
class Row:
    code: str
    label: str
    sso_type: str = svc.SSO_STANDARD
    internal: bool = False


def test_find_by_sso_type():
    rows = [Row("ABS", "Absences", internal=True), Row("USER_0", "Vie scolaire", svc.SSO_PRONOTE),
            Row("USER_1", "Cantine")]
    found, candidates = svc.find_pronote_service(rows, "pronote")
    assert found is rows[1]
    assert candidates == [rows[1]]


@pytest.mark.parametrize("shown", ["pronote", "PRONOTE", "Pronote", "PrOnOtE"])
def test_find_by_label_case_insensitive(shown):
    rows = [Row("USER_0", "Cantine"), Row("USER_3", shown)]
    found, candidates = svc.find_pronote_service(rows, "pronote")
    assert found is rows[1] and candidates == [rows[1]]


def test_find_by_custom_label():
    rows = [Row("USER_0", "pronote"), Row("USER_1", "Vie scolaire")]
    found, _ = svc.find_pronote_service(rows, "VIE SCOLAIRE")
    assert found.code == "USER_1"


def test_internal_services_are_ignored():
    rows = [Row("ADMIN", "pronote", svc.SSO_PRONOTE, internal=True), Row("HELP", "Aide", internal=True)]
    assert svc.find_pronote_service(rows, "pronote") == (None, [])


def test_none_found():
    assert svc.find_pronote_service([Row("USER_0", "Cantine")], "pronote") == (None, [])
    assert svc.find_pronote_service([], "pronote") == (None, [])


def test_several_candidates_is_ambiguous():
    rows = [Row("USER_0", "pronote"), Row("USER_1", "Autre", svc.SSO_PRONOTE), Row("USER_2", "Cantine")]
    found, candidates = svc.find_pronote_service(rows, "pronote")
    assert found is None
    assert [r.code for r in candidates] == ["USER_0", "USER_1"]


def test_one_service_matching_both_ways_is_one_candidate():
    rows = [Row("USER_0", "pronote", svc.SSO_PRONOTE)]
    found, candidates = svc.find_pronote_service(rows, "pronote")
    assert found is rows[0] and len(candidates) == 1


def test_find_accepts_any_iterable():
    found, _ = svc.find_pronote_service(iter([Row("USER_0", "x", svc.SSO_PRONOTE)]), "pronote")
    assert found.code == "USER_0"


def test_pick_service_by_code_by_look_or_refused_when_ambiguous():
    from ansible_collections.ent.pronote.plugins.module_utils._errors import ValidationError

    rows = [Row("USER_0", "pronote"), Row("USER_5", "Vie scolaire", svc.SSO_PRONOTE), Row("USER_7", "Cantine")]
    assert svc.pick_service(rows, "0671632K", code="USER_7", label="pronote", purpose="diagnose") is rows[2]
    assert svc.pick_service(rows, "0671632K", code="USER_9", label="pronote", purpose="diagnose") is None
    assert svc.pick_service(rows[1:], "0671632K", code=None, label="pronote", purpose="diagnose") is rows[1]
    assert svc.pick_service(rows[2:], "0671632K", code=None, label="pronote", purpose="diagnose") is None
    with pytest.raises(ValidationError, match=r"0671632K .*\(USER_0, USER_5\): say which one to diagnose with"):
        svc.pick_service(rows, "0671632K", code=None, label="pronote", purpose="diagnose")
