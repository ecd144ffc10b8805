#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: databricks_cli_info
short_description: Find the Databricks CLI, read its profile and check the OAuth session, in one pass
version_added: 0.2.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Finds the Databricks CLI the way every module of this collection does (O(databricks_cli), else C(databricks)
    on E(PATH), in C(~/.local/bin), C(/opt/homebrew/bin), C(/usr/local/bin) or C(~/bin); the legacy Python
    C(databricks-cli) is skipped) and checks that it is at least the oldest version the token helper works with.
  - Reads the profile from the CLI's configuration file (E(DATABRICKS_CONFIG_FILE), else C(~/.databrickscfg)),
    as the CLI reads it, and, with O(check_session=true), asks the CLI whether the profile has a live OAuth
    session. No login is started and no token is returned.
  - With O(sdk_python), checks that this Python can import C(databricks-sdk) and C(jmespath) at the versions the
    workspace modules need, and returns the requirements to install when it cannot.
  - Returns RV(checks), the PASS/FAIL/WARN/SKIP rows the C(doctor) and C(status) playbooks print with
    M(fmapi.coding_agents.report), each failure with its fix. Never fails for what it finds.
options:
  profile:
    description: The Databricks CLI profile. Letters, digits, V(_) and V(-) only.
    type: str
    default: fmapi-claudecode-profile
  host:
    description:
      - The workspace URL the profile should be for. When given, a profile for another workspace is a failed check.
    type: str
  databricks_cli:
    description: The Databricks CLI to check, a path or a command name. By default it is looked for (see above).
    type: path
  check_session:
    description: Ask the CLI whether the profile has a live OAuth session (it may refresh the access token).
    type: bool
    default: true
  timeout:
    description:
      - Seconds the CLI gets to answer for the session (it may have to refresh the token over the network). A
        workspace that does not answer in time is a failed check that names the likely fixes.
    type: int
    default: 20
  sdk_python:
    description: A Python whose C(databricks-sdk) and C(jmespath) to check (the setup's venv).
    type: path
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
  - fmapi.coding_agents.attributes.INFO_MODULE
seealso:
  - module: fmapi.coding_agents.databricks_oauth
  - module: fmapi.coding_agents.databricks_profile
  - module: fmapi.coding_agents.claude_code_info
"""

EXAMPLES = r"""
- name: Is the CLI there, and is the profile logged in?
  fmapi.coding_agents.databricks_cli_info:
    profile: fmapi-claudecode-profile
  register: databricks

- name: Say so
  ansible.builtin.debug:
    msg: "{{ databricks.cli.path }} {{ databricks.cli.version }}, session {{ databricks.session.state }}"
  when: databricks.cli.found
"""

RETURN = r"""
cli:
  description:
    - The CLI found - C(found), C(path), C(version), C(version_ok) (at least C(min_version)), C(min_version),
      C(on_path), C(skipped) (executables named databricks that are not the CLI) and C(problem) (why none was found).
  returned: always
  type: dict
  sample: {found: true, path: /home/dev/.local/bin/databricks, version: 1.12.1, version_ok: true, min_version: 0.296.0,
           on_path: true, skipped: [], problem: null}
config_file:
  description: The CLI's configuration file.
  returned: always
  type: str
  sample: /home/dev/.databrickscfg
profile:
  description:
    - The profile - C(name), C(exists) (V(null) when the file cannot be read), C(host), C(auth_type),
      C(credential_keys) (names of keys holding credentials, such as C(token); never their values) and C(problem).
  returned: always
  type: dict
session:
  description:
    - The OAuth session - C(state) (V(active), V(expired), V(no_profile), V(no_cli), V(error) or V(unchecked)),
      C(expires_at), C(message) and C(login_command).
  returned: always
  type: dict
  sample: {state: active, expires_at: "2026-01-31T12:00:00Z", message: Profile p has an active session.,
           login_command: databricks auth login --host https://my-workspace.cloud.databricks.com --profile p}
sdk:
  description:
    - With O(sdk_python) - C(python), C(ok), C(databricks_sdk) and C(jmespath) (the versions found, or V(null)),
      C(requirements) (what to install when not C(ok)) and C(error).
  returned: always
  type: dict
checks:
  description: The checks, each with C(category), C(status), C(label), C(value) and C(fix).
  returned: always
  type: list
  elements: dict
"""

import json
import os
import subprocess
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _checks as ck
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _databricks_cli as dbcli
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws

_CREDENTIAL_KEYS = ("token", "password", "client_secret", "azure_client_secret", "google_credentials")
_SDK_PROBE = (
    "import json, sys\n"
    "found = {}\n"
    "for dist in ('databricks-sdk', 'jmespath', 'tomlkit'):\n"
    "    try:\n"
    "        from importlib.metadata import version\n"
    "        found[dist] = version(dist)\n"
    "    except Exception:\n"
    "        found[dist] = None\n"
    "print(json.dumps(found))\n"
)


def check_sdk(python: str) -> t.Dict[str, t.Any]:
    """Which databricks-sdk and jmespath ``python`` has, and whether they will do."""
    result = dict(python=python, ok=False, databricks_sdk=None, jmespath=None, tomlkit=None,
                  requirements=list(ws.PYTHON_REQUIREMENTS), error=None)  # type: t.Dict[str, t.Any]
    if not ws.is_executable_file(python):
        result["error"] = "%s does not exist" % python
        return result
    try:
        # A bounded wait, which AnsibleModule.run_command cannot give.
        # pylint: disable-next=ansible-bad-function
        completed = subprocess.run([python, "-c", _SDK_PROBE], stdin=subprocess.DEVNULL, capture_output=True,
                                   timeout=60, check=False)
        found = json.loads(completed.stdout.decode("utf-8"))
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        result["error"] = "%s does not run: %s" % (python, exc)
        return result
    result.update(databricks_sdk=found.get("databricks-sdk"), jmespath=found.get("jmespath"),
                  tomlkit=found.get("tomlkit"))
    result["ok"] = ws.version_at_least(result["databricks_sdk"], ws.MIN_SDK_VERSION) and \
        ws.version_at_least(result["jmespath"], ws.MIN_JMESPATH_VERSION) and \
        ws.version_at_least(result["tomlkit"], ws.MIN_TOMLKIT_VERSION)
    return result


class Checks:
    """Judges what was found; each method adds its checks."""

    def __init__(self, params: t.Dict[str, t.Any], cli: ws.FoundCli, config_file: str, profile: t.Dict[str, t.Any],
                 session: t.Dict[str, t.Any], sdk: t.Dict[str, t.Any]):
        self.params, self.cli, self.config_file = params, cli, config_file
        self.profile, self.session, self.sdk = profile, session, sdk
        self.rows = []  # type: t.List[t.Dict[str, str]]

    def add(self, category: str, status: str, label: str, value: t.Any = "", fix: str = "") -> None:
        self.rows.append(ck.check(category, status, label, value, fix))

    def all(self) -> t.List[t.Dict[str, str]]:
        self.databricks_cli()
        if self.params["sdk_python"]:
            self.databricks_sdk()
        self.profile_checks()
        self.session_check()
        return self.rows

    def databricks_cli(self) -> None:
        cli = self.cli
        if cli.path is None:
            self.add(ck.DEPENDENCIES, ck.FAIL, "Databricks CLI", cli.problem,
                     "%s  (installs the Databricks CLI)" % ck.SETUP_COMMAND)
        elif not cli.version_ok:
            self.add(ck.DEPENDENCIES, ck.FAIL, "Databricks CLI", "%s (%s) is older than %s"
                     % (cli.version, cli.path, ws.MIN_CLI_VERSION),
                     "%s -e databricks_cli_upgrade=true" % ck.SETUP_COMMAND)
        else:
            self.add(ck.DEPENDENCIES, ck.PASS, "Databricks CLI", "%s (%s)" % (cli.version, cli.path))

    def databricks_sdk(self) -> None:
        sdk = self.sdk
        if sdk["ok"]:
            self.add(ck.DEPENDENCIES, ck.PASS, "databricks-sdk", "%s, jmespath %s, tomlkit %s (%s)"
                     % (sdk["databricks_sdk"], sdk["jmespath"], sdk["tomlkit"], sdk["python"]))
            return
        found = sdk["error"] or "databricks-sdk %s, jmespath %s, tomlkit %s in %s" % (
            sdk["databricks_sdk"] or "missing", sdk["jmespath"] or "missing", sdk["tomlkit"] or "missing", sdk["python"])
        self.add(ck.DEPENDENCIES, ck.WARN, "databricks-sdk", "%s; needed: %s" % (found, ", ".join(sdk["requirements"])),
                 "%s  (installs them in its own venv); the connectivity and model checks need them"
                 % ck.SETUP_COMMAND)

    def profile_checks(self) -> None:
        profile, name = self.profile, self.profile["name"]
        host = self.params["host"]
        login = ws.login_command(name, host or profile["host"])
        if profile["exists"] is None:
            self.add(ck.PROFILE, ck.FAIL, "Profile", profile["problem"],
                     "Fix the line of %s named above, then: %s" % (self.config_file, ck.SETUP_COMMAND))
        elif not profile["exists"]:
            self.add(ck.PROFILE, ck.FAIL, "Profile", "profile %s is not in %s" % (name, self.config_file),
                     "%s\nor: %s" % (ck.SETUP_COMMAND, login))
        elif host and not ws.same_host(host, profile["host"]):
            self.add(ck.PROFILE, ck.FAIL, "Profile", "profile %s is for %s, not %s (the workspace in the settings)"
                     % (name, profile["host"] or "no workspace", host),
                     "%s -e host=<the workspace you want>  (rewrites both)" % ck.SETUP_COMMAND)
        elif profile["auth_type"] != "databricks-cli":
            self.add(ck.PROFILE, ck.FAIL, "Profile", "profile %s does not have auth_type = databricks-cli" % name,
                     "%s  (sets it)" % ck.SETUP_COMMAND)
        else:
            self.add(ck.PROFILE, ck.PASS, "Profile", "%s in %s: host %s, auth_type databricks-cli"
                     % (name, self.config_file, profile["host"]))
        if profile["credential_keys"]:
            self.add(ck.PROFILE, ck.WARN, "Profile credentials", "profile %s also holds %s, which can stand in for OAuth"
                     % (name, ", ".join(profile["credential_keys"])),
                     "%s  (removes them from the profile)" % ck.SETUP_COMMAND)

    def session_check(self) -> None:
        session, label = self.session, "OAuth session"
        state = session["state"]
        if state == "unchecked":
            return
        if state == dbcli.SESSION_ACTIVE:
            until = "; access token valid until %s" % session["expires_at"] if session["expires_at"] else ""
            self.add(ck.AUTH, ck.PASS, label, "active, profile %s%s" % (self.profile["name"], until))
        elif state == dbcli.SESSION_EXPIRED:
            self.add(ck.AUTH, ck.FAIL, label, "expired: the login session of profile %s has ended" % self.profile["name"],
                     "%s\nor: %s" % (session["login_command"], ck.REAUTH_COMMAND))
        elif state == dbcli.SESSION_NO_PROFILE:
            self.add(ck.AUTH, ck.SKIP, label, "needs the profile (see Profile)")
        elif state == dbcli.SESSION_NO_CLI:
            self.add(ck.AUTH, ck.SKIP, label, "needs the Databricks CLI (see Dependencies)")
        else:
            self.add(ck.AUTH, ck.FAIL, label, ws.mask_tokens(session["message"]),
                     "Check the workspace URL and your network (VPN, proxy variables HTTPS_PROXY and NO_PROXY), then: %s"
                     % session["login_command"])


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            profile=dict(type="str", default=ws.DEFAULT_PROFILE),
            host=dict(type="str"),
            databricks_cli=dict(type="path"),
            check_session=dict(type="bool", default=True),
            timeout=dict(type="int", default=20),
            sdk_python=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        name = ws.validate_profile(params["profile"])
        host = ws.normalize_host(params["host"]) if params["host"] else None
    except ws.ValidationError as exc:
        module.fail_json(msg=str(exc))
    params["host"] = host
    env = ws.clean_environment(os.environ)
    cli = ws.find_cli(os.environ, params["databricks_cli"])
    config_file = ws.config_file_path(env)
    info = ws.read_profile(config_file, name)
    values = info.values or {}
    module.no_log_values.update(value for key, value in values.items() if key in _CREDENTIAL_KEYS and value)
    profile = dict(name=name, exists=info.exists, host=info.host, auth_type=values.get("auth_type"),
                   credential_keys=[key for key in _CREDENTIAL_KEYS if values.get(key)], problem=info.problem)
    login = ws.login_command(name, host or info.host)
    session = dict(state="unchecked", expires_at=None, message="", login_command=login)  # type: t.Dict[str, t.Any]
    if params["check_session"]:
        if cli.path is None:
            session.update(state=dbcli.SESSION_NO_CLI, message=cli.problem)
        elif info.exists is False:
            session.update(state=dbcli.SESSION_NO_PROFILE, message="Profile %s is not in %s." % (name, config_file))
        else:
            status = dbcli.session_status(cli.path, name, env, host, max(5, params["timeout"]))
            # The CLI's error text is quoted in the message: keep any token in it out of the result.
            session.update(state=status.session, expires_at=status.expires_at, message=ws.mask_tokens(status.message))
    sdk = check_sdk(params["sdk_python"]) if params["sdk_python"] else {}
    cli_result = dict(found=cli.path is not None, path=cli.path, version=cli.version, version_ok=cli.version_ok,
                      min_version=ws.MIN_CLI_VERSION, on_path=cli.on_path, skipped=list(cli.skipped),
                      problem=cli.problem)
    checks = Checks(params, cli, config_file, profile, session, sdk).all()
    module.exit_json(changed=False, cli=cli_result, config_file=config_file, profile=profile, session=session, sdk=sdk,
                     checks=checks)


if __name__ == "__main__":
    main()
