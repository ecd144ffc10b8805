"""The real Codex CLI (``codex exec``) against the workspace double.

Each run gets a throwaway HOME and ``CODEX_HOME`` whose ``config.toml`` selects a provider
``databricks`` (``base_url`` = ``<double>/serving-endpoints/codex/v1`` or the AI Gateway route,
``wire_api = "responses"``, no retries so failures are quick) authenticated by a command: a small
script printing tokens the double issued, one per call, and counting its calls.  The process
environment has ``CODEX_CA_CERTIFICATE`` = the double's CA and nothing else of the caller's
(no ``OPENAI_*``/``CODEX_*``).  Plugins and apps are off so Codex stays off the network.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import uuid

import pytest

from workspace_double.pytest_plugin import isolated_env

TIMEOUT = 120
MODEL = "databricks-gpt-5-5"
SERVING = "/serving-endpoints/codex/v1"
GATEWAY = "/ai-gateway/codex/v1"
FALLBACK_WARNING = "Model metadata for"


class Codex:
    """A throwaway Codex CLI state (HOME, CODEX_HOME) pointed at the double."""

    def __init__(self, binary: str, double, home: str):
        self.binary = binary
        self.double = double
        self.home = home
        self.codex_home = os.path.join(home, ".codex")
        self.workdir = os.path.join(home, "project")
        os.makedirs(self.workdir)
        os.makedirs(self.codex_home)
        self.helper_log = os.path.join(home, "helper-calls.log")

    def token_command(self, *tokens: str) -> str:
        """An auth command printing ``tokens`` in turn (the last one again after that)."""
        tokens_file = os.path.join(self.home, "tokens.txt")
        with open(tokens_file, "w", encoding="utf-8") as handle:
            handle.write("".join(token + "\n" for token in tokens))
        path = os.path.join(self.home, "token-command.sh")
        log, source = shlex.quote(self.helper_log), shlex.quote(tokens_file)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(f"#!/bin/sh\necho call >> {log}\nn=$(wc -l < {log} | tr -d ' ')\n"
                         f"token=$(sed -n \"${{n}}p\" {source})\n"
                         f"[ -n \"$token\" ] || token=$(tail -n 1 {source})\nprintf '%s\\n' \"$token\"\n")
        os.chmod(path, 0o700)
        return path

    def failing_command(self, message: str) -> str:
        """An auth command that fails with ``message`` on stderr, as the token helper does."""
        path = os.path.join(self.home, "failing-command.sh")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(f"#!/bin/sh\necho call >> {shlex.quote(self.helper_log)}\n"
                         f"echo {shlex.quote(message)} >&2\nexit 3\n")
        os.chmod(path, 0o700)
        return path

    def command_calls(self) -> int:
        """How often Codex ran the auth command."""
        if not os.path.exists(self.helper_log):
            return 0
        with open(self.helper_log, encoding="utf-8") as handle:
            return len(handle.readlines())

    def configure(self, command: str, base_path: str = SERVING, model: str = MODEL) -> None:
        """Write ``$CODEX_HOME/config.toml``."""
        with open(os.path.join(self.codex_home, "config.toml"), "w", encoding="utf-8") as handle:
            handle.write(f'''model = "{model}"
model_provider = "databricks"

[features]
plugins = false
apps = false

[model_providers.databricks]
name = "Databricks"
base_url = "{self.double.url}{base_path}"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[model_providers.databricks.auth]
command = "{command}"
args = []
timeout_ms = 10000
''')

    def run(self, prompt: str = "say hi", **extra_env: str) -> subprocess.CompletedProcess:
        """``codex exec --skip-git-repo-check PROMPT < /dev/null``: the answer alone is on stdout."""
        env = isolated_env(self.home, CODEX_HOME=self.codex_home, CODEX_CA_CERTIFICATE=self.double.ca_file,
                           **extra_env)
        return subprocess.run([self.binary, "exec", "--skip-git-repo-check", prompt], cwd=self.workdir, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT,
                              check=False)


@pytest.fixture
def codex(codex_cli, workspace_double, tmp_path):
    """A Codex runner with its own HOME."""
    return Codex(codex_cli, workspace_double, str(tmp_path))


def _calls(double, what: str = "/responses"):
    return [e for e in double.control.requests() if e["path"].startswith(("/serving-endpoints/codex/",
                                                                         "/ai-gateway/codex/"))
            and e["path"].endswith(what)]


def _describe(result) -> str:
    return f"exit {result.returncode}\nstdout: {result.stdout[-3000:]}\nstderr: {result.stderr[-5000:]}"


def test_codex_exec_answers_from_the_double(codex, workspace_double):
    control = workspace_double.control
    token = control.issue_access_token()
    codex.configure(codex.token_command(token))

    result = codex.run()

    assert result.returncode == 0, _describe(result)
    assert result.stdout.strip() == control.expected_reply("codex", MODEL, SERVING), _describe(result)
    assert "databricks-gpt-5-5 answered on /serving-endpoints/codex/v1" in result.stdout
    # The /models answer was accepted: no fallback-metadata warning for the configured model.
    assert FALLBACK_WARNING not in result.stderr, _describe(result)
    assert codex.command_calls() >= 1

    calls = _calls(workspace_double)
    assert calls, control.requests()
    for call in calls:
        assert call["method"] == "POST" and call["path"] == SERVING + "/responses"
        assert call["status"] == 200
        assert call["bearer_status"] == "valid" and call["token_kind"] == "oauth"
        assert call["token_fingerprint"] == control.token_fingerprint(token)
        assert call["detail"]["auth_source"] == "authorization"
        assert call["detail"]["model"] == MODEL and call["detail"]["stream"] is True
        assert call["headers"]["authorization"] == "REDACTED"
        assert call["headers"]["originator"] == "codex_exec"
        assert call["headers"]["user-agent"].startswith("codex_exec/" + os.environ.get("FMAPI_CODEX_VERSION", ""))
    models = _calls(workspace_double, "/models")
    assert models and all(m["status"] == 200 and m["token_fingerprint"] == control.token_fingerprint(token)
                          for m in models)
    assert models[0]["detail"]["client_version"] and models[0]["detail"]["returned"] >= 1
    unknown = [(e["method"], e["path"]) for e in control.requests() if e["detail"].get("unknown_route")]
    assert unknown == [], f"Codex requested routes the double does not serve: {unknown}"


def test_codex_reruns_the_auth_command_after_a_401(codex, workspace_double):
    """The first token is expired on the server: Codex runs the command again and retries with the next."""
    control = workspace_double.control
    stale = control.issue_access_token()
    control.expire_access_tokens()
    fresh = control.issue_access_token()
    codex.configure(codex.token_command(stale, fresh))

    result = codex.run()

    assert result.returncode == 0, _describe(result)
    assert result.stdout.strip() == control.expected_reply("codex", MODEL, SERVING), _describe(result)
    calls = _calls(workspace_double)
    seen = [(c["status"], c["bearer_status"], c["token_fingerprint"]) for c in calls]
    assert seen == [(401, "expired", control.token_fingerprint(stale)),
                    (200, "valid", control.token_fingerprint(fresh))], seen
    assert codex.command_calls() >= 2, "a 401 must make Codex run the auth command again"


def test_codex_through_the_ai_gateway_route(codex, workspace_double):
    control = workspace_double.control
    control.update_scenario(agent_reply_text=f"Gateway {uuid.uuid4().hex[:8]}: {{model}} via {{style}}.")
    codex.configure(codex.token_command(control.issue_access_token()), base_path=GATEWAY, model="databricks-gpt-5-2")

    result = codex.run()

    assert result.returncode == 0, _describe(result)
    expected = control.expected_reply("codex", "databricks-gpt-5-2", GATEWAY)
    assert expected.endswith("databricks-gpt-5-2 via ai-gateway.")
    assert result.stdout.strip() == expected, _describe(result)
    calls = _calls(workspace_double)
    assert calls and {c["path"] for c in calls} == {GATEWAY + "/responses"}
    assert calls[-1]["detail"]["model"] == "databricks-gpt-5-2"


def test_codex_fails_on_a_workspace_without_ai_gateway(codex, workspace_double):
    control = workspace_double.control
    control.set_ai_gateway(False)
    codex.configure(codex.token_command(control.issue_access_token()), base_path=GATEWAY)

    result = codex.run()

    assert result.returncode != 0, _describe(result)
    assert "answered on" not in result.stdout
    calls = _calls(workspace_double)
    assert calls and all(c["status"] == 404 and c["detail"]["ai_gateway"] == "disabled" for c in calls)


def test_codex_fails_when_every_bearer_is_rejected(codex, workspace_double):
    control = workspace_double.control
    codex.configure(codex.token_command(control.issue_access_token()))
    control.add_fault("/serving-endpoints/codex/", reject_all_bearers=True, count=None)

    result = codex.run()

    assert result.returncode != 0, _describe(result)
    assert result.stdout.strip() == ""
    assert "401" in result.stderr, _describe(result)
    calls = _calls(workspace_double)
    assert calls and all(c["status"] == 401 and c["detail"]["rejected_by_fault"] for c in calls)
    # One re-run of the command after the 401, then Codex gives up (no retries configured).
    assert len(calls) <= 3, [c["status"] for c in calls]


def test_codex_sends_no_token_when_the_auth_command_fails(codex, workspace_double):
    """Codex logs the command's stderr and sends the request without Authorization: the helper's
    message is the user's only hint, and the workspace answers 401."""
    hint = "fmapi: run `databricks auth login --profile fmapi` again"
    codex.configure(codex.failing_command(hint))

    result = codex.run()

    assert result.returncode != 0, _describe(result)
    assert hint in result.stderr, _describe(result)
    calls = _calls(workspace_double)
    assert calls and all(c["status"] == 401 and c["bearer_status"] == "none" and c["token_fingerprint"] is None
                         for c in calls)
    assert "authorization" not in calls[0]["headers"]


def test_codex_model_the_route_does_not_serve_is_refused(codex, workspace_double):
    """A Claude endpoint does not speak the Responses API: 400 with the reason, Codex fails."""
    control = workspace_double.control
    codex.configure(codex.token_command(control.issue_access_token()), model="databricks-claude-sonnet-4-6")

    result = codex.run()

    assert result.returncode != 0, _describe(result)
    assert "does not support the OpenAI Responses API" in result.stderr, _describe(result)
    calls = _calls(workspace_double)
    assert calls and calls[0]["status"] == 400 and calls[0]["detail"]["model"] == "databricks-claude-sonnet-4-6"
