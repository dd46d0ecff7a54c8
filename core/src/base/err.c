/* core/src/base/err.c - error texts and the errno mapping. */
#include <string.h>

#include "dmp/err.h"

const char *dmp_strerror(int code)
{
	switch (code) {
	case DMP_OK: return "success";
	case DMP_EMALFORMED: return "malformed record";
	case DMP_EPREFIX: return "not a record of the expected type";
	case DMP_EBASE64: return "invalid base64";
	case DMP_ETOOBIG: return "record exceeds the protocol size limit";
	case DMP_EBADSIG: return "signature does not verify";
	case DMP_EBADKEY: return "unacceptable or unexpected key";
	case DMP_EEXPIRED: return "record has expired";
	case DMP_EFUTURE: return "timestamp too far in the future";
	case DMP_EBADNAME: return "invalid or mismatched DNS name";
	case DMP_EUNSUPPORTED: return "unsupported protocol feature";
	case DMP_EDECRYPT:
		return "decryption failed (message tampered or wrong key)";
	case DMP_EWEAKSECRET: return "key agreement produced a weak secret";
	case DMP_EPASSPHRASE: return "wrong passphrase for this identity";
	case DMP_ECHUNKHASH: return "chunk does not match the manifest";
	case DMP_ECHECKSUM: return "chunk checksum mismatch";
	case DMP_ERSFAIL: return "chunk too damaged to repair";
	case DMP_ESHARES: return "not enough chunks to rebuild the message";
	case DMP_ENOTFORUS: return "message addressed to another recipient";
	case DMP_EMISMATCH: return "message header disagrees with its manifest";
	case DMP_ENOPREKEY: return "prekey unknown or expired";
	case DMP_EREPLAY: return "message already received (replay)";
	case DMP_ENOTPINNED: return "sender is not a pinned contact";
	case DMP_EAMBIGUOUS:
		return "several keys answer for that name: give a fingerprint";
	case DMP_EBADHEADER: return "malformed message header";
	case DMP_EDISAGREE:
		return "resolvers disagree about that record (possible DNS "
		       "poisoning)";
	case DMP_EREVOKED:
		return "key revoked by its owner: re-pin the contact once they "
		       "publish a new identity (dmp contacts add)";
	case DMP_ECHAIN:
		return "key rotation chain refused (fork, non-increasing seq, "
		       "cycle or more than 4 hops): verify the new key out of "
		       "band and re-pin";
	case DMP_ENOTAUTH:
		return "node rejected the TSIG key (wrong secret or unknown "
		       "key)";
	case DMP_EREFUSED:
		return "node refused the request (a name outside your key's "
		       "scope, or one of the node's storage limits reached: "
		       "its log names which)";
	case DMP_ESERVFAIL: return "server failure at the node";
	case DMP_ENXDOMAIN: return "no such name";
	case DMP_ENOTZONE: return "name outside the node's zone";
	case DMP_ECLOCKSKEW:
		return "clock skew: TSIG time outside the allowed window";
	case DMP_EBADTSIG: return "reply signature missing or invalid";
	case DMP_EUNREACHABLE: return "node unreachable";
	case DMP_EDNS: return "DNS error";
	case DMP_ETRUNCATED:
		return "answer truncated (TC) and not readable over TCP";
	case DMP_ECONFIG: return "invalid configuration";
	case DMP_ESTORE: return "local database error";
	case DMP_EBUSY: return "resource busy";
	case DMP_ESTALEKEY:
		return "the identity was rotated by another process (dmp "
		       "identity rotate): this process holds the old key; "
		       "remount dmpfs or restart dmp recv --watch to unlock "
		       "the new key";
	case DMP_EINTERNAL: return "internal error";
	default:
		if (code < 0 && code > -1000) {
			return strerror(-code);
		}
		return "unknown error";
	}
}

int dmp_err_to_errno(int code)
{
	if (code >= 0) {
		return 0;
	}
	if (code > -1000) {
		return -code;
	}
	switch (code) {
	case DMP_ETOOBIG: return EFBIG;
	case DMP_EUNREACHABLE:
	case DMP_ETIMEDOUT: return EHOSTUNREACH;
	case DMP_EBUSY: return EBUSY;
	case DMP_ESTALEKEY:
	case DMP_EREVOKED: return EKEYREVOKED;
	case DMP_ESTORE: return EIO;
	case DMP_ENOTPINNED:
	case DMP_ENOTAUTH:
	case DMP_EREFUSED: return EACCES;
	case DMP_ENXDOMAIN: return ENOENT;
	default: return EIO;
	}
}
