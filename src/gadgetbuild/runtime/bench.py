"""The runtime benchmark: load time, event latency under load, memory, per module.

The latency experiment follows Inspektor Gadget's (FACTS section 4): at each concurrency
level, that many producers each push one event every ``interval_ms`` for ``duration_s``
into one bounded queue (the offered load grows with the level), and a
single consumer delivers them to the module, one ``dataSourceCallback`` at a time. A
producer never waits for room: an event that finds the queue full is dropped and counted,
as a perf ring buffer loses records when its reader falls behind. Latency runs from the
enqueue to the callback's return. The figures include the Python host's own cost (each
``ig`` call crosses ctypes), so they compare toolchains with each other, on one machine.
"""

from __future__ import annotations

import math
import queue
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gadgetbuild import __version__
from gadgetbuild.runtime.host import Value
from gadgetbuild.runtime.instance import GadgetInstance, compile_module, runtime_name
from gadgetbuild.runtime.smoke import STARTING, host_for, host_value
from gadgetbuild.scenario import SmokeSpec

# A perf ring buffer of IG's default size holds a few thousand records of this size: the
# queue holds as many events before producers start losing them.
QUEUE_CAPACITY = 4096
LEVELS = (1, 50, 200, 1000)
# Time for the producer thread to start before the first event is due.
START_DELAY_S = 0.05
# (enqueue time in ns, index of the scenario event), or None once the producers are done.
EventQueue = queue.Queue[tuple[int, int] | None]
REPORT_NAME = "bench.json"


