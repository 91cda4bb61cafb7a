"""The collection's AWX jobs, run the way AWX runs them: ansible-runner.

Each job gets a private data directory laid out as AWX lays it out:
  project/                   awx/ of this checkout (AWX's synced project)
  requirements_collections/  what AWX installs from the project's
                             collections/requirements.yml on sync: here this
                             checkout's collection, from the tarball
                             scripts/build-ee.sh built (controller jobs only;
                             the EE jobs use the collection baked into the EE)
  inventory/hosts.yml        the two containers, over SSH on loopback ports
  env/extravars              the survey's answers, as AWX sends them: a
                             boolean is the string "true" or "false"
  env/ssh_key                the machine credential (ansible-runner loads it
                             into an ssh-agent)
  env/envvars, env/settings
Every assertion reads ansible-runner's artifacts (artifacts/IDENT/status, rc,
job_events/*.json) or the live hosts. Times are printed as OBSERVED lines.
"""

import functools
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
WORK = os.path.join(ROOT, "build", "awx", "jobs")
KEY = os.path.join(ROOT, "build", "awx", "id_ed25519")
TARBALL = os.path.join(ROOT, "build", "ee", "collections", "pghost-hardening.tar.gz")
EE_IMAGE = "localhost/pghost-ee:latest"
# molecule.yml's published_ports
HOSTS = {"pghost-awx-bookworm": 22471, "pghost-awx-trixie": 22472}
# A survey's answers as AWX sends them (awx/surveys/harden.json): choices are
# strings, integers are numbers. "false" must switch the THP unit and the
# logind check off, not count as a true (non-empty) string.
ANSWERS = {"pg_kernel_thp": "false", "pg_service_logind": "false", "pg_kernel_swappiness": "true",
           "pg_kernel_swappiness_value": 5, "pg_service_oom_policy": "continue"}
# Refused by pg_service's checks (roles/pg_service/tasks/validate.yml). The
# survey's own max (1000, generated from the same check) would stop it at
# launch; as a template's extra vars, an API launch or an inventory value it
# reaches the roles, which must refuse it before anything is written.
BAD_ANSWERS = dict(ANSWERS, pg_service_oom_score_adjust=5000)
BAD_MESSAGE = "pg_service_oom_score_adjust: 5000 is outside -1000..1000"
THP_TASK = "Install the unit that turns transparent huge pages off at boot"


class Job:
    """One ansible-runner run and what its artifacts say."""

    def __init__(self, pdd, ident, seconds, proc):
        self.ident, self.seconds, self.proc = ident, seconds, proc
        self.artifacts = os.path.join(pdd, "artifacts", ident)

    def read(self, name):
        with open(os.path.join(self.artifacts, name)) as handle:
            return handle.read().strip()

    @property
    def status(self):
        return self.read("status")

    @property
    def rc(self):
        return int(self.read("rc"))

    @functools.cached_property
    def events(self):
        """job_events/*.json in order, read once: the artifacts do not change after the run."""
        folder = os.path.join(self.artifacts, "job_events")
        loaded = []
        for name in os.listdir(folder):
            with open(os.path.join(folder, name)) as handle:
                loaded.append(json.load(handle))
        return sorted(loaded, key=lambda event: event["counter"])

    def stats(self):
        found = [event["event_data"] for event in self.events if event["event"] == "playbook_on_stats"]
        assert len(found) == 1, "%s: %d playbook_on_stats events" % (self.ident, len(found))
        return found[0]

    def hosts(self):
        return set(self.stats()["processed"])

    def why(self):
        return "%s: status %s, rc %s\n%s\n%s" % (self.ident, self.status, self.rc, self.proc.stdout[-4000:],
                                                 self.proc.stderr[-2000:])


