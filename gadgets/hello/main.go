// Command hello is the smallest gadget: it exports the API version and three
// lifecycle functions, each of which logs one line at info level and
// succeeds.
package main

import "gadgetbuild/ig"

//go:wasmexport gadgetAPIVersion
func gadgetAPIVersion() uint64 {
	return ig.APIVersion
}

//go:wasmexport gadgetInit
func gadgetInit() int32 {
	ig.Log(ig.LevelInfo, "hello: init")
	return 0
}

//go:wasmexport gadgetStart
func gadgetStart() int32 {
	ig.Log(ig.LevelInfo, "hello: start")
	return 0
}

//go:wasmexport gadgetStop
func gadgetStop() int32 {
	ig.Log(ig.LevelInfo, "hello: stop")
	return 0
}

func main() {}
