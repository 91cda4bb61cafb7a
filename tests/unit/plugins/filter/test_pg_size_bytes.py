"""The pg_size_bytes filter: a thin shell around module_utils/units.py."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pghost.hardening.plugins.filter.pg_size_bytes import FilterModule

pg_size_bytes = FilterModule().filters()["pg_size_bytes"]


def test_registered_name():
    assert set(FilterModule().filters()) == {"pg_size_bytes"}


@pytest.mark.parametrize(
    "value, args, expected",
    [
        ("128MB", (), 134217728),
        ("16384", (), 16384 * 8192),          # bare number: 8 kB pages by default
        (16384, (), 134217728),
        ("1GB", (), 1073741824),
        ("4096", ("kB",), 4194304),            # work_mem, as in the filter's EXAMPLES
        ("1024", ("MB",), 1073741824),         # shared_memory_size
        ("4", ("16kB",), 65536),
        ("128 MB", ("kB",), 134217728),        # a unit overrides the base unit
        ("0", (), 0),
        ("1.5GB", (), 1610612736),
        ("12kB", (), 16384),                  # 1.5 pages of 8 kB -> 2 (half to even)
        ("4kB", (), 0),                       # half a page -> 0 (half to even)
        ("2.5kB", ("kB",), 2048),
    ],
)
def test_filter_values(value, args, expected):
    assert pg_size_bytes(value, *args) == expected


def test_base_unit_by_keyword():
    assert pg_size_bytes("2", base_unit="MB") == 2097152


@pytest.mark.parametrize("value", ["128mb", "1 GiB", "-1", -1, "12.5", "", "abc", True, None])
def test_bad_input_is_a_filter_error(value):
    with pytest.raises(AnsibleFilterError) as exc:
        pg_size_bytes(value)
    message = str(exc.value)
    assert "pg_size_bytes" in message
    assert repr(value) in message


def test_case_mistake_is_explained():
    with pytest.raises(AnsibleFilterError) as exc:
        pg_size_bytes("128mb")
    assert "did you mean MB" in str(exc.value)


@pytest.mark.parametrize("base_unit", ["kb", "pages", "GiB", "", "0kB"])
def test_bad_base_unit_is_a_filter_error(base_unit):
    with pytest.raises(AnsibleFilterError) as exc:
        pg_size_bytes("128", base_unit)
    assert repr(base_unit) in str(exc.value)
    assert all(u in str(exc.value) for u in ("B", "kB", "MB", "GB", "TB"))


def test_through_jinja2():
    """The filter as a template calls it."""
    import jinja2

    env = jinja2.Environment()
    env.filters["pg_size_bytes"] = pg_size_bytes
    assert env.from_string("{{ '128MB' | pg_size_bytes }}").render() == "134217728"
    assert env.from_string("{{ '4096' | pg_size_bytes('kB') }}").render() == "4194304"
    with pytest.raises(AnsibleFilterError):
        env.from_string("{{ '128mb' | pg_size_bytes }}").render()
