"""The xstate shim against this host's real kernel: a traced child, its AVX (and AVX-512, where the host has
it) registers set to known values, then GET/SET through the shim with buffers shorter than the host's XSAVE
area, which the kernel refuses on its own. Runs on any x86-64 host with AVX; needs root or ptrace rights
over its own children (the default).
"""
import ctypes
import errno
import os
import signal
import subprocess

import pytest

from lvs_lab import xstate

PTRACE_ATTACH = 16
PTRACE_DETACH = 17
PTRACE_GETREGSET = 0x4204
PTRACE_SETREGSET = 0x4205
NT_X86_XSTATE = 0x202
SYS_PTRACE = 101  # x86_64
XSTATE_BV = slice(512, 520)  # the XSAVE header's bitmap of components present
XMM0 = slice(160, 176)
UML_LEGACY_SIZES = (512, 832)  # FXSAVE area alone; legacy + header + AVX (UML kernels before 6.1)

class Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
# Every buffer handed to the shim stays alive for the whole module: the shim knows a UML task by its buffer's
# address, and a freed buffer's address given to a new one would make that "new" buffer a known task.
_HANDED_TO_THE_SHIM = []


def task_buffer(size, content=None):
    """A register buffer of a UML task the shim has not seen yet."""
    buffer = ctypes.create_string_buffer(content, size) if content is not None else ctypes.create_string_buffer(size)
    _HANDED_TO_THE_SHIM.append(buffer)
    return buffer


@pytest.fixture(scope="module")
def shim():
    library = xstate.load()
    library.ptrace.restype = ctypes.c_long
    library.ptrace.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
    return library


@pytest.fixture(scope="module")
def host_size(shim):
    size = shim.lvslab_host_xstate_size()
    assert size >= 832, f"this host's XSAVE area is {size} bytes: the test needs a CPU with AVX"
    return size


@pytest.fixture(scope="module")
def components(shim, host_size):
    """{index: (offset, size)} of the XSAVE components >= 2 (AVX and up) that this host enables."""
    found = {}
    for index in range(2, 64):
        offset, size = ctypes.c_uint(), ctypes.c_uint()
        if shim.lvslab_xstate_component(index, ctypes.byref(offset), ctypes.byref(size)) == 0:
            if offset.value + size.value <= host_size:
                found[index] = (offset.value, size.value)
    assert 2 in found, "AVX (XSAVE component 2) is not enabled on this host"
    return found


@pytest.fixture
def tracee():
    child = subprocess.Popen(["sleep", "300"])
    try:
        assert libc.syscall(SYS_PTRACE, PTRACE_ATTACH, child.pid, None, None) == 0, os.strerror(ctypes.get_errno())
        _pid, status = os.waitpid(child.pid, 0)
        assert os.WIFSTOPPED(status)
        yield child.pid
    finally:
        libc.syscall(SYS_PTRACE, PTRACE_DETACH, child.pid, None, None)
        child.send_signal(signal.SIGKILL)
        child.wait()


def regset(call, request, pid, buffer, length):
    """One GET/SET of NT_X86_XSTATE; returns (result, errno, length the kernel reported)."""
    iov = Iovec(ctypes.addressof(buffer), length)
    ctypes.set_errno(0)
    if call is None:
        result = libc.syscall(SYS_PTRACE, request, pid, NT_X86_XSTATE, ctypes.byref(iov))
    else:
        result = call(request, pid, NT_X86_XSTATE, ctypes.byref(iov))
    return result, ctypes.get_errno(), iov.length


def raw_get(pid, size):
    buffer = ctypes.create_string_buffer(size)
    result, error, length = regset(None, PTRACE_GETREGSET, pid, buffer, size)
    assert result == 0, os.strerror(error)
    assert length == size
    return bytearray(buffer.raw)


def raw_set(pid, state):
    buffer = ctypes.create_string_buffer(bytes(state), len(state))
    return regset(None, PTRACE_SETREGSET, pid, buffer, len(state))


def patterned(state, components, seed):
    """``state`` with every AVX-and-up component filled with a pattern derived from ``seed``, and those and
    x87/SSE marked present in the header (a component not marked there is set to its init state: zeros)."""
    state = bytearray(state)
    for offset, size in components.values():
        state[offset:offset + size] = bytes((seed + 7 * i) & 0xFF for i in range(size))
    bitmap = int.from_bytes(state[XSTATE_BV], "little") | 0b11
    for index in components:
        bitmap |= 1 << index
    state[XSTATE_BV] = bitmap.to_bytes(8, "little")
    return state


def upper_state(state, components):
    return {index: bytes(state[offset:offset + size]) for index, (offset, size) in components.items()}


def test_the_kernel_refuses_a_short_set_on_its_own(tracee, host_size):
    """The condition the shim exists for: without it, a short SETREGSET fails (EFAULT, as UML reports)."""
    state = raw_get(tracee, host_size)
    for size in UML_LEGACY_SIZES:
        result, error, _length = raw_set(tracee, state[:size])
        assert result == -1 and error == errno.EFAULT, (size, result, error)


