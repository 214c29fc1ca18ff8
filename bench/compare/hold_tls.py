#!/usr/bin/env python3
"""Opens N TLS connections to HOST:PORT, completes each handshake, prints "ready N" and
holds them idle until stdin closes (or the process is killed). For the memory-per-idle-
TLS-connection row of bench/compare/run.sh: sipp is the wrong tool for idle connections.

    hold_tls.py HOST PORT N
"""
import resource
import socket
import ssl
import sys


def main() -> int:
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    held = []
    for i in range(n):
        try:
            raw = socket.create_connection((host, port), timeout=10)
            held.append(ctx.wrap_socket(raw, server_hostname=host))
        except OSError as e:
            print(f"connection {i + 1} of {n} failed: {e}", file=sys.stderr)
            return 1
    print(f"ready {len(held)}", flush=True)
    sys.stdin.read()
    return 0


if __name__ == "__main__":
    sys.exit(main())
