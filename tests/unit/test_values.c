/* Unit tests for the scalar value parsers and string path helpers of the
 * policy library (policy/values.c, policy/util.c). Pure functions only. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "util.h"

/* ---- parse_bool ---- */

static bool bool_of(const char *s)
{
	bool v = false;
	const char *why = NULL;
	cr_assert(parse_bool(s, &v, &why), "parse_bool(\"%s\") rejected: %s", s, why ? why : "?");
	return v;
}

static void bool_bad(const char *s)
{
	bool v = false;
	const char *why = NULL;
	cr_assert_not(parse_bool(s, &v, &why), "parse_bool(\"%s\") accepted", s);
	cr_assert_not_null(why, "no reason given for \"%s\"", s);
}

Test(parse_bool, accepts_true_words)
{
	cr_assert(bool_of("true"));
	cr_assert(bool_of("yes"));
	cr_assert(bool_of("on"));
	cr_assert(bool_of("1"));
}

Test(parse_bool, accepts_false_words)
{
	cr_assert_not(bool_of("false"));
	cr_assert_not(bool_of("no"));
	cr_assert_not(bool_of("off"));
	cr_assert_not(bool_of("0"));
}

Test(parse_bool, is_case_insensitive)
{
	cr_assert(bool_of("TRUE"));
	cr_assert(bool_of("Yes"));
	cr_assert_not(bool_of("False"));
	cr_assert_not(bool_of("OFF"));
}

Test(parse_bool, rejects_anything_else)
{
	bool_bad("");
	bool_bad("2");
	bool_bad("tru");
	bool_bad("y");
	bool_bad(" true");
	bool_bad("true ");
	bool_bad("enabled");
}

/* ---- parse_size ---- */

static uint64_t size_of(const char *s)
{
	uint64_t v = 0;
	const char *why = NULL;
	cr_assert(parse_size(s, &v, &why), "parse_size(\"%s\") rejected: %s", s, why ? why : "?");
	return v;
}

static void size_bad(const char *s)
{
	uint64_t v = 12345;
	const char *why = NULL;
	cr_assert_not(parse_size(s, &v, &why), "parse_size(\"%s\") accepted as %llu", s, (unsigned long long)v);
	cr_assert_not_null(why, "no reason given for \"%s\"", s);
}

Test(parse_size, plain_number_is_bytes)
{
	cr_assert_eq(size_of("1024"), 1024);
	cr_assert_eq(size_of("0"), 0);
}

Test(parse_size, binary_suffixes)
{
	cr_assert_eq(size_of("10K"), 10ULL << 10);
	cr_assert_eq(size_of("512M"), 512ULL << 20);
	cr_assert_eq(size_of("8G"), 8ULL << 30);
	cr_assert_eq(size_of("2T"), 2ULL << 40);
}

Test(parse_size, lower_case_suffixes)
{
	cr_assert_eq(size_of("10k"), 10ULL << 10);
	cr_assert_eq(size_of("8g"), 8ULL << 30);
}

Test(parse_size, gib_and_gb_spellings_mean_the_same)
{
	cr_assert_eq(size_of("8GiB"), 8ULL << 30);
	cr_assert_eq(size_of("8GB"), 8ULL << 30);
	cr_assert_eq(size_of("8gib"), 8ULL << 30);
	cr_assert_eq(size_of("512MiB"), 512ULL << 20);
}

Test(parse_size, b_suffix_is_bytes)
{
	cr_assert_eq(size_of("8B"), 8);
}

Test(parse_size, rejects_empty)
{
	size_bad("");
}

Test(parse_size, rejects_unknown_suffix)
{
	size_bad("8X");
	size_bad("8GX");
	size_bad("8GBB");
	size_bad("8BB");
	size_bad("8 G");
	size_bad("8G ");
}

Test(parse_size, rejects_sign)
{
	size_bad("-1");
	size_bad("+1");
}

Test(parse_size, rejects_fraction)
{
	size_bad("1.5G");
}

Test(parse_size, rejects_digit_overflow)
{
	size_bad("99999999999999999999");
}

