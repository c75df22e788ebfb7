// Command dns-json decodes the JSON document held by the "payload" field of
// each "dns" event, for example
//
//	{"qname":"example.org.","qtype":"A","rcode":"NOERROR","answers":["1.2.3.4"]}
//
// with encoding/json, and writes its qname and rcode into the string fields
// "name" and "rcode" that it adds to the data source at init.
//
// Host contract:
//   - data source "dns" with a string field "payload" (at most 64 KiB read);
//     gadgetInit fails (returns 1) without it, or if "name" or "rcode"
//     cannot be added;
//   - a payload that is not a JSON object of that shape (invalid JSON, null,
//     another type, a field of the wrong type), or that cannot be read,
//     is malformed: it is counted, the first few are logged at warning
//     level, its event is left untouched, and the gadget goes on;
//   - at gadgetStop it logs "dns-json: decoded N, malformed M".
package main

import (
	"encoding/json"
	"errors"

	"gadgetbuild/ig"
)

const (
	maxPayloadLen = 64 << 10
	// maxMalformedLogs bounds the warnings about malformed payloads.
	maxMalformedLogs = 5
)

// dnsPayload is the document the payload field holds.
type dnsPayload struct {
	QName   string   `json:"qname"`
	QType   string   `json:"qtype"`
	RCode   string   `json:"rcode"`
	Answers []string `json:"answers"`
}

var (
	payloadBuf = make([]byte, maxPayloadLen)

	payloadField ig.Field
	nameField    ig.Field
	rcodeField   ig.Field

	decoded, malformed uint64
	setFailures        uint64

	// debug caches, at init, whether the host prints debug messages.
	debug bool

	errNull = errors.New("payload is null, not an object")
)

//go:wasmexport gadgetAPIVersion
func gadgetAPIVersion() uint64 {
	return ig.APIVersion
}

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	debug = ig.ShouldLog(ig.LevelDebug)
	ds, err := ig.GetDataSource("dns")
	if err != nil {
		ig.Errorf("dns-json: %v", err)
		return 1
	}
	if payloadField, err = ds.GetField("payload"); err != nil {
		ig.Errorf("dns-json: %v", err)
		return 1
	}
	if nameField, err = ds.AddField("name", ig.KindString); err != nil {
		ig.Errorf("dns-json: %v", err)
		return 1
	}
	if rcodeField, err = ds.AddField("rcode", ig.KindString); err != nil {
		ig.Errorf("dns-json: %v", err)
		return 1
	}
	if err := ds.Subscribe(onDNS, 0); err != nil {
		ig.Errorf("dns-json: %v", err)
		return 1
	}
	return 0
}

func reportMalformed(err error) {
	malformed++
	if malformed <= maxMalformedLogs {
		ig.Warnf("dns-json: malformed payload #%d: %v", malformed, err)
	}
}

func onDNS(_ ig.DataSource, data ig.Data) {
	raw, err := payloadField.ReadString(data, payloadBuf)
	if err != nil {
		reportMalformed(err)
		return
	}
	var p *dnsPayload
	if err := json.Unmarshal(raw, &p); err != nil {
		reportMalformed(err)
		return
	}
	if p == nil {
		reportMalformed(errNull)
		return
	}
	decoded++
	if nameField.SetString(data, p.QName) != nil {
		setFailures++
	}
	if rcodeField.SetString(data, p.RCode) != nil {
		setFailures++
	}
	if debug {
		ig.Debugf("dns-json: %s %s %s, %d answers", p.QName, p.QType, p.RCode, len(p.Answers))
	}
}

//go:wasmexport gadgetStop
func gadgetStop() int32 {
	ig.Infof("dns-json: decoded %d, malformed %d", decoded, malformed)
	if setFailures > 0 {
		ig.Warnf("dns-json: %d field writes failed", setFailures)
	}
	return 0
}

func main() {}
