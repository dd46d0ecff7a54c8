/*
 * core/src/node/node_opkey.c - the operator key (PROTOCOL.md 8): a 32-byte
 * Ed25519 seed, kept as 64 hex digits in mesh.operator_key, created 0600
 * on first start.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/node.h"

/* A fresh seed at @p path, which must not exist. @return 0 or DMP_EIO */
static int opkey_create(const char *path)
{
	uint8_t seed[32];
	char hex[65];
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc = DMP_EIO;

	if (fd < 0) {
		DMP_LOG_E("node: cannot create %s: %s", path, strerror(errno));
		return DMP_EIO;
	}
	dmp_random(seed, sizeof(seed));
	dmp_hex_encode(hex, seed, sizeof(seed));
	hex[64] = '\n';
	if (write(fd, hex, 65) == 65 && fsync(fd) == 0) {
		rc = 0;
		DMP_LOG_N("node: created operator key %s", path);
	} else {
		DMP_LOG_E("node: cannot write %s", path);
	}
	close(fd);
	dmp_wipe(hex, sizeof(hex));
	dmp_wipe(seed, sizeof(seed));
	return rc;
}

int dmp_node_opkey_load(const char *path, uint8_t pk[32], uint8_t sk[64])
{
	uint8_t seed[32];
	char hex[80];
	FILE *f = fopen(path, "re");
	size_t got;
	int rc = DMP_EMALFORMED;

	if (!f && errno == ENOENT) {
		rc = opkey_create(path);
		if (rc < 0) {
			return rc;
		}
		f = fopen(path, "re");
	}
	if (!f) {
		DMP_LOG_E("node: cannot read %s: %s", path, strerror(errno));
		return DMP_EIO;
	}
	got = fread(hex, 1, sizeof(hex), f);
	fclose(f);
	while (got > 0 && (hex[got - 1] == '\n' || hex[got - 1] == '\r')) {
		got--;
	}
	if (got == 64 && dmp_hex_decode(seed, 32, hex, 64) == 0) {
		dmp_ed25519_from_seed(pk, sk, seed);
		rc = 0;
	} else {
		rc = DMP_EMALFORMED;
		DMP_LOG_E("node: %s: want 64 hex digits (an Ed25519 seed)",
			  path);
	}
	dmp_wipe(hex, sizeof(hex));
	dmp_wipe(seed, sizeof(seed));
	return rc;
}
