"""The real Databricks CLI (Go) against the workspace double: U2M login with
PKCE through the fake browser, ``auth token``, refresh-token rotation and an
invalidated session.

Every CLI run gets a throwaway HOME, ``SSL_CERT_FILE`` = the double's CA,
``DATABRICKS_AUTH_STORAGE=plaintext`` and no other ``DATABRICKS_*`` variable.
"""

from __future__ import annotations

import configparser
import json
import os
import shlex
import subprocess
import sys

import pytest
import requests

from workspace_double.pytest_plugin import isolated_env
from workspace_double.tokens import decode_jwt_claims_unverified

PROFILE = "fmapi-test"
TIMEOUT = 90
HARNESS = os.path.dirname(os.path.abspath(__file__))


class Cli:
    """Runs the real CLI in an isolated HOME."""

    def __init__(self, binary: str, double, home, fake_browser: str):
        self.binary = binary
        self.double = double
        self.home = home
        self.env = isolated_env(
            home,
            SSL_CERT_FILE=double.ca_file,
            FMAPI_DOUBLE_CA=double.ca_file,
            DATABRICKS_AUTH_STORAGE="plaintext",
            BROWSER=fake_browser,
        )

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``databricks ARGS`` with a timeout; fail with its output on error."""
        result = subprocess.run([self.binary, *args], env=self.env, cwd=self.home, capture_output=True, text=True,
                                timeout=TIMEOUT, check=False)
        if check and result.returncode != 0:
            pytest.fail(f"databricks {' '.join(args)} exited {result.returncode}\n"
                        f"stdout: {result.stdout}\nstderr: {result.stderr}")
        return result

    def login(self) -> subprocess.CompletedProcess:
        """``databricks auth login --host URL --profile PROFILE`` (bounded by --timeout too)."""
        return self.run("auth", "login", "--host", self.double.url, "--profile", PROFILE, "--timeout", "60s")

    def token(self, *extra: str) -> str:
        """The access token printed by ``databricks auth token``."""
        result = self.run("auth", "token", "--profile", PROFILE, *extra)
        return json.loads(result.stdout)["access_token"]

    def cached_refresh_tokens(self) -> dict:
        """Cache key -> refresh token, from the CLI's plaintext token cache.

        CLI 1.12 writes the login under the profile name *and* (for older
        SDKs) under the host URL; refreshes only update the profile entry.
        """
        with open(os.path.join(self.home, ".databricks", "token-cache.json"), encoding="utf-8") as handle:
            cache = json.load(handle)
        return {key: entry.get("refresh_token") for key, entry in cache["tokens"].items()}


@pytest.fixture
def cli(databricks_cli, workspace_double, tmp_path, fake_browser):
    """A CLI runner with its own HOME."""
    home = tmp_path / "home"
    home.mkdir()
    return Cli(databricks_cli, workspace_double, str(home), fake_browser)


def _me_status(double, token: str) -> int:
    session = requests.Session()
    session.trust_env = False
    response = session.get(f"{double.url}/api/2.0/preview/scim/v2/Me", headers={"Authorization": f"Bearer {token}"},
                           verify=double.ca_file, timeout=10)
    return response.status_code


def test_cli_version(cli):
    assert cli.run("--version").stdout.strip().startswith("Databricks CLI v")


def test_login_runs_pkce_flow_and_token_is_accepted(cli, workspace_double):
    result = cli.login()
    assert f"Profile {PROFILE} was successfully saved" in result.stdout + result.stderr

    config = configparser.ConfigParser()
    config.read(os.path.join(cli.home, ".databrickscfg"))
    assert config[PROFILE]["host"] == workspace_double.url
    assert config[PROFILE]["auth_type"] == "databricks-cli"
    cache_file = os.path.join(cli.home, ".databricks", "token-cache.json")
    assert os.stat(cache_file).st_mode & 0o077 == 0, "the token cache must be private"

    log = workspace_double.control.requests()
    flow = [(e["method"], e["path"], e["status"]) for e in log]
    assert ("GET", "/oidc/.well-known/oauth-authorization-server", 200) in flow
    authorize = [e for e in log if e["path"] == "/oidc/v1/authorize"]
    token_calls = [e for e in log if e["path"] == "/oidc/v1/token"]
    assert len(authorize) == 1 and len(token_calls) == 1
    assert authorize[0]["status"] == 302
    assert authorize[0]["detail"]["client_id"] == "databricks-cli"
    assert authorize[0]["detail"]["code_challenge_method"] == "S256"
    assert authorize[0]["detail"]["code_challenge"] == "present"
    assert authorize[0]["detail"]["redirect_uri"].startswith("http://localhost:80")
    assert "offline_access" in authorize[0]["detail"]["scope"].split()
    assert token_calls[0]["status"] == 200
    assert token_calls[0]["detail"]["grant_type"] == "authorization_code"
    assert token_calls[0]["detail"]["pkce"] == "verified"
    assert token_calls[0]["detail"]["redirect_uri"] == authorize[0]["detail"]["redirect_uri"]
    assert token_calls[0]["headers"]["user-agent"].startswith("cli/")
    assert flow.index(("GET", "/oidc/v1/authorize", 302)) < flow.index(("POST", "/oidc/v1/token", 200))

    token = cli.token()
    claims = decode_jwt_claims_unverified(token)
    assert claims["iss"] == f"{workspace_double.url}/oidc" and claims["sub"] == "developer@example.com"
    assert _me_status(workspace_double, token) == 200
    assert cli.run("auth", "token", "--profile", PROFILE, "--output", "text").stdout.strip() == token

    # The CLI's own API calls work with the login.
    listed = json.loads(cli.run("serving-endpoints", "list", "--profile", PROFILE, "--output", "json").stdout)
    assert "databricks-claude-sonnet-4-6" in [e["name"] for e in listed]
    assert workspace_double.control.requests("/api/2.0/serving-endpoints")[-1]["bearer_status"] == "valid"


def test_login_with_python_fake_browser(cli, workspace_double, tmp_path):
    """``python -m workspace_double browser`` works as BROWSER (through a wrapper: BROWSER is one path)."""
    wrapper = tmp_path / "py-browser"
    wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={shlex.quote(HARNESS)} exec {shlex.quote(sys.executable)} "
                       '-m workspace_double browser "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    cli.env["BROWSER"] = str(wrapper)
    cli.login()
    assert _me_status(workspace_double, cli.token()) == 200
    authorize = workspace_double.control.requests("/oidc/v1/authorize")
    assert authorize[-1]["headers"]["user-agent"].startswith("workspace-double-fake-browser/")


def test_force_refresh_rotates_refresh_token(cli, workspace_double):
    cli.login()
    first = cli.token()
    after_login = cli.cached_refresh_tokens()
    first_refresh = after_login[PROFILE]
    assert set(after_login.values()) == {first_refresh}
    workspace_double.control.expire_access_tokens()
    assert _me_status(workspace_double, first) == 401

    # The CLI cannot know the server expired it: without --force-refresh it
    # returns the cached token, which the double now rejects.
    assert cli.token() == first

    workspace_double.control.clear_requests()
    second = cli.token("--force-refresh")
    assert second != first
    assert _me_status(workspace_double, second) == 200
    refreshes = workspace_double.control.requests("/oidc/v1/token")
    assert [(e["detail"]["grant_type"], e["status"]) for e in refreshes] == [("refresh_token", 200)]

    after_refresh = cli.cached_refresh_tokens()
    assert after_refresh[PROFILE] != first_refresh, "the refresh token must rotate"
    # The host-keyed copy is left behind, holding the now-dead refresh token.
    assert after_refresh.get(workspace_double.url) in (None, first_refresh)
    replay = requests.post(f"{workspace_double.url}/oidc/v1/token", verify=workspace_double.ca_file, timeout=10,
                           data={"grant_type": "refresh_token", "refresh_token": first_refresh,
                                 "client_id": "databricks-cli"})
    assert replay.status_code == 401 and replay.json()["error_description"] == "Refresh token is invalid"
    # And the rotated one keeps working.
    assert cli.token("--force-refresh") not in (first, second)


def test_short_lived_tokens_are_refreshed_without_force(cli, workspace_double):
    # The CLI refreshes proactively when less than 5 minutes are left.
    workspace_double.control.update_scenario(access_token_ttl_seconds=120)
    cli.login()
    workspace_double.control.clear_requests()
    first = cli.token()
    second = cli.token()
    assert first != second
    grants = [e["detail"]["grant_type"] for e in workspace_double.control.requests("/oidc/v1/token")]
    assert grants == ["refresh_token", "refresh_token"]
    assert _me_status(workspace_double, second) == 200


def test_invalidated_refresh_token_asks_for_login(cli, workspace_double):
    cli.login()
    cli.token()
    workspace_double.control.invalidate_refresh_tokens()
    result = cli.run("auth", "token", "--profile", PROFILE, "--force-refresh", check=False)
    assert result.returncode == 1
    assert "refresh token is invalid" in result.stderr
    assert f"databricks auth login --profile {PROFILE}" in result.stderr
    last = workspace_double.control.requests("/oidc/v1/token")[-1]
    assert (last["status"], last["detail"]["error"]) == (401, "invalid_request")

    # Logging in again repairs it.
    cli.login()
    assert _me_status(workspace_double, cli.token("--force-refresh")) == 200


def test_login_fails_when_token_endpoint_fails(cli, workspace_double):
    workspace_double.control.add_fault("/oidc/v1/token", status=500, count=None)
    result = cli.run("auth", "login", "--host", workspace_double.url, "--profile", PROFILE, "--timeout", "30s",
                     check=False)
    assert result.returncode != 0
    cache = os.path.join(cli.home, ".databricks", "token-cache.json")
    if os.path.exists(cache):
        with open(cache, encoding="utf-8") as handle:
            assert "access_token" not in handle.read()
    assert [e["status"] for e in workspace_double.control.requests("/oidc/v1/token")] == [500]


def test_python_sdk_uses_the_cli_login(cli, workspace_double, monkeypatch):
    """databricks-sdk with auth_type=databricks-cli shells out to the real CLI."""
    from databricks.sdk import WorkspaceClient  # pylint: disable=import-outside-toplevel
    from databricks.sdk.config import Config  # pylint: disable=import-outside-toplevel

    cli.login()
    for name in list(os.environ):
        if name.startswith("DATABRICKS_"):
            monkeypatch.delenv(name)
    for key, value in cli.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", workspace_double.ca_file)
    monkeypatch.setenv("PATH", os.path.dirname(cli.binary) + os.pathsep + cli.env["PATH"])
    config = Config(profile=PROFILE, auth_type="databricks-cli", databricks_cli_path=cli.binary,
                    retry_timeout_seconds=15)
    w = WorkspaceClient(config=config)
    assert w.current_user.me().user_name == "developer@example.com"
    me_calls = workspace_double.control.requests("/api/2.0/preview/scim/v2/Me")
    assert me_calls[-1]["bearer_status"] == "valid" and me_calls[-1]["token_kind"] == "oauth"
