#!/usr/bin/env python3
"""Helpers of scripts/hot-code (not run by hand).

  hot-code.py drive PORT CONFIG_DIR PID
      what a running server on the bundled config does in its first minutes:
      the test page and its files, a form POST, a packet POSTed and read
      back by a WebSocket subscriber, the dumb-increment and mirror
      WebSockets, the status pages; and what valgrind's pace would hide: a
      request that arrives in pieces, after the server has waited for it (a
      real client is slower than a server under valgrind), a second request
      on a kept-alive connection, and an editor's backup file written
      into conf.d and removed, which the config watcher hears of (and
      ignores). In three phases (see `drive`), each closed by a dump of
      callgrind's profile.

  hot-code.py list CALLGRIND_OUT MAPS OUT_DIR BINARY PLUGIN...
      the functions whose instructions callgrind saw run, in the binary and
      in each plugin, found by address (the host loads plugins from
      in-memory copies that valgrind cannot name; MAPS, a copy of
      /proc/PID/maps taken during the run, says where each file was
      mapped), written to OUT_DIR/<file>.txt for each file (lwsws.txt,
      libprotocol_x.txt), one mangled symbol per line, phase by phase
      (CALLGRIND_OUT.2: what ran after start-up, then CALLGRIND_OUT.1:
      start-up, then CALLGRIND_OUT itself), each phase's new functions in
      the file's address order: the linker's symbol ordering file.
"""
import base64
import bisect
import os
import socket
import subprocess
import sys
import time


def http(port, method, path, body=b"", headers=()):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = [f"{method} {path} HTTP/1.1", "Host: localhost", "Connection: close",
            f"Content-Length: {len(body)}", *headers, "", ""]
    s.sendall("\r\n".join(head).encode() + body)
    reply = b""
    while chunk := s.recv(65536):
        reply += chunk
    s.close()
    status = reply.split(b"\r\n", 1)[0].decode(errors="replace")
    if " 200 " not in status + " ":
        print(f"hot-code: {method} {path}: {status}", file=sys.stderr)
    return reply


