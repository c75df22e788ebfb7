module gadgetbuild/ig

go 1.24
