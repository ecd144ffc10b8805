# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the databricks_cli_info module, run in-process against a scripted stand-in for the Databricks CLI
(an executable on PATH that answers `--version` and `auth token` as a test scripts it)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.fmapi.coding_agents.plugins.modules import databricks_cli_info
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.module_utils.test_databricks_cli import (
    REFRESH_INVALID,
    REFUSED,
)
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.utils import (
    legacy_databricks_cli,
    run_main,
    scripted_databricks_cli,
    search_only_path,
    use_home,
)

HOST = "https://my-workspace.cloud.databricks.com"
PROFILE = "fmapi-claudecode-profile"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXYifQ.never-show-this-token"
PAT = "dapi0123456789abcdef0123456789abcdef"
CLIENT_SECRET = "dose-client-secret-never-show-this"
SETUP = "ansible-playbook fmapi.coding_agents.setup"
INSTALL_FIX = SETUP + "  (installs the Databricks CLI)"


@pytest.fixture(name="home")
def home_fixture(tmp_path, monkeypatch):
    return use_home(tmp_path, monkeypatch)


@pytest.fixture(name="fake_cli")
def fake_cli_fixture(tmp_path, monkeypatch, home):  # pylint: disable=unused-argument
    """The Databricks CLI v1.12.1, first on PATH, with an active session."""
    cli = scripted_databricks_cli(tmp_path / "cli", monkeypatch, TOKEN)
    search_only_path(monkeypatch)
    monkeypatch.setenv("PATH", os.pathsep.join([cli.directory, "/usr/bin", "/bin"]))
    return cli


@pytest.fixture(name="info")
def info_fixture(capsys, fake_cli):  # pylint: disable=unused-argument
    def info(**args):
        result = run_main(databricks_cli_info.main, capsys, args)
        assert result["changed"] is False
        for secret in (TOKEN, PAT, CLIENT_SECRET):
            assert secret not in result["_stdout"]
        return result
    return info


def write_profile(path, profile=PROFILE, host=HOST, **extra):
    lines = ["[%s]" % profile, "host = %s" % host] + ["%s = %s" % item for item in extra.items()]
    with open(str(path), "a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n\n")


def checks_of(result, category=None):
    return [(check["category"], check["label"], check["status"]) for check in result["checks"]
            if category is None or check["category"] == category]


def check(result, label):
    found = [row for row in result["checks"] if row["label"] == label]
    assert len(found) == 1, result["checks"]
    return found[0]


# --------------------------------------------------------------------------------------- all well

def test_a_working_setup_passes_every_check(info, home, fake_cli):
    write_profile(home / ".databrickscfg", auth_type="databricks-cli")

    result = info(host=HOST)

    assert result["cli"] == {"found": True, "path": fake_cli.path, "version": "1.12.1", "version_ok": True,
                             "min_version": "0.296.0", "on_path": True, "skipped": [], "problem": None}
    assert result["config_file"] == str(home / ".databrickscfg")
    assert result["profile"] == {"name": PROFILE, "exists": True, "host": HOST, "auth_type": "databricks-cli",
                                 "credential_keys": [], "problem": None}
    session = result["session"]
    assert session["state"] == "active" and session["expires_at"].endswith("Z")
    assert session["login_command"] == "databricks auth login --host %s --profile %s" % (HOST, PROFILE)
    assert result["sdk"] == {}
    assert checks_of(result) == [("Dependencies", "Databricks CLI", "PASS"), ("Profile", "Profile", "PASS"),
                                 ("Auth", "OAuth session", "PASS")]
    assert check(result, "Databricks CLI")["value"] == "1.12.1 (%s)" % fake_cli.path
    assert check(result, "OAuth session")["value"].startswith("active, profile %s; access token valid until "
                                                              % PROFILE)
    assert all(row["fix"] == "" for row in result["checks"])
    token_call = fake_cli.calls("token")[0]
    assert token_call["argv"][:2] == ["auth", "token"] and PROFILE in token_call["argv"]


