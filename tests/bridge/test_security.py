"""Bind policy, bearer tokens, TLS, reflection on loopback, and message size limits."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from bridge.auth import check_bind, is_loopback
from bridge.v1 import bridge_pb2_grpc
from jen_core.errors import JenError
from tests.bridge.conftest import Served
from tests.bridge.fake_pipeline import FakePipeline
from tests.bridge.harness import pb, running_server

TOKEN = "s3cret-token-0123456789abcdef"


def test_bind_policy() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"):
        assert is_loopback(host)
        check_bind(host=host, token=None, tls=False)
    for host in ("0.0.0.0", "192.168.1.10", "::", "example.com"):
        assert not is_loopback(host)
        with pytest.raises(JenError, match="pass --token"):
            check_bind(host=host, token=None, tls=False)
    check_bind(host="0.0.0.0", token=TOKEN, tls=True)
    with pytest.raises(JenError, match="at least 16"):
        check_bind(host="0.0.0.0", token="short", tls=False)


def test_token_is_required_when_set(tmp_path: Path) -> None:
    with running_server(tmp_path, FakePipeline(), token=TOKEN) as srv:
        channel = grpc.insecure_channel(f"127.0.0.1:{srv.grpc_port}")
        bridge = bridge_pb2_grpc.BridgeStub(channel)
        for metadata in ((), (("authorization", "Bearer wrong"),), (("authorization", TOKEN),)):
            with pytest.raises(grpc.RpcError) as info:
                bridge.GetCapabilities(pb.GetCapabilitiesRequest(), metadata=metadata, timeout=5)
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "Bearer <token>" in info.value.details()
        with pytest.raises(grpc.RpcError) as info:  # streaming methods are guarded too
            list(bridge.Generate(pb.GenerateRequest(), timeout=5))
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        ok = bridge.GetCapabilities(pb.GetCapabilitiesRequest(), metadata=(("authorization", f"Bearer {TOKEN}"),))
        assert list(ok.models) == ["fake"]
        health = health_pb2_grpc.HealthStub(channel)  # probes need no token
        assert health.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING
        channel.close()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed (needed to make a test cert)")
def test_tls_with_token(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=30)
    with running_server(tmp_path, FakePipeline(), token=TOKEN, tls_cert=str(cert), tls_key=str(key)) as srv:
        creds = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        channel = grpc.secure_channel(f"localhost:{srv.grpc_port}", creds)
        bridge = bridge_pb2_grpc.BridgeStub(channel)
        reply = bridge.GetCapabilities(pb.GetCapabilitiesRequest(), metadata=(("authorization", f"Bearer {TOKEN}"),),
                                       timeout=10)
        assert list(reply.models) == ["fake"]
        channel.close()
        plain = grpc.insecure_channel(f"127.0.0.1:{srv.grpc_port}")
        with pytest.raises(grpc.RpcError) as info:
            bridge_pb2_grpc.BridgeStub(plain).GetCapabilities(pb.GetCapabilitiesRequest(), timeout=3)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        plain.close()


def test_reflection_lists_the_services_on_loopback(served: Served) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(served.channel)
    replies = list(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                             timeout=5))
    names = {s.name for s in replies[0].list_services_response.service}
    assert {"jen.bridge.v1.Bridge", "grpc.health.v1.Health"} <= names


def test_message_size_limit(served: Served) -> None:
    header = pb.UploadContextRequest(header=pb.UploadHeader(sample_rate=48000, channels=2, frames=1 << 20))
    big = pb.UploadContextRequest(data=b"\0" * (2 << 20))
    with pytest.raises(grpc.RpcError) as info:
        served.stub.UploadContext(iter([header, big]), timeout=10)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
