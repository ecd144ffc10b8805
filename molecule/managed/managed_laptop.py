"""What the managed scenario's checks share: the paths on the laptop, the developer's shell, the files prepare.yml
wrote, the request log of the double and the collection's playbooks run against the laptop."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

from workspace_double.control import DoubleClient

SCENARIO = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(SCENARIO))
# The report reader of the e2e tests (the doctor's rows).
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
# pylint: disable-next=wrong-import-position
from operations_support import Run  # noqa: E402

HOME = "/home/developer"
# The laptop's trust store, which has the workspace's CA (prepare.yml).
TRUST = "/etc/ssl/certs/ca-certificates.crt"
ENV = (f"HOME={HOME} PATH={HOME}/.local/bin:/usr/local/bin:/usr/bin:/bin DATABRICKS_AUTH_STORAGE=plaintext "
       f"NODE_EXTRA_CA_CERTS={TRUST} CLAUDE_CODE_MAX_RETRIES=1")

# What managed scope writes (root's, for every user of the laptop).
HELPER = "/usr/local/libexec/fmapi-coding-agents/fmapi-token-helper"
DROP_IN = "/etc/claude-code/managed-settings.d/50-fmapi-coding-agents.json"
GEMINI_SYSTEM = "/etc/gemini-cli/settings.json"
# The customer's own managed files (prepare.yml); Codex's gets our provider merged in.
CUSTOMER_CLAUDE = "/etc/claude-code/managed-settings.json"
CODEX_MANAGED = "/etc/codex/managed_config.toml"
# The folders of managed scope that prepare.yml did not make.
MANAGED_FOLDERS = (os.path.dirname(HELPER), os.path.dirname(DROP_IN), os.path.dirname(GEMINI_SYSTEM))
# files/ name -> where prepare.yml put it.
CUSTOMER_FILES = {"customer-managed-settings.json": CUSTOMER_CLAUDE, "customer-managed_config.toml": CODEX_MANAGED}
USER_FILES = {"user-claude-settings.json": f"{HOME}/.claude/settings.json",
              "user-codex-config.toml": f"{HOME}/.codex/config.toml",
              "user-gemini-settings.json": f"{HOME}/.gemini/settings.json"}


def prepared(name: str) -> bytes:
    """The bytes prepare.yml wrote from files/<name>."""
    with open(os.path.join(SCENARIO, "files", name), "rb") as handle:
        return handle.read()


def content(host, path: str) -> bytes:
    """A file's bytes on the laptop (testinfra's File.content drops a final newline)."""
    return base64.b64decode(host.check_output("base64 -w0 -- %s", path))


def owners_and_modes(host, *paths: str) -> dict:
    """{path: (owner, group, mode)} on the laptop, in one command."""
    lines = host.check_output("stat -c '%U %G %a %n' -- " + " ".join(quote(path) for path in paths))
    return {name: (user, group, int(mode, 8))
            for user, group, mode, name in (line.split(" ", 3) for line in lines.splitlines())}


def json_file(host, path: str) -> dict:
    return json.loads(host.file(path).content_string)


def quote(text: str) -> str:
    """Single-quote text for sh."""
    return "'" + text.replace("'", "'\\''") + "'"


def as_developer(host, command: str):
    """Run a shell command as the developer (the verifier execs as them) with a clean environment."""
    return host.run(f"cd {HOME} && env -i {ENV} sh -c {quote(command)}")


def model_calls(double: DoubleClient, route: str) -> list:
    """What the agents sent to a model route: (status, the token's status, its kind, the model) per request."""
    return [(entry["status"], entry["bearer_status"], entry["token_kind"], entry["detail"].get("model"))
            for entry in double.requests(path_prefix=route) if entry["method"] == "POST"]


def answered_with_a_token_the_workspace_issued(result, expected: str, calls: list, model: str) -> None:
    """The agent printed the workspace's answer, and every request to the route carried a token this workspace
    issued to the developer's OAuth login ("valid": neither expired nor revoked) and asked for ``model``."""
    assert result.rc == 0, f"{result.stdout}\n{result.stderr[-3000:]}"
    assert result.stdout.strip() == expected, result.stderr[-3000:]
    assert calls and all(call == (200, "valid", "oauth", model) for call in calls), calls


def playbook(name: str, *extra_vars: str) -> Run:
    """``ansible-playbook fmapi.coding_agents.<name>`` against the laptop with Molecule's inventory: as the developer,
    with the scenario's variables, as converge ran."""
    command = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], f"fmapi.coding_agents.{name}",
               "-e", "fmapi_hosts=all"]
    for extra in extra_vars:
        command += ["-e", extra]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    completed = subprocess.run(command, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, timeout=900, check=False)
    run = Run(command, completed.returncode, completed.stdout)
    # Shown by pytest when the test fails.
    print(run)
    return run
