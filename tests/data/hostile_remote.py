"""A road agent over the protocol that misbehaves on purpose: ``python hostile_remote.py MODE``.

Modes: good, hang, exit, flood, stderr, huge, fork PIDFILE, garbage, nan, wrongshape,
wrongseq, slow, noread, cpu, memory, wrongproto, netprobe PORT, envprobe, forkhang PIDFILE,
bigint, deep, longname, mkdir DIR.
"""

import json
import os
import socket
import subprocess
import sys
import time

mode = sys.argv[1]
arg = sys.argv[2] if len(sys.argv) > 2 else ""
name = "hostile-" + mode
if mode == "longname":
    name = "n" * 15_000_000
if mode == "netprobe":
    try:
        socket.create_connection(("127.0.0.1", int(arg)), timeout=2).close()
        name = "net-ok"
    except OSError:
        name = "net-denied"
if mode == "envprobe":
    name = "env-" + ("leaked" if "PGROUND_TEST_SECRET" in os.environ else "clean")
    name += "-cwd-" + ("own" if "pground-agent-" in os.getcwd() else "shared")


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


if mode == "noread":
    send({"type": "hello", "protocol": 1, "name": name, "version": "0"})
    time.sleep(3600)
send({"type": "hello", "protocol": 2 if mode == "wrongproto" else 1, "name": name, "version": "0"})
if mode in ("fork", "forkhang"):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    with open(arg, "w") as fh:
        fh.write(f"{child.pid}\n")
steps = 0
for line in sys.stdin:
    msg = json.loads(line)
    if msg["type"] == "reset":
        send({"type": "ready"})
        continue
    if msg["type"] == "close":
        break
    steps += 1
    action = {"accel_mps2": 0.0, "steer_rad": 0.0}
    if steps >= 5:
        if mode in ("hang", "forkhang"):
            time.sleep(3600)
        if mode == "exit":
            sys.exit(7)
        if mode == "flood":
            while True:
                sys.stdout.write("x" * 65536)
        if mode == "garbage":
            sys.stdout.write("this is not json\n")
            sys.stdout.flush()
            continue
        if mode == "bigint":  # a number no float can hold
            sys.stdout.write(
                f'{{"type":"action","seq":{msg["seq"]},"action":{{"accel_mps2":1{"0" * 400}}}}}\n'
            )
            sys.stdout.flush()
            continue
        if mode == "deep":  # nesting no parser should recurse into
            sys.stdout.write("[" * 200_000 + "]" * 200_000 + "\n")
            sys.stdout.flush()
            continue
        if mode == "mkdir" and steps == 5:  # the run's own output folder, made under its feet
            os.makedirs(arg, exist_ok=True)
            with open(os.path.join(arg, "manifest.json"), "w") as fh:
                fh.write("{}")
        if mode == "wrongshape":
            send({"type": "action", "seq": msg["seq"], "action": {"accel": 1.0}})
            continue
        if mode == "wrongseq":
            send({"type": "action", "seq": msg["seq"] + 5, "action": action})
            continue
        if mode == "cpu":
            while True:
                pass
        if mode == "memory":
            hog = bytearray(2 << 30)  # 2 GiB
            hog[::4096] = b"x" * len(hog[::4096])
    if mode == "stderr":
        sys.stderr.write("e" * 200_000 + "\n")
        sys.stderr.flush()
    if mode == "huge":
        action["accel_mps2"] = 1e9
    if mode == "nan" and steps >= 5:
        action["accel_mps2"] = None
    if mode == "slow" and steps % 5 == 0:
        time.sleep(0.3)
    send({"type": "action", "seq": msg["seq"], "action": action})
