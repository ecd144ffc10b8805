# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the databricks_oauth module, with the CLI replaced at the _databricks_cli boundary."""

from __future__ import annotations

import datetime
import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _databricks_cli as dbcli
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws
from ansible_collections.fmapi.coding_agents.plugins.modules import databricks_oauth
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.utils import use_home

HOST = "https://my-workspace.cloud.databricks.com"
PROFILE = "fmapi-claudecode-profile"
CLI = "/opt/homebrew/bin/databricks"
SECRET_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXYifQ.never-show-this-token"
EXPIRY = datetime.datetime(2030, 1, 31, 12, 0, 0, 123456, datetime.timezone.utc)

ACTIVE = dbcli.TokenResult(dbcli.SESSION_ACTIVE, token=SECRET_TOKEN, expiry=EXPIRY)
EXPIRED = dbcli.TokenResult(
    dbcli.SESSION_EXPIRED, message="the Databricks login session has ended (refresh token is invalid)")
TLS_ERROR = dbcli.TokenResult(
    dbcli.SESSION_ERROR,
    message="the TLS certificate of %s is not trusted (x509). If your network inspects TLS, point SSL_CERT_FILE at ..."
    % HOST)


class FakeCliBoundary:
    """Stands in for the functions of _databricks_cli that run the CLI; records every call."""

    def __init__(self):
        self.tokens = [ACTIVE]
        self.login_result = dbcli.CliRun(0, "", "Profile %s was successfully saved\n" % PROFILE)
        self.browser = (True, "BROWSER is set")
        # The executables that exist, and what `--version` says of them (None: not the Databricks CLI).
        self.versions = {CLI: "1.12.1"}
        self.token_calls = []
        self.login_calls = []
        self.on_login = None

    def fetch_token(self, cli, profile, env, force_refresh=False, host=None, timeout=None):
        self.token_calls.append(dict(cli=cli, profile=profile, env=dict(env), force_refresh=force_refresh))
        return self.tokens.pop(0) if len(self.tokens) > 1 else self.tokens[0]

    def run_login(self, cli, host, profile, env, timeout_seconds):
        self.login_calls.append(dict(cli=cli, host=host, profile=profile, env=dict(env), timeout=timeout_seconds))
        if self.on_login:
            self.on_login()
        return self.login_result


@pytest.fixture(name="home")
def home_fixture(tmp_path, monkeypatch):
    return use_home(tmp_path, monkeypatch)


@pytest.fixture(name="cli")
def cli_fixture(monkeypatch, home):
    boundary = FakeCliBoundary()
    monkeypatch.setattr(dbcli, "fetch_token", boundary.fetch_token)
    monkeypatch.setattr(dbcli, "run_login", boundary.run_login)
    monkeypatch.setattr(dbcli, "browser_can_open", lambda environ: boundary.browser)
    # The real finder (_workspace.find_cli) looks at these executables only.
    monkeypatch.setattr(ws, "cli_version", lambda path, env: boundary.versions.get(path))
    monkeypatch.setattr(ws, "is_executable_file", lambda path: path in boundary.versions)
    return boundary


def write_profile(home, profile=PROFILE, host=HOST):
    with open(str(home / ".databrickscfg"), "a", encoding="utf-8") as handle:
        handle.write("[%s]\nhost = %s\nauth_type = databricks-cli\n\n" % (profile, host))


def run(args, capsys, check=False, expect_failure=False):
    module_args = dict(args)
    module_args["_ansible_check_mode"] = check
    with patch_module_args(module_args):
        with pytest.raises(SystemExit) as exit_info:
            databricks_oauth.main()
    out = capsys.readouterr().out
    assert SECRET_TOKEN not in out, "a token reached the module output"
    result = json.loads(out)
    result["_warnings"] = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    if expect_failure:
        assert exit_info.value.code != 0 and result.get("failed"), result
    else:
        assert exit_info.value.code == 0 and not result.get("failed"), result.get("msg")
    return result


@pytest.fixture(name="oauth")
def oauth_fixture(capsys, cli):
    def oauth(check=False, expect_failure=False, **args):
        return run(args, capsys, check, expect_failure)
    return oauth


# ------------------------------------------------------------------------------------------ status

