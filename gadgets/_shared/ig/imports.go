package ig

// The host functions, module "ig". Each declaration maps to the exact wasm
// type listed beside it (uint32/int32 -> i32, uint64 -> i64); the pipeline
// rejects a module whose "ig" import differs from the host's signature.
// The linker keeps only the imports a gadget actually calls.

// gadgetLog: (i32 level, i64 message) -> ()
//
//go:wasmimport ig gadgetLog
func gadgetLog(level uint32, msg uint64)

// gadgetShouldLog: (i32 level) -> i32 (1 if the host would print that level)
//
//go:wasmimport ig gadgetShouldLog
func gadgetShouldLog(level uint32) uint32

// getDataSource: (i64 name) -> i32 data source handle
//
//go:wasmimport ig getDataSource
func getDataSource(name uint64) uint32

// dataSourceSubscribe: (i32 ds, i32 subscription type, i32 priority, i64 callback id) -> i32 status
//
//go:wasmimport ig dataSourceSubscribe
func dataSourceSubscribe(ds uint32, typ uint32, priority int32, callbackID uint64) uint32

// dataSourceGetField: (i32 ds, i64 name) -> i32 field handle
//
//go:wasmimport ig dataSourceGetField
func dataSourceGetField(ds uint32, name uint64) uint32

// dataSourceAddField: (i32 ds, i64 name, i32 kind) -> i32 field handle
//
//go:wasmimport ig dataSourceAddField
func dataSourceAddField(ds uint32, name uint64, kind uint32) uint32

// fieldGetScalar: (i32 field, i32 data, i32 kind, i32 error pointer) -> i64 value
//
//go:wasmimport ig fieldGetScalar
func fieldGetScalar(field uint32, data uint32, kind uint32, errPtr uint32) uint64

// fieldGetBuffer: (i32 field, i32 data, i32 kind, i64 destination buffer) -> i32 bytes copied or -1
//
//go:wasmimport ig fieldGetBuffer
func fieldGetBuffer(field uint32, data uint32, kind uint32, dst uint64) int32

// fieldSet: (i32 field, i32 data, i32 kind, i64 value) -> i32 status
//
//go:wasmimport ig fieldSet
func fieldSet(field uint32, data uint32, kind uint32, value uint64) uint32

// getParamValue: (i64 key, i64 destination buffer) -> i32 status
//
//go:wasmimport ig getParamValue
func getParamValue(key uint64, dst uint64) uint32
