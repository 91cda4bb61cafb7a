"""PostgreSQL memory units (module_utils/units.py).

Expected values are worked out by hand here: 1 kB = 1024 B, 1 MB = 1024 kB,
1 GB = 1024 MB, 1 TB = 1024 GB (PostgreSQL's units are binary and
case-sensitive), and a bare number counts the setting's base unit. A value
with a unit becomes a whole number of base units, rounded half to even like
PostgreSQL's rint() (guc.c convert_to_base_unit / parse_int), whole or not:
with 8 kB pages '4kB' is half a page -> 0, '12kB' is 1.5 pages -> 2.
"""

import re
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pghost.hardening.plugins.module_utils.units import (
    UnitError,
    base_unit_bytes,
    pg_size_bytes,
)

KB = 1024
MB = 1024 * 1024
GB = 1024 * 1024 * 1024
TB = 1024 * 1024 * 1024 * 1024
# The test's own table, not the module's.
MULTIPLIER = {"B": 1, "kB": KB, "MB": MB, "GB": GB, "TB": TB}

PROPERTY = settings(max_examples=200, deadline=None, database=None)


def lists_valid_units(message):
    return all(re.search(r"(?<![A-Za-z])%s(?![A-Za-z])" % u, message) for u in ("B", "kB", "MB", "GB", "TB"))


def nearest_even(numerator, denominator):
    """numerator / denominator rounded to a whole number, ties to the even
    neighbour (rint() in the default rounding mode), in plain integers."""
    q, r = divmod(numerator, denominator)
    if 2 * r > denominator or (2 * r == denominator and q % 2 == 1):
        q += 1
    return q


@pytest.mark.parametrize(
    "value, base_unit, expected",
    [
        ("128MB", "8kB", 134217728),
        ("1GB", "8kB", 1073741824),
        ("64kB", "8kB", 65536),
        ("8192", "8kB", 67108864),          # 8192 pages of 8 kB = 64 MiB
        (8192, "8kB", 67108864),
        ("16384", "8kB", 134217728),
        (16384, "8kB", 134217728),
        ("1TB", "8kB", 1099511627776),
        ("0", "8kB", 0),
        (0, "8kB", 0),
        ("0MB", "8kB", 0),
        ("1.5GB", "8kB", 1610612736),       # 1.5 * 2^30, a whole number of 8 kB pages
        ("128 MB", "8kB", 134217728),       # PostgreSQL allows blanks between number and unit
        ("  128MB  ", "8kB", 134217728),
        ("\t1GB\n", "8kB", 1073741824),
        ("100B", "8kB", 0),                 # 100 / 8192 of a page -> 0 pages
        ("1kB", "8kB", 0),                  # 1/8 page -> 0
        ("4kB", "8kB", 0),                  # exactly half a page: the even neighbour is 0
        ("12kB", "8kB", 16384),             # 1.5 pages: the even neighbour is 2
        ("20kB", "8kB", 16384),             # 2.5 pages -> 2 (even), not 3
        ("28kB", "8kB", 32768),             # 3.5 pages -> 4 (even)
        ("5kB", "8kB", 8192),               # 0.625 page -> 1
        ("8191B", "8kB", 8192),             # just under a page -> 1
        ("1.5kB", "8kB", 0),                # 0.1875 page -> 0
        ("2.5kB", "kB", 2048),              # 2.5 kB -> 2 (even)
        ("3.5kB", "kB", 4096),              # 3.5 kB -> 4 (even)
        ("512B", "kB", 0),                  # half a kB -> 0 (even)
        ("1536B", "kB", 2048),              # 1.5 kB -> 2 (even)
        ("100B", "B", 100),                 # a byte base unit keeps every byte
        ("1MB", "kB", 1048576),
        ("3MB", "2MB", 4 * MB),             # 1.5 units of 2 MB -> 2
        ("4096", "kB", 4194304),            # work_mem: a bare number is kB
        (4096, "kB", 4194304),
        ("1024", "MB", 1073741824),         # shared_memory_size: a bare number is MB
        (2, "MB", 2097152),
        ("4", "16kB", 65536),               # a base unit with a count
        ("16", "16kB", 262144),
        (3, "16kB", 49152),
        ("7", "B", 7),
        ("5", " kB ", 5120),
    ],
)
def test_valid_sizes(value, base_unit, expected):
    assert pg_size_bytes(value, base_unit) == expected


