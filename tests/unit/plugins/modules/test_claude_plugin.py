# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the claude_plugin module: the module run in-process on files in a temp directory.

Claude Code itself is replaced here by a small script that records its arguments (for O(purge_cache));
tests/functional/test_claude_plugin.py runs the real one.
"""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest


from ansible_collections.fmapi.coding_agents.plugins.modules import claude_plugin
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.utils import run_main

MARKETPLACE = "fmapi-coding-agents"
PLUGIN = "fmapi-coding-agents"
PLUGIN_ID = PLUGIN + "@" + MARKETPLACE
LEGACY_TOKEN = "dapi0123456789abcdef-legacy-token"

# A user's settings file as Claude Code writes them (2 spaces, final newline), with plugins of their own.
USER_FILE = """{
  "model": "opus",
  "env": {
    "EDITOR": "vim"
  },
  "extraKnownMarketplaces": {
    "team-tools": {
      "source": {
        "source": "github",
        "repo": "example/team-tools"
      }
    }
  },
  "enabledPlugins": {
    "formatter@team-tools": true,
    "linter@team-tools": false
  },
  "includeCoAuthoredBy": false
}
"""

# Claude Code's registry as it writes it (2 spaces, no final newline).
REAL_REGISTRY = {
    "version": 2,
    "plugins": {
        "formatter@team-tools": [{
            "scope": "user",
            "installPath": "/home/dev/.claude/plugins/cache/team-tools/formatter/1.0.0",
            "version": "1.0.0",
            "installedAt": "2025-01-01T00:00:00.000Z",
            "lastUpdated": "2025-01-01T00:00:00.000Z",
        }],
    },
}
LEGACY_ENTRY = {"scope": "user", "installPath": "/home/dev/.claude/plugins/fmapi-codingagent"}


@pytest.fixture(autouse=True)
def no_config_dir_override(monkeypatch):
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)


@pytest.fixture(name="home")
def home_fixture(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture(name="settings_path")
def settings_path_fixture(home):
    return home / ".claude" / "settings.json"


@pytest.fixture(name="registry_path")
def registry_path_fixture(settings_path):
    return settings_path.parent / "plugins" / "installed_plugins.json"


def make_marketplace(directory, name=MARKETPLACE, plugins=(PLUGIN,)):
    """A marketplace folder with a manifest listing ``plugins``."""
    (directory / ".claude-plugin").mkdir(parents=True)
    manifest = {
        "name": name,
        "owner": {"name": "FMAPI coding agents maintainers"},
        "plugins": [{"name": plugin, "source": "./plugins/" + plugin} for plugin in plugins],
    }
    (directory / ".claude-plugin" / "marketplace.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    for plugin in plugins:
        (directory / "plugins" / plugin / ".claude-plugin").mkdir(parents=True)
        (directory / "plugins" / plugin / ".claude-plugin" / "plugin.json").write_text(
            json.dumps({"name": plugin}), encoding="utf-8")
    return directory


@pytest.fixture(name="source")
def source_fixture(home):
    return make_marketplace(home / ".claude" / "fmapi-coding-agents" / "marketplace")


@pytest.fixture(name="run")
def run_fixture(capsys, settings_path, source):
    """Run the module with the standard present arguments updated by ``args``; return its result."""

    def run(check=False, diff=False, expect_failure=False, **args):
        module_args = {"source": str(source), "settings_path": str(settings_path)}
        module_args.update(args)
        return run_main(claude_plugin.main, capsys, module_args, check, diff, expect_failure)

    return run


def write(path, content, mode=0o644):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    os.chmod(path, mode)


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def file_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def declared(source):
    return {"source": {"source": "directory", "path": str(source)}}


def fake_claude(directory, exit_code=0, outcome="ok"):
    """A stand-in ``claude`` that logs its arguments and CLAUDE_CONFIG_DIR and prints a --json result."""
    log = directory / "claude-calls.jsonl"
    script = directory / "claude"
    script.write_text(
        "#!%s\n" % sys.executable +
        "import json, os, sys\n"
        "with open(%r, 'a') as handle:\n"
        "    handle.write(json.dumps({'args': sys.argv[1:], 'config_dir': os.environ.get('CLAUDE_CONFIG_DIR'),\n"
        "                             'cwd': os.getcwd()}) + '\\n')\n"
        "print(json.dumps({'command': 'x', 'outcome': %r, 'message': 'stand-in says %s'}))\n"
        "sys.exit(%d)\n" % (str(log), outcome, outcome, exit_code),
        encoding="utf-8")
    os.chmod(script, 0o755)
    return script, log


def calls(log):
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def record_in_cache(settings_path, plugin_ids=(PLUGIN_ID,), marketplace=MARKETPLACE, scope="user"):
    """Claude Code's cache after it reconciled the plugin."""
    plugins_dir = settings_path.parent / "plugins"
    plugins_dir.mkdir(parents=True, exist_ok=True)
    registry = {"version": 2, "plugins": dict(
        (plugin_id, [{"scope": scope, "installPath": "/x/" + plugin_id, "version": "0.1.0"}])
        for plugin_id in plugin_ids)}
    (plugins_dir / "installed_plugins.json").write_text(json.dumps(registry, indent=2), encoding="utf-8")
    known = {marketplace: {"source": {"source": "directory", "path": "/x"}, "installLocation": "/x"}}
    (plugins_dir / "known_marketplaces.json").write_text(json.dumps(known, indent=2), encoding="utf-8")


