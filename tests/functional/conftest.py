"""Fixtures for functional tests: the collection's modules run for real by Ansible on localhost.

Each test gets a throwaway HOME (a developer's laptop account), and ``run_module`` runs one
module there through ``ansible-playbook`` exactly as a role would, returning its result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from functional_support import desktop_env

# The fixtures are imported rather than listed in pytest_plugins: pytest refuses pytest_plugins
# in a conftest below the rootdir when a parent directory is collected (pytest tests).
# pylint: disable=unused-import
from workspace_double.pytest_plugin import (  # noqa: F401
    claude_cli,
    codex_cli,
    databricks_cli,
    fake_browser,
    gemini_cli,
    pytest_configure,
    workspace_double,
    workspace_double_session,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ModuleRunner:
    """Runs the collection's modules on localhost with a given HOME."""

    def __init__(self, home: str, workdir: str):
        self.home = home
        self.workdir = workdir
        self.env: dict[str, str] = {}

    def __call__(self, module: str, args: dict | None = None, check: bool = False, diff: bool = False,
                 env: dict[str, str] | None = None, expect_failure: bool = False, verbose: bool = False) -> dict:
        """Run ``fmapi.coding_agents.<module>`` with ``args``; return the task result.

        ``result["_output"]`` is what ansible-playbook printed (stdout, then stderr), ``-v`` with ``verbose``.
        """
        name = module if "." in module else f"fmapi.coding_agents.{module}"
        playbook = os.path.join(self.workdir, "play.yml")
        with open(playbook, "w", encoding="utf-8") as handle:
            handle.write(textwrap.dedent(f"""\
                - hosts: localhost
                  gather_facts: false
                  tasks:
                    - name: Run the module
                      {name}: {json.dumps(args or {})}
                      register: functional_result
                      ignore_errors: true
                    - name: Hand the result to the test
                      ansible.builtin.copy:
                        dest: "{self.workdir}/result.json"
                        content: "{{{{ functional_result | to_json }}}}"
                      check_mode: false
                      diff: false
                """))
        command = ["ansible-playbook", "-i", "localhost,", "-c", "local", playbook]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        if verbose:
            command.append("-v")
        run_env = dict(os.environ)
        for key in list(run_env):
            if key.startswith("DATABRICKS_") or key.startswith("ANTHROPIC_"):
                del run_env[key]
        run_env.update({
            "HOME": self.home,
            # The test's own interpreter: it has the modules' requirements (databricks-sdk, jmespath).
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_NOCOLOR": "1",
        })
        run_env.update(self.env)
        run_env.update(env or {})
        completed = subprocess.run(command, env=run_env, capture_output=True, text=True, timeout=600, check=False)
        result_path = os.path.join(self.workdir, "result.json")
        if not os.path.exists(result_path):
            raise AssertionError(f"ansible-playbook did not run the module:\n{completed.stdout}\n{completed.stderr}")
        with open(result_path, encoding="utf-8") as handle:
            result = json.load(handle)
        os.unlink(result_path)
        result["_output"] = completed.stdout + completed.stderr
        if expect_failure:
            assert result.get("failed"), f"{name} was expected to fail: {result}"
        else:
            assert not result.get("failed"), f"{name} failed: {result.get('msg')}\n{completed.stdout}"
        return result


@pytest.fixture(name="laptop_home")
def laptop_home_fixture(tmp_path) -> str:
    """A developer's empty home directory."""
    home = tmp_path / "home" / "developer"
    home.mkdir(parents=True)
    return str(home)


@pytest.fixture(name="run_module")
def run_module_fixture(laptop_home, tmp_path) -> ModuleRunner:
    """Run one of the collection's modules on localhost as the developer of ``laptop_home``."""
    workdir = tmp_path / "ansible"
    workdir.mkdir()
    return ModuleRunner(laptop_home, str(workdir))


@pytest.fixture(name="laptop")
def laptop_fixture(run_module, workspace_double, fake_browser) -> ModuleRunner:  # noqa: F811 pylint: disable=W0621
    """``run_module`` on the developer's desktop: the Databricks CLI trusts the double and keeps its tokens
    in a plaintext cache, and a browser (the fake one) can open."""
    run_module.env.update(desktop_env(workspace_double, fake_browser))
    return run_module
