from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Task(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_UNSPECIFIED: _ClassVar[Task]
    TASK_GENERATE: _ClassVar[Task]
    TASK_INPAINT: _ClassVar[Task]
    TASK_CONTINUE: _ClassVar[Task]
    TASK_COMPOSE: _ClassVar[Task]

class SampleFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SAMPLE_FORMAT_UNSPECIFIED: _ClassVar[SampleFormat]
    SAMPLE_FORMAT_FLOAT32: _ClassVar[SampleFormat]
    SAMPLE_FORMAT_INT24: _ClassVar[SampleFormat]
TASK_UNSPECIFIED: Task
TASK_GENERATE: Task
TASK_INPAINT: Task
TASK_CONTINUE: Task
TASK_COMPOSE: Task
SAMPLE_FORMAT_UNSPECIFIED: SampleFormat
SAMPLE_FORMAT_FLOAT32: SampleFormat
SAMPLE_FORMAT_INT24: SampleFormat

class TempoPoint(_message.Message):
    __slots__ = ("ppq", "bpm")
    PPQ_FIELD_NUMBER: _ClassVar[int]
    BPM_FIELD_NUMBER: _ClassVar[int]
    ppq: float
    bpm: float
    def __init__(self, ppq: _Optional[float] = ..., bpm: _Optional[float] = ...) -> None: ...

class TimeSignature(_message.Message):
    __slots__ = ("numerator", "denominator")
    NUMERATOR_FIELD_NUMBER: _ClassVar[int]
    DENOMINATOR_FIELD_NUMBER: _ClassVar[int]
    numerator: int
    denominator: int
    def __init__(self, numerator: _Optional[int] = ..., denominator: _Optional[int] = ...) -> None: ...

class Region(_message.Message):
    __slots__ = ("start_ppq", "end_ppq", "start_sample", "end_sample", "start_bar", "end_bar")
    START_PPQ_FIELD_NUMBER: _ClassVar[int]
    END_PPQ_FIELD_NUMBER: _ClassVar[int]
    START_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    END_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    START_BAR_FIELD_NUMBER: _ClassVar[int]
    END_BAR_FIELD_NUMBER: _ClassVar[int]
    start_ppq: float
    end_ppq: float
    start_sample: int
    end_sample: int
    start_bar: int
    end_bar: int
    def __init__(self, start_ppq: _Optional[float] = ..., end_ppq: _Optional[float] = ..., start_sample: _Optional[int] = ..., end_sample: _Optional[int] = ..., start_bar: _Optional[int] = ..., end_bar: _Optional[int] = ...) -> None: ...

class Timeline(_message.Message):
    __slots__ = ("bpm", "tempo_map", "time_signature", "sample_rate", "region")
    BPM_FIELD_NUMBER: _ClassVar[int]
    TEMPO_MAP_FIELD_NUMBER: _ClassVar[int]
    TIME_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    bpm: float
    tempo_map: _containers.RepeatedCompositeFieldContainer[TempoPoint]
    time_signature: TimeSignature
    sample_rate: int
    region: Region
    def __init__(self, bpm: _Optional[float] = ..., tempo_map: _Optional[_Iterable[_Union[TempoPoint, _Mapping]]] = ..., time_signature: _Optional[_Union[TimeSignature, _Mapping]] = ..., sample_rate: _Optional[int] = ..., region: _Optional[_Union[Region, _Mapping]] = ...) -> None: ...

class RegionPlan(_message.Message):
    __slots__ = ("start_sample", "end_sample", "length", "sample_rate", "start_ppq", "end_ppq", "bars", "whole_bars", "model_bpm", "model_seconds")
    START_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    END_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    START_PPQ_FIELD_NUMBER: _ClassVar[int]
    END_PPQ_FIELD_NUMBER: _ClassVar[int]
    BARS_FIELD_NUMBER: _ClassVar[int]
    WHOLE_BARS_FIELD_NUMBER: _ClassVar[int]
    MODEL_BPM_FIELD_NUMBER: _ClassVar[int]
    MODEL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    start_sample: int
    end_sample: int
    length: int
    sample_rate: int
    start_ppq: float
    end_ppq: float
    bars: float
    whole_bars: int
    model_bpm: float
    model_seconds: float
    def __init__(self, start_sample: _Optional[int] = ..., end_sample: _Optional[int] = ..., length: _Optional[int] = ..., sample_rate: _Optional[int] = ..., start_ppq: _Optional[float] = ..., end_ppq: _Optional[float] = ..., bars: _Optional[float] = ..., whole_bars: _Optional[int] = ..., model_bpm: _Optional[float] = ..., model_seconds: _Optional[float] = ...) -> None: ...

class GetCapabilitiesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Capabilities(_message.Message):
    __slots__ = ("models", "stems", "sample_rates", "max_seconds", "tasks", "sample_formats", "model_sample_rate", "max_upload_chunk_bytes", "max_prompt_chars", "queue_size", "server_version", "max_chunk_frames")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    STEMS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATES_FIELD_NUMBER: _ClassVar[int]
    MAX_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_FORMATS_FIELD_NUMBER: _ClassVar[int]
    MODEL_SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    MAX_UPLOAD_CHUNK_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_PROMPT_CHARS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_SIZE_FIELD_NUMBER: _ClassVar[int]
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    MAX_CHUNK_FRAMES_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedScalarFieldContainer[str]
    stems: _containers.RepeatedScalarFieldContainer[str]
    sample_rates: _containers.RepeatedScalarFieldContainer[int]
    max_seconds: float
    tasks: _containers.RepeatedScalarFieldContainer[Task]
    sample_formats: _containers.RepeatedScalarFieldContainer[SampleFormat]
    model_sample_rate: int
    max_upload_chunk_bytes: int
    max_prompt_chars: int
    queue_size: int
    server_version: str
    max_chunk_frames: int
    def __init__(self, models: _Optional[_Iterable[str]] = ..., stems: _Optional[_Iterable[str]] = ..., sample_rates: _Optional[_Iterable[int]] = ..., max_seconds: _Optional[float] = ..., tasks: _Optional[_Iterable[_Union[Task, str]]] = ..., sample_formats: _Optional[_Iterable[_Union[SampleFormat, str]]] = ..., model_sample_rate: _Optional[int] = ..., max_upload_chunk_bytes: _Optional[int] = ..., max_prompt_chars: _Optional[int] = ..., queue_size: _Optional[int] = ..., server_version: _Optional[str] = ..., max_chunk_frames: _Optional[int] = ...) -> None: ...

class UploadHeader(_message.Message):
    __slots__ = ("name", "sample_rate", "channels", "frames", "format", "start_sample")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    START_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    sample_rate: int
    channels: int
    frames: int
    format: SampleFormat
    start_sample: int
    def __init__(self, name: _Optional[str] = ..., sample_rate: _Optional[int] = ..., channels: _Optional[int] = ..., frames: _Optional[int] = ..., format: _Optional[_Union[SampleFormat, str]] = ..., start_sample: _Optional[int] = ...) -> None: ...

class UploadTrailer(_message.Message):
    __slots__ = ("sha256",)
    SHA256_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    def __init__(self, sha256: _Optional[str] = ...) -> None: ...

class UploadContextRequest(_message.Message):
    __slots__ = ("header", "data", "trailer")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TRAILER_FIELD_NUMBER: _ClassVar[int]
    header: UploadHeader
    data: bytes
    trailer: UploadTrailer
    def __init__(self, header: _Optional[_Union[UploadHeader, _Mapping]] = ..., data: _Optional[bytes] = ..., trailer: _Optional[_Union[UploadTrailer, _Mapping]] = ...) -> None: ...

class UploadContextReply(_message.Message):
    __slots__ = ("context_id", "frames", "sha256")
    CONTEXT_ID_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    context_id: str
    frames: int
    sha256: str
    def __init__(self, context_id: _Optional[str] = ..., frames: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class ContextRef(_message.Message):
    __slots__ = ("context_id", "stem")
    CONTEXT_ID_FIELD_NUMBER: _ClassVar[int]
    STEM_FIELD_NUMBER: _ClassVar[int]
    context_id: str
    stem: str
    def __init__(self, context_id: _Optional[str] = ..., stem: _Optional[str] = ...) -> None: ...

class GenerateRequest(_message.Message):
    __slots__ = ("timeline", "prompt", "stems", "task", "seed", "steps", "session_id", "context", "inpaint", "format", "chunk_frames", "sampler", "key")
    TIMELINE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    STEMS_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    INPAINT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FRAMES_FIELD_NUMBER: _ClassVar[int]
    SAMPLER_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    timeline: Timeline
    prompt: str
    stems: _containers.RepeatedScalarFieldContainer[str]
    task: Task
    seed: int
    steps: int
    session_id: str
    context: _containers.RepeatedCompositeFieldContainer[ContextRef]
    inpaint: Region
    format: SampleFormat
    chunk_frames: int
    sampler: str
    key: str
    def __init__(self, timeline: _Optional[_Union[Timeline, _Mapping]] = ..., prompt: _Optional[str] = ..., stems: _Optional[_Iterable[str]] = ..., task: _Optional[_Union[Task, str]] = ..., seed: _Optional[int] = ..., steps: _Optional[int] = ..., session_id: _Optional[str] = ..., context: _Optional[_Iterable[_Union[ContextRef, _Mapping]]] = ..., inpaint: _Optional[_Union[Region, _Mapping]] = ..., format: _Optional[_Union[SampleFormat, str]] = ..., chunk_frames: _Optional[int] = ..., sampler: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class RegenerateRequest(_message.Message):
    __slots__ = ("session_id", "stems", "keep_take_ids", "start_bar", "end_bar", "prompt", "seed", "steps", "format", "chunk_frames")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STEMS_FIELD_NUMBER: _ClassVar[int]
    KEEP_TAKE_IDS_FIELD_NUMBER: _ClassVar[int]
    START_BAR_FIELD_NUMBER: _ClassVar[int]
    END_BAR_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FRAMES_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    stems: _containers.RepeatedScalarFieldContainer[str]
    keep_take_ids: _containers.RepeatedScalarFieldContainer[str]
    start_bar: int
    end_bar: int
    prompt: str
    seed: int
    steps: int
    format: SampleFormat
    chunk_frames: int
    def __init__(self, session_id: _Optional[str] = ..., stems: _Optional[_Iterable[str]] = ..., keep_take_ids: _Optional[_Iterable[str]] = ..., start_bar: _Optional[int] = ..., end_bar: _Optional[int] = ..., prompt: _Optional[str] = ..., seed: _Optional[int] = ..., steps: _Optional[int] = ..., format: _Optional[_Union[SampleFormat, str]] = ..., chunk_frames: _Optional[int] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("job_id", "accepted", "progress", "chunk", "stem_done", "done", "error")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    STEM_DONE_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    accepted: Accepted
    progress: Progress
    chunk: StemChunk
    stem_done: StemDone
    done: Done
    error: Error
    def __init__(self, job_id: _Optional[str] = ..., accepted: _Optional[_Union[Accepted, _Mapping]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., chunk: _Optional[_Union[StemChunk, _Mapping]] = ..., stem_done: _Optional[_Union[StemDone, _Mapping]] = ..., done: _Optional[_Union[Done, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class Accepted(_message.Message):
    __slots__ = ("session_id", "queue_position", "plan", "stems")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    STEMS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    queue_position: int
    plan: RegionPlan
    stems: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, session_id: _Optional[str] = ..., queue_position: _Optional[int] = ..., plan: _Optional[_Union[RegionPlan, _Mapping]] = ..., stems: _Optional[_Iterable[str]] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("step", "total")
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    step: int
    total: int
    def __init__(self, step: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

class StemChunk(_message.Message):
    __slots__ = ("stem", "index", "start_sample", "frames", "channels", "format", "data", "sample_rate")
    STEM_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    START_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    stem: str
    index: int
    start_sample: int
    frames: int
    channels: int
    format: SampleFormat
    data: bytes
    sample_rate: int
    def __init__(self, stem: _Optional[str] = ..., index: _Optional[int] = ..., start_sample: _Optional[int] = ..., frames: _Optional[int] = ..., channels: _Optional[int] = ..., format: _Optional[_Union[SampleFormat, str]] = ..., data: _Optional[bytes] = ..., sample_rate: _Optional[int] = ...) -> None: ...

class StemDone(_message.Message):
    __slots__ = ("stem", "frames", "sha256", "path", "take_id", "start_sample", "pcm_sha256", "stretch_ratio", "measured_bpm", "chunks")
    STEM_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    TAKE_ID_FIELD_NUMBER: _ClassVar[int]
    START_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    PCM_SHA256_FIELD_NUMBER: _ClassVar[int]
    STRETCH_RATIO_FIELD_NUMBER: _ClassVar[int]
    MEASURED_BPM_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    stem: str
    frames: int
    sha256: str
    path: str
    take_id: str
    start_sample: int
    pcm_sha256: str
    stretch_ratio: float
    measured_bpm: float
    chunks: int
    def __init__(self, stem: _Optional[str] = ..., frames: _Optional[int] = ..., sha256: _Optional[str] = ..., path: _Optional[str] = ..., take_id: _Optional[str] = ..., start_sample: _Optional[int] = ..., pcm_sha256: _Optional[str] = ..., stretch_ratio: _Optional[float] = ..., measured_bpm: _Optional[float] = ..., chunks: _Optional[int] = ...) -> None: ...

class Done(_message.Message):
    __slots__ = ("take_ids", "seconds")
    TAKE_IDS_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    take_ids: _containers.RepeatedScalarFieldContainer[str]
    seconds: float
    def __init__(self, take_ids: _Optional[_Iterable[str]] = ..., seconds: _Optional[float] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class CancelRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class CancelReply(_message.Message):
    __slots__ = ("found", "state")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    found: bool
    state: str
    def __init__(self, found: _Optional[bool] = ..., state: _Optional[str] = ...) -> None: ...

class CreateSessionRequest(_message.Message):
    __slots__ = ("timeline", "prompt", "stems", "name")
    TIMELINE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    STEMS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    timeline: Timeline
    prompt: str
    stems: _containers.RepeatedScalarFieldContainer[str]
    name: str
    def __init__(self, timeline: _Optional[_Union[Timeline, _Mapping]] = ..., prompt: _Optional[str] = ..., stems: _Optional[_Iterable[str]] = ..., name: _Optional[str] = ...) -> None: ...

class Take(_message.Message):
    __slots__ = ("take_id", "session_id", "stem", "job_id", "path", "sha256", "frames", "start_sample", "seed", "prompt", "created", "selected", "start_bar", "end_bar")
    TAKE_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STEM_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    START_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    SELECTED_FIELD_NUMBER: _ClassVar[int]
    START_BAR_FIELD_NUMBER: _ClassVar[int]
    END_BAR_FIELD_NUMBER: _ClassVar[int]
    take_id: str
    session_id: str
    stem: str
    job_id: str
    path: str
    sha256: str
    frames: int
    start_sample: int
    seed: int
    prompt: str
    created: float
    selected: bool
    start_bar: int
    end_bar: int
    def __init__(self, take_id: _Optional[str] = ..., session_id: _Optional[str] = ..., stem: _Optional[str] = ..., job_id: _Optional[str] = ..., path: _Optional[str] = ..., sha256: _Optional[str] = ..., frames: _Optional[int] = ..., start_sample: _Optional[int] = ..., seed: _Optional[int] = ..., prompt: _Optional[str] = ..., created: _Optional[float] = ..., selected: _Optional[bool] = ..., start_bar: _Optional[int] = ..., end_bar: _Optional[int] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("session_id", "name", "prompt", "stems", "timeline", "plan", "selected", "created")
    class SelectedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    STEMS_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    SELECTED_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    name: str
    prompt: str
    stems: _containers.RepeatedScalarFieldContainer[str]
    timeline: Timeline
    plan: RegionPlan
    selected: _containers.ScalarMap[str, str]
    created: float
    def __init__(self, session_id: _Optional[str] = ..., name: _Optional[str] = ..., prompt: _Optional[str] = ..., stems: _Optional[_Iterable[str]] = ..., timeline: _Optional[_Union[Timeline, _Mapping]] = ..., plan: _Optional[_Union[RegionPlan, _Mapping]] = ..., selected: _Optional[_Mapping[str, str]] = ..., created: _Optional[float] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class ListTakesRequest(_message.Message):
    __slots__ = ("session_id", "stem")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STEM_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    stem: str
    def __init__(self, session_id: _Optional[str] = ..., stem: _Optional[str] = ...) -> None: ...

class ListTakesReply(_message.Message):
    __slots__ = ("takes",)
    TAKES_FIELD_NUMBER: _ClassVar[int]
    takes: _containers.RepeatedCompositeFieldContainer[Take]
    def __init__(self, takes: _Optional[_Iterable[_Union[Take, _Mapping]]] = ...) -> None: ...

class KeepTakesRequest(_message.Message):
    __slots__ = ("session_id", "take_ids")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TAKE_IDS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    take_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, session_id: _Optional[str] = ..., take_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class AuditionStart(_message.Message):
    __slots__ = ("session_id", "stems", "chunk_frames", "max_ahead", "format")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STEMS_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FRAMES_FIELD_NUMBER: _ClassVar[int]
    MAX_AHEAD_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    stems: _containers.RepeatedScalarFieldContainer[str]
    chunk_frames: int
    max_ahead: int
    format: SampleFormat
    def __init__(self, session_id: _Optional[str] = ..., stems: _Optional[_Iterable[str]] = ..., chunk_frames: _Optional[int] = ..., max_ahead: _Optional[int] = ..., format: _Optional[_Union[SampleFormat, str]] = ...) -> None: ...

class Transport(_message.Message):
    __slots__ = ("playing", "playhead_sample", "loop_start_sample", "loop_end_sample")
    PLAYING_FIELD_NUMBER: _ClassVar[int]
    PLAYHEAD_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    LOOP_START_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    LOOP_END_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    playing: bool
    playhead_sample: int
    loop_start_sample: int
    loop_end_sample: int
    def __init__(self, playing: _Optional[bool] = ..., playhead_sample: _Optional[int] = ..., loop_start_sample: _Optional[int] = ..., loop_end_sample: _Optional[int] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("sequence",)
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    def __init__(self, sequence: _Optional[int] = ...) -> None: ...

class AuditionRequest(_message.Message):
    __slots__ = ("start", "transport", "ack")
    START_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    start: AuditionStart
    transport: Transport
    ack: Ack
    def __init__(self, start: _Optional[_Union[AuditionStart, _Mapping]] = ..., transport: _Optional[_Union[Transport, _Mapping]] = ..., ack: _Optional[_Union[Ack, _Mapping]] = ...) -> None: ...

class AuditionChunk(_message.Message):
    __slots__ = ("sequence", "epoch", "chunk")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    epoch: int
    chunk: StemChunk
    def __init__(self, sequence: _Optional[int] = ..., epoch: _Optional[int] = ..., chunk: _Optional[_Union[StemChunk, _Mapping]] = ...) -> None: ...

class AuditionEvent(_message.Message):
    __slots__ = ("chunk", "error")
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    chunk: AuditionChunk
    error: Error
    def __init__(self, chunk: _Optional[_Union[AuditionChunk, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...
