# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Codex CLI's ``config.toml``: what FMAPI owns in it, and how it is read and edited. Private to the collection.

Shared by the modules codex_config (writes) and codex_info (reads). The one place for Codex's file
names, the provider id and the keys FMAPI owns:

* at the top level, ``model`` and ``model_provider = "databricks"``;
* the table ``[model_providers.databricks]``: ``name``, ``base_url``, ``wire_api`` and (when given)
  ``http_headers``, and its sub-table ``auth``: ``command``, ``args``, ``timeout_ms``,
  ``refresh_interval_ms`` (Codex runs the token helper and sends what it prints as the bearer token);
* keys of that table Codex refuses beside ``auth`` (``env_key``, ``experimental_bearer_token``,
  ``requires_openai_auth``) are removed.

Edits keep the user's file as it is everywhere else, byte for byte: values are replaced in place
(tomlkit keeps the key's spacing and trailing comment), new top-level keys go right after the
user's own top-level keys (TOML: a key after a table header belongs to that table), the provider
table goes after the user's other ``[model_providers.*]`` tables, else at the end. What a removal has
to give back (the user's own ``model``/``model_provider`` values, the blank lines added to
separate ours) is recorded in a sidecar file beside config.toml (no secret in it). Every edit is
checked by parsing the result again: its data must be exactly the data intended, or nothing is
written.

How: tomlkit parses and replaces values, but only ever on the text of one table at a time (from its
header to the next one), because it moves the parts of a table that is split across the file when it
renders the whole document; lines are added and tables cut out as text, at offsets found by
:func:`table_headers`.
"""

from __future__ import annotations

import copy
import os
import re
import traceback
import typing as t

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _claude_settings as cs
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws
from ansible_collections.fmapi.coding_agents.plugins.module_utils._token_helper import DEFAULT_LOGIN_TIMEOUT

TOMLKIT_IMPORT_ERROR = None  # type: t.Optional[str]
try:
    import tomlkit
    from tomlkit.exceptions import TOMLKitError
except ImportError:
    HAS_TOMLKIT = False
    TOMLKIT_IMPORT_ERROR = traceback.format_exc()
    tomlkit = None  # pylint: disable=invalid-name
    TOMLKitError = ValueError  # pylint: disable=invalid-name
else:
    HAS_TOMLKIT = True
try:
    # Python 3.11+: a second, strict reader of every edit (Codex's own parser is strict too).
    import tomllib
except ImportError:
    tomllib = None  # pylint: disable=invalid-name

TOMLKIT_REQUIREMENT = "tomlkit"

# ------------------------------------------------------------------------------------ Codex's files

CODEX_NAME = "codex"
CODEX_HOME_VARIABLE = "CODEX_HOME"
DEFAULT_CODEX_HOME = "~/.codex"
CONFIG_FILE_NAME = "config.toml"
# Where npm (a user prefix), Homebrew and the usual installs put `codex`, looked at after PATH.
CODEX_SEARCH_DIRS = ("~/.local/bin", "~/.npm-global/bin", "/opt/homebrew/bin", "/usr/local/bin", "~/bin")
CONFIG_MODE = 0o600
DIRECTORY_MODE = 0o700

# -------------------------------------------------------------------------------------- what we own

PROVIDER_ID = "databricks"
PROVIDER_NAME = "Databricks"
WIRE_API = "responses"
MODEL = "model"
MODEL_PROVIDER = "model_provider"
MODEL_PROVIDERS = "model_providers"
AUTH = "auth"
NAME = "name"
BASE_URL = "base_url"
WIRE_API_KEY = "wire_api"
HTTP_HEADERS = "http_headers"
COMMAND = "command"
ARGS = "args"
TIMEOUT_MS = "timeout_ms"
REFRESH_INTERVAL_MS = "refresh_interval_ms"
TOP_LEVEL_KEYS = (MODEL, MODEL_PROVIDER)
PROVIDER_PATH = (MODEL_PROVIDERS, PROVIDER_ID)
AUTH_PATH = PROVIDER_PATH + (AUTH,)
PROVIDER_TABLE = ".".join(PROVIDER_PATH)
AUTH_TABLE = ".".join(AUTH_PATH)
# Codex refuses these beside `auth` ("provider auth cannot be combined with env_key").
CONFLICTING_KEYS = ("env_key", "experimental_bearer_token", "requires_openai_auth")
# A token in plain text: removed, never recorded, never restored.
SECRET_CONFLICTING_KEYS = ("experimental_bearer_token",)
# Codex 0.134+ refuses a top-level `profile = "x"`; `[profiles.x]` tables make `codex --profile x` fail.
LEGACY_PROFILE = "profile"
PROFILES = "profiles"
# Headers the token helper's token must not be overridden by.
FORBIDDEN_HEADERS = ("authorization", "proxy-authorization", "cookie")

# The token helper may open a browser login and wait for it (token_helper's login_timeout, 120 s by
# default): Codex must wait that long plus the CLI's own refresh, or it kills the login it started.
DEFAULT_AUTH_TIMEOUT_MS = (DEFAULT_LOGIN_TIMEOUT + 30) * 1000
MIN_AUTH_TIMEOUT_MS = 1000
MAX_AUTH_TIMEOUT_MS = 3600 * 1000
# Codex's own default, and below the shortest token life the helper guarantees (it prints only tokens that
# live at least its ttl_minutes, 1 to 60, plus five minutes): a refresh every 5 minutes never sends a token
# about to expire, whatever TTL the helper has, and the helper answers from the CLI's cache in well under a
# second. 0 turns proactive refresh off (Codex then runs the helper only after an HTTP 401).
DEFAULT_REFRESH_INTERVAL_MS = 300000
MAX_REFRESH_INTERVAL_MS = 3600 * 1000

STATE_KEY = "codex_config"
_HEADER_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9-]*\Z")
_BASE_URL_PATH = re.compile(r"\A(?:/[A-Za-z0-9._~%-]+)*/?\Z")
_HEADER_LINE = re.compile(r"^[ \t]*\[", re.MULTILINE)
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|CREDENTIAL|AUTHORIZATION", re.IGNORECASE)
_MIN_MASKED_LENGTH = 6
_MISSING = object()


class ConfigError(Exception):
    """config.toml cannot be used as it is, or an edit cannot be made safely; ``message`` says what to do.

    ``kind`` is ``unreadable`` (not UTF-8, not TOML), ``bad_shape`` (a key we manage has the wrong TOML
    type), ``layout`` (the file's layout does not allow the edit), ``invalid_value`` or ``missing_library``.
    """

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


# ----------------------------------------------------------------------------------------- locations

def codex_home(environ: t.Mapping[str, str]) -> str:
    """Codex's home folder: ``CODEX_HOME``, else ``~/.codex`` (``HOME`` of ``environ``)."""
    return os.path.abspath(ws.expand_home(environ.get(CODEX_HOME_VARIABLE) or DEFAULT_CODEX_HOME, environ))


def config_file_path(environ: t.Mapping[str, str]) -> str:
    """The user's Codex configuration, ``<Codex home>/config.toml``."""
    return os.path.join(codex_home(environ), CONFIG_FILE_NAME)


def profile_file_path(config_path: str, name: str) -> str:
    """Where Codex 0.134+ reads the profile ``name`` (``codex --profile name``): beside config.toml."""
    return os.path.join(os.path.dirname(config_path), "%s.config.toml" % name)


# -------------------------------------------------------------------------------------------- values

def validate_base_url(value: t.Any) -> str:
    """An explicit provider base URL: ``https://host[:port]/path`` without query, fragment or credentials."""
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not text:
        raise ConfigError("invalid_value", "base_url is empty: give the provider's URL, like %s."
                          % ws.agent_base_url(ws.EXAMPLE_HOST, ws.AGENT_CODEX, ws.ENDPOINT_STYLE_AI_GATEWAY))
    try:
        origin = ws.normalize_host(text)
    except ws.ValidationError as exc:
        raise ConfigError("invalid_value", str(exc).replace("host", "base_url", 1)) from exc
    rest = text.split("://", 1)[1]
    path = rest[len(re.split(r"[/?#]", rest, maxsplit=1)[0]):]
    if "?" in path or "#" in path or not _BASE_URL_PATH.match(path):
        raise ConfigError("invalid_value", "base_url %r must be https://<host>/<path> without a query or fragment "
                          "(Codex appends /responses and /models to it), like %s."
                          % (value, ws.agent_base_url(origin, ws.AGENT_CODEX, ws.ENDPOINT_STYLE_AI_GATEWAY)))
    return origin + path.rstrip("/")


def base_url_for(host: str, style: str) -> str:
    """The provider base URL for a workspace URL (validated here) and an endpoint style."""
    try:
        return ws.agent_base_url(ws.normalize_host(host), ws.AGENT_CODEX, ws.validate_endpoint_style(style, False))
    except ws.ValidationError as exc:
        raise ConfigError("invalid_value", str(exc)) from exc


def split_base_url(url: t.Any) -> t.Tuple[t.Optional[str], t.Optional[str]]:
    """``(host, endpoint style)`` of a provider base URL, or ``(None, None)`` when it is not a Databricks route."""
    return ws.split_agent_base_url(ws.AGENT_CODEX, url)


def validate_command(value: t.Any) -> str:
    """The token helper's path for ``auth.command``: absolute, one line, no token in it."""
    try:
        text = cs.validate_single_line("auth_command", value)
    except ValueError as exc:
        raise ConfigError("invalid_value", str(exc)) from exc
    if ws.token_shaped_values(text):
        raise ConfigError("invalid_value", "auth_command seems to contain a Databricks token or a JWT. Give the path "
                          "of the token helper, which prints a fresh token, never a token itself.")
    if not os.path.isabs(text):
        raise ConfigError("invalid_value", "auth_command must be an absolute path (Codex resolves a relative one "
                          "against the folder it was started in), got %r." % text)
    return text


def validate_milliseconds(name: str, value: t.Any, minimum: int, maximum: int) -> int:
    """A whole number of milliseconds from ``minimum`` to ``maximum`` for the option ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ConfigError("invalid_value", "%s must be a whole number of milliseconds from %d to %d, got %r."
                          % (name, minimum, maximum, value))
    return value


def validate_http_headers(headers: t.Any) -> t.Dict[str, str]:
    """Static headers Codex adds to every request: names are HTTP tokens, values single lines, nothing secret."""
    if headers is None:
        return {}
    if not isinstance(headers, dict):
        raise ConfigError("invalid_value", "http_headers must be a mapping of header names to values.")
    checked = {}  # type: t.Dict[str, str]
    for name, value in headers.items():
        name = str(name).strip()
        if not _HEADER_NAME.match(name):
            raise ConfigError("invalid_value", "http_headers: %r is not a header name (letters, digits and '-')." % name)
        if name.lower() in FORBIDDEN_HEADERS:
            raise ConfigError("invalid_value", "http_headers must not set %s: the token comes from auth_command (the "
                              "token helper), and a static credential would sit in plain text in config.toml." % name)
        try:
            text = cs.validate_single_line("http_headers.%s" % name, value if isinstance(value, str) else str(value))
        except ValueError as exc:
            raise ConfigError("invalid_value", str(exc)) from exc
        if ws.token_shaped_values(text):
            raise ConfigError("invalid_value", "http_headers.%s seems to contain a Databricks token; config.toml is "
                              "no place for credentials." % name)
        checked[name] = text
    return checked


class Desired(t.NamedTuple):
    """What config.toml holds for FMAPI after ``state=present``."""

    model: str
    base_url: str
    command: str
    timeout_ms: int = DEFAULT_AUTH_TIMEOUT_MS
    refresh_interval_ms: int = DEFAULT_REFRESH_INTERVAL_MS
    http_headers: t.Optional[t.Dict[str, str]] = None

    def top_level(self) -> t.Dict[str, t.Any]:
        return {MODEL: self.model, MODEL_PROVIDER: PROVIDER_ID}

    def provider(self) -> t.Dict[str, t.Any]:
        values = {NAME: PROVIDER_NAME, BASE_URL: self.base_url, WIRE_API_KEY: WIRE_API}  # type: t.Dict[str, t.Any]
        if self.http_headers:
            values[HTTP_HEADERS] = dict(self.http_headers)
        return values

    def auth(self) -> t.Dict[str, t.Any]:
        return {COMMAND: self.command, ARGS: [], TIMEOUT_MS: self.timeout_ms,
                REFRESH_INTERVAL_MS: self.refresh_interval_ms}

    def as_data(self) -> t.Dict[str, t.Any]:
        """The FMAPI part of config.toml as data (for results: no secret in it)."""
        data = self.top_level()
        provider = self.provider()
        provider[AUTH] = self.auth()
        data[MODEL_PROVIDERS] = {PROVIDER_ID: provider}
        return data


# ------------------------------------------------------------------------------------------ reading

class Parsed(t.NamedTuple):
    """config.toml as read: its text, the tomlkit document (None without tomlkit) and its plain data."""

    text: str
    document: t.Any
    data: t.Dict[str, t.Any]


def _position_of(exc: Exception) -> str:
    line, column = getattr(exc, "line", None), getattr(exc, "col", None)
    if line:
        return " at line %s, column %s" % (line, column)
    return ""


def _toml_message(exc: Exception) -> str:
    message = str(exc)
    # tomlkit: "Unexpected character: 'x' at line 2 col 5"; tomllib: "... (at line 2, column 5)".
    message = re.sub(r"\s+at line \d+ col \d+$", "", message)
    return message.rstrip(".")


def decode(raw: t.Optional[bytes], path: str) -> str:
    """The text of config.toml (``""`` when missing); ConfigError when it is not UTF-8."""
    if raw is None:
        return ""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError("unreadable", "%s is not UTF-8 text (byte 0x%02x at line %d, column %d)"
                          % (path, raw[exc.start], line, column)) from exc


def parse_config(raw: t.Optional[bytes], path: str) -> Parsed:
    """Parse config.toml (``None``: missing, as empty). ConfigError ``unreadable`` names the line and column."""
    text = decode(raw, path)
    if HAS_TOMLKIT:
        try:
            document = tomlkit.parse(text)
            data = document.unwrap()
        except (TOMLKitError, ValueError) as exc:
            # A ParseError has the line and column.
            raise ConfigError("unreadable", "%s is not valid TOML: %s%s" % (path, _toml_message(exc), _position_of(exc))) \
                from exc
    else:
        document = None
    if tomllib is not None:
        try:
            strict = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("unreadable", "%s is not valid TOML: %s" % (path, exc)) from exc
        if not HAS_TOMLKIT:
            data = strict
    elif not HAS_TOMLKIT:
        raise ConfigError("missing_library", "Reading %s needs the Python library tomlkit (or Python 3.11+)." % path)
    return Parsed(text, document, data)


def _table(data: t.Any, *path: str) -> t.Optional[t.Dict[str, t.Any]]:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else None


def toml_type_name(value: t.Any) -> str:
    """The TOML name of a value's type, for messages."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return "date/time"


def shape_problems(data: t.Dict[str, t.Any]) -> t.List[t.Tuple[t.Tuple[str, ...], str]]:
    """``(path, message)`` of each key FMAPI manages whose TOML type makes an edit impossible."""
    problems = []
    node = data  # type: t.Any
    for depth in range(1, len(AUTH_PATH) + 1):
        path = AUTH_PATH[:depth]
        value = node.get(path[-1]) if isinstance(node, dict) else None
        if path[-1] in node and not isinstance(value, dict):
            problems.append((path, "%s is a TOML %s, but Codex expects a table there" % (
                ".".join(path), toml_type_name(value))))
            break
        node = value or {}
    return problems


def looks_written_by_us(provider: t.Dict[str, t.Any]) -> bool:
    """Whether a ``[model_providers.databricks]`` table is as this module writes it (its name, the Responses API,
    command-backed auth) rather than one of an older setup (``env_key``, another name)."""
    auth = provider.get(AUTH)
    return provider.get(NAME) == PROVIDER_NAME and provider.get(WIRE_API_KEY) == WIRE_API and \
        isinstance(auth, dict) and isinstance(auth.get(COMMAND), str)


def describe(data: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    """What a parsed config.toml configures for FMAPI, for reports (no secret in it)."""
    provider = _table(data, *PROVIDER_PATH) or {}
    auth = provider.get(AUTH) if isinstance(provider.get(AUTH), dict) else {}
    base_url = provider.get(BASE_URL) if isinstance(provider.get(BASE_URL), str) else None
    host, style = split_base_url(base_url)
    profiles = _table(data, PROFILES) or {}
    legacy = data.get(LEGACY_PROFILE)
    headers = provider.get(HTTP_HEADERS)
    return dict(
        model=data.get(MODEL) if isinstance(data.get(MODEL), str) else None,
        model_provider=data.get(MODEL_PROVIDER) if isinstance(data.get(MODEL_PROVIDER), str) else None,
        provider_present=bool(provider),
        provider_selected=data.get(MODEL_PROVIDER) == PROVIDER_ID,
        base_url=base_url,
        host=host,
        endpoint_style=style,
        wire_api=provider.get(WIRE_API_KEY) if isinstance(provider.get(WIRE_API_KEY), str) else None,
        header_names=sorted(headers) if isinstance(headers, dict) else [],
        auth_command=auth.get(COMMAND) if isinstance(auth.get(COMMAND), str) else None,
        auth_args=auth.get(ARGS) if isinstance(auth.get(ARGS), list) else None,
        auth_timeout_ms=auth.get(TIMEOUT_MS) if isinstance(auth.get(TIMEOUT_MS), int) else None,
        refresh_interval_ms=auth.get(REFRESH_INTERVAL_MS) if isinstance(auth.get(REFRESH_INTERVAL_MS), int) else None,
        conflicting_keys=[key for key in CONFLICTING_KEYS if key in provider],
        legacy_profile=legacy if isinstance(legacy, str) else (None if legacy is None else str(legacy)),
        profiles=sorted(str(name) for name in profiles),
        profiles_using_provider=sorted(str(name) for name, body in profiles.items()
                                       if isinstance(body, dict) and body.get(MODEL_PROVIDER) == PROVIDER_ID),
    )


def legacy_profile_notes(config_path: str, data: t.Dict[str, t.Any]) -> t.List[str]:
    """What a person should know about the legacy profile settings of a config.toml, each with its fix."""
    notes = []
    info = describe(data)
    if info["legacy_profile"] is not None:
        name = info["legacy_profile"]
        notes.append(
            "%s has a top-level profile = %r: Codex 0.134 and later refuse to start with it (legacy profile config). "
            "Delete that line; to keep that profile, move the settings of [profiles.%s] into %s and start Codex with "
            "`codex --profile %s`." % (config_path, name, name, profile_file_path(config_path, name), name))
    for name in info["profiles"]:
        notes.append(
            "%s has a [profiles.%s] table: Codex 0.134 and later ignore it, and `codex --profile %s` fails while it "
            "is there. Move its settings into %s and delete the table." % (
                config_path, name, name, profile_file_path(config_path, name)))
    return notes


def secret_values(data: t.Any, text: str = "") -> t.List[str]:
    """Credential-looking values of config.toml (keys named like a token/secret, bearer values, Databricks
    tokens), to keep out of results, diffs and messages."""
    found = []  # type: t.List[str]

    def walk(node: t.Any, name: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, str(key))
        elif isinstance(node, list):
            for value in node:
                walk(value, name)
        elif isinstance(node, str) and len(node) >= _MIN_MASKED_LENGTH:
            if _SECRET_NAME.search(name) or node.lower().startswith("bearer "):
                found.append(node)

    walk(data, "")
    found.extend(ws.token_shaped_values(text))
    return found


# ------------------------------------------------------------------------------------ text structure

class Header(t.NamedTuple):
    """A table header line of config.toml: its offset, its key path, and whether it is ``[[...]]``."""

    offset: int
    path: t.Tuple[str, ...]
    array: bool


def _parses(text: str) -> bool:
    try:
        tomlkit.parse(text)
    except (TOMLKitError, ValueError):
        return False
    return True


def _header_path(line: str) -> t.Tuple[t.Tuple[str, ...], bool]:
    node = tomlkit.parse(line).unwrap()  # type: t.Any
    path = []
    while isinstance(node, dict) and len(node) == 1:
        key = next(iter(node))
        path.append(key)
        node = node[key]
        if isinstance(node, list):
            return tuple(path), True
    return tuple(path), False


def table_headers(text: str) -> t.List[Header]:
    """Every table header of a valid TOML text, in order.

    A line that starts with ``[`` is a header unless it lies inside a multi-line array or string. The
    text from the previous header (or the start) up to a real header parses on its own; up to a line
    inside an array or string it does not. So each candidate costs one parse of one table's text.
    """
    headers = []  # type: t.List[Header]
    start = 0
    for match in _HEADER_LINE.finditer(text):
        offset = match.start()
        if not _parses(text[start:offset]):
            continue
        end = text.find("\n", offset)
        path, array = _header_path(text[offset:] if end < 0 else text[offset:end + 1])
        headers.append(Header(offset, path, array))
        start = offset
    return headers


def _is_comment_or_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _spans_under(text: str, headers: t.List[Header], prefix: t.Tuple[str, ...]) -> t.List[t.Tuple[int, int]]:
    """Text spans (start, end) of the tables at or below ``prefix``: from each header to the next one, less the
    comment lines right above the next header (they describe that table)."""
    spans = []
    for index, header in enumerate(headers):
        if header.path[:len(prefix)] != prefix:
            continue
        end = headers[index + 1].offset if index + 1 < len(headers) else len(text)
        lines = text[header.offset:end].splitlines(True)
        while len(lines) > 1 and lines[-1].strip().startswith("#"):
            end -= len(lines.pop())
        spans.append((header.offset, end))
    return spans


def _newline(text: str) -> str:
    """The line ending of a text: CRLF when it uses it, else LF."""
    return "\r\n" if "\r\n" in text else "\n"


def _after_last_key(text: str, start: int, end: int) -> t.Optional[t.Tuple[int, str]]:
    """``(offset, prefix)`` just after the last key line in ``text[start:end]``, or None when it has none.

    Blank and comment lines after it usually describe what follows; a line inside a multi-line value cannot end
    the region. ``prefix`` ends a last line that has no line break.
    """
    lines = text[start:end].splitlines(True)
    offset = end
    for line in reversed(lines):
        if not _is_comment_or_blank(line):
            return offset, ("" if line.endswith("\n") else _newline(text))
        offset -= len(line)
    return None


def _top_level_insertion(text: str, headers: t.List[Header]) -> t.Tuple[int, str, str]:
    """``(offset, prefix, suffix)`` for new top-level key lines: after the user's last top-level key line; with no
    top-level key, at the start of the file, with a blank line after ours when something follows."""
    found = _after_last_key(text, 0, headers[0].offset if headers else len(text))
    if found:
        return found[0], found[1], ""
    return 0, "", (_newline(text) if text else "")


def _render_value(value: t.Any) -> str:
    if isinstance(value, dict):
        table = tomlkit.inline_table()
        table.update(value)
        return table.as_string()
    return tomlkit.item(value).as_string()


def _render_lines(values: t.Dict[str, t.Any], newline: str) -> str:
    return "".join("%s = %s%s" % (tomlkit.key(key).as_string(), _render_value(value), newline)
                   for key, value in values.items())


def _render_tables(tables: t.List[t.Tuple[t.Tuple[str, ...], t.Dict[str, t.Any]]], newline: str) -> str:
    blocks = ["[%s]%s%s" % (".".join(tomlkit.key(part).as_string() for part in path), newline,
                            _render_lines(values, newline))
              for path, values in tables]
    return newline.join(blocks)


def _table_insertion(text: str, headers: t.List[Header], anchor: t.Tuple[str, ...]) -> t.Tuple[int, str, str]:
    """``(offset, prefix, suffix)`` for new tables: after the last table at or below ``anchor`` (a blank line
    after them), else at the end (a blank line before them)."""
    newline = _newline(text)
    spans = _spans_under(text, headers, anchor)
    if spans and spans[-1][1] < len(text):
        return spans[-1][1], "", newline
    if not text or text.endswith(newline * 2):
        return len(text), "", ""
    return len(text), (newline if text.endswith(newline) else newline * 2), ""


def _splice(text: str, offset: int, insert: str) -> str:
    return text[:offset] + insert + text[offset:]


def _cut(text: str, spans: t.List[t.Tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + text[end:]
    return text


# ---------------------------------------------------------------------------------------- editing

class Edit:  # pylint: disable=too-few-public-methods
    """The outcome of an edit: the new text (None: delete the file), the sidecar record and what changed."""

    def __init__(self, text: t.Optional[str], record: t.Optional[t.Dict[str, t.Any]]):
        self.text = text
        self.record = record
        self.set_keys = []  # type: t.List[str]
        self.removed_keys = []  # type: t.List[str]
        self.restored_keys = []  # type: t.List[str]
        self.notes = []  # type: t.List[str]


def _plain(item: t.Any) -> t.Any:
    return item.unwrap() if hasattr(item, "unwrap") else item


def _item(container: t.Any, key: str) -> t.Any:
    """The tomlkit item of ``key`` (indexing gives a plain bool for a boolean)."""
    return container.item(key) if hasattr(container, "item") else container[key]


def _value_item(toml_text: str) -> t.Any:
    return tomlkit.parse("value = " + toml_text)["value"]


def _toml_value(value: t.Any) -> t.Any:
    """A tomlkit item for a value of ours (an inline table for a mapping)."""
    return _value_item(_render_value(value)) if isinstance(value, dict) else value


def _region(text: str, path: t.Tuple[str, ...]) -> t.Optional[t.Tuple[int, int]]:
    """``(start, end)`` of the text that holds the keys of the table at ``path``: from its header to the next
    header (the top level: up to the first header). None when the table has no header of its own."""
    headers = table_headers(text)
    if not path:
        return 0, headers[0].offset if headers else len(text)
    for index, header in enumerate(headers):
        if header.path == path and not header.array:
            return header.offset, headers[index + 1].offset if index + 1 < len(headers) else len(text)
    return None


def _descend(container: t.Any, path: t.Sequence[str]) -> t.Any:
    for part in path:
        container = container[part]
    return container


def delete_key(text: str, path: t.Tuple[str, ...]) -> str:
    """``text`` without the key at ``path`` (a value of the wrong type that repair replaces)."""
    document = tomlkit.parse(text)
    del _descend(document, path[:-1])[path[-1]]
    return document.as_string()


def _edit_table(text: str, path: t.Tuple[str, ...], change: t.Callable[[t.Any], None]) -> str:
    """``text`` after ``change(container)`` edited the table at ``path`` (``()``: the top level) in place.

    The table's own text is parsed and rendered alone, so nothing else of the file is touched (tomlkit would
    move the parts of a table that is split across the file). A table without a header of its own (dotted keys)
    is edited in the whole document.
    """
    region = _region(text, path)
    if region is None:
        document = tomlkit.parse(text)
        start, end = 0, len(text)
    else:
        start, end = region
        document = tomlkit.parse(text[start:end])
    container = _descend(document, path)
    before = copy.deepcopy(_plain(container))
    change(container)
    if _plain(container) == before:
        # Nothing changed: not even rendered again.
        return text
    return text[:start] + document.as_string() + text[end:]


def _remember(container: t.Any, key: str, previous: t.Optional[t.Dict[str, t.Any]], secret: bool = False
              ) -> t.Dict[str, t.Any]:
    """The sidecar entry of an owned key before it is set or removed: the user's own value (its TOML source),
    unless what is there is what FMAPI wrote last time (then what that replaced is kept)."""
    if key not in container:
        return {}
    current = _plain(container[key])
    if previous is not None and previous.get("after", _MISSING) == current:
        return dict((name, value) for name, value in previous.items() if name in ("before", "before_value"))
    if secret:
        return {}
    item = _item(container, key)
    if isinstance(item, (tomlkit.items.Table, tomlkit.items.AoT)) or not hasattr(item, "as_string"):
        # A [table] cannot stand after `key = ` again: its data is kept, its layout is not.
        return {"before_value": current}
    return {"before": item.as_string().strip()}


def _set_owned(container: t.Any, expected: t.Dict[str, t.Any], values: t.Dict[str, t.Any], prefix: str,
               entries_in: t.Dict[str, t.Any], entries_out: t.Optional[t.Dict[str, t.Any]], edit: Edit,
               adopt: bool = False) -> t.Dict[str, t.Any]:
    """Set the owned keys that ``container`` has in place; return the missing ones (for the caller to add).

    With ``adopt``, a value that already is ours and that no record claims (the sidecar was lost) counts as ours,
    not as the user's: a later removal deletes it rather than "putting it back".
    """
    missing = {}
    for key, value in values.items():
        name = prefix + key
        if entries_out is not None:
            previous = entries_in.get(name)
            if adopt and previous is None and key in container and _plain(container[key]) == value:
                entry = {}  # type: t.Dict[str, t.Any]
            else:
                entry = _remember(container, key, previous)
            entry["after"] = value
            entries_out[name] = entry
        if key not in container:
            missing[key] = value
            edit.set_keys.append(name)
        elif _plain(container[key]) != value:
            container[key] = _toml_value(value)
            edit.set_keys.append(name)
        expected[key] = value
    return missing


def _restore(container: t.Any, key: str, entry: t.Dict[str, t.Any], expected: t.Dict[str, t.Any]) -> None:
    item = _value_item(entry["before"]) if "before" in entry else _toml_value(entry["before_value"])
    container[key] = item
    expected[key] = _plain(container[key])


def _verify(text: str, expected: t.Dict[str, t.Any], path: str, what: str) -> None:
    """Parse the edited text again, with tomlkit and (Python 3.11+) the standard library's strict reader: the
    data must be exactly ``expected``, or nothing is written."""
    try:
        data = tomlkit.parse(text).unwrap()
        strict = tomllib.loads(text) if tomllib is not None else data
    except (TOMLKitError, ValueError) as exc:
        data = strict = exc
    if data != expected or strict != expected:
        raise ConfigError("layout", "%s cannot be edited safely: %s would not give the intended TOML data (its layout, "
                          "for example [%s] written as an inline table or with dotted keys, does not allow it). Nothing "
                          "was changed. Write [%s] and [%s] as tables (or remove them), then run again."
                          % (path, what, PROVIDER_TABLE, PROVIDER_TABLE, AUTH_TABLE))


def _drop_conflicting(table: t.Any, expected: t.Dict[str, t.Any], entries_in: t.Dict[str, t.Any],
                      entries_out: t.Optional[t.Dict[str, t.Any]], edit: Edit, path: str) -> None:
    """Remove the keys Codex refuses beside ``auth``, remembering the user's values and where they stood."""
    original_keys = list(table.keys())
    for key in CONFLICTING_KEYS:
        name = PROVIDER_TABLE + "." + key
        if key not in table:
            if entries_out is not None and (entries_in.get(name) or {}).get("removed"):
                # Removed by an earlier run: what to give back stays recorded.
                entries_out[name] = entries_in[name]
            continue
        secret = key in SECRET_CONFLICTING_KEYS
        if entries_out is not None:
            entry = _remember(table, key, entries_in.get(name), secret)
            index = original_keys.index(key)
            # Where it stood, to put it back there: after the key before it (None: first in the table).
            entry.update(removed=True, position=index, after_key=original_keys[index - 1] if index else None)
            entries_out[name] = entry
        del table[key]
        expected.pop(key, None)
        edit.removed_keys.append(name)
        if secret:
            edit.notes.append(
                "%s: removed %s, a token in plain text (Codex refuses it beside auth). It is kept nowhere and "
                "state=absent does not put it back; revoke it in the workspace if it was a personal access token."
                % (path, name))


def _unwanted_headers(table: t.Any, expected: t.Dict[str, t.Any], entries_in: t.Dict[str, t.Any],
                      edit: Edit) -> None:
    """Headers this module set before and is no longer given: removed, or the user's own put back."""
    name = PROVIDER_TABLE + "." + HTTP_HEADERS
    previous = entries_in.get(name)
    if HTTP_HEADERS not in table or previous is None or previous.get("after") != _plain(table[HTTP_HEADERS]):
        return
    if "before" in previous or "before_value" in previous:
        _restore(table, HTTP_HEADERS, previous, expected)
        edit.restored_keys.append(name)
    else:
        del table[HTTP_HEADERS]
        expected.pop(HTTP_HEADERS, None)
        edit.removed_keys.append(name)


def _add_keys(text: str, path: t.Tuple[str, ...], values: t.Dict[str, t.Any], record: t.Dict[str, t.Any]) -> str:
    """Add key lines to the existing table at ``path``, after its last key line (tomlkit would move blank lines)."""
    newline = _newline(text)
    region = _region(text, path)
    if region is not None:
        start, end = region
        line_end = text.find("\n", start)
        body = end if line_end < 0 else min(line_end + 1, end)
        found = _after_last_key(text, body, end)
        offset, prefix = found or (body, "" if text[body - 1:body] == "\n" else newline)
        return _splice(text, offset, prefix + _render_lines(values, newline))
    children = [header for header in table_headers(text) if header.path[:len(path)] == path]
    current = _table(tomlkit.parse(text).unwrap(), *path) or {}
    if children and all(isinstance(value, dict) for value in current.values()):
        # Only its sub-tables have headers ([model_providers.databricks.auth]): ours goes right before them.
        record["provider_header_created"] = True
        return _splice(text, children[0].offset, _render_tables([(path, values)], newline) + newline)

    def add(container: t.Any) -> None:
        for key, value in values.items():
            container[key] = _toml_value(value)

    return _edit_table(text, path, add)


def edit_present(parsed: Parsed, desired: Desired, record: t.Optional[t.Dict[str, t.Any]], file_existed: bool,
                 path: str = "config.toml") -> Edit:
    """config.toml with FMAPI's provider configured and selected, and the sidecar record of what was replaced.

    Raises ConfigError ``bad_shape`` (see :func:`shape_problems`) or ``layout``.
    """
    problems = shape_problems(parsed.data)
    if problems:
        raise ConfigError("bad_shape", "%s: %s." % (path, problems[0][1]))
    record_in = record or {}
    entries_in = record_in.get("keys") or {}
    text = parsed.text
    newline = _newline(text)
    expected = copy.deepcopy(parsed.data)
    new_record = {
        "file_existed": bool(record_in.get("file_existed", file_existed)),
        # A last line without a line break gets one when something is added after it: absent takes it away again.
        "no_final_newline": bool(record_in.get("no_final_newline", text and not text.endswith("\n"))),
        "keys": {},
    }  # type: t.Dict[str, t.Any]
    for name in ("provider_header_created", "top_level_separators", "table_separator"):
        if name in record_in:
            new_record[name] = record_in[name]
    edit = Edit(None, new_record)
    missing = {}  # type: t.Dict[t.Tuple[str, ...], t.Dict[str, t.Any]]

    provider_data = _table(parsed.data, *PROVIDER_PATH)
    # A table FMAPI created is removed as a whole later: its keys are not remembered one by one. Without a record
    # (the sidecar was lost) a table as this module writes it is taken for its own, and so are top-level values that
    # already are ours.
    adopt = record is None and (provider_data is None or looks_written_by_us(provider_data))
    provider_created = provider_data is None or bool(record_in.get("provider_created")) or \
        (adopt and provider_data is not None)

    def top_level(container: t.Any) -> None:
        missing[()] = _set_owned(container, expected, desired.top_level(), "", entries_in, new_record["keys"], edit,
                                 adopt=adopt)

    text = _edit_table(text, (), top_level)

    auth_created = provider_created or _table(parsed.data, *AUTH_PATH) is None or bool(record_in.get("auth_created"))
    new_record.update(provider_created=provider_created, auth_created=auth_created)
    new_tables = []  # type: t.List[t.Tuple[t.Tuple[str, ...], t.Dict[str, t.Any]]]
    anchor = (MODEL_PROVIDERS,)
    if provider_data is None:
        new_tables = [(PROVIDER_PATH, desired.provider()), (AUTH_PATH, desired.auth())]
        expected.setdefault(MODEL_PROVIDERS, {})[PROVIDER_ID] = dict(desired.provider(), **{AUTH: desired.auth()})
        edit.set_keys.extend(PROVIDER_TABLE + "." + key for key in desired.provider())
        edit.set_keys.extend(AUTH_TABLE + "." + key for key in desired.auth())
    else:
        expected_provider = expected[MODEL_PROVIDERS][PROVIDER_ID]
        entries_out = None if provider_created else new_record["keys"]

        def provider(table: t.Any) -> None:
            if not desired.http_headers:
                _unwanted_headers(table, expected_provider, entries_in, edit)
            missing[PROVIDER_PATH] = _set_owned(table, expected_provider, desired.provider(), PROVIDER_TABLE + ".",
                                                entries_in, entries_out, edit)
            _drop_conflicting(table, expected_provider, entries_in, entries_out, edit, path)

        text = _edit_table(text, PROVIDER_PATH, provider)
        if _table(parsed.data, *AUTH_PATH) is None:
            new_tables = [(AUTH_PATH, desired.auth())]
            anchor = PROVIDER_PATH
            expected_provider[AUTH] = desired.auth()
            edit.set_keys.extend(AUTH_TABLE + "." + key for key in desired.auth())
        else:
            def auth(table: t.Any) -> None:
                missing[AUTH_PATH] = _set_owned(table, expected_provider[AUTH], desired.auth(), AUTH_TABLE + ".",
                                                entries_in, None if auth_created else new_record["keys"], edit)

            text = _edit_table(text, AUTH_PATH, auth)

    for table_path in (PROVIDER_PATH, AUTH_PATH):
        if missing.get(table_path):
            text = _add_keys(text, table_path, missing[table_path], new_record)
    if missing.get(()):
        offset, prefix, suffix = _top_level_insertion(text, table_headers(text))
        text = _splice(text, offset, prefix + _render_lines(missing[()], newline) + suffix)
        new_record["top_level_separators"] = [prefix, suffix]
    if new_tables:
        offset, prefix, suffix = _table_insertion(text, table_headers(text), anchor)
        text = _splice(text, offset, prefix + _render_tables(new_tables, newline) + suffix)
        new_record["table_separator"] = prefix
    _verify(text, expected, path, "adding the Databricks provider")
    edit.text = text
    return edit


def _deletion_point(before: str, after: str) -> int:
    """Where a deletion turned ``before`` into ``after``: the end of their common beginning."""
    limit = min(len(before), len(after))
    index = 0
    while index < limit and before[index] == after[index]:
        index += 1
    return index


def _remove_top_level(parsed: Parsed, record: t.Optional[t.Dict[str, t.Any]], expected: t.Dict[str, t.Any],
                      edit: Edit, path: str) -> t.Tuple[str, t.Dict[str, t.Dict[str, t.Any]]]:
    """Delete the top-level keys FMAPI added, then the line breaks added with them; return the text and the keys
    whose user's value is to be put back."""
    entries = (record or {}).get("keys") or {}
    restore = {}  # type: t.Dict[str, t.Dict[str, t.Any]]
    selected = parsed.data.get(MODEL_PROVIDER) == PROVIDER_ID

    def remove(container: t.Any) -> None:
        for key in TOP_LEVEL_KEYS:
            if key not in container:
                continue
            entry = entries.get(key)
            current = _plain(container[key])
            if record is None:
                # Without the sidecar: ours by the provider id (a Databricks endpoint is no use to another provider).
                ours = selected
            else:
                ours = entry is not None and entry.get("after", _MISSING) == current
                if entry is not None and not ours:
                    edit.notes.append("%s: %s = %r was changed after the setup wrote it; it was left as it is."
                                      % (path, key, current))
            if not ours:
                continue
            if entry and ("before" in entry or "before_value" in entry):
                restore[key] = entry
                continue
            del container[key]
            expected.pop(key, None)
            edit.removed_keys.append(key)

    text = _edit_table(parsed.text, (), remove)
    separators = (record or {}).get("top_level_separators")
    if separators and text != parsed.text:
        prefix, suffix = separators
        point = _deletion_point(parsed.text, text)
        if text[point - len(prefix):point] == prefix and text[point:point + len(suffix)] == suffix:
            text = text[:point - len(prefix)] + text[point + len(suffix):]
    return text, restore


def _restore_provider_keys(table: t.Any, expected: t.Dict[str, t.Any], entries: t.Dict[str, t.Dict[str, t.Any]],
                           prefix: str, edit: Edit) -> None:
    """Give back the user's own table key by key: values FMAPI set are put back, or removed when it added them."""
    for name, entry in sorted(entries.items()):
        key = name[len(prefix) + 1:]
        if not name.startswith(prefix + ".") or "." in key or entry.get("removed"):
            continue
        if key in table and _plain(table[key]) == entry.get("after", _MISSING):
            if "before" in entry or "before_value" in entry:
                _restore(table, key, entry, expected)
                edit.restored_keys.append(name)
            else:
                del table[key]
                expected.pop(key, None)
                edit.removed_keys.append(name)


def _line_end_of(text: str, table_path: t.Tuple[str, ...], key: t.Optional[str]) -> t.Optional[int]:
    """The offset just after the last line of ``key``'s item in the table at ``table_path`` (after its header line
    when ``key`` is None), or None when it cannot be found.

    The item's value is replaced by a marker in a copy of the table's text: the marker's line, shifted by the
    lines the real value spans beyond one, is the item's last line.
    """
    region = _region(text, table_path)
    if region is None:
        return None
    start, end = region
    chunk = text[start:end]
    if key is None:
        line_end = chunk.find("\n")
        return start + line_end + 1 if line_end >= 0 else None
    document = tomlkit.parse(chunk)
    container = _descend(document, table_path)
    if key not in container or isinstance(_item(container, key), (tomlkit.items.Table, tomlkit.items.AoT)):
        return None
    marker = "fmapi-position-marker-%d" % os.getpid()
    if marker in chunk:
        return None
    container[key] = marker
    marked = document.as_string()
    line = marked.count("\n", 0, marked.find(marker)) + chunk.count("\n") - marked.count("\n")
    position = -1
    for _index in range(line + 1):
        position = chunk.find("\n", position + 1)
        if position < 0:
            return None
    return start + position + 1


def _put_back_removed(text: str, entries: t.Dict[str, t.Dict[str, t.Any]], expected: t.Dict[str, t.Any],
                      edit: Edit) -> str:
    """Put the keys FMAPI removed from the user's own provider table back where they stood."""
    removed = sorted(((name, entry) for name, entry in entries.items()
                      if name.startswith(PROVIDER_TABLE + ".") and entry.get("removed")
                      and ("before" in entry or "before_value" in entry)),
                     key=lambda pair: pair[1].get("position", 0))
    newline = _newline(text)
    for name, entry in removed:
        key = name[len(PROVIDER_TABLE) + 1:]
        if key in expected:
            continue
        source = entry["before"] if "before" in entry else _render_value(entry["before_value"])
        offset = _line_end_of(text, PROVIDER_PATH, entry.get("after_key"))
        if offset is None:
            text = _add_keys(text, PROVIDER_PATH, {key: _plain(_value_item(source))}, {})
        else:
            text = _splice(text, offset, "%s = %s%s" % (tomlkit.key(key).as_string(), source, newline))
        expected[key] = _plain(_value_item(source))
        edit.restored_keys.append(name)
    return text


def _cut_tables(text: str, prefix: t.Tuple[str, ...], record: t.Optional[t.Dict[str, t.Any]],
                expected: t.Dict[str, t.Any], edit: Edit, exact: bool = False) -> str:
    """Cut the tables at (``exact``) or below ``prefix`` out of the text, with the blank line put before them
    at the end of the file."""
    headers = table_headers(text)
    spans = [span for span, header in zip(_spans_under(text, headers, prefix),
                                          [header for header in headers if header.path[:len(prefix)] == prefix])
             if not exact or header.path == prefix]
    if exact:
        return _cut(text, spans)
    parent = _table(expected, *prefix[:-1])
    if parent is not None:
        parent.pop(prefix[-1], None)
    if expected.get(MODEL_PROVIDERS) == {} and not any(header.path == (MODEL_PROVIDERS,) for header in headers):
        expected.pop(MODEL_PROVIDERS)
    edit.removed_keys.append(".".join(prefix))
    if not spans:
        # Rewritten by hand as dotted keys or an inline table: tomlkit removes it, formatting aside.
        return delete_key(text, prefix)
    at_end = spans[-1][1] == len(text)
    text = _cut(text, spans)
    separator = (record or {}).get("table_separator") or ""
    if at_end and separator and text.endswith(separator):
        text = text[:len(text) - len(separator)]
    return text


def edit_absent(parsed: Parsed, record: t.Optional[t.Dict[str, t.Any]], path: str = "config.toml") -> Edit:
    """config.toml without FMAPI's configuration, the user's own values put back as the record says.

    Without a record (the sidecar was deleted) the provider table and ``model_provider = "databricks"`` are
    FMAPI's by their id, and ``model`` goes with them. ``Edit.text`` is None when the file is to be deleted: it
    holds nothing any more and did not exist before FMAPI wrote it.
    """
    edit = Edit(None, None)
    expected = copy.deepcopy(parsed.data)
    record_in = record or {}
    entries = record_in.get("keys") or {}
    text, restore = _remove_top_level(parsed, record, expected, edit, path)

    def put_back(container: t.Any) -> None:
        for key, entry in restore.items():
            _restore(container, key, entry, expected)
            edit.restored_keys.append(key)

    if restore:
        text = _edit_table(text, (), put_back)
    cut = None  # type: t.Optional[t.Tuple[str, ...]]
    provider_data = _table(parsed.data, *PROVIDER_PATH)
    if provider_data is not None:
        if record is None or record_in.get("provider_created"):
            cut = PROVIDER_PATH
        else:
            expected_provider = expected[MODEL_PROVIDERS][PROVIDER_ID]
            text = _edit_table(text, PROVIDER_PATH, lambda table: _restore_provider_keys(
                table, expected_provider, entries, PROVIDER_TABLE, edit))
            if record_in.get("auth_created"):
                cut = AUTH_PATH
            elif isinstance(provider_data.get(AUTH), dict):
                text = _edit_table(text, AUTH_PATH, lambda table: _restore_provider_keys(
                    table, expected_provider[AUTH], entries, AUTH_TABLE, edit))
            text = _put_back_removed(text, entries, expected_provider, edit)
            if record_in.get("provider_header_created"):
                # The header this module put above the user's sub-tables; its keys are gone or given back by now.
                text = _cut_tables(text, PROVIDER_PATH, record, expected, edit, exact=True)
    if cut is not None:
        text = _cut_tables(text, cut, record, expected, edit)
    if record_in.get("no_final_newline") and text.endswith("\n"):
        text = text[:-2] if text.endswith("\r\n") else text[:-1]
    _verify(text, expected, path, "removing the Databricks provider")
    edit.text = None if not text.strip() and not record_in.get("file_existed") else text
    return edit


# ------------------------------------------------------------------------------------------ sidecar

def state_file_path(config_path: str) -> str:
    """The sidecar beside config.toml: ``.config.toml.fmapi-state.json``."""
    return cs.state_file_path(config_path)


def parse_state(raw: t.Optional[bytes]) -> t.Optional[t.Dict[str, t.Any]]:
    """The record of the sidecar, or None when it is missing, unreadable or not ours."""
    data = cs.parse_state(raw)
    record = (data or {}).get(STATE_KEY)
    return record if isinstance(record, dict) else None


def render_state(record: t.Dict[str, t.Any]) -> bytes:
    """The sidecar's bytes for ``record``."""
    return cs.render_state({STATE_KEY: record})
