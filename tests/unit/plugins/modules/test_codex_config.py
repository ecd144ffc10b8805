# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the codex_config module: the module run in-process on files in a temp directory."""

from __future__ import annotations

import os

import pytest
import tomlkit

from ansible_collections.fmapi.coding_agents.plugins.modules import codex_config
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.test_claude_settings import (
    file_mode,
    sidecar,
    write,
)
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.utils import run_main

HOST = "https://example.cloud.databricks.com"
HELPER = "/home/dev/.local/share/fmapi-coding-agents/fmapi-token-helper"
BASE_URL = HOST + "/serving-endpoints/codex/v1"
PAT = "dapi0123456789abcdef0123456789abcdef"

USER_FILE = '''# My Codex settings
model = "gpt-5-codex" # mine
approval_policy = "on-request"

[model_providers.llama-server]
name = "Ollama"
base_url = "http://localhost:11434/v1"

[profiles.fast]
model = "o4-mini"
'''


@pytest.fixture(name="config_path")
def config_path_fixture(tmp_path):
    return tmp_path / "home" / ".codex" / "config.toml"


@pytest.fixture(name="run")
def run_fixture(capsys, config_path):
    """Run the module with the standard present arguments updated by ``args``; return its result."""

    def run(check=False, diff=False, expect_failure=False, **args):
        module_args = {"path": str(config_path), "host": HOST, "auth_command": HELPER}
        if args.get("state") == "absent":
            del module_args["host"], module_args["auth_command"]
        module_args.update(args)
        return run_main(codex_config.main, capsys, module_args, check, diff, expect_failure)

    return run


def load(path):
    return tomlkit.parse(path.read_text(encoding="utf-8")).unwrap()


# ---------------------------------------------------------------------------------------- present

def test_creates_a_private_file_and_folder_that_codex_reads(run, config_path):
    result = run()
    assert result["changed"] is True
    assert file_mode(config_path) == 0o600 and file_mode(config_path.parent) == 0o700
    assert load(config_path) == {
        "model": "databricks-gpt-5-5", "model_provider": "databricks",
        "model_providers": {"databricks": {
            "name": "Databricks", "base_url": BASE_URL, "wire_api": "responses",
            "auth": {"command": HELPER, "args": [], "timeout_ms": 150000, "refresh_interval_ms": 300000}}}}
    assert result["config"] == load(config_path)
    assert result["state_file"] == str(sidecar(config_path)) and file_mode(sidecar(config_path)) == 0o600
    assert result["set_keys"][:2] == ["model", "model_provider"]


