/* Time for the launcher's processes: the monotonic clock in milliseconds
 * and one-shot timerfds, shared by the launcher, pid 1 and the proxy. */
#include <sys/timerfd.h>
#include <time.h>

#include "cordon.h"

long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

bool timer_arm(int tfd, uint64_t ms)
{
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000}};
	return timerfd_settime(tfd, 0, &its, NULL) == 0;
}
