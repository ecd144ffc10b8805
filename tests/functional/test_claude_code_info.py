"""claude_code_info run by Ansible on localhost against a real setup: the token helper written by
token_helper, the settings written by claude_settings, the real Databricks CLI logged in to the
workspace double, and the real Claude Code executable."""

from __future__ import annotations

import json
import os

import pytest
from functional_support import authorizations, cached_tokens, check_row, cli_login, end_session

PROFILE = "fmapi-dev"
CLAUDE_VERSION = os.environ.get("FMAPI_CLAUDE_VERSION", "2.1.329")


@pytest.fixture(name="setup")
def setup_fixture(laptop, workspace_double, databricks_cli) -> str:
    """The token helper and the settings, as the setup writes them; returns the helper's path."""
    helper = laptop("token_helper", {"profile": PROFILE, "host": workspace_double.url,
                                     "databricks_cli": databricks_cli})
    laptop("claude_settings", {"host": workspace_double.url, "api_key_helper": helper["command"]})
    return helper["path"]


def test_the_helper_is_run_and_its_token_shown_nowhere(laptop, laptop_home, workspace_double, databricks_cli,
                                                       fake_browser, claude_cli, setup):
    cli_login(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)

    result = laptop("claude_code_info", {"run_helper": True, "claude_command": claude_cli}, verbose=True)

    assert result["helper_is_ours"] is True and result["helper_path"] == setup
    assert result["profile"] == PROFILE and result["host"] == workspace_double.url
    run = result["helper_run"]
    assert run["ran"] is True and run["rc"] == 0 and run["lines"] == 1 and run["error"] == ""
    helper = check_row(result, "Token helper")
    assert helper["status"] == "PASS"
    assert helper["value"] == "prints a token (%d characters, not shown)" % run["token_chars"]
    assert check_row(result, "Helper's Python")["status"] == "PASS"
    claude = check_row(result, "Claude Code")
    assert result["claude"]["version"] == CLAUDE_VERSION and CLAUDE_VERSION in claude["value"]
    tokens = cached_tokens(laptop_home)
    assert run["token_chars"] in [len(token) for token in tokens], "the helper printed the CLI's access token"
    for token in tokens:
        assert token not in result["_output"], "a token is in ansible-playbook's output"
        assert token not in json.dumps(result), "a token is in the task result"
    assert '"helper_run"' in result["_output"] and "prints a token" in result["_output"], "-v shows the result"


def test_an_ended_session_fails_the_helper_check_without_opening_a_browser(
        laptop, laptop_home, workspace_double, databricks_cli, fake_browser, setup):
    end_session(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)
    logins = len(authorizations(workspace_double))

    result = laptop("claude_code_info", {"run_helper": True, "find_claude": False})

    assert result["helper_run"]["rc"] not in (0, None) and result["helper_run"]["token_chars"] == 0
    helper = check_row(result, "Token helper")
    assert helper["status"] == "FAIL"
    assert "databricks auth login --host %s --profile %s" % (workspace_double.url, PROFILE) in helper["value"]
    assert "ansible-playbook fmapi.coding_agents.reauth" in helper["fix"]
    assert len(authorizations(workspace_double)) == logins, "the check started a browser login"


@pytest.mark.parametrize("shape", ["without metadata", "run through a shell"])
def test_an_api_key_helper_it_did_not_write_is_never_run(laptop, laptop_home, workspace_double, tmp_path, shape):
    marker = tmp_path / "ran"
    script = os.path.join(laptop_home, ".claude", "fmapi-token-helper")
    os.makedirs(os.path.dirname(script))
    metadata = '# fmapi-coding-agents-helper: {"version": 1, "profile": "p", "host": "%s"}\n' % workspace_double.url
    with open(script, "w", encoding="utf-8") as handle:
        handle.write("#!/bin/sh\n" + (metadata if shape != "without metadata" else "")
                     + "touch %s\necho foreign-helper-output\n" % marker)
    os.chmod(script, 0o700)
    command = script if shape == "without metadata" else "/bin/sh " + script
    laptop("claude_settings", {"host": workspace_double.url, "api_key_helper": command})

    result = laptop("claude_code_info", {"run_helper": True, "find_claude": False})

    assert result["helper_path"] == script and result["helper_is_ours"] is False
    assert result["helper_run"] == {"ran": False}
    assert check_row(result, "Token helper")["status"] == "SKIP"
    assert not marker.exists(), "claude_code_info ran a command it did not write"
