"""The pg_ctl_fast_flags filter: a thin shell around module_utils/pg_ctl_flags.py."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pghost.hardening.plugins.filter.pg_ctl_fast_flags import FilterModule

pg_ctl_fast_flags = FilterModule().filters()["pg_ctl_fast_flags"]


def test_registered_name():
    assert set(FilterModule().filters()) == {"pg_ctl_fast_flags"}


@pytest.mark.parametrize("value, expected", [
    ("-w -s -m smart", "-w -s -m fast"),                     # as in the filter's EXAMPLES
    ("-w -o '-p 5433'", "-w -o '-p 5433' -m fast"),           # as in the filter's EXAMPLES
    ("-w -s -m fast", "-w -s -m fast"),
    ("", ""),
])
def test_filter_values(value, expected):
    assert pg_ctl_fast_flags(value) == expected


@pytest.mark.parametrize("value", ["-w -x", "-w -m", "-o '-p 5433"])
def test_flags_pg_ctl_refuses_are_a_filter_error(value):
    with pytest.raises(AnsibleFilterError) as exc:
        pg_ctl_fast_flags(value)
    message = str(exc.value)
    assert "pg_ctl_fast_flags" in message
    assert repr(value) in message
    assert "-w -s -m fast" in message


@pytest.mark.parametrize("value", [None, 5, ["-w"]])
def test_not_a_string_is_a_filter_error(value):
    with pytest.raises(AnsibleFilterError) as exc:
        pg_ctl_fast_flags(value)
    assert repr(value) in str(exc.value)


def test_name_is_in_the_error():
    with pytest.raises(AnsibleFilterError) as exc:
        pg_ctl_fast_flags("-w -x", name="postgresql_flags in /etc/rc.conf")
    assert str(exc.value).startswith("postgresql_flags in /etc/rc.conf is '-w -x': option -x (in '-x') is not a "
                                     "pg_ctl option; pg_ctl refuses it")
