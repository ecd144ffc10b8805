"""A fresh laptop after the setup playbook: what the developer would notice."""

from __future__ import annotations

import json
import os
import ssl
import tomllib
import urllib.error
import urllib.request

import pytest
from workspace_double.control import DoubleClient

USER = "developer"
HOME = "/home/developer"
# The laptop's trust store, which has the workspace's CA (prepare.yml).
TRUST = "/etc/ssl/certs/ca-certificates.crt"
ENV = (f"HOME={HOME} PATH={HOME}/.local/bin:/usr/local/bin:/usr/bin:/bin DATABRICKS_AUTH_STORAGE=plaintext "
       f"NODE_EXTRA_CA_CERTS={TRUST} CLAUDE_CODE_MAX_RETRIES=1")
# The laptop that gets all three agents (molecule.yml); the other one only Claude Code.
AGENTS_LAPTOP = "fmapi-laptop-trixie"
CODEX_MODEL = "databricks-gpt-5-5"
CODEX_ROUTE = "/serving-endpoints/codex/v1"
GEMINI_MODEL = "databricks-gemini-2-5-pro"
GEMINI_ROUTE = "/serving-endpoints/gemini"
CODEX_EXEC = f"CODEX_CA_CERTIFICATE={TRUST} timeout 180 codex exec --skip-git-repo-check 'say hi' < /dev/null"
GEMINI_PROMPT = "GEMINI_CLI_TRUST_WORKSPACE=true timeout 180 gemini -p 'say hi' < /dev/null"


@pytest.fixture(name="double")
def double_fixture() -> DoubleClient:
    """Client of the workspace double the scenario runs against."""
    return DoubleClient(os.environ["FMAPI_DOUBLE_URL"], os.environ["FMAPI_DOUBLE_CA"])


def quote(text: str) -> str:
    """Single-quote text for sh."""
    return "'" + text.replace("'", "'\\''") + "'"


def as_developer(host, command: str):
    """Run a shell command as the developer (the inventory connects as them) with a clean environment."""
    return host.run(f"cd {HOME} && env -i {ENV} sh -c {quote(command)}")


def workspace_status(double: DoubleClient, token: str) -> int:
    """HTTP status of an authenticated REST call to the workspace with this token."""
    request = urllib.request.Request(f"{double.url}/api/2.0/preview/scim/v2/Me",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30,
                                    context=ssl.create_default_context(cafile=double.ca_file)) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def settings(host) -> dict:
    return json.loads(host.file(f"{HOME}/.claude/settings.json").content_string)


def test_tools_are_installed_for_the_developer(host):
    for tool, expected in (("claude", "(Claude Code)"), ("databricks", "Databricks CLI v")):
        result = as_developer(host, f"{tool} --version")
        assert result.rc == 0, result.stderr
        assert expected in result.stdout


def test_files_have_private_modes(host):
    for path, mode in ((f"{HOME}/.claude/settings.json", 0o600), (f"{HOME}/.local/share/fmapi-coding-agents/fmapi-token-helper", 0o700),
                       (f"{HOME}/.databrickscfg", 0o600)):
        target = host.file(path)
        assert target.exists, path
        assert target.user == USER, path
        assert target.mode == mode, f"{path} has mode {oct(target.mode)}"


def test_settings_point_claude_code_at_the_workspace(host, double):
    env = settings(host)["env"]
    assert env["ANTHROPIC_BASE_URL"] == f"{double.url}/serving-endpoints/anthropic"
    assert env["ANTHROPIC_CUSTOM_HEADERS"] == "x-databricks-use-coding-agent-mode: true"
    assert env["CLAUDE_CODE_API_KEY_HELPER_TTL_MS"] == "1800000"
    assert "ANTHROPIC_AUTH_TOKEN" not in env


