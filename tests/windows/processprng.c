/* bcryptprimitives.dll for Wine 8 test prefixes: Rust's std (1.78 and later) and getrandom
 * import ProcessPrng from bcryptprimitives.dll, which Wine only has from 9.0, so every
 * Windows test binary fails to load under Debian's Wine 8 without it. Windows itself has the
 * real one; this file is never shipped. ProcessPrng is documented to always succeed; here it
 * fills the buffer with RtlGenRandom (advapi32's SystemFunction036), which Wine 8 has. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
