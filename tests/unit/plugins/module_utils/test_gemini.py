# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of plugins/module_utils/_gemini.py: paths, settings merge, and the launcher script run by /bin/sh."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _claude_settings as cs
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _gemini as gm
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws

PATH = "/home/dev/.gemini/settings.json"
HOST = "https://my-workspace.cloud.databricks.com"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXYifQ.launcher-test-token"
HEADERS = "x-databricks-use-coding-agent-mode: true"


# ------------------------------------------------------------------------------------------- paths

def test_settings_path_follows_gemini_cli_home_else_home():
    assert gm.settings_path({"HOME": "/home/dev"}) == "/home/dev/.gemini/settings.json"
    assert gm.settings_path({"HOME": "/home/dev", "GEMINI_CLI_HOME": "/work/gemini-home"}) == \
        "/work/gemini-home/.gemini/settings.json"
    assert gm.settings_path({"HOME": "/home/dev", "GEMINI_CLI_HOME": ""}) == "/home/dev/.gemini/settings.json"


def test_system_settings_path_per_platform_and_variable():
    assert gm.system_settings_path({}, "linux") == "/etc/gemini-cli/settings.json"
    assert gm.system_settings_path({}, "darwin") == "/Library/Application Support/GeminiCli/settings.json"
    assert gm.system_settings_path({"GEMINI_CLI_SYSTEM_SETTINGS_PATH": "/opt/s.json"}, "linux") == "/opt/s.json"


# ------------------------------------------------------------------------------------ comments

def test_comments_outside_strings_are_found_and_blanked():
    text = '{\n  "url": "https://x.example.com/a//b", // the proxy\n  /* block\n  comment */ "b": "/*not*/"\n}'
    assert gm.first_comment_line(text) == 2
    stripped = gm.strip_json_comments(text)
    assert json.loads(stripped) == {"url": "https://x.example.com/a//b", "b": "/*not*/"}
    assert stripped.count("\n") == text.count("\n")
    assert gm.first_comment_line('{"a": "\\" // not a comment"}') is None


def test_a_file_with_comments_is_refused_with_its_data_and_line():
    raw = b'{\n  "ui": {"theme": "GitHub"},\n  // my auth\n  "security": {"auth": {"selectedType": "oauth-personal"}}\n}'
    with pytest.raises(gm.CommentedSettings) as info:
        gm.parse_settings(raw, PATH)
    assert info.value.kind == "comments"
    assert "has comments (the first at line 3)" in info.value.message and PATH in info.value.message
    assert info.value.parsed.data == {"ui": {"theme": "GitHub"}, "security": {"auth": {"selectedType": "oauth-personal"}}}
    assert info.value.parsed.indent == 2 and info.value.parsed.final_newline is False


def test_invalid_json_is_reported_where_gemini_cli_would_stumble_past_the_comments():
    with pytest.raises(cs.SettingsError) as info:
        gm.parse_settings(b'{\n  "a": 1,\n  // note\n  "b": 2,\n}\n', PATH)
    assert not isinstance(info.value, gm.CommentedSettings)
    assert info.value.kind == "unreadable"
    assert info.value.message.startswith(PATH + " is not valid JSON")
    # The trailing comma: Python 3.13 places the error at the comma, older ones at the brace.
    assert re.search(r"line (4, column 9|5, column 1)$", info.value.message), info.value.message


def test_a_root_that_is_not_an_object_names_gemini_cli():
    with pytest.raises(cs.SettingsError) as info:
        gm.parse_settings(b"[1]", PATH)
    assert info.value.kind == "not_object"
    assert "Gemini CLI settings must be a JSON object" in info.value.message


@pytest.mark.parametrize("raw, final_newline", [
    (None, True), (b"", True), (b'{"a": 1}', False), (b'{"a": 1}\n', True), (b'{\n  "a": 1\n}', False),
])
def test_the_final_newline_is_remembered(raw, final_newline):
    parsed = gm.parse_settings(raw, PATH)
    assert parsed.final_newline is final_newline
    rendered = gm.render_settings(parsed.data, parsed)
    assert rendered.endswith(b"\n") is final_newline


