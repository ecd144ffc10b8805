# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The workspace's rules, each in one place. Private to the collection.

Every module, action plugin and the token helper takes these from here:

* the defaults of a setup (profile, models, token refresh, settings location) and the range of the TTL;
* what a workspace URL is: :func:`parse_host` validates one and reduces a URL pasted from the
  browser (``/browse``, ``?o=...``, an API base URL) to the workspace origin, saying so;
* what a profile name and a serving endpoint name may hold;
* where the Databricks CLI's configuration file is (``DATABRICKS_CONFIG_FILE``, else
  ``~/.databrickscfg``), how a profile is read from it (the CLI's own INI rules, :mod:`_ini`),
  and which ``DATABRICKS_*`` variables may reach the CLI;
* where the Databricks CLI is (:func:`find_cli`) and the oldest version the collection works with;
* the command that logs a profile in, quoted for a shell;
* what a Databricks token looks like, to keep it out of every message (:func:`mask_tokens`).

Standard library only, Python 3.8 or newer: the token helper script carries this file's code
(see _token_helper.py), so it must run without Ansible.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import typing as t

from ansible_collections.fmapi.coding_agents.plugins.module_utils._ini import IniDocument, IniError

# ------------------------------------------------------------------------------------------ defaults

DEFAULT_PROFILE = "fmapi-claudecode-profile"
DEFAULT_MODEL = "databricks-claude-opus-4-6"
DEFAULT_OPUS_MODEL = "databricks-claude-opus-4-6"
DEFAULT_SONNET_MODEL = "databricks-claude-sonnet-4-6"
DEFAULT_HAIKU_MODEL = "databricks-claude-haiku-4-5"
DEFAULT_TTL_MINUTES = 30
MIN_TTL_MINUTES = 1
MAX_TTL_MINUTES = 60
DEFAULT_SETTINGS_LOCATION = "home"
SETTINGS_LOCATIONS = ("home", "cwd")
# The oldest Databricks CLI the token helper works with: `auth token --force-refresh` and
# `--output json` with an expiry arrived in v0.296.0.
MIN_CLI_VERSION = "0.296.0"
EXAMPLE_HOST = "https://my-workspace.cloud.databricks.com"
# The libraries of the modules that talk to the workspace (serving_endpoints_info, legacy_pats): the
# oldest databricks-sdk whose Config has databricks_cli_path, http_timeout_seconds and
# retry_timeout_seconds and whose errors map HTTP statuses, and jmespath for queries.
MIN_SDK_VERSION = "0.40.0"
MIN_JMESPATH_VERSION = "1.0.0"
# tomlkit edits Codex CLI's config.toml keeping the user's comments and layout (codex_config).
MIN_TOMLKIT_VERSION = "0.11.0"
PYTHON_REQUIREMENTS = ("databricks-sdk>=" + MIN_SDK_VERSION, "jmespath>=" + MIN_JMESPATH_VERSION,
                       "tomlkit>=" + MIN_TOMLKIT_VERSION)

# ------------------------------------------------------------------------------------ the agents

# The coding agents a run can set up, in the order they are set up and reported.
AGENT_CLAUDE_CODE = "claude_code"
AGENT_CODEX = "codex"
AGENT_GEMINI = "gemini"
AGENTS = (AGENT_CLAUDE_CODE, AGENT_CODEX, AGENT_GEMINI)
DEFAULT_AGENTS = (AGENT_CLAUDE_CODE,)
AGENT_LABELS = {AGENT_CLAUDE_CODE: "Claude Code", AGENT_CODEX: "Codex CLI", AGENT_GEMINI: "Gemini CLI"}
DEFAULT_CODEX_MODEL = "databricks-gpt-5-5"
DEFAULT_GEMINI_MODEL = "databricks-gemini-2-5-pro"
# The oldest agent releases with what the setup relies on: Codex's command-backed provider auth and
# per-profile files (0.134.0); Gemini CLI's own use of GOOGLE_GEMINI_BASE_URL (0.40.0).
MIN_CODEX_VERSION = "0.134.0"
MIN_GEMINI_VERSION = "0.40.0"

# The one token helper every agent runs (Claude Code's apiKeyHelper, Codex's provider auth command, the
# Gemini CLI launcher), in the collection's own data folder. Setups before the Codex and Gemini roles
# wrote it in ~/.claude; a helper of ours in either folder is one the doctor may run.
DATA_DIR = "~/.local/share/fmapi-coding-agents"
TOKEN_HELPER_NAME = "fmapi-token-helper"
TOKEN_HELPER_PATH = DATA_DIR + "/" + TOKEN_HELPER_NAME
EARLIER_TOKEN_HELPER_PATH = "~/.claude/" + TOKEN_HELPER_NAME
TOKEN_HELPER_DIRS = (DATA_DIR, "~/.claude")

# Endpoint styles: the classic serving-endpoints routes, or the AI Gateway ones. `auto` asks the
# workspace once (GET AI_GATEWAY_PROBE answers 200 where AI Gateway v2 is on).
ENDPOINT_STYLE_SERVING_ENDPOINTS = "serving-endpoints"
ENDPOINT_STYLE_AI_GATEWAY = "ai-gateway"
ENDPOINT_STYLE_AUTO = "auto"
ENDPOINT_STYLES = (ENDPOINT_STYLE_SERVING_ENDPOINTS, ENDPOINT_STYLE_AI_GATEWAY)
AI_GATEWAY_PROBE = "/api/ai-gateway/v2/endpoints?page_size=1"
# Agent -> style -> the path of the agent's API below the workspace URL. Claude Code appends
# /v1/messages, Codex /responses and /models, Gemini CLI /v1beta/models/<model>:streamGenerateContent.
AGENT_ROUTES = {
    AGENT_CLAUDE_CODE: {ENDPOINT_STYLE_SERVING_ENDPOINTS: "/serving-endpoints/anthropic",
                        ENDPOINT_STYLE_AI_GATEWAY: "/ai-gateway/anthropic"},
    AGENT_CODEX: {ENDPOINT_STYLE_SERVING_ENDPOINTS: "/serving-endpoints/codex/v1",
                  ENDPOINT_STYLE_AI_GATEWAY: "/ai-gateway/codex/v1"},
    AGENT_GEMINI: {ENDPOINT_STYLE_SERVING_ENDPOINTS: "/serving-endpoints/gemini",
                   ENDPOINT_STYLE_AI_GATEWAY: "/ai-gateway/gemini"},
}


def validate_agents(value: t.Any) -> t.List[str]:
    """The agents a run sets up: a non-empty list of known names (a comma-separated string works too)."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not value:
        raise ValidationError("agents must be a non-empty list of %s." % ", ".join(AGENTS))
    unknown = [str(name) for name in value if name not in AGENTS]
    if unknown:
        raise ValidationError("Unknown agent %s in agents: choose from %s." % (
            ", ".join(repr(name) for name in unknown), ", ".join(AGENTS)))
    return [name for name in AGENTS if name in value]


def validate_endpoint_style(value: t.Any, allow_auto: bool = True) -> str:
    """serving-endpoints, ai-gateway or (where the workspace may be asked) auto."""
    choices = ENDPOINT_STYLES + ((ENDPOINT_STYLE_AUTO,) if allow_auto else ())
    if value not in choices:
        raise ValidationError("endpoint_style must be one of %s, not %r." % (", ".join(choices), value))
    return value


def agent_base_url(host: str, agent: str, style: str = ENDPOINT_STYLE_SERVING_ENDPOINTS) -> str:
    """The base URL an agent is given for a normalized workspace URL and an endpoint style."""
    return host + AGENT_ROUTES[agent][style]


def split_agent_base_url(agent: str, url: t.Any) -> t.Tuple[t.Optional[str], t.Optional[str]]:
    """``(host, style)`` of an agent's base URL, or ``(None, None)`` when it is not one of ours."""
    if not isinstance(url, str):
        return None, None
    trimmed = url.strip().rstrip("/")
    for style, suffix in AGENT_ROUTES[agent].items():
        if trimmed.endswith(suffix) and len(trimmed) > len(suffix):
            return trimmed[:-len(suffix)], style
    return None, None


# ----------------------------------------------------------------- which agent a serving endpoint serves

# Each agent speaks the API of one model family: Claude Code the Anthropic Messages API (Claude models),
# Codex CLI the OpenAI Responses API (GPT and o-series models), Gemini CLI the Gemini API (Gemini models).
# The API names are those a workspace lists in a foundation model's ``api_types``.
CHAT_TASK = "llm/v1/chat"
AGENT_API_TYPES = {
    AGENT_CLAUDE_CODE: "anthropic/v1/messages",
    AGENT_CODEX: "openai/v1/responses",
    AGENT_GEMINI: "gemini/v1/generateContent",
}
AGENT_API_NAMES = {AGENT_CLAUDE_CODE: "Anthropic Messages API", AGENT_CODEX: "OpenAI Responses API",
                   AGENT_GEMINI: "Gemini API"}
AGENT_MODEL_FAMILIES = {AGENT_CLAUDE_CODE: "Claude", AGENT_CODEX: "GPT", AGENT_GEMINI: "Gemini"}
# The model settings of each agent (the variables of the setup and validate_models playbooks), and their defaults.
AGENT_MODEL_SETTINGS = {
    AGENT_CLAUDE_CODE: ("model", "opus", "sonnet", "haiku"),
    AGENT_CODEX: ("codex_model",),
    AGENT_GEMINI: ("gemini_model",),
}
DEFAULT_AGENT_MODELS = {
    "model": DEFAULT_MODEL, "opus": DEFAULT_OPUS_MODEL, "sonnet": DEFAULT_SONNET_MODEL, "haiku": DEFAULT_HAIKU_MODEL,
    "codex_model": DEFAULT_CODEX_MODEL, "gemini_model": DEFAULT_GEMINI_MODEL,
}
# An external model's provider (for amazon-bedrock: its bedrock_provider) -> the agent whose API its models
# speak, None for providers of none of them. Providers of several families (google-cloud-vertex-ai, custom,
# databricks-model-serving) are left to the model's name; Vertex AI's are Gemini models unless it names another.
PROVIDER_AGENTS = {"anthropic": AGENT_CLAUDE_CODE, "openai": AGENT_CODEX, "cohere": None, "ai21labs": None,
                   "palm": None, "amazon": None}
PROVIDER_FAMILY_DEFAULTS = {"google-cloud-vertex-ai": AGENT_GEMINI}
# Why an endpoint got its agent (EndpointAgent.source), strongest first.
AGENT_SOURCE_TASK = "task"
AGENT_SOURCE_API_TYPES = "api_types"
AGENT_SOURCE_PROVIDER = "provider"
AGENT_SOURCE_FOUNDATION_MODEL = "foundation_model"
AGENT_SOURCE_NAME = "name"
_NAME_TOKEN_SPLIT = re.compile(r"[^a-z0-9]+")
_GPT_WORD = re.compile(r"(?:chat)?gpt(?:[0-9][a-z0-9]*)?\Z")
_O_SERIES_WORD = re.compile(r"o[0-9]+\Z")


class EndpointAgent(t.NamedTuple):
    """Which agent a serving endpoint is for, and why."""

    agent: t.Optional[str]  # the agent it is for (None: an embeddings or other model, or unknown)
    agents: t.Tuple[str, ...]  # every agent whose API it serves (several where the workspace lists several)
    source: t.Optional[str]  # what decided (AGENT_SOURCE_*), None when nothing did
    api_types: t.Tuple[str, ...]  # the APIs the workspace lists for it (empty where it lists none)


def setting_agent(setting: t.Any) -> t.Optional[str]:
    """The agent a model setting (model, opus, codex_model, ...) configures, or None for another name."""
    for agent, settings in AGENT_MODEL_SETTINGS.items():
        if setting in settings:
            return agent
    return None


def model_family_agent(name: t.Any) -> t.Optional[str]:
    """The agent whose model family a model or endpoint name names, or None.

    Claude: a word starting with ``claude``, or ``anthropic``. GPT: ``gpt`` or ``chatgpt`` (``gpt4o`` too, not
    ``gptq``), a word starting with ``codex``, an o-series word (``o3``), or ``openai``. Gemini: a word starting
    with ``gemini``. Words are split on anything but letters and digits, case-insensitively; the first word that
    names a family decides.
    """
    if not isinstance(name, str):
        return None
    for word in _NAME_TOKEN_SPLIT.split(name.lower()):
        if word.startswith("claude") or word == "anthropic":
            return AGENT_CLAUDE_CODE
        if _GPT_WORD.match(word) or word.startswith("codex") or word == "openai" or _O_SERIES_WORD.match(word):
            return AGENT_CODEX
        if word.startswith("gemini"):
            return AGENT_GEMINI
    return None


def _served_entities(endpoint: t.Mapping[str, t.Any]) -> t.List[t.Dict[str, t.Any]]:
    config = endpoint.get("config") if isinstance(endpoint.get("config"), dict) else {}
    entities = config.get("served_entities") or config.get("served_models") or []
    return [entity for entity in entities if isinstance(entity, dict)] if isinstance(entities, list) else []


def _stated_api_types(entities: t.Sequence[t.Dict[str, t.Any]]) -> t.Tuple[str, ...]:
    found = []  # type: t.List[str]
    for entity in entities:
        model = entity.get("foundation_model")
        listed = model.get("api_types") if isinstance(model, dict) else None
        for api_type in listed if isinstance(listed, list) else []:
            if isinstance(api_type, str) and api_type.strip() and api_type.strip() not in found:
                found.append(api_type.strip())
    return tuple(found)


def _provider_agent(entities: t.Sequence[t.Dict[str, t.Any]]) -> t.Tuple[t.Optional[str], bool]:
    """``(agent, decided)`` from the entities' external models."""
    for entity in entities:
        external = entity.get("external_model")
        if not isinstance(external, dict) or not isinstance(external.get("provider"), str):
            continue
        provider = external["provider"].strip().lower()
        bedrock = external.get("amazon_bedrock_config") if provider == "amazon-bedrock" else None
        if isinstance(bedrock, dict) and isinstance(bedrock.get("bedrock_provider"), str):
            provider = bedrock["bedrock_provider"].strip().lower()
        if provider in PROVIDER_AGENTS:
            return PROVIDER_AGENTS[provider], True
        family = model_family_agent(external.get("name")) or PROVIDER_FAMILY_DEFAULTS.get(provider)
        if family:
            return family, True
    return None, False


def _family(endpoint: t.Mapping[str, t.Any], entities: t.Sequence[t.Dict[str, t.Any]]
            ) -> t.Tuple[t.Optional[str], t.Optional[str]]:
    """``(agent, source)`` from the provider, the foundation model, then the endpoint's name."""
    agent, decided = _provider_agent(entities)
    if decided:
        return agent, AGENT_SOURCE_PROVIDER
    for entity in entities:
        model = entity.get("foundation_model") if isinstance(entity.get("foundation_model"), dict) else {}
        for name in (model.get("name"), model.get("display_name"), entity.get("entity_name")):
            agent = model_family_agent(name)
            if agent:
                return agent, AGENT_SOURCE_FOUNDATION_MODEL
    agent = model_family_agent(endpoint.get("name"))
    return (agent, AGENT_SOURCE_NAME) if agent else (None, None)


def endpoint_agent(endpoint: t.Mapping[str, t.Any]) -> EndpointAgent:
    """Which agent can use a serving endpoint (an object of ``GET /api/2.0/serving-endpoints``), and why.

    The first of these that decides:

    1. ``task``: an endpoint that says it is not a chat endpoint (embeddings, completions, agents) is for none.
    2. ``api_types``: the APIs the workspace lists for its foundation model
       (``config.served_entities[].foundation_model.api_types``): the agents whose API is listed; where several
       are, the one of the model's family (3 to 5) comes first, else the first in AGENTS order. Where none of
       the agents' APIs is listed (chat completions only), it is for none.
    3. ``provider``: an external model's provider (anthropic, openai; amazon-bedrock's bedrock_provider; cohere,
       ai21labs, palm are for none), or for providers of several families the family its model's name names.
    4. ``foundation_model``: the family its foundation model's name, display name or entity name names.
    5. ``name``: the family the endpoint's name names (databricks-claude-*, databricks-gpt-*, databricks-o3-*,
       *codex*, databricks-gemini-*; see :func:`model_family_agent`).

    Otherwise it is for none, from no source (an endpoint the workspace says nothing about). ``endpoint`` may also
    be an endpoint in serving_endpoints_info's compact shape, which carries the answer.
    """
    if "agent_source" in endpoint:
        # serving_endpoints_info's compact shape, which carries the answer.
        return EndpointAgent(endpoint.get("agent"), tuple(endpoint.get("agents") or ()), endpoint.get("agent_source"),
                             tuple(endpoint.get("api_types") or ()))
    entities = _served_entities(endpoint)
    api_types = _stated_api_types(entities)
    task = endpoint.get("task")
    if isinstance(task, str) and task and task != CHAT_TASK:
        return EndpointAgent(None, (), AGENT_SOURCE_TASK, api_types)
    family, source = _family(endpoint, entities)
    if api_types:
        served = tuple(agent for agent in AGENTS if AGENT_API_TYPES[agent] in api_types)
        primary = family if family in served else (served[0] if served else None)
        return EndpointAgent(primary, served, AGENT_SOURCE_API_TYPES, api_types)
    return EndpointAgent(family, (family,) if family else (), source, ())


def serves_agent(served: EndpointAgent, agent: str) -> t.Optional[bool]:
    """Whether an endpoint (its :func:`endpoint_agent`) serves ``agent``'s API: True; False where it serves another
    agent's or none of theirs; None where nothing is known about it or it is no chat endpoint."""
    if agent in served.agents:
        return True
    if served.source in (None, AGENT_SOURCE_TASK):
        return None
    return False


# ------------------------------------------------------------------------------- the Databricks CLI

CLI_NAME = "databricks"
CONFIG_FILE = "~/.databrickscfg"
CONFIG_FILE_VARIABLE = "DATABRICKS_CONFIG_FILE"
# A non-interactive session (Ansible, Claude Code started from the dock) often has a PATH without
# these: the release install's ~/.local/bin, Homebrew on Apple silicon and on Intel Macs.
CLI_SEARCH_DIRS = ("~/.local/bin", "/opt/homebrew/bin", "/usr/local/bin", "~/bin")
# DATABRICKS_* variables kept for the CLI and the SDK. Every other one is dropped: DATABRICKS_TOKEN,
# _HOST, _CONFIG_PROFILE, _CLIENT_ID/_SECRET, _AUTH_TYPE, ... override the profile or change what the
# CLI prints. These two only say where the profile and its tokens live: dropping them would make
# the CLI look in another place than `databricks auth login` wrote to.
KEPT_DATABRICKS_VARIABLES = ("DATABRICKS_AUTH_STORAGE", CONFIG_FILE_VARIABLE)
CLI_VERSION_TIMEOUT_SECONDS = 15
CLI_INSTALL_HINT = ("Install the Databricks CLI (https://docs.databricks.com/dev-tools/cli/install.html, for "
                    "example `brew install databricks/tap/databricks`), or run the setup again.")

_PROFILE_PATTERN = re.compile(r"\A[A-Za-z0-9_-]+\Z")
# Endpoint names: letters, digits, '-', '_' and '.', as Databricks allows.
_MODEL_PATTERN = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_AUTHORITY_PATTERN = re.compile(
    r"\A(?P<hostname>%s(?:\.%s)*|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?\Z" % (_LABEL, _LABEL))
# Characters no workspace URL holds, and that a shell or a settings file would read as syntax.
_FORBIDDEN_IN_HOST = set("\"'`$;|&<>\\{}^ \t")
_CLI_VERSION_PATTERN = re.compile(r"Databricks CLI v?(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)")
_VERSION_PATTERN = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")

# Databricks tokens wherever they appear: OAuth access tokens (JWTs), personal access tokens,
# OAuth refresh tokens, and whatever follows "Bearer".
_TOKEN_PATTERNS = (
    re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
    re.compile(r"\bdapi[0-9a-f]{16,}(?:-[0-9]+)?"),
    re.compile(r"\bdoau[A-Za-z0-9_-]{10,}"),
)
_BEARER_PATTERN = re.compile(r"(?i)(bearer\s+)[^\s'\",]+")
MASK = "********"


class ValidationError(ValueError):
    """A value that must not be used; the message says what to fix."""


# ------------------------------------------------------------------------------------------- values

def validate_profile(profile: t.Any) -> str:
    """The profile name, or ValidationError: only letters, digits, ``_`` and ``-`` are safe everywhere."""
    text = profile.strip() if isinstance(profile, str) else profile
    if not isinstance(text, str) or not _PROFILE_PATTERN.match(text):
        raise ValidationError(
            "profile %r is not a valid profile name: use only letters, digits, '_' and '-' (for example %s)."
            % (profile, DEFAULT_PROFILE))
    return text


def validate_model(name: str, value: t.Any) -> str:
    """A serving endpoint name for the option ``name``, or ValidationError."""
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not _MODEL_PATTERN.match(text):
        raise ValidationError("%s must be a serving endpoint name (letters, digits, '.', '-', '_'), got %r."
                              % (name, value))
    return text


def validate_ttl(value: t.Any, name: str = "ttl") -> int:
    """Minutes between token refreshes, a whole number from 1 to 60, or ValidationError naming option ``name``."""
    if isinstance(value, bool) or value is None:
        raise ValidationError("%s must be a whole number of minutes, got %r." % (name, value))
    try:
        minutes = int(str(value).strip())
    except ValueError:
        raise ValidationError("%s must be a whole number of minutes, got %r." % (name, value)) from None
    if not MIN_TTL_MINUTES <= minutes <= MAX_TTL_MINUTES:
        raise ValidationError("%s must be from %d to %d minutes, got %d."
                              % (name, MIN_TTL_MINUTES, MAX_TTL_MINUTES, minutes))
    return minutes


class Host(t.NamedTuple):
    """A validated workspace URL, and what was dropped from the given text to get it (a note for people)."""

    url: str
    note: t.Optional[str] = None


def parse_host(value: t.Any) -> Host:
    """The workspace origin ``https://name[:port]`` of ``value``, or ValidationError saying what to fix.

    A URL copied from the browser's address bar (``https://dbc-x.cloud.databricks.com/browse``, an
    Azure URL with ``?o=<workspace id>``, a path, a fragment) or an API base URL names the workspace
    as well: it is reduced to the origin, and :attr:`Host.note` says so. Anything a workspace URL
    cannot hold (whitespace, quotes, shell syntax, control characters, a user name) is refused.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("host is empty: give the workspace URL, like %s." % EXAMPLE_HOST)
    text = value.strip()
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise ValidationError("host %r contains control characters (a line break?): give the workspace URL, "
                              "like %s." % (value, EXAMPLE_HOST))
    bad = sorted(set(text) & _FORBIDDEN_IN_HOST)
    if bad:
        raise ValidationError("host %r contains %s, which no workspace URL has: give the workspace URL, like %s."
                              % (value, " ".join(repr(char) for char in bad), EXAMPLE_HOST))
    scheme, separator, rest = text.partition("://")
    if not separator or scheme.lower() != "https":
        raise ValidationError("host %r must start with https:// (like %s)." % (value, EXAMPLE_HOST))
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    userinfo, at_sign, server = authority.rpartition("@")
    match = _AUTHORITY_PATTERN.match(server)
    if not match:
        raise ValidationError("host %r is not a valid workspace URL: after https:// must come a host name with an "
                              "optional :port, like %s." % (value, EXAMPLE_HOST))
    port = match.group("port")
    if port is not None and not 0 < int(port) < 65536:
        raise ValidationError("host %r has an invalid port %s." % (value, port))
    if at_sign or userinfo:
        # The value is not repeated: it holds a password.
        raise ValidationError("host must not contain a user name or password: use https://%s." % server)
    if port == "443":
        server = match.group("hostname")
    url = "https://" + server.lower()
    dropped = rest[len(authority):]
    note = None
    if dropped.strip("/"):
        note = ("%s was reduced to the workspace URL %s: the part after the host name (%s) is not part of it."
                % (text, url, dropped))
    return Host(url, note)


def normalize_host(value: t.Any) -> str:
    """The workspace origin of ``value`` (see :func:`parse_host`), or ValidationError."""
    return parse_host(value).url


def same_host(first: t.Optional[str], second: t.Optional[str]) -> bool:
    """Whether two workspace URLs name the same workspace (case, path, trailing ``/`` and ``:443`` ignored)."""
    if not first or not second:
        return False
    try:
        return normalize_host(first) == normalize_host(second)
    except ValidationError:
        return first.strip().rstrip("/").lower() == second.strip().rstrip("/").lower()


def login_command(profile: str, host: t.Optional[str] = None) -> str:
    """The command a person runs to log the profile in again, quoted for a POSIX shell."""
    words = [CLI_NAME, "auth", "login"]
    if host:
        words += ["--host", host]
    words += ["--profile", profile]
    return " ".join(shlex.quote(word) for word in words)


def mask_tokens(text: t.Any, secrets: t.Iterable[str] = (), replacement: str = MASK) -> str:
    """``text`` without the given secret values and without anything shaped like a Databricks token."""
    masked = "" if text is None else str(text)
    for secret in secrets:
        if secret:
            masked = masked.replace(secret, replacement)
    for pattern in _TOKEN_PATTERNS:
        masked = pattern.sub(replacement, masked)
    return _BEARER_PATTERN.sub(lambda match: match.group(1) + replacement, masked)


def token_shaped_values(text: str) -> t.List[str]:
    """Substrings of ``text`` shaped like a Databricks token (to register as values Ansible must hide)."""
    found = []  # type: t.List[str]
    for pattern in _TOKEN_PATTERNS:
        found.extend(pattern.findall(text or ""))
    return found


# -------------------------------------------------------------------------------------- environment

def clean_environment(environ: t.Mapping[str, str]) -> t.Dict[str, str]:
    """A copy of ``environ`` without the DATABRICKS_* variables that would override a profile."""
    return dict((key, value) for key, value in environ.items()
                if not key.startswith("DATABRICKS_") or key in KEPT_DATABRICKS_VARIABLES)


def expand_home(path: str, environ: t.Mapping[str, str]) -> str:
    """``path`` with a leading ``~`` replaced by ``HOME`` of ``environ``."""
    if path.startswith("~"):
        return (environ.get("HOME") or os.path.expanduser("~")) + path[1:]
    return path


def config_file_path(environ: t.Mapping[str, str]) -> str:
    """The CLI's configuration file: ``DATABRICKS_CONFIG_FILE``, else ``~/.databrickscfg``."""
    return os.path.abspath(expand_home(environ.get(CONFIG_FILE_VARIABLE) or CONFIG_FILE, environ))


class ProfileInfo(t.NamedTuple):
    """A profile as the configuration file has it; ``exists`` is None when the file cannot be read."""

    exists: t.Optional[bool]
    host: t.Optional[str] = None
    values: t.Optional[t.Dict[str, str]] = None
    problem: t.Optional[str] = None


def read_profile(config_path: str, profile: str) -> ProfileInfo:
    """Look ``profile`` up in the CLI's configuration file, read the way the CLI reads it.

    ``values`` holds every key of the profile (credentials included: callers keep them to
    themselves). ``[DEFAULT]`` is a profile like any other.
    """
    try:
        with open(config_path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return ProfileInfo(False)
    except OSError as exc:
        return ProfileInfo(None, problem="%s cannot be read: %s" % (config_path, exc.strerror or exc))
    try:
        document = IniDocument(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return ProfileInfo(None, problem="%s is not UTF-8 text" % config_path)
    except IniError as exc:
        return ProfileInfo(None, problem="%s cannot be read: %s" % (config_path, exc))
    if not document.has_section(profile):
        return ProfileInfo(False)
    values = document.values(profile)
    return ProfileInfo(True, (values.get("host") or "").strip() or None, values)


# ------------------------------------------------------------------------------------- finding the CLI

def version_tuple(version: t.Optional[str]) -> t.Tuple[int, ...]:
    """``(1, 12, 1)`` from ``1.12.1`` (``(3, 8, 0)`` from ``3.8``); ``()`` when unknown."""
    match = _VERSION_PATTERN.search(version or "")
    return tuple(int(part or 0) for part in match.groups()) if match else ()


def version_at_least(version: t.Optional[str], minimum: str) -> bool:
    """Whether ``version`` is known and not older than ``minimum``."""
    found = version_tuple(version)
    return bool(found) and found >= version_tuple(minimum)


def parse_cli_version(text: str) -> t.Optional[str]:
    """``1.12.1`` from ``Databricks CLI v1.12.1``; None for anything else (such as the legacy Python CLI)."""
    match = _CLI_VERSION_PATTERN.search(text or "")
    return match.group(1) if match else None


def cli_version(cli: str, environ: t.Mapping[str, str]) -> t.Optional[str]:
    """The version of the Databricks CLI at ``cli``, None when it does not run or is not the (Go) Databricks CLI."""
    try:
        # This code also runs as the token helper, where Ansible is not importable.
        # pylint: disable-next=ansible-bad-function
        completed = subprocess.run([cli, "--version"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=clean_environment(environ),
                                   timeout=CLI_VERSION_TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if completed.returncode != 0:
        return None
    return parse_cli_version((completed.stdout + b"\n" + completed.stderr).decode("utf-8", "replace"))


def is_executable_file(path: str) -> bool:
    """Whether ``path`` is a file this user may run."""
    return os.path.isfile(path) and os.access(path, os.X_OK)


def cli_candidates(environ: t.Mapping[str, str], name: str = CLI_NAME,
                   search_dirs: t.Sequence[str] = CLI_SEARCH_DIRS) -> t.List[t.Tuple[str, bool]]:
    """``(path, on PATH)`` of every place to look for ``name``: PATH first, then ``search_dirs``.

    Installers put tools in places a non-interactive session's PATH often lacks; this is how every
    tool of the collection is looked for.
    """
    candidates = []  # type: t.List[t.Tuple[str, bool]]
    seen = set()  # type: t.Set[str]
    directories = [(directory, True) for directory in environ.get("PATH", "").split(os.pathsep)]
    directories += [(directory, False) for directory in search_dirs]
    for directory, on_path in directories:
        if not directory or (directory.startswith("~") and not environ.get("HOME")):
            continue
        candidate = os.path.abspath(os.path.join(expand_home(directory, environ), name))
        if candidate not in seen:
            seen.add(candidate)
            candidates.append((candidate, on_path))
    return candidates


class FoundCli(t.NamedTuple):
    """The outcome of a search for the Databricks CLI.

    ``path`` is None when none was found; ``problem`` then says why, for a person. ``skipped`` lists
    executables named ``databricks`` that are not the CLI (the legacy Python ``databricks-cli``).
    """

    path: t.Optional[str]
    version: t.Optional[str]
    on_path: bool = False
    skipped: t.Tuple[str, ...] = ()
    problem: t.Optional[str] = None

    @property
    def version_ok(self) -> bool:
        """Whether the CLI found is at least :data:`MIN_CLI_VERSION`."""
        return version_at_least(self.version, MIN_CLI_VERSION)


def find_cli(environ: t.Mapping[str, str], given: t.Optional[str] = None,
             version_of: t.Optional[t.Callable[[str], t.Optional[str]]] = None) -> FoundCli:
    """The Databricks CLI to use: ``given`` (a path, or a name looked up like the CLI itself), else the
    first Databricks CLI on PATH or in :data:`CLI_SEARCH_DIRS`.

    Executables named ``databricks`` that are not the Go CLI are skipped. The path is not resolved
    through symlinks: Homebrew's ``/opt/homebrew/bin/databricks`` stays valid across upgrades, the
    Cellar path behind it does not.
    """
    version_of = version_of or (lambda path: cli_version(path, environ))
    if given:
        name = expand_home(given, environ)
        if os.sep not in name:
            found = find_cli(environ, None, version_of) if name == CLI_NAME else None
            path = found.path if found else next(
                (candidate for candidate, _on_path in cli_candidates(environ, name) if is_executable_file(candidate)),
                None)
            if not path:
                return FoundCli(None, None, problem="%s was not found on PATH or in %s. %s"
                                % (given, ", ".join(CLI_SEARCH_DIRS), CLI_INSTALL_HINT))
            name = path
        path = os.path.abspath(name)
        if not is_executable_file(path):
            return FoundCli(None, None, problem="%s does not exist or is not executable. %s" % (path, CLI_INSTALL_HINT))
        version = version_of(path)
        if version is None:
            return FoundCli(None, None, skipped=(path,), problem=(
                "%s is not the Databricks CLI (`%s --version` does not print 'Databricks CLI vX.Y.Z'); the legacy "
                "Python databricks-cli cannot log in with OAuth. %s" % (path, path, CLI_INSTALL_HINT)))
        on_path = os.path.dirname(path) in [os.path.abspath(directory) for directory in
                                            environ.get("PATH", "").split(os.pathsep) if directory]
        return FoundCli(path, version, on_path)
    skipped = []  # type: t.List[str]
    for candidate, on_path in cli_candidates(environ):
        if not is_executable_file(candidate):
            continue
        version = version_of(candidate)
        if version is None:
            skipped.append(candidate)
            continue
        return FoundCli(candidate, version, on_path, tuple(skipped))
    problem = "The Databricks CLI was not found on PATH or in %s." % ", ".join(CLI_SEARCH_DIRS)
    if skipped:
        problem += " Skipped, as they are not the Databricks CLI: %s." % ", ".join(skipped)
    return FoundCli(None, None, skipped=tuple(skipped), problem=problem + " " + CLI_INSTALL_HINT)
