/*
 * lvs-lab xstate shim: preloaded (LD_PRELOAD) into linux.uml so that UML kernels with a fixed-size XSAVE
 * buffer boot on hosts whose XSAVE area is larger (Intel CPUs with AMX, and whatever grows it next).
 *
 * Why: host kernels since 5.14 accept PTRACE_SETREGSET(NT_X86_XSTATE) only with exactly the task's full
 * XSAVE size and answer EFAULT otherwise. UML before 6.13 passes its own fixed buffer (2,696 bytes in
 * Debian's 6.1: legacy area, header, AVX, AVX-512 and PKRU); where the host's area is larger, every return
 * to a guest process fails ("userspace - ptrace set fp regs failed, errno = 14") and the guest panics.
 *
 * What: for GETREGSET/SETREGSET of NT_X86_XSTATE with a buffer shorter than the host's size, keep a
 * full-size copy per UML buffer address (UML passes each guest task's own register area, so each task keeps
 * the upper state the short buffer cannot carry). GET reads the full state and copies the prefix out; SET
 * lays the prefix over that task's full copy and sends the full size. Calls with a buffer that is large
 * enough, and every other request, go to glibc's ptrace() unchanged.
 *
 * Constraints: this runs on UML kernel stacks (a few KiB), so no large locals and no malloc (UML wraps
 * malloc for its own code; memory here comes from mmap). Signals are blocked while the table is touched,
 * so a UML signal handler can never find it half-updated.
 *
 * Also exported, for the lab tool and its tests: lvslab_host_xstate_size() and lvslab_xstate_component().
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROBE_BUFFER_SIZE (64 * 1024)  /* larger than any XSAVE area: the kernel writes back the real length */
#define ARENA_CHUNK (1024 * 1024)

struct entry {
    uintptr_t key;          /* UML's buffer address; 0 = empty slot */
    unsigned char *full;    /* host_size bytes */
};

static size_t host_size;           /* learned on the first XSTATE call; 0 = not yet */
static struct entry *table;
static size_t table_capacity, table_used;
static unsigned char *arena, *arena_end;
static volatile int lock_word;
static int reported;
static size_t emulated_size;       /* LVS_LAB_XSTATE_SHIM_EMULATE: use only this much of UML's buffer */
static int emulate_unadapted;

/* LVS_LAB_XSTATE_SHIM_EMULATE=N makes the shim exchange only the first N bytes of UML's buffer, as a UML
 * kernel with an N-byte buffer would: the adaptation then runs on hosts that do not need it (lab tests).
 * "N:unadapted" hands such short calls to the kernel as they are: the boot failure of hosts that need the
 * shim, reproduced anywhere (the tests of the lab's boot-failure diagnosis use it). */
__attribute__((constructor)) static void read_settings(void)
{
    const char *value = getenv("LVS_LAB_XSTATE_SHIM_EMULATE");
    char *rest = NULL;
    if (value && *value) {
        emulated_size = strtoul(value, &rest, 10);
        emulate_unadapted = rest && strcmp(rest, ":unadapted") == 0;
    }
}

typedef long (*ptrace_function)(int, ...);

static ptrace_function real_ptrace(void)
{
    static ptrace_function real;
    if (!real)
        real = (ptrace_function)dlsym(RTLD_NEXT, "ptrace");
    return real;
}

static long raw_regset(int request, pid_t pid, void *base, size_t length, size_t *returned)
{
    struct iovec iov = {base, length};
    long result = syscall(SYS_ptrace, request, pid, (void *)(uintptr_t)NT_X86_XSTATE, &iov);
    if (returned)
        *returned = iov.iov_len;
    return result;
}

static void *map(size_t length)
{
    void *memory = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return memory == MAP_FAILED ? NULL : memory;
}

/* The host's XSAVE size, read with one GETREGSET on a stopped tracee; 0 if that failed. */
static size_t learn_host_size(pid_t pid)
{
    size_t length = 0;
    void *probe = map(PROBE_BUFFER_SIZE);
    if (!probe)
        return 0;
    if (raw_regset(PTRACE_GETREGSET, pid, probe, PROBE_BUFFER_SIZE, &length) != 0)
        length = 0;
    munmap(probe, PROBE_BUFFER_SIZE);
    return length;
}

static void report(size_t uml_size)
{
    char line[200];
    int length;
    if (reported)
        return;
    reported = 1;
    length = snprintf(line, sizeof line,
                      "lvs-lab xstate shim: UML XSAVE buffer %zu bytes%s, host XSAVE area %zu bytes: %s\n",
                      uml_size, emulated_size ? " (emulated)" : "", host_size,
                      uml_size >= host_size ? "passing through" : emulate_unadapted ? "not adapting" : "adapting");
    if (length > 0 && write(STDERR_FILENO, line, (size_t)length) < 0)
        reported = 1;  /* nothing to do: the report is informational */
}

static size_t hash(uintptr_t key, size_t capacity)
{
    return (size_t)((key >> 4) * 0x9E3779B97F4A7C15ULL) & (capacity - 1);
}

static int grow_table(void)
{
    size_t capacity = table_capacity ? table_capacity * 2 : 256;
    struct entry *bigger = map(capacity * sizeof *bigger);
    if (!bigger)
        return -1;
    for (size_t i = 0; i < table_capacity; i++) {
        if (!table[i].key)
            continue;
        size_t slot = hash(table[i].key, capacity);
        while (bigger[slot].key)
            slot = (slot + 1) & (capacity - 1);
        bigger[slot] = table[i];
    }
    if (table)
        munmap(table, table_capacity * sizeof *table);
    table = bigger;
    table_capacity = capacity;
    return 0;
}