# ------------------------------------------------------------------------------------------ merge

def test_present_on_a_missing_file_creates_the_objects_and_records_it():
    merged = gm.merge_present({}, None)
    assert merged.data == {"security": {"auth": {"selectedType": "gemini-api-key"}}}
    assert merged.set_keys == ["security.auth.selectedType"]
    assert merged.record == {"selected_type": {"had": False, "created_security": True, "created_auth": True}}


def test_present_replaces_the_users_value_in_place_and_remembers_it():
    data = {"security": {"auth": {"selectedType": "oauth-personal", "useExternal": False}, "x": 1}, "ui": {}}
    merged = gm.merge_present(data, None)
    assert list(merged.data["security"]["auth"]) == ["selectedType", "useExternal"]
    assert merged.data["security"]["auth"]["selectedType"] == "gemini-api-key"
    assert merged.record == {"selected_type": {"had": True, "previous": "oauth-personal"}}
    assert data["security"]["auth"]["selectedType"] == "oauth-personal", "the input is not modified"


def test_a_value_the_user_had_is_not_recorded_so_absent_keeps_it():
    data = {"security": {"auth": {"selectedType": "gemini-api-key"}}}
    merged = gm.merge_present(data, None)
    assert merged.set_keys == [] and merged.record is None
    assert gm.merge_absent(data, merged.record).data == data


def test_a_second_present_keeps_the_first_record():
    first = gm.merge_present({"security": {"auth": {"selectedType": "oauth-personal"}}}, None)
    second = gm.merge_present(first.data, first.record)
    assert second.set_keys == [] and second.record == first.record


def test_a_value_chosen_since_is_taken_over_and_given_back_later():
    first = gm.merge_present({"security": {"auth": {"selectedType": "oauth-personal"}}}, None)
    first.data["security"]["auth"]["selectedType"] = "vertex-ai"
    again = gm.merge_present(first.data, first.record)
    assert again.record == {"selected_type": {"had": True, "previous": "vertex-ai"}}
    assert "set since the last setup" in again.notes[0]
    assert gm.merge_absent(again.data, again.record).data == {"security": {"auth": {"selectedType": "vertex-ai"}}}


def test_absent_removes_only_the_objects_it_created_when_empty():
    merged = gm.merge_present({"security": {"folderTrust": {"enabled": True}}}, None)
    back = gm.merge_absent(merged.data, merged.record)
    assert back.data == {"security": {"folderTrust": {"enabled": True}}}
    assert back.removed_keys == ["security.auth.selectedType"]
    created = gm.merge_present({"ui": {}}, None)
    assert gm.merge_absent(created.data, created.record).data == {"ui": {}}
    kept_empty = gm.merge_present({"security": {"auth": {}}}, None)
    assert gm.merge_absent(kept_empty.data, kept_empty.record).data == {"security": {"auth": {}}}


def test_absent_leaves_a_value_the_user_changed_since():
    merged = gm.merge_present({}, None)
    merged.data["security"]["auth"]["selectedType"] = "oauth-personal"
    back = gm.merge_absent(merged.data, merged.record)
    assert back.data == merged.data and back.removed_keys == [] and back.restored_keys == []
    assert "not what the setup wrote" in back.notes[0]


def test_an_enforced_type_that_refuses_ours_is_pointed_out():
    merged = gm.merge_present({"security": {"auth": {"enforcedType": "oauth-personal"}}}, None, path=PATH)
    assert merged.notes == ["%s: security.auth.enforcedType is 'oauth-personal', so Gemini CLI refuses gemini-api-key. "
                            "Remove that key (it is not the setup's to change)." % PATH]
    assert gm.merge_present({"security": {"auth": {"enforcedType": "gemini-api-key"}}}, None).notes == []


def test_absent_without_a_record_changes_nothing():
    data = {"security": {"auth": {"selectedType": "gemini-api-key"}}}
    assert gm.merge_absent(data, None).data == data


