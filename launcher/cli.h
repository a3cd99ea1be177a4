/* Command-line parsing shared by the commands. */
#ifndef CORDON_CLI_H
#define CORDON_CLI_H

#include <stdbool.h>

#include "util.h"

struct run_options {
	const char *policy;
	strv_t projects; /* borrowed strings */
	char **command;  /* points into argv; NULL-terminated */
	bool json;       /* explain only */
	bool verbose;    /* explain only: the seccomp rule list too */
};

/* Parses `run`/`explain` options; argv[0] is the command name. Prints
 * the problem and returns false on bad usage. Handles --help itself. */
bool parse_run_options(int argc, char **argv, struct run_options *o);
bool parse_explain_options(int argc, char **argv, struct run_options *o);
void print_command_help(const char *cmd);

/* Takes the value of --NAME VALUE or --NAME=VALUE at argv[*i], advancing
 * *i past a separate value. *matched tells whether argv[*i] is --NAME;
 * NULL with *matched set means the value is missing (said on stderr). */
/* getopt_long takes any unambiguous prefix (--pol for --policy); cordon
 * takes only the names it documents, whole: true when arg ("--NAME" or
 * "--NAME=VALUE") spells name in full. */
bool spelt_in_full(const char *arg, const char *name);

#endif
