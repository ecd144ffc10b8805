"""The real Gemini CLI (``gemini -p``) against the workspace double.

Each run gets a throwaway HOME with ``~/.gemini/settings.json`` selecting the
``gemini-api-key`` auth type (usage statistics off, to stay off the network) and the
environment a launcher exports: ``GOOGLE_GEMINI_BASE_URL`` = ``<double>/serving-endpoints/gemini``
(or the AI Gateway route), ``GEMINI_API_KEY`` = a token the double issued,
``GEMINI_API_KEY_AUTH_MECHANISM=bearer``, ``GEMINI_MODEL``, ``GEMINI_CLI_CUSTOM_HEADERS``,
``GEMINI_CLI_TRUST_WORKSPACE=true``, ``NODE_EXTRA_CA_CERTS`` = the double's CA; nothing else of
the caller's (no ``GEMINI_*``/``GOOGLE_*``).  ``TMPDIR`` is the test's own, where Gemini CLI
leaves its error reports.

Gemini CLI has no token refresh: a 401 ends the run (exit 1) without a second request.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest

from workspace_double.pytest_plugin import isolated_env

TIMEOUT = 120
MODEL = "databricks-gemini-2-5-pro"
SERVING = "/serving-endpoints/gemini"
GATEWAY = "/ai-gateway/gemini"
SETTINGS = {"security": {"auth": {"selectedType": "gemini-api-key"}}, "privacy": {"usageStatisticsEnabled": False}}


class Gemini:
    """A throwaway Gemini CLI state (HOME) pointed at the double."""

    def __init__(self, binary: str, double, home: str):
        self.binary = binary
        self.double = double
        self.home = home
        self.workdir = os.path.join(home, "project")
        self.tmpdir = os.path.join(home, "tmp")
        for path in (self.workdir, self.tmpdir, os.path.join(home, ".gemini")):
            os.makedirs(path)

    def write_settings(self, settings: dict | None = None) -> None:
        """Write ``~/.gemini/settings.json`` (the default selects the API-key auth type)."""
        with open(os.path.join(self.home, ".gemini", "settings.json"), "w", encoding="utf-8") as handle:
            json.dump(SETTINGS if settings is None else settings, handle, indent=2)

    def launcher_env(self, token: str, base_path: str = SERVING, model: str = MODEL) -> dict:
        """What the collection's launcher exports before it execs ``gemini``."""
        return {
            "GOOGLE_GEMINI_BASE_URL": self.double.url + base_path,
            "GEMINI_API_KEY": token,
            "GEMINI_API_KEY_AUTH_MECHANISM": "bearer",
            "GEMINI_MODEL": model,
            "GEMINI_CLI_CUSTOM_HEADERS": "x-databricks-use-coding-agent-mode: true",
            "GEMINI_CLI_TRUST_WORKSPACE": "true",
        }

    def run(self, env: dict, prompt: str = "say hi") -> subprocess.CompletedProcess:
        """``gemini -p PROMPT < /dev/null``: the answer alone is on stdout."""
        full_env = isolated_env(self.home, NODE_EXTRA_CA_CERTS=self.double.ca_file, TMPDIR=self.tmpdir, **env)
        return subprocess.run([self.binary, "-p", prompt], cwd=self.workdir, env=full_env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=TIMEOUT, check=False)


@pytest.fixture
def gemini(gemini_cli, workspace_double, tmp_path):
    """A Gemini runner with its own HOME and the API-key settings."""
    runner = Gemini(gemini_cli, workspace_double, str(tmp_path))
    runner.write_settings()
    return runner


def _calls(double):
    return [e for e in double.control.requests() if e["path"].startswith(("/serving-endpoints/gemini/",
                                                                         "/ai-gateway/gemini/"))]


def _describe(result) -> str:
    return f"exit {result.returncode}\nstdout: {result.stdout[-3000:]}\nstderr: {result.stderr[-5000:]}"


