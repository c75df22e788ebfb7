"""The gadget ABI as data (``gadget-abi-v1.json``) and the check of a module against it.

Extra exports: the host looks exports up by exact name and ignores the rest, so an
export the contract does not name is harmless, with one exception. A name in the host's
namespace (a reserved prefix such as ``gadget``, or a contract name in another case) is
almost certainly a misspelt lifecycle function that the host will silently never call:
that is a violation. Allowed extras (TinyGo's allocator and asyncify exports) are
accepted whatever their signature.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from gadgetbuild.errors import SpecError
from gadgetbuild.specs import describe_validation_error
from gadgetbuild.wasm.model import FuncType, Import, ModuleInfo

CONTRACT_FILE = "gadget-abi-v1.json"
PAGE_SIZE = 65536


def _canonical(text: str) -> str:
    return str(FuncType.parse(text))


Signature = Annotated[str, AfterValidator(_canonical)]


class _ContractModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExportRule(_ContractModel):
    name: str
    kind: Literal["func", "table", "memory", "global", "tag"] = "func"
    signature: Signature | None = None
    required: bool = False
    description: str = ""

    @model_validator(mode="after")
    def _signature_iff_func(self) -> Self:
        if (self.kind == "func") != (self.signature is not None):
            msg = "a func export needs a signature, and only a func export has one"
            raise ValueError(msg)
        return self


class ImportModuleRule(_ContractModel):
    description: str = ""
    functions: dict[str, Signature | None] = Field(
        description="Function name to signature; null checks the name only."
    )


class AbiContract(_ContractModel):
    description: str = ""
    abi_version: int = Field(ge=1)
    min_host: str = Field(description="The oldest host release that provides this ABI.")
    host_module: str = Field(description="The import module holding the host's own functions.")
    exports: tuple[ExportRule, ...]
    extra_exports_allowed: tuple[str, ...] = Field(description="Names or fnmatch patterns.")
    reserved_export_prefixes: tuple[str, ...] = ()
    import_modules: dict[str, ImportModuleRule]
    legacy_import_modules: dict[str, str] = Field(description="Module name to why it is legacy.")
    max_initial_memory_pages: int = Field(ge=0)
    custom_sections_allowed: tuple[str, ...] = ()

    def export_rule(self, name: str) -> ExportRule | None:
        return next((rule for rule in self.exports if rule.name == name), None)

    def import_signature(self, module: str, name: str) -> str | None:
        rule = self.import_modules.get(module)
        return rule.functions.get(name) if rule else None

    def ig_signature(self, name: str) -> str | None:
        """The exact signature of the host function ``name``, if the host provides it."""
        return self.import_signature(self.host_module, name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    """One way a module breaks the contract; ``code`` is a short kebab-case id."""

    code: str
    item: str
    expected: str | None = None
    found: str | None = None
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def load_contract(path: Path | None = None) -> AbiContract:
    """The contract at ``path``, else the one shipped inside the package."""
    try:
        if path is None:
            text = resources.files("gadgetbuild").joinpath("data", CONTRACT_FILE).read_text()
        else:
            text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read the ABI contract: {exc.strerror}", path=path) from exc

    try:
        return AbiContract.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise SpecError(f"the ABI contract is not JSON: {exc}", path=path) from exc
    except ValidationError as exc:
        raise SpecError(describe_validation_error(exc), path=path) from exc


def check_contract(info: ModuleInfo, contract: AbiContract) -> list[Violation]:
    """Every way ``info`` breaks ``contract``, in the order exports, imports, memory."""
    return [
        *_check_entry_point(info),
        *_check_exports(info, contract),
        *_check_extra_exports(info, contract),
        *(v for imp in info.imports for v in _check_import(imp, contract)),
        *_check_memory(info, contract),
    ]


def _check_entry_point(info: ModuleInfo) -> list[Violation]:
    # WASI's application ABI: a command exports `_start`, a reactor `_initialize`, and a
    # module must not be both. A current host only ever runs `_initialize`.
    start, initialize = info.export("_start"), info.export("_initialize")
    if start is None:
        return []
    if initialize is None:
        message = (
            "exports `_start` but not `_initialize`: a WASI command, whose initialisation "
            "a current host never runs; build a reactor (-buildmode=c-shared)"
        )
        return [Violation(code="command-module", item="_start", found="command", message=message)]
    message = "exports both `_start` and `_initialize`: WASI allows a command or a reactor"
    return [Violation(code="command-and-reactor", item="_start", message=message)]


def _check_exports(info: ModuleInfo, contract: AbiContract) -> list[Violation]:
    violations = []
    for rule in contract.exports:
        expected = rule.signature or rule.kind
        export = info.export(rule.name)
        if export is None:
            # A command module already has its own violation for the missing entry point.
            if rule.required and not (rule.name == "_initialize" and info.export("_start")):
                what = f"signature {rule.signature}" if rule.signature else f"a {rule.kind}"
                message = f"missing required export `{rule.name}` ({what}): {rule.description}"
                violations.append(_violation("missing-export", rule.name, expected, None, message))
        elif export.kind != rule.kind:
            message = f"export `{rule.name}` is a {export.kind}, expected a {rule.kind}"
            violations.append(_violation("export-kind", rule.name, rule.kind, export.kind, message))
        elif rule.signature is not None and str(export.signature) != rule.signature:
            found = str(export.signature)
            message = (
                f"export `{rule.name}` has signature {found}, expected {rule.signature}: "
                "the host calls it with the contract's signature"
            )
            violations.append(_violation("export-signature", rule.name, expected, found, message))
    return violations


def _check_extra_exports(info: ModuleInfo, contract: AbiContract) -> list[Violation]:
    named = {rule.name for rule in contract.exports} | {"_start"}
    folded = {name.casefold() for name in named}
    prefixes = tuple(p.casefold() for p in contract.reserved_export_prefixes)
    violations = []
    for export in info.exports:
        name = export.name
        if name in named or any(
            fnmatch.fnmatchcase(name, p) for p in contract.extra_exports_allowed
        ):
            continue
        if name.casefold() in folded or name.casefold().startswith(prefixes):
            guess = difflib.get_close_matches(name, sorted(named), n=1)
            hint = f"; did you mean `{guess[0]}`?" if guess else ""
            message = (
                f"export `{name}` is in the host's namespace but not in the gadget ABI, "
                f"so the host never calls it{hint}"
            )
            violations.append(_violation("unknown-export", name, None, export.kind, message))
    return violations


def _check_import(imp: Import, contract: AbiContract) -> list[Violation]:
    item = f"{imp.module}.{imp.name}"
    if reason := contract.legacy_import_modules.get(imp.module):
        message = (
            f"imports `{imp.name}` from `{imp.module}`, {reason}: a legacy-ABI gadget that "
            f"Inspektor Gadget {contract.min_host} and later cannot link; rebuild it against "
            f"the current gadget API, which imports from `{contract.host_module}`"
        )
        return [_violation("legacy-abi", item, contract.host_module, imp.module, message)]

    rule = contract.import_modules.get(imp.module)
    if rule is None:
        provided = ", ".join(contract.import_modules)
        message = f"imports `{imp.name}` from `{imp.module}`, a module the host does not provide"
        message += f" (it provides {provided})"
        return [_violation("unknown-import-module", item, provided, imp.module, message)]

    if imp.kind != "func":
        message = f"imports `{item}` as a {imp.kind}; the host module provides only functions"
        return [_violation("import-kind", item, "func", imp.kind, message)]

    if imp.name not in rule.functions:
        guess = difflib.get_close_matches(imp.name, sorted(rule.functions), n=1)
        hint = f"; did you mean `{guess[0]}`?" if guess else ""
        message = f"imports `{item}`, which the host does not provide: linking fails{hint}"
        return [_violation("unknown-import", item, None, imp.name, message)]

    expected, found = rule.functions[imp.name], str(imp.signature)
    if expected is not None and found != expected:
        message = (
            f"imports `{item}` with signature {found}, expected {expected}: "
            "linking fails with a signature mismatch"
        )
        return [_violation("import-signature", item, expected, found, message)]
    return []


def _check_memory(info: ModuleInfo, contract: AbiContract) -> list[Violation]:
    cap = contract.max_initial_memory_pages
    violations = []
    for index, memory in enumerate(info.memories):
        if memory.min_pages > cap:
            size = memory.min_pages * PAGE_SIZE / 2**20
            message = (
                f"memory {index} starts at {memory.min_pages} pages ({size:g} MiB), over the "
                f"host's cap of {cap} pages ({cap * PAGE_SIZE / 2**20:g} MiB): it cannot load"
            )
            item = f"memory {index}"
            violations.append(
                _violation("memory-too-large", item, f"<= {cap}", str(memory.min_pages), message)
            )
    return violations


def _violation(
    code: str, item: str, expected: str | None, found: str | None, message: str
) -> Violation:
    return Violation(code=code, item=item, expected=expected, found=found, message=message)
