#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: claude_settings
short_description: Point Claude Code at Databricks Foundation Model API in a settings file
version_added: 0.1.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Merges the keys that make Claude Code use Databricks Foundation Model API into a Claude Code settings
    file (V(~/.claude/settings.json) by default; a project's C(.claude/settings.json) or any other path works
    the same), or removes them again.
  - "The keys this module owns: C(apiKeyHelper) and, in C(env): C(ANTHROPIC_BASE_URL),
    C(ANTHROPIC_MODEL), C(ANTHROPIC_DEFAULT_OPUS_MODEL), C(ANTHROPIC_DEFAULT_SONNET_MODEL),
    C(ANTHROPIC_DEFAULT_HAIKU_MODEL), C(ANTHROPIC_CUSTOM_HEADERS) (V(x-databricks-use-coding-agent-mode: true)),
    C(CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS) (V(1)) and C(CLAUDE_CODE_API_KEY_HELPER_TTL_MS)."
  - Leftovers of older setup scripts are removed in both states, because they get in the way. These are
    C(env.ANTHROPIC_AUTH_TOKEN) (a static token that would override C(apiKeyHelper)) and the top-level
    C(_fmapi_meta).
  - Every other setting stays as it is, nested ones too, in its order. Owned keys already in the file keep
    their place; missing ones are appended.
  - Whether anything changes is decided on the parsed JSON data. A file whose data would not change is not
    touched at all (byte for byte). When the data changes, the file is written again with the indentation it
    had (2 or 4 spaces, a tab, ...; 2 spaces for a new file or one without indented lines), non-ASCII
    characters as they are, a UTF-8 byte order mark kept when it had one, and a final newline. Other
    formatting (several values on one line, escapes like C(\u00e9), the spelling of numbers) is normalized to
    that style. A file in that style (like the ones Claude Code itself writes) therefore comes back byte for
    byte after O(state=present) followed by O(state=absent).
  - Writes are atomic, give the file mode V(0600), and create a missing parent directory with mode V(0700).
    A symlinked settings file (dotfiles managers) is written through; the link stays, its target is replaced.
  - An empty (0 bytes) file counts as V({}). A file that is not valid JSON, not UTF-8, or not a JSON object at
    the top level makes the module fail without changing anything, naming the file and the line and column of
    the error, unless O(repair=true).
  - With O(deny_web_search=true), V(WebSearch) is added to C(permissions.deny), because the Databricks gateway
    rejects Claude Code's server-side web search tool. The module only ever removes a V(WebSearch) entry it can
    prove it added itself. That proof is a small sidecar file beside the settings file,
    C(.<settings file name>.fmapi-state.json) (for example C(~/.claude/.settings.json.fmapi-state.json)),
    with mode V(0600). A V(WebSearch) entry the file already had is never recorded there, so it is never
    removed. The sidecar also records whether C(permissions) and C(permissions.deny) were created for this
    entry; only those are dropped again when removing the entry leaves them empty.
  - With O(plugin), the same write also declares a local Claude Code plugin marketplace folder and enables its
    plugin (C(extraKnownMarketplaces.<marketplace>) and C(enabledPlugins.<plugin>@<marketplace>)), or removes both
    (and every other plugin of that marketplace) with O(state=absent). So the settings file is read once and
    written at most once per run. The plugin's files are M(fmapi.coding_agents.claude_plugin)'s.
