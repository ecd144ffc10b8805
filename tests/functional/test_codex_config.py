"""codex_config run by Ansible on a developer's config.toml, then the real Codex CLI (``codex exec``) answering
through the workspace double with a token the real token helper got from it, then the file given back."""

from __future__ import annotations

import os
import subprocess

import pytest
from functional_support import cached_tokens, cli_login
from workspace_double.pytest_plugin import codex_cli, isolated_env  # noqa: F401 pylint: disable=unused-import

PROFILE = "fmapi-dev"
MODEL = "databricks-gpt-5-5"
SERVING = "/serving-endpoints/codex/v1"
TIMEOUT = 180

# A Codex user's config.toml: comments, their own model, another provider with an inline table, a profile, an MCP
# server, a trusted project. Plugins and apps are off (Codex stays off the network), as a user may have it.
USER_CONFIG = '''# ~/.codex/config.toml
model = "gpt-5-codex"  # my default
approval_policy = "never"
sandbox_mode = "read-only"

[features]
plugins = false
apps = false

# A local model for the plane
[model_providers.llama-server]
name = "Ollama"
base_url = "http://localhost:11434/v1"
http_headers = { "X-Client" = "laptop" }

[profiles.offline]
model = "qwen3-coder"
model_provider = "llama-server"

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-mcp@1.2.3"]

[projects."/home/developer/src/app"]
trust_level = "trusted"
'''


def codex_home(home: str) -> str:
    return os.path.join(home, ".codex")


def config_path(home: str) -> str:
    return os.path.join(codex_home(home), "config.toml")


def write_config(home: str, text: str) -> None:
    os.makedirs(codex_home(home), exist_ok=True)
    with open(config_path(home), "w", encoding="utf-8") as handle:
        handle.write(text)


def read_config(home: str) -> str:
    with open(config_path(home), encoding="utf-8") as handle:
        return handle.read()


def codex_env(double, home: str) -> dict:
    """What Codex runs with on the laptop: its home, the double's CA (for Codex and for the Databricks CLI that the
    token helper runs), the CLI's plaintext token cache."""
    return isolated_env(home, CODEX_HOME=codex_home(home), CODEX_CA_CERTIFICATE=double.ca_file,
                        SSL_CERT_FILE=double.ca_file, DATABRICKS_AUTH_STORAGE="plaintext")


def codex_exec(codex: str, double, home: str, prompt: str = "say hi") -> subprocess.CompletedProcess:
    """``codex exec`` as a user types it, without retries (a test config choice, given as -c, not in the file)."""
    workdir = os.path.join(home, "project")
    os.makedirs(workdir, exist_ok=True)
    command = [codex, "exec", "--skip-git-repo-check", "-c", "model_providers.databricks.request_max_retries=0",
               "-c", "model_providers.databricks.stream_max_retries=0", prompt]
    return subprocess.run(command, cwd=workdir, env=codex_env(double, home), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)


def codex_loads(codex: str, double, home: str) -> str:
    """What Codex says loading the configuration: '' when it loads, else its error."""
    completed = subprocess.run([codex, "login", "status"], env=codex_env(double, home), stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=60, check=False)
    output = completed.stdout + completed.stderr
    return output if "Error loading configuration" in output or "failed to load" in output else ""


@pytest.fixture(autouse=True)
def codex_home_of_the_laptop(run_module, laptop_home):
    """Codex's folder of the developer, whatever CODEX_HOME the machine running the tests has."""
    run_module.env["CODEX_HOME"] = codex_home(laptop_home)


@pytest.fixture(name="token_helper")
def token_helper_fixture(laptop, laptop_home, workspace_double, databricks_cli, fake_browser) -> str:
    """The real token helper (token_helper module) for a profile logged in to the double; returns its path."""
    cli_login(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)
    result = laptop("token_helper", {"profile": PROFILE, "host": workspace_double.url,
                                     "databricks_cli": databricks_cli})
    return result["path"]


def describe(completed: subprocess.CompletedProcess) -> str:
    return f"exit {completed.returncode}\nstdout: {completed.stdout[-2000:]}\nstderr: {completed.stderr[-4000:]}"


