"""An independent Python client for Conduit, written from the wire protocol specification alone.

The normative source is ``Sources/ConduitCore/Documentation.docc/WireProtocol.md`` ("The Conduit wire protocol,
version 1"). Nothing here was derived from the Swift implementation, so this module doubles as evidence that the
specification is enough to talk to a broker from another language.

Three clients, one per broker endpoint:

``IngestClient``
    A ``DEALER`` on the ingest endpoint: ``HELLO``/``WELCOME``, ``PUBLISH`` with a window of unacknowledged events
    matched by correlation, ``ACK`` (with the duplicate flag) and ``REJECT`` (code, path, reason), ``HEARTBEAT``
    and ``GOODBYE``.
``Subscriber``
    A ``SUB`` on the fan-out endpoint: topic prefixes, events with their record header, idle heartbeats, and gap
    detection from the contiguous sequence numbers.
``QueryClient``
    A ``DEALER`` on the query endpoint: ``REPLAY`` under credit-based flow control (it sends ``CREDIT`` as it
    consumes), ``CANCEL``, ``HEAD`` and ``STATS``.

Decoding is strict: a message whose signature frame is not ``CONDUIT/1``, whose command is unknown, whose arity is
wrong or whose fixed-width frames have the wrong size raises :class:`ProtocolError`. Every wait is bounded (``poll``
with a timeout) and raises :class:`ConduitTimeout` rather than hanging.
"""

from __future__ import annotations

import json
import re
import struct
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import zmq

__all__ = [
    "SIGNATURE", "SEQUENCE_MAX", "END_REASONS",
    "ConduitError", "ProtocolError", "ConduitTimeout", "ServerError",
    "Welcome", "Ack", "Reject", "IngestHeartbeat",
    "RecordHeader", "FanoutEvent", "FanoutHeartbeat", "Gap",
    "Record", "Chunk", "End", "Head", "Stats", "QueryErrorReply", "ReplayResult",
    "decode_ingest_reply", "decode_fanout", "decode_query_reply",
    "IngestClient", "Subscriber", "QueryClient",
    "encode_event", "topic_of", "parse_rfc3339_us", "format_rfc3339_us", "window_by_sequence", "window_by_time",
]

#: The protocol signature frame (9 ASCII bytes).
SIGNATURE = b"CONDUIT/1"
#: ``to`` of a sequence window meaning "up to the head" (2**64 - 1).
SEQUENCE_MAX = 2 ** 64 - 1
#: The reasons an ``END`` may carry.
END_REASONS = frozenset({"complete", "beyond_head", "before_start", "cancelled", "idle", "error"})
#: Topic of the fan-out idle heartbeat.
HEARTBEAT_TOPIC = b"_heartbeat/"
#: Largest event JSON, in bytes.
MAX_EVENT_BYTES = 65536
#: Bounds of the CHUNK pair count.
MAX_CHUNK_PAIRS = 1024

EventLike = Union[Dict[str, Any], str, bytes]


# --------------------------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------------------------

class ConduitError(Exception):
    """Base of every error raised by this module."""


class ProtocolError(ConduitError):
    """A message from the broker does not follow the wire protocol (signature, command, arity, frame size, value)."""

    def __init__(self, message: str, frames: Optional[Sequence[bytes]] = None):
        if frames is not None:
            message = f"{message}; frames: {_describe(frames)}"
        super().__init__(message)
        self.frames = list(frames) if frames is not None else None


class ConduitTimeout(ConduitError):
    """Nothing (or not the expected reply) arrived within the timeout."""


class ServerError(ConduitError):
    """The broker answered a query with ``ERROR`` (code, path, reason)."""

    def __init__(self, reply: "QueryErrorReply"):
        super().__init__(f"broker error {reply.code} at {reply.path}: {reply.reason} (request {reply.request})")
        self.reply = reply


def _describe(frames: Sequence[bytes], limit: int = 6) -> str:
    shown = []
    for frame in list(frames)[:limit]:
        shown.append(repr(frame if len(frame) <= 48 else frame[:48] + b"..."))
    more = f" +{len(frames) - limit} more" if len(frames) > limit else ""
    return f"{len(frames)} frames [{', '.join(shown)}{more}]"


# --------------------------------------------------------------------------------------------------------------------
# Primitive codecs
# --------------------------------------------------------------------------------------------------------------------

def _u32(value: int) -> bytes:
    return struct.pack(">I", value)


def _u64(value: int) -> bytes:
    return struct.pack(">Q", value)


def _i64(value: int) -> bytes:
    return struct.pack(">q", value)


def _read_u64(frames: Sequence[bytes], index: int) -> int:
    frame = frames[index]
    if len(frame) != 8:
        raise ProtocolError(f"frame[{index}] must be a u64 (8 bytes), got {len(frame)} bytes", frames)
    return struct.unpack(">Q", frame)[0]


