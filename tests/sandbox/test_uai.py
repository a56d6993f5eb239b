"""UAI check letters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.uai import CHECK_LETTERS, check_letter, is_valid_uai, make_uai, normalize_uai


@pytest.mark.parametrize(("digits", "letter"), [
    ("0671234", "C"),   # 671234 % 23 = 2
    ("0000000", "A"),
    ("0000022", "Z"),
    ("0000023", "A"),
    ("0310000", "G"),   # 310000 % 23 = 6
    ("9999999", "P"),   # 9999999 % 23 = 13
])
def test_check_letter_known_values(digits: str, letter: str) -> None:
    assert int(digits) % 23 == CHECK_LETTERS.index(letter)
    assert check_letter(digits) == letter


def test_alphabet_has_no_ambiguous_letters() -> None:
    assert len(CHECK_LETTERS) == 23
    assert not set("IOQ") & set(CHECK_LETTERS)


@given(st.text(alphabet="0123456789", min_size=7, max_size=7))
def test_made_uai_is_valid_and_other_letters_are_not(digits: str) -> None:
    uai = make_uai(digits)
    assert is_valid_uai(uai)
    for other in CHECK_LETTERS:
        if other != uai[-1]:
            assert not is_valid_uai(digits + other)


@pytest.mark.parametrize("bad", ["067123C", "06712345C", "0671234c", "067123AC", "", "0671234I", "٠٦٧١٢٣٤C"])
def test_malformed_uais_are_invalid(bad: str) -> None:
    assert not is_valid_uai(bad)


def test_normalize_accepts_lower_case_and_spaces() -> None:
    assert normalize_uai(" 0671234c ") == "0671234C"
    with pytest.raises(ValueError, match="lettre de contrôle devrait être C"):
        normalize_uai("0671234D")
    with pytest.raises(ValueError):
        check_letter("06712a4")
