package ig

import (
	"fmt"
	"runtime"
)

// Level is a gadgetLog level. The numbering is the host's (IG
// pkg/operators/wasm/log.go): 0 error, 1 warning, 2 info, 3 debug, 4 trace.
type Level uint32

const (
	LevelError Level = 0
	LevelWarn  Level = 1
	LevelInfo  Level = 2
	LevelDebug Level = 3
	LevelTrace Level = 4
)

// Log hands msg to the host's logger at the given level.
func Log(level Level, msg string) {
	gadgetLog(uint32(level), stringArg(msg))
	runtime.KeepAlive(msg)
}

// ShouldLog reports whether the host would print a message at level; use it
// to skip building costly messages.
func ShouldLog(level Level) bool {
	return gadgetShouldLog(uint32(level)) != 0
}

// Errorf logs at LevelError.
func Errorf(format string, args ...any) { Log(LevelError, fmt.Sprintf(format, args...)) }

// Warnf logs at LevelWarn.
func Warnf(format string, args ...any) { Log(LevelWarn, fmt.Sprintf(format, args...)) }

// Infof logs at LevelInfo.
func Infof(format string, args ...any) { Log(LevelInfo, fmt.Sprintf(format, args...)) }

// Debugf logs at LevelDebug, formatting only if the host would print it.
func Debugf(format string, args ...any) {
	if ShouldLog(LevelDebug) {
		Log(LevelDebug, fmt.Sprintf(format, args...))
	}
}

// Tracef logs at LevelTrace, formatting only if the host would print it.
func Tracef(format string, args ...any) {
	if ShouldLog(LevelTrace) {
		Log(LevelTrace, fmt.Sprintf(format, args...))
	}
}
