"""The AnsibleModule methods the collection's module_utils call, for unit tests.

Commands are answered from a dict of argv tuples; anything else fails the
way run_command reports a failed command. tests/unit/conftest.py's folder is
on sys.path, so tests import this as `fake_module`.
"""


class Failed(Exception):
    """What fail_json raises, so a test can catch it."""


class FakeModule:
    def __init__(self, outputs=None, bins=None):
        self.outputs = outputs or {}
        self.bins = bins if bins is not None else {}
        self.calls = []

    def run_command(self, argv, **kwargs):
        self.calls.append(list(argv))
        return self.outputs.get(tuple(argv), (1, "", "unexpected command %r" % (argv,)))

    def get_bin_path(self, name, required=False, opt_dirs=None):
        if name not in self.bins and required:
            raise Failed("no %s" % name)
        return self.bins.get(name)

    def fail_json(self, **kwargs):
        raise Failed(kwargs["msg"])


def run_main(main, args, monkeypatch, capsys):
    """Run a module's main() as Ansible does (arguments in basic._ANSIBLE_ARGS,
    the JSON result on stdout, SystemExit): -> (exit code, result)."""
    import json

    import pytest
    from ansible.module_utils import basic

    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode("utf-8"))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy")
    with pytest.raises(SystemExit) as exit_info:
        main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)
