# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the claude_plugin module: the module run in-process on folders in a temp directory.

The module gets the marketplace folder's files as its action plugin sends them (``files``: relative path to
base64 content). Claude Code itself is replaced by a small script that records its arguments (for
``purge_cache``); tests/functional/test_claude_plugin.py runs the real one.
"""

from __future__ import annotations

import base64
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
MANIFEST = ".claude-plugin/marketplace.json"
PLUGIN_JSON = "plugins/%s/.claude-plugin/plugin.json" % PLUGIN
STATUS = "plugins/%s/commands/status.md" % PLUGIN
DOCTOR = "plugins/%s/commands/doctor.md" % PLUGIN

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


def manifest(name=MARKETPLACE, plugins=(PLUGIN,)):
    return json.dumps({
        "name": name,
        "owner": {"name": "FMAPI coding agents maintainers"},
        "plugins": [{"name": plugin, "source": "./plugins/" + plugin} for plugin in plugins],
    }, indent=2).encode("utf-8")


def marketplace_files(**changes):
    """The marketplace folder's files as bytes; ``changes`` replaces (bytes) or removes (None) files by key."""
    files = {
        MANIFEST: manifest(),
        PLUGIN_JSON: json.dumps({"name": PLUGIN, "version": "0.1.0"}).encode("utf-8"),
        STATUS: b"---\ndescription: Show the FMAPI setup\n---\nRun the status playbook.\n",
        DOCTOR: "---\ndescription: Check the FMAPI setup\n---\nRun the doctor playbook \u2713.\n".encode("utf-8"),
    }
    for name, content in changes.items():
        name = {"manifest": MANIFEST, "status": STATUS, "doctor": DOCTOR}.get(name, name)
        if content is None:
            files.pop(name, None)
        else:
            files[name] = content
    return files


def encoded(files):
    """``files`` as the action plugin sends them."""
    return dict((name, base64.b64encode(content).decode("ascii")) for name, content in files.items())


@pytest.fixture(autouse=True)
def no_config_dir_override(monkeypatch):
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)


@pytest.fixture(name="home")
def home_fixture(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture(name="config_dir")
def config_dir_fixture(home):
    return home / ".claude"


@pytest.fixture(name="dest")
def dest_fixture(config_dir):
    return config_dir / "fmapi-coding-agents" / "marketplace"


@pytest.fixture(name="registry_path")
def registry_path_fixture(config_dir):
    return config_dir / "plugins" / "installed_plugins.json"


@pytest.fixture(name="run")
def run_fixture(capsys):
    """Run the module (by default: install the standard marketplace at the default place)."""

    def run(check=False, diff=False, expect_failure=False, files=None, **args):
        module_args = dict(args)
        if module_args.get("state", "present") == "present":
            module_args["files"] = encoded(marketplace_files() if files is None else files)
        elif files is not None:
            module_args["files"] = encoded(files)
        return run_main(claude_plugin.main, capsys, module_args, check, diff, expect_failure)

    return run


def tree(root):
    """``{relative path: bytes}`` of the files below ``root``."""
    found = {}
    for directory, _subdirectories, names in os.walk(str(root)):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, str(root))] = handle.read()
    return found


def modes(root):
    """``{relative path: mode}`` of everything below ``root`` and ``root`` itself (``.``)."""
    found = {".": stat.S_IMODE(os.stat(str(root)).st_mode)}
    for directory, subdirectories, names in os.walk(str(root)):
        for name in subdirectories + names:
            path = os.path.join(directory, name)
            found[os.path.relpath(path, str(root))] = stat.S_IMODE(os.stat(path).st_mode)
    return found


def identities(root):
    """``{relative path: (inode, mtime)}``: what changes when anything below ``root`` is rewritten."""
    found = {}
    for directory, subdirectories, names in os.walk(str(root)):
        for name in ["."] + subdirectories + names:
            path = os.path.normpath(os.path.join(directory, name))
            info = os.stat(path)
            found[os.path.relpath(path, str(root))] = (info.st_ino, info.st_mtime_ns)
    return found


def write(path, content, mode=0o644):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    os.chmod(path, mode)


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def file_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


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