@pytest.mark.parametrize("data, name", [({"security": "strict"}, "security"), ({"security": {"auth": []}}, "security.auth")])
def test_a_container_of_the_wrong_type_is_refused_or_repaired(data, name):
    with pytest.raises(cs.SettingsError) as info:
        gm.merge_present(data, None, path=PATH)
    assert info.value.kind == "bad_shape" and "'%s' is a JSON" % name in info.value.message
    repaired = gm.merge_present(data, None, repair=True)
    assert repaired.repaired == [name]
    assert gm.selected_type(repaired.data) == (True, "gemini-api-key")


# --------------------------------------------------------------------------------------- headers

def test_custom_headers_render_as_gemini_reads_them():
    assert gm.validate_custom_headers(gm.DEFAULT_CUSTOM_HEADERS) == HEADERS
    assert gm.validate_custom_headers({"x-a": True, "x-b": 2, "User-Agent": "fmapi/1 gemini"}) == \
        "x-a: true, x-b: 2, User-Agent: fmapi/1 gemini"
    assert gm.validate_custom_headers({}) == ""


@pytest.mark.parametrize("headers, expected", [
    ({"Authorization": "Bearer x"}, "looks like a credential"),
    ({"x-goog-api-key": "abc"}, "looks like a credential"),
    ({"X-Api-Token": "abc"}, "looks like a credential"),
    ({"x bad": "1"}, "not an HTTP header name"),
    ({"x-a": "1, x-b: 2"}, "without ','"),
    ({"x-a": "1\nx-b: 2"}, "single line"),
    ({"x-a": ""}, "non-empty"),
    ({"x-trace": "dapi0123456789abcdef0123456789abcdef"}, "looks like a Databricks token"),
    (["x-a: 1"], "must be a mapping"),
])
def test_bad_custom_headers_are_refused(headers, expected):
    with pytest.raises(ws.ValidationError, match=expected):
        gm.validate_custom_headers(headers)


# -------------------------------------------------------------------------------------- launcher

def write_script(path, text, mode=0o755):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return str(path)


@pytest.fixture(name="fake_gemini")
def fake_gemini_fixture(tmp_path):
    """A stand-in for Gemini CLI that prints its arguments, stdin and Gemini variables as JSON."""
    return write_script(tmp_path / "gemini cli" / "gemini", """#!%s
import json, os, sys
print(json.dumps({"argv": sys.argv[1:], "stdin": sys.stdin.read(),
                  "env": {k: v for k, v in os.environ.items() if k.startswith(("GEMINI", "GOOGLE", "FMAPI"))}}))
""" % sys.executable)


def fake_helper(tmp_path, body):
    return write_script(tmp_path / "helper dir" / "fmapi-token-helper", "#!/bin/sh\n" + body)


def launcher(tmp_path, gemini, helper, style="serving-endpoints", model="databricks-gemini-2-5-pro",
             headers=HEADERS):
    return write_script(tmp_path / "bin" / "gemini", gm.render_launcher(gemini, helper, HOST, style, model, headers))


def run(path, *args, stdin="", env=None):
    return subprocess.run([path] + list(args), input=stdin, capture_output=True, text=True, timeout=60,
                          env=dict({"PATH": os.environ["PATH"]}, **(env or {})), check=False)


def test_the_launcher_exports_the_token_and_passes_everything_on(tmp_path, fake_gemini):
    # The helper is asked to check the token with the workspace (Gemini CLI keeps it for the whole session).
    helper = fake_helper(tmp_path, 'cat >/dev/null; [ "$FMAPI_TOKEN_HELPER_VERIFY" = 1 ] || exit 9; echo %s\n' % TOKEN)
    path = launcher(tmp_path, fake_gemini, helper, style="ai-gateway")

    completed = run(path, "-p", "say 'hi' $HOME `x`", "--model=", stdin="context from a pipe\n",
                    env={"GEMINI_API_KEY": "junk", "GOOGLE_GEMINI_BASE_URL": "https://evil.example.com",
                         "GEMINI_CLI_CUSTOM_HEADERS": "x-evil: 1", "GEMINI_MODEL": "other"})

    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    seen = json.loads(completed.stdout)
    assert seen["argv"] == ["-p", "say 'hi' $HOME `x`", "--model="]
    assert seen["stdin"] == "context from a pipe\n", "the helper must not read the prompt piped into gemini"
    assert seen["env"] == {
        "GOOGLE_GEMINI_BASE_URL": HOST + "/ai-gateway/gemini",
        "GEMINI_API_KEY": TOKEN,
        "GEMINI_API_KEY_AUTH_MECHANISM": "bearer",
        "GEMINI_MODEL": "databricks-gemini-2-5-pro",
        "GEMINI_CLI_CUSTOM_HEADERS": HEADERS,
    }
    assert TOKEN not in open(path, encoding="utf-8").read()


