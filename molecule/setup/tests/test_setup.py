"""A fresh laptop after the setup playbook: what the developer would notice."""

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
ENV = (f"HOME={HOME} PATH={HOME}/.local/bin:/usr/local/bin:/usr/bin:/bin DATABRICKS_AUTH_STORAGE=plaintext "
       "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt CLAUDE_CODE_MAX_RETRIES=1")


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
