package ig

import (
	"errors"
	"runtime"
)

// FieldKind is a field's type. The numbering is IG's api.Kind
// (pkg/gadget-service/api/api.proto), which the host checks against.
type FieldKind uint32

const (
	KindInvalid FieldKind = 0
	KindBool    FieldKind = 1
	KindInt8    FieldKind = 2
	KindInt16   FieldKind = 3
	KindInt32   FieldKind = 4
	KindInt64   FieldKind = 5
	KindUint8   FieldKind = 6
	KindUint16  FieldKind = 7
	KindUint32  FieldKind = 8
	KindUint64  FieldKind = 9
	KindFloat32 FieldKind = 10
	KindFloat64 FieldKind = 11
	KindString  FieldKind = 12
	KindCString FieldKind = 13
	KindBytes   FieldKind = 14
)

// Field is a host handle to a field of a data source.
type Field uint32

// DefaultBufferSize is the largest value String reads; use StringMax or
// ReadString for longer ones.
const DefaultBufferSize = 4096

var (
	// scratch is the buffer String and StringMax read into before copying
	// the value out; the host never calls the module concurrently.
	scratch []byte
	// scalarErr is the out-parameter of fieldGetScalar: the host writes a
	// non-zero uint32 there on error and leaves it untouched on success.
	scalarErr uint32
)

var (
	errGetBuffer = errors.New("ig: fieldGetBuffer failed (bad handle, kind, or value longer than the buffer)")
	errGetScalar = errors.New("ig: fieldGetScalar failed")
	errSet       = errors.New("ig: fieldSet failed")
)

func scratchBuffer(n uint32) []byte {
	if uint32(cap(scratch)) < n {
		scratch = make([]byte, n)
	}
	return scratch[:n]
}

func (f Field) getBuffer(data Data, kind FieldKind, dst []byte) ([]byte, error) {
	n := fieldGetBuffer(uint32(f), uint32(data), uint32(kind), bufferArg(dst))
	runtime.KeepAlive(dst)
	if n < 0 || int(n) > len(dst) {
		return nil, errGetBuffer
	}
	return dst[:n], nil
}

// ReadString copies the string field's value into dst and returns the filled
// part of dst, without allocating. It fails if the value is longer than dst.
func (f Field) ReadString(data Data, dst []byte) ([]byte, error) {
	return f.getBuffer(data, KindString, dst)
}

// ReadBytes copies the bytes field's value into dst and returns the filled
// part of dst, without allocating. It fails if the value is longer than dst.
func (f Field) ReadBytes(data Data, dst []byte) ([]byte, error) {
	return f.getBuffer(data, KindBytes, dst)
}

// StringMax returns the string field's value, at most maxLen bytes long.
func (f Field) StringMax(data Data, maxLen uint32) (string, error) {
	b, err := f.getBuffer(data, KindString, scratchBuffer(maxLen))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// String returns the string field's value, at most DefaultBufferSize bytes.
func (f Field) String(data Data) (string, error) {
	return f.StringMax(data, DefaultBufferSize)
}

func (f Field) scalar(data Data, kind FieldKind) (uint64, error) {
	scalarErr = 0
	v := fieldGetScalar(uint32(f), uint32(data), uint32(kind), uint32Addr(&scalarErr))
	if scalarErr != 0 {
		return 0, errGetScalar
	}
	return v, nil
}

// Bool returns the bool field's value.
func (f Field) Bool(data Data) (bool, error) {
	v, err := f.scalar(data, KindBool)
	return v != 0, err
}

// Uint8 returns the uint8 field's value.
func (f Field) Uint8(data Data) (uint8, error) {
	v, err := f.scalar(data, KindUint8)
	return uint8(v), err
}

// Uint16 returns the uint16 field's value.
func (f Field) Uint16(data Data) (uint16, error) {
	v, err := f.scalar(data, KindUint16)
	return uint16(v), err
}

// Uint32 returns the uint32 field's value.
func (f Field) Uint32(data Data) (uint32, error) {
	v, err := f.scalar(data, KindUint32)
	return uint32(v), err
}

// Uint64 returns the uint64 field's value.
func (f Field) Uint64(data Data) (uint64, error) {
	return f.scalar(data, KindUint64)
}

// Int64 returns the int64 field's value.
func (f Field) Int64(data Data) (int64, error) {
	v, err := f.scalar(data, KindInt64)
	return int64(v), err
}

func (f Field) set(data Data, kind FieldKind, value uint64) error {
	if fieldSet(uint32(f), uint32(data), uint32(kind), value) != 0 {
		return errSet
	}
	return nil
}

// SetString sets the string field's value.
func (f Field) SetString(data Data, s string) error {
	err := f.set(data, KindString, stringArg(s))
	runtime.KeepAlive(s)
	return err
}

// SetBool sets the bool field's value (passed as 1 or 0).
func (f Field) SetBool(data Data, b bool) error {
	var v uint64
	if b {
		v = 1
	}
	return f.set(data, KindBool, v)
}

// SetUint16 sets the uint16 field's value.
func (f Field) SetUint16(data Data, v uint16) error { return f.set(data, KindUint16, uint64(v)) }

// SetUint32 sets the uint32 field's value.
func (f Field) SetUint32(data Data, v uint32) error { return f.set(data, KindUint32, uint64(v)) }

// SetUint64 sets the uint64 field's value.
func (f Field) SetUint64(data Data, v uint64) error { return f.set(data, KindUint64, v) }
