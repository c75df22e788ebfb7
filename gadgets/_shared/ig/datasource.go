package ig

import (
	"errors"
	"runtime"
)

// DataSource is a host handle to a data source.
type DataSource uint32

// Data is a host handle to one event of a data source. It is valid only
// during the callback that received it.
type Data uint32

// SubscriptionType selects what dataSourceCallback receives for a
// subscription. The numbering is the one of IG hosts with the "ig" import
// module (IG pkg/operators/wasm/datasource.go): 0 is invalid, 1 one event
// (Data), 2 an array of events, 3 a whole packet. Older "env" hosts used 0, 1
// and 2 for the same three. These bindings only subscribe with
// SubscriptionTypeData.
type SubscriptionType uint32

const (
	SubscriptionTypeInvalid SubscriptionType = 0
	SubscriptionTypeData    SubscriptionType = 1
	SubscriptionTypeArray   SubscriptionType = 2
	SubscriptionTypePacket  SubscriptionType = 3
)

// DataFunc receives one event of a data-type subscription.
type DataFunc func(ds DataSource, data Data)

// callbacks holds the registered callbacks; the callback id given to the host
// is the index plus one, so that 0 never names a callback.
var callbacks []DataFunc

// unknownCallbacks counts calls to dataSourceCallback with an id that names
// no registered callback; they are ignored.
var unknownCallbacks uint64

// UnknownCallbacks returns how many host calls named no registered callback.
func UnknownCallbacks() uint64 { return unknownCallbacks }

// dataSourceCallback is the one export through which the host delivers every
// event: (i64 callback id, i32 data source, i32 data) -> (). The host never
// calls it concurrently.
//
//go:wasmexport dataSourceCallback
func dataSourceCallback(callbackID uint64, ds uint32, data uint32) {
	if callbackID == 0 || callbackID > uint64(len(callbacks)) {
		unknownCallbacks++
		return
	}
	callbacks[callbackID-1](DataSource(ds), Data(data))
}

// GetDataSource returns the host's data source called name.
func GetDataSource(name string) (DataSource, error) {
	h := getDataSource(stringArg(name))
	runtime.KeepAlive(name)
	if h == 0 {
		return 0, errors.New("ig: data source " + name + " not found")
	}
	return DataSource(h), nil
}

// Subscribe asks the host to call cb for each event of ds. The priority is
// passed to the host as is (in IG, lower values run first).
func (ds DataSource) Subscribe(cb DataFunc, priority int32) error {
	if cb == nil {
		return errors.New("ig: Subscribe: nil callback")
	}
	callbacks = append(callbacks, cb)
	id := uint64(len(callbacks))
	if dataSourceSubscribe(uint32(ds), uint32(SubscriptionTypeData), priority, id) != 0 {
		callbacks[id-1] = nil
		callbacks = callbacks[:id-1]
		return errors.New("ig: subscribing to data source failed")
	}
	return nil
}

// GetField returns the field called name of ds.
func (ds DataSource) GetField(name string) (Field, error) {
	h := dataSourceGetField(uint32(ds), stringArg(name))
	runtime.KeepAlive(name)
	if h == 0 {
		return 0, errors.New("ig: field " + name + " not found")
	}
	return Field(h), nil
}

// AddField adds a field called name, of the given kind, to ds.
func (ds DataSource) AddField(name string, kind FieldKind) (Field, error) {
	h := dataSourceAddField(uint32(ds), stringArg(name), uint32(kind))
	runtime.KeepAlive(name)
	if h == 0 {
		return 0, errors.New("ig: adding field " + name + " failed")
	}
	return Field(h), nil
}