def test_no_custom_headers_still_shadows_a_dotenv_value(tmp_path, fake_gemini):
    path = launcher(tmp_path, fake_gemini, fake_helper(tmp_path, "echo %s\n" % TOKEN), headers="")
    seen = json.loads(run(path).stdout)
    assert seen["env"]["GEMINI_CLI_CUSTOM_HEADERS"] == ""


def test_a_failing_helper_shows_its_message_and_the_fix_and_gemini_does_not_start(tmp_path, fake_gemini):
    helper = fake_helper(tmp_path, "echo 'fmapi-token-helper: the login has ended: databricks auth login ...' >&2\n"
                                   "exit 3\n")
    completed = run(launcher(tmp_path, fake_gemini, helper))
    assert completed.returncode == 3
    assert completed.stdout == ""
    lines = completed.stderr.splitlines()
    assert lines[0] == "fmapi-token-helper: the login has ended: databricks auth login ..."
    assert lines[1].startswith("gemini: no Databricks token (the token helper %s ended with exit status 3), so "
                               "Gemini CLI was not started. Fix: ansible-playbook fmapi.coding_agents.reauth" % helper)
    assert len(lines) == 2


@pytest.mark.parametrize("output", ["", "two words", "line1\\nline2"])
def test_an_empty_or_strange_token_does_not_start_gemini(tmp_path, fake_gemini, output):
    helper = fake_helper(tmp_path, "printf '%s\\n' \"$(printf '" + output + "')\"\n")
    completed = run(launcher(tmp_path, fake_gemini, helper))
    assert completed.returncode == 1 and completed.stdout == ""
    assert "so Gemini CLI was not started" in completed.stderr


def test_a_missing_gemini_or_helper_is_named(tmp_path, fake_gemini):
    helper = fake_helper(tmp_path, "echo %s\n" % TOKEN)
    gone = run(launcher(tmp_path, str(tmp_path / "nowhere" / "gemini"), helper))
    assert gone.returncode == 127 and "Gemini CLI is missing: %s" % (tmp_path / "nowhere" / "gemini") in gone.stderr
    no_helper = run(launcher(tmp_path, fake_gemini, str(tmp_path / "no-helper")))
    assert no_helper.returncode == 1 and "token helper %s is missing" % (tmp_path / "no-helper") in no_helper.stderr


def test_a_launcher_never_starts_a_launcher(tmp_path, fake_gemini):
    helper = fake_helper(tmp_path, "echo started >> %s; echo %s\n" % (tmp_path / "helper-runs", TOKEN))
    inner = write_script(tmp_path / "other" / "gemini", gm.render_launcher(fake_gemini, helper, HOST,
                                                                           "serving-endpoints", "m", ""))
    completed = run(launcher(tmp_path, inner, helper))
    assert completed.returncode == 1
    assert "%s is this launcher, not Gemini CLI" % inner in completed.stderr
    assert not os.path.exists(tmp_path / "helper-runs"), "no token is fetched for a loop"


def test_hostile_looking_paths_are_quoted(tmp_path, fake_gemini):
    marker = tmp_path / "pwned"
    odd = tmp_path / ("it's $(touch %s) `touch %s`" % (marker, marker))
    helper = write_script(odd / "helper", "#!/bin/sh\necho %s\n" % TOKEN)
    gemini = write_script(odd / "gemini", open(fake_gemini, encoding="utf-8").read())
    completed = run(launcher(tmp_path, gemini, helper))
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["env"]["GEMINI_API_KEY"] == TOKEN
    assert not marker.exists()