def record_in_cache(config_dir, plugin_ids=(PLUGIN_ID,), marketplace=MARKETPLACE, scope="user"):
    """Claude Code's cache after it reconciled the plugin."""
    plugins_dir = config_dir / "plugins"
    plugins_dir.mkdir(parents=True, exist_ok=True)
    registry = {"version": 2, "plugins": dict(
        (plugin_id, [{"scope": scope, "installPath": "/x/" + plugin_id, "version": "0.1.0"}])
        for plugin_id in plugin_ids)}
    (plugins_dir / "installed_plugins.json").write_text(json.dumps(registry, indent=2), encoding="utf-8")
    known = {marketplace: {"source": {"source": "directory", "path": "/x"}, "installLocation": "/x"}}
    (plugins_dir / "known_marketplaces.json").write_text(json.dumps(known, indent=2), encoding="utf-8")


# ------------------------------------------------------------------------------------------ installing

def test_installs_the_folder_as_one_unit(run, dest):
    result = run()

    assert result["changed"] is True
    assert result["dest"] == str(dest)
    assert (result["marketplace"], result["plugin"]) == (MARKETPLACE, PLUGIN)
    assert result["files"] == sorted(marketplace_files()) == result["updated"]
    assert tree(dest) == marketplace_files()
    assert set(modes(dest).values()) == {0o644, 0o755}
    assert all(mode == 0o755 for name, mode in modes(dest).items() if os.path.isdir(os.path.join(str(dest), name)))
    # Built beside dest and renamed into place: nothing of the build is left over.
    assert os.listdir(str(dest.parent)) == ["marketplace"]
    assert result["removed_legacy"] == [] and result["purged_plugins"] == [] and result["purged_marketplaces"] == []


def test_the_same_content_again_changes_nothing_and_rewrites_nothing(run, dest):
    run()
    before = identities(dest)

    result = run(diff=True)

    assert result["changed"] is False and result["updated"] == [] and "diff" not in result
    assert result["files"] == sorted(marketplace_files())
    assert identities(dest) == before


@pytest.mark.parametrize("changes, updated", [
    ({"status": b"---\ndescription: Show it all\n---\nNew text.\n"}, [STATUS]),
    ({"plugins/%s/commands/reauth.md" % PLUGIN: b"Log in again.\n"}, ["plugins/%s/commands/reauth.md" % PLUGIN]),
    ({"doctor": None}, [DOCTOR]),
], ids=["changed", "added", "removed"])
def test_a_changed_added_or_removed_file_replaces_the_folder(run, dest, changes, updated):
    run()
    old_inode = os.stat(str(dest)).st_ino
    wanted = marketplace_files(**changes)

    result = run(files=wanted)

    assert result["changed"] is True and result["updated"] == updated
    assert tree(dest) == wanted
    assert os.stat(str(dest)).st_ino != old_inode
    assert os.listdir(str(dest.parent)) == ["marketplace"]
    assert run(files=wanted)["changed"] is False


def test_a_file_someone_added_to_the_folder_goes(run, dest):
    run()
    write(dest / "plugins" / PLUGIN / "commands" / "mine.md", "my own command\n")
    result = run()
    assert result["changed"] is True and result["updated"] == ["plugins/%s/commands/mine.md" % PLUGIN]
    assert tree(dest) == marketplace_files()


@pytest.mark.parametrize("path, mode", [(MANIFEST, 0o600), (STATUS, 0o755), ("plugins", 0o700), (".", 0o775)])
def test_wrong_modes_are_repaired(run, dest, path, mode):
    run()
    os.chmod(str(dest / path), mode)

    result = run()

    assert result["changed"] is True and result["updated"] == []
    assert set(modes(dest).values()) == {0o644, 0o755}
    assert file_mode(dest / MANIFEST) == 0o644 and file_mode(dest / "plugins") == 0o755
    assert tree(dest) == marketplace_files()


def test_a_regular_file_in_place_of_the_folder_is_replaced(run, dest):
    write(dest, "not a folder")
    result = run()
    assert result["changed"] is True and tree(dest) == marketplace_files()


