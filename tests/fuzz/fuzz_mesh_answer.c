/*
 * tests/fuzz/fuzz_mesh_answer.c - the link prober's reading of a
 * neighbour's GET /v1/mesh/links answer (node_mesh.c): the input is the
 * answer body (status 200), taken by one dmp_node_mesh_tick() of an
 * in-memory node at a fixed clock, loopback endpoints allowed.
 * Properties: at most 256 records held, ours first and verifying, every
 * held record verifying, and the routing table bounded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/heartbeat.h"
#include "dmp/links.h"
#include "dmp/node.h"
#include "node/node_mesh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_MS (1893456000ULL * 1000)

static struct dmp_node *node;
static struct dmp_node_mesh *mesh;
static const uint8_t *in;
static size_t in_len;

static uint64_t fixed_now(void *ud)
{
	(void)ud;
	return NOW_MS;
}

static int fake_get(void *ud, const char *url, char **resp, size_t *len,
		    unsigned timeout_ms)
{
	(void)ud;
	(void)url;
	(void)timeout_ms;
	*resp = malloc(in_len + 1);
	if (!*resp) {
		return -12;
	}
	memcpy(*resp, in, in_len);
	(*resp)[in_len] = 0;
	*len = in_len;
	return 200;
}

static void setup(void)
{
	static const char *const nbs[] = {"http://127.0.0.9:8053"};
	struct dmp_node_opts o;
	uint8_t seed[32], pk[32], sk[64];
	struct dmp_node_mesh_opts mo = {
	    .endpoint = "http://127.0.0.8:8053",
	    .neighbours = nbs,
	    .n_neighbours = 1,
	    .interval_s = 30,
	    .allow_loopback = 1,
	    .http = fake_get,
	    .now_ms = fixed_now,
	};

	memset(seed, 0x11, sizeof(seed));
	dmp_ed25519_from_seed(pk, sk, seed);
	mo.operator_pk = pk;
	mo.operator_sk = sk;
	dmp_node_opts_init(&o);
	o.db_path = ":memory:";
	strcpy(o.zones[0].name, "a.test");
	o.n_zones = 1;
	if (dmp_node_new(&node, &o, NOW_MS) != 0 ||
	    dmp_node_mesh_new(&mesh, node, &mo, 0) != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmp_links lk;

	if (!node) {
		setup();
	}
	if (size > (1u << 20)) {
		return 0;
	}
	in = data;
	in_len = size;
	(void)dmp_node_mesh_tick(mesh);
	if (mesh->n_recs < 1 || mesh->n_recs > DMP_MESH_RECORDS_MAX ||
	    memcmp(mesh->recs[0].spk, mesh->pk, 32) != 0 ||
	    dmp_route_table(mesh->route, NULL, 0) < 0) {
		abort();
	}
	for (size_t i = 0; i < mesh->n_recs; i++) {
		if (dmp_links_parse(&lk, mesh->recs[i].wire,
				    strlen(mesh->recs[i].wire), NOW_MS / 1000,
				    DMP_HEARTBEAT_ALLOW_LOOPBACK, NULL) != 0 ||
		    memcmp(lk.node_spk, mesh->recs[i].spk, 32) != 0) {
			abort();
		}
	}
	return 0;
}
