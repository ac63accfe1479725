"""Transaction throughput: 10-operation /v1/txn writes against single KV
PUTs, on one durable server, under the same wrk load (16 connections).

    python bench/txn_wrk.py [--duration 10] [--rounds 3]

Prints requests/s and p50/p99 latency for each, and what they come to in
KV operations per second (a transaction carries 10 sets). Needs wrk.
"""

import argparse
import base64
import shutil
import statistics
import tempfile

from benchlib import PyconsulAgent, require_wrk, run_wrk, wait_for, write_script

ADDRESS = "127.0.77.5"
OPS = 10
CONNECTIONS = 16

PUT_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("PUT", "/v1/kv/bench/put/" .. (counter %% 1000), nil, "%s")
end
""" % ("v" * 100)


def txn_script():
    value = base64.b64encode(b"v" * 100).decode()
    # Lua builds each body with the request's own counter in the keys.
    lua_ops = " .. ',' .. ".join(
        "'{\"KV\":{\"Verb\":\"set\",\"Key\":\"bench/txn/' .. n .. '/%d\",\"Value\":\"%s\"}}'" % (i, value)
        for i in range(OPS))
    return """
counter = 0
request = function()
  counter = counter + 1
  local n = counter %% 1000
  local body = '[' .. %s .. ']'
  return wrk.format("PUT", "/v1/txn", {["Content-Type"] = "application/json"}, body)
end
""" % lua_ops


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    require_wrk()
    workdir = tempfile.mkdtemp(prefix="pyconsul-txn-bench-")
    agent = PyconsulAgent(workdir, ADDRESS, ["--server", "--bootstrap"], node="bench").start()
    try:
        wait_for(lambda: agent.leader(), what="a leader")
        scripts = {"put": write_script(workdir, "put", PUT_SCRIPT), "txn": write_script(workdir, "txn", txn_script())}
        samples = {name: [] for name in scripts}
        for round_number in range(args.rounds):
            for name, script in scripts.items():
                sample = run_wrk(agent.url, script, CONNECTIONS, args.duration)
                samples[name].append(sample)
                print("  round %d %-3s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms"
                      % (round_number + 1, name, *sample), flush=True)
        print()
        put, txn = ({i: statistics.median(s[i] for s in samples[name]) for i in range(3)} for name in ("put", "txn"))
        print("single PUT:       %8.0f req/s = %8.0f KV ops/s  p50 %5.2f ms  p99 %5.2f ms"
              % (put[0], put[0], put[1], put[2]))
        print("10-op transaction: %7.0f txn/s = %8.0f KV ops/s  p50 %5.2f ms  p99 %5.2f ms"
              % (txn[0], txn[0] * OPS, txn[1], txn[2]))
        print("KV ops/s, transactions / single PUTs: %.2fx" % (txn[0] * OPS / put[0]))
        print("peak RSS: %.0f MiB" % agent.peak_rss_mib())
    finally:
        agent.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