class Ws:
    """A minimal WebSocket client: enough to open, send one text message and
    read frames."""

    def __init__(self, port, path, protocol):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {protocol}\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                raise SystemExit(f"hot-code: {protocol}: closed during the handshake")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise SystemExit(f"hot-code: {protocol}: {head.splitlines()[0]!r}")

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        assert len(data) < 126
        self.s.sendall(bytes([0x81, 0x80 | len(data)]) + mask +
                       bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise SystemExit("hot-code: a WebSocket closed early")
            self.buf += chunk

    def recv(self):
        self._need(2)
        n = self.buf[1] & 0x7F
        at = 2
        if n == 126:
            self._need(4)
            n, at = int.from_bytes(self.buf[2:4], "big"), 4
        elif n == 127:
            self._need(10)
            n, at = int.from_bytes(self.buf[2:10], "big"), 10
        self._need(at + n)
        payload, self.buf = self.buf[at:at + n], self.buf[at + n:]
        return payload

    def close(self):
        self.s.sendall(bytes([0x88, 0x80]) + os.urandom(4))
        self.s.close()


def slow_get(port, path):
    """GET `path` the way a real client's request reaches a native server:
    after the server has found nothing to read, in two pieces, then
    another request on the same connection."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    time.sleep(0.3)
    s.sendall(f"GET {path} HTTP/1.1\r\n".encode())
    time.sleep(0.3)
    s.sendall(b"Host: localhost\r\n\r\n")
    time.sleep(0.3)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
    reply = b""
    while chunk := s.recv(65536):
        reply += chunk
    s.close()
    if reply.count(b" 200 OK") != 2:
        print(f"hot-code: slow GET {path}: {reply[:60]!r}", file=sys.stderr)


def drive(port, config_dir, pid):
    """The scenario, in three phases, each closed by a dump of the profile
    (`callgrind_control -d`, which interrupts the server even while it
    waits): start-up, what an idle server that served its test page once
    has run (the page, a second request on the connection, the timers of a
    few idle seconds), and everything else. `list` lays the code out phase
    by phase, the second first: the code an idle server runs is together
    first, then what only start-up ran (whose pages the server lets go of
    once ready), then what only later features run."""
    dump(pid, "start-up")
    slow_get(port, "/")
    # lws-server-status's timer ("update-ms": 5000 in the bundled config)
    # and the other periodic work of an idle server
    time.sleep(6)
    dump(pid, "first request, idle")
    backup = os.path.join(config_dir, "conf.d", "test-server~")
    with open(backup, "wb") as f:
        f.write(b"{}")
    os.unlink(backup)
    for path in ("/", "/test.js", "/test.css", "/server-status/", "/formtest2/stats"):
        http(port, "GET", path)
    form = b"text=hello+there&send=Send"
    http(port, "POST", "/formtest", form, ["Content-Type: application/x-www-form-urlencoded"])
    sub = Ws(port, "/", "packet-subscribe")
    http(port, "POST", "/formtest2", b'{"device":"ctrl-0042","seq":1}',
         ["Content-Type: application/json"])
    if b"ctrl-0042" not in sub.recv():
        raise SystemExit("hot-code: the subscriber did not get the packet")
    sub.close()
    inc = Ws(port, "/", "dumb-increment-protocol")
    inc.recv()
    inc.close()
    mirror = Ws(port, "/", "lws-mirror-protocol")
    mirror.send("d #000000 1 2 3 4;")
    mirror.recv()
    mirror.close()
    status = Ws(port, "/", "lws-status")
    status.recv()
    status.close()
    time.sleep(1)


def dump(pid, phase):
    r = subprocess.run(["callgrind_control", "-d", phase, str(pid)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"hot-code: callgrind_control -d failed: {r.stdout}{r.stderr}")


def symbols(path):
    """(address, size, name) of each function in an ELF file, by address."""
    out = subprocess.run(["nm", "-S", "--defined-only", path], capture_output=True,
                         text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        p = line.split()
        if len(p) == 4 and p[2] in "tTwW":
            syms.append((int(p[0], 16), int(p[1], 16), p[3]))
    return sorted(syms)


def executed(path):
    """{object: every instruction address it ran} from a callgrind profile
    written with --dump-instr=yes --compress-pos=no: the code that ran,
    whatever callgrind made of function boundaries (it cannot see a tail
    call into a function of a file it has no symbols for, such as a
    plugin's in-memory copy). Callgrind gives a file it knows by the
    addresses in the file (its load bias taken off), and the files it does
    not know ("???") by their addresses in the process."""
    names, ran, current = {}, {}, None
    for line in open(path, errors="replace"):
        if line.startswith("0x"):
            ran[current].add(int(line.split(None, 1)[0], 16))
        elif line.startswith(("ob=", "cob=")):
            key, _, rest = line.rstrip("\n").partition("=")
            ob, _, name = rest.partition(" ")
            if name:
                names[ob] = name
            if key == "ob":
                current = ob
                ran.setdefault(current, set())
    return {names.get(ob, ob): at for ob, at in ran.items()}


def load_bases(maps, files):
    """{file: load address} from a copy of /proc/PID/maps: where the mapping
    of each file's first page starts (the binary by its path, a plugin by
    its in-memory copy's name)."""
    bases = {}
    for line in open(maps):
        p = line.split()
        if len(p) < 6 or p[2] != "00000000":
            continue
        for f in files:
            if p[5] == f or p[5].endswith(f"memfd:{os.path.basename(f)}"):
                bases.setdefault(f, int(p[0].split("-")[0], 16))
    return bases


def profiles(cg):
    """The profile's dumps in the order they were written: CG.1, CG.2, ...
    (one per `callgrind_control -d`), then CG (the rest, written at exit)."""
    d, base = os.path.split(cg)
    parts = [f for f in os.listdir(d or ".") if f.startswith(base + ".") and f[len(base) + 1:].isdigit()]
    parts.sort(key=lambda f: int(f[len(base) + 1:]))
    return [os.path.join(d, f) for f in parts] + [cg]


def listing(cg, maps, out, files):
    phases = [executed(p) for p in profiles(cg)]
    # What a started server goes on running first, then what only starting
    # ran: the host lets go of its pages once ready (host/ffi/resident.rs),
    # and the code it faults back in is then the first part alone.
    if len(phases) > 1:
        phases[0], phases[1] = phases[1], phases[0]
    bases = load_bases(maps, files)
    for f in files:
        order = []
        syms = symbols(f)
        starts = [s[0] for s in syms]
        end = max(s[0] + s[1] for s in syms)
        placed, sizes, loaded = set(), [], False
        for ran in phases:
            if f in ran:
                at, base = sorted(ran[f]), 0
            elif f in bases:
                at, base = sorted(ran.get("???", ())), bases[f]
            else:
                continue
            loaded = True
            hit = set()
            for a in at[bisect.bisect_left(at, base):bisect.bisect_left(at, base + end)]:
                v = a - base
                i = bisect.bisect_right(starts, v) - 1
                if i >= 0 and v < syms[i][0] + max(syms[i][1], 1):
                    # with every other name of that code (aliases): the
                    # linker may know it by any of them
                    j = i
                    while j >= 0 and syms[j][0] == syms[i][0]:
                        hit.add(j)
                        j -= 1
            # a phase's code in the file's address order, after the code
            # of the phases before it
            hot = [syms[i] for i in sorted(hit - placed)]
            placed |= hit
            order += [s[2] for s in hot]
            sizes.append(sum(s[1] for s in hot))
        if not loaded:
            print(f"  {os.path.basename(f):40} not loaded during the run", file=sys.stderr)
            continue
        by_phase = " + ".join(f"{n / 1024:.0f}" for n in sizes)
        print(f"  {os.path.basename(f):40} {len(placed):5} functions ran, {sum(sizes) // 1024:5} KiB of code"
              f" (by phase: {by_phase})")
        # one list per file: `lwsws.txt`, `libprotocol_x.txt`
        seen = set()
        name = os.path.basename(f).split(".so")[0]
        with open(os.path.join(out, name + ".txt"), "w") as w:
            for sym in order:
                if sym not in seen:
                    seen.add(sym)
                    w.write(sym + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["drive"]:
        drive(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1:2] == ["list"]:
        listing(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        raise SystemExit(__doc__)
