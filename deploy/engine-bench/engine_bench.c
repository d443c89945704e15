// Storage engines on Tonle's write pattern at scale (docs/storage.md, "Choosing the engine").
// Per block of T transfers over N accounts, one synced atomic commit of:
//   2T random account updates (120-byte values), T new replay-protection keys (random, 16 B),
//   T transaction-index rows (random 32-byte id -> 16 B), 2T history rows (account, height, pos -> id),
//   and one block row (T x 200 B) keyed by height. Before it, 2T random account reads (execution).
// With PATTERN=log (environment), the same changes go as one row per block instead: the block and
// one change row of 2T x 152 + 3T x 48 + 2T x 76 bytes, keyed by height (what a commit appends
// when keyed tables are merged later).
// Usage: engine_bench sqlite|rocksdb|lmdb DIR ACCOUNTS BLOCKS TRANSFERS
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <dirent.h>
#include <sqlite3.h>
#include <rocksdb/c.h>
#include <lmdb.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) { uint64_t z = (rng += 0x9E3779B97F4A7C15ull); z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull; z = (z ^ (z >> 27)) * 0x94D049BB133111EBull; return z ^ (z >> 31); }
static void mix(uint64_t x, uint8_t *out, int n) { uint64_t s = x * 0x2545F4914F6CDD1Dull + 1; for (int i = 0; i < n; i += 8) { s ^= s >> 12; s ^= s << 25; s ^= s >> 27; uint64_t v = s * 0x2545F4914F6CDD1Dull; memcpy(out + i, &v, (n - i) < 8 ? (n - i) : 8); } }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static int cmpd(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }
static uint64_t dirbytes(const char *d) { DIR *dir = opendir(d); struct dirent *e; uint64_t n = 0; char p[4096]; struct stat st;
  while ((e = readdir(dir))) { snprintf(p, sizeof p, "%s/%s", d, e->d_name); if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) n += st.st_blocks * 512; } closedir(dir); return n; }

// one engine = begin / put(table, key, value) / get / commit
enum { ACC, RP, TX, HIST, BLK, NT };
static const char *names[NT] = {"accounts", "replay", "txs", "history", "blocks"};
static int engine; // 0 sqlite 1 rocksdb 2 lmdb
static sqlite3 *sq; static sqlite3_stmt *sput[NT], *sget;
static rocksdb_t *rd; static rocksdb_column_family_handle_t *cf[NT]; static rocksdb_writebatch_t *wb; static rocksdb_writeoptions_t *wo; static rocksdb_readoptions_t *ro;
static MDB_env *env; static MDB_dbi dbi[NT]; static MDB_txn *txn;
static void ok(int c, const char *what) { if (c) { fprintf(stderr, "%s failed: %d\n", what, c); exit(1); } }

