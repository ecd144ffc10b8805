"""legacy_pats against the workspace double: only the old setup's tokens are revoked."""

from __future__ import annotations

import subprocess

from workspace_double.pytest_plugin import isolated_env

PROFILE = "fmapi-claudecode-profile"


def login(double, home: str, cli: str, browser: str) -> None:
    """The developer logs in with the real CLI (U2M through the fake browser)."""
    env = isolated_env(home, SSL_CERT_FILE=double.ca_file, FMAPI_DOUBLE_CA=double.ca_file,
                       DATABRICKS_AUTH_STORAGE="plaintext", BROWSER=browser)
    subprocess.run([cli, "auth", "login", "--host", double.url, "--profile", PROFILE, "--timeout", "60s"],
                   env=env, check=True, timeout=90, capture_output=True)


def test_old_setup_tokens_are_revoked_and_others_kept(run_module, workspace_double, laptop_home, databricks_cli,
                                                      fake_browser):
    control = workspace_double.control
    old = [control.create_pat(comment=f"Claude Code FMAPI (created 2025-0{n}-01)")["token_info"]["token_id"]
           for n in (1, 2)]
    kept = control.create_pat(comment="CI pipeline")["token_info"]["token_id"]
    login(workspace_double, laptop_home, databricks_cli, fake_browser)
    args = {"profile": PROFILE, "databricks_cli": databricks_cli, "ca_file": workspace_double.ca_file}
    env = {"DATABRICKS_AUTH_STORAGE": "plaintext"}

    preview = run_module("legacy_pats", args, check=True, env=env)
    assert preview["changed"] is True
    assert sorted(entry["token_id"] for entry in preview["revoked"]) == sorted(old)
    assert {pat["token_id"] for pat in control.pats()} >= set(old), "check mode revoked tokens"

    result = run_module("legacy_pats", args, env=env)
    assert sorted(entry["token_id"] for entry in result["revoked"]) == sorted(old)
    assert "token_value" not in str(result)
    remaining = {pat["token_id"] for pat in control.pats()}
    assert kept in remaining
    assert not remaining & set(old)

    again = run_module("legacy_pats", args, env=env)
    assert again["changed"] is False and again["revoked"] == []


def test_an_empty_prefix_is_refused(run_module, workspace_double):
    args = {"host": workspace_double.url, "token": workspace_double.control.issue_access_token(),
            "ca_file": workspace_double.ca_file, "comment_prefix": " "}
    result = run_module("legacy_pats", args, expect_failure=True)
    assert "would revoke every token" in result["msg"]