def test_the_developers_own_settings_survive(host):
    if host.backend.get_hostname() != "fmapi-laptop-trixie":
        pytest.skip("only the trixie laptop had settings of its own")
    data = settings(host)
    assert data["theme"] == "dark"
    assert data["permissions"]["allow"] == ["Bash(git status:*)"]
    assert data["env"]["EDITOR"] == "vim"


def test_the_helper_prints_a_token_the_workspace_accepts(host, double):
    helper = settings(host)["apiKeyHelper"]
    result = as_developer(host, helper)
    assert result.rc == 0, result.stderr
    token = result.stdout.strip()
    assert token and "\n" not in token
    assert workspace_status(double, token) == 200


def test_claude_answers_through_the_workspace_with_the_plugin_loaded(host, double):
    double.clear_requests()
    result = as_developer(host, "timeout 180 claude -p 'Say hello' --output-format stream-json --verbose")
    assert result.rc == 0, f"{result.stdout}\n{result.stderr}"
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    init = next(event for event in events if event.get("type") == "system" and event.get("subtype") == "init")
    final = next(event for event in events if event.get("type") == "result")
    assert final["is_error"] is False, final
    assert final["result"] == double.scenario()["reply_text"]
    assert init["apiKeySource"] == "apiKeyHelper"
    assert any(plugin.get("name") == "fmapi-coding-agents" for plugin in init.get("plugins", [])), init.get("plugins")
    assert {"fmapi-coding-agents:status", "fmapi-coding-agents:doctor"} <= set(init["slash_commands"])
    assert "WebSearch" not in init["tools"]
    posts = [entry for entry in double.requests(path_prefix="/serving-endpoints/anthropic/v1/messages")
             if entry["method"] == "POST"]
    assert posts and all(entry["bearer_status"] == "valid" for entry in posts), posts


def test_setup_installs_no_system_package_it_does_not_use(host):
    # jq and unzip were installed with sudo by earlier releases, and nothing used them; the CLI's
    # release zip is unpacked with Python's zipfile.
    for package in ("jq", "unzip"):
        assert not host.package(package).is_installed, package


# ---------------------------------------------------------------------- Codex CLI and Gemini CLI
# These run last on the laptop with all three agents (testinfra runs a module's tests host by host, in
# name order): they expire every access token the workspace issued.

def agents_laptop(host) -> None:
    if host.backend.get_hostname() != AGENTS_LAPTOP:
        pytest.skip("only the trixie laptop has Codex CLI and Gemini CLI")


def model_calls(double: DoubleClient, route: str) -> list:
    """What the agents sent to a model route: (status, the token's status, its kind) per request."""
    return [(entry["status"], entry["bearer_status"], entry["token_kind"])
            for entry in double.requests(path_prefix=route) if entry["method"] == "POST"]


def answers_with_a_token_the_workspace_issued(result, expected: str, calls: list) -> None:
    assert result.rc == 0, f"{result.stdout}\n{result.stderr[-3000:]}"
    assert result.stdout.strip() == expected, result.stderr[-3000:]
    # "valid": signed by this workspace, neither expired nor revoked; "oauth": the OAuth session's, not a PAT.
    assert calls and calls[-1] == (200, "valid", "oauth"), calls


def test_codex_and_gemini_are_installed_for_the_developer(host):
    agents_laptop(host)
    for command, expected in (("codex --version", "codex-cli " + os.environ.get("FMAPI_CODEX_VERSION", "")),
                              (f"{HOME}/.local/share/fmapi-coding-agents/gemini-cli/bin/gemini --version",
                               os.environ.get("FMAPI_GEMINI_VERSION", ""))):
        result = as_developer(host, command)
        assert result.rc == 0, result.stderr
        assert result.stdout.strip().startswith(expected), result.stdout
    # `gemini` is the launcher; the real Gemini CLI is not on PATH.
    assert as_developer(host, "command -v gemini").stdout.strip() == f"{HOME}/.local/bin/gemini"