def test_default_base_unit_is_8kb_pages():
    assert pg_size_bytes("16384") == 16384 * 8192 == 134217728
    assert pg_size_bytes(1) == 8192


@pytest.mark.parametrize(
    "value, base_unit, expected",
    [
        # 0.1 MB = 104857.6 B = 12.8 pages of 8 kB -> nearest 13 pages
        ("0.1MB", "8kB", 13 * 8192),
        # 0.3 GB = 307.2 MB -> nearest 307 MB
        ("0.3GB", "MB", 307 * MB),
        # 1.25 GB = 1280 MB exactly
        ("1.25GB", "MB", 1280 * MB),
        # 2.7 kB -> nearest 3 kB
        ("2.7kB", "kB", 3 * KB),
        # 2.2 kB -> nearest 2 kB
        ("2.2kB", "kB", 2 * KB),
        # 0.0001 kB = 0.1024 B, far below half a page -> 0
        ("0.0001kB", "8kB", 0),
        # with a byte base unit, fractions of a kB are exact
        ("1.5GB", "B", 1610612736),
        ("0.5kB", "B", 512),
        ("1.25kB", "B", 1280),
        ("1.9B", "B", 2),
        # 1.9 MB = 1945.6 kB = 243.2 pages -> 243 pages
        ("1.9MB", "8kB", 243 * 8192),
        # 0.75 kB with a 16 kB base = 0.046875 units -> 0
        ("0.75kB", "16kB", 0),
        # 10.6 MB with a 16 kB base = 678.4 units -> 678
        ("10.6 MB", "16kB", 678 * 16 * KB),
    ],
)
def test_fractional_sizes_round_to_the_base_unit(value, base_unit, expected):
    assert pg_size_bytes(value, base_unit) == expected


@pytest.mark.parametrize(
    "base_unit, expected",
    [("B", 1), ("kB", 1024), ("8kB", 8192), ("16kB", 16384), ("MB", MB), ("2MB", 2 * MB), ("GB", GB), ("TB", TB)],
)
def test_base_units(base_unit, expected):
    assert base_unit_bytes(base_unit) == expected


@pytest.mark.parametrize("base_unit", ["kb", "8KB", "mb", "GiB", "", "8", "pages", "-8kB", "8 kB", "k B", "1.5kB"])
def test_unknown_base_unit_is_an_error_listing_units(base_unit):
    with pytest.raises(UnitError) as exc:
        pg_size_bytes("128MB", base_unit)
    message = str(exc.value)
    assert repr(base_unit) in message
    assert lists_valid_units(message)


@pytest.mark.parametrize("base_unit", ["0kB", "0B", "00MB"])
@pytest.mark.parametrize("value", ["1.5GB", "128MB", "16384", 16384])
def test_zero_count_base_unit_is_refused(value, base_unit):
    # a base unit of 0 bytes would make every size 0 and a fraction divide by zero
    with pytest.raises(UnitError) as exc:
        pg_size_bytes(value, base_unit)
    message = str(exc.value)
    assert repr(base_unit) in message
    assert lists_valid_units(message)


INVALID = [
    "128mb",
    "1 GiB",
    "-1",
    "12.5",       # a bare number counts whole base units
    "",
    "abc",
    True,
    None,
    -1,
    "1.5",
    "1e3",
    "MB",
    "128 MB extra",
    "1.5.5GB",
    "1,5GB",
    "64KB",
    "1gb",
    "10 Mb",
    "5 bytes",
    "5 PB",
    "0x10",
    False,
    1.5,
    [],
]


