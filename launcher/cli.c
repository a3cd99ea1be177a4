/* The command line: dispatch, options, help. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cordon.h"

#ifndef CORDON_VERSION
#define CORDON_VERSION "0.0.0"
#endif

static const char usage_text[] = "usage: cordon COMMAND [OPTIONS]\n"
                                 "\n"
                                 "commands:\n"
                                 "  run [--policy P] [--project DIR]... [--] [CMD [ARG]...]\n"
                                 "                      run CMD (or the policy's command) in a sandbox\n"
                                 "  check P             validate a policy\n"
                                 "  explain P [--json] [--verbose]\n"
                                 "                      print the plan a run would apply\n"
                                 "  doctor [--json]     report what this host supports\n"
                                 "  proxy --socket PATH --policy P [--mode OCTAL] [--group GROUP]\n"
                                 "                      run the egress proxy alone\n"
                                 "\n"
                                 "P is a path, or a bare name looked up in the policy directory.\n"
                                 "Run `cordon COMMAND --help` for details.\n";

static const struct {
	const char *cmd;
	const char *text;
} help_texts[] = {
    {"run", "usage: cordon run [--policy P] [--project DIR]... [--] [CMD [ARG]...]\n"
            "\n"
            "Runs CMD, or the policy's [sandbox] command, in a new sandbox built from\n"
            "policy P (default: the policy named \"default\").\n"
            "\n"
            "  --policy P      policy path, or a bare name in the policy directory\n"
            "  --project DIR   mount only DIR as the project (must be inside an\n"
            "                  allowed project root); may be repeated\n"
            "\n"
            "exit status: CMD's status; 128+N if it died of signal N; 124 on timeout;\n"
            "125 if the sandbox could not be set up; 126 CMD not executable;\n"
            "127 CMD not found.\n"},
    {"check", "usage: cordon check P\n"
              "\n"
              "Validates policy P and prints each problem as FILE:LINE: message.\n"
              "exit status: 0 valid, 2 invalid.\n"},
    {"explain", "usage: cordon explain P [--json] [--verbose] [--project DIR]... [-- CMD [ARG]...]\n"
                "\n"
                "Prints the plan `cordon run` would apply from the current directory:\n"
                "the command and project first, the mount table in order, network\n"
                "allowlist and environment, then namespaces, Landlock, seccomp and limits.\n"
                "\n"
                "  --json      the whole plan as one JSON object\n"
                "  --verbose   list every seccomp rule (folded to one line otherwise)\n"
                "exit status: 0, or 2 if the policy is invalid.\n"},
    {"doctor", "usage: cordon doctor [--json]\n"
               "\n"
               "Reports what this kernel and host support and what a policy would lose.\n"
               "exit status: 0 if everything required is present, 1 otherwise.\n"},
    {"proxy", "usage: cordon proxy --socket PATH --policy P [--mode OCTAL] [--group GROUP]\n"
              "\n"
              "Runs the egress proxy on a Unix socket, for sandboxes whose policy sets\n"
              "[network] socket = PATH. Runs until signalled.\n"
              "\n"
              "  --mode OCTAL   permissions of the socket (default 0660: owner and group\n"
              "                 may connect; 0666 serves every local user's sandboxes)\n"
              "  --group GROUP  the socket's group (a name or a number)\n"},
};

void print_command_help(const char *cmd)
{
	for (size_t i = 0; i < N_ELEMENTS(help_texts); i++)
		if (strcmp(help_texts[i].cmd, cmd) == 0)
			fputs(help_texts[i].text, stdout);
}

static bool want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
		if (argv[i][0] != '-')
			return false;
		if ((strcmp(argv[i], "--policy") == 0 || strcmp(argv[i], "--project") == 0 ||
		     strcmp(argv[i], "--socket") == 0 || strcmp(argv[i], "--mode") == 0 ||
		     strcmp(argv[i], "--group") == 0) &&
		    i + 1 < argc)
			i++;
	}
	return false;
}

enum { OPT_POLICY = 0x100, OPT_PROJECT, OPT_JSON, OPT_VERBOSE };

static const struct option run_longopts[] = {
    {"policy", required_argument, NULL, OPT_POLICY},
    {"project", required_argument, NULL, OPT_PROJECT},
    {NULL, 0, NULL, 0},
};
static const struct option explain_longopts[] = {
    {"policy", required_argument, NULL, OPT_POLICY},
    {"project", required_argument, NULL, OPT_PROJECT},
    {"json", no_argument, NULL, OPT_JSON},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {NULL, 0, NULL, 0},
};

bool spelt_in_full(const char *arg, const char *name)
{
	size_t n = strlen(name);
	return strncmp(arg + 2, name, n) == 0 && (arg[2 + n] == '\0' || arg[2 + n] == '=');
}

/* Options come first and stop at `--` or at the first word that is not
 * one (the command, which keeps its own options); explain's P may stand
 * among them. No short options: -h and --help are handled before this
 * (cli.c want_help), everything else starting with - is refused. */
