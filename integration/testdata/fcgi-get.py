#!/usr/bin/python3
"""Minimal FastCGI client: fcgi-get.py SOCKET_OR_HOST:PORT SCRIPT_FILENAME [REQUEST_URI]
prints the response (headers and body) and exits 0 if any FCGI_STDOUT came back."""
import socket, struct, sys
addr, script = sys.argv[1], sys.argv[2]
uri = sys.argv[3] if len(sys.argv) > 3 else "/" + script.rsplit("/", 1)[-1]
if addr.startswith("/"):
    s = socket.socket(socket.AF_UNIX); s.connect(addr)
else:
    h, p = addr.rsplit(":", 1); s = socket.create_connection((h, int(p)))
s.settimeout(5)
def rec(t, content, rid=1):
    return struct.pack("!BBHHBx", 1, t, rid, len(content), 0) + content
def nv(k, v):
    k, v = k.encode(), v.encode()
    def ln(n): return struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)
    return ln(len(k)) + ln(len(v)) + k + v
params = {"SCRIPT_FILENAME": script, "SCRIPT_NAME": uri, "REQUEST_URI": uri,
          "REQUEST_METHOD": "GET", "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1",
          "GATEWAY_INTERFACE": "CGI/1.1", "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "localhost"}
body = b"".join(nv(k, v) for k, v in params.items())
s.sendall(rec(1, struct.pack("!HB5x", 1, 0)) + rec(4, body) + rec(4, b"") + rec(5, b""))
out = b""; buf = b""
while True:
    d = s.recv(65536)
    if not d: break
    buf += d
    while len(buf) >= 8:
        ver, t, rid, clen, plen = struct.unpack("!BBHHB", buf[:7])
        if len(buf) < 8 + clen + plen: break
        content = buf[8:8 + clen]; buf = buf[8 + clen + plen:]
        if t == 6: out += content
        if t == 3: break
sys.stdout.write(out.decode(errors="replace"))
sys.exit(0 if out else 1)
