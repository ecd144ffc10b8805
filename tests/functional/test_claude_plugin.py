# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Functional tests of claude_plugin and of the plugin the collection ships: claude_plugin installs the
marketplace folder from ``src`` (its action plugin reads it on the controller), claude_settings declares
it (its ``plugin`` option), both run by ansible-playbook on localhost; then the real Claude Code starts in
that HOME (its model requests go to the workspace double).

What the real Claude Code 2.1 does with the two settings keys, which these tests pin down:
the first start loads the plugin's commands and skills in place from the declared folder; a
background reconcile records the marketplace in ``plugins/known_marketplaces.json`` and, on the
next start, the plugin in ``plugins/installed_plugins.json`` -- from then on ``claude plugin list``
shows it installed and enabled.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess

import pytest

from workspace_double.pytest_plugin import isolated_env

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED_MARKETPLACE = os.path.join(ROOT, "roles", "claude_code", "files", "marketplace")
SHIPPED_PLUGIN = os.path.join(SHIPPED_MARKETPLACE, "plugins", "fmapi-coding-agents")
NAME = "fmapi-coding-agents"
PLUGIN_ID = NAME + "@" + NAME
COMMANDS = ["status", "doctor", "reauth", "list-models", "validate-models", "setup"]
# What the collection's setup writes beside the plugin entries (claude_settings); the module must keep it.
MODEL = "databricks-claude-sonnet-4-6"
TIMEOUT = 180


def settings_file(home: str) -> str:
    return os.path.join(home, ".claude", "settings.json")


def registry_file(home: str) -> str:
    return os.path.join(home, ".claude", "plugins", "installed_plugins.json")


def installed_marketplace(home: str) -> str:
    """Where claude_plugin puts the marketplace by default."""
    return os.path.join(home, ".claude", "fmapi-coding-agents", "marketplace")


def declaration(source: str | None = None) -> dict:
    """claude_settings' ``plugin`` option for the collection's plugin."""
    plugin = {"marketplace": NAME, "plugin": NAME}
    if source:
        plugin["source"] = source
    return plugin


def install_and_declare(run_module, home: str) -> str:
    """What the claude_code role does: claude_plugin installs the files, claude_settings declares them."""
    installed = run_module("claude_plugin", {"src": SHIPPED_MARKETPLACE})
    assert installed["changed"] is True and installed["dest"] == installed_marketplace(home)
    assert (installed["marketplace"], installed["plugin"]) == (NAME, NAME)
    declared = run_module("claude_settings", {"fmapi_keys": False, "plugin": declaration(installed["dest"])})
    assert declared["changed"] is True and declared["plugin_id"] == PLUGIN_ID
    return installed["dest"]


def tree(root: str) -> dict:
    """``{relative path: (bytes, mode)}`` of the files below ``root``."""
    found = {}
    for directory, _subdirectories, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, root)] = (handle.read(), stat.S_IMODE(os.stat(path).st_mode))
    return found


def write_fmapi_settings(home: str, double) -> dict:
    """Settings that send Claude Code's requests to the double, as the setup's other tasks write them."""
    helper = os.path.join(home, ".claude", "fmapi-key-helper.sh")
    os.makedirs(os.path.dirname(helper), exist_ok=True)
    with open(helper, "w", encoding="utf-8") as handle:
        handle.write("#!/bin/sh\nprintf '%s\\n' '" + double.control.issue_access_token() + "'\n")
    os.chmod(helper, 0o700)
    settings = {
        "apiKeyHelper": helper,
        "env": {
            "ANTHROPIC_BASE_URL": double.url + "/serving-endpoints/anthropic",
            "ANTHROPIC_MODEL": MODEL,
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": "databricks-claude-haiku-4-5",
            "ANTHROPIC_CUSTOM_HEADERS": "x-databricks-use-coding-agent-mode: true",
        },
        "permissions": {"deny": ["WebSearch"]},
    }
    with open(settings_file(home), "w", encoding="utf-8") as handle:
        json.dump(settings, handle, indent=2)
        handle.write("\n")
    return settings


def claude_env(home: str, double) -> dict:
    return isolated_env(
        home,
        NODE_EXTRA_CA_CERTS=double.ca_file,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        DISABLE_AUTOUPDATER="1",
    )


