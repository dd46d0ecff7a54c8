/*
 * core/include/dmp/cluster.h - signed cluster manifest (PROTOCOL.md 2.6),
 * published at `cluster.<name>` and signed by the cluster operator whose
 * key the caller has pinned (PROTOCOL.md 8).
 */
#ifndef DMP_CLUSTER_H
#define DMP_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"
#include "dmp/dnsname.h"

#define DMP_CLUSTER_MAGIC "DMPCL01"
#define DMP_CLUSTER_MAX_NODES 32
#define DMP_CLUSTER_NODE_ID_MAX 16
#define DMP_CLUSTER_HTTP_MAX 128
#define DMP_CLUSTER_DNS_MAX 64

struct dmp_cluster_node {
	/* Printable ASCII, 1..16 bytes, unique within the manifest. */
	char node_id[DMP_CLUSTER_NODE_ID_MAX + 1];
	/* UTF-8, 1..128 bytes, e.g. "https://n1.example.com:8053". */
	char http_endpoint[DMP_CLUSTER_HTTP_MAX + 1];
	/* UTF-8, 0..64 bytes; "" means none (use ordinary DNS). */
	char dns_endpoint[DMP_CLUSTER_DNS_MAX + 1];
};

struct dmp_cluster {
	uint64_t seq;
	uint64_t exp;
	uint8_t operator_spk[DMP_ED25519_PK_BYTES];
	/* DNS name (3.3); parse stores it without the trailing dot. */
	char name[DMP_DNSNAME_MAX + 2];
	size_t node_count; /* 1..32 */
	struct dmp_cluster_node nodes[DMP_CLUSTER_MAX_NODES];
};

/**
 * Build and sign a cluster manifest: prefix `v=dmp1;t=cluster;` plus
 * base64(body || sig), at most DMP_RECORD_WIRE_MAX bytes.
 *
 * Every check dmp_cluster_parse() makes on the body is made here first;
 * @p c->operator_spk must be the public half of @p sk. One trailing dot
 * on @p c->name is dropped before encoding.
 *
 * @param out  receives the value and a NUL (DMP_RECORD_WIRE_MAX + 1 bytes
 *             always suffice)
 * @param sk   libsodium Ed25519 secret key (seed || pk); not retained
 * @return wire length, DMP_EINVAL (a field out of range), DMP_EBADNAME,
 *         DMP_EBADKEY (sk does not match operator_spk), DMP_ETOOBIG or
 *         DMP_ENOBUFS
 */
DMP_MUST_CHECK int dmp_cluster_sign(char *out, size_t cap,
				    const struct dmp_cluster *c,
				    const uint8_t sk[DMP_ED25519_SK_BYTES]);

/**
 * Parse and verify a cluster manifest TXT value (PROTOCOL.md 1.5, 2.6).
 *
 * The signature is checked against @p pinned_spk before any body byte is
 * read; then the body is parsed strictly, its operator_spk must equal
 * @p pinned_spk, its name must equal @p name (case-insensitive, one
 * trailing dot ignored on either side), and exp must satisfy
 * now <= exp <= now + 5 years (6.2). node_count 0 is refused although
 * the reference accepts it (PROTOCOL.md 10 item 13).
 *
 * @param out   filled on success, zeroed on failure
 * @param name  the name that was queried, without the `cluster.` label
 * @return 0, DMP_EPREFIX, DMP_ETOOBIG, DMP_EBASE64, DMP_EMALFORMED,
 *         DMP_EBADKEY (low-order or not the pinned key), DMP_EBADSIG,
 *         DMP_EBADNAME, DMP_EEXPIRED, DMP_EFUTURE or DMP_EINVAL
 */
DMP_MUST_CHECK int
dmp_cluster_parse(struct dmp_cluster *out, const char *wire, size_t len,
		  const uint8_t pinned_spk[DMP_ED25519_PK_BYTES],
		  const char *name, size_t name_len, uint64_t now);

#endif /* DMP_CLUSTER_H */
