"""A gadget module loaded in wasmtime the way Inspektor Gadget loads it.

WASI preview 1 with no preopened folder and the guest's stdout and stderr captured; the
``ig`` module from :class:`IgHost`, every other ``ig`` function of the contract linked as
a trap; ``_initialize`` run at instantiation; guest memory capped at 256 pages. Every
call into the module goes through :meth:`GadgetInstance.call`, which turns a trap, an
exit or a host error into a :class:`GadgetRunError` naming the export.
"""

from __future__ import annotations

import functools
import os
import signal
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import wasmtime

from gadgetbuild.errors import GadgetRunError
from gadgetbuild.runtime.host import EventState, IgHost, Value, unimplemented
from gadgetbuild.wasm import FuncType, load_contract

API_VERSION = 1
MAX_PAGES = 256  # IG's cap on guest memory: 16 MiB
PAGE_SIZE = 65536
LIFECYCLE = ("gadgetInit", "gadgetPreStart", "gadgetStart", "gadgetStop", "gadgetPostStop")
OUTPUT_LIMIT = 4096  # bytes of the guest's stderr read for error messages

# wasmtime-py hands an exception raised by a host function back to the caller through a
# module-level variable, so two threads running wasm at once could swap their errors: every
# instantiation and call holds this lock. Compiling runs no host code and stays parallel.
WASM_CALLS = threading.Lock()
HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextmanager
def signals_held() -> Iterator[None]:
    """Block SIGINT and SIGTERM in this thread while wasmtime runs.

    Threads wasmtime starts (its compiler pool, the WASI runtime's workers) inherit the
    signal mask of the thread that starts them. Unblocked, they could take a signal while
    the interpreter shuts down with default handlers back, and kill the process instead
    of letting the CLI's handlers give 130 or 143. A signal blocked here stays pending and
    arrives when the call returns.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def runtime_name() -> str:
    return f"wasmtime {version('wasmtime')}"


_ENGINE: list[wasmtime.Engine] = []
_ENGINE_MADE = threading.Lock()


def engine() -> wasmtime.Engine:
    """One engine per process: it is thread-safe, and modules compiled by it can share it.

    Made under a lock: two smoke stages starting at once must get the same engine, since a
    module compiled by one cannot be instantiated in a store of another.
    """
    with _ENGINE_MADE:
        if not _ENGINE:
            with signals_held():
                _ENGINE.append(wasmtime.Engine())
        return _ENGINE[0]


def compile_module(data: bytes) -> wasmtime.Module:
    try:
        with signals_held():
            return wasmtime.Module(engine(), data)
    except wasmtime.WasmtimeError as exc:
        raise GadgetRunError(f"wasmtime cannot compile the module: {first_line(exc)}") from exc


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or ["(no message)"])[0]


class StderrFile:
    """A private file the guest's stderr goes to (a Go panic prints there before exiting).

    A file, not a Python callback: wasmtime-py finalises output callbacks on a runtime
    thread, which aborts the interpreter at exit when both streams have one.
    """

    def __init__(self) -> None:
        fd, name = tempfile.mkstemp(prefix="gadget-stderr.", suffix=".txt")
        os.close(fd)
        self.path = Path(name)
        self._finalizer = weakref.finalize(self, self.path.unlink, missing_ok=True)

    def tail(self) -> str:
        try:
            with self.path.open("rb") as stream:
                stream.seek(max(0, self.path.stat().st_size - OUTPUT_LIMIT))
                return stream.read().decode(errors="replace").strip()
        except OSError:
            return ""

    def remove(self) -> None:
        self._finalizer()


class WasmMemory:
    """The guest's exported memory, as :class:`GuestMemory` for the host functions."""

    def __init__(self, store: wasmtime.Store, memory: wasmtime.Memory) -> None:
        self.store, self.memory = store, memory

    def read(self, address: int, size: int) -> bytes:
        self._check(address, size)
        return bytes(self.memory.read(self.store, address, address + size))

    def write(self, address: int, data: bytes) -> None:
        self._check(address, len(data))
        self.memory.write(self.store, data, address)

    def pages(self) -> int:
        return self.memory.data_len(self.store) // PAGE_SIZE

    def _check(self, address: int, size: int) -> None:
        end = self.memory.data_len(self.store)
        if address + size > end:
            msg = f"{size} bytes at {address:#x} reach outside the guest's memory ({end:#x})"
            raise GadgetRunError(msg)


