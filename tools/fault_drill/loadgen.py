"""Bounded client load through every VIP, run inside the lab namespace (``lvs-lab exec -- python3 loadgen.py``).

Standard library only. Each URL gets a request started every ``--interval`` seconds on a fixed schedule,
whether the previous one finished or not (a lost SYN must not hide the requests behind it), each on a new TCP
connection with ``--timeout`` seconds to answer 200. Ends by itself after ``--duration`` seconds, after
``--max-requests`` requests in all, or soon after the file ``--stop-file`` appears; then writes one JSON
document: per URL every request's start time (the host clock, as the drill's), whether it succeeded, and for a
failure its error.
"""
import argparse
import http.client
import json
import os
import threading
import time
import urllib.parse


def fetch(url, timeout):
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        connection.request("GET", parts.path or "/", headers={"Connection": "close"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            return f"HTTP {response.status}"
        return None
    except (OSError, http.client.HTTPException) as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    finally:
        connection.close()


def run(urls, interval, timeout, duration, max_requests, stop_file):
    results = {url: [] for url in urls}
    lock = threading.Lock()
    threads = []
    started = time.time()
    count = 0
    slot = 0
    while True:
        due = started + slot * interval
        now = time.time()
        if now - started >= duration or count >= max_requests or (stop_file and os.path.exists(stop_file)):
            break
        if due > now:
            time.sleep(due - now)
        for url in urls:
            def one(url=url, begin=time.time()):
                error = fetch(url, timeout)
                with lock:
                    results[url].append([round(begin, 3), error is None, error])
            thread = threading.Thread(target=one, daemon=True)
            thread.start()
            threads.append(thread)
            count += 1
        threads = [thread for thread in threads if thread.is_alive()]
        slot += 1
    for thread in threads:
        thread.join(timeout + 1)
    for rows in results.values():
        rows.sort()
    return {"started": started, "ended": time.time(), "interval": interval, "timeout": timeout, "requests": results}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", action="append", required=True)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=240.0)
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument("--stop-file")
    parser.add_argument("--output", required=True)
    arguments = parser.parse_args()
    report = run(arguments.url, arguments.interval, arguments.timeout, arguments.duration, arguments.max_requests,
                 arguments.stop_file)
    temporary = arguments.output + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(report, handle)
    os.replace(temporary, arguments.output)


if __name__ == "__main__":
    main()
