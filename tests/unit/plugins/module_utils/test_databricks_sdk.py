# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the shared databricks-sdk plumbing: options, environment, error messages."""

from __future__ import annotations

import json
import os
import shlex
import socket
import stat

import pytest
import requests
from ansible.module_utils.testing import patch_module_args
from databricks.sdk import errors as sdk_errors

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _databricks_sdk as sdk
from ansible_collections.fmapi.coding_agents.plugins.module_utils._databricks_sdk import (
    AUTH_DATABRICKS_CLI,
    AUTH_PAT,
    DatabricksModuleError,
    DatabricksSdkModule,
    WorkspaceAccess,
    explain_error,
)
from ansible_collections.fmapi.coding_agents.tests.unit.plugins.modules.utils import search_only_path, use_home

HOST = "https://dbc-1234abcd-5678.cloud.databricks.com"
TOKEN = "dapi0123456789abcdef0123456789abcdef"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXZlbG9wZXIiLCJleHAiOjF9.c2lnbmF0dXJlLXZhbHVl"
SDK_DEBUG = (". Config: host=%s, token=***, profile=p1, auth_type=databricks-cli, http_timeout_seconds=20.0. "
             "Env: DATABRICKS_HOST" % HOST)
PROFILE_LOGIN = "databricks auth login --host %s --profile p1" % HOST


@pytest.fixture(name="cli_access")
def cli_access_fixture() -> WorkspaceAccess:
    return WorkspaceAccess(HOST, AUTH_DATABRICKS_CLI, profile="p1", cli_path="/usr/local/bin/databricks")


@pytest.fixture(name="pat_access")
def pat_access_fixture() -> WorkspaceAccess:
    return WorkspaceAccess(HOST, AUTH_PAT, token=TOKEN, timeout=7, retry_timeout=11)


@pytest.fixture(name="home")
def home_fixture(tmp_path, monkeypatch) -> str:
    return str(use_home(tmp_path, monkeypatch))


def write_config(home: str, text: str, name: str = ".databrickscfg") -> str:
    path = os.path.join(home, name)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def make_cli(directory, name: str = "databricks", version_line: str = "Databricks CLI v1.12.1") -> str:
    """A stand-in that answers ``--version`` like the Databricks CLI (or, with another line, like the legacy one)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\necho %s\n" % shlex.quote(version_line))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture(name="no_cli")
def no_cli_fixture(tmp_path, monkeypatch):
    """No Databricks CLI on PATH nor in the usual install directories."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    search_only_path(monkeypatch)


# ----------------------------------------------------------------------------- profiles
def test_resolve_access_takes_host_from_profile(home, tmp_path, monkeypatch):
    write_config(home, "[p1]\nhost = %s/\nauth_type = databricks-cli\n" % HOST)
    cli = make_cli(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))

    access = sdk.resolve_access({"profile": "p1", "timeout": 5, "retry_timeout": 9})

    assert (access.host, access.auth_type, access.profile, access.cli_path) == (HOST, AUTH_DATABRICKS_CLI, "p1", cli)
    assert (access.timeout, access.retry_timeout) == (5, 9)
    assert access.config_file == os.path.join(home, ".databrickscfg")
    assert access.login_command() == PROFILE_LOGIN


def test_resolve_access_reads_the_profile_from_databricks_config_file(home, tmp_path, monkeypatch):
    write_config(home, "[other]\nhost = https://other.cloud.databricks.com\n")
    elsewhere = write_config(str(tmp_path), "[only-here]\nhost = %s\nauth_type = databricks-cli\n" % HOST,
                             name="team.databrickscfg")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", elsewhere)
    cli = make_cli(tmp_path / "bin")

    access = sdk.resolve_access({"profile": "only-here", "databricks_cli": cli})

    assert (access.host, access.profile, access.config_file) == (HOST, "only-here", elsewhere)
    with pytest.raises(DatabricksModuleError) as caught:
        sdk.resolve_access({"profile": "other", "databricks_cli": cli})
    assert "Profile 'other' is not in %s." % elsewhere in str(caught.value)


