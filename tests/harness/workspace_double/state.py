"""Scenario, faults, request log and tokens of one workspace double.

:class:`DoubleState` is the single, thread-safe object behind the HTTP
handlers and the control API.  It holds:

* the *scenario*: a JSON document describing the workspace (serving
  endpoints and their states, the user, the reply text, timing, switches);
  see :data:`SCENARIO_KEYS` and ``tests/harness/README.md``;
* the :class:`~workspace_double.tokens.TokenStore`;
* injected *faults*;
* the *request log* (never containing token values).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import itertools
import threading
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass
from typing import Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

from .tokens import BearerCheck, OAuthError, TokenStore

DEFAULT_REPLY_TEXT = "Hello from the FMAPI workspace double."
# What the Codex (Responses API) and Gemini routes answer: it names the model and the route, so a
# test sees which endpoint an agent reached. ``{model}``, ``{api}``, ``{route}`` and ``{style}`` are
# expanded (see :func:`expand_reply`), in ``reply_text`` too.
DEFAULT_AGENT_REPLY_TEXT = "Hello from the FMAPI workspace double: {model} answered on {route}."
DEFAULT_CLIENT_ID = "databricks-cli"

# The model APIs of the gateway routes (the names Databricks lists in a foundation model's
# ``api_types``), and what each route of the double speaks.
API_ANTHROPIC_MESSAGES = "anthropic/v1/messages"
API_OPENAI_RESPONSES = "openai/v1/responses"
API_GEMINI_GENERATE = "gemini/v1/generateContent"
API_CHAT_COMPLETIONS = "mlflow/v1/chat/completions"
API_EMBEDDINGS = "mlflow/v1/embeddings"
CHAT_API_TYPES = (API_ANTHROPIC_MESSAGES, API_OPENAI_RESPONSES, API_GEMINI_GENERATE, API_CHAT_COMPLETIONS)
# Route family -> (API type, human name).
ROUTE_APIS = {
    "anthropic": (API_ANTHROPIC_MESSAGES, "Anthropic Messages API"),
    "codex": (API_OPENAI_RESPONSES, "OpenAI Responses API"),
    "gemini": (API_GEMINI_GENERATE, "Gemini generateContent API"),
}

READY_STATES = ("READY", "NOT_READY")
CONFIG_UPDATE_STATES = ("NOT_UPDATING", "IN_PROGRESS", "UPDATE_FAILED", "UPDATE_CANCELED")

# (name, display name, task) of the default Foundation Model API endpoints.
DEFAULT_ENDPOINTS = (
    ("databricks-claude-opus-4-6", "Claude Opus 4.6", "llm/v1/chat"),
    ("databricks-claude-sonnet-4-6", "Claude Sonnet 4.6", "llm/v1/chat"),
    ("databricks-claude-haiku-4-5", "Claude Haiku 4.5", "llm/v1/chat"),
    ("databricks-claude-sonnet-4-5", "Claude Sonnet 4.5", "llm/v1/chat"),
    ("databricks-claude-opus-4-5", "Claude Opus 4.5", "llm/v1/chat"),
    ("databricks-gpt-5-5", "GPT-5.5", "llm/v1/chat"),
    ("databricks-gpt-5-2", "GPT-5.2", "llm/v1/chat"),
    ("databricks-gemini-2-5-pro", "Gemini 2.5 Pro", "llm/v1/chat"),
    ("databricks-gemini-2-5-flash", "Gemini 2.5 Flash", "llm/v1/chat"),
    ("databricks-meta-llama-3-3-70b-instruct", "Meta Llama 3.3 70B Instruct", "llm/v1/chat"),
    ("databricks-gte-large-en", "GTE Large (En)", "llm/v1/embeddings"),
)

DEFAULT_USER = {
    "id": "4242424242424242",
    "userName": "developer@example.com",
    "displayName": "Developer Example",
}

# Every key a scenario may contain, with its default.
SCENARIO_KEYS = {
    "endpoints": None,  # filled from DEFAULT_ENDPOINTS
    "page_size": None,
    "reply_text": DEFAULT_REPLY_TEXT,
    "agent_reply_text": DEFAULT_AGENT_REPLY_TEXT,
    "ai_gateway": True,
    "require_coding_agent_header": True,
    "access_token_ttl_seconds": 3600,
    "refresh_token_ttl_seconds": None,
    "auth_code_ttl_seconds": 120,
    "rotate_refresh_tokens": True,
    "latency_ms": 0,
    "user": None,  # filled from DEFAULT_USER
    "workspace_id": "1234567890123456",
    "account_id": "0d4e6f8a-1b2c-4d3e-8f9a-0b1c2d3e4f5a",
    "host_metadata": True,
    "oauth_client_ids": [DEFAULT_CLIENT_ID],
}

_ENDPOINT_KEYS = (
    "name", "ready", "config_update", "task", "endpoint_type", "display_name",
    "creator", "id", "creation_timestamp", "last_updated_timestamp", "api_types", "external_model",
)
# Model family (by endpoint name) -> the APIs its gateway routes speak besides chat completions.
_FAMILY_APIS = (
    (("claude",), API_ANTHROPIC_MESSAGES),
    (("gpt", "codex"), API_OPENAI_RESPONSES),
    (("gemini",), API_GEMINI_GENERATE),
)
_EXTERNAL_PROVIDERS = {
    "anthropic": API_ANTHROPIC_MESSAGES,
    "openai": API_OPENAI_RESPONSES,
    "google-cloud-vertex-ai": API_GEMINI_GENERATE,
}
_FIXED_TIMESTAMP_MS = 1735689600000  # 2025-01-01T00:00:00Z: stable default timestamps
_LOG_LIMIT = 5000
_SENSITIVE_QUERY_KEYS = frozenset({
    "code", "code_verifier", "refresh_token", "access_token", "token", "client_secret", "id_token",
})


class ScenarioError(ValueError):
    """A scenario document or update is invalid."""


class NotFound(LookupError):
    """A named resource does not exist."""


def _endpoint_spec(item, index: int) -> dict:
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict):
        raise ScenarioError(f"endpoints[{index}] must be a name or an object, got {type(item).__name__}")
    unknown = sorted(set(item) - set(_ENDPOINT_KEYS))
    if unknown:
        raise ScenarioError(f"endpoints[{index}] has unknown keys {unknown}; valid keys: {list(_ENDPOINT_KEYS)}")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"endpoints[{index}].name must be a non-empty string")
    external = item.get("external_model")
    if external is not None and not (isinstance(external, dict) and set(external) <= {"provider", "name"}
                                     and all(isinstance(external.get(k), str) and external.get(k)
                                             for k in ("provider", "name"))):
        raise ScenarioError(f"endpoints[{index}].external_model must be an object with string provider and name")
    task = item.get("task", "llm/v1/chat")
    spec = {
        "name": name,
        "ready": item.get("ready", "READY"),
        "config_update": item.get("config_update", "NOT_UPDATING"),
        "task": task,
        "endpoint_type": item.get("endpoint_type", "EXTERNAL_MODEL" if external else "FOUNDATION_MODEL_API"),
        "display_name": item.get("display_name", name),
        "creator": item.get("creator", "system"),
        "id": item.get("id", hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]),
        "creation_timestamp": int(item.get("creation_timestamp", _FIXED_TIMESTAMP_MS)),
        "last_updated_timestamp": int(item.get("last_updated_timestamp", _FIXED_TIMESTAMP_MS)),
        "api_types": item.get("api_types", default_api_types(name, task, external)),
        "external_model": dict(external) if external else None,
    }
    api_types = spec["api_types"]
    if api_types is not None and not (isinstance(api_types, list) and all(isinstance(a, str) and a for a in api_types)):
        raise ScenarioError(f"endpoints[{index}].api_types must be null or a list of strings such as "
                            f"{list(CHAT_API_TYPES)}")
    if spec["ready"] not in READY_STATES:
        raise ScenarioError(f"endpoints[{index}].ready must be one of {list(READY_STATES)}")
    if spec["config_update"] not in CONFIG_UPDATE_STATES:
        raise ScenarioError(f"endpoints[{index}].config_update must be one of {list(CONFIG_UPDATE_STATES)}")
    return spec


def default_api_types(name: str, task: str = "llm/v1/chat", external_model: dict | None = None) -> list[str] | None:
    """The gateway APIs an endpoint serves unless its scenario entry lists ``api_types``.

    Embedding endpoints serve embeddings only.  A chat endpoint of a known family serves that
    family's API (Claude: Anthropic Messages, GPT/Codex: OpenAI Responses, Gemini: Gemini
    generateContent; an external model: its provider's) plus chat completions; another
    ``databricks-...`` one (Llama) chat completions only.  Any other chat endpoint (a custom
    name) gets ``None``: the workspace lists no APIs for it (so the collection must go by its
    name) and its routes accept every agent, so tests may point any agent at it.
    """
    if task == "llm/v1/embeddings":
        return [API_EMBEDDINGS]
    if task != "llm/v1/chat":
        return []
    if external_model:
        api = _EXTERNAL_PROVIDERS.get(external_model.get("provider", ""))
        return [api, API_CHAT_COMPLETIONS] if api else [API_CHAT_COMPLETIONS]
    lowered = name.lower()
    for words, api in _FAMILY_APIS:
        if any(word in lowered for word in words):
            return [api, API_CHAT_COMPLETIONS]
    if lowered.startswith("databricks-"):
        return [API_CHAT_COMPLETIONS]
    return None


def default_endpoints() -> list[dict]:
    """Endpoint specs of the default scenario (all READY)."""
    return [
        _endpoint_spec({"name": name, "display_name": display, "task": task}, index)
        for index, (name, display, task) in enumerate(DEFAULT_ENDPOINTS)
    ]


def default_scenario() -> dict:
    """A fresh copy of the default scenario."""
    scenario = copy.deepcopy(SCENARIO_KEYS)
    scenario["endpoints"] = default_endpoints()
    scenario["user"] = dict(DEFAULT_USER)
    return scenario


def _check_int(changes: dict, key: str, minimum: int, allow_none: bool = False) -> None:
    value = changes[key]
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        suffix = " or null" if allow_none else ""
        raise ScenarioError(f"{key} must be an integer >= {minimum}{suffix}")


def merge_scenario(base: dict, changes: dict) -> dict:
    """Return ``base`` with the top-level keys of ``changes`` replaced, validated."""
    if not isinstance(changes, dict):
        raise ScenarioError("a scenario must be a JSON object")
    unknown = sorted(set(changes) - set(SCENARIO_KEYS))
    if unknown:
        raise ScenarioError(f"unknown scenario keys {unknown}; valid keys: {sorted(SCENARIO_KEYS)}")
    result = copy.deepcopy(base)
    changes = copy.deepcopy(changes)
    if "endpoints" in changes:
        if not isinstance(changes["endpoints"], list):
            raise ScenarioError("endpoints must be a list")
        specs = [_endpoint_spec(item, index) for index, item in enumerate(changes["endpoints"])]
        names = [spec["name"] for spec in specs]
        if len(set(names)) != len(names):
            raise ScenarioError("endpoint names must be unique")
        changes["endpoints"] = specs
    for key in ("access_token_ttl_seconds", "auth_code_ttl_seconds"):
        if key in changes:
            _check_int(changes, key, 1)
    if "latency_ms" in changes:
        _check_int(changes, "latency_ms", 0)
    for key in ("page_size", "refresh_token_ttl_seconds"):
        if key in changes:
            _check_int(changes, key, 1, allow_none=True)
    for key in ("require_coding_agent_header", "rotate_refresh_tokens", "host_metadata", "ai_gateway"):
        if key in changes and not isinstance(changes[key], bool):
            raise ScenarioError(f"{key} must be true or false")
    for key in ("reply_text", "agent_reply_text", "workspace_id", "account_id"):
        if key in changes and not isinstance(changes[key], str):
            raise ScenarioError(f"{key} must be a string")
    if "user" in changes:
        user = changes["user"]
        if not isinstance(user, dict) or not all(isinstance(user.get(k), str) for k in ("id", "userName", "displayName")):
            raise ScenarioError("user must be an object with string id, userName and displayName")
    if "oauth_client_ids" in changes:
        ids = changes["oauth_client_ids"]
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise ScenarioError("oauth_client_ids must be a non-empty list of strings")
    result.update(changes)
    return result


def _served_entity(spec: dict) -> dict:
    if spec["external_model"]:
        return {
            "name": spec["name"],
            "external_model": dict(spec["external_model"], task=spec["task"]),
        }
    model = {
        "name": spec["name"],
        "display_name": spec["display_name"],
        "docs": f"https://docs.databricks.com/machine-learning/foundation-models/supported-models.html#{spec['name']}",
        "description": f"{spec['display_name']} served by the Foundation Model API.",
    }
    if spec["api_types"] is not None:
        model.update(ai_gateway_v2_supported=True, api_types=list(spec["api_types"]))
    return {"name": spec["name"], "entity_name": spec["name"], "foundation_model": model}


def render_endpoint(spec: dict) -> dict:
    """A serving endpoint as ``GET /api/2.0/serving-endpoints`` returns it."""
    return {
        "name": spec["name"],
        "id": spec["id"],
        "creator": spec["creator"],
        "creation_timestamp": spec["creation_timestamp"],
        "last_updated_timestamp": spec["last_updated_timestamp"],
        "state": {"ready": spec["ready"], "config_update": spec["config_update"]},
        "task": spec["task"],
        "endpoint_type": spec["endpoint_type"],
        "permission_level": "CAN_QUERY",
        "config": {"served_entities": [_served_entity(spec)]},
        "tags": [],
    }


def render_gateway_endpoint(spec: dict) -> dict:
    """An endpoint as the AI Gateway v2 list (``GET /api/ai-gateway/v2/endpoints``) shows it."""
    if spec["external_model"]:
        destination = {"name": spec["name"], "type": "EXTERNAL_MODEL", "traffic_percentage": 100}
    else:
        destination = {"name": "system.ai." + spec["name"].removeprefix("databricks-"),
                       "type": "PAY_PER_TOKEN_FOUNDATION_MODEL", "traffic_percentage": 100}
    rendered = {
        "name": spec["name"],
        "id": spec["id"],
        "creator": spec["creator"],
        "creation_timestamp": spec["creation_timestamp"],
        "last_updated_timestamp": spec["last_updated_timestamp"],
        "state": {"ready": spec["ready"]},
        "task": spec["task"],
        "config": {"destinations": [destination], "routing_strategy": "REQUEST_BASED_TRAFFIC_SPLIT"},
    }
    if spec["api_types"] is not None:
        rendered["api_types"] = list(spec["api_types"])
    return rendered


def expand_reply(template: str, model: str = "", api: str = "", route: str = "") -> str:
    """Fill ``{model}``, ``{api}`` (anthropic|codex|gemini), ``{route}`` (the path prefix, e.g.
    ``/ai-gateway/codex/v1``) and ``{style}`` (serving-endpoints|ai-gateway) into a reply text.

    Plain replacement: any other braces stay as they are.
    """
    style = route.strip("/").split("/", 1)[0] if route else ""
    for name, value in (("model", model), ("api", api), ("route", route), ("style", style)):
        template = template.replace("{" + name + "}", value)
    return template


def encode_page_token(offset: int) -> str:
    """Opaque page token for serving-endpoint pagination."""
    return base64.urlsafe_b64encode(f"offset:{offset}".encode("ascii")).decode("ascii")


def decode_page_token(token: str) -> int:
    """Inverse of :func:`encode_page_token`; ``ScenarioError`` when malformed."""
    try:
        text = base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii")
        prefix, dummy, number = text.partition(":")
        offset = int(number)
    except (UnicodeError, ValueError, binascii.Error) as exc:
        raise ScenarioError(f"Invalid page_token '{token}'") from exc
    if prefix != "offset" or offset < 0:
        raise ScenarioError(f"Invalid page_token '{token}'")
    return offset


@dataclass
class Fault:
    """An injected failure.

    A fault applies to requests whose path starts with ``path_prefix`` (and
    whose method is ``method``, if given).  With ``status`` the double answers
    with that status instead of handling the request; with
    ``reject_all_bearers`` every bearer token is treated as invalid (401);
    ``delay_ms`` adds latency.  ``count`` is how many requests it applies to
    (``None``: until deleted).
    """

    id: str
    path_prefix: str = "/"
    method: str | None = None
    status: int | None = None
    body: object = None
    count: int | None = 1
    reject_all_bearers: bool = False
    delay_ms: int = 0
    applied: int = 0

    @classmethod
    def from_request(cls, data: dict) -> "Fault":
        """Validate a fault posted to the control API."""
        if not isinstance(data, dict):
            raise ScenarioError("a fault must be a JSON object")
        allowed = {"path_prefix", "method", "status", "body", "count", "reject_all_bearers", "delay_ms"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ScenarioError(f"unknown fault keys {unknown}; valid keys: {sorted(allowed)}")
        fault = cls(id=uuid.uuid4().hex[:12], **data)
        if not isinstance(fault.path_prefix, str) or not fault.path_prefix.startswith("/"):
            raise ScenarioError("path_prefix must be a string starting with '/'")
        if fault.path_prefix.startswith("/_double"):
            raise ScenarioError("faults cannot target the control API")
        if fault.method is not None:
            if not isinstance(fault.method, str):
                raise ScenarioError("method must be a string")
            fault.method = fault.method.upper()
        if fault.status is not None and (isinstance(fault.status, bool) or not isinstance(fault.status, int)
                                         or not 100 <= fault.status <= 599):
            raise ScenarioError("status must be an HTTP status code")
        if fault.count is not None and (isinstance(fault.count, bool) or not isinstance(fault.count, int)
                                        or fault.count < 1):
            raise ScenarioError("count must be a positive integer or null")
        if not isinstance(fault.reject_all_bearers, bool):
            raise ScenarioError("reject_all_bearers must be true or false")
        if isinstance(fault.delay_ms, bool) or not isinstance(fault.delay_ms, int) or fault.delay_ms < 0:
            raise ScenarioError("delay_ms must be an integer >= 0")
        if fault.status is None and not fault.reject_all_bearers and not fault.delay_ms:
            raise ScenarioError("a fault needs status, reject_all_bearers or delay_ms")
        return fault

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request."""
        return path.startswith(self.path_prefix) and (self.method is None or self.method == method)


