#!/usr/bin/env python3
"""Runs the clients in examples/ against the service and checks what they print.

Builds the service, and for each example starts it afresh on the emulator
(each example adds jobs and users to the demo pool: a second run would skip
the users), on a free loopback port read from its "import-job-service
listening" log line, runs the example with that address, and compares its
output with EXPECTED, line for line, once what varies from run to run is
replaced by a placeholder (see normalize). Any difference, a failed example or
a server that does not start or stop cleanly fails the run.

Needs: examples/python/requirements.txt installed for python3, and
`npm ci` run in examples/node (.ci/run does both).
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "debug", "import-job-service")

EXAMPLES = {
    "python": [sys.executable, "examples/python/client.py"],
    "node": ["node", "examples/node/client.js"],
}

EXPECTED = """\
created import-<id> in us-east-1_ImportDemo: USER_IMPORT_JOB_STATUS_CREATED
CSV header: name,given_name,family_name,middle_name,nickname,preferred_username,profile,picture,website,email,email_verified,gender,birthdate,zoneinfo,locale,phone_number,phone_number_verified,address,updated_at,cognito:mfa_enabled,cognito:username
uploaded 3 users (402 bytes in 4 chunks) to import-<id>: USER_IMPORT_JOB_STATUS_CREATED
started import-<id>: USER_IMPORT_JOB_STATUS_PENDING
  now USER_IMPORT_JOB_STATUS_IN_PROGRESS
  now USER_IMPORT_JOB_STATUS_SUCCEEDED
finished import-<id>: USER_IMPORT_JOB_STATUS_SUCCEEDED
  imported/skipped/failed users: 3/0/0
  completion_message: Import Job Completed Successfully.
created import-<id 2> in us-east-1_ImportDemo: USER_IMPORT_JOB_STATUS_CREATED
error: INVALID_ARGUMENT: the CSV has 3 problems Cognito would refuse (the BadRequest detail lists up to 100, by line and column); nothing was uploaded
  ErrorInfo: reason=CSV_INVALID domain=importjob.v1.ImportJobService
  BadRequest:
    line 3, column cognito:username: the same username as line 2: each must be unique
    line 4, column email: empty where email_verified is true
    line 5, column cognito:mfa_enabled: not true or false
""".splitlines()

# The ids Cognito gave the jobs the example created, read from its "created"
# lines.
CREATED_ID = re.compile(r"^created (import-[0-9A-Za-z-]+) ")


def normalize(lines):
    """The lines with the created jobs' ids, which differ on every run,
    replaced by placeholders: import-<id>, import-<id 2>."""
    created = [match.group(1) for match in map(CREATED_ID.match, lines) if match]
    for number, job_id in enumerate(created, start=1):
        placeholder = "import-<id>" if number == 1 else f"import-<id {number}>"
        lines = [line.replace(job_id, placeholder) for line in lines]
    return lines


class Server:
    """The service on the emulator, as a child process on a free port."""

    def __init__(self):
        self.process = subprocess.Popen(
            [BINARY, "--local-cognito", "--insecure-allow-unauthenticated",
             "--listen", "127.0.0.1:0", "--log-format", "json"],
            cwd=ROOT, env={}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )
        self.log = []
        self.addr = None
        for line in self.process.stderr:
            self.log.append(line)
            try:
                event = json.loads(line)
            except ValueError:
                continue
            fields = event.get("fields", {}) if isinstance(event, dict) else {}
            if fields.get("message") == "import-job-service listening":
                self.addr = fields["addr"]
                break
        if self.addr is None:
            self.process.wait()
            sys.exit(f"FAIL: the service exited ({self.process.returncode}) before listening:\n"
                     + "".join(self.log))
        # Keep reading, so the service never blocks on a full pipe.
        self.reader = threading.Thread(target=lambda: self.log.extend(self.process.stderr), daemon=True)
        self.reader.start()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return "did not stop within 40 s of SIGTERM"
        self.reader.join(timeout=5)
        return None if code == 0 else f"exited {code} on SIGTERM"


def run(name, command):
    server = Server()
    try:
        print(f"{name}: {' '.join(command)} {server.addr}")
        try:
            result = subprocess.run([*command, server.addr], cwd=ROOT, capture_output=True, text=True,
                                    timeout=180, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return [f"{name}: did not finish within 180 s"]
    finally:
        stop_problem = server.stop()
    problems = []
    if result.returncode != 0:
        problems.append(f"{name}: exited {result.returncode}")
    got = normalize(result.stdout.splitlines())
    if got != EXPECTED:
        width = max(len(got), len(EXPECTED))
        rows = []
        for i in range(width):
            want = EXPECTED[i] if i < len(EXPECTED) else "<no line>"
            have = got[i] if i < len(got) else "<no line>"
            if want != have:
                rows.append(f"  line {i + 1}:\n    expected: {want}\n    got:      {have}")
        problems.append(f"{name}: output differs from the expected lines:\n" + "\n".join(rows))
    if stop_problem:
        problems.append(f"{name}: the service {stop_problem}")
    if problems:
        problems.append(f"{name} stdout:\n{result.stdout}{name} stderr:\n{result.stderr}"
                        f"service log:\n{''.join(server.log)}")
    return problems


def main():
    subprocess.run(["cargo", "build", "--locked", "--bin", "import-job-service"], cwd=ROOT, check=True)
    failed = 0
    for name, command in EXAMPLES.items():
        problems = run(name, command)
        if problems:
            failed += 1
            print(f"FAIL: {name}")
            for problem in problems:
                print(problem)
        else:
            print(f"ok:   {name} printed the {len(EXPECTED)} expected lines")
    print(f"examples: {len(EXAMPLES) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