def test_the_developers_own_codex_and_gemini_settings_stay_beside_ours(host, double):
    agents_laptop(host)
    text = host.file(f"{HOME}/.codex/config.toml").content_string
    assert text.startswith("# Codex CLI as I set it up myself.\n")
    config = tomllib.loads(text)
    assert (config["model"], config["model_provider"]) == (CODEX_MODEL, "databricks")
    assert config["approval_policy"] == "on-request"
    providers = config["model_providers"]
    assert providers["mine"]["base_url"] == "https://llm-proxy.example.com/v1" and "local" in providers
    assert providers["databricks"]["base_url"] == double.url + CODEX_ROUTE
    assert providers["databricks"]["auth"]["command"] == f"{HOME}/.local/share/fmapi-coding-agents/fmapi-token-helper"
    gemini = json.loads(host.file(f"{HOME}/.gemini/settings.json").content_string)
    assert gemini["security"]["auth"]["selectedType"] == "gemini-api-key"
    assert gemini["ui"] == {"theme": "GitHub"} and gemini["general"] == {"vimMode": True}


def test_codex_answers_through_the_workspace(host, double):
    agents_laptop(host)
    double.clear_requests()
    result = as_developer(host, CODEX_EXEC)
    answers_with_a_token_the_workspace_issued(result, double.expected_reply("codex", CODEX_MODEL, CODEX_ROUTE),
                                              model_calls(double, CODEX_ROUTE + "/responses"))


def test_gemini_answers_through_the_launcher(host, double):
    agents_laptop(host)
    double.clear_requests()
    result = as_developer(host, GEMINI_PROMPT)
    answers_with_a_token_the_workspace_issued(result, double.expected_reply("gemini", GEMINI_MODEL, GEMINI_ROUTE),
                                              model_calls(double, GEMINI_ROUTE))


def test_claude_still_answers_after_the_access_token_expired(host, double):
    agents_laptop(host)
    double.expire_access_tokens()
    double.clear_requests()
    result = as_developer(host, "CLAUDE_CODE_MAX_RETRIES=3 timeout 180 claude -p 'Say hello' --output-format json")
    assert result.rc == 0, f"{result.stdout}\n{result.stderr}"
    assert json.loads(result.stdout)["result"] == double.scenario()["reply_text"]
    calls = model_calls(double, "/serving-endpoints/anthropic/v1/messages")
    assert calls and calls[-1] == (200, "valid", "oauth"), calls


def test_codex_still_answers_through_its_401_retry_after_the_access_token_expired(host, double):
    agents_laptop(host)
    double.expire_access_tokens()
    # The helper checks a token with the workspace only when asked for it again within two minutes (what an
    # agent does after a 401). Without its record of the last token it served, as on a laptop where that was
    # long ago, it hands Codex the CLI's cached token, which the workspace no longer accepts.
    host.run(f"rm -f {HOME}/.local/share/fmapi-coding-agents/.fmapi-token-helper.state")
    double.clear_requests()
    result = as_developer(host, CODEX_EXEC)
    calls = model_calls(double, CODEX_ROUTE + "/responses")
    answers_with_a_token_the_workspace_issued(result, double.expected_reply("codex", CODEX_MODEL, CODEX_ROUTE), calls)
    assert calls == [(401, "expired", "oauth"), (200, "valid", "oauth")], calls


def test_gemini_still_answers_on_a_fresh_launch_after_the_access_token_expired(host, double):
    agents_laptop(host)
    double.expire_access_tokens()
    double.clear_requests()
    result = as_developer(host, GEMINI_PROMPT)
    calls = model_calls(double, GEMINI_ROUTE)
    answers_with_a_token_the_workspace_issued(result, double.expected_reply("gemini", GEMINI_MODEL, GEMINI_ROUTE),
                                              calls)
    # Gemini CLI does not retry a 401: the launcher had the helper check the token before Gemini started.
    assert calls == [(200, "valid", "oauth")], calls
