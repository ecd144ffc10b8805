"""All three agents from one run: the real setup playbook with agents=claude_code,codex,gemini on this
machine in a throwaway HOME, against the workspace double, then the real Codex CLI and Gemini CLI
answering through it with a token it issued, a re-run that changes nothing, and an uninstall that
gives the user's own Codex config back byte for byte.

The laptop already has Codex CLI and Gemini CLI (the real binaries of tests/bin/bootstrap, on PATH),
as many laptops do: the roles use them and install nothing from the npm registry.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from operations_support import Laptop, agent_laptop

AGENTS = "agents=claude_code,codex,gemini"
# A developer's own Codex config: a comment, a model of their own, another provider.
USERS_CODEX_CONFIG = ('# my codex config\nmodel = "o3"  # mine\napproval_policy = "on-request"\n\n'
                      '[model_providers.mine]\nname = "Mine"\nbase_url = "https://example.com/v1"\n'
                      'wire_api = "responses"\n')
USERS_GEMINI_SETTINGS = '{\n    "ui": {\n        "theme": "GitHub"\n    }\n}\n'


@pytest.fixture(name="laptop", scope="module")
def laptop_fixture(double, tmp_path_factory):
    work = tmp_path_factory.mktemp("agents")
    home = str(work / "home" / "developer")
    laptop = agent_laptop(home, double, str(work))
    for relative, content in ((".codex/config.toml", USERS_CODEX_CONFIG), (".gemini/settings.json", USERS_GEMINI_SETTINGS)):
        os.makedirs(os.path.dirname(os.path.join(home, relative)), exist_ok=True)
        with open(os.path.join(home, relative), "w", encoding="utf-8") as handle:
            handle.write(content)
    run = laptop.setup(AGENTS)
    assert run.returncode == 0, "the setup failed"
    laptop.first_run = run
    return laptop


def read(laptop, relative):
    path = os.path.join(laptop.home, relative)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def agent(laptop, *command, **env):
    return subprocess.run(list(command), cwd=laptop.home, env=dict(laptop.env(browser=False), **env),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240, check=False)


def issued_and_used(double, route):
    """The tokens the double saw on ``route`` that it accepted."""
    return [entry for entry in double.control.requests() if entry["path"].startswith(route)
            and entry["status"] == 200]


def test_the_report_names_every_agent(laptop):
    output = laptop.first_run.output
    assert re.search(r"INFO +Agents +claude_code, codex, gemini \(serving-endpoints routes\)", output)
    for label in ("Codex model            databricks-gpt-5-5", "Gemini model           databricks-gemini-2-5-pro"):
        assert label in output


def test_codex_answers_through_the_workspace(laptop, double):
    double.control.clear_requests()
    completed = agent(laptop, "codex", "exec", "--skip-git-repo-check", "say hi",
                      CODEX_CA_CERTIFICATE=laptop.trust_file)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "databricks-gpt-5-5 answered on /serving-endpoints/codex/v1" in completed.stdout
    assert issued_and_used(double, "/serving-endpoints/codex/v1/responses")


def test_gemini_answers_through_the_launcher_even_with_a_projects_env_file(laptop, double):
    # A project's .env that would point Gemini CLI elsewhere: the launcher's exports win.
    project = os.path.join(laptop.home, "project")
    os.makedirs(project, exist_ok=True)
    with open(os.path.join(project, ".env"), "w", encoding="utf-8") as handle:
        handle.write("GEMINI_API_KEY=junk\nGOOGLE_GEMINI_BASE_URL=https://example.invalid\n")
    double.control.clear_requests()
    completed = subprocess.run(["gemini", "-p", "say hi"], cwd=project,
                               env=dict(laptop.env(browser=False, cwd=project), GEMINI_CLI_TRUST_WORKSPACE="true"),
                               stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "databricks-gemini-2-5-pro answered on /serving-endpoints/gemini" in completed.stdout
    assert issued_and_used(double, "/serving-endpoints/gemini/v1beta/models/databricks-gemini-2-5-pro")


def test_the_rerun_changes_nothing(laptop):
    again = laptop.setup(AGENTS)
    assert again.returncode == 0
    assert re.search(r"localhost\s*:\s*ok=\d+\s+changed=0\b", again.output), again.output[-3000:]


def test_the_users_own_codex_values_are_kept_beside_ours(laptop):
    config = read(laptop, ".codex/config.toml")
    assert config.startswith("# my codex config\n")
    assert '[model_providers.mine]\nname = "Mine"' in config and 'approval_policy = "on-request"' in config
    assert 'model_provider = "databricks"' in config and 'model = "databricks-gpt-5-5"' in config


def test_status_shows_every_agent(laptop):
    run = laptop.play("status")
    assert run.returncode == 0
    assert run.row("Codex CLI", "Model").value == "databricks-gpt-5-5"
    assert run.row("Gemini CLI", "Model").value == "databricks-gemini-2-5-pro"
    assert run.row("Claude Code", "Model").value == "databricks-claude-opus-4-6"
    assert run.row("Dependencies", "Codex CLI").status == "PASS"
    for label in ("Codex config", "Gemini launcher", "Gemini settings"):
        assert run.row("Configuration", label).status == "PASS"


def test_doctor_passes_every_agent_on_a_healthy_laptop(laptop):
    run = laptop.play("doctor")
    assert run.returncode == 0, "\n".join(str(row) for row in run.rows() if row.status == "FAIL")
    labels = {row.label for row in run.rows()}
    assert {"Codex CLI", "Codex provider", "Gemini CLI", "Gemini launcher", "apiKeyHelper"} <= labels, labels
    models = {row.label: row.status for row in run.rows() if row.section == "Models"}
    assert models.get("codex_model") == "PASS" and models.get("gemini_model") == "PASS", models
    assert "FAIL" not in run.statuses()


def test_doctor_fails_a_codex_model_that_serves_another_agent(laptop):
    path = os.path.join(laptop.home, ".codex", "config.toml")
    original = read(laptop, ".codex/config.toml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(original.replace('model = "databricks-gpt-5-5"', 'model = "databricks-gemini-2-5-pro"'))
    try:
        run = laptop.play("doctor")
    finally:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(original)
    assert run.returncode != 0
    row = run.row("Models", "codex_model")
    assert row.status == "FAIL" and "databricks-gemini-2-5-pro" in row.value
    assert any("codex_model" in hint for hint in row.hints), row.hints


def test_doctor_fails_a_codex_config_that_codex_cannot_load(laptop):
    path = os.path.join(laptop.home, ".codex", "config.toml")
    original = read(laptop, ".codex/config.toml")
    # What an older setup might leave in our provider table: Codex refuses env_key beside auth.
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(original.replace('wire_api = "responses"\n\n[model_providers.databricks.auth]',
                                      'wire_api = "responses"\nenv_key = "DATABRICKS_TOKEN"\n\n'
                                      '[model_providers.databricks.auth]'))
    try:
        run = laptop.play("doctor")
    finally:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(original)
    assert run.returncode != 0
    failed = [row for row in run.rows() if row.status == "FAIL"]
    assert failed and all(row.label.startswith("Codex") for row in failed), failed
    assert any("env_key" in row.value + " ".join(row.hints) for row in failed), failed


def test_doctor_fails_when_the_real_gemini_is_gone(laptop):
    real = os.path.abspath(os.path.join(laptop.home, "..", "..", "tools", "gemini"))
    target = os.readlink(real)
    os.remove(real)
    try:
        run = laptop.play("doctor")
    finally:
        os.symlink(target, real)
    assert run.returncode != 0
    failed = [row for row in run.rows() if row.status == "FAIL"]
    assert failed and all(row.label.startswith("Gemini") for row in failed), failed
    assert all(row.hints for row in failed), failed


def test_list_models_groups_the_endpoints_by_agent(laptop):
    run = laptop.play("list_models")
    assert run.returncode == 0
    for heading in ("Claude Code", "Codex CLI", "Gemini CLI"):
        assert re.search(r"^\s*-+ %s -+" % heading, run.output, re.M), run.output[-3000:]


def test_codex_still_answers_after_the_access_token_expired(laptop, double):
    # Codex reuses the token it got until the workspace answers 401, then runs the helper again.
    double.control.expire_access_tokens()
    double.control.clear_requests()
    completed = agent(laptop, "codex", "exec", "--skip-git-repo-check", "say hi",
                      CODEX_CA_CERTIFICATE=laptop.trust_file)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "databricks-gpt-5-5 answered" in completed.stdout


def test_gemini_still_answers_on_a_fresh_launch_after_the_access_token_expired(laptop, double):
    double.control.expire_access_tokens()
    double.control.clear_requests()
    completed = agent(laptop, "gemini", "-p", "say hi", GEMINI_CLI_TRUST_WORKSPACE="true")
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "databricks-gemini-2-5-pro answered" in completed.stdout
    assert [entry["status"] for entry in double.control.requests("/serving-endpoints/gemini")] == [200]


def test_uninstall_gives_the_users_files_back(laptop):
    removed = laptop.play("uninstall", "confirm=yes")
    assert removed.returncode == 0
    assert read(laptop, ".codex/config.toml") == USERS_CODEX_CONFIG
    assert read(laptop, ".gemini/settings.json") == USERS_GEMINI_SETTINGS
    assert read(laptop, ".local/bin/gemini") is None
    assert read(laptop, ".local/share/fmapi-coding-agents/fmapi-token-helper") is None
    again = laptop.play("uninstall", "confirm=yes")
    assert again.returncode == 0


def test_codex_alone_with_endpoint_style_auto_uses_the_ai_gateway_the_workspace_serves(laptop, double):
    # A laptop with nothing set up that wants Codex only, on whatever routes the workspace has.
    assert laptop.play("uninstall", "confirm=yes").returncode == 0
    run = laptop.setup("agents=codex", "endpoint_style=auto")
    assert run.returncode == 0
    assert re.search(r"INFO +Agents +codex \(ai-gateway routes, asked the workspace\)", run.output)
    assert 'base_url = "%s/ai-gateway/codex/v1"' % double.url in read(laptop, ".codex/config.toml")
    assert read(laptop, ".claude/settings.json") is None or "apiKeyHelper" not in read(laptop, ".claude/settings.json")

    double.control.clear_requests()
    completed = agent(laptop, "codex", "exec", "--skip-git-repo-check", "say hi",
                      CODEX_CA_CERTIFICATE=laptop.trust_file)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "answered on /ai-gateway/codex/v1" in completed.stdout

    again = laptop.setup()
    assert again.returncode == 0
    assert re.search(r"localhost\s*:\s*ok=\d+\s+changed=0\b", again.output), "a re-run keeps codex and its routes"
    assert laptop.play("uninstall", "confirm=yes").returncode == 0
    assert read(laptop, ".codex/config.toml") == USERS_CODEX_CONFIG


def test_a_gemini_cli_that_cannot_be_installed_is_a_warning_and_the_rest_is_set_up(double, tmp_path):
    # A laptop without Gemini CLI whose npm registry is out of reach: not the user's fault, so Codex is set up
    # all the same and the report says what to do about Gemini CLI.
    home = str(tmp_path / "home" / "developer")
    tools = str(tmp_path / "tools")
    os.makedirs(tools)
    os.symlink(os.environ["FMAPI_CODEX"], os.path.join(tools, "codex"))
    path = os.pathsep.join([os.path.join(home, ".local", "bin"), tools, os.environ.get("PATH", "")])
    extra_env = {"PATH": path, "TMPDIR": str(tmp_path), "npm_config_fetch_retries": "0"}
    laptop = Laptop(home, double, str(tmp_path), extra_env=extra_env)
    run = laptop.setup("agents=codex,gemini", "gemini_npm_registry=https://127.0.0.1:9/")
    assert run.returncode == 0
    assert re.search(r"WARN +Gemini CLI +npm could not install it", run.output), run.output[-3000:]
    assert "Gemini CLI needs Node.js 20 or newer" in run.output
    assert 'model_provider = "databricks"' in read(laptop, ".codex/config.toml")
    assert read(laptop, ".local/bin/gemini") is None
