#!/usr/bin/env python3
"""A supervisor driving a qis-edge agent over its stdio protocol, ndjson framing (docs/stdio.md).

Standard library only:

    python3 examples/supervisor.py [-n COUNT] [--hold] [-- AGENT_COMMAND...]

AGENT_COMMAND defaults to ``qis-edge run --stdio``. The supervisor starts the agent, waits for
its ``ready`` event, feeds COUNT observations (default 1000) from a writer thread while the
main thread reads what comes back (acks, errors, synthesis events), asks for ``stats``, then
closes the agent's stdin: the agent flushes, closes and exits 0. Exit status 0 when every
observation was acked, no request failed and the agent exited 0.

``--hold`` keeps the agent running after the stats (stdin left open) until this process is
killed: the agent notices its parent's death and exits, never an orphan.

Writing and reading run concurrently: the agent stops reading stdin while its stdout is not
read (flow control), so a supervisor that only writes could otherwise block forever.
"""
import argparse
import json
import subprocess
import sys
import threading
import time


def observations(count):
    for i in range(count):
        obs = {
            "op": "observe",
            "id": i,
            "domain": "hvac",
            "problemClass": "energy-anomaly" if i % 2 else "compressor-wear",
            "outcomeDelta": ((i % 200) - 100) / 100.0,
            "confidence": 0.5 + (i % 50) / 100.0,
            "nObservations": 1 + i % 100,
        }
        if i % 10 == 0:
            obs["context"] = [21.5, 0.25, -3.0]
            obs["conclusion"] = "filter clogged"
        yield obs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--count", type=int, default=1000)
    ap.add_argument("-q", "--quiet", action="store_true")
    ap.add_argument("--hold", action="store_true", help="keep the agent running until killed")
    ap.add_argument("command", nargs="*", default=["qis-edge", "run", "--stdio"])
    args = ap.parse_args()

    agent = subprocess.Popen(args.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    out = agent.stdout

    ready = json.loads(out.readline() or b"null")
    if not ready or ready.get("event") != "ready":
        print(f"supervisor: no ready event from the agent (got {ready!r}); exit {agent.wait()}", file=sys.stderr)
        return 1
    print(f"ready: node {ready['nodeId']}, pid {ready.get('pid')}, native {ready.get('native')}", flush=True)

    def writer():
        try:
            batch = []
            for obs in observations(args.count):
                batch.append(json.dumps(obs, separators=(",", ":")))
                if len(batch) == 256:
                    agent.stdin.write(("\n".join(batch) + "\n").encode())
                    batch = []
            batch.append(json.dumps({"op": "stats", "id": "final-stats"}))
            agent.stdin.write(("\n".join(batch) + "\n").encode())
        except BrokenPipeError:
            print("supervisor: the agent stopped reading", file=sys.stderr)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()

    acks = errors = synthesis = 0
    stats = None
    for line in out:
        msg = json.loads(line)
        event = msg.get("event")
        if event == "ack" and msg.get("op") == "observe":
            acks += 1
            if not args.quiet and msg.get("id", 99) < 3:
                print(f"ack {msg['id']}: {msg['address']} seq {msg['seq']} cursor {msg['cursor']}")
        elif event == "ack" and msg.get("id") == "final-stats":
            stats = msg["stats"]
            print(f"stats: observed {stats['observed']}, store size {stats['store']['size']}, "
                  f"dropped events {msg['stdio']['dropped']}", flush=True)
            break
        elif event == "error":
            errors += 1
            print(f"error {msg.get('code')} (id {msg.get('id')}, line {msg.get('line')}): {msg.get('reason')}", file=sys.stderr)
        elif event == "synthesis":
            if not args.quiet and synthesis < 3:
                print(f"synthesis: {msg['address']} estimate {msg['estimate']:.3f} confidence {msg['confidence']:.3f}")
            synthesis += 1
    thread.join()

    if args.hold:
        print(f"holding: agent pid {agent.pid}", flush=True)
        while True:
            time.sleep(3600)

    agent.stdin.close()  # EOF: the agent flushes, closes and exits 0
    code = agent.wait(timeout=10)
    print(f"sent {args.count} observations: {acks} acks, {errors} errors, {synthesis} synthesis events; agent exited {code}")
    return 0 if acks == args.count and errors == 0 and stats is not None and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
