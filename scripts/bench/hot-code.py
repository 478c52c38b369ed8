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

  hot-code.py list CALLGRIND_OUT MAPS LINK_MAPS OUT_DIR BINARY PLUGIN...
      the functions whose instructions callgrind saw run, in the binary and
      in each plugin, found by address (the host loads plugins from
      in-memory copies that valgrind cannot name; MAPS, a copy of
      /proc/PID/maps taken during the run, says where each file was
      mapped), written to OUT_DIR/<file>.txt for each file (lwsws.txt,
      libprotocol_x.txt), one mangled symbol per line, phase by phase
      (CALLGRIND_OUT.2: what ran after start-up, then CALLGRIND_OUT.1:
      start-up, then CALLGRIND_OUT itself), each phase's new functions in
      the file's address order: the linker's symbol ordering file. And,
      where LINK_MAPS has the linker's map of the file (<file>.map), the
      read-only data the code of the first listed phase read
      (OUT_DIR/<file>.ld, see `hot_data`).
"""
import base64
import bisect
import os
import re
import struct
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


def kept_alive_get(port, path):
    """GET `path` as curl does: the request whole, the connection kept
    alive, and closed by the client once the answer is in."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8.14.1\r\nAccept: */*\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += s.recv(65536)
    head, body = reply.split(b"\r\n\r\n", 1)
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    if b" 200 " not in head.split(b"\r\n", 1)[0] or not length:
        raise SystemExit(f"hot-code: kept-alive GET {path}: {head[:80]!r}")
    while len(body) < int(length.group(1)):
        body += s.recv(65536)
    s.close()
    time.sleep(0.3)


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
    has run (the page, as a client sends it whole and in pieces, a second
    request on the connection, the timers of a few idle seconds, the
    release of start-up's pages a second after ready), and everything
    else. `list` lays the code out phase
    by phase, the second first: the code an idle server runs is together
    first, then what only start-up ran (whose pages the server lets go of
    once ready), then what only later features run."""
    dump(pid, "start-up")
    # the first request as curl or a browser sends it: whole, on a
    # connection kept alive that the client closes after the answer
    kept_alive_get(port, "/")
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


def link_map(path):
    """[(address, size, output section, input section name, input file)]
    of a linker map written by LLD (`-Map`), by address."""
    secs, out = [], None
    for line in open(path, errors="replace"):
        p = line.split(None, 4)
        if len(p) < 5 or not re.fullmatch(r"[0-9a-f]+", p[0]):
            continue
        name = p[4].strip()
        m = re.search(r"^(.*):\((\S+)\)$", name)
        if m:
            secs.append((int(p[0], 16), int(p[2], 16), out, m.group(2), m.group(1)))
        elif name.startswith(".") and " " not in name:
            out = name
    return sorted(secs)


def elf_sections(path):
    """{name: (address, file offset, size)} of an ELF file's sections."""
    out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        m = re.search(r"\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if m:
            found[m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16), int(m.group(4), 16))
    return found


def reader(path, sections):
    """The bytes of an ELF file's loaded sections (`elf_sections`), by
    address."""
    spans = [s for n, s in sections.items() if s[0] and n not in (".bss", ".tbss")]
    data = open(path, "rb").read()

    def read(addr, n):
        for a, off, size in spans:
            if a <= addr and addr + n <= a + size:
                return data[off + addr - a:off + addr - a + n]
        return b""
    return read


def pointers(sections, read):
    """{address: the address stored there} for each pointer of an ELF
    file that the loader relocates by the load address: the packed
    relative relocations (DT_RELR, `-z pack-relative-relocs`, which lwsws
    and the plugins are linked with), whose addends are in place. Any
    other word of the data could be a number that only looks like an
    address. `sections` and `read` as from `elf_sections` and `reader`."""
    relr = sections.get(".relr.dyn")
    if relr is None:
        return {}
    packed = read(relr[0], relr[2])
    where, base = [], 0
    for (entry,) in struct.iter_unpack("<Q", packed[:len(packed) - len(packed) % 8]):
        if entry & 1 == 0:
            where.append(entry)
            base = entry + 8
        else:
            for bit in range(63):
                if entry >> (bit + 1) & 1:
                    where.append(base + bit * 8)
            base += 63 * 8
    found = {}
    for addr in where:
        word = read(addr, 8)
        if word:
            found[addr] = struct.unpack_from("<Q", word)[0]
    return found


RODATA = (".rodata", ".rodata.hot")


def hot_data(path, map_path, ran):
    """The input sections of read-only data that the instructions in `ran`
    (addresses in the file) name: a string, a jump table, a table, or a
    constant of the relocated read-only data (format strings' pieces,
    tracing's call sites, tables of strings) or a relative lookup table
    whose entries lead on, which are followed to their end (`targets`). Only sections whose name is the
    file's alone can be named to the linker: a function's jump tables
    (`.rodata.<symbol>`), an anonymous constant (`.rodata..L<hash>.<n>`),
    and the merged constants (`.rodata.cst16`, and `.rodata.str1.1`, where
    rustc puts the templates of `format!` strings); C files' plain
    `.rodata` stays where it is (rustc's, a few bytes, goes by its file).
    [(linker script rule, size)] in address order."""
    secs = link_map(map_path)
    starts = [s[0] for s in secs]
    count = {}
    for s in secs:
        count[s[3]] = count.get(s[3], 0) + 1

    def section(addr):
        i = bisect.bisect_right(starts, addr) - 1
        if i >= 0 and addr < secs[i][0] + max(secs[i][1], 1):
            return i
        return None
    dis = subprocess.run(["objdump", "-d", "-w", "--no-show-raw-insn", path],
                         capture_output=True, text=True, check=True).stdout
    hit = set()
    for line in dis.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\t.*# ([0-9a-f]+)", line)
        if m and int(m.group(1), 16) in ran:
            i = section(int(m.group(2), 16))
            if i is not None:
                hit.add(i)
    sections = elf_sections(path)
    read = reader(path, sections)
    relocated = sorted(pointers(sections, read).items())
    at = [r[0] for r in relocated]

    def targets(i):
        """Where the constant in section `i` points: its relocated
        pointers, or, in a relative lookup table (`.Lswitch.table.*.rel`,
        LLVM's table of 32-bit offsets from its own start), its entries."""
        addr, size, out, name = secs[i][:4]
        if out == ".data.rel.ro":
            lo, hi = bisect.bisect_left(at, addr), bisect.bisect_left(at, addr + size)
            return [t for _, t in relocated[lo:hi]]
        if name.endswith(".rel"):
            table = read(addr, size - size % 4)
            return [addr + v for (v,) in struct.iter_unpack("<i", table)]
        return []
    todo = list(hit)
    while todo:
        i = todo.pop()
        for target in targets(i):
            j = section(target)
            if j is not None and j not in hit:
                hit.add(j)
                todo.append(j)
    rules = []
    for i in sorted(hit):
        sec = secs[i]
        if sec[2] not in RODATA:
            continue
        if count[sec[3]] == 1 and sec[3].startswith(".rodata."):
            rules.append((f"*({sec[3]})", sec[1]))
        elif sec[3] == ".rodata" and sec[4].endswith(".rcgu.o"):
            # what rustc put in plain `.rodata` (a few bytes): by its file
            rules.append(("*.rcgu.o(.rodata)", sec[1]))
    return rules


def data_script(out, name, rules):
    """OUT/<name>.ld: a linker script that puts the sections of `rules`
    (from `hot_data`) first, in an output section of their own before
    `.rodata`; a rule twice (by file) is written once."""
    with open(os.path.join(out, name + ".ld"), "w") as w:
        w.write("/* Made by scripts/hot-code: the read-only data the code an idle\n"
                "   server runs reads, together before the rest (see link/order.rs). */\n"
                "SECTIONS {\n  .rodata.hot : {\n")
        for rule in dict.fromkeys(r for r, _ in rules):
            w.write(f"    {rule}\n")
        w.write("  }\n} INSERT BEFORE .rodata;\n")


def listing(cg, maps, link_maps, out, files):
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
        placed, sizes, loaded, first = set(), [], False, None
        for ran in phases:
            if f in ran:
                at, base = sorted(ran[f]), 0
            elif f in bases:
                at, base = sorted(ran.get("???", ())), bases[f]
            else:
                continue
            loaded = True
            hit = set()
            mine = [a - base for a in at[bisect.bisect_left(at, base):bisect.bisect_left(at, base + end)]]
            if first is None:
                first = set(mine)
            for v in mine:
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
        map_path = os.path.join(link_maps, name + ".map")
        if first and os.path.exists(map_path):
            data = hot_data(f, map_path, first)
            data_script(out, name, data)
            print(f"  {'':40} {len(data):5} sections of read-only data it reads, "
                  f"{sum(d[1] for d in data) // 1024:5} KiB")
        with open(os.path.join(out, name + ".txt"), "w") as w:
            for sym in order:
                if sym not in seen:
                    seen.add(sym)
                    w.write(sym + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["drive"]:
        drive(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1:2] == ["list"]:
        listing(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:])
    else:
        raise SystemExit(__doc__)