@pytest.mark.parametrize("short", UML_LEGACY_SIZES)
def test_short_get_and_set_through_the_shim_keep_the_upper_state(shim, tracee, host_size, components, short):
    known = patterned(raw_get(tracee, host_size), components, seed=short)
    assert raw_set(tracee, known)[0] == 0
    buffer = task_buffer(short)

    result, error, length = regset(shim.ptrace, PTRACE_GETREGSET, tracee, buffer, short)
    assert (result, length) == (0, short), os.strerror(error)
    assert buffer.raw == bytes(known[:short])

    new_xmm0 = bytes(range(100, 116))
    ctypes.memmove(ctypes.addressof(buffer) + XMM0.start, new_xmm0, len(new_xmm0))
    result, error, _length = regset(shim.ptrace, PTRACE_SETREGSET, tracee, buffer, short)
    assert result == 0, os.strerror(error)

    after = raw_get(tracee, host_size)
    assert bytes(after[XMM0]) == new_xmm0
    assert upper_state(after, components) == upper_state(known, components)


def test_a_new_task_set_without_an_earlier_get_keeps_the_upper_state(shim, tracee, host_size, components):
    known = patterned(raw_get(tracee, host_size), components, seed=41)
    assert raw_set(tracee, known)[0] == 0
    prefix = bytearray(known[:832])
    prefix[XMM0] = b"fresh task xmm0!"
    buffer = task_buffer(832, bytes(prefix))
    assert regset(shim.ptrace, PTRACE_SETREGSET, tracee, buffer, 832)[0] == 0
    after = raw_get(tracee, host_size)
    assert bytes(after[XMM0]) == b"fresh task xmm0!"
    assert upper_state(after, components) == upper_state(known, components)


def test_each_uml_buffer_keeps_its_own_upper_state(shim, tracee, host_size, components):
    """UML passes each guest task's own register area: switching tasks restores each task's upper state."""
    task_a = task_buffer(832)
    task_b = task_buffer(832)
    state_a = patterned(raw_get(tracee, host_size), components, seed=1)
    state_b = patterned(state_a, components, seed=2)
    assert raw_set(tracee, state_a)[0] == 0
    assert regset(shim.ptrace, PTRACE_GETREGSET, tracee, task_a, 832)[0] == 0
    assert raw_set(tracee, state_b)[0] == 0
    assert regset(shim.ptrace, PTRACE_GETREGSET, tracee, task_b, 832)[0] == 0
    for buffer, expected in ((task_a, state_a), (task_b, state_b), (task_a, state_a)):
        assert regset(shim.ptrace, PTRACE_SETREGSET, tracee, buffer, 832)[0] == 0
        assert upper_state(raw_get(tracee, host_size), components) == upper_state(expected, components)


def test_full_size_calls_pass_through(shim, tracee, host_size, components):
    known = patterned(raw_get(tracee, host_size), components, seed=99)
    buffer = ctypes.create_string_buffer(bytes(known), host_size)
    assert regset(shim.ptrace, PTRACE_SETREGSET, tracee, buffer, host_size)[0] == 0
    result, _error, length = regset(shim.ptrace, PTRACE_GETREGSET, tracee, buffer, host_size)
    assert (result, length) == (0, host_size)
    assert upper_state(bytearray(buffer.raw), components) == upper_state(known, components)


def test_other_requests_reach_the_kernel_unchanged(shim, tracee):
    """A GETREGSET of another note type goes through untouched (NT_PRSTATUS: the general registers)."""
    buffer = ctypes.create_string_buffer(4096)
    iov = Iovec(ctypes.addressof(buffer), 4096)
    assert shim.ptrace(PTRACE_GETREGSET, tracee, 1, ctypes.byref(iov)) == 0
    assert iov.length == 27 * 8  # struct user_regs_struct on x86_64


def test_the_library_is_cached_by_its_source(tmp_path, monkeypatch):
    monkeypatch.setenv("LVS_LAB_CACHE_DIR", str(tmp_path))
    messages = []
    built = xstate.ensure_built(log=messages.append)
    assert built.is_file() and built.parent == tmp_path / "native"
    assert xstate.ensure_built(log=messages.append) == built
    assert len(messages) == 1  # built once, then reused


def test_the_setting_switches_the_preload(monkeypatch):
    monkeypatch.setenv(xstate.SETTING, "off")
    assert xstate.guest_environment(log=lambda *_: None) == {}
    monkeypatch.setenv(xstate.SETTING, "on")
    assert xstate.guest_environment(log=lambda *_: None)["LD_PRELOAD"].endswith(".so")
    monkeypatch.setenv(xstate.SETTING, "sometimes")
    with pytest.raises(xstate.LabError, match="LVS_LAB_XSTATE_SHIM='sometimes'"):
        xstate.guest_environment(log=lambda *_: None)


@pytest.mark.parametrize("line, expected", [
    ("lvs-lab xstate shim: UML XSAVE buffer 2696 bytes, host XSAVE area 2432 bytes: passing through",
     {"uml_buffer": 2696, "emulated": False, "host_size": 2432, "mode": "passing through"}),
    ("lvs-lab xstate shim: UML XSAVE buffer 2696 bytes, host XSAVE area 11008 bytes: adapting",
     {"uml_buffer": 2696, "emulated": False, "host_size": 11008, "mode": "adapting"}),
    ("lvs-lab xstate shim: UML XSAVE buffer 832 bytes (emulated), host XSAVE area 2432 bytes: not adapting",
     {"uml_buffer": 832, "emulated": True, "host_size": 2432, "mode": "not adapting"}),
])
def test_the_console_report_is_read_back(tmp_path, line, expected):
    log = tmp_path / "guest.log"
    log.write_text(f"Linux version 6.1.176\n{line}\nKernel command line: mem=256M\n")
    assert xstate.guest_report(log) == expected
    assert xstate.guest_report(tmp_path / "missing.log") is None
