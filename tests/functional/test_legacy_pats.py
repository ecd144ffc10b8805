"""legacy_pats against the workspace double: only the old setup's tokens are revoked."""

from __future__ import annotations

from functional_support import cli_login

PROFILE = "fmapi-claudecode-profile"


def test_old_setup_tokens_are_revoked_and_others_kept(run_module, workspace_double, laptop_home, databricks_cli,
                                                      fake_browser):
    control = workspace_double.control
    old = [control.create_pat(comment=f"Claude Code FMAPI (created 2025-0{n}-01)")["token_info"]["token_id"]
           for n in (1, 2)]
    kept = control.create_pat(comment="CI pipeline")["token_info"]["token_id"]
    cli_login(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)
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


PATS_DISABLED = {"error_code": "PERMISSION_DENIED",
                 "message": "Personal access tokens are disabled for this workspace."}


def test_a_workspace_that_refuses_the_token_api_has_nothing_to_revoke(run_module, workspace_double):
    control = workspace_double.control
    old = control.create_pat(comment="Claude Code FMAPI (created 2025-01-01)")["token_info"]["token_id"]
    control.add_fault("/api/2.0/token/", status=403, body=PATS_DISABLED, count=None)
    args = {"host": workspace_double.url, "token": control.issue_access_token(), "ca_file": workspace_double.ca_file}

    checked = run_module("legacy_pats", args, check=True)
    result = run_module("legacy_pats", args)

    for outcome in (checked, result):
        assert outcome["changed"] is False and outcome["revoked"] == []
        assert outcome["token_api"] == "refused"
        assert outcome["host"] == workspace_double.url
        warnings = outcome.get("warnings", [])
        assert len(warnings) == 1, outcome
        assert "HTTP 403" in warnings[0] and "Settings > Developer > Access tokens" in warnings[0]
        assert "revoke them there" in warnings[0] and "'Claude Code FMAPI" in warnings[0]
    refused = control.requests(path_prefix="/api/2.0/token/")
    assert [entry["path"] for entry in refused] == ["/api/2.0/token/list"] * 2, "nothing but the listing was tried"
    assert all(entry["status"] == 403 for entry in refused)
    assert old in [pat["token_id"] for pat in control.pats()]


def test_a_rejected_login_is_still_a_failure(run_module, workspace_double):
    args = {"host": workspace_double.url, "token": workspace_double.control.issue_access_token(),
            "ca_file": workspace_double.ca_file}
    workspace_double.control.revoke_all_tokens()

    result = run_module("legacy_pats", args, expect_failure=True)

    assert "HTTP 401" in result["msg"]
    assert "token_api" not in result
