"""The jail_uid_plan filter: a thin shell around module_utils/jail_uids.py."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pghost.hardening.plugins.filter.jail_uid_plan import FilterModule

jail_uid_plan = FilterModule().filters()["jail_uid_plan"]

HOST = {"root": 0, "postgres": 770, "backup": 5000}


def jail(name, uid, ipc="inherit"):
    return {"name": name, "path": "/jails/" + name, "users": {"root": 0, "postgres": uid},
            "groups": {"wheel": 0, "postgres": uid}, "has_postgresql": True, "ipc": ipc}


def test_registered_name():
    assert set(FilterModule().filters()) == {"jail_uid_plan"}


def test_plan_through_the_filter():
    # uid 770 is the host's postgres, 5000 its backup user; no host groups
    # given, so gid 770 stays
    result = jail_uid_plan([jail("pg2", 770), jail("pg1", 5001)], HOST, [5000, 5009])
    assert [(j["name"], j["target_uid"], j["target_gid"], j["change_uid"]) for j in result["jails"]] == [
        ("pg1", 5001, 5001, False), ("pg2", 5002, 770, True)]
    assert result["changed"] is True
    assert result["range"] == [5000, 5009]


def test_keywords():
    result = jail_uid_plan([jail("pg1", 770)], {"root": 0}, [5000, 5009], server_user="postgres",
                           server_group="postgres", host_groups={"postgres": 770})
    assert [(j["target_uid"], j["target_gid"]) for j in result["jails"]] == [(770, 5000)]


@pytest.mark.parametrize(
    "jails, host, rng, words",
    [
        ([jail("pg%d" % i, 770) for i in range(4)], HOST, [5000, 5002],
         ["jail_uid_plan:", "UID range 5000-5002 is too small", "4 jail(s) need a new uid (pg0, pg1, pg2, pg3)", "only 2 id(s)"]),
        ([{"name": "pg1", "users": {"pgsql": 70}, "groups": {}, "has_postgresql": True}], HOST, [5000, 5009],
         ["jail_uid_plan:", "jail pg1 has PostgreSQL but no user 'postgres'"]),
        ([jail("pg1", 770)], HOST, [5009, 5000], ["5009-5000 is empty"]),
        ("pg1", HOST, [5000, 5009], ["must be a list"]),
    ],
)
def test_errors_are_filter_errors(jails, host, rng, words):
    with pytest.raises(AnsibleFilterError) as exc:
        jail_uid_plan(jails, host, rng)
    for word in words:
        assert word in str(exc.value)


def test_through_jinja2():
    import jinja2

    env = jinja2.Environment()
    env.filters["jail_uid_plan"] = jail_uid_plan
    template = env.from_string(
        "{{ (jails | jail_uid_plan(host, [5000, 5009])).jails | map(attribute='target_uid') | join(',') }}")
    assert template.render(jails=[jail("b", 770), jail("a", 770)], host={"root": 0}) == "770,5000"