# ------------------------------------------------------------ declaring

def test_declares_marketplace_and_enables_plugin_in_a_new_file(run, settings_path, source):
    result = run()
    assert result["changed"] is True
    assert load(settings_path) == {
        "extraKnownMarketplaces": {MARKETPLACE: declared(source)},
        "enabledPlugins": {PLUGIN_ID: True},
    }
    text = settings_path.read_text(encoding="utf-8")
    assert text.startswith('{\n  "extraKnownMarketplaces": ') and text.endswith("}\n")
    assert file_mode(settings_path) == 0o600
    assert file_mode(settings_path.parent) == 0o755  # made by the marketplace fixture, left alone
    assert result["plugin_id"] == PLUGIN_ID
    assert result["marketplace"] == MARKETPLACE and result["plugin"] == PLUGIN
    assert result["source"] == str(source)
    assert result["settings_path"] == str(settings_path)
    assert result["set_keys"] == ["extraKnownMarketplaces." + MARKETPLACE, "enabledPlugins." + PLUGIN_ID]
    assert result["removed_keys"] == [] and result["removed_legacy"] == []


def test_missing_config_directory_is_created_privately(run, home):
    settings = home / "elsewhere" / "claude" / "settings.json"
    run(settings_path=str(settings))
    assert file_mode(settings.parent) == 0o700
    assert file_mode(settings) == 0o600


def test_source_with_tilde_is_written_absolute(run, settings_path, source):
    run(source="~/.claude/fmapi-coding-agents/marketplace")
    assert load(settings_path)["extraKnownMarketplaces"][MARKETPLACE] == declared(source)


def test_merge_keeps_other_settings_plugins_and_order(run, settings_path, source):
    write(settings_path, USER_FILE)
    result = run()
    after = load(settings_path)
    before = json.loads(USER_FILE)
    assert list(after) == list(before)
    assert list(after["extraKnownMarketplaces"]) == ["team-tools", MARKETPLACE]
    assert after["extraKnownMarketplaces"]["team-tools"] == before["extraKnownMarketplaces"]["team-tools"]
    assert after["enabledPlugins"] == {"formatter@team-tools": True, "linter@team-tools": False, PLUGIN_ID: True}
    for key in ("model", "env", "includeCoAuthoredBy"):
        assert after[key] == before[key]
    assert result["set_keys"] == ["extraKnownMarketplaces." + MARKETPLACE, "enabledPlugins." + PLUGIN_ID]


