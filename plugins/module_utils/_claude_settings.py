# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Claude Code settings files: what FMAPI owns in them, how they are read and written.

Shared by the modules claude_settings (writes) and claude_code_info (reads, through _claude_install). Private to the
collection.

A settings file is parsed with the standard ``json`` module (key order is kept) and, when its
data has to change, written back with the indentation it had (2 or 4 spaces, a tab, ...; 2 spaces
for a new file or one without indented lines), non-ASCII characters as they are, a UTF-8 BOM kept
when it had one, and a final newline. A file whose data does not change is never rewritten.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import typing as t

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws
from ansible_collections.fmapi.coding_agents.plugins.module_utils._workspace import MAX_TTL_MINUTES, MIN_TTL_MINUTES

DEFAULT_SETTINGS_PATH = "~/.claude/settings.json"
# Where Claude Code's installers put `claude` (native installer, its older local install, Homebrew),
# looked at after PATH.
CLAUDE_SEARCH_DIRS = ("~/.local/bin", "~/.claude/local", "/opt/homebrew/bin", "/usr/local/bin")
MS_PER_MINUTE = 60000

# Gateway kind (the endpoint style, _workspace's one rule) -> Claude Code's base URL.
GATEWAY_SERVING_ENDPOINTS = ws.ENDPOINT_STYLE_SERVING_ENDPOINTS
GATEWAY_AI_GATEWAY = ws.ENDPOINT_STYLE_AI_GATEWAY
GATEWAYS = ws.ENDPOINT_STYLES

CODING_AGENT_HEADER = "x-databricks-use-coding-agent-mode"
CUSTOM_HEADERS_VALUE = CODING_AGENT_HEADER + ": true"

API_KEY_HELPER = "apiKeyHelper"
ENV = "env"
PERMISSIONS = "permissions"
DENY = "deny"
WEB_SEARCH_TOOL = "WebSearch"
WEB_SEARCH_DENY_NAME = "permissions.deny[WebSearch]"

ENV_BASE_URL = "ANTHROPIC_BASE_URL"
ENV_MODEL = "ANTHROPIC_MODEL"
ENV_OPUS = "ANTHROPIC_DEFAULT_OPUS_MODEL"
ENV_SONNET = "ANTHROPIC_DEFAULT_SONNET_MODEL"
ENV_HAIKU = "ANTHROPIC_DEFAULT_HAIKU_MODEL"
ENV_CUSTOM_HEADERS = "ANTHROPIC_CUSTOM_HEADERS"
ENV_DISABLE_BETAS = "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"
ENV_HELPER_TTL = "CLAUDE_CODE_API_KEY_HELPER_TTL_MS"
# In the order they are appended to a file that lacks them.
OWNED_ENV_KEYS = (
    ENV_BASE_URL, ENV_MODEL, ENV_OPUS, ENV_SONNET, ENV_HAIKU,
    ENV_CUSTOM_HEADERS, ENV_DISABLE_BETAS, ENV_HELPER_TTL,
)
# Written by older setup scripts. A static token in env would win over apiKeyHelper.
LEGACY_AUTH_TOKEN = "ANTHROPIC_AUTH_TOKEN"
LEGACY_ENV_KEYS = (LEGACY_AUTH_TOKEN,)
LEGACY_META = "_fmapi_meta"
LEGACY_TOP_LEVEL_KEYS = (LEGACY_META,)
# The token cache an older helper kept beside itself.
LEGACY_PAT_CACHE = ".fmapi-pat-cache"
# In the environment this wins over apiKeyHelper; it is not ours to remove.
COMPETING_API_KEY = "ANTHROPIC_API_KEY"
# Claude Code's own state file; this flag skips its first-run login screen.
CLAUDE_STATE_FILE = "~/.claude.json"
ONBOARDING_FLAG = "hasCompletedOnboarding"

SETTINGS_MODE = 0o600
DIRECTORY_MODE = 0o700
UTF8_BOM = b"\xef\xbb\xbf"
DEFAULT_INDENT = 2

STATE_FORMAT_VERSION = 1
_SECRET_KEY_PATTERN = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|CREDENTIAL", re.IGNORECASE)
# Values shorter than this are not masked in output: masking "1" would garble every message.
_MIN_MASKED_LENGTH = 6
# Programs an apiKeyHelper command may hand the helper script to.
_INTERPRETERS = re.compile(r"^(?:sh|bash|zsh|dash|ksh|env|python[0-9.]*)$")


class SettingsError(Exception):
    """A settings file cannot be used as it is.

    ``kind`` is ``unreadable`` (bad JSON or encoding), ``not_object`` (the root is not an object)
    or ``bad_shape`` (a key we manage holds the wrong JSON type).
    """

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


