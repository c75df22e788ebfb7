"""Wasm modules: the section reader, the gadget ABI contract, and the wasm-tools CLI."""

from gadgetbuild.wasm.contract import (
    AbiContract,
    ExportRule,
    ImportModuleRule,
    Violation,
    check_contract,
    load_contract,
)
from gadgetbuild.wasm.model import (
    Export,
    ExternKind,
    FuncType,
    Import,
    Memory,
    ModuleInfo,
    Section,
    ValType,
)
from gadgetbuild.wasm.reader import (
    function_body_sizes,
    function_names,
    read_module,
    read_module_file,
)
from gadgetbuild.wasm.tools import assemble, strip, validate, wasm_tools_path, wasm_tools_version

__all__ = [
    "AbiContract",
    "Export",
    "ExportRule",
    "ExternKind",
    "FuncType",
    "Import",
    "ImportModuleRule",
    "Memory",
    "ModuleInfo",
    "Section",
    "ValType",
    "Violation",
    "assemble",
    "check_contract",
    "function_body_sizes",
    "function_names",
    "load_contract",
    "read_module",
    "read_module_file",
    "strip",
    "validate",
    "wasm_tools_path",
    "wasm_tools_version",
]
