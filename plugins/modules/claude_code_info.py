#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: claude_code_info
short_description: Read Claude Code's FMAPI setup on a laptop and check it, in one pass
version_added: 0.2.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Reads, without changing anything, what an FMAPI install of Claude Code left on this machine - the settings
    file, the token helper's metadata line, the plugin's files and registration, Claude Code's first-run flag,
    the C(claude) executable - and the leftovers of older setup scripts (settings keys, their helper and its PAT
    cache, shell-rc wrappers, the flat plugin registry entry).
  - Returns what an earlier install configured (workspace, profile, models, TTL), so that a new run can keep it,
    and RV(checks), the PASS/FAIL/WARN/SKIP/INFO rows the C(doctor) and C(status) playbooks print with
    M(fmapi.coding_agents.report), each failure with its fix.
  - With O(run_helper=true) it also runs the token helper, as Claude Code would, and checks that it prints one
    token (which is never returned or logged). It runs only a script that carries this collection's metadata line
    (one M(fmapi.coding_agents.token_helper) wrote), that lies in the user's own C(~/.claude) folder, and only when
    C(apiKeyHelper) is exactly that script's path; any other command (a script in a project's folder, which a
    cloned repository controls, C(sh -c ...), arguments) is never run. A login is never started (C(BROWSER=none)).
  - Also reads Claude Code's managed settings (C(managed-settings.json) and the drop-ins in C(managed-settings.d),
    in C(/etc/claude-code), or C(/Library/Application Support/ClaudeCode) on macOS), which beat every settings file
    of the user. It reports the files (and whether this collection's drop-in is among them), warns about each
    FMAPI key of the settings file the managed settings set otherwise (that value of the user's is ignored), and
    about a managed C(apiKeyHelper) or base URL that is not this collection's while the settings file holds its
    keys (the user's setup is then silently not used).
  - Never fails on a broken settings file or helper; it reports the problem in RV(checks) and as a warning.
options:
  location:
    description:
      - Which settings file - V(home) for C(~/.claude/settings.json), V(cwd) for C(.claude/settings.json) of
        O(cwd), or a project directory for C(<directory>/.claude/settings.json).
      - Mutually exclusive with O(path).
    type: str
    default: home
  cwd:
    description:
      - The directory O(location=cwd) means. By default the directory the module runs in; with a local connection
        that is the playbook's, so the C(claude_code) role passes the directory the user ran the play from.
    type: path
  path:
    description:
      - The settings file itself, instead of O(location).
    type: path
  home:
    description:
      - The user's home directory (user settings, C(~/.claude.json), shell startup files).
      - By default E(HOME).
    type: path
  helper_path:
    description:
      - The token helper script to read. By default the script the settings' C(apiKeyHelper) command runs.
    type: path
  run_helper:
    description:
      - Run the token helper and check what it prints (see above).
    type: bool
    default: false
  helper_timeout:
    description: Seconds the token helper may take.
    type: int
    default: 60
  claude_command:
    description:
      - The Claude Code executable to check. By default C(claude) on E(PATH), in C(~/.local/bin),
        C(~/.claude/local), C(/opt/homebrew/bin) or C(/usr/local/bin).
    type: path
  find_claude:
    description: Look for Claude Code and run C(claude --version). V(false) skips it (RV(claude) then says not found).
    type: bool
    default: true
  plugin_source:
    description: Where the setup puts the collection's Claude Code plugin marketplace.
    type: path
    default: ~/.claude/fmapi-coding-agents/marketplace
  managed_root:
    description:
      - The folder that stands for C(/) when looking for the managed settings (a copy of the tree made for MDM
        tools, or a scratch folder). Only the folders from it down count when judging who can write them.
    type: path
    default: /
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
  - fmapi.coding_agents.attributes.INFO_MODULE
seealso:
  - module: fmapi.coding_agents.databricks_cli_info
  - module: fmapi.coding_agents.report
"""

EXAMPLES = r"""
- name: Read what an earlier install configured
  fmapi.coding_agents.claude_code_info:
  register: claude_previous

- name: Check the setup, running the token helper once
  fmapi.coding_agents.claude_code_info:
    run_helper: true
  register: claude_found

- name: Print the checks
  fmapi.coding_agents.report:
    title: Claude Code
    checks: "{{ claude_found.checks }}"
"""

RETURN = r"""
installed:
  description:
    - Whether the settings file holds an FMAPI configuration, that is a C(ANTHROPIC_BASE_URL) ending in one of
      the Databricks suffixes, or an C(apiKeyHelper) whose script carries FMAPI metadata.
  returned: always
  type: bool
  sample: true
settings_path:
  description: The settings file read, as an absolute path.
  returned: always
  type: str
  sample: /home/dev/.claude/settings.json
settings_exists:
  description: Whether the settings file exists.
  returned: always
  type: bool
settings_valid:
  description: Whether the settings file could be read as a JSON object (V(true) when it is missing).
  returned: always
  type: bool
settings_error:
  description: Why the settings file could not be read (file, line and column), or V(null).
  returned: always
  type: str
settings_writable_problem:
  description:
    - Why the settings file could not be written there (a file where a folder should be, a read-only place), or
      V(null) when it can. Checked with a scratch file that is removed at once; nothing stays.
  returned: always
  type: str
host:
  description: The workspace URL, or V(null) when none was found.
  returned: always
  type: str
  sample: https://my-workspace.cloud.databricks.com
gateway:
  description: V(serving-endpoints) or V(ai-gateway); V(null) when unknown.
  returned: always
  type: str
profile:
  description: The Databricks CLI profile the helper uses, from its metadata line, or V(null).
  returned: always
  type: str
  sample: fmapi-claudecode-profile
databricks_cli:
  description: The Databricks CLI the helper runs, from its metadata line, or V(null).
  returned: always
  type: str
model:
  description: C(env.ANTHROPIC_MODEL), or V(null).
  returned: always
  type: str
opus:
  description: C(env.ANTHROPIC_DEFAULT_OPUS_MODEL), or V(null).
  returned: always
  type: str
sonnet:
  description: C(env.ANTHROPIC_DEFAULT_SONNET_MODEL), or V(null).
  returned: always
  type: str
haiku:
  description: C(env.ANTHROPIC_DEFAULT_HAIKU_MODEL), or V(null).
  returned: always
  type: str
ttl_minutes:
  description: The token reuse time in minutes (settings, else the helper's metadata), or V(null).
  returned: always
  type: int
ttl_in_settings:
  description: Whether the settings file itself sets C(env.CLAUDE_CODE_API_KEY_HELPER_TTL_MS).
  returned: always
  type: bool
api_key_helper:
  description: The C(apiKeyHelper) command, or V(null).
  returned: always
  type: str
helper_path:
  description: The helper script, or V(null).
  returned: always
  type: str
helper_exists:
  description: Whether RV(helper_path) is an existing file.
  returned: always
  type: bool
helper_is_ours:
  description:
    - Whether the helper carries this collection's metadata line, lies in the user's C(~/.claude) folder, and
      C(apiKeyHelper) runs exactly it.
  returned: always
  type: bool
helper_metadata:
  description: The metadata line of the helper script, V({}) when it has none (credential-like keys left out).
  returned: always
  type: dict
legacy:
  description: Leftovers of older setup scripts. Values of legacy tokens are never shown.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: >-
        V(anthropic_auth_token), V(fmapi_meta), V(legacy_helper), V(pat_cache), V(shell_wrapper) or
        V(plugin_registry_entry).
      type: str
    path:
      description: The file that holds it, or the file itself.
      type: str
    description:
      description: What it is and why it should go.
      type: str
onboarding_complete:
  description: Whether C(~/.claude.json) marks Claude Code's first-run onboarding as done.
  returned: always
  type: bool
plugin:
  description: Whether the plugin's files are there (C(files_present)) and the user settings enable it (C(registered)).
  returned: always
  type: dict
models:
  description: The configured endpoints by setting (C(model), C(opus), C(sonnet), C(haiku)); empty strings when unset.
  returned: always
  type: dict
  sample: {model: databricks-claude-opus-4-6, opus: databricks-claude-opus-4-6, sonnet: databricks-claude-sonnet-4-6,
           haiku: databricks-claude-haiku-4-5}
summary:
  description: What is configured, as C(label) and C(value) rows for a status dashboard.
  returned: always
  type: list
  elements: dict
removable:
  description:
    - What an uninstall would remove from this machine for this settings file, as C(label) and C(value) rows (the
      FMAPI keys of the settings file, the token helper, the PAT cache of an older helper, the plugin's files and
      its declaration). Empty when there is nothing.
  returned: always
  type: list
  elements: dict
  sample: [{label: Settings, value: FMAPI keys in /home/dev/.claude/settings.json}]
claude:
  description: The C(claude) executable found (C(found), C(path), C(version), C(on_path)).
  returned: always
  type: dict
  sample: {found: true, path: /home/dev/.local/bin/claude, version: 2.1.329, on_path: true}
helper_run:
  description:
    - What running the helper gave, without the token - C(ran), C(rc), C(timed_out), C(token_chars), C(lines),
      C(error) (its standard error, tokens masked).
  returned: always
  type: dict
scope:
  description:
    - V(managed) when the FMAPI values come from the collection's drop-in in Claude Code's managed settings (a setup
      with C(settings_scope=managed); the user's settings file holds none of them), else V(user). The values of the
      setup (RV(host), RV(model), RV(api_key_helper), ...) are then the drop-in's.
  returned: always
  type: str
  sample: user
managed:
  description:
    - Claude Code's managed settings - C(dir) (their folder), C(files) (the files Claude Code merges, in its order),
      C(drop_in) (this collection's drop-in) and C(drop_in_exists), C(problems) (files Claude Code leaves out, and
      why), C(values) (what they pin of C(apiKeyHelper) and the FMAPI C(env) keys, by dotted key, tokens masked) and
      C(origins) (the file each of those comes from), C(insecure_folders) (the drop-in and folders above it that
      others than their owner can write), C(helper_is_ours) (the managed C(apiKeyHelper) runs this collection's
      token helper), C(configured) (they set C(apiKeyHelper) and a Databricks C(env.ANTHROPIC_BASE_URL)), and
      C(overridden) (each key of the settings file they set otherwise - C(key), C(user_value), C(managed_value),
      C(file)).
  returned: always
  type: dict
  sample: {dir: /etc/claude-code, files: [/etc/claude-code/managed-settings.d/50-fmapi-coding-agents.json],
           drop_in: /etc/claude-code/managed-settings.d/50-fmapi-coding-agents.json, drop_in_exists: true, problems: [],
           values: {apiKeyHelper: /usr/local/libexec/fmapi-coding-agents/fmapi-token-helper}, insecure_folders: [],
           origins: {apiKeyHelper: /etc/claude-code/managed-settings.d/50-fmapi-coding-agents.json},
           helper_is_ours: true, configured: true, overridden: []}
checks:
  description: The checks, each with C(category), C(status), C(label), C(value) and C(fix).
  returned: always
  type: list
  elements: dict
  sample:
    - {category: Configuration, status: PASS, label: Settings file, value: /home/dev/.claude/settings.json (valid JSON),
       fix: ""}
"""

import json
import os
import re
import shlex
import subprocess
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _checks as ck
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _claude_settings as cs
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _managed as mg
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _token_helper as th
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws
from ansible_collections.fmapi.coding_agents.plugins.module_utils._claude_install import InstallReader, settings_path
from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import read_bytes
from ansible_collections.fmapi.coding_agents.plugins.module_utils._helper_metadata import read_helper_metadata

PLUGIN = {"marketplace": "fmapi-coding-agents", "plugin": "fmapi-coding-agents"}
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
# The settings FMAPI sets, as dotted keys: what a managed layer may pin over the user's.
PINNED_KEYS = (cs.API_KEY_HELPER,) + tuple("%s.%s" % (cs.ENV, key) for key in cs.OWNED_ENV_KEYS)
BASE_URL_KEY = "%s.%s" % (cs.ENV, cs.ENV_BASE_URL)


def find_claude(environ: t.Mapping[str, str], given: t.Optional[str]) -> t.Dict[str, t.Any]:
    """The ``claude`` executable: given, or on PATH, or where its installers put it."""
    found = dict(found=False, path=None, version=None, on_path=False, version_output="")  # type: t.Dict[str, t.Any]
    if given:
        # A path option: Ansible expanded ~ already.
        candidates = [(os.path.abspath(given), False)]
    else:
        candidates = ws.cli_candidates(environ, "claude", cs.CLAUDE_SEARCH_DIRS)
    for path, on_path in candidates:
        if not ws.is_executable_file(path):
            continue
        found.update(found=True, path=path, on_path=on_path)
        try:
            # A bounded wait, which AnsibleModule.run_command cannot give (a hung claude must not hang the doctor).
            # pylint: disable-next=ansible-bad-function
            completed = subprocess.run([path, "--version"], stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
                                       check=False)
            output = (completed.stdout or completed.stderr).decode("utf-8", "replace").strip()
            ok = completed.returncode == 0
        except (OSError, subprocess.SubprocessError) as exc:
            output, ok = str(exc), False
        found["version_output"] = output.splitlines()[0] if output else ""
        match = _VERSION.search(output) if ok else None
        found["version"] = match.group(0) if match else None
        break
    return found


def run_helper(path: str, timeout: int, module: AnsibleModule) -> t.Dict[str, t.Any]:
    """Run the helper as Claude Code would, keeping only the shape of what it printed."""
    env = dict(os.environ, BROWSER="none", DISPLAY="", WAYLAND_DISPLAY="")
    try:
        # A bounded wait, which AnsibleModule.run_command cannot give (a helper may wait for a login).
        # pylint: disable-next=ansible-bad-function
        completed = subprocess.run([path], stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=timeout,
                                   check=False)
    except subprocess.TimeoutExpired:
        return dict(ran=True, timed_out=True, rc=None, token_chars=0, lines=0, has_spaces=False, error="")
    except OSError as exc:
        return dict(ran=True, timed_out=False, rc=None, token_chars=0, lines=0, has_spaces=False,
                    error=str(exc.strerror or exc))
    stdout = completed.stdout.decode("utf-8", "replace")
    token = stdout.strip()
    if token:
        module.no_log_values.add(token)
    stderr = [line.strip() for line in completed.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return dict(ran=True, timed_out=False, rc=completed.returncode, token_chars=len(token),
                lines=len([line for line in stdout.splitlines() if line.strip()]),
                has_spaces=any(char.isspace() for char in token),
                error=ws.mask_tokens(" ".join(stderr[-4:]), [token] if token else []))


def masked(value: t.Any) -> t.Any:
    """``value`` with anything shaped like a token masked (strings only)."""
    return ws.mask_tokens(value) if isinstance(value, str) else value


def shown(value: t.Any) -> str:
    """A settings value for a message: as JSON, tokens masked."""
    return ws.mask_tokens(json.dumps(value, ensure_ascii=False))


def managed_helper_is_ours(command: t.Any) -> bool:
    """Whether a managed apiKeyHelper runs this collection's token helper: the system one a managed setup names,
    or a script carrying the collection's metadata line."""
    path = cs.helper_path_from_command(command)
    if not path or not os.path.isabs(path):
        return False
    if path == mg.SYSTEM_TOKEN_HELPER:
        return True
    try:
        raw = read_bytes(path) if os.path.isfile(path) else None
    except OSError:
        raw = None
    return "version" in (read_helper_metadata((raw or b"")[:8192].decode("utf-8", "replace")) or {})


def read_managed(root: str, user_data: t.Dict[str, t.Any]) -> t.Tuple[t.Dict[str, t.Any], t.List[str]]:
    """Claude Code's managed settings under ``root`` and what they override of ``user_data`` (the settings file
    read): (what the module returns as ``managed``, the values to keep out of any output)."""
    directory = mg.claude_dir(None, root)
    drop_in = mg.claude_drop_in(None, root)
    files = mg.claude_layer_files(directory)
    data, origins, problems = mg.read_claude_layer(directory)
    secrets = cs.secret_values(data)
    for path in files:
        try:
            secrets.extend(cs.secret_values_in_text(cs.decode_for_display(read_bytes(path))))
        except OSError:
            pass
    flat = mg.flatten(data)
    pinned = [key for key in PINNED_KEYS if key in flat]
    helper = flat.get(cs.API_KEY_HELPER)
    drop_in_exists = os.path.isfile(drop_in)
    managed = dict(
        dir=directory, files=files, drop_in=drop_in, drop_in_exists=drop_in_exists,
        problems=[ws.mask_tokens(problem, secrets) for problem in problems],
        values=dict((key, masked(flat[key])) for key in pinned),
        origins=dict((key, origins.get(key)) for key in pinned),
        insecure_folders=mg.insecure_under(drop_in, root) if drop_in_exists else [],
        helper_is_ours=managed_helper_is_ours(helper),
        configured=cs.split_base_url(flat.get(BASE_URL_KEY))[1] is not None and isinstance(helper, str)
        and bool(helper.strip()),
        overridden=[dict(key=key, user_value=masked(mine), managed_value=masked(theirs), file=origins.get(key))
                    for key, mine, theirs in mg.overridden(data, user_data, PINNED_KEYS)],
    )  # type: t.Dict[str, t.Any]
    return managed, secrets


class Checks:
    """Judges one install; each method adds its checks."""

    def __init__(self, info: t.Dict[str, t.Any], claude: t.Dict[str, t.Any], helper_run: t.Dict[str, t.Any],
                 run_requested: bool):
        self.info = info
        self.claude = claude
        self.helper_run = helper_run
        self.run_requested = run_requested
        self.rows = []  # type: t.List[t.Dict[str, str]]

    def add(self, category: str, status: str, label: str, value: t.Any = "", fix: str = "") -> None:
        self.rows.append(ck.check(category, status, label, value, fix))

    def all(self) -> t.List[t.Dict[str, str]]:
        self.claude_code()
        return self.without_claude()

    def without_claude(self) -> t.List[t.Dict[str, str]]:
        self.helper_python()
        self.configuration()
        self.token_helper()
        return self.rows

    # ------------------------------------------------------------------------------------- dependencies

    def claude_code(self) -> None:
        claude = self.claude
        if not claude["found"]:
            self.add(ck.DEPENDENCIES, ck.FAIL, "Claude Code", "claude was not found on PATH or in ~/.local/bin",
                     "%s  (installs Claude Code)" % ck.SETUP_COMMAND)
        elif not claude["version"]:
            self.add(ck.DEPENDENCIES, ck.FAIL, "Claude Code", "%s does not run: %s"
                     % (claude["path"], claude["version_output"]), "%s  (installs Claude Code again)" % ck.SETUP_COMMAND)
        elif not claude["on_path"]:
            directory = os.path.dirname(claude["path"])
            self.add(ck.DEPENDENCIES, ck.WARN, "Claude Code", "%s (%s), not on PATH" % (claude["version"], claude["path"]),
                     "Add %s to PATH in your shell's startup file (export PATH=\"%s:$PATH\")" % (directory, directory))
        else:
            self.add(ck.DEPENDENCIES, ck.PASS, "Claude Code", "%s (%s)" % (claude["version"], claude["path"]))

    def helper_python(self) -> None:
        label = "Helper's Python"
        info = self.info
        metadata = info["helper_metadata"]
        if not info["helper_exists"] or "version" not in metadata:
            self.add(ck.DEPENDENCIES, ck.SKIP, label, "no token helper of this collection to check")
            return
        chosen = metadata.get("interpreter")
        environ = os.environ
        for candidate in ([chosen] if chosen else []) + list(th.FALLBACK_INTERPRETERS):
            if os.sep not in candidate:
                path = next((path for path, _on_path in ws.cli_candidates(environ, candidate, ())
                             if ws.is_executable_file(path)), None)
            else:
                path = candidate if ws.is_executable_file(candidate) else None
            version = th.python_version(path) if path else None
            if version and version >= th.MIN_PYTHON:
                if candidate == chosen or not chosen:
                    self.add(ck.DEPENDENCIES, ck.PASS, label, "Python %d.%d (%s)" % (version + (path,)))
                else:
                    self.add(ck.DEPENDENCIES, ck.WARN, label, "%s is gone; the helper runs with Python %d.%d (%s) instead"
                             % ((chosen,) + version + (path,)),
                             "%s  (writes the helper for this machine's Python)" % ck.SETUP_COMMAND)
                return
        self.add(ck.DEPENDENCIES, ck.FAIL, label, "no Python %d.%d or newer: %s and python3 are gone"
                 % (th.MIN_PYTHON + (chosen or "the Python of the setup",)),
                 "Install Python 3, then: %s" % ck.SETUP_COMMAND)

    # ------------------------------------------------------------------------------------ configuration

    def configuration(self) -> None:
        info = self.info
        path = info["settings_path"]
        if info.get("scope") == "managed":
            self.add(ck.CONFIGURATION, ck.PASS, "Settings file", "managed: %s (the FMAPI keys are enforced for every "
                     "user; %s holds none of them)" % (info["managed"]["drop_in"], path))
            self.fmapi_keys()
            self.api_key_helper()
        elif not info["settings_exists"]:
            self.add(ck.CONFIGURATION, ck.FAIL, "Settings file", "No FMAPI configuration found: %s does not exist"
                     % path, ck.SETUP_WITH_HOST)
        elif not info["settings_valid"]:
            self.add(ck.CONFIGURATION, ck.FAIL, "Settings file", info["settings_error"] or "%s is not valid JSON" % path,
                     "Fix the JSON at the line and column named (claude doctor shows it too), or move the file aside "
                     "and run: %s" % ck.SETUP_COMMAND)
        elif not info["installed"]:
            self.add(ck.CONFIGURATION, ck.FAIL, "Settings file", "No FMAPI configuration found in %s" % path,
                     ck.SETUP_WITH_HOST)
        else:
            self.add(ck.CONFIGURATION, ck.PASS, "Settings file", "%s (valid JSON)" % path)
            self.fmapi_keys()
            self.api_key_helper()
        self.settings_mode()
        self.managed_settings()
        self.plugin()
        self.legacy()

    def fmapi_keys(self) -> None:
        info = self.info
        label = "FMAPI settings"
        if info["base_url"] and not info["gateway"]:
            self.add(ck.CONFIGURATION, ck.FAIL, label, "env.ANTHROPIC_BASE_URL is %s, not a Databricks "
                     "serving-endpoints or ai-gateway URL" % info["base_url"], ck.SETUP_COMMAND)
            return
        expected = (
            ("env." + cs.ENV_BASE_URL, info["base_url"]), ("apiKeyHelper", info["api_key_helper"]),
            ("env." + cs.ENV_MODEL, info["model"]), ("env." + cs.ENV_OPUS, info["opus"]),
            ("env." + cs.ENV_SONNET, info["sonnet"]), ("env." + cs.ENV_HAIKU, info["haiku"]),
            # The helper's metadata knows the TTL too, but Claude Code reads only the settings.
            ("env." + cs.ENV_HELPER_TTL, info["ttl_minutes"] if info["ttl_in_settings"] else None),
        )
        missing = [key for key, value in expected if not value]
        if missing:
            self.add(ck.CONFIGURATION, ck.FAIL, label, "missing or invalid: %s" % ", ".join(missing),
                     "%s  (writes them again; your other settings stay)" % ck.SETUP_COMMAND)
        else:
            self.add(ck.CONFIGURATION, ck.PASS, label, "workspace %s via %s, models and token refresh (%s min) set"
                     % (info["host"], info["gateway"], info["ttl_minutes"]))

    def api_key_helper(self) -> None:
        info = self.info
        label = "apiKeyHelper"
        command, path = info["api_key_helper"], info["helper_path"]
        if not command:
            self.add(ck.CONFIGURATION, ck.SKIP, label, "apiKeyHelper is not set")
        elif not path:
            self.add(ck.CONFIGURATION, ck.WARN, label, "cannot tell which script apiKeyHelper runs: %s" % command,
                     "%s  (points apiKeyHelper at the token helper)" % ck.SETUP_COMMAND)
        elif not info["helper_exists"]:
            self.add(ck.CONFIGURATION, ck.FAIL, label, "apiKeyHelper runs %s, which does not exist" % path,
                     "%s  (writes the token helper again)" % ck.SETUP_COMMAND)
        elif not info["helper_executable"] and _runs_directly(command, path):
            self.add(ck.CONFIGURATION, ck.FAIL, label, "%s is not executable" % path,
                     "chmod 700 %s   or: %s" % (shlex.quote(path), ck.SETUP_COMMAND))
        elif "version" not in info["helper_metadata"]:
            self.add(ck.CONFIGURATION, ck.WARN, label, "%s is not the token helper of this collection (an older setup "
                     "script's, or your own)" % path, "%s  (replaces it with the current token helper)" % ck.SETUP_COMMAND)
        else:
            self.add(ck.CONFIGURATION, ck.PASS, label, "%s (executable)" % path)

    def settings_mode(self) -> None:
        mode = self.info["settings_mode"]
        label = "Settings permissions"
        if not mode:
            self.add(ck.CONFIGURATION, ck.SKIP, label, "no settings file")
        elif int(mode, 8) & 0o077:
            path = self.info["settings_path"]
            self.add(ck.CONFIGURATION, ck.WARN, label, "%s has mode %s; others can read it" % (path, mode),
                     "chmod 600 %s" % shlex.quote(path))
        else:
            self.add(ck.CONFIGURATION, ck.PASS, label, "mode %s" % mode)

    def managed_settings(self) -> None:
        """Claude Code's managed settings: which files, whether ours is safe, and what they take from the user's."""
        managed = self.info.get("managed")
        if not managed:
            return
        label = "Managed settings"
        drop_in, files, folders = managed["drop_in"], managed["files"], managed["insecure_folders"]
        for problem in managed["problems"]:
            self.add(ck.CONFIGURATION, ck.WARN, label, "%s; Claude Code leaves that file out" % problem,
                     "Fix it, or ask whoever manages it")
        if folders:
            self.add(ck.CONFIGURATION, ck.WARN, label, "%s: %s can be written by others than the owner, who could "
                     "change what Claude Code runs for its token" % (drop_in, ", ".join(folders)), mg.insecure_fix(folders))
        elif managed["drop_in_exists"]:
            others = [path for path in files if path != drop_in]
            self.add(ck.CONFIGURATION, ck.PASS, label, "%s, over the user's settings%s"
                     % (drop_in, "; also %s" % ", ".join(others) if others else ""))
        elif files:
            self.add(ck.CONFIGURATION, ck.INFO, label, "%s (not this collection's)" % ", ".join(files))
        self.managed_replaces_setup()
        path = self.info["settings_path"]
        for item in managed["overridden"]:
            value, fix = mg.override_note(item["key"], path, item["file"], shown(item["managed_value"]))
            self.add(ck.CONFIGURATION, ck.WARN, "Overridden setting", value, fix)

    def managed_replaces_setup(self) -> None:
        """A managed helper or base URL not of this collection, which silently takes the place of the user's setup."""
        info = self.info
        managed = info["managed"]
        values, origins = managed["values"], managed["origins"]
        if not info["installed"]:
            return
        setup = "the FMAPI setup in %s" % info["settings_path"]
        replaced = []
        if cs.API_KEY_HELPER in values and not managed["helper_is_ours"]:
            replaced.append((cs.API_KEY_HELPER, "not this collection's token helper: Claude Code takes its token from "
                             "that command, not from %s" % setup))
        if BASE_URL_KEY in values and cs.split_base_url(values[BASE_URL_KEY])[1] is None:
            replaced.append((BASE_URL_KEY, "not a Databricks URL: Claude Code sends its requests there, not to the "
                             "workspace of %s" % setup))
        for key, consequence in replaced:
            self.add(ck.CONFIGURATION, ck.WARN, "Managed settings", "%s sets %s to %s, %s"
                     % (origins[key], key, shown(values[key]), consequence),
                     "Ask whoever manages %s to remove %s from it" % (origins[key], key))

    def plugin(self) -> None:
        plugin = self.info.get("plugin") or {}
        label = "Plugin"
        if plugin.get("files_present") and plugin.get("registered"):
            self.add(ck.CONFIGURATION, ck.PASS, label, "fmapi-coding-agents (/fmapi-coding-agents:status, :doctor, ...)")
        elif plugin.get("files_present") or plugin.get("registered"):
            missing = "is not enabled in the user settings" if plugin.get("files_present") else \
                "files are missing from %s" % plugin.get("source")
            self.add(ck.CONFIGURATION, ck.WARN, label, "the plugin %s" % missing,
                     "%s  (installs and registers it again)" % ck.SETUP_COMMAND)
        else:
            self.add(ck.CONFIGURATION, ck.INFO, label, "not installed (slash commands /fmapi-coding-agents:*)")

    def legacy(self) -> None:
        leftovers = self.info["legacy"]
        if not leftovers:
            self.add(ck.CONFIGURATION, ck.PASS, "Older setups", "no leftovers of older setup scripts")
        for item in leftovers:
            fix = "%s  (removes it)" % ck.SETUP_COMMAND
            if item["name"] == "pat_cache":
                fix += "; also revoke the token under Settings > Developer > Access tokens in the workspace"
            self.add(ck.CONFIGURATION, ck.WARN, "Older setups", "%s: %s" % (item["path"], item["description"]), fix)

    # --------------------------------------------------------------------------------------------- auth

    def token_helper(self) -> None:
        label = "Token helper"
        info, run = self.info, self.helper_run
        path = info["helper_path"] or "the token helper"
        if not run.get("ran"):
            if not info["helper_exists"]:
                self.add(ck.AUTH, ck.SKIP, label, "no token helper to run (see Configuration)")
            elif not info["helper_is_ours"]:
                self.add(ck.AUTH, ck.SKIP, label, "not run: %s is not this collection's token helper, or apiKeyHelper "
                         "does not run it directly" % path)
            elif self.run_requested:
                self.add(ck.AUTH, ck.SKIP, label, "needs an active session (see Auth)")
            else:
                self.add(ck.AUTH, ck.SKIP, label, "not run (it runs only with an active session; see Auth)")
        elif run["timed_out"]:
            self.add(ck.AUTH, ck.FAIL, label, "%s printed no token in time" % path,
                     "Run it yourself to see where it hangs: %s" % info["api_key_helper"])
        elif run["rc"] != 0:
            error = run["error"] or "no message"
            self.add(ck.AUTH, ck.FAIL, label, "%s failed (exit status %s): %s" % (path, run["rc"], error),
                     "Run it yourself: %s   If it asks for a login: %s" % (info["api_key_helper"], ck.REAUTH_COMMAND))
        elif not run["token_chars"]:
            self.add(ck.AUTH, ck.FAIL, label, "%s printed nothing" % path,
                     "%s  (writes the token helper again)" % ck.SETUP_COMMAND)
        elif run["lines"] > 1 or run["has_spaces"]:
            self.add(ck.AUTH, ck.FAIL, label, "%s printed more than a token (%d lines); Claude Code would send all of "
                     "it" % (path, run["lines"]), "%s  (writes the token helper again)" % ck.SETUP_COMMAND)
        else:
            self.add(ck.AUTH, ck.PASS, label, "prints a token (%d characters, not shown)" % run["token_chars"])


def _runs_directly(command: str, path: str) -> bool:
    try:
        return shlex.split(command) == [path]
    except ValueError:
        return False


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            location=dict(type="str", default=ws.DEFAULT_SETTINGS_LOCATION),
            cwd=dict(type="path"),
            path=dict(type="path"),
            home=dict(type="path"),
            helper_path=dict(type="path"),
            run_helper=dict(type="bool", default=False),
            helper_timeout=dict(type="int", default=60),
            claude_command=dict(type="path"),
            find_claude=dict(type="bool", default=True),
            plugin_source=dict(type="path", default="~/.claude/fmapi-coding-agents/marketplace"),
            managed_root=dict(type="path", default="/"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    home = params["home"] or os.environ.get("HOME") or "/"
    path = params["path"] or settings_path(params["location"], home, params["cwd"] or os.getcwd())
    reader = InstallReader(home)
    info = reader.read(os.path.abspath(path), params["helper_path"],
                       dict(PLUGIN, source=os.path.abspath(params["plugin_source"])))
    managed, managed_secrets = read_managed(params["managed_root"], reader.data)
    info["managed"] = managed
    info["scope"] = "user"
    if not info["installed"] and managed["drop_in_exists"]:
        use_managed_setup(info, home, params["managed_root"], managed["drop_in"], reader)
    module.no_log_values.update(value for value in reader.secrets + managed_secrets if value)
    location = params["location"]
    if not params["path"] and location not in ws.SETTINGS_LOCATIONS and not os.path.isdir(ws.expand_home(location, {"HOME": home})):
        # A typo must not make a project folder appear out of nothing.
        info["settings_writable_problem"] = (
            "settings_location %s is not an existing folder: give the project folder whose .claude/settings.json to "
            "use, or home, or cwd" % location)
    claude = find_claude(os.environ, params["claude_command"]) if params["find_claude"] else \
        dict(found=False, path=None, version=None, on_path=False, version_output="")
    helper_run = {"ran": False}  # type: t.Dict[str, t.Any]
    if params["run_helper"] and info["helper_is_ours"] and info["helper_exists"]:
        helper_run = run_helper(info["helper_path"], params["helper_timeout"], module)
    for warning in reader.warnings:
        module.warn(warning)
    checks = Checks(info, claude, helper_run, params["run_helper"]).all() if params["find_claude"] else \
        Checks(info, claude, helper_run, params["run_helper"]).without_claude()
    module.exit_json(changed=False, claude=claude, helper_run=helper_run, checks=checks, models=models(info),
                     summary=summary(info), removable=removable(info), **info)


# What a managed setup (settings_scope=managed) tells of the setup when the user's settings hold none of it.
EFFECTIVE_KEYS = ("installed", "host", "gateway", "base_url", "profile", "databricks_cli", "model", "opus", "sonnet",
                  "haiku", "ttl_minutes", "ttl_in_settings", "deny_web_search", "api_key_helper", "helper_path",
                  "helper_exists", "helper_executable", "helper_metadata")


def use_managed_setup(info: t.Dict[str, t.Any], home: str, root: str, drop_in: str, reader: InstallReader) -> None:
    """Take the FMAPI values from the collection's managed drop-in (the setup of settings_scope=managed): the
    user's settings hold none of them then, and the managed layer is what Claude Code uses."""
    managed_reader = InstallReader(home)
    helper = mg.under(root, mg.SYSTEM_TOKEN_HELPER)
    effective = managed_reader.read(drop_in, helper)
    reader.secrets.extend(managed_reader.secrets)
    if not effective["installed"]:
        return
    info.update((key, effective[key]) for key in EFFECTIVE_KEYS)
    # The machine's helper, root's, at the path a managed setup writes: as safe to run as the user's own.
    info["helper_is_ours"] = "version" in effective["helper_metadata"] and \
        effective["api_key_helper"] == th.helper_command(mg.SYSTEM_TOKEN_HELPER)
    info["scope"] = "managed"


def models(info: t.Dict[str, t.Any]) -> t.Dict[str, str]:
    """The configured endpoint of each model setting, empty when unset."""
    return dict((role, info.get(role) or "") for role in ("model", "opus", "sonnet", "haiku"))


def summary(info: t.Dict[str, t.Any]) -> t.List[t.Dict[str, str]]:
    """What is configured, for a status dashboard."""
    rows = []  # type: t.List[t.Tuple[str, str]]
    if info["installed"]:
        ttl = info["ttl_minutes"]
        rows = [("Workspace", info["host"] or "not set"), ("Profile", info["profile"] or ws.DEFAULT_PROFILE)]
        roles = (("Model", "model"), ("Opus", "opus"), ("Sonnet", "sonnet"), ("Haiku", "haiku"))
        rows += [(label, info[role] or "not set") for label, role in roles]
        rows += [("Token refresh", "every %s min" % ttl if ttl else "not set"), ("Settings", info["settings_path"]),
                 ("Token helper", info["helper_path"] or "apiKeyHelper is not set")]
    managed = info.get("managed") or {}
    if managed.get("drop_in_exists"):
        rows.append(("Managed settings", managed["drop_in"]))
    return [dict(label=label, value=value) for label, value in rows]


def removable(info: t.Dict[str, t.Any]) -> t.List[t.Dict[str, str]]:
    """What an uninstall removes for this install."""
    rows = []
    legacy_keys = [item for item in info["legacy"] if item["name"] in ("anthropic_auth_token", "fmapi_meta")]
    if info.get("scope") == "managed":
        rows.append(dict(label="Settings", value="the managed drop-in %s" % info["managed"]["drop_in"]))
    elif info["settings_valid"] and (info["base_url"] and info["gateway"] or info["helper_is_ours"] or legacy_keys):
        rows.append(dict(label="Settings", value="FMAPI keys in %s" % info["settings_path"]))
    if info["helper_exists"] and info["helper_metadata"]:
        rows.append(dict(label="Token helper", value=info["helper_path"]))
    rows += [dict(label="PAT cache", value=item["path"]) for item in info["legacy"] if item["name"] == "pat_cache"]
    plugin = info.get("plugin") or {}
    if plugin.get("files_present"):
        rows.append(dict(label="Plugin files", value=plugin["source"]))
    if plugin.get("registered"):
        rows.append(dict(label="Plugin registration", value="fmapi-coding-agents in the user settings"))
    return rows


if __name__ == "__main__":
    main()