class ParsedSettings:  # pylint: disable=too-few-public-methods
    """A settings file as read: its data and the formatting to write it back with."""

    def __init__(self, data: t.Dict[str, t.Any], text: str, indent: t.Union[int, str], bom: bool):
        self.data = data
        self.text = text
        self.indent = indent
        self.bom = bom


def json_type_name(value: t.Any) -> str:
    """The JSON name of a Python value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _line_column(text: str, position: int) -> t.Tuple[int, int]:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return line, column


def _reject_constant(name: str) -> t.Any:
    raise ValueError("JSON does not allow the value %s" % name)


def detect_indent(text: str) -> t.Union[int, str]:
    """The indentation unit of a JSON text: a number of spaces, or a tab.

    The first indented line of a pretty-printed object is one of its top-level members, so its
    leading whitespace is one unit. A text without indented lines (empty, minified) gets 2 spaces.
    """
    for line in text.splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if not stripped:
            continue
        leading = line[:len(line) - len(stripped)]
        if not leading:
            continue
        if leading.startswith("\t"):
            return "\t"
        width = len(leading) - len(leading.lstrip(" "))
        if 1 <= width <= 8:
            return width
        return DEFAULT_INDENT
    return DEFAULT_INDENT


def parse_settings(raw: t.Optional[bytes], path: str, program: str = "Claude Code") -> ParsedSettings:
    """Parse the bytes of a settings file of ``program``; ``None`` (missing) and empty content mean ``{}``.

    Raises SettingsError (``unreadable`` or ``not_object``) with a message naming the file and,
    for a syntax error, the line and column.
    """
    if raw is None:
        return ParsedSettings({}, "", DEFAULT_INDENT, False)
    bom = raw.startswith(UTF8_BOM)
    body = raw[len(UTF8_BOM):] if bom else raw
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _line_column(body[:exc.start].decode("utf-8", "replace"), exc.start)
        raise SettingsError(
            "unreadable",
            "%s is not valid UTF-8 text (byte 0x%02x at line %d, column %d)" % (path, body[exc.start], line, column),
        ) from exc
    if not text.strip():
        return ParsedSettings({}, text, DEFAULT_INDENT, bom)
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise SettingsError(
            "unreadable", "%s is not valid JSON: %s at line %d, column %d" % (path, exc.msg, exc.lineno, exc.colno),
        ) from exc
    except ValueError as exc:
        raise SettingsError("unreadable", "%s is not valid JSON: %s" % (path, exc)) from exc
    if not isinstance(data, dict):
        raise SettingsError(
            "not_object",
            "%s holds a JSON %s at the top level, but %s settings must be a JSON object ({...})"
            % (path, json_type_name(data), program),
        )
    return ParsedSettings(data, text, detect_indent(text), bom)


def render_settings(data: t.Dict[str, t.Any], indent: t.Union[int, str] = DEFAULT_INDENT, bom: bool = False) -> bytes:
    """The bytes of a settings file holding ``data``."""
    try:
        body = (json.dumps(data, indent=indent, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (read from a \\udXXX escape) has no UTF-8 form: keep it escaped.
        body = (json.dumps(data, indent=indent, ensure_ascii=True) + "\n").encode("utf-8")
    return (UTF8_BOM + body) if bom else body


def emptied_file(path: str, parsed: ParsedSettings) -> t.Tuple[bytes, bool]:
    """(new bytes, deleted) for a settings file a removal leaves without keys.

    The file is deleted, unless it is a symlink: the dotfiles manager owns the link and its
    target, so both stay and the target holds ``{}``.
    """
    if os.path.islink(path):
        return render_settings({}, parsed.indent, parsed.bom), False
    return b"", True


def decode_for_display(raw: t.Optional[bytes]) -> str:
    """Text of file bytes for a diff (a BOM dropped, undecodable bytes replaced)."""
    if raw is None:
        return ""
    if raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM):]
    return raw.decode("utf-8", "replace")


def base_url(host: str, gateway: str = GATEWAY_SERVING_ENDPOINTS) -> str:
    """ANTHROPIC_BASE_URL for a normalized workspace URL and gateway kind."""
    return ws.agent_base_url(host, ws.AGENT_CLAUDE_CODE, gateway)


def split_base_url(url: t.Any) -> t.Tuple[t.Optional[str], t.Optional[str]]:
    """``(host, gateway kind)`` of an ANTHROPIC_BASE_URL, or ``(None, None)`` when it is not ours."""
    return ws.split_agent_base_url(ws.AGENT_CLAUDE_CODE, url)


def validate_single_line(name: str, value: t.Any) -> str:
    """``value`` stripped; ValueError when it is empty or holds a control character (a newline)."""
    text = "" if value is None else str(value).strip()
    if not text:
        raise ValueError("%s must not be empty" % name)
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise ValueError("%s must be a single line without control characters (got %r)" % (name, text))
    return text


def ttl_ms(minutes: int) -> str:
    """CLAUDE_CODE_API_KEY_HELPER_TTL_MS for a TTL in minutes (validated: 1..60)."""
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not MIN_TTL_MINUTES <= minutes <= MAX_TTL_MINUTES:
        raise ValueError("ttl_minutes must be a whole number from %d to %d (got %r)"
                         % (MIN_TTL_MINUTES, MAX_TTL_MINUTES, minutes))
    return str(minutes * MS_PER_MINUTE)


def ttl_minutes_from_ms(value: t.Any) -> t.Optional[int]:
    """The TTL in minutes an earlier install wrote, or None when it is not a whole minute count in 1..60."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int) or value % MS_PER_MINUTE:
        return None
    minutes = value // MS_PER_MINUTE
    return minutes if MIN_TTL_MINUTES <= minutes <= MAX_TTL_MINUTES else None