def test_resolve_access_warns_when_host_differs_from_profile(home, tmp_path):
    write_config(home, "[p1]\nhost = https://other.cloud.databricks.com\n")
    warnings = []

    access = sdk.resolve_access({"profile": "p1", "host": HOST, "databricks_cli": make_cli(tmp_path / "bin")},
                                warnings.append)

    assert access.host == HOST
    assert warnings == ["host %s differs from the host of profile 'p1' (https://other.cloud.databricks.com); "
                        "using %s" % (HOST, HOST)]


def test_resolve_access_reduces_a_browser_url_to_the_workspace(home, tmp_path):
    write_config(home, "[p1]\nhost = %s/browse\n" % HOST)
    warnings = []

    access = sdk.resolve_access({"profile": "p1", "host": HOST + "/?o=1",
                                 "databricks_cli": make_cli(tmp_path / "bin")}, warnings.append)

    assert access.host == HOST and warnings == []


@pytest.mark.parametrize("config, params, words", [
    (None, {"profile": "p1"}, "Profile 'p1' is not in {config}. Log in once with: databricks auth login --profile p1"),
    ("[p2]\nhost = %s\n" % HOST, {"profile": "p1", "host": HOST}, "Log in once with: " + PROFILE_LOGIN),
    ("[p1]\nauth_type = databricks-cli\n", {"profile": "p1"},
     "Profile 'p1' in {config} has no host. Log in again with: databricks auth login --profile p1"),
    ("[p1]\nhost = http://plain.example.com\n", {"profile": "p1"},
     "The host of profile 'p1' in {config}: host 'http://plain.example.com' must start with https://"),
    ("[p1\nhost = %s\n" % HOST, {"profile": "p1"},
     "{config} cannot be read: line 1 opens a [section] header but does not close it"),
    ("[p1]\nhost = %s\n" % HOST, {"profile": "p1", "auth_type": "pat"}, "needs a token in that profile"),
    (None, {"token": TOKEN}, "token needs host"),
    (None, {}, "Give either profile"),
    (None, {"host": HOST, "token": TOKEN, "auth_type": "databricks-cli"}, "needs profile"),
    (None, {"profile": "my profile"}, "not a valid profile name"),
    (None, {"host": "http://x.example.com", "token": TOKEN}, "must start with https://"),
    (None, {"host": HOST, "token": TOKEN, "timeout": 0}, "timeout must be at least 1 second"),
])
def test_resolve_access_explains_bad_combinations(home, config, params, words):
    if config:
        write_config(home, config)

    with pytest.raises(DatabricksModuleError) as caught:
        sdk.resolve_access(params)

    assert words.format(config=os.path.join(home, ".databrickscfg")) in str(caught.value)


def test_a_config_file_that_cannot_be_opened_is_explained_not_raised(home, monkeypatch, tmp_path):
    directory = tmp_path / "cfg-dir"
    directory.mkdir()
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(directory))

    with pytest.raises(DatabricksModuleError) as caught:
        sdk.resolve_access({"profile": "p1"})

    assert str(caught.value).startswith("%s cannot be read: Is a directory. Fix the file" % directory)


def test_resolve_access_uses_the_token_of_a_pat_profile(home, tmp_path, no_cli):
    write_config(home, "[pat]\nhost = %s\ntoken = %s\n" % (HOST, TOKEN))

    access = sdk.resolve_access({"profile": "pat"})

    assert (access.auth_type, access.cli_path, access.token) == (AUTH_PAT, None, None)
    assert access.identity() == "the token of profile 'pat'"
    assert TOKEN in access.secrets()
    assert TOKEN not in explain_error(sdk_errors.PermissionDenied("no %s" % TOKEN), access, "x")

    cli = make_cli(tmp_path / "bin")
    forced = sdk.resolve_access({"profile": "pat", "auth_type": "databricks-cli", "databricks_cli": cli})
    assert forced.auth_type == AUTH_DATABRICKS_CLI


def test_resolve_access_for_a_token(home, tmp_path):
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")

    access = sdk.resolve_access({"host": HOST + "/", "token": TOKEN, "ca_file": str(ca_file)})

    assert (access.host, access.auth_type, access.cli_path, access.ca_file) == (HOST, AUTH_PAT, None, str(ca_file))
    assert TOKEN not in repr(access)
    assert access.identity() == "the given token"


