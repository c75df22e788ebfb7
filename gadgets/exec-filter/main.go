// Command exec-filter keeps the process executions whose command starts with
// the "prefix" parameter and drops the others, counting both.
//
// How it drops: the ABI's dataSourceCallback returns nothing, so a gadget
// cannot refuse a single event by its return value. At init the gadget adds a
// bool field "keep" to the "exec" data source; for every event it sets keep
// to true when the event's "comm" starts with the prefix and to false
// otherwise. An event whose keep is false is dropped: the host (or any later
// subscriber) must not forward it. An event whose comm cannot be read counts
// as dropped. At gadgetStop it logs "exec-filter: kept N, dropped M".
//
// Host contract, checkable from outside:
//   - data source "exec" with a string field "comm" (required) and a uint32
//     field "pid" (optional, only used in debug logs);
//   - parameter "prefix" (default ""), read once in gadgetInit;
//   - gadgetInit fails (returns 1) if "exec", "comm" or adding "keep" fails.
package main

import (
	"bytes"

	"gadgetbuild/ig"
)

const (
	// maxPrefixLen bounds the prefix parameter.
	maxPrefixLen = 256
	// maxCommLen bounds the comm value read from an event (Linux: 16).
	maxCommLen = 4096
)

var (
	prefix  []byte
	commBuf = make([]byte, maxCommLen)

	commField ig.Field
	pidField  ig.Field // 0 when the data source has no pid field
	keepField ig.Field

	kept, dropped uint64
	unreadable    uint64 // events whose comm could not be read (counted as dropped)
	setFailures   uint64 // events whose keep field could not be set

	// debug caches, at init, whether the host prints debug messages.
	debug bool
)

//go:wasmexport gadgetAPIVersion
func gadgetAPIVersion() uint64 {
	return ig.APIVersion
}

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	debug = ig.ShouldLog(ig.LevelDebug)
	ds, err := ig.GetDataSource("exec")
	if err != nil {
		ig.Errorf("exec-filter: %v", err)
		return 1
	}
	if commField, err = ds.GetField("comm"); err != nil {
		ig.Errorf("exec-filter: %v", err)
		return 1
	}
	if pidField, err = ds.GetField("pid"); err != nil {
		pidField = 0
		if debug {
			ig.Debugf("exec-filter: no pid field, debug logs will not show pids")
		}
	}
	if keepField, err = ds.AddField("keep", ig.KindBool); err != nil {
		ig.Errorf("exec-filter: %v", err)
		return 1
	}

	p, err := ig.GetParamValue("prefix", maxPrefixLen)
	if err != nil {
		ig.Warnf("exec-filter: %v; using the default, an empty prefix", err)
		p = ""
	}
	prefix = []byte(p)

	if err := ds.Subscribe(onExec, 0); err != nil {
		ig.Errorf("exec-filter: %v", err)
		return 1
	}
	ig.Infof("exec-filter: keeping commands with prefix %q", p)
	return 0
}

func onExec(_ ig.DataSource, data ig.Data) {
	comm, err := commField.ReadString(data, commBuf)
	keep := err == nil && bytes.HasPrefix(comm, prefix)
	if err != nil {
		unreadable++
	}
	if keep {
		kept++
	} else {
		dropped++
	}
	if keepField.SetBool(data, keep) != nil {
		setFailures++
	}
	if debug {
		var pid uint32
		if pidField != 0 {
			pid, _ = pidField.Uint32(data)
		}
		ig.Debugf("exec-filter: pid %d comm %q keep %t", pid, comm, keep)
	}
}

//go:wasmexport gadgetStop
func gadgetStop() int32 {
	ig.Infof("exec-filter: kept %d, dropped %d", kept, dropped)
	if unreadable > 0 {
		ig.Warnf("exec-filter: %d events had no readable comm (counted as dropped)", unreadable)
	}
	if setFailures > 0 {
		ig.Warnf("exec-filter: the keep field could not be set on %d events", setFailures)
	}
	return 0
}

func main() {}
