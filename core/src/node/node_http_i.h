/* core/src/node/node_http_i.h - private parts of the node's HTTP side
 * (node_http*.c). */
#ifndef DMP_NODE_HTTP_I_H
#define DMP_NODE_HTTP_I_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "dmp/node.h"

#define N_CHALLENGES 256
#define RECORDS "/v1/records/"

struct chal {
	uint8_t c[32];
	uint64_t exp_ms;
	int live;
};

struct rl;
struct MHD_Daemon;

struct dmp_node_http {
	struct dmp_node *n;
	struct dmp_node_http_opts o;
	struct MHD_Daemon *d;
	/* Registration state (ch, ch_next) and the check-mint-bind sequence
	 * of one confirm: never two at once. */
	pthread_mutex_t mu;
	struct chal ch[N_CHALLENGES];
	unsigned ch_next;
	uint8_t x_sk[32], x_pk[32];
	struct rl *rl, *rl_reg;
	char zone[DMP_NODE_NAME_MAX]; /* first zone: registration's node */
};

/** The wall clock in ms (opts.now_ms, or the real one). */
uint64_t dmp_nh_now_ms(const struct dmp_node_http *h);
/** 1 for a loopback address or NULL (a direct, trusted caller). */
int dmp_nh_is_loopback(const struct sockaddr *sa);

/* Replies: *body malloc()ed, *ctype static; they return @p status. */
struct json_t;
/** Serialise and take @p j (NULL: 500). */
int dmp_nh_reply_json(struct json_t *j, int status, char **body, size_t *len,
		      const char **ctype);
/** {"error": msg} */
int dmp_nh_reply_err(int status, const char *msg, char **body, size_t *len,
		     const char **ctype);

/* The handlers (node_http_metrics.c, node_http_records.c,
 * node_http_reg.c); each returns the HTTP status. */
int dmp_nh_health(struct dmp_node_http *h, char **body, size_t *len,
		  const char **ctype);
int dmp_nh_metrics(struct dmp_node_http *h, char **body, size_t *len,
		   const char **ctype);
/** /v1/records/<name>: GET, POST, DELETE (7.4). */
int dmp_nh_records(struct dmp_node_http *h, const struct dmp_node_http_req *rq,
		   char **body, size_t *len, const char **ctype);
/** GET /v1/registration/challenge (7.2). */
int dmp_nh_challenge(struct dmp_node_http *h, char **body, size_t *len,
		     const char **ctype);
/** POST /v1/registration/tsig-confirm (7.2). */
int dmp_nh_confirm(struct dmp_node_http *h, const struct dmp_node_http_req *rq,
		   char **body, size_t *len, const char **ctype);

#endif /* DMP_NODE_HTTP_I_H */
