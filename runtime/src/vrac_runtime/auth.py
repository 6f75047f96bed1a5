"""Bearer tokens and signed links, verified with public keys.

A bearer token is a JWT signed by an issuer this service trusts, with an asymmetric key
(EdDSA, ES256 or RS256; never HS256 or ``none``). Two kinds of issuer:

- **user issuers** (``VRAC_TRUSTED_ISSUERS``: ``iss`` -> JWKS URL, e.g. an OpenID Connect
  provider): their tokens carry ``sub``, ``role`` (one of ``ROLES`` but ``service``) and
  ``pilot`` (a pilot id, or ``*`` for consortium-wide roles);
- **peer services** (``VRAC_TRUSTED_SERVICES``: service name -> base URL): each service signs
  its own calls with its own key (``iss`` ``vrac-<service>``, ``role`` ``service``, ``sub``
  the service's name), and publishes its public keys at ``/.well-known/jwks.json``. A peer's
  key mints nothing but that peer's own calls.

Every token names its audiences (``aud``): a service accepts only tokens for
``vrac-<service_name>``. Public keys are fetched over HTTP, cached, and fetched again when a
token names an unknown key id (at most once per ``VRAC_JWKS_REFRESH_SECONDS``), so an issuer
rotates its key by publishing old and new side by side.

No token: 401. A valid token of another pilot, or a role the endpoint does not allow: 403.
``dpo``, a pilot's data-protection officer, reads the audit trail of the pilot's cases.

Signed links are for people without an account (a parent opening the child's diploma): a
token that opens one path until it expires, signed by the service that serves the path, for
its own link audience (``vrac-<service>-link``), so a link is never a bearer token nor a
bearer token a link. Each link has an id (``jti``) the serving service can revoke.

Development (``VRAC_DEVELOPMENT=true``): a service without ``VRAC_SIGNING_KEYS`` signs with a
development key derived from its name, and trusts the development issuer, whose key is
derived from a fixed, public text: ``python -m vrac_runtime.auth --role R --pilot P`` mints
tokens with it. Anyone can derive these keys; outside development a service refuses to start
with them (:func:`unsafe_settings`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from vrac_contracts.catalogue import SERVICES

if TYPE_CHECKING:
    from vrac_runtime.settings import ServiceSettings

ALL_PILOTS: Final = "*"
ROLES: Final = ("coach", "pilot-lead", "consortium", "agency", "service", "admin", "dpo")
SERVICE_ROLE: Final = "service"
ALGORITHMS: Final = ("EdDSA", "ES256", "RS256")
DEVELOPMENT_ISSUER: Final = "vrac-development"
JWKS_PATH: Final = "/.well-known/jwks.json"
SERVICE_TOKEN_SECONDS: Final = 300
LEEWAY_SECONDS: Final = 30  # clocks of issuer and service may differ a little

# one fixed answer per case: nothing of the JWT library's wording reaches a caller
EXPIRED: Final = "the bearer token has expired"
NOT_YET_VALID: Final = "the bearer token is not valid yet"
WRONG_AUDIENCE: Final = "the bearer token is not valid for this service"
UNTRUSTED: Final = "the bearer token comes from an issuer this service does not trust"
MISSING_CLAIM: Final = "the bearer token lacks a required claim (sub, exp, iss or aud)"
INVALID: Final = "the bearer token is not valid"
KEYS_AWAY: Final = "the keys of the token's issuer cannot be fetched now; try again later"
LINK_EXPIRED: Final = "this link has expired"
LINK_INVALID: Final = "this link is not valid"
LINK_ELSEWHERE: Final = "this link opens another document"

_bearer = HTTPBearer(auto_error=False)
T = TypeVar("T")


def audience(service: str) -> str:
    """The audience a service accepts bearer tokens for."""
    return f"vrac-{service}"


def service_issuer(service: str) -> str:
    """The ``iss`` of the tokens and links a service signs itself."""
    return f"vrac-{service}"


def link_audience(service: str) -> str:
    return f"vrac-{service}-link"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    pilot: str

    def may_see(self, pilot: str) -> bool:
        return self.pilot in (ALL_PILOTS, pilot)

    def ensure_pilot(self, pilot: str) -> None:
        """403 unless this token is scoped to the pilot of the resource."""
        if not self.may_see(pilot):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this case belongs to another pilot")


@dataclass(frozen=True)
class LinkGrant:
    """A valid signed link: it opens ``path``; ``link_id`` is what revokes it."""

    link_id: str
    path: str
    expires_at: int


class TokenRefused(Exception):
    """A token or link that opens nothing; ``str()`` is the fixed text the caller sees."""


class KeysUnavailable(Exception):
    """The issuer's JWKS document could not be fetched and no key is cached."""


