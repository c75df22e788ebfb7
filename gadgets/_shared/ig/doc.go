// Package ig holds the Go bindings of the gadget ABI, version 1: the functions
// the host provides in the wasm import module "ig", and the one export the
// bindings own, dataSourceCallback.
//
// Conventions of the ABI, as the host expects them:
//
//   - Handles (data source, field, data) are i32; 0 means an error.
//   - A string or buffer crosses as one i64 holding length<<32 | address, the
//     address being an offset in the module's linear memory. An empty string
//     is passed as 0.
//   - Host calls that return a status return 0 on success and non-zero on
//     error, except fieldGetBuffer (bytes copied, -1 on error) and
//     fieldGetScalar (the value; the error goes through a pointer).
//   - The host never calls the module concurrently: one event at a time.
//
// The sources build with Go 1.24 (GOOS=wasip1, -buildmode=c-shared) and with
// TinyGo >= 0.35 (-target=wasip1 -buildmode=c-shared): only //go:wasmimport and
// //go:wasmexport, no int in any imported or exported signature, no goroutine.
package ig

// APIVersion is the ABI version these bindings speak; every gadget returns it
// from its gadgetAPIVersion export.
const APIVersion uint64 = 1