@pytest.mark.parametrize("value", INVALID, ids=[repr(v) for v in INVALID])
def test_invalid_sizes_raise_naming_the_setting_and_value(value):
    with pytest.raises(UnitError) as exc:
        pg_size_bytes(value, "8kB", name="clusters[0].shared_buffers")
    message = str(exc.value)
    assert message.startswith("clusters[0].shared_buffers")
    assert repr(value) in message or str(value) in message


# Acceptance: every UnitError names the value and lists the valid units,
# including the ones for a boolean, a negative int and a fractional bare
# number (12.5, 1.5), which once did not.
NO_UNIT_LIST = [True, False, "12.5", "1.5", -1, 1.5]


@pytest.mark.parametrize("value", INVALID, ids=[repr(v) for v in INVALID])
def test_invalid_size_messages_list_the_valid_units(value):
    with pytest.raises(UnitError) as exc:
        pg_size_bytes(value)
    message = str(exc.value)
    assert lists_valid_units(message)
    assert repr(value) in message or str(value) in message


@pytest.mark.parametrize("value", NO_UNIT_LIST, ids=repr)
@pytest.mark.parametrize("base_unit", ["8kB", "kB", "MB"])
def test_every_invalid_size_message_lists_the_valid_units(value, base_unit):
    with pytest.raises(UnitError) as exc:
        pg_size_bytes(value, base_unit)
    message = str(exc.value)
    assert lists_valid_units(message)
    assert repr(value) in message


@pytest.mark.parametrize(
    "value, right",
    [("128mb", "MB"), ("1gb", "GB"), ("64KB", "kB"), ("64kb", "kB"), ("1tb", "TB"), ("100b", "B"), ("10 Mb", "MB"),
     ("2Gb", "GB"), ("1.5gB", "GB")],
)
def test_case_mistakes_suggest_the_right_case(value, right):
    with pytest.raises(UnitError) as exc:
        pg_size_bytes(value)
    message = str(exc.value)
    assert "case" in message.lower()
    # the suggestion comes before the list of valid units: cut the message
    # where its tail starts to list all five
    start = max(i for i in range(len(message)) if lists_valid_units(message[i:]))
    suggestion = message[:start]
    assert re.search(r"(?<![A-Za-z'])%s(?![A-Za-z'])" % right, suggestion), message
    assert lists_valid_units(message)


@pytest.mark.parametrize("value", ["1 GiB", "5 PB", "10 bytes", "3 pages"])
def test_unknown_units_do_not_claim_a_case_mistake(value):
    with pytest.raises(UnitError) as exc:
        pg_size_bytes(value)
    assert "did you mean" not in str(exc.value)


def test_unit_error_is_a_value_error():
    assert issubclass(UnitError, ValueError)


def test_larger_setting_never_gives_fewer_bytes():
    # whole and fractional values with a unit are rounded alike ('1kB' once
    # kept its 1024 bytes while '1.5kB' became 0)
    assert pg_size_bytes("1.5kB", "8kB") >= pg_size_bytes("1kB", "8kB")
    assert pg_size_bytes("1.5kB", "8kB") == pg_size_bytes("1kB", "8kB") == 0


@pytest.mark.parametrize(
    "value, base_unit, expected",
    [
        # 1.4998 kB = 1535.7952 B -> 1536 B = 1.5 kB -> rint 2 kB
        ("1.4998kB", "kB", 2 * KB),
        # 0.0117 MB = 11.9808 kB -> 12 kB = 1.5 pages of 8 kB -> rint 2 pages
        ("0.0117MB", "8kB", 2 * 8192),
    ],
)
def test_rounds_through_the_next_smaller_unit_like_postgresql(value, base_unit, expected):
    assert pg_size_bytes(value, base_unit) == expected


# --- properties -------------------------------------------------------------

UNITS = st.sampled_from(sorted(MULTIPLIER))
BASES = st.sampled_from([("B", 1), ("kB", KB), ("8kB", 8 * KB), ("16kB", 16 * KB), ("MB", MB), ("2MB", 2 * MB)])
BLANKS = st.sampled_from(["", " ", "  ", "\t"])


