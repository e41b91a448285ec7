"""`python -m bench`'s arguments: benchmark names and the options passed on to them."""

from __future__ import annotations

from bench.__main__ import split_arguments

KNOWN = {"feeds_http", "run_once", "dedup", "extract_pages"}


def test_an_option_value_written_apart_goes_with_its_option() -> None:
    assert split_arguments(["feeds_http", "--rounds", "2", "--duration", "3"], KNOWN) == (
        ["feeds_http"],
        ["--rounds", "2", "--duration", "3"],
    )


def test_values_written_with_equals_and_flags_leave_the_names_alone() -> None:
    assert split_arguments(["run_once", "--trials=2", "--profile", "dedup"], KNOWN) == (
        ["run_once", "dedup"],
        ["--trials=2", "--profile"],
    )


def test_an_unknown_name_after_a_flag_is_taken_as_its_value_and_one_alone_stays_a_name() -> None:
    assert split_arguments(["extract_pages", "--text-only", "dedup"], KNOWN) == (
        ["extract_pages", "dedup"],
        ["--text-only"],
    )
    assert split_arguments(["nonesuch"], KNOWN) == (["nonesuch"], [])