def test_indentation_and_byte_order_mark_are_kept(run, settings_path):
    write(settings_path, b"\xef\xbb\xbf" + json.dumps({"model": "opus"}, indent=4).encode("utf-8") + b"\n")
    run()
    raw = settings_path.read_bytes()
    assert raw.startswith(b'\xef\xbb\xbf{\n    "model": "opus",\n    "extraKnownMarketplaces": {\n        "')


def test_second_run_changes_nothing_and_does_not_touch_the_file(run, settings_path):
    write(settings_path, USER_FILE)
    run()
    content = settings_path.read_bytes()
    os.utime(settings_path, (1_000_000_000, 1_000_000_000))
    result = run()
    assert result["changed"] is False
    assert result["set_keys"] == []
    assert settings_path.read_bytes() == content
    assert os.stat(settings_path).st_mtime == 1_000_000_000


def test_unchanged_data_in_another_layout_is_not_rewritten(run, settings_path, source):
    compact = json.dumps({"extraKnownMarketplaces": {MARKETPLACE: declared(source)},
                          "enabledPlugins": {PLUGIN_ID: True}})
    write(settings_path, compact, mode=0o644)
    result = run()
    assert result["changed"] is False
    assert settings_path.read_text(encoding="utf-8") == compact


def test_moved_folder_updates_the_path_and_keeps_other_entry_members(run, settings_path, source):
    write(settings_path, json.dumps({
        "extraKnownMarketplaces": {MARKETPLACE: {"source": {"source": "directory", "path": "/old/place"},
                                                 "autoUpdate": False}},
        "enabledPlugins": {PLUGIN_ID: True},
    }, indent=2))
    result = run()
    assert result["changed"] is True
    assert result["set_keys"] == ["extraKnownMarketplaces." + MARKETPLACE]
    assert load(settings_path)["extraKnownMarketplaces"][MARKETPLACE] == {
        "source": {"source": "directory", "path": str(source)}, "autoUpdate": False}


def test_disabled_plugin_is_enabled_again(run, settings_path, source):
    write(settings_path, json.dumps({"extraKnownMarketplaces": {MARKETPLACE: declared(source)},
                                     "enabledPlugins": {PLUGIN_ID: False}}))
    result = run()
    assert result["set_keys"] == ["enabledPlugins." + PLUGIN_ID]
    assert load(settings_path)["enabledPlugins"] == {PLUGIN_ID: True}


def test_symlinked_settings_are_written_through(run, settings_path, home):
    target = home / "dotfiles" / "claude-settings.json"
    write(target, USER_FILE)
    settings_path.parent.mkdir(parents=True, exist_ok=True)
    settings_path.symlink_to(target)
    run()
    assert settings_path.is_symlink()
    assert os.readlink(settings_path) == str(target)
    assert load(target)["enabledPlugins"][PLUGIN_ID] is True
    assert file_mode(target) == 0o600


def test_backup_copy_is_private(run, settings_path):
    write(settings_path, USER_FILE, mode=0o644)
    result = run(backup=True)
    backup = result["backup_file"]
    assert backup and os.path.exists(backup)
    assert open(backup, encoding="utf-8").read() == USER_FILE
    assert file_mode(backup) == 0o600


# ------------------------------------------------------------ check mode and diff

def test_check_mode_writes_nothing(run, settings_path):
    write(settings_path, USER_FILE)
    result = run(check=True)
    assert result["changed"] is True
    assert result["set_keys"] == ["extraKnownMarketplaces." + MARKETPLACE, "enabledPlugins." + PLUGIN_ID]
    assert settings_path.read_text(encoding="utf-8") == USER_FILE


def test_check_mode_on_a_missing_file_creates_nothing(run, settings_path):
    result = run(check=True)
    assert result["changed"] is True
    assert not settings_path.exists()


def test_diff_shows_the_settings_before_and_after(run, settings_path, source):
    write(settings_path, USER_FILE)
    result = run(diff=True)
    diff = result["diff"]
    assert diff["before"] == USER_FILE
    assert json.loads(diff["after"])["enabledPlugins"][PLUGIN_ID] is True
    assert diff["before_header"] == diff["after_header"] == str(settings_path)


