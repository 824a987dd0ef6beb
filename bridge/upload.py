"""Assemble one uploaded context track: header, PCM chunks (<= 256 KiB), SHA-256 trailer -> a stored WAV."""

from __future__ import annotations

import hashlib
import hmac
import tempfile
import time
from typing import BinaryIO

from bridge.audio_io import FLOAT32, bytes_per_sample, decode_pcm, write_wav
from bridge.store import ContextRow, Store, new_id
from bridge.validate import MAX_NAME_CHARS, MAX_POSITION, MAX_UPLOAD_SECONDS, ValidationError, check_format, check_rate

MAX_CHUNK_BYTES = 256 * 1024
_SPOOL_BYTES = 8 << 20  # larger uploads spill to a temporary file instead of memory


class Upload:
    """Feed :meth:`header`, then :meth:`data` for each chunk, then :meth:`finish` with the client's checksum."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._buf: BinaryIO = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # closed by close()
        self._received = 0
        self._hash = hashlib.sha256()
        self._expected = -1

    def close(self) -> None:
        self._buf.close()

    def header(self, *, name: str, sample_rate: int, channels: int, frames: int, fmt: str, start_sample: int) -> None:
        if self._expected >= 0:
            raise ValidationError("upload: the header was sent twice: send it once, first")
        if len(name) > MAX_NAME_CHARS:
            raise ValidationError(f"upload: name has {len(name)} characters; the limit is {MAX_NAME_CHARS}")
        check_rate(sample_rate, "upload: sample_rate")
        if channels not in (1, 2):
            raise ValidationError(f"upload: channels {channels} must be 1 or 2")
        if not 1 <= frames <= int(MAX_UPLOAD_SECONDS * sample_rate):
            raise ValidationError(f"upload: frames {frames} is outside 1-{int(MAX_UPLOAD_SECONDS * sample_rate)} "
                                  f"(at most {MAX_UPLOAD_SECONDS:g} s): upload only the region you need")
        if not 0 <= start_sample <= MAX_POSITION:
            raise ValidationError(f"upload: start_sample {start_sample} is outside 0-{MAX_POSITION}")
        self.name, self.rate, self.channels, self.frames = name, sample_rate, channels, frames
        self.fmt, self.start_sample = check_format(fmt), start_sample
        self._expected = frames * channels * bytes_per_sample(self.fmt)

    def data(self, chunk: bytes) -> None:
        if self._expected < 0:
            raise ValidationError("upload: data came before the header: send the header first")
        if len(chunk) > MAX_CHUNK_BYTES:
            raise ValidationError(f"upload: a chunk of {len(chunk)} bytes is over {MAX_CHUNK_BYTES}: send smaller chunks")
        if self._received + len(chunk) > self._expected:
            raise ValidationError(f"upload: more data than the header's {self.frames} frames "
                                  f"({self._expected} bytes): fix frames or the data")
        self._buf.write(chunk)
        self._received += len(chunk)
        self._hash.update(chunk)

    def finish(self, sha256: str) -> ContextRow:
        if self._expected < 0:
            raise ValidationError("upload: no header was sent")
        if self._received != self._expected:
            raise ValidationError(f"upload: got {self._received} bytes but the header promised {self._expected} "
                                  f"({self.frames} frames x {self.channels} ch x {self.fmt}): send all the data")
        digest = self._hash.hexdigest()
        if not hmac.compare_digest(digest, sha256.strip().lower()):
            raise ValidationError(f"upload: checksum mismatch (server computed sha256 {digest}): resend the track")
        self._buf.seek(0)
        audio = decode_pcm(self._buf.read(), channels=self.channels, fmt=self.fmt)
        context_id = new_id("c")
        path = self.store.context_path(context_id)
        file_sha = write_wav(path, audio, sample_rate=self.rate, fmt=FLOAT32, time_reference=self.start_sample)
        row = ContextRow(id=context_id, name=self.name, path=self.store.relative(path), sample_rate=self.rate,
                         channels=self.channels, frames=self.frames, start_sample=self.start_sample, sha256=file_sha,
                         created=time.time())
        self.store.add_context(row)
        return row
