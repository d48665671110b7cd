"""OpenID Connect relying party on Authlib: discovery, PKCE (S256), state, nonce, ID token checks.

Discovery documents and key sets are cached per process for an hour (refetched when a
token names a key we do not have). Nothing about a login in progress is kept in memory:
see `pending.py`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, cast

import httpx
from authlib.integrations.httpx_client import OAuth2Client, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from app.config import OIDCProvider

HTTP_TIMEOUT = 10.0
CACHE_SECONDS = 3600
# Clock skew allowed for exp/iat.
LEEWAY_SECONDS = 60


class OIDCError(Exception):
    """A sign-in that cannot continue; `reason` is the audit reason code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass
class _Cached:
    fetched_at: float
    metadata: dict[str, Any]
    jwks: dict[str, Any] | None = None


_cache: dict[str, _Cached] = {}
_lock = threading.Lock()


def _issuer(provider: OIDCProvider) -> str:
    return str(provider.issuer).rstrip("/")


def metadata(provider: OIDCProvider) -> dict[str, Any]:
    """The provider's discovery document; its `issuer` must equal the configured one."""
    issuer = _issuer(provider)
    with _lock:
        cached = _cache.get(issuer)
        if cached is not None and time.monotonic() - cached.fetched_at < CACHE_SECONDS:
            return cached.metadata
    try:
        response = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OIDCError("discovery_failed", type(exc).__name__) from exc
    if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != issuer:
        raise OIDCError("discovery_issuer_mismatch")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(key), str):
            raise OIDCError("discovery_incomplete", key)
    with _lock:
        _cache[issuer] = _Cached(time.monotonic(), document)
    return document


def _key_set(provider: OIDCProvider, *, force: bool = False) -> KeySet:
    issuer = _issuer(provider)
    document = metadata(provider)
    with _lock:
        cached = _cache.get(issuer)
        jwks = cached.jwks if cached is not None else None
    if jwks is None or force:
        try:
            response = httpx.get(document["jwks_uri"], timeout=HTTP_TIMEOUT)
            response.raise_for_status()
            jwks = cast(dict[str, Any], response.json())
        except (httpx.HTTPError, ValueError) as exc:
            raise OIDCError("jwks_failed", type(exc).__name__) from exc
        with _lock:
            if issuer in _cache:
                _cache[issuer].jwks = jwks
    return KeySet.import_key_set(jwks)  # type: ignore[arg-type]


def _client(provider: OIDCProvider, redirect_uri: str) -> OAuth2Client:
    return OAuth2Client(
        client_id=provider.client_id,
        client_secret=provider.client_secret or None,
        token_endpoint_auth_method="client_secret_basic" if provider.client_secret else "none",
        scope=provider.scope,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT,
    )


def authorization_url(
    provider: OIDCProvider,
    redirect_uri: str,
    *,
    state: str,
    nonce: str,
    code_verifier: str,
    language: str,
    reauthenticate: bool = False,
) -> str:
    """`reauthenticate`: ask the provider to authenticate the person again now (`prompt=login`,
    `max_age=0`), not to pass on an existing provider session (a step-up)."""
    document = metadata(provider)
    extra = {"prompt": "login", "max_age": "0"} if reauthenticate else {}
    with _client(provider, redirect_uri) as client:
        url, _state = client.create_authorization_url(
            document["authorization_endpoint"],
            state=state,
            code_verifier=code_verifier,
            nonce=nonce,
            ui_locales=language,
            **extra,
        )
    return str(url)


def exchange_code(
    provider: OIDCProvider, redirect_uri: str, *, code: str, code_verifier: str
) -> dict[str, Any]:
    """Trade the authorization code for tokens (the code verifier proves it is ours)."""
    document = metadata(provider)
    with _client(provider, redirect_uri) as client:
        try:
            token = client.fetch_token(
                document["token_endpoint"],
                code=code,
                code_verifier=code_verifier,
                grant_type="authorization_code",
            )
        except OAuthError as exc:
            raise OIDCError("token_rejected", str(getattr(exc, "error", ""))) from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise OIDCError("token_failed", type(exc).__name__) from exc
    if "id_token" not in token:
        raise OIDCError("no_id_token")
    return dict(token)


def validate_id_token(provider: OIDCProvider, token: dict[str, Any], *, nonce: str) -> dict[str, Any]:
    """Verify signature, issuer, audience, expiry, nonce (and at_hash, azp); return the claims."""
    document = metadata(provider)
    algorithms = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [alg for alg in algorithms if alg != "none"]
    registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
    try:
        try:
            decoded = jwt.decode(token["id_token"], _key_set(provider), registry=registry)
        except InvalidKeyIdError:
            decoded = jwt.decode(token["id_token"], _key_set(provider, force=True), registry=registry)
    except (JoseError, ValueError) as exc:
        raise OIDCError("id_token_signature", type(exc).__name__) from exc

    claims = dict(decoded.claims)
    # Name the failing check precisely for the audit log before the generic validation.
    if str(claims.get("iss", "")).rstrip("/") != _issuer(provider):
        raise OIDCError("wrong_issuer")
    if claims.get("nonce") != nonce:
        raise OIDCError("wrong_nonce")
    options = {
        "iss": {"essential": True, "value": str(claims["iss"])},
        "aud": {"essential": True, "value": provider.client_id},
        "exp": {"essential": True},
        "sub": {"essential": True},
    }
    params = {"nonce": nonce, "client_id": provider.client_id, "access_token": token.get("access_token")}
    try:
        CodeIDToken(decoded.claims, decoded.header, options, params).validate(leeway=LEEWAY_SECONDS)
    except ExpiredTokenError as exc:
        raise OIDCError("id_token_expired") from exc
    except JoseError as exc:
        raise OIDCError("id_token_invalid", getattr(exc, "error", type(exc).__name__)) from exc
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise OIDCError("id_token_invalid", "sub")
    return claims


def end_session_url(
    provider: OIDCProvider, *, id_token_hint: str | None, post_logout_redirect_uri: str
) -> str | None:
    """RP-initiated logout URL when discovery advertises `end_session_endpoint`."""
    try:
        document = metadata(provider)
    except OIDCError:
        return None
    endpoint = document.get("end_session_endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        return None
    params = {"client_id": provider.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
    if id_token_hint:
        params["id_token_hint"] = id_token_hint
    return str(httpx.URL(endpoint, params=params))
