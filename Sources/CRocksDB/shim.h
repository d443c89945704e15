// RocksDB's C API (system librocksdb), as used by TonleStore.
#include <rocksdb/c.h>