# -- signing keys ---------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def development_key(name: str) -> Ed25519PrivateKey:
    """DEVELOPMENT ONLY, NOT SECRET: a key anyone can derive from ``name`` (a service's name,
    or ``issuer`` for the development issuer). Refused outside ``VRAC_DEVELOPMENT=true``."""
    seed = hashlib.sha256(f"vrac development key, public, never for production: {name}".encode())
    return Ed25519PrivateKey.from_private_bytes(seed.digest())


_DEVELOPMENT_SEEDS: Final = frozenset(
    _raw_private(development_key(name)) for name in (*SERVICES, "issuer")
)


@dataclass(frozen=True)
class SigningKeys:
    """Ed25519 keys with their ids: the first signs, all are published (rotation overlap)."""

    keys: tuple[tuple[str, Ed25519PrivateKey], ...]

    @classmethod
    def parse(cls, text: str) -> SigningKeys:
        """A JWK set (``{"keys": [...]}``) of private Ed25519 keys (``kty`` OKP, ``d``, ``kid``).
        Errors name the position or key id, never key material."""
        try:
            document = json.loads(text)
        except ValueError:
            raise ValueError("not a JSON JWK set") from None
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list) or not entries:
            raise ValueError('expected {"keys": [...]} with at least one key')
        keys: list[tuple[str, Ed25519PrivateKey]] = []
        for n, jwk in enumerate(entries):
            kid = jwk.get("kid") if isinstance(jwk, dict) else None
            if not isinstance(kid, str) or not kid:
                raise ValueError(f"key {n + 1} has no kid")
            if (jwk.get("kty"), jwk.get("crv")) != ("OKP", "Ed25519") or "d" not in jwk:
                raise ValueError(f"key {kid} is not a private Ed25519 key (OKP, Ed25519, d)")
            try:
                keys.append((kid, Ed25519PrivateKey.from_private_bytes(_unb64(jwk["d"]))))
            except ValueError:
                raise ValueError(f"key {kid} does not decode") from None
        if len({kid for kid, _ in keys}) != len(keys):
            raise ValueError("two keys share a kid")
        return cls(tuple(keys))

    @classmethod
    def generate(cls, kid: str | None = None) -> SigningKeys:
        kid = kid or time.strftime("%Y-%m-%d-") + uuid.uuid4().hex[:8]
        return cls(((kid, Ed25519PrivateKey.generate()),))

    @classmethod
    def development(cls, name: str) -> SigningKeys:
        return cls(((f"development-{name}", development_key(name)),))

    @property
    def is_development(self) -> bool:
        return any(_raw_private(key) in _DEVELOPMENT_SEEDS for _, key in self.keys)

    def sign(self, claims: Mapping[str, Any]) -> str:
        kid, key = self.keys[0]
        return jwt.encode(dict(claims), key, algorithm="EdDSA", headers={"kid": kid})

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [_public_jwk(kid, key) for kid, key in self.keys]}

    def private_jwks(self) -> dict[str, Any]:
        return {
            "keys": [
                {**_public_jwk(kid, key), "d": _b64(_raw_private(key))} for kid, key in self.keys
            ]
        }

    def then(self, older: SigningKeys) -> SigningKeys:
        """These keys first, ``older`` after them: a rotation's overlap."""
        return SigningKeys(self.keys + older.keys)


