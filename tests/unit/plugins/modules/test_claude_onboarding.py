# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the claude_onboarding module: the module run in-process on a state file in a temp directory."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.fmapi.coding_agents.plugins.modules import claude_onboarding
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.utils import run_main

FLAG = "hasCompletedOnboarding"
# Claude Code's state file holds the user's account and project history; a secret-looking value stands in
# for what must never be shown in a diff or a message.
SECRET = "sk-ant-oat01-unit-test-secret-never-show-me"
STATE = {
    "numStartups": 3,
    "primaryApiKey": SECRET,
    "projects": {"/home/dev/work": {"allowedTools": [], "history": [{"display": "fix the tests"}]}},
    "userID": "0123456789abcdef",
}


@pytest.fixture(name="state_path")
def state_path_fixture(tmp_path):
    return tmp_path / "home" / ".claude.json"


@pytest.fixture(name="run")
def run_fixture(capsys, state_path):
    def run(check=False, diff=False, expect_failure=False, **args):
        module_args = dict({"path": str(state_path)}, **args)
        return run_main(claude_onboarding.main, capsys, module_args, check, diff, expect_failure)
    return run


def write(path, data, mode=0o600):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) if not isinstance(data, str) else data, encoding="utf-8")
    os.chmod(path, mode)


def file_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_flag_is_added_and_everything_else_stays(run, state_path):
    write(state_path, STATE, mode=0o640)

    result = run()

    assert result["changed"] is True and result["path"] == str(state_path)
    after = json.loads(state_path.read_text(encoding="utf-8"))
    assert after == dict(STATE, **{FLAG: True})
    assert list(after)[:-1] == list(STATE)
    assert state_path.read_text(encoding="utf-8").startswith('{\n  "numStartups": 3,')
    assert file_mode(state_path) == 0o640


def test_a_missing_file_is_created_privately(run, state_path):
    state_path.parent.mkdir(parents=True)
    assert run()["changed"] is True
    assert json.loads(state_path.read_text(encoding="utf-8")) == {FLAG: True}
    assert file_mode(state_path) == 0o600


def test_a_file_with_the_flag_is_not_touched(run, state_path):
    write(state_path, dict(STATE, **{FLAG: True}))
    os.utime(state_path, (1_000_000_000, 1_000_000_000))
    before = os.stat(state_path)

    result = run(diff=True)

    assert result["changed"] is False and "diff" not in result
    after = os.stat(state_path)
    assert (after.st_ino, after.st_mtime) == (before.st_ino, 1_000_000_000)


def test_a_false_flag_is_set(run, state_path):
    write(state_path, dict(STATE, **{FLAG: False}))
    assert run()["changed"] is True
    assert json.loads(state_path.read_text(encoding="utf-8"))[FLAG] is True


def test_check_mode_changes_nothing(run, state_path):
    write(state_path, STATE)
    content = state_path.read_bytes()
    assert run(check=True)["changed"] is True
    assert state_path.read_bytes() == content


def test_a_symlinked_state_file_is_written_through(run, state_path, tmp_path):
    target = tmp_path / "dotfiles" / "claude.json"
    write(target, STATE)
    state_path.parent.mkdir(parents=True)
    state_path.symlink_to(target)
    run()
    assert state_path.is_symlink()
    assert json.loads(target.read_text(encoding="utf-8"))[FLAG] is True


# ------------------------------------------------------------------------------------------------ diff

def test_the_diff_shows_only_the_flag_never_the_rest_of_the_file(run, state_path):
    write(state_path, STATE)

    result = run(diff=True)

    diff = result["diff"]
    assert json.loads(diff["before"]) == {} and json.loads(diff["after"]) == {FLAG: True}
    assert FLAG in diff["before_header"] and str(state_path) in diff["before_header"]
    shown = json.dumps(diff)
    for private in (SECRET, "primaryApiKey", "projects", "fix the tests", "userID"):
        assert private not in shown
    assert SECRET not in result["_stdout"]


def test_the_diff_shows_the_flag_it_replaces(run, state_path):
    write(state_path, dict(STATE, **{FLAG: False}))
    diff = run(diff=True, check=True)["diff"]
    assert json.loads(diff["before"]) == {FLAG: False} and json.loads(diff["after"]) == {FLAG: True}
    assert SECRET not in json.dumps(diff)


def test_the_diff_of_a_new_file(run, state_path):
    diff = run(diff=True, check=True)["diff"]
    assert diff["before"] == "" and json.loads(diff["after"]) == {FLAG: True}


# ------------------------------------------------------------------------------------------- failures

def assert_clean_failure(result, state_path):
    assert "exception" not in result and "Traceback" not in result["_stdout"]
    assert result["path"] == str(state_path)
    assert SECRET not in result["_stdout"]


def test_invalid_json_fails_and_the_file_stays(run, state_path):
    write(state_path, '{"numStartups": 3,\n  "primaryApiKey": "%s",\n  oops}' % SECRET)
    content = state_path.read_bytes()

    result = run(expect_failure=True)

    assert str(state_path) in result["msg"] and "line 3" in result["msg"] and "fix or move it" in result["msg"]
    assert_clean_failure(result, state_path)
    assert state_path.read_bytes() == content


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_state_file_fails_clearly(run, state_path):
    write(state_path, STATE, mode=0o000)
    try:
        result = run(expect_failure=True)
    finally:
        os.chmod(state_path, 0o600)
    assert result["msg"].startswith("Cannot read %s: Permission denied." % state_path)
    assert "chmod u+rw %s" % state_path in result["msg"] and "Nothing was changed" in result["msg"]
    assert_clean_failure(result, state_path)


@pytest.mark.parametrize("kind, reason", [("below a file", "Not a directory"), ("directory", "Is a directory")])
def test_a_state_path_that_cannot_be_read_even_by_root_fails_clearly(run, tmp_path, kind, reason):
    if kind == "directory":
        path = tmp_path / ".claude.json"
        path.mkdir()
    else:
        (tmp_path / "home-is-a-file").write_text("x")
        path = tmp_path / "home-is-a-file" / ".claude.json"

    result = run(path=str(path), expect_failure=True)

    assert result["msg"].startswith("Cannot read %s: %s." % (path, reason))
    assert "chmod u+rw %s" % path in result["msg"] and "claude_code_skip_onboarding=false" in result["msg"]
    assert_clean_failure(result, path)


def test_an_unwritable_state_file_fails_clearly_and_stays(run, state_path, monkeypatch):
    write(state_path, STATE)
    content = state_path.read_bytes()

    def read_only(module, path, data, mode):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(claude_onboarding, "atomic_write", read_only)
    result = run(expect_failure=True)

    assert result["msg"].startswith("Cannot write %s: Permission denied. Nothing was changed" % state_path)
    assert "chmod u+rw %s" % state_path in result["msg"]
    assert_clean_failure(result, state_path)
    assert state_path.read_bytes() == content
