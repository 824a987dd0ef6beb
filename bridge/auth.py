"""Bind policy, bearer-token check and TLS credentials for the gRPC server.

A non-loopback bind needs a token; when a token is set every call must carry ``authorization: Bearer <token>``
(compared with :func:`hmac.compare_digest`), except the standard health service so load balancers can probe.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from jen_core.errors import JenError

log = logging.getLogger("jen.bridge.auth")

EXEMPT_PREFIXES = ("/grpc.health.v1.Health/",)
MIN_TOKEN_CHARS = 16


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1`` (with or without brackets)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(*, host: str, token: str | None, tls: bool) -> None:
    """Refuse an open bind: anything but loopback needs a token (and should use TLS; warned when it does not)."""
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise JenError(f"the token is {len(token)} characters; use at least {MIN_TOKEN_CHARS} random characters")
    if not is_loopback(host) and not token:
        raise JenError(f"binding {host} exposes the server beyond this machine: pass --token (and --tls-cert/--tls-key)")
    if not is_loopback(host) and not tls:
        log.warning("serving %s without TLS: the token and the audio cross the network in clear text", host)


def read_token(*, token: str | None, token_file: str | None) -> str | None:
    if token and token_file:
        raise JenError("give --token or --token-file, not both")
    if token_file:
        try:
            return Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise JenError(f"cannot read the token file {token_file}: {exc}") from exc
    return token or None


def server_credentials(*, cert: str | None, key: str | None) -> grpc.ServerCredentials | None:
    """TLS credentials from PEM files, or None for plaintext; both paths or neither."""
    if not cert and not key:
        return None
    if not cert or not key:
        raise JenError("TLS needs both --tls-cert and --tls-key")
    try:
        cert_pem, key_pem = Path(cert).read_bytes(), Path(key).read_bytes()
    except OSError as exc:
        raise JenError(f"cannot read the TLS certificate or key: {exc}") from exc
    return grpc.ssl_server_credentials([(key_pem, cert_pem)])


def _deny(message: str) -> Callable[..., Awaitable[None]]:
    async def deny(request: Any, context: grpc.aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    return deny


def _denying_handler(handler: grpc.RpcMethodHandler, message: str) -> grpc.RpcMethodHandler:
    deny = _deny(message)
    kwargs = {"request_deserializer": handler.request_deserializer, "response_serializer": handler.response_serializer}
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(deny, **kwargs)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(deny, **kwargs)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(deny, **kwargs)
    return grpc.unary_unary_rpc_method_handler(deny, **kwargs)


class TokenInterceptor(grpc.aio.ServerInterceptor):
    """Reject calls without ``authorization: Bearer <token>`` (UNAUTHENTICATED), in constant time."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], details: Any) -> Any:
        handler = await continuation(details)
        if handler is None or details.method.startswith(EXEMPT_PREFIXES):
            return handler
        given = b""
        for key, value in details.invocation_metadata or ():
            if key == "authorization":
                given = value.encode() if isinstance(value, str) else bytes(value)
        if hmac.compare_digest(given, self._expected):
            return handler
        reason = "missing authorization metadata" if not given else "wrong token"
        return _denying_handler(handler, f"{reason}: send 'authorization: Bearer <token>'")
