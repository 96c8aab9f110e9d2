/* Functions that must not be used in zengen: unbounded, non-reentrant or error-hiding.
 * Included last by compat.h so that any use becomes a compile error. */
#ifndef ZG_BANNED_H
#define ZG_BANNED_H

#define ZG_BANNED(func) sorry_##func##_is_banned_in_zengen

#undef strcpy
#define strcpy(x, y) ZG_BANNED(strcpy)
#undef strcat
#define strcat(x, y) ZG_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) ZG_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) ZG_BANNED(strncat)
#undef sprintf
#define sprintf(...) ZG_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) ZG_BANNED(vsprintf)
#undef gets
#define gets(x) ZG_BANNED(gets)
#undef strtok
#define strtok(x, y) ZG_BANNED(strtok)
#undef atoi
#define atoi(x) ZG_BANNED(atoi)
#undef atol
#define atol(x) ZG_BANNED(atol)
#undef localtime
#define localtime(x) ZG_BANNED(localtime)
#undef gmtime
#define gmtime(x) ZG_BANNED(gmtime)
#undef ctime
#define ctime(x) ZG_BANNED(ctime)
#undef asctime
#define asctime(x) ZG_BANNED(asctime)
#undef rand
#define rand() ZG_BANNED(rand)

#endif