def test_default_path_is_in_codex_home(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex-home"))
    result = run_main(codex_config.main, capsys, {"host": HOST, "auth_command": HELPER})
    assert result["path"] == str(tmp_path / "codex-home" / "config.toml")
    assert (tmp_path / "codex-home" / "config.toml").exists()


def test_default_path_without_codex_home_is_under_home(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("CODEX_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "dev"))
    result = run_main(codex_config.main, capsys, {"host": HOST, "auth_command": HELPER}, check=True)
    assert result["path"] == str(tmp_path / "dev" / ".codex" / "config.toml")


def test_the_users_file_keeps_its_mode_and_lines_and_a_second_run_changes_nothing(run, config_path):
    write(config_path, USER_FILE, mode=0o640)
    result = run(endpoint_style="ai-gateway", model="databricks-gpt-5-2")
    text = config_path.read_text()
    assert result["changed"] is True
    assert file_mode(config_path) == 0o640
    assert text.startswith('# My Codex settings\nmodel = "databricks-gpt-5-2" # mine\napproval_policy = "on-request"\n'
                           'model_provider = "databricks"\n\n[model_providers.llama-server]\n')
    assert load(config_path)["model_providers"]["databricks"]["base_url"] == HOST + "/ai-gateway/codex/v1"
    inode = os.stat(config_path).st_ino
    state = sidecar(config_path).read_bytes()
    again = run(endpoint_style="ai-gateway", model="databricks-gpt-5-2", diff=True)
    assert again["changed"] is False and "diff" not in again
    assert config_path.read_text() == text and os.stat(config_path).st_ino == inode
    assert sidecar(config_path).read_bytes() == state


def test_absent_gives_the_users_file_back_and_twice_is_a_no_op(run, config_path):
    write(config_path, USER_FILE)
    run(http_headers={"X-Team": "platform"}, refresh_interval_ms=0)
    removed = run(state="absent")
    assert removed["changed"] is True and removed["restored_keys"] == ["model"]
    assert config_path.read_text() == USER_FILE
    assert not sidecar(config_path).exists() and removed["state_file"] is None
    again = run(state="absent")
    assert again["changed"] is False and config_path.read_text() == USER_FILE


def test_absent_deletes_a_file_that_held_only_ours(run, config_path):
    run()
    result = run(state="absent")
    assert result["file_deleted"] is True and not config_path.exists() and not sidecar(config_path).exists()
    assert run(state="absent")["changed"] is False


def test_absent_without_a_file_changes_nothing(run, config_path):
    result = run(state="absent")
    assert result["changed"] is False and not config_path.parent.exists()


def test_check_mode_writes_nothing_and_shows_the_diff(run, config_path):
    write(config_path, USER_FILE)
    result = run(check=True, diff=True)
    assert result["changed"] is True
    assert config_path.read_text() == USER_FILE and not sidecar(config_path).exists()
    assert 'model_provider = "databricks"' in result["diff"]["after"]
    assert result["diff"]["before"] == USER_FILE


def test_a_symlinked_config_is_written_through_and_the_link_stays(run, config_path, tmp_path):
    dotfiles = tmp_path / "dotfiles" / "codex.toml"
    write(dotfiles, USER_FILE, mode=0o600)
    config_path.parent.mkdir(parents=True)
    config_path.symlink_to(dotfiles)
    run()
    assert config_path.is_symlink() and load(dotfiles)["model_provider"] == "databricks"
    run(state="absent")
    assert config_path.is_symlink() and dotfiles.read_text() == USER_FILE


def test_a_symlinked_config_that_held_only_ours_is_left_empty_not_deleted(run, config_path, tmp_path):
    dotfiles = tmp_path / "dotfiles" / "codex.toml"
    config_path.parent.mkdir(parents=True)
    dotfiles.parent.mkdir(parents=True)
    config_path.symlink_to(dotfiles)
    run()
    result = run(state="absent")
    assert result["file_deleted"] is False
    assert config_path.is_symlink() and dotfiles.read_bytes() == b""


def test_env_key_is_removed_so_that_codex_accepts_auth_and_comes_back_on_absent(run, config_path):
    original = '[model_providers.databricks]\nname = "D"\nbase_url = "https://x/v1"\nenv_key = "DATABRICKS_TOKEN"\n'
    write(config_path, original)
    result = run()
    assert result["removed_keys"] == ["model_providers.databricks.env_key"]
    assert "env_key" not in load(config_path)["model_providers"]["databricks"]
    run(state="absent")
    assert config_path.read_text() == original


def test_a_plain_text_token_is_removed_masked_and_not_kept(run, config_path):
    write(config_path, '[model_providers.databricks]\nname = "D"\nexperimental_bearer_token = "%s"\n' % PAT)
    result = run(diff=True)
    assert PAT not in result["_stdout"]
    assert any("token in plain text" in warning for warning in result["_warnings"])
    assert PAT not in sidecar(config_path).read_text()
    assert PAT not in config_path.read_text()


def test_other_secrets_of_the_file_are_masked_in_the_diff(run, config_path):
    write(config_path, USER_FILE + '\n[mcp_servers.x]\ncommand = "x"\nenv = { GITHUB_TOKEN = "ghp_supersecret123" }\n')
    result = run(diff=True)
    assert "ghp_supersecret123" not in result["_stdout"]
    assert "GITHUB_TOKEN" in result["diff"]["after"]


# --------------------------------------------------------------------------------------- problems

def test_invalid_toml_fails_naming_line_column_and_fix_and_changes_nothing(run, config_path):
    broken = 'model = "x"\n[model_providers.databricks\nname = "D"\n'
    write(config_path, broken)
    result = run(expect_failure=True)
    assert str(config_path) in result["msg"] and "line 2, column" in result["msg"]
    assert "repair=true" in result["msg"] and "Nothing was changed" in result["msg"]
    assert config_path.read_text() == broken and not sidecar(config_path).exists()


def test_repair_keeps_a_private_backup_and_writes_ours(run, config_path):
    broken = 'model = "x"\n[model_providers.databricks\n'
    write(config_path, broken)
    result = run(repair=True)
    assert result["repaired"] == ["file"]
    backup = result["backup_file"]
    assert backup and open(backup, encoding="utf-8").read() == broken and file_mode(backup) == 0o600
    assert load(config_path)["model_provider"] == "databricks"
    # What was repaired was not the user's: absent deletes the file.
    assert run(state="absent")["file_deleted"] is True


def test_repair_with_absent_deletes_an_unreadable_file_after_a_backup(run, config_path):
    write(config_path, b"model = \xff\n")
    result = run(state="absent", repair=True)
    assert result["file_deleted"] is True and not config_path.exists()
    assert open(result["backup_file"], "rb").read() == b"model = \xff\n"


def test_a_provider_entry_of_the_wrong_type_fails_or_is_repaired(run, config_path):
    write(config_path, '[model_providers]\ndatabricks = "old"\n')
    failed = run(expect_failure=True)
    assert "model_providers.databricks is a TOML string" in failed["msg"]
    repaired = run(repair=True)
    assert repaired["repaired"] == ["model_providers.databricks"]
    assert load(config_path)["model_providers"]["databricks"]["wire_api"] == "responses"


def test_an_inline_model_providers_table_is_refused_without_writing(run, config_path):
    original = 'model_providers = { llama-server = { name = "O" } }\n'
    write(config_path, original)
    result = run(expect_failure=True)
    assert "cannot be edited safely" in result["msg"] and config_path.read_text() == original


def test_legacy_profile_settings_are_warned_about_and_left(run, config_path):
    original = 'profile = "fmapi"\n\n[profiles.fmapi]\nmodel = "x"\n'
    write(config_path, original)
    result = run()
    assert result["legacy_profile"] == "fmapi" and result["profiles"] == ["fmapi"]
    assert any("refuse to start" in warning and "fmapi.config.toml" in warning for warning in result["_warnings"])
    data = load(config_path)
    assert data["profile"] == "fmapi" and data["profiles"] == {"fmapi": {"model": "x"}}
    run(state="absent")
    assert config_path.read_text() == original


@pytest.mark.parametrize("args, words", [
    ({"host": "http://example.com"}, "https://"),
    ({"host": None}, "neither host nor base_url"),
    ({"auth_command": None}, "auth_command is missing"),
    ({"auth_command": "helper"}, "absolute path"),
    ({"base_url": "https://example.com/v1?x=1"}, "without a query"),
    ({"model": "gpt 5"}, "serving endpoint name"),
    ({"http_headers": {"Authorization": "Bearer x"}}, "token comes from auth_command"),
    ({"refresh_interval_ms": -1}, "refresh_interval_ms"),
    ({"auth_timeout_ms": 0}, "auth_timeout_ms"),
])
def test_bad_values_fail_without_writing(run, config_path, args, words):
    result = run(expect_failure=True, **args)
    assert words in result["msg"]
    assert not config_path.exists()


def test_base_url_wins_over_host_and_style(run, config_path):
    run(base_url="https://gw.example.com/openai/v1/", endpoint_style="ai-gateway")
    assert load(config_path)["model_providers"]["databricks"]["base_url"] == "https://gw.example.com/openai/v1"


def test_a_directory_as_path_fails(run, config_path):
    config_path.mkdir(parents=True)
    assert "is a directory" in run(expect_failure=True)["msg"]
