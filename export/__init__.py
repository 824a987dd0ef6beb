"""Fast inference: ONNX export (``onnx_export``), TensorRT engines (``tensorrt_build``), the export
manifest (``manifest``) and the runtimes behind one interface (``runtimes``). Importing this
package imports neither torch nor onnxruntime; the torch-free serving path lives in ``runtimes``.
"""
