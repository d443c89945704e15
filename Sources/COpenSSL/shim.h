// OpenSSL libcrypto, as used by TonleCrypto (SHA-256 through EVP).
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
