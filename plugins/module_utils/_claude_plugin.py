# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Claude Code plugins declared in settings: marketplace manifests, the two settings keys, Claude
Code's own plugin registry. Private to the collection.

Claude Code (2.1.x) reads a local plugin from two user settings keys::

    "extraKnownMarketplaces": {"<marketplace>": {"source": {"source": "directory", "path": "<dir>"}}},
    "enabledPlugins": {"<plugin>@<marketplace>": true}

At its next start it loads the plugin's commands and skills in place from ``<dir>``, and a background
reconcile records the marketplace in ``plugins/known_marketplaces.json`` and then the plugin in
``plugins/installed_plugins.json`` (its registry, ``{"version": 2, "plugins": {...}}``) under the
config directory. Those two files are Claude Code's cache: only Claude Code writes them. The one
exception is the flat, non-standard entry older setup scripts put into the registry, which makes
Claude Code discard the whole file when it is the only content.

The marketplace key must be the ``name`` of the folder's ``.claude-plugin/marketplace.json``:
Claude Code refuses a marketplace declared under another name.
"""

from __future__ import annotations

import copy
import json
import os
import re
import typing as t

from ansible_collections.fmapi.coding_agents.plugins.module_utils._claude_settings import (
    SettingsError,
    detect_indent,
    json_type_name,
)

MANIFEST_DIRECTORY = ".claude-plugin"
MANIFEST_NAME = "marketplace.json"
EXTRA_KNOWN_MARKETPLACES = "extraKnownMarketplaces"
ENABLED_PLUGINS = "enabledPlugins"
DIRECTORY_SOURCE = "directory"

# The flat entries older FMAPI setup scripts wrote at the top level of installed_plugins.json.
DEFAULT_LEGACY_ENTRIES = ("fmapi-codingagent",)
# Top-level keys of Claude Code's registry format: never legacy, never touched.
REGISTRY_FORMAT_KEYS = ("version", "plugins")
REGISTRY_RELATIVE_PATH = os.path.join("plugins", "installed_plugins.json")
KNOWN_MARKETPLACES_RELATIVE_PATH = os.path.join("plugins", "known_marketplaces.json")

# Marketplace and plugin names as Claude Code accepts them in an id ``<plugin>@<marketplace>``.
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class PluginError(Exception):
    """A marketplace folder, a name or a file that cannot be used; the message says what to fix."""


class Marketplace:  # pylint: disable=too-few-public-methods
    """What a marketplace folder's manifest declares."""

    def __init__(self, name: str, plugins: t.List[str], manifest_path: str):
        self.name = name
        self.plugins = plugins
        self.manifest_path = manifest_path


def manifest_path(source: str) -> str:
    """The marketplace manifest inside a marketplace folder."""
    return os.path.join(source, MANIFEST_DIRECTORY, MANIFEST_NAME)


def validate_name(kind: str, name: t.Any) -> str:
    """``name`` when it is usable as a marketplace or plugin name, else PluginError."""
    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        raise PluginError(
            "%s name %r is not usable: it must start with a letter or digit and contain only letters, digits, "
            "'.', '_' and '-' (no '@', no spaces)" % (kind, name)
        )
    return name


def read_marketplace(source: str) -> Marketplace:
    """Parse ``<source>/.claude-plugin/marketplace.json``; PluginError says what is wrong with it."""
    path = manifest_path(source)
    if not os.path.isdir(source):
        raise PluginError("The marketplace folder %s does not exist; copy the marketplace there first" % source)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise PluginError("%s is not a Claude Code marketplace: cannot read %s (%s)" % (source, path, exc.strerror)) \
            from exc
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PluginError("%s is not valid JSON: %s" % (path, exc)) from exc
    if not isinstance(data, dict):
        raise PluginError("%s must hold a JSON object with 'name', 'owner' and 'plugins'" % path)
    try:
        name = validate_name("The marketplace", data.get("name"))
    except PluginError as exc:
        raise PluginError("%s: %s" % (path, exc)) from exc
    entries = data.get("plugins")
    if not isinstance(entries, list):
        raise PluginError("%s: 'plugins' must be a list of plugin entries" % path)
    plugins = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            plugins.append(entry["name"])
    return Marketplace(name, plugins, path)


