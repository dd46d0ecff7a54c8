/*
 * core/include/dmp/dnsconst.h - the DNS constants of the whole library
 * (client and node): types, classes, opcodes, RCODEs, sizes, limits and
 * the TSIG parameters DMP uses. Defined here and nowhere else; a header
 * of its own so the name codec, TSIG and the message modules can share
 * them without including each other.
 */
#ifndef DMP_DNSCONST_H
#define DMP_DNSCONST_H

/* Types and classes (RFC 1035 3.2.2, 3.2.4; RFC 6891; RFC 8945). */
#define DMP_DNS_TYPE_A 1
#define DMP_DNS_TYPE_NS 2
#define DMP_DNS_TYPE_SOA 6
#define DMP_DNS_TYPE_TXT 16
#define DMP_DNS_TYPE_AAAA 28
#define DMP_DNS_TYPE_OPT 41
#define DMP_DNS_TYPE_TSIG 250
#define DMP_DNS_TYPE_IXFR 251
#define DMP_DNS_TYPE_AXFR 252
#define DMP_DNS_TYPE_ANY 255
#define DMP_DNS_CLASS_IN 1
#define DMP_DNS_CLASS_NONE 254
#define DMP_DNS_CLASS_ANY 255

/* Opcodes (RFC 1035 4.1.1, RFC 1996, RFC 2136). */
#define DMP_DNS_OPCODE_QUERY 0
#define DMP_DNS_OPCODE_NOTIFY 4
#define DMP_DNS_OPCODE_UPDATE 5

/* RCODEs (RFC 1035, 2136, 6891, 8945). */
#define DMP_DNS_RCODE_NOERROR 0
#define DMP_DNS_RCODE_FORMERR 1
#define DMP_DNS_RCODE_SERVFAIL 2
#define DMP_DNS_RCODE_NXDOMAIN 3
#define DMP_DNS_RCODE_NOTIMP 4
#define DMP_DNS_RCODE_REFUSED 5
#define DMP_DNS_RCODE_NOTAUTH 9
#define DMP_DNS_RCODE_NOTZONE 10
#define DMP_DNS_RCODE_BADSIG 16 /* TSIG error field */
#define DMP_DNS_RCODE_BADKEY 17
#define DMP_DNS_RCODE_BADTIME 18
#define DMP_DNS_RCODE_BADVERS 16 /* extended RCODE, via OPT (RFC 6891) */
#define DMP_DNS_RCODE_BADTRUNC 22

/** Largest DNS message (TCP length prefix limit). */
#define DMP_DNS_MSG_MAX 65535
/** Default EDNS0 UDP payload (PROTOCOL.md 1.3; DNS flag day 2020). */
#define DMP_DNS_EDNS_PAYLOAD 1232
/** Longest name in presentation form, without the trailing dot. */
#define DMP_DNS_NAME_MAX 253
/** Longest name in wire form, root label included (RFC 1035 2.3.4). */
#define DMP_DNS_NAME_WIRE_MAX 255
/** Longest label (RFC 1035 2.3.4). */
#define DMP_DNS_LABEL_MAX 63
/** Message header (RFC 1035 4.1.1). */
#define DMP_DNS_HDR_LEN 12
/** Fixed part of an RR after its owner: type, class, TTL, rdlength. */
#define DMP_DNS_RR_FIXED 10

/** TSIG fudge the reference uses (PROTOCOL.md 7.1). */
#define DMP_TSIG_FUDGE 300
#define DMP_TSIG_MAC_BYTES 32 /* hmac-sha256 */

#endif /* DMP_DNSCONST_H */
