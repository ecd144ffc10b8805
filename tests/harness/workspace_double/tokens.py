"""OAuth and personal access token bookkeeping for the workspace double.

Everything here is pure logic with an injectable clock so it can be unit
tested without a network.  Token values are never stored in clear text:
records are keyed by the SHA-256 of the value, and nothing in this module
returns a token value except at the moment it is minted.

* Access tokens are JWTs signed with HS256 and a per-server secret, with the
  claims ``iss``, ``sub``, ``aud``, ``client_id``, ``scope``, ``iat``, ``nbf``,
  ``exp`` and ``jti``.  A token is accepted only if its signature checks out
  *and* its ``jti`` is a token this store minted and has not expired or been
  revoked.
* Refresh tokens are opaque (``doau`` + hex, like Databricks') and rotate:
  using one invalidates it and returns a new one.
* Authorization codes are single use, short lived and bound to the client,
  the redirect URI and a PKCE S256 challenge.
* Personal access tokens (``dapi`` + hex) back the legacy token API.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

# Values of BearerCheck.status.
BEARER_NONE = "none"
BEARER_VALID = "valid"
BEARER_EXPIRED = "expired"
BEARER_UNKNOWN = "unknown"
BEARER_REVOKED = "revoked"

KIND_OAUTH = "oauth"
KIND_PAT = "pat"

# The exact description the Databricks CLI / Go SDK looks for to tell the user
# to run ``databricks auth login`` again.
REFRESH_TOKEN_INVALID = "Refresh token is invalid"


def b64url(data: bytes) -> str:
    """Base64url without padding, as used by JWT and PKCE."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of :func:`b64url`; raises ``ValueError`` on garbage."""
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.urlsafe_b64decode(padded.encode("ascii"))
    except (UnicodeEncodeError, ValueError) as exc:
        raise ValueError("invalid base64url") from exc


def pkce_s256(verifier: str) -> str:
    """Return the S256 code challenge for a PKCE code verifier (RFC 7636)."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def fingerprint(token: str) -> str:
    """Stable, non-reversible identifier of a token value (for keys and logs)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_fingerprint(token: str) -> str:
    """What the request log records of a presented token (``token_fingerprint``): the first 16
    hex digits of its SHA-256.  Tests compare it with the token they handed out."""
    return fingerprint(token)[:16]


