"""Bounded local load on the explorer: latency percentiles, throughput and errors.

Starts ``keras-facegen serve`` in its own process on a free 127.0.0.1 port, then, from this
process, measures

* single requests: ``--single`` sequential ``POST /api/generate`` calls, one at a time;
* load: ``--clients`` concurrent clients (asyncio tasks, one keep-alive connection each), each
  sending ``--requests`` ``POST /api/generate`` calls with random codes back to back.

Targets on 2 CPU cores for the 64x64 ``face64_synthetic``: no errors, p95 under 200 ms under
20 x 200 load, a single request under 30 ms (median). Run::

    KERAS_BACKEND=tensorflow python benchmarks/explorer_load.py
    python benchmarks/explorer_load.py --model runs/x/generator.keras --clients 5 --requests 50

Prints one line per phase and a JSON summary (``--json PATH`` also writes it to a file).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time

import httpx
import numpy as np

TARGET_P95_MS = 200.0
TARGET_SINGLE_MS = 30.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="face64_synthetic", help="pretrained name or file")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200, help="requests per client")
    parser.add_argument("--single", type=int, default=100, help="sequential single requests")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the summary here")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(model: str, port: int) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "keras_facegen.cli",
        "serve",
        "--model",
        model,
        "--port",
        str(port),
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited: {server.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/info", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not answer within 180 s")


def random_codes(count: int, digits: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [bytes(row).hex() for row in rng.integers(0, 256, (count, digits // 2), np.uint8)]


def summary(latencies: list[float], errors: int, seconds: float) -> dict:
    ms = np.asarray(latencies) * 1000.0
    return {
        "requests": len(latencies) + errors,
        "errors": errors,
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
        "throughput_rps": round(len(latencies) / seconds, 1),
    }


async def one_client(url: str, codes: list[str], latencies: list, errors: list) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for code in codes:
            start = time.perf_counter()
            try:
                response = await client.post("/api/generate", json={"code": code})
                ok = response.status_code == 200 and response.content[:4] == b"\x89PNG"
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - start)
            else:
                errors.append(code)


async def load(url: str, clients: int, requests: int, digits: int, seed: int) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    batches = [random_codes(requests, digits, seed + i) for i in range(clients)]
    start = time.perf_counter()
    await asyncio.gather(*(one_client(url, codes, latencies, errors) for codes in batches))
    return summary(latencies, len(errors), time.perf_counter() - start)


def single(url: str, count: int, digits: int, seed: int) -> dict:
    latencies, errors = [], 0
    with httpx.Client(base_url=url, timeout=60) as client:
        codes = random_codes(count, digits, seed)
        for code in codes[:5]:  # warm-up: connection, first-call paths
            client.post("/api/generate", json={"code": code})
        start = time.perf_counter()
        for code in codes:
            begin = time.perf_counter()
            response = client.post("/api/generate", json={"code": code})
            if response.status_code == 200:
                latencies.append(time.perf_counter() - begin)
            else:
                errors += 1
        return summary(latencies, errors, time.perf_counter() - start)


def main(args: argparse.Namespace) -> int:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(args.model, port)
    try:
        info = httpx.get(f"{url}/api/info").json()
        digits = info["code_length"]
        one = single(url, args.single, digits, args.seed)
        print(f"single requests: {one}")
        loaded = asyncio.run(load(url, args.clients, args.requests, digits, args.seed + 1))
        print(f"{args.clients} clients x {args.requests} requests: {loaded}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = {
        "model": info["name"],
        "resolution": info["resolution"],
        "backend": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "cpu_count": os.cpu_count(),
        "single": one,
        "load": {"clients": args.clients, "requests_per_client": args.requests, **loaded},
        "targets": {
            "no_errors": loaded["errors"] == 0 and one["errors"] == 0,
            f"load_p95_under_{TARGET_P95_MS:g}_ms": loaded["p95_ms"] < TARGET_P95_MS,
            f"single_p50_under_{TARGET_SINGLE_MS:g}_ms": one["p50_ms"] < TARGET_SINGLE_MS,
        },
    }
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as file:
            json.dump(result, file, indent=2)
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main(parse_args()))