def test_diff_of_a_new_file(run, settings_path):
    result = run(diff=True, check=True)
    assert result["diff"]["before"] == ""
    assert result["diff"]["before_header"] == "%s (absent)" % settings_path


def test_no_diff_when_nothing_changes(run, settings_path):
    run()
    assert "diff" not in run(diff=True)


def test_diff_and_output_never_show_a_legacy_token(run, settings_path):
    write(settings_path, json.dumps({"env": {"ANTHROPIC_AUTH_TOKEN": LEGACY_TOKEN}}, indent=2))
    result = run(diff=True)
    assert LEGACY_TOKEN not in result["_stdout"]
    assert "ANTHROPIC_AUTH_TOKEN" in result["diff"]["after"]
    # The file itself keeps it: that key belongs to claude_settings, not to this module.
    assert load(settings_path)["env"]["ANTHROPIC_AUTH_TOKEN"] == LEGACY_TOKEN


# ------------------------------------------------------------ names

def test_marketplace_declared_under_another_name_is_refused(run, settings_path):
    result = run(marketplace="other-name", expect_failure=True)
    assert "names the marketplace 'fmapi-coding-agents'" in result["msg"]
    assert not settings_path.exists()


def test_plugin_the_marketplace_does_not_list_is_refused(run):
    result = run(plugin="nope", expect_failure=True)
    assert "lists no plugin 'nope'" in result["msg"] and PLUGIN in result["msg"]


def test_marketplace_with_several_plugins_needs_the_plugin_option(run, home, settings_path):
    several = make_marketplace(home / "several", name="team", plugins=("one", "two"))
    result = run(source=str(several), expect_failure=True)
    assert "several plugins (one, two)" in result["msg"]
    result = run(source=str(several), plugin="two")
    assert result["plugin_id"] == "two@team"
    assert load(settings_path)["enabledPlugins"] == {"two@team": True}


def test_missing_folder_fails_with_what_to_do(run, home, settings_path):
    result = run(source=str(home / "nowhere"), expect_failure=True)
    assert "does not exist" in result["msg"]
    assert not settings_path.exists()


def test_check_mode_before_the_folder_is_copied_works_with_names(run, home, settings_path):
    missing = home / "not-yet-copied"
    result = run(source=str(missing), marketplace=MARKETPLACE, plugin=PLUGIN, check=True)
    assert result["changed"] is True and result["plugin_id"] == PLUGIN_ID
    result = run(source=str(missing), check=True, expect_failure=True)
    assert "give marketplace and plugin" in result["msg"]


def test_manifest_that_is_not_json_is_reported(run, source):
    (source / ".claude-plugin" / "marketplace.json").write_text("{nope", encoding="utf-8")
    result = run(expect_failure=True)
    assert "marketplace.json is not valid JSON" in result["msg"]


def test_folder_without_manifest_is_reported(run, home):
    (home / "plain").mkdir()
    result = run(source=str(home / "plain"), expect_failure=True)
    assert "is not a Claude Code marketplace" in result["msg"]


@pytest.mark.parametrize("name", ["with space", "a@b", "-leading"])
def test_unusable_names_are_refused(run, name):
    result = run(state="absent", source=None, marketplace=name, expect_failure=True)
    assert "is not usable" in result["msg"]


# ------------------------------------------------------------ unreadable settings

def test_invalid_json_fails_without_changing_anything(run, settings_path):
    write(settings_path, '{"model": "opus",\n  oops}')
    result = run(expect_failure=True)
    assert "is not valid JSON" in result["msg"] and "line 2" in result["msg"]
    assert settings_path.read_text(encoding="utf-8") == '{"model": "opus",\n  oops}'