Test(parse_size, rejects_multiplier_overflow)
{
	size_bad("17179869184G"); /* 2^34 * 2^30 = 2^64 */
	size_bad("16777216T");    /* 2^24 * 2^40 = 2^64 */
}

Test(parse_size, largest_value_fits)
{
	cr_assert_eq(size_of("17179869183G"), 17179869183ULL << 30);
	cr_assert_eq(size_of("18446744073709551615"), UINT64_MAX);
}

/* ---- parse_duration_ms ---- */

static uint64_t ms_of(const char *s)
{
	uint64_t v = 0;
	const char *why = NULL;
	cr_assert(parse_duration_ms(s, &v, &why), "parse_duration_ms(\"%s\") rejected: %s", s, why ? why : "?");
	return v;
}

static void duration_bad(const char *s)
{
	uint64_t v = 12345;
	const char *why = NULL;
	cr_assert_not(parse_duration_ms(s, &v, &why), "parse_duration_ms(\"%s\") accepted as %llu", s,
	              (unsigned long long)v);
	cr_assert_not_null(why, "no reason given for \"%s\"", s);
}

Test(parse_duration, hours)
{
	cr_assert_eq(ms_of("2h"), 2ULL * 3600 * 1000);
}

Test(parse_duration, seconds)
{
	cr_assert_eq(ms_of("90s"), 90000);
}

Test(parse_duration, minutes)
{
	cr_assert_eq(ms_of("30m"), 30ULL * 60 * 1000);
}

Test(parse_duration, milliseconds)
{
	cr_assert_eq(ms_of("500ms"), 500);
}

Test(parse_duration, days)
{
	cr_assert_eq(ms_of("1d"), 86400ULL * 1000);
}

Test(parse_duration, bare_number_is_seconds)
{
	cr_assert_eq(ms_of("10"), 10000);
}

Test(parse_duration, compound)
{
	cr_assert_eq(ms_of("1h30m"), 90ULL * 60 * 1000);
	cr_assert_eq(ms_of("1d2h3m4s5ms"), ((((1ULL * 24 + 2) * 60 + 3) * 60 + 4) * 1000) + 5);
}

Test(parse_duration, rejects_empty)
{
	duration_bad("");
}

Test(parse_duration, rejects_unit_without_number)
{
	duration_bad("h");
	duration_bad("ms");
}

Test(parse_duration, rejects_unknown_unit)
{
	duration_bad("5x");
	duration_bad("5sec");
	duration_bad("5 s");
	duration_bad("1.5h");
}

Test(parse_duration, rejects_negative)
{
	duration_bad("-5s");
}

Test(parse_duration, rejects_overflow)
{
	duration_bad("99999999999999999999");
	duration_bad("9999999999999999d");
}

/* ---- parse_uint ---- */

static uint64_t uint_of(const char *s, uint64_t max)
{
	uint64_t v = 0;
	const char *why = NULL;
	cr_assert(parse_uint(s, max, &v, &why), "parse_uint(\"%s\") rejected: %s", s, why ? why : "?");
	return v;
}

static void uint_bad(const char *s, uint64_t max)
{
	uint64_t v = 0;
	const char *why = NULL;
	cr_assert_not(parse_uint(s, max, &v, &why), "parse_uint(\"%s\", %llu) accepted", s, (unsigned long long)max);
	cr_assert_not_null(why);
}

Test(parse_uint, accepts_decimal)
{
	cr_assert_eq(uint_of("1024", 100000), 1024);
	cr_assert_eq(uint_of("0", 10), 0);
}

Test(parse_uint, accepts_the_maximum)
{
	cr_assert_eq(uint_of("4096", 4096), 4096);
}

Test(parse_uint, rejects_above_maximum)
{
	uint_bad("4097", 4096);
	uint_bad("99999999999999999999", UINT64_MAX);
}

Test(parse_uint, rejects_non_decimal)
{
	uint_bad("", 100);
	uint_bad("+1", 100);
	uint_bad("-1", 100);
	uint_bad("0x10", 100);
	uint_bad(" 1", 100);
	uint_bad("1 ", 100);
	uint_bad("1k", 100000);
}

/* ---- valid_hostname_label_chars ---- */

