// Command tcp-top sums the bytes of each TCP connection and, at gadgetStop,
// logs the top N connections by bytes, descending.
//
// Host contract:
//   - data source "tcp" with fields "saddr", "daddr" (string), "sport",
//     "dport" (uint16) and "bytes" (uint64); a connection is the 4-tuple;
//   - parameter "top" (default "5"), a decimal count read in gadgetInit; 0
//     logs every connection; a value that is not a count fails gadgetInit;
//   - at gadgetStop it logs "tcp-top: C connections, E events, showing K",
//     then one line per connection: "tcp-top: #1 SADDR:SPORT -> DADDR:DPORT
//     BYTES bytes" (IPv6 addresses in brackets). Ties in bytes are ordered
//     by the 4-tuple so that the output is deterministic.
package main

import (
	"sort"
	"strconv"
	"strings"

	"gadgetbuild/ig"
)

const (
	defaultTop = 5
	maxAddrLen = 256
	maxTopLen  = 32
)

type connKey struct {
	saddr, daddr string
	sport, dport uint16
}

type connStat struct {
	key   connKey
	bytes uint64
}

var (
	top uint64 = defaultTop

	saddrField, daddrField ig.Field
	sportField, dportField ig.Field
	bytesField             ig.Field

	byConn  = map[connKey]uint64{}
	events  uint64
	skipped uint64 // events with a field that could not be read
)

//go:wasmexport gadgetAPIVersion
func gadgetAPIVersion() uint64 {
	return ig.APIVersion
}

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	ds, err := ig.GetDataSource("tcp")
	if err != nil {
		ig.Errorf("tcp-top: %v", err)
		return 1
	}
	for _, f := range []struct {
		name string
		dst  *ig.Field
	}{
		{"saddr", &saddrField},
		{"daddr", &daddrField},
		{"sport", &sportField},
		{"dport", &dportField},
		{"bytes", &bytesField},
	} {
		if *f.dst, err = ds.GetField(f.name); err != nil {
			ig.Errorf("tcp-top: %v", err)
			return 1
		}
	}

	s, err := ig.GetParamValue("top", maxTopLen)
	if err != nil {
		ig.Warnf("tcp-top: %v; using the default, %d", err, defaultTop)
	} else if s = strings.TrimSpace(s); s != "" {
		n, perr := strconv.ParseUint(s, 10, 32)
		if perr != nil {
			ig.Errorf("tcp-top: param top: %q is not a count", s)
			return 1
		}
		top = n
	}

	if err := ds.Subscribe(onTCP, 0); err != nil {
		ig.Errorf("tcp-top: %v", err)
		return 1
	}
	return 0
}

func onTCP(_ ig.DataSource, data ig.Data) {
	events++
	var k connKey
	var n uint64
	var err error
	if k.saddr, err = saddrField.StringMax(data, maxAddrLen); err != nil {
		skipped++
		return
	}
	if k.daddr, err = daddrField.StringMax(data, maxAddrLen); err != nil {
		skipped++
		return
	}
	if k.sport, err = sportField.Uint16(data); err != nil {
		skipped++
		return
	}
	if k.dport, err = dportField.Uint16(data); err != nil {
		skipped++
		return
	}
	if n, err = bytesField.Uint64(data); err != nil {
		skipped++
		return
	}
	byConn[k] += n
}

// less orders connections by bytes, descending, then by their 4-tuple.
func less(a, b connStat) bool {
	if a.bytes != b.bytes {
		return a.bytes > b.bytes
	}
	if a.key.saddr != b.key.saddr {
		return a.key.saddr < b.key.saddr
	}
	if a.key.sport != b.key.sport {
		return a.key.sport < b.key.sport
	}
	if a.key.daddr != b.key.daddr {
		return a.key.daddr < b.key.daddr
	}
	return a.key.dport < b.key.dport
}

func hostPort(addr string, port uint16) string {
	p := strconv.FormatUint(uint64(port), 10)
	if strings.Contains(addr, ":") {
		return "[" + addr + "]:" + p
	}
	return addr + ":" + p
}

//go:wasmexport gadgetStop
func gadgetStop() int32 {
	stats := make([]connStat, 0, len(byConn))
	for k, b := range byConn {
		stats = append(stats, connStat{key: k, bytes: b})
	}
	sort.Slice(stats, func(i, j int) bool { return less(stats[i], stats[j]) })

	shown := len(stats)
	if top != 0 && uint64(shown) > top {
		shown = int(top)
	}
	ig.Infof("tcp-top: %d connections, %d events, showing %d", len(stats), events, shown)
	for i, s := range stats[:shown] {
		ig.Infof("tcp-top: #%d %s -> %s %d bytes",
			i+1, hostPort(s.key.saddr, s.key.sport), hostPort(s.key.daddr, s.key.dport), s.bytes)
	}
	if skipped > 0 {
		ig.Warnf("tcp-top: skipped %d events with an unreadable field", skipped)
	}
	return 0
}

func main() {}
