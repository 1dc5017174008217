/* Stand-in for <zephyr/logging/log.h>: logging compiles to nothing (its arguments are not
 * evaluated, as with logging off). */
#ifndef VMH_STANDIN_ZEPHYR_LOG_H
#define VMH_STANDIN_ZEPHYR_LOG_H
#define LOG_MODULE_REGISTER(...)
#define LOG_MODULE_DECLARE(...)
#define LOG_ERR(...) ((void)0)
#define LOG_WRN(...) ((void)0)
#define LOG_INF(...) ((void)0)
#define LOG_DBG(...) ((void)0)
#endif
