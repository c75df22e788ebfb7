"""The ABI contract as data, and every way a module can break it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import API_VERSION, IG_IMPORTS, INITIALIZE, MEMORY, CorpusModule, module, reactor
from gadgetbuild.errors import SpecError
from gadgetbuild.wasm import AbiContract, Violation, check_contract, load_contract, read_module

REPO = Path(__file__).resolve().parents[1]
PACKAGED = REPO / "src" / "gadgetbuild" / "data" / "gadget-abi-v1.json"


@pytest.fixture(scope="module")
def contract() -> AbiContract:
    return load_contract()


def violations(data: bytes, contract: AbiContract) -> list[Violation]:
    return check_contract(read_module(data), contract)


def only(found: list[Violation]) -> Violation:
    assert len(found) == 1, [v.message for v in found]
    return found[0]


# --- the contract's data ---------------------------------------------------------------------


def test_schemas_copy_is_byte_identical_to_the_packaged_contract() -> None:
    assert (REPO / "schemas" / "gadget-abi-v1.json").read_bytes() == PACKAGED.read_bytes()


def test_contract_holds_the_abi(contract: AbiContract) -> None:
    required = {r.name: r.signature or r.kind for r in contract.exports if r.required}

    assert contract.abi_version == 1
    assert contract.min_host == "v0.39"
    assert required == {
        "_initialize": "() -> ()",
        "gadgetAPIVersion": "() -> i64",
        "memory": "memory",
    }
    assert set(contract.import_modules) == {"ig", "wasi_snapshot_preview1"}
    assert set(contract.legacy_import_modules) == {"env"}
    assert contract.max_initial_memory_pages == 256
    assert contract.custom_sections_allowed == ()


def test_optional_exports_have_exact_signatures(contract: AbiContract) -> None:
    optional = {r.name: r.signature for r in contract.exports if not r.required}

    lifecycle = ["gadgetInit", "gadgetPreStart", "gadgetStart", "gadgetStop", "gadgetPostStop"]
    assert optional == {
        **dict.fromkeys(lifecycle, "() -> i32"),
        "dataSourceCallback": "(i64, i32, i32) -> ()",
    }


@pytest.mark.parametrize(
    ("name", "signature"),
    [
        ("gadgetLog", "(i32, i64) -> ()"),
        ("dataSourceSubscribe", "(i32, i32, i32, i64) -> i32"),
        ("fieldGetScalar", "(i32, i32, i32, i32) -> i64"),
        ("newMap", "(i64, i32, i32, i32, i32) -> i32"),
        ("getSyscallDeclaration", "(i64, i64) -> i32"),
        ("shouldDiscardMntnsID", "(i64) -> i32"),
    ],
)
def test_ig_functions_have_exact_signatures(
    contract: AbiContract, name: str, signature: str
) -> None:
    assert contract.ig_signature(name) == signature


def test_host_tables_are_complete(contract: AbiContract) -> None:
    # 41 rows in FACTS.md section 1; WASI preview 1 has 46 functions.
    assert len(contract.import_modules["ig"].functions) == 41
    assert len(contract.import_modules["wasi_snapshot_preview1"].functions) == 46
    assert contract.ig_signature("noSuchFunction") is None


def write_contract(tmp_path: Path, change: Callable[[dict[str, object]], None]) -> Path:
    data = json.loads(PACKAGED.read_text())
    change(data)
    path = tmp_path / "contract.json"
    path.write_text(json.dumps(data))
    return path


def test_contract_from_a_path(tmp_path: Path) -> None:
    path = write_contract(tmp_path, lambda d: d.update(max_initial_memory_pages=512))

    assert load_contract(path).max_initial_memory_pages == 512


def test_bad_signature_in_a_contract_names_the_field(tmp_path: Path) -> None:
    def corrupt(data: dict[str, object]) -> None:
        modules = data["import_modules"]
        assert isinstance(modules, dict)
        modules["ig"]["functions"]["gadgetLog"] = "(i32, int) -> ()"

    with pytest.raises(SpecError, match=r"import_modules\.ig\.functions\.gadgetLog") as caught:
        load_contract(write_contract(tmp_path, corrupt))

    assert "unknown value type 'int'" in caught.value.message


def test_func_export_rule_without_signature_is_refused(tmp_path: Path) -> None:
    def corrupt(data: dict[str, object]) -> None:
        exports = data["exports"]
        assert isinstance(exports, list)
        del exports[0]["signature"]

    with pytest.raises(SpecError, match="needs a signature"):
        load_contract(write_contract(tmp_path, corrupt))


def test_unreadable_or_invalid_contract_is_a_spec_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")

    with pytest.raises(SpecError, match="not JSON"):
        load_contract(broken)
    with pytest.raises(SpecError, match="cannot read"):
        load_contract(tmp_path / "missing.json")


# --- modules against the contract ------------------------------------------------------------


@pytest.mark.parametrize("name", ["reactor", "tinygo_like"])
def test_good_modules_have_no_violations(
    contract: AbiContract, corpus: dict[str, CorpusModule], name: str
) -> None:
    assert violations(corpus[name].data, contract) == []


def test_command_module_is_rejected(contract: AbiContract, corpus: dict[str, CorpusModule]) -> None:
    found = only(violations(corpus["command"].data, contract))

    assert found.code == "command-module"
    assert "WASI command" in found.message
    assert "_initialize" in found.message


def test_missing_api_version(contract: AbiContract, corpus: dict[str, CorpusModule]) -> None:
    found = only(violations(corpus["no_api_version"].data, contract))

    assert (found.code, found.item, found.expected) == (
        "missing-export",
        "gadgetAPIVersion",
        "() -> i64",
    )
    assert "gadgetAPIVersion" in found.message


def test_lifecycle_export_with_wrong_signature(
    contract: AbiContract, corpus: dict[str, CorpusModule]
) -> None:
    found = only(violations(corpus["bad_lifecycle"].data, contract))

    assert (found.code, found.item) == ("export-signature", "gadgetStart")
    assert (found.expected, found.found) == ("() -> i32", "(i32) -> i32")
    assert "() -> i32" in found.message
    assert "(i32) -> i32" in found.message


def test_env_import_is_the_legacy_abi(
    contract: AbiContract, corpus: dict[str, CorpusModule]
) -> None:
    found = only(violations(corpus["legacy_env"].data, contract))

    assert (found.code, found.item) == ("legacy-abi", "env.gadgetLog")
    assert "v0.39" in found.message


def test_unknown_ig_import(contract: AbiContract, corpus: dict[str, CorpusModule]) -> None:
    found = only(violations(corpus["unknown_ig"].data, contract))

    assert (found.code, found.item) == ("unknown-import", "ig.gadgetLogf")
    assert "did you mean `gadgetLog`" in found.message


def test_ig_import_with_wrong_signature(
    contract: AbiContract, corpus: dict[str, CorpusModule]
) -> None:
    found = only(violations(corpus["ig_bad_signature"].data, contract))

    assert (found.code, found.item) == ("import-signature", "ig.newDataSource")
    assert (found.expected, found.found) == ("(i64, i32) -> i32", "(i32, i32) -> i32")
    assert "(i64, i32) -> i32" in found.message
    assert "(i32, i32) -> i32" in found.message


def test_initial_memory_over_the_cap(
    contract: AbiContract, corpus: dict[str, CorpusModule]
) -> None:
    found = only(violations(corpus["big_memory"].data, contract))

    assert (found.code, found.expected, found.found) == ("memory-too-large", "<= 256", "300")
    assert "300 pages" in found.message
    assert "256 pages" in found.message


def test_every_violation_is_reported(
    contract: AbiContract, wat_file: Callable[[str], Path]
) -> None:
    wat = module(
        '(import "env" "gadgetLog" (func (param i32 i64)))',
        '(import "ig" "gadgetLog" (func (param i32)))',
        '(import "ig" "noSuchHostFunction" (func))',
        '(import "ig" "memory" (memory 1))',
        '(import "wasi_snapshot_preview1" "fd_teleport" (func))',
        '(import "other" "thing" (func))',
        "(memory 300)",
        '(func (export "_initialize"))',
        '(func (export "gadgetStat") (result i32) i32.const 0)',
        '(func (export "gadgetInit") (result i64) i64.const 0)',
    )
    found = check_contract(read_module(wat_file(wat).read_bytes()), contract)

    assert [(v.code, v.item) for v in found] == [
        ("missing-export", "memory"),
        ("missing-export", "gadgetAPIVersion"),
        ("export-signature", "gadgetInit"),
        ("unknown-export", "gadgetStat"),
        ("legacy-abi", "env.gadgetLog"),
        ("import-signature", "ig.gadgetLog"),
        ("unknown-import", "ig.noSuchHostFunction"),
        ("import-kind", "ig.memory"),
        ("unknown-import", "wasi_snapshot_preview1.fd_teleport"),
        ("unknown-import-module", "other.thing"),
        ("memory-too-large", "memory 1"),
    ]
    assert "did you mean `gadgetStart`" in found[3].message


def test_memory_exported_as_a_function(
    contract: AbiContract, wat_file: Callable[[str], Path]
) -> None:
    wat = module("(memory 1)", INITIALIZE, API_VERSION, '(func (export "memory"))')
    found = only(check_contract(read_module(wat_file(wat).read_bytes()), contract))

    assert (found.code, found.expected, found.found) == ("export-kind", "memory", "func")


def test_command_and_reactor_at_once(
    contract: AbiContract, wat_file: Callable[[str], Path]
) -> None:
    wat = reactor('(func (export "_start"))')
    found = only(check_contract(read_module(wat_file(wat).read_bytes()), contract))

    assert found.code == "command-and-reactor"


def test_extra_exports_outside_the_host_namespace_are_allowed(
    contract: AbiContract, wat_file: Callable[[str], Path]
) -> None:
    wat = module(
        IG_IMPORTS,
        MEMORY,
        INITIALIZE,
        API_VERSION,
        '(func (export "helper"))',
        '(global (export "__stack_pointer") i32 (i32.const 0))',
        '(func (export "GADGETINIT") (result i32) i32.const 0)',
    )
    found = only(check_contract(read_module(wat_file(wat).read_bytes()), contract))

    assert (found.code, found.item) == ("unknown-export", "GADGETINIT")


def test_violation_as_dict_feeds_the_manifest_record() -> None:
    violation = Violation(code="c", item="i", expected="e", found="f", message="m")

    assert violation.as_dict() == {
        "code": "c",
        "item": "i",
        "expected": "e",
        "found": "f",
        "message": "m",
    }
