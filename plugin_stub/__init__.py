"""The DAW side of the JEN bridge (``jen-stub``): a thin client a native plugin can be ported from.

It imports only the generated protocol (``bridge.v1``), grpc, numpy, soundfile and its own modules: no torch,
no model code. One concept a file: ``transport`` host tempo map / time signature / playhead (exact rationals);
``selection`` tracks and the region; ``project`` the JSON project description; ``client`` the gRPC calls;
``receive`` checking and assembling streamed stems; ``wav`` Broadcast-WAV files; ``timeline`` placement,
mixdown and click; ``outputs`` the output folder; ``compose`` the co-composition loop; ``playback`` the audition
buffer; ``audition`` the audition stream and host simulation; ``cli`` the ``jen-stub`` command.
"""