class GadgetInstance:
    """One instantiated gadget with its host; calls are serialised, never concurrent."""

    def __init__(self, module: wasmtime.Module, host: IgHost) -> None:
        self.host = host
        self.callbacks = 0
        self.stderr = StderrFile()
        with signals_held():
            self.store = wasmtime.Store(engine())
            self.store.set_limits(memory_size=MAX_PAGES * PAGE_SIZE)
            self.store.set_wasi(self._wasi())
            linker = self._linker()
        with self._guard(None), WASM_CALLS, signals_held():
            self.instance = linker.instantiate(self.store, module)
        memory = self.instance.exports(self.store).get("memory")
        if not isinstance(memory, wasmtime.Memory):
            raise GadgetRunError("the module exports no memory")

        self.memory = WasmMemory(self.store, memory)
        host.memory = self.memory
        self.call("_initialize")

    @classmethod
    def load(cls, data: bytes, host: IgHost) -> GadgetInstance:
        return cls(compile_module(data), host)

    def _wasi(self) -> wasmtime.WasiConfig:
        # No preopened folder, no arguments, no environment; stdout is discarded.
        config = wasmtime.WasiConfig()
        config.stderr_file = str(self.stderr.path)  # a setter property in wasmtime-py
        return config

    def _linker(self) -> wasmtime.Linker:
        linker = wasmtime.Linker(engine())
        linker.define_wasi()
        implemented = self.host.functions()
        # Every ig function of the contract links, as in IG: a module imports what it uses.
        signatures = load_contract().import_modules["ig"].functions
        for name, text in signatures.items():
            if text is None:
                continue
            func = implemented.get(name) or unimplemented(name)
            linker.define_func("ig", name, wasm_type(text), func)
        return linker

    def exported(self, name: str) -> bool:
        return isinstance(self.instance.exports(self.store).get(name), wasmtime.Func)

    def call(self, export: str, *args: int, event: tuple[str, int] | None = None) -> object:
        func = self.instance.exports(self.store).get(export)
        if not isinstance(func, wasmtime.Func):
            raise GadgetRunError(f"the module exports no function {export}", export=export)

        with self._guard(export, event), WASM_CALLS, signals_held():
            return func(self.store, *args)

    def api_version(self) -> int:
        result = self.call("gadgetAPIVersion")
        if not isinstance(result, int):
            raise GadgetRunError(f"returned {result!r}, not an i64", export="gadgetAPIVersion")
        return result

    def check_api_version(self) -> None:
        found = self.api_version()
        if found != API_VERSION:
            # IG's own words, so a user who met this in IG recognises it.
            msg = f"unsupported gadget API version: returned {found}, the host speaks 1"
            raise GadgetRunError(msg, export="gadgetAPIVersion")

    def run_lifecycle(self, export: str) -> bool:
        """Run a lifecycle export if the module has it; False when it does not."""
        if not self.exported(export):
            return False

        result = self.call(export)
        if result != 0:
            raise GadgetRunError(f"returned {result}, not 0{self.logged_errors()}", export=export)
        return True

    def deliver(self, data_source: str, values: dict[str, Value], index: int) -> EventState:
        """Hand one event to every subscriber of ``data_source``, by priority."""
        source = self.host.data_sources[data_source]
        handle = self.host.new_event(data_source, values)
        try:
            for _priority, _order, callback in list(source.subscriptions):
                self.call(
                    "dataSourceCallback",
                    callback,
                    source.handle,
                    handle,
                    event=(data_source, index),
                )
                self.callbacks += 1
        finally:
            event = self.host.release(handle)
        if not isinstance(event, EventState):  # pragma: no cover - made above, released here
            raise GadgetRunError(f"event handle {handle} vanished", export="dataSourceCallback")
        return event

    def logged_errors(self) -> str:
        errors = [message for level, message in self.host.logs if level == 0]
        return f"; the gadget logged: {' | '.join(errors[-3:])}" if errors else ""

    @contextmanager
    def _guard(self, export: str | None, event: tuple[str, int] | None = None) -> Iterator[None]:
        ds, index = event if event is not None else (None, None)
        try:
            yield
        except GadgetRunError as exc:
            raise GadgetRunError(exc.message, export=export, event=index, data_source=ds) from exc
        except wasmtime.Trap as exc:
            raise GadgetRunError(
                f"trapped: {describe_trap(exc)}{self._stderr()}",
                export=export,
                event=index,
                data_source=ds,
            ) from exc
        except wasmtime.WasmtimeError as exc:
            message = describe_error(exc, export)
            raise GadgetRunError(
                f"{message}{self._stderr()}", export=export, event=index, data_source=ds
            ) from exc

    def _stderr(self) -> str:
        text = self.stderr.tail()
        return f"; stderr: {' / '.join(text.splitlines()[:4])}" if text else ""


def describe_trap(trap: wasmtime.Trap) -> str:
    """The trap's cause (wasmtime puts it after the backtrace) and the innermost function."""
    text = trap.message
    _, _, cause = text.partition("Caused by:")
    reason = first_line(Exception(cause or text)).removeprefix("wasm trap: ")
    where = next((f.func_name for f in trap.frames if f.func_name), None)
    return f"{reason} in {where}" if where else reason


def describe_error(exc: wasmtime.WasmtimeError, export: str | None) -> str:
    if isinstance(exc, wasmtime.ExitTrap):
        return f"the guest exited with status {exc.code}"
    if export is None:
        return f"cannot instantiate: {first_line(exc)}"
    return first_line(exc)


@functools.cache
def wasm_type(text: str) -> wasmtime.FuncType:
    """The contract's signature text as a wasmtime function type."""
    parsed = FuncType.parse(text)
    kinds: dict[str, Callable[[], wasmtime.ValType]] = {
        "i32": wasmtime.ValType.i32,
        "i64": wasmtime.ValType.i64,
        "f32": wasmtime.ValType.f32,
        "f64": wasmtime.ValType.f64,
    }
    return wasmtime.FuncType(
        [kinds[t]() for t in parsed.params], [kinds[t]() for t in parsed.results]
    )