@PROPERTY
@given(number=st.integers(min_value=0, max_value=10 ** 9), unit=UNITS, base=BASES,
       lead=BLANKS, mid=BLANKS, trail=BLANKS)
def test_whole_number_with_unit(number, unit, base, lead, mid, trail):
    text = "%s%d%s%s%s" % (lead, number, mid, unit, trail)
    got = pg_size_bytes(text, base[0])
    assert got == nearest_even(number * MULTIPLIER[unit], base[1]) * base[1]
    assert got % base[1] == 0
    assert abs(got - number * MULTIPLIER[unit]) <= base[1] // 2
    if MULTIPLIER[unit] % base[1] == 0:
        # a unit that is a whole number of base units is exact
        assert got == number * MULTIPLIER[unit]


@PROPERTY
@given(number=st.integers(min_value=0, max_value=10 ** 12), base=BASES, as_text=st.booleans())
def test_bare_number_counts_base_units(number, base, as_text):
    value = str(number) if as_text else number
    assert pg_size_bytes(value, base[0]) == number * base[1]


@PROPERTY
@given(whole=st.integers(min_value=0, max_value=10 ** 6), frac=st.text("0123456789", min_size=1, max_size=6),
       unit=UNITS, base=BASES)
def test_fractional_number_rounds_through_the_next_smaller_unit(whole, frac, unit, base):
    # guc.c convert_to_base_unit: round to the next smaller unit (B has
    # none), then parse_int rounds that to the base unit; rint() both times.
    exact = (whole + Fraction(int(frac), 10 ** len(frac))) * MULTIPLIER[unit]
    smaller = {"TB": GB, "GB": MB, "MB": KB, "kB": 1, "B": None}[unit]
    if smaller:
        step = exact / smaller
        exact = Fraction(nearest_even(step.numerator, step.denominator) * smaller)
    got = pg_size_bytes("%d.%s%s" % (whole, frac, unit), base[0])
    assert got % base[1] == 0
    units = exact / base[1]
    assert got == nearest_even(units.numerator, units.denominator) * base[1]


@PROPERTY
@given(unit=st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=4),
       number=st.integers(min_value=0, max_value=10 ** 6))
def test_only_the_five_case_sensitive_units_exist(unit, number):
    text = "%d%s" % (number, unit)
    if unit in MULTIPLIER:
        # default base unit: 8 kB pages, rounded half to even
        assert pg_size_bytes(text) == nearest_even(number * MULTIPLIER[unit], 8192) * 8192
    else:
        with pytest.raises(UnitError) as exc:
            pg_size_bytes(text)
        assert repr(text) in str(exc.value)
        assert lists_valid_units(str(exc.value))


@PROPERTY
@given(a=st.integers(min_value=0, max_value=10 ** 6), b=st.integers(min_value=0, max_value=10 ** 6),
       digits=st.integers(0, 3), unit_a=UNITS, unit_b=UNITS, base=BASES)
def test_larger_setting_never_gives_fewer_bytes_property(a, b, digits, unit_a, unit_b, base):
    """Rounding to the base unit keeps the order of the sizes written."""
    def text(n, unit):
        if not digits:
            return "%d%s" % (n, unit)
        return "%d.%0*d%s" % (n // 10 ** digits, digits, n % 10 ** digits, unit)
    exact_a = Fraction(a, 10 ** digits) * MULTIPLIER[unit_a]
    exact_b = Fraction(b, 10 ** digits) * MULTIPLIER[unit_b]
    got_a, got_b = pg_size_bytes(text(a, unit_a), base[0]), pg_size_bytes(text(b, unit_b), base[0])
    if exact_a <= exact_b:
        assert got_a <= got_b
    else:
        assert got_a >= got_b


@PROPERTY
@given(number=st.integers(min_value=1, max_value=10 ** 9))
def test_negative_numbers_are_refused(number):
    with pytest.raises(UnitError):
        pg_size_bytes(-number)
    with pytest.raises(UnitError):
        pg_size_bytes("-%d" % number)
    with pytest.raises(UnitError):
        pg_size_bytes("-%dMB" % number)
