# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Functional tests of databricks_profile: the module run by ansible-playbook on localhost, then the real
Databricks CLI reads the profile it wrote, logs in against the workspace double (host taken from the
profile, the fake browser doing the sign-in) and hands out tokens."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from workspace_double.pytest_plugin import isolated_env

PROFILE = "fmapi-claudecode-profile"
LEGACY_PAT = "dapi0123456789abcdef0123456789abcd"
OTHER_PAT = "dapiffffeeeeddddccccbbbbaaaa9999"
TIMEOUT = 90


class Cli:
    """The real Databricks CLI in the developer's HOME."""

    def __init__(self, binary: str, home: str, double, fake_browser: str):
        self.binary = binary
        self.home = home
        self.env = isolated_env(
            home,
            SSL_CERT_FILE=double.ca_file,
            FMAPI_DOUBLE_CA=double.ca_file,
            DATABRICKS_AUTH_STORAGE="plaintext",
            BROWSER=fake_browser,
        )

    def run(self, *args: str) -> subprocess.CompletedProcess:
        completed = subprocess.run([self.binary, *args], env=self.env, cwd=self.home, capture_output=True, text=True,
                                   timeout=TIMEOUT, check=False)
        assert completed.returncode == 0, "databricks %s exited %d\nstdout: %s\nstderr: %s" % (
            " ".join(args), completed.returncode, completed.stdout, completed.stderr)
        return completed

    def login(self, profile: str = PROFILE) -> None:
        """``databricks auth login --profile P``: no --host, the CLI takes it from the profile."""
        self.run("auth", "login", "--profile", profile, "--timeout", "60s")

    def token(self, profile: str = PROFILE) -> dict:
        return json.loads(self.run("auth", "token", "--profile", profile, "--output", "json").stdout)

    def profiles(self) -> dict:
        listing = json.loads(self.run("auth", "profiles", "--output", "json").stdout)
        return dict((profile["name"], profile) for profile in listing["profiles"])


@pytest.fixture(name="cli")
def cli_fixture(databricks_cli, laptop_home, workspace_double, fake_browser):
    return Cli(databricks_cli, laptop_home, workspace_double, fake_browser)


def config_file(home: str) -> str:
    return os.path.join(home, ".databrickscfg")


def read(home: str) -> str:
    with open(config_file(home), encoding="utf-8") as handle:
        return handle.read()


def test_new_profile_lets_the_real_cli_log_in(run_module, laptop_home, workspace_double, cli):
    result = run_module("databricks_profile", {"host": workspace_double.url + "/"})
    assert result["changed"] is True and result["created"] is True
    assert result["host"] == workspace_double.url
    assert os.stat(config_file(laptop_home)).st_mode & 0o777 == 0o600

    listed = cli.profiles()[PROFILE]
    assert listed["host"] == workspace_double.url and listed["auth_type"] == "databricks-cli"

    cli.login()
    token = cli.token()
    assert token["access_token"] and token["token_type"] == "Bearer"
    listed = cli.profiles()[PROFILE]
    assert listed["valid"] is True and listed["auth_type"] == "databricks-cli"

    # The CLI rewrote the file in its own layout and added account_id/workspace_id: nothing to do for us.
    after_login = read(laptop_home)
    assert "workspace_id" in after_login
    again = run_module("databricks_profile", {"host": workspace_double.url})
    assert again["changed"] is False
    assert read(laptop_home) == after_login


def test_stale_profile_is_repaired_and_other_profiles_survive(run_module, laptop_home, workspace_double, cli):
    other = "# my team's workspace\n[team]\nhost  = %s\ntoken = %s\n\n" % (workspace_double.url, OTHER_PAT)
    with open(config_file(laptop_home), "w", encoding="utf-8") as handle:
        handle.write(other + "[%s]\nhost = https://old-workspace.cloud.databricks.com\ntoken = %s\n"
                     % (PROFILE, LEGACY_PAT))
    os.chmod(config_file(laptop_home), 0o600)

    result = run_module("databricks_profile", {"host": workspace_double.url}, diff=True)
    assert result["previous_host"] == "https://old-workspace.cloud.databricks.com"
    assert result["removed_keys"] == ["token"]
    assert LEGACY_PAT not in result["_output"] and OTHER_PAT not in result["_output"]
    assert LEGACY_PAT not in json.dumps(result) and OTHER_PAT not in json.dumps(result)
    assert read(laptop_home) == other + "[%s]\nhost = %s\nauth_type = databricks-cli\n" % (PROFILE, workspace_double.url)

    cli.login()
    assert cli.token()["access_token"]
    profiles = cli.profiles()
    assert profiles[PROFILE]["valid"] is True
    assert profiles["team"]["host"] == workspace_double.url
    assert OTHER_PAT in read(laptop_home)


def test_check_mode_leaves_the_cli_without_the_profile(run_module, laptop_home, workspace_double, cli):
    result = run_module("databricks_profile", {"host": workspace_double.url}, check=True, diff=True)
    assert result["changed"] is True
    assert not os.path.exists(config_file(laptop_home))
    assert "auth_type = databricks-cli" in result["_output"]


def test_absent_removes_only_that_profile(run_module, laptop_home, workspace_double, cli):
    run_module("databricks_profile", {"host": workspace_double.url})
    run_module("databricks_profile", {"host": workspace_double.url, "profile": "second"})
    cli.login("second")

    result = run_module("databricks_profile", {"state": "absent"})
    assert result["changed"] is True and result["removed"] is True
    profiles = cli.profiles()
    assert PROFILE not in profiles
    assert profiles["second"]["valid"] is True
    assert run_module("databricks_profile", {"state": "absent"})["changed"] is False