static void open_engine(const char *dir) {
  char p[4096];
  if (engine == 0) {
    snprintf(p, sizeof p, "%s/db.sqlite", dir); ok(sqlite3_open(p, &sq), "open");
    ok(sqlite3_exec(sq, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-262144;", 0, 0, 0), "pragma");
    for (int t = 0; t < NT; t++) { char s[256]; snprintf(s, sizeof s, "CREATE TABLE IF NOT EXISTS %s (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID", names[t]); ok(sqlite3_exec(sq, s, 0, 0, 0), "create");
      snprintf(s, sizeof s, "INSERT OR REPLACE INTO %s (k, v) VALUES (?, ?)", names[t]); ok(sqlite3_prepare_v2(sq, s, -1, &sput[t], 0), "prepare"); }
    ok(sqlite3_prepare_v2(sq, "SELECT v FROM accounts WHERE k = ?", -1, &sget, 0), "prepare");
  } else if (engine == 1) {
    rocksdb_options_t *o = rocksdb_options_create(); rocksdb_options_set_create_if_missing(o, 1); rocksdb_options_set_create_missing_column_families(o, 1);
    rocksdb_options_increase_parallelism(o, 2); rocksdb_options_set_max_background_jobs(o, 2);
    rocksdb_block_based_table_options_t *bt = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_filter_policy(bt, rocksdb_filterpolicy_create_bloom(10));
    rocksdb_block_based_options_set_block_cache(bt, rocksdb_cache_create_lru(256 << 20));
    rocksdb_options_set_block_based_table_factory(o, bt);
    rocksdb_options_set_write_buffer_size(o, 64 << 20);
    const char *cfn[NT + 1] = {"default", "accounts", "replay", "txs", "history", "blocks"}; const rocksdb_options_t *cfo[NT + 1]; for (int i = 0; i <= NT; i++) cfo[i] = o;
    rocksdb_column_family_handle_t *h[NT + 1]; char *err = 0;
    rd = rocksdb_open_column_families(o, dir, NT + 1, cfn, cfo, h, &err); if (err) { fprintf(stderr, "%s\n", err); exit(1); }
    for (int t = 0; t < NT; t++) cf[t] = h[t + 1];
    wb = rocksdb_writebatch_create(); wo = rocksdb_writeoptions_create(); rocksdb_writeoptions_set_sync(wo, 1); ro = rocksdb_readoptions_create();
  } else {
    ok(mdb_env_create(&env), "env"); mdb_env_set_mapsize(env, (size_t)200 << 30); mdb_env_set_maxdbs(env, 8);
    ok(mdb_env_open(env, dir, MDB_NORDAHEAD, 0644), "env open");
    ok(mdb_txn_begin(env, 0, 0, &txn), "txn"); for (int t = 0; t < NT; t++) ok(mdb_dbi_open(txn, names[t], MDB_CREATE, &dbi[t]), "dbi"); ok(mdb_txn_commit(txn), "commit");
  }
}
static void begin(void) { if (engine == 0) ok(sqlite3_exec(sq, "BEGIN IMMEDIATE", 0, 0, 0), "begin"); else if (engine == 1) rocksdb_writebatch_clear(wb); else ok(mdb_txn_begin(env, 0, 0, &txn), "begin"); }
static void put(int t, const uint8_t *k, int kn, const uint8_t *v, int vn, int append) {
  if (engine == 0) { sqlite3_stmt *s = sput[t]; sqlite3_bind_blob(s, 1, k, kn, SQLITE_STATIC); sqlite3_bind_blob(s, 2, v, vn, SQLITE_STATIC); ok(sqlite3_step(s) != SQLITE_DONE, "put"); sqlite3_reset(s); }
  else if (engine == 1) rocksdb_writebatch_put_cf(wb, cf[t], (const char *)k, kn, (const char *)v, vn);
  else { MDB_val a = {kn, (void *)k}, b = {vn, (void *)v}; ok(mdb_put(txn, dbi[t], &a, &b, append ? MDB_APPEND : 0), "put"); }
}
static int get(const uint8_t *k, int kn) {
  if (engine == 0) { sqlite3_bind_blob(sget, 1, k, kn, SQLITE_STATIC); int r = sqlite3_step(sget) == SQLITE_ROW ? sqlite3_column_bytes(sget, 0) : -1; sqlite3_reset(sget); return r; }
  if (engine == 1) { size_t n; char *err = 0; char *v = rocksdb_get_cf(rd, ro, cf[ACC], (const char *)k, kn, &n, &err); int r = v ? (int)n : -1; free(v); return r; }
  MDB_txn *r; MDB_val a = {kn, (void *)k}, b; mdb_txn_begin(env, 0, MDB_RDONLY, &r); int n = mdb_get(r, dbi[ACC], &a, &b) == 0 ? (int)b.mv_size : -1; mdb_txn_abort(r); return n;
}
static void commit(void) {
  if (engine == 0) ok(sqlite3_exec(sq, "COMMIT", 0, 0, 0), "commit");
  else if (engine == 1) { char *err = 0; rocksdb_write(rd, wo, wb, &err); if (err) { fprintf(stderr, "%s\n", err); exit(1); } }
  else ok(mdb_txn_commit(txn), "commit");
}

// everything durable in the engine's files, so their size is what it stores
static void settle(void) {
  if (engine == 0) ok(sqlite3_exec(sq, "PRAGMA wal_checkpoint(TRUNCATE)", 0, 0, 0), "checkpoint");
  else if (engine == 1) { rocksdb_flushoptions_t *f = rocksdb_flushoptions_create(); rocksdb_flushoptions_set_wait(f, 1); char *err = 0;
    for (int t = 0; t < NT; t++) rocksdb_flush_cf(rd, f, cf[t], &err);
    if (err) { fprintf(stderr, "%s\n", err); exit(1); } }
}
static int cmpkey(const void *a, const void *b) { return memcmp(a, b, 32); }
int main(int argc, char **argv) {
  if (argc != 6) { fprintf(stderr, "usage: engine_bench sqlite|rocksdb|lmdb DIR ACCOUNTS BLOCKS TRANSFERS\n"); return 2; }
  engine = !strcmp(argv[1], "sqlite") ? 0 : !strcmp(argv[1], "rocksdb") ? 1 : 2;
  const char *dir = argv[2]; long n = atol(argv[3]), blocks = atol(argv[4]), T = atol(argv[5]);
  mkdir(dir, 0755); open_engine(dir);
  uint8_t key[64], val[256];
  // load: the accounts in key order, in batches of 100,000 (a bulk import)
  double t0 = now();
  uint8_t *keys = malloc(n * 32); for (long i = 0; i < n; i++) mix(i, keys + i * 32, 32); qsort(keys, n, 32, cmpkey);
  for (long i = 0; i < n; i++) { if (i % 100000 == 0) { if (i) commit(); begin(); } mix(i ^ 0xabc, val, 120); put(ACC, keys + i * 32, 32, val, 120, 1); }
  commit(); free(keys); settle();
  double load = now() - t0; uint64_t loaded = dirbytes(dir);
  fprintf(stderr, "%s: loaded %ld accounts in %.1f s (%.0f/s), %.1f MB on disk\n", argv[1], n, load, n / load, loaded / 1e6);
  double *w = malloc(blocks * sizeof(double)), *r = malloc(blocks * sizeof(double)); uint8_t *blk = malloc(T * 200);
  int logged = getenv("PATTERN") && !strcmp(getenv("PATTERN"), "log"); long changeBytes = 2 * T * 152 + 3 * T * 48 + 2 * T * 76; uint8_t *changes = malloc(changeBytes);
  double start = now();
  for (long b = 0; b < blocks; b++) {
    double a = now(); int found = 0;
    for (long i = 0; i < 2 * T; i++) { mix(next() % n, key, 32); found += get(key, 32) > 0; }
    if (found != 2 * T) { fprintf(stderr, "missing accounts: %d of %ld\n", found, 2 * T); return 1; }
    double c = now(); r[b] = c - a;
    begin();
    if (logged) {
      uint64_t h = __builtin_bswap64(b); memcpy(key, &h, 8); mix(next(), changes, changeBytes);
      put(RP, key, 8, changes, changeBytes, 1); put(BLK, key, 8, blk, T * 200, 1); commit(); w[b] = now() - c; continue;
    }
    for (long i = 0; i < 2 * T; i++) { mix(next() % n, key, 32); mix(next(), val, 120); put(ACC, key, 32, val, 120, 0); }
    for (long i = 0; i < T; i++) { mix(next(), key, 32); mix(next(), val, 16); put(RP, key, 32, val, 16, 0); }
    for (long i = 0; i < T; i++) { mix(next(), key, 32); mix(next(), val, 16); put(TX, key, 32, val, 16, 0); }
    for (long i = 0; i < 2 * T; i++) { mix(next() % n, key, 32); uint64_t h = __builtin_bswap64(b); memcpy(key + 32, &h, 8); uint32_t p = __builtin_bswap32(i); memcpy(key + 40, &p, 4); mix(next(), val, 32); put(HIST, key, 44, val, 32, 0); }
    uint64_t h = __builtin_bswap64(b); memcpy(key, &h, 8); mix(b, blk, T * 200); put(BLK, key, 8, blk, T * 200, 1);
    commit(); w[b] = now() - c;
  }
  double total = now() - start; settle(); uint64_t after = dirbytes(dir);
  qsort(w, blocks, sizeof(double), cmpd); qsort(r, blocks, sizeof(double), cmpd);
  printf("%s%s accounts %ld blocks %ld x %ld: %.0f transfers/s of storage work; commit p50 %.1f ms p99 %.1f ms max %.1f ms; reads p50 %.1f ms p99 %.1f ms; load %.0f accounts/s, %.0f B/account; %.0f B/transfer on disk\n",
    argv[1], logged ? " (log)" : "", n, blocks, T, blocks * T / total, w[blocks / 2] * 1e3, w[blocks * 99 / 100] * 1e3, w[blocks - 1] * 1e3, r[blocks / 2] * 1e3, r[blocks * 99 / 100] * 1e3,
    n / load, (double)loaded / n, (double)(after > loaded ? after - loaded : 0) / (blocks * T));
  return 0;
}