def test_check_mode_reports_and_writes_nothing(run, dest):
    result = run(check=True, diff=True)
    assert result["changed"] is True and result["updated"] == sorted(marketplace_files())
    assert result["diff"]["before"] == "" and result["diff"]["after"].splitlines() == sorted(marketplace_files())
    assert not dest.exists() and not dest.parent.exists()


def test_check_mode_on_an_installed_folder_keeps_it(run, dest):
    run()
    before = identities(dest)
    result = run(files=marketplace_files(status=b"new\n"), check=True)
    assert result["changed"] is True and result["updated"] == [STATUS]
    assert identities(dest) == before and tree(dest) == marketplace_files()


def test_another_dest(run, home):
    dest = home / "plugins" / "fmapi"
    result = run(dest=str(dest))
    assert result["dest"] == str(dest) and tree(dest) == marketplace_files()


# ----------------------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("changes, message", [
    ({"manifest": b"{nope"}, "marketplace.json is not valid JSON"),
    ({"manifest": None}, "is not a Claude Code marketplace"),
    ({"manifest": b"[]"}, "must hold a JSON object"),
    ({"manifest": manifest(name="with space")}, "is not usable"),
    ({"manifest": manifest(plugins=("one", "two"))}, "several plugins (one, two)"),
    ({"manifest": manifest(plugins=())}, "lists no plugins"),
])
def test_an_invalid_manifest_fails_and_leaves_dest_alone(run, dest, changes, message):
    run()
    before = identities(dest)

    result = run(files=marketplace_files(**changes), expect_failure=True)

    assert result["msg"].startswith("src is not a usable plugin marketplace: ")
    assert message in result["msg"]
    assert identities(dest) == before and tree(dest) == marketplace_files()


@pytest.mark.parametrize("name", ["../evil.md", "plugins/../../evil.md", "{tmp}/evil.md", "..", "."])
def test_paths_outside_the_folder_are_refused(run, dest, tmp_path, name):
    name = name.format(tmp=tmp_path)
    files = marketplace_files(**{name: b"pwned\n"})

    result = run(files=files, expect_failure=True)

    assert "is not a path inside the marketplace folder" in result["msg"] and repr(name) in result["msg"]
    assert not dest.exists()
    for directory in (dest.parent, dest.parent.parent, tmp_path):
        assert not (directory / "evil.md").exists()


def test_content_that_is_not_base64_is_refused(run, dest, capsys):
    files = encoded(marketplace_files())
    files[STATUS] = "not base64!"
    result = run_main(claude_plugin.main, capsys, {"files": files}, expect_failure=True)
    assert "is not base64" in result["msg"] and STATUS in result["msg"]
    assert not dest.exists()


def test_no_files_is_refused(run, dest):
    result = run(files={}, expect_failure=True)
    assert "src holds no files" in result["msg"]
    assert not dest.exists()


def test_present_without_files_is_refused(capsys, dest):
    result = run_main(claude_plugin.main, capsys, {}, expect_failure=True)
    assert "state=present needs src" in result["msg"]
    assert not dest.exists()


# -------------------------------------------------------------------------------------------- absent

def test_absent_removes_the_folder_and_its_emptied_parent(run, dest, config_dir):
    run()

    result = run(state="absent", purge_cache=False)

    assert result["changed"] is True and result["files"] == []
    assert result["updated"] == sorted(marketplace_files())
    assert (result["marketplace"], result["plugin"]) == (MARKETPLACE, PLUGIN)
    assert not dest.exists() and not dest.parent.exists()
    assert config_dir.is_dir()
    assert run(state="absent", purge_cache=False)["changed"] is False


def test_absent_keeps_a_parent_that_holds_something_else(run, dest):
    run()
    write(dest.parent / "notes.txt", "mine\n")
    run(state="absent", purge_cache=False)
    assert not dest.exists() and (dest.parent / "notes.txt").read_text() == "mine\n"


def test_absent_in_check_mode_keeps_the_folder(run, dest):
    run()
    before = identities(dest)
    result = run(state="absent", check=True, purge_cache=False)
    assert result["changed"] is True and result["updated"] == sorted(marketplace_files())
    assert identities(dest) == before


