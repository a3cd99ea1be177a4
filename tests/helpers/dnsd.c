/* dnsd: a tiny DNS responder for the DNS rebinding test, whose answers
 * change from one query to the next.
 *
 *   dnsd -a ADDR [-p PORT] IPV4...
 *
 * Answers UDP queries on ADDR:PORT (53 by default) until killed. The Nth
 * query for an A record, whatever the name, gets the Nth IPV4 of the list
 * (the last one once the list is used up), with a TTL of 0; any other type
 * (AAAA) gets an empty answer, so a resolver asking for both sees IPv4
 * alone. Prints "listening" once bound, then one line per query
 * ("A NAME ADDRESS", "AAAA NAME -"), for the test to count them. Never
 * sends anything but answers to the address a query came from. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TYPE_A    1
#define TYPE_AAAA 28
#define HEADER    12

static void usage(void)
{
	fprintf(stderr, "usage: dnsd -a ADDR [-p PORT] IPV4...\n");
	exit(2);
}

/* The end of the question section's name at q (offset off), or 0 if the
 * query is malformed. The name is printed dotted into name. */
static size_t name_end(const unsigned char *q, size_t len, size_t off, char *name, size_t cap)
{
	size_t out = 0;
	for (;;) {
		if (off >= len)
			return 0;
		size_t n = q[off++];
		if (n == 0)
			break;
		if (n > 63 || off + n > len || out + n + 2 > cap)
			return 0; /* compression pointers never appear in a question */
		if (out)
			name[out++] = '.';
		memcpy(name + out, q + off, n);
		out += n;
		off += n;
	}
	name[out] = '\0';
	return off;
}

int main(int argc, char **argv)
{
	const char *addr = NULL;
	long port = 53;
	int opt;
	while ((opt = getopt(argc, argv, "a:p:")) != -1) {
		switch (opt) {
		case 'a':
			addr = optarg;
			break;
		case 'p':
			port = strtol(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	int n_answers = argc - optind;
	if (!addr || n_answers < 1 || port <= 0 || port > 65535)
		usage();
	struct in_addr *answers = calloc((size_t)n_answers, sizeof(*answers));
	if (!answers)
		return 1;
	for (int i = 0; i < n_answers; i++)
		if (inet_pton(AF_INET, argv[optind + i], &answers[i]) != 1)
			usage();

	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		usage();
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("dnsd: bind");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);

	int asked = 0;
	for (;;) {
		unsigned char q[512], r[512 + 16];
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		ssize_t len = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0) {
			perror("dnsd: recvfrom");
			return 1;
		}
		/* A standard query with exactly one question. */
		if (len < HEADER || (q[2] & 0x80) || ((q[2] >> 3) & 0xf) != 0 || q[4] != 0 || q[5] != 1)
			continue;
		char name[256];
		size_t end = name_end(q, (size_t)len, HEADER, name, sizeof(name));
		if (!end || end + 4 > (size_t)len)
			continue;
		unsigned type = (unsigned)q[end] << 8 | q[end + 1];
		end += 4; /* type and class */

		/* The header and the question, as asked; no other section. */
		memcpy(r, q, end);
		r[2] = (unsigned char)(0x80 | (q[2] & 0x79)); /* QR, the opcode and RD as asked, AA off */
		r[3] = 0x80;                                  /* RA, NOERROR */
		memset(r + 6, 0, 6);                          /* no answer, authority or additional yet */
		size_t rlen = end;
		if (type == TYPE_A) {
			struct in_addr a = answers[asked < n_answers ? asked : n_answers - 1];
			asked++;
			static const unsigned char rr[] = {
			    0xc0, HEADER,       /* the name: a pointer to the question's */
			    0,    TYPE_A, 0, 1, /* A, IN */
			    0,    0,      0, 0, /* TTL 0: nothing may cache it */
			    0,    4,            /* four bytes of address */
			};
			memcpy(r + rlen, rr, sizeof(rr));
			rlen += sizeof(rr);
			memcpy(r + rlen, &a, 4);
			rlen += 4;
			r[7] = 1;
			char text[INET_ADDRSTRLEN];
			printf("A %s %s\n", name, inet_ntop(AF_INET, &a, text, sizeof(text)));
		} else {
			printf("%s %s -\n", type == TYPE_AAAA ? "AAAA" : "other", name);
		}
		fflush(stdout);
		if (sendto(fd, r, rlen, 0, (struct sockaddr *)&from, flen) < 0)
			perror("dnsd: sendto");
	}
}
