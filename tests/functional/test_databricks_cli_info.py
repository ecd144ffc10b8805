"""databricks_cli_info run by Ansible on localhost: the real Databricks CLI, its real login against the
workspace double, and the checks the doctor and status playbooks print from it."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time

import pytest
from functional_support import cached_tokens, check_row, cli_login, end_session

MODULE = "databricks_cli_info"
PROFILE = "fmapi-dev"
CLI_VERSION = os.environ.get("FMAPI_DATABRICKS_CLI_VERSION", "1.12.1")


@pytest.fixture(name="args")
def args_fixture(workspace_double, databricks_cli) -> dict:
    return {"profile": PROFILE, "host": workspace_double.url, "databricks_cli": databricks_cli}


def login_command(double) -> str:
    return "databricks auth login --host %s --profile %s" % (double.url, PROFILE)


def test_a_fresh_laptop_has_the_cli_but_no_profile(laptop, laptop_home, workspace_double, args, databricks_cli):
    result = laptop(MODULE, args)

    assert result["changed"] is False
    assert result["cli"] == {"found": True, "path": databricks_cli, "version": CLI_VERSION, "version_ok": True,
                             "min_version": "0.296.0", "on_path": False, "skipped": [], "problem": None}
    assert result["config_file"] == os.path.join(laptop_home, ".databrickscfg")
    assert result["profile"]["exists"] is False
    assert result["session"]["state"] == "no_profile"
    assert result["session"]["login_command"] == login_command(workspace_double)
    assert check_row(result, "Databricks CLI")["status"] == "PASS"
    assert CLI_VERSION in check_row(result, "Databricks CLI")["value"]
    profile = check_row(result, "Profile")
    assert profile["status"] == "FAIL" and login_command(workspace_double) in profile["fix"]
    assert check_row(result, "OAuth session")["status"] == "SKIP"
    assert workspace_double.control.requests() == [], "nothing is asked of the workspace without a profile"


def test_an_active_session_then_an_ended_one(laptop, laptop_home, workspace_double, args, databricks_cli,
                                             fake_browser):
    cli_login(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)

    active = laptop(MODULE, args, verbose=True)

    assert active["profile"]["exists"] is True and active["profile"]["host"] == workspace_double.url
    assert active["profile"]["auth_type"] == "databricks-cli" and active["profile"]["credential_keys"] == []
    assert active["session"]["state"] == "active"
    expires = datetime.datetime.strptime(active["session"]["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    assert 3000 < (expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds() <= 3600
    assert [row["status"] for row in active["checks"]] == ["PASS", "PASS", "PASS"]
    assert check_row(active, "OAuth session")["value"].startswith("active, profile %s" % PROFILE)
    for secret in cached_tokens(laptop_home):
        assert secret not in active["_output"] and secret not in json.dumps(active)

    end_session(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)
    authorizations = len(workspace_double.control.requests(path_prefix="/oidc/v1/authorize"))
    ended = laptop(MODULE, args)

    assert ended["session"]["state"] == "expired" and ended["session"]["expires_at"] is None
    session = check_row(ended, "OAuth session")
    assert session["status"] == "FAIL" and "expired" in session["value"]
    assert login_command(workspace_double) in session["fix"]
    assert "ansible-playbook fmapi.coding_agents.reauth" in session["fix"]
    assert check_row(ended, "Profile")["status"] == "PASS"
    assert len(workspace_double.control.requests(path_prefix="/oidc/v1/authorize")) == authorizations, \
        "an info module never starts a login"


def test_check_session_false_asks_the_cli_nothing(laptop, laptop_home, workspace_double, args, databricks_cli,
                                                  fake_browser):
    end_session(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)
    workspace_double.control.clear_requests()

    result = laptop(MODULE, dict(args, check_session=False))

    assert result["session"]["state"] == "unchecked"
    assert [row["label"] for row in result["checks"]] == ["Databricks CLI", "Profile"]
    assert workspace_double.control.requests() == []


def test_a_profile_for_another_workspace_or_with_a_token_is_flagged(laptop, laptop_home, workspace_double, args):
    pat = workspace_double.control.create_pat(comment="old setup")["token_value"]
    with open(os.path.join(laptop_home, ".databrickscfg"), "w", encoding="utf-8") as handle:
        handle.write("[%s]\nhost = https://old.cloud.databricks.com\nauth_type = databricks-cli\ntoken = %s\n"
                     % (PROFILE, pat))

    result = laptop(MODULE, dict(args, check_session=False), verbose=True)

    profile = check_row(result, "Profile")
    assert profile["status"] == "FAIL"
    assert "is for https://old.cloud.databricks.com, not %s" % workspace_double.url in profile["value"]
    credentials = check_row(result, "Profile credentials")
    assert credentials["status"] == "WARN" and "token" in credentials["value"]
    assert result["profile"]["credential_keys"] == ["token"]
    assert pat not in result["_output"] and pat not in json.dumps(result)


def test_the_cli_is_found_where_installers_put_it_and_the_legacy_python_cli_skipped(
        laptop, laptop_home, databricks_cli):
    legacy = os.path.join(laptop_home, ".local", "bin", "databricks")
    os.makedirs(os.path.dirname(legacy))
    with open(legacy, "w", encoding="utf-8") as handle:
        handle.write("#!/bin/sh\necho 'Version 0.18.0'\n")
    os.chmod(legacy, 0o755)
    real = os.path.join(laptop_home, "bin", "databricks")
    os.makedirs(os.path.dirname(real))
    os.symlink(databricks_cli, real)
    path = os.path.dirname(sys.executable) + ":/usr/bin:/bin"

    result = laptop(MODULE, {"profile": PROFILE, "check_session": False}, env={"PATH": path})

    assert result["cli"]["path"] == real and result["cli"]["version"] == CLI_VERSION
    assert result["cli"]["skipped"] == [legacy] and result["cli"]["on_path"] is False

    os.unlink(real)
    missing = laptop(MODULE, {"profile": PROFILE}, env={"PATH": path})

    assert missing["cli"]["found"] is False and missing["session"]["state"] == "no_cli"
    cli = check_row(missing, "Databricks CLI")
    assert cli["status"] == "FAIL" and "not the Databricks CLI: %s" % legacy in cli["value"]
    assert "ansible-playbook fmapi.coding_agents.setup" in cli["fix"]
    assert check_row(missing, "OAuth session")["status"] == "SKIP"


def test_too_old_a_cli_fails_its_check(laptop, laptop_home, tmp_path):
    old = tmp_path / "old-cli" / "databricks"
    old.parent.mkdir()
    old.write_text("#!/bin/sh\necho 'Databricks CLI v0.230.0'\n")
    old.chmod(0o755)

    result = laptop(MODULE, {"profile": PROFILE, "databricks_cli": str(old), "check_session": False})

    assert result["cli"]["version"] == "0.230.0" and result["cli"]["version_ok"] is False
    cli = check_row(result, "Databricks CLI")
    assert cli["status"] == "FAIL" and "older than 0.296.0" in cli["value"]
    assert "databricks_cli_upgrade=true" in cli["fix"]


def test_the_python_for_the_workspace_modules_is_checked(laptop, args, tmp_path):
    bare = tmp_path / "bare-venv"
    bare_python = bare / "bin" / "python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)

    ready = laptop(MODULE, dict(args, check_session=False, sdk_python=sys.executable))
    lacking = laptop(MODULE, dict(args, check_session=False, sdk_python=str(bare_python)))

    assert ready["sdk"]["ok"] is True and ready["sdk"]["databricks_sdk"] and ready["sdk"]["jmespath"]
    assert check_row(ready, "databricks-sdk")["status"] == "PASS"
    assert lacking["sdk"]["ok"] is False and lacking["sdk"]["databricks_sdk"] is None
    assert lacking["sdk"]["requirements"] == ["databricks-sdk>=0.40.0", "jmespath>=1.0.0", "tomlkit>=0.11.0"]
    sdk = check_row(lacking, "databricks-sdk")
    assert sdk["status"] == "WARN" and "databricks-sdk>=0.40.0" in sdk["value"]


def test_a_workspace_that_does_not_answer_is_reported_in_bounded_time_with_the_fix(
        laptop, laptop_home, workspace_double, args, databricks_cli, fake_browser):
    # The cached access token has expired, so the CLI must refresh it, and the workspace hangs.
    workspace_double.control.update_scenario(access_token_ttl_seconds=2)
    cli_login(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)
    workspace_double.control.update_scenario(access_token_ttl_seconds=3600)
    time.sleep(3)
    workspace_double.control.add_fault("/oidc/", delay_ms=120000, count=None)
    started = time.monotonic()
    try:
        result = laptop(MODULE, dict(args, timeout=5))
    finally:
        workspace_double.control.clear_faults()

    # Generous for a loaded machine, and far below the two minutes the workspace would take.
    assert time.monotonic() - started < 90
    assert result["session"]["state"] == "error"
    session = check_row(result, "OAuth session")
    assert session["status"] == "FAIL"
    assert "cannot be reached" in session["value"] or "did not answer" in session["value"]
    assert "HTTPS_PROXY" in session["value"] + session["fix"] and "VPN" in session["fix"]
