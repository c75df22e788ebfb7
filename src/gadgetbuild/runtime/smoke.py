"""The smoke stage: run a module's whole lifecycle on its gadget's scenario and check it.

The order is IG's: instantiate (``_initialize``), ``gadgetAPIVersion``, ``gadgetInit``,
``gadgetPreStart``, ``gadgetStart``, every event of every data source in the scenario's
order, ``gadgetStop``, ``gadgetPostStop``. The first failure stops the run and raises a
:class:`GadgetRunError` naming the export and the event; a run that holds returns its
:class:`SmokeRecord`.
"""

from __future__ import annotations

import math

from gadgetbuild.errors import GadgetRunError
from gadgetbuild.manifest import SmokeRecord
from gadgetbuild.runtime.host import EventState, IgHost, Value
from gadgetbuild.runtime.instance import LIFECYCLE, GadgetInstance, runtime_name
from gadgetbuild.scenario import FIELD_KINDS, LOG_LEVELS, FieldValue, SmokeSpec

STARTING, STOPPING = LIFECYCLE[:3], LIFECYCLE[3:]
LEVEL_NAMES = {number: name for name, number in LOG_LEVELS.items()}
LOGS_SHOWN = 6


def host_for(spec: SmokeSpec) -> IgHost:
    """A host offering the scenario's data sources and parameters."""
    sources = {
        ds.name: {name: FIELD_KINDS[kind] for name, kind in ds.fields.items()}
        for ds in spec.data_sources
    }
    return IgHost(sources, spec.params, LOG_LEVELS[spec.log_level])


def host_value(kind: str, value: FieldValue) -> Value:
    """A scenario value as the host stores it: buffers as bytes, numbers as numbers."""
    if kind in {"string", "cstring", "bytes"}:
        return str(value).encode()
    if kind in {"float32", "float64"}:
        return float(value)
    if isinstance(value, str):  # pragma: no cover - the scenario's validator refuses it
        raise GadgetRunError(f"{value!r} is not a {kind}")
    return value


def run_smoke(data: bytes, spec: SmokeSpec) -> SmokeRecord:
    """Load ``data`` in wasmtime behind a host of ``spec`` and run its lifecycle."""
    host = host_for(spec)
    instance = GadgetInstance.load(data, host)
    try:
        return play(instance, spec)
    finally:
        instance.stderr.remove()


def play(instance: GadgetInstance, spec: SmokeSpec) -> SmokeRecord:
    instance.check_api_version()
    run = ["_initialize", "gadgetAPIVersion"]
    checks = 1

    run += [name for name in STARTING if instance.run_lifecycle(name)]

    events = 0
    for ds in spec.data_sources:
        for index, event_spec in enumerate(ds.events):
            values = {k: host_value(ds.fields[k], v) for k, v in event_spec.fields.items()}
            event = instance.deliver(ds.name, values, index)
            checks += check_event(instance.host, event, event_spec.expect, (ds.name, index))
            events += 1

    if instance.callbacks:
        run.append("dataSourceCallback")
    run += [name for name in STOPPING if instance.run_lifecycle(name)]
    checks += check_logs(spec, instance.host.logs)
    return SmokeRecord(
        passed=True,
        runtime=runtime_name(),
        exports_run=run,
        events=events,
        checks=checks,
        logs=len(instance.host.logs),
        memory_pages=instance.memory.pages(),
    )


def check_event(
    host: IgHost, event: EventState, expect: dict[str, FieldValue], where: tuple[str, int]
) -> int:
    """Compare the event's values with ``expect``; the number of values checked."""
    for name, wanted in expect.items():
        found = host.value(event, name)
        if found is None:
            problem = f"field '{name}' does not exist (neither declared nor added by the gadget)"
        elif not same_value(found, wanted):
            problem = f"field '{name}' is {show(found)}, expected {show(wanted)}"
        else:
            continue
        raise GadgetRunError(
            problem, export="dataSourceCallback", event=where[1], data_source=where[0]
        )
    return len(expect)


def same_value(found: Value, wanted: FieldValue) -> bool:
    if isinstance(found, bytes):
        return isinstance(wanted, str) and found == wanted.encode()
    if isinstance(found, bool) or isinstance(wanted, bool):
        return found is wanted
    if isinstance(found, float):
        # float32 fields round-trip through 32 bits.
        return isinstance(wanted, int | float) and math.isclose(found, wanted, rel_tol=1e-6)
    return found == wanted


def show(value: Value | FieldValue) -> str:
    if isinstance(value, bytes):
        return repr(value.decode(errors="replace"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def check_logs(spec: SmokeSpec, logs: list[tuple[int, str]]) -> int:
    """Every ``logs`` expectation holds (in order when asked); the number checked."""
    position = 0
    for wanted in spec.logs:
        hits = [i for i, (level, text) in enumerate(logs) if wanted.accepts(level, text)]
        if wanted.count is not None and len(hits) != wanted.count:
            problem = f"expected {wanted.count} {wanted.describe()}, found {len(hits)}"
        elif wanted.count is None and not hits:
            problem = f"expected a {wanted.describe()}, found none"
        elif spec.logs_ordered and hits and hits[-1] < position:
            problem = f"the {wanted.describe()} comes before the log expected ahead of it"
        else:
            position = next((i for i in hits if i >= position), position) + 1
            continue
        raise GadgetRunError(f"{problem}{recent_logs(logs)}")
    return len(spec.logs)


def recent_logs(logs: list[tuple[int, str]]) -> str:
    if not logs:
        return "; the gadget logged nothing"
    shown = [f"{LEVEL_NAMES.get(level, level)}: {text}" for level, text in logs[-LOGS_SHOWN:]]
    more = f" (last {LOGS_SHOWN} of {len(logs)})" if len(logs) > LOGS_SHOWN else ""
    return f"; the gadget logged{more}: " + " | ".join(shown)
