/*
 * core/include/dmp/err.h - error codes.
 *
 * Every function returns 0 (or a length) on success and a negative code on
 * failure. Where an errno fits, the code is that errno negated (as in Knot);
 * protocol codes start at -1000. Only fs/ maps codes back to errno, through
 * dmp_err_to_errno().
 */
#ifndef DMP_ERR_H
#define DMP_ERR_H

#include <errno.h>

enum dmp_err {
	DMP_OK = 0,
	DMP_ENOMEM = -ENOMEM,
	DMP_EINVAL = -EINVAL,
	DMP_EIO = -EIO,
	DMP_ENOENT = -ENOENT,
	DMP_EEXIST = -EEXIST,
	DMP_EACCES = -EACCES,
	DMP_ENOSPC = -ENOSPC,
	DMP_EAGAIN = -EAGAIN,
	DMP_ETIMEDOUT = -ETIMEDOUT,
	DMP_EFBIG = -EFBIG,
	DMP_ERANGE = -ERANGE,
	DMP_ENOBUFS = -ENOBUFS, /* caller's output buffer too small */

	/* Wire and record layer. */
	DMP_EMALFORMED = -1000,	  /* bytes do not parse */
	DMP_EPREFIX = -1001,	  /* not a record of the expected type */
	DMP_EBASE64 = -1002,	  /* bad or non-canonical base64 */
	DMP_ETOOBIG = -1003,	  /* over a protocol size cap */
	DMP_EBADSIG = -1004,	  /* signature does not verify */
	DMP_EBADKEY = -1005,	  /* low-order key, or not the expected key */
	DMP_EEXPIRED = -1006,	  /* past its expiry at `now` */
	DMP_EFUTURE = -1007,	  /* timestamp or expiry too far ahead */
	DMP_EBADNAME = -1008,	  /* invalid DNS name, or not the name asked */
	DMP_EUNSUPPORTED = -1009, /* a version or field we do not handle */

	/* Crypto and codec layer. */
	DMP_EDECRYPT = -1100,	 /* AEAD authentication failed */
	DMP_EWEAKSECRET = -1101, /* all-zero X25519 shared secret */
	DMP_EPASSPHRASE = -1102, /* passphrase does not match the identity */
	DMP_ECHUNKHASH = -1103,	 /* chunk does not match the manifest hash */
	DMP_ECHECKSUM = -1104,	 /* chunk's inner 8-byte checksum mismatch */
	DMP_ERSFAIL = -1105,	 /* Reed-Solomon: uncorrectable block */
	DMP_ESHARES = -1106,	 /* fewer than k erasure shares */
	DMP_ENOTFORUS = -1107,	 /* addressed to another recipient */
	DMP_EMISMATCH = -1108,	 /* inner header disagrees with manifest */
	DMP_ENOPREKEY = -1109,	 /* prekey secret unknown or expired */
	DMP_EREPLAY = -1110,	 /* message already received */
	DMP_ENOTPINNED = -1111,	 /* sender not pinned for that zone */
	DMP_EAMBIGUOUS = -1112,	 /* several valid keys answer for a name */
	DMP_EBADHEADER = -1113,	 /* DMPHeader JSON invalid (4.4) */
	DMP_EDISAGREE = -1114,	 /* resolvers disagree: possible poisoning */
	DMP_EREVOKED = -1115,	 /* key revoked by its owner (2.10) */
	DMP_ECHAIN = -1116, /* rotation chain refused (8: fork, seq, ...) */

	/* DNS and network layer. */
	DMP_ENOTAUTH = -1200, /* TSIG rejected by the node */
	DMP_EREFUSED = -1201, /* node refused (e.g. outside key scope) */
	DMP_ESERVFAIL = -1202,
	DMP_ENXDOMAIN = -1203,
	DMP_ENOTZONE = -1204,
	DMP_ECLOCKSKEW = -1205,	  /* TSIG time outside the fudge window */
	DMP_EBADTSIG = -1206,	  /* reply TSIG missing or wrong */
	DMP_EUNREACHABLE = -1207, /* no resolver or node answered */
	DMP_EDNS = -1208,	  /* other DNS failure (bad reply, rcode) */
	DMP_ETRUNCATED = -1209,	  /* answer truncated over UDP, TCP failed */

	/* Local state. */
	DMP_ECONFIG = -1300,   /* config file invalid */
	DMP_ESTORE = -1301,    /* local database failure */
	DMP_EBUSY = -1302,     /* resource held by another process */
	DMP_ESTALEKEY = -1303, /* our key was rotated by another process */
	DMP_EINTERNAL = -1399, /* a bug or a library failure */
};

/** Human-readable text for a dmp error code (or a negated errno). */
const char *dmp_strerror(int code);

/** Map a dmp code to a positive errno for system interfaces (FUSE). */
int dmp_err_to_errno(int code);

#endif /* DMP_ERR_H */