def _read_text(frames: Sequence[bytes], index: int) -> str:
    try:
        return frames[index].decode("utf-8")
    except UnicodeDecodeError as error:
        raise ProtocolError(f"frame[{index}] is not UTF-8 text: {error}", frames) from None


def _check_signature(frames: Sequence[bytes], index: int) -> None:
    if len(frames) <= index:
        raise ProtocolError(f"message too short for a signature at frame[{index}]", frames)
    if frames[index] != SIGNATURE:
        raise ProtocolError(f"frame[{index}] is {frames[index]!r}, not the signature {SIGNATURE!r}", frames)


def _check_arity(frames: Sequence[bytes], command: str, expected: int) -> None:
    if len(frames) != expected:
        raise ProtocolError(f"{command} must have {expected} frames, got {len(frames)}", frames)


def encode_event(event: EventLike) -> bytes:
    """The bytes of an event frame: a dict is encoded as compact UTF-8 JSON (key order kept); str/bytes as given."""
    if isinstance(event, bytes):
        return event
    if isinstance(event, str):
        return event.encode("utf-8")
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def topic_of(event: Dict[str, Any]) -> str:
    """The fan-out topic of an event: ``<kind>/<utility>/<community>/``, ``-`` for an absent utility or community."""
    kind = str(event.get("type", ""))
    if kind.startswith("conduit."):
        kind = kind[len("conduit."):]
    return f"{kind}/{event.get('utility') or '-'}/{event.get('site') or '-'}/"


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$")


def parse_rfc3339_us(text: str) -> int:
    """Microseconds since the epoch of an RFC 3339 time as the spec defines it (≤ 9 fraction digits, kept to µs)."""
    match = _RFC3339.match(text)
    if not match:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = (match.group(7) or "").ljust(9, "0")
    micros = int(fraction[:6])
    zone = match.group(8)
    if zone == "Z":
        offset = 0
    else:
        sign = 1 if zone[0] == "+" else -1
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    base = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    epoch_seconds = int(base.timestamp()) - offset
    return epoch_seconds * 1_000_000 + micros


def format_rfc3339_us(micros: int) -> str:
    """An RFC 3339 time as Conduit writes it: UTC, ``Z``, six fraction digits when the fraction is not zero."""
    seconds, fraction = divmod(micros, 1_000_000)
    text = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{fraction:06d}Z" if fraction else f"{text}Z"


def window_by_sequence(first: int, last: int = SEQUENCE_MAX) -> bytes:
    """A 17-byte ``S`` window: sequences ``first`` to ``last`` inclusive (``SEQUENCE_MAX`` = up to the head)."""
    return b"S" + _u64(first) + _u64(last)


def window_by_time(from_us: int, to_us: int) -> bytes:
    """A 17-byte ``T`` window: events recorded at or after ``from_us`` and before ``to_us`` (µs since the epoch)."""
    return b"T" + _i64(from_us) + _i64(to_us)


# --------------------------------------------------------------------------------------------------------------------
# Message types
# --------------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Welcome:
    """``WELCOME``: the broker's answer to ``HELLO``, with the features it granted (``frame[3]``, when asked)."""
    heartbeat_interval_ms: int
    max_event_bytes: int
    max_in_flight: int
    journal_head: int
    features: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Acks:
    """``ACKS``: acknowledgements of ``BATCH`` entries, each (correlation, sequence, duplicate)."""
    entries: Tuple[Tuple[int, int, bool], ...]


@dataclass(frozen=True)
class Ack:
    """``ACK``: the event is durable under ``sequence`` (its original one if ``duplicate``)."""
    correlation: int
    sequence: int
    duplicate: bool
    source: str
    id: str


@dataclass(frozen=True)
class Reject:
    """``REJECT``: nothing was stored. Final for that event, except ``service.unavailable`` (resend it later)."""
    correlation: int
    code: str
    path: str
    reason: str


@dataclass(frozen=True)
class IngestHeartbeat:
    """``HEARTBEAT`` from the broker on the ingest socket."""


@dataclass(frozen=True)
class RecordHeader:
    """The broker's 16-byte stamp: sequence (u64) and recorded time (i64 µs since the epoch)."""
    sequence: int
    recorded_us: int

    @staticmethod
    def decode(frame: bytes, frames: Sequence[bytes], index: int) -> "RecordHeader":
        if len(frame) != 16:
            raise ProtocolError(f"frame[{index}] must be a 16-byte record header, got {len(frame)} bytes", frames)
        sequence, recorded = struct.unpack(">Qq", frame)
        return RecordHeader(sequence, recorded)


@dataclass(frozen=True)
class FanoutEvent:
    """An event on the fan-out: topic, record header and the canonical stamped JSON."""
    topic: str
    header: RecordHeader
    raw: bytes

    @property
    def sequence(self) -> int:
        return self.header.sequence

    def json(self) -> Dict[str, Any]:
        return _decode_json_object(self.raw)


