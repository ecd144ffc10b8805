# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared plumbing of the modules that talk to a Databricks workspace through databricks-sdk.

Private to the collection. It provides, for every SDK-backed module:

* the connection/authentication argument spec (documented by the doc fragment
  ``fmapi.coding_agents.databricks_auth``);
* the guarded ``databricks-sdk`` import with a presence and minimum-version check;
* resolution of the options into a :class:`WorkspaceAccess` (profile read from
  ``~/.databrickscfg``, Databricks CLI located, CA bundle checked);
* an environment free of ``DATABRICKS_*`` influence while the SDK runs;
* a fast, retry-free reachability check before the SDK's own (long) retry loop;
* :func:`explain_error`, which turns SDK, HTTP, TLS, connection and CLI errors into
  messages that say what to do, never containing a token.

A module uses it like this::

    sdk_module = DatabricksSdkModule(argument_spec=..., supports_check_mode=True)
    with sdk_module.workspace_client("list serving endpoints") as client:
        data = client.api_client.do("GET", "/api/2.0/serving-endpoints")
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import traceback
import typing as t

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.compat.version import LooseVersion

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws

SDK_IMPORT_ERROR = None  # type: t.Optional[str]
try:
    import requests
    from databricks.sdk import WorkspaceClient
    from databricks.sdk import errors as sdk_errors
    from databricks.sdk.core import Config
    from databricks.sdk.version import __version__ as SDK_VERSION
except ImportError:
    HAS_DATABRICKS_SDK = False
    SDK_IMPORT_ERROR = traceback.format_exc()
    SDK_VERSION = None
else:
    HAS_DATABRICKS_SDK = True

# The oldest release whose Config has databricks_cli_path, http_timeout_seconds and
# retry_timeout_seconds, whose ApiClient.do takes a path, and whose errors map HTTP statuses to
# Unauthenticated/PermissionDenied/NotFound: everything this file relies on.
MIN_SDK_VERSION = ws.MIN_SDK_VERSION

PRODUCT_NAME = "fmapi-coding-agents"
PRODUCT_VERSION = "0.1.0"

AUTH_DATABRICKS_CLI = "databricks-cli"
AUTH_PAT = "pat"

_SDK_DEBUG_SUFFIX = re.compile(r"\.?\s*(?:Config: .*|Env: .*)$", re.DOTALL)
_MAX_DETAIL = 400


def databricks_auth_argument_spec() -> t.Dict[str, t.Dict[str, t.Any]]:
    """The options of doc fragment ``fmapi.coding_agents.databricks_auth``."""
    return dict(
        host=dict(type="str"),
        profile=dict(type="str"),
        token=dict(type="str", no_log=True),
        auth_type=dict(type="str", choices=[AUTH_DATABRICKS_CLI, AUTH_PAT]),
        databricks_cli=dict(type="path"),
        ca_file=dict(type="path"),
        timeout=dict(type="int", default=20),
        retry_timeout=dict(type="int", default=30),
    )


class DatabricksModuleError(Exception):
    """A problem with the options or the laptop's setup; the message says what to fix."""