def test_codex_answers_through_the_workspace_with_the_helpers_token_and_absent_gives_the_file_back(
        laptop, laptop_home, workspace_double, token_helper, codex_cli):  # noqa: F811 pylint: disable=W0621
    control = workspace_double.control
    write_config(laptop_home, USER_CONFIG)

    result = laptop("codex_config", {"host": workspace_double.url, "auth_command": token_helper})

    assert result["changed"] is True
    text = read_config(laptop_home)
    assert text.startswith('# ~/.codex/config.toml\nmodel = "databricks-gpt-5-5"  # my default\n'
                           'approval_policy = "never"\nsandbox_mode = "read-only"\nmodel_provider = "databricks"\n')
    for line in USER_CONFIG.splitlines()[2:]:
        assert line in text.splitlines(), line
    control.clear_requests()

    answer = codex_exec(codex_cli, workspace_double, laptop_home)

    assert answer.returncode == 0, describe(answer)
    assert answer.stdout.strip() == control.expected_reply("codex", MODEL, SERVING), describe(answer)
    calls = [call for call in control.requests(path_prefix=SERVING) if call["path"] == SERVING + "/responses"]
    assert calls and all(call["status"] == 200 for call in calls), calls
    issued = {control.token_fingerprint(token) for token in cached_tokens(laptop_home)}
    for call in calls:
        # The token the real helper printed: one the double issued to the CLI's login.
        assert call["bearer_status"] == "valid" and call["token_kind"] == "oauth"
        assert call["token_fingerprint"] in issued

    removed = laptop("codex_config", {"state": "absent"})
    again = laptop("codex_config", {"state": "absent"})

    assert removed["changed"] is True and removed["restored_keys"] == ["model"]
    with open(config_path(laptop_home), "rb") as handle:
        assert handle.read() == USER_CONFIG.encode("utf-8")
    assert not os.path.exists(os.path.join(codex_home(laptop_home), ".config.toml.fmapi-state.json"))
    assert again["changed"] is False
    assert codex_loads(codex_cli, workspace_double, laptop_home) == ""


def test_an_older_setups_env_key_goes_so_that_codex_loads_the_provider(laptop, laptop_home, workspace_double,
                                                                      token_helper, codex_cli):  # noqa: F811
    older = ('model = "databricks-gpt-5-5"\nmodel_provider = "databricks"\n\n[model_providers.databricks]\n'
             'name = "Databricks"\nbase_url = "%s/serving-endpoints/openai/v1"\nenv_key = "DATABRICKS_TOKEN"\n'
             % workspace_double.url)
    write_config(laptop_home, older)
    with open(config_path(laptop_home), "a", encoding="utf-8") as handle:
        handle.write('\n[model_providers.databricks.auth]\ncommand = "%s"\n' % token_helper)
    assert "cannot be combined with env_key" in codex_loads(codex_cli, workspace_double, laptop_home)
    write_config(laptop_home, older)

    result = laptop("codex_config", {"host": workspace_double.url, "auth_command": token_helper})

    assert result["removed_keys"] == ["model_providers.databricks.env_key"]
    assert codex_loads(codex_cli, workspace_double, laptop_home) == ""
    answer = codex_exec(codex_cli, workspace_double, laptop_home)
    assert answer.returncode == 0, describe(answer)
    laptop("codex_config", {"state": "absent"})
    assert read_config(laptop_home) == older


def test_check_mode_shows_the_diff_and_writes_nothing(run_module, laptop_home):
    write_config(laptop_home, USER_CONFIG)

    result = run_module("codex_config", {"host": "https://example.cloud.databricks.com",
                                         "auth_command": "/opt/helper"}, check=True, diff=True)

    assert result["changed"] is True
    assert '+model_provider = "databricks"' in result["_output"]
    assert '+[model_providers.databricks.auth]' in result["_output"]
    assert read_config(laptop_home) == USER_CONFIG
    assert os.listdir(codex_home(laptop_home)) == ["config.toml"]


def test_a_file_codex_cannot_load_fails_naming_the_place_and_stays_as_it_was(run_module, laptop_home, workspace_double,
                                                                             codex_cli):  # noqa: F811
    broken = USER_CONFIG.replace("[tui]", "").replace("[features]", "[features")
    write_config(laptop_home, broken)

    result = run_module("codex_config", {"host": "https://example.cloud.databricks.com",
                                         "auth_command": "/opt/helper"}, expect_failure=True)

    assert "%s is not valid TOML" % config_path(laptop_home) in result["msg"]
    assert "line 6, column" in result["msg"] and "repair=true" in result["msg"]
    assert read_config(laptop_home) == broken
    # Codex itself names the same line.
    assert "config.toml:6:" in codex_loads(codex_cli, workspace_double, laptop_home)
