/* mountcheck: reads the mount table with libmount, from inside a sandbox.
 *
 *   mountcheck list          print "TARGET OPTIONS" for every mount
 *   mountcheck ro PATH       exit 0 if every mount at or below PATH is
 *                            read-only, 1 (naming the first writable one)
 *                            otherwise
 *   mountcheck writable      print "TARGET FSTYPE" for every writable mount
 */
#include <libmount.h>
#include <stdio.h>
#include <string.h>

static int is_beneath(const char *target, const char *path)
{
	size_t n = strlen(path);
	if (strcmp(path, "/") == 0)
		return 1;
	return strncmp(target, path, n) == 0 && (target[n] == '\0' || target[n] == '/');
}

int main(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "ro") == 0 && argc != 3)) {
		fprintf(stderr, "usage: mountcheck list | mountcheck ro PATH | mountcheck writable\n");
		return 2;
	}
	struct libmnt_table *tb = mnt_new_table_from_file("/proc/self/mountinfo");
	if (!tb) {
		perror("mountcheck: read /proc/self/mountinfo");
		return 2;
	}
	struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
	struct libmnt_fs *fs;
	int checked = 0;
	while (mnt_table_next_fs(tb, it, &fs) == 0) {
		const char *target = mnt_fs_get_target(fs);
		const char *opts = mnt_fs_get_vfs_options(fs);
		if (strcmp(argv[1], "list") == 0) {
			printf("%s %s\n", target, opts ? opts : "");
			continue;
		}
		if (strcmp(argv[1], "writable") == 0) {
			if (opts && mnt_optstr_get_option(opts, "ro", NULL, NULL) != 0)
				printf("%s %s\n", target, mnt_fs_get_fstype(fs));
			continue;
		}
		if (!is_beneath(target, argv[2]))
			continue;
		checked++;
		if (!opts || mnt_optstr_get_option(opts, "ro", NULL, NULL) != 0) {
			printf("writable: %s (%s)\n", target, opts ? opts : "");
			return 1;
		}
	}
	if (strcmp(argv[1], "ro") == 0 && checked == 0) {
		printf("no mount at or below %s\n", argv[2]);
		return 1;
	}
	mnt_free_iter(it);
	mnt_unref_table(tb);
	return 0;
}