def _public_jwk(kid: str, key: Ed25519PrivateKey) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64(_raw_public(key)),
        "kid": kid,
        "alg": "EdDSA",
        "use": "sig",
    }


# -- verification keys ----------------------------------------------------------------


def verification_keys(document: Any) -> dict[str, jwt.PyJWK]:
    """The signing keys of a JWKS document by kid, of the algorithms accepted here; keys for
    encryption, of other algorithms or without a kid are left out."""
    entries = document.get("keys") if isinstance(document, dict) else None
    found: dict[str, jwt.PyJWK] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        public = {k: v for k, v in entry.items() if k != "d"}  # never hold a private part
        try:
            key = jwt.PyJWK(public)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
        kid = entry.get("kid")
        if isinstance(kid, str) and key.algorithm_name in ALGORITHMS:
            found[kid] = key
    return found


class KeySource(Protocol):
    async def key(self, kid: str) -> jwt.PyJWK | None: ...


@dataclass
class StaticKeys:
    """Keys known without asking anyone: this service's own, or a development key."""

    keys: dict[str, jwt.PyJWK]

    @classmethod
    def of(cls, signing: SigningKeys) -> StaticKeys:
        return cls(verification_keys(signing.public_jwks()))

    async def key(self, kid: str) -> jwt.PyJWK | None:
        return self.keys.get(kid)


@dataclass
class JwksKeys:
    """The keys an issuer publishes at ``url``, cached for ``max_age`` seconds, fetched again
    at once for an unknown kid, but at most once per ``min_refresh`` seconds (a flood of
    made-up kids cannot turn into a flood of requests to the issuer)."""

    url: str
    http: Callable[[], httpx.AsyncClient]
    max_age: float = 3600
    min_refresh: float = 30
    clock: Callable[[], float] = time.monotonic
    _keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    _fetched_at: float | None = None
    _lock: asyncio.Lock | None = None

    async def key(self, kid: str) -> jwt.PyJWK | None:
        if kid in self._keys and not self._stale(self.max_age):
            return self._keys[kid]
        if self._fetched_at is None or self._stale(self.min_refresh):
            await self._refresh()
        return self._keys.get(kid)

    def _stale(self, seconds: float) -> bool:
        return self._fetched_at is None or self.clock() - self._fetched_at >= seconds

    async def _refresh(self) -> None:
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._fetched_at is not None and not self._stale(self.min_refresh):
                return  # another request refreshed while this one waited
            try:
                reply = await self.http().get(self.url)
                reply.raise_for_status()
                keys = verification_keys(reply.json())
            except (httpx.HTTPError, ValueError):
                if self._fetched_at is None:
                    raise KeysUnavailable(self.url) from None
                keys = self._keys  # keep what we had; try again after min_refresh
            self._keys, self._fetched_at = keys, self.clock()


@dataclass(frozen=True)
class Issuer:
    """A trusted issuer; ``service`` is set for a peer service, whose tokens may only be its
    own calls (role ``service``, subject its name)."""

    name: str
    keys: KeySource
    service: str | None = None


# -- the service's view ---------------------------------------------------------------