def resolve_names(marketplace: t.Optional[Marketplace], marketplace_name: t.Optional[str],
                  plugin_name: t.Optional[str]) -> t.Tuple[str, str]:
    """The ``(marketplace, plugin)`` names to declare, from the options and the manifest.

    Options given must agree with the manifest (Claude Code refuses a marketplace declared under
    another name, and a plugin the marketplace does not list cannot load).
    """
    if marketplace is None:
        if not marketplace_name or not plugin_name:
            raise PluginError("Without a readable marketplace folder, give both marketplace and plugin")
        return validate_name("The marketplace", marketplace_name), validate_name("The plugin", plugin_name)
    if marketplace_name and marketplace_name != marketplace.name:
        raise PluginError(
            "marketplace is %r, but %s names the marketplace %r; Claude Code accepts it only under that name: "
            "leave marketplace out or set it to %r"
            % (marketplace_name, marketplace.manifest_path, marketplace.name, marketplace.name)
        )
    if plugin_name:
        validate_name("The plugin", plugin_name)
        if plugin_name not in marketplace.plugins:
            raise PluginError("%s lists no plugin %r (it lists: %s)" % (
                marketplace.manifest_path, plugin_name, ", ".join(marketplace.plugins) or "none"))
        return marketplace.name, plugin_name
    if len(marketplace.plugins) != 1:
        raise PluginError("%s lists %s; choose one with the plugin option" % (
            marketplace.manifest_path,
            "no plugins" if not marketplace.plugins else "several plugins (%s)" % ", ".join(marketplace.plugins)))
    return marketplace.name, validate_name("The plugin", marketplace.plugins[0])


def plugin_id(plugin: str, marketplace: str) -> str:
    """Claude Code's id of a plugin from a marketplace."""
    return "%s@%s" % (plugin, marketplace)


def directory_source(path: str) -> t.Dict[str, str]:
    """The ``source`` of an extraKnownMarketplaces entry for a local folder."""
    return {"source": DIRECTORY_SOURCE, "path": path}


def _object_member(data: t.Dict[str, t.Any], key: str, path: str) -> t.Optional[t.Dict[str, t.Any]]:
    value = data.get(key)
    if key in data and not isinstance(value, dict):
        raise SettingsError(
            "bad_shape",
            "%s: the value of '%s' is a JSON %s, but Claude Code expects an object. Nothing was changed; "
            "fix it by hand." % (path, key, json_type_name(value)),
        )
    return value


class SettingsChange:  # pylint: disable=too-few-public-methods
    """Settings data after declaring or removing a plugin, and what changed."""

    def __init__(self, data: t.Dict[str, t.Any]):
        self.data = data
        self.set_keys: t.List[str] = []
        self.removed_keys: t.List[str] = []


def declare_plugin(data: t.Dict[str, t.Any], marketplace: str, plugin: str, source: str,
                   path: str = "settings file") -> SettingsChange:
    """Settings data declaring the marketplace folder and enabling the plugin (``data`` is not modified).

    Other members of an existing marketplace entry (such as ``autoUpdate``) are kept; other
    marketplaces and plugins are not touched. SettingsError(``bad_shape``) when a key has the wrong type.
    """
    change = SettingsChange(copy.deepcopy(data))
    new = change.data
    marketplaces = _object_member(new, EXTRA_KNOWN_MARKETPLACES, path)
    enabled = _object_member(new, ENABLED_PLUGINS, path)
    wanted_source = directory_source(source)
    if marketplaces is None:
        marketplaces = new[EXTRA_KNOWN_MARKETPLACES] = {}
    entry = marketplaces.get(marketplace)
    if not isinstance(entry, dict):
        marketplaces[marketplace] = {"source": wanted_source}
        change.set_keys.append("%s.%s" % (EXTRA_KNOWN_MARKETPLACES, marketplace))
    elif entry.get("source") != wanted_source:
        entry["source"] = wanted_source
        change.set_keys.append("%s.%s" % (EXTRA_KNOWN_MARKETPLACES, marketplace))
    if enabled is None:
        enabled = new[ENABLED_PLUGINS] = {}
    identifier = plugin_id(plugin, marketplace)
    if enabled.get(identifier) is not True:
        enabled[identifier] = True
        change.set_keys.append("%s.%s" % (ENABLED_PLUGINS, identifier))
    return change


def marketplaces_at(data: t.Dict[str, t.Any], source: str) -> t.List[str]:
    """Names of the marketplaces the settings declare as the local folder ``source``."""
    marketplaces = data.get(EXTRA_KNOWN_MARKETPLACES)
    if not isinstance(marketplaces, dict):
        return []
    wanted = os.path.normpath(source)
    names = []
    for name, entry in marketplaces.items():
        entry_source = entry.get("source") if isinstance(entry, dict) else None
        if (isinstance(entry_source, dict) and entry_source.get("source") == DIRECTORY_SOURCE
                and isinstance(entry_source.get("path"), str)
                and os.path.normpath(os.path.expanduser(entry_source["path"])) == wanted):
            names.append(name)
    return names


