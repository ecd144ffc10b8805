# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the gemini_settings module: the module run in-process on files in a temp directory."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.fmapi.coding_agents.plugins.modules import gemini_settings
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.utils import run_main

OURS = {"security": {"auth": {"selectedType": "gemini-api-key"}}}

# A user's settings file exactly as Gemini CLI 0.61.0 writes it (JSON.stringify(settings, null, 2): two spaces,
# arrays one item a line, non-ASCII as is, no final newline), signed in with Google.
USER_FILE = """{
  "general": {
    "vimMode": true,
    "preferredEditor": "code",
    "checkpointing": {
      "enabled": true
    }
  },
  "ui": {
    "theme": "GitHub",
    "hideBanner": true,
    "footer": {
      "hideCWD": false
    }
  },
  "security": {
    "folderTrust": {
      "enabled": true
    },
    "auth": {
      "selectedType": "oauth-personal",
      "useExternal": false
    }
  },
  "model": {
    "name": "gemini-2.5-pro",
    "maxSessionTurns": -1
  },
  "context": {
    "fileName": [
      "GEMINI.md",
      "AGENTS.md"
    ],
    "includeDirectories": []
  },
  "mcpServers": {
    "github": {
      "command": "npx",
      "args": [
        "-y",
        "@modelcontextprotocol/server-github"
      ],
      "env": {
        "GITHUB_PERSONAL_ACCESS_TOKEN": "$GITHUB_TOKEN"
      },
      "timeout": 30000
    }
  },
  "privacy": {
    "usageStatisticsEnabled": false
  },
  "tools": {
    "exclude": [
      "run_shell_command(rm -rf)"
    ]
  },
  "hooks": {},
  "ide": {
    "hasSeenNudge": true
  },
  "greeting": "Grüß dich ✓"
}"""