class WorkspaceError(Exception):
    """The workspace could not be reached or refused (with ``report_errors``): the message says what to do."""

    def __init__(self, message: str, host: t.Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.host = host


class WorkspaceAccess:  # pylint: disable=too-few-public-methods,too-many-instance-attributes
    """Everything needed to reach one workspace as one identity (the token is kept out of repr)."""

    def __init__(self, host: str, auth_type: str, profile: t.Optional[str] = None, token: t.Optional[str] = None,
                 cli_path: t.Optional[str] = None, ca_file: t.Optional[str] = None, timeout: int = 20,
                 retry_timeout: int = 30):
        self.host = host
        self.auth_type = auth_type
        self.profile = profile
        self.token = token
        self.cli_path = cli_path
        self.ca_file = ca_file
        self.timeout = timeout
        self.retry_timeout = retry_timeout
        self.extra_secrets = []  # type: t.List[str]
        self.config_file = ws.config_file_path(os.environ)

    def __repr__(self) -> str:
        return "WorkspaceAccess(host=%r, auth_type=%r, profile=%r)" % (self.host, self.auth_type, self.profile)

    def secrets(self) -> t.List[str]:
        """Values that must never appear in a message."""
        return ([self.token] if self.token else []) + list(self.extra_secrets)

    def login_command(self) -> str:
        """The command that (re)starts the OAuth session this access relies on."""
        return ws.login_command(self.profile or ws.DEFAULT_PROFILE, self.host or None)

    def identity(self) -> str:
        """How the caller is identified, for messages."""
        if self.auth_type == AUTH_DATABRICKS_CLI:
            return "the Databricks CLI login of profile '%s'" % self.profile
        if self.profile:
            return "the token of profile '%s'" % self.profile
        return "the given token"


# ----------------------------------------------------------------------------- option checks
def check_ca_file(path: str) -> str:
    """Absolute path of a readable PEM bundle."""
    full = os.path.abspath(os.path.expanduser(path))
    try:
        with open(full, "rb") as handle:
            head = handle.read(1024 * 1024)
    except OSError as exc:
        raise DatabricksModuleError("ca_file %r cannot be read: %s" % (path, exc.strerror or exc))
    if b"-----BEGIN CERTIFICATE-----" not in head:
        raise DatabricksModuleError(
            "ca_file %r is not a PEM certificate bundle (no '-----BEGIN CERTIFICATE-----' line); export the CA "
            "certificate in PEM (Base64) format." % path)
    return full


def resolve_access(params: t.Mapping[str, t.Any], warn: t.Callable[[str], None] = lambda message: None
                   ) -> WorkspaceAccess:
    """Check the connection options and complete them from ``~/.databrickscfg``."""
    profile = params.get("profile")
    token = params.get("token")
    explicit_auth_type = params.get("auth_type")
    auth_type = explicit_auth_type or (AUTH_PAT if token else AUTH_DATABRICKS_CLI)
    try:
        if profile is not None:
            profile = ws.validate_profile(profile)
        host = ws.normalize_host(params["host"]) if params.get("host") else None
    except ws.ValidationError as exc:
        raise DatabricksModuleError(str(exc)) from None
    for key in ("timeout", "retry_timeout"):
        if params.get(key) is not None and params[key] < 1:
            raise DatabricksModuleError("%s must be at least 1 second, got %s" % (key, params[key]))

    if not profile and not token:
        raise DatabricksModuleError("Give either profile (Databricks CLI login) or host and token.")
    if token and not host:
        raise DatabricksModuleError("token needs host: the workspace URL the token belongs to.")
    if auth_type == AUTH_DATABRICKS_CLI and not profile:
        raise DatabricksModuleError("auth_type databricks-cli needs profile (the Databricks CLI profile to log in with).")

    profile_secrets = []  # type: t.List[str]
    config_file = ws.config_file_path(os.environ)
    if profile:
        info = ws.read_profile(config_file, profile)
        login = ws.login_command(profile, host)
        if info.problem:
            raise DatabricksModuleError(
                "%s. Fix the file (it is an INI file with one [profile] section per profile) or run the login "
                "command again: %s" % (info.problem, login))
        if not info.exists:
            raise DatabricksModuleError("Profile '%s' is not in %s. Log in once with: %s" % (profile, config_file, login))
        values = info.values or {}
        profile_secrets = [values[key] for key in ("token", "client_secret", "password") if values.get(key)]
        if not explicit_auth_type and values.get("token") and values.get("auth_type", AUTH_PAT) == AUTH_PAT:
            # A personal-access-token profile (as `databricks configure` writes it) has no CLI login to use.
            auth_type = AUTH_PAT
        profile_host = info.host
        if profile_host:
            try:
                profile_host = ws.normalize_host(profile_host)
            except ws.ValidationError as exc:
                if not host:
                    raise DatabricksModuleError("The host of profile '%s' in %s: %s Fix it with: %s"
                                                % (profile, config_file, exc, login)) from None
                profile_host = None
        if host and profile_host and not ws.same_host(host, profile_host):
            warn("host %s differs from the host of profile '%s' (%s); using %s" % (host, profile, profile_host, host))
        host = host or profile_host
        if not host:
            raise DatabricksModuleError(
                "Profile '%s' in %s has no host. Log in again with: %s" % (profile, config_file, login))
        if auth_type == AUTH_PAT and not values.get("token"):
            raise DatabricksModuleError(
                "auth_type pat with profile '%s' needs a token in that profile, but it has none; "
                "use auth_type databricks-cli or pass host and token." % profile)

    cli_path = None
    if auth_type == AUTH_DATABRICKS_CLI:
        found = ws.find_cli(os.environ, params.get("databricks_cli"))
        if found.path is None:
            raise DatabricksModuleError("auth_type databricks-cli needs the Databricks CLI. %s" % found.problem)
        cli_path = found.path
    ca_file = check_ca_file(params["ca_file"]) if params.get("ca_file") else None
    access = WorkspaceAccess(host, auth_type, profile=profile, token=token, cli_path=cli_path, ca_file=ca_file,
                             timeout=params.get("timeout") or 20, retry_timeout=params.get("retry_timeout") or 30)
    access.config_file = config_file
    access.extra_secrets = profile_secrets
    return access


# ----------------------------------------------------------------------------- environment
@contextlib.contextmanager
def isolated_environment(ca_file: t.Optional[str] = None) -> t.Iterator[None]:
    """Run the SDK (and the CLI it starts) without ``DATABRICKS_*`` influence, with one CA bundle for both.

    The SDK reads ``DATABRICKS_HOST``/``DATABRICKS_TOKEN``/... whenever an option is unset and the CLI
    lets them override ``--profile``; requests trusts ``REQUESTS_CA_BUNDLE`` while the Go CLI trusts
    ``SSL_CERT_FILE``. The environment is restored afterwards.
    """
    saved = dict(os.environ)
    try:
        for key in list(os.environ):
            if key.startswith("DATABRICKS_") and key not in ws.KEPT_DATABRICKS_VARIABLES:
                del os.environ[key]
        if ca_file:
            os.environ["REQUESTS_CA_BUNDLE"] = ca_file
            os.environ["SSL_CERT_FILE"] = ca_file
        elif os.environ.get("REQUESTS_CA_BUNDLE") and not os.environ.get("SSL_CERT_FILE"):
            if os.path.isfile(os.environ["REQUESTS_CA_BUNDLE"]):
                os.environ["SSL_CERT_FILE"] = os.environ["REQUESTS_CA_BUNDLE"]
        elif os.environ.get("SSL_CERT_FILE") and not os.environ.get("REQUESTS_CA_BUNDLE"):
            os.environ["REQUESTS_CA_BUNDLE"] = os.environ["SSL_CERT_FILE"]
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def trusted_ca_description(ca_file: t.Optional[str] = None, for_cli: bool = False) -> str:
    """Which trust store is in use (by databricks-sdk, or by the Go CLI), for TLS messages."""
    if ca_file:
        return "ca_file %s" % ca_file
    for key in (("SSL_CERT_FILE",) if for_cli else ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")):
        if os.environ.get(key):
            return "%s=%s" % (key, os.environ[key])
    return "the default trust store"


def check_reachable(access: WorkspaceAccess) -> None:
    """One request to the workspace, without retries, so a host that cannot be reached fails fast.

    The SDK retries connection errors (including TLS failures) for up to ``retry_timeout`` seconds,
    first while it probes the host's metadata and again for the real request; a laptop off the VPN
    should hear about it at once. Any HTTP answer counts as reachable.
    """
    response = requests.head(access.host + "/", timeout=(access.timeout, access.timeout), allow_redirects=False,
                             headers={"User-Agent": "%s/%s" % (PRODUCT_NAME, PRODUCT_VERSION)})
    response.close()


def build_workspace_client(access: WorkspaceAccess) -> "WorkspaceClient":
    """A WorkspaceClient configured from ``access`` only (call inside :func:`isolated_environment`)."""
    settings = dict(
        host=access.host,
        auth_type=access.auth_type,
        http_timeout_seconds=access.timeout,
        retry_timeout_seconds=access.retry_timeout,
    )
    if access.profile:
        settings["profile"] = access.profile
        settings["config_file"] = access.config_file
    if access.token:
        settings["token"] = access.token
    if access.cli_path:
        settings["databricks_cli_path"] = access.cli_path
    config = Config(product=PRODUCT_NAME, product_version=PRODUCT_VERSION, **settings)
    return WorkspaceClient(config=config)


# ----------------------------------------------------------------------------- error messages
def redact(text: str, secrets: t.Iterable[str] = ()) -> str:
    """``text`` without the given secret values or anything shaped like a token."""
    return ws.mask_tokens(text, secrets)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _without_sdk_debug(text: str) -> str:
    """``text`` without the config dump the SDK appends to some errors (it names options, not causes)."""
    return _SDK_DEBUG_SUFFIX.sub("", text).strip()


def _server_message(exc: BaseException) -> str:
    """The server's own words, without the SDK's appended config dump."""
    text = _without_sdk_debug(str(exc))
    if len(text) > _MAX_DETAIL:
        text = text[:_MAX_DETAIL] + "..."
    return text


def _chain(exc: BaseException) -> t.List[BaseException]:
    chain = []
    current = exc  # type: t.Optional[BaseException]
    while current is not None and current not in chain and len(chain) < 20:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _find(chain: t.List[BaseException], kind: t.Any) -> t.Optional[BaseException]:
    for item in chain:
        if isinstance(item, kind):
            return item
    return None


def _contains(text: str, *needles: str) -> bool:
    lowered = text.lower()
    return any(needle.lower() in lowered for needle in needles)


_STATUS_OF_ERROR_CLASS = (("Unauthenticated", 401), ("PermissionDenied", 403), ("NotFound", 404),
                          ("TooManyRequests", 429), ("TemporarilyUnavailable", 503), ("InternalError", 500),
                          ("BadRequest", 400))


def http_status(exc: BaseException) -> t.Optional[int]:
    """The HTTP status an SDK error class stands for (subclasses included, e.g. ResourceDoesNotExist is 404)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    for name, status in _STATUS_OF_ERROR_CLASS:
        if name in names:
            return status
    return None


def _tls_advice(access: WorkspaceAccess, for_cli: bool = False) -> str:
    return ("If your organisation inspects TLS traffic (a corporate proxy or endpoint protection), trust its CA: "
            "set ca_file to the CA bundle in PEM format, or export REQUESTS_CA_BUNDLE and SSL_CERT_FILE. "
            "Currently trusted%s: %s." % (" by the CLI" if for_cli else "",
                                          trusted_ca_description(access.ca_file, for_cli)))


def explain_network_error(text: str, access: WorkspaceAccess, via: str = "") -> t.Optional[str]:
    """A message for a connection-level failure described by ``text``, or None if it is not one."""
    host = access.host
    source = " (reported by the Databricks CLI)" if via == "cli" else ""
    if _contains(text, "certificate verify failed", "certificate_verify_failed", "x509:", "unknown authority",
                 "self signed certificate", "self-signed certificate", "unable to get local issuer"):
        if _contains(text, "hostname mismatch", "doesn't match", "not valid for", "ip address mismatch",
                     "certificate is valid for"):
            return ("The TLS certificate of %s does not match that name%s: check host (use the workspace URL "
                    "exactly as shown in the browser)." % (host, source))
        if _contains(text, "expired", "not yet valid"):
            return ("The TLS certificate of %s has expired or is not yet valid%s: check the laptop's clock, "
                    "then report it to the workspace admins." % (host, source))
        return ("The TLS certificate of %s could not be verified%s: it is signed by an authority this laptop "
                "does not trust. %s" % (host, source, _tls_advice(access, via == "cli")))
    if _contains(text, "sslerror", "ssl:", "tls:", "handshake", "wrong version number"):
        return ("The TLS handshake with %s failed%s (%s). Check that host is the https:// URL of the workspace. %s"
                % (host, source, _short_cause(text), _tls_advice(access, via == "cli")))
    if _contains(text, "name or service not known", "nodename nor servname", "failed to resolve",
                 "temporary failure in name resolution", "no such host", "getaddrinfo", "name resolution",
                 "no address associated"):
        return ("The host name of %s could not be resolved%s: check the URL for typos, and connect to the VPN "
                "if the workspace is only reachable through it." % (host, source))
    if _contains(text, "connection refused", "errno 111", "errno 61", "actively refused"):
        return ("Connection to %s was refused%s: nothing accepts connections at that address and port. Check host "
                "(and any port in it) and your VPN or proxy settings." % (host, source))
    if _contains(text, "network is unreachable", "no route to host", "host is down", "errno 101", "errno 113"):
        return ("There is no network route to %s%s: connect to the network or VPN the workspace is reachable "
                "from." % (host, source))
    if _contains(text, "timed out", "i/o timeout", "read timeout", "connecttimeout", "timeout awaiting",
                 "deadline exceeded"):
        return ("%s did not answer within %s seconds%s: check your network connection and VPN, or raise timeout "
                "if the connection is just slow." % (host, access.timeout, source))
    if _contains(text, "proxy"):
        return ("The HTTP proxy refused or failed the connection to %s%s (%s): check HTTPS_PROXY / NO_PROXY."
                % (host, source, _short_cause(text)))
    if _contains(text, "connection reset", "remotedisconnected", "connection aborted", "broken pipe",
                 "remote end closed"):
        return ("%s closed the connection unexpectedly%s: a proxy, firewall or endpoint protection may be "
                "interfering. Try again, or check the VPN." % (host, source))
    return None


def _short_cause(text: str) -> str:
    match = re.search(r"\[SSL: [^\]]+\][^'\")]*|tls: [^\n.]*|x509: [^\n.]*", text)
    found = match.group(0) if match else _first_line(text)
    return found[:200].strip()


def explain_cli_error(text: str, access: WorkspaceAccess) -> str:
    """A message for a failure of ``databricks auth token`` (the CLI's own words are in ``text``)."""
    login = access.login_command()
    network = explain_network_error(text, access, via="cli")
    if network:
        return network
    if _contains(text, "refresh token is invalid", "invalid_grant", "invalid refresh token", "reauthenticate",
                 "token is expired", "has expired", "no cached credentials", "databricks oauth is not configured",
                 "not found in token cache", "auth login"):
        return ("The Databricks login of profile '%s' for %s has expired or was never completed. Run `%s` on "
                "this laptop and try again." % (access.profile, access.host, login))
    detail = _server_message(Exception(_cli_words(text)))
    return ("The Databricks CLI (%s) could not provide a token for profile '%s': %s. If the login is the "
            "problem, run `%s`." % (access.cli_path or "databricks", access.profile, detail, login))


def _cli_words(text: str) -> str:
    """The CLI's stderr inside the SDK's wrapping ('default auth: databricks-cli: cannot get access token: ...')."""
    for marker in ("cannot get access token:", "databricks-cli:", "default auth:"):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.replace("Error: ", "").strip()


def explain_error(exc: BaseException, access: WorkspaceAccess, action: str) -> t.Optional[str]:
    """An actionable message for ``exc`` raised while trying to ``action``; None for unrelated exceptions.

    The message never contains a token: the given token and anything shaped like one is masked.
    """
    message = _explain(exc, access, action)
    if message is None:
        return None
    return redact(message, access.secrets())


def _explain(exc: BaseException, access: WorkspaceAccess, action: str) -> t.Optional[str]:  # noqa: C901
    # pylint: disable=too-many-return-statements,too-many-branches
    host = access.host
    if isinstance(exc, DatabricksModuleError):
        return str(exc)
    chain = _chain(exc)

    api_error = _find(chain, sdk_errors.DatabricksError) if HAS_DATABRICKS_SDK else None
    if api_error is not None:
        status = http_status(api_error)
        detail = _server_message(api_error)
        kind = type(api_error).__name__
        if kind == "PrivateLinkValidationError":
            return ("%s is only reachable over Private Link from a network you are not on (%s). Connect to the "
                    "corporate network or VPN and try again." % (host, detail))
        if status == 401:
            if access.auth_type == AUTH_DATABRICKS_CLI:
                return ("%s rejected the token of profile '%s' (HTTP 401: %s): the Databricks login session has "
                        "expired or was revoked. Run `%s` and try again."
                        % (host, access.profile, detail, access.login_command()))
            return ("%s rejected %s (HTTP 401: %s): it has expired, was revoked, or belongs to another workspace. "
                    "Create a new personal access token (Settings > Developer > Access tokens) or log in with the "
                    "Databricks CLI and use profile." % (host, access.identity(), detail))
        if status == 403:
            return ("%s refused to %s for %s (HTTP 403: %s). The login works but lacks permission: ask a workspace "
                    "admin for access to Model Serving (serving endpoints) in this workspace, or check that host "
                    "is the workspace you meant." % (host, action, access.identity(), detail))
        if status == 404:
            return ("%s answered 404 Not Found when trying to %s (%s): it does not look like a Databricks workspace "
                    "URL. Check host: it should be the workspace URL as shown in the browser, for example "
                    "https://dbc-1234abcd-5678.cloud.databricks.com or https://adb-1234567890123456.7."
                    "azuredatabricks.net." % (host, action, detail))
        if status == 429:
            return ("%s kept rate-limiting the requests (HTTP 429: %s) for longer than retry_timeout (%s seconds). "
                    "Try again later or raise retry_timeout." % (host, detail, access.retry_timeout))
        if status in (500, 503) or kind in ("InternalError", "TemporarilyUnavailable", "DeadlineExceeded",
                                            "Unknown", "DataLoss"):
            return ("%s had an internal problem while trying to %s (%s: %s). This is on the workspace's side: try "
                    "again later, and tell the workspace admins if it persists." % (host, action, kind, detail))
        if status == 400:
            return "%s rejected the request to %s (HTTP 400: %s)." % (host, action, detail)
        return "Could not %s on %s: %s: %s" % (action, host, kind, detail)

    if HAS_DATABRICKS_SDK:
        requests_error = _find(chain, requests.exceptions.RequestException)
        if requests_error is not None and not isinstance(requests_error, (requests.exceptions.JSONDecodeError,)):
            text = " ".join(repr(item) for item in chain)
            if isinstance(requests_error, requests.exceptions.SSLError):
                return explain_network_error(text, access) or (
                    "The TLS connection to %s failed (%s). %s" % (host, _short_cause(text), _tls_advice(access)))
            if isinstance(requests_error, requests.exceptions.ConnectTimeout):
                return explain_network_error("timed out " + text, access)
            if isinstance(requests_error, requests.exceptions.ReadTimeout):
                return ("%s accepted the connection but did not answer within %s seconds while trying to %s: the "
                        "workspace or a proxy is slow. Try again, or raise timeout." % (host, access.timeout, action))
            if isinstance(requests_error, requests.exceptions.ProxyError):
                return ("The HTTP proxy failed the connection to %s (%s): check HTTPS_PROXY / NO_PROXY."
                        % (host, _short_cause(text)))
            network = explain_network_error(text, access)
            if network:
                return network
            return "Could not connect to %s: %s" % (host, _short_cause(str(requests_error)))
        json_error = _find(chain, requests.exceptions.JSONDecodeError)
        if json_error is not None:
            return ("%s did not answer with JSON when trying to %s: it does not look like a Databricks workspace. "
                    "Check host." % (host, action))

    text = " ".join(_without_sdk_debug(str(item)) for item in chain)
    if _contains(text, "has no ") and _contains(text, "profile configured"):
        return ("Profile '%s' is not in %s. Log in once with: %s" % (access.profile, access.config_file,
                                                                     access.login_command()))
    if access.auth_type == AUTH_DATABRICKS_CLI and _contains(text, "cannot configure default credentials"):
        # The SDK skips the CLI without a word when it answers "databricks OAuth is not configured for this
        # host", i.e. the profile exists but the CLI holds no login for it (never completed, cache deleted).
        return ("The Databricks CLI has no login for profile '%s' (%s). Run `%s` on this laptop and try again."
                % (access.profile, access.host, access.login_command()))
    if _contains(text, "databricks-cli", "cannot get access token", "databricks auth"):
        if _contains(text, "no such file or directory", "not installed", "databricks cli version <0.100",
                     "permission denied", "exec format error"):
            return ("The Databricks CLI needed for auth_type databricks-cli could not be run (%s). Install it or set "
                    "databricks_cli to its path." % _first_line(_server_message(Exception(_cli_words(text)))))
        return explain_cli_error(text, access)
    if isinstance(exc, TimeoutError) or _contains(text, "timed out after"):
        network = explain_network_error(text, access)
        if network:
            return network
        return ("Gave up trying to %s on %s after retrying for retry_timeout (%s seconds): %s"
                % (action, host, access.retry_timeout, _server_message(exc)))
    if isinstance(exc, ValueError) and _contains(text, "default auth", "validate:", "resolve:", "config"):
        return "The Databricks connection could not be set up: %s" % _server_message(exc)
    return None


# ----------------------------------------------------------------------------- the module wrapper
class DatabricksSdkModule:
    """An AnsibleModule with the Databricks connection options and SDK plumbing.

    :param argument_spec: the module's own options (the connection options are added).
    :param kwargs: passed on to AnsibleModule (mutually_exclusive etc. are extended, not replaced).
    """

    def __init__(self, argument_spec: t.Optional[t.Dict[str, t.Any]] = None, **kwargs: t.Any):
        spec = databricks_auth_argument_spec()
        spec.update(argument_spec or {})
        kwargs["mutually_exclusive"] = [["profile", "token"]] + list(kwargs.get("mutually_exclusive") or [])
        kwargs["required_one_of"] = [["profile", "token"]] + list(kwargs.get("required_one_of") or [])
        required_by = dict(kwargs.get("required_by") or {})
        required_by.setdefault("token", "host")
        kwargs["required_by"] = required_by
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        self._access = None  # type: t.Optional[WorkspaceAccess]
        # Raise WorkspaceError instead of failing the module, for modules that report problems as checks.
        self.report_errors = False
        # The SDK logs warnings meant for developers (e.g. about CLI dev builds) to stderr otherwise.
        logging.getLogger("databricks.sdk").addHandler(logging.NullHandler())

    @property
    def params(self) -> t.Dict[str, t.Any]:
        """The module's parameters."""
        return self.module.params

    @property
    def check_mode(self) -> bool:
        """Whether Ansible runs in check mode."""
        return self.module.check_mode

    def warn(self, message: str) -> None:
        """Add a warning to the result."""
        self.module.warn(message)

    def exit_json(self, **result: t.Any) -> None:
        """Finish successfully."""
        self.module.exit_json(**result)

    def fail_json(self, msg: str, **result: t.Any) -> None:
        """Finish with a failure; the message is redacted."""
        secrets = self._access.secrets() if self._access else [self.params.get("token") or ""]
        self.module.fail_json(msg=redact(msg, secrets), **result)

    def require_sdk(self) -> None:
        """Fail unless a usable databricks-sdk is importable."""
        if not HAS_DATABRICKS_SDK:
            self.module.fail_json(
                msg=missing_required_lib("databricks-sdk>=%s" % MIN_SDK_VERSION,
                                         reason="to talk to the Databricks workspace"),
                exception=SDK_IMPORT_ERROR)
        if LooseVersion(str(SDK_VERSION)) < LooseVersion(MIN_SDK_VERSION):
            self.module.fail_json(
                msg="databricks-sdk %s is too old: this module needs %s or newer. Upgrade it for the Python that "
                    "runs the module (%s): pip install --upgrade 'databricks-sdk>=%s'"
                    % (SDK_VERSION, MIN_SDK_VERSION, sys.executable, MIN_SDK_VERSION))

    @property
    def access(self) -> WorkspaceAccess:
        """The resolved connection settings (fails the module when the options don't add up)."""
        if self._access is None:
            try:
                self._access = resolve_access(self.params, self.warn)
            except DatabricksModuleError as exc:
                if self.report_errors:
                    raise WorkspaceError(redact(str(exc), [self.params.get("token") or ""]),
                                         self.params.get("host")) from None
                self.fail_json(msg=str(exc))
        return self._access  # type: ignore[return-value]

    @contextlib.contextmanager
    def workspace_client(self, action: str) -> t.Iterator["WorkspaceClient"]:
        """A WorkspaceClient for the block; SDK, HTTP, TLS and CLI errors in it fail the module with advice.

        :param action: what the block does, for messages ("list serving endpoints").
        """
        self.require_sdk()
        access = self.access
        with isolated_environment(access.ca_file):
            try:
                check_reachable(access)
                client = build_workspace_client(access)
                yield client
            except Exception as exc:  # pylint: disable=broad-exception-caught
                message = explain_error(exc, access, action)
                if message is None:
                    raise
                if self.report_errors:
                    raise WorkspaceError(message, access.host) from None
                self.fail_json(msg=message, host=access.host)
