"""The JEN bridge: a gRPC + OSC server that streams tempo-aligned stems into a DAW (``jen serve``).

Layout (one concept a file): ``server`` process wiring and signals; ``servicer`` the thin gRPC servicer;
``audition`` the bidirectional listening stream; ``osc`` OSC control/status; ``engine`` model + queue + store;
``jobs`` the worker thread and bounded queue; ``render`` what a job does; ``specs``/``validate`` request checks;
``convert`` proto <-> plain values; ``store`` SQLite + files; ``upload`` context uploads; ``audio_io`` PCM/WAV;
``auth`` bind policy, tokens, TLS; ``tempo``/``stretch`` tempo alignment; ``protocol`` proto compilation;
``v1`` generated code. Kept import-free so ``bridge.v1.bridge_pb2`` stays light for plugin-side code.
"""