class OAuthError(Exception):
    """An OAuth protocol error, rendered as ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def as_body(self) -> dict:
        """The JSON body of the error response (RFC 6749 section 5.2)."""
        return {"error": self.error, "error_description": self.description}


class JwtSigner:
    """Minimal HS256 JWT encoder/verifier (no external dependency)."""

    def __init__(self, secret: bytes | None = None, key_id: str = "workspace-double"):
        self._secret = secret or secrets.token_bytes(32)
        self.key_id = key_id

    def encode(self, claims: dict) -> str:
        """Serialize and sign ``claims``."""
        header = {"alg": "HS256", "typ": "JWT", "kid": self.key_id}
        signing_input = ".".join(
            b64url(json.dumps(part, separators=(",", ":"), sort_keys=True).encode("utf-8"))
            for part in (header, claims)
        )
        signature = hmac.new(self._secret, signing_input.encode("ascii"), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(signature)}"

    def decode(self, token: str) -> dict | None:
        """Return the claims of a token this signer produced, else ``None``.

        Expiry is *not* checked here: the token store owns that decision.
        """
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except ValueError:
            return None
        if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
            return None
        expected = hmac.new(self._secret, f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, signature):
            return None
        return claims


def decode_jwt_claims_unverified(token: str) -> dict:
    """Read the payload of a JWT without checking it (test helper)."""
    return json.loads(b64url_decode(token.split(".")[1]))


@dataclass
class BearerCheck:
    """Outcome of checking a bearer token presented by a client."""

    status: str = BEARER_NONE
    kind: str | None = None
    subject: str | None = None

    @property
    def valid(self) -> bool:
        """True when the token may be used."""
        return self.status == BEARER_VALID


@dataclass
class _AccessRecord:
    jti: str
    subject: str
    client_id: str
    scope: str
    issued_at: float
    expires_at: float
    revoked: bool = False


@dataclass
class _RefreshRecord:
    family: str
    subject: str
    client_id: str
    scope: str
    issued_at: float
    expires_at: float | None
    state: str = "active"  # active | rotated | invalidated | revoked


@dataclass
class _AuthCode:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    subject: str
    expires_at: float
    used: bool = False


@dataclass
class PatRecord:
    """A personal access token as the legacy token API describes it."""

    token_id: str
    fingerprint: str
    comment: str
    creation_time: int
    expiry_time: int
    created_by_id: int
    created_by_username: str
    deleted: bool = False

    def info(self) -> dict:
        """The ``token_info`` object of the token API."""
        return {
            "token_id": self.token_id,
            "creation_time": self.creation_time,
            "expiry_time": self.expiry_time,
            "comment": self.comment,
            "created_by_id": self.created_by_id,
            "created_by_username": self.created_by_username,
        }


@dataclass
class TokenStore:
    """All tokens and codes the double has issued.  Not thread-safe by itself:
    :class:`workspace_double.state.DoubleState` serializes access."""

    issuer: str
    signer: JwtSigner = field(default_factory=JwtSigner)
    clock: Callable[[], float] = time.time
    _access: dict = field(default_factory=dict)
    _refresh: dict = field(default_factory=dict)
    _codes: dict = field(default_factory=dict)
    _pats: dict = field(default_factory=dict)

    # ----------------------------------------------------------------- OAuth
    def issue_pair(self, subject: str, client_id: str, scope: str, access_ttl: int,
                   refresh_ttl: int | None = None, family: str | None = None) -> dict:
        """Mint an access token and a refresh token; return the token response."""
        now = self.clock()
        jti = uuid.uuid4().hex
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": client_id,
            "client_id": client_id,
            "scope": scope,
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now + access_ttl),
            "jti": jti,
        }
        access_token = self.signer.encode(claims)
        self._access[jti] = _AccessRecord(jti, subject, client_id, scope, now, now + access_ttl)
        refresh_token = "doau" + secrets.token_hex(20)
        self._refresh[fingerprint(refresh_token)] = _RefreshRecord(
            family=family or uuid.uuid4().hex, subject=subject, client_id=client_id, scope=scope,
            issued_at=now, expires_at=None if refresh_ttl is None else now + refresh_ttl,
        )
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "refresh_token": refresh_token,
            "expires_in": int(access_ttl),
            "scope": scope,
        }

    def create_code(self, client_id: str, redirect_uri: str, challenge: str, scope: str,
                    subject: str, ttl: int) -> str:
        """Store an authorization code bound to the PKCE challenge; return it."""
        code = secrets.token_urlsafe(24)
        self._codes[fingerprint(code)] = _AuthCode(
            client_id, redirect_uri, challenge, scope, subject, self.clock() + ttl
        )
        return code

    def redeem_code(self, code: str, verifier: str, client_id: str, redirect_uri: str,
                    access_ttl: int, refresh_ttl: int | None) -> dict:
        """Exchange an authorization code (grant_type=authorization_code)."""
        if not code:
            raise OAuthError("invalid_request", "Missing required parameter: code")
        if not verifier:
            raise OAuthError("invalid_request", "Missing required parameter: code_verifier")
        record = self._codes.get(fingerprint(code))
        if record is None:
            raise OAuthError("invalid_grant", "Authorization code is invalid")
        if record.used:
            raise OAuthError("invalid_grant", "Authorization code has already been used")
        # A code is single use even when the exchange below fails.
        record.used = True
        if self.clock() >= record.expires_at:
            raise OAuthError("invalid_grant", "Authorization code has expired")
        if client_id != record.client_id:
            raise OAuthError("invalid_grant", "Authorization code was issued to another client")
        if redirect_uri != record.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
        if not hmac.compare_digest(pkce_s256(verifier), record.challenge):
            raise OAuthError("invalid_grant", "PKCE verification failed: code_verifier does not match code_challenge")
        return self.issue_pair(record.subject, record.client_id, record.scope, access_ttl, refresh_ttl)

    def refresh(self, refresh_token: str, client_id: str, access_ttl: int,
                refresh_ttl: int | None, rotate: bool = True) -> dict:
        """Redeem a refresh token (grant_type=refresh_token), rotating it."""
        if not refresh_token:
            raise OAuthError("invalid_request", "Missing required parameter: refresh_token")
        record = self._refresh.get(fingerprint(refresh_token))
        if record is None or record.state != "active":
            raise OAuthError("invalid_request", REFRESH_TOKEN_INVALID, status=401)
        if record.expires_at is not None and self.clock() >= record.expires_at:
            record.state = "invalidated"
            raise OAuthError("invalid_request", REFRESH_TOKEN_INVALID, status=401)
        if client_id and client_id != record.client_id:
            raise OAuthError("invalid_client", "Refresh token was issued to another client", status=401)
        response = self.issue_pair(record.subject, record.client_id, record.scope, access_ttl,
                                   refresh_ttl, family=record.family)
        if rotate:
            record.state = "rotated"
        else:
            # Without rotation the client keeps using the same refresh token.
            del self._refresh[fingerprint(response["refresh_token"])]
            response["refresh_token"] = refresh_token
        return response

    def expire_access_tokens(self) -> int:
        """Make every access token issued so far expired; return how many."""
        now = self.clock()
        count = 0
        for record in self._access.values():
            if record.expires_at > now:
                record.expires_at = now - 1
                count += 1
        return count

    def invalidate_refresh_tokens(self) -> int:
        """Make every active refresh token unusable; return how many."""
        count = 0
        for record in self._refresh.values():
            if record.state == "active":
                record.state = "invalidated"
                count += 1
        return count

    def revoke_all(self) -> int:
        """Revoke every access token, refresh token and PAT; return how many."""
        count = 0
        for record in self._access.values():
            if not record.revoked:
                record.revoked = True
                count += 1
        for refresh in self._refresh.values():
            if refresh.state in ("active", "rotated"):
                refresh.state = "revoked"
                count += 1
        for pat in self._pats.values():
            if not pat.deleted:
                pat.deleted = True
                count += 1
        return count

    # ------------------------------------------------------------------ PATs
    def create_pat(self, comment: str, lifetime_seconds: int | None, user_id: int, username: str,
                   creation_time_ms: int | None = None) -> tuple[str, PatRecord]:
        """Mint a ``dapi`` personal access token; return (value, record)."""
        now_ms = int(self.clock() * 1000) if creation_time_ms is None else int(creation_time_ms)
        value = "dapi" + secrets.token_hex(16)
        expiry = -1
        if lifetime_seconds is not None and int(lifetime_seconds) > 0:
            expiry = now_ms + int(lifetime_seconds) * 1000
        record = PatRecord(
            token_id=secrets.token_hex(32), fingerprint=fingerprint(value), comment=comment or "",
            creation_time=now_ms, expiry_time=expiry, created_by_id=user_id, created_by_username=username,
        )
        self._pats[record.token_id] = record
        return value, record

    def list_pats(self) -> list[PatRecord]:
        """Tokens not deleted, oldest first."""
        return sorted((p for p in self._pats.values() if not p.deleted), key=lambda p: p.creation_time)

    def delete_pat(self, token_id: str) -> bool:
        """Delete a PAT by id; False when there is no such (live) token."""
        record = self._pats.get(token_id)
        if record is None or record.deleted:
            return False
        record.deleted = True
        return True

    # --------------------------------------------------------------- bearers
    def check_bearer(self, token: str | None) -> BearerCheck:
        """Classify a presented bearer token (never raises)."""
        if not token:
            return BearerCheck()
        now = self.clock()
        if token.startswith("dapi"):
            digest = fingerprint(token)
            for pat in self._pats.values():
                if hmac.compare_digest(pat.fingerprint, digest):
                    if pat.deleted:
                        return BearerCheck(BEARER_REVOKED, KIND_PAT, pat.created_by_username)
                    if pat.expiry_time != -1 and now * 1000 >= pat.expiry_time:
                        return BearerCheck(BEARER_EXPIRED, KIND_PAT, pat.created_by_username)
                    return BearerCheck(BEARER_VALID, KIND_PAT, pat.created_by_username)
            return BearerCheck(BEARER_UNKNOWN, KIND_PAT)
        claims = self.signer.decode(token)
        if claims is None:
            # JWT-shaped but not signed by us: an OAuth token from elsewhere.
            return BearerCheck(BEARER_UNKNOWN, KIND_OAUTH if token.count(".") == 2 else None)
        record = self._access.get(claims.get("jti"))
        if record is None:
            return BearerCheck(BEARER_UNKNOWN, KIND_OAUTH)
        if record.revoked:
            return BearerCheck(BEARER_REVOKED, KIND_OAUTH, record.subject)
        if now >= record.expires_at:
            return BearerCheck(BEARER_EXPIRED, KIND_OAUTH, record.subject)
        return BearerCheck(BEARER_VALID, KIND_OAUTH, record.subject)

    def summary(self) -> dict:
        """Counts for the control API (no values)."""
        now = self.clock()
        return {
            "access_tokens": len(self._access),
            "access_tokens_valid": sum(1 for r in self._access.values() if not r.revoked and now < r.expires_at),
            "refresh_tokens_active": sum(1 for r in self._refresh.values() if r.state == "active"),
            "refresh_tokens_rotated": sum(1 for r in self._refresh.values() if r.state == "rotated"),
            "authorization_codes": len(self._codes),
            "pats": len(self.list_pats()),
        }

    def clear(self) -> None:
        """Forget every token, code and PAT."""
        self._access.clear()
        self._refresh.clear()
        self._codes.clear()
        self._pats.clear()
