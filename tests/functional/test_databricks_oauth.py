"""databricks_oauth run by Ansible against the workspace double with the real Databricks CLI."""

from __future__ import annotations

import datetime
import json
import os
import sys
import time

import pytest
from workspace_double import WorkspaceDouble

MODULE = "databricks_oauth"
PROFILE = "fmapi-dev"
SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"
NO_BROWSER = {"BROWSER": "", "DISPLAY": "", "WAYLAND_DISPLAY": ""}


@pytest.fixture(name="args")
def args_fixture(workspace_double, databricks_cli) -> dict:
    return {"profile": PROFILE, "host": workspace_double.url, "databricks_cli": databricks_cli}


def databrickscfg(home: str) -> str:
    path = os.path.join(home, ".databrickscfg")
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def cached_secrets(home: str) -> list:
    """Every token value in the CLI's plaintext token cache."""
    with open(os.path.join(home, ".databricks", "token-cache.json"), encoding="utf-8") as handle:
        cache = json.load(handle)
    return [value for entry in cache["tokens"].values() for key, value in entry.items()
            if key in ("access_token", "refresh_token") and value]


def expiry_of(result: dict) -> datetime.datetime:
    return datetime.datetime.strptime(result["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def seconds_left(result: dict) -> float:
    return (expiry_of(result) - datetime.datetime.now(datetime.timezone.utc)).total_seconds()


def logins(double) -> list:
    return list(double.control.requests(path_prefix="/oidc/v1/authorize"))


def grants(double, grant_type: str) -> list:
    return [entry for entry in double.control.requests(path_prefix="/oidc/v1/token")
            if entry["detail"].get("grant_type") == grant_type]


def end_session(double, laptop, args) -> None:
    """Log in with short-lived access tokens, let them expire, then invalidate every refresh token."""
    double.control.update_scenario(access_token_ttl_seconds=2)
    assert laptop(MODULE, args)["session"] == "active"
    double.control.update_scenario(access_token_ttl_seconds=3600)
    time.sleep(3)
    assert double.control.invalidate_refresh_tokens() >= 1


# ------------------------------------------------------------------------------------ no_profile / no_cli

def test_fresh_home_reports_no_profile_with_the_login_command(laptop, laptop_home, workspace_double, args):
    result = laptop(MODULE, dict(args, state="status"))

    assert result["changed"] is False
    assert result["session"] == "no_profile"
    assert result["login_required"] is True
    assert result["login_command"] == "databricks auth login --host %s --profile %s" % (workspace_double.url, PROFILE)
    assert result["expires_at"] is None and result["host"] is None
    assert result["cli_version"] == os.environ.get("FMAPI_DATABRICKS_CLI_VERSION", "1.12.1")
    assert databrickscfg(laptop_home) == ""
    assert logins(workspace_double) == []


def test_cli_is_found_in_the_users_local_bin_when_path_lacks_it(laptop, laptop_home, databricks_cli):
    local_bin = os.path.join(laptop_home, ".local", "bin")
    os.makedirs(local_bin)
    os.symlink(databricks_cli, os.path.join(local_bin, "databricks"))

    path = os.path.dirname(sys.executable) + ":/usr/bin:/bin"
    result = laptop(MODULE, {"profile": PROFILE, "state": "status"}, env={"PATH": path})

    assert result["databricks_cli"] == os.path.join(local_bin, "databricks")
    assert result["session"] == "no_profile"


def test_a_missing_cli_is_reported_by_status_and_fails_present(laptop, laptop_home):
    args = {"profile": PROFILE, "databricks_cli": os.path.join(laptop_home, "no", "databricks")}

    status = laptop(MODULE, dict(args, state="status"))
    present = laptop(MODULE, args, expect_failure=True)

    assert status["session"] == "no_cli" and status["cli_version"] is None
    assert "does not exist" in status["msg"] and "Install the Databricks CLI" in status["msg"]
    assert present["session"] == "no_cli"
    assert "Install the Databricks CLI" in present["msg"]


# ----------------------------------------------------------------------------------------- login

def test_present_logs_in_through_the_browser_then_changes_nothing(laptop, laptop_home, workspace_double, args):
    first = laptop(MODULE, args)
    second = laptop(MODULE, args)

    assert first["changed"] is True
    assert first["session"] == "active"
    assert first["login_required"] is False
    assert 3000 < seconds_left(first) <= 3600
    assert first["host"] == workspace_double.url
    assert "[%s]" % PROFILE in databrickscfg(laptop_home)
    assert len(logins(workspace_double)) == 1
    assert second["changed"] is False and second["session"] == "active"
    assert len(logins(workspace_double)) == 1, "the second run must not log in again"
    secrets = cached_secrets(laptop_home)
    assert secrets
    for result in (first, second):
        text = json.dumps(result)
        assert not any(secret in text for secret in secrets), "a token leaked into the result or output"


def test_check_mode_predicts_the_login_and_does_not_open_a_browser(laptop, laptop_home, workspace_double, args):
    result = laptop(MODULE, args, check=True)

    assert result["changed"] is True
    assert result["session"] == "no_profile"
    assert "would run" in result["msg"]
    assert logins(workspace_double) == []
    assert databrickscfg(laptop_home) == ""


def test_without_a_browser_present_succeeds_with_login_required(laptop, laptop_home, workspace_double, args):
    result = laptop(MODULE, args, env=NO_BROWSER)

    assert result["changed"] is False
    assert result["session"] == "no_profile"
    assert result["login_required"] is True
    assert result["browser_available"] is False
    assert result["login_command"] == "databricks auth login --host %s --profile %s" % (workspace_double.url, PROFILE)
    assert any(result["login_command"] in warning for warning in result.get("warnings", []))
    assert logins(workspace_double) == []


def test_fail_on_login_required_fails_with_the_command(laptop, workspace_double, args):
    result = laptop(MODULE, dict(args, fail_on_login_required=True), env=NO_BROWSER, expect_failure=True)

    assert "databricks auth login --host %s --profile %s" % (workspace_double.url, PROFILE) in result["msg"]
    assert "no graphical session" in result["msg"]


def test_a_new_profile_without_host_cannot_log_in(laptop, databricks_cli):
    result = laptop(MODULE, {"profile": PROFILE, "databricks_cli": databricks_cli})

    assert result["login_required"] is True
    assert result["login_command"] == "databricks auth login --profile %s" % PROFILE
    assert "Set host" in result["msg"]


def test_a_login_nobody_completes_gives_up_after_the_timeout(laptop, tmp_path, workspace_double, args):
    idle_browser = tmp_path / "idle-browser"
    idle_browser.write_text("#!/bin/sh\nexit 0\n")
    idle_browser.chmod(0o755)

    started = time.monotonic()
    result = laptop(MODULE, dict(args, login_timeout=10), env={"BROWSER": str(idle_browser)})

    assert time.monotonic() - started < 60
    assert result["changed"] is False
    assert result["login_required"] is True
    assert "within 10 seconds" in result["msg"]


# --------------------------------------------------------------------------------------- expired

def test_an_ended_session_is_expired_and_a_browser_login_revives_it(laptop, workspace_double, args):
    end_session(workspace_double, laptop, args)

    status = laptop(MODULE, dict(args, state="status"))
    without_browser = laptop(MODULE, args, env=NO_BROWSER)
    revived = laptop(MODULE, args)

    assert status["session"] == "expired"
    assert status["login_required"] is True
    assert status["login_command"] == "databricks auth login --host %s --profile %s" % (workspace_double.url, PROFILE)
    assert status["expires_at"] is None
    assert without_browser["session"] == "expired" and without_browser["login_required"] is True
    assert without_browser["changed"] is False
    assert revived["changed"] is True and revived["session"] == "active"
    assert seconds_left(revived) > 3000
    assert len(logins(workspace_double)) == 2


def test_a_dead_session_is_detected_from_the_profile_host(laptop, workspace_double, args, databricks_cli):
    end_session(workspace_double, laptop, args)

    result = laptop(MODULE, {"profile": PROFILE, "databricks_cli": databricks_cli, "state": "status"})

    assert result["session"] == "expired"
    assert result["host"] == workspace_double.url
    assert result["login_command"] == "databricks auth login --host %s --profile %s" % (workspace_double.url, PROFILE)


# ----------------------------------------------------------------------------------------- error

def test_an_untrusted_certificate_is_an_error_a_person_can_act_on(laptop, workspace_double, args):
    workspace_double.control.update_scenario(access_token_ttl_seconds=2)
    laptop(MODULE, args)
    time.sleep(3)

    status = laptop(MODULE, dict(args, state="status"), env={"SSL_CERT_FILE": SYSTEM_CA})
    present = laptop(MODULE, args, env={"SSL_CERT_FILE": SYSTEM_CA}, expect_failure=True)

    assert status["session"] == "error"
    assert "TLS certificate" in status["msg"] and "SSL_CERT_FILE" in status["msg"]
    assert "report this issue" not in status["msg"]
    assert present["session"] == "error" and "TLS certificate" in present["msg"]
    assert len(logins(workspace_double)) == 1, "a TLS problem must not start a login"


def test_a_workspace_error_on_refresh_is_an_error_not_a_login(laptop, workspace_double, args):
    workspace_double.control.update_scenario(access_token_ttl_seconds=2)
    laptop(MODULE, args)
    time.sleep(3)
    workspace_double.control.add_fault("/oidc/v1/token", status=503, count=None)

    result = laptop(MODULE, dict(args, state="status"))

    assert result["session"] == "error"
    assert result["login_required"] is False
    assert "Injected fault" in result["msg"]


def test_a_profile_for_another_workspace_is_not_logged_in_over(laptop, laptop_home, workspace_double, args):
    laptop(MODULE, args)

    status = laptop(MODULE, dict(args, host="https://other.example.com", state="status"))
    present = laptop(MODULE, dict(args, host="https://other.example.com"), expect_failure=True)

    assert status["session"] == "active" and status["host"] == workspace_double.url
    assert "is for %s, not https://other.example.com" % workspace_double.url in present["msg"]
    assert len(logins(workspace_double)) == 1


# ------------------------------------------------------------------------------ hostile input / env

@pytest.mark.parametrize("override, expected", [
    ({"profile": "p1; touch /tmp/fmapi-pwned"}, "not a valid profile name"),
    ({"profile": "$(touch /tmp/fmapi-pwned)"}, "not a valid profile name"),
    ({"host": "https://x.example.com\"; touch /tmp/fmapi-pwned; \""}, "which no workspace URL has"),
    ({"host": "https://x.example.com/$(touch /tmp/fmapi-pwned)"}, "which no workspace URL has"),
    ({"host": "https://x.example.com`touch /tmp/fmapi-pwned`"}, "which no workspace URL has"),
    ({"host": "https://x.example.com\n--profile other"}, "control characters"),
    ({"host": "http://x.example.com"}, "must start with https://"),
])
def test_hostile_values_are_refused_before_anything_runs(laptop, laptop_home, args, override, expected, tmp_path):
    # A workspace of this test's own: a CLI left running by an earlier test cannot talk to it.
    double = WorkspaceDouble(str(tmp_path / "double")).start()
    try:
        result = laptop(MODULE, dict(dict(args, host=double.url), **override), expect_failure=True)
        requests = double.control.requests()
    finally:
        double.stop()

    assert expected in result["msg"]
    assert not os.path.exists("/tmp/fmapi-pwned")
    assert databrickscfg(laptop_home) == ""
    assert requests == [], "something ran against the workspace"


def test_databricks_variables_in_the_environment_do_not_disturb_the_session(laptop, workspace_double, args):
    laptop(MODULE, args)

    result = laptop(MODULE, dict(args, state="status"), env={
        "DATABRICKS_TOKEN": "dapi-junk", "DATABRICKS_HOST": "https://junk.example.com",
        "DATABRICKS_CONFIG_PROFILE": "junk", "DATABRICKS_AUTH_TYPE": "pat", "DATABRICKS_CLIENT_ID": "junk",
        "DATABRICKS_CLIENT_SECRET": "junk", "DATABRICKS_LOG_LEVEL": "debug", "DATABRICKS_LOG_FILE": "stdout",
    })

    assert result["session"] == "active"
    assert result["host"] == workspace_double.url


def test_fresh_logs_in_again_even_when_the_session_is_active(
        run_module, workspace_double, laptop_home, databricks_cli, fake_browser):
    """reauth: state=fresh runs a new browser login although the session works."""
    env = {"SSL_CERT_FILE": workspace_double.ca_file, "FMAPI_DOUBLE_CA": workspace_double.ca_file,
           "DATABRICKS_AUTH_STORAGE": "plaintext", "BROWSER": fake_browser}
    args = {"profile": "fresh-test", "host": workspace_double.url, "databricks_cli": databricks_cli}
    first = run_module("databricks_oauth", args, env=env)
    assert first["changed"] is True and first["session"] == "active"
    authorizations = len(workspace_double.control.requests(path_prefix="/oidc/v1/authorize"))
    again = run_module("databricks_oauth", dict(args, state="fresh"), env=env)
    assert again["changed"] is True and again["session"] == "active"
    assert len(workspace_double.control.requests(path_prefix="/oidc/v1/authorize")) == authorizations + 1
    no_browser = run_module("databricks_oauth", dict(args, state="fresh"), env=dict(env, BROWSER="none"))
    assert no_browser["changed"] is False and no_browser["session"] == "active"
    assert "databricks auth login --host" in no_browser["msg"]