def test_wrong_type_of_our_keys_fails_without_changing_anything(run, settings_path):
    write(settings_path, json.dumps({"enabledPlugins": ["x"]}))
    result = run(expect_failure=True)
    assert "'enabledPlugins' is a JSON array" in result["msg"]
    assert load(settings_path) == {"enabledPlugins": ["x"]}


def test_top_level_array_fails(run, settings_path):
    write(settings_path, "[]")
    result = run(expect_failure=True)
    assert "must be a JSON object" in result["msg"]


# ------------------------------------------------------------ legacy registry entries

def test_flat_legacy_entry_alone_deletes_the_registry(run, registry_path):
    write(registry_path, json.dumps({"fmapi-codingagent": LEGACY_ENTRY}))
    result = run()
    assert result["removed_legacy"] == ["fmapi-codingagent"]
    assert not registry_path.exists()


def test_flat_legacy_entry_beside_real_entries_goes_alone(run, registry_path):
    data = dict(REAL_REGISTRY)
    data["fmapi-codingagent"] = LEGACY_ENTRY
    write(registry_path, json.dumps(data, indent=2))
    result = run()
    assert result["removed_legacy"] == ["fmapi-codingagent"]
    assert registry_path.read_text(encoding="utf-8") == json.dumps(REAL_REGISTRY, indent=2)


def test_registry_without_legacy_entries_is_not_touched(run, registry_path):
    write(registry_path, json.dumps(REAL_REGISTRY))
    os.utime(registry_path, (1_000_000_000, 1_000_000_000))
    result = run()
    assert result["removed_legacy"] == []
    assert registry_path.read_text(encoding="utf-8") == json.dumps(REAL_REGISTRY)
    assert os.stat(registry_path).st_mtime == 1_000_000_000


def test_registry_format_keys_are_never_legacy(run, registry_path):
    write(registry_path, json.dumps(REAL_REGISTRY))
    result = run(legacy_entries=["plugins", "version", "fmapi-codingagent"])
    assert result["removed_legacy"] == []
    assert load(registry_path) == REAL_REGISTRY


def test_legacy_name_with_a_non_object_value_is_left(run, registry_path):
    write(registry_path, json.dumps({"version": 2, "plugins": {}, "fmapi-codingagent": "note"}))
    assert run()["removed_legacy"] == []


def test_unreadable_registry_is_left_to_claude(run, registry_path):
    write(registry_path, "{broken")
    result = run()
    assert result["removed_legacy"] == []
    assert registry_path.read_text(encoding="utf-8") == "{broken"


def test_legacy_cleanup_alone_counts_as_a_change_and_is_shown(run, settings_path, registry_path):
    run()
    write(registry_path, json.dumps({"fmapi-codingagent": LEGACY_ENTRY}))
    result = run(diff=True)
    assert result["changed"] is True and result["set_keys"] == []
    assert result["diff"]["before_header"] == str(registry_path)
    assert result["diff"]["after_header"] == "%s (deleted)" % registry_path


def test_check_mode_reports_but_keeps_the_legacy_entry(run, registry_path):
    write(registry_path, json.dumps({"fmapi-codingagent": LEGACY_ENTRY}))
    result = run(check=True)
    assert result["removed_legacy"] == ["fmapi-codingagent"]
    assert load(registry_path) == {"fmapi-codingagent": LEGACY_ENTRY}


def test_legacy_entries_go_with_state_absent_too(run, registry_path):
    write(registry_path, json.dumps({"fmapi-codingagent": LEGACY_ENTRY}))
    result = run(state="absent", purge_cache=False)
    assert result["removed_legacy"] == ["fmapi-codingagent"]
    assert not registry_path.exists()


def test_registry_keeps_its_mode(run, registry_path):
    data = dict(REAL_REGISTRY, **{"fmapi-codingagent": LEGACY_ENTRY})
    write(registry_path, json.dumps(data, indent=2), mode=0o640)
    run()
    assert file_mode(registry_path) == 0o640


# ------------------------------------------------------------ removing

