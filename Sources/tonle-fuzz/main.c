// tonle-fuzz TARGET [libFuzzer options] [corpus directories]: runs one fuzz target of
// TonleFuzzTargets under libFuzzer. deploy/fuzz.sh builds it with -sanitize=fuzzer,address,
// which links libFuzzer's own main; this file is its interface: LLVMFuzzerInitialize takes the
// target's name off the arguments (before libFuzzer reads its options), LLVMFuzzerTestOneInput
// hands each input to that target.
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int tonle_fuzz_select(const char *name);
int tonle_fuzz_one_input(const uint8_t *data, size_t size);
void tonle_fuzz_list(void);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    // libFuzzer runs itself again for -merge, -fork and -jobs, with its own arguments only: the
    // target's name travels to those runs in the environment.
    const char *inherited = getenv("TONLE_FUZZ_TARGET");
    if (inherited != NULL) {
        if (tonle_fuzz_select(inherited) == 0) return 0;
    } else if (*argc >= 2 && (*argv)[1][0] != '-' && tonle_fuzz_select((*argv)[1]) == 0) {
        setenv("TONLE_FUZZ_TARGET", (*argv)[1], 1);
        // Drop the name: libFuzzer reads its options and corpora from what follows.
        for (int i = 1; i + 1 < *argc; i++) (*argv)[i] = (*argv)[i + 1];
        *argc -= 1;
        (*argv)[*argc] = NULL;
        return 0;
    }
    fprintf(stderr, "usage: tonle-fuzz TARGET [libFuzzer options] [corpus directories]\n   or: TONLE_FUZZ_TARGET=TARGET tonle-fuzz [libFuzzer options] [corpus directories]\ntargets: ");
    fflush(stderr);
    tonle_fuzz_list();
    exit(2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return tonle_fuzz_one_input(data, size); }
