"""HTTPS server of the workspace double: Databricks REST, OIDC, the Anthropic
gateway route, a read-only release mirror and the ``/_double/`` control API.

Use :class:`WorkspaceDouble` to run one in a background thread::

    with WorkspaceDouble(state_dir) as double:
        print(double.url, double.ca_file)

Routes (everything else answers 404 with a Databricks-shaped JSON body, or
the API's own error shape below a model route prefix, and is logged; with the
scenario's ``ai_gateway`` off every ``/ai-gateway/...`` path answers 404):

=======  ====================================================  ==============
GET      /.well-known/databricks-config                        host metadata
GET      /oidc/.well-known/oauth-authorization-server          OAuth metadata
GET      /oidc/.well-known/openid-configuration                same document
GET      /oidc/jwks.json                                       empty key set
GET      /oidc/v1/authorize                                    PKCE authorize
POST     /oidc/v1/token                                        code / refresh
GET      /api/2.0/serving-endpoints[/{name}]                   bearer needed
GET      /api/2.0/token/list, POST .../token/create|delete     bearer needed
GET      /api/2.0/preview/scim/v2/Me                           bearer needed
GET      /api/ai-gateway/v2/endpoints                          bearer; 404 when AI Gateway is off
POST     /{serving-endpoints,ai-gateway}/anthropic/v1/messages[/count_tokens]
POST     /{serving-endpoints,ai-gateway}/codex/v1/responses    OpenAI Responses API (SSE)
GET      /{serving-endpoints,ai-gateway}/codex/v1/models       Codex model list
POST     /{serving-endpoints,ai-gateway}/gemini/v1beta/models/{model}:streamGenerateContent
         (also :generateContent, :countTokens)                 Gemini API
GET      /mirror/{file}                                        with a mirror
GET      /mirror/npm/{package}                                 npm registry document (tarballs in npm/)
*        /_double/...                                          control API
=======  ====================================================  ==============
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import logging
import mimetypes
import os
import re
import shutil
import socket
import ssl
import tempfile
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from . import anthropic, gemini, npm_registry, responses
from .state import ROUTE_APIS, DoubleState, NotFound, ScenarioError, redact_query
from .tls import DEFAULT_HOSTS, ensure_certificates
from .tokens import BEARER_EXPIRED, BEARER_NONE, BEARER_REVOKED, BearerCheck, OAuthError, token_fingerprint

LOG = logging.getLogger("workspace_double")

STATE_FILE = "double.json"
# The mirror's folder of npm package tarballs, served as an npm registry (``--registry <url>/mirror/npm/``).
NPM_FOLDER = "npm"
CODING_AGENT_HEADER = "x-databricks-use-coding-agent-mode"
_MAX_BODY = 32 * 1024 * 1024
_ANTHROPIC_PREFIXES = ("/serving-endpoints/anthropic", "/ai-gateway/anthropic")
AI_GATEWAY_PREFIX = "/ai-gateway"
AI_GATEWAY_ENDPOINTS = "/api/ai-gateway/v2/endpoints"
# Route family -> the path prefixes an agent's base URL may end with (serving-endpoints, AI Gateway).
MODEL_ROUTES = {
    "anthropic": _ANTHROPIC_PREFIXES,
    "codex": ("/serving-endpoints/codex/v1", "/ai-gateway/codex/v1"),
    "gemini": ("/serving-endpoints/gemini", "/ai-gateway/gemini"),
}
_GEMINI_CALL = re.compile(r"/v1beta/models/([^/:]+):(streamGenerateContent|generateContent|countTokens)")
# Error "type" of the Anthropic and OpenAI bodies by status.
_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error", 503: "api_error"}
_OPENAI_ERRORS = {400: ("invalid_request_error", None), 401: ("invalid_request_error", "invalid_api_key"),
                  404: ("invalid_request_error", "model_not_found"), 503: ("server_error", "endpoint_not_ready")}
_REDACTED_HEADER_WORDS = ("authorization", "api-key", "token", "secret", "cookie", "password")
_BEARER_MESSAGES = {
    BEARER_NONE: "Credential was not sent or was of an unsupported type for this API.",
    BEARER_EXPIRED: "Invalid access token: the token has expired.",
    BEARER_REVOKED: "Invalid access token: the token has been revoked.",
}


def _json_bytes(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def _utc_now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class _HttpError(Exception):
    """Abort a handler with a ready-made response."""

    def __init__(self, status: int, body: dict, headers: dict | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _rest_error(status: int, code: str, message: str) -> _HttpError:
    return _HttpError(status, {"error_code": code, "message": message})


def _anthropic_error(status: int, error_type: str, message: str) -> _HttpError:
    return _HttpError(status, anthropic.error_body(error_type, message))


def route_family(path: str) -> tuple[str | None, str | None]:
    """``(family, prefix)`` of a model route path (``("codex", "/ai-gateway/codex/v1")``), else ``(None, None)``."""
    for family, prefixes in MODEL_ROUTES.items():
        for prefix in prefixes:
            if path == prefix or path.startswith(prefix + "/"):
                return family, prefix
    return None, None


def _model_error(family: str | None, status: int, message: str) -> _HttpError:
    """An error in the shape of the route's API (Databricks REST shape elsewhere)."""
    if family == "anthropic":
        return _anthropic_error(status, _ANTHROPIC_TYPES.get(status, "api_error"), message)
    if family == "codex":
        error_type, code = _OPENAI_ERRORS.get(status, ("server_error", None))
        return _HttpError(status, responses.error_body(message, error_type, code))
    if family == "gemini":
        return _HttpError(status, gemini.error_body(status, message))
    code = {401: "UNAUTHENTICATED", 404: "ENDPOINT_NOT_FOUND"}.get(status, "INVALID_PARAMETER_VALUE")
    return _rest_error(status, code, message)