def test_absent_removes_a_folder_with_a_broken_manifest_with_a_warning(run, dest):
    run()
    write(dest / MANIFEST, "{broken")
    result = run(state="absent", purge_cache=False)
    assert not dest.exists() and result["marketplace"] is None
    assert any("removing the folder anyway" in warning for warning in result["_warnings"])


# ------------------------------------------------------------------------------- Claude Code's cache

def test_absent_makes_claude_code_forget_what_its_cache_records(run, dest, config_dir, tmp_path):
    claude, log = fake_claude(tmp_path)
    run()
    record_in_cache(config_dir)

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
    assert all(not call["cwd"].startswith(str(config_dir)) for call in recorded)
    # The folder was already gone when Claude Code ran.
    assert not dest.exists()


def test_a_custom_config_directory_is_passed_to_claude(run, home, tmp_path):
    claude, log = fake_claude(tmp_path)
    config_dir = home / "other-config"
    run(config_dir=str(config_dir))
    record_in_cache(config_dir)
    run(state="absent", config_dir=str(config_dir), claude_command=str(claude))
    assert [call["config_dir"] for call in calls(log)] == [str(config_dir)] * 2


def test_nothing_recorded_means_claude_is_not_run(run, tmp_path):
    claude, log = fake_claude(tmp_path)
    run()
    result = run(state="absent", claude_command=str(claude))
    assert result["purged_plugins"] == [] and result["purged_marketplaces"] == []
    assert calls(log) == []


def test_project_scope_installs_are_not_purged(run, config_dir, tmp_path):
    claude, log = fake_claude(tmp_path)
    run()
    record_in_cache(config_dir, scope="project")
    result = run(state="absent", claude_command=str(claude))
    assert result["purged_plugins"] == [] and result["purged_marketplaces"] == [MARKETPLACE]
    assert [call["args"][:3] for call in calls(log)] == [["plugin", "marketplace", "remove"]]


def test_check_mode_reports_the_purge_without_running_claude(run, dest, config_dir, tmp_path):
    claude, log = fake_claude(tmp_path)
    run()
    record_in_cache(config_dir)
    result = run(state="absent", claude_command=str(claude), check=True)
    assert result["changed"] is True
    assert result["purged_plugins"] == [PLUGIN_ID] and result["purged_marketplaces"] == [MARKETPLACE]
    assert calls(log) == [] and dest.exists()


def test_purge_by_marketplace_name_when_the_folder_is_already_gone(run, dest, config_dir, tmp_path):
    claude, log = fake_claude(tmp_path)
    record_in_cache(config_dir)
    result = run(state="absent", marketplace=MARKETPLACE, claude_command=str(claude))
    assert result["changed"] is True and result["updated"] == []
    assert result["purged_plugins"] == [PLUGIN_ID] and len(calls(log)) == 2
    assert not dest.exists()


def test_without_folder_or_marketplace_nothing_is_purged(run, config_dir, tmp_path):
    claude, log = fake_claude(tmp_path)
    record_in_cache(config_dir)
    result = run(state="absent", claude_command=str(claude))
    assert result["changed"] is False and result["marketplace"] is None
    assert calls(log) == []


def test_purge_cache_false_leaves_the_cache(run, config_dir, tmp_path):
    claude, log = fake_claude(tmp_path)
    record_in_cache(config_dir)
    result = run(state="absent", marketplace=MARKETPLACE, claude_command=str(claude), purge_cache=False)
    assert result["changed"] is False
    assert calls(log) == []


