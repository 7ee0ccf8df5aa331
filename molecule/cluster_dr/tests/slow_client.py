# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A long-lived HTTP download through a VIP: run inside the lab namespace (the client side).

    slow_client.py ADDRESS PATH RELEASE_FILE RESULT_FILE [MAX_SECONDS [PORT]]

Fetches PATH (HTTP/1.0) over one TCP connection with a small receive buffer, reading about 10 KB/s, so the
connection stays busy (an active connection in IPVS) until RELEASE_FILE exists; then it reads the rest at full
speed and closes. If the whole body arrives first, it holds the connection open until the release. Writes JSON
to RESULT_FILE: the server (X-Served-By) as soon as the headers arrive, then status, the body's length and
Content-Length, the sha256 of the body, whether it ended cleanly, and the time of the close. Standard library only.
"""

import hashlib
import json
import os
import socket
import sys
import time


def write(path, result):
    with open(path + ".tmp", "w") as handle:
        json.dump(result, handle)
    os.rename(path + ".tmp", path)


def main():
    address, path, release, out = sys.argv[1:5]
    deadline = time.time() + (float(sys.argv[5]) if len(sys.argv) > 5 else 240)
    port = int(sys.argv[6]) if len(sys.argv) > 6 else 80
    result = {"started": time.time(), "served_by": None, "status": None, "error": None}
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(30)
    data = b""
    eof = False
    try:
        sock.connect((address, port))
        sock.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: lvs-drain-test\r\n\r\n" % (path, address)).encode())
        headers = None
        while time.time() < deadline:
            released = os.path.exists(release)
            if eof:
                if released:
                    break
                time.sleep(0.2)
                continue
            chunk = sock.recv(65536 if released else 1024)
            if not chunk:
                eof = True
                continue
            data += chunk
            if headers is None and b"\r\n\r\n" in data:
                headers, _sep, _rest = data.partition(b"\r\n\r\n")
                lines = headers.decode("latin-1").split("\r\n")
                result["status"] = int(lines[0].split()[1])
                fields = dict((k.strip().lower(), v.strip()) for k, _c, v in (l.partition(":") for l in lines[1:]))
                result["served_by"] = fields.get("x-served-by")
                result["content_length"] = int(fields.get("content-length", -1))
                write(out, result)
            if not released:
                time.sleep(0.1)
        else:
            result["error"] = "not released within the time limit"
    except OSError as exc:
        result["error"] = "%s: %s" % (type(exc).__name__, exc)
    finally:
        sock.close()
    body = data.partition(b"\r\n\r\n")[2]
    result.update(length=len(body), sha256=hashlib.sha256(body).hexdigest(), closed=time.time(), eof=eof)
    write(out, result)


if __name__ == "__main__":
    main()