Test(hostname_chars, accepts_names)
{
	cr_assert(valid_hostname_label_chars("cordon"));
	cr_assert(valid_hostname_label_chars("Build-01.ci"));
}

Test(hostname_chars, rejects_bad_names)
{
	cr_assert_not(valid_hostname_label_chars(""));
	cr_assert_not(valid_hostname_label_chars("a_b"));
	cr_assert_not(valid_hostname_label_chars("a."));
	cr_assert_not(valid_hostname_label_chars("-a"));
}

/* ---- valid_env_name ---- */

Test(env_name, accepts_names)
{
	cr_assert(valid_env_name("PATH", false));
	cr_assert(valid_env_name("_X", false));
	cr_assert(valid_env_name("lower_case9", false));
	cr_assert(valid_env_name("A", false));
}

Test(env_name, rejects_bad_names)
{
	cr_assert_not(valid_env_name("", false));
	cr_assert_not(valid_env_name("1X", false));
	cr_assert_not(valid_env_name("A-B", false));
	cr_assert_not(valid_env_name("A B", false));
	cr_assert_not(valid_env_name("A=B", false));
	cr_assert_not(valid_env_name("A.B", false));
}

Test(env_name, glob_only_when_allowed)
{
	cr_assert(valid_env_name("LC_*", true));
	cr_assert(valid_env_name("X*", true));
	cr_assert_not(valid_env_name("LC_*", false));
}

Test(env_name, glob_only_as_trailing_star_after_a_name)
{
	cr_assert_not(valid_env_name("*", true));
	cr_assert_not(valid_env_name("A*B", true));
	cr_assert_not(valid_env_name("A**", true));
	cr_assert_not(valid_env_name("*A", true));
}

/* ---- valid_account_name ---- */

Test(account_name, accepts_names)
{
	cr_assert(valid_account_name("alice"));
	cr_assert(valid_account_name("pi-agent"));
	cr_assert(valid_account_name("svc_ci.1"));
	cr_assert(valid_account_name("Bob"));
}

Test(account_name, length_limit_is_32)
{
	char name[40];
	memset(name, 'a', 32);
	name[32] = '\0';
	cr_assert(valid_account_name(name));
	memset(name, 'a', 33);
	name[33] = '\0';
	cr_assert_not(valid_account_name(name));
}

Test(account_name, rejects_bad_names)
{
	cr_assert_not(valid_account_name(""));
	cr_assert_not(valid_account_name("-alice"));
	cr_assert_not(valid_account_name("a b"));
	cr_assert_not(valid_account_name("a:b"));
	cr_assert_not(valid_account_name("a/b"));
	cr_assert_not(valid_account_name("alice\n"));
}

/* ---- valid_policy_path ---- */

static void path_ok(const char *s, bool rel)
{
	const char *why = NULL;
	cr_expect(valid_policy_path(s, rel, &why), "valid_policy_path(\"%s\", %d) rejected: %s", s, rel,
	          why ? why : "?");
}

static void path_bad(const char *s, bool rel)
{
	const char *why = NULL;
	bool ok = valid_policy_path(s, rel, &why);
	cr_expect_not(ok, "valid_policy_path(\"%s\", %d) accepted", s, rel);
	if (!ok)
		cr_expect_not_null(why);
}

Test(policy_path, accepts_absolute)
{
	path_ok("/", false);
	path_ok("/usr", false);
	path_ok("/usr/lib/", false);
	path_ok("/a/..b/...c/.d", false);
}

Test(policy_path, accepts_home_forms)
{
	path_ok("~", false);
	path_ok("~/", false);
	path_ok("~/src", false);
	path_ok("~/.config/git", false);
}

Test(policy_path, relative_only_when_allowed)
{
	path_bad("src", false);
	path_bad(".env", false);
	path_ok("src", true);
	path_ok(".env", true);
	path_ok(".git/hooks", true);
	path_ok(".git/hooks/", true);
}

Test(policy_path, rejects_empty)
{
	path_bad("", false);
	path_bad("", true);
}

Test(policy_path, rejects_tilde_user)
{
	path_bad("~root", false);
	path_bad("~root/x", false);
	path_bad("~root", true);
}

