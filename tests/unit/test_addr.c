/* tests/unit/test_addr.c - HOST[:PORT] parsing (dmp/addr.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "dmp/addr.h"
#include "dmp/err.h"
#include "tap.h"

static const struct {
	const char *in;
	const char *host; /* NULL: refused */
	unsigned port;
	int bracketed;
} split_vec[] = {
    {"192.0.2.1", "192.0.2.1", 53, 0},
    {"192.0.2.1:5353", "192.0.2.1", 5353, 0},
    {"[2001:db8::1]", "2001:db8::1", 53, 1},
    {"[2001:db8::1]:8053", "2001:db8::1", 8053, 1},
    {"2001:db8::1", "2001:db8::1", 53, 0},
    {"::1", "::1", 53, 0},
    {"node.example", "node.example", 53, 0},
    {"node.example:1", "node.example", 1, 0},
    {"node.example:65535", "node.example", 65535, 0},
    {"node.example:00080", "node.example", 80, 0},
    {"", NULL, 0, 0},
    {":53", NULL, 0, 0},
    {"[]:53", NULL, 0, 0},
    {"[::1", NULL, 0, 0},
    {"[::1]53", NULL, 0, 0},
    {"[::1]:", NULL, 0, 0},
    {"host:", NULL, 0, 0},
    {"host:0", NULL, 0, 0},
    {"host:65536", NULL, 0, 0},
    {"host:000053", NULL, 0, 0},
    {"host:-1", NULL, 0, 0},
    {"host:+53", NULL, 0, 0},
    {"host:53 ", NULL, 0, 0},
    {"host:5x", NULL, 0, 0},
};

static void test_split(void)
{
	for (size_t i = 0; i < DMP_ARRAY_LEN(split_vec); i++) {
		const char *in = split_vec[i].in;
		struct dmp_hostport hp;
		int rc = dmp_hostport_split(&hp, in, strlen(in), 53, 0);

		if (!split_vec[i].host) {
			is_int(rc, DMP_EINVAL, "split '%s' refused", in);
			continue;
		}
		is_int(rc, 0, "split '%s'", in);
		is_mem(hp.host, hp.host_len, split_vec[i].host,
		       strlen(split_vec[i].host), "'%s' host", in);
		is_int(hp.port, split_vec[i].port, "'%s' port", in);
		is_int(hp.bracketed, split_vec[i].bracketed, "'%s' brackets",
		       in);
	}
}

static void test_need_port(void)
{
	struct dmp_hostport hp;

	is_int(dmp_hostport_split(&hp, "10.0.0.1", 8, 0, DMP_ADDR_NEED_PORT),
	       DMP_EINVAL, "NEED_PORT refuses a missing port");
	is_int(dmp_hostport_split(&hp, "[::1]", 5, 0, DMP_ADDR_NEED_PORT),
	       DMP_EINVAL, "NEED_PORT refuses [v6] without a port");
	is_int(dmp_hostport_split(&hp, "10.0.0.1:7", 10, 0, DMP_ADDR_NEED_PORT),
	       0, "NEED_PORT takes host:port");
	ok(hp.has_port && hp.port == 7, "has_port and the port");
	/* Only the bytes given are read. */
	is_int(dmp_hostport_split(&hp, "a:53:", 4, 1, 0), 0, "len bounds");
	is_int(hp.port, 53, "port within len");
}

static void test_sockaddr(void)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;
	char ip[INET6_ADDRSTRLEN];
	socklen_t sl;

	is_int(dmp_addr_parse("127.0.0.2:5300", 53, 0, &ss, &sl), 0, "v4");
	ok(ss.ss_family == AF_INET && sl == sizeof(*a4) &&
	       ntohs(a4->sin_port) == 5300,
	   "v4 family, length and port");
	inet_ntop(AF_INET, &a4->sin_addr, ip, sizeof(ip));
	is_str(ip, "127.0.0.2", "v4 address");

	is_int(dmp_addr_parse("[::1]:8053", 53, 0, &ss, &sl), 0, "[v6]:port");
	ok(ss.ss_family == AF_INET6 && sl == sizeof(*a6) &&
	       ntohs(a6->sin6_port) == 8053,
	   "v6 family, length and port");
	is_int(dmp_addr_parse("fe80::1", 53, 0, &ss, &sl), 0, "bare v6");
	is_int(ntohs(a6->sin6_port), 53, "bare v6 takes the default port");
	is_int(dmp_addr_parse("10.1.2.3", 5353, DMP_ADDR_NUMERIC, &ss, &sl), 0,
	       "default port");
	is_int(ntohs(a4->sin_port), 5353, "the default port");

	is_int(dmp_addr_parse("1.2.3", 53, 0, &ss, &sl), DMP_EINVAL,
	       "short dotted quad is no name");
	is_int(dmp_addr_parse("256.1.1.1", 53, 0, &ss, &sl), DMP_EINVAL,
	       "octet > 255");
	is_int(dmp_addr_parse("[1.2.3.4]:53", 53, 0, &ss, &sl), DMP_EINVAL,
	       "brackets hold IPv6 only");
	is_int(dmp_addr_parse("[::g]:53", 53, 0, &ss, &sl), DMP_EINVAL,
	       "bad v6 in brackets");
	ok(sl == 0 && ss.ss_family == 0, "zeroed on failure");
	is_int(
	    dmp_addr_parse("node.example:53", 53, DMP_ADDR_NUMERIC, &ss, &sl),
	    DMP_EINVAL, "NUMERIC refuses names");
	is_int(dmp_addr_parse("bad_name:53", 53, 0, &ss, &sl), DMP_EINVAL,
	       "name characters");
	is_int(dmp_addr_parse("host:99999", 53, 0, &ss, &sl), DMP_EINVAL,
	       "bad port");
	is_int(dmp_addr_parse(NULL, 53, 0, &ss, &sl), DMP_EINVAL, "NULL");
	/* Names go through getaddrinfo(); localhost is in /etc/hosts. */
	is_int(dmp_addr_parse("localhost:5353", 53, 0, &ss, &sl), 0,
	       "localhost resolves");
	ok(ss.ss_family == AF_INET || ss.ss_family == AF_INET6,
	   "localhost is an IP address");
	is_int(ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port),
	       5353, "name with port");
}

int main(void)
{
	plan(81);
	test_split();
	test_need_port();
	test_sockaddr();
	return done_testing();
}