def forget_marketplace(data: t.Dict[str, t.Any], marketplace: str) -> SettingsChange:
    """Settings data without the marketplace and every ``*@<marketplace>`` plugin (``data`` is not modified).

    A plugin of a marketplace that is no longer declared cannot load, so all of them go. An
    ``extraKnownMarketplaces`` or ``enabledPlugins`` object emptied by this is dropped; one that was
    already empty stays.
    """
    change = SettingsChange(copy.deepcopy(data))
    new = change.data
    marketplaces = new.get(EXTRA_KNOWN_MARKETPLACES)
    if isinstance(marketplaces, dict) and marketplace in marketplaces:
        del marketplaces[marketplace]
        change.removed_keys.append("%s.%s" % (EXTRA_KNOWN_MARKETPLACES, marketplace))
        if not marketplaces:
            del new[EXTRA_KNOWN_MARKETPLACES]
    enabled = new.get(ENABLED_PLUGINS)
    if isinstance(enabled, dict):
        suffix = "@" + marketplace
        ours = [key for key in enabled if key.endswith(suffix)]
        for key in ours:
            del enabled[key]
            change.removed_keys.append("%s.%s" % (ENABLED_PLUGINS, key))
        if ours and not enabled:
            del new[ENABLED_PLUGINS]
    return change


def registry_path(config_directory: str) -> str:
    """Claude Code's plugin registry in a config directory (``~/.claude``)."""
    return os.path.join(config_directory, REGISTRY_RELATIVE_PATH)


def known_marketplaces_path(config_directory: str) -> str:
    """Claude Code's record of the marketplaces it has fetched, in a config directory."""
    return os.path.join(config_directory, KNOWN_MARKETPLACES_RELATIVE_PATH)


def _load_json_object(raw: t.Optional[bytes]) -> t.Optional[t.Dict[str, t.Any]]:
    if not raw:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def legacy_entries_in(registry: t.Dict[str, t.Any], names: t.Iterable[str]) -> t.List[str]:
    """The flat legacy entries among ``names`` at the top level of registry data."""
    return [name for name in names
            if name not in REGISTRY_FORMAT_KEYS and isinstance(registry.get(name), dict)]


def remove_legacy_entries(raw: t.Optional[bytes], names: t.Iterable[str]) -> t.Tuple[t.Optional[bytes], t.List[str]]:
    """Registry bytes without the flat legacy entries: ``(new bytes, removed names)``.

    ``new bytes`` is None when nothing is removed (also when the file is missing or unreadable: it is
    Claude Code's, left to it), and ``b""`` when nothing else is left, meaning the file should be
    deleted (Claude Code starts a missing registry afresh, but discards one it cannot parse). The rest
    is written back with the file's indentation and final-newline habit (Claude Code writes 2 spaces
    and no final newline), so real entries keep their content.
    """
    data = _load_json_object(raw)
    if data is None:
        return None, []
    removed = legacy_entries_in(data, names)
    if not removed:
        return None, []
    for name in removed:
        del data[name]
    if not data:
        return b"", removed
    text = raw.decode("utf-8")
    rendered = json.dumps(data, indent=detect_indent(text), ensure_ascii=False)
    if text.endswith("\n"):
        rendered += "\n"
    return rendered.encode("utf-8"), removed


def registry_records(registry_raw: t.Optional[bytes], known_raw: t.Optional[bytes],
                     marketplace: str) -> t.Tuple[t.List[str], bool]:
    """What Claude Code's cache still records of a marketplace.

    ``(ids of its plugins installed in user scope, whether the marketplace itself is recorded)``.
    Installs in project or local scope were made for a project on purpose and are not listed.
    """
    registry = _load_json_object(registry_raw) or {}
    plugins = registry.get("plugins")
    suffix = "@" + marketplace
    identifiers = []
    if isinstance(plugins, dict):
        for identifier, installs in plugins.items():
            if not identifier.endswith(suffix) or not isinstance(installs, list):
                continue
            if any(isinstance(install, dict) and install.get("scope", "user") == "user" for install in installs):
                identifiers.append(identifier)
    known = _load_json_object(known_raw) or {}
    return identifiers, marketplace in known


def cli_outcome(stdout: str) -> t.Dict[str, t.Any]:
    """The JSON result line a ``claude plugin ... --json`` command printed last, or ``{}``."""
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict):
                return data
    return {}