static bool parse_common(int argc, char **argv, struct run_options *o, bool explain)
{
	static char *empty[] = {NULL};
	const struct option *longopts = explain ? explain_longopts : run_longopts;
	memset(o, 0, sizeof(*o));
	o->command = empty;
	opterr = 0; /* the messages are ours */
	optind = 0; /* glibc: start afresh */
	for (;;) {
		int at = optind ? optind : 1; /* the word getopt is about to read */
		int idx = -1;
		int c = getopt_long(argc, argv, "+:", longopts, &idx);
		if (c == -1) {
			if (optind > at || optind >= argc)
				break; /* past `--`, or nothing left */
			if (strcmp(argv[optind], "-") == 0)
				c = '?'; /* getopt's operand, cordon's unknown option */
			else if (explain && !o->policy) {
				o->policy = argv[optind++];
				continue;
			} else {
				break;
			}
		}
		/* A missing value (at the end of the line): getopt names the
		 * option in optopt, not idx. */
		const char *name = c == ':'   ? (optopt == OPT_POLICY ? "policy" : "project")
		                   : idx >= 0 ? longopts[idx].name
		                              : NULL;
		if (c == '?' || (name && !spelt_in_full(argv[at], name))) {
			fprintf(stderr, "cordon: unknown option %s (see cordon %s --help)\n", argv[at], argv[0]);
			return false;
		}
		switch (c) {
		case ':':
			fprintf(stderr, "cordon: --%s needs a value\n", name);
			return false;
		case OPT_POLICY:
			/* A sudoers rule like `cordon run --policy pi *` lets the
			 * invoker append options; a second --policy must not
			 * replace the one the administrator wrote. */
			if (o->policy) {
				fprintf(stderr, "cordon: --policy given more than once\n");
				return false;
			}
			o->policy = optarg;
			break;
		case OPT_PROJECT:
			strv_push(&o->projects, optarg);
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_VERBOSE:
			o->verbose = true;
			break;
		default:
			return false;
		}
	}
	if (optind < argc)
		o->command = argv + optind;
	return true;
}

bool parse_run_options(int argc, char **argv, struct run_options *o)
{
	return parse_common(argc, argv, o, false);
}

bool parse_explain_options(int argc, char **argv, struct run_options *o)
{
	return parse_common(argc, argv, o, true);
}

/* The version, and where bare names are looked up (as policyfile.c and
 * plan.c's build_seccomp do), so an installation can be checked. */
static void print_version(void)
{
	printf("cordon %s\n", CORDON_VERSION);
	const char *env = running_under_sudo() ? NULL : getenv("CORDON_POLICY_PATH");
	if (env && *env)
		printf("policies: --policy NAME reads NAME.ini from CORDON_POLICY_PATH (%s), then %s\n", env,
		       CORDON_POLICY_DIR);
	else
		printf("policies: --policy NAME reads %s/NAME.ini\n", CORDON_POLICY_DIR);
	printf("profiles: profile = NAME reads %s/NAME.profile, else the built-in copy (%s)\n", CORDON_PROFILE_DIR,
	       profile_builtin_names());
}

int main(int argc, char **argv)
{
	/* As root (under sudo above all), nobody else may read our memory or
	 * environment or ptrace us from here to the command's exec, where the
	 * kernel decides again for the command (bubblewrap CVE-2016-8659). */
	if (geteuid() == 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		perror("cordon: set non-dumpable");
		return 125;
	}
	/* Installed set-user-ID, every user would start it as root with an
	 * environment and options of their own choosing: the sudo runner is
	 * the way to hand it out, with sudo's environment reset and a rule
	 * naming the policy. */
	if (getuid() != geteuid() || getgid() != getegid()) {
		fputs("cordon: refusing to run set-user-ID or set-group-ID; hand it out through sudo instead (see "
		      "docs/sudo-runner.md)\n",
		      stderr);
		return 125;
	}
	if (argc < 2) {
		fputs(usage_text, stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		print_version();
		return 0;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} commands[] = {
	    {"run", cmd_run},       {"check", cmd_check}, {"explain", cmd_explain},
	    {"doctor", cmd_doctor}, {"proxy", cmd_proxy},
	};
	for (size_t i = 0; i < N_ELEMENTS(commands); i++) {
		if (strcmp(cmd, commands[i].name) != 0)
			continue;
		if (want_help(argc - 1, argv + 1)) {
			print_command_help(cmd);
			return 0;
		}
		return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "cordon: unknown command %s\n%s", cmd, usage_text);
	return 2;
}
