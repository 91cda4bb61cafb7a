"""The range_problem filter: one readable sentence per out-of-range variable."""

import pytest

from ansible_collections.pghost.hardening.plugins.filter.range_problem import FilterModule

range_problem = FilterModule().filters()["range_problem"]


def test_registered_name():
    assert set(FilterModule().filters()) == {"range_problem"}


@pytest.mark.parametrize("value", [0, 1, 100, "0", "100", " 42 "])
def test_inside_the_range_is_no_problem(value):
    assert range_problem(value, "pg_kernel_swappiness_value", 0, 100, "vm.swappiness") == ""


@pytest.mark.parametrize("value, shown", [(101, "101"), (-1, "-1"), ("500", "500")])
def test_outside_the_range_names_variable_value_range_and_meaning(value, shown):
    assert range_problem(value, "pg_kernel_swappiness_value", 0, 100, "vm.swappiness") == (
        "pg_kernel_swappiness_value: %s is outside 0..100 (vm.swappiness)" % shown)


def test_no_upper_bound():
    assert range_problem(10 ** 12, "pg_service_timeout_stop_sec", 1) == ""
    assert range_problem(0, "pg_service_timeout_stop_sec", 1, None, "seconds") == (
        "pg_service_timeout_stop_sec: 0 is outside 1.. (seconds)")


@pytest.mark.parametrize("value", [True, False, None, "lots", "1.5", 1.5, [1]])
def test_not_a_whole_number(value):
    assert range_problem(value, "pg_limits_nproc", 0) == (
        "pg_limits_nproc: %r is not a whole number; expected 0.." % (value,))


def test_words_are_allowed_besides_the_range_and_named_in_the_message():
    assert range_problem("auto", "pg_kernel_overcommit_ratio", 1, 100, "vm.overcommit_ratio", ["auto"]) == ""
    assert range_problem("AUTO", "pg_kernel_overcommit_ratio", 1, 100, "", ["auto"]) == ""
    assert range_problem("0", "pg_kernel_overcommit_ratio", 1, 100, "vm.overcommit_ratio", ["auto"]) == (
        "pg_kernel_overcommit_ratio: 0 is outside auto or 1..100 (vm.overcommit_ratio)")
    assert range_problem("half", "pg_kernel_overcommit_ratio", 1, 100, "", ["auto"]) == (
        "pg_kernel_overcommit_ratio: 'half' is not a whole number; expected auto or 1..100")
