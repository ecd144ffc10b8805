#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: codex_info
short_description: Read Codex CLI's FMAPI setup on a laptop and check it
version_added: 0.3.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Reads, without changing anything, what the setup left for Codex CLI - the C(codex) executable and its version,
    and Codex's C(config.toml) (the Databricks provider, the model, the token helper it runs, leftovers Codex refuses
    such as C(env_key) beside C(auth), legacy profile settings).
  - When C(codex) is found, lets Codex itself load the configuration (C(codex login status), which reads it and
    contacts nothing), so that a file Codex refuses is reported with Codex's own message.
  - With O(run_doctor=true), also runs C(codex doctor --json) (bounded by O(doctor_timeout)), which checks among
    other things that the provider's route answers over HTTP.
  - Returns what is configured (for a re-run to keep it) and RV(checks), the PASS/FAIL/WARN/SKIP/INFO rows the
    C(doctor) and C(status) playbooks print with M(fmapi.coding_agents.report), each failure with its fix.
  - Codex runs with the environment of the module, less the C(DATABRICKS_*) variables that would override the token
    helper's profile, and with E(CODEX_HOME) set to the folder of O(path). Never fails on a broken setup; it reports
    it.
  - Also reads Codex's managed configuration (C(/etc/codex/managed_config.toml)), which beats the user's
    configuration and C(-c) overrides. It reports whether it holds the Databricks provider, warns about each key of
    config.toml it sets otherwise (that value of the user's is ignored), and about a managed C(model_provider) that is
    not the Databricks provider while config.toml selects it (the user's setup is then silently not used).
options:
  path:
    description:
      - Codex's configuration file.
      - By default C(config.toml) in E(CODEX_HOME) when it is set, else V(~/.codex/config.toml).
    type: path
  codex:
    description:
      - The Codex executable to check. By default C(codex) on E(PATH), in C(~/.local/bin), C(~/.npm-global/bin),
        C(/opt/homebrew/bin), C(/usr/local/bin) or C(~/bin).
    type: path
  find_codex:
    description:
      - Look for Codex and run it (C(--version), C(login status)). V(false) only reads the files.
    type: bool
    default: true
  run_doctor:
    description: Run C(codex doctor --json) and report its configuration and reachability checks.
    type: bool
    default: false
  doctor_timeout:
    description: Seconds C(codex doctor) may take (it probes the network); C(--version) and C(login status) get the same.
    type: int
    default: 60
  available_models:
    description:
      - The serving endpoints the workspace offers (for example from M(fmapi.coding_agents.serving_endpoints_info)).
        When given, a configured C(model) that is not one of them is a failed check.
    type: list
    elements: str
  managed_root:
    description:
      - The folder that stands for C(/) when looking for the managed configuration (a copy of the tree made for MDM
        tools, or a scratch folder). Only the folders from it down count when judging who can write them.
    type: path
    default: /
requirements:
  - tomlkit, or Python 3.11 or later (its tomllib), to read config.toml
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
  - fmapi.coding_agents.attributes.INFO_MODULE
seealso:
  - module: fmapi.coding_agents.codex_config
  - module: fmapi.coding_agents.report
"""

EXAMPLES = r"""
- name: Read what an earlier install configured
  fmapi.coding_agents.codex_info:
  register: codex_found

- name: Check the setup with Codex's own doctor
  fmapi.coding_agents.codex_info:
    run_doctor: true
  register: codex_found

- name: Print the checks
  fmapi.coding_agents.report:
    title: Codex CLI
    checks: "{{ codex_found.checks }}"
"""

RETURN = r"""
installed:
  description: Whether config.toml holds the Databricks provider (C([model_providers.databricks]) with a C(base_url)).
  returned: always
  type: bool
  sample: true
path:
  description: The C(codex) executable found, or V(null).
  returned: always
  type: str
  sample: /home/dev/.local/bin/codex
version:
  description: Its version, or V(null) when it was not found or does not run.
  returned: always
  type: str
  sample: 0.171.0
version_ok:
  description: Whether RV(version) is at least the oldest Codex the setup works with (0.134.0).
  returned: always
  type: bool
codex:
  description:
    - The C(codex) executable - C(found), C(path), C(version), C(version_ok), C(on_path) and C(output) (what
      C(--version) printed, or why it did not run).
  returned: always
  type: dict
  sample: {found: true, path: /home/dev/.local/bin/codex, version: 0.171.0, version_ok: true, on_path: true,
           output: codex-cli 0.171.0}
config_path:
  description: The configuration file read, as an absolute path.
  returned: always
  type: str
  sample: /home/dev/.codex/config.toml
config_exists:
  description: Whether it exists.
  returned: always
  type: bool
config_valid:
  description: Whether it is valid TOML (V(true) when it is missing).
  returned: always
  type: bool
config_error:
  description: Why it cannot be read (with line and column), or V(null).
  returned: always
  type: str
config_mode:
  description: Its permission bits (V("0600")), or V(null).
  returned: always
  type: str
provider_selected:
  description: Whether C(model_provider) is V(databricks), so a plain C(codex) uses the workspace.
  returned: always
  type: bool
model_provider:
  description: The top-level C(model_provider), or V(null) (Codex then uses OpenAI).
  returned: always
  type: str
host:
  description: The workspace URL of the provider's C(base_url), or V(null) when it is not a Databricks route.
  returned: always
  type: str
  sample: https://my-workspace.cloud.databricks.com
endpoint_style:
  description: V(serving-endpoints) or V(ai-gateway), from the C(base_url); V(null) when unknown.
  returned: always
  type: str
base_url:
  description: The provider's C(base_url), or V(null).
  returned: always
  type: str
model:
  description: The top-level C(model), or V(null).
  returned: always
  type: str
  sample: databricks-gpt-5-5
auth_command:
  description: The provider's C(auth.command) (the token helper), or V(null).
  returned: always
  type: str
auth_command_ok:
  description: Whether RV(auth_command) is an existing executable file.
  returned: always
  type: bool
auth_timeout_ms:
  description: C(auth.timeout_ms), or V(null).
  returned: always
  type: int
refresh_interval_ms:
  description: C(auth.refresh_interval_ms), or V(null).
  returned: always
  type: int
profile:
  description: The Databricks CLI profile of the token helper (from its metadata line), or V(null).
  returned: always
  type: str
helper_is_ours:
  description: Whether the token helper carries this collection's metadata line.
  returned: always
  type: bool
conflicting_keys:
  description: Keys of the provider table Codex refuses beside C(auth) (C(env_key), ...).
  returned: always
  type: list
  elements: str
legacy_profile:
  description: The top-level C(profile) value, which Codex 0.134 and later refuse, or V(null).
  returned: always
  type: str
profiles:
  description: The names of C([profiles.*]) tables in config.toml.
  returned: always
  type: list
  elements: str
config_load:
  description:
    - What Codex said loading the configuration (C(codex login status)) - C(ran), C(ok), C(error) (Codex's message,
      when it refused the file).
  returned: always
  type: dict
  sample: {ran: true, ok: false, error: "/home/dev/.codex/config.toml:5:2: model_providers.databricks: provider auth
           cannot be combined with env_key"}
doctor:
  description:
    - What C(codex doctor --json) reported - C(ran), C(rc), C(timed_out), C(overall_status) (V(ok), V(warning),
      V(fail)), C(error) (why it gave no report), and C(checks), each of its checks by id (C(config.load),
      C(network.provider_reachability), C(auth.credentials), ...) with C(status), C(summary), C(remediation) and,
      for the reachability check, C(details) and C(issues).
  returned: always
  type: dict
removable:
  description: What an uninstall would remove or give back, as C(label) and C(value) rows.
  returned: always
  type: list
  elements: dict
summary:
  description: What is configured, as C(label) and C(value) rows for a status dashboard.
  returned: always
  type: list
  elements: dict
scope:
  description:
    - V(managed) when the Databricks provider comes from Codex's managed configuration (a setup with
      C(settings_scope=managed); the user's config.toml holds none of it), else V(user). The values of the setup
      (RV(host), RV(model), RV(auth_command), ...) are then the managed configuration's.
  returned: always
  type: str
  sample: user
managed:
  description:
    - Codex's managed configuration - C(path), C(exists), C(valid), C(error), C(provider_present) (it has
      C([model_providers.databricks])), C(model), C(model_provider), C(base_url) and C(auth_command) (of that
      provider), C(values) (what it pins of C(model), C(model_provider), the provider's C(base_url) and
      C(auth.command), by dotted key), C(insecure_folders) (the file and folders above it that others than their
      owner can write, when it has the provider), C(configured) (it has the provider and selects it), and
      C(overridden) (each key of config.toml it sets otherwise - C(key), C(user_value), C(managed_value), C(file)).
      Tokens are masked.
  returned: always
  type: dict
  sample: {path: /etc/codex/managed_config.toml, exists: true, valid: true, error: null, provider_present: true,
           model: databricks-gpt-5-5, model_provider: databricks, base_url: "https://my-workspace.cloud.databricks.com/ai-gateway/codex/v1",
           auth_command: /usr/local/libexec/fmapi-coding-agents/fmapi-token-helper, values: {model: databricks-gpt-5-5},
           insecure_folders: [], configured: true, overridden: []}
checks:
  description: The checks, each with C(category), C(status), C(label), C(value) and C(fix).
  returned: always
  type: list
  elements: dict
  sample:
    - {category: Configuration, status: PASS, label: Codex config, value: /home/dev/.codex/config.toml uses the
       Databricks provider, fix: ""}
"""

import json
import os
import re
import shlex
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _checks as ck
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _codex_config as cc
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _managed as mg
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws
from ansible_collections.fmapi.coding_agents.plugins.module_utils._databricks_cli import CliRun, run_cli
from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import mode_of, read_bytes
from ansible_collections.fmapi.coding_agents.plugins.module_utils._helper_metadata import read_helper_metadata

_VERSION = re.compile(r"\d+\.\d+\.\d+")
SETUP_CODEX = ck.SETUP_COMMAND + " -e agents=codex"
SETUP_CODEX_WITH_HOST = SETUP_CODEX + " -e host=https://<your-workspace>"
# The checks of `codex doctor --json` this module reports, and the ones it keeps in its result.
DOCTOR_CONFIG = "config.load"
DOCTOR_REACHABILITY = "network.provider_reachability"
DOCTOR_AUTH = "auth.credentials"
# What a managed configuration may pin over the user's (dotted keys): compared, and the ones returned.
OVERRIDABLE_KEYS = (cc.MODEL, cc.MODEL_PROVIDER, cc.PROVIDER_TABLE)
PINNED_KEYS = (cc.MODEL, cc.MODEL_PROVIDER, cc.PROVIDER_TABLE + "." + cc.BASE_URL, cc.AUTH_TABLE + "." + cc.COMMAND)
# Codex's words when it cannot load its configuration (`Error loading configuration: ...`, `failed to load ...`).
_LOAD_ERROR = re.compile(r"^(?:Error loading config(?:uration|\.toml)?:\s*|Error:\s*failed to load.*)", re.IGNORECASE)


def codex_environment(environ: t.Mapping[str, str], config_path: str) -> t.Dict[str, str]:
    """What Codex runs with: the module's environment less the DATABRICKS_* variables (the token helper inherits
    them), Codex's home at the folder of ``config_path``, no colours."""
    env = ws.clean_environment(environ)
    if os.path.basename(config_path) == cc.CONFIG_FILE_NAME:
        env[cc.CODEX_HOME_VARIABLE] = os.path.dirname(config_path)
    env["NO_COLOR"] = "1"
    return env


def find_codex(environ: t.Mapping[str, str], given: t.Optional[str], env: t.Dict[str, str],
               timeout: int) -> t.Dict[str, t.Any]:
    """The ``codex`` executable: given, or on PATH, or where its installers put it; its version."""
    found = dict(found=False, path=None, version=None, version_ok=False, on_path=False,
                 output="")  # type: t.Dict[str, t.Any]
    if given:
        candidates = [(os.path.abspath(given), False)]
    else:
        candidates = ws.cli_candidates(environ, cc.CODEX_NAME, cc.CODEX_SEARCH_DIRS)
    for path, on_path in candidates:
        if not ws.is_executable_file(path):
            continue
        found.update(found=True, path=path, on_path=on_path)
        completed = run_cli([path, "--version"], env, timeout)
        output = (completed.stdout.strip() or completed.stderr.strip() or completed.start_error or "").strip()
        if completed.timed_out:
            output = "`%s --version` gave no answer within %d s" % (path, timeout)
        lines = [line for line in output.splitlines() if line.strip() and "WARNING" not in line]
        found["output"] = lines[0] if lines else output
        match = _VERSION.search(completed.stdout) if completed.returncode == 0 else None
        found["version"] = match.group(0) if match else None
        found["version_ok"] = ws.version_at_least(found["version"], ws.MIN_CODEX_VERSION)
        break
    return found


def load_error(completed: CliRun) -> t.Optional[str]:
    """Codex's message when ``codex login status`` could not load the configuration, else None."""
    lines = [line.rstrip() for line in (completed.stderr + "\n" + completed.stdout).splitlines()]
    for index, line in enumerate(lines):
        if _LOAD_ERROR.match(line.strip()):
            following = [rest.strip() for rest in lines[index + 1:index + 6] if rest.strip() and "WARNING" not in rest]
            message = [_LOAD_ERROR.sub("", line.strip())] + following
            return ws.mask_tokens(" ".join(part for part in message if part))
    return None


def check_config_load(codex_path: str, env: t.Dict[str, str], timeout: int) -> t.Dict[str, t.Any]:
    """Let Codex load its configuration: ``codex login status`` reads it, contacts nothing and writes nothing."""
    completed = run_cli([codex_path, "login", "status"], env, timeout)
    if completed.timed_out or completed.start_error:
        return dict(ran=True, ok=None,
                    error=completed.start_error or "codex login status gave no answer within %d s" % timeout)
    error = load_error(completed)
    return dict(ran=True, ok=error is None, error=error)


def run_doctor(codex_path: str, env: t.Dict[str, str], timeout: int) -> t.Dict[str, t.Any]:
    """``codex doctor --json``: its overall status and checks (the report is redacted by Codex itself)."""
    completed = run_cli([codex_path, "doctor", "--json"], env, timeout)
    result = dict(ran=True, rc=completed.returncode, timed_out=completed.timed_out, overall_status=None, checks={},
                  error=None)  # type: t.Dict[str, t.Any]
    if completed.timed_out:
        result["error"] = "codex doctor gave no answer within %d s" % timeout
        return result
    if completed.start_error:
        result["error"] = completed.start_error
        return result
    try:
        report = json.loads(completed.stdout)
    except ValueError:
        tail = [line for line in completed.stderr.splitlines() if line.strip()][-3:]
        result["error"] = ws.mask_tokens("codex doctor --json printed no report (exit status %s): %s"
                                         % (completed.returncode, " ".join(tail) or "no message"))
        return result
    checks = report.get("checks") if isinstance(report, dict) else None
    result["overall_status"] = report.get("overallStatus") if isinstance(report, dict) else None
    for check_id, check in (checks or {}).items():
        if not isinstance(check, dict):
            continue
        kept = dict(status=check.get("status"), summary=check.get("summary"), remediation=check.get("remediation"))
        if check_id in (DOCTOR_REACHABILITY, DOCTOR_CONFIG):
            kept["details"] = check.get("details") if isinstance(check.get("details"), dict) else {}
            kept["issues"] = check.get("issues") if isinstance(check.get("issues"), list) else []
        result["checks"][check_id] = kept
    return result


class Reader:
    """Reads config.toml and the token helper it names; ``warnings`` for a person, ``secrets`` to mask."""

    def __init__(self, config_path: str):
        self.config_path = config_path
        self.warnings = []  # type: t.List[str]
        self.secrets = []  # type: t.List[str]
        self.data = {}  # type: t.Dict[str, t.Any]

    def read(self) -> t.Dict[str, t.Any]:
        info = dict(installed=False, config_path=self.config_path, config_exists=False, config_valid=True,
                    config_error=None, config_mode=None, profile=None, helper_is_ours=False, auth_command_ok=False,
                    state_file=None, previous=None)  # type: t.Dict[str, t.Any]
        data = {}  # type: t.Dict[str, t.Any]
        raw = None
        if os.path.isdir(self.config_path):
            info.update(config_valid=False, config_error="%s is a folder, not Codex's configuration file"
                        % self.config_path)
        else:
            try:
                raw = read_bytes(self.config_path)
            except OSError as exc:
                error = "Cannot read %s: %s" % (self.config_path, exc.strerror or exc)
                info.update(config_valid=False, config_error=error)
        if raw is not None:
            info["config_exists"] = True
            info["config_mode"] = "%04o" % (mode_of(self.config_path) or 0)
            self.secrets.extend(ws.token_shaped_values(raw.decode("utf-8", "replace")))
            try:
                parsed = cc.parse_config(raw, self.config_path)
                data = parsed.data
                self.secrets.extend(cc.secret_values(data, parsed.text))
            except cc.ConfigError as exc:
                info.update(config_valid=False, config_error=exc.message)
        if info["config_error"]:
            self.warnings.append(info["config_error"] + "; nothing could be read from it.")
        self.data = data
        info.update(cc.describe(data))
        info["installed"] = bool(info["provider_present"] and info["base_url"])
        command = info["auth_command"]
        if command:
            info["auth_command_ok"] = ws.is_executable_file(command)
            metadata = self.helper_metadata(command)
            info["helper_is_ours"] = "version" in metadata
            profile = metadata.get("profile")
            info["profile"] = profile if isinstance(profile, str) else None
            helper_host = metadata.get("host")
            if info["host"] and isinstance(helper_host, str) and not ws.same_host(helper_host, info["host"]):
                self.warnings.append("The token helper %s was made for %s, but %s points Codex at %s: the tokens it "
                                     "prints are for the other workspace."
                                     % (command, helper_host, self.config_path, info["host"]))
        state_path = cc.state_file_path(self.config_path)
        try:
            record = cc.parse_state(read_bytes(state_path))
        except OSError:
            record = None
        if record is not None:
            info["state_file"] = state_path
            before = ((record.get("keys") or {}).get(cc.MODEL) or {}).get("before")
            info["previous"] = dict(model=before)
        return info

    @staticmethod
    def helper_metadata(command: str) -> t.Dict[str, t.Any]:
        if not os.path.isfile(command):
            return {}
        try:
            with open(command, "rb") as handle:
                head = handle.read(8192).decode("utf-8", "replace")
        except OSError:
            return {}
        return read_helper_metadata(head) or {}


# What a managed setup (settings_scope=managed) tells of the setup when the user's config.toml holds none of it.
EFFECTIVE_KEYS = ("installed", "provider_present", "provider_selected", "model_provider", "host", "endpoint_style",
                  "base_url", "wire_api", "model", "auth_command", "auth_args", "auth_command_ok", "auth_timeout_ms",
                  "refresh_interval_ms", "header_names", "profile", "helper_is_ours")


def use_managed_setup(info: t.Dict[str, t.Any], root: str, effective: t.Dict[str, t.Any]) -> None:
    """Take the setup's values from Codex's managed configuration (settings_scope=managed; ``effective`` is what
    :class:`Reader` read there): the user's config.toml holds none of them then, and the managed configuration is
    what Codex uses."""
    if not effective["installed"]:
        return
    effective = dict(effective)
    if effective["auth_command"] == mg.SYSTEM_TOKEN_HELPER:
        # The machine's helper, wherever this tree is (managed_root).
        helper = mg.under(root, mg.SYSTEM_TOKEN_HELPER)
        metadata = Reader.helper_metadata(helper)
        effective["auth_command_ok"] = ws.is_executable_file(helper)
        info["auth_command_path"] = helper
        effective["helper_is_ours"] = "version" in metadata
        effective["profile"] = metadata.get("profile") if isinstance(metadata.get("profile"), str) else None
    info.update((key, effective.get(key)) for key in EFFECTIVE_KEYS)
    info["scope"] = "managed"


def read_managed(root: str, user_data: t.Dict[str, t.Any]) -> t.Tuple[t.Dict[str, t.Any], t.List[str], t.Dict[str, t.Any]]:
    """Codex's managed configuration under ``root`` and what it overrides of ``user_data`` (config.toml): (what the
    module returns as ``managed``, the values to keep out of any output, what :class:`Reader` read there)."""
    reader = Reader(mg.codex_config(None, root))
    found = reader.read()
    secrets = reader.secrets

    def masked(value: t.Any) -> t.Any:
        return ws.mask_tokens(value, secrets) if isinstance(value, str) else value

    flat = mg.flatten(reader.data)
    path = found["config_path"]
    managed = dict(
        path=path, exists=found["config_exists"] or not found["config_valid"], valid=found["config_valid"],
        error=found["config_error"], provider_present=found["provider_present"],
        values=dict((key, masked(flat[key])) for key in PINNED_KEYS if key in flat),
        insecure_folders=mg.insecure_under(path, root) if found["provider_present"] else [],
        configured=found["provider_present"] and found["provider_selected"],
        overridden=[dict(key=key, user_value=masked(mine), managed_value=masked(theirs), file=path)
                    for key, mine, theirs in mg.overridden(reader.data, user_data, OVERRIDABLE_KEYS)],
    )  # type: t.Dict[str, t.Any]
    managed.update((key, masked(found[key])) for key in ("model", "model_provider", "base_url", "auth_command"))
    return managed, secrets, found


class Checks:
    """Judges one setup; each method adds its checks."""

    def __init__(self, info: t.Dict[str, t.Any], codex: t.Dict[str, t.Any], config_load: t.Dict[str, t.Any],
                 doctor: t.Dict[str, t.Any], available_models: t.Optional[t.List[str]], looked_for_codex: bool):
        self.info = info
        self.codex = codex
        self.config_load = config_load
        self.doctor = doctor
        self.available_models = available_models
        self.looked_for_codex = looked_for_codex
        self.rows = []  # type: t.List[t.Dict[str, str]]

    def add(self, category: str, status: str, label: str, value: t.Any = "", fix: str = "") -> None:
        self.rows.append(ck.check(category, status, label, value, fix))

    def all(self) -> t.List[t.Dict[str, str]]:
        self.codex_cli()
        self.config_file()
        self.managed_config()
        self.loaded_by_codex()
        self.reachability()
        self.model()
        return self.rows

    # ------------------------------------------------------------------------------------- dependencies

    def codex_cli(self) -> None:
        label = "Codex CLI"
        codex = self.codex
        if not self.looked_for_codex:
            self.add(ck.DEPENDENCIES, ck.SKIP, label, "not looked for")
        elif not codex["found"]:
            self.add(ck.DEPENDENCIES, ck.FAIL, label, "codex was not found on PATH or in %s"
                     % ", ".join(cc.CODEX_SEARCH_DIRS), "%s  (installs Codex CLI)" % SETUP_CODEX)
        elif not codex["version"]:
            self.add(ck.DEPENDENCIES, ck.FAIL, label, "%s does not run: %s" % (codex["path"], codex["output"]),
                     "%s  (installs Codex CLI again)" % SETUP_CODEX)
        elif not codex["version_ok"]:
            self.add(ck.DEPENDENCIES, ck.FAIL, label, "%s (%s) is older than %s, which command-backed provider auth "
                     "needs" % (codex["version"], codex["path"], ws.MIN_CODEX_VERSION),
                     "%s  (upgrades Codex CLI), or: npm install -g @openai/codex@latest" % SETUP_CODEX)
        elif not codex["on_path"]:
            directory = os.path.dirname(codex["path"])
            self.add(ck.DEPENDENCIES, ck.WARN, label, "%s (%s), not on PATH" % (codex["version"], codex["path"]),
                     "Add %s to PATH in your shell's startup file (export PATH=\"%s:$PATH\")" % (directory, directory))
        else:
            self.add(ck.DEPENDENCIES, ck.PASS, label, "%s (%s)" % (codex["version"], codex["path"]))

    # ------------------------------------------------------------------------------------ configuration

    def config_file(self) -> None:
        info = self.info
        label = "Codex config"
        path = info["config_path"]
        if not info["config_valid"]:
            self.add(ck.CONFIGURATION, ck.FAIL, label, info["config_error"],
                     "Fix the TOML at the line and column named (Codex cannot load it either), or run: %s -e "
                     "codex_repair_config=true  (keeps the old file as a backup beside it)" % SETUP_CODEX)
            return
        if info.get("scope") == "managed":
            self.add(ck.CONFIGURATION, ck.PASS, label, "managed: %s uses the Databricks provider for every user"
                     % info["managed"]["path"])
        elif not info["config_exists"]:
            self.add(ck.CONFIGURATION, ck.FAIL, label, "No Databricks configuration for Codex: %s does not exist" % path,
                     SETUP_CODEX_WITH_HOST)
        elif not info["installed"]:
            self.add(ck.CONFIGURATION, ck.FAIL, label, "No Databricks provider in %s" % path, SETUP_CODEX_WITH_HOST)
        elif not info["provider_selected"]:
            self.add(ck.CONFIGURATION, ck.FAIL, label, "%s sets model_provider = %s, so codex does not use the "
                     "Databricks provider" % (path, json.dumps(info["model_provider"]) if info["model_provider"]
                                              else "nothing (OpenAI)"),
                     "%s  (selects it again; your other settings stay)" % SETUP_CODEX)
        else:
            self.add(ck.CONFIGURATION, ck.PASS, label, "%s uses the Databricks provider" % path)
        self.provider()
        self.auth_command()
        self.leftovers()
        self.legacy_profiles()
        self.permissions()

    def provider(self) -> None:
        info = self.info
        label = "Codex provider"
        if not info["provider_present"]:
            return
        if not info["base_url"]:
            self.add(ck.CONFIGURATION, ck.FAIL, label, "[%s] has no base_url" % cc.PROVIDER_TABLE,
                     "%s  (writes it again)" % SETUP_CODEX)
        elif info["wire_api"] != cc.WIRE_API:
            self.add(ck.CONFIGURATION, ck.FAIL, label, "[%s] has wire_api = %s; Codex accepts only \"%s\""
                     % (cc.PROVIDER_TABLE, json.dumps(info["wire_api"]) if info["wire_api"] else "nothing",
                        cc.WIRE_API), "%s  (writes it again)" % SETUP_CODEX)
        elif not info["host"]:
            self.add(ck.CONFIGURATION, ck.INFO, label, "base_url %s is not one of the workspace routes "
                     "(/serving-endpoints/codex/v1, /ai-gateway/codex/v1): a route of your own" % info["base_url"])
        else:
            self.add(ck.CONFIGURATION, ck.PASS, label, "workspace %s via %s (%s)" % (
                info["host"], info["endpoint_style"], info["base_url"]))

    def auth_command(self) -> None:
        info = self.info
        label = "Codex auth command"
        command = info["auth_command"]
        if not info["provider_present"]:
            return
        if not command:
            self.add(ck.AUTH, ck.FAIL, label, "[%s] has no command: Codex sends no Databricks token" % cc.AUTH_TABLE,
                     "%s  (points it at the token helper)" % SETUP_CODEX)
        elif not os.path.isabs(command):
            self.add(ck.AUTH, ck.WARN, label, "auth.command %s is not an absolute path; Codex looks it up from the "
                     "folder it starts in" % command, "%s  (writes the helper's full path)" % SETUP_CODEX)
        elif not os.path.isfile(info.get("auth_command_path") or command):
            self.add(ck.AUTH, ck.FAIL, label, "auth.command runs %s, which does not exist: Codex sends requests "
                     "without a token" % command, "%s  (writes the token helper again)" % SETUP_CODEX)
        elif not info["auth_command_ok"]:
            self.add(ck.AUTH, ck.FAIL, label, "%s is not executable" % command,
                     "chmod 700 %s   or: %s" % (shlex.quote(command), SETUP_CODEX))
        elif not info["helper_is_ours"]:
            self.add(ck.AUTH, ck.WARN, label, "%s is not the token helper of this collection" % command,
                     "%s  (points Codex at the token helper)" % SETUP_CODEX)
        else:
            self.add(ck.AUTH, ck.PASS, label, "%s (token helper, profile %s)" % (command, info["profile"] or "?"))

    def leftovers(self) -> None:
        keys = self.info["conflicting_keys"]
        if keys:
            self.add(ck.CONFIGURATION, ck.FAIL, "Codex provider leftovers", "[%s] has %s beside auth: Codex refuses to "
                     "load it" % (cc.PROVIDER_TABLE, ", ".join(keys)), "%s  (removes them)" % SETUP_CODEX)

    def legacy_profiles(self) -> None:
        info = self.info
        path = info["config_path"]
        if info["legacy_profile"] is not None:
            name = info["legacy_profile"]
            self.add(ck.CONFIGURATION, ck.FAIL, "Codex legacy profile", "%s has a top-level profile = %s: Codex 0.134 "
                     "and later refuse to start with it" % (path, json.dumps(name)),
                     "Delete that line; to keep the profile, move [profiles.%s] into %s and run codex --profile %s"
                     % (name, cc.profile_file_path(path, name), name))
        for name in info["profiles"]:
            self.add(ck.CONFIGURATION, ck.WARN, "Codex legacy profile", "%s has [profiles.%s], which Codex 0.134 and "
                     "later ignore (codex --profile %s fails while it is there)" % (path, name, name),
                     "Move its settings into %s and delete the table" % cc.profile_file_path(path, name))

    def permissions(self) -> None:
        mode = self.info["config_mode"]
        if mode and int(mode, 8) & 0o077 and self.info["installed"]:
            path = self.info["config_path"]
            self.add(ck.CONFIGURATION, ck.INFO, "Codex config permissions", "%s has mode %s (it holds no token; "
                     "other tools' secrets in it would be readable)" % (path, mode), "chmod 600 %s" % shlex.quote(path))

    def managed_config(self) -> None:
        """Codex's managed configuration: whether it has the provider, is safe, and what it takes from the user's."""
        managed = self.info.get("managed")
        if not managed or not managed["exists"]:
            return
        label = "Codex managed config"
        path, folders = managed["path"], managed["insecure_folders"]
        if not managed["valid"]:
            self.add(ck.CONFIGURATION, ck.WARN, label, managed["error"], "Fix it, or ask whoever manages it")
            return
        if folders:
            self.add(ck.CONFIGURATION, ck.WARN, label, "%s: %s can be written by others than the owner, who could "
                     "change the command Codex runs for its token" % (path, ", ".join(folders)), mg.insecure_fix(folders))
        elif managed["provider_present"]:
            self.add(ck.CONFIGURATION, ck.PASS, label, "%s: the Databricks provider%s, over the user's config"
                     % (path, " (model %s)" % managed["model"] if managed["model"] else ""))
        else:
            self.add(ck.CONFIGURATION, ck.INFO, label, "%s (no Databricks provider: not this collection's)" % path)
        provider = managed["model_provider"]
        info = self.info
        if info["installed"] and info["provider_selected"] and provider is not None and provider != cc.PROVIDER_ID:
            self.add(ck.CONFIGURATION, ck.WARN, label, "%s sets model_provider = %s, not this collection's Databricks "
                     "provider: Codex does not use the FMAPI setup in %s"
                     % (path, json.dumps(provider), info["config_path"]),
                     "Ask whoever manages %s to remove model_provider from it" % path)
        for item in managed["overridden"]:
            value, fix = mg.override_note(item["key"], info["config_path"], item["file"],
                                          ws.mask_tokens(json.dumps(item["managed_value"], ensure_ascii=False)))
            self.add(ck.CONFIGURATION, ck.WARN, "Codex overridden setting", value, fix)

    def loaded_by_codex(self) -> None:
        label = "Codex loads config"
        load = self.config_load
        if not load.get("ran"):
            reason = "Codex was not found" if self.looked_for_codex else "Codex was not run"
            self.add(ck.CONFIGURATION, ck.SKIP, label, reason)
        elif load.get("ok") is None:
            self.add(ck.CONFIGURATION, ck.WARN, label, load.get("error") or "no answer",
                     "Run it yourself: codex login status")
        elif not load["ok"]:
            self.add(ck.CONFIGURATION, ck.FAIL, label, "Codex refuses %s: %s" % (self.info["config_path"], load["error"]),
                     self.load_fix(load["error"] or ""))
        else:
            self.add(ck.CONFIGURATION, ck.PASS, label, "Codex loads %s" % self.info["config_path"])

    def load_fix(self, error: str) -> str:
        if "legacy" in error and "profile" in error:
            return "Delete the top-level profile line of %s (see Codex legacy profile)" % self.info["config_path"]
        if "cannot be combined" in error:
            return "%s  (removes what Codex refuses beside auth)" % SETUP_CODEX
        if not self.info["config_valid"]:
            return "Fix the TOML at the line and column named"
        return "Fix what Codex names in %s, or move the file aside and run: %s" % (
            self.info["config_path"], SETUP_CODEX_WITH_HOST)

    # ------------------------------------------------------------------------------------- connectivity

    def reachability(self) -> None:
        label = "Codex provider reachable"
        doctor = self.doctor
        if not doctor.get("ran"):
            self.add(ck.CONNECTIVITY, ck.SKIP, label, "codex doctor was not run")
            return
        if doctor.get("error"):
            self.add(ck.CONNECTIVITY, ck.WARN, label, doctor["error"], "Run it yourself: codex doctor")
            return
        check = doctor["checks"].get(DOCTOR_REACHABILITY)
        loaded = (doctor["checks"].get(DOCTOR_CONFIG) or {}).get("status") != "fail" and \
            self.config_load.get("ok") is not False
        if not loaded or not self.info["provider_selected"]:
            # Codex then checks OpenAI's endpoints, which says nothing about the workspace.
            self.add(ck.CONNECTIVITY, ck.SKIP, label, "Codex cannot load its configuration (see Codex loads config)"
                     if not loaded else "Codex does not use the Databricks provider (see Codex config)")
            return
        if not check:
            self.add(ck.CONNECTIVITY, ck.SKIP, label, "codex doctor has no reachability check")
            return
        status = check.get("status")
        details = "; ".join("%s: %s" % (key, value) for key, value in sorted((check.get("details") or {}).items())
                            if key != "reachability mode")
        if status == "ok":
            self.add(ck.CONNECTIVITY, ck.PASS, label, "%s (%s)" % (check.get("summary"), details))
            return
        causes = [issue.get("cause") for issue in check.get("issues") or [] if isinstance(issue, dict) and
                  issue.get("cause")]
        value = "; ".join([check.get("summary") or "unreachable"] + causes + ([details] if details else []))
        if " 404" in details or any("404" in cause for cause in causes):
            fix = ("The workspace does not serve this route: %s -e endpoint_style=%s (or check the workspace URL)"
                   % (SETUP_CODEX, ws.ENDPOINT_STYLE_SERVING_ENDPOINTS
                      if self.info["endpoint_style"] == ws.ENDPOINT_STYLE_AI_GATEWAY else ws.ENDPOINT_STYLE_AI_GATEWAY))
        else:
            fix = check.get("remediation") or "Check the network, VPN and proxy, then: codex doctor"
        self.add(ck.CONNECTIVITY, ck.FAIL if status == "fail" else ck.WARN, label, value, fix)

    # ------------------------------------------------------------------------------------------- models

    def model(self) -> None:
        label = "Codex model"
        info = self.info
        model = info["model"]
        if not info["installed"]:
            return
        if not model:
            self.add(ck.MODELS, ck.FAIL, label, "config.toml sets no model: Codex would ask the workspace for an "
                     "OpenAI model name", "%s -e codex_model=<endpoint>" % SETUP_CODEX)
        elif self.available_models is not None and model not in self.available_models:
            self.add(ck.MODELS, ck.FAIL, label, "%s is not a serving endpoint of the workspace" % model,
                     "%s -e codex_model=<endpoint>  (%s lists them)" % (SETUP_CODEX, ck.LIST_MODELS_COMMAND))
        elif self.available_models is not None:
            self.add(ck.MODELS, ck.PASS, label, "%s (served by the workspace)" % model)
        else:
            self.add(ck.MODELS, ck.INFO, label, model)


def summary(info: t.Dict[str, t.Any], codex: t.Dict[str, t.Any]) -> t.List[t.Dict[str, str]]:
    """What is configured, for a status dashboard."""
    rows = []  # type: t.List[t.Tuple[str, str]]
    if info["installed"]:
        rows = [("Codex CLI", "%s (%s)" % (codex["version"], codex["path"]) if codex["version"] else "not found"),
                ("Workspace", info["host"] or info["base_url"] or "not set"),
                ("Endpoint style", info["endpoint_style"] or "custom base_url"),
                ("Model", info["model"] or "not set"),
                ("Config", info["config_path"]),
                ("Token helper", info["auth_command"] or "not set")]
    managed = info.get("managed") or {}
    if managed.get("provider_present"):
        rows.append(("Managed config", managed["path"]))
    return [dict(label=label, value=value) for label, value in rows]


def removable(info: t.Dict[str, t.Any]) -> t.List[t.Dict[str, str]]:
    """What an uninstall removes or gives back."""
    rows = []
    if info.get("scope") == "managed":
        rows.append(dict(label="Codex config", value="the Databricks provider in %s (the managed configuration)"
                         % info["managed"]["path"]))
    elif info["config_valid"] and (info["provider_present"] or info["provider_selected"]):
        rows.append(dict(label="Codex config", value="the Databricks provider in %s" % info["config_path"]))
        previous = (info.get("previous") or {}).get("model")
        if previous:
            rows.append(dict(label="Codex model", value="back to your own %s" % previous))
    return rows


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path"),
            codex=dict(type="path"),
            find_codex=dict(type="bool", default=True),
            run_doctor=dict(type="bool", default=False),
            doctor_timeout=dict(type="int", default=60),
            available_models=dict(type="list", elements="str"),
            managed_root=dict(type="path", default="/"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    config_path = os.path.abspath(params["path"] or cc.config_file_path(os.environ))
    reader = Reader(config_path)
    info = reader.read()
    info["managed"], managed_secrets, managed_found = read_managed(params["managed_root"], reader.data)
    info["scope"] = "user"
    if not info["installed"] and info["managed"]["configured"]:
        use_managed_setup(info, params["managed_root"], managed_found)
    module.no_log_values.update(value for value in reader.secrets + managed_secrets if value)
    env = codex_environment(os.environ, config_path)
    timeout = max(1, params["doctor_timeout"])
    codex = dict(found=False, path=None, version=None, version_ok=False, on_path=False, output="")  # type: t.Dict[str, t.Any]
    config_load = {"ran": False}  # type: t.Dict[str, t.Any]
    doctor = {"ran": False}  # type: t.Dict[str, t.Any]
    if params["find_codex"]:
        codex = find_codex(os.environ, params["codex"], env, timeout)
        if codex["version"]:
            config_load = check_config_load(codex["path"], env, timeout)
            if params["run_doctor"]:
                doctor = run_doctor(codex["path"], env, timeout)
    for warning in reader.warnings:
        module.warn(warning)
    checks = Checks(info, codex, config_load, doctor, params["available_models"], params["find_codex"]).all()
    result = dict((key, value) for key, value in info.items() if key not in ("provider_present", "header_names", "auth_command_path",
                                                                             "auth_args", "wire_api", "previous",
                                                                             "profiles_using_provider", "state_file"))
    module.exit_json(changed=False, path=codex["path"], version=codex["version"], version_ok=codex["version_ok"],
                     codex=codex, config_load=config_load, doctor=doctor, checks=checks, summary=summary(info, codex),
                     removable=removable(info), **result)


if __name__ == "__main__":
    main()