def test_an_active_session_is_reported_with_its_expiry(oauth, home, cli):
    write_profile(home)

    result = oauth(state="status")

    assert result["changed"] is False
    assert result["session"] == "active"
    assert result["expires_at"] == "2030-01-31T12:00:00Z"
    assert result["cli_version"] == "1.12.1" and result["databricks_cli"] == CLI
    assert result["host"] == HOST and result["profile"] == PROFILE
    assert result["login_required"] is False and result["login_command"] is None
    assert "2030-01-31T12:00:00Z" in result["msg"]
    assert cli.token_calls[0]["profile"] == PROFILE and cli.token_calls[0]["force_refresh"] is False


def test_a_missing_profile_is_no_profile_without_asking_the_cli(oauth, cli):
    result = oauth(state="status", host=HOST)

    assert result["session"] == "no_profile"
    assert result["login_required"] is True
    assert result["login_command"] == "databricks auth login --host %s --profile %s" % (HOST, PROFILE)
    assert cli.token_calls == []


def test_an_expired_session_is_reported_with_the_profile_host(oauth, home, cli):
    write_profile(home)
    cli.tokens = [EXPIRED]

    result = oauth(state="status")

    assert result["session"] == "expired"
    assert result["expires_at"] is None
    assert result["login_command"] == "databricks auth login --host %s --profile %s" % (HOST, PROFILE)
    assert cli.login_calls == []


def test_status_reports_errors_without_failing(oauth, home, cli):
    write_profile(home)
    cli.tokens = [TLS_ERROR]

    result = oauth(state="status")

    assert result["session"] == "error" and "SSL_CERT_FILE" in result["msg"]
    assert result["login_required"] is False


def test_no_cli_is_reported_by_status_and_fails_present(oauth, cli, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin")
    cli.versions = {"/usr/bin/databricks": None}

    status = oauth(state="status")
    present = oauth(host=HOST, expect_failure=True)

    assert status["session"] == "no_cli" and status["cli_version"] is None
    assert "/usr/bin/databricks" in status["msg"] and "Install the Databricks CLI" in status["msg"]
    assert present["session"] == "no_cli"


def test_a_cli_that_is_not_the_databricks_cli_is_no_cli(oauth, cli):
    cli.versions[CLI] = None
    result = oauth(state="status", databricks_cli=CLI)
    assert result["session"] == "no_cli" and "legacy Python databricks-cli" in result["msg"]


def test_databricks_variables_do_not_reach_the_cli_but_storage_does(oauth, home, cli, monkeypatch):
    write_profile(home)
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-junk")
    monkeypatch.setenv("DATABRICKS_HOST", "https://junk.example.com")
    monkeypatch.setenv("DATABRICKS_CONFIG_PROFILE", "junk")
    monkeypatch.setenv("DATABRICKS_AUTH_STORAGE", "plaintext")

    oauth(state="status")

    env = cli.token_calls[0]["env"]
    assert "DATABRICKS_TOKEN" not in env and "DATABRICKS_HOST" not in env and "DATABRICKS_CONFIG_PROFILE" not in env
    assert env["DATABRICKS_AUTH_STORAGE"] == "plaintext"


def test_the_config_file_variable_is_honoured(oauth, home, cli, monkeypatch, tmp_path):
    other = tmp_path / "elsewhere.cfg"
    other.write_text("[%s]\nhost = %s\n" % (PROFILE, HOST))
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(other))

    assert oauth(state="status")["session"] == "active"


def test_a_url_copied_from_the_browser_names_the_workspace(oauth, cli):
    result = oauth(state="status", host=HOST + "/browse/folders/123?o=4567#x")

    assert result["login_command"] == "databricks auth login --host %s --profile %s" % (HOST, PROFILE)


# ----------------------------------------------------------------------------------------- present

def test_present_logs_in_when_the_profile_is_missing(oauth, home, cli):
    cli.on_login = lambda: write_profile(home)

    result = oauth(host=HOST + "/", login_timeout=45)

    assert result["changed"] is True
    assert result["session"] == "active" and result["expires_at"] == "2030-01-31T12:00:00Z"
    assert result["host"] == HOST
    assert cli.login_calls == [dict(cli=CLI, host=HOST, profile=PROFILE, env=cli.login_calls[0]["env"], timeout=45)]
    assert result["login_required"] is False


