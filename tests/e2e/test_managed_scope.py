"""settings_scope=managed: the real setup playbook writes each agent's managed (enforced) layer, with the
managed paths put under a scratch root (``-e managed_root=...``: this machine's real /etc is not the test's
to change; Molecule's managed scenario writes the real paths in a container and runs the real agents).

The laptop starts with a user-scope setup (what most fleets have today) and a customer's own managed files
(an MDM's managed-settings.json, a managed_config.toml with keys of its own), then switches to managed scope:
the managed files hold the FMAPI values, root-readable modes, the customer's files keep their bytes (Codex's
gets our tables merged in), the user's files lose only what the user-scope run put there, a re-run changes
nothing, and the uninstall removes exactly what managed scope wrote.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import stat
import subprocess
import tomllib
import urllib.request

import pytest
from operations_support import agent_laptop

AGENTS = "agents=claude_code,codex,gemini"
CUSTOMERS_CLAUDE = '{\n  "permissions": {\n    "disableBypassPermissionsMode": "disable"\n  }\n}\n'
CUSTOMERS_CODEX = '# fleet policy, owned by the MDM\napproval_policy = "on-request"\n\n[sandbox_workspace_write]\nnetwork_access = false\n'
USERS_CODEX_CONFIG = '# mine\nmodel = "o3"\n'
USERS_GEMINI_SETTINGS = '{\n  "security": {\n    "auth": {\n      "selectedType": "oauth-personal"\n    }\n  }\n}\n'


def write(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(content)


def read(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read()


@pytest.fixture(name="laptop", scope="module")
def laptop_fixture(double, tmp_path_factory):
    work = tmp_path_factory.mktemp("managed")
    home = str(work / "home" / "developer")
    laptop = agent_laptop(home, double, str(work))
    laptop.root = str(work / "root")
    os.makedirs(laptop.root, mode=0o755)
    write(os.path.join(home, ".codex", "config.toml"), USERS_CODEX_CONFIG)
    write(os.path.join(home, ".gemini", "settings.json"), USERS_GEMINI_SETTINGS)
    write(os.path.join(laptop.root, "etc/claude-code/managed-settings.json"), CUSTOMERS_CLAUDE)
    write(os.path.join(laptop.root, "etc/codex/managed_config.toml"), CUSTOMERS_CODEX)
    # Today's fleet: the user-scope setup.
    assert laptop.setup(AGENTS).returncode == 0, "the user-scope setup failed"
    laptop.managed = laptop.setup(AGENTS, "settings_scope=managed", "managed_root=" + laptop.root, "managed_become=false")
    assert laptop.managed.returncode == 0, "the managed setup failed"
    return laptop


def under(laptop, path):
    return os.path.join(laptop.root, path.lstrip("/"))


DROP_IN = "/etc/claude-code/managed-settings.d/50-fmapi-coding-agents.json"
HELPER = "/usr/local/libexec/fmapi-coding-agents/fmapi-token-helper"


def test_claude_codes_drop_in_holds_the_fmapi_keys_and_names_the_machines_helper(laptop, double):
    data = json.loads(read(under(laptop, DROP_IN)))
    assert data["apiKeyHelper"] == HELPER
    assert data["env"]["ANTHROPIC_BASE_URL"] == double.url + "/serving-endpoints/anthropic"
    assert data["env"]["ANTHROPIC_CUSTOM_HEADERS"] == "x-databricks-use-coding-agent-mode: true"
    assert data["permissions"]["deny"] == ["WebSearch"]
    # The report says where the settings went.
    assert re.search(r"INFO +Claude Code settings +%s \(managed, for every user\)" % re.escape(under(laptop, DROP_IN)),
                     laptop.managed.output), laptop.managed.output[-3000:]
    # The customer's own managed file is theirs: not a byte changed.
    assert read(under(laptop, "/etc/claude-code/managed-settings.json")) == CUSTOMERS_CLAUDE


def test_codex_managed_config_keeps_the_customers_keys_beside_ours(laptop, double):
    text = read(under(laptop, "/etc/codex/managed_config.toml"))
    # Every line of theirs, in its order (ours go where TOML wants them: top-level keys before the tables).
    lines = iter(text.splitlines())
    assert all(line in lines for line in CUSTOMERS_CODEX.splitlines()), text
    data = tomllib.loads(text)
    assert data["approval_policy"] == "on-request" and data["sandbox_workspace_write"] == {"network_access": False}
    assert data["model_provider"] == "databricks"
    assert data["model_providers"]["databricks"]["base_url"] == double.url + "/serving-endpoints/codex/v1"
    assert data["model_providers"]["databricks"]["auth"]["command"] == HELPER


def test_gemini_system_settings_enforce_api_key_auth(laptop):
    auth = json.loads(read(under(laptop, "/etc/gemini-cli/settings.json")))["security"]["auth"]
    assert auth == {"selectedType": "gemini-api-key", "enforcedType": "gemini-api-key"}


def test_managed_files_are_readable_by_every_user_and_writable_by_root_alone(laptop):
    for path, mode in ((DROP_IN, 0o644), ("/etc/gemini-cli/settings.json", 0o644), (HELPER, 0o755)):
        assert stat.S_IMODE(os.stat(under(laptop, path)).st_mode) == mode, path
        folder = os.path.dirname(under(laptop, path))
        while folder != laptop.root:
            assert stat.S_IMODE(os.stat(folder).st_mode) & 0o022 == 0, folder
            folder = os.path.dirname(folder)
    # The customer's file keeps its own mode; the sidecars (what uninstall gives back) are root's alone.
    for sidecar in ("/etc/codex/.managed_config.toml.fmapi-state.json",
                    "/etc/claude-code/managed-settings.d/.50-fmapi-coding-agents.json.fmapi-state.json"):
        if os.path.exists(under(laptop, sidecar)):
            assert stat.S_IMODE(os.stat(under(laptop, sidecar)).st_mode) == 0o600, sidecar


def test_the_users_files_lose_only_what_the_user_scope_setup_wrote(laptop):
    settings = json.loads(read(os.path.join(laptop.home, ".claude/settings.json")))
    assert "apiKeyHelper" not in settings and "ANTHROPIC_BASE_URL" not in settings.get("env", {})
    # The plugin stays declared per user: its slash commands are the user's.
    assert "fmapi-coding-agents@fmapi-coding-agents" in settings["enabledPlugins"]
    assert read(os.path.join(laptop.home, ".codex/config.toml")) == USERS_CODEX_CONFIG
    assert read(os.path.join(laptop.home, ".gemini/settings.json")) == USERS_GEMINI_SETTINGS
    # One helper serves the machine: the user's own copy is gone.
    assert not os.path.exists(os.path.join(laptop.home, ".local/share/fmapi-coding-agents/fmapi-token-helper"))


def test_the_machines_helper_serves_a_token_the_workspace_issued(laptop, double):
    done = subprocess.run([under(laptop, HELPER)], env=laptop.env(browser=False), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    # The workspace accepts it: a token it issued to this user's login.
    request = urllib.request.Request(double.url + "/api/2.0/preview/scim/v2/Me",
                                     headers={"Authorization": "Bearer " + done.stdout.strip()})
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=double.ca_file), timeout=30) as answer:
        assert answer.status == 200


def test_the_launcher_runs_the_machines_helper(laptop):
    assert HELPER in read(os.path.join(laptop.home, ".local/bin/gemini"))


def test_the_rerun_changes_nothing_and_keeps_managed_scope(laptop):
    again = laptop.setup("managed_root=" + laptop.root, "managed_become=false")
    assert again.returncode == 0
    assert re.search(r"localhost\s*:\s*ok=\d+\s+changed=0\b", again.output), again.output[-3000:]
    assert json.loads(read(under(laptop, DROP_IN)))["apiKeyHelper"] == HELPER


def test_doctor_passes_a_managed_setup_and_warns_about_a_users_value_it_overrides(laptop):
    run = laptop.play("doctor", "managed_root=" + laptop.root)
    # `codex doctor` itself reads the machine's /etc/codex, not this test's root, so it finds no provider there
    # (Molecule's managed scenario runs the doctor against the real paths).
    failed = [str(row) for row in run.rows() if row.status == "FAIL"]
    assert [row for row in failed if "Codex provider reachable" not in row] == [], failed
    rows = {row.label: row for row in run.rows()}
    assert rows["Settings file"].status == "PASS" and "managed:" in rows["Settings file"].value
    assert rows["Codex config"].status == "PASS" and "managed:" in rows["Codex config"].value
    assert rows["Gemini settings"].status == "PASS" and "managed:" in rows["Gemini settings"].value
    # The developer's own Codex model and Gemini auth type lose to the managed layer: said, with the file that wins.
    ignored = {row.label: row.value for row in run.rows() if row.status == "WARN" and "is ignored" in row.value}
    assert set(ignored) == {"Codex overridden setting", "Gemini overridden setting"}, ignored
    assert ignored["Codex overridden setting"].startswith("model in %s/.codex/config.toml is ignored" % laptop.home)
    assert "security.auth.selectedType" in ignored["Gemini overridden setting"]

    # The developer sets a model of their own: Claude Code will not use it, and the doctor says so.
    settings_path = os.path.join(laptop.home, ".claude/settings.json")
    original = read(settings_path)
    settings = json.loads(original)
    settings.setdefault("env", {})["ANTHROPIC_MODEL"] = "my-own-model"
    write(settings_path, json.dumps(settings, indent=2) + "\n")
    try:
        run = laptop.play("doctor", "managed_root=" + laptop.root)
    finally:
        write(settings_path, original)
    warned = [row for row in run.rows() if row.status == "WARN" and "env.ANTHROPIC_MODEL" in row.value]
    assert warned, run.output[-3000:]
    assert "is ignored" in warned[0].value and "50-fmapi-coding-agents.json" in warned[0].value


def test_uninstall_removes_exactly_what_managed_scope_wrote(laptop):
    removed = laptop.play("uninstall", "confirm=yes", "managed_root=" + laptop.root, "managed_become=false")
    assert removed.returncode == 0
    assert read(under(laptop, "/etc/claude-code/managed-settings.json")) == CUSTOMERS_CLAUDE
    assert read(under(laptop, "/etc/codex/managed_config.toml")) == CUSTOMERS_CODEX
    left = sorted(os.path.relpath(os.path.join(folder, name), laptop.root)
                  for folder, _dirs, names in os.walk(laptop.root) for name in names)
    assert left == ["etc/claude-code/managed-settings.json", "etc/codex/managed_config.toml"]
    # The folders made for our files went with them; the customer's stay.
    folders = sorted(os.path.relpath(folder, laptop.root) for folder, _dirs, _names in os.walk(laptop.root))
    assert folders == [".", "etc", "etc/claude-code", "etc/codex", "usr", "usr/local", "usr/local/libexec"], folders
    assert read(os.path.join(laptop.home, ".codex/config.toml")) == USERS_CODEX_CONFIG
    assert read(os.path.join(laptop.home, ".gemini/settings.json")) == USERS_GEMINI_SETTINGS
    # Safe to repeat; the customer's managed files carry no record of ours, so nothing asks for root (become).
    again = laptop.play("uninstall", "confirm=yes", "managed_root=" + laptop.root, "ansible_become_exe=/bin/false")
    assert again.returncode == 0
    assert read(under(laptop, "/etc/codex/managed_config.toml")) == CUSTOMERS_CODEX


def test_one_agent_can_be_managed_while_another_stays_in_the_users_files(laptop, double):
    run = laptop.setup("agents=claude_code,codex", "settings_scope=user", "claude_code_settings_scope=managed",
                       "managed_root=" + laptop.root, "managed_become=false")
    assert run.returncode == 0
    # Claude Code's drop-in names the machine's helper, which is there; Codex's provider is in the user's file.
    assert json.loads(read(under(laptop, DROP_IN)))["apiKeyHelper"] == HELPER
    assert os.access(under(laptop, HELPER), os.X_OK)
    codex = tomllib.loads(read(os.path.join(laptop.home, ".codex/config.toml")))
    assert codex["model_provider"] == "databricks" and codex["model_providers"]["databricks"]["auth"]["command"] == \
        under(laptop, HELPER)
    assert not os.path.exists(under(laptop, "/etc/gemini-cli/settings.json"))
    assert laptop.play("uninstall", "confirm=yes", "managed_root=" + laptop.root, "managed_become=false").returncode == 0
    assert read(os.path.join(laptop.home, ".codex/config.toml")) == USERS_CODEX_CONFIG
    assert not os.path.exists(under(laptop, DROP_IN))
