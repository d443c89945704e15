// libsodium, as used by TonleCrypto (Ed25519, X25519, AEAD).
#include <sodium.h>
