"""The wasmtime host and the smoke run, on small WAT gadgets assembled at test time."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from gadgetbuild.errors import GadgetRunError
from gadgetbuild.manifest import SmokeRecord
from gadgetbuild.runtime import instance
from gadgetbuild.runtime.host import decode_scalar, encode_scalar
from gadgetbuild.runtime.smoke import run_smoke
from gadgetbuild.scenario import SmokeSpec
from gadgetbuild.wasm import assemble

# A gadget in the ig ABI: it adds the bool field "keep" to "exec", subscribes, and sets keep
# to $KEEP on every event. Strings are length << 32 | address: "exec" at 16, "keep" at 32.
WAT_GADGET = """
(module
  (import "ig" "getDataSource" (func $get_ds (param i64) (result i32)))
  (import "ig" "dataSourceAddField" (func $add_field (param i32 i64 i32) (result i32)))
  (import "ig" "dataSourceSubscribe" (func $subscribe (param i32 i32 i32 i64) (result i32)))
  (import "ig" "fieldSet" (func $field_set (param i32 i32 i32 i64) (result i32)))
  (import "ig" "gadgetLog" (func $log (param i32 i64)))
  (import "ig" "newMap" (func $new_map (param i64 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "exec")
  (data (i32.const 32) "keep")
  (data (i32.const 48) "wat: init")
  (global $keep (mut i32) (i32.const 0))
  (func (export "_initialize"))
  (func (export "gadgetAPIVersion") (result i64) i64.const $API)
  (func (export "gadgetInit") (result i32)
    (local $ds i32)
    $INIT
    (call $log (i32.const 2) (i64.const 0x0000000900000030))
    (local.set $ds (call $get_ds (i64.const 0x0000000400000010)))
    (global.set $keep
      (call $add_field (local.get $ds) (i64.const 0x0000000400000020) (i32.const 1)))
    (call $subscribe (local.get $ds) (i32.const 1) (i32.const 0) (i64.const 1)))
  (func (export "gadgetStart") (result i32) i32.const $START)
  (func (export "dataSourceCallback") (param i64 i32 i32)
    (drop (call $field_set (global.get $keep) (local.get 2) (i32.const 1) (i64.const $KEEP))))
)
"""

SCENARIO = SmokeSpec.model_validate(
    {
        "data_sources": [
            {
                "name": "exec",
                "fields": {"comm": "string"},
                "events": [
                    {"fields": {"comm": "bash"}, "expect": {"keep": True}},
                    {"fields": {"comm": "ls"}, "expect": {"keep": True, "comm": "ls"}},
                ],
            }
        ],
        "logs": [{"contains": "wat: init", "level": "info", "count": 1}],
    }
)


def gadget(*, api: int = 1, init: str = "", start: int = 0, keep: int = 1) -> bytes:
    wat = WAT_GADGET.replace("$API", str(api)).replace("$INIT", init)
    return assemble(wat.replace("$START", str(start)).replace("$KEEP", str(keep)))


def smoke_error(data: bytes, scenario: SmokeSpec = SCENARIO) -> GadgetRunError:
    with pytest.raises(GadgetRunError) as caught:
        run_smoke(data, scenario)
    return caught.value


def test_a_correct_gadget_passes_with_every_check_counted() -> None:
    record = run_smoke(gadget(), SCENARIO)

    assert isinstance(record, SmokeRecord)
    assert record.passed
    assert record.events == 2
    assert record.checks == 1 + 3 + 1  # API version, three field values, one log
    assert record.exports_run == [
        "_initialize",
        "gadgetAPIVersion",
        "gadgetInit",
        "gadgetStart",
        "dataSourceCallback",
    ]


def test_a_trap_in_gadget_init_names_the_export_and_the_trap() -> None:
    error = smoke_error(gadget(init="unreachable"))

    assert error.export == "gadgetInit"
    assert error.event is None
    assert "trapped" in error.message
    assert "unreachable" in error.message


def test_a_non_zero_gadget_start_fails() -> None:
    error = smoke_error(gadget(start=1))

    assert error.export == "gadgetStart"
    assert error.headline() == "gadgetStart: returned 1, not 0"


def test_api_version_2_is_refused_with_igs_message() -> None:
    error = smoke_error(gadget(api=2))

    assert error.export == "gadgetAPIVersion"
    assert "unsupported gadget API version" in error.message
    assert "returned 2" in error.message


def test_a_wrong_value_names_the_event_the_field_and_both_values() -> None:
    error = smoke_error(gadget(keep=0))

    assert (error.export, error.event, error.data_source) == ("dataSourceCallback", 0, "exec")
    assert error.headline() == (
        "dataSourceCallback on event #0 of 'exec': field 'keep' is false, expected true"
    )


def test_a_declared_but_unimplemented_import_links_and_traps_with_its_name() -> None:
    zeros = " ".join(["(i32.const 0)"] * 4)
    call_new_map = f"(drop (call $new_map (i64.const 0) {zeros}))"
    error = smoke_error(gadget(init=call_new_map))

    assert error.export == "gadgetInit"
    assert "ig.newMap" in error.message
    assert "does not implement" in error.message


def test_a_missing_log_line_lists_what_the_gadget_logged() -> None:
    scenario = SCENARIO.model_copy(
        update={
            "logs": [
                SCENARIO.logs[0],
                *SmokeSpec.model_validate(
                    {"logs": [{"matches": "kept \\d+", "level": "info"}]}
                ).logs,
            ]
        }
    )

    error = smoke_error(gadget(), scenario)

    assert error.export is None
    assert "expected a info-level log matching /kept \\d+/, found none" in error.message
    assert "info: wat: init" in error.message


def test_a_missing_data_source_fails_init_through_the_zero_handle() -> None:
    scenario = SCENARIO.model_copy(update={"data_sources": [], "logs": []})

    error = smoke_error(gadget(), scenario)

    # getDataSource returns 0; subscribing to handle 0 fails, and so does gadgetInit.
    assert error.headline() == "gadgetInit: returned 1, not 0"


@pytest.mark.parametrize(
    ("kind", "value"),
    [(1, True), (2, -128), (5, -(1 << 63)), (7, 65535), (9, (1 << 64) - 1), (11, -2.5)],
)
def test_scalars_round_trip_through_their_bits(kind: int, value: bool | int | float) -> None:
    assert decode_scalar(kind, encode_scalar(kind, value)) == value


@pytest.mark.parametrize(
    ("events", "problem"),
    [
        ([{"fields": {"pid": 1}}], "not among the fields"),
        ([{"fields": {"comm": 5}}], "not a valid string"),
    ],
)
def test_scenario_events_must_fit_their_fields(events: list[object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        SmokeSpec.model_validate(
            {"data_sources": [{"name": "exec", "fields": {"comm": "string"}, "events": events}]}
        )


def test_smoke_stages_starting_together_share_one_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    # A module compiled by one engine cannot be instantiated in another's store: two
    # artifacts reaching the smoke stage at once must not each make their own.
    monkeypatch.setattr(instance, "_ENGINE", [])
    start = threading.Barrier(8)

    def first_use(_: int) -> int:
        start.wait()
        return id(instance.engine())

    with ThreadPoolExecutor(8) as pool:
        engines = set(pool.map(first_use, range(8)))

    assert len(engines) == 1