class Tokens:
    """Who this service trusts, and the keys it signs its own calls and links with."""

    def __init__(self, service: str, issuers: Iterable[Issuer], signing: SigningKeys) -> None:
        self.service = service
        self.audience = audience(service)
        self.issuer = service_issuer(service)
        self.issuers = {i.name: i for i in issuers}
        self.signing = signing
        self._own = StaticKeys.of(signing)
        self._service_tokens: dict[str, tuple[str, float]] = {}
        self._http: httpx.AsyncClient | None = None

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Tokens:
        me, signing = settings.service_name, settings.own_signing_keys
        tokens = cls(me, (), signing)

        def jwks(url: str) -> JwksKeys:
            return JwksKeys(
                url, tokens.client, settings.jwks_cache_seconds, settings.jwks_refresh_seconds
            )

        issuers: list[Issuer] = []
        if settings.development:
            dev = SigningKeys.development("issuer")
            issuers.append(Issuer(DEVELOPMENT_ISSUER, StaticKeys.of(dev)))
            # a peer not listed in VRAC_TRUSTED_SERVICES signs with its development key
            for peer in SERVICES:
                own = StaticKeys.of(SigningKeys.development(peer))
                issuers.append(Issuer(service_issuer(peer), own, peer))
        for name, url in settings.trusted_issuers.items():
            issuers.append(Issuer(name, jwks(url)))
        for peer, base in settings.trusted_services.items():
            issuers.append(Issuer(service_issuer(peer), jwks(base.rstrip("/") + JWKS_PATH), peer))
        # calls of this service's own replicas
        issuers.append(Issuer(service_issuer(me), StaticKeys.of(signing), me))
        tokens.issuers = {i.name: i for i in issuers}
        return tokens

    def client(self) -> httpx.AsyncClient:
        """The HTTP client that fetches JWKS documents, made in the running loop."""
        if self._http is None:
            # a JWKS URL is configured exactly: no redirects; a short deadline
            self._http = httpx.AsyncClient(timeout=5, follow_redirects=False)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def verify(self, token: str) -> Principal:
        """The principal of a valid bearer token for this service; else TokenRefused (401),
        KeysUnavailable (503), or 403 for a token without a role it may carry."""
        claims, issuer = await self._claims(token, self.audience)
        role, pilot, subject = claims.get("role"), claims.get("pilot"), str(claims["sub"])
        if issuer.service is not None:
            if role != SERVICE_ROLE or subject != issuer.service:
                raise TokenRefused(INVALID)  # a peer's key signs only its own calls
            return Principal(subject=subject, role=SERVICE_ROLE, pilot=ALL_PILOTS)
        if role == SERVICE_ROLE:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "role service is kept for the platform's services"
            )
        if role not in ROLES or not isinstance(pilot, str) or not pilot:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "token lacks a known role and a pilot")
        return Principal(subject=subject, role=role, pilot=pilot)

    async def verified_claims(self, token: str, aud: str) -> tuple[dict[str, Any], Issuer]:
        """The claims of a token for ``aud`` signed by a trusted issuer, and that issuer;
        else TokenRefused or KeysUnavailable. Which claims it must carry is the caller's."""
        return await self._claims(token, aud)

    async def _claims(self, token: str, aud: str) -> tuple[dict[str, Any], Issuer]:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise TokenRefused(INVALID) from None
        alg, kid, iss = header.get("alg"), header.get("kid"), unverified.get("iss")
        if alg not in ALGORITHMS or not isinstance(kid, str):
            raise TokenRefused(INVALID)
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise TokenRefused(UNTRUSTED if isinstance(iss, str) else MISSING_CLAIM)
        key = await issuer.keys.key(kid)
        if key is None or key.algorithm_name != alg:
            raise TokenRefused(INVALID)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=aud,
                issuer=issuer.name,
                leeway=LEEWAY_SECONDS,
                options={"require": ["sub", "exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as err:
            raise TokenRefused(_refusal(err)) from None
        return claims, issuer

    def service_token(self, callee: str) -> str:
        """This service's token for calling ``callee``; renewed a minute before it expires."""
        now = time.time()
        token, until = self._service_tokens.get(callee, ("", 0.0))
        if now > until - 60:
            now_s = int(now)
            token = self.signing.sign(
                {
                    "iss": self.issuer,
                    "sub": self.service,
                    "aud": audience(callee),
                    "role": SERVICE_ROLE,
                    "pilot": ALL_PILOTS,
                    "iat": now_s,
                    "exp": now_s + SERVICE_TOKEN_SECONDS,
                }
            )
            self._service_tokens[callee] = (token, now_s + SERVICE_TOKEN_SECONDS)
        return token

    def issue_link(self, path: str, ttl: int) -> tuple[LinkGrant, str]:
        """A new link opening ``path`` for ``ttl`` seconds: its grant and its token."""
        now = int(time.time())
        grant = LinkGrant(uuid.uuid4().hex, path, now + ttl)
        claims = {
            "iss": self.issuer,
            "aud": link_audience(self.service),
            "sub": path,
            "jti": grant.link_id,
            "iat": now,
            "exp": grant.expires_at,
        }
        return grant, self.signing.sign(claims)

    def verify_link(self, token: str, path: str) -> LinkGrant:
        """The grant of a valid, unexpired link this service signed for exactly ``path``;
        else TokenRefused with the text for the family. Revocation is the caller's check."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise TokenRefused(LINK_INVALID) from None
        key = self._own.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise TokenRefused(LINK_INVALID)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["EdDSA"],
                audience=link_audience(self.service),
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["sub", "exp", "iss", "aud", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRefused(LINK_EXPIRED) from None
        except jwt.PyJWTError:
            raise TokenRefused(LINK_INVALID) from None
        if claims["sub"] != path:
            raise TokenRefused(LINK_ELSEWHERE)
        return LinkGrant(str(claims["jti"]), path, int(claims["exp"]))


def _refusal(err: jwt.PyJWTError) -> str:
    if isinstance(err, jwt.ExpiredSignatureError):
        return EXPIRED
    if isinstance(err, jwt.ImmatureSignatureError):
        return NOT_YET_VALID
    if isinstance(err, jwt.InvalidAudienceError):
        return WRONG_AUDIENCE
    if isinstance(err, jwt.MissingRequiredClaimError):
        return MISSING_CLAIM
    return INVALID


def unsafe_settings(settings: ServiceSettings) -> str | None:
    """Why this service must not start outside development (naming the setting), or None."""
    if settings.development:
        return None
    if not settings.trusted_issuers:
        return "VRAC_TRUSTED_ISSUERS is empty: set the issuer of user tokens and its JWKS URL"
    if DEVELOPMENT_ISSUER in settings.trusted_issuers:
        return f"VRAC_TRUSTED_ISSUERS names {DEVELOPMENT_ISSUER}, the development issuer"
    if not settings.signing_keys.get_secret_value():
        return "VRAC_SIGNING_KEYS is empty: make a key with `python -m vrac_runtime.auth keygen`"
    if settings.own_signing_keys.is_development:
        return "VRAC_SIGNING_KEYS holds a development key: generate a key of this deployment"
    return None


# -- FastAPI --------------------------------------------------------------------------


def tokens_of(app: FastAPI) -> Tokens:
    """The app's ``Tokens``, made from its settings on first use."""
    tokens: Tokens | None = getattr(app.state, "tokens", None)
    if tokens is None:
        tokens = app.state.tokens = Tokens.from_settings(app.state.settings)
    return tokens


def _unauthorized(text: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, text, headers={"WWW-Authenticate": "Bearer"})


async def authenticate(app: FastAPI, token: str) -> Principal:
    """The principal of a bearer token, or the HTTP refusal (401, 403 or 503)."""
    try:
        return await tokens_of(app).verify(token)
    except TokenRefused as refused:
        raise _unauthorized(str(refused)) from None
    except KeysUnavailable:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, KEYS_AWAY) from None


def open_link(app: FastAPI, token: str, path: str) -> LinkGrant:
    """The grant of a link to ``path``, or 403 with the reason in plain words."""
    try:
        return tokens_of(app).verify_link(token, path)
    except TokenRefused as refused:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(refused)) from None