@dataclass(frozen=True)
class FanoutHeartbeat:
    """An idle heartbeat on the fan-out: the latest sequence published and the broker's clock."""
    header: RecordHeader

    @property
    def sequence(self) -> int:
        return self.header.sequence


@dataclass(frozen=True)
class Gap:
    """Sequences ``first`` to ``last`` inclusive that a subscriber seeing every topic did not receive."""
    first: int
    last: int


@dataclass(frozen=True)
class Record:
    """One replayed event: record header and JSON."""
    header: RecordHeader
    raw: bytes

    @property
    def sequence(self) -> int:
        return self.header.sequence

    def json(self) -> Dict[str, Any]:
        return _decode_json_object(self.raw)


@dataclass(frozen=True)
class Chunk:
    """``CHUNK``: 1 to 1024 records of one request."""
    request: int
    records: Tuple[Record, ...]


@dataclass(frozen=True)
class End:
    """``END``: once per request."""
    request: int
    reason: str
    last_sequence: int
    journal_head: int


@dataclass(frozen=True)
class Head:
    """``HEAD`` reply: first retained sequence, head sequence and its recorded time."""
    request: int
    first_sequence: int
    head_sequence: int
    head_recorded_us: int


@dataclass(frozen=True)
class Stats:
    """``STATS`` reply: a JSON object of counters."""
    request: int
    counters: Dict[str, Any]


@dataclass(frozen=True)
class QueryErrorReply:
    """``ERROR`` reply on the query socket."""
    request: int
    code: str
    path: str
    reason: str


@dataclass
class ReplayResult:
    """Everything one ``REPLAY`` produced."""
    request: int
    records: List[Record] = field(default_factory=list)
    end: Optional[End] = None
    error: Optional[QueryErrorReply] = None
    credits_sent: int = 0


def _decode_json_object(raw: bytes) -> Dict[str, Any]:
    def no_duplicates(pairs):
        result = {}
        for key, value in pairs:
            if key in result:
                raise ProtocolError(f"duplicate key {key!r} in JSON from the broker")
            result[key] = value
        return result
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProtocolError(f"invalid JSON from the broker: {error}") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"expected a JSON object from the broker, got {type(value).__name__}")
    return value


# --------------------------------------------------------------------------------------------------------------------
# Strict decoders (frames as the client receives them: no routing id, no delimiter)
# --------------------------------------------------------------------------------------------------------------------

def decode_ingest_reply(frames: Sequence[bytes]) -> Union[Welcome, Ack, Reject, IngestHeartbeat]:
    """Decode a broker → agent message on the ingest socket."""
    _check_signature(frames, 0)
    if len(frames) < 2:
        raise ProtocolError("ingest reply without a command frame", frames)
    command = frames[1]
    if command == b"WELCOME":
        if len(frames) != 4:
            _check_arity(frames, "WELCOME", 3)
        if len(frames[2]) != 20:
            raise ProtocolError(f"WELCOME frame[2] must be 20 bytes, got {len(frames[2])}", frames)
        features = tuple(f for f in _read_text(frames, 3).split(",") if f) if len(frames) == 4 else ()
        return Welcome(*struct.unpack(">IIIQ", frames[2]), features=features)
    if command == b"ACKS":
        _check_arity(frames, "ACKS", 3)
        body = frames[2]
        if not body or len(body) % 17:
            raise ProtocolError(f"ACKS frame[2] must be a multiple of 17 bytes, got {len(body)}", frames)
        entries = []
        for offset in range(0, len(body), 17):
            correlation, sequence, flags = struct.unpack(">QQB", body[offset:offset + 17])
            if flags & ~0x01:
                raise ProtocolError(f"ACKS flags 0x{flags:02x} has bits other than bit 0 set", frames)
            entries.append((correlation, sequence, bool(flags & 0x01)))
        return Acks(tuple(entries))
    if command == b"ACK":
        _check_arity(frames, "ACK", 7)
        if len(frames[4]) != 1:
            raise ProtocolError(f"ACK flags frame[4] must be 1 byte, got {len(frames[4])}", frames)
        flags = frames[4][0]
        if flags & ~0x01:
            raise ProtocolError(f"ACK flags 0x{flags:02x} has bits other than bit 0 set", frames)
        return Ack(_read_u64(frames, 2), _read_u64(frames, 3), bool(flags & 0x01),
                   _read_text(frames, 5), _read_text(frames, 6))
    if command == b"REJECT":
        _check_arity(frames, "REJECT", 6)
        return Reject(_read_u64(frames, 2), _read_text(frames, 3), _read_text(frames, 4), _read_text(frames, 5))
    if command == b"HEARTBEAT":
        _check_arity(frames, "HEARTBEAT", 2)
        return IngestHeartbeat()
    raise ProtocolError(f"unknown ingest command {command!r}", frames)