def private_data_dir(ident, hosts, extravars, in_ee):
    pdd = os.path.join(WORK, ident)
    shutil.rmtree(pdd, ignore_errors=True)
    shutil.copytree(os.path.join(ROOT, "awx"), os.path.join(pdd, "project"),
                    ignore=shutil.ignore_patterns("ee", "surveys", "configure_awx.yml"))
    os.makedirs(os.path.join(pdd, "inventory"))
    os.makedirs(os.path.join(pdd, "env"))
    inventory = {"all": {"children": {"postgresql": {"hosts": {
        name: {"ansible_host": "127.0.0.1", "ansible_port": HOSTS[name], "ansible_user": "root"}
        for name in hosts}}}}}
    write_json(os.path.join(pdd, "inventory", "hosts.yml"), inventory)  # JSON is YAML
    write_json(os.path.join(pdd, "env", "extravars"), extravars)
    write_json(os.path.join(pdd, "env", "settings"), {"job_timeout": 1200, "idle_timeout": 600})
    # Inside the EE the private data directory is /runner.
    collections = "/usr/share/ansible/collections" if in_ee else os.path.join(pdd, "requirements_collections")
    write_json(os.path.join(pdd, "env", "envvars"), {
        "ANSIBLE_COLLECTIONS_PATH": collections,
        # The containers' host keys are new on every create.
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_FORCE_COLOR": "0"})
    shutil.copyfile(KEY, os.path.join(pdd, "env", "ssh_key"))
    os.chmod(os.path.join(pdd, "env", "ssh_key"), 0o600)
    if not in_ee:
        # What AWX's project sync does with collections/requirements.yml, from
        # the tarball instead of Galaxy (unreachable here).
        # (With this checkout's collection path in the environment,
        # ansible-galaxy would find the collection there and skip it.)
        subprocess.run(["ansible-galaxy", "collection", "install", "--offline", "-p",
                        os.path.join(pdd, "requirements_collections"), TARBALL],
                       check=True, capture_output=True, text=True, env=job_env())
        assert os.path.exists(os.path.join(pdd, "requirements_collections", "ansible_collections", "pghost",
                                           "hardening", "MANIFEST.json"))
    return pdd


def job_env():
    """Only what AWX would hand the job: no collection path of this checkout."""
    return {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}


def survey_allows(answers):
    """Each answer is one AWX's survey (awx/surveys/harden.json) accepts."""
    with open(os.path.join(ROOT, "awx", "surveys", "harden.json")) as handle:
        questions = {question["variable"]: question for question in json.load(handle)["spec"]}
    for variable, answer in answers.items():
        question = questions[variable]
        if question["type"] == "multiplechoice":
            assert answer in question["choices"], (variable, answer, question["choices"])
        else:
            assert question["type"] == "integer" and isinstance(answer, int), (variable, answer, question)
            assert question.get("min", answer) <= answer <= question.get("max", answer), (variable, answer, question)


def write_json(path, data):
    with open(path, "w") as handle:
        json.dump(data, handle, indent=1)


def run_job(ident, playbook, hosts, extravars, in_ee):
    pdd = private_data_dir(ident, hosts, extravars, in_ee)
    command = ["ansible-runner", "run", pdd, "--playbook", playbook, "--ident", ident]
    if in_ee:
        # The hosts' SSH ports are on the machine's loopback. Root in the
        # container: podman runs rootful here, so the private data directory
        # is root's (AWX's rootless podman maps its user with keep-id).
        command += ["--process-isolation", "--process-isolation-executable", "podman",
                    "--container-image", EE_IMAGE, "--container-option=--network=host",
                    "--container-option=--user=0"]
    started = time.time()
    proc = subprocess.run(command, env=job_env(), capture_output=True, text=True, timeout=1500, check=False)
    job = Job(pdd, ident, round(time.time() - started, 1), proc)
    print("OBSERVED: job %s (%s, %s, %d host(s)): %s, rc %s, %s s" % (
        ident, playbook, "in " + EE_IMAGE if in_ee else "on the controller", len(hosts), job.status, job.rc,
        job.seconds))
    return job


def ssh(name, command):
    """COMMAND's output on host NAME, over the SSH the jobs use."""
    return subprocess.run(
        ["ssh", "-i", KEY, "-p", str(HOSTS[name]), "-o", "StrictHostKeyChecking=no", "-o",
         "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "root@127.0.0.1", command],
        check=True, capture_output=True, text=True, timeout=120).stdout


def host_states():
    """host_state.sh on every host: /etc, live values, units, postmasters."""
    return {name: ssh(name, "/root/host_state.sh") for name in HOSTS}


@pytest.fixture(scope="session")
def jobs():
    """Every job, in order; each later one starts from what the earlier left."""
    for needed, how in ((KEY, "molecule prepare"), (TARBALL, "scripts/build-ee.sh")):
        assert os.path.exists(needed), "%s is missing; %s makes it" % (needed, how)
    image = subprocess.run(["podman", "image", "exists", EE_IMAGE], check=False)
    assert image.returncode == 0, "%s does not exist; scripts/build-ee.sh (make ee) builds it" % EE_IMAGE
    survey_allows(ANSWERS)
    done = {}
    before = host_states()
    done["refused"] = run_job("refused", "harden.yml", list(HOSTS), BAD_ANSWERS, in_ee=False)
    done["refused_states"] = (before, host_states())
    done["controller"] = run_job("controller", "harden.yml", list(HOSTS), ANSWERS, in_ee=False)
    done["ee"] = run_job("ee", "harden.yml", list(HOSTS), ANSWERS, in_ee=True)
    # AWX runs the slices of a sliced job at the same time, each on an
    # inventory of its share of the hosts (hosts[i::2]).
    names = sorted(HOSTS)
    slices = {}

    def run_slice(number):
        slices[number] = run_job("slice%d" % number, "harden.yml", names[number - 1::2], ANSWERS, in_ee=True)

    threads = [threading.Thread(target=run_slice, args=(number,)) for number in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done["slices"] = [slices[1], slices[2]]
    done["audit"] = run_job("audit", "audit.yml", list(HOSTS), {"pghost_audit_fail_on": "none"}, in_ee=True)
    return done


def test_a_refused_survey_answer_fails_the_job_with_the_checks_message_and_changes_nothing(jobs):
    job = jobs["refused"]
    assert job.status == "failed" and job.rc != 0, job.why()
    failed = [event for event in job.events if event["event"] == "runner_on_failed"]
    messages = [str(event["event_data"]["res"].get("msg", "")) for event in failed]
    assert {event["event_data"]["host"] for event in failed} == set(HOSTS), messages
    assert all(BAD_MESSAGE in message and "Nothing was written" in message for message in messages), messages
    before, after = jobs["refused_states"]
    assert before == after
    print("OBSERVED: refused job: %s" % messages[0])


def test_the_site_job_succeeds_on_the_controller_with_a_recap_per_host(jobs):
    job = jobs["controller"]
    assert job.status == "successful" and job.rc == 0, job.why()
    stats = job.stats()
    assert set(stats["processed"]) == set(HOSTS)
    assert not stats["failures"] and not stats["dark"], stats
    assert all(stats["changed"].get(name, 0) > 0 for name in HOSTS), stats["changed"]
    # The project's ansible.cfg enables the collection's summary callback;
    # its recap is in the job's output (artifacts/IDENT/stdout).
    output = job.read("stdout")
    assert "PGHOST SUMMARY" in output, job.why()
    recap = output[output.index("PGHOST SUMMARY"):]
    assert all("%s:" % name in recap for name in HOSTS), recap[:3000]


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_survey_strings_switch_the_roles_as_booleans_would(jobs, name):
    """"false" for pg_kernel_thp: the THP unit's task skipped and no unit on
    the host; the number 5 for pg_kernel_swappiness_value: in the sysctl file."""
    job = jobs["controller"]
    assert job.status == "successful", job.why()
    skipped = {event["event_data"]["task"] for event in job.events
               if event["event"] == "runner_on_skipped" and event["event_data"]["host"] == name}
    assert THP_TASK in skipped, sorted(skipped)
    live = ssh(name, "test -e /etc/systemd/system/pghost-thp.service && echo thp-unit-present; "
                     "grep -h '^vm.swappiness' /etc/sysctl.d/60-pghost-postgresql.conf").splitlines()
    assert live == ["vm.swappiness = 5"], live
    print("OBSERVED: %s after the controller job: THP task skipped, %s, no pghost-thp.service" % (name, live[0]))


def test_the_same_job_in_the_execution_environment_finds_nothing_to_change(jobs):
    job = jobs["ee"]
    assert job.status == "successful" and job.rc == 0, job.why()
    stats = job.stats()
    assert set(stats["processed"]) == set(HOSTS)
    assert not stats["changed"] and not stats["failures"] and not stats["dark"], stats


def test_two_slices_cover_every_host_once_and_both_succeed(jobs):
    first, second = jobs["slices"]
    for job in (first, second):
        assert job.status == "successful" and job.rc == 0, job.why()
        assert not job.stats()["changed"], job.stats()
    assert first.hosts() and second.hosts()
    assert first.hosts().isdisjoint(second.hosts())
    assert first.hosts() | second.hosts() == set(HOSTS)
    print("OBSERVED: slices %s and %s, %s s and %s s at the same time" % (
        sorted(first.hosts()), sorted(second.hosts()), first.seconds, second.seconds))


def test_the_audit_set_stats_reach_playbook_on_stats_as_awx_reads_them(jobs):
    job = jobs["audit"]
    assert job.status == "successful" and job.rc == 0, job.why()
    artifact = job.stats().get("artifact_data") or {}
    assert set(artifact) >= {"pghost_audit_counts", "pghost_audit_failing_hosts"}, artifact
    counts = artifact["pghost_audit_counts"]
    assert isinstance(counts, dict) and counts, counts
    print("OBSERVED: audit artifact_data: %s" % json.dumps(artifact, sort_keys=True))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