Test(policy_path, rejects_dot_components)
{
	path_bad("/a/./b", false);
	path_bad("/a/.", false);
	path_bad("/.", false);
	path_bad("~/.", false);
	path_bad(".", true);
	path_bad("./x", true);
}

Test(policy_path, rejects_dotdot_components)
{
	path_bad("/a/../b", false);
	path_bad("/..", false);
	path_bad("/a/..", false);
	path_bad("~/../bob", false);
	path_bad("..", true);
	path_bad("a/../../etc", true);
}

Test(policy_path, rejects_control_characters)
{
	path_bad("/a\tb", false);
	path_bad("/a\nb", false);
	path_bad("/a\x1b", false);
	path_bad("/a\x7f", false);
	path_bad("x\r", true);
}

/* ---- normalize_path ---- */

static void norm_is(const char *in, const char *want)
{
	char *got = normalize_path(in);
	cr_expect_str_eq(got, want, "normalize_path(\"%s\") = \"%s\", want \"%s\"", in, got, want);
	free(got);
}

Test(normalize_path, collapses_repeated_slashes)
{
	norm_is("//a///b", "/a/b");
	norm_is("~//x", "~/x");
	norm_is("a//b", "a/b");
}

Test(normalize_path, drops_trailing_slash)
{
	norm_is("/a/b/", "/a/b");
	norm_is("/a/b///", "/a/b");
	norm_is("a/", "a");
}

Test(normalize_path, keeps_root)
{
	norm_is("/", "/");
	norm_is("///", "/");
}

Test(normalize_path, leaves_clean_paths_alone)
{
	norm_is("/usr/lib", "/usr/lib");
	norm_is("~", "~");
	norm_is("", "");
}

/* ---- path_compare_components ---- */

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

Test(path_compare, directory_before_its_children)
{
	cr_assert_lt(path_compare_components("/a", "/a/b"), 0);
	cr_assert_gt(path_compare_components("/a/b", "/a"), 0);
	cr_assert_lt(path_compare_components("/tmp", "/tmp/work/deep"), 0);
}

Test(path_compare, root_before_everything)
{
	cr_assert_lt(path_compare_components("/", "/a"), 0);
	cr_assert_gt(path_compare_components("/a", "/"), 0);
}

/* The comment's own example: "/a" < "/a/b" < "/a-b". */
Test(path_compare, children_before_a_sibling_sharing_the_prefix)
{
	cr_assert_lt(path_compare_components("/a", "/a/b"), 0);
	cr_assert_lt(path_compare_components("/a/b", "/a-b"), 0);
	cr_assert_lt(path_compare_components("/a", "/a-b"), 0);
	cr_assert_lt(path_compare_components("/a/b", "/ab"), 0);
}

Test(path_compare, siblings_by_name)
{
	cr_assert_lt(path_compare_components("/a", "/b"), 0);
	cr_assert_gt(path_compare_components("/usr", "/tmp"), 0);
	cr_assert_lt(path_compare_components("/x/abc", "/x/abd"), 0);
}

Test(path_compare, equal_when_only_slashes_differ)
{
	cr_assert_eq(path_compare_components("/a/b", "/a/b"), 0);
	cr_assert_eq(path_compare_components("/a//b", "/a/b/"), 0);
	cr_assert_eq(path_compare_components("/", "//"), 0);
}

Test(path_compare, antisymmetric)
{
	const char *v[] = {"/", "/a", "/a/b", "/a-b", "/ab", "/b", "/a/b/c"};
	for (size_t i = 0; i < N_ELEMENTS(v); i++)
		for (size_t j = 0; j < N_ELEMENTS(v); j++)
			cr_expect_eq(sign(path_compare_components(v[i], v[j])),
			             -sign(path_compare_components(v[j], v[i])), "%s vs %s", v[i], v[j]);
}

static int cmp_strp(const void *a, const void *b)
{
	return path_compare_components(*(const char *const *)a, *(const char *const *)b);
}

