"""The host side of the ``ig`` import module over in-memory data sources.

Every function here has the wasm signature of the contract's table (FACTS section 1) and
follows IG's conventions: handles are i32 with 0 meaning an error, statuses are 0 on
success, strings and buffers are one i64 ``length << 32 | address`` (0 is the empty
string). The guest's linear memory is reached through :class:`GuestMemory`, bound once the
module is instantiated; a string outside it is a guest bug and traps.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from gadgetbuild.errors import GadgetRunError

KIND_BOOL, KIND_FLOAT32, KIND_FLOAT64 = 1, 10, 11
KIND_STRING, KIND_CSTRING, KIND_BYTES = 12, 13, 14
BUFFER_KINDS = frozenset({KIND_STRING, KIND_CSTRING, KIND_BYTES})
SIGNED_BITS = {2: 8, 3: 16, 4: 32, 5: 64}
UNSIGNED_BITS = {6: 8, 7: 16, 8: 32, 9: 64}
# IG's subscription types for the "ig" module: only one event per call is offered here.
SUBSCRIPTION_DATA = 1
U32, U64 = (1 << 32) - 1, (1 << 64) - 1

Value = bool | int | float | bytes


class GuestMemory(Protocol):
    def read(self, address: int, size: int) -> bytes: ...
    def write(self, address: int, data: bytes) -> None: ...


@dataclass(slots=True)
class FieldState:
    data_source: DataSourceState
    name: str
    kind: int


@dataclass(slots=True)
class DataSourceState:
    name: str
    handle: int
    fields: dict[str, FieldState] = field(default_factory=dict)
    # (priority, order of subscription, callback id): IG runs lower priorities first.
    subscriptions: list[tuple[int, int, int]] = field(default_factory=list)


@dataclass(slots=True)
class EventState:
    data_source: DataSourceState
    values: dict[str, Value]


class HostTrapError(GadgetRunError):
    """Raised inside a host function: wasmtime turns it into a trap of the calling export."""


def split_pointer(value: int) -> tuple[int, int]:
    """An ABI string or buffer, ``length << 32 | address``, as (address, length)."""
    value &= U64
    return value & U32, value >> 32


def to_signed64(value: int) -> int:
    value &= U64
    return value - (1 << 64) if value >> 63 else value


def encode_scalar(kind: int, value: Value) -> int:
    """A field's value as the u64 bits `fieldGetScalar` returns."""
    if kind == KIND_FLOAT32:
        return int.from_bytes(struct.pack("<f", float(value)), "little")
    if kind == KIND_FLOAT64:
        return int.from_bytes(struct.pack("<d", float(value)), "little")
    return int(value) & U64


def decode_scalar(kind: int, bits: int) -> Value:
    """The u64 bits `fieldSet` received, as the field's value."""
    bits &= U64
    if kind == KIND_BOOL:
        return bits != 0
    if kind == KIND_FLOAT32:
        return float(struct.unpack("<f", (bits & U32).to_bytes(4, "little"))[0])
    if kind == KIND_FLOAT64:
        return float(struct.unpack("<d", bits.to_bytes(8, "little"))[0])
    if kind in SIGNED_BITS:
        width = SIGNED_BITS[kind]
        low = bits & ((1 << width) - 1)
        return low - (1 << width) if low >> (width - 1) else low
    return bits & ((1 << UNSIGNED_BITS.get(kind, 64)) - 1)


def zero_value(kind: int) -> Value:
    if kind in BUFFER_KINDS:
        return b""
    if kind == KIND_BOOL:
        return False
    return 0.0 if kind in {KIND_FLOAT32, KIND_FLOAT64} else 0


