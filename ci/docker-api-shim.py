#!/usr/bin/env python3
"""docker-api-shim: unix-socket proxy in front of an older Docker engine.

What it does
    Listens on LISTEN_SOCKET and relays every connection to the Docker engine
    on ENGINE_SOCKET. In each HTTP/1.x request line it rewrites the Engine API
    version prefix, /vX.Y/..., down to MAX_API_VERSION when X.Y is higher;
    requests without a prefix or at/below the maximum, headers, bodies and all
    responses are relayed byte for byte. Upgraded (hijacked) connections -
    exec, attach - become raw two-way pipes after the upgrade request. The
    listening socket gets the owner, group and mode of the engine socket.

Why it exists
    testcontainers-rs 0.27 (bollard 0.20) always speaks Engine API 1.52 and
    does not negotiate down; Debian bookworm's docker.io (20.10) stops at API
    1.41 and answers such requests with "client version 1.52 is too new".
    ci/docker-up starts this shim in front of such an engine (on
    /var/run/docker.sock when it started dockerd itself, else on a separate
    compat socket) so the Rust tests can use the distribution's engine.

Usage
    python3 docker-api-shim.py LISTEN_SOCKET ENGINE_SOCKET MAX_API_VERSION
    e.g. docker-api-shim.py /var/run/docker.sock /var/run/docker-engine.sock 1.41
    Runs in the foreground until killed; prints one line once it listens.
    An existing file at LISTEN_SOCKET is removed first.

Limits
    Only the version in the URL is translated: request and response bodies
    are not, so fields or endpoints that the older engine does not know are
    ignored or rejected by it exactly as they would be for an old client.
    Unix sockets only (no TCP, no TLS). HTTP/1.x only; request heads are
    limited to 1 MiB. The /version and /_ping answers still report the
    engine's own API version. No access control beyond the socket's file
    permissions. No logging per request.
"""
import asyncio
import os
import re
import sys

if len(sys.argv) != 4:
    sys.exit("usage: docker-api-shim.py LISTEN_SOCKET ENGINE_SOCKET MAX_API_VERSION")
LISTEN, ENGINE, MAX = sys.argv[1], sys.argv[2], sys.argv[3]
MAX_T = tuple(int(x) for x in MAX.split("."))
REQ = re.compile(rb"^([A-Z]+) /v(\d+)\.(\d+)(/\S*) (HTTP/1\.[01])$")
LIMIT = 1 << 20


async def copy_exact(r, w, n):
    while n > 0:
        data = await r.read(min(n, 65536))
        if not data:
            raise EOFError
        w.write(data)
        n -= len(data)
        await w.drain()


async def copy_chunked(r, w):
    while True:
        line = await r.readuntil(b"\r\n")
        w.write(line)
        size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while True:  # trailers, then the empty line
                t = await r.readuntil(b"\r\n")
                w.write(t)
                if t == b"\r\n":
                    break
            await w.drain()
            return
        await copy_exact(r, w, size + 2)  # data + CRLF


def half_close(w):
    try:
        if w.can_write_eof():
            w.write_eof()
    except (ConnectionError, OSError, RuntimeError):
        pass


async def pipe(r, w):
    try:
        while True:
            data = await r.read(65536)
            if not data:
                break
            w.write(data)
            await w.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        half_close(w)


async def requests(cr, sw):
    """client -> engine: HTTP/1.1 requests, request line rewritten."""
    try:
        while True:
            try:
                head = await cr.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as e:
                if e.partial:
                    sw.write(e.partial)
                break
            first, _, rest = head.partition(b"\r\n")
            m = REQ.match(first)
            if m and (int(m[2]), int(m[3])) > MAX_T:
                first = b"%s /v%s%s %s" % (m[1], MAX.encode(), m[4], m[5])
            sw.write(first + b"\r\n" + rest)
            hdrs = {}
            for line in rest.split(b"\r\n"):
                k, sep, v = line.partition(b":")
                if sep:
                    hdrs[k.strip().lower()] = v.strip().lower()
            if b"chunked" in hdrs.get(b"transfer-encoding", b""):
                await copy_chunked(cr, sw)
            elif int(hdrs.get(b"content-length", b"0") or 0) > 0:
                await copy_exact(cr, sw, int(hdrs[b"content-length"]))
            await sw.drain()
            if b"upgrade" in hdrs or b"upgrade" in hdrs.get(b"connection", b""):
                await pipe(cr, sw)  # hijacked stream from here on
                return
    except (ConnectionError, OSError, EOFError, asyncio.IncompleteReadError, ValueError):
        pass
    half_close(sw)


async def handle(cr, cw):
    try:
        sr, sw = await asyncio.open_unix_connection(ENGINE, limit=LIMIT)
    except OSError as e:
        body = ('{"message":"docker-api-shim: engine %s unreachable: %s"}' % (ENGINE, e)).encode()
        cw.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        cw.close()
        return
    await asyncio.gather(requests(cr, sw), pipe(sr, cw), return_exceptions=True)
    for w in (sw, cw):
        try:
            w.close()
        except Exception:
            pass


async def main():
    if os.path.exists(LISTEN):
        os.unlink(LISTEN)
    server = await asyncio.start_unix_server(handle, path=LISTEN, limit=LIMIT)
    try:
        st = os.stat(ENGINE)  # same owner/group/mode as the engine socket
        os.chown(LISTEN, st.st_uid, st.st_gid)
        os.chmod(LISTEN, st.st_mode & 0o777)
    except OSError:
        os.chmod(LISTEN, 0o660)
    print("docker-api-shim: %s -> %s (requests above API %s rewritten)" % (LISTEN, ENGINE, MAX), flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
