"""The list_models and validate_models playbooks, run with ansible-playbook on a laptop whose Claude Code is set up
against the workspace double (a settings file and a real Databricks CLI login), for one agent or all three.

What is asserted is what a person reads: the printed table or checks, and the exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from functional_support import cli_login, desktop_env

PROFILE = "fmapi-claudecode-profile"
TITLE = "Coding agents x Databricks FMAPI"
MESSAGES, RESPONSES, GENERATE = "anthropic/v1/messages", "openai/v1/responses", "gemini/v1/generateContent"
CHAT_COMPLETIONS = "mlflow/v1/chat/completions"
# Set through the double's control API: its default endpoints are not these tests' to rely on.
ENDPOINTS = [
    {"name": "databricks-claude-opus-4-6", "api_types": [MESSAGES, CHAT_COMPLETIONS]},
    {"name": "databricks-claude-sonnet-4-6", "api_types": [MESSAGES, CHAT_COMPLETIONS]},
    {"name": "databricks-claude-haiku-4-5", "api_types": [MESSAGES, CHAT_COMPLETIONS]},
    {"name": "databricks-gpt-5-5", "api_types": [RESPONSES, CHAT_COMPLETIONS]},
    {"name": "databricks-gpt-5-2", "api_types": [RESPONSES, CHAT_COMPLETIONS], "ready": "NOT_READY"},
    {"name": "databricks-gemini-2-5-pro", "api_types": [GENERATE, CHAT_COMPLETIONS]},
    {"name": "databricks-meta-llama-3-3-70b-instruct", "api_types": [CHAT_COMPLETIONS]},
    {"name": "databricks-gte-large-en", "task": "llm/v1/embeddings", "api_types": ["mlflow/v1/embeddings"]},
]
CLAUDE_MODELS = {"ANTHROPIC_MODEL": "databricks-claude-opus-4-6", "ANTHROPIC_DEFAULT_OPUS_MODEL": "databricks-claude-opus-4-6",
                 "ANTHROPIC_DEFAULT_SONNET_MODEL": "databricks-claude-sonnet-4-6",
                 "ANTHROPIC_DEFAULT_HAIKU_MODEL": "databricks-claude-haiku-4-5"}
THREE = "agents=claude_code,codex,gemini"


class Laptop:
    """A developer's HOME with Claude Code pointed at the double and a live Databricks CLI login."""

    def __init__(self, home: str, double, cli: str, browser: str):
        self.home = home
        self.double = double
        self.env = dict(os.environ)
        for key in list(self.env):
            if key.startswith(("DATABRICKS_", "ANTHROPIC_")):
                del self.env[key]
        self.env.update(desktop_env(double, browser))
        # The laptop trusts the workspace's CA in Python too (as an organisation's CA would be).
        self.env["REQUESTS_CA_BUNDLE"] = double.ca_file
        self.env.update({"HOME": home, "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_NOCOLOR": "1",
                         "ANSIBLE_LOCALHOST_WARNING": "false",
                         "PATH": os.path.dirname(cli) + os.pathsep + self.env.get("PATH", "/usr/bin:/bin")})

    def play(self, playbook: str, *extra_vars: str) -> subprocess.CompletedProcess:
        command = ["ansible-playbook", "-i", "localhost,", "-c", "local", "fmapi.coding_agents." + playbook]
        for extra in extra_vars:
            command += ["-e", extra]
        return subprocess.run(command, env=self.env, cwd=self.home, capture_output=True, text=True, timeout=600,
                              check=False)


@pytest.fixture(name="set_up_laptop")
def set_up_laptop_fixture(workspace_double, laptop_home, databricks_cli, fake_browser) -> Laptop:
    workspace_double.control.update_scenario(endpoints=ENDPOINTS)
    cli_login(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)
    os.makedirs(os.path.join(laptop_home, ".claude"))
    settings = {"env": dict(CLAUDE_MODELS, ANTHROPIC_BASE_URL=workspace_double.url + "/serving-endpoints/anthropic")}
    with open(os.path.join(laptop_home, ".claude", "settings.json"), "w", encoding="utf-8") as handle:
        json.dump(settings, handle)
    return Laptop(laptop_home, workspace_double, databricks_cli, fake_browser)


def report(run: subprocess.CompletedProcess) -> list:
    """The lines of the report the play printed (from its title to the end of the task)."""
    lines = run.stdout.splitlines()
    starts = [index for index, line in enumerate(lines) if line.startswith(TITLE)]
    assert starts, "no report was printed:\n%s\n%s" % (run.stdout[-6000:], run.stderr[-3000:])
    printed = []
    for line in lines[starts[-1]:]:
        if line.startswith(("ok: [", "fatal: [", "[ERROR]", "TASK [", "PLAY RECAP")):
            break
        printed.append(line)
    return printed


