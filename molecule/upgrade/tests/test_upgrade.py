"""After upgrading from the original script: its leftovers are gone, the user's own settings stay."""

from __future__ import annotations

import base64
import configparser
import json
import os

import pytest
from workspace_double.control import DoubleClient

HOME = "/home/developer"


@pytest.fixture(name="double")
def double_fixture() -> DoubleClient:
    """Client of the workspace double the scenario runs against."""
    return DoubleClient(os.environ["FMAPI_DOUBLE_URL"], os.environ["FMAPI_DOUBLE_CA"])


def settings(host) -> dict:
    return json.loads(host.file(f"{HOME}/.claude/settings.json").content_string)


def test_values_come_from_the_earlier_install(host, double):
    env = settings(host)["env"]
    assert env["ANTHROPIC_BASE_URL"] == f"{double.url}/serving-endpoints/anthropic"
    assert env["ANTHROPIC_MODEL"] == "databricks-claude-sonnet-4-5"
    assert env["ANTHROPIC_DEFAULT_SONNET_MODEL"] == "databricks-claude-sonnet-4-5"
    assert env["CLAUDE_CODE_API_KEY_HELPER_TTL_MS"] == "900000"
    helper = host.file(f"{HOME}/.local/share/fmapi-coding-agents/fmapi-token-helper").content_string
    assert '"profile": "legacy-profile"' in helper


def test_legacy_settings_keys_are_gone_and_the_users_stay(host):
    data = settings(host)
    assert "_fmapi_meta" not in data
    assert "ANTHROPIC_AUTH_TOKEN" not in data["env"]
    assert data["env"]["MY_OWN_VARIABLE"] == "keep-me"
    assert data["model"] == "opus"
    assert data["statusLine"] == {"type": "command", "command": "echo my-status"}
    assert data["apiKeyHelper"] == f"{HOME}/.local/share/fmapi-coding-agents/fmapi-token-helper"
    assert "dapi" not in host.file(f"{HOME}/.claude/settings.json").content_string


def test_old_helper_and_pat_cache_are_removed(host):
    assert not host.file(f"{HOME}/.claude/fmapi-key-helper.sh").exists
    assert not host.file(f"{HOME}/.claude/.fmapi-pat-cache").exists


def test_shell_wrapper_is_removed_and_the_rest_of_bashrc_kept(host):
    # Through base64: testinfra's file content drops a final newline, which is part of what is checked.
    encoded = host.run(f"base64 -w0 {HOME}/.bashrc")
    assert encoded.rc == 0, encoded.stderr
    assert base64.b64decode(encoded.stdout) == (
        b"# the developer's own lines\n"
        b"export PATH=\"$HOME/bin:$PATH\"\n"
        b"alias ll='ls -l'\n"
        b"export EDITOR=vim\n")


def test_flat_plugin_entry_is_removed(host):
    registry = host.file(f"{HOME}/.claude/plugins/installed_plugins.json")
    if registry.exists:
        assert "fmapi-codingagent" not in json.loads(registry.content_string)


def test_pat_profile_becomes_oauth_and_other_profiles_stay(host):
    parser = configparser.ConfigParser()
    parser.read_string(host.file(f"{HOME}/.databrickscfg").content_string)
    assert parser["legacy-profile"]["auth_type"] == "databricks-cli"
    assert "token" not in parser["legacy-profile"]
    assert parser["other-workspace"]["token"] == "dapiotherworkspace0000000000000000"


def test_old_setup_pats_are_revoked_in_the_workspace(double):
    comments = [pat["comment"] for pat in double.pats()]
    assert not [comment for comment in comments if comment.startswith("Claude Code FMAPI")], comments
    assert "my CI pipeline" in comments


def test_claude_code_works_after_the_upgrade(host, double):
    result = host.run(
        f"cd {HOME} && env -i HOME={HOME} PATH={HOME}/.local/bin:/usr/bin:/bin DATABRICKS_AUTH_STORAGE=plaintext "
        "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt CLAUDE_CODE_MAX_RETRIES=1 "
        "timeout 180 claude -p 'Say hello' --output-format json")
    assert result.rc == 0, result.stderr
    assert json.loads(result.stdout)["result"] == double.scenario()["reply_text"]
