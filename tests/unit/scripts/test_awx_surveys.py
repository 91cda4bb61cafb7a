"""scripts/awx_surveys.py: AWX survey questions from the roles' argument specs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


@pytest.fixture(name="surveys")
def surveys_module(script):
    return script("awx_surveys")


def test_a_bool_is_a_choice_of_the_strings_awx_sends(surveys):
    asked = surveys.question("pg_x", {"type": "bool", "default": True, "description": "Do C(x)."}, {})
    assert asked == {"variable": "pg_x", "question_name": "pg_x", "type": "multiplechoice",
                     "choices": ["true", "false"], "required": False, "default": "",
                     "question_description": "Do x. Role default: true; a blank answer keeps the inventory's value."}


def test_an_int_takes_its_range_from_the_roles_check_and_has_no_default(surveys):
    asked = surveys.question("pg_n", {"type": "int", "default": -1000, "description": ["One.", "Two O(pg_m)."]},
                             {"pg_n": (-1000, 1000)})
    assert (asked["type"], asked["min"], asked["max"], asked["default"], asked["required"]) == \
        ("integer", -1000, 1000, "", False)
    assert asked["question_description"].startswith("One. Two pg_m. Role default: -1000;")
    unbounded = surveys.question("pg_n", {"type": "int", "default": 0}, {"pg_n": (0, None)})
    assert unbounded["min"] == 0 and "max" not in unbounded


def test_str_choices_are_a_choice_and_free_text_paths_and_lists_are_not_asked(surveys):
    assert surveys.question("pg_p", {"type": "str", "choices": ["a", "b"]}, {})["choices"] == ["a", "b"]
    for option in ({"type": "str", "default": "auto"}, {"type": "path"}, {"type": "list", "elements": "dict"}):
        assert surveys.question("pg_q", option, {}) is None


def test_ranges_are_read_from_range_problem_calls_across_lines(surveys, tmp_path, monkeypatch):
    role = tmp_path / "roles" / "r" / "tasks"
    role.mkdir(parents=True)
    (role / "validate.yml").write_text(
        "x: \"{{ a | pghost.hardening.range_problem('pg_a', 1, 100, 'm') }}\"\n"
        "y: \"{{ b | pghost.hardening.range_problem(\n       'pg_b', -5, none,\n 'm') }}\"\n"
        "z: \"{{ c | pghost.hardening.range_problem('pg_c', 1) == '' }}\"\n")
    monkeypatch.setattr(surveys, "ROOT", str(tmp_path))
    assert surveys.load_ranges("r") == {"pg_a": (1, 100), "pg_b": (-5, None), "pg_c": (1, None)}
    assert surveys.load_ranges("missing") == {}


def test_the_shipped_surveys_match_the_argument_specs(surveys):
    done = subprocess.run([sys.executable, surveys.__file__, "--check"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_survey_question_is_an_option_of_its_roles_with_the_same_choices(surveys):
    for template, spec in surveys.TEMPLATES.items():
        options = {}
        for role in spec["roles"]:
            options.update(surveys.argument_specs.options(role))
        with open(os.path.join(surveys.SURVEY_DIR, template + ".json")) as handle:
            shipped = json.load(handle)
        for asked in shipped["spec"]:
            option = options[asked["variable"]]
            if option.get("type") == "bool":
                assert asked["choices"] == ["true", "false"]
            elif option.get("choices"):
                assert asked["choices"] == option["choices"]
            else:
                assert asked["type"] == "integer" and option["type"] == "int"
            assert asked["default"] == "" and asked["required"] is False


def test_check_fails_with_a_diff_when_a_survey_drifted(surveys, tmp_path, monkeypatch):
    monkeypatch.setattr(surveys, "SURVEY_DIR", str(tmp_path))
    assert surveys.main([]) == 0
    path = tmp_path / "harden.json"
    drifted = json.loads(path.read_text())
    drifted["spec"][0]["choices"] = ["yes", "no"]
    path.write_text(json.dumps(drifted, indent=2, sort_keys=True) + "\n")
    assert surveys.main(["--check"]) == 1
    assert surveys.main([]) == 0 and surveys.main(["--check"]) == 0
