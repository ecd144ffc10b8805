"""Unit and protocol tests of the workspace double itself.

The first half tests the pure logic (PKCE, JWT, rotation, pagination,
faults, scenario validation, certificates) with an injected clock; the
second half talks HTTPS to a running double with ``requests``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import stat
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from cryptography import x509

from workspace_double import WorkspaceDouble, anthropic, gemini, responses
from workspace_double.control import ControlError, DoubleClient
from workspace_double.state import (
    DoubleState,
    ScenarioError,
    decode_page_token,
    default_api_types,
    encode_page_token,
    expand_reply,
    merge_scenario,
)
from workspace_double.tls import ensure_certificates
from workspace_double.tokens import (
    REFRESH_TOKEN_INVALID,
    JwtSigner,
    OAuthError,
    decode_jwt_claims_unverified,
    pkce_s256,
    token_fingerprint,
)

HARNESS = os.path.dirname(os.path.abspath(__file__))
REDIRECT = "http://localhost:8020"


class Clock:
    """A controllable clock."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _authorize(state: DoubleState, verifier: str, **overrides) -> str:
    params = {
        "client_id": "databricks-cli", "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "offline_access all-apis", "state": "st-123",
        "code_challenge": pkce_s256(verifier), "code_challenge_method": "S256",
    }
    params.update(overrides)
    status, location, error = state.authorize({k: [v] for k, v in params.items() if v is not None})
    assert (status, error) == (302, None)
    return location


def _code_from(location: str) -> str:
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["st-123"]
    return query["code"][0]


def _exchange(state: DoubleState, code: str, verifier: str, **overrides) -> dict:
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "client_id": "databricks-cli", "redirect_uri": REDIRECT}
    form.update(overrides)
    return state.token({k: [v] for k, v in form.items()})


def _refresh(state: DoubleState, refresh_token: str) -> dict:
    return state.token({"grant_type": ["refresh_token"], "refresh_token": [refresh_token],
                        "client_id": ["databricks-cli"]})


# --------------------------------------------------------------------- units
def test_pkce_s256_matches_rfc7636_example():
    assert pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_jwt_roundtrip_and_tamper_detection():
    signer = JwtSigner()
    token = signer.encode({"sub": "a", "exp": 5})
    assert signer.decode(token) == {"sub": "a", "exp": 5}
    header, payload, signature = token.split(".")
    forged_payload = base64.urlsafe_b64encode(b'{"exp":9999999999,"sub":"a"}').rstrip(b"=").decode()
    assert signer.decode(f"{header}.{forged_payload}.{signature}") is None
    assert JwtSigner().decode(token) is None, "another server's secret must not verify"
    assert signer.decode("not-a-jwt") is None
    assert signer.decode(f"{header}.{payload}") is None


def test_authorization_code_flow_with_pkce_issues_jwt_pair():
    clock = Clock()
    state = DoubleState("https://127.0.0.1:1234", clock=clock)
    verifier = secrets.token_urlsafe(48)
    code = _code_from(_authorize(state, verifier))
    tokens = _exchange(state, code, verifier)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert tokens["refresh_token"].startswith("doau")
    claims = decode_jwt_claims_unverified(tokens["access_token"])
    assert claims["iss"] == "https://127.0.0.1:1234/oidc"
    assert claims["sub"] == "developer@example.com"
    assert claims["aud"] == "databricks-cli"
    assert claims["scope"] == "offline_access all-apis"
    assert claims["exp"] - claims["iat"] == 3600
    assert state.check_bearer(tokens["access_token"]).status == "valid"
    clock.now += 3600
    assert state.check_bearer(tokens["access_token"]).status == "expired"


def test_pkce_mismatch_is_rejected_and_code_is_single_use():
    state = DoubleState(clock=Clock())
    verifier = secrets.token_urlsafe(48)
    code = _code_from(_authorize(state, verifier))
    with pytest.raises(OAuthError) as err:
        _exchange(state, code, secrets.token_urlsafe(48))
    assert err.value.error == "invalid_grant" and "PKCE" in err.value.description
    # The failed attempt consumed the code.
    with pytest.raises(OAuthError, match="already been used"):
        _exchange(state, code, verifier)

    code = _code_from(_authorize(state, verifier))
    _exchange(state, code, verifier)
    with pytest.raises(OAuthError, match="already been used"):
        _exchange(state, code, verifier)


def test_code_requires_verifier_matching_redirect_and_freshness():
    clock = Clock()
    state = DoubleState(clock=clock)
    verifier = secrets.token_urlsafe(48)
    with pytest.raises(OAuthError) as err:
        _exchange(state, _code_from(_authorize(state, verifier)), "")
    assert err.value.error == "invalid_request"
    with pytest.raises(OAuthError, match="redirect_uri"):
        _exchange(state, _code_from(_authorize(state, verifier)), verifier, redirect_uri="http://localhost:9999")
    code = _code_from(_authorize(state, verifier))
    clock.now += 121
    with pytest.raises(OAuthError, match="expired"):
        _exchange(state, code, verifier)
    with pytest.raises(OAuthError) as err:
        _exchange(state, "made-up-code", verifier)
    assert err.value.error == "invalid_grant"


def test_authorize_rejects_bad_clients_and_redirects_errors():
    state = DoubleState(clock=Clock())
    status, dummy, error = state.authorize({"client_id": ["evil"], "redirect_uri": [REDIRECT]})
    assert status == 400 and error["error"] == "invalid_client"
    status, dummy, error = state.authorize({"client_id": ["databricks-cli"], "redirect_uri": ["https://evil.example/cb"]})
    assert status == 400 and error["error"] == "invalid_request"
    location = _authorize(state, "v" * 50, code_challenge_method="plain")
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["invalid_request"] and query["state"] == ["st-123"] and "code" not in query
    location = _authorize(state, "v" * 50, code_challenge=None)
    assert "PKCE" in parse_qs(urlsplit(location).query)["error_description"][0]


