# ci: the default profile, for test suites. Debuggers, sanitizers
# (LeakSanitizer stops threads with ptrace; ThreadSanitizer re-executes
# with ADDR_NO_RANDOMIZE) and tools like strace need ptrace and
# personality. Inside the sandbox ptrace reaches only the job's own
# processes: pid 1 is non-dumpable and the pid namespace holds nothing else.
include default
unset ptrace
unset personality