def test_absent_removes_our_entries_and_keeps_everything_else(run, settings_path):
    write(settings_path, USER_FILE)
    run()
    result = run(state="absent", purge_cache=False)
    assert result["changed"] is True
    assert result["removed_keys"] == ["extraKnownMarketplaces." + MARKETPLACE, "enabledPlugins." + PLUGIN_ID]
    assert settings_path.read_text(encoding="utf-8") == USER_FILE


def test_absent_drops_emptied_objects_and_deletes_an_empty_file(run, settings_path):
    run()
    result = run(state="absent", purge_cache=False)
    assert result["file_deleted"] is True
    assert not settings_path.exists()


def test_absent_keeps_a_symlink_with_an_empty_object(run, settings_path, home):
    target = home / "dotfiles" / "settings.json"
    write(target, "{}")
    settings_path.parent.mkdir(parents=True, exist_ok=True)
    settings_path.symlink_to(target)
    run()
    result = run(state="absent", purge_cache=False)
    assert result["file_deleted"] is False
    assert settings_path.is_symlink()
    assert load(target) == {}


def test_absent_drops_every_plugin_of_the_marketplace_but_not_others(run, settings_path, source):
    write(settings_path, json.dumps({
        "extraKnownMarketplaces": {MARKETPLACE: declared(source)},
        "enabledPlugins": {PLUGIN_ID: True, "extra@" + MARKETPLACE: False, "formatter@team-tools": True,
                           "x@" + MARKETPLACE + "-other": True},
        "theme": "dark",
    }, indent=2))
    run(state="absent", purge_cache=False)
    assert load(settings_path) == {
        "enabledPlugins": {"formatter@team-tools": True, "x@" + MARKETPLACE + "-other": True},
        "theme": "dark",
    }


def test_absent_leaves_objects_that_were_already_empty(run, settings_path):
    write(settings_path, json.dumps({"extraKnownMarketplaces": {}, "enabledPlugins": {}, "theme": "dark"}))
    result = run(state="absent", purge_cache=False)
    assert result["changed"] is False
    assert load(settings_path) == {"extraKnownMarketplaces": {}, "enabledPlugins": {}, "theme": "dark"}


def test_absent_by_marketplace_name_alone(run, settings_path):
    run()
    result = run(state="absent", source=None, marketplace=MARKETPLACE, purge_cache=False)
    assert result["marketplace"] == MARKETPLACE and result["plugin"] is None and result["plugin_id"] is None
    assert not settings_path.exists()


def test_absent_finds_the_name_from_the_settings_when_the_folder_is_gone(run, settings_path, source, home):
    write(settings_path, USER_FILE)
    run()
    (source / ".claude-plugin" / "marketplace.json").unlink()
    result = run(state="absent", purge_cache=False)
    assert result["marketplace"] == MARKETPLACE
    assert settings_path.read_text(encoding="utf-8") == USER_FILE


def test_absent_with_nothing_declared_changes_nothing(run, settings_path, home):
    write(settings_path, USER_FILE)
    result = run(state="absent", source=str(home / "gone"), purge_cache=False)
    assert result["changed"] is False and result["marketplace"] is None
    assert settings_path.read_text(encoding="utf-8") == USER_FILE


def test_absent_on_a_missing_file_changes_nothing(run, settings_path):
    result = run(state="absent", purge_cache=False)
    assert result["changed"] is False
    assert not settings_path.exists()


def test_absent_without_source_or_marketplace_is_refused(run):
    result = run(state="absent", source=None, expect_failure=True)
    assert "source" in result["msg"] and "marketplace" in result["msg"]


def test_absent_in_check_mode_keeps_the_file(run, settings_path):
    run()
    content = settings_path.read_bytes()
    result = run(state="absent", check=True, purge_cache=False)
    assert result["changed"] is True and result["file_deleted"] is True
    assert settings_path.read_bytes() == content


# ------------------------------------------------------------ Claude Code's cache