Test(path_compare, sorting_puts_parents_first)
{
	const char *v[] = {"/tmp/work", "/usr", "/tmp", "/a-b", "/a/b", "/a", "/", "/usr/lib"};
	const char *want[] = {"/", "/a", "/a/b", "/a-b", "/tmp", "/tmp/work", "/usr", "/usr/lib"};
	qsort(v, N_ELEMENTS(v), sizeof(v[0]), cmp_strp);
	for (size_t i = 0; i < N_ELEMENTS(v); i++)
		cr_expect_str_eq(v[i], want[i], "position %zu", i);
}

/* ---- path_is_beneath ---- */

Test(path_is_beneath, same_path_counts)
{
	cr_assert(path_is_beneath("/a", "/a"));
	cr_assert(path_is_beneath("/", "/"));
}

Test(path_is_beneath, below)
{
	cr_assert(path_is_beneath("/a/b", "/a"));
	cr_assert(path_is_beneath("/a/b/c", "/a"));
	cr_assert(path_is_beneath("/proc/self", "/proc"));
}

Test(path_is_beneath, everything_is_beneath_root)
{
	cr_assert(path_is_beneath("/x", "/"));
	cr_assert(path_is_beneath("/x/y", "/"));
}

Test(path_is_beneath, shared_prefix_is_not_beneath)
{
	cr_assert_not(path_is_beneath("/ab", "/a"));
	cr_assert_not(path_is_beneath("/a-b", "/a"));
	cr_assert_not(path_is_beneath("/device", "/dev"));
}

Test(path_is_beneath, parent_is_not_beneath_child)
{
	cr_assert_not(path_is_beneath("/a", "/a/b"));
	cr_assert_not(path_is_beneath("/", "/a"));
}

Test(names, net_and_landlock_modes)
{
	cr_assert_str_eq(net_mode_name(NET_NONE), "none");
	cr_assert_str_eq(net_mode_name(NET_PROXY), "proxy");
	cr_assert_str_eq(net_mode_name(NET_HOST), "host");
	cr_assert_str_eq(landlock_mode_name(LANDLOCK_REQUIRE), "require");
	cr_assert_str_eq(landlock_mode_name(LANDLOCK_BEST_EFFORT), "best-effort");
	cr_assert_str_eq(landlock_mode_name(LANDLOCK_OFF), "off");
}

/* ---- parse_cpu, format_cpu ---- */

static uint64_t cpu_of(const char *s)
{
	uint64_t v = 0;
	const char *why = NULL;
	cr_assert(parse_cpu(s, &v, &why), "parse_cpu(\"%s\") rejected: %s", s, why ? why : "?");
	return v;
}

static void cpu_bad(const char *s)
{
	uint64_t v = 0;
	const char *why = NULL;
	cr_assert_not(parse_cpu(s, &v, &why), "parse_cpu(\"%s\") accepted as %llu", s, (unsigned long long)v);
	cr_assert_not_null(why);
}

Test(parse_cpu, whole_and_decimal_cpus_in_thousandths)
{
	cr_assert_eq(cpu_of("2"), 2000);
	cr_assert_eq(cpu_of("1.5"), 1500);
	cr_assert_eq(cpu_of("0.25"), 250);
	cr_assert_eq(cpu_of("0.01"), 10);
	cr_assert_eq(cpu_of("0.125"), 125);
	cr_assert_eq(cpu_of("16.000"), 16000);
	cr_assert_eq(cpu_of("0"), 0); /* below the key's minimum: the table refuses it */
}

Test(parse_cpu, rejects_what_is_not_a_plain_decimal)
{
	const char *bad[] = {
	    "",      "1.",  ".5",  "1.2345", "-1",  "+1",  "1e3", "1,5", " 1",   "1 ", "0x10",
	    "1.5.0", "inf", "nan", "2cpu",   "1/2", "1..", "1.-", "٣",   "1.5 ", "0.", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cpu_bad(bad[i]);
}

Test(format_cpu, round_trips_the_policy_text)
{
	char out[32];
	const char *cases[][2] = {{"1500", "1.5"}, {"2000", "2"}, {"250", "0.25"}, {"10", "0.01"}, {"125", "0.125"}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		format_cpu(strtoull(cases[i][0], NULL, 10), out);
		cr_expect_str_eq(out, cases[i][1]);
	}
}
