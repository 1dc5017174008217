/* ARM semihosting for the self-test (QEMU: -semihosting-config enable=on,target=native), and
 * the few output functions the test uses. No C library. */
#ifndef VMH_FW_SEMIHOST_H
#define VMH_FW_SEMIHOST_H

#ifdef __cplusplus
extern "C" {
#endif

/* Writes a NUL-terminated string to the host's console. */
void fw_print(const char *s);
/* Writes an unsigned number in decimal. */
void fw_print_uint(unsigned long v);
/* Ends the emulation: status 0 is success, anything else failure (QEMU's exit code 1). */
__attribute__((noreturn)) void fw_exit(int status);

/* Counts a check of the self-test; prints a line for a failed one. */
void fw_check(int ok, const char *what, const char *file, int line);
#define FW_CHECK(cond) fw_check((cond) ? 1 : 0, #cond, __FILE__, __LINE__)
/* Checks counted so far. */
unsigned fw_passed(void);
unsigned fw_failed(void);

#ifdef __cplusplus
}
#endif

#endif
