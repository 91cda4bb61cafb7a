"""The fleet audit (pghost.hardening.audit) of the converged VMs (side_effect
audit.yml), read from its reports on the controller.

On a real kernel nothing is withheld: after the site playbook every check
must pass - no finding above info, and no answer "not verifiable here"
(a container could not show vm.*, THP, negative scores or limits above its
PID 1's; a VM can). That the audit changed nothing on the VM is proven by
check_unchanged.yml, which follows it.
"""

import json
import os

import jsonschema
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "..", "docs", "audit-report.schema.json")
REPORT = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "audit-converged", "audit.json")


@pytest.fixture(scope="module")
def report():
    with open(REPORT) as handle:
        return json.load(handle)


def test_the_report_validates_against_the_shipped_schema(report):
    with open(SCHEMA) as handle:
        jsonschema.validate(report, json.load(handle))


def test_the_converged_vm_has_no_finding_above_info_and_nothing_unverifiable(host, report):
    records = report["hosts"][host.backend.get_hostname()]["records"]
    for record in records:
        print("OBSERVED: audit converged VM %s %s %s %s" % (
            host.backend.get_hostname(), record["id"], record["status"],
            record["reason"] or json.dumps(record["evidence"], sort_keys=True)))
    assert [r["id"] for r in records if r["status"] == "finding" and r["severity"] != "info"] == []
    assert [(r["id"], r["reason"]) for r in records if r["status"] == "not_verifiable"] == []
    assert len([r for r in records if r["status"] == "pass"]) >= 16
