"""jail_uids: distinct PostgreSQL UIDs/GIDs across FreeBSD jails, and the collision audit.

Accounts come from hand-written passwd(5)/group(5) files
(tests/unit/fixtures/freebsd-files/jails/README); the IPC modes of the
fixture jails from jail_conf.effective_ipc on the fixture jail.conf.
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pghost.hardening.plugins.module_utils.jail_conf import effective_ipc, jls_ipc, parse_jls_n
from ansible_collections.pghost.hardening.plugins.module_utils.jail_uids import (
    PlanError,
    apply,
    collisions,
    parse_group,
    parse_passwd,
    plan,
)

JAILS = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "freebsd-files", "jails")
PROPERTY = settings(max_examples=100, deadline=None, database=None)
BASE_USERS = {"root": 0, "toor": 0, "daemon": 1, "operator": 2, "bin": 3, "www": 80, "nobody": 65534}
BASE_GROUPS = {"wheel": 0, "daemon": 1, "operator": 5, "bin": 7, "www": 80, "nogroup": 65533, "nobody": 65534}


def fixture_text(*parts):
    with open(os.path.join(JAILS, *parts), encoding="utf-8") as handle:
        return handle.read()


def fixture_jails():
    conf = fixture_text("jail.conf")
    jails = []
    for name in ("pg1", "pg2", "pg3", "pg4"):
        ipc = effective_ipc(fixture_text("jail.conf.d", "pg2.conf") if name == "pg2" else conf, name)
        jails.append({
            "name": name, "path": "/jails/%s" % name,
            "users": parse_passwd(fixture_text("passwd.%s" % name)),
            "groups": parse_group(fixture_text("group.%s" % name)),
            "has_postgresql": True, "ipc": ipc,
        })
    return jails


def host_users():
    return parse_passwd(fixture_text("passwd.host"))


def host_groups():
    return parse_group(fixture_text("group.host"))


def targets(result):
    return dict((j["name"], (j["target_uid"], j["target_gid"])) for j in result["jails"])


def jail(name, uid, gid=None, extra=None, has_postgresql=True, ipc="inherit", user="postgres"):
    users = dict(BASE_USERS, **(extra or {}))
    groups = dict(BASE_GROUPS, **(extra or {}))
    if uid is not None:
        users[user] = uid
        groups[user] = uid if gid is None else gid
    return {"name": name, "path": "/jails/" + name, "users": users, "groups": groups,
            "has_postgresql": has_postgresql, "ipc": ipc}


def assert_sound(jails, result, host_u, host_g, lo, hi):
    """Every target is unique among PG jails, clashes with no other account, and
    every moved id lies in the range."""
    for kind, key in (("uid", "users"), ("gid", "groups")):
        host = host_u if key == "users" else host_g
        chosen = [j["target_" + kind] for j in result["jails"]]
        assert len(set(chosen)) == len(chosen)
        by_name = dict((j["name"], j) for j in jails)
        for entry in result["jails"]:
            target = entry["target_" + kind]
            account = entry["user"] if kind == "uid" else entry["group"]
            assert target not in host.values()
            for other in jails:
                for name, value in other[key].items():
                    if other["name"] == entry["name"] and name == account:
                        continue
                    if other["has_postgresql"] and name == account:
                        continue  # a PG jail's server account: checked by uniqueness above
                    assert value != target, (entry["name"], kind, target, other["name"], name)
            if entry["change_" + kind]:
                assert lo <= target <= hi
            else:
                assert target == by_name[entry["name"]][key][account]


# ---------------------------------------------------------------- passwd / group


def test_parse_passwd_and_group():
    assert parse_passwd(fixture_text("passwd.host")) == dict(
        BASE_USERS, postgres=770, admin=1001, backup=5000)
    assert parse_group(fixture_text("group.pg3")) == dict(BASE_GROUPS, pgsql=70, postgres=770)
    master = "# comment\n+@nis::::::::\nroot:$6$x:0:0::0:0:Charlie &:/root:/bin/csh\nbad:x:y:0::::\n"
    assert parse_passwd(master) == {"root": 0}


# ---------------------------------------------------------------- the fixture host


def test_fixture_plan():
    result = plan(fixture_jails(), host_users(), (5000, 5099), host_groups=host_groups())
    assert result["changed"] is True
    assert result["range"] == [5000, 5099]
    # 770 is the host's own postgres: pg1 and pg3 move; pg2 (5001) and pg4
    # (5003) are unique and stay. 5000 is the host's backup, 5002 pg4's app.
    assert targets(result) == {"pg1": (5004, 5004), "pg2": (5001, 5001), "pg3": (5005, 5005), "pg4": (5003, 5003)}
    pg1 = result["jails"][0]
    assert pg1 == {
        "name": "pg1", "path": "/jails/pg1", "user": "postgres", "group": "postgres",
        "uid": 770, "gid": 770, "target_uid": 5004, "target_gid": 5004,
        "change_uid": True, "change_gid": True,
        "reason_uid": "uid 770 is also used by host 'postgres'; lowest free uid in 5000-5099",
        "reason_gid": "gid 770 is also used by host 'postgres'; lowest free gid in 5000-5099",
    }
    assert result["jails"][1]["reason_uid"] == "kept: uid 5001 is used nowhere else"


def test_fixture_collisions():
    jails = fixture_jails()
    assert [j["name"] for j in jails if j["ipc"]["sysvshm"] == "inherit"] == ["pg3", "pg4"]
    assert collisions(jails) == []
    jails[3]["users"]["postgres"] = 770
    assert collisions(jails) == [["pg3", "pg4"]]
    # pg1 shares uid 770 but has its own (disabled) IPC: not at risk
    assert "pg1" not in collisions(jails)[0]


def test_collisions_from_jls():
    jls = parse_jls_n(fixture_text("jls-n.txt"))
    users = {"pg1": 770, "pg2": 770, "pg3": 770, "pg4": 770}
    jails = [jail(j["name"], users[j["name"]], ipc=jls_ipc(j)) for j in jls]
    assert collisions(jails) == [["pg3", "pg4"]]


@pytest.mark.parametrize(
    "spec, expected",
    [
        ([("a", 770, "inherit"), ("b", 770, "inherit"), ("c", 770, "new")], [["a", "b"]]),
        ([("b", 770, "inherit"), ("a", 770, "inherit"), ("d", 71, "inherit"), ("c", 71, "inherit")], [["a", "b"], ["c", "d"]]),
        ([("a", 770, "inherit"), ("b", 771, "inherit")], []),
        ([("a", 770, "new"), ("b", 770, "disable")], []),
        ([("a", 770, {"sysvshm": "inherit", "sysvsem": "new", "sysvmsg": "new"}),
          ("b", 770, {"sysvshm": "new", "sysvsem": "inherit", "sysvmsg": "new"})], [["a", "b"]]),
    ],
)
def test_collisions(spec, expected):
    assert collisions([jail(n, u, ipc=i) for n, u, i in spec]) == expected


def test_collisions_ignore_jails_without_postgresql():
    jails = [jail("a", 770), jail("b", 770, has_postgresql=False)]
    assert collisions(jails) == []


# ---------------------------------------------------------------- 1, 12, 200 jails


def test_one_jail_without_clash_is_kept():
    result = plan([jail("pg", 770)], BASE_USERS, (5000, 5009), host_groups=BASE_GROUPS)
    assert targets(result) == {"pg": (770, 770)}
    assert result["changed"] is False


def test_one_jail_clashing_with_host():
    host = dict(BASE_USERS, postgres=770, backup=5000)
    result = plan([jail("pg", 770)], host, (5000, 5009), host_groups=dict(BASE_GROUPS, postgres=770))
    # uid 5000 is the host's backup user; gid 5000 is free (no such group)
    assert targets(result) == {"pg": (5001, 5000)}
    assert result["jails"][0]["change_uid"] and result["jails"][0]["change_gid"]


def test_one_jail_clashing_with_another_account_in_a_jail_without_postgresql():
    jails = [jail("pg", 770), jail("web", None, extra={"www2": 770}, has_postgresql=False)]
    result = plan(jails, BASE_USERS, (5000, 5009), host_groups=BASE_GROUPS)
    assert targets(result) == {"pg": (5000, 5000)}
    assert "jail web 'www2'" in result["jails"][0]["reason_uid"]


def twelve_jails():
    # pg01..pg12: the port's default 770 everywhere, except pg05 (already 5003,
    # unique) and pg09 (5001, which pg02's app account also uses).
    jails = []
    for i in range(1, 13):
        uid = {5: 5003, 9: 5001}.get(i, 770)
        extra = {"app": 5001} if i == 2 else None
        jails.append(jail("pg%02d" % i, uid, extra=extra))
    return jails


def test_twelve_jails():
    host = dict(BASE_USERS, admin=5000)
    result = plan(twelve_jails(), host, (5000, 5099), host_groups=BASE_GROUPS)
    got = targets(result)
    # pg01 keeps 770 (first by name of the jails sharing it); pg05 keeps 5003.
    assert got["pg01"] == (770, 770)
    assert got["pg05"] == (5003, 5003)
    # the rest, in name order, take the lowest free uids: 5000 host admin,
    # 5001 pg02's app, 5003 pg05 -> 5002, 5004, 5005, ...
    movers = ["pg02", "pg03", "pg04", "pg06", "pg07", "pg08", "pg09", "pg10", "pg11", "pg12"]
    assert [got[n][0] for n in movers] == [5002, 5004, 5005, 5006, 5007, 5008, 5009, 5010, 5011, 5012]
    # gids: group 5000 is free on the host, group 5001 is pg02's app
    assert [got[n][1] for n in movers] == [5000, 5002, 5004, 5005, 5006, 5007, 5008, 5009, 5010, 5011]
    assert "also the server uid in jail pg01" in result["jails"][1]["reason_uid"]
    assert "jail pg02 'app'" in result["jails"][8]["reason_uid"]
    assert_sound(twelve_jails(), result, host, BASE_GROUPS, 5000, 5099)


def two_hundred_jails():
    rng = random.Random(200)
    host = dict(BASE_USERS, postgres=770, **dict(("staff%d" % i, 6000 + 3 * i) for i in range(40)))
    jails = []
    for i in range(200):
        kind = i % 4
        if kind == 0:
            uid = 770                        # the port's default: clashes with the host's postgres
        elif kind == 1:
            uid = 7000 + i                   # already unique, outside the range: kept
        elif kind == 2:
            uid = 6000 + 3 * rng.randrange(40)  # clashes with a host staff account
        else:
            uid = 8000 + (i // 8)            # shared by pairs of PG jails: first keeps it
        extra = {"app": 6001 + 3 * (i % 50)} if i % 5 == 0 else None
        jails.append(jail("j%03d" % i, uid, extra=extra, ipc="inherit" if i % 2 else "new"))
    return jails, host


def test_two_hundred_jails():
    jails, host = two_hundred_jails()
    host_g = dict(BASE_GROUPS, postgres=770)
    result = plan(jails, host, (6000, 6999), host_groups=host_g)
    assert len(result["jails"]) == 200
    assert [j["name"] for j in result["jails"]] == sorted(j["name"] for j in jails)
    assert_sound(jails, result, host, host_g, 6000, 6999)
    got = dict((j["name"], j) for j in result["jails"])
    assert all(not got["j%03d" % i]["change_uid"] for i in range(1, 200, 4))          # unique: kept
    assert all(got["j%03d" % i]["change_uid"] for i in range(0, 200, 4))              # host's 770
    assert all(got["j%03d" % i]["change_uid"] for i in range(2, 200, 4))              # host staff
    pairs = list(range(3, 200, 4))
    kept = [i for i in pairs if not got["j%03d" % i]["change_uid"]]
    assert kept == [i for i in pairs if i % 8 == 3]          # the first of each pair keeps its uid
    # the movers got the lowest free ids in name order: no gap is skipped
    moved = sorted(j["target_uid"] for j in result["jails"] if j["change_uid"])
    taken = set(host.values()) | set(v for j in jails for n, v in j["users"].items() if n != "postgres")
    taken |= set(j["target_uid"] for j in result["jails"] if not j["change_uid"])
    free = [v for v in range(6000, 7000) if v not in taken]
    assert moved == free[:len(moved)]
    order = [j["target_uid"] for j in result["jails"] if j["change_uid"]]
    assert order == sorted(order)


# ---------------------------------------------------------------- stability and determinism


@pytest.mark.parametrize("case", ["fixture", "twelve", "two hundred"])
def test_stable_after_applying(case):
    if case == "fixture":
        jails, host, host_g, rng = fixture_jails(), host_users(), host_groups(), (5000, 5099)
    elif case == "twelve":
        jails, host, host_g, rng = twelve_jails(), dict(BASE_USERS, admin=5000), BASE_GROUPS, (5000, 5099)
    else:
        jails, host = two_hundred_jails()
        host_g, rng = dict(BASE_GROUPS, postgres=770), (6000, 6999)
    first = plan(jails, host, rng, host_groups=host_g)
    applied = apply(jails, first)
    second = plan(applied, host, rng, host_groups=host_g)
    assert second["changed"] is False
    assert targets(second) == targets(first)
    assert all(not j["change_uid"] and not j["change_gid"] for j in second["jails"])
    assert collisions(applied) == []


@PROPERTY
@given(seed=st.integers(min_value=0, max_value=2 ** 32 - 1))
def test_property_input_order_does_not_matter(seed):
    jails = twelve_jails()
    host = dict(BASE_USERS, admin=5000)
    expected = plan(jails, host, (5000, 5099), host_groups=BASE_GROUPS)
    rng = random.Random(seed)
    shuffled = []
    for j in rng.sample(jails, len(jails)):
        users = list(j["users"].items())
        rng.shuffle(users)
        shuffled.append(dict(j, users=dict(users)))
    host_items = list(host.items())
    rng.shuffle(host_items)
    assert plan(shuffled, dict(host_items), (5000, 5099), host_groups=BASE_GROUPS) == expected


_uids = st.sampled_from([770, 70, 5000, 5001, 5002, 5005, 80, 9000])


@PROPERTY
@given(spec=st.lists(st.tuples(_uids, _uids, st.booleans(), st.sampled_from(["new", "inherit", "disable"])),
                     min_size=1, max_size=15),
       host=st.dictionaries(st.sampled_from(["a", "b", "c", "postgres"]), _uids, max_size=4))
def test_property_plans_are_sound_and_stable(spec, host):
    jails = [jail("j%02d" % i, uid, extra={"app": other}, has_postgresql=pg, ipc=ipc)
             for i, (uid, other, pg, ipc) in enumerate(spec)]
    host_u = dict(BASE_USERS, **host)
    result = plan(jails, host_u, (5000, 5100), host_groups=BASE_GROUPS)
    assert_sound(jails, result, host_u, BASE_GROUPS, 5000, 5100)
    again = plan(apply(jails, result), host_u, (5000, 5100), host_groups=BASE_GROUPS)
    assert again["changed"] is False and targets(again) == targets(result)
    assert plan(list(reversed(jails)), host_u, (5000, 5100), host_groups=BASE_GROUPS) == result


# ---------------------------------------------------------------- errors


def test_range_too_small_says_how_many():
    jails = [jail("pg%d" % i, 770) for i in range(1, 6)]
    host = dict(BASE_USERS, backup=5001)
    with pytest.raises(PlanError) as exc:
        plan(jails, host, (5000, 5003), host_groups=BASE_GROUPS)
    assert str(exc.value) == (
        "UID range 5000-5003 is too small: 4 jail(s) need a new uid (pg2, pg3, pg4, pg5) "
        "but only 3 id(s) in the range are free")


def test_range_exactly_big_enough():
    jails = [jail("pg%d" % i, 770) for i in range(1, 6)]
    result = plan(jails, BASE_USERS, (5000, 5003), host_groups=BASE_GROUPS)
    assert [t[0] for t in targets(result).values()] == [770, 5000, 5001, 5002, 5003]


def test_unknown_server_user():
    jails = [jail("pg1", 770), jail("pg3", None, extra={"pgsql": 70})]
    with pytest.raises(PlanError) as exc:
        plan(jails, BASE_USERS, (5000, 5099))
    assert str(exc.value).startswith("jail pg3 has PostgreSQL but no user 'postgres' (its users: bin, daemon, nobody")
    # the old port's user name is accepted when asked for
    result = plan([jail("pg3", 70, user="pgsql")], BASE_USERS, (5000, 5099), server_user="pgsql")
    assert targets(result) == {"pg3": (70, 70)}


def test_unknown_server_group():
    bad = jail("pg1", 770)
    del bad["groups"]["postgres"]
    with pytest.raises(PlanError) as exc:
        plan([bad], BASE_USERS, (5000, 5099))
    assert "no group 'postgres'" in str(exc.value)


@pytest.mark.parametrize(
    "jails, rng, words",
    [
        ([jail("a", 770), jail("a", 771)], (1, 9), ["'a' is listed twice"]),
        ([{"path": "/x"}], (1, 9), ["jail number 1 has no name"]),
        ("pg1", (1, 9), ["must be a list"]),
        ([jail("a", "seven")], (1, 9), ["'seven'", "not a numeric id"]),
        ([jail("a", -1)], (1, 9), ["negative"]),
        ([jail("a", 770)], (9, 1), ["9-1 is empty"]),
        ([jail("a", 770)], (1,), ["reserved_range must be [low, high]"]),
        ([jail("a", 770)], None, ["reserved_range must be [low, high]"]),
    ],
)
def test_bad_input(jails, rng, words):
    with pytest.raises(PlanError) as exc:
        plan(jails, BASE_USERS, rng)
    for word in words:
        assert word in str(exc.value)


def test_string_ids_from_getent_are_accepted():
    j = jail("a", "770")
    j["groups"]["postgres"] = "770"
    assert targets(plan([j], {"root": "0"}, ["5000", "5009"])) == {"a": (770, 770)}
