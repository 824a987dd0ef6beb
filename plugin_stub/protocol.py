"""The generated ``jen.bridge.v1`` modules, with a clear error when they have not been built."""

from __future__ import annotations

from plugin_stub.errors import StubError

try:
    from bridge.v1 import bridge_pb2 as pb
    from bridge.v1 import bridge_pb2_grpc as pb_grpc
except ImportError as exc:  # pragma: no cover - depends on the build
    raise StubError(f"the generated protocol modules bridge/v1/bridge_pb2*.py cannot be imported ({exc}): "
                    "run `make proto`") from exc

__all__ = ["pb", "pb_grpc"]