def decode_fanout(frames: Sequence[bytes]) -> Union[FanoutEvent, FanoutHeartbeat]:
    """Decode a fan-out message: ``[topic, CONDUIT/1, header, json]`` or ``[_heartbeat/, CONDUIT/1, header]``."""
    if not frames:
        raise ProtocolError("empty fan-out message", frames)
    _check_signature(frames, 1)
    if frames[0] == HEARTBEAT_TOPIC:
        _check_arity(frames, "fan-out heartbeat", 3)
        return FanoutHeartbeat(RecordHeader.decode(frames[2], frames, 2))
    _check_arity(frames, "fan-out event", 4)
    topic = _read_text(frames, 0)
    if not topic.endswith("/") or topic.count("/") != 3:
        raise ProtocolError(f"malformed topic {topic!r}: expected <kind>/<utility>/<community>/", frames)
    return FanoutEvent(topic, RecordHeader.decode(frames[2], frames, 2), frames[3])


def decode_query_reply(frames: Sequence[bytes]) -> Union[Chunk, End, Head, Stats, QueryErrorReply]:
    """Decode a broker → client message on the query socket."""
    _check_signature(frames, 0)
    if len(frames) < 3:
        raise ProtocolError("query reply shorter than signature, command and request id", frames)
    command = frames[1]
    if command == b"CHUNK":
        pairs, odd = divmod(len(frames) - 3, 2)
        if odd or not 1 <= pairs <= MAX_CHUNK_PAIRS:
            raise ProtocolError(f"CHUNK must carry 1 to {MAX_CHUNK_PAIRS} (header, event) pairs, "
                                f"got {len(frames) - 3} frames after the request id", frames)
        records = tuple(Record(RecordHeader.decode(frames[i], frames, i), frames[i + 1])
                        for i in range(3, len(frames), 2))
        return Chunk(_read_u64(frames, 2), records)
    if command == b"END":
        _check_arity(frames, "END", 6)
        reason = _read_text(frames, 3)
        if reason not in END_REASONS:
            raise ProtocolError(f"END reason {reason!r} is not one of {sorted(END_REASONS)}", frames)
        return End(_read_u64(frames, 2), reason, _read_u64(frames, 4), _read_u64(frames, 5))
    if command == b"HEAD":
        _check_arity(frames, "HEAD", 6)
        if len(frames[5]) != 8:
            raise ProtocolError(f"HEAD frame[5] must be an i64 (8 bytes), got {len(frames[5])}", frames)
        return Head(_read_u64(frames, 2), _read_u64(frames, 3), _read_u64(frames, 4),
                    struct.unpack(">q", frames[5])[0])
    if command == b"STATS":
        _check_arity(frames, "STATS", 4)
        return Stats(_read_u64(frames, 2), _decode_json_object(frames[3]))
    if command == b"ERROR":
        _check_arity(frames, "ERROR", 6)
        return QueryErrorReply(_read_u64(frames, 2), _read_text(frames, 3), _read_text(frames, 4),
                               _read_text(frames, 5))
    raise ProtocolError(f"unknown query command {command!r}", frames)


# --------------------------------------------------------------------------------------------------------------------
# Socket plumbing
# --------------------------------------------------------------------------------------------------------------------

class _Endpoint:
    """One socket with bounded waits. Owns its context unless one is given."""

    def __init__(self, socket_type: int, endpoint: str, context: Optional[zmq.Context], timeout: float,
                 linger_ms: int = 500):
        self._own_context = context is None
        self.context = context or zmq.Context()
        self.socket = self.context.socket(socket_type)
        self.socket.setsockopt(zmq.LINGER, linger_ms)
        self.endpoint = endpoint
        self.timeout = timeout

    def _connect(self) -> None:
        self.socket.connect(self.endpoint)

    def _recv(self, timeout: Optional[float]) -> Optional[List[bytes]]:
        """One multipart message, or None when ``timeout`` seconds pass first."""
        wait = self.timeout if timeout is None else timeout
        if self.socket.poll(max(0, int(wait * 1000)), zmq.POLLIN):
            return self.socket.recv_multipart()
        return None

    def _send(self, frames: Sequence[bytes], timeout: Optional[float] = None) -> None:
        wait = self.timeout if timeout is None else timeout
        if not self.socket.poll(max(0, int(wait * 1000)), zmq.POLLOUT):
            raise ConduitTimeout(f"cannot send to {self.endpoint} within {wait:.1f} s")
        self.socket.send_multipart(list(frames), flags=zmq.NOBLOCK)

    def close(self) -> None:
        """Close the socket (and the context if this object created it)."""
        if not self.socket.closed:
            self.socket.close()
        if self._own_context:
            self.context.term()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------------------------------------------------
# Ingest
# --------------------------------------------------------------------------------------------------------------------