def test_a_browser_url_as_host_names_the_same_workspace(info, home):
    write_profile(home / ".databrickscfg", auth_type="databricks-cli")
    result = info(host=HOST + "/browse/folders/123?o=456")
    assert check(result, "Profile")["status"] == "PASS"
    assert result["session"]["login_command"] == "databricks auth login --host %s --profile %s" % (HOST, PROFILE)


def test_a_bad_profile_name_fails_before_anything_runs(capsys, fake_cli):
    result = run_main(databricks_cli_info.main, capsys, {"profile": "p; id"}, expect_failure=True)
    assert "not a valid profile name" in result["msg"]
    assert fake_cli.calls() == []


# -------------------------------------------------------------------------------------------- CLI

def test_no_cli_anywhere_fails_the_dependency_check_with_the_install_fix(info, monkeypatch, tmp_path, home):
    write_profile(home / ".databrickscfg", auth_type="databricks-cli")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))

    result = info()

    assert result["cli"]["found"] is False and result["cli"]["path"] is None
    assert "The Databricks CLI was not found on PATH" in result["cli"]["problem"]
    row = check(result, "Databricks CLI")
    assert (row["category"], row["status"], row["fix"]) == ("Dependencies", "FAIL", INSTALL_FIX)
    assert "Install the Databricks CLI" in row["value"]
    assert result["session"]["state"] == "no_cli"
    assert check(result, "OAuth session")["status"] == "SKIP"
    assert "needs the Databricks CLI" in check(result, "OAuth session")["value"]


def test_a_given_cli_that_is_missing_fails_the_check(info, tmp_path, fake_cli):
    missing = str(tmp_path / "nowhere" / "databricks")
    result = info(databricks_cli=missing)
    row = check(result, "Databricks CLI")
    assert row["status"] == "FAIL" and row["fix"] == INSTALL_FIX
    assert row["value"].startswith("%s does not exist or is not executable" % missing)
    assert fake_cli.calls() == []


def test_a_cli_older_than_the_minimum_fails_with_the_upgrade_fix(info, home, fake_cli):
    write_profile(home / ".databrickscfg", auth_type="databricks-cli")
    fake_cli.script(version=[{"stdout": "Databricks CLI v0.250.0\n"}])

    result = info()

    assert result["cli"]["version"] == "0.250.0" and result["cli"]["version_ok"] is False
    row = check(result, "Databricks CLI")
    assert row["status"] == "FAIL"
    assert row["value"] == "0.250.0 (%s) is older than 0.296.0" % fake_cli.path
    assert row["fix"] == SETUP + " -e databricks_cli_upgrade=true"


def test_the_legacy_python_cli_is_skipped_for_the_real_one(info, monkeypatch, tmp_path, fake_cli):
    legacy = legacy_databricks_cli(tmp_path / "pip-bin")
    monkeypatch.setenv("PATH", os.pathsep.join([str(tmp_path / "pip-bin"), fake_cli.directory, "/usr/bin"]))

    result = info(check_session=False)

    assert result["cli"]["path"] == fake_cli.path and result["cli"]["skipped"] == [legacy]
    assert check(result, "Databricks CLI")["status"] == "PASS"


def test_only_the_legacy_python_cli_is_no_cli(info, monkeypatch, tmp_path):
    legacy = legacy_databricks_cli(tmp_path / "pip-bin")
    monkeypatch.setenv("PATH", str(tmp_path / "pip-bin"))

    result = info()

    assert result["cli"]["found"] is False and result["cli"]["skipped"] == [legacy]
    row = check(result, "Databricks CLI")
    assert row["status"] == "FAIL" and "Skipped, as they are not the Databricks CLI: %s" % legacy in row["value"]


# ---------------------------------------------------------------------------------------- profile