def test_missing_claude_command_warns(run, config_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    record_in_cache(config_dir)
    result = run(state="absent", marketplace=MARKETPLACE)
    assert result["purged_plugins"] == []
    assert any("claude command was not found" in warning for warning in result["_warnings"])


def test_failing_claude_command_warns_with_its_message(run, config_dir, tmp_path):
    claude, _log = fake_claude(tmp_path, exit_code=1, outcome="failed")
    record_in_cache(config_dir)
    result = run(state="absent", marketplace=MARKETPLACE, claude_command=str(claude))
    assert result["purged_plugins"] == [] and result["purged_marketplaces"] == []
    assert any("stand-in says failed" in warning for warning in result["_warnings"])


def test_claude_is_found_in_the_native_installer_directory(run, home, config_dir, tmp_path, monkeypatch):
    bin_dir = home / ".local" / "bin"
    bin_dir.mkdir(parents=True)
    claude, log = fake_claude(bin_dir)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    record_in_cache(config_dir)
    run(state="absent", marketplace=MARKETPLACE)
    assert calls(log) and os.path.exists(claude)


# -------------------------------------------------------------------------------- legacy registry entries

@pytest.fixture(name="state", params=["present", "absent"])
def state_fixture(request):
    """The legacy registry entries go in both states."""
    return request.param


def run_in(run, state, **args):
    if state == "absent":
        args.setdefault("purge_cache", False)
    return run(state=state, **args)


def test_flat_legacy_entry_alone_deletes_the_registry(run, registry_path, state):
    write(registry_path, json.dumps({"fmapi-codingagent": LEGACY_ENTRY}))
    result = run_in(run, state)
    assert result["changed"] is True and result["removed_legacy"] == ["fmapi-codingagent"]
    assert not registry_path.exists()


def test_flat_legacy_entry_beside_real_entries_goes_alone(run, registry_path, state):
    data = dict(REAL_REGISTRY)
    data["fmapi-codingagent"] = LEGACY_ENTRY
    write(registry_path, json.dumps(data, indent=2))
    result = run_in(run, state)
    assert result["removed_legacy"] == ["fmapi-codingagent"]
    assert registry_path.read_text(encoding="utf-8") == json.dumps(REAL_REGISTRY, indent=2)


def test_registry_without_legacy_entries_is_not_touched(run, registry_path, state):
    write(registry_path, json.dumps(REAL_REGISTRY))
    os.utime(registry_path, (1_000_000_000, 1_000_000_000))
    result = run_in(run, state)
    assert result["removed_legacy"] == []
    assert registry_path.read_text(encoding="utf-8") == json.dumps(REAL_REGISTRY)
    assert os.stat(registry_path).st_mtime == 1_000_000_000


def test_registry_format_keys_are_never_legacy(run, registry_path, state):
    write(registry_path, json.dumps(REAL_REGISTRY))
    result = run_in(run, state, legacy_entries=["plugins", "version", "fmapi-codingagent"])
    assert result["removed_legacy"] == []
    assert load(registry_path) == REAL_REGISTRY


def test_legacy_name_with_a_non_object_value_is_left(run, registry_path, state):
    write(registry_path, json.dumps({"version": 2, "plugins": {}, "fmapi-codingagent": "note"}))
    assert run_in(run, state)["removed_legacy"] == []
    assert load(registry_path)["fmapi-codingagent"] == "note"


def test_unreadable_registry_is_left_to_claude(run, registry_path, state):
    write(registry_path, "{broken")
    result = run_in(run, state)
    assert result["removed_legacy"] == []
    assert registry_path.read_text(encoding="utf-8") == "{broken"


def test_legacy_cleanup_alone_counts_as_a_change(run, registry_path, state):
    if state == "present":
        run()
    write(registry_path, json.dumps({"fmapi-codingagent": LEGACY_ENTRY}))
    result = run_in(run, state)
    assert result["changed"] is True and result["updated"] == []


def test_check_mode_reports_but_keeps_the_legacy_entry(run, registry_path, state):
    write(registry_path, json.dumps({"fmapi-codingagent": LEGACY_ENTRY}))
    result = run_in(run, state, check=True)
    assert result["removed_legacy"] == ["fmapi-codingagent"]
    assert load(registry_path) == {"fmapi-codingagent": LEGACY_ENTRY}


def test_registry_keeps_its_mode(run, registry_path, state):
    data = dict(REAL_REGISTRY, **{"fmapi-codingagent": LEGACY_ENTRY})
    write(registry_path, json.dumps(data, indent=2), mode=0o640)
    run_in(run, state)
    assert file_mode(registry_path) == 0o640


def test_legacy_entries_of_another_config_directory(run, home, state):
    registry = home / "other-config" / "plugins" / "installed_plugins.json"
    write(registry, json.dumps({"fmapi-codingagent": LEGACY_ENTRY}))
    result = run_in(run, state, config_dir=str(home / "other-config"))
    assert result["removed_legacy"] == ["fmapi-codingagent"] and not registry.exists()
