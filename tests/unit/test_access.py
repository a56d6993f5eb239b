"""_access: rules from options, desired rules, plans (examples and properties)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.ent.pronote.plugins.module_utils import _access as acc
from ansible_collections.ent.pronote.plugins.module_utils._access import Rule


def option(**values):
    """One entry of ``rules`` as Ansible hands it over (every suboption present)."""
    item = {"profile": "Elève", "target": "site", "establishments": None, "groups": None,
            "role": "Accès au service", "subject": None, "function": None, "discipline": None}
    item.update(values)
    return item


# --- rule_from_option ---------------------------------------------------------
def test_site_rule():
    assert acc.rule_from_option(option()) == Rule("Elève", "site", (), "Accès au service", "", "", "")


def test_missing_target_and_role_default():
    assert acc.rule_from_option({"profile": "Parent"}) == Rule("Parent")
    assert acc.rule_from_option({"profile": "Parent", "target": None, "role": None}) == Rule("Parent")


def test_ent_rule():
    assert acc.rule_from_option(option(profile="Inspecteur", target="ent")) == Rule("Inspecteur", "ent")


def test_establishments_rule_upper_cases_strips_and_sorts():
    rule = acc.rule_from_option(option(target="establishments",
                                       establishments=["0672345k", " 0670001M ", "0671234C", "0672345K"]))
    assert rule.target == "establishments"
    assert rule.values == ("0670001M", "0671234C", "0672345K")


def test_groups_rule_sorted_unique_case_kept():
    rule = acc.rule_from_option(option(target="groups", groups=["Vie scolaire", "Professeurs principaux",
                                                                "Vie scolaire"]))
    assert rule.values == ("Professeurs principaux", "Vie scolaire")


def test_optional_fields_and_role():
    rule = acc.rule_from_option(option(profile="Enseignant", role="Administration du service",
                                       subject="Mathématiques", function="Direction", discipline="L1300"))
    assert (rule.role, rule.subject, rule.function, rule.discipline) == (
        "Administration du service", "Mathématiques", "Direction", "L1300")


@pytest.mark.parametrize("target, key", [("establishments", "establishments"), ("groups", "groups")])
@pytest.mark.parametrize("missing", [None, []])
def test_list_target_without_its_list_is_refused(target, key, missing):
    with pytest.raises(ValueError) as err:
        acc.rule_from_option(option(profile="Parent", target=target, **{key: missing}))
    assert f"target '{target}' needs '{key}'" in str(err.value)
    assert "Parent" in str(err.value)


@pytest.mark.parametrize("target", ["site", "ent", None])
@pytest.mark.parametrize("key, value", [("establishments", ["0671234C"]), ("groups", ["Vie scolaire"])])
def test_list_for_a_target_without_list_is_refused(target, key, value):
    with pytest.raises(ValueError) as err:
        acc.rule_from_option(option(target=target, **{key: value}))
    assert f"'{key}' only goes with target '{key}'" in str(err.value)


@pytest.mark.parametrize("item", [
    option(target="establishments", establishments=["0671234C"], groups=["Vie scolaire"]),
    option(target="groups", groups=["Vie scolaire"], establishments=["0671234C"]),
])
def test_the_other_list_for_a_list_target_is_refused(item):
    with pytest.raises(ValueError, match="only goes with target"):
        acc.rule_from_option(item)


# --- Rule helpers ---------------------------------------------------------------
def test_describe_and_as_dict():
    rule = Rule("Enseignant", "establishments", ("0670001M", "0671234C"), "Administration du service",
                subject="Mathématiques")
    assert rule.describe() == ("Enseignant / Liste personnalisée d'établissements (0670001M, 0671234C) "
                               "/ Mathématiques / Administration du service")
    assert rule.as_dict() == {"profile": "Enseignant", "target": "establishments",
                              "role": "Administration du service", "establishments": ["0670001M", "0671234C"],
                              "subject": "Mathématiques"}
    assert Rule("Elève").as_dict() == {"profile": "Elève", "target": "site", "role": "Accès au service"}
    assert Rule("Elève", "groups", ("G",)).as_dict()["groups"] == ["G"]


def test_as_dict_round_trips_through_rule_from_option():
    rules = [Rule("Elève"), Rule("Parent", "ent"), Rule("Enseignant", "groups", ("A", "B"), function="Direction"),
             Rule("Personnel", "establishments", ("0670001M",), "Administration du service", discipline="X")]
    for rule in rules:
        assert acc.rule_from_option(rule.as_dict()) == rule


# --- desired_rules ------------------------------------------------------------
def test_desired_rules_profiles_shortcut():
    assert acc.desired_rules(["Parent", "Elève"], None) == [Rule("Elève"), Rule("Parent")]


def test_desired_rules_profiles_and_rules_merged_without_duplicates():
    got = acc.desired_rules(["Elève", "Elève", "Parent"],
                            [option(profile="Elève"), option(profile="Enseignant", target="ent"),
                             option(profile="Enseignant", target="ent")])
    assert got == [Rule("Elève"), Rule("Enseignant", "ent"), Rule("Parent")]


def test_desired_rules_same_establishments_in_another_order_is_one_rule():
    got = acc.desired_rules(None, [option(target="establishments", establishments=["0671234C", "0670001M"]),
                                   option(target="establishments", establishments=["0670001m", "0671234c"])])
    assert got == [Rule("Elève", "establishments", ("0670001M", "0671234C"))]


def test_desired_rules_empty():
    assert acc.desired_rules(None, None) == []
    assert acc.desired_rules([], []) == []


def test_desired_rules_propagates_option_errors():
    with pytest.raises(ValueError):
        acc.desired_rules(["Elève"], [option(target="groups")])


# --- plan and after -----------------------------------------------------------
ELEVE, PARENT, PROF = Rule("Elève"), Rule("Parent"), Rule("Enseignant")
PROF_ENT = Rule("Enseignant", "ent")


def test_plan_not_exclusive_only_adds():
    assert acc.plan([ELEVE, PROF_ENT], [ELEVE, PARENT], exclusive=False) == ([PARENT], [])


def test_plan_exclusive_adds_and_removes():
    assert acc.plan([ELEVE, PROF_ENT], [ELEVE, PARENT], exclusive=True) == ([PARENT], [PROF_ENT])


def test_plan_nothing_to_do():
    assert acc.plan([PARENT, ELEVE], [ELEVE, PARENT], exclusive=True) == ([], [])
    assert acc.plan([PARENT, ELEVE, PROF], [ELEVE], exclusive=False) == ([], [])


def test_plan_distinguishes_every_attribute():
    current = [Rule("Enseignant", subject="Mathématiques")]
    desired = [Rule("Enseignant")]
    assert acc.plan(current, desired, exclusive=True) == (desired, current)
    assert acc.plan([Rule("Elève", role="Administration du service")], [ELEVE], True) == (
        [ELEVE], [Rule("Elève", role="Administration du service")])


def test_plan_results_are_sorted():
    to_add, _ = acc.plan([], [PROF_ENT, PARENT, ELEVE, PROF], exclusive=False)
    assert to_add == sorted([PROF_ENT, PARENT, ELEVE, PROF])
    assert [r.profile for r in to_add] == ["Elève", "Enseignant", "Enseignant", "Parent"]


def test_after():
    assert acc.after([ELEVE, PROF_ENT], [PARENT], [PROF_ENT]) == [ELEVE, PARENT]
    assert acc.after([], [], []) == []
    assert acc.after([ELEVE], [ELEVE], []) == [ELEVE]


# --- properties ----------------------------------------------------------------
values = st.lists(st.sampled_from(["0671234C", "0670001M", "0672345K"]), min_size=1, max_size=3, unique=True)
rules = st.one_of(
    st.builds(Rule, profile=st.sampled_from(acc.PROFILES), target=st.sampled_from(["site", "ent"]),
              role=st.sampled_from(acc.ROLES), subject=st.sampled_from(["", "Mathématiques"])),
    st.builds(lambda p, v: Rule(p, "establishments", tuple(sorted(v))), st.sampled_from(acc.PROFILES), values),
    st.builds(lambda p, v: Rule(p, "groups", tuple(sorted(v))), st.sampled_from(acc.PROFILES),
              st.lists(st.sampled_from(["G1", "G2", "Vie scolaire"]), min_size=1, max_size=3, unique=True)),
)
rule_lists = st.lists(rules, max_size=8)


@given(rule_lists, rule_lists)
def test_exclusive_plan_yields_exactly_the_desired_set(current, desired):
    to_add, to_remove = acc.plan(current, desired, exclusive=True)
    assert set(acc.after(current, to_add, to_remove)) == set(desired)
    assert set(to_add).isdisjoint(current) and set(to_remove) <= set(current)


@given(rule_lists, rule_lists)
def test_additive_plan_yields_a_superset_and_removes_nothing(current, desired):
    to_add, to_remove = acc.plan(current, desired, exclusive=False)
    result = set(acc.after(current, to_add, to_remove))
    assert to_remove == []
    assert result == set(current) | set(desired)
    assert result >= set(desired)


@given(rule_lists, rule_lists, st.booleans())
def test_plan_is_idempotent(current, desired, exclusive):
    result = acc.after(current, *acc.plan(current, desired, exclusive))
    assert acc.plan(result, desired, exclusive) == ([], [])


@given(rule_lists, rule_lists, st.booleans(), st.randoms(use_true_random=False))
def test_input_order_never_changes_the_plan(current, desired, exclusive, rnd):
    shuffled_current, shuffled_desired = list(current), list(desired)
    rnd.shuffle(shuffled_current)
    rnd.shuffle(shuffled_desired)
    assert acc.plan(shuffled_current, shuffled_desired, exclusive) == acc.plan(current, desired, exclusive)


@given(st.lists(st.sampled_from(acc.PROFILES)), st.lists(st.sampled_from(acc.PROFILES)), st.randoms(use_true_random=False))
def test_desired_rules_order_and_duplicates_do_not_matter(profiles, more, rnd):
    items = [option(profile=p, target="ent") for p in more]
    shuffled_profiles, shuffled_items = list(profiles) * 2, list(items)
    rnd.shuffle(shuffled_profiles)
    rnd.shuffle(shuffled_items)
    assert acc.desired_rules(shuffled_profiles, shuffled_items) == acc.desired_rules(profiles, items)
    got = acc.desired_rules(profiles, items)
    assert len(got) == len(set(got)) and got == sorted(got)