def test_the_metadata_line_is_read_back_and_only_for_launchers():
    text = gm.render_launcher("/opt/gemini", "/home/dev/.claude/fmapi-token-helper", HOST, "ai-gateway",
                              "databricks-gemini-2-5-flash", HEADERS)
    assert text.splitlines()[1].startswith(gm.LAUNCHER_MARKER)
    assert gm.launcher_metadata(text) == {
        "version": 1, "agent": "gemini", "gemini": "/opt/gemini", "token_helper": "/home/dev/.claude/fmapi-token-helper",
        "host": HOST, "endpoint_style": "ai-gateway", "base_url": HOST + "/ai-gateway/gemini",
        "model": "databricks-gemini-2-5-flash", "custom_headers": HEADERS}
    assert gm.launcher_metadata("#!/bin/sh\n# fmapi-coding-agents-helper: {\"version\": 1}\n") is None
    assert gm.launcher_metadata("#!/usr/bin/env node\nconsole.log(1)\n") is None


def test_the_launcher_runs_under_dash_and_bash(tmp_path, fake_gemini):
    path = launcher(tmp_path, fake_gemini, fake_helper(tmp_path, "echo %s\n" % TOKEN))
    for shell in ("/bin/sh", "/bin/dash", "/bin/bash"):
        if not os.path.exists(shell):
            continue
        completed = subprocess.run([shell, path, "-p", "x"], capture_output=True, text=True, timeout=60, check=False)
        assert completed.returncode == 0, (shell, completed.stderr)
        assert json.loads(completed.stdout)["env"]["GEMINI_API_KEY"] == TOKEN


# ----------------------------------------------------------------------------------- the binary

def test_find_gemini_skips_launchers_and_reads_the_version(tmp_path, fake_gemini, monkeypatch):
    first = tmp_path / "first"
    second = tmp_path / "second"
    write_script(first / "gemini", gm.render_launcher(fake_gemini, "/h", HOST, "serving-endpoints", "m", ""))
    write_script(second / "gemini", "#!/bin/sh\n[ -n \"$GEMINI_CLI_HOME\" ] && touch \"$GEMINI_CLI_HOME/ran\"\n"
                                    "echo 0.61.0\n")
    environ = {"PATH": "%s:%s" % (first, second), "HOME": str(tmp_path / "home")}
    monkeypatch.setattr(gm, "GEMINI_SEARCH_DIRS", ())

    found = gm.find_gemini(environ)

    assert found["path"] == str(second / "gemini") and found["on_path"] is True
    assert found["version"] == "0.61.0" and found["version_ok"] is True
    assert found["skipped"] == [str(first / "gemini")]
    assert not os.path.exists(tmp_path / "home"), "--version ran with a throwaway GEMINI_CLI_HOME"


def test_an_old_or_broken_gemini_is_told_apart(tmp_path):
    old = write_script(tmp_path / "old" / "gemini", "#!/bin/sh\necho 0.39.2\n")
    broken = write_script(tmp_path / "broken" / "gemini", "#!/bin/sh\necho 'env: node: No such file' >&2\nexit 127\n")
    assert gm.find_gemini({}, old)["version_ok"] is False
    found = gm.find_gemini({}, broken)
    assert found["found"] is True and found["version"] is None and "node: No such file" in found["output"]
    assert gm.find_gemini({}, str(tmp_path / "missing"))["found"] is False


def test_resolve_command_is_what_the_shell_finds_first(tmp_path):
    first = write_script(tmp_path / "a" / "gemini", "#!/bin/sh\n")
    write_script(tmp_path / "b" / "gemini", "#!/bin/sh\n")
    write_script(tmp_path / "c" / "gemini", "#!/bin/sh\n", mode=0o644)
    assert gm.resolve_command("%s:%s" % (tmp_path / "c", tmp_path / "a")) == first
    assert gm.resolve_command(str(tmp_path / "nothing")) is None