def test_absent_makes_claude_code_forget_what_its_cache_records(run, settings_path, tmp_path):
    claude, log = fake_claude(tmp_path)
    run()
    record_in_cache(settings_path)
    result = run(state="absent", claude_command=str(claude))
    assert result["purged_plugins"] == [PLUGIN_ID]
    assert result["purged_marketplaces"] == [MARKETPLACE]
    recorded = calls(log)
    assert [call["args"] for call in recorded] == [
        ["plugin", "uninstall", "--json", "--scope", "user", PLUGIN_ID],
        ["plugin", "marketplace", "remove", "--json", MARKETPLACE],
    ]
    # ~/.claude is Claude Code's default: no override, which would also move ~/.claude.json.
    assert all(call["config_dir"] is None for call in recorded)
    # Run outside any project, so that no project settings are touched.
    assert all(not call["cwd"].startswith(str(settings_path.parent)) for call in recorded)
    # The settings were already free of our entries when Claude Code ran.
    assert not settings_path.exists()


def test_a_custom_config_directory_is_passed_to_claude(run, home, tmp_path):
    claude, log = fake_claude(tmp_path)
    settings = home / "other-config" / "settings.json"
    run(settings_path=str(settings))
    record_in_cache(settings)
    run(state="absent", settings_path=str(settings), claude_command=str(claude))
    assert [call["config_dir"] for call in calls(log)] == [str(settings.parent)] * 2


def test_nothing_recorded_means_claude_is_not_run(run, tmp_path):
    claude, log = fake_claude(tmp_path)
    run()
    result = run(state="absent", claude_command=str(claude))
    assert result["purged_plugins"] == [] and result["purged_marketplaces"] == []
    assert calls(log) == []


def test_project_scope_installs_are_not_purged(run, settings_path, tmp_path):
    claude, log = fake_claude(tmp_path)
    record_in_cache(settings_path, scope="project")
    result = run(state="absent", claude_command=str(claude))
    assert result["purged_plugins"] == []
    assert [call["args"][:3] for call in calls(log)] == [["plugin", "marketplace", "remove"]]


def test_check_mode_reports_the_purge_without_running_claude(run, settings_path, tmp_path):
    claude, log = fake_claude(tmp_path)
    run()
    record_in_cache(settings_path)
    result = run(state="absent", claude_command=str(claude), check=True)
    assert result["changed"] is True
    assert result["purged_plugins"] == [PLUGIN_ID] and result["purged_marketplaces"] == [MARKETPLACE]
    assert calls(log) == []


def test_purge_is_a_change_even_when_the_settings_were_already_clean(run, settings_path, tmp_path):
    claude, _log = fake_claude(tmp_path)
    record_in_cache(settings_path)
    result = run(state="absent", claude_command=str(claude))
    assert result["changed"] is True and result["removed_keys"] == []


def test_purge_cache_false_leaves_the_cache(run, settings_path, tmp_path):
    claude, log = fake_claude(tmp_path)
    record_in_cache(settings_path)
    result = run(state="absent", claude_command=str(claude), purge_cache=False)
    assert result["changed"] is False
    assert calls(log) == []


def test_missing_claude_command_warns(run, settings_path, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    record_in_cache(settings_path)
    result = run(state="absent")
    assert result["purged_plugins"] == []
    assert any("claude command was not found" in warning for warning in result["_warnings"])


def test_failing_claude_command_warns_with_its_message(run, settings_path, tmp_path):
    claude, _log = fake_claude(tmp_path, exit_code=1, outcome="failed")
    record_in_cache(settings_path)
    result = run(state="absent", claude_command=str(claude))
    assert result["purged_plugins"] == [] and result["purged_marketplaces"] == []
    assert any("stand-in says failed" in warning for warning in result["_warnings"])


def test_claude_is_found_in_the_native_installer_directory(run, settings_path, home, tmp_path, monkeypatch):
    bin_dir = home / ".local" / "bin"
    bin_dir.mkdir(parents=True)
    claude, log = fake_claude(bin_dir)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    record_in_cache(settings_path)
    run(state="absent")
    assert calls(log) and os.path.exists(claude)
