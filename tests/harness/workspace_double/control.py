"""Client for the double's ``/_double/`` control API (standard library only).

Usable from pytest, from Molecule (``python3 -c`` / a ``script`` step with
this package on ``PYTHONPATH``) or replaced by plain curl::

    curl --cacert "$CA" -X POST "$URL/_double/tokens/expire-access"
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request
from urllib.parse import urlencode

from .state import expand_reply
from .tokens import token_fingerprint


class ControlError(RuntimeError):
    """The control API answered with an error status."""

    def __init__(self, status: int, body: str):
        super().__init__(f"control API error {status}: {body}")
        self.status = status
        self.body = body


class DoubleClient:
    """Thin JSON client of the control API.

    :param url: the double's base URL (``https://127.0.0.1:PORT``).
    :param ca_file: the double's CA certificate.
    """

    def __init__(self, url: str, ca_file: str, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.ca_file = ca_file
        self.timeout = timeout
        self._context = ssl.create_default_context(cafile=ca_file)
        # The double is on loopback: never route control calls through a proxy.
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=self._context)
        )

    @classmethod
    def from_state_dir(cls, state_dir: str, state_file: str = "double.json") -> "DoubleClient":
        """Build a client from the ``double.json`` a ``serve`` process wrote."""
        with open(os.path.join(state_dir, state_file), encoding="utf-8") as handle:
            info = json.load(handle)
        return cls(info["url"], info["ca_file"])

    def call(self, method: str, path: str, body: dict | None = None, query: dict | None = None):
        """Send one request to ``/_double{path}``; return the decoded JSON."""
        url = f"{self.url}/_double{path}"
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise ControlError(exc.code, exc.read().decode("utf-8", "replace")) from exc
        return json.loads(raw) if raw else None

    # ------------------------------------------------------------ helpers
    def health(self) -> dict:
        """``GET /_double/health``."""
        return self.call("GET", "/health")

    def requests(self, path_prefix: str | None = None, since: int = 0) -> list[dict]:
        """The request log (optionally only paths starting with ``path_prefix``)."""
        return self.call("GET", "/requests", query={"path_prefix": path_prefix, "since": since or None})["requests"]

    def clear_requests(self) -> int:
        """Empty the request log."""
        return self.call("DELETE", "/requests")["deleted"]

    def scenario(self) -> dict:
        """The current scenario."""
        return self.call("GET", "/scenario")

    def update_scenario(self, **changes) -> dict:
        """Replace top-level scenario keys, e.g. ``update_scenario(page_size=50)``."""
        return self.call("PUT", "/scenario", changes)

    def reset(self, **scenario) -> dict:
        """Back to the initial scenario; forget tokens, faults and the log."""
        return self.call("POST", "/reset", scenario)

    def set_ai_gateway(self, enabled: bool) -> dict:
        """Turn the workspace's AI Gateway v2 on or off (scenario ``ai_gateway``; ``reset()`` restores the
        initial value).  Off: ``GET /api/ai-gateway/v2/endpoints`` and every ``/ai-gateway/...`` route 404."""
        return self.update_scenario(ai_gateway=bool(enabled))

    def expected_reply(self, api: str, model: str, route: str = "") -> str:
        """The text a model route answers now: ``api`` is ``anthropic``, ``codex`` or ``gemini``, ``route``
        the path prefix the agent used (e.g. ``/ai-gateway/codex/v1``), see the scenario's
        ``reply_text`` / ``agent_reply_text``."""
        scenario = self.scenario()
        return expand_reply(scenario["reply_text"] if api == "anthropic" else scenario["agent_reply_text"],
                            model, api, route)

    @staticmethod
    def token_fingerprint(token: str) -> str:
        """What the request log's ``token_fingerprint`` holds for ``token`` (SHA-256, 16 hex digits)."""
        return token_fingerprint(token)

    def set_endpoint_state(self, name: str, ready: str | None = None, config_update: str | None = None) -> dict:
        """Change one endpoint's state (read-modify-write of the scenario)."""
        endpoints = self.scenario()["endpoints"]
        for endpoint in endpoints:
            if endpoint["name"] == name:
                if ready is not None:
                    endpoint["ready"] = ready
                if config_update is not None:
                    endpoint["config_update"] = config_update
                break
        else:
            raise KeyError(name)
        return self.update_scenario(endpoints=endpoints)

    def add_endpoints(self, names: list) -> dict:
        """Append endpoints (names or endpoint objects) to the scenario."""
        return self.update_scenario(endpoints=self.scenario()["endpoints"] + list(names))

    def issue_tokens(self, ttl_seconds: int | None = None, scope: str | None = None) -> dict:
        """Mint an access/refresh token pair without the browser flow."""
        body = {key: value for key, value in (("ttl_seconds", ttl_seconds), ("scope", scope)) if value is not None}
        return self.call("POST", "/tokens/issue", body)

    def issue_access_token(self, ttl_seconds: int | None = None) -> str:
        """Just the access token of :meth:`issue_tokens`."""
        return self.issue_tokens(ttl_seconds)["access_token"]

    def token_summary(self) -> dict:
        """Counts of issued tokens."""
        return self.call("GET", "/tokens")

    def expire_access_tokens(self) -> int:
        """Every access token issued so far becomes expired."""
        return self.call("POST", "/tokens/expire-access", {})["affected"]

    def invalidate_refresh_tokens(self) -> int:
        """Every refresh token becomes invalid (the session 'expires')."""
        return self.call("POST", "/tokens/invalidate-refresh", {})["affected"]

    def revoke_all_tokens(self) -> int:
        """Revoke all tokens and PATs."""
        return self.call("POST", "/tokens/revoke-all", {})["affected"]

    def add_fault(self, path_prefix: str = "/", **fault) -> dict:
        """Inject a fault, e.g. ``add_fault("/oidc/v1/token", status=500, count=2)``."""
        return self.call("POST", "/faults", dict(fault, path_prefix=path_prefix))

    def faults(self) -> list[dict]:
        """Active faults."""
        return self.call("GET", "/faults")["faults"]

    def clear_faults(self) -> int:
        """Remove every fault."""
        return self.call("DELETE", "/faults")["deleted"]

    def create_pat(self, comment: str = "", lifetime_seconds: int | None = None,
                   creation_time: int | None = None) -> dict:
        """Seed a personal access token; returns ``{"token_value", "token_info"}``."""
        body: dict = {"comment": comment}
        if lifetime_seconds is not None:
            body["lifetime_seconds"] = lifetime_seconds
        if creation_time is not None:
            body["creation_time"] = creation_time
        return self.call("POST", "/pats", body)

    def pats(self) -> list[dict]:
        """PATs as the token list API shows them."""
        return self.call("GET", "/pats")["token_infos"]