def desired_env(host: str, gateway: str, model: str, opus: str, sonnet: str, haiku: str,
                ttl_minutes: int) -> t.Dict[str, str]:
    """The env values FMAPI owns, in OWNED_ENV_KEYS order (every value a string)."""
    return dict((
        (ENV_BASE_URL, base_url(host, gateway)),
        (ENV_MODEL, model),
        (ENV_OPUS, opus),
        (ENV_SONNET, sonnet),
        (ENV_HAIKU, haiku),
        (ENV_CUSTOM_HEADERS, CUSTOM_HEADERS_VALUE),
        (ENV_DISABLE_BETAS, "1"),
        (ENV_HELPER_TTL, ttl_ms(ttl_minutes)),
    ))


def helper_path_from_command(command: t.Any) -> t.Optional[str]:
    """The script an apiKeyHelper command runs (``/path/helper``, ``sh ~/helper.sh``, ``python3 helper``), or None."""
    if not isinstance(command, str) or not command.strip():
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words = words[1:]
    if not words:
        return None
    chosen = words[0]
    if _INTERPRETERS.match(os.path.basename(chosen)):
        rest = [word for word in words[1:] if not word.startswith("-")]
        if not rest:
            return None
        chosen = rest[0]
    return os.path.expanduser(os.path.expandvars(chosen))


def is_secret_env_key(name: str) -> bool:
    """Whether an env key of a settings file probably holds a credential."""
    return name not in OWNED_ENV_KEYS and name != API_KEY_HELPER and bool(_SECRET_KEY_PATTERN.search(name))


def secret_values(data: t.Any) -> t.List[str]:
    """Credential-looking env values of settings data, to keep out of results, diffs and messages."""
    values = []
    env = data.get(ENV) if isinstance(data, dict) else None
    if isinstance(env, dict):
        for key, value in env.items():
            if isinstance(value, str) and len(value) >= _MIN_MASKED_LENGTH and is_secret_env_key(key):
                values.append(value)
    return values


def secret_values_in_text(text: str) -> t.List[str]:
    """Credential-looking values in any text, even invalid JSON.

    The string values of ``"NAME": "value"`` pairs whose name looks like a credential, and anything shaped
    like a Databricks token or a JWT.
    """
    values = []
    for match in re.finditer(r'"([^"\\]{1,200})"\s*:\s*"((?:[^"\\\n]|\\.){%d,})"' % _MIN_MASKED_LENGTH, text):
        if is_secret_env_key(match.group(1)):
            values.append(match.group(2))
            try:
                decoded = json.loads('"%s"' % match.group(2))
            except ValueError:
                continue
            if decoded != match.group(2):
                values.append(decoded)
    # A hand-made apiKeyHelper such as ``echo dapi...`` carries a token in a key that does not look secret.
    values.extend(ws.token_shaped_values(text))
    return values


def state_file_path(settings_path: str) -> str:
    """The sidecar that records what FMAPI added to ``settings_path`` beyond its own keys."""
    directory, name = os.path.split(settings_path)
    return os.path.join(directory, "." + name + ".fmapi-state.json")


def parse_state(raw: t.Optional[bytes]) -> t.Optional[t.Dict[str, t.Any]]:
    """The sidecar's record, or None when missing or unreadable."""
    if not raw:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def render_state(record: t.Dict[str, t.Any]) -> bytes:
    """The sidecar's bytes for ``record``."""
    data = {"version": STATE_FORMAT_VERSION}
    data.update(record)
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")
