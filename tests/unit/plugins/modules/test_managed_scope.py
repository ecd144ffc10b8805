# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""scope=managed in the modules that write settings: modes every user can read, the customer's own managed
files kept, the sidecar root's alone, Gemini's enforcedType recorded and given back, and the machine's token
helper that finds the Databricks CLI of whoever runs it."""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _databricks_cli as dbcli
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _managed as managed
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _setup_config as sc
from ansible_collections.fmapi.coding_agents.plugins.modules import claude_settings, codex_config, gemini_settings
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.test_token_helper import (
    HOST,
    TOKEN,
    run as run_token_helper,
)
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.utils import run_main, scripted_databricks_cli

HELPER = managed.SYSTEM_TOKEN_HELPER


def mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def sidecar(path):
    return path.parent / ("." + path.name + ".fmapi-state.json")


@pytest.fixture(name="root")
def root_fixture(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = tmp_path / "root"
    root.mkdir(mode=0o755)
    return root


# ------------------------------------------------------------------------------------ paths

def test_managed_paths_per_system_and_under_a_root():
    assert managed.paths(managed.LINUX) == {
        "claude_code": "/etc/claude-code/managed-settings.d/50-fmapi-coding-agents.json",
        "claude_code_dir": "/etc/claude-code",
        "codex": "/etc/codex/managed_config.toml",
        "gemini": "/etc/gemini-cli/settings.json",
        "token_helper": HELPER,
        "token_helper_command": HELPER,
        "codex_record": "/etc/codex/.managed_config.toml.fmapi-state.json",
        "gemini_record": "/etc/gemini-cli/.settings.json.fmapi-state.json",
    }
    mac = managed.paths(managed.MACOS, "/tmp/emit/macos")
    assert mac["claude_code"] == ("/tmp/emit/macos/Library/Application Support/ClaudeCode/managed-settings.d/"
                                  "50-fmapi-coding-agents.json")
    assert mac["gemini"] == "/tmp/emit/macos/Library/Application Support/GeminiCli/settings.json"
    # Where the tree is built is not where the files that name the helper will find it.
    assert mac["token_helper"] == "/tmp/emit/macos" + HELPER and mac["token_helper_command"] == HELPER


def test_claude_codes_layer_merges_in_name_order_and_skips_dot_files(tmp_path):
    folder = tmp_path / "claude-code"
    (folder / "managed-settings.d").mkdir(parents=True)
    (folder / "managed-settings.json").write_text('{"env": {"A": "base", "B": "base"}, "x": 1}')
    (folder / "managed-settings.d" / "20-late.json").write_text('{"env": {"A": "late"}}')
    (folder / "managed-settings.d" / "10-early.json").write_text('{"env": {"A": "early", "C": "early"}}')
    (folder / "managed-settings.d" / ".50-x.json.fmapi-state.json").write_text('{"env": {"A": "sidecar"}}')
    (folder / "managed-settings.d" / "30-broken.json").write_text('[1]')
    data, origin, problems = managed.read_claude_layer(str(folder))
    assert data == {"env": {"A": "late", "B": "base", "C": "early"}, "x": 1}
    assert origin["env.A"].endswith("20-late.json") and origin["env.B"].endswith("managed-settings.json")
    assert problems == ["%s: not a JSON object" % (folder / "managed-settings.d" / "30-broken.json")]


def test_overridden_names_only_keys_both_set_differently():
    mine = {"apiKeyHelper": "echo mine", "env": {"ANTHROPIC_MODEL": "same", "OTHER": "x"}}
    theirs = {"apiKeyHelper": HELPER, "env": {"ANTHROPIC_MODEL": "same", "ANTHROPIC_BASE_URL": "https://w"}}
    assert managed.overridden(theirs, mine) == [("apiKeyHelper", "echo mine", HELPER)]
    assert managed.overridden(theirs, mine, ["env"]) == []


def test_insecure_folders_finds_writable_parents(tmp_path):
    folder = tmp_path / "etc" / "gemini-cli"
    folder.mkdir(parents=True)
    os.chmod(str(tmp_path / "etc"), 0o777)
    assert str(tmp_path / "etc") in managed.insecure_folders(str(folder / "settings.json"))
    os.chmod(str(tmp_path / "etc"), 0o755)
    assert str(tmp_path / "etc") not in managed.insecure_folders(str(folder / "settings.json"))


def test_settings_scope_is_a_setup_value_with_a_default():
    assert sc.DEFAULTS["settings_scope"] == "user"
    assert sc.validate_value("settings_scope", "managed", "the command line") == "managed"
    with pytest.raises(sc.ConfigError, match="settings_scope must be one of user, managed, not 'system' "
                                             r"\(from the command line\)"):
        sc.validate_value("settings_scope", "system", "the command line")


# ------------------------------------------------------------------------------ claude_settings

def run_claude(capsys, **args):
    return run_main(claude_settings.main, capsys, args, False, False, args.pop("expect_failure", False))


def test_claude_drop_in_is_readable_by_every_user(capsys, root):
    drop_in = root / "etc/claude-code/managed-settings.d/50-fmapi-coding-agents.json"
    result = run_claude(capsys, path=str(drop_in), scope="managed", host=HOST, token_helper=HELPER)
    assert result["changed"] is True
    assert json.loads(drop_in.read_text())["apiKeyHelper"] == HELPER
    assert mode(drop_in) == 0o644 and mode(drop_in.parent) == 0o755 and mode(drop_in.parent.parent) == 0o755
    assert mode(sidecar(drop_in)) == 0o600
    # Removal leaves nothing of ours: the file held only our keys.
    removed = run_claude(capsys, path=str(drop_in), scope="managed", state="absent")
    assert removed["changed"] is True
    # The folders made for it go too, while empty.
    assert removed["removed_folders"] == [str(drop_in.parent), str(drop_in.parent.parent)]
    assert os.listdir(str(root / "etc")) == []


def test_claude_user_scope_stays_private(capsys, root):
    path = root / "home" / ".claude" / "settings.json"
    run_claude(capsys, path=str(path), host=HOST, token_helper=HELPER)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700


def test_claude_managed_refuses_a_plugin(capsys, root):
    result = run_claude(capsys, path=str(root / "x.json"), scope="managed", host=HOST, token_helper=HELPER,
                        plugin={"source": "/tmp/m", "marketplace": "m", "plugin": "p"}, expect_failure=True)
    assert "plugins are declared in each user's ~/.claude/settings.json" in result["msg"]
    assert not (root / "x.json").exists()


# -------------------------------------------------------------------------------- codex_config

CUSTOMERS_CODEX = '# fleet policy\napproval_policy = "on-request"\n\n[sandbox_workspace_write]\nnetwork_access = false\n'


def test_codex_managed_config_keeps_the_customers_file_and_mode(capsys, root):
    path = root / "etc" / "codex" / "managed_config.toml"
    path.parent.mkdir(parents=True, mode=0o755)
    path.write_text(CUSTOMERS_CODEX)
    os.chmod(str(path), 0o640)
    result = run_main(codex_config.main, capsys, dict(path=str(path), scope="managed", host=HOST, auth_command=HELPER),
                      False, False, False)
    assert result["changed"] is True
    assert mode(path) == 0o640 and mode(sidecar(path)) == 0o600
    assert 'command = "%s"' % HELPER in path.read_text()
    removed = run_main(codex_config.main, capsys, dict(path=str(path), scope="managed", state="absent"), False, False,
                       False)
    assert path.read_text() == CUSTOMERS_CODEX and not sidecar(path).exists()
    assert removed.get("removed_folders") is None  # the customer's file stays, and its folder


def test_codex_new_managed_config_is_readable_by_every_user(capsys, root):
    path = root / "etc" / "codex" / "managed_config.toml"
    run_main(codex_config.main, capsys, dict(path=str(path), scope="managed", host=HOST, auth_command=HELPER),
             False, False, False)
    assert mode(path) == 0o644 and mode(path.parent) == 0o755


# ----------------------------------------------------------------------------- gemini_settings

def run_gemini(capsys, **args):
    return run_main(gemini_settings.main, capsys, args, False, False, False)


def test_gemini_managed_enforces_the_auth_type_and_gives_the_customers_values_back(capsys, root):
    path = root / "etc" / "gemini-cli" / "settings.json"
    path.parent.mkdir(parents=True, mode=0o755)
    customers = '{\n  "security": {\n    "auth": {\n      "enforcedType": "oauth-personal"\n    }\n  },\n  "ui": {}\n}\n'
    path.write_text(customers)
    os.chmod(str(path), 0o644)
    result = run_gemini(capsys, path=str(path), scope="managed")
    assert result["set_keys"] == ["security.auth.selectedType", "security.auth.enforcedType"]
    assert json.loads(path.read_text())["security"]["auth"] == {"enforcedType": "gemini-api-key",
                                                                "selectedType": "gemini-api-key"}
    assert mode(path) == 0o644 and mode(sidecar(path)) == 0o600
    assert run_gemini(capsys, path=str(path), scope="managed")["changed"] is False
    removed = run_gemini(capsys, path=str(path), scope="managed", state="absent")
    assert removed["restored_keys"] == ["security.auth.enforcedType"]
    assert path.read_text() == customers and not sidecar(path).exists()


def test_gemini_new_system_settings_go_entirely_on_removal(capsys, root):
    path = root / "etc" / "gemini-cli" / "settings.json"
    run_gemini(capsys, path=str(path), scope="managed")
    assert mode(path) == 0o644 and mode(path.parent) == 0o755
    run_gemini(capsys, path=str(path), scope="managed", state="absent")
    assert os.listdir(str(root / "etc")) == []


def test_gemini_user_scope_does_not_enforce(capsys, root):
    path = root / "home" / ".gemini" / "settings.json"
    run_gemini(capsys, path=str(path))
    assert json.loads(path.read_text())["security"]["auth"] == {"selectedType": "gemini-api-key"}
    assert mode(path) == 0o600


# --------------------------------------------------------------------------------- token helper

def test_the_machines_helper_finds_the_cli_of_whoever_runs_it(capsys, root, tmp_path, monkeypatch):
    fake_cli = scripted_databricks_cli(tmp_path / "cli", monkeypatch, TOKEN)
    path = str(root / HELPER.lstrip("/"))
    result = run_token_helper(dict(path=path, host=HOST, scope="managed", databricks_cli="databricks"), capsys)
    assert result["changed"] is True and result["databricks_cli"] == "databricks"
    assert mode(path) == 0o755 and mode(os.path.dirname(path)) == 0o755
    # A user's shell: the CLI on PATH (the fake one), a home of their own.
    env = fake_cli.environ(HOME=str(tmp_path / "someone"), PATH=os.path.dirname(fake_cli.path) + ":/usr/bin:/bin")
    done = subprocess.run([path], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == TOKEN


def test_the_machines_helper_says_when_no_cli_is_found(capsys, root, tmp_path):
    path = str(root / HELPER.lstrip("/"))
    run_token_helper(dict(path=path, host=HOST, scope="managed", databricks_cli="databricks"), capsys)
    env = {"HOME": str(tmp_path / "nobody"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([path], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and done.stdout == ""
    assert "the Databricks CLI (databricks) is not on PATH or in ~/.local/bin" in done.stderr


def test_the_state_file_goes_home_when_the_helpers_folder_is_not_the_callers(tmp_path, monkeypatch):
    helper = tmp_path / "libexec" / "fmapi-token-helper"
    helper.parent.mkdir()
    environ = {"HOME": str(tmp_path / "home")}
    assert dbcli.state_file_for(str(helper), environ) == str(helper.parent / ".fmapi-token-helper.state")
    monkeypatch.setattr(os, "access", lambda path, flags: False)
    assert dbcli.state_file_for(str(helper), environ) == str(
        tmp_path / "home" / ".local" / "state" / "fmapi-coding-agents" / ".fmapi-token-helper.state")
    environ["XDG_STATE_HOME"] = str(tmp_path / "state")
    expected = tmp_path / "state" / "fmapi-coding-agents" / ".fmapi-token-helper.state"
    assert dbcli.state_file_for(str(helper), environ) == str(expected)
