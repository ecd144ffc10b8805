# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What an FMAPI install of Claude Code left on a laptop, read without changing or running anything.

Private to the collection; the reading half of module claude_code_info. It reads the settings file,
the token helper's metadata line (never running it), Claude Code's state file, the plugin's files
and registration, and the leftovers of older setup scripts (settings keys, their helper and its
PAT cache, shell-rc wrappers, the flat plugin registry entry).
"""

from __future__ import annotations

import json
import os
import tempfile
import typing as t

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _claude_settings as cs
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws
from ansible_collections.fmapi.coding_agents.plugins.module_utils._claude_plugin import (
    DEFAULT_LEGACY_ENTRIES,
    ENABLED_PLUGINS,
    EXTRA_KNOWN_MARKETPLACES,
    legacy_entries_in,
    plugin_id,
    registry_path,
)
from ansible_collections.fmapi.coding_agents.plugins.module_utils._files import read_bytes
from ansible_collections.fmapi.coding_agents.plugins.module_utils._helper_metadata import (
    read_helper_metadata,
    read_legacy_helper_values,
)
from ansible_collections.fmapi.coding_agents.plugins.module_utils._shell_rc import RC_FILES, find_blocks
from ansible_collections.fmapi.coding_agents.plugins.module_utils._token_helper import helper_command

# The original setup script's helper; a current install replaces it with the token helper.
LEGACY_HELPER_NAME = "fmapi-key-helper.sh"
_METADATA_SECRET_WORDS = ("token", "secret", "password", "credential", "key")


def settings_path(location: str, home: str, cwd: t.Optional[str] = None) -> str:
    """The settings file of a settings location: ``home`` (the user's), ``cwd`` (the project in ``cwd``) or a
    project directory."""
    if location == "home":
        base = home
    elif location == "cwd":
        base = cwd or home
    else:
        base = location
    base = os.path.abspath(os.path.expanduser(base.rstrip("/") or "/"))
    if os.path.basename(base) == ".claude":
        base = os.path.dirname(base)
    return os.path.join(base, ".claude", "settings.json")


def writable_problem(path: str) -> t.Optional[str]:
    """Why the settings file ``path`` could not be written (None when it can), without leaving anything behind.

    The nearest folder that exists on the way to it must be a folder, and a scratch file (or folder, when
    ``.claude`` must be created) must be creatable in it: the only test that holds for root and for
    read-only file systems alike.
    """
    directory = os.path.dirname(path)
    existing = directory
    while not os.path.lexists(existing):
        parent = os.path.dirname(existing)
        if parent == existing:
            break
        existing = parent
    if not os.path.isdir(existing):
        return "%s is not a folder, so %s cannot be written" % (existing, path)
    try:
        if existing == directory:
            descriptor, scratch = tempfile.mkstemp(prefix=".fmapi-write-check-", dir=existing)
            os.close(descriptor)
            os.unlink(scratch)
        else:
            os.rmdir(tempfile.mkdtemp(prefix=".fmapi-write-check-", dir=existing))
    except OSError as exc:
        return "%s cannot be written (%s in %s)" % (path, exc.strerror or exc, existing)
    return None


def _string(value: t.Any) -> t.Optional[str]:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _safe_metadata(metadata: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    return dict((key, value) for key, value in metadata.items()
                if not any(word in str(key).lower() for word in _METADATA_SECRET_WORDS))


class InstallReader:
    """Reads one install. ``warnings`` collects what a person should know; ``secrets`` the values that
    must not appear in any output (credential-looking values found in the files read); ``data`` what the
    settings file read last holds (empty when it is missing or broken)."""

    def __init__(self, home: str):
        self.home = home
        self.warnings = []  # type: t.List[str]
        self.secrets = []  # type: t.List[str]
        self.data = {}  # type: t.Dict[str, t.Any]

    def _read(self, path: str) -> t.Tuple[t.Optional[bytes], t.Optional[str]]:
        try:
            return read_bytes(path), None
        except OSError as exc:
            return None, "Cannot read %s: %s" % (path, exc.strerror or exc)

    def read(self, path: str, helper_path: t.Optional[str] = None,
             plugin: t.Optional[t.Dict[str, str]] = None) -> t.Dict[str, t.Any]:
        """Everything about the install whose settings file is ``path``."""
        result = dict(
            installed=False, settings_path=path, settings_exists=False, settings_valid=True, settings_error=None,
            settings_mode=None, host=None, gateway=None, base_url=None, profile=None, databricks_cli=None, model=None,
            opus=None, sonnet=None, haiku=None, ttl_minutes=None, deny_web_search=False, api_key_helper=None,
            helper_path=None, helper_exists=False, helper_executable=False, helper_metadata={}, helper_is_ours=False,
            ttl_in_settings=False, settings_writable_problem=None,
            legacy=[], onboarding_complete=False,
        )  # type: t.Dict[str, t.Any]
        data = {}  # type: t.Dict[str, t.Any]
        if os.path.isdir(path):
            raw, error = None, "%s is a directory, not a settings file" % path
        else:
            raw, error = self._read(path)
        result["settings_exists"] = raw is not None
        result["settings_writable_problem"] = writable_problem(path) if not os.path.isdir(path) else \
            "%s is a folder, not a settings file" % path
        if raw is not None:
            self.secrets.extend(cs.secret_values_in_text(cs.decode_for_display(raw)))
            try:
                result["settings_mode"] = "%04o" % (os.stat(path).st_mode & 0o7777)
            except OSError:
                pass
            try:
                data = cs.parse_settings(raw, path).data
            except cs.SettingsError as exc:
                error = exc.message
        if error:
            result["settings_valid"] = False
            result["settings_error"] = error
            self.warnings.append(error + "; no earlier settings could be read from it.")
        self.secrets.extend(cs.secret_values(data))
        self.data = data

        env = data.get(cs.ENV)
        if cs.ENV in data and not isinstance(env, dict):
            self.warnings.append("%s: 'env' is a JSON %s, not an object; it was ignored."
                                 % (path, cs.json_type_name(env)))
        env = env if isinstance(env, dict) else {}

        result["base_url"] = _string(env.get(cs.ENV_BASE_URL))
        result["host"], result["gateway"] = cs.split_base_url(result["base_url"])
        for name, key in (("model", cs.ENV_MODEL), ("opus", cs.ENV_OPUS), ("sonnet", cs.ENV_SONNET),
                          ("haiku", cs.ENV_HAIKU)):
            result[name] = _string(env.get(key))
        result["ttl_in_settings"] = cs.ENV_HELPER_TTL in env
        if cs.ENV_HELPER_TTL in env:
            result["ttl_minutes"] = cs.ttl_minutes_from_ms(env[cs.ENV_HELPER_TTL])
            if result["ttl_minutes"] is None:
                self.warnings.append("%s: env.%s is %r, not a whole number of minutes from %d to %d; ignored."
                                     % (path, cs.ENV_HELPER_TTL, env[cs.ENV_HELPER_TTL], ws.MIN_TTL_MINUTES,
                                        ws.MAX_TTL_MINUTES))
        permissions = data.get(cs.PERMISSIONS)
        deny = permissions.get(cs.DENY) if isinstance(permissions, dict) else None
        result["deny_web_search"] = isinstance(deny, list) and cs.WEB_SEARCH_TOOL in deny
        result["api_key_helper"] = _string(data.get(cs.API_KEY_HELPER))

        helper = os.path.abspath(os.path.expanduser(helper_path)) if helper_path else \
            cs.helper_path_from_command(result["api_key_helper"])
        if helper and not os.path.isabs(helper):
            helper = None
        result["helper_path"] = helper
        metadata = self._read_helper(helper, result, explicit=bool(helper_path))

        metadata_host = _string(metadata.get("host"))
        if result["host"] is None and metadata_host:
            result["host"] = metadata_host.rstrip("/")
        elif metadata_host and result["host"] and not ws.same_host(metadata_host, result["host"]):
            self.warnings.append("The helper %s was made for %s, but %s points Claude Code at %s; the settings file "
                                 "wins." % (helper, metadata_host, path, result["host"]))
        if result["ttl_minutes"] is None and cs.ENV_HELPER_TTL not in env:
            metadata_ttl = metadata.get("ttl_minutes")
            if isinstance(metadata_ttl, int) and not isinstance(metadata_ttl, bool) \
                    and ws.MIN_TTL_MINUTES <= metadata_ttl <= ws.MAX_TTL_MINUTES:
                result["ttl_minutes"] = metadata_ttl
        result["profile"] = _string(metadata.get("profile"))
        result["databricks_cli"] = _string(metadata.get("databricks_cli"))
        result["helper_metadata"] = _safe_metadata(metadata)
        # Only a helper this collection wrote, where it writes it (its data folder in the user's home, or ~/.claude
        # where earlier setups wrote it; never a project's folder, which a cloned repository controls), run exactly
        # as it writes apiKeyHelper, is one it may run.
        result["helper_is_ours"] = "version" in metadata and bool(helper) and \
            result["api_key_helper"] == helper_command(t.cast(str, helper)) and self.in_helper_dirs(t.cast(str, helper))
        result["installed"] = result["gateway"] is not None or bool(metadata)
        result["legacy"] = self.legacy(path, data, env, helper)
        result["onboarding_complete"] = self.onboarding_complete()
        if plugin:
            result["plugin"] = self.plugin(data if path == self.user_settings_path() else None, plugin)
        return result

    def user_settings_path(self) -> str:
        return os.path.join(self.home, ".claude", "settings.json")

    def _read_helper(self, helper: t.Optional[str], result: t.Dict[str, t.Any], explicit: bool) -> t.Dict[str, t.Any]:
        if not helper:
            return {}
        if not os.path.isfile(helper):
            if result["api_key_helper"] or explicit:
                self.warnings.append("The token helper %s does not exist; its profile cannot be read." % helper)
            return {}
        result["helper_exists"] = True
        result["helper_executable"] = os.access(helper, os.X_OK)
        raw, error = self._read(helper)
        if error or raw is None:
            self.warnings.append(error or "Cannot read %s" % helper)
            return {}
        text = raw.decode("utf-8", "replace")
        self.secrets.extend(cs.secret_values_in_text(text))
        # A helper of the original setup script carries no metadata line; its profile and host
        # are still what the user chose, and a re-run should keep them.
        return read_helper_metadata(text) or read_legacy_helper_values(text)

    def onboarding_complete(self) -> bool:
        raw, _error = self._read(os.path.join(self.home, ".claude.json"))
        if not raw:
            return False
        try:
            data = json.loads(raw.decode("utf-8-sig"))
        except ValueError:
            return False
        return isinstance(data, dict) and data.get(cs.ONBOARDING_FLAG) is True

    def plugin(self, user_data: t.Optional[t.Dict[str, t.Any]], plugin: t.Dict[str, str]) -> t.Dict[str, t.Any]:
        """Whether the plugin's files are there and the user settings declare and enable it."""
        if user_data is None:
            raw, _error = self._read(self.user_settings_path())
            try:
                user_data = cs.parse_settings(raw, self.user_settings_path()).data if raw else {}
            except cs.SettingsError:
                user_data = {}
        marketplaces = user_data.get(EXTRA_KNOWN_MARKETPLACES)
        enabled = user_data.get(ENABLED_PLUGINS)
        declared = isinstance(marketplaces, dict) and isinstance(marketplaces.get(plugin["marketplace"]), dict)
        source = plugin.get("source") or ""
        return dict(
            source=source,
            files_present=bool(source) and os.path.isfile(os.path.join(source, ".claude-plugin", "marketplace.json")),
            registered=declared and isinstance(enabled, dict)
            and enabled.get(plugin_id(plugin["plugin"], plugin["marketplace"])) is True,
        )

    def in_helper_dirs(self, helper: str) -> bool:
        """Whether ``helper`` lies in one of the folders where this collection writes its token helper."""
        real = os.path.realpath(helper)
        return any(real.startswith(os.path.realpath(ws.expand_home(directory, {"HOME": self.home})) + os.sep)
                   for directory in ws.TOKEN_HELPER_DIRS)

    def legacy(self, settings_file: str, data: t.Dict[str, t.Any], env: t.Dict[str, t.Any],
               helper: t.Optional[str]) -> t.List[t.Dict[str, str]]:
        found = []
        if cs.LEGACY_AUTH_TOKEN in env:
            found.append(dict(
                name="anthropic_auth_token", path=settings_file,
                description="env.%s is present (value not shown); it overrides apiKeyHelper and should be removed."
                % cs.LEGACY_AUTH_TOKEN,
            ))
        if cs.LEGACY_META in data:
            found.append(dict(
                name="fmapi_meta", path=settings_file,
                description="%s is a leftover of an older setup script; Claude Code does not use it." % cs.LEGACY_META,
            ))
        if helper and os.path.basename(helper) == LEGACY_HELPER_NAME and os.path.isfile(helper):
            found.append(dict(
                name="legacy_helper", path=helper,
                description="the token helper of the original setup script, replaced by the token helper of this "
                "collection",
            ))
        earlier = ws.expand_home(ws.EARLIER_TOKEN_HELPER_PATH, {"HOME": self.home})
        # Also while the settings still name it: the setup points them at the shared helper, then removes this one.
        if os.path.isfile(earlier) \
                and "version" in (read_helper_metadata((self._read(earlier)[0] or b"").decode("utf-8", "replace")) or {}):
            found.append(dict(
                name="earlier_helper", path=earlier,
                description="the token helper where earlier versions of this collection wrote it, replaced by the one "
                "every agent shares in %s" % ws.DATA_DIR,
            ))
        directories = []
        for directory in (os.path.dirname(helper) if helper else None, os.path.dirname(settings_file),
                          os.path.join(self.home, ".claude")):
            if directory and directory not in directories:
                directories.append(directory)
        for directory in directories:
            cache = os.path.join(directory, cs.LEGACY_PAT_CACHE)
            if os.path.lexists(cache):
                found.append(dict(
                    name="pat_cache", path=cache,
                    description="A personal access token cache of an older token helper; it should be deleted "
                    "(and the token revoked).",
                ))
        for rc_file in RC_FILES:
            path = os.path.join(self.home, rc_file[2:])
            raw, error = self._read(path)
            if error:
                self.warnings.append(error)
            for block in find_blocks(raw or b"")[0]:
                found.append(dict(
                    name="shell_wrapper", path=path,
                    description="the %s wrapper (lines %d-%d) of an older setup script, which creates personal access "
                    "tokens" % (block.name, block.first_line, block.last_line),
                ))
        registry = registry_path(os.path.join(self.home, ".claude"))
        raw, _error = self._read(registry)
        try:
            registry_data = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            registry_data = None
        if isinstance(registry_data, dict) and legacy_entries_in(registry_data, DEFAULT_LEGACY_ENTRIES):
            found.append(dict(
                name="plugin_registry_entry", path=registry,
                description="a flat plugin entry an older setup script wrote; with it Claude Code cannot record "
                "plugins",
            ))
        return found