def requires(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency: the caller's principal, when its role is one of ``roles``."""
    allowed: Iterable[str] = roles or ROLES

    async def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
    ) -> Principal:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise _unauthorized("a bearer token is required")
        principal = await authenticate(request.app, credentials.credentials)
        if principal.role not in allowed and principal.role != "admin":
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {principal.role} may not do this")
        return principal

    return dependency


def requires_or_link(
    *roles: str,
    opens: Callable[[Request], str] | None = None,
    bearer: Callable[..., Awaitable[T]] | None = None,
) -> Callable[..., Awaitable[T | LinkGrant]]:
    """Like ``requires``, but a valid ``?link=`` for the requested path (or for the path
    ``opens`` names for the request: a link to a document that also opens what belongs to
    it) also opens it; then the answer is the link's grant (the route checks it is not
    revoked). ``bearer`` checks a bearer token instead of ``requires(*roles)`` (one that
    also takes the family's link)."""
    check: Callable[..., Awaitable[Any]] = bearer or requires(*roles)

    async def dependency(
        request: Request,
        link: str | None = Query(None, description="A signed link to this path."),
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> T | LinkGrant:
        if link is None:
            result: T = await check(request, credentials)
            return result
        path = request.url.path if opens is None else opens(request)
        return open_link(request.app, link, path)

    return dependency


def jwks_router() -> APIRouter:
    """``GET /.well-known/jwks.json``: the public keys this service signs its calls and
    links with, for its peers to verify them."""
    router = APIRouter(tags=["keys"])

    @router.get(JWKS_PATH, summary="Public keys of this service (JWK set)")
    async def jwks(request: Request) -> dict[str, Any]:
        return tokens_of(request.app).signing.public_jwks()

    return router


# -- command line ---------------------------------------------------------------------


def development_token(
    *, role: str, pilot: str, subject: str = "local-user", ttl: int = 3600, service: str = ""
) -> str:
    """A token the services accept in development: of the development issuer for every
    service's audience, or for role ``service`` one signed by ``service``'s development key."""
    now = int(time.time())
    if role == SERVICE_ROLE:
        if service not in SERVICES:
            raise ValueError(f"role service needs the calling service, one of {SERVICES}")
        signing, issuer, subject, pilot = (
            SigningKeys.development(service),
            service_issuer(service),
            service,
            ALL_PILOTS,
        )
    else:
        signing, issuer = SigningKeys.development("issuer"), DEVELOPMENT_ISSUER
    claims = {
        "iss": issuer,
        "sub": subject,
        "aud": [audience(s) for s in SERVICES],
        "role": role,
        "pilot": pilot,
        "iat": now,
        "exp": now + ttl,
    }
    return signing.sign(claims)


def _keygen(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m vrac_runtime.auth keygen",
        description="Print a new Ed25519 signing key as a private JWK set for VRAC_SIGNING_KEYS; "
        "with --rotate, the new key first and the current ones after it (the overlap).",
    )
    parser.add_argument("--kid", help="the new key's id (default: today's date and a suffix)")
    parser.add_argument(
        "--rotate",
        action="store_true",
        help="read the current VRAC_SIGNING_KEYS from stdin and keep its keys after the new one",
    )
    parser.add_argument("--public", action="store_true", help="print the public JWK set only")
    args = parser.parse_args(argv)
    keys = SigningKeys.generate(args.kid)
    if args.rotate:
        keys = keys.then(SigningKeys.parse(sys.stdin.read()))
    print(json.dumps(keys.public_jwks() if args.public else keys.private_jwks()))


def main(argv: list[str] | None = None) -> None:
    """``python -m vrac_runtime.auth --role coach --pilot leiden``: a development token;
    ``python -m vrac_runtime.auth keygen``: a signing key for ``VRAC_SIGNING_KEYS``."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["keygen"]:
        _keygen(argv[1:])
        return
    parser = argparse.ArgumentParser(
        description="Print a bearer token of the development issuer, which the services accept "
        "only with VRAC_DEVELOPMENT=true. Subcommand `keygen` makes signing keys."
    )
    parser.add_argument("--role", choices=ROLES, required=True)
    parser.add_argument("--pilot", required=True, help="a pilot id, or * for all pilots")
    parser.add_argument("--subject", default="local-user")
    parser.add_argument("--ttl", type=int, default=3600)
    parser.add_argument("--service", default="", help="for role service: the calling service")
    args = parser.parse_args(argv)
    try:
        token = development_token(
            role=args.role,
            pilot=args.pilot,
            subject=args.subject,
            ttl=args.ttl,
            service=args.service,
        )
    except ValueError as err:
        parser.error(str(err))
    print(token)


if __name__ == "__main__":
    main()