def test_a_missing_profile_fails_and_the_cli_is_not_asked(info, home, fake_cli):
    write_profile(home / ".databrickscfg", profile="other", auth_type="databricks-cli")

    result = info(host=HOST)

    assert result["profile"]["exists"] is False
    row = check(result, "Profile")
    assert row["status"] == "FAIL"
    assert row["value"] == "profile %s is not in %s" % (PROFILE, home / ".databrickscfg")
    assert row["fix"] == "%s\nor: databricks auth login --host %s --profile %s" % (SETUP, HOST, PROFILE)
    assert result["session"]["state"] == "no_profile"
    assert check(result, "OAuth session")["status"] == "SKIP"
    assert fake_cli.calls("token") == []


def test_a_profile_for_another_workspace_fails(info, home):
    write_profile(home / ".databrickscfg", host="https://other.cloud.databricks.com", auth_type="databricks-cli")

    row = check(info(host=HOST, check_session=False), "Profile")

    assert row["status"] == "FAIL"
    assert row["value"] == ("profile %s is for https://other.cloud.databricks.com, not %s (the workspace in the "
                            "settings)" % (PROFILE, HOST))
    assert row["fix"].startswith(SETUP + " -e host=")


def test_without_a_host_any_workspace_of_the_profile_will_do(info, home):
    write_profile(home / ".databrickscfg", host="https://other.cloud.databricks.com", auth_type="databricks-cli")
    assert check(info(check_session=False), "Profile")["status"] == "PASS"


def test_a_profile_without_auth_type_fails(info, home):
    write_profile(home / ".databrickscfg")

    result = info(check_session=False)

    assert result["profile"]["auth_type"] is None
    row = check(result, "Profile")
    assert row["status"] == "FAIL" and "does not have auth_type = databricks-cli" in row["value"]
    assert row["fix"] == SETUP + "  (sets it)"


def test_credential_keys_are_named_but_their_values_never_shown(info, home):
    write_profile(home / ".databrickscfg", auth_type="databricks-cli", token=PAT, client_secret=CLIENT_SECRET)

    result = info(check_session=False)

    assert result["profile"]["credential_keys"] == ["token", "client_secret"]
    row = check(result, "Profile credentials")
    assert row["status"] == "WARN" and "also holds token, client_secret" in row["value"]
    assert row["fix"] == SETUP + "  (removes them from the profile)"


def test_a_config_file_the_cli_cannot_read_fails_with_its_line(info, home):
    (home / ".databrickscfg").write_text("[%s]\nhost = %s\njust some words\n" % (PROFILE, HOST))

    result = info(check_session=False)

    assert result["profile"]["exists"] is None and result["profile"]["problem"]
    row = check(result, "Profile")
    assert row["status"] == "FAIL" and row["value"] == result["profile"]["problem"]
    assert row["fix"].startswith("Fix the line of %s named above" % (home / ".databrickscfg"))


def test_databricks_config_file_is_honoured(info, home, tmp_path, monkeypatch, fake_cli):
    elsewhere = tmp_path / "work" / "databricks.cfg"
    elsewhere.parent.mkdir()
    write_profile(elsewhere, auth_type="databricks-cli")
    write_profile(home / ".databrickscfg", host="https://wrong.cloud.databricks.com")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(elsewhere))
    monkeypatch.setenv("DATABRICKS_HOST", "https://junk.example.com")

    result = info(host=HOST)

    assert result["config_file"] == str(elsewhere)
    assert result["profile"]["host"] == HOST and check(result, "Profile")["status"] == "PASS"
    assert result["session"]["state"] == "active"
    env = fake_cli.calls("token")[0]["env"]
    assert env["DATABRICKS_CONFIG_FILE"] == str(elsewhere) and "DATABRICKS_HOST" not in env


# ---------------------------------------------------------------------------------------- session

