"""The lightest protocol agent (for bench_agent_io.py): answers every step with a fixed road
action at once, reading frames with the plain json/msgpack modules (no numpy, no dataclasses),
so the round trip measured is the protocol's own cost. ``python echo_agent.py [json|msgpack]``.
"""

import json
import os
import struct
import sys

framing = sys.argv[1] if len(sys.argv) > 1 else "json"
out = sys.stdout.buffer
hello = {"type": "hello", "protocol": 1, "name": "echo", "version": "1", "framing": framing}
out.write(json.dumps(hello).encode() + b"\n")
out.flush()
ACTION = {"accel_mps2": 0.0, "steer_rad": 0.0}
fd = sys.stdin.fileno()
buf = b""
if framing == "msgpack":
    import msgpack

    def frames():
        global buf
        while True:
            while len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">I", buf[:4])[0]:
                n = struct.unpack(">I", buf[:4])[0]
                body, buf = buf[4 : 4 + n], buf[4 + n :]
                yield msgpack.unpackb(body)
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return
            buf += chunk

    def send(msg):
        body = msgpack.packb(msg)
        out.write(struct.pack(">I", len(body)) + body)
        out.flush()
else:

    def frames():
        global buf
        while True:
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                yield json.loads(line)
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return
            buf += chunk

    def send(msg):
        out.write(json.dumps(msg).encode() + b"\n")
        out.flush()


for msg in frames():
    if msg["type"] == "reset":
        send({"type": "ready"})
    elif msg["type"] == "step":
        send({"type": "action", "seq": msg["seq"], "action": ACTION})
    elif msg["type"] == "close":
        break