@pytest.fixture(name="home")
def home_fixture(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("GEMINI_CLI_HOME", raising=False)
    return home


@pytest.fixture(name="settings_path")
def settings_path_fixture(home):
    return home / ".gemini" / "settings.json"


@pytest.fixture(name="run")
def run_fixture(capsys, home):  # pylint: disable=unused-argument
    def run(check=False, diff=False, expect_failure=False, **args):
        return run_main(gemini_settings.main, capsys, args, check, diff, expect_failure)
    return run


def write(path, content, mode=0o600):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    os.chmod(path, mode)


def sidecar(path):
    return path.parent / ("." + path.name + ".fmapi-state.json")


def file_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_creates_the_file_and_folder_privately(run, settings_path):
    result = run()

    assert result["changed"] is True
    assert json.loads(settings_path.read_text()) == OURS
    assert settings_path.read_text() == '{\n  "security": {\n    "auth": {\n      "selectedType": "gemini-api-key"\n' \
                                        '    }\n  }\n}\n'
    assert file_mode(settings_path) == 0o600 and file_mode(settings_path.parent) == 0o700
    assert result["path"] == str(settings_path)
    assert result["set_keys"] == ["security.auth.selectedType"] and result["selected_type"] == "gemini-api-key"
    assert result["previous_selected_type"] is None
    assert result["state_file"] == str(sidecar(settings_path)) and file_mode(sidecar(settings_path)) == 0o600
    assert json.loads(sidecar(settings_path).read_text()) == {
        "version": 1, "created_file": True,
        "selected_type": {"had": False, "created_security": True, "created_auth": True}}


def test_gemini_cli_home_moves_the_default_path(run, tmp_path, monkeypatch):
    monkeypatch.setenv("GEMINI_CLI_HOME", str(tmp_path / "gemini-home"))
    result = run()
    assert result["path"] == str(tmp_path / "gemini-home" / ".gemini" / "settings.json")
    assert json.loads((tmp_path / "gemini-home" / ".gemini" / "settings.json").read_text()) == OURS


def test_a_real_users_file_comes_back_byte_for_byte(run, settings_path):
    write(settings_path, USER_FILE)

    present = run(diff=True)
    again = run()
    changed_text = settings_path.read_text(encoding="utf-8")
    state = json.loads(sidecar(settings_path).read_text())
    absent = run(state="absent")
    twice = run(state="absent")

    assert present["changed"] is True and again["changed"] is False
    expected = USER_FILE.replace('"selectedType": "oauth-personal"', '"selectedType": "gemini-api-key"')
    assert changed_text == expected, "only the one value changed, in place, in Gemini CLI's own style"
    assert present["previous_selected_type"] == "oauth-personal"
    assert present["diff"]["before"] == USER_FILE and present["diff"]["after"] == expected
    assert state == {"version": 1, "selected_type": {"had": True, "previous": "oauth-personal"}}, "nothing else"
    assert absent["changed"] is True and absent["restored_keys"] == ["security.auth.selectedType"]
    assert absent["previous_selected_type"] == "oauth-personal" and absent["selected_type"] == "oauth-personal"
    assert settings_path.read_bytes() == USER_FILE.encode("utf-8")
    assert not sidecar(settings_path).exists()
    assert twice["changed"] is False


@pytest.mark.parametrize("text", [
    '{\n    "ui": {\n        "theme": "Dracula"\n    }\n}\n',
    '\ufeff{\n\t"ui": {\n\t\t"theme": "Dracula"\n\t},\n\t"security": {\n\t\t"folderTrust": {\n\t\t\t"enabled": false\n'
    '\t\t}\n\t}\n}',
    '{}',
])
def test_indent_bom_and_final_newline_survive_a_round_trip(run, settings_path, text):
    write(settings_path, text)
    run()
    assert json.loads(settings_path.read_text(encoding="utf-8-sig"))["security"]["auth"] == {
        "selectedType": "gemini-api-key"}
    run(state="absent")
    assert settings_path.read_bytes() == text.encode("utf-8")


def test_a_file_the_setup_created_is_deleted(run, settings_path):
    run()
    result = run(state="absent")
    assert result["file_deleted"] is True and result["removed_keys"] == ["security.auth.selectedType"]
    assert not settings_path.exists() and not sidecar(settings_path).exists()


def test_a_file_the_user_had_stays_even_when_empty(run, settings_path):
    write(settings_path, '{\n  "security": {}\n}\n')
    run()
    result = run(state="absent")
    assert result["file_deleted"] is False
    assert settings_path.read_text() == '{\n  "security": {}\n}\n'


def test_a_symlinked_file_keeps_its_link(run, settings_path, tmp_path):
    target = tmp_path / "dotfiles" / "gemini.json"
    write(target, '{"ui": {"theme": "GitHub"}}')
    settings_path.parent.mkdir()
    settings_path.symlink_to(target)
    run()
    assert settings_path.is_symlink() and json.loads(target.read_text())["security"] == OURS["security"]
    run(state="absent")
    assert settings_path.is_symlink() and target.read_text() == '{\n  "ui": {\n    "theme": "GitHub"\n  }\n}'


def test_the_users_own_api_key_type_is_never_removed(run, settings_path):
    write(settings_path, '{"security": {"auth": {"selectedType": "gemini-api-key"}}}')
    present = run()
    absent = run(state="absent")
    assert present["changed"] is False and present["state_file"] is None
    assert absent["changed"] is False
    assert json.loads(settings_path.read_text()) == OURS


def test_a_value_changed_since_is_left_by_absent(run, settings_path):
    run()
    write(settings_path, '{"security": {"auth": {"selectedType": "oauth-personal"}}}')
    result = run(state="absent")
    assert result["changed"] is True, "the sidecar goes"
    assert json.loads(settings_path.read_text())["security"]["auth"]["selectedType"] == "oauth-personal"
    assert any("not what the setup wrote" in warning for warning in result["_warnings"])
    assert not sidecar(settings_path).exists()


def test_check_mode_reports_and_writes_nothing(run, settings_path):
    write(settings_path, USER_FILE)
    result = run(check=True, diff=True)
    assert result["changed"] is True and '"gemini-api-key"' in result["diff"]["after"]
    assert settings_path.read_text() == USER_FILE and not sidecar(settings_path).exists()
    assert run(check=True, state="absent")["changed"] is False


@pytest.mark.parametrize("content, expected", [
    ('{\n  "ui": {\n    "theme": "GitHub",\n  }\n}', "is not valid JSON"),
    ("[]", "Gemini CLI settings must be a JSON object"),
    (b'{"a": "\xff"}', "not valid UTF-8"),
])
def test_a_broken_file_fails_naming_the_fix_and_nothing_is_written(run, settings_path, content, expected):
    write(settings_path, content)
    before = settings_path.read_bytes()
    result = run(expect_failure=True)
    assert expected in result["msg"] and str(settings_path) in result["msg"]
    assert "repair=true" in result["msg"] and "Nothing was changed" in result["msg"]
    assert settings_path.read_bytes() == before and not sidecar(settings_path).exists()


def test_a_broken_file_names_line_and_column(run, settings_path):
    write(settings_path, '{\n  "ui": {\n    "theme" "GitHub"\n  }\n}')
    assert "line 3, column 13" in run(expect_failure=True)["msg"]


def test_repair_backs_up_and_replaces_a_broken_file(run, settings_path):
    write(settings_path, "{not json")
    result = run(repair=True)
    assert result["repaired"] == ["file"] and result["backup_file"]
    with open(result["backup_file"], encoding="utf-8") as handle:
        assert handle.read() == "{not json"
    assert file_mode(result["backup_file"]) == 0o600
    assert json.loads(settings_path.read_text()) == OURS


def test_comments_block_a_change_unless_repaired(run, settings_path):
    text = '{\n  // signed in with Google\n  "security": {"auth": {"selectedType": "oauth-personal"}}\n}\n'
    write(settings_path, text)
    failed = run(expect_failure=True)
    assert "has comments (the first at line 2)" in failed["msg"] and "repair=true" in failed["msg"]
    assert settings_path.read_text() == text
    repaired = run(repair=True)
    assert repaired["repaired"] == ["comments"] and repaired["backup_file"]
    assert "//" not in settings_path.read_text() and json.loads(settings_path.read_text()) == OURS
    back = run(state="absent")
    assert json.loads(settings_path.read_text()) == {"security": {"auth": {"selectedType": "oauth-personal"}}}
    assert back["changed"] is True


def test_comments_are_fine_when_nothing_must_change(run, settings_path):
    text = '{\n  // mine\n  "security": {"auth": {"selectedType": "gemini-api-key"}}\n}\n'
    write(settings_path, text)
    assert run()["changed"] is False
    assert run(state="absent")["changed"] is False
    assert settings_path.read_text() == text


def test_absent_without_a_record_ignores_even_a_broken_file(run, settings_path):
    write(settings_path, "{broken")
    result = run(state="absent")
    assert result["changed"] is False and settings_path.read_text() == "{broken"


def test_a_wrong_shape_is_refused_or_repaired(run, settings_path):
    write(settings_path, '{"security": "strict", "ui": {}}')
    failed = run(expect_failure=True)
    assert "'security' is a JSON string" in failed["msg"]
    repaired = run(repair=True)
    assert repaired["repaired"] == ["security"] and repaired["backup_file"]
    assert json.loads(settings_path.read_text()) == {"security": {"auth": {"selectedType": "gemini-api-key"}},
                                                     "ui": {}}


def test_backup_copies_before_changing(run, settings_path):
    write(settings_path, USER_FILE)
    result = run(backup=True)
    with open(result["backup_file"], encoding="utf-8") as handle:
        assert handle.read() == USER_FILE


def test_a_directory_is_refused(run, settings_path):
    settings_path.mkdir(parents=True)
    assert "is a directory" in run(expect_failure=True)["msg"]


def test_a_backup_that_cannot_be_made_stops_before_any_change(run, settings_path, monkeypatch):
    write(settings_path, USER_FILE)

    def no_space(self, path):  # pylint: disable=unused-argument
        raise Exception("Could not make backup of %s: [Errno 28] No space left on device" % path)  # pylint: disable=broad-exception-raised

    monkeypatch.setattr(gemini_settings.AnsibleModule, "backup_local", no_space)
    result = run(backup=True, expect_failure=True)
    assert "Cannot back up %s, so nothing was changed" % settings_path in result["msg"]
    assert settings_path.read_text() == USER_FILE and not sidecar(settings_path).exists()