def test_an_ended_session_fails_with_the_login_command(info, home, fake_cli):
    write_profile(home / ".databrickscfg", auth_type="databricks-cli")
    fake_cli.script(token=[{"rc": 1, "stderr": REFRESH_INVALID}])

    result = info()

    assert result["session"]["state"] == "expired" and result["session"]["expires_at"] is None
    row = check(result, "OAuth session")
    assert row["status"] == "FAIL" and "has ended" in row["value"]
    assert row["fix"] == ("databricks auth login --host %s --profile %s\nor: ansible-playbook fmapi.coding_agents.reauth"
                          % (HOST, PROFILE))


def test_an_unreachable_workspace_is_a_session_error_with_a_network_fix(info, home, fake_cli):
    write_profile(home / ".databrickscfg", auth_type="databricks-cli")
    fake_cli.script(token=[{"rc": 1, "stderr": REFUSED}])

    result = info()

    assert result["session"]["state"] == "error"
    row = check(result, "OAuth session")
    assert row["status"] == "FAIL" and "cannot be reached" in row["value"]
    assert row["fix"].startswith("Check the workspace URL and your network (VPN, proxy variables HTTPS_PROXY and NO_PROXY)")


def test_a_token_in_the_clis_error_is_masked(info, home, fake_cli):
    write_profile(home / ".databrickscfg", auth_type="databricks-cli")
    fake_cli.script(token=[{"rc": 1, "stderr": "Error: strange answer carrying %s\n" % TOKEN}])
    result = info()
    assert result["session"]["state"] == "error" and check(result, "OAuth session")["status"] == "FAIL"
    assert "strange answer carrying ********" in result["session"]["message"]
    assert "strange answer carrying ********" in check(result, "OAuth session")["value"]


def test_check_session_false_does_not_ask_the_cli(info, home, fake_cli):
    write_profile(home / ".databrickscfg", auth_type="databricks-cli")

    result = info(check_session=False)

    assert result["session"]["state"] == "unchecked"
    assert [row for row in result["checks"] if row["category"] == "Auth"] == []
    assert fake_cli.calls("token") == []


# -------------------------------------------------------------------------------------------- SDK

@pytest.fixture(name="bare_python", scope="module")
def bare_python_fixture(tmp_path_factory):
    """A real Python without databricks-sdk and jmespath: a fresh virtual environment."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    return str(venv / "bin" / "python")


def test_a_python_without_the_sdk_is_a_warning_with_the_requirements(info, bare_python):
    result = info(check_session=False, sdk_python=bare_python)

    sdk = result["sdk"]
    assert sdk["python"] == bare_python and sdk["ok"] is False
    assert sdk["databricks_sdk"] is None and sdk["jmespath"] is None and sdk["tomlkit"] is None and sdk["error"] is None
    assert sdk["requirements"] == ["databricks-sdk>=0.40.0", "jmespath>=1.0.0", "tomlkit>=0.11.0"]
    row = check(result, "databricks-sdk")
    assert (row["category"], row["status"]) == ("Dependencies", "WARN")
    assert row["value"] == ("databricks-sdk missing, jmespath missing, tomlkit missing in %s; needed: "
                            "databricks-sdk>=0.40.0, jmespath>=1.0.0, tomlkit>=0.11.0" % bare_python)
    assert row["fix"].startswith(SETUP)


def test_a_python_with_the_sdk_passes(info):
    import databricks.sdk.version  # pylint: disable=import-outside-toplevel

    result = info(check_session=False, sdk_python=sys.executable)

    assert result["sdk"]["ok"] is True and result["sdk"]["databricks_sdk"] == databricks.sdk.version.__version__
    assert check(result, "databricks-sdk")["status"] == "PASS"


def test_a_missing_sdk_python_is_a_warning(info, tmp_path):
    missing = str(tmp_path / "gone" / "python")
    result = info(check_session=False, sdk_python=missing)
    assert result["sdk"]["error"] == "%s does not exist" % missing
    row = check(result, "databricks-sdk")
    assert row["status"] == "WARN" and row["value"].startswith("%s does not exist; needed: " % missing)
