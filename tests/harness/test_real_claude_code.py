"""The real Claude Code (``claude -p``) against the workspace double.

Each run gets a throwaway HOME with ``~/.claude/settings.json`` (apiKeyHelper,
``env.ANTHROPIC_BASE_URL`` = ``<double>/serving-endpoints/anthropic``, the
model, the coding-agent header, no non-essential traffic, no auto-updater)
and ``~/.claude.json`` with ``hasCompletedOnboarding``; the process
environment has ``NODE_EXTRA_CA_CERTS`` = the double's CA and nothing named
``ANTHROPIC_*``/``CLAUDE_*`` except what a test sets on purpose.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import uuid

import pytest

from workspace_double.pytest_plugin import isolated_env

TIMEOUT = 120
MODEL = "databricks-claude-sonnet-4-6"
PROFILE = "fmapi-test"


class Claude:
    """A throwaway Claude Code installation state (HOME) pointed at the double."""

    def __init__(self, binary: str, double, home: str):
        self.binary = binary
        self.double = double
        self.home = home
        self.workdir = os.path.join(home, "project")
        os.makedirs(self.workdir)
        os.makedirs(os.path.join(home, ".claude"))
        self.helper_log = os.path.join(home, "helper-calls.log")
        with open(os.path.join(home, ".claude.json"), "w", encoding="utf-8") as handle:
            json.dump({"hasCompletedOnboarding": True}, handle)

    def static_helper(self, token: str) -> str:
        """An apiKeyHelper script printing ``token`` and counting its calls."""
        path = os.path.join(self.home, "token-helper.sh")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(f"#!/bin/sh\necho call >> {shlex.quote(self.helper_log)}\nprintf '%s\\n' {shlex.quote(token)}\n")
        os.chmod(path, 0o700)
        return path

    def helper_calls(self) -> int:
        """How often Claude Code ran the helper."""
        if not os.path.exists(self.helper_log):
            return 0
        with open(self.helper_log, encoding="utf-8") as handle:
            return len(handle.readlines())

    def configure(self, helper: str, custom_headers: bool = True, base_path: str = "/serving-endpoints/anthropic"):
        """Write ``~/.claude/settings.json``."""
        env = {
            "ANTHROPIC_BASE_URL": self.double.url + base_path,
            "ANTHROPIC_MODEL": MODEL,
            "ANTHROPIC_DEFAULT_OPUS_MODEL": "databricks-claude-opus-4-6",
            "ANTHROPIC_DEFAULT_SONNET_MODEL": MODEL,
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": "databricks-claude-haiku-4-5",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
        }
        if custom_headers:
            env["ANTHROPIC_CUSTOM_HEADERS"] = "x-databricks-use-coding-agent-mode: true"
        settings = {"apiKeyHelper": helper, "env": env, "permissions": {"deny": ["WebSearch"]}}
        with open(os.path.join(self.home, ".claude", "settings.json"), "w", encoding="utf-8") as handle:
            json.dump(settings, handle, indent=2)

    def run(self, prompt: str = "say hi", **extra_env: str) -> tuple[subprocess.CompletedProcess, dict | None]:
        """``claude -p PROMPT --output-format json``; returns (process, parsed JSON or None)."""
        env = isolated_env(self.home, NODE_EXTRA_CA_CERTS=self.double.ca_file, **extra_env)
        result = subprocess.run([self.binary, "-p", prompt, "--output-format", "json"], cwd=self.workdir, env=env,
                                capture_output=True, text=True, timeout=TIMEOUT, check=False)
        try:
            parsed = json.loads(result.stdout)
        except ValueError:
            parsed = None
        return result, parsed


@pytest.fixture
def claude(claude_cli, workspace_double, tmp_path):
    """A Claude runner with its own HOME."""
    return Claude(claude_cli, workspace_double, str(tmp_path))


def _messages_log(double):
    return [e for e in double.control.requests() if e["path"].endswith("/v1/messages")]


def _describe(result, parsed) -> str:
    return f"exit {result.returncode}\nstdout: {result.stdout[-3000:]}\nstderr: {result.stderr[-3000:]}\nparsed: {parsed}"


def test_claude_print_answers_from_the_double(claude, workspace_double):
    reply = f"Double says hi {uuid.uuid4().hex[:8]}."
    workspace_double.control.update_scenario(reply_text=reply)
    claude.configure(claude.static_helper(workspace_double.control.issue_access_token()))
    result, parsed = claude.run()
    assert result.returncode == 0, _describe(result, parsed)
    assert parsed and parsed["is_error"] is False and parsed["result"] == reply, _describe(result, parsed)
    assert claude.helper_calls() >= 1

    calls = _messages_log(workspace_double)
    assert calls, workspace_double.control.requests()
    for call in calls:
        assert call["path"] == "/serving-endpoints/anthropic/v1/messages"
        assert call["status"] == 200
        assert call["bearer_status"] == "valid" and call["token_kind"] == "oauth"
        assert call["detail"]["auth_source"] == "authorization+x-api-key"
        assert call["detail"]["coding_agent_header"] == "true"
        assert call["headers"]["authorization"] == "REDACTED" and call["headers"]["x-api-key"] == "REDACTED"
    assert calls[-1]["detail"]["model"] == MODEL and calls[-1]["detail"]["stream"] is True
    assert calls[-1]["query"].get("beta") == ["true"]
    assert calls[-1]["headers"]["user-agent"].startswith("claude-cli/")
    unknown = [(e["method"], e["path"]) for e in workspace_double.control.requests() if e["detail"].get("unknown_route")]
    assert unknown == [], f"Claude Code requested routes the double does not serve: {unknown}"


def test_claude_through_ai_gateway_route(claude, workspace_double):
    claude.configure(claude.static_helper(workspace_double.control.issue_access_token()),
                     base_path="/ai-gateway/anthropic")
    result, parsed = claude.run()
    assert parsed and parsed["result"] == "Hello from the FMAPI workspace double.", _describe(result, parsed)
    assert _messages_log(workspace_double)[-1]["path"] == "/ai-gateway/anthropic/v1/messages"


def test_claude_fails_when_every_bearer_is_rejected(claude, workspace_double):
    claude.configure(claude.static_helper(workspace_double.control.issue_access_token()))
    workspace_double.control.add_fault("/serving-endpoints/", reject_all_bearers=True, count=None)
    # Claude Code retries 401s with backoff (about two minutes); no retries keeps this fast.
    result, parsed = claude.run(CLAUDE_CODE_MAX_RETRIES="0")
    assert result.returncode != 0 or (parsed and parsed.get("is_error")), _describe(result, parsed)
    assert parsed is None or parsed.get("result") != "Hello from the FMAPI workspace double."
    if parsed:
        assert parsed.get("api_error_status") == 401
    calls = _messages_log(workspace_double)
    assert calls and all(c["status"] == 401 and c["detail"]["rejected_by_fault"] for c in calls)


def test_claude_reruns_helper_after_a_401(claude, workspace_double):
    claude.configure(claude.static_helper(workspace_double.control.issue_access_token()))
    workspace_double.control.add_fault("/serving-endpoints/", reject_all_bearers=True, count=1)
    result, parsed = claude.run(CLAUDE_CODE_MAX_RETRIES="0")
    assert result.returncode == 0 and parsed and parsed["is_error"] is False, _describe(result, parsed)
    assert [c["status"] for c in _messages_log(workspace_double)][:2] == [401, 200]
    assert claude.helper_calls() >= 2, "a 401 must make Claude Code run the apiKeyHelper again"


def test_claude_without_coding_agent_header_is_rejected(claude, workspace_double):
    claude.configure(claude.static_helper(workspace_double.control.issue_access_token()), custom_headers=False)
    result, parsed = claude.run(CLAUDE_CODE_MAX_RETRIES="0")
    assert result.returncode != 0 or (parsed and parsed.get("is_error")), _describe(result, parsed)
    calls = _messages_log(workspace_double)
    assert calls and all(c["status"] == 400 and c["detail"]["coding_agent_header"] is None for c in calls)


def test_claude_with_databricks_cli_token_helper(claude, workspace_double, databricks_cli, fake_browser):
    """The whole chain: real CLI login via the fake browser, the CLI as apiKeyHelper, real Claude."""
    cli_env = isolated_env(claude.home, SSL_CERT_FILE=workspace_double.ca_file, FMAPI_DOUBLE_CA=workspace_double.ca_file,
                           DATABRICKS_AUTH_STORAGE="plaintext", BROWSER=fake_browser)
    login = subprocess.run([databricks_cli, "auth", "login", "--host", workspace_double.url, "--profile", PROFILE,
                            "--timeout", "60s"], env=cli_env, cwd=claude.home, capture_output=True, text=True,
                           timeout=TIMEOUT, check=False)
    assert login.returncode == 0, login.stderr
    helper = f"{shlex.quote(databricks_cli)} auth token --profile {PROFILE} --force-refresh --output text"
    claude.configure(helper)
    # Server-side expiry of the login's access token: the helper must refresh.
    workspace_double.control.expire_access_tokens()
    workspace_double.control.clear_requests()
    result, parsed = claude.run(SSL_CERT_FILE=workspace_double.ca_file, DATABRICKS_AUTH_STORAGE="plaintext")
    assert result.returncode == 0 and parsed and parsed["result"] == "Hello from the FMAPI workspace double.", \
        _describe(result, parsed)
    log = workspace_double.control.requests()
    grants = [(e["detail"].get("grant_type"), e["status"]) for e in log if e["path"] == "/oidc/v1/token"]
    assert grants and grants[0] == ("refresh_token", 200)
    calls = _messages_log(workspace_double)
    assert calls and calls[-1]["status"] == 200 and calls[-1]["bearer_status"] == "valid"
