#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: gemini_info
short_description: Read Gemini CLI's FMAPI setup on a laptop and check it
version_added: 0.3.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Reads, without changing anything, what an FMAPI install of Gemini CLI left on this machine. That is the
    launcher (M(fmapi.coding_agents.gemini_launcher)) and its metadata line, the real Gemini CLI and its version,
    what C(gemini) means on the user's E(PATH), and C(security.auth.selectedType) in the user's settings
    (M(fmapi.coding_agents.gemini_settings)). It also reads the system settings and, with O(project_dir), a
    project's settings, which can override the user's.
  - Returns RV(checks), the PASS/FAIL/WARN/SKIP/INFO rows that M(fmapi.coding_agents.report) prints, each problem
    with its fix, and the values found, so that a new run can keep them.
  - C(gemini --version) runs with a throwaway E(GEMINI_CLI_HOME), because Gemini CLI writes into its home folder
    even then; nothing of the user's changes.
  - With O(run_launcher=true) it also runs the launcher with C(--version). That runs the token helper and then
    the real Gemini CLI, proving the chain up to the request. It runs only a launcher that carries this
    collection's metadata line. A login is never started (C(BROWSER=none)); the token is never returned or
    logged.
  - The system settings are the managed layer of Gemini CLI, which beats the user's settings. Gemini CLI reads them
    only while the file and every folder above it can be written by nobody but their owner; RV(managed) and
    RV(checks) say whether it skips them, whether they are this collection's (they pin
    C(security.auth.enforcedType) to C(gemini-api-key)), and which keys of the user settings they set otherwise
    (that value of the user's is ignored).
  - Never fails on a broken file; it reports the problem in RV(checks).
options:
  launcher:
    description: The launcher to read.
    type: path
    default: ~/.local/bin/gemini
    aliases: [launcher_path]
  prefix:
    description:
      - The npm prefix the setup installs Gemini CLI into. Its C(bin/gemini) is the Gemini CLI checked when there is
        no launcher of this collection to say which one it starts (and O(gemini_command) is not given).
    type: path
  settings_path:
    description:
      - Gemini CLI's user settings file. By default C($GEMINI_CLI_HOME/.gemini/settings.json) when
        E(GEMINI_CLI_HOME) is set, else C(~/.gemini/settings.json).
    type: path
  system_settings_path:
    description:
      - The system settings file, which beats the user's. By default C(etc/gemini-cli/settings.json)
        (C(Library/Application Support/GeminiCli/settings.json) on macOS) in O(managed_root) when that is not C(/),
        else E(GEMINI_CLI_SYSTEM_SETTINGS_PATH), else C(/etc/gemini-cli/settings.json) (or the macOS one).
    type: path
  managed_root:
    description:
      - The folder that stands for C(/) when looking for the system settings (a copy of the tree made for MDM tools,
        or a scratch folder). Only the folders from it down count when judging whether Gemini CLI would skip them.
    type: path
    default: /
  project_dir:
    description:
      - A project folder whose C(.gemini/settings.json) to check as well (Gemini CLI reads it once the folder is
        trusted, and it beats the user's settings). Not checked by default.
    type: path
  gemini_command:
    description:
      - The real Gemini CLI to check. By default the one the launcher starts, else C(bin/gemini) of O(prefix) when
        it is there, else the first C(gemini) on E(PATH), in C(~/.local/bin), C(~/.npm-global/bin),
        C(/opt/homebrew/bin) or C(/usr/local/bin) that is not a launcher.
    type: path
  find_gemini:
    description: Look for the real Gemini CLI and run C(gemini --version). V(false) skips it.
    type: bool
    default: true
  search_path:
    description:
      - The E(PATH) of the user's shell, to tell what typing C(gemini) starts. By default the E(PATH) the module
        runs with. Pass the login shell's value when it differs.
    type: str
  run_launcher:
    description: Run the launcher with C(--version) (see above).
    type: bool
    default: false
  launcher_timeout:
    description: Seconds the launcher (the token helper, then Gemini CLI) may take with O(run_launcher=true).
    type: int
    default: 120
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
  - fmapi.coding_agents.attributes.INFO_MODULE
seealso:
  - module: fmapi.coding_agents.gemini_launcher
  - module: fmapi.coding_agents.gemini_settings
  - module: fmapi.coding_agents.report
"""

EXAMPLES = r"""
- name: Check the Gemini CLI setup, running the launcher once
  fmapi.coding_agents.gemini_info:
    run_launcher: true
  register: gemini_found

- name: Print the checks
  fmapi.coding_agents.report:
    title: Gemini CLI
    checks: "{{ gemini_found.checks }}"
"""

RETURN = r"""
installed:
  description: Whether a launcher of this collection is there, or the settings hold the value the setup wrote.
  returned: always
  type: bool
  sample: true
host:
  description: The workspace URL the launcher uses, or V(null).
  returned: always
  type: str
  sample: https://my-workspace.cloud.databricks.com
endpoint_style:
  description: V(serving-endpoints) or V(ai-gateway) as the launcher uses it, or V(null).
  returned: always
  type: str
model:
  description: The model the launcher exports (C(GEMINI_MODEL)), or V(null).
  returned: always
  type: str
  sample: databricks-gemini-2-5-pro
gemini:
  description:
    - The real Gemini CLI - C(found), C(path), C(version), C(version_ok) (at least the oldest version the setup works
      with), C(on_path), C(output) (what C(--version) printed, or why it failed) and C(skipped) (launchers passed
      over while looking).
  returned: always
  type: dict
  sample: {found: true, path: /home/dev/.local/share/fmapi/gemini-cli/node_modules/.bin/gemini, version: 0.61.0,
           version_ok: true, on_path: false, output: 0.61.0, skipped: []}
launcher:
  description:
    - The launcher - C(path), C(exists), C(is_ours) (it carries this collection's metadata line), C(executable),
      C(metadata) (that line's values), C(gemini) and C(token_helper) (what it starts and runs), C(gemini_exists),
      C(token_helper_exists), C(loops) (its Gemini CLI is a launcher, or itself).
  returned: always
  type: dict
command:
  description:
    - What typing C(gemini) starts - C(search_path) (the E(PATH) looked at, see O(search_path)), C(resolves_to) (a
      path, or V(null) when nothing), C(is_launcher) (the launcher, or a link to it).
  returned: always
  type: dict
  sample: {resolves_to: /home/dev/.local/bin/gemini, is_launcher: true, search_path: "/home/dev/.local/bin:/usr/bin:/bin"}
settings:
  description:
    - The user settings - C(path), C(exists), C(valid), C(error), C(comments) (it has comments, which Gemini CLI
      reads), C(selected_type), C(enforced_type), C(set_by_setup) (the sidecar records that the setup set it),
      C(previous_selected_type) (the user's value the sidecar records), C(model_name) (C(model.name), which the
      launcher's C(GEMINI_MODEL) beats), C(mode).
  returned: always
  type: dict
system_settings:
  description: The system settings - C(path), C(exists), C(valid), C(error), C(selected_type), C(enforced_type).
  returned: always
  type: dict
managed:
  description:
    - The system settings as Gemini CLI's managed layer - C(path), C(exists), C(valid), C(error), C(selected_type),
      C(enforced_type), C(model_name), C(values) (what they pin of C(security.auth.*) and C(model.name), by dotted
      key, tokens masked), C(insecure_folders) (the file and folders above it that others than their owner can
      write), C(skipped) (Gemini CLI skips the file because of them), C(ours) (they pin C(security.auth.enforcedType)
      to C(gemini-api-key), as this collection writes them), and C(overridden) (each key of the user settings they
      set otherwise - C(key), C(user_value), C(managed_value), C(file); empty when Gemini CLI skips them).
  returned: always
  type: dict
  sample: {path: /etc/gemini-cli/settings.json, exists: true, valid: true, error: null, selected_type: gemini-api-key,
           enforced_type: gemini-api-key, model_name: null, insecure_folders: [], skipped: false, ours: true,
           values: {security.auth.selectedType: gemini-api-key, security.auth.enforcedType: gemini-api-key},
           overridden: []}
project_settings:
  description: The settings of O(project_dir), like RV(system_settings), or V(null) without O(project_dir).
  returned: always
  type: dict
launcher_run:
  description:
    - What running the launcher with C(--version) gave - C(ran), C(rc), C(timed_out), C(version) (what Gemini
      CLI printed), C(error) (the last lines of standard error, tokens masked).
  returned: always
  type: dict
checks:
  description: The checks, each with C(category), C(status), C(label), C(value) and C(fix).
  returned: always
  type: list
  elements: dict
summary:
  description: What is configured, as C(label) and C(value) rows for a status dashboard.
  returned: always
  type: list
  elements: dict
removable:
  description: What an uninstall would remove or give back, as C(label) and C(value) rows.
  returned: always
  type: list
  elements: dict
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _checks as ck
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _claude_settings as cs
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _gemini as gm
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _managed as mg
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws
from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import read_bytes

SETUP_GEMINI = ck.SETUP_COMMAND + " -e agents=gemini"
# What the system settings may pin over the user's (dotted keys).
PINNED_KEYS = ("%s.%s" % (gm.SECURITY, gm.AUTH), "%s.%s" % (gm.MODEL, gm.MODEL_NAME))
_STDERR_LINES = 6


def read_settings(path: str) -> t.Dict[str, t.Any]:
    """A settings file's state: exists, valid, error, comments, data (not returned), mode."""
    found = dict(path=path, exists=False, valid=True, error=None, comments=False, mode=None,
                 data={})  # type: t.Dict[str, t.Any]
    try:
        raw = None if os.path.isdir(path) else read_bytes(path)
    except OSError as exc:
        found.update(exists=True, valid=False, error="Cannot read %s: %s" % (path, exc.strerror or exc))
        return found
    if os.path.isdir(path):
        found.update(exists=True, valid=False, error="%s is a folder, not a settings file" % path)
        return found
    if raw is None:
        return found
    found["exists"] = True
    try:
        found["mode"] = "%04o" % (os.stat(path).st_mode & 0o7777)
    except OSError:
        pass
    try:
        found["data"] = gm.parse_settings(raw, path).data
    except gm.CommentedSettings as exc:
        found.update(data=exc.parsed.data, comments=True)
    except cs.SettingsError as exc:
        found.update(valid=False, error=exc.message)
    return found


def read_launcher(path: str) -> t.Dict[str, t.Any]:
    """The launcher at ``path`` and what its metadata line says."""
    metadata = gm.read_launcher_metadata(path) if os.path.isfile(path) else None
    found = dict(path=path, exists=os.path.lexists(path), is_ours=metadata is not None,
                 executable=ws.is_executable_file(path), metadata=metadata or {}, gemini=None, token_helper=None,
                 gemini_exists=False, token_helper_exists=False, loops=False)  # type: t.Dict[str, t.Any]
    if metadata:
        gemini, helper = metadata.get("gemini"), metadata.get("token_helper")
        if isinstance(gemini, str) and gemini:
            found.update(gemini=gemini, gemini_exists=ws.is_executable_file(gemini),
                         loops=gm.same_file(gemini, path) or gm.read_launcher_metadata(gemini) is not None)
        if isinstance(helper, str) and helper:
            found.update(token_helper=helper, token_helper_exists=ws.is_executable_file(helper))
    return found


def run_launcher(path: str, timeout: int, module: AnsibleModule) -> t.Dict[str, t.Any]:
    """``<launcher> --version`` as the user would run it, without a browser, Gemini CLI's home a scratch folder."""
    scratch = tempfile.mkdtemp(prefix="fmapi-gemini-info-")
    env = dict(os.environ, BROWSER="none", DISPLAY="", WAYLAND_DISPLAY="", **{gm.HOME_VARIABLE: scratch})
    try:
        # A bounded wait, which AnsibleModule.run_command cannot give (the helper may wait for a login).
        # pylint: disable-next=ansible-bad-function
        completed = subprocess.run([path, "--version"], stdin=subprocess.DEVNULL, capture_output=True, env=env,
                                   timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return dict(ran=True, rc=None, timed_out=True, version=None, error="")
    except OSError as exc:
        return dict(ran=True, rc=None, timed_out=False, version=None, error=str(exc.strerror or exc))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    stdout = completed.stdout.decode("utf-8", "replace")
    stderr = completed.stderr.decode("utf-8", "replace")
    module.no_log_values.update(ws.token_shaped_values(stdout + stderr))
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return dict(ran=True, rc=completed.returncode, timed_out=False,
                version=gm.parse_version(stdout) if completed.returncode == 0 else None,
                error=ws.mask_tokens("\n".join(lines[-_STDERR_LINES:])))


class Checks:
    """The rows of the report."""

    def __init__(self, info: t.Dict[str, t.Any], run_requested: bool, find_requested: bool):
        self.info = info
        self.run_requested = run_requested
        self.find_requested = find_requested
        self.rows = []  # type: t.List[t.Dict[str, str]]

    def add(self, category: str, status: str, label: str, value: t.Any = "", fix: str = "") -> None:
        self.rows.append(ck.check(category, status, label, value, fix))

    def all(self) -> t.List[t.Dict[str, str]]:
        self.gemini()
        self.launcher()
        self.command()
        self.settings()
        if self.info["managed"]["skipped"]:
            self.add(ck.CONFIGURATION, ck.SKIP, "Gemini system settings", "Gemini CLI skips %s (see Gemini managed "
                     "settings)" % self.info["system_settings"]["path"])
        else:
            self.overriding("Gemini system settings", self.info["system_settings"],
                            "ask whoever manages this machine to set it to %s or remove it" % gm.AUTH_TYPE_API_KEY)
        self.managed_settings()
        if self.info["project_settings"] is not None:
            self.overriding("Gemini project settings", self.info["project_settings"],
                            "set it to %s or remove it from that file" % gm.AUTH_TYPE_API_KEY)
        self.model()
        self.launcher_run()
        return self.rows

    # ------------------------------------------------------------------------------------ dependencies

    def gemini(self) -> None:
        label = "Gemini CLI"
        gemini = self.info["gemini"]
        if not self.find_requested:
            self.add(ck.DEPENDENCIES, ck.SKIP, label, "not looked for")
        elif not gemini["found"]:
            where = self.info["launcher"]["gemini"] or "PATH, %s" % ", ".join(gm.GEMINI_SEARCH_DIRS)
            self.add(ck.DEPENDENCIES, ck.FAIL, label, "Gemini CLI was not found (%s)" % where,
                     "%s  (installs Gemini CLI)" % SETUP_GEMINI)
        elif not gemini["version"]:
            self.add(ck.DEPENDENCIES, ck.FAIL, label, "%s does not run: %s" % (gemini["path"], gemini["output"]),
                     "Gemini CLI needs Node.js 20 or newer on PATH; then: %s  (installs it again)" % SETUP_GEMINI)
        elif not gemini["version_ok"]:
            self.add(ck.DEPENDENCIES, ck.FAIL, label, "%s (%s) is older than %s, which Databricks needs (base URL "
                     "support)" % (gemini["version"], gemini["path"], ws.MIN_GEMINI_VERSION),
                     "%s  (installs the pinned version)" % SETUP_GEMINI)
        else:
            self.add(ck.DEPENDENCIES, ck.PASS, label, "%s (%s)" % (gemini["version"], gemini["path"]))

    # ----------------------------------------------------------------------------------- configuration

    def launcher(self) -> None:
        label = "Gemini launcher"
        launcher = self.info["launcher"]
        path = launcher["path"]
        if not launcher["exists"]:
            self.add(ck.CONFIGURATION, ck.FAIL, label, "%s does not exist, so gemini gets no Databricks token" % path,
                     "%s  (writes the launcher)" % SETUP_GEMINI)
        elif not launcher["is_ours"]:
            self.add(ck.CONFIGURATION, ck.FAIL, label, "%s is not the launcher of this collection" % path,
                     "Move it away if it is yours, then: %s" % SETUP_GEMINI)
        elif not launcher["executable"]:
            self.add(ck.CONFIGURATION, ck.FAIL, label, "%s is not executable" % path,
                     "chmod 755 %s   or: %s" % (shlex.quote(path), SETUP_GEMINI))
        elif launcher["loops"]:
            self.add(ck.CONFIGURATION, ck.FAIL, label, "%s would start %s, which is a launcher too, not Gemini CLI"
                     % (path, launcher["gemini"]), "%s  (points the launcher at the real Gemini CLI)" % SETUP_GEMINI)
        elif not launcher["gemini_exists"]:
            self.add(ck.CONFIGURATION, ck.FAIL, label, "%s starts %s, which does not exist any more"
                     % (path, launcher["gemini"]), "%s  (installs Gemini CLI and writes the launcher again)" % SETUP_GEMINI)
        elif not launcher["token_helper_exists"]:
            self.add(ck.CONFIGURATION, ck.FAIL, label, "%s runs the token helper %s, which does not exist any more"
                     % (path, launcher["token_helper"]), "%s  (writes the token helper again)" % SETUP_GEMINI)
        else:
            metadata = launcher["metadata"]
            self.add(ck.CONFIGURATION, ck.PASS, label, "%s starts %s with a token from %s (workspace %s via %s)"
                     % (path, launcher["gemini"], launcher["token_helper"], metadata.get("host"),
                        metadata.get("endpoint_style")))

    def command(self) -> None:
        label = "gemini on PATH"
        command = self.info["command"]
        launcher = self.info["launcher"]
        directory = os.path.dirname(launcher["path"])
        add_path = 'Put %s first on PATH in your shell\'s startup file: export PATH="%s:$PATH"' % (directory, directory)
        if not launcher["is_ours"]:
            self.add(ck.CONFIGURATION, ck.SKIP, label, "no launcher to find (see Gemini launcher)")
        elif command["is_launcher"]:
            self.add(ck.CONFIGURATION, ck.PASS, label, "gemini starts the launcher (%s)" % command["resolves_to"])
        elif command["resolves_to"]:
            self.add(ck.CONFIGURATION, ck.WARN, label, "gemini starts %s, not the launcher %s: it gets no Databricks "
                     "token" % (command["resolves_to"], launcher["path"]), add_path)
        else:
            self.add(ck.CONFIGURATION, ck.WARN, label, "gemini is not on PATH; the launcher is %s" % launcher["path"],
                     add_path)

    def settings(self) -> None:
        label = "Gemini settings"
        settings = self.info["settings"]
        path = settings["path"]
        fix = "%s  (sets it; your other settings stay)" % SETUP_GEMINI
        managed = self.info.get("managed") or {}
        if managed.get("ours") and not managed.get("skipped"):
            # settings_scope=managed: the system settings select and enforce it for every user.
            self.add(ck.CONFIGURATION, ck.PASS, label, "managed: %s enforces %s = %s for every user"
                     % (managed["path"], gm.SELECTED_TYPE_NAME, gm.AUTH_TYPE_API_KEY))
            return
        if not settings["exists"]:
            self.add(ck.CONFIGURATION, ck.FAIL, label, "%s does not exist, so Gemini CLI does not use the token "
                     "(%s is not %s)" % (path, gm.SELECTED_TYPE_NAME, gm.AUTH_TYPE_API_KEY), fix)
        elif not settings["valid"]:
            self.add(ck.CONFIGURATION, ck.FAIL, label, settings["error"],
                     "Fix the JSON at the line and column named (Gemini CLI cannot read it either), then: %s"
                     % SETUP_GEMINI)
        elif settings["selected_type"] != gm.AUTH_TYPE_API_KEY:
            found = "not set" if settings["selected_type"] is None else "%r" % settings["selected_type"]
            self.add(ck.CONFIGURATION, ck.FAIL, label, "%s in %s is %s, not %s: the launcher's token is not used "
                     "(gemini -p fails with 'Invalid auth method selected')" % (gm.SELECTED_TYPE_NAME, path, found,
                                                                                gm.AUTH_TYPE_API_KEY), fix)
        elif settings["enforced_type"] not in (None, gm.AUTH_TYPE_API_KEY):
            self.add(ck.CONFIGURATION, ck.FAIL, label, "security.auth.%s in %s is %r: Gemini CLI refuses %s"
                     % (gm.ENFORCED_TYPE, path, settings["enforced_type"], gm.AUTH_TYPE_API_KEY),
                     "Remove security.auth.%s from %s" % (gm.ENFORCED_TYPE, path))
        else:
            by = "set by the setup" if settings["set_by_setup"] else "your own setting"
            self.add(ck.CONFIGURATION, ck.PASS, label,
                     "%s is %s in %s (%s)" % (gm.SELECTED_TYPE_NAME, gm.AUTH_TYPE_API_KEY, path, by))
        mode = settings["mode"]
        if mode and int(mode, 8) & 0o077:
            self.add(ck.CONFIGURATION, ck.WARN, "Gemini settings permissions", "%s has mode %s; others can read it"
                     % (path, mode), "chmod 600 %s" % shlex.quote(path))

    def overriding(self, label: str, settings: t.Dict[str, t.Any], fix: str) -> None:
        """A settings file that beats the user's (system, or a trusted project's)."""
        path = settings["path"]
        if not settings["exists"]:
            self.add(ck.CONFIGURATION, ck.SKIP, label, "none (%s)" % path)
            return
        if not settings["valid"]:
            self.add(ck.CONFIGURATION, ck.WARN, label, settings["error"], "Fix the file; Gemini CLI reports it at start")
            return
        wrong = [(key, value) for key, value in ((gm.SELECTED_TYPE, settings["selected_type"]),
                                                 (gm.ENFORCED_TYPE, settings["enforced_type"]))
                 if value is not None and value != gm.AUTH_TYPE_API_KEY]
        if wrong:
            self.add(ck.CONFIGURATION, ck.FAIL, label, "%s sets %s, which beats the user settings: the launcher's "
                     "token is not used" % (path, ", ".join("security.auth.%s = %r" % pair for pair in wrong)),
                     "In %s, %s" % (path, fix))
        else:
            self.add(ck.CONFIGURATION, ck.PASS, label, "%s does not override the auth type" % path)

    def managed_settings(self) -> None:
        """The system settings as the managed layer: skipped, ours, and what they take from the user's settings."""
        managed = self.info["managed"]
        if not managed["exists"] or not managed["valid"]:
            return
        label = "Gemini managed settings"
        path, folders = managed["path"], managed["insecure_folders"]
        if managed["skipped"]:
            self.add(ck.CONFIGURATION, ck.WARN, label, "Gemini CLI skips %s: %s can be written by others than the "
                     "owner, so nothing in it is enforced" % (path, ", ".join(folders)), mg.insecure_fix(folders))
            return
        if managed["ours"]:
            self.add(ck.CONFIGURATION, ck.PASS, label, "%s pins security.auth.%s = %s%s, over the user's settings"
                     % (path, gm.ENFORCED_TYPE, gm.AUTH_TYPE_API_KEY,
                        " and model.name = %s" % managed["model_name"] if managed["model_name"] else ""))
        user_path = self.info["settings"]["path"]
        for item in managed["overridden"]:
            value, fix = mg.override_note(item["key"], user_path, item["file"],
                                          ws.mask_tokens(json.dumps(item["managed_value"], ensure_ascii=False)))
            self.add(ck.CONFIGURATION, ck.WARN, "Gemini overridden setting", value, fix)

    def model(self) -> None:
        label = "Gemini model"
        model = self.info["model"]
        settings_model = self.info["settings"]["model_name"]
        if not model:
            self.add(ck.MODELS, ck.SKIP, label, "no launcher to read the model from")
        elif settings_model and settings_model != model:
            self.add(ck.MODELS, ck.INFO, label, "%s (the launcher's GEMINI_MODEL; model.name %s in the settings is not "
                     "used)" % (model, settings_model), "For one session: gemini -m %s" % shlex.quote(settings_model))
        else:
            self.add(ck.MODELS, ck.PASS, label, "%s (the launcher's GEMINI_MODEL)" % model)

    # --------------------------------------------------------------------------------------------- auth

    def launcher_run(self) -> None:
        label = "Gemini launcher run"
        run = self.info["launcher_run"]
        path = self.info["launcher"]["path"]
        if not run.get("ran"):
            reason = "not run" if not self.run_requested else "not run: no launcher of this collection to run"
            self.add(ck.AUTH, ck.SKIP, label, reason)
        elif run["timed_out"]:
            self.add(ck.AUTH, ck.FAIL, label, "%s --version did not end in time" % path,
                     "Run it yourself to see where it waits: %s --version" % shlex.quote(path))
        elif run["rc"] != 0 or not run["version"]:
            self.add(ck.AUTH, ck.FAIL, label, "%s --version failed (exit status %s): %s"
                     % (path, run["rc"], run["error"] or "no message"),
                     "Run it yourself: %s --version   If it asks for a login: %s"
                     % (shlex.quote(path), ck.REAUTH_COMMAND))
        else:
            self.add(ck.AUTH, ck.PASS, label, "got a token and started Gemini CLI %s" % run["version"])


def summary(info: t.Dict[str, t.Any]) -> t.List[t.Dict[str, str]]:
    """What is configured, for a status dashboard."""
    if not info["installed"]:
        return []
    launcher = info["launcher"]
    rows = [("Workspace", info["host"] or "not set"), ("Endpoint style", info["endpoint_style"] or "not set"),
            ("Model", info["model"] or "not set"), ("Launcher", launcher["path"]),
            ("Gemini CLI", launcher["gemini"] or info["gemini"]["path"] or "not found"),
            ("Token helper", launcher["token_helper"] or "not set"),
            ("Settings", "%s: %s" % (info["settings"]["path"], info["settings"]["selected_type"] or "no auth type"))]
    managed = info.get("managed") or {}
    if managed.get("ours"):
        rows.append(("Managed settings", "%s%s" % (managed["path"], " (skipped by Gemini CLI)"
                                                   if managed["skipped"] else "")))
    return [dict(label=label, value=value) for label, value in rows]


def removable(info: t.Dict[str, t.Any]) -> t.List[t.Dict[str, str]]:
    """What an uninstall removes or gives back."""
    rows = []
    if info["launcher"]["is_ours"]:
        rows.append(dict(label="Gemini launcher", value=info["launcher"]["path"]))
    settings = info["settings"]
    if settings["set_by_setup"]:
        previous = settings["previous_selected_type"]
        value = "%s in %s (%s)" % (gm.SELECTED_TYPE_NAME, settings["path"],
                                   "back to %r" % previous if previous is not None else "removed")
        rows.append(dict(label="Gemini settings", value=value))
    return rows


def settings_info(path: str) -> t.Tuple[t.Dict[str, t.Any], t.Dict[str, t.Any]]:
    """The user settings, with what the sidecar records; and their data (not returned)."""
    found = read_settings(path)
    data = found.pop("data")
    record = None
    try:
        record = cs.parse_state(read_bytes(cs.state_file_path(path)))
    except OSError:
        pass
    entry = (record or {}).get(gm.RECORD_KEY)
    selected = gm.auth_value(data, gm.SELECTED_TYPE)
    found.update(selected_type=selected, enforced_type=gm.auth_value(data, gm.ENFORCED_TYPE), model_name=gm.model_name(data),
                 set_by_setup=isinstance(entry, dict) and selected == gm.AUTH_TYPE_API_KEY,
                 previous_selected_type=entry.get("previous") if isinstance(entry, dict) else None)
    return found, data


def overriding_info(path: str) -> t.Tuple[t.Dict[str, t.Any], t.Dict[str, t.Any]]:
    """A settings file that beats the user's; and its data (not returned)."""
    found = read_settings(path)
    data = found.pop("data")
    found.pop("mode")
    found.update(selected_type=gm.auth_value(data, gm.SELECTED_TYPE), enforced_type=gm.auth_value(data, gm.ENFORCED_TYPE))
    return found, data


def managed_info(system: t.Dict[str, t.Any], data: t.Dict[str, t.Any], root: t.Optional[str],
                 user: t.Dict[str, t.Any], user_data: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    """The system settings (``system``, holding ``data``) as Gemini CLI's managed layer; ``root`` is the folder that
    stands for / (None: the machine's own), ``user_data`` what the user settings hold."""
    path = system["path"]
    secrets = cs.secret_values_in_text(json.dumps(data))

    def masked(value: t.Any) -> t.Any:
        return ws.mask_tokens(value, secrets) if isinstance(value, str) else value

    flat = mg.flatten(data)
    folders = mg.insecure_under(path, root) if system["exists"] else []
    skipped = bool(folders)
    overridden = [] if skipped or not user["valid"] else mg.overridden(data, user_data, PINNED_KEYS)
    return dict(
        path=path, exists=system["exists"], valid=system["valid"], error=system["error"],
        selected_type=masked(system["selected_type"]), enforced_type=masked(system["enforced_type"]),
        model_name=gm.model_name(data),
        values=dict((key, masked(value)) for key, value in flat.items()
                    if any(key == name or key.startswith(name + ".") for name in PINNED_KEYS)),
        insecure_folders=folders, skipped=skipped, ours=system["enforced_type"] == gm.AUTH_TYPE_API_KEY,
        overridden=[dict(key=key, user_value=masked(mine), managed_value=masked(theirs), file=path)
                    for key, mine, theirs in overridden],
    )


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            launcher=dict(type="path", default=gm.DEFAULT_LAUNCHER_PATH, aliases=["launcher_path"]),
            prefix=dict(type="path"),
            settings_path=dict(type="path"),
            system_settings_path=dict(type="path"),
            project_dir=dict(type="path"),
            gemini_command=dict(type="path"),
            find_gemini=dict(type="bool", default=True),
            search_path=dict(type="str"),
            run_launcher=dict(type="bool", default=False),
            launcher_timeout=dict(type="int", default=120),
            managed_root=dict(type="path", default="/"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    environ = os.environ
    launcher = read_launcher(os.path.abspath(params["launcher"]))
    search_path = params["search_path"] if params["search_path"] is not None else environ.get("PATH", "")
    resolves_to = gm.resolve_command(search_path)
    settings, settings_data = settings_info(os.path.abspath(params["settings_path"]) if params["settings_path"]
                                            else gm.settings_path(environ))
    # The system settings under managed_root are judged from that root down; any other file as Gemini CLI judges it.
    root = params["managed_root"] if not params["system_settings_path"] and os.path.abspath(params["managed_root"]) != \
        os.sep else None
    system_path = params["system_settings_path"] or (mg.gemini_settings(None, root) if root
                                                     else gm.system_settings_path(environ, sys.platform))
    system, system_data = overriding_info(system_path)
    info = dict(
        launcher=launcher,
        command=dict(search_path=search_path, resolves_to=resolves_to,
                     is_launcher=gm.same_file(resolves_to, launcher["path"])),
        settings=settings,
        system_settings=system,
        managed=managed_info(system, system_data, root, settings, settings_data),
        project_settings=overriding_info(gm.project_settings_path(params["project_dir"]))[0]
        if params["project_dir"] else None,
        host=launcher["metadata"].get("host"), endpoint_style=launcher["metadata"].get("endpoint_style"),
        model=launcher["metadata"].get("model"),
    )  # type: t.Dict[str, t.Any]
    in_prefix = os.path.join(params["prefix"], "bin", gm.GEMINI_NAME) if params["prefix"] else None
    given = params["gemini_command"] or (launcher["gemini"] if launcher["is_ours"] and not launcher["loops"] else None) \
        or (in_prefix if in_prefix and ws.is_executable_file(in_prefix) else None)
    info["gemini"] = gm.find_gemini(environ, given) if params["find_gemini"] else \
        dict(found=False, path=None, version=None, version_ok=False, on_path=False, output="", skipped=[])
    info["installed"] = launcher["is_ours"] or info["settings"]["set_by_setup"]
    run = {"ran": False}  # type: t.Dict[str, t.Any]
    if params["run_launcher"] and launcher["is_ours"] and launcher["executable"] and not launcher["loops"]:
        run = run_launcher(launcher["path"], params["launcher_timeout"], module)
    info["launcher_run"] = run
    checks = Checks(info, params["run_launcher"], params["find_gemini"]).all()
    module.exit_json(changed=False, checks=checks, summary=summary(info), removable=removable(info), **info)


if __name__ == "__main__":
    main()
