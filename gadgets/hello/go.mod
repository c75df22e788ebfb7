module gadgetbuild/gadgets/hello

go 1.24

require gadgetbuild/ig v0.0.0

replace gadgetbuild/ig => ../_shared/ig
