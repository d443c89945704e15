// SQLite 3 (system libsqlite3), as used by TonleStore.
#include <sqlite3.h>