static unsigned char *allocate_full(void)
{
    size_t length = (host_size + 63) & ~(size_t)63;  /* XSAVE areas are 64-byte aligned */
    if (!arena || arena + length > arena_end) {
        size_t chunk = length > ARENA_CHUNK ? length : ARENA_CHUNK;
        arena = map(chunk);
        if (!arena)
            return NULL;
        arena_end = arena + chunk;
    }
    unsigned char *full = arena;
    arena += length;
    return full;
}

/* The full copy kept for UML buffer ``key``; *fresh says it was just created (its content is undefined). */
static unsigned char *full_copy(uintptr_t key, int *fresh)
{
    *fresh = 0;
    if ((table_used + 1) * 2 > table_capacity && grow_table() != 0)
        return NULL;
    size_t slot = hash(key, table_capacity);
    while (table[slot].key && table[slot].key != key)
        slot = (slot + 1) & (table_capacity - 1);
    if (table[slot].key)
        return table[slot].full;
    unsigned char *full = allocate_full();
    if (!full)
        return NULL;
    table[slot].key = key;
    table[slot].full = full;
    table_used++;
    *fresh = 1;
    return full;
}

static void lock(sigset_t *saved)
{
    sigset_t all;
    sigfillset(&all);
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, saved, _NSIG / 8);
    while (__atomic_test_and_set(&lock_word, __ATOMIC_ACQUIRE))
        ;
}

static void unlock(const sigset_t *saved)
{
    __atomic_clear(&lock_word, __ATOMIC_RELEASE);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, saved, NULL, _NSIG / 8);
}

/* GET or SET with a short buffer, through the task's full copy. Returns the ptrace result (errno set). */
static long adapt(int request, pid_t pid, struct iovec *iov)
{
    int fresh;
    long result = -1;
    sigset_t saved;

    lock(&saved);
    unsigned char *full = full_copy((uintptr_t)iov->iov_base, &fresh);
    if (!full) {
        errno = ENOMEM;
    } else if (request == PTRACE_GETREGSET || fresh) {
        result = raw_regset(PTRACE_GETREGSET, pid, full, host_size, NULL);
        if (result == 0 && request == PTRACE_GETREGSET)
            memcpy(iov->iov_base, full, iov->iov_len);
    } else {
        result = 0;
    }
    if (result == 0 && request == PTRACE_SETREGSET) {
        memcpy(full, iov->iov_base, iov->iov_len);
        result = raw_regset(PTRACE_SETREGSET, pid, full, host_size, NULL);
    }
    unlock(&saved);
    return result;
}

long ptrace(enum __ptrace_request request, ...)
{
    va_list arguments;
    va_start(arguments, request);
    pid_t pid = va_arg(arguments, pid_t);
    void *address = va_arg(arguments, void *);
    void *data = va_arg(arguments, void *);
    va_end(arguments);

    if ((request == PTRACE_GETREGSET || request == PTRACE_SETREGSET) &&
        (uintptr_t)address == NT_X86_XSTATE && data) {
        struct iovec *iov = data;
        if (!host_size)
            host_size = learn_host_size(pid);
        if (host_size) {
            struct iovec prefix = *iov;
            if (emulated_size && emulated_size < prefix.iov_len)
                prefix.iov_len = emulated_size;
            report(prefix.iov_len);
            if (emulate_unadapted)
                return real_ptrace()(request, pid, address, &prefix);
            if (prefix.iov_len < host_size) {
                long result = adapt(request, pid, &prefix);
                if (result == 0 && request == PTRACE_GETREGSET)
                    iov->iov_len = prefix.iov_len;  /* as the kernel reports a short read */
                return result;
            }
        }
    }
    return real_ptrace()(request, pid, address, data);
}

/* The XSAVE size this host's kernel uses for ptrace (a traced child of our own is asked); 0 on failure. */
size_t lvslab_host_xstate_size(void)
{
    int status;
    size_t size = 0;
    pid_t child = fork();
    if (child < 0)
        return 0;
    if (child == 0) {
        syscall(SYS_ptrace, PTRACE_TRACEME, 0, NULL, NULL);
        raise(SIGSTOP);
        _exit(0);
    }
    if (waitpid(child, &status, __WALL) == child && WIFSTOPPED(status))
        size = learn_host_size(child);
    kill(child, SIGKILL);
    waitpid(child, &status, __WALL);
    return size;
}

/* Offset and size of XSAVE component ``index`` in the standard format, if the OS enabled it (XCR0). */
int lvslab_xstate_component(unsigned index, unsigned *offset, unsigned *size)
{
    unsigned eax, ebx, ecx, edx, xcr0_low, xcr0_high;
    if (index < 2 || index > 63 || !__get_cpuid_count(0xd, index, &eax, &ebx, &ecx, &edx))
        return -1;
    __asm__ volatile("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
    unsigned long long xcr0 = ((unsigned long long)xcr0_high << 32) | xcr0_low;
    if (!(xcr0 & (1ULL << index)) || eax == 0)
        return -1;
    *size = eax;
    *offset = ebx;
    return 0;
}
