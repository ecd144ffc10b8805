# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the setup_stamp module (fast_rerun), with the CLI replaced at the _databricks_cli boundary."""

from __future__ import annotations

import datetime
import json
import os
import stat

import pytest

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _databricks_cli as dbcli
from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import fingerprint
from ansible_collections.fmapi.coding_agents.plugins.modules import setup_stamp
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.utils import run_main, use_home

DIGEST = "a" * 64
SECRET_TOKEN = "dapi-never-show-this-token"


@pytest.fixture(name="home")
def home_fixture(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    return use_home(tmp_path, monkeypatch)


@pytest.fixture(name="session")
def session_fixture(monkeypatch):
    """The CLI's answer to `databricks auth token`; records the calls."""
    calls = []
    answer = {"result": dbcli.TokenResult(dbcli.SESSION_ACTIVE, token=SECRET_TOKEN)}

    def fetch_token(cli, profile, env, force_refresh=False, host=None, timeout=None):  # pylint: disable=unused-argument
        calls.append((cli, profile))
        return answer["result"]
    monkeypatch.setattr(dbcli, "fetch_token", fetch_token)
    answer["calls"] = calls
    return answer


def record(capsys, home, paths=(), **extra):
    row = {"category": "Configuration", "status": "INFO", "label": "Workspace", "value": "https://w"}
    args = dict(state="present", inputs_digest=DIGEST, paths=list(paths), databricks_cli="/usr/bin/databricks",
                profile="fmapi-claudecode-profile", summary=[row])
    args.update(extra)
    return run_main(setup_stamp.main, capsys, args)


def query(capsys, **extra):
    return run_main(setup_stamp.main, capsys, dict(dict(state="query", inputs_digest=DIGEST), **extra))


def stamp_path(home):
    return home / ".local" / "state" / "fmapi-coding-agents" / "setup-stamp.json"


def test_a_recorded_run_with_nothing_changed_is_current(capsys, home, session):
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text('{"env": {}}')
    written = record(capsys, home, [str(settings), str(home / ".codex" / "config.toml")])
    assert not written["changed"] and written["files"] == 2 + 1 + 5  # the paths, the CLI config, the rc files
    assert stat.S_IMODE(os.stat(stamp_path(home)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(stamp_path(home).parent).st_mode) == 0o700

    result = query(capsys)
    assert result["current"] and result["reason"] is None
    assert result["summary"][0]["value"] == "https://w"
    assert session["calls"] == [("/usr/bin/databricks", "fmapi-claudecode-profile")]
    assert SECRET_TOKEN not in result["_stdout"] and SECRET_TOKEN not in stamp_path(home).read_text()


def test_no_stamp_is_not_current(capsys, home, session):
    result = query(capsys)
    assert not result["current"] and "no full run has been recorded yet" in result["reason"]
    assert result["summary"] == [] and not session["calls"]


@pytest.mark.parametrize("change, says", [
    (lambda p: p.write_text('{"env": {"ANTHROPIC_BASE_URL": "https://elsewhere"}}'), "settings.json changed"),
    (lambda p: p.chmod(0o644), "settings.json changed"),
    (lambda p: p.unlink(), "settings.json changed"),
    (lambda p: (p.parent.parent / ".bashrc").write_text("claude() { fmapi-claude; }\n"), ".bashrc changed"),
    (lambda p: (p.parent.parent / ".databrickscfg").write_text("[DEFAULT]\ntoken = dapi123\n"),
     ".databrickscfg changed"),
])
def test_a_changed_file_makes_the_next_run_a_full_one(capsys, home, session, change, says):
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text('{"env": {}}')
    settings.chmod(0o600)
    record(capsys, home, [str(settings)])
    change(settings)
    result = query(capsys)
    assert not result["current"] and says in result["reason"], result["reason"]
    assert result["summary"] == [] and not session["calls"], "the session is asked only when all else is the same"


def test_a_file_touched_but_not_changed_keeps_the_stamp_current(capsys, home, session):
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text('{"env": {}}')
    record(capsys, home, [str(settings)])
    os.utime(settings, (0, 0))
    assert query(capsys)["current"]


def test_other_values_an_old_stamp_or_an_ended_session_make_a_full_run(capsys, home, session):
    record(capsys, home)
    other = query(capsys, inputs_digest="b" * 64)
    assert not other["current"] and other["reason"] == "the values given or the collection changed since the last full run"

    assert not query(capsys, max_age_hours=0)["current"]
    stamp = json.loads(stamp_path(home).read_text())
    stamp["full_run_at"] = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=25)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    stamp_path(home).write_text(json.dumps(stamp))
    old = query(capsys)
    assert not old["current"] and "is more than 24 hours old" in old["reason"]
    assert query(capsys, max_age_hours=48)["current"]

    session["result"] = dbcli.TokenResult(dbcli.SESSION_EXPIRED, message="refresh token is invalid")
    ended = query(capsys, max_age_hours=48)
    assert not ended["current"]
    assert ended["reason"] == "the Databricks session of profile fmapi-claudecode-profile is not active (expired)"


@pytest.mark.parametrize("content, says", [
    ("{not json", "is not valid JSON"),
    ('{"version": 0, "files": {}}', "another version of the collection"),
    ("[]", "another version of the collection"),
])
def test_a_stamp_that_cannot_be_used_makes_a_full_run(capsys, home, session, content, says):
    stamp_path(home).parent.mkdir(parents=True)
    stamp_path(home).write_text(content)
    result = query(capsys)
    assert not result["current"] and says in result["reason"]


def test_check_mode_writes_and_removes_nothing_and_absent_is_safe_to_repeat(capsys, home, session):
    run_main(setup_stamp.main, capsys, dict(state="present", inputs_digest=DIGEST), check=True)
    assert not stamp_path(home).exists()
    record(capsys, home)
    assert run_main(setup_stamp.main, capsys, dict(state="absent"), check=True)["changed"]
    assert stamp_path(home).exists()
    assert run_main(setup_stamp.main, capsys, dict(state="absent"))["changed"]
    assert not stamp_path(home).exists()
    assert not run_main(setup_stamp.main, capsys, dict(state="absent"))["changed"]


def test_a_stamp_that_cannot_be_written_warns_and_the_setup_goes_on(capsys, home, session):
    (home / ".local").mkdir()
    (home / ".local" / "state").write_text("a file where a folder should be")
    result = record(capsys, home)
    assert any("the next run with fast_rerun=true is a full run" in w for w in result["_warnings"])


def test_xdg_state_home_is_where_the_stamp_goes(capsys, home, session, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert record(capsys, home)["path"] == str(tmp_path / "state" / "fmapi-coding-agents" / "setup-stamp.json")


def test_fingerprint_follows_links_and_folders(tmp_path):
    target = tmp_path / "v1"
    target.write_bytes(b"binary one")
    link = tmp_path / "tool"
    link.symlink_to(target)
    before = fingerprint(str(link))
    (tmp_path / "v2").write_bytes(b"binary two")
    link.unlink()
    link.symlink_to(tmp_path / "v2")
    assert fingerprint(str(link)) != before, "an upgrade that moves the link is seen"
    folder = tmp_path / "plugin"
    (folder / "commands").mkdir(parents=True)
    (folder / "commands" / "status.md").write_text("status")
    tree = fingerprint(str(folder))
    (folder / "commands" / "status.md").write_text("status, changed")
    assert fingerprint(str(folder)) != tree
    assert fingerprint(str(tmp_path / "missing")) == "absent"
    assert "binary" not in fingerprint(str(target)), "a digest, never the content"
