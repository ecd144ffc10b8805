# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The managed (enforced) settings layer of each agent: where it lives, how its files are made, and
which of a user's values it overrides. Private to the collection.

Each agent reads a system layer that beats the user's own settings:

- Claude Code: ``<dir>/managed-settings.json`` plus drop-ins ``<dir>/managed-settings.d/*.json``
  (names not starting with ``.``, merged in name order, a later file winning per key), ``<dir>`` being
  ``/etc/claude-code`` on Linux and ``/Library/Application Support/ClaudeCode`` on macOS. The collection
  writes one drop-in of its own (:data:`CLAUDE_DROP_IN`), never the customer's ``managed-settings.json``.
- Codex CLI: ``/etc/codex/managed_config.toml`` (beats the user's ``config.toml`` and ``-c``), merged
  table by table so a customer's own keys stay.
- Gemini CLI: the system ``settings.json`` (``/etc/gemini-cli`` on Linux,
  ``/Library/Application Support/GeminiCli`` on macOS), read only while the file and every folder above
  it are writable by nobody but their owner; ``security.auth.enforcedType`` pins the auth type.

Managed files are root's, mode :data:`FILE_MODE` in folders of mode :data:`DIRECTORY_MODE`; the sidecar
state files beside them (what the collection replaced, for an exact uninstall) are :data:`STATE_MODE`.
Every path can be put under another root (``root``): the emit-only playbook writes the same tree into
a folder for MDM tools, and tests write it into a scratch folder.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import sys
import typing as t

from ansible_collections.fmapi.coding_agents.plugins.module_utils._claude_settings import state_file_path
from ansible_collections.fmapi.coding_agents.plugins.module_utils._workspace import ValidationError

SCOPE_USER = "user"
SCOPE_MANAGED = "managed"
SCOPES = (SCOPE_USER, SCOPE_MANAGED)

FILE_MODE = 0o644
DIRECTORY_MODE = 0o755
STATE_MODE = 0o600
HELPER_MODE = 0o755

LINUX = "linux"
MACOS = "darwin"
SYSTEMS = (LINUX, MACOS)

CLAUDE_DIRS = {LINUX: "/etc/claude-code", MACOS: "/Library/Application Support/ClaudeCode"}
CLAUDE_BASE_FILE = "managed-settings.json"
CLAUDE_DROP_IN_DIR = "managed-settings.d"
# 50: in the middle, so a customer's MDM can put drop-ins before it (defaults we override) and after it
# (values that beat ours) without renaming anything of ours.
CLAUDE_DROP_IN = "50-fmapi-coding-agents.json"
CODEX_MANAGED_CONFIG = "/etc/codex/managed_config.toml"
GEMINI_SYSTEM_SETTINGS = {LINUX: "/etc/gemini-cli/settings.json",
                          MACOS: "/Library/Application Support/GeminiCli/settings.json"}
# One helper every user of the machine can run: the managed files name it, so it cannot be in a home folder.
SYSTEM_TOKEN_HELPER = "/usr/local/libexec/fmapi-coding-agents/fmapi-token-helper"
# The helper of a managed setup finds the Databricks CLI when it runs (on PATH or where installers put it,
# in the home of whoever runs it): a path baked in at setup would be one user's.
SYSTEM_HELPER_DATABRICKS_CLI = "databricks"

# macOS configuration profiles (.mobileconfig): the preference domains the agents read.
CLAUDE_PREFERENCE_DOMAIN = "com.anthropic.claudecode"
CODEX_PREFERENCE_DOMAIN = "com.openai.codex"
CODEX_CONFIG_KEY = "config_toml_base64"


def validate_scope(value: t.Any) -> str:
    """``value`` as a scope, or ValidationError naming the choices."""
    if value not in SCOPES:
        raise ValidationError("settings_scope must be one of %s, not %r" % (", ".join(SCOPES), value))
    return t.cast(str, value)


def system_name(platform: t.Optional[str] = None) -> str:
    """:data:`MACOS` on macOS, else :data:`LINUX` (the managed paths of every other Unix)."""
    return MACOS if (platform or sys.platform) == MACOS else LINUX


def under(root: t.Optional[str], path: str) -> str:
    """``path`` (absolute) moved under ``root``; itself when ``root`` is empty or ``/``."""
    if not root or os.path.abspath(root) == os.sep:
        return path
    return os.path.join(os.path.abspath(os.path.expanduser(root)), path.lstrip(os.sep))


def claude_dir(system: t.Optional[str] = None, root: t.Optional[str] = None) -> str:
    """Claude Code's managed settings folder."""
    return under(root, CLAUDE_DIRS[system_name(system)])


def claude_drop_in(system: t.Optional[str] = None, root: t.Optional[str] = None) -> str:
    """The collection's own drop-in in Claude Code's ``managed-settings.d``."""
    return os.path.join(claude_dir(system, root), CLAUDE_DROP_IN_DIR, CLAUDE_DROP_IN)


def codex_config(system: t.Optional[str] = None, root: t.Optional[str] = None) -> str:  # pylint: disable=unused-argument
    """Codex CLI's managed configuration (the same path on Linux and macOS)."""
    return under(root, CODEX_MANAGED_CONFIG)


def gemini_settings(system: t.Optional[str] = None, root: t.Optional[str] = None) -> str:
    """Gemini CLI's system settings file."""
    return under(root, GEMINI_SYSTEM_SETTINGS[system_name(system)])


def token_helper(root: t.Optional[str] = None) -> str:
    """The token helper the managed files name."""
    return under(root, SYSTEM_TOKEN_HELPER)


def paths(system: t.Optional[str] = None, root: t.Optional[str] = None) -> t.Dict[str, str]:
    """Every managed path of the collection on ``system``, by name (what roles and reports use)."""
    return {
        "claude_code": claude_drop_in(system, root),
        "claude_code_dir": claude_dir(system, root),
        "codex": codex_config(system, root),
        "gemini": gemini_settings(system, root),
        "token_helper": token_helper(root),
        # The sidecars that prove a setup merged its keys into Codex's and Gemini CLI's files (which may be a
        # customer's): removal is for us only where they exist.
        "codex_record": state_file_path(codex_config(system, root)),
        "gemini_record": state_file_path(gemini_settings(system, root)),
        # What managed files name: where the helper is once the tree is in place (``root`` is where it is built).
        "token_helper_command": SYSTEM_TOKEN_HELPER,
    }


# How many folders above each managed file exist only for it (removed again while empty when it goes): Claude
# Code's managed-settings.d and its folder; Codex's and Gemini CLI's folder; the helper's own folder.
FOLDER_LEVELS = {"claude_code": 2, "codex": 1, "gemini": 1, "token_helper": 1}


def modes(scope: str, file_mode: int, directory_mode: int) -> t.Tuple[int, int]:
    """(file mode, folder mode) of a settings file in ``scope``: the user's own private modes, or the managed ones."""
    if scope == SCOPE_MANAGED:
        return FILE_MODE, DIRECTORY_MODE
    return file_mode, directory_mode


def state_mode(scope: str, file_mode: int) -> int:
    """The mode of a sidecar state file in ``scope`` (private in both: it is nobody's business but the writer's)."""
    return STATE_MODE if scope == SCOPE_MANAGED else file_mode


# ------------------------------------------------------------------------------------ reading

def insecure_folders(path: str) -> t.List[str]:
    """The folders above ``path`` (and ``path`` itself when it exists) that others than their owner can write.

    Gemini CLI skips a system settings file when any of them exists ("Security Warning: Skipping ..."),
    and a managed file anyone may change enforces nothing. A sticky folder (``/tmp``) counts as writable.
    """
    found = []
    current = os.path.abspath(path)
    while True:
        try:
            mode = os.stat(current).st_mode
        except OSError:
            mode = None
        if mode is not None and mode & (stat.S_IWGRP | stat.S_IWOTH):
            found.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            return found
        current = parent


def claude_layer_files(directory: str) -> t.List[str]:
    """The files of Claude Code's managed layer in ``directory``, in the order Claude Code merges them."""
    files = []
    base = os.path.join(directory, CLAUDE_BASE_FILE)
    if os.path.isfile(base):
        files.append(base)
    drop_ins = os.path.join(directory, CLAUDE_DROP_IN_DIR)
    try:
        names = sorted(os.listdir(drop_ins))
    except OSError:
        names = []
    files += [os.path.join(drop_ins, name) for name in names
              if name.endswith(".json") and not name.startswith(".") and os.path.isfile(os.path.join(drop_ins, name))]
    return files


def deep_merge(base: t.Dict[str, t.Any], overlay: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """``overlay`` merged onto ``base`` (objects key by key, anything else replaced), as Claude Code merges drop-ins."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_claude_layer(directory: str) -> t.Tuple[t.Dict[str, t.Any], t.Dict[str, str], t.List[str]]:
    """Claude Code's effective managed settings in ``directory``: (data, the file each top-level or ``env`` key
    comes from, problems). A file that is not a JSON object is a problem and left out, as Claude Code does."""
    data = {}  # type: t.Dict[str, t.Any]
    origin = {}  # type: t.Dict[str, str]
    problems = []
    for path in claude_layer_files(directory):
        try:
            with open(path, "rb") as handle:
                loaded = json.loads(handle.read().decode("utf-8-sig"))
        except (OSError, ValueError) as exc:
            problems.append("%s: %s" % (path, exc))
            continue
        if not isinstance(loaded, dict):
            problems.append("%s: not a JSON object" % path)
            continue
        data = deep_merge(data, loaded)
        for key in flatten(loaded):
            origin[key] = path
    return data, origin, problems


def flatten(data: t.Mapping[str, t.Any], prefix: str = "") -> t.Dict[str, t.Any]:
    """``{"a.b": value}`` for every leaf of nested objects (lists and scalars are leaves)."""
    flat = {}  # type: t.Dict[str, t.Any]
    for key, value in data.items():
        name = prefix + str(key)
        if isinstance(value, dict) and value:
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def overridden(managed: t.Mapping[str, t.Any], user: t.Mapping[str, t.Any],
               keys: t.Optional[t.Iterable[str]] = None) -> t.List[t.Tuple[str, t.Any, t.Any]]:
    """(dotted key, the user's value, the managed value) of every leaf both set to different values.

    ``keys`` limits the comparison to those dotted keys or their descendants; all leaves by default.
    """
    managed_flat = flatten(managed)
    user_flat = flatten(user)
    wanted = tuple(keys) if keys is not None else None
    found = []
    for key in sorted(set(managed_flat) & set(user_flat)):
        if wanted is not None and not any(key == name or key.startswith(name + ".") for name in wanted):
            continue
        if managed_flat[key] != user_flat[key]:
            found.append((key, user_flat[key], managed_flat[key]))
    return found


def insecure_under(path: str, root: t.Optional[str] = None) -> t.List[str]:
    """:func:`insecure_folders` of ``path`` that stand for the machine's own: all of them without ``root``, else
    ``root`` and the folders below it (the folders above a scratch or emit-only root are not the laptop's)."""
    found = insecure_folders(path)
    if not root or os.path.abspath(root) == os.sep:
        return found
    top = os.path.abspath(os.path.expanduser(root))
    return [folder for folder in found if folder == top or folder.startswith(top.rstrip(os.sep) + os.sep)]


def insecure_fix(folders: t.Iterable[str]) -> str:
    """The command that makes ``folders`` writable by their owner only."""
    return "sudo chmod go-w %s" % " ".join(shlex.quote(folder) for folder in folders)


def override_note(key: str, user_file: str, managed_file: str, shown: str) -> t.Tuple[str, str]:
    """What a report says of a user's ``key`` that ``managed_file`` beats (``shown``: its value there, masked):
    (what was found, the fix)."""
    return ("%s in %s is ignored: managed settings (%s) set it to %s" % (key, user_file, managed_file, shown),
            "Remove it from %s, or ask whoever manages %s" % (user_file, managed_file))