def test_gemini_prompt_answers_from_the_double(gemini, workspace_double):
    control = workspace_double.control
    token = control.issue_access_token()

    result = gemini.run(gemini.launcher_env(token))

    assert result.returncode == 0, _describe(result)
    assert result.stdout.strip() == control.expected_reply("gemini", MODEL, SERVING), _describe(result)
    assert "databricks-gemini-2-5-pro answered on /serving-endpoints/gemini" in result.stdout
    calls = _calls(workspace_double)
    assert len(calls) == 1, [(c["method"], c["path"], c["status"]) for c in calls]
    call = calls[0]
    assert call["method"] == "POST"
    assert call["path"] == f"{SERVING}/v1beta/models/{MODEL}:streamGenerateContent"
    assert call["query"] == {"alt": ["sse"]} and call["status"] == 200
    assert call["bearer_status"] == "valid" and call["token_fingerprint"] == control.token_fingerprint(token)
    # Both headers carry the same token; only the bearer counts.
    assert call["detail"]["auth_source"] == "authorization+x-goog-api-key"
    assert "api_key_differs" not in call["detail"]
    assert call["headers"]["authorization"] == call["headers"]["x-goog-api-key"] == "REDACTED"
    assert call["detail"]["model"] == MODEL and call["detail"]["coding_agent_header"] == "true"
    assert call["headers"]["user-agent"].startswith("GeminiCLI")
    assert os.environ.get("FMAPI_GEMINI_VERSION", "") in call["headers"]["user-agent"]
    unknown = [(e["method"], e["path"]) for e in control.requests() if e["detail"].get("unknown_route")]
    assert unknown == [], f"Gemini CLI requested routes the double does not serve: {unknown}"


def test_gemini_through_the_ai_gateway_route(gemini, workspace_double):
    control = workspace_double.control
    control.update_scenario(agent_reply_text=f"Gateway {uuid.uuid4().hex[:8]}: {{model}} via {{style}}.")
    model = "databricks-gemini-2-5-flash"

    result = gemini.run(gemini.launcher_env(control.issue_access_token(), GATEWAY, model))

    assert result.returncode == 0, _describe(result)
    expected = control.expected_reply("gemini", model, GATEWAY)
    assert expected.endswith(f"{model} via ai-gateway.") and result.stdout.strip() == expected, _describe(result)
    calls = _calls(workspace_double)
    assert [c["path"] for c in calls] == [f"{GATEWAY}/v1beta/models/{model}:streamGenerateContent"]


def test_gemini_does_not_retry_after_a_401(gemini, workspace_double):
    """An expired token is fatal: exit 1 after exactly one request (no refresh, no re-read of the key)."""
    control = workspace_double.control
    token = control.issue_access_token()
    control.expire_access_tokens()

    result = gemini.run(gemini.launcher_env(token))

    assert result.returncode != 0, _describe(result)
    assert "answered on" not in result.stdout
    assert "401" in result.stderr and "expired" in result.stderr, _describe(result)
    calls = _calls(workspace_double)
    assert [(c["status"], c["bearer_status"]) for c in calls] == [(401, "expired")]


def test_gemini_without_the_bearer_mechanism_is_refused(gemini, workspace_double):
    """Without GEMINI_API_KEY_AUTH_MECHANISM=bearer only x-goog-api-key is sent, which the workspace refuses."""
    control = workspace_double.control
    env = gemini.launcher_env(control.issue_access_token())
    del env["GEMINI_API_KEY_AUTH_MECHANISM"]

    result = gemini.run(env)

    assert result.returncode != 0, _describe(result)
    calls = _calls(workspace_double)
    assert len(calls) == 1 and calls[0]["status"] == 401
    assert calls[0]["detail"]["auth_source"] == "x-goog-api-key" and calls[0]["bearer_status"] == "none"


def test_gemini_needs_the_selected_auth_type(gemini, workspace_double):
    """With GOOGLE_GEMINI_BASE_URL but no selectedType Gemini CLI picks its `gateway` auth type and
    refuses to start in -p mode (exit 41): the settings file is part of the setup."""
    gemini.write_settings({})

    result = gemini.run(gemini.launcher_env(workspace_double.control.issue_access_token()))

    assert result.returncode == 41, _describe(result)
    assert "Invalid auth method selected." in result.stderr
    assert _calls(workspace_double) == []


def test_gemini_model_the_route_does_not_serve_is_refused(gemini, workspace_double):
    control = workspace_double.control

    result = gemini.run(gemini.launcher_env(control.issue_access_token(), model="databricks-gpt-5-5"))

    assert result.returncode != 0, _describe(result)
    assert "does not support the Gemini generateContent API" in result.stderr, _describe(result)
    calls = _calls(workspace_double)
    assert [c["status"] for c in calls] == [400]
