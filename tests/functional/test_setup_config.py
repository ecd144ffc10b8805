"""setup_config on the controller: config files, config URLs over HTTPS, precedence, errors."""

from __future__ import annotations

import json

import pytest
from workspace_double.server import WorkspaceDouble

HOST = "https://adb-123.azuredatabricks.net"


@pytest.fixture(name="config_server")
def config_server_fixture(tmp_path):
    """An HTTPS server of config files (a platform team's internal web server)."""
    served = tmp_path / "served"
    served.mkdir()
    server = WorkspaceDouble(str(tmp_path / "state"), mirror_dir=str(served), mirror_only=True, state_file=None).start()
    try:
        yield server, served
    finally:
        server.stop()


def test_config_file_values_apply_below_the_command_line(run_module, tmp_path):
    config = tmp_path / "fmapi.yml"
    config.write_text(f"version: 1\nhost: {HOST}/\nprofile: team-profile\nttl: 45\nsonnet: databricks-claude-sonnet-4-5\n")
    result = run_module("setup_config", {"values": {"ttl": 10, "host": None}, "config": str(config),
                                         "previous": {"profile": "earlier", "haiku": "earlier-haiku"}})
    assert result["config"]["host"] == HOST
    assert result["config"]["profile"] == "team-profile"
    assert result["config"]["ttl"] == 10
    assert result["sources"]["ttl"] == "command line"
    assert result["config"]["sonnet"] == "databricks-claude-sonnet-4-5"
    assert result["config"]["haiku"] == "earlier-haiku"
    assert result["sources"]["haiku"] == "earlier install"
    assert result["changed"] is False


def test_json_config_file_with_an_unknown_key_fails_naming_the_valid_keys(run_module, tmp_path):
    config = tmp_path / "fmapi.json"
    config.write_text(json.dumps({"version": 1, "host": HOST, "models": "x"}))
    result = run_module("setup_config", {"config": str(config)}, expect_failure=True)
    assert "unknown key(s) models" in result["msg"]
    assert "valid keys are version, host, profile" in result["msg"]


def test_missing_host_says_how_to_pass_it(run_module):
    result = run_module("setup_config", {}, expect_failure=True)
    assert "-e host=https://" in result["msg"]


def test_missing_config_file_is_a_clear_error(run_module, tmp_path):
    result = run_module("setup_config", {"config": str(tmp_path / "nope.yml")}, expect_failure=True)
    assert "cannot read the config file" in result["msg"] and "nope.yml" in result["msg"]


def test_config_url_is_fetched_over_https_with_the_given_ca(run_module, config_server):
    server, served = config_server
    (served / "fmapi.json").write_text(json.dumps({"version": 1, "host": HOST, "opus": "databricks-claude-opus-4-5"}))
    result = run_module("setup_config", {"config_url": f"{server.url}/fmapi.json", "ca_path": server.ca_file})
    assert result["config"]["host"] == HOST
    assert result["config"]["opus"] == "databricks-claude-opus-4-5"
    assert result["sources"]["opus"] == f"config URL {server.url}/fmapi.json"


def test_config_url_must_be_https(run_module):
    result = run_module("setup_config", {"config_url": "http://127.0.0.1:9/fmapi.json"}, expect_failure=True)
    assert "config_url must start with https://" in result["msg"]


def test_config_url_with_an_untrusted_certificate_is_refused(run_module, config_server):
    server, served = config_server
    (served / "fmapi.json").write_text(json.dumps({"host": HOST}))
    result = run_module("setup_config", {"config_url": f"{server.url}/fmapi.json"},
                        env={"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt"}, expect_failure=True)
    assert "cannot fetch the config URL" in result["msg"]
    assert "CERTIFICATE_VERIFY_FAILED" in result["msg"] or "certificate" in result["msg"].lower()


def test_file_and_url_together_are_refused(run_module, tmp_path):
    result = run_module("setup_config", {"config": str(tmp_path / "a.yml"), "config_url": "https://x/y"},
                        expect_failure=True)
    assert "either config" in result["msg"]


def test_a_host_pasted_from_the_browser_is_reduced_and_said(run_module, tmp_path):
    config = tmp_path / "fmapi.yml"
    config.write_text(f"version: 1\nhost: {HOST}/?o=123#notebook/42\n")

    result = run_module("setup_config", {"config": str(config)})

    assert result["config"]["host"] == HOST
    assert len(result["notes"]) == 1 and result["warnings"] == [
        f"host from config file {config}: {HOST}/?o=123#notebook/42 was reduced to the workspace URL {HOST}: the "
        "part after the host name (/?o=123#notebook/42) is not part of it."]
    note = result["notes"][0]
    assert (note["category"], note["status"], note["label"]) == ("Notes", "WARN", f"host from config file {config}")
    assert note["value"].startswith(f"{HOST}/?o=123#notebook/42 was reduced")


def test_a_note_on_a_host_from_a_config_url_names_the_url(run_module, config_server):
    server, served = config_server
    (served / "fmapi.json").write_text(json.dumps({"version": 1, "host": HOST + "/browse"}))

    result = run_module("setup_config", {"config_url": f"{server.url}/fmapi.json", "ca_path": server.ca_file})

    assert result["config"]["host"] == HOST
    note = result["notes"][0]
    assert note["label"] == f"host from config URL {server.url}/fmapi.json"
    assert note["value"].startswith(f"{HOST}/browse was reduced to the workspace URL {HOST}")


@pytest.mark.parametrize("host, expected", [
    ("https://dbc-1.cloud.databricks.com; rm -rf ~", "which no workspace URL has"),
    ("dbc-1.cloud.databricks.com", "must start with https://"),
])
def test_a_host_that_is_no_workspace_url_stops_the_setup(run_module, host, expected):
    result = run_module("setup_config", {"values": {"host": host}}, expect_failure=True)

    assert expected in result["msg"] and "https://my-workspace.cloud.databricks.com" in result["msg"]
