#!/usr/bin/env python3
"""Runs the README's examples as pasted.

Fenced blocks tagged after their language drive it, in order:
  ```sh setup    run as a bash script from the repository root
  ```sh server   a command that starts the service: started in the background
                 (stopping the previous one), and awaited until health answers
  ```sh calls    grpcurl and `cargo run` lines against the running service:
                 a line with -format-error must fail with decoded error
                 details, a line ending in `# exit N` must exit N, every
                 other line must succeed
The first server's start-up banner carries a grpcurl line; it must work too.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FENCE = re.compile(r"^```(\S*)(?:\s+(\S+))?\s*$")


def blocks(text):
    tag, lines = None, None
    for line in text.splitlines():
        match = FENCE.match(line)
        if match and lines is None:
            tag, lines = match.group(2), []
        elif line.startswith("```") and lines is not None:
            yield tag, lines
            tag, lines = None, None
        elif lines is not None:
            lines.append(line)


class Server:
    def __init__(self, command):
        self.command = command
        self.log = tempfile.NamedTemporaryFile(prefix="readme-server-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            ["bash", "-c", "exec " + command], cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def health_command(self):
        tls = "-cacert auth-demo/ca.pem" if "--tls-cert" in self.command else "-plaintext"
        return f"grpcurl {tls} -max-time 2 localhost:50051 grpc.health.v1.Health/Check"

    def wait_ready(self, timeout=1200):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"the service exited before serving:\n{self.output()}")
            if subprocess.run(["bash", "-c", self.health_command()], cwd=ROOT, capture_output=True).returncode == 0:
                return
            time.sleep(1)
        sys.exit(f"the service did not become healthy:\n{self.output()}")

    def output(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as log:
            return log.read()

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def check_call(line):
    result = subprocess.run(["bash", "-c", line], cwd=ROOT, capture_output=True, text=True)
    output = result.stdout + result.stderr
    exit_code = re.search(r"#\s*exit (\d+)\s*$", line)
    if exit_code:
        ok = result.returncode == int(exit_code.group(1))
        expectation = f"exit {exit_code.group(1)}"
    elif "-format-error" in line:
        ok = result.returncode != 0 and "google.rpc.ErrorInfo" in output and "Error parsing" not in output
        expectation = "an error with decoded details"
    else:
        ok = result.returncode == 0
        expectation = "success"
    print(("ok:   " if ok else "FAIL: ") + line)
    if not ok:
        print(f"  expected {expectation}, got exit {result.returncode}:\n{output}")
    return ok


def main():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as readme:
        text = readme.read()
    failures, server, servers_started = 0, None, 0
    try:
        for tag, lines in blocks(text):
            if tag == "setup":
                print("setup: running a README block")
                subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(lines)], cwd=ROOT, check=True)
            elif tag == "server":
                if server:
                    server.stop()
                command = " ".join(line.rstrip("\\").strip() for line in lines if line.strip())
                print(f"server: {command}")
                server = Server(command)
                server.wait_ready()
                servers_started += 1
                if servers_started == 1:
                    banner = re.search(r"^  (grpcurl .*)$", server.output(), re.MULTILINE)
                    if banner is None:
                        print("FAIL: the start-up banner has no grpcurl line")
                        failures += 1
                    elif not check_call(banner.group(1)):
                        failures += 1
            elif tag == "calls":
                for line in lines:
                    if line.startswith(("grpcurl ", "cargo run ")) and not check_call(line):
                        failures += 1
    finally:
        if server:
            server.stop()
    print(f"README examples: {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
