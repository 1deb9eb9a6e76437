/*
 * core/xmalloc.h: allocation helpers that abort on out-of-memory.
 *
 * Out-of-memory is the one failure the program does not try to survive; every
 * other error is returned to the caller.  Also the secret-wiping helpers.
 */
#ifndef GWSMTP_CORE_XMALLOC_H
#define GWSMTP_CORE_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void	*xmalloc(size_t size);
void	*xcalloc(size_t nmemb, size_t size);
void	*xreallocarray(void *ptr, size_t nmemb, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
char	*xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char	*xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Wipes a NUL-terminated secret, then frees it.  NULL is a no-op. */
void	 free_secret(char *s);

#endif