def test_refresh_token_rotation():
    state = DoubleState(clock=Clock())
    first = state.issue_tokens()
    second = _refresh(state, first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    with pytest.raises(OAuthError) as err:
        _refresh(state, first["refresh_token"])
    assert (err.value.status, err.value.as_body()) == (
        401, {"error": "invalid_request", "error_description": REFRESH_TOKEN_INVALID})
    third = _refresh(state, second["refresh_token"])
    assert state.check_bearer(third["access_token"]).valid
    # The older access token stays valid until it expires.
    assert state.check_bearer(first["access_token"]).valid


def test_refresh_without_rotation_keeps_the_refresh_token():
    state = DoubleState(clock=Clock(), scenario={"rotate_refresh_tokens": False})
    first = state.issue_tokens()
    again = _refresh(state, first["refresh_token"])
    assert again["refresh_token"] == first["refresh_token"]
    assert _refresh(state, first["refresh_token"])["access_token"]


def test_refresh_token_ttl_and_control_operations():
    clock = Clock()
    state = DoubleState(clock=clock, scenario={"refresh_token_ttl_seconds": 100, "access_token_ttl_seconds": 50})
    pair = state.issue_tokens()
    clock.now += 101
    with pytest.raises(OAuthError, match=REFRESH_TOKEN_INVALID):
        _refresh(state, pair["refresh_token"])

    pair = state.issue_tokens()
    assert state.expire_access_tokens() == 1
    assert state.check_bearer(pair["access_token"]).status == "expired"
    fresh = _refresh(state, pair["refresh_token"])
    assert state.check_bearer(fresh["access_token"]).valid
    assert state.invalidate_refresh_tokens() == 1
    with pytest.raises(OAuthError, match=REFRESH_TOKEN_INVALID):
        _refresh(state, fresh["refresh_token"])
    pat = state.create_pat("x")["token_value"]
    assert state.revoke_all_tokens() >= 3
    assert state.check_bearer(fresh["access_token"]).status == "revoked"
    assert state.check_bearer(pat).status == "revoked"


def test_bearer_classification():
    state = DoubleState(clock=Clock())
    assert state.check_bearer(None).status == "none"
    assert state.check_bearer("garbage").status == "unknown"
    assert state.check_bearer("dapi0123").status == "unknown"
    assert state.check_bearer("dapi0123").kind == "pat"
    forged = JwtSigner().encode({"jti": "x", "exp": 9_999_999_999})
    assert state.check_bearer(forged).status == "unknown"
    pat = state.create_pat("c", lifetime_seconds=10)
    assert state.check_bearer(pat["token_value"]).status == "valid"
    assert state.check_bearer(pat["token_value"]).kind == "pat"
    state.delete_pat(pat["token_info"]["token_id"])
    assert state.check_bearer(pat["token_value"]).status == "revoked"


def test_pat_expiry():
    clock = Clock()
    state = DoubleState(clock=clock)
    pat = state.create_pat("short", lifetime_seconds=10)
    assert pat["token_info"]["expiry_time"] == pat["token_info"]["creation_time"] + 10_000
    clock.now += 11
    assert state.check_bearer(pat["token_value"]).status == "expired"
    assert state.create_pat("forever")["token_info"]["expiry_time"] == -1


def test_pagination_walks_every_endpoint_once():
    state = DoubleState(scenario={"endpoints": [f"ep-{i:03d}" for i in range(7)], "page_size": 3})
    seen, token, pages = [], None, 0
    while True:
        page = state.list_endpoints(page_token=token)
        pages += 1
        seen += [e["name"] for e in page["endpoints"]]
        token = page.get("next_page_token")
        if not token:
            break
    assert pages == 3
    assert seen == [f"ep-{i:03d}" for i in range(7)]
    assert len(state.list_endpoints(page_size=10)["endpoints"]) == 7
    state.update_scenario({"page_size": None})
    assert "next_page_token" not in state.list_endpoints()
    assert len(state.list_endpoints(page_size=2)["endpoints"]) == 2
    with pytest.raises(ScenarioError):
        state.list_endpoints(page_size=2, page_token="bm9wZQ==")
    assert decode_page_token(encode_page_token(42)) == 42


def test_faults_count_and_persistence():
    state = DoubleState()
    state.add_fault({"path_prefix": "/oidc/v1/token", "status": 500, "count": 2})
    assert state.take_fault("POST", "/api/2.0/token/list") is None
    assert state.take_fault("POST", "/oidc/v1/token").status == 500
    assert state.take_fault("POST", "/oidc/v1/token").status == 500
    assert state.take_fault("POST", "/oidc/v1/token") is None
    state.add_fault({"path_prefix": "/serving-endpoints", "reject_all_bearers": True, "count": None})
    for dummy in range(5):
        assert state.take_fault("POST", "/serving-endpoints/anthropic/v1/messages").reject_all_bearers
    assert state.clear_faults() == 1
    assert state.take_fault("POST", "/serving-endpoints/anthropic/v1/messages") is None
    fault = state.add_fault({"path_prefix": "/api", "method": "get", "status": 503})
    assert state.take_fault("POST", "/api/x") is None
    assert state.clear_faults(fault["id"]) == 1
    for bad in ({"path_prefix": "api", "status": 500}, {"path_prefix": "/x"}, {"path_prefix": "/_double", "status": 500},
                {"path_prefix": "/x", "status": 500, "count": 0}, {"path_prefix": "/x", "bogus": 1, "status": 500}):
        with pytest.raises(ScenarioError):
            state.add_fault(bad)


def test_scenario_validation():
    base = merge_scenario(DoubleState().scenario(), {})
    with pytest.raises(ScenarioError, match="valid keys"):
        merge_scenario(base, {"nope": 1})
    with pytest.raises(ScenarioError):
        merge_scenario(base, {"endpoints": [{"name": "a", "ready": "MAYBE"}]})
    with pytest.raises(ScenarioError):
        merge_scenario(base, {"endpoints": ["a", "a"]})
    with pytest.raises(ScenarioError):
        merge_scenario(base, {"access_token_ttl_seconds": 0})
    with pytest.raises(ScenarioError):
        merge_scenario(base, {"require_coding_agent_header": "yes"})
    merged = merge_scenario(base, {"endpoints": ["x", {"name": "y", "ready": "NOT_READY"}]})
    assert [(e["name"], e["ready"]) for e in merged["endpoints"]] == [("x", "READY"), ("y", "NOT_READY")]
    assert base["endpoints"] != merged["endpoints"], "merge must not modify its input"


def test_reset_returns_to_initial_scenario():
    state = DoubleState(scenario={"reply_text": "initial"})
    state.update_scenario({"reply_text": "changed", "page_size": 1})
    state.issue_tokens()
    state.record({"path": "/x", "method": "GET"})
    state.reset()
    assert state.setting("reply_text") == "initial" and state.setting("page_size") is None
    assert state.token_summary()["access_tokens"] == 0 and state.requests() == []


def test_request_log_keeps_arrival_order_when_answers_are_recorded_late():
    state = DoubleState()
    first, second = state.arrival(), state.arrival()
    state.record({**second, "path": "/second", "method": "GET"})  # its thread recorded first
    state.record({**first, "path": "/first", "method": "GET"})
    log = state.requests()
    assert [e["path"] for e in log] == ["/first", "/second"] and "generation" not in log[0]
    assert [e["path"] for e in state.requests(since=log[0]["seq"])] == ["/second"]


def test_a_request_answered_before_a_reset_is_not_logged_after_it():
    state = DoubleState()
    late = state.arrival()
    state.reset()  # the next test starts while the previous test's last answer is being recorded
    assert state.record({**late, "path": "/previous-test", "method": "GET"}) is None
    state.record({**state.arrival(), "path": "/this-test", "method": "GET"})
    assert [e["path"] for e in state.requests()] == ["/this-test"]
    stale = state.arrival()
    state.clear_requests()
    state.record({**stale, "path": "/before-clear", "method": "GET"})
    assert state.requests() == []


def test_sse_stream_shape():
    events = [e.decode() for e in anthropic.stream_events("m", "Hello there world.", 12)]
    names = [e.split("\n")[0].removeprefix("event: ") for e in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    deltas = [json.loads(e.split("data: ", 1)[1])["delta"]["text"] for e in events if "content_block_delta" in e]
    assert "".join(deltas) == "Hello there world." and len(deltas) == 3
    message_delta = json.loads(events[-2].split("data: ", 1)[1])
    assert message_delta["delta"]["stop_reason"] == "end_turn" and message_delta["usage"]["output_tokens"] > 0


def test_default_endpoints_serve_their_family_api():
    state = DoubleState()
    specs = {spec["name"]: spec for spec in state.scenario()["endpoints"]}
    # Eleven defaults: the functional and e2e tests count them.
    assert len(specs) == 11
    assert specs["databricks-claude-sonnet-4-6"]["api_types"] == ["anthropic/v1/messages", "mlflow/v1/chat/completions"]
    assert specs["databricks-gpt-5-5"]["api_types"] == ["openai/v1/responses", "mlflow/v1/chat/completions"]
    assert specs["databricks-gemini-2-5-pro"]["api_types"] == ["gemini/v1/generateContent", "mlflow/v1/chat/completions"]
    assert specs["databricks-meta-llama-3-3-70b-instruct"]["api_types"] == ["mlflow/v1/chat/completions"]
    assert specs["databricks-gte-large-en"]["api_types"] == ["mlflow/v1/embeddings"]
    # A custom chat endpoint lists no APIs and serves every agent's.
    assert default_api_types("my-endpoint") is None and default_api_types("x", task="llm/v1/completions") == []
    custom = DoubleState(scenario={"endpoints": ["my-endpoint"]}).get_endpoint("my-endpoint")
    assert "api_types" not in custom["config"]["served_entities"][0]["foundation_model"]
    rendered = state.get_endpoint("databricks-gpt-5-5")
    model = rendered["config"]["served_entities"][0]["foundation_model"]
    assert rendered["endpoint_type"] == "FOUNDATION_MODEL_API" and rendered["task"] == "llm/v1/chat"
    assert model["name"] == "databricks-gpt-5-5" and model["display_name"] == "GPT-5.5"
    assert model["api_types"] == specs["databricks-gpt-5-5"]["api_types"] and model["ai_gateway_v2_supported"] is True


def test_external_model_endpoints():
    state = DoubleState(scenario={"endpoints": [
        {"name": "team-gpt", "external_model": {"provider": "openai", "name": "gpt-5"}},
        {"name": "team-gemini", "external_model": {"provider": "google-cloud-vertex-ai", "name": "gemini-2.5-pro"}},
        {"name": "team-claude", "external_model": {"provider": "anthropic", "name": "claude-sonnet-4-6"}},
    ]})
    gpt = state.get_endpoint("team-gpt")
    assert gpt["endpoint_type"] == "EXTERNAL_MODEL"
    external = gpt["config"]["served_entities"][0]["external_model"]
    assert external == {"provider": "openai", "name": "gpt-5", "task": "llm/v1/chat"}
    assert "foundation_model" not in gpt["config"]["served_entities"][0]
    assert state.endpoint_spec("team-gemini")["api_types"][0] == "gemini/v1/generateContent"
    assert state.endpoint_spec("team-claude")["api_types"][0] == "anthropic/v1/messages"
    destinations = [e["config"]["destinations"][0]["type"] for e in state.list_gateway_endpoints()["endpoints"]]
    assert destinations == ["EXTERNAL_MODEL"] * 3
    for bad in ({"name": "x", "external_model": {"provider": "openai"}}, {"name": "x", "api_types": "openai"},
                {"name": "x", "external_model": {"provider": "openai", "name": "m", "key": "k"}}):
        with pytest.raises(ScenarioError):
            merge_scenario(state.scenario(), {"endpoints": [bad]})
    with pytest.raises(ScenarioError):
        merge_scenario(state.scenario(), {"ai_gateway": "off"})


def test_gateway_endpoint_pages():
    state = DoubleState()
    first = state.list_gateway_endpoints(page_size=1)
    assert [e["name"] for e in first["endpoints"]] == ["databricks-claude-opus-4-6"] and first["next_page_token"]
    destination = first["endpoints"][0]["config"]["destinations"][0]
    assert destination == {"name": "system.ai.claude-opus-4-6", "type": "PAY_PER_TOKEN_FOUNDATION_MODEL",
                           "traffic_percentage": 100}
    rest = state.list_gateway_endpoints(page_token=first["next_page_token"])
    assert len(rest["endpoints"]) == 10 and "next_page_token" not in rest


def test_reply_texts_name_the_model_and_route():
    state = DoubleState()
    assert state.reply_for("anthropic", "m", "/serving-endpoints/anthropic") == "Hello from the FMAPI workspace double."
    assert state.reply_for("codex", "databricks-gpt-5-5", "/ai-gateway/codex/v1") == \
        "Hello from the FMAPI workspace double: databricks-gpt-5-5 answered on /ai-gateway/codex/v1."
    assert expand_reply("{api}|{style}|{model}|{other}", "m", "gemini", "/serving-endpoints/gemini") == \
        "gemini|serving-endpoints|m|{other}"
    state.update_scenario({"reply_text": "Claude: {model}"})
    assert state.reply_for("anthropic", "databricks-claude-haiku-4-5") == "Claude: databricks-claude-haiku-4-5"


def _sse_data(events: list[bytes]) -> list[dict]:
    return [json.loads(e.decode().split("data: ", 1)[1]) for e in events]


def test_responses_stream_shape():
    events = responses.stream_events("databricks-gpt-5-5", "Hello there world.", 7)
    names = [e.decode().split("\n")[0].removeprefix("event: ") for e in events]
    data = _sse_data(events)
    assert [d["type"] for d in data] == names
    assert names[:2] == ["response.created", "response.output_item.added"]
    assert names[-3:] == ["response.output_text.done", "response.output_item.done", "response.completed"]
    assert [d["sequence_number"] for d in data] == list(range(len(data)))
    assert "".join(d["delta"] for d in data if d["type"] == "response.output_text.delta") == "Hello there world."
    item = data[-2]["item"]
    assert (item["type"], item["role"], item["status"]) == ("message", "assistant", "completed")
    assert item["content"] == [{"type": "output_text", "text": "Hello there world.", "annotations": []}]
    completed = data[-1]["response"]
    assert completed["status"] == "completed" and completed["id"] == data[0]["response"]["id"]
    assert completed["usage"]["input_tokens"] == 7 and completed["output"][0]["id"] == item["id"]


def test_codex_models_list_carries_the_fields_codex_requires():
    # Without any of these Codex 0.171.0 cannot decode the list ("failed to refresh available models").
    required = {"slug", "display_name", "supported_reasoning_levels", "shell_type", "visibility", "supported_in_api",
                "priority", "base_instructions", "support_verbosity", "truncation_policy",
                "experimental_supported_tools"}
    body = responses.models_list([("databricks-gpt-5-5", "GPT-5.5"), ("databricks-gpt-5-2", "GPT-5.2")])
    assert list(body) == ["models"]
    assert [m["slug"] for m in body["models"]] == ["databricks-gpt-5-5", "databricks-gpt-5-2"]
    assert all(required <= set(m) for m in body["models"])


def test_gemini_stream_shape():
    events = gemini.stream_chunks("databricks-gemini-2-5-pro", "Hello there world.", 5)
    assert all(e.startswith(b"data: ") and e.endswith(b"\r\n\r\n") for e in events)
    data = _sse_data(events)
    texts = [d["candidates"][0]["content"]["parts"][0]["text"] for d in data]
    assert "".join(texts) == "Hello there world." and len(texts) == 3
    assert [d["candidates"][0].get("finishReason") for d in data] == [None, None, "STOP"]
    assert "usageMetadata" in data[-1] and data[-1]["modelVersion"] == "databricks-gemini-2-5-pro"
    assert gemini.error_body(401, "x") == {"error": {"code": 401, "message": "x", "status": "UNAUTHENTICATED"}}


def test_certificates_are_created_private_and_reused(tmp_path):
    first = ensure_certificates(str(tmp_path))
    for path in (first.key_file, first.ca_key_file):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(first.cert_file, "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    mtimes = {p: os.stat(p).st_mtime_ns for p in (first.ca_file, first.cert_file)}
    ensure_certificates(str(tmp_path))
    assert {p: os.stat(p).st_mtime_ns for p in mtimes} == mtimes, "valid certificates must be reused"
    # A corrupt server certificate is replaced; the CA is kept.
    with open(first.cert_file, "w", encoding="ascii") as handle:
        handle.write("garbage")
    ensure_certificates(str(tmp_path))
    assert os.stat(first.ca_file).st_mtime_ns == mtimes[first.ca_file]
    server_cert = x509.load_pem_x509_certificate((tmp_path / "server.pem").read_bytes())
    server_cert.verify_directly_issued_by(x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes()))


# ------------------------------------------------------------------ protocol
@pytest.fixture
def http(workspace_double):
    """A requests session trusting the double's CA."""
    session = requests.Session()
    session.trust_env = False  # ignore REQUESTS_CA_BUNDLE & co. from the caller's environment
    session.verify = workspace_double.ca_file
    yield session
    session.close()


def test_well_known_documents(workspace_double, http):
    url = workspace_double.url
    meta = http.get(f"{url}/oidc/.well-known/oauth-authorization-server", timeout=10).json()
    assert meta["authorization_endpoint"] == f"{url}/oidc/v1/authorize"
    assert meta["token_endpoint"] == f"{url}/oidc/v1/token"
    assert meta["issuer"] == f"{url}/oidc"
    assert "S256" in meta["code_challenge_methods_supported"]
    host = http.get(f"{url}/.well-known/databricks-config", timeout=10).json()
    assert host["oidc_endpoint"] == f"{url}/oidc" and host["host_type"] == "workspace"
    workspace_double.control.update_scenario(host_metadata=False)
    assert http.get(f"{url}/.well-known/databricks-config", timeout=10).status_code == 404


def test_oauth_over_http_rejects_wrong_verifier(workspace_double, http):
    url = workspace_double.url
    verifier = secrets.token_urlsafe(48)
    query = {"client_id": "databricks-cli", "redirect_uri": REDIRECT, "response_type": "code", "state": "s1",
             "scope": "offline_access all-apis", "code_challenge": pkce_s256(verifier), "code_challenge_method": "S256"}
    response = http.get(f"{url}/oidc/v1/authorize?{urlencode(query)}", allow_redirects=False, timeout=10)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT + "/?")
    code = parse_qs(urlsplit(location).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": "wrong" * 10,
            "client_id": "databricks-cli", "redirect_uri": REDIRECT}
    bad = http.post(f"{url}/oidc/v1/token", data=form, timeout=10)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    log = workspace_double.control.requests("/oidc/v1/")
    assert [e["status"] for e in log] == [302, 400]
    assert log[0]["query"]["code_challenge_method"] == ["S256"]
    assert "code" not in json.dumps(log[1]["query"]) and code not in json.dumps(log)


def test_rest_requires_issued_bearer(workspace_double, http):
    url = workspace_double.url
    assert http.get(f"{url}/api/2.0/serving-endpoints", timeout=10).status_code == 401
    forged = JwtSigner().encode({"jti": "abc", "exp": 9_999_999_999})
    response = http.get(f"{url}/api/2.0/serving-endpoints", headers={"Authorization": f"Bearer {forged}"}, timeout=10)
    assert response.status_code == 401 and response.json()["error_code"] == "UNAUTHENTICATED"
    token = workspace_double.control.issue_access_token()
    response = http.get(f"{url}/api/2.0/serving-endpoints", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200
    names = [e["name"] for e in response.json()["endpoints"]]
    assert "databricks-claude-sonnet-4-6" in names and "next_page_token" not in response.json()
    workspace_double.control.expire_access_tokens()
    response = http.get(f"{url}/api/2.0/serving-endpoints", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 401
    statuses = [(e["bearer_status"], e["token_kind"]) for e in workspace_double.control.requests("/api/")]
    assert statuses == [("none", None), ("unknown", "oauth"), ("valid", "oauth"), ("expired", "oauth")]
    assert token not in json.dumps(workspace_double.control.requests())


def test_server_side_pagination_over_http(workspace_double, http):
    control = workspace_double.control
    control.update_scenario(endpoints=[f"custom-{i:03d}" for i in range(500)], page_size=100)
    headers = {"Authorization": f"Bearer {control.issue_access_token()}"}
    names, token = [], None
    for dummy in range(10):
        params = {"page_token": token} if token else {}
        body = http.get(f"{workspace_double.url}/api/2.0/serving-endpoints", params=params, headers=headers,
                        timeout=10).json()
        names += [e["name"] for e in body["endpoints"]]
        token = body.get("next_page_token")
        if not token:
            break
    assert len(names) == 500 and len(set(names)) == 500
    bad = http.get(f"{workspace_double.url}/api/2.0/serving-endpoints", params={"page_token": "!!"},
                   headers=headers, timeout=10)
    assert bad.status_code == 400


def _messages(http, double, body, **headers):
    base = {"Authorization": f"Bearer {double.control.issue_access_token()}",
            "x-databricks-use-coding-agent-mode": "true", "anthropic-version": "2023-06-01"}
    base.update(headers)
    return http.post(f"{double.url}/serving-endpoints/anthropic/v1/messages?beta=true", json=body,
                     headers={k: v for k, v in base.items() if v is not None}, timeout=10)


def test_messages_json_and_stream(workspace_double, http):
    workspace_double.control.update_scenario(reply_text="Custom reply text.")
    body = {"model": "databricks-claude-haiku-4-5", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    response = _messages(http, workspace_double, body)
    assert response.status_code == 200
    assert response.json()["content"][0]["text"] == "Custom reply text."
    response = _messages(http, workspace_double, dict(body, stream=True))
    assert response.headers["Content-Type"].startswith("text/event-stream")
    text = "".join(json.loads(line[6:])["delta"].get("text", "") for line in response.text.splitlines()
                   if line.startswith("data: ") and '"content_block_delta"' in line)
    assert text == "Custom reply text."
    assert response.text.rstrip().endswith('data: {"type":"message_stop"}')
    count = http.post(f"{workspace_double.url}/ai-gateway/anthropic/v1/messages/count_tokens", json=body, timeout=10,
                      headers={"x-api-key": workspace_double.control.issue_access_token(),
                               "x-databricks-use-coding-agent-mode": "true"})
    assert count.status_code == 200 and count.json()["input_tokens"] > 0


def test_messages_errors(workspace_double, http):
    body = {"model": "databricks-claude-sonnet-4-6", "max_tokens": 5, "messages": []}
    response = _messages(http, workspace_double, body, Authorization=None)
    assert response.status_code == 401 and response.json()["error"]["type"] == "authentication_error"
    response = _messages(http, workspace_double, body, **{"x-databricks-use-coding-agent-mode": None})
    assert response.status_code == 400 and "x-databricks-use-coding-agent-mode" in response.json()["error"]["message"]
    workspace_double.control.update_scenario(require_coding_agent_header=False)
    assert _messages(http, workspace_double, body, **{"x-databricks-use-coding-agent-mode": None}).status_code == 200
    response = _messages(http, workspace_double, dict(body, model="no-such-model"))
    assert response.status_code == 404 and "does not exist" in response.json()["error"]["message"]
    workspace_double.control.set_endpoint_state("databricks-claude-sonnet-4-6", ready="NOT_READY")
    assert _messages(http, workspace_double, body).status_code == 503
    response = _messages(http, workspace_double, dict(body, model="databricks-gte-large-en"))
    assert response.status_code == 400


def test_unknown_routes_are_json_404_and_logged(workspace_double, http):
    response = http.get(f"{workspace_double.url}/api/2.0/clusters/list", timeout=10)
    assert response.status_code == 404 and response.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    response = http.get(f"{workspace_double.url}/serving-endpoints/anthropic/v1/models", timeout=10)
    assert response.status_code == 404 and response.json()["type"] == "error"
    log = workspace_double.control.requests()
    assert [e["detail"].get("unknown_route") for e in log] == [True, True]


def test_status_faults_over_http(workspace_double, http):
    control = workspace_double.control
    control.add_fault("/oidc/v1/token", status=500, count=2)
    url = f"{workspace_double.url}/oidc/v1/token"
    statuses = [http.post(url, data={"grant_type": "refresh_token", "refresh_token": "x"}, timeout=10).status_code
                for dummy in range(3)]
    assert statuses == [500, 500, 401]
    assert control.faults() == []
    control.add_fault("/api/2.0/preview", reject_all_bearers=True, count=None)
    headers = {"Authorization": f"Bearer {control.issue_access_token()}"}
    for dummy in range(2):
        assert http.get(f"{workspace_double.url}/api/2.0/preview/scim/v2/Me", headers=headers, timeout=10).status_code == 401
    assert control.clear_faults() == 1
    me = http.get(f"{workspace_double.url}/api/2.0/preview/scim/v2/Me", headers=headers, timeout=10)
    assert me.status_code == 200 and me.json()["userName"] == "developer@example.com"
    with pytest.raises(ControlError) as err:
        control.add_fault("/x")
    assert err.value.status == 400


def test_latency(workspace_double, http):
    workspace_double.control.update_scenario(latency_ms=300)
    started = time.monotonic()
    http.get(f"{workspace_double.url}/oidc/.well-known/oauth-authorization-server", timeout=10)
    assert time.monotonic() - started >= 0.3


# ------------------------------------------------------- Codex and Gemini routes
def _bearer(token: str, **extra) -> dict:
    return dict({"Authorization": f"Bearer {token}"}, **extra)


def test_codex_responses_over_http(workspace_double, http):
    control = workspace_double.control
    token = control.issue_access_token()
    url = f"{workspace_double.url}/serving-endpoints/codex/v1/responses"
    body = {"model": "databricks-gpt-5-5", "input": [{"role": "user", "content": "hi"}], "stream": True}
    response = http.post(url, json=body, headers=_bearer(token), timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/event-stream")
    events = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1]["type"] == "response.completed"
    done = next(e for e in events if e["type"] == "response.output_item.done")
    assert done["item"]["content"][0]["text"] == control.expected_reply(
        "codex", "databricks-gpt-5-5", "/serving-endpoints/codex/v1")
    plain = http.post(url, json=dict(body, stream=False), headers=_bearer(token), timeout=10).json()
    assert plain["object"] == "response" and plain["output"][0]["content"][0]["type"] == "output_text"
    log = control.requests("/serving-endpoints/codex/")
    assert [(e["status"], e["detail"]["stream"], e["detail"]["model"]) for e in log] == [
        (200, True, "databricks-gpt-5-5"), (200, False, "databricks-gpt-5-5")]
    assert log[0]["token_fingerprint"] == token_fingerprint(token) == control.token_fingerprint(token)
    assert log[0]["detail"]["api"] == "codex" and token not in json.dumps(log)


def test_codex_responses_errors(workspace_double, http):
    control = workspace_double.control
    url = f"{workspace_double.url}/ai-gateway/codex/v1/responses"
    body = {"model": "databricks-gpt-5-2", "input": "hi", "stream": True}
    missing = http.post(url, json=body, timeout=10)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"
    # x-api-key is the Anthropic route's alternative, not Codex's.
    token = control.issue_access_token()
    assert http.post(url, json=body, headers={"x-api-key": token}, timeout=10).status_code == 401
    response = http.post(url, json=dict(body, model="nope"), headers=_bearer(token), timeout=10)
    assert response.status_code == 404 and response.json()["error"]["code"] == "model_not_found"
    response = http.post(url, json=dict(body, model="databricks-claude-sonnet-4-6"), headers=_bearer(token), timeout=10)
    assert response.status_code == 400 and "OpenAI Responses API" in response.json()["error"]["message"]
    assert http.post(url, json=dict(body, model="databricks-gte-large-en"), headers=_bearer(token),
                     timeout=10).status_code == 400
    assert http.post(url, data=b"{not json", headers=_bearer(token), timeout=10).status_code == 400
    control.set_endpoint_state("databricks-gpt-5-2", ready="NOT_READY")
    assert http.post(url, json=body, headers=_bearer(token), timeout=10).status_code == 503
    control.expire_access_tokens()
    expired = http.post(url, json=dict(body, model="databricks-gpt-5-5"), headers=_bearer(token), timeout=10)
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]
    assert control.requests()[-1]["bearer_status"] == "expired"


def test_codex_models_over_http(workspace_double, http):
    control = workspace_double.control
    url = f"{workspace_double.url}/serving-endpoints/codex/v1/models?client_version=0.171.0"
    assert http.get(url, timeout=10).status_code == 401
    token = control.issue_access_token()
    control.set_endpoint_state("databricks-gpt-5-2", ready="NOT_READY")
    control.add_endpoints(["team-model"])  # a custom name: every agent may use it
    body = http.get(url, headers=_bearer(token), timeout=10).json()
    assert [m["slug"] for m in body["models"]] == ["databricks-gpt-5-5", "team-model"]
    entry = control.requests()[-1]
    assert entry["detail"]["client_version"] == "0.171.0" and entry["detail"]["returned"] == 2
    gemini_url = f"{workspace_double.url}/serving-endpoints/gemini/v1beta/models/team-model:generateContent"
    assert http.post(gemini_url, json={}, headers=_bearer(token), timeout=10).status_code == 200


def test_gemini_route_over_http(workspace_double, http):
    control = workspace_double.control
    token = control.issue_access_token()
    base = f"{workspace_double.url}/serving-endpoints/gemini/v1beta/models/databricks-gemini-2-5-flash"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    both = _bearer(token, **{"x-goog-api-key": token})
    response = http.post(f"{base}:streamGenerateContent?alt=sse", json=body, headers=both, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/event-stream")
    chunks = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks) == control.expected_reply(
        "gemini", "databricks-gemini-2-5-flash", "/serving-endpoints/gemini")
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    array = http.post(f"{base}:streamGenerateContent", json=body, headers=both, timeout=10).json()
    assert isinstance(array, list) and array[-1]["candidates"][0]["finishReason"] == "STOP"
    single = http.post(f"{base}:generateContent", json=body, headers=both, timeout=10).json()
    assert single["candidates"][0]["content"]["parts"][0]["text"].endswith("answered on /serving-endpoints/gemini.")
    assert http.post(f"{base}:countTokens", json=body, headers=both, timeout=10).json()["totalTokens"] > 0
    log = control.requests("/serving-endpoints/gemini/")
    assert [e["detail"]["call"] for e in log] == ["streamGenerateContent", "streamGenerateContent",
                                                  "generateContent", "countTokens"]
    assert log[0]["detail"]["alt"] == "sse" and log[0]["detail"]["auth_source"] == "authorization+x-goog-api-key"
    assert log[0]["token_fingerprint"] == token_fingerprint(token) and log[0]["headers"]["x-goog-api-key"] == "REDACTED"


def test_gemini_route_errors(workspace_double, http):
    control = workspace_double.control
    token = control.issue_access_token()
    base = f"{workspace_double.url}/ai-gateway/gemini/v1beta/models"
    body = {"contents": []}
    key_only = http.post(f"{base}/databricks-gemini-2-5-pro:streamGenerateContent?alt=sse", json=body,
                         headers={"x-goog-api-key": token}, timeout=10)
    assert key_only.status_code == 401
    assert key_only.json()["error"]["status"] == "UNAUTHENTICATED"
    assert "GEMINI_API_KEY_AUTH_MECHANISM=bearer" in key_only.json()["error"]["message"]
    other = control.issue_access_token()
    differs = http.post(f"{base}/databricks-gemini-2-5-pro:generateContent", json=body,
                        headers=_bearer(token, **{"x-goog-api-key": other}), timeout=10)
    assert differs.status_code == 200 and control.requests()[-1]["detail"]["api_key_differs"] is True
    wrong = http.post(f"{base}/databricks-claude-opus-4-6:generateContent", json=body, headers=_bearer(token), timeout=10)
    assert wrong.status_code == 400 and wrong.json()["error"]["status"] == "INVALID_ARGUMENT"
    missing = http.post(f"{base}/nope:generateContent", json=body, headers=_bearer(token), timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"
    unknown = http.post(f"{base}/databricks-gemini-2-5-pro:embedContent", json=body, headers=_bearer(token), timeout=10)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == 404
    assert control.requests()[-1]["detail"]["unknown_route"] is True


def test_ai_gateway_switch(workspace_double, http):
    control = workspace_double.control
    url = workspace_double.url
    token = control.issue_access_token()
    probe = f"{url}/api/ai-gateway/v2/endpoints?page_size=1"
    assert http.get(probe, timeout=10).status_code == 401
    listed = http.get(probe, headers=_bearer(token), timeout=10)
    assert listed.status_code == 200 and len(listed.json()["endpoints"]) == 1 and listed.json()["next_page_token"]
    messages = {"model": "databricks-claude-haiku-4-5", "max_tokens": 5, "messages": []}
    claude_headers = _bearer(token, **{"x-databricks-use-coding-agent-mode": "true"})
    assert http.post(f"{url}/ai-gateway/anthropic/v1/messages", json=messages, headers=claude_headers,
                     timeout=10).status_code == 200

    control.set_ai_gateway(False)
    assert http.get(probe, headers=_bearer(token), timeout=10).status_code == 404
    off = http.post(f"{url}/ai-gateway/anthropic/v1/messages", json=messages, headers=claude_headers, timeout=10)
    assert off.status_code == 404 and off.json()["type"] == "error"
    codex = http.post(f"{url}/ai-gateway/codex/v1/responses", json={"model": "databricks-gpt-5-5"},
                      headers=_bearer(token), timeout=10)
    assert codex.status_code == 404 and "error" in codex.json()
    gemini_off = http.post(f"{url}/ai-gateway/gemini/v1beta/models/databricks-gemini-2-5-pro:generateContent",
                           json={}, headers=_bearer(token), timeout=10)
    assert gemini_off.status_code == 404 and gemini_off.json()["error"]["status"] == "NOT_FOUND"
    assert all(e["detail"].get("ai_gateway") == "disabled" for e in control.requests()[-4:])
    # The serving-endpoints routes do not depend on it.
    assert http.post(f"{url}/serving-endpoints/anthropic/v1/messages", json=messages, headers=claude_headers,
                     timeout=10).status_code == 200
    control.reset()
    assert control.scenario()["ai_gateway"] is True


@pytest.mark.workspace_double(ai_gateway=False, agent_reply_text="marker {model}")
def test_fixture_marker_sets_the_scenario(workspace_double):
    scenario = workspace_double.control.scenario()
    assert scenario["ai_gateway"] is False and scenario["agent_reply_text"] == "marker {model}"


def test_constructor_turns_ai_gateway_off_for_good(tmp_path):
    with WorkspaceDouble(str(tmp_path), ai_gateway=False, state_file=None) as double:
        token = double.control.issue_access_token()
        probe = requests.get(f"{double.url}/api/ai-gateway/v2/endpoints?page_size=1", verify=double.ca_file,
                             headers=_bearer(token), timeout=10)
        assert probe.status_code == 404
        double.control.reset()
        assert double.control.scenario()["ai_gateway"] is False, "reset() keeps the constructor's choice"


def test_faults_on_codex_and_gemini_routes(workspace_double, http):
    control = workspace_double.control
    token = control.issue_access_token()
    control.add_fault("/serving-endpoints/codex/", status=500, count=1)
    control.add_fault("/ai-gateway/gemini/", status=429, count=1)
    codex = http.post(f"{workspace_double.url}/serving-endpoints/codex/v1/responses", json={"model": "databricks-gpt-5-5"},
                      headers=_bearer(token), timeout=10)
    assert codex.status_code == 500 and codex.json()["error"]["message"] == "Injected fault"
    url = f"{workspace_double.url}/ai-gateway/gemini/v1beta/models/databricks-gemini-2-5-pro:generateContent"
    limited = http.post(url, json={}, headers=_bearer(token), timeout=10)
    assert limited.status_code == 429 and limited.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    control.add_fault("/ai-gateway/gemini/", reject_all_bearers=True, count=1)
    assert http.post(url, json={}, headers=_bearer(token), timeout=10).status_code == 401
    assert control.requests()[-1]["detail"]["rejected_by_fault"]
    assert http.post(url, json={}, headers=_bearer(token), timeout=10).status_code == 200


def _start_cli(args, cwd):
    env = dict(os.environ, PYTHONPATH=HARNESS)
    proc = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, "-m", "workspace_double", *args], cwd=cwd, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        pytest.fail(f"double did not start: {proc.stderr.read()}")
    return proc, json.loads(line)


def _stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_command_line_serve_with_yaml_scenario_and_mirror(tmp_path):
    state_dir = tmp_path / "state"
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "SHA256SUMS").write_text("abc  databricks_cli_1.12.1_linux_amd64.zip\n")
    (tmp_path / "secret.txt").write_text("outside")
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("reply_text: from yaml\npage_size: 2\nendpoints:\n  - only-one\n")
    proc, info = _start_cli(["serve", "--state-dir", str(state_dir), "--scenario", str(scenario),
                             "--mirror-dir", str(mirror), "--no-ai-gateway"], tmp_path)
    try:
        with open(state_dir / "double.json", encoding="utf-8") as handle:
            assert json.load(handle) == info
        assert info["pid"] == proc.pid and info["url"].startswith("https://127.0.0.1:")
        client = DoubleClient.from_state_dir(str(state_dir))
        scenario_now = client.scenario()
        assert scenario_now["reply_text"] == "from yaml" and [e["name"] for e in scenario_now["endpoints"]] == ["only-one"]
        assert scenario_now["ai_gateway"] is False
        got = requests.get(f"{info['url']}/mirror/SHA256SUMS", verify=info["ca_file"], timeout=10)
        assert got.status_code == 200 and "databricks_cli_1.12.1" in got.text
        escape = requests.get(f"{info['url']}/mirror/%2e%2e/secret.txt", verify=info["ca_file"], timeout=10)
        assert escape.status_code == 404
        token = subprocess.run([sys.executable, "-m", "workspace_double", "token", "--state-dir", str(state_dir)],
                               env=dict(os.environ, PYTHONPATH=HARNESS), capture_output=True, text=True,
                               timeout=30, check=True).stdout.strip()
        me = requests.get(f"{info['url']}/api/2.0/preview/scim/v2/Me", headers={"Authorization": f"Bearer {token}"},
                          verify=info["ca_file"], timeout=10)
        assert me.status_code == 200
    finally:
        assert _stop(proc) == 0
    # A restart reuses the CA.
    ca_before = (state_dir / "ca.pem").read_bytes()
    proc, info = _start_cli(["mirror", "--state-dir", str(state_dir), "--dir", str(mirror)], tmp_path)
    try:
        assert (state_dir / "ca.pem").read_bytes() == ca_before
        got = requests.get(f"{info['url']}/SHA256SUMS", verify=info["ca_file"], timeout=10)
        assert got.status_code == 200
        assert requests.get(f"{info['url']}/api/2.0/serving-endpoints", verify=info["ca_file"],
                            timeout=10).status_code == 404
    finally:
        assert _stop(proc) == 0


def test_fake_browser_reports_authorize_errors(workspace_double, fake_browser):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "FMAPI_DOUBLE_CA": workspace_double.ca_file}
    bad = f"{workspace_double.url}/oidc/v1/authorize?client_id=evil&redirect_uri={REDIRECT}"
    result = subprocess.run([fake_browser, bad], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1 and "HTTP 400" in result.stderr
    result = subprocess.run([fake_browser, "https://127.0.0.1:1/x"], env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 1
