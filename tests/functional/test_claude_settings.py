# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Functional tests of claude_settings and claude_code_info: the modules run by ansible-playbook on
localhost, and the real Claude Code then talks to the workspace double with the settings they wrote."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess

import pytest
from functional_support import check_row
from workspace_double.pytest_plugin import isolated_env

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load_helper_metadata():
    """The collection's own metadata renderer (the checkout is not importable as ansible_collections here)."""
    spec = importlib.util.spec_from_file_location(
        "fmapi_helper_metadata", os.path.join(ROOT, "plugins", "module_utils", "_helper_metadata.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render_helper_metadata = _load_helper_metadata().render_helper_metadata

PROFILE = "fmapi-claudecode-profile"
MODEL = "databricks-claude-sonnet-4-5"
LEGACY_TOKEN = "dapi-legacy-0123456789abcdef"

USER_SETTINGS = """{
  "cleanupPeriodDays": 20,
  "env": {
    "EDITOR": "vim"
  },
  "permissions": {
    "allow": [
      "Bash(npm run test:*)"
    ],
    "deny": [
      "Read(./.env)"
    ]
  },
  "includeCoAuthoredBy": false
}
"""


def settings_file(home: str) -> str:
    return os.path.join(home, ".claude", "settings.json")


def write_helper(home: str, double) -> str:
    """A token helper that prints an access token the double issued, with the metadata line of a real one."""
    path = os.path.join(home, ".local", "share", "fmapi-coding-agents", "fmapi-token-helper")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    token = double.control.issue_access_token()
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("#!/bin/sh\n" + render_helper_metadata(
            profile=PROFILE, host=double.url, databricks_cli="/usr/local/bin/databricks",
        ) + "\nprintf '%s\\n' '" + token + "'\n")
    os.chmod(path, 0o700)
    return path


def run_claude(claude_cli: str, home: str, double, prompt: str = "hi") -> list:
    """One non-interactive turn of the real Claude Code; returns its stream-json events."""
    with open(os.path.join(home, ".claude.json"), "w", encoding="utf-8") as handle:
        json.dump({"hasCompletedOnboarding": True}, handle)
    project = os.path.join(home, "project")
    os.makedirs(project, exist_ok=True)
    env = isolated_env(
        home,
        NODE_EXTRA_CA_CERTS=double.ca_file,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        DISABLE_AUTOUPDATER="1",
    )
    completed = subprocess.run(
        [claude_cli, "-p", prompt, "--output-format", "stream-json", "--verbose"],
        cwd=project, env=env, capture_output=True, text=True, timeout=180, check=False,
    )
    assert completed.returncode == 0, "claude failed:\n%s\n%s" % (completed.stdout[-3000:], completed.stderr[-3000:])
    return [json.loads(line) for line in completed.stdout.splitlines() if line.strip().startswith("{")]


def message_requests(double, gateway_path: str) -> list:
    return [entry for entry in double.control.requests(path_prefix=gateway_path)
            if entry["path"].endswith("/v1/messages")]


@pytest.mark.parametrize("gateway, gateway_path", [
    ("serving-endpoints", "/serving-endpoints/anthropic"),
    ("ai-gateway", "/ai-gateway/anthropic"),
])
def test_claude_code_talks_to_the_workspace_with_the_written_settings(
        run_module, laptop_home, workspace_double, claude_cli, gateway, gateway_path):
    helper = write_helper(laptop_home, workspace_double)
    result = run_module("claude_settings", {
        "host": workspace_double.url + "/", "api_key_helper": helper, "model": MODEL, "gateway": gateway,
    })
    assert result["changed"] is True
    assert result["path"] == settings_file(laptop_home)

    events = run_claude(claude_cli, laptop_home, workspace_double)
    init = next(event for event in events if event.get("type") == "system" and event.get("subtype") == "init")
    final = next(event for event in events if event.get("type") == "result")
    assert final["is_error"] is False, final
    assert final["result"] == workspace_double.state.setting("reply_text")
    assert init["model"] == MODEL
    assert init["apiKeySource"] == "apiKeyHelper"
    # permissions.deny took the gateway-incompatible tool away; the others are there.
    assert "WebSearch" not in init["tools"] and "WebFetch" in init["tools"]

    requests = message_requests(workspace_double, gateway_path)
    assert requests, workspace_double.control.requests()
    assert all(entry["status"] == 200 for entry in requests), requests
    assert all(entry["detail"]["coding_agent_header"] == "true" for entry in requests)
    assert all(entry["bearer_status"] == "valid" for entry in requests)
    assert MODEL in [entry["detail"]["model"] for entry in requests]


def test_without_deny_web_search_claude_offers_the_tool(run_module, laptop_home, workspace_double, claude_cli):
    helper = write_helper(laptop_home, workspace_double)
    run_module("claude_settings", {"host": workspace_double.url, "api_key_helper": helper, "deny_web_search": False})
    init = next(event for event in run_claude(claude_cli, laptop_home, workspace_double)
                if event.get("subtype") == "init")
    assert "WebSearch" in init["tools"]


def test_user_settings_survive_install_use_and_uninstall(run_module, laptop_home, workspace_double, claude_cli):
    path = settings_file(laptop_home)
    os.makedirs(os.path.dirname(path))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(USER_SETTINGS)
    helper = write_helper(laptop_home, workspace_double)
    args = {"host": workspace_double.url, "api_key_helper": helper, "model": MODEL}

    assert run_module("claude_settings", args)["changed"] is True
    installed = open(path, encoding="utf-8").read()
    assert run_module("claude_settings", args)["changed"] is False
    assert open(path, encoding="utf-8").read() == installed
    result = run_module("claude_settings", {"state": "absent"})
    assert result["changed"] is True and result["file_deleted"] is False
    assert open(path, encoding="utf-8").read() == USER_SETTINGS

    run_module("claude_settings", args)
    final = next(event for event in run_claude(claude_cli, laptop_home, workspace_double)
                 if event.get("type") == "result")
    assert final["result"] == workspace_double.state.setting("reply_text")
    # Claude Code may rewrite the file itself (it migrates some values and reorders keys), so from here on
    # the comparison is on data.
    data = json.loads(open(path, encoding="utf-8").read())
    assert data["env"]["EDITOR"] == "vim" and data["includeCoAuthoredBy"] is False
    assert data["permissions"] == {"allow": ["Bash(npm run test:*)"], "deny": ["Read(./.env)", "WebSearch"]}
    assert run_module("claude_settings", args)["changed"] is False

    run_module("claude_settings", {"state": "absent"})
    assert json.loads(open(path, encoding="utf-8").read()) == json.loads(USER_SETTINGS)
    assert not os.path.exists(os.path.join(laptop_home, ".claude", ".settings.json.fmapi-state.json"))
    assert run_module("claude_settings", {"state": "absent"})["changed"] is False


def test_info_reads_back_what_claude_settings_wrote(run_module, laptop_home, workspace_double):
    before = run_module("claude_code_info")
    assert before["installed"] is False and before["host"] is None
    assert check_row(before, "Settings file")["status"] == "FAIL"
    assert before["removable"] == []

    helper = write_helper(laptop_home, workspace_double)
    run_module("claude_settings", {
        "host": workspace_double.url, "api_key_helper": helper, "model": MODEL, "haiku": "databricks-claude-haiku-4-5",
        "ttl_minutes": 20, "gateway": "ai-gateway",
    })
    info = run_module("claude_code_info")
    assert info["changed"] is False
    assert info["installed"] is True
    assert info["settings_path"] == settings_file(laptop_home)
    assert info["host"] == workspace_double.url
    assert info["gateway"] == "ai-gateway"
    assert info["model"] == MODEL
    assert (info["opus"], info["sonnet"], info["haiku"]) == (
        "databricks-claude-opus-4-6", "databricks-claude-sonnet-4-6", "databricks-claude-haiku-4-5")
    assert info["ttl_minutes"] == 20
    assert info["helper_path"] == helper and info["api_key_helper"] == helper
    assert info["profile"] == PROFILE
    assert info["databricks_cli"] == "/usr/local/bin/databricks"
    assert info["deny_web_search"] is True
    assert info["legacy"] == []
    assert info["helper_is_ours"] is True
    assert info["models"] == {"model": MODEL, "opus": "databricks-claude-opus-4-6",
                              "sonnet": "databricks-claude-sonnet-4-6", "haiku": "databricks-claude-haiku-4-5"}
    for label in ("Settings file", "FMAPI settings", "apiKeyHelper", "Settings permissions", "Older setups"):
        assert check_row(info, label)["status"] == "PASS", info["checks"]
    assert dict((row["label"], row["value"]) for row in info["removable"]) == {
        "Settings": "FMAPI keys in %s" % settings_file(laptop_home), "Token helper": helper}

    # Feeding the answers back in is a no-op: the re-run reproduces the install.
    again = run_module("claude_settings", {
        "host": info["host"], "api_key_helper": info["api_key_helper"], "model": info["model"], "opus": info["opus"],
        "sonnet": info["sonnet"], "haiku": info["haiku"], "ttl_minutes": info["ttl_minutes"],
        "gateway": info["gateway"],
    })
    assert again["changed"] is False


def test_check_mode_and_diff_through_ansible(run_module, laptop_home, workspace_double):
    result = run_module("claude_settings", {"host": workspace_double.url, "api_key_helper": "/bin/true"},
                        check=True, diff=True)
    assert result["changed"] is True
    assert not os.path.exists(os.path.join(laptop_home, ".claude"))
    assert '+    "ANTHROPIC_BASE_URL": "%s/serving-endpoints/anthropic",' % workspace_double.url in result["_output"]


def test_legacy_install_is_cleaned_and_its_token_never_shown(run_module, laptop_home, workspace_double):
    path = settings_file(laptop_home)
    os.makedirs(os.path.dirname(path))
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"_fmapi_meta": {"version": "1.0"}, "apiKeyHelper": "/old/helper.sh",
                   "env": {"ANTHROPIC_AUTH_TOKEN": LEGACY_TOKEN, "EDITOR": "vim"}}, handle, indent=2)
    with open(os.path.join(laptop_home, ".claude", ".fmapi-pat-cache"), "w", encoding="utf-8") as handle:
        handle.write(LEGACY_TOKEN)

    info = run_module("claude_code_info", env={"ANSIBLE_VERBOSITY": "1"})
    assert sorted(item["name"] for item in info["legacy"]) == ["anthropic_auth_token", "fmapi_meta", "pat_cache"]
    assert LEGACY_TOKEN not in json.dumps(info)

    result = run_module("claude_settings", {"host": workspace_double.url, "api_key_helper": "/new/helper.sh"},
                        diff=True, env={"ANSIBLE_VERBOSITY": "1"})
    assert sorted(result["removed_keys"]) == ["_fmapi_meta", "env.ANTHROPIC_AUTH_TOKEN"]
    assert "ANTHROPIC_AUTH_TOKEN" in result["_output"]
    assert LEGACY_TOKEN not in json.dumps(result)
    data = json.loads(open(path, encoding="utf-8").read())
    assert "_fmapi_meta" not in data and data["env"]["EDITOR"] == "vim" and "ANTHROPIC_AUTH_TOKEN" not in data["env"]


