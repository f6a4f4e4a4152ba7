module tessera-interop-node

go 1.26
