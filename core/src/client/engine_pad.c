/*
 * core/src/client/engine_pad.c - privacy against a watcher of the DNS
 * traffic (docs/security.md "Observer model"): size padding and the
 * publish delay.
 *
 * Size padding: a message's data chunks k are raised to the smallest
 * bucket of privacy.pad_buckets that holds it, with random fill after the
 * DMPMessage (dmp_erasure_pack_padded). The manifest carries k and n, and
 * every receiver (the reference's too) reads the length word and ignores
 * the fill (PROTOCOL.md 5.2 Unpack), so nothing is negotiated: chunk
 * counts and the manifest's size show only the bucket.
 *
 * Publish delay: before the first UPDATE of a publish pass (and of a
 * cover message) the engine waits a draw of privacy.delay (exponential
 * with privacy.delay_mean_ms, or uniform on 0..2*mean), cut at
 * privacy.delay_max_ms, so UPDATE times do not follow a user's actions (a
 * send, a cp into outbox/) to the millisecond. Once a pass, not once a
 * message: what was queued together goes out together (the parts of a
 * file would otherwise wait hundreds of draws).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/pipeline.h"
#include "engine_i.h"

#define PAD_MAX_K 32 /* n <= 42: the manifest's 2048-byte cap (5.1) */
#define PAD_MAX_BUCKETS 16
#define COVER_LIVE_MAX 300 /* cover messages stored at once (30 a slot) */

/* privacy.pad_buckets → ascending bucket sizes; 0 for "off".
 * @return the number of buckets, or -1 with @p why set */
static int parse_buckets(const char *s, unsigned *out, const char **why)
{
	int n = 0;
	unsigned last = 0;

	if (strcmp(s, "off") == 0) {
		return 0;
	}
	while (*s) {
		char *end;
		long v = strtol(s, &end, 10);

		if (end == s || v < 1 || v > PAD_MAX_K) {
			*why = "each bucket is a chunk count from 1 to 32";
			return -1;
		}
		if ((unsigned)v <= last) {
			*why = "buckets must be in ascending order";
			return -1;
		}
		if (n == PAD_MAX_BUCKETS) {
			*why = "at most 16 buckets";
			return -1;
		}
		out[n++] = last = (unsigned)v;
		s = end;
		if (*s == ',') {
			s++;
			if (!*s) {
				*why = "a trailing comma";
				return -1;
			}
		} else if (*s) {
			*why = "buckets are separated by commas";
			return -1;
		}
	}
	if (n == 0) {
		*why = "empty (say off for no padding)";
		return -1;
	}
	return n;
}

/* What is wrong with the privacy settings of @p c, in @p out; 0 if none. */
static int privacy_why(const struct client_conf *c, const char *path, char *out,
		       size_t cap)
{
	unsigned b[PAD_MAX_BUCKETS];
	const char *why = NULL;

	if (parse_buckets(c->pad_buckets, b, &why) < 0) {
		snprintf(out, cap,
			 "%s: privacy.pad_buckets \"%s\": %s; write "
			 "ascending chunk counts from 1 to 32 such as "
			 "\"4,8,16,32\", or off",
			 path, c->pad_buckets, why);
		return -1;
	}
	if (strcmp(c->delay, "exponential") != 0 &&
	    strcmp(c->delay, "uniform") != 0 && strcmp(c->delay, "off") != 0) {
		snprintf(out, cap,
			 "%s: privacy.delay \"%s\" is not one of exponential, "
			 "uniform, off",
			 path, c->delay);
		return -1;
	}
	if (c->cover_rate * c->lifetime > COVER_LIVE_MAX * 3600LL) {
		/* Cover manifests share our own mailbox's ten slot names with
		 * what same-zone contacts send us; a node caps the bytes per
		 * name (limits.name_bytes, at most ~64 kB: ~100 manifests a
		 * name). */
		snprintf(out, cap,
			 "%s: privacy.cover_rate %lld per hour with "
			 "messages.lifetime %lld s keeps about %lld cover "
			 "messages stored in your own mailbox (at most %d, "
			 "or they crowd out real mail in the node's per-name "
			 "budget); lower privacy.cover_rate to %lld or "
			 "messages.lifetime",
			 path, c->cover_rate, c->lifetime,
			 c->cover_rate * c->lifetime / 3600, COVER_LIVE_MAX,
			 COVER_LIVE_MAX * 3600LL / c->lifetime);
		return -1;
	}
	if (c->delay_mean_ms > c->delay_max_ms) {
		snprintf(out, cap,
			 "%s: privacy.delay_mean_ms (%lld) is above "
			 "privacy.delay_max_ms (%lld); raise the bound or "
			 "lower the mean",
			 path, c->delay_mean_ms, c->delay_max_ms);
		return -1;
	}
	return 0;
}

int dmp_eng_privacy_check(const struct client_conf *c, const char *path,
			  char *err, size_t errlen)
{
	char msg[512];
	int rc = privacy_why(c, path, msg, sizeof(msg));

	if (rc == 0) {
		return 0;
	}
	if (err) {
		snprintf(err, errlen, "%s", msg);
	} else {
		DMP_LOG_E("%s", msg);
	}
	return DMP_ECONFIG;
}

unsigned dmp_eng_pad_k(const struct dmp_engine *e, int64_t ts, uint32_t ttl,
		       size_t len)
{
	unsigned b[PAD_MAX_BUCKETS];
	const char *why = NULL;
	unsigned k = dmp_pipeline_data_chunks(ts, ttl, len);
	int n = parse_buckets(e->conf.pad_buckets, b, &why);

	if (n <= 0 || k == 0) {
		return 0;
	}
	for (int i = 0; i < n; i++) {
		if (b[i] >= k) {
			return b[i];
		}
	}
	/* Above the largest bucket: its own size, still with random fill. */
	return k;
}

/* A uniform double in (0, 1]. */
static double unit_random(void)
{
	uint64_t r;

	dmp_random(&r, sizeof(r));
	return ((double)(r >> 11) + 1.0) / 9007199254740992.0; /* 2^53 */
}

void dmp_eng_publish_delay(struct dmp_engine *e)
{
	double mean = (double)e->conf.delay_mean_ms, ms;

	if (!e->tp.sleep_ms || strcmp(e->conf.delay, "off") == 0 || mean <= 0 ||
	    e->conf.delay_max_ms <= 0) {
		return;
	}
	if (strcmp(e->conf.delay, "uniform") == 0) {
		ms = 2.0 * mean * unit_random();
	} else {
		ms = -mean * log(unit_random());
	}
	if (ms > (double)e->conf.delay_max_ms) {
		ms = (double)e->conf.delay_max_ms;
	}
	if (ms >= 1.0) {
		e->tp.sleep_ms(e, e->tp.ud, (unsigned)ms);
	}
}