def table(run: subprocess.CompletedProcess) -> list:
    """[(group, marked, cells)] of the printed endpoint table."""
    rows, group = [], None
    for line in report(run):
        if line.startswith("    -- "):
            group = line.strip("- ")
        elif line.startswith(("  > ", "    ")) and group and line[4:].split():
            rows.append((group, line.startswith("  > "), line[4:].split("  ")[0].strip(),
                         [cell.strip() for cell in line[4:].split("  ") if cell.strip()]))
    return rows


def checks(run: subprocess.CompletedProcess) -> dict:
    """{label: (status, value, [fix lines])} of the printed checks."""
    found = {}
    last = None
    for line in report(run)[1:]:
        words = line.split()
        if words and words[0] in ("PASS", "FAIL", "WARN", "SKIP"):
            parts = line.strip()[len(words[0]):].strip().split("  ", 1)
            last = found[parts[0]] = (words[0], parts[1].strip() if len(parts) > 1 else "", [])
        elif last and words and (words[0] == "fix:" or line.startswith(" " * 12)):
            last[2].append(line.strip()[len("fix:"):].strip() if words[0] == "fix:" else line.strip())
    return found


def test_list_models_shows_claude_codes_group_by_default(set_up_laptop):
    run = set_up_laptop.play("list_models")

    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    rows = table(run)
    assert {row[0] for row in rows} == {"Claude Code"}
    assert [(name, marked, cells[-1]) for group, marked, name, cells in rows if group] == [
        ("databricks-claude-haiku-4-5", True, "haiku"), ("databricks-claude-opus-4-6", True, "model, opus"),
        ("databricks-claude-sonnet-4-6", True, "sonnet")]
    assert "3 Claude endpoints of 8; -e all_models=true lists every endpoint." in report(run)


def test_list_models_groups_three_agents_and_places_a_wrong_model_where_it_belongs(set_up_laptop):
    run = set_up_laptop.play("list_models", THREE, "codex_model=databricks-gemini-2-5-pro")

    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    groups = {}
    for group, marked, name, cells in table(run):
        groups.setdefault(group, []).append((name, cells[1], cells[-1] if marked else None))
    assert groups == {
        "Claude Code": [("databricks-claude-haiku-4-5", "READY", "haiku"),
                        ("databricks-claude-opus-4-6", "READY", "model, opus"),
                        ("databricks-claude-sonnet-4-6", "READY", "sonnet")],
        "Codex CLI": [("databricks-gpt-5-2", "NOT_READY", None), ("databricks-gpt-5-5", "READY", None)],
        # gemini_model defaults to the collection's, which this workspace has; codex_model is Gemini's too.
        "Gemini CLI": [("databricks-gemini-2-5-pro", "READY", "codex_model, gemini_model")],
    }
    assert ("codex_model is databricks-gemini-2-5-pro, a Gemini endpoint: Codex CLI cannot use it; "
            "ansible-playbook fmapi.coding_agents.validate_models explains.") in report(run)

    everything = set_up_laptop.play("list_models", THREE, "all_models=true")
    assert [name for group, _marked, name, _cells in table(everything) if group == "Other (no coding agent)"] == [
        "databricks-gte-large-en", "databricks-meta-llama-3-3-70b-instruct"]


def test_validate_models_checks_each_selected_agents_model_against_its_api(set_up_laptop):
    claude_only = set_up_laptop.play("validate_models")
    wrong = set_up_laptop.play("validate_models", THREE, "codex_model=databricks-gemini-2-5-pro")

    assert claude_only.returncode == 0, claude_only.stdout[-4000:]
    assert {label: status for label, (status, _value, _fix) in checks(claude_only).items()} == {
        "model": "PASS", "opus": "PASS", "sonnet": "PASS", "haiku": "PASS"}
    assert wrong.returncode != 0
    found = checks(wrong)
    assert {label: status for label, (status, _value, _fix) in found.items()} == {
        "model": "PASS", "opus": "PASS", "sonnet": "PASS", "haiku": "PASS", "codex_model": "FAIL",
        "gemini_model": "PASS"}
    status, value, fix = found["codex_model"]
    assert value.startswith("Endpoint 'databricks-gemini-2-5-pro' serves Gemini CLI")
    assert fix == ["Pick one of: databricks-gpt-5-5.",
                   "To switch: ansible-playbook fmapi.coding_agents.setup -e codex_model=<endpoint>"]
    assert "serves another agent's API" in wrong.stdout


def test_validate_models_with_the_default_codex_model(set_up_laptop):
    run = set_up_laptop.play("validate_models", "agents=codex")

    assert run.returncode == 0, run.stdout[-4000:]
    assert checks(run) == {"codex_model": ("PASS", "Endpoint 'databricks-gpt-5-5' exists and is READY.", [])}


def test_an_unknown_agent_stops_before_the_workspace_is_asked(set_up_laptop):
    set_up_laptop.double.control.clear_requests()

    run = set_up_laptop.play("validate_models", "agents=claude_code,cursor")

    assert run.returncode != 0
    assert "Unknown agent 'cursor' in agents: choose from claude_code, codex, gemini." in run.stdout + run.stderr
    assert set_up_laptop.double.control.requests(path_prefix="/api/2.0/serving-endpoints") == []
