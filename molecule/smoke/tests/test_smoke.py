"""Verify the smoke scenario: the real tools, in the container, against the workspace double."""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request

import pytest
from workspace_double.control import DoubleClient

USER = "developer"
HOME = "/home/developer"
# One retry, not Claude Code's default minutes of backoff, when the workspace refuses the token.
ENV = (f"HOME={HOME} DATABRICKS_AUTH_STORAGE=plaintext NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt "
       "CLAUDE_CODE_MAX_RETRIES=1")


@pytest.fixture(name="double")
def double_fixture() -> DoubleClient:
    """Client of the workspace double the scenario runs against."""
    return DoubleClient(os.environ["FMAPI_DOUBLE_URL"], os.environ["FMAPI_DOUBLE_CA"])


def workspace_status(double: DoubleClient, token: str) -> int:
    """HTTP status of an authenticated REST call to the workspace with this token."""
    request = urllib.request.Request(f"{double.url}/api/2.0/preview/scim/v2/Me",
                                     headers={"Authorization": f"Bearer {token}"})
    context = ssl.create_default_context(cafile=double.ca_file)
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def run_as_developer(host, command: str):
    """Run a shell command as the developer, from their home directory."""
    return host.run(f"cd {HOME} && env {ENV} runuser -u {USER} -- sh -c {quote(command)}")


def quote(text: str) -> str:
    """Single-quote text for sh."""
    return "'" + text.replace("'", "'\\''") + "'"


def test_settings_and_profile_are_private(host):
    """The hand-written settings and the CLI's profile belong to the developer alone."""
    for path in (f"{HOME}/.claude/settings.json", f"{HOME}/.databrickscfg"):
        target = host.file(path)
        assert target.exists, path
        assert target.user == USER
        assert target.mode == 0o600, f"{path} has mode {oct(target.mode)}"


def test_cli_returns_a_token_the_workspace_accepts(host, double):
    """`databricks auth token` hands out a token the double issued and still accepts."""
    result = run_as_developer(host, "databricks auth token --profile smoke --output json")
    assert result.rc == 0, result.stderr
    token = json.loads(result.stdout)["access_token"]
    assert workspace_status(double, token) == 200


def test_claude_answers_through_the_workspace(host, double):
    """The real `claude -p` gets the double's reply with a bearer token the double issued."""
    double.clear_requests()
    result = run_as_developer(host, "timeout 120 claude -p 'Say hello' --output-format json")
    assert result.rc == 0, f"claude failed: {result.stdout}\n{result.stderr}"
    answer = json.loads(result.stdout)
    assert answer.get("is_error") is False, answer
    assert answer["result"] == double.scenario()["reply_text"]
    messages = [entry for entry in double.requests(path_prefix="/serving-endpoints/anthropic/v1/messages")
                if entry["method"] == "POST"]
    assert messages, "claude sent no request to the workspace"
    assert all(entry["bearer_status"] == "valid" for entry in messages), messages