class Figures(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LatencyFigures(Figures):
    concurrency: int = Field(description="Producer threads pushing events at once.")
    offered: int = Field(description="Events the producers tried to enqueue.")
    delivered: int = Field(description="Events the module's callback returned from.")
    dropped: int = Field(description="Events lost because the queue was full.")
    seconds: float = Field(description="Wall time of the level.")
    p50_us: float
    p99_us: float
    p999_us: float
    max_us: float


class ModuleFigures(Figures):
    gadget: str
    toolchain: str
    module: str = Field(description="The module file measured.")
    size: int = Field(description="The module's size in bytes.")
    load_ms: float = Field(description="Compile, instantiate and `_initialize`: the median.")
    load_runs_ms: list[float]
    api_call_us: float = Field(description="One `gadgetAPIVersion` call, median.")
    memory_pages_start: int = Field(description="Linear memory after `gadgetStart`.")
    memory_pages_end: int = Field(description="Linear memory after the last level.")
    data_source: str | None = Field(None, description="The data source events went to.")
    latency: list[LatencyFigures] = Field(
        default_factory=list, description="Per concurrency level; empty without events."
    )


class BenchReport(Figures):
    schema_version: Literal[1] = 1
    gadgetbuild_version: str = __version__
    runtime: str
    queue_capacity: int
    seconds_per_level: float = Field(description="How long producers push at each level.")
    producer_interval_ms: float = Field(description="Each producer's pause between events.")
    results: list[ModuleFigures]


@dataclass(frozen=True, slots=True)
class BenchTarget:
    """One module to measure, with the scenario whose events it receives."""

    gadget: str
    toolchain: str
    path: Path
    scenario: SmokeSpec


@dataclass(frozen=True, slots=True)
class BenchOptions:
    levels: Sequence[int] = LEVELS
    duration_s: float = 3.0
    interval_ms: float = 50.0
    load_runs: int = 5
    api_calls: int = 1000


def bench_module(target: BenchTarget, options: BenchOptions) -> ModuleFigures:
    data = target.path.read_bytes()
    loads = [measure_load(data, target.scenario) for _ in range(options.load_runs)]

    instance = GadgetInstance(compile_module(data), host_for(target.scenario))
    try:
        instance.check_api_version()
        api_us = measure_api_call(instance, options.api_calls)
        for export in STARTING:
            instance.run_lifecycle(export)
        pages_start = instance.memory.pages()

        source, templates = event_templates(target.scenario)
        latency = []
        if source is not None and templates:
            for level in options.levels:
                latency.append(measure_latency(instance, source, templates, level, options))
        pages_end = instance.memory.pages()
    finally:
        instance.stderr.remove()

    return ModuleFigures(
        gadget=target.gadget,
        toolchain=target.toolchain,
        module=str(target.path),
        size=len(data),
        load_ms=round(statistics.median(loads), 2),
        load_runs_ms=[round(t, 2) for t in loads],
        api_call_us=round(api_us, 2),
        memory_pages_start=pages_start,
        memory_pages_end=pages_end,
        data_source=source,
        latency=latency,
    )


def measure_load(data: bytes, scenario: SmokeSpec) -> float:
    """Milliseconds to compile, instantiate and initialise the module."""
    start = time.perf_counter()
    instance = GadgetInstance(compile_module(data), host_for(scenario))
    elapsed = time.perf_counter() - start
    instance.stderr.remove()
    return elapsed * 1000


def measure_api_call(instance: GadgetInstance, calls: int) -> float:
    times = []
    for _ in range(max(1, calls)):
        start = time.perf_counter_ns()
        instance.api_version()
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1000


def event_templates(scenario: SmokeSpec) -> tuple[str | None, list[dict[str, Value]]]:
    """The first data source with events, and its events as the host stores them."""
    for ds in scenario.data_sources:
        if ds.events:
            events = [
                {k: host_value(ds.fields[k], v) for k, v in event.fields.items()}
                for event in ds.events
            ]
            return ds.name, events
    return None, []


def measure_latency(
    instance: GadgetInstance,
    source: str,
    templates: list[dict[str, Value]],
    concurrency: int,
    options: BenchOptions,
) -> LatencyFigures:
    events: EventQueue = queue.Queue(maxsize=QUEUE_CAPACITY)
    began = time.perf_counter() + START_DELAY_S
    schedule = Schedule(began, options.interval_ms / 1000 / concurrency, options.duration_s)
    counts: list[tuple[int, int]] = []

    def produce() -> None:
        counts.append(schedule.push(events, len(templates)))
        events.put(None)  # blocking: the consumer is still draining

    producer = threading.Thread(target=produce)
    producer.start()
    latencies = consume(instance, source, templates, events)
    producer.join()
    ((offered, dropped),) = counts
    return latency_figures(
        concurrency,
        latencies,
        offered=offered,
        dropped=dropped,
        seconds=time.perf_counter() - began,
    )


@dataclass(frozen=True, slots=True)
class Schedule:
    """When the producers' events are due: together, one every ``step`` seconds.

    N producers each pushing one event per interval, their phases spread evenly over it,
    merge into one event every interval / N. One thread plays them all: a thousand
    Python threads would measure the interpreter's lock, not the module (here their
    wake-ups starved the consumer to a fifth of its rate).
    """

    began: float
    step: float
    duration: float

    def push(self, events: EventQueue, templates: int) -> tuple[int, int]:
        """Push every due event; (offered, dropped because the queue was full)."""
        offered = lost = 0
        while (due := self.began + offered * self.step) < self.began + self.duration:
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                events.put_nowait((time.perf_counter_ns(), offered % templates))
            except queue.Full:
                lost += 1
            offered += 1
        return offered, lost


def consume(
    instance: GadgetInstance,
    source: str,
    templates: list[dict[str, Value]],
    events: EventQueue,
) -> list[int]:
    """Deliver events one at a time until the end marker; nanoseconds per event."""
    latencies = []
    index = 0
    while (item := events.get()) is not None:
        enqueued, template = item
        instance.deliver(source, templates[template], index)
        latencies.append(time.perf_counter_ns() - enqueued)
        index += 1
    return latencies


def latency_figures(
    concurrency: int, latencies: list[int], *, offered: int, dropped: int, seconds: float
) -> LatencyFigures:
    ordered = sorted(latencies) or [0]
    return LatencyFigures(
        concurrency=concurrency,
        offered=offered,
        delivered=len(latencies),
        dropped=dropped,
        seconds=round(seconds, 3),
        p50_us=percentile_us(ordered, 0.50),
        p99_us=percentile_us(ordered, 0.99),
        p999_us=percentile_us(ordered, 0.999),
        max_us=round(ordered[-1] / 1000, 1),
    )


def percentile_us(ordered: list[int], fraction: float) -> float:
    """The nearest-rank percentile of sorted nanoseconds, in microseconds."""
    rank = max(1, math.ceil(fraction * len(ordered)))
    return round(ordered[rank - 1] / 1000, 1)


def run_bench(targets: Sequence[BenchTarget], options: BenchOptions) -> BenchReport:
    return BenchReport(
        runtime=runtime_name(),
        queue_capacity=QUEUE_CAPACITY,
        seconds_per_level=options.duration_s,
        producer_interval_ms=options.interval_ms,
        results=[bench_module(target, options) for target in targets],
    )
