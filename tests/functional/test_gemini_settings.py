"""gemini_settings run by Ansible on localhost on a developer's own Gemini CLI settings: set, kept, given back."""

from __future__ import annotations

import json
import os
import stat

import pytest

MODULE = "gemini_settings"

# A user's settings exactly as Gemini CLI 0.61.0 writes them (two spaces, no final newline), signed in with Google,
# with MCP servers, a comment-free but nested security section and non-ASCII text.
USER_SETTINGS = """{
  "general": {
    "vimMode": true,
    "checkpointing": {
      "enabled": true
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
    "name": "gemini-2.5-pro"
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
      }
    }
  },
  "privacy": {
    "usageStatisticsEnabled": false
  },
  "hooks": {},
  "greeting": "Grüß dich ✓"
}"""


@pytest.fixture(name="settings_path")
def settings_path_fixture(laptop_home) -> str:
    path = os.path.join(laptop_home, ".gemini", "settings.json")
    os.makedirs(os.path.dirname(path))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(USER_SETTINGS)
    return path


def read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def test_present_changes_one_value_and_absent_gives_the_file_back_byte_for_byte(run_module, settings_path):
    present = run_module(MODULE, {}, diff=True)
    again = run_module(MODULE, {})
    written = read(settings_path)
    absent = run_module(MODULE, {"state": "absent"})
    twice = run_module(MODULE, {"state": "absent"})

    assert present["changed"] is True and again["changed"] is False
    assert present["path"] == settings_path and present["previous_selected_type"] == "oauth-personal"
    assert written == USER_SETTINGS.replace('"oauth-personal"', '"gemini-api-key"')
    assert '-      "selectedType": "oauth-personal",' in present["_output"]
    assert '+      "selectedType": "gemini-api-key",' in present["_output"]
    assert stat.S_IMODE(os.stat(settings_path).st_mode) == 0o600
    assert absent["changed"] is True and absent["restored_keys"] == ["security.auth.selectedType"]
    with open(settings_path, "rb") as handle:
        assert handle.read() == USER_SETTINGS.encode("utf-8")
    assert os.listdir(os.path.dirname(settings_path)) == ["settings.json"], "the sidecar is gone"
    assert twice["changed"] is False


def test_the_sidecar_holds_the_users_value_and_nothing_else(run_module, settings_path):
    result = run_module(MODULE, {})

    assert result["state_file"] == os.path.join(os.path.dirname(settings_path), ".settings.json.fmapi-state.json")
    assert stat.S_IMODE(os.stat(result["state_file"]).st_mode) == 0o600
    with open(result["state_file"], encoding="utf-8") as handle:
        assert json.load(handle) == {"version": 1, "selected_type": {"had": True, "previous": "oauth-personal"}}


def test_check_mode_shows_the_change_and_writes_nothing(run_module, settings_path):
    result = run_module(MODULE, {}, check=True, diff=True)

    assert result["changed"] is True and '+      "selectedType": "gemini-api-key",' in result["_output"]
    assert read(settings_path) == USER_SETTINGS
    assert os.listdir(os.path.dirname(settings_path)) == ["settings.json"]


def test_an_unreadable_file_stops_the_module_naming_the_place_and_the_fix(run_module, settings_path):
    broken = USER_SETTINGS.replace('"useExternal": false\n', '"useExternal": false,\n')
    with open(settings_path, "w", encoding="utf-8") as handle:
        handle.write(broken)

    result = run_module(MODULE, {}, expect_failure=True)

    assert result["msg"].startswith(settings_path + " is not valid JSON")
    # The trailing comma: Python 3.13 places the error at the comma, older ones at the brace after it.
    assert "line 14, column 27" in result["msg"] or "line 15, column 5" in result["msg"], result["msg"]
    assert "Nothing was changed" in result["msg"] and "repair=true" in result["msg"]
    assert read(settings_path) == broken
    assert os.listdir(os.path.dirname(settings_path)) == ["settings.json"]


def test_comments_are_kept_unless_a_repair_is_asked_for(run_module, settings_path):
    commented = USER_SETTINGS.replace('  "hooks": {},\n', '  // my hooks come later\n  "hooks": {},\n')
    with open(settings_path, "w", encoding="utf-8") as handle:
        handle.write(commented)

    refused = run_module(MODULE, {}, expect_failure=True)
    repaired = run_module(MODULE, {"repair": True})

    assert "has comments (the first at line 35)" in refused["msg"]
    assert repaired["repaired"] == ["comments"] and read(repaired["backup_file"]) == commented
    assert json.loads(read(settings_path))["security"]["auth"]["selectedType"] == "gemini-api-key"


def test_gemini_cli_home_moves_the_file(run_module, settings_path, tmp_path):
    other = str(tmp_path / "gemini-home")

    result = run_module(MODULE, {}, env={"GEMINI_CLI_HOME": other})

    assert result["path"] == os.path.join(other, ".gemini", "settings.json")
    assert json.loads(read(result["path"])) == {"security": {"auth": {"selectedType": "gemini-api-key"}}}
    assert stat.S_IMODE(os.stat(os.path.dirname(result["path"])).st_mode) == 0o700
    assert read(settings_path) == USER_SETTINGS