def redact_query(query: dict) -> dict:
    """Copy of a parsed query string with secret-bearing parameters redacted."""
    return {
        key: ["REDACTED"] * len(values) if key in _SENSITIVE_QUERY_KEYS else list(values)
        for key, values in query.items()
    }


def _valid_redirect_uri(uri: str) -> bool:
    """Loopback HTTP redirect URIs only, as registered for ``databricks-cli``."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    return parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1") and port is not None and not parts.fragment


class DoubleState:  # pylint: disable=too-many-public-methods
    """Thread-safe state of one workspace double."""

    def __init__(self, base_url: str = "https://127.0.0.1", scenario: dict | None = None,
                 clock: Callable[[], float] = time.time):
        self._lock = threading.RLock()
        self._clock = clock
        self._base_url = base_url.rstrip("/")
        self._initial_changes = copy.deepcopy(scenario or {})
        self._scenario = merge_scenario(default_scenario(), self._initial_changes)
        self.tokens = TokenStore(issuer=f"{self._base_url}/oidc", clock=clock)
        self._faults: list[Fault] = []
        self._log: deque = deque(maxlen=_LOG_LIMIT)
        self._seq = itertools.count(1)
        # A request is numbered when it arrives and logged when it is answered. The generation
        # lets reset() / clear_requests() drop answers to requests that arrived before them.
        self._generation = 0

    # ------------------------------------------------------------ basics
    @property
    def base_url(self) -> str:
        """Public URL of the double, e.g. ``https://127.0.0.1:8443``."""
        return self._base_url

    def set_base_url(self, url: str) -> None:
        """Record the URL once the server is bound (the issuer depends on it)."""
        with self._lock:
            self._base_url = url.rstrip("/")
            self.tokens.issuer = f"{self._base_url}/oidc"

    def now(self) -> float:
        """Current time according to the injected clock."""
        return self._clock()

    def reset(self, scenario: dict | None = None) -> None:
        """Back to the initial scenario (plus ``scenario`` changes), no tokens, faults or log."""
        with self._lock:
            base = merge_scenario(default_scenario(), self._initial_changes)
            self._scenario = merge_scenario(base, scenario or {})
            self.tokens.clear()
            self._faults.clear()
            self._log.clear()
            self._generation += 1

    # ---------------------------------------------------------- scenario
    def scenario(self) -> dict:
        """A copy of the current scenario."""
        with self._lock:
            return copy.deepcopy(self._scenario)

    def setting(self, key: str):
        """One scenario value (copied)."""
        with self._lock:
            return copy.deepcopy(self._scenario[key])

    def update_scenario(self, changes: dict) -> dict:
        """Replace the given top-level scenario keys; return the new scenario."""
        with self._lock:
            self._scenario = merge_scenario(self._scenario, changes)
            return copy.deepcopy(self._scenario)

    def host_metadata(self) -> dict | None:
        """Body of ``/.well-known/databricks-config`` (None when disabled)."""
        with self._lock:
            if not self._scenario["host_metadata"]:
                return None
            return {
                "oidc_endpoint": f"{self._base_url}/oidc",
                "account_id": self._scenario["account_id"],
                "workspace_id": self._scenario["workspace_id"],
                "cloud": "aws",
                "host_type": "workspace",
                "token_federation_default_oidc_audiences": [f"{self._base_url}/oidc/v1/token"],
            }

    def oauth_metadata(self) -> dict:
        """Body of ``/oidc/.well-known/oauth-authorization-server``."""
        base = self._base_url
        return {
            "issuer": f"{base}/oidc",
            "authorization_endpoint": f"{base}/oidc/v1/authorize",
            "token_endpoint": f"{base}/oidc/v1/token",
            "revocation_endpoint": f"{base}/oidc/v1/revoke",
            "jwks_uri": f"{base}/oidc/jwks.json",
            "userinfo_endpoint": f"{base}/oidc/v1/userinfo",
            "response_types_supported": ["code", "id_token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["all-apis", "offline_access", "openid", "profile", "email", "sql"],
            "claims_supported": ["iss", "sub", "aud", "iat", "exp", "jti", "name", "email"],
            "request_uri_parameter_supported": False,
        }

    # --------------------------------------------------------- endpoints
    def list_endpoints(self, page_size: int | None = None, page_token: str | None = None) -> dict:
        """``GET /api/2.0/serving-endpoints``; paginated only when asked to."""
        with self._lock:
            specs = copy.deepcopy(self._scenario["endpoints"])
            size = page_size or self._scenario["page_size"]
        if not size:
            if page_token:
                raise ScenarioError(f"Invalid page_token '{page_token}'")
            return {"endpoints": [render_endpoint(spec) for spec in specs]}
        offset = decode_page_token(page_token) if page_token else 0
        page = specs[offset:offset + size]
        body: dict = {"endpoints": [render_endpoint(spec) for spec in page]}
        if offset + size < len(specs):
            body["next_page_token"] = encode_page_token(offset + size)
        return body

    def list_gateway_endpoints(self, page_size: int | None = None, page_token: str | None = None) -> dict:
        """``GET /api/ai-gateway/v2/endpoints``: every endpoint, paginated by ``page_size``."""
        with self._lock:
            specs = copy.deepcopy(self._scenario["endpoints"])
        offset = decode_page_token(page_token) if page_token else 0
        page = specs[offset:offset + page_size] if page_size else specs[offset:]
        body: dict = {"endpoints": [render_gateway_endpoint(spec) for spec in page]}
        if page_size and offset + page_size < len(specs):
            body["next_page_token"] = encode_page_token(offset + page_size)
        return body

    def ai_gateway_enabled(self) -> bool:
        """Whether the AI Gateway (v2 API and ``/ai-gateway/...`` routes) is on."""
        with self._lock:
            return bool(self._scenario["ai_gateway"])

    def reply_for(self, api: str, model: str, route: str = "") -> str:
        """The answer text of a model route: ``reply_text`` for the Anthropic route,
        ``agent_reply_text`` for the Codex and Gemini routes, placeholders expanded."""
        key = "reply_text" if api == "anthropic" else "agent_reply_text"
        with self._lock:
            template = self._scenario[key]
        return expand_reply(template, model, api, route)

    def endpoint_spec(self, name: str) -> dict:
        """One endpoint's scenario entry (a copy); raises :class:`NotFound`."""
        with self._lock:
            for spec in self._scenario["endpoints"]:
                if spec["name"] == name:
                    return copy.deepcopy(spec)
        raise NotFound(f"Endpoint with name '{name}' does not exist.")

    def get_endpoint(self, name: str) -> dict:
        """One endpoint by name; raises :class:`NotFound`."""
        with self._lock:
            for spec in self._scenario["endpoints"]:
                if spec["name"] == name:
                    return render_endpoint(spec)
        raise NotFound(f"Endpoint with name '{name}' does not exist.")

    # ------------------------------------------------------------- OAuth
    def authorize(self, params: dict) -> tuple[int, str, dict | None]:
        """Handle ``GET /oidc/v1/authorize``.

        Returns ``(302, location, None)`` on success and for errors that may be
        reported to the client's redirect URI, or ``(400, "", error_body)``
        when the client or its redirect URI cannot be trusted (RFC 6749 4.1.2.1).
        """
        def one(key: str) -> str:
            values = params.get(key) or [""]
            return values[0]

        client_id = one("client_id")
        redirect_uri = one("redirect_uri")
        with self._lock:
            allowed_clients = list(self._scenario["oauth_client_ids"])
            code_ttl = self._scenario["auth_code_ttl_seconds"]
            subject = self._scenario["user"]["userName"]
        if client_id not in allowed_clients:
            return 400, "", OAuthError("invalid_client", f"Unknown client_id '{client_id}'").as_body()
        if not _valid_redirect_uri(redirect_uri):
            return 400, "", OAuthError("invalid_request", f"Invalid redirect_uri '{redirect_uri}'").as_body()

        state = one("state")
        error: OAuthError | None = None
        if one("response_type") != "code":
            error = OAuthError("unsupported_response_type", "response_type must be 'code'")
        elif not one("code_challenge"):
            error = OAuthError("invalid_request", "PKCE is required: missing code_challenge")
        elif one("code_challenge_method") != "S256":
            error = OAuthError("invalid_request", "code_challenge_method must be S256")
        elif not state:
            error = OAuthError("invalid_request", "Missing required parameter: state")
        query: dict = {}
        if error is not None:
            query = {"error": error.error, "error_description": error.description}
        else:
            scope = one("scope") or "all-apis"
            with self._lock:
                query["code"] = self.tokens.create_code(
                    client_id, redirect_uri, one("code_challenge"), scope, subject, code_ttl
                )
        if state:
            query["state"] = state
        parts = urlsplit(redirect_uri)
        existing = f"{parts.query}&" if parts.query else ""
        location = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", existing + urlencode(query), ""))
        return 302, location, None

    def token(self, form: dict) -> dict:
        """Handle ``POST /oidc/v1/token``; raises :class:`OAuthError`."""
        def one(key: str) -> str:
            values = form.get(key) or [""]
            return values[0]

        grant_type = one("grant_type")
        with self._lock:
            access_ttl = self._scenario["access_token_ttl_seconds"]
            refresh_ttl = self._scenario["refresh_token_ttl_seconds"]
            rotate = self._scenario["rotate_refresh_tokens"]
            allowed_clients = self._scenario["oauth_client_ids"]
            if grant_type == "authorization_code":
                if one("client_id") not in allowed_clients:
                    raise OAuthError("invalid_client", f"Unknown client_id '{one('client_id')}'", status=401)
                return self.tokens.redeem_code(
                    one("code"), one("code_verifier"), one("client_id"), one("redirect_uri"), access_ttl, refresh_ttl
                )
            if grant_type == "refresh_token":
                return self.tokens.refresh(one("refresh_token"), one("client_id"), access_ttl, refresh_ttl, rotate)
        if not grant_type:
            raise OAuthError("invalid_request", "Missing required parameter: grant_type")
        raise OAuthError("unsupported_grant_type", f"Unsupported grant_type '{grant_type}'")

    def issue_tokens(self, ttl_seconds: int | None = None, scope: str = "offline_access all-apis",
                     client_id: str = DEFAULT_CLIENT_ID) -> dict:
        """Mint a token pair directly (control API; no browser needed)."""
        with self._lock:
            ttl = ttl_seconds or self._scenario["access_token_ttl_seconds"]
            return self.tokens.issue_pair(
                self._scenario["user"]["userName"], client_id, scope, ttl, self._scenario["refresh_token_ttl_seconds"]
            )

    def check_bearer(self, token: str | None) -> BearerCheck:
        """Classify a bearer token."""
        with self._lock:
            return self.tokens.check_bearer(token)

    def expire_access_tokens(self) -> int:
        """Control: every issued access token becomes expired."""
        with self._lock:
            return self.tokens.expire_access_tokens()

    def invalidate_refresh_tokens(self) -> int:
        """Control: every refresh token becomes invalid."""
        with self._lock:
            return self.tokens.invalidate_refresh_tokens()

    def revoke_all_tokens(self) -> int:
        """Control: revoke every token and PAT."""
        with self._lock:
            return self.tokens.revoke_all()

    def token_summary(self) -> dict:
        """Control: token counts."""
        with self._lock:
            return self.tokens.summary()

    # -------------------------------------------------------------- PATs
    def create_pat(self, comment: str = "", lifetime_seconds: int | None = None,
                   creation_time_ms: int | None = None) -> dict:
        """``POST /api/2.0/token/create``."""
        with self._lock:
            user = self._scenario["user"]
            value, record = self.tokens.create_pat(
                comment, lifetime_seconds, int(user["id"]) if user["id"].isdigit() else 0, user["userName"],
                creation_time_ms,
            )
            return {"token_value": value, "token_info": record.info()}

    def list_pats(self) -> dict:
        """``GET /api/2.0/token/list``."""
        with self._lock:
            return {"token_infos": [record.info() for record in self.tokens.list_pats()]}

    def delete_pat(self, token_id: str) -> None:
        """``POST /api/2.0/token/delete``; raises :class:`NotFound`."""
        with self._lock:
            if not self.tokens.delete_pat(token_id):
                raise NotFound(f"Token with id '{token_id}' does not exist.")

    # ------------------------------------------------------------ faults
    def add_fault(self, data: dict) -> dict:
        """Control: register a fault; return it."""
        fault = Fault.from_request(data)
        with self._lock:
            self._faults.append(fault)
        return asdict(fault)

    def faults(self) -> list[dict]:
        """Control: active faults."""
        with self._lock:
            return [asdict(fault) for fault in self._faults]

    def clear_faults(self, fault_id: str | None = None) -> int:
        """Control: delete one fault, or all; return how many were removed."""
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if fault_id is not None and f.id != fault_id]
            return before - len(self._faults)

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The first fault matching a request, consumed once (copy returned)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.applied += 1
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self._faults.remove(fault)
                    return copy.copy(fault)
        return None

    # --------------------------------------------------------------- log
    def arrival(self) -> dict:
        """Number a request as it arrives: ``{"seq": n, "generation": g}`` for :meth:`record`.

        The log stays in arrival order even when a quick next request is answered (and recorded)
        before the thread that answered the previous one records it, and a request that arrived
        before a reset is not logged after it.
        """
        with self._lock:
            return {"seq": next(self._seq), "generation": self._generation}

    def record(self, entry: dict) -> dict | None:
        """Log a request (the caller must not include secrets); None when a reset came since it arrived."""
        with self._lock:
            entry = dict(entry)
            generation = entry.pop("generation", self._generation)
            if generation != self._generation:
                return None
            if "seq" not in entry:
                entry["seq"] = next(self._seq)
            if len(self._log) == self._log.maxlen:
                self._log.popleft()  # deque.insert refuses a full deque; the oldest goes, as append would drop it
            position = len(self._log)
            while position and self._log[position - 1]["seq"] > entry["seq"]:
                position -= 1
            self._log.insert(position, entry)
            return entry

    def requests(self, path_prefix: str | None = None, since: int = 0) -> list[dict]:
        """Control: the request log, oldest first."""
        with self._lock:
            return [
                copy.deepcopy(entry) for entry in self._log
                if entry["seq"] > since and (path_prefix is None or entry["path"].startswith(path_prefix))
            ]

    def clear_requests(self) -> int:
        """Control: empty the request log."""
        with self._lock:
            count = len(self._log)
            self._log.clear()
            self._generation += 1
            return count
