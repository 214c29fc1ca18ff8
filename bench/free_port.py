#!/usr/bin/env python3
"""Prints a free loopback port (TCP and UDP) below the kernel's ephemeral range (32768
and up), where an outgoing connection may take a port between this check and the
server's bind."""
import random
import socket

for _ in range(1000):
    port = random.randrange(10000, 32000)
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            with socket.socket(socket.AF_INET, kind) as s:
                s.bind(("127.0.0.1", port))
    except OSError:
        continue
    print(port)
    break
else:
    raise SystemExit("no free loopback port between 10000 and 32000")