class DoubleRequestHandler(BaseHTTPRequestHandler):
    """One HTTP request against the double (see the module docstring)."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm and the client's
    # delayed ACK every answer would wait ~40 ms.
    disable_nagle_algorithm = True
    server_version = "fmapi-workspace-double/1.0"
    timeout = 120
    server: "DoubleHTTPServer"

    # pylint: disable=invalid-name
    def do_GET(self) -> None:
        """Dispatch GET."""
        self._dispatch()

    def do_HEAD(self) -> None:
        """Dispatch HEAD (mirror files only send headers)."""
        self._dispatch()

    def do_POST(self) -> None:
        """Dispatch POST."""
        self._dispatch()

    def do_PUT(self) -> None:
        """Dispatch PUT."""
        self._dispatch()

    def do_PATCH(self) -> None:
        """Dispatch PATCH."""
        self._dispatch()

    def do_DELETE(self) -> None:
        """Dispatch DELETE."""
        self._dispatch()
    # pylint: enable=invalid-name

    def setup(self) -> None:
        """Per-connection initialisation."""
        super().setup()
        self._entry: dict = {}
        self._status = 0

    def log_message(self, format, *args) -> None:  # pylint: disable=redefined-builtin
        """Route http.server's access log to the ``workspace_double`` logger."""
        LOG.debug("%s %s", self.address_string(), format % args)

    # ------------------------------------------------------------ plumbing
    @property
    def state(self) -> DoubleState:
        """The shared state."""
        return self.server.state

    def _dispatch(self) -> None:
        started = time.monotonic()
        parts = urlsplit(self.path)
        path = unquote(parts.path) or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        self._entry = {
            **self.state.arrival(),
            "time": _utc_now_iso(),
            "method": self.command,
            "path": path,
            "query": query,
            "headers": self._loggable_headers(),
            "bearer_status": BEARER_NONE,
            "token_kind": None,
            "token_fingerprint": None,
            "detail": {},
        }
        self._status = 0
        control = path == "/_double" or path.startswith("/_double/")
        try:
            body = self._read_body()
            if control:
                self._control(path, query, body)
            elif self.server.mirror_only:
                self._mirror(path, "/")
            else:
                self._serve(path, query, body)
        except _HttpError as exc:
            self._send_json(exc.status, exc.body, exc.headers)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError) as exc:
            LOG.debug("client went away during %s %s: %s", self.command, path, exc)
            self.close_connection = True
        except Exception as exc:  # pylint: disable=broad-exception-caught
            LOG.error("internal error on %s %s\n%s", self.command, path, traceback.format_exc())
            self._entry["detail"]["internal_error"] = repr(exc)
            if not self._status:
                self._send_json(500, {"error_code": "INTERNAL_ERROR", "message": f"workspace double: {exc!r}"})
        finally:
            if not control:
                self._entry["query"] = redact_query(query)
                self._entry["status"] = self._status
                self._entry["duration_ms"] = int((time.monotonic() - started) * 1000)
                self.state.record(self._entry)
                LOG.info("%s %s -> %s", self.command, path, self._status)

    def _loggable_headers(self) -> dict:
        headers = {}
        for name, value in self.headers.items():
            key = name.lower()
            if any(word in key for word in _REDACTED_HEADER_WORDS):
                value = "REDACTED"
            headers[key] = value
        return headers

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(65537).split(b";")[0].strip()
                size = int(line or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > _MAX_BODY:
                    raise _rest_error(413, "REQUEST_LIMIT_EXCEEDED", "Request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self.close_connection = True
            raise _rest_error(413, "REQUEST_LIMIT_EXCEEDED", "Request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _send_bytes(self, status: int, data: bytes, content_type: str, headers: dict | None = None,
                    head_only: bool = False) -> None:
        self._status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if data and not head_only and self.command != "HEAD":
            self.wfile.write(data)

    def _send_json(self, status: int, obj, headers: dict | None = None) -> None:
        self._send_bytes(status, _json_bytes(obj), "application/json", headers)

    def _json_body(self, body: bytes, anthropic_errors: bool = False) -> dict:
        if not body.strip():
            return {}
        try:
            data = json.loads(body)
        except ValueError as exc:
            if anthropic_errors:
                raise _anthropic_error(400, "invalid_request_error", f"Request body is not valid JSON: {exc}") from exc
            raise _rest_error(400, "MALFORMED_REQUEST", f"Request body is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            if anthropic_errors:
                raise _anthropic_error(400, "invalid_request_error", "Request body must be a JSON object")
            raise _rest_error(400, "MALFORMED_REQUEST", "Request body must be a JSON object")
        return data

    def _presented_token(self, key_header: str | None = "x-api-key", key_accepted: bool = True) -> str | None:
        """The token of a model route: ``Authorization: Bearer``, else (when ``key_accepted``)
        ``key_header``.  ``detail.auth_source`` names the headers that came."""
        auth = self.headers.get("Authorization", "")
        api_key = self.headers.get(key_header, "").strip() if key_header else ""
        sources = []
        token = None
        if auth[:7].lower() == "bearer " and auth[7:].strip():
            token = auth[7:].strip()
            sources.append("authorization")
        if api_key:
            if key_accepted:
                token = token or api_key
            sources.append(key_header)
            if token and token != api_key:
                self._entry["detail"]["api_key_differs"] = True
        if sources:
            self._entry["detail"]["auth_source"] = "+".join(sources)
        return token

    def _check_bearer(self, token: str | None, fault) -> BearerCheck:
        if token:
            self._entry["token_fingerprint"] = token_fingerprint(token)
        check = self.state.check_bearer(token)
        self._entry["bearer_status"] = check.status
        self._entry["token_kind"] = check.kind
        if fault is not None and fault.reject_all_bearers:
            self._entry["detail"]["rejected_by_fault"] = fault.id
            return BearerCheck(BEARER_REVOKED, check.kind, check.subject)
        return check

    def _require_rest_auth(self, fault) -> BearerCheck:
        auth = self.headers.get("Authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if token:
            self._entry["detail"]["auth_source"] = "authorization"
        check = self._check_bearer(token, fault)
        if not check.valid:
            message = _BEARER_MESSAGES.get(check.status, "Invalid access token.")
            raise _rest_error(401, "UNAUTHENTICATED", message)
        return check

    # ------------------------------------------------------------- routing
    def _serve(self, path: str, query: dict, body: bytes) -> None:
        fault = self.state.take_fault(self.command, path)
        delay = self.state.setting("latency_ms") + (fault.delay_ms if fault else 0)
        if delay:
            time.sleep(delay / 1000.0)
        if fault is not None:
            self._entry["fault"] = fault.id
            if fault.status is not None:
                self._send_fault(path, fault)
                return
        method = self.command
        if method == "GET" and path == "/.well-known/databricks-config":
            metadata = self.state.host_metadata()
            if metadata is None:
                raise _rest_error(404, "ENDPOINT_NOT_FOUND", f"No API found for 'GET {path}'")
            self._send_json(200, metadata)
        elif method == "GET" and path in ("/oidc/.well-known/oauth-authorization-server",
                                          "/oidc/.well-known/openid-configuration"):
            self._send_json(200, self.state.oauth_metadata())
        elif method == "GET" and path == "/oidc/jwks.json":
            self._send_json(200, {"keys": []})
        elif method == "GET" and path == "/oidc/v1/authorize":
            self._authorize(query)
        elif method == "POST" and path == "/oidc/v1/token":
            self._token(body)
        elif path.startswith("/api/"):
            self._rest(method, path, query, body, fault)
        elif (path == AI_GATEWAY_PREFIX or path.startswith(AI_GATEWAY_PREFIX + "/")) \
                and not self.state.ai_gateway_enabled():
            self._entry["detail"]["ai_gateway"] = "disabled"
            self._not_found(path)
        elif route_family(path)[0] is not None:
            self._model_route(path, query, body, fault)
        elif method in ("GET", "HEAD") and path.startswith("/mirror/") and self.server.mirror_dir:
            self._mirror(path, "/mirror/")
        elif method in ("GET", "HEAD") and path == "/":
            # A workspace's front page (what a reachability probe or a browser gets first).
            self._send_bytes(200, b"<!doctype html><title>Databricks workspace double</title>\n", "text/html")
        else:
            self._not_found(path)

    def _not_found(self, path: str) -> None:
        self._entry["detail"]["unknown_route"] = True
        LOG.warning("unknown route %s %s", self.command, path)
        family = route_family(path)[0]
        if family is not None:
            raise _model_error(family, 404, f"No route for {self.command} {path}")
        raise _rest_error(404, "ENDPOINT_NOT_FOUND", f"No API found for '{self.command} {path}'")

    def _send_fault(self, path: str, fault) -> None:
        family = route_family(path)[0]
        if fault.body is not None:
            self._send_json(fault.status, fault.body)
        elif path.startswith("/oidc/"):
            self._send_json(fault.status, {"error": "server_error", "error_description": "Injected fault"})
        elif family == "anthropic":
            self._send_json(fault.status, anthropic.error_body("api_error", "Injected fault"))
        elif family == "codex":
            self._send_json(fault.status, responses.error_body("Injected fault", "server_error"))
        elif family == "gemini":
            self._send_json(fault.status, gemini.error_body(fault.status, "Injected fault"))
        else:
            self._send_json(fault.status, {"error_code": "INTERNAL_ERROR", "message": "Injected fault"})

    # --------------------------------------------------------------- OAuth
    def _authorize(self, query: dict) -> None:
        detail = self._entry["detail"]
        for key in ("client_id", "redirect_uri", "response_type", "scope", "code_challenge_method"):
            if key in query:
                detail[key] = query[key][0]
        detail["code_challenge"] = "present" if query.get("code_challenge", [""])[0] else "missing"
        status, location, error = self.state.authorize(query)
        if error is not None:
            detail["error"] = error["error"]
            self._send_json(status, error)
            return
        detail["outcome"] = "error" if "error=" in location.split("?", 1)[-1] else "code"
        self._send_bytes(302, b"", "text/plain", {"Location": location, "Cache-Control": "no-store"})

    def _token(self, body: bytes) -> None:
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        auth = self.headers.get("Authorization", "")
        if auth[:6].lower() == "basic " and "client_id" not in form:
            try:
                client_id = base64.b64decode(auth[6:]).decode("utf-8").split(":", 1)[0]
                form["client_id"] = [client_id]
            except (ValueError, UnicodeDecodeError):
                pass
        detail = self._entry["detail"]
        detail["grant_type"] = form.get("grant_type", [""])[0]
        detail["client_id"] = form.get("client_id", [""])[0]
        if detail["grant_type"] == "authorization_code":
            detail["code_verifier"] = "present" if form.get("code_verifier", [""])[0] else "missing"
            detail["redirect_uri"] = form.get("redirect_uri", [""])[0]
        try:
            response = self.state.token(form)
        except OAuthError as exc:
            detail["error"] = exc.error
            detail["error_description"] = exc.description
            self._send_json(exc.status, exc.as_body(), {"Cache-Control": "no-store"})
            return
        if detail["grant_type"] == "authorization_code":
            detail["pkce"] = "verified"
        detail["outcome"] = "issued"
        self._send_json(200, response, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    # ---------------------------------------------------------------- REST
    def _rest(self, method: str, path: str, query: dict, body: bytes, fault) -> None:
        endpoint_match = re.fullmatch(r"/api/2\.0/serving-endpoints/([^/]+)", path)
        if method == "GET" and path == AI_GATEWAY_ENDPOINTS:
            self._gateway_endpoints(query, fault)
            return
        known = (
            (method == "GET" and path in ("/api/2.0/serving-endpoints", "/api/2.0/token/list",
                                          "/api/2.0/preview/scim/v2/Me"))
            or (method == "GET" and endpoint_match is not None)
            or (method == "POST" and path in ("/api/2.0/token/create", "/api/2.0/token/delete"))
        )
        if not known:
            self._not_found(path)
        check = self._require_rest_auth(fault)
        if path == "/api/2.0/serving-endpoints":
            self._list_endpoints(query)
        elif endpoint_match is not None:
            try:
                self._send_json(200, self.state.get_endpoint(endpoint_match.group(1)))
            except NotFound as exc:
                raise _rest_error(404, "RESOURCE_DOES_NOT_EXIST", str(exc)) from exc
        elif path == "/api/2.0/token/list":
            self._send_json(200, self.state.list_pats())
        elif path == "/api/2.0/token/create":
            data = self._json_body(body)
            lifetime = data.get("lifetime_seconds")
            if lifetime is not None and (isinstance(lifetime, bool) or not isinstance(lifetime, int)):
                raise _rest_error(400, "INVALID_PARAMETER_VALUE", "lifetime_seconds must be an integer")
            self._send_json(200, self.state.create_pat(str(data.get("comment") or ""), lifetime))
        elif path == "/api/2.0/token/delete":
            token_id = self._json_body(body).get("token_id")
            if not isinstance(token_id, str) or not token_id:
                raise _rest_error(400, "INVALID_PARAMETER_VALUE", "token_id is required")
            try:
                self.state.delete_pat(token_id)
            except NotFound as exc:
                raise _rest_error(404, "RESOURCE_DOES_NOT_EXIST", str(exc)) from exc
            self._send_json(200, {})
        else:
            self._scim_me(check)

    def _list_endpoints(self, query: dict, lister=None) -> None:
        """One page of endpoints (``page_size``/``page_token`` from the query) from ``lister``
        (default: the serving-endpoints list)."""
        page_size = None
        raw_size = query.get("page_size", [""])[0]
        if raw_size:
            try:
                page_size = int(raw_size)
            except ValueError:
                page_size = -1
            if page_size < 1:
                raise _rest_error(400, "INVALID_PARAMETER_VALUE", f"Invalid page_size '{raw_size}'")
        try:
            body = (lister or self.state.list_endpoints)(page_size, query.get("page_token", [""])[0] or None)
        except ScenarioError as exc:
            raise _rest_error(400, "INVALID_PARAMETER_VALUE", str(exc)) from exc
        self._entry["detail"]["returned"] = len(body["endpoints"])
        self._send_json(200, body)

    def _gateway_endpoints(self, query: dict, fault) -> None:
        """``GET /api/ai-gateway/v2/endpoints``: what tools probe to learn whether AI Gateway v2 is on."""
        if not self.state.ai_gateway_enabled():
            self._entry["detail"]["ai_gateway"] = "disabled"
            raise _rest_error(404, "ENDPOINT_NOT_FOUND", f"No API found for 'GET {AI_GATEWAY_ENDPOINTS}'")
        self._require_rest_auth(fault)
        self._list_endpoints(query, self.state.list_gateway_endpoints)

    def _scim_me(self, check: BearerCheck) -> None:
        user = self.state.setting("user")
        given, dummy, family = user["displayName"].partition(" ")
        self._entry["detail"]["subject"] = check.subject
        self._send_json(200, {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:workspace:2.0:User"],
            "id": user["id"],
            "userName": user["userName"],
            "displayName": user["displayName"],
            "active": True,
            "name": {"givenName": given, "familyName": family},
            "emails": [{"type": "work", "value": user["userName"], "primary": True}],
            "groups": [{"display": "users", "type": "direct", "value": "1000000000000001"}],
            "entitlements": [{"value": "workspace-access"}],
        })

    # ------------------------------------------------------- model routes
    def _model_route(self, path: str, query: dict, body: bytes, fault) -> None:
        family, prefix = route_family(path)
        route = path[len(prefix):]
        method = self.command
        self._entry["detail"]["api"] = family
        if family == "anthropic":
            if method == "POST" and route in ("/v1/messages", "/v1/messages/count_tokens"):
                self._anthropic(prefix, route, body, fault)
                return
            if method in ("GET", "HEAD") and route.endswith("/api/hello"):
                # Claude Code's connectivity preflight (sent unless non-essential
                # traffic is disabled); it tolerates a 404, which is what a gateway
                # without the route answers.
                self._entry["detail"]["preflight"] = True
                raise _anthropic_error(404, "not_found_error", f"No route for {method} {path}")
        elif family == "codex":
            if method == "POST" and route == "/responses":
                self._codex_responses(prefix, body, fault)
                return
            if method == "GET" and route == "/models":
                self._codex_models(query, fault)
                return
        elif family == "gemini":
            call = _GEMINI_CALL.fullmatch(route)
            if method == "POST" and call is not None:
                self._gemini(prefix, call.group(1), call.group(2), query, body, fault)
                return
        self._not_found(path)

    def _model_auth(self, family: str, fault) -> None:
        """Check the token of a model route like the Anthropic one always did; 401 in the API's shape.

        Claude: ``Authorization: Bearer`` or ``x-api-key``; Codex: ``Authorization: Bearer``;
        Gemini: ``Authorization: Bearer`` (``x-goog-api-key`` is recorded, not accepted alone:
        Gemini CLI sends the bearer only with ``GEMINI_API_KEY_AUTH_MECHANISM=bearer``).
        """
        if family == "anthropic":
            token = self._presented_token("x-api-key")
        elif family == "gemini":
            token = self._presented_token("x-goog-api-key", key_accepted=False)
        else:
            token = self._presented_token(None)
        check = self._check_bearer(token, fault)
        if check.valid:
            return
        if check.status == BEARER_NONE:
            message = {
                "anthropic": "Missing credentials: send an access token as 'Authorization: Bearer' or 'x-api-key'.",
                "gemini": "Missing credentials: send an access token as 'Authorization: Bearer' "
                          "(Gemini CLI: GEMINI_API_KEY_AUTH_MECHANISM=bearer); x-goog-api-key alone is not accepted.",
            }.get(family, "Missing credentials: send an access token as 'Authorization: Bearer'.")
        elif check.status == BEARER_EXPIRED:
            message = "Invalid access token: the token has expired."
        else:
            message = "Invalid access token."
        raise _model_error(family, 401, message)

    def _model_endpoint(self, family: str, model) -> dict:
        """The serving endpoint a model request names: it must exist (404), be READY (503), be a chat
        endpoint (400) and serve the route's API (400, see ``api_types``; ``None`` serves every API)."""
        api_type, api_name = ROUTE_APIS[family]
        self._entry["detail"]["model"] = model
        if not isinstance(model, str) or not model:
            raise _model_error(family, 400, "model: Field required")
        try:
            spec = self.state.endpoint_spec(model)
        except NotFound as exc:
            raise _model_error(family, 404, str(exc)) from exc
        if spec["ready"] != "READY":
            raise _model_error(family, 503, f"Endpoint '{model}' is not ready (state NOT_READY).")
        if spec["task"] != "llm/v1/chat":
            what = "the Messages API" if family == "anthropic" else f"the {api_name}"
            raise _model_error(family, 400, f"Endpoint '{model}' (task {spec['task']}) does not support {what}.")
        if spec["api_types"] is not None and api_type not in spec["api_types"]:
            raise _model_error(family, 400, f"Endpoint '{model}' does not support the {api_name} "
                                            f"(it serves {', '.join(spec['api_types']) or 'no gateway API'}).")
        return spec

    def _model_json(self, family: str, body: bytes) -> dict:
        try:
            return self._json_body(body)
        except _HttpError as exc:
            raise _model_error(family, exc.status, exc.body.get("message", "Invalid request body")) from exc

    # ----------------------------------------------------------- Anthropic
    def _anthropic(self, prefix: str, route: str, body: bytes, fault) -> None:
        detail = self._entry["detail"]
        self._model_auth("anthropic", fault)
        header = self.headers.get(CODING_AGENT_HEADER)
        detail["coding_agent_header"] = header
        if self.state.setting("require_coding_agent_header") and (header or "").strip().lower() != "true":
            raise _anthropic_error(
                400, "invalid_request_error",
                f"Missing required header '{CODING_AGENT_HEADER}: true': coding agents must identify themselves "
                "(set ANTHROPIC_CUSTOM_HEADERS).",
            )
        data = self._json_body(body, anthropic_errors=True)
        model = data.get("model")
        detail["stream"] = bool(data.get("stream"))
        self._model_endpoint("anthropic", model)
        input_tokens = anthropic.estimate_tokens(body.decode("utf-8", "replace"))
        if route.endswith("/count_tokens"):
            self._send_json(200, {"input_tokens": input_tokens})
            return
        reply = self.state.reply_for("anthropic", model, prefix)
        if not data.get("stream"):
            self._send_json(200, anthropic.message(model, reply, input_tokens))
            return
        self._stream(anthropic.stream_events(model, reply, input_tokens))

    # --------------------------------------------------------------- Codex
    def _codex_responses(self, prefix: str, body: bytes, fault) -> None:
        """``POST <prefix>/responses``: the OpenAI Responses API as Codex CLI uses it."""
        detail = self._entry["detail"]
        self._model_auth("codex", fault)
        detail["coding_agent_header"] = self.headers.get(CODING_AGENT_HEADER)
        data = self._model_json("codex", body)
        model = data.get("model")
        detail["stream"] = bool(data.get("stream"))
        self._model_endpoint("codex", model)
        input_tokens = anthropic.estimate_tokens(body.decode("utf-8", "replace"))
        reply = self.state.reply_for("codex", model, prefix)
        if not data.get("stream"):
            self._send_json(200, responses.response_object(model, reply, input_tokens))
            return
        self._stream(responses.stream_events(model, reply, input_tokens))

    def _codex_models(self, query: dict, fault) -> None:
        """``GET <prefix>/models?client_version=...``: the READY chat endpoints that speak the Responses API."""
        self._model_auth("codex", fault)
        self._entry["detail"]["client_version"] = query.get("client_version", [None])[0]
        api_type = ROUTE_APIS["codex"][0]
        listed = [(spec["name"], spec["display_name"]) for spec in self.state.setting("endpoints")
                  if spec["ready"] == "READY" and spec["task"] == "llm/v1/chat"
                  and (spec["api_types"] is None or api_type in spec["api_types"])]
        self._entry["detail"]["returned"] = len(listed)
        self._send_json(200, responses.models_list(listed))

    # -------------------------------------------------------------- Gemini
    def _gemini(self, prefix: str, model: str, call: str, query: dict, body: bytes, fault) -> None:
        """``POST <prefix>/v1beta/models/{model}:{call}`` as Gemini CLI uses it."""
        detail = self._entry["detail"]
        detail["call"] = call
        detail["alt"] = query.get("alt", [None])[0]
        self._model_auth("gemini", fault)
        detail["coding_agent_header"] = self.headers.get(CODING_AGENT_HEADER)
        self._model_json("gemini", body)
        detail["stream"] = call == "streamGenerateContent"
        self._model_endpoint("gemini", model)
        input_tokens = anthropic.estimate_tokens(body.decode("utf-8", "replace"))
        if call == "countTokens":
            self._send_json(200, {"totalTokens": input_tokens})
            return
        reply = self.state.reply_for("gemini", model, prefix)
        if call == "generateContent":
            self._send_json(200, gemini.generate_response(model, reply, input_tokens))
            return
        chunks = gemini.stream_chunks(model, reply, input_tokens)
        if detail["alt"] == "sse":
            self._stream(chunks)
            return
        # Without alt=sse the API streams one JSON array of the same chunks.
        bodies = [json.loads(chunk.decode("utf-8")[len("data: "):]) for chunk in chunks]
        self._send_json(200, bodies)

    def _stream(self, events: list[bytes]) -> None:
        self._status = 200
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in events:
            self.wfile.write(f"{len(event):x}\r\n".encode("ascii") + event + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # -------------------------------------------------------------- mirror
    def _mirror(self, path: str, prefix: str) -> None:
        root = self.server.mirror_dir
        if self.command not in ("GET", "HEAD") or not root or not path.startswith(prefix):
            raise _rest_error(404, "ENDPOINT_NOT_FOUND", f"No file at '{path}'")
        relative = path[len(prefix):]
        real_root = os.path.realpath(root)
        target = os.path.realpath(os.path.join(real_root, relative))
        if relative.startswith(NPM_FOLDER + "/") and not os.path.isfile(target):
            self._npm_packument(relative[len(NPM_FOLDER) + 1:], prefix)
            return
        if not target.startswith(real_root + os.sep) or not os.path.isfile(target):
            raise _rest_error(404, "RESOURCE_DOES_NOT_EXIST", f"No file at '{path}'")
        content_type = mimetypes.guess_type(target)[0] or "application/octet-stream"
        size = os.path.getsize(target)
        self._entry["detail"]["file"] = relative
        self._status = 200
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if self.command == "GET":
            with open(target, "rb") as handle:
                shutil.copyfileobj(handle, self.wfile)

    def _npm_packument(self, name: str, prefix: str) -> None:
        """``GET <mirror>/npm/<name>``: the registry document of a package whose tarballs are in ``npm/``
        (see :mod:`.npm_registry`); npm's own 404 body when there are none."""
        self._entry["detail"]["npm_package"] = name
        if not npm_registry.PACKAGE_NAME.fullmatch(name):
            self._send_json(404, {"error": "Not found"})
            return
        host = self.headers.get("Host") or urlsplit(self.state.base_url).netloc
        document = self.server.npm_folder().packument(name, f"https://{host}{prefix}{NPM_FOLDER}/")
        if document is None:
            self._send_json(404, {"error": "Not found"})
            return
        self._entry["detail"]["npm_versions"] = sorted(document["versions"])
        self._send_json(200, document)

    # ------------------------------------------------------------- control
    def _control(self, path: str, query: dict, body: bytes) -> None:
        if not _is_loopback(self.client_address[0]):
            raise _rest_error(403, "PERMISSION_DENIED", "The control API is only available on loopback")
        try:
            self._control_route(self.command, path[len("/_double"):] or "/", query, body)
        except ScenarioError as exc:
            raise _rest_error(400, "INVALID_PARAMETER_VALUE", str(exc)) from exc

    def _control_route(self, method: str, route: str, query: dict, body: bytes) -> None:  # noqa: C901
        # pylint: disable=too-many-branches,too-many-return-statements
        state = self.state
        data = self._json_body(body) if method in ("POST", "PUT") else {}
        if route in ("/", "/health") and method == "GET":
            self._send_json(200, {"ok": True, "url": state.base_url, "ca_file": self.server.ca_file,
                                  "mirror_dir": self.server.mirror_dir})
        elif route == "/requests" and method == "GET":
            prefix = query.get("path_prefix", [None])[0]
            since = int(query.get("since", ["0"])[0] or 0)
            self._send_json(200, {"requests": state.requests(prefix, since)})
        elif route == "/requests" and method == "DELETE":
            self._send_json(200, {"deleted": state.clear_requests()})
        elif route == "/scenario" and method == "GET":
            self._send_json(200, state.scenario())
        elif route == "/scenario" and method in ("PUT", "PATCH"):
            if method == "PATCH":
                data = self._json_body(body)
            self._send_json(200, state.update_scenario(data))
        elif route == "/reset" and method == "POST":
            state.reset(data or None)
            self._send_json(200, state.scenario())
        elif route == "/tokens" and method == "GET":
            self._send_json(200, state.token_summary())
        elif route == "/tokens/issue" and method == "POST":
            ttl = data.get("ttl_seconds")
            if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1):
                raise ScenarioError("ttl_seconds must be a positive integer")
            self._send_json(200, state.issue_tokens(ttl, data.get("scope") or "offline_access all-apis",
                                                    data.get("client_id") or "databricks-cli"))
        elif route == "/tokens/expire-access" and method == "POST":
            self._send_json(200, {"affected": state.expire_access_tokens()})
        elif route == "/tokens/invalidate-refresh" and method == "POST":
            self._send_json(200, {"affected": state.invalidate_refresh_tokens()})
        elif route == "/tokens/revoke-all" and method == "POST":
            self._send_json(200, {"affected": state.revoke_all_tokens()})
        elif route == "/faults" and method == "GET":
            self._send_json(200, {"faults": state.faults()})
        elif route == "/faults" and method == "POST":
            self._send_json(200, state.add_fault(data))
        elif route == "/faults" and method == "DELETE":
            self._send_json(200, {"deleted": state.clear_faults()})
        elif route.startswith("/faults/") and method == "DELETE":
            removed = state.clear_faults(route[len("/faults/"):])
            if not removed:
                raise _rest_error(404, "RESOURCE_DOES_NOT_EXIST", "No such fault")
            self._send_json(200, {"deleted": removed})
        elif route == "/pats" and method == "GET":
            self._send_json(200, state.list_pats())
        elif route == "/pats" and method == "POST":
            lifetime = data.get("lifetime_seconds")
            created = data.get("creation_time")
            for key, value in (("lifetime_seconds", lifetime), ("creation_time", created)):
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    raise ScenarioError(f"{key} must be an integer")
            self._send_json(200, state.create_pat(str(data.get("comment") or ""), lifetime, created))
        else:
            raise _rest_error(404, "ENDPOINT_NOT_FOUND", f"No control API for '{method} /_double{route}'")


class DoubleHTTPServer(ThreadingHTTPServer):
    """Threading HTTPS server; TLS handshakes happen in the worker threads."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], state: DoubleState, ssl_context: ssl.SSLContext,
                 ca_file: str = "", mirror_dir: str | None = None, mirror_only: bool = False):
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, DoubleRequestHandler)
        self.state = state
        self.ssl_context = ssl_context
        self.ca_file = ca_file
        self.mirror_dir = os.path.abspath(mirror_dir) if mirror_dir else None
        self.mirror_only = mirror_only
        self._npm_folder: npm_registry.NpmFolder | None = None

    def npm_folder(self) -> "npm_registry.NpmFolder":
        """The mirror's npm packages (manifests and digests read once per tarball)."""
        if self._npm_folder is None:
            self._npm_folder = npm_registry.NpmFolder(os.path.join(self.mirror_dir or "", NPM_FOLDER))
        return self._npm_folder

    def finish_request(self, request, client_address) -> None:
        """Wrap the accepted socket in TLS (in the worker thread), then handle it."""
        try:
            request.settimeout(30)
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            LOG.debug("TLS handshake with %s failed: %s", client_address, exc)
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        """Log handler crashes instead of printing them to stderr."""
        LOG.debug("error while serving %s\n%s", client_address, traceback.format_exc())


def server_ssl_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """TLS 1.2+ server context offering HTTP/1.1 only."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    context.set_alpn_protocols(["http/1.1"])
    return context


def write_state_file(path: str, info: dict) -> None:
    """Atomically write the JSON that tells other processes where the double is."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(info, handle)
        handle.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


class WorkspaceDouble:
    """A running double: certificates, state and a server thread.

    :param state_dir: where the CA/certificates (and ``double.json``) go.
    :param host: address to bind; the URL always uses it (``127.0.0.1``).
    :param port: 0 picks a free port.
    :param scenario: scenario changes applied on top of the default.
    :param mirror_dir: serve this directory read-only under ``/mirror/``
        (or at ``/`` when ``mirror_only``).
    :param state_file: name of the JSON file written into ``state_dir`` once
        listening (``None``: don't write one).
    :param ai_gateway: whether the workspace has AI Gateway v2 (the scenario's
        ``ai_gateway``; ``None`` keeps the scenario's value, default on).  Off:
        ``GET /api/ai-gateway/v2/endpoints`` and every ``/ai-gateway/...`` route answer 404.
        It survives :meth:`DoubleState.reset` (it is part of the initial scenario).
    """

    def __init__(self, state_dir: str, host: str = "127.0.0.1", port: int = 0, scenario: dict | None = None,
                 mirror_dir: str | None = None, mirror_only: bool = False, state_file: str | None = STATE_FILE,
                 ai_gateway: bool | None = None):
        self.state_dir = os.path.abspath(state_dir)
        self.host = host
        self.port = port
        hosts = tuple(dict.fromkeys((host,) + DEFAULT_HOSTS)) if host not in ("0.0.0.0", "::") else DEFAULT_HOSTS
        self.certs = ensure_certificates(self.state_dir, hosts)
        if ai_gateway is not None:
            scenario = dict(scenario or {}, ai_gateway=bool(ai_gateway))
        self.state = DoubleState(scenario=scenario)
        self._mirror_dir = mirror_dir
        self._mirror_only = mirror_only
        self._state_file = os.path.join(self.state_dir, state_file) if state_file else None
        self._server: DoubleHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def ca_file(self) -> str:
        """Path of the CA certificate clients must trust."""
        return self.certs.ca_file

    @property
    def control(self):
        """A :class:`~workspace_double.control.DoubleClient` for this double."""
        from .control import DoubleClient  # pylint: disable=import-outside-toplevel
        return DoubleClient(self.url, self.ca_file)

    def info(self) -> dict:
        """What ``double.json`` contains."""
        return {"url": self.url, "ca_file": self.ca_file, "pid": os.getpid(), "state_dir": self.state_dir,
                "mirror_url": (f"{self.url}/mirror/" if self._mirror_dir and not self._mirror_only else
                               (f"{self.url}/" if self._mirror_only else None))}

    def start(self) -> "WorkspaceDouble":
        """Bind, start serving in a daemon thread and write the state file."""
        context = server_ssl_context(self.certs.cert_file, self.certs.key_file)
        self._server = DoubleHTTPServer((self.host, self.port), self.state, context, self.ca_file,
                                        self._mirror_dir, self._mirror_only)
        port = self._server.server_address[1]
        url_host = f"[{self.host}]" if ":" in self.host else self.host
        if self.host in ("0.0.0.0", "::"):
            url_host = "127.0.0.1"
        self.url = f"https://{url_host}:{port}"
        self.state.set_base_url(self.url)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"workspace-double-{port}", daemon=True)
        self._thread.start()
        if self._state_file:
            write_state_file(self._state_file, self.info())
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def wait(self) -> None:
        """Block until :meth:`stop` is called from another thread."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def __enter__(self) -> "WorkspaceDouble":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