class IgHost:
    """The state behind the ``ig`` functions: data sources, handles, params, logs."""

    def __init__(
        self,
        data_sources: dict[str, dict[str, int]],
        params: dict[str, str] | None = None,
        log_level: int = 2,
    ) -> None:
        self.params = {k: v.encode() for k, v in (params or {}).items()}
        self.log_level = log_level
        self.logs: list[tuple[int, str]] = []
        self.memory: GuestMemory | None = None
        self._handles: dict[int, DataSourceState | FieldState | EventState] = {}
        self._next_handle = 1
        self.data_sources: dict[str, DataSourceState] = {}
        for name, fields in data_sources.items():
            source = DataSourceState(name, self._new_handle(None))
            self._handles[source.handle] = source
            self.data_sources[name] = source
            for field_name, kind in fields.items():
                self._add_field(source, field_name, kind)

    # Host-side operations, used by the instance that delivers events.

    def new_event(self, data_source: str, values: dict[str, Value]) -> int:
        source = self.data_sources[data_source]
        return self._new_handle(EventState(source, dict(values)))

    def release(self, handle: int) -> EventState | DataSourceState | FieldState | None:
        return self._handles.pop(handle, None)

    def value(self, event: EventState, name: str) -> Value | None:
        """An event's value of ``name``; None when the field exists nowhere."""
        if name in event.values:
            return event.values[name]
        spec = event.data_source.fields.get(name)
        return None if spec is None else zero_value(spec.kind)

    # The ig functions: name -> Python callable with the contract's signature.

    def functions(self) -> dict[str, Callable[..., object]]:
        return {
            "gadgetLog": self.gadget_log,
            "gadgetShouldLog": self.gadget_should_log,
            "getDataSource": self.get_data_source,
            "dataSourceSubscribe": self.data_source_subscribe,
            "dataSourceGetField": self.data_source_get_field,
            "dataSourceAddField": self.data_source_add_field,
            "fieldGetScalar": self.field_get_scalar,
            "fieldGetBuffer": self.field_get_buffer,
            "fieldSet": self.field_set,
            "getParamValue": self.get_param_value,
        }

    def gadget_log(self, level: int, message: int) -> None:
        self.logs.append((level, self._read(message, "gadgetLog").decode(errors="replace")))

    def gadget_should_log(self, level: int) -> int:
        return int(0 <= level <= self.log_level)

    def get_data_source(self, name: int) -> int:
        source = self.data_sources.get(self._read(name, "getDataSource").decode(errors="replace"))
        return 0 if source is None else source.handle

    def data_source_subscribe(self, ds: int, kind: int, priority: int, callback: int) -> int:
        source = self._handles.get(ds)
        if not isinstance(source, DataSourceState) or kind != SUBSCRIPTION_DATA:
            return 1
        source.subscriptions.append((priority, len(source.subscriptions), callback & U64))
        source.subscriptions.sort()
        return 0

    def data_source_get_field(self, ds: int, name: int) -> int:
        source = self._handles.get(ds)
        text = self._read(name, "dataSourceGetField").decode(errors="replace")
        if not isinstance(source, DataSourceState) or text not in source.fields:
            return 0
        return self._field_handle(source.fields[text])

    def data_source_add_field(self, ds: int, name: int, kind: int) -> int:
        source = self._handles.get(ds)
        text = self._read(name, "dataSourceAddField").decode(errors="replace")
        if not isinstance(source, DataSourceState) or not text or text in source.fields:
            return 0
        if not 1 <= kind <= KIND_BYTES:
            return 0
        return self._field_handle(self._add_field(source, text, kind))

    def field_get_scalar(self, field_h: int, data: int, kind: int, err_ptr: int) -> int:
        found = self._field_and_event(field_h, data, kind)
        if found is None or kind in BUFFER_KINDS:
            self._write(err_ptr & U32, (1).to_bytes(4, "little"), "fieldGetScalar")
            return 0
        spec, event = found
        return to_signed64(encode_scalar(kind, event.values.get(spec.name, zero_value(kind))))

    def field_get_buffer(self, field_h: int, data: int, kind: int, dst: int) -> int:
        found = self._field_and_event(field_h, data, kind)
        address, size = split_pointer(dst)
        if found is None or kind not in BUFFER_KINDS:
            return -1
        spec, event = found
        value = event.values.get(spec.name, b"")
        if not isinstance(value, bytes) or len(value) > size:
            return -1
        self._write(address, value, "fieldGetBuffer")
        return len(value)

    def field_set(self, field_h: int, data: int, kind: int, value: int) -> int:
        found = self._field_and_event(field_h, data, kind)
        if found is None:
            return 1
        spec, event = found
        if kind in BUFFER_KINDS:
            event.values[spec.name] = self._read(value, "fieldSet")
        else:
            event.values[spec.name] = decode_scalar(kind, value)
        return 0

    def get_param_value(self, key: int, dst: int) -> int:
        value = self.params.get(self._read(key, "getParamValue").decode(errors="replace"))
        address, size = split_pointer(dst)
        if value is None or len(value) > size:
            return 1
        self._write(address, value, "getParamValue")
        return 0

    # Internals.

    def _new_handle(self, item: DataSourceState | FieldState | EventState | None) -> int:
        handle, self._next_handle = self._next_handle, self._next_handle + 1
        if item is not None:
            self._handles[handle] = item
        return handle

    def _add_field(self, source: DataSourceState, name: str, kind: int) -> FieldState:
        spec = FieldState(source, name, kind)
        source.fields[name] = spec
        return spec

    def _field_handle(self, spec: FieldState) -> int:
        # One handle per field, made on first request, as a guest may ask twice.
        for handle, item in self._handles.items():
            if item is spec:
                return handle
        return self._new_handle(spec)

    def _field_and_event(
        self, field_h: int, data: int, kind: int
    ) -> tuple[FieldState, EventState] | None:
        spec, event = self._handles.get(field_h), self._handles.get(data)
        if not isinstance(spec, FieldState) or not isinstance(event, EventState):
            return None
        if spec.kind != kind or spec.data_source is not event.data_source:
            return None
        return spec, event

    def _read(self, pointer: int, function: str) -> bytes:
        address, size = split_pointer(pointer)
        if size == 0:
            return b""
        return self._memory(function).read(address, size)

    def _write(self, address: int, data: bytes, function: str) -> None:
        self._memory(function).write(address, data)

    def _memory(self, function: str) -> GuestMemory:
        if self.memory is None:
            raise HostTrapError(f"ig.{function} was called before the module had a memory")
        return self.memory


def unimplemented(name: str) -> Callable[..., object]:
    """A stand-in for an ``ig`` function this host lacks: it links, and traps when called."""

    def trap(*_args: object) -> object:
        raise HostTrapError(
            f"the gadget called ig.{name}, which this host does not implement "
            "(it only links so that modules declaring it load)"
        )

    return trap