# ----------------------------------------------------------------------------- the CLI and the CA file
def test_the_cli_is_found_past_a_legacy_python_cli(home, tmp_path, monkeypatch):
    write_config(home, "[p1]\nhost = %s\n" % HOST)
    make_cli(tmp_path / "legacy", version_line="Version 0.18.0")
    real = make_cli(tmp_path / "real")
    monkeypatch.setenv("PATH", os.pathsep.join([str(tmp_path / "legacy"), str(tmp_path / "real")]))

    assert sdk.resolve_access({"profile": "p1"}).cli_path == real


def test_without_a_cli_databricks_cli_auth_says_how_to_install_it(home, tmp_path, no_cli):
    write_config(home, "[p1]\nhost = %s\n" % HOST)
    legacy = make_cli(tmp_path / "empty-bin", version_line="Version 0.18.0")

    with pytest.raises(DatabricksModuleError) as caught:
        sdk.resolve_access({"profile": "p1"})

    message = str(caught.value)
    assert message.startswith("auth_type databricks-cli needs the Databricks CLI. The Databricks CLI was not found")
    assert "Skipped, as they are not the Databricks CLI: %s" % legacy in message
    assert "Install the Databricks CLI" in message


@pytest.mark.parametrize("given, words", [
    ("{tmp}/missing", "{tmp}/missing does not exist or is not executable"),
    ("no-such-cli", "no-such-cli was not found on PATH"),
])
def test_a_given_cli_that_is_not_there_is_explained(home, tmp_path, no_cli, given, words):
    write_config(home, "[p1]\nhost = %s\n" % HOST)

    with pytest.raises(DatabricksModuleError) as caught:
        sdk.resolve_access({"profile": "p1", "databricks_cli": given.format(tmp=tmp_path)})

    assert words.format(tmp=tmp_path) in str(caught.value)


def test_check_ca_file(tmp_path):
    der = tmp_path / "ca.der"
    der.write_bytes(b"\x30\x82\x01\x0a")

    with pytest.raises(DatabricksModuleError, match="not a PEM certificate bundle"):
        sdk.check_ca_file(str(der))
    with pytest.raises(DatabricksModuleError, match="cannot be read"):
        sdk.check_ca_file(str(tmp_path / "missing.pem"))