options:
  path:
    description:
      - The Claude Code settings file.
      - Roles resolve the original setup script's C(settings_location) (V(home), V(cwd) or a path) to this path.
    type: path
    default: ~/.claude/settings.json
  state:
    description:
      - V(present) merges the FMAPI keys into the file, creating it when missing.
      - V(absent) removes the keys this module owns (and the legacy keys), drops an C(env) object that this
        leaves empty (unless the file had an empty C(env) of its own before, which the sidecar records),
        removes the V(WebSearch) entry of C(permissions.deny) only when the sidecar records that this module
        added it, and deletes the sidecar. A file left as V({}) is deleted; a symlinked file is
        kept and its target left holding V({}) instead.
    type: str
    choices: [present, absent]
    default: present
  fmapi_keys:
    description:
      - Whether this run manages the FMAPI keys. V(false) leaves them as they are and only handles O(plugin) (the
        plugin is declared in the user settings, also when the FMAPI keys go to a project's settings file).
    type: bool
    default: true
  plugin:
    description:
      - A plugin to declare (O(state=present)) or to remove (O(state=absent)) in the same write.
    type: dict
    suboptions:
      source:
        description: The marketplace folder (holding C(.claude-plugin/marketplace.json)); required with O(state=present).
        type: path
      marketplace:
        description: The marketplace's name, as its manifest gives it.
        type: str
        required: true
      plugin:
        description: The plugin's name in that marketplace.
        type: str
        required: true
  host:
    description:
      - The Databricks workspace URL, for example V(https://my-workspace.cloud.databricks.com).
      - Must start with V(https://). A URL copied from the browser (a path, a query such as V(?o=...), a fragment)
        or an API base URL such as V(.../serving-endpoints/anthropic) is reduced to the workspace URL; credentials
        and characters no URL holds are rejected with an error that says what to give instead.
      - Required when O(state=present) and O(fmapi_keys=true).
    type: str
  gateway:
    description:
      - Which Anthropic-compatible API of the workspace Claude Code talks to.
      - V(serving-endpoints) sets C(ANTHROPIC_BASE_URL) to C(<host>/serving-endpoints/anthropic).
      - V(ai-gateway) sets it to C(<host>/ai-gateway/anthropic) (the newer AI Gateway).
    type: str
    choices: [serving-endpoints, ai-gateway]
    default: serving-endpoints
  token_helper:
    description:
      - The path of the token helper written by M(fmapi.coding_agents.token_helper); C(apiKeyHelper) becomes the
        command that runs it, quoted for C(/bin/sh). The alternative to O(api_key_helper).
    type: path
    version_added: 0.2.0
  api_key_helper:
    description:
      - The command Claude Code runs (with C(/bin/sh -c)) to get a Databricks access token, usually the path of
        the helper script written by M(fmapi.coding_agents.token_helper). Stored as C(apiKeyHelper).
      - A single line. Required when O(state=present).
      - A command with a literal Databricks token or JWT in it (for example C(echo dapi...)) is rejected.
    type: str
  model:
    description:
      - The model endpoint Claude Code uses by default (C(ANTHROPIC_MODEL)). A single non-empty line.
    type: str
    default: databricks-claude-opus-4-6
  opus:
    description:
      - The endpoint behind Claude Code's V(opus) model alias (C(ANTHROPIC_DEFAULT_OPUS_MODEL)).
    type: str
    default: databricks-claude-opus-4-6
  sonnet:
    description:
      - The endpoint behind Claude Code's V(sonnet) model alias (C(ANTHROPIC_DEFAULT_SONNET_MODEL)).
    type: str
    default: databricks-claude-sonnet-4-6
  haiku:
    description:
      - The endpoint behind Claude Code's V(haiku) model alias, also used for background tasks
        (C(ANTHROPIC_DEFAULT_HAIKU_MODEL)).
    type: str
    default: databricks-claude-haiku-4-5
  ttl_minutes:
    description:
      - How long Claude Code reuses a token from O(api_key_helper) before running it again, in minutes
        (V(1) to V(60)). Written as C(CLAUDE_CODE_API_KEY_HELPER_TTL_MS) in milliseconds, for example V(30) as
        V("1800000").
    type: int
    default: 30
  deny_web_search:
    description:
      - Add V(WebSearch) to C(permissions.deny) (once, after the entries already there) so that Claude Code does
        not offer a tool the Databricks gateway rejects.
      - V(false) removes the entry again only if the sidecar records that this module added it; an entry the
        user made stays.
    type: bool
    default: true
  scope:
    description:
      - V(user) writes a user's (or a project's) settings file, mode V(0600) in a V(0700) folder.
      - V(managed) writes a file of Claude Code's managed layer (the collection's drop-in in
        C(managed-settings.d), see O(path)), which beats every user and project setting. The file gets mode V(0644)
        in V(0755) folders, so that every user's Claude Code can read it; run it as root. O(plugin) is not
        allowed, since plugins are declared per user.
    type: str
    choices: [user, managed]
    default: user
    version_added: 0.3.0
  repair:
    description:
      - What to do with a settings file Claude Code cannot read either (invalid JSON, not UTF-8, not a JSON object)
        or whose C(env), C(permissions) or C(permissions.deny) has the wrong JSON type.
      - V(false) fails with a message naming the file and the problem, and changes nothing.
      - V(true) first copies the file to a timestamped backup beside it (returned as RV(backup_file)). An
        unreadable file is then replaced by one holding only the FMAPI keys (with O(state=absent) it is deleted);
        a key of the wrong type is replaced by an object or list holding only the FMAPI values, and everything
        else is kept.
    type: bool
    default: false
  backup:
    description:
      - Copy the file to a timestamped backup beside it (mode V(0600)) before changing or deleting it.
    type: bool
    default: false
notes:
  - Settings of higher precedence (managed settings, C(.claude/settings.local.json), a project's
    C(.claude/settings.json)) can override what this module writes to the user settings. Claude Code runs an
    C(apiKeyHelper) from project settings only once the folder is trusted; prefer the user settings file.
  - C(ANTHROPIC_API_KEY) in C(env) takes precedence over C(apiKeyHelper). The module does not remove it (it is
    not ours) but warns about it.
  - Credential-looking values of other C(env) keys (and the legacy C(ANTHROPIC_AUTH_TOKEN)) are masked in the
    diff and in messages.
seealso:
  - module: fmapi.coding_agents.claude_code_info
  - name: Claude Code settings
    description: The settings files, their precedence and keys.
    link: https://docs.anthropic.com/en/docs/claude-code/settings
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the JSON text of the settings file before and after, with credential-looking values masked.
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Point Claude Code at the workspace's Foundation Model API
  fmapi.coding_agents.claude_settings:
    host: https://my-workspace.cloud.databricks.com
    api_key_helper: "{{ ansible_facts['user_dir'] }}/.claude/fmapi-key-helper.sh"

- name: Use the AI Gateway, other models, a shorter token reuse, in a project's settings
  fmapi.coding_agents.claude_settings:
    path: /home/dev/src/app/.claude/settings.json
    host: https://my-workspace.cloud.databricks.com/
    gateway: ai-gateway
    api_key_helper: /home/dev/.claude/fmapi-key-helper.sh
    model: databricks-claude-sonnet-4-6
    haiku: databricks-claude-haiku-4-5
    ttl_minutes: 15
    backup: true

- name: Enforce the settings for every user of the machine (Claude Code's managed layer, a drop-in of its own)
  fmapi.coding_agents.claude_settings:
    path: /etc/claude-code/managed-settings.d/50-fmapi-coding-agents.json
    scope: managed
    host: https://my-workspace.cloud.databricks.com
    token_helper: /usr/local/libexec/fmapi-coding-agents/fmapi-token-helper
  become: true

- name: Move an unreadable settings file aside and start again
  fmapi.coding_agents.claude_settings:
    host: https://my-workspace.cloud.databricks.com
    api_key_helper: /home/dev/.claude/fmapi-key-helper.sh
    repair: true
  register: claude_settings_result

- name: Tell where the old file went
  ansible.builtin.debug:
    msg: "The unreadable settings were saved as {{ claude_settings_result.backup_file }}"
  when: claude_settings_result.backup_file is truthy

- name: Remove the FMAPI settings again (other settings stay)
  fmapi.coding_agents.claude_settings:
    state: absent
"""

RETURN = r"""
path:
  description: The settings file, as an absolute path.
  returned: always
  type: str
  sample: /home/dev/.claude/settings.json
backup_file:
  description: The backup made of the file before it was changed (O(backup=true)) or repaired (O(repair=true)).
  returned: always
  type: str
  sample: /home/dev/.claude/settings.json.4242.2025-01-01@12:00:00~
set_keys:
  description:
    - The owned keys whose value was added or changed, as dotted names; V(permissions.deny[WebSearch]) when that
      entry was added.
    - In check mode, the keys that would be set.
  returned: always
  type: list
  elements: str
  sample: [env.ANTHROPIC_MODEL]
removed_keys:
  description:
    - The owned and legacy keys that were removed, as dotted names; V(permissions.deny[WebSearch]) when that
      entry was removed.
  returned: always
  type: list
  elements: str
  sample: [env.ANTHROPIC_AUTH_TOKEN, _fmapi_meta]
repaired:
  description:
    - What O(repair=true) replaced, V(file) for the whole file, or the key (V(env), V(permissions),
      V(permissions.deny)) that had the wrong JSON type. Empty when nothing needed repair.
  returned: always
  type: list
  elements: str
  sample: [file]
plugin_id:
  description: The plugin declared or removed (O(plugin)), as C(<plugin>@<marketplace>), or V(null).
  returned: always
  type: str
  sample: fmapi-coding-agents@fmapi-coding-agents
file_deleted:
  description: Whether the settings file was deleted because nothing but V({}) was left in it.
  returned: always
  type: bool
  sample: false
state_file:
  description: The sidecar recording what this module added to C(permissions.deny), when it exists after the run.
  returned: always
  type: str
  sample: /home/dev/.claude/.settings.json.fmapi-state.json
settings:
  description:
    - The FMAPI part of the settings after the run (V({}) after O(state=absent)). Holds no credentials.
  returned: always
  type: dict
  sample:
    apiKeyHelper: /home/dev/.claude/fmapi-key-helper.sh
    env:
      ANTHROPIC_BASE_URL: https://my-workspace.cloud.databricks.com/serving-endpoints/anthropic
      ANTHROPIC_MODEL: databricks-claude-opus-4-6
      ANTHROPIC_DEFAULT_OPUS_MODEL: databricks-claude-opus-4-6
      ANTHROPIC_DEFAULT_SONNET_MODEL: databricks-claude-sonnet-4-6
      ANTHROPIC_DEFAULT_HAIKU_MODEL: databricks-claude-haiku-4-5
      ANTHROPIC_CUSTOM_HEADERS: "x-databricks-use-coding-agent-mode: true"
      CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS: "1"
      CLAUDE_CODE_API_KEY_HELPER_TTL_MS: "1800000"
    permissions:
      deny: [WebSearch]
removed_folders:
  description:
    - With O(scope=managed) and O(state=absent), the folders made for the managed file that were removed with it
      because nothing else was left in them.
  returned: when a managed file was removed
  type: list
  elements: str
  sample: [/etc/claude-code/managed-settings.d, /etc/claude-code]
"""

import copy
import os
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _claude_plugin as cp
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _claude_settings as cs
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _managed as managed
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws
from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import (
    BackupError,
    atomic_write,
    ensure_directory,
    expand,
    private_backup,
    read_bytes,
    remove_empty_folders,
    remove_file,
    write_target,
)
from ansible_collections.fmapi.coding_agents.plugins.module_utils._token_helper import helper_command

_RECORD_KEY = "web_search_deny"
# The user's own env was an empty object before the merge: removing our keys must leave it, not drop it.
_KEEP_ENV_KEY = "keep_empty_env"


class MergeResult:  # pylint: disable=too-few-public-methods
    """The outcome of merging into (or removing from) parsed settings data."""

    def __init__(self, data: t.Dict[str, t.Any], record: t.Optional[t.Dict[str, t.Any]]):
        self.data = data
        self.record = record
        self.set_keys: t.List[str] = []
        self.removed_keys: t.List[str] = []
        self.repaired: t.List[str] = []
        self.notes: t.List[str] = []


def _shape_error(path: str, key: str, value: t.Any, expected: str) -> cs.SettingsError:
    return cs.SettingsError(
        "bad_shape",
        "%s: the value of '%s' is a JSON %s, but Claude Code expects %s. Nothing was changed. Fix it by hand, or "
        "run again with repair=true to back the file up and replace '%s' with one holding only the FMAPI values "
        "(every other setting is kept)." % (path, key, cs.json_type_name(value), expected, key),
    )


def _remove_legacy(data: t.Dict[str, t.Any], result: MergeResult) -> None:
    env = data.get(cs.ENV)
    if isinstance(env, dict):
        for key in cs.LEGACY_ENV_KEYS:
            if key in env:
                del env[key]
                result.removed_keys.append("%s.%s" % (cs.ENV, key))
    for key in cs.LEGACY_TOP_LEVEL_KEYS:
        if key in data:
            del data[key]
            result.removed_keys.append(key)


def _remove_recorded_web_search(data: t.Dict[str, t.Any], record: t.Optional[t.Dict[str, t.Any]],
                                result: MergeResult) -> None:
    """Take out the WebSearch deny entry, only when the sidecar says we added it."""
    entry = (record or {}).get(_RECORD_KEY)
    if not isinstance(entry, dict) or not entry.get("added"):
        return
    permissions = data.get(cs.PERMISSIONS)
    deny = permissions.get(cs.DENY) if isinstance(permissions, dict) else None
    if not isinstance(deny, list) or cs.WEB_SEARCH_TOOL not in deny:
        return
    # One occurrence: a second one would be the user's own.
    deny.remove(cs.WEB_SEARCH_TOOL)
    result.removed_keys.append(cs.WEB_SEARCH_DENY_NAME)
    if not deny and entry.get("created_deny"):
        del permissions[cs.DENY]
        if not permissions and entry.get("created_permissions"):
            del data[cs.PERMISSIONS]


def _add_web_search(data: t.Dict[str, t.Any], record: t.Optional[t.Dict[str, t.Any]], repair: bool, path: str,
                    result: MergeResult) -> t.Optional[t.Dict[str, t.Any]]:
    """Make sure permissions.deny lists WebSearch; return the sidecar entry to keep."""
    previous = (record or {}).get(_RECORD_KEY)
    previous = previous if isinstance(previous, dict) and previous.get("added") else None
    created_permissions = created_deny = False
    if cs.PERMISSIONS not in data:
        data[cs.PERMISSIONS] = {}
        created_permissions = True
    elif not isinstance(data[cs.PERMISSIONS], dict):
        if not repair:
            raise _shape_error(path, cs.PERMISSIONS, data[cs.PERMISSIONS], "an object")
        data[cs.PERMISSIONS] = {}
        result.repaired.append(cs.PERMISSIONS)
        created_permissions = True
    permissions = data[cs.PERMISSIONS]
    if cs.DENY not in permissions:
        permissions[cs.DENY] = []
        created_deny = True
    elif not isinstance(permissions[cs.DENY], list):
        if not repair:
            raise _shape_error(path, "permissions.deny", permissions[cs.DENY], "an array of rules")
        permissions[cs.DENY] = []
        result.repaired.append("permissions.deny")
        created_deny = True
    deny = permissions[cs.DENY]
    if cs.WEB_SEARCH_TOOL in deny:
        # Already there: ours if recorded, otherwise the user's and never recorded as ours.
        return previous
    deny.append(cs.WEB_SEARCH_TOOL)
    result.set_keys.append(cs.WEB_SEARCH_DENY_NAME)
    if previous:
        # Re-added after the user took it out: what we created the first time is still ours.
        created_permissions = created_permissions or bool(previous.get("created_permissions"))
        created_deny = created_deny or bool(previous.get("created_deny"))
    return {"added": True, "created_permissions": created_permissions, "created_deny": created_deny}


def merge_present(data: t.Dict[str, t.Any], env_values: t.Dict[str, str], api_key_helper: str,
                  deny_web_search: bool, record: t.Optional[t.Dict[str, t.Any]], repair: bool = False,
                  path: str = "settings file") -> MergeResult:
    """Settings data with the FMAPI keys merged in (``data`` itself is not modified).

    Raises SettingsError(``bad_shape``) when ``env``/``permissions`` have the wrong type and not ``repair``.
    """
    data = copy.deepcopy(data)
    result = MergeResult(data, None)
    keep_empty_env = (isinstance(data.get(cs.ENV), dict) and not data[cs.ENV]) or bool((record or {}).get(_KEEP_ENV_KEY))
    if cs.ENV in data and not isinstance(data[cs.ENV], dict):
        if not repair:
            raise _shape_error(path, cs.ENV, data[cs.ENV], "an object mapping variable names to strings")
        data[cs.ENV] = {}
        result.repaired.append(cs.ENV)
    if data.get(cs.API_KEY_HELPER) != api_key_helper:
        data[cs.API_KEY_HELPER] = api_key_helper
        result.set_keys.append(cs.API_KEY_HELPER)
    env = data.setdefault(cs.ENV, {})
    for key, value in env_values.items():
        if env.get(key) != value:
            env[key] = value
            result.set_keys.append("%s.%s" % (cs.ENV, key))
    _remove_legacy(data, result)
    if deny_web_search:
        entry = _add_web_search(data, record, repair, path, result)
    else:
        _remove_recorded_web_search(data, record, result)
        entry = None
    kept = {}  # type: t.Dict[str, t.Any]
    if entry:
        kept[_RECORD_KEY] = entry
    if keep_empty_env:
        kept[_KEEP_ENV_KEY] = True
    result.record = kept or None
    if isinstance(env.get(cs.COMPETING_API_KEY), str):
        result.notes.append(
            "%s: env.%s is set; Claude Code uses it instead of apiKeyHelper, so the Databricks token is never "
            "sent. Remove it from the file unless that is what you want." % (path, cs.COMPETING_API_KEY)
        )
    return result


def merge_absent(data: t.Dict[str, t.Any], record: t.Optional[t.Dict[str, t.Any]],
                 path: str = "settings file") -> MergeResult:
    """Settings data without the FMAPI keys (``data`` itself is not modified)."""
    data = copy.deepcopy(data)
    result = MergeResult(data, None)
    if cs.API_KEY_HELPER in data:
        del data[cs.API_KEY_HELPER]
        result.removed_keys.append(cs.API_KEY_HELPER)
    env = data.get(cs.ENV)
    had_entries = isinstance(env, dict) and bool(env)
    if isinstance(env, dict):
        for key in cs.OWNED_ENV_KEYS:
            if key in env:
                del env[key]
                result.removed_keys.append("%s.%s" % (cs.ENV, key))
    elif cs.ENV in data:
        result.notes.append("%s: 'env' is a JSON %s, not an object; it was left as it is."
                            % (path, cs.json_type_name(env)))
    _remove_legacy(data, result)
    if had_entries and not env and not (record or {}).get(_KEEP_ENV_KEY):
        del data[cs.ENV]
    _remove_recorded_web_search(data, record, result)
    return result


def fmapi_part(data: t.Dict[str, t.Any], deny_web_search: bool) -> t.Dict[str, t.Any]:
    """The owned keys of settings data, for the result."""
    part: t.Dict[str, t.Any] = {}
    if cs.API_KEY_HELPER in data:
        part[cs.API_KEY_HELPER] = data[cs.API_KEY_HELPER]
    env = data.get(cs.ENV)
    if isinstance(env, dict):
        owned = dict((key, env[key]) for key in cs.OWNED_ENV_KEYS if key in env)
        if owned:
            part[cs.ENV] = owned
    permissions = data.get(cs.PERMISSIONS)
    deny = permissions.get(cs.DENY) if isinstance(permissions, dict) else None
    if deny_web_search and isinstance(deny, list) and cs.WEB_SEARCH_TOOL in deny:
        part[cs.PERMISSIONS] = {cs.DENY: [cs.WEB_SEARCH_TOOL]}
    return part


def _repair_hint(state: str) -> str:
    outcome = ("write a new file holding only the FMAPI settings" if state == "present"
               else "delete it (nothing of FMAPI can be found in it)")
    return (" Nothing was changed. Fix the file by hand (Claude Code cannot read it either), or run again with "
            "repair=true to copy it to a timestamped backup beside it and %s." % outcome)


class ClaudeSettings:
    """One run of the module."""

    def __init__(self, module: AnsibleModule):
        self.module = module
        self.params = module.params
        self.path = expand(self.params["path"])
        self.scope = self.params["scope"]
        self.file_mode, self.directory_mode = managed.modes(self.scope, cs.SETTINGS_MODE, cs.DIRECTORY_MODE)
        self.state_path = cs.state_file_path(self.path)

    def fail(self, msg: str, **kwargs: t.Any) -> None:
        self.module.fail_json(msg=msg, path=self.path, **kwargs)

    def desired_values(self) -> t.Tuple[str, t.Dict[str, str]]:
        """The validated apiKeyHelper command and env values; SettingsError says what to fix."""
        params = self.params
        if params["token_helper"]:
            params["api_key_helper"] = helper_command(expand(params["token_helper"]))
        inlined_tokens = ws.token_shaped_values(params["api_key_helper"] or "")
        if inlined_tokens:
            self.module.no_log_values.update(inlined_tokens)
            raise cs.SettingsError(
                "invalid_value",
                "api_key_helper seems to contain a Databricks token or a JWT. Give the command that fetches a fresh "
                "token (the token helper script), never a token itself: it would sit in plain text in %s."
                % self.path)
        try:
            api_key_helper = cs.validate_single_line("api_key_helper", params["api_key_helper"])
            host = ws.normalize_host(params["host"])
            models = dict((name, ws.validate_model(name, params[name])) for name in ("model", "opus", "sonnet", "haiku"))
            env_values = cs.desired_env(host, params["gateway"], ttl_minutes=params["ttl_minutes"], **models)
        except ValueError as exc:
            raise cs.SettingsError("invalid_value", to_native(exc)) from exc
        return api_key_helper, env_values

    @staticmethod
    def read(path: str) -> t.Optional[bytes]:
        try:
            return read_bytes(path)
        except OSError as exc:
            raise cs.SettingsError("unreadable", "Cannot read %s: %s" % (path, to_native(exc))) from exc

    def run(self) -> t.Dict[str, t.Any]:
        params = self.params
        present = params["state"] == "present"
        repair = params["repair"]
        if os.path.isdir(self.path):
            raise cs.SettingsError("is_directory", "%s is a directory; path must name the settings file, e.g. "
                                   "%s/settings.json" % (self.path, self.path))
        api_key_helper = ""
        env_values: t.Dict[str, str] = {}
        manage = params["fmapi_keys"]
        plugin = params["plugin"]
        if present and manage:
            api_key_helper, env_values = self.desired_values()
        if plugin:
            try:
                cp.validate_name("The marketplace", plugin["marketplace"])
                cp.validate_name("The plugin", plugin["plugin"])
            except cp.PluginError as exc:
                raise cs.SettingsError("invalid_value", to_native(exc)) from exc
            if present and not plugin.get("source"):
                raise cs.SettingsError("invalid_value", "plugin.source is required with state=present")

        raw = self.read(self.path)
        self.module.no_log_values.update(cs.secret_values_in_text(cs.decode_for_display(raw)))
        state_raw = self.read(self.state_path)
        record = cs.parse_state(state_raw)

        unreadable = None
        try:
            parsed = cs.parse_settings(raw, self.path)
        except cs.SettingsError as exc:
            if not repair:
                raise cs.SettingsError(exc.kind, exc.message + "." + _repair_hint(params["state"])) from exc
            unreadable = exc
            text = cs.decode_for_display(raw)
            parsed = cs.ParsedSettings({}, text, cs.detect_indent(text), bool(raw and raw.startswith(cs.UTF8_BOM)))
        self.module.no_log_values.update(cs.secret_values(parsed.data))

        if not manage:
            merged = MergeResult(copy.deepcopy(parsed.data), record)
        elif present:
            merged = merge_present(parsed.data, env_values, api_key_helper, params["deny_web_search"], record,
                                   repair, self.path)
        else:
            merged = merge_absent(parsed.data, record, self.path)
        if plugin:
            if present:
                change = cp.declare_plugin(merged.data, plugin["marketplace"], plugin["plugin"],
                                           expand(plugin["source"]), self.path)
            else:
                change = cp.forget_marketplace(merged.data, plugin["marketplace"])
            merged.data = change.data
            merged.set_keys.extend(change.set_keys)
            merged.removed_keys.extend(change.removed_keys)
        for note in merged.notes:
            self.module.warn(note)
        if unreadable is not None:
            merged.repaired.insert(0, "file")

        # What the file becomes: None = left alone; otherwise new bytes, or deleted.
        new_raw: t.Optional[bytes] = None
        file_deleted = False
        if raw is None:
            if present:
                new_raw = cs.render_settings(merged.data, parsed.indent, parsed.bom)
        elif unreadable is None and merged.data == parsed.data:
            pass
        elif not present and not merged.data:
            new_raw, file_deleted = cs.emptied_file(self.path, parsed)
        else:
            new_raw = cs.render_settings(merged.data, parsed.indent, parsed.bom)
        file_changed = new_raw is not None

        if not manage:
            new_state_raw, state_changed = None, False
        elif merged.record:
            new_state_raw = cs.render_state(merged.record)
            state_changed = cs.parse_state(new_state_raw) != record
        else:
            new_state_raw = None
            state_changed = state_raw is not None

        result: t.Dict[str, t.Any] = {
            "changed": file_changed or state_changed,
            "path": self.path,
            "backup_file": None,
            "set_keys": merged.set_keys,
            "removed_keys": merged.removed_keys,
            "repaired": merged.repaired,
            "file_deleted": file_deleted,
            "state_file": self.state_path if merged.record and manage else None,
            "settings": fmapi_part(merged.data, params["deny_web_search"]) if present and manage else {},
            "plugin_id": cp.plugin_id(plugin["plugin"], plugin["marketplace"]) if plugin else None,
        }
        if self.module._diff and file_changed:  # pylint: disable=protected-access
            result["diff"] = {
                "before": cs.decode_for_display(raw),
                "after": cs.decode_for_display(new_raw) if not file_deleted else "",
                "before_header": self.path if raw is not None else "%s (absent)" % self.path,
                "after_header": self.path if not file_deleted else "%s (deleted)" % self.path,
            }
        if self.module.check_mode:
            return result

        try:
            if file_changed:
                if raw is not None and (params["backup"] or unreadable is not None or merged.repaired):
                    result["backup_file"] = self.backup()
                if file_deleted:
                    remove_file(self.path)
                else:
                    directory = os.path.dirname(write_target(self.path))
                    if not os.path.isdir(directory):
                        ensure_directory(directory, self.directory_mode)
                    atomic_write(self.module, self.path, new_raw, self.file_mode)
            if state_changed:
                if new_state_raw is None:
                    remove_file(self.state_path)
                else:
                    atomic_write(self.module, self.state_path, new_state_raw, managed.state_mode(self.scope, cs.SETTINGS_MODE))
            if file_deleted and self.scope == managed.SCOPE_MANAGED:
                result["removed_folders"] = remove_empty_folders(os.path.dirname(self.path),
                                                                 managed.FOLDER_LEVELS["claude_code"])
        except OSError as exc:
            self.fail("Cannot write %s: %s" % (exc.filename or self.path, to_native(exc.strerror or exc)),
                      backup_file=result["backup_file"])
        return result

    def backup(self) -> str:
        # The copy may hold credentials: as private as the file itself.
        try:
            return private_backup(self.module, self.path, cs.SETTINGS_MODE)
        except BackupError as exc:
            raise cs.SettingsError("backup_failed", str(exc)) from exc


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default=cs.DEFAULT_SETTINGS_PATH),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            fmapi_keys=dict(type="bool", default=True),
            plugin=dict(type="dict", options=dict(
                source=dict(type="path"),
                marketplace=dict(type="str", required=True),
                plugin=dict(type="str", required=True),
            )),
            host=dict(type="str"),
            gateway=dict(type="str", choices=list(cs.GATEWAYS), default=cs.GATEWAY_SERVING_ENDPOINTS),
            api_key_helper=dict(type="str", no_log=False),
            token_helper=dict(type="path"),
            model=dict(type="str", default=ws.DEFAULT_MODEL),
            opus=dict(type="str", default=ws.DEFAULT_OPUS_MODEL),
            sonnet=dict(type="str", default=ws.DEFAULT_SONNET_MODEL),
            haiku=dict(type="str", default=ws.DEFAULT_HAIKU_MODEL),
            ttl_minutes=dict(type="int", default=ws.DEFAULT_TTL_MINUTES),
            deny_web_search=dict(type="bool", default=True),
            scope=dict(type="str", choices=list(managed.SCOPES), default=managed.SCOPE_USER),
            repair=dict(type="bool", default=False),
            backup=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("api_key_helper", "token_helper")],
        supports_check_mode=True,
    )
    if module.params["scope"] == managed.SCOPE_MANAGED and module.params["plugin"]:
        module.fail_json(msg="plugin cannot be declared in managed settings (scope=managed): plugins are declared in "
                             "each user's ~/.claude/settings.json; leave plugin out of this task")
    if module.params["state"] == "present" and module.params["fmapi_keys"]:
        missing = [name for name in ("host", "api_key_helper") if not module.params[name]]
        if missing == ["api_key_helper"] and module.params["token_helper"]:
            missing = []
        if missing:
            module.fail_json(msg="state is present but all of the following are missing: %s" % ", ".join(missing))
    settings = ClaudeSettings(module)
    try:
        module.exit_json(**settings.run())
    except cs.SettingsError as exc:
        settings.fail(exc.message)


if __name__ == "__main__":
    main()
