"""Generated gRPC code for ``jen.bridge.v1`` (bridge_pb2*.py, made from protos/; never edited by hand).

Kept free of imports so the plugin stub can import ``bridge.v1.bridge_pb2`` without pulling in the server.
Run ``bridge.protocol.ensure_generated()`` (or ``make protos``) to (re)build the modules.
"""
