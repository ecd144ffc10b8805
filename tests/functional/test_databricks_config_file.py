"""DATABRICKS_CONFIG_FILE end to end: a developer whose Databricks CLI configuration lives elsewhere than
~/.databrickscfg. Every module writes and reads the profile there, as the real CLI and databricks-sdk do,
against the workspace double."""

from __future__ import annotations

import configparser
import os
import subprocess

from functional_support import authorizations, cli_env, desktop_env

PROFILE = "fmapi-claudecode-profile"


def read_profile(path: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(default_section="no default section here")
    parser.read(path, encoding="utf-8")
    return parser[PROFILE]


def test_every_module_uses_the_configuration_file_the_cli_uses(
        run_module, laptop_home, workspace_double, databricks_cli, fake_browser, tmp_path):
    elsewhere = tmp_path / "dotfiles" / "databricks"
    elsewhere.mkdir(parents=True)
    config_file = str(elsewhere / "config.ini")
    default_file = os.path.join(laptop_home, ".databrickscfg")
    run_module.env.update(desktop_env(workspace_double, fake_browser), DATABRICKS_CONFIG_FILE=config_file)

    profile = run_module("databricks_profile", {"host": workspace_double.url})
    assert profile["changed"] is True and profile["path"] == config_file
    assert dict(read_profile(config_file)) == {"host": workspace_double.url, "auth_type": "databricks-cli"}
    assert not os.path.exists(default_file)

    login = run_module("databricks_oauth", {"profile": PROFILE, "host": workspace_double.url,
                                            "databricks_cli": databricks_cli})
    assert login["changed"] is True and login["session"] == "active"
    assert len(authorizations(workspace_double)) == 1
    assert "workspace_id" in read_profile(config_file), "the CLI's login completed the profile in the same file"
    assert not os.path.exists(default_file)
    again = run_module("databricks_oauth", {"profile": PROFILE, "host": workspace_double.url,
                                            "databricks_cli": databricks_cli})
    assert again["changed"] is False and again["session"] == "active"
    assert len(authorizations(workspace_double)) == 1, "the second run found the session"

    info = run_module("databricks_cli_info", {"profile": PROFILE, "host": workspace_double.url,
                                              "databricks_cli": databricks_cli})
    assert info["config_file"] == config_file
    assert info["profile"]["exists"] is True and info["profile"]["host"] == workspace_double.url
    assert info["session"]["state"] == "active"
    assert [row["status"] for row in info["checks"]] == ["PASS", "PASS", "PASS"], info["checks"]
    assert config_file in next(row["value"] for row in info["checks"] if row["label"] == "Profile")

    endpoints = run_module("serving_endpoints_info", {"profile": PROFILE, "databricks_cli": databricks_cli,
                                                      "ca_file": workspace_double.ca_file})
    assert endpoints["host"] == workspace_double.url and endpoints["count"] == 11
    listing = [entry for entry in workspace_double.control.requests(path_prefix="/api/2.0/serving-endpoints")
               if entry["method"] == "GET"]
    assert listing and listing[-1]["token_kind"] == "oauth" and listing[-1]["bearer_status"] == "valid"

    helper = run_module("token_helper", {"profile": PROFILE, "host": workspace_double.url,
                                         "databricks_cli": databricks_cli})
    completed = subprocess.run(["/bin/sh", "-c", helper["command"]],
                               env=cli_env(workspace_double, laptop_home, DATABRICKS_CONFIG_FILE=config_file),
                               capture_output=True, text=True, timeout=180, check=False)
    assert completed.returncode == 0 and completed.stderr == "", completed.stderr
    assert completed.stdout.count("\n") == 1 and completed.stdout.startswith("eyJ")

    removed = run_module("databricks_profile", {"state": "absent"})
    assert removed["changed"] is True and removed["path"] == config_file
    assert not os.path.exists(default_file)
