package ig

import (
	"errors"
	"runtime"
)

// GetParamValue returns the value the host holds for the gadget parameter
// key, reading at most maxLen bytes.
//
// Convention assumed (IG pkg/operators/wasm/params.go): getParamValue(key,
// dst) returns 0 on success and 1 on error (unknown key, or a value longer
// than dst); on success the host writes the value's bytes at the start of dst
// and returns no length. The buffer is zeroed before the call, so the value
// ends at its first NUL byte, or fills the whole buffer. A value holding a
// NUL byte is therefore cut there.
func GetParamValue(key string, maxLen uint32) (string, error) {
	if maxLen == 0 {
		return "", errors.New("ig: GetParamValue: maxLen is 0")
	}
	dst := make([]byte, maxLen)
	ret := getParamValue(stringArg(key), bufferArg(dst))
	runtime.KeepAlive(key)
	runtime.KeepAlive(dst)
	if ret != 0 {
		return "", errors.New("ig: param " + key + " not found or longer than the buffer")
	}
	n := 0
	for n < len(dst) && dst[n] != 0 {
		n++
	}
	return string(dst[:n]), nil
}