def test_corrupt_settings_fail_the_task_and_stay_untouched(run_module, laptop_home, workspace_double):
    path = settings_file(laptop_home)
    os.makedirs(os.path.dirname(path))
    corrupt = '{\n  "theme": "dark",\n}\n'
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(corrupt)
    result = run_module("claude_settings", {"host": workspace_double.url, "api_key_helper": "/bin/true"},
                        expect_failure=True)
    # Where the parser places a trailing comma error depends on the Python (3.13 moved it).
    with pytest.raises(ValueError) as parsed:
        json.loads(corrupt)
    position = "line %d, column %d" % (parsed.value.lineno, parsed.value.colno)
    assert path in result["msg"] and position in result["msg"] and "repair=true" in result["msg"]
    assert open(path, encoding="utf-8").read() == corrupt

    info = run_module("claude_code_info")
    assert info["settings_valid"] is False and position in info["settings_error"]
    assert check_row(info, "Settings file")["status"] == "FAIL"
    assert any(position in warning for warning in info["warnings"])

    repaired = run_module("claude_settings", {"host": workspace_double.url, "api_key_helper": "/bin/true",
                                              "repair": True})
    assert open(repaired["backup_file"], encoding="utf-8").read() == corrupt
    assert json.loads(open(path, encoding="utf-8").read())["apiKeyHelper"] == "/bin/true"