def start_claude(claude_cli: str, home: str, double) -> dict:
    """One non-interactive turn of the real Claude Code; returns its ``system``/``init`` event."""
    with open(os.path.join(home, ".claude.json"), "w", encoding="utf-8") as handle:
        json.dump({"hasCompletedOnboarding": True}, handle)
    project = os.path.join(home, "project")
    os.makedirs(project, exist_ok=True)
    completed = subprocess.run(
        [claude_cli, "-p", "hi", "--output-format", "stream-json", "--verbose"],
        cwd=project, env=claude_env(home, double), capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )
    assert completed.returncode == 0, "claude failed:\n%s\n%s" % (completed.stdout[-3000:], completed.stderr[-3000:])
    events = [json.loads(line) for line in completed.stdout.splitlines() if line.strip().startswith("{")]
    assert events[-1].get("result") == double.state.setting("reply_text"), events[-1]
    return next(event for event in events if event.get("type") == "system" and event.get("subtype") == "init")


def claude_json(claude_cli: str, home: str, double, *args: str):
    """``claude ARGS --json`` parsed (plugin list, marketplace list, validate)."""
    completed = subprocess.run([claude_cli, *args, "--json"], cwd=home, env=claude_env(home, double),
                               capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert completed.stdout.strip(), completed.stderr
    return completed.returncode, json.loads(completed.stdout)


def listed(claude_cli: str, home: str, double) -> dict:
    """``claude plugin list --json`` by plugin id."""
    returncode, plugins = claude_json(claude_cli, home, double, "plugin", "list")
    assert returncode == 0
    return dict((plugin["id"], plugin) for plugin in plugins)


# ------------------------------------------------------------ the shipped plugin

@pytest.mark.parametrize("directory, kind", [(SHIPPED_MARKETPLACE, "marketplace"), (SHIPPED_PLUGIN, "plugin")])
def test_shipped_marketplace_and_plugin_validate_clean(claude_cli, workspace_double, tmp_path, directory, kind):
    home = str(tmp_path / "validator-home")
    os.makedirs(home)
    returncode, report = claude_json(claude_cli, home, workspace_double, "plugin", "validate", "--strict", directory)
    assert returncode == 0 and report["success"] is True, report
    assert report["manifest"]["type"] == kind
    assert report["manifest"]["errors"] == [] and report["manifest"]["warnings"] == []
    assert report["advice"] == []
    if kind == "plugin":
        assert report["directory"]["findings"] == []
        assert sorted(report["provides"]["commands"]) == sorted(NAME + ":" + command for command in COMMANDS)
        assert report["provides"]["skills"] == [NAME + ":" + NAME]


def test_shipped_versions_agree():
    with open(os.path.join(SHIPPED_MARKETPLACE, ".claude-plugin", "marketplace.json"), encoding="utf-8") as handle:
        marketplace = json.load(handle)
    with open(os.path.join(SHIPPED_PLUGIN, ".claude-plugin", "plugin.json"), encoding="utf-8") as handle:
        plugin = json.load(handle)
    entry = marketplace["plugins"][0]
    assert marketplace["name"] == NAME and entry["name"] == plugin["name"] == NAME
    assert entry["version"] == plugin["version"] == "0.1.0"
    assert entry["description"] == plugin["description"]


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_runs_its_playbook_and_may_run_only_that(command):
    with open(os.path.join(SHIPPED_PLUGIN, "commands", command + ".md"), encoding="utf-8") as handle:
        text = handle.read()
    front_matter, body = text.split("---\n")[1:3]
    playbook = "fmapi.coding_agents." + command.replace("-", "_")
    assert "allowed-tools: Bash(ansible-playbook %s:*)\n" % playbook in front_matter
    assert "description: " in front_matter
    assert "`ansible-playbook %s" % playbook in body


# ------------------------------------------------------------ installing and declaring

def test_installed_and_declared_plugin_loads_at_the_next_start_and_is_recorded_after(
        run_module, laptop_home, workspace_double, claude_cli):
    settings = write_fmapi_settings(laptop_home, workspace_double)

    installed = run_module("claude_plugin", {"src": SHIPPED_MARKETPLACE})
    source = installed["dest"]
    assert installed["changed"] is True and source == installed_marketplace(laptop_home)
    assert dict((name, data) for name, (data, _mode) in tree(source).items()) == dict(
        (name, data) for name, (data, _mode) in tree(SHIPPED_MARKETPLACE).items())
    assert sorted(installed["files"]) == sorted(tree(SHIPPED_MARKETPLACE))
    # claude_plugin installs files only: the settings are claude_settings' business.
    with open(settings_file(laptop_home), encoding="utf-8") as handle:
        assert json.load(handle) == settings

    declared = run_module("claude_settings", {"fmapi_keys": False, "plugin": declaration(source)})
    assert declared["changed"] is True and declared["plugin_id"] == PLUGIN_ID
    with open(settings_file(laptop_home), encoding="utf-8") as handle:
        written = json.load(handle)
    assert dict((key, written[key]) for key in settings) == settings
    assert written["extraKnownMarketplaces"] == {NAME: {"source": {"source": "directory", "path": source}}}
    assert written["enabledPlugins"] == {PLUGIN_ID: True}
    # Claude Code has not started yet: its registry does not know the plugin.
    assert PLUGIN_ID not in listed(claude_cli, laptop_home, workspace_double)

    init = start_claude(claude_cli, laptop_home, workspace_double)
    loaded = dict((plugin["source"], plugin) for plugin in init["plugins"])
    assert loaded[PLUGIN_ID]["path"] == os.path.join(source, "plugins", NAME)
    assert loaded[PLUGIN_ID]["version"] == "0.1.0"
    for command in COMMANDS:
        assert NAME + ":" + command in init["slash_commands"]
    assert NAME + ":" + NAME in init["slash_commands"]

    start_claude(claude_cli, laptop_home, workspace_double)
    plugin = listed(claude_cli, laptop_home, workspace_double)[PLUGIN_ID]
    assert plugin["enabled"] is True and plugin["scope"] == "user"
    assert plugin["readFromFolder"] == os.path.join(source, "plugins", NAME)

    # Claude Code's reconcile left the files and the settings as they were: a re-run has nothing to do.
    assert run_module("claude_plugin", {"src": SHIPPED_MARKETPLACE})["changed"] is False
    assert run_module("claude_settings", {"fmapi_keys": False, "plugin": declaration(source)})["changed"] is False


def test_check_mode_then_real_run_then_idempotent_from_a_role_files_folder(run_module, laptop_home):
    # src relative to the playbook's files/ folder, as a role's tasks give it.
    shutil.copytree(SHIPPED_MARKETPLACE, os.path.join(run_module.workdir, "files", "marketplace"))
    args = {"src": "marketplace"}
    dest = installed_marketplace(laptop_home)

    checked = run_module("claude_plugin", args, check=True, diff=True)
    assert checked["changed"] is True
    assert not os.path.exists(os.path.join(laptop_home, ".claude"))
    assert "+.claude-plugin/marketplace.json" in checked["_output"]
    assert run_module("claude_plugin", args)["changed"] is True
    assert run_module("claude_plugin", args)["changed"] is False
    assert not os.path.exists(settings_file(laptop_home))
    installed = tree(dest)
    assert set(mode for _data, mode in installed.values()) == {0o644}
    assert all(stat.S_IMODE(os.stat(directory).st_mode) == 0o755 for directory, _dirs, _files in os.walk(dest))

    # A file edited by hand and a stray file: the folder is replaced as a whole.
    command = os.path.join(dest, "plugins", NAME, "commands", "status.md")
    with open(command, "a", encoding="utf-8") as handle:
        handle.write("edited\n")
    with open(os.path.join(dest, "stray.txt"), "w", encoding="utf-8") as handle:
        handle.write("stray\n")
    repaired = run_module("claude_plugin", args)
    assert repaired["changed"] is True
    assert sorted(repaired["updated"]) == sorted(["plugins/%s/commands/status.md" % NAME, "stray.txt"])
    assert tree(dest) == installed
    assert [name for name in os.listdir(os.path.dirname(dest)) if name != "marketplace"] == [], \
        "no staging folder is left behind"


def test_a_folder_that_is_not_a_marketplace_is_refused(run_module, laptop_home, tmp_path):
    missing = run_module("claude_plugin", {"src": str(tmp_path / "nowhere")}, expect_failure=True)
    plugin_only = run_module("claude_plugin", {"src": SHIPPED_PLUGIN}, expect_failure=True)

    assert "was not found" in missing["msg"]
    assert "not a usable plugin marketplace" in plugin_only["msg"]
    assert not os.path.exists(os.path.join(laptop_home, ".claude"))


def test_legacy_registry_entry_is_removed_so_claude_can_record_the_plugin(
        run_module, laptop_home, workspace_double, claude_cli):
    write_fmapi_settings(laptop_home, workspace_double)
    os.makedirs(os.path.dirname(registry_file(laptop_home)))
    with open(registry_file(laptop_home), "w", encoding="utf-8") as handle:
        json.dump({"fmapi-codingagent": {"scope": "user", "installPath": installed_marketplace(laptop_home)}}, handle)

    result = run_module("claude_plugin", {"src": SHIPPED_MARKETPLACE})
    assert result["removed_legacy"] == ["fmapi-codingagent"]
    assert not os.path.exists(registry_file(laptop_home)), "a registry left empty is deleted"
    run_module("claude_settings", {"fmapi_keys": False, "plugin": declaration(result["dest"])})

    start_claude(claude_cli, laptop_home, workspace_double)
    start_claude(claude_cli, laptop_home, workspace_double)
    assert listed(claude_cli, laptop_home, workspace_double)[PLUGIN_ID]["enabled"] is True
    with open(registry_file(laptop_home), encoding="utf-8") as handle:
        registry = json.load(handle)
    assert registry["version"] == 2 and "fmapi-codingagent" not in registry


# ------------------------------------------------------------ removing

def test_absent_undeclares_then_purges_the_plugin_from_claude_code(
        run_module, laptop_home, workspace_double, claude_cli):
    settings = write_fmapi_settings(laptop_home, workspace_double)
    source = install_and_declare(run_module, laptop_home)
    start_claude(claude_cli, laptop_home, workspace_double)
    start_claude(claude_cli, laptop_home, workspace_double)
    assert PLUGIN_ID in listed(claude_cli, laptop_home, workspace_double)

    # First the settings stop declaring it (the uninstall playbook's order) ...
    undeclared = run_module("claude_settings", {"state": "absent", "fmapi_keys": False, "plugin": declaration()})
    assert undeclared["changed"] is True and undeclared["plugin_id"] == PLUGIN_ID
    assert sorted(undeclared["removed_keys"]) == sorted(["extraKnownMarketplaces." + NAME,
                                                         "enabledPlugins." + PLUGIN_ID])
    with open(settings_file(laptop_home), encoding="utf-8") as handle:
        assert json.load(handle) == settings

    # ... then the files go and Claude Code's cache forgets the plugin.
    args = {"state": "absent", "claude_command": claude_cli}
    checked = run_module("claude_plugin", args, check=True)
    assert checked["changed"] is True and checked["purged_plugins"] == [PLUGIN_ID]
    assert checked["purged_marketplaces"] == [NAME]
    assert os.path.isdir(source)
    assert PLUGIN_ID in listed(claude_cli, laptop_home, workspace_double)

    result = run_module("claude_plugin", args)
    assert result["changed"] is True and result["marketplace"] == NAME
    assert result["purged_plugins"] == [PLUGIN_ID] and result["purged_marketplaces"] == [NAME]
    assert result.get("warnings", []) == []
    assert not os.path.exists(os.path.dirname(source)), "the emptied parent folder goes too"
    assert listed(claude_cli, laptop_home, workspace_double) == {}
    returncode, marketplaces = claude_json(claude_cli, laptop_home, workspace_double, "plugin", "marketplace", "list")
    assert returncode == 0 and marketplaces == []
    with open(settings_file(laptop_home), encoding="utf-8") as handle:
        assert json.load(handle) == settings

    init = start_claude(claude_cli, laptop_home, workspace_double)
    assert PLUGIN_ID not in [plugin["source"] for plugin in init["plugins"]]
    assert not any(command.startswith(NAME + ":") for command in init["slash_commands"])
    assert run_module("claude_plugin", args)["changed"] is False
    assert run_module("claude_settings", {"state": "absent", "fmapi_keys": False,
                                          "plugin": declaration()})["changed"] is False