class IngestClient(_Endpoint):
    """An agent's ``DEALER`` on the broker's ingest endpoint.

    Typical use::

        with IngestClient("tcp://127.0.0.1:5570") as agent:
            welcome = agent.hello("/power-supply-bureau/agent-1", 5000)
            results = agent.publish_all(events)          # windowed, matched by correlation
            agent.goodbye()

    Correlations are a counter from 1 (0 is what the broker uses for messages it cannot read at all). At most
    ``window`` events (≤ *max in flight* from ``WELCOME``) are unacknowledged at once. Replies are matched to the
    ``PUBLISH`` by correlation, never by order. A ``HEARTBEAT`` is sent whenever the agent has sent nothing for one
    interval while it waits for replies.
    """

    def __init__(self, endpoint: str, context: Optional[zmq.Context] = None, timeout: float = 5.0):
        super().__init__(zmq.DEALER, endpoint, context, timeout)
        self._connect()
        self.welcome: Optional[Welcome] = None
        self._next_correlation = 1
        self._in_flight: Dict[int, bytes] = {}          # correlation -> event bytes, unacknowledged
        self._results: Dict[int, Union[Ack, Reject]] = {}  # replies not yet collected
        self._heartbeat_interval = None                 # seconds, after WELCOME
        self._last_sent = time.monotonic()
        self.last_heard = time.monotonic()
        self.heartbeats_received = 0
        self.unmatched: List[Union[Ack, Reject]] = []   # replies to no correlation in flight

    # -- sending ------------------------------------------------------------------------------------------------

    def send_raw(self, frames: Sequence[bytes]) -> None:
        """Send arbitrary frames (for negative tests). The caller collects the reply with :meth:`receive`."""
        self._send(frames)
        self._last_sent = time.monotonic()

    def hello(self, source: str, heartbeat_interval_ms: int = 5000, timeout: Optional[float] = None,
              features: Sequence[str] = ()) -> Welcome:
        """Send ``HELLO`` (asking for ``features`` in ``frame[4]``, if any) and wait for ``WELCOME``. A ``REJECT``
        raises :class:`ConduitError`."""
        frames = [SIGNATURE, b"HELLO", source.encode("utf-8"), _u32(heartbeat_interval_ms)]
        if features:
            frames.append(",".join(features).encode("ascii"))
        self.send_raw(frames)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            reply = self._receive_one(deadline - time.monotonic(), heartbeat=False)
            if isinstance(reply, Welcome):
                self.welcome = reply
                self._heartbeat_interval = reply.heartbeat_interval_ms / 1000.0
                return reply
            if isinstance(reply, Reject) and reply.correlation == 0:
                raise ConduitError(f"HELLO rejected: {reply.code} at {reply.path}: {reply.reason}")
            if isinstance(reply, (Ack, Reject)):
                self._store(reply)

    def publish(self, event: EventLike, correlation: Optional[int] = None) -> int:
        """Send one ``PUBLISH`` without waiting; returns its correlation. Respect the window yourself or use
        :meth:`publish_all`."""
        payload = encode_event(event)
        if correlation is None:
            correlation = self._next_correlation
            self._next_correlation += 1
        self._in_flight[correlation] = payload
        self.send_raw([SIGNATURE, b"PUBLISH", _u64(correlation), payload])
        return correlation

    def batch(self, events: Sequence[EventLike]) -> List[int]:
        """Send one ``BATCH`` of ``events`` (feature ``batch``) without waiting; returns their correlations. The
        broker answers each as a ``PUBLISH`` of its own: acknowledgements in ``ACKS``, rejections in ``REJECT``."""
        body = b""
        correlations = []
        for event in events:
            payload = encode_event(event)
            correlation = self._next_correlation
            self._next_correlation += 1
            self._in_flight[correlation] = payload
            correlations.append(correlation)
            body += _u64(correlation) + _u32(len(payload)) + payload
        self.send_raw([SIGNATURE, b"BATCH", body])
        return correlations

    def heartbeat(self) -> None:
        """Send ``HEARTBEAT`` (the broker answers with ``HEARTBEAT``)."""
        self.send_raw([SIGNATURE, b"HEARTBEAT"])

    def goodbye(self) -> None:
        """Send ``GOODBYE``: the broker records this agent's death. No reply is defined."""
        self.send_raw([SIGNATURE, b"GOODBYE"])

    # -- receiving ----------------------------------------------------------------------------------------------

    @property
    def in_flight(self) -> Dict[int, bytes]:
        """Unacknowledged events by correlation: what to resend (same source and id) after a reconnect."""
        return dict(self._in_flight)

    def _store(self, reply: Union[Ack, Reject]) -> None:
        self._in_flight.pop(reply.correlation, None)
        self._results[reply.correlation] = reply

    def _receive_one(self, timeout: float, heartbeat: bool = True):
        frames = self._recv(max(0.0, timeout))
        if frames is None:
            if heartbeat:
                self._maybe_heartbeat()
            return None
        self.last_heard = time.monotonic()
        reply = decode_ingest_reply(frames)
        if isinstance(reply, IngestHeartbeat):
            self.heartbeats_received += 1
        if heartbeat:
            self._maybe_heartbeat()
        return reply

    def _maybe_heartbeat(self) -> None:
        if self._heartbeat_interval and time.monotonic() - self._last_sent >= self._heartbeat_interval:
            self.heartbeat()

    def receive(self, timeout: Optional[float] = None) -> Union[Welcome, Ack, Reject, IngestHeartbeat]:
        """The next message from the broker, whatever it is; :class:`ConduitTimeout` if none arrives."""
        wait = self.timeout if timeout is None else timeout
        reply = self._receive_one(wait)
        if reply is None:
            raise ConduitTimeout(f"no message from ingest {self.endpoint} within {wait:.1f} s")
        if isinstance(reply, (Ack, Reject)):
            self._in_flight.pop(reply.correlation, None)
        return reply

    def next_reply(self, timeout: Optional[float] = None) -> Union[Ack, Reject]:
        """The next ``ACK`` or ``REJECT`` read from the socket, whatever its correlation (broker heartbeats are
        skipped). Use it after :meth:`send_raw`; a malformed message is answered with correlation 0 (or the
        correlation in its ``frame[2]`` if that frame is 8 bytes)."""
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConduitTimeout(f"no ACK or REJECT from ingest {self.endpoint} within {wait:.1f} s")
            reply = self._receive_one(min(remaining, 0.25))
            if isinstance(reply, (Ack, Reject)):
                self._in_flight.pop(reply.correlation, None)
                return reply
            if isinstance(reply, Welcome):
                raise ProtocolError("unexpected WELCOME while waiting for an ACK or REJECT")

    def _await(self, correlation: int, timeout: Optional[float]) -> None:
        """Receive until the reply of ``correlation`` is stored (other replies are stored too)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while correlation not in self._results:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConduitTimeout(f"no ACK or REJECT for correlation {correlation} from {self.endpoint} "
                                     f"within {self.timeout if timeout is None else timeout:.1f} s")
            reply = self._receive_one(min(remaining, 0.25))
            if isinstance(reply, (Ack, Reject)):
                if reply.correlation in self._in_flight or reply.correlation == correlation:
                    self._store(reply)
                else:
                    self.unmatched.append(reply)   # e.g. correlation 0 for a message the broker could not read
            elif isinstance(reply, Welcome):
                raise ProtocolError(f"unexpected WELCOME while waiting for correlation {correlation}")

    def wait_for(self, correlation: int, timeout: Optional[float] = None) -> Union[Ack, Reject]:
        """The ``ACK`` or ``REJECT`` of ``correlation``; replies to other correlations are kept for later."""
        self._await(correlation, timeout)
        return self._results.pop(correlation)

    def publish_one(self, event: EventLike, timeout: Optional[float] = None) -> Union[Ack, Reject]:
        """Publish one event and wait for its ``ACK`` or ``REJECT``."""
        return self.wait_for(self.publish(event), timeout)

    def publish_all(self, events: Iterable[EventLike], window: Optional[int] = None,
                    timeout: Optional[float] = None) -> List[Union[Ack, Reject]]:
        """Publish every event keeping at most ``window`` unacknowledged (default and cap: *max in flight* from
        ``WELCOME``); return the replies in the order of ``events``. ``timeout`` bounds each wait for a reply."""
        limit = self.welcome.max_in_flight if self.welcome else 256
        window = min(window or limit, limit)
        if window < 1:
            raise ValueError("the window must be at least 1")
        order: List[int] = []
        outstanding: List[int] = []
        results: Dict[int, Union[Ack, Reject]] = {}

        def collect() -> None:
            if not any(c in self._results for c in outstanding):
                self._await(outstanding[0], timeout)
            for correlation in [c for c in outstanding if c in self._results]:
                results[correlation] = self._results.pop(correlation)
                outstanding.remove(correlation)

        for event in events:
            while len(outstanding) >= window:
                collect()
            correlation = self.publish(event)
            order.append(correlation)
            outstanding.append(correlation)
        while outstanding:
            collect()
        return [results[c] for c in order]


# --------------------------------------------------------------------------------------------------------------------
# Fan-out
# --------------------------------------------------------------------------------------------------------------------

class Subscriber(_Endpoint):
    """A ``SUB`` on the broker's fan-out endpoint.

    ``prefixes`` are topic prefixes (``""`` = everything, the default). With ``heartbeats`` (default) the
    subscription ``_heartbeat/`` is added unless a prefix already covers it.

    Gap detection: a subscriber that sees every topic (prefix ``""``) expects contiguous sequences; a skipped range
    is appended to :attr:`gaps`, as is the range between the last sequence seen and a heartbeat's latest sequence.
    A filtered subscriber cannot tell from sequences alone; it gets :attr:`latest_published` from heartbeats and
    fills any doubt with a ``REPLAY``. The first message sets the baseline: wait for a heartbeat first
    (:meth:`wait_heartbeat`) to know that the subscription is in place and where the stream starts.
    """

    def __init__(self, endpoint: str, prefixes: Iterable[Union[str, bytes]] = ("",), heartbeats: bool = True,
                 context: Optional[zmq.Context] = None, timeout: float = 5.0):
        super().__init__(zmq.SUB, endpoint, context, timeout, linger_ms=0)
        self.prefixes: List[bytes] = []
        for prefix in prefixes:
            self.subscribe(prefix)
        if heartbeats and not any(HEARTBEAT_TOPIC.startswith(p) for p in self.prefixes):
            self.subscribe(HEARTBEAT_TOPIC)
        self._connect()
        self.last_sequence: Optional[int] = None      # highest sequence accounted for
        self.latest_published: Optional[int] = None   # from the latest heartbeat
        self.gaps: List[Gap] = []
        self.out_of_order: List[Tuple[int, int]] = []  # (sequence received, highest before it)

    def subscribe(self, prefix: Union[str, bytes]) -> None:
        """Add a topic prefix (``""`` = every topic)."""
        raw = prefix.encode("utf-8") if isinstance(prefix, str) else prefix
        self.socket.setsockopt(zmq.SUBSCRIBE, raw)
        self.prefixes.append(raw)

    @property
    def sees_everything(self) -> bool:
        return b"" in self.prefixes

    def receive(self, timeout: Optional[float] = None) -> Union[FanoutEvent, FanoutHeartbeat]:
        """The next fan-out message, decoded strictly; gaps are recorded as a side effect."""
        wait = self.timeout if timeout is None else timeout
        frames = self._recv(wait)
        if frames is None:
            raise ConduitTimeout(f"nothing on fan-out {self.endpoint} within {wait:.1f} s")
        message = decode_fanout(frames)
        sequence = message.sequence
        if isinstance(message, FanoutHeartbeat):
            self.latest_published = sequence
            if self.last_sequence is None:
                self.last_sequence = sequence
            elif sequence > self.last_sequence:
                if self.sees_everything:
                    self.gaps.append(Gap(self.last_sequence + 1, sequence))
                self.last_sequence = sequence
            elif sequence < self.last_sequence:
                self.out_of_order.append((sequence, self.last_sequence))
            return message
        if self.last_sequence is not None:
            if sequence <= self.last_sequence:
                self.out_of_order.append((sequence, self.last_sequence))
                return message
            if self.sees_everything and sequence > self.last_sequence + 1:
                self.gaps.append(Gap(self.last_sequence + 1, sequence - 1))
        self.last_sequence = sequence
        return message

    def wait_heartbeat(self, timeout: Optional[float] = None) -> Tuple[FanoutHeartbeat, List[FanoutEvent]]:
        """Receive until a heartbeat; return it and the events received before it."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        events: List[FanoutEvent] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConduitTimeout(f"no heartbeat on fan-out {self.endpoint} within the timeout")
            message = self.receive(remaining)
            if isinstance(message, FanoutHeartbeat):
                return message, events
            events.append(message)

    def receive_events(self, count: int, timeout: Optional[float] = None) -> List[FanoutEvent]:
        """Receive until ``count`` events arrived (heartbeats are skipped); ``timeout`` bounds the whole wait."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        events: List[FanoutEvent] = []
        while len(events) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConduitTimeout(f"received {len(events)} of {count} events on fan-out {self.endpoint}")
            message = self.receive(remaining)
            if isinstance(message, FanoutEvent):
                events.append(message)
        return events


# --------------------------------------------------------------------------------------------------------------------
# Query
# --------------------------------------------------------------------------------------------------------------------

class QueryClient(_Endpoint):
    """A ``DEALER`` on the broker's query endpoint: ``REPLAY`` under credit, ``CANCEL``, ``HEAD``, ``STATS``.

    Request ids are a counter from 1. Replies to a request that already finished (a ``CHUNK`` or ``END`` that
    crossed a ``CANCEL``) are dropped; a reply to a request id never issued raises :class:`ProtocolError`.
    """

    def __init__(self, endpoint: str, context: Optional[zmq.Context] = None, timeout: float = 5.0):
        super().__init__(zmq.DEALER, endpoint, context, timeout)
        self._connect()
        self._next_request = 1
        self._open: set = set()
        self._finished: set = set()
        self._stash: Dict[int, List[Any]] = {}

    # -- plumbing -----------------------------------------------------------------------------------------------

    def _new_request(self) -> int:
        request = self._next_request
        self._next_request += 1
        self._open.add(request)
        return request

    def _finish(self, request: int) -> None:
        self._open.discard(request)
        self._finished.add(request)
        self._stash.pop(request, None)

    def send_raw(self, frames: Sequence[bytes]) -> None:
        """Send arbitrary frames (for negative tests)."""
        self._send(frames)

    def _next_reply(self, request: int, deadline: float):
        """The next reply of ``request`` (an ``ERROR`` with request 0 counts as ours)."""
        while True:
            stash = self._stash.get(request)
            if stash:
                return stash.pop(0)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConduitTimeout(f"no reply to request {request} from query {self.endpoint} within the timeout")
            frames = self._recv(remaining)
            if frames is None:
                continue
            reply = decode_query_reply(frames)
            if reply.request == request or (reply.request == 0 and isinstance(reply, QueryErrorReply)):
                return reply
            if reply.request in self._open:
                self._stash.setdefault(reply.request, []).append(reply)
            elif reply.request not in self._finished:
                raise ProtocolError(f"reply to request {reply.request}, which was never sent: {reply}", frames)

    def _simple(self, command: bytes, expected: type, timeout: Optional[float]):
        request = self._new_request()
        self._send([SIGNATURE, command, _u64(request)])
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        try:
            reply = self._next_reply(request, deadline)
        finally:
            self._finish(request)
        if isinstance(reply, QueryErrorReply):
            raise ServerError(reply)
        if not isinstance(reply, expected):
            raise ProtocolError(f"expected {expected.__name__} for {command.decode()}, got {reply}")
        return reply

    # -- commands -----------------------------------------------------------------------------------------------

    def head(self, timeout: Optional[float] = None) -> Head:
        """``HEAD``: first retained sequence, head sequence, head recorded time."""
        return self._simple(b"HEAD", Head, timeout)

    def stats(self, timeout: Optional[float] = None) -> Stats:
        """``STATS``: a JSON object of counters."""
        return self._simple(b"STATS", Stats, timeout)

    def cancel(self, request: int) -> None:
        """``CANCEL`` a replay; its ``END`` (reason ``cancelled``) still arrives."""
        self._send([SIGNATURE, b"CANCEL", _u64(request)])

    def iter_replay(self, window: bytes, credit: int = 64, prefixes: Iterable[Union[str, bytes]] = (),
                    top_up: Optional[int] = None, timeout: Optional[float] = None,
                    result: Optional[ReplayResult] = None) -> Iterator[Record]:
        """``REPLAY`` ``window`` (see :func:`window_by_sequence`, :func:`window_by_time`) and yield its records.

        Flow control: ``credit`` is the initial credit; each time ``top_up`` records (default half the initial
        credit) have been consumed, a ``CREDIT`` for that many is sent, so the broker may never have more than
        ``credit`` records outstanding. A broker that sends more than the credit it was given raises
        :class:`ProtocolError`. ``timeout`` bounds each wait for a message. When given, ``result`` receives the
        ``END`` (or the ``ERROR``) and the number of ``CREDIT`` messages sent. An ``ERROR`` raises
        :class:`ServerError` after it is stored in ``result``.
        """
        if not 1 <= credit <= 0xFFFFFFFF:
            raise ValueError("the initial credit must be a positive u32")
        top_up = top_up or max(1, credit // 2)
        encoded = [p.encode("utf-8") if isinstance(p, str) else p for p in prefixes]
        if len(encoded) > 16 or any(len(p) > 255 for p in encoded):
            raise ValueError("at most 16 topic prefixes of at most 255 bytes")
        if len(window) != 17:
            raise ValueError("a window is 17 bytes")
        request = self._new_request()
        if result is not None:
            result.request = request
        wait = self.timeout if timeout is None else timeout
        self._send([SIGNATURE, b"REPLAY", _u64(request), window, _u32(credit)] + encoded)
        outstanding = credit       # events the broker may still send
        consumed = 0               # events consumed since the last CREDIT
        try:
            while True:
                reply = self._next_reply(request, time.monotonic() + wait)
                if isinstance(reply, Chunk):
                    if len(reply.records) > outstanding:
                        raise ProtocolError(f"CHUNK of {len(reply.records)} events exceeds the remaining credit "
                                            f"{outstanding} of request {request}")
                    for record in reply.records:
                        outstanding -= 1
                        yield record
                        consumed += 1
                        if consumed >= top_up:
                            self._send([SIGNATURE, b"CREDIT", _u64(request), _u32(consumed)])
                            outstanding += consumed
                            consumed = 0
                            if result is not None:
                                result.credits_sent += 1
                elif isinstance(reply, End):
                    if result is not None:
                        result.end = reply
                    return
                elif isinstance(reply, QueryErrorReply):
                    if result is not None:
                        result.error = reply
                    raise ServerError(reply)
                else:
                    raise ProtocolError(f"unexpected reply to REPLAY {request}: {reply}")
        finally:
            self._finish(request)

    def replay(self, window: bytes, credit: int = 64, prefixes: Iterable[Union[str, bytes]] = (),
               top_up: Optional[int] = None, timeout: Optional[float] = None) -> ReplayResult:
        """Run :meth:`iter_replay` to its ``END`` and return every record with the ``END``."""
        result = ReplayResult(request=0)
        for record in self.iter_replay(window, credit, prefixes, top_up, timeout, result):
            result.records.append(record)
        return result