# ----------------------------------------------------------------------------- environment
def test_isolated_environment_drops_databricks_variables_and_restores_them(monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", "https://elsewhere.example")
    monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
    monkeypatch.setenv("DATABRICKS_CONFIG_PROFILE", "other")
    monkeypatch.setenv("DATABRICKS_AUTH_STORAGE", "plaintext")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", "/etc/ssl/corporate.pem")

    with sdk.isolated_environment():
        assert not any(key.startswith("DATABRICKS_") and key != "DATABRICKS_AUTH_STORAGE" for key in os.environ)
        assert os.environ["DATABRICKS_AUTH_STORAGE"] == "plaintext"
        assert os.environ["REQUESTS_CA_BUNDLE"] == "/etc/ssl/corporate.pem"

    assert os.environ["DATABRICKS_TOKEN"] == TOKEN
    assert "REQUESTS_CA_BUNDLE" not in os.environ


def test_isolated_environment_applies_ca_file_to_sdk_and_cli(monkeypatch, tmp_path):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")

    with sdk.isolated_environment("/tmp/corporate.pem"):
        assert os.environ["REQUESTS_CA_BUNDLE"] == os.environ["SSL_CERT_FILE"] == "/tmp/corporate.pem"

    bundle = tmp_path / "bundle.pem"
    bundle.write_text("pem")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.delenv("SSL_CERT_FILE")
    with sdk.isolated_environment():
        assert os.environ["SSL_CERT_FILE"] == str(bundle)


# ----------------------------------------------------------------------------- redaction
def test_redact_masks_given_and_token_shaped_secrets():
    text = "token %s or %s sent as Authorization: Bearer abc.def and s3cr3t-value" % (TOKEN, JWT)

    masked = sdk.redact(text, ["s3cr3t-value"])

    for secret in (TOKEN, JWT, "abc.def", "s3cr3t-value"):
        assert secret not in masked
    assert "Bearer ********" in masked


# ----------------------------------------------------------------------------- error messages
@pytest.mark.parametrize("error, access_name, words", [
    (sdk_errors.Unauthenticated("Invalid access token" + SDK_DEBUG, error_code="UNAUTHENTICATED"), "cli_access",
     ["rejected the token of profile 'p1'", "HTTP 401: Invalid access token)", "Run `%s`" % PROFILE_LOGIN]),
    (sdk_errors.Unauthenticated("Invalid access token" + SDK_DEBUG), "pat_access",
     ["rejected the given token", "Create a new personal access token"]),
    (sdk_errors.PermissionDenied("User is not authorized" + SDK_DEBUG, error_code="PERMISSION_DENIED"), "cli_access",
     ["refused to list serving endpoints", "HTTP 403: User is not authorized)", "Model Serving"]),
    (sdk_errors.NotFound("No API found for 'GET /api/2.0/serving-endpoints'", error_code="ENDPOINT_NOT_FOUND"),
     "pat_access", ["404 Not Found", "does not look like a Databricks workspace URL", "Check host"]),
    (sdk_errors.TooManyRequests("Too many requests"), "pat_access",
     ["HTTP 429", "retry_timeout (11 seconds)"]),
    (sdk_errors.InternalError("boom"), "pat_access", ["internal problem", "InternalError: boom", "try again later"]),
    (sdk_errors.TemporarilyUnavailable("maintenance"), "pat_access", ["TemporarilyUnavailable: maintenance"]),
    (sdk_errors.InvalidParameterValue("Invalid page_token"), "pat_access", ["HTTP 400: Invalid page_token"]),
    (sdk_errors.DatabricksError("odd"), "pat_access", ["Could not list serving endpoints on %s" % HOST, "odd"]),
])
def test_explain_sdk_errors(request, error, access_name, words):
    message = explain_error(error, request.getfixturevalue(access_name), "list serving endpoints")

    for word in words:
        assert word in message
    assert "Config:" not in message and "Env:" not in message


def test_explain_private_link(pat_access):
    error = sdk_errors.PrivateLinkValidationError("The requested workspace has Private Link enabled")

    assert "Private Link" in explain_error(error, pat_access, "list serving endpoints")


def test_explain_connection_refused_from_a_real_request(pat_access):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        requests.head("https://127.0.0.1:%d/" % port, timeout=5)

    message = explain_error(caught.value, pat_access, "list serving endpoints")

    assert message.startswith("Connection to %s was refused" % HOST)
    assert "VPN" in message


def _wrapped(kind, reason: str):
    return kind("HTTPSConnectionPool(host='dbc-1234abcd-5678.cloud.databricks.com', port=443): Max retries exceeded "
                "with url: / (Caused by %s)" % reason)


@pytest.mark.parametrize("error, words", [
    (_wrapped(requests.exceptions.SSLError, "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] "
                                            "certificate verify failed: unable to get local issuer certificate')))"),
     ["could not be verified", "set ca_file", "REQUESTS_CA_BUNDLE and SSL_CERT_FILE"]),
    (_wrapped(requests.exceptions.SSLError, "SSLError(SSLCertVerificationError(1, \"[SSL: CERTIFICATE_VERIFY_FAILED] "
                                            "certificate verify failed: Hostname mismatch, certificate is not valid "
                                            "for 'x'\"))"),
     ["does not match that name"]),
    (_wrapped(requests.exceptions.SSLError, "SSLError(SSLError(1, '[SSL: WRONG_VERSION_NUMBER] wrong version number')))"),
     ["TLS handshake", "WRONG_VERSION_NUMBER"]),
    (_wrapped(requests.exceptions.ConnectionError, "NameResolutionError(\"Failed to resolve 'dbc' ([Errno -2] Name or "
                                                   "service not known)\"))"),
     ["could not be resolved", "VPN"]),
    (_wrapped(requests.exceptions.ConnectTimeout, "ConnectTimeoutError('Connection to dbc timed out.'))"),
     ["did not answer within 7 seconds", "VPN"]),
    (_wrapped(requests.exceptions.ConnectionError, "NewConnectionError('[Errno 113] No route to host'))"),
     ["no network route"]),
    (_wrapped(requests.exceptions.ProxyError, "ProxyError('Unable to connect to proxy'))"),
     ["HTTP proxy", "HTTPS_PROXY"]),
    (requests.exceptions.ReadTimeout("Read timed out. (read timeout=7)"),
     ["accepted the connection but did not answer within 7 seconds", "raise timeout"]),
    (requests.exceptions.ConnectionError("('Connection aborted.', RemoteDisconnected('closed'))"),
     ["closed the connection unexpectedly"]),
])
def test_explain_connection_and_tls_errors(pat_access, error, words):
    message = explain_error(error, pat_access, "list serving endpoints")

    assert HOST in message
    for word in words:
        assert word in message


def test_explain_sdk_retry_timeout_by_its_cause(pat_access):
    cause = _wrapped(requests.exceptions.ConnectionError, "NewConnectionError('[Errno 111] Connection refused'))")
    error = TimeoutError("Timed out after 0:00:30")
    error.__cause__ = cause

    assert "was refused" in explain_error(error, pat_access, "list serving endpoints")


def test_explain_json_that_is_not_json(pat_access):
    error = requests.exceptions.JSONDecodeError("Expecting value", "<html>", 0)

    assert "did not answer with JSON" in explain_error(error, pat_access, "list serving endpoints")


def _config_error(cli_words: str) -> ValueError:
    """What WorkspaceClient(Config(...)) raises when `databricks auth token` fails."""
    try:
        try:
            try:
                raise IOError("cannot get access token: " + cli_words)
            except IOError as io_error:
                raise ValueError("databricks-cli: %s" % io_error) from io_error
        except ValueError as inner:
            raise ValueError("default auth: %s%s" % (inner, SDK_DEBUG)) from inner
    except ValueError as outer:
        return outer


@pytest.mark.parametrize("cli_words, words", [
    ("Error: A new access token could not be retrieved because the refresh token is invalid. To reauthenticate, run "
     "the following command:\n  $ databricks auth login --profile p1",
     ["has expired or was never completed", "Run `%s`" % PROFILE_LOGIN]),
    ("Error: cache: databricks OAuth is not configured for this host. no cached credentials; run `databricks auth "
     "login` to sign in", ["has expired or was never completed", PROFILE_LOGIN]),
    ("Error: forced token refresh: fetching OAuth endpoints: Get \"%s/oidc\": tls: failed to verify certificate: "
     "x509: certificate signed by unknown authority. Try logging in again with `databricks auth login --profile p1`"
     % HOST, ["could not be verified (reported by the Databricks CLI)", "set ca_file"]),
    ("Error: Get \"%s/oidc\": dial tcp: lookup dbc-1234abcd-5678.cloud.databricks.com: no such host" % HOST,
     ["could not be resolved (reported by the Databricks CLI)"]),
    ("Error: something unexpected happened", ["could not provide a token for profile 'p1'",
                                              "something unexpected happened", PROFILE_LOGIN]),
])
def test_explain_cli_token_failures(cli_access, cli_words, words):
    message = explain_error(_config_error(cli_words), cli_access, "list serving endpoints")

    for word in words:
        assert word in message
    assert "Config:" not in message


def test_explain_cli_that_cannot_run(cli_access):
    error = ValueError("default auth: databricks-cli: [Errno 2] No such file or directory: '/opt/databricks'")

    message = explain_error(error, cli_access, "list serving endpoints")

    assert "could not be run" in message and "databricks_cli" in message


def test_explain_cli_without_a_login_for_the_profile(cli_access):
    error = ValueError("default auth: cannot configure default credentials, please check "
                       "https://docs.databricks.com/en/dev-tools/auth.html" + SDK_DEBUG)

    assert explain_error(error, cli_access, "list serving endpoints") == (
        "The Databricks CLI has no login for profile 'p1' (%s). Run `%s` on this laptop and try again."
        % (HOST, PROFILE_LOGIN))


def test_explain_missing_profile_from_sdk(cli_access):
    error = ValueError("resolve: /home/dev/.databrickscfg has no p1 profile configured" + SDK_DEBUG)

    assert explain_error(error, cli_access, "list serving endpoints") == (
        "Profile 'p1' is not in %s. Log in once with: %s" % (cli_access.config_file, PROFILE_LOGIN))


def test_explain_never_reveals_a_token(pat_access):
    error = sdk_errors.PermissionDenied("token %s and %s are not allowed" % (TOKEN, JWT))

    message = explain_error(error, pat_access, "list serving endpoints")

    assert TOKEN not in message and JWT not in message and "********" in message


def test_explain_leaves_unrelated_errors_alone(pat_access):
    assert explain_error(KeyError("name"), pat_access, "list serving endpoints") is None
    assert explain_error(ZeroDivisionError(), pat_access, "list serving endpoints") is None


# ----------------------------------------------------------------------------- the module wrapper
def _run_module(args, body, capsys):
    """Build a DatabricksSdkModule from args, run body(module); return the exit JSON."""
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            body(DatabricksSdkModule(argument_spec={}, supports_check_mode=True))
    return json.loads(capsys.readouterr().out)


def test_module_reports_missing_sdk(monkeypatch, capsys):
    monkeypatch.setattr(sdk, "HAS_DATABRICKS_SDK", False)
    monkeypatch.setattr(sdk, "SDK_IMPORT_ERROR", "Traceback: No module named 'databricks'")

    result = _run_module({"host": HOST, "token": TOKEN}, lambda module: module.require_sdk(), capsys)

    assert result["failed"] is True
    assert "databricks-sdk>=0.40.0" in result["msg"]


def test_module_reports_an_old_sdk(monkeypatch, capsys):
    monkeypatch.setattr(sdk, "SDK_VERSION", "0.39.9")

    result = _run_module({"host": HOST, "token": TOKEN}, lambda module: module.require_sdk(), capsys)

    assert "databricks-sdk 0.39.9 is too old" in result["msg"] and "pip install --upgrade" in result["msg"]


def test_module_options_are_checked(capsys):
    result = _run_module({"host": HOST, "token": TOKEN, "profile": "p1"}, lambda module: None, capsys)

    assert "mutually exclusive" in result["msg"]
    assert TOKEN not in json.dumps(result)


def test_workspace_client_turns_sdk_errors_into_advice(monkeypatch, capsys):
    monkeypatch.setattr(sdk, "check_reachable", lambda access: None)
    monkeypatch.setattr(sdk, "build_workspace_client", lambda access: object())
    monkeypatch.setenv("DATABRICKS_TOKEN", "from-the-environment")
    seen = {}

    def body(module):
        with module.workspace_client("list serving endpoints"):
            seen["env_token"] = os.environ.get("DATABRICKS_TOKEN")
            raise sdk_errors.Unauthenticated("Invalid access token %s" % TOKEN)

    result = _run_module({"host": HOST, "token": TOKEN}, body, capsys)

    assert seen["env_token"] is None
    assert result["failed"] is True and result["host"] == HOST
    assert "rejected the given token (HTTP 401" in result["msg"]
    assert TOKEN not in json.dumps(result)
    assert os.environ["DATABRICKS_TOKEN"] == "from-the-environment"


def test_workspace_client_lets_programming_errors_through(monkeypatch):
    monkeypatch.setattr(sdk, "check_reachable", lambda access: None)
    monkeypatch.setattr(sdk, "build_workspace_client", lambda access: object())

    with patch_module_args({"host": HOST, "token": TOKEN}):
        module = DatabricksSdkModule(argument_spec={})
        with pytest.raises(KeyError):
            with module.workspace_client("list serving endpoints"):
                raise KeyError("bug")


def test_build_workspace_client_uses_only_the_given_settings(monkeypatch):
    # A closed loopback port: the SDK's host metadata probe (if any) cannot leave the machine.
    access = WorkspaceAccess("https://127.0.0.1:9", AUTH_PAT, token=TOKEN, timeout=1, retry_timeout=1)
    monkeypatch.setenv("DATABRICKS_HOST", "https://elsewhere.example")
    monkeypatch.setenv("DATABRICKS_CONFIG_PROFILE", "other")
    monkeypatch.setattr(sdk.Config, "_resolve_host_metadata", lambda self: None, raising=False)

    with sdk.isolated_environment():
        client = sdk.build_workspace_client(access)

    config = client.config
    assert (config.host, config.auth_type, config.token, config.profile) == ("https://127.0.0.1:9", "pat", TOKEN, None)
    assert (config.http_timeout_seconds, config.retry_timeout_seconds) == (1, 1)


def test_build_workspace_client_reads_the_profile_from_the_given_config_file(home, tmp_path, monkeypatch):
    """The SDK gets the file resolve_access read the profile from (DATABRICKS_CONFIG_FILE): a profile that is only
    there is found by the SDK too."""
    elsewhere = write_config(str(tmp_path), "[only-here]\nhost = https://127.0.0.1:9\ntoken = %s\n" % TOKEN,
                             name="team.databrickscfg")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", elsewhere)
    monkeypatch.setattr(sdk.Config, "_resolve_host_metadata", lambda self: None, raising=False)
    access = sdk.resolve_access({"profile": "only-here", "timeout": 1, "retry_timeout": 1})
    # The client takes the file from access, not from the environment of the moment.
    monkeypatch.delenv("DATABRICKS_CONFIG_FILE")

    with sdk.isolated_environment():
        client = sdk.build_workspace_client(access)

    config = client.config
    assert (config.config_file, config.profile, config.host, config.auth_type) == (
        elsewhere, "only-here", "https://127.0.0.1:9", "pat")


# ----------------------------------------------------------------------------- reporting errors
@pytest.mark.parametrize("error, status", [
    (sdk_errors.Unauthenticated("x"), 401),
    (sdk_errors.PermissionDenied("x"), 403),
    (sdk_errors.NotFound("x"), 404),
    (sdk_errors.ResourceDoesNotExist("x"), 404),
    (sdk_errors.TooManyRequests("x"), 429),
    (sdk_errors.InternalError("x"), 500),
    (sdk_errors.TemporarilyUnavailable("x"), 503),
    (sdk_errors.InvalidParameterValue("x"), 400),
    (sdk_errors.DeadlineExceeded("x"), None),
    (ValueError("x"), None),
])
def test_http_status_of_sdk_errors(error, status):
    assert sdk.http_status(error) == status


def test_with_report_errors_bad_options_raise_a_workspace_error_without_the_token(home):
    with patch_module_args({"host": HOST, "token": TOKEN, "timeout": 0}):
        module = DatabricksSdkModule(argument_spec={})
    module.report_errors = True

    with pytest.raises(sdk.WorkspaceError) as caught:
        module.access  # pylint: disable=pointless-statement

    assert caught.value.message == "timeout must be at least 1 second, got 0" == str(caught.value)
    assert caught.value.host == HOST


def test_with_report_errors_a_refused_request_raises_a_workspace_error_with_advice(monkeypatch):
    monkeypatch.setattr(sdk, "check_reachable", lambda access: None)
    monkeypatch.setattr(sdk, "build_workspace_client", lambda access: object())
    with patch_module_args({"host": HOST, "token": TOKEN}):
        module = DatabricksSdkModule(argument_spec={})
    module.report_errors = True

    with pytest.raises(sdk.WorkspaceError) as caught:
        with module.workspace_client("list serving endpoints"):
            raise sdk_errors.PermissionDenied("no access for %s" % TOKEN)

    assert caught.value.host == HOST
    assert caught.value.message.startswith("%s refused to list serving endpoints for the given token (HTTP 403" % HOST)
    assert TOKEN not in caught.value.message


def test_without_report_errors_the_same_error_fails_the_module(monkeypatch, capsys):
    monkeypatch.setattr(sdk, "check_reachable", lambda access: None)
    monkeypatch.setattr(sdk, "build_workspace_client", lambda access: object())

    def body(module):
        with module.workspace_client("list serving endpoints"):
            raise sdk_errors.PermissionDenied("no access")

    result = _run_module({"host": HOST, "token": TOKEN}, body, capsys)

    assert result["failed"] is True and "HTTP 403: no access" in result["msg"]
