"""TensorBoard event files of scalars, written and read without TensorFlow or protobuf.

An event file is a sequence of TFRecords, each

    uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)

(little-endian), where `data` is a serialized `Event` protobuf, encoded here by hand:

    Event   {double wall_time = 1; int64 step = 2; string file_version = 3;
             Summary summary = 5; SessionLog session_log = 7}
    Summary {repeated Value value = 1}
    Value   {string tag = 1; float simple_value = 2}
    SessionLog {Status status = 1}          # START = 1

The first record of a file is an Event with file_version "brain.Event:2". `read_scalars` reads
the simple_value scalars back, checking both CRCs of every record.
"""

from __future__ import annotations

import os
import pathlib
import socket
import struct
import time
from typing import Iterator, Mapping

_CRC32C_POLY = 0x82F63B78  # Castagnoli, bit-reflected.
_MASK_DELTA = 0xA282EAD8


def _crc_table() -> list[int]:
  table = []
  for byte in range(256):
    crc = byte
    for _ in range(8):
      crc = (crc >> 1) ^ (_CRC32C_POLY if crc & 1 else 0)
    table.append(crc)
  return table


_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
  """The CRC-32C (Castagnoli) of `data`, as an unsigned 32-bit int."""
  crc = 0xFFFFFFFF
  for byte in data:
    crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
  return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
  """TFRecord's masked CRC: the CRC rotated right by 15 bits plus a constant, mod 2**32."""
  crc = crc32c(data)
  return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


# Protobuf wire format: a key is (field << 3) | wire type; 0 varint, 1 fixed64, 2 bytes,
# 5 fixed32.

def _varint(n: int) -> bytes:
  n &= 0xFFFFFFFFFFFFFFFF  # int64 as two's complement, as protobuf does.
  out = bytearray()
  while True:
    low, n = n & 0x7F, n >> 7
    out.append(low | (0x80 if n else 0))
    if not n:
      return bytes(out)


def _bytes_field(field: int, payload: bytes) -> bytes:
  return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _event(wall_time: float, step: int, **field: bytes) -> bytes:
  """A serialized Event; `field` is one of file_version, summary or session_log."""
  numbers = {"file_version": 3, "summary": 5, "session_log": 7}
  body = b"".join(_bytes_field(numbers[name], payload) for name, payload in field.items())
  return b"\x09" + struct.pack("<d", wall_time) + b"\x10" + _varint(step) + body


def _scalar_value(tag: str, value: float) -> bytes:
  return _bytes_field(1, _bytes_field(1, tag.encode()) + b"\x15" + struct.pack("<f", value))


def _record(data: bytes) -> bytes:
  length = struct.pack("<Q", len(data))
  return (length + struct.pack("<I", masked_crc32c(length)) + data
          + struct.pack("<I", masked_crc32c(data)))


class EventWriter:
  """Writes scalars to a new file `events.out.tfevents.<time>.<host>.<pid>` in `logdir`."""

  def __init__(self, logdir: str | os.PathLike) -> None:
    directory = pathlib.Path(logdir)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}"
    path, copy = directory / name, 0
    while path.exists():  # A second writer in the same second must not overwrite the first.
      copy += 1
      path = directory / f"{name}.{copy}"
    self.path = str(path)
    self._file = open(path, "xb")
    self._write(_event(time.time(), 0, file_version=b"brain.Event:2"))
    self.flush()

  def _write(self, event: bytes) -> None:
    self._file.write(_record(event))

  def scalar(self, tag: str, value: float, step: int, wall_time: float | None = None) -> None:
    """Appends one scalar (stored as a 32-bit float)."""
    self.scalars(step, {tag: value}, wall_time)

  def scalars(self, step: int, mapping: Mapping[str, float],
              wall_time: float | None = None) -> None:
    """Appends one Event holding every `tag: value` of `mapping` at `step`."""
    summary = b"".join(_scalar_value(tag, float(v)) for tag, v in mapping.items())
    self._write(_event(time.time() if wall_time is None else wall_time, int(step),
                       summary=summary))

  def restart(self, step: int) -> None:
    """Marks a restart at `step` (a SessionLog START): TensorBoard's EventAccumulator then
    drops events at steps >= `step` that earlier files of the run wrote."""
    self._write(_event(time.time(), int(step), session_log=b"\x08\x01"))

  def flush(self) -> None:
    self._file.flush()

  def close(self) -> None:
    if not self._file.closed:
      self._file.close()

  def __enter__(self) -> EventWriter:
    return self

  def __exit__(self, *exc_info: object) -> None:
    self.close()


def _records(data: bytes, name: str) -> Iterator[bytes]:
  pos = 0
  while pos < len(data):
    if pos + 12 > len(data):
      raise ValueError(f"{name}: truncated record header at byte {pos}")
    length, length_crc = struct.unpack("<QI", data[pos:pos + 12])
    if masked_crc32c(data[pos:pos + 8]) != length_crc:
      raise ValueError(f"{name}: bad length CRC in the record at byte {pos}")
    end = pos + 12 + length
    if end + 4 > len(data):
      raise ValueError(f"{name}: truncated record at byte {pos}")
    payload = data[pos + 12:end]
    if masked_crc32c(payload) != struct.unpack("<I", data[end:end + 4])[0]:
      raise ValueError(f"{name}: bad data CRC in the record at byte {pos}")
    yield payload
    pos = end + 4


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
  n = shift = 0
  while True:
    byte = data[pos]
    n |= (byte & 0x7F) << shift
    pos, shift = pos + 1, shift + 7
    if not byte & 0x80:
      return n, pos


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
  """(field number, value) of a serialized message: an int for varints, else raw bytes."""
  pos = 0
  while pos < len(data):
    key, pos = _read_varint(data, pos)
    wire = key & 7
    if wire == 0:
      value, pos = _read_varint(data, pos)
    elif wire == 2:
      size, pos = _read_varint(data, pos)
      value, pos = data[pos:pos + size], pos + size
    elif wire in (1, 5):
      size = 8 if wire == 1 else 4
      value, pos = data[pos:pos + size], pos + size
    else:
      raise ValueError(f"unsupported protobuf wire type {wire}")
    yield key >> 3, value


def _event_scalars(event: bytes) -> Iterator[tuple[str, int, float]]:
  step, summaries = 0, []
  for field, value in _fields(event):
    if field == 2:
      step = value - (1 << 64) if value >= 1 << 63 else value
    elif field == 5:
      summaries.append(value)
  for summary in summaries:
    for field, value in _fields(summary):
      if field != 1:
        continue
      parts = dict(_fields(value))
      if 2 in parts:  # Values without simple_value (images, tensors) are skipped.
        yield parts.get(1, b"").decode(), step, struct.unpack("<f", parts[2])[0]


def read_scalars(path: str | os.PathLike) -> list[tuple[str, int, float]]:
  """Every (tag, step, value) simple_value scalar in an event file, or in every
  `*tfevents*` file of a directory (in name order). Raises ValueError on a bad CRC."""
  path = pathlib.Path(path)
  files = sorted(path.glob("*tfevents*")) if path.is_dir() else [path]
  return [scalar for file in files for record in _records(file.read_bytes(), str(file))
          for scalar in _event_scalars(record)]
