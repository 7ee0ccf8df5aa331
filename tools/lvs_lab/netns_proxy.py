"""SSH ProxyCommand for lab guests: ``netns_proxy.py NAMESPACE HOST PORT``.

Enters the lab's network namespace, connects to HOST:PORT there and relays the connection over stdin/stdout,
so ssh and Ansible on the host reach guests without ``ip netns exec``. Standard library only, started with
``python3 -I``; it must stay small because every SSH connection starts it.
"""
import ctypes
import os
import selectors
import socket
import sys

CLONE_NEWNET = 0x40000000


def enter_namespace(name):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(os.path.join("/run/netns", name), os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {name}")
    finally:
        os.close(fd)


def relay(connection):
    selector = selectors.DefaultSelector()
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    selector.register(stdin, selectors.EVENT_READ)
    selector.register(connection, selectors.EVENT_READ)
    open_directions = 2
    while open_directions:
        for key, _events in selector.select():
            if key.fileobj == stdin:
                data = os.read(stdin, 65536)
                if data:
                    connection.sendall(data)
                else:
                    selector.unregister(stdin)
                    connection.shutdown(socket.SHUT_WR)
                    open_directions -= 1
            else:
                data = connection.recv(65536)
                if data:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(stdout, view):]
                else:
                    selector.unregister(connection)
                    open_directions -= 1
                    return


def main(argv):
    if len(argv) != 4:
        sys.stderr.write("usage: netns_proxy.py NAMESPACE HOST PORT\n")
        return 2
    namespace, host, port = argv[1], argv[2], int(argv[3])
    try:
        enter_namespace(namespace)
        connection = socket.create_connection((host, port), timeout=20)
        connection.settimeout(None)
    except OSError as exc:
        sys.stderr.write(f"lvs-lab proxy: cannot reach {host}:{port} in namespace {namespace}: {exc}\n")
        return 255
    relay(connection)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
