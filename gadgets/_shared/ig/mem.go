package ig

import "unsafe"

// The helpers below turn Go memory into the ABI's i64 "length<<32 | address".
// The caller must keep the string or slice alive until the host call returns
// (runtime.KeepAlive after the call): the i64 alone does not hold a reference
// for the garbage collector. Neither Go nor TinyGo moves heap objects, so the
// address stays valid while the object is alive.

const addressMask = 0xFFFFFFFF

// stringArg encodes s for the host; an empty string is 0, as the host expects.
func stringArg(s string) uint64 {
	if len(s) == 0 {
		return 0
	}
	addr := uint64(uintptr(unsafe.Pointer(unsafe.StringData(s)))) & addressMask
	return uint64(len(s))<<32 | addr
}

// bufferArg encodes b (its length, not its capacity) for the host.
func bufferArg(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	addr := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) & addressMask
	return uint64(len(b))<<32 | addr
}

// uint32Addr is the linear-memory address of v, for out-parameters.
func uint32Addr(v *uint32) uint32 {
	return uint32(uintptr(unsafe.Pointer(v)))
}