def test_present_with_an_active_session_changes_nothing(oauth, home, cli):
    write_profile(home)
    result = oauth(host=HOST)
    assert result["changed"] is False and cli.login_calls == []


def test_present_logs_in_again_with_the_profiles_host_when_none_is_given(oauth, home, cli):
    write_profile(home)
    cli.tokens = [EXPIRED, ACTIVE]

    result = oauth()

    assert result["changed"] is True and result["session"] == "active"
    assert cli.login_calls[0]["host"] == HOST


def test_check_mode_predicts_a_login_and_does_not_run_it(oauth, home, cli):
    write_profile(home)
    cli.tokens = [EXPIRED]

    result = oauth(check=True)

    assert result["changed"] is True
    assert result["session"] == "expired"
    assert cli.login_calls == []


def test_without_a_browser_present_reports_login_required(oauth, home, cli):
    write_profile(home)
    cli.tokens = [EXPIRED]
    cli.browser = (False, "there is no graphical session")

    result = oauth()

    assert result["changed"] is False
    assert result["login_required"] is True
    assert result["browser_available"] is False
    assert result["login_command"] == "databricks auth login --host %s --profile %s" % (HOST, PROFILE)
    assert any(result["login_command"] in warning for warning in result["_warnings"])
    assert "no graphical session" in result["msg"]
    assert cli.login_calls == []


def test_fail_on_login_required(oauth, home, cli):
    write_profile(home)
    cli.tokens = [EXPIRED]
    cli.browser = (False, "there is no graphical session")

    result = oauth(fail_on_login_required=True, expect_failure=True)

    assert "databricks auth login --host %s --profile %s" % (HOST, PROFILE) in result["msg"]
    assert result["login_required"] is True


def test_a_new_profile_without_a_host_cannot_log_in(oauth, cli):
    result = oauth()
    assert result["login_required"] is True
    assert result["login_command"] == "databricks auth login --profile %s" % PROFILE
    assert "Set host" in result["msg"] and cli.login_calls == []


def test_a_login_that_times_out_is_login_required(oauth, home, cli):
    write_profile(home)
    cli.tokens = [EXPIRED]
    cli.login_result = dbcli.CliRun(-9, "", "", timed_out=True)

    result = oauth(login_timeout=30)

    assert result["changed"] is False and result["login_required"] is True
    assert "within 30 seconds" in result["msg"]


def test_a_login_that_does_not_help_fails(oauth, home, cli):
    write_profile(home)
    cli.tokens = [EXPIRED]

    result = oauth(expect_failure=True)

    assert "still not active" in result["msg"]


def test_present_fails_on_an_error_and_does_not_log_in(oauth, home, cli):
    write_profile(home)
    cli.tokens = [TLS_ERROR]

    result = oauth(expect_failure=True)

    assert result["session"] == "error" and "TLS certificate" in result["msg"]
    assert cli.login_calls == []


def test_a_profile_for_another_workspace_is_left_alone(oauth, home, cli):
    write_profile(home, host="https://other.cloud.databricks.com")

    result = oauth(host=HOST, expect_failure=True)

    assert "is for https://other.cloud.databricks.com, not %s" % HOST in result["msg"]
    assert cli.login_calls == []


def test_the_same_workspace_spelled_differently_is_not_another_workspace(oauth, home, cli):
    write_profile(home, host=HOST.upper().replace("HTTPS", "https") + ":443/")
    assert oauth(host=HOST)["changed"] is False


# -------------------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("args, message", [
    ({"profile": "p; id"}, "not a valid profile name"),
    ({"profile": "p\nq"}, "not a valid profile name"),
    ({"host": "https://h.example.com; id"}, "which no workspace URL has"),
    ({"host": "http://h.example.com"}, "must start with https://"),
    ({"login_timeout": 1}, "login_timeout must be from 10 to 3600"),
])
def test_bad_values_fail_before_the_cli_runs(oauth, cli, args, message):
    result = oauth(expect_failure=True, **args)
    assert message in result["msg"]
    assert cli.token_calls == [] and cli.login_calls == []
