#!/usr/bin/env python3
"""A Python client of importjob.v1.ImportJobService, generated at run time.

It imports a few users into the emulator's demo pool the way a team would
through the service: creates a job, gets the pool's CSV header, builds a CSV
of users for it, uploads it in a client stream of small chunks, starts the
job and watches it (a server stream) until it finishes. Then it checks a file
with mistakes for a second job, uploading nothing, and prints each problem the
google.rpc.BadRequest of the refusal names.

Usage: python3 client.py [ADDRESS]
The address (host:port, plaintext) is the argument, else $IMPORT_JOB_SERVICE_ADDR,
else localhost:50051.
"""

import csv
import importlib
import io
import math
import os
import sys
import tempfile

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from grpc_tools import protoc

# The contract. Copying this client elsewhere? Point this at your copy of proto/.
PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")
# Our API, and the protovalidate rules it imports. google.rpc's types come from
# googleapis-common-protos (grpcio-status's dependency): generating them here
# too would register google/rpc/*.proto twice.
PROTOS = ["importjob/v1/import_job_service.proto", "buf/validate/validate.proto"]

DEMO_POOL = "us-east-1_ImportDemo"
ROLE_ARN = "arn:aws:iam::123456789012:role/CognitoImportLogs"
TIMEOUT = 10  # seconds, each call's deadline
MAX_WAIT = 60  # seconds, the watch's deadline
CHUNK_SIZE = 128  # bytes; tiny, to show the stream (the service takes up to 1 MiB a chunk)

USERS = [("ada", "ada@example.com"), ("grace", "grace@example.com"), ("alan", "alan@example.com")]
# A file Cognito would refuse: the second row repeats a username, the third
# has email_verified true and no email, the fourth an MFA flag that is no boolean.
BAD_ROWS = [
    {"cognito:username": "ada", "email": "ada@example.com"},
    {"cognito:username": "ada", "email": "ada.l@example.com"},
    {"cognito:username": "grace", "email": ""},
    {"cognito:username": "alan", "email": "alan@example.com", "cognito:mfa_enabled": "maybe"},
]


def generate(out_dir):
    """Compiles PROTOS into out_dir with grpcio-tools' bundled protoc and
    returns the importjob.v1 message and service modules."""
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    args = ["protoc", f"-I{PROTO_DIR}", f"-I{include}", f"--python_out={out_dir}",
            f"--grpc_python_out={out_dir}", *PROTOS]
    if protoc.main(args) != 0:
        sys.exit(f"protoc failed on {PROTO_DIR}")
    sys.path.insert(0, out_dir)
    return (importlib.import_module("importjob.v1.import_job_service_pb2"),
            importlib.import_module("importjob.v1.import_job_service_pb2_grpc"))


def build_csv(header, rows):
    """The CSV file for the pool's header: one line per user, every column
    the row does not set empty but the flags Cognito needs."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({"email_verified": "true", "cognito:mfa_enabled": "false",
                         "phone_number_verified": "false", **row})
    return out.getvalue().encode()


def upload(pb, stub, job, data, validate_only=False):
    """Streams data to the job: first what and how long, then the bytes."""
    def messages():
        yield pb.UploadUserImportCsvRequest(user_pool_id=job.user_pool_id, job_id=job.job_id,
                                            content_length=len(data), validate_only=validate_only)
        for start in range(0, len(data), CHUNK_SIZE):
            yield pb.UploadUserImportCsvRequest(chunk=data[start:start + CHUNK_SIZE])
    return stub.UploadUserImportCsv(messages(), timeout=TIMEOUT)


def watch(pb, stub, job):
    """Follows the job to its final status, printing each new status; the
    stream ends OK once the status is final."""
    request = pb.WatchUserImportJobRequest(user_pool_id=job.user_pool_id, job_id=job.job_id)
    for answer in stub.WatchUserImportJob(request, timeout=MAX_WAIT):
        if answer.user_import_job.status != job.status:
            print(f"  now {pb.UserImportJobStatus.Name(answer.user_import_job.status)}")
        job = answer.user_import_job
    return job


def print_error(error):
    print(f"error: {error.code().name}: {error.details()}")
    status = rpc_status.from_call(error)
    if status is None:
        print("  no error details")
        return
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            print(f"  ErrorInfo: reason={info.reason} domain={info.domain}")
            for key in sorted(info.metadata):
                print(f"    metadata {key}={info.metadata[key]}")
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            print("  BadRequest:")
            for violation in bad_request.field_violations:
                print(f"    {violation.field}: {violation.description}")
        else:
            # PreconditionFailure, ResourceInfo, RetryInfo, QuotaFailure: unpacked the same way.
            print(f"  other detail: {detail.type_url}")


def main():
    address = (sys.argv[1] if len(sys.argv) > 1 else None) \
        or os.environ.get("IMPORT_JOB_SERVICE_ADDR") or "localhost:50051"
    with tempfile.TemporaryDirectory(prefix="importjob-py-") as out_dir:
        pb, pb_grpc = generate(out_dir)
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.ImportJobServiceStub(channel)
            status_name = pb.UserImportJobStatus.Name

            create = pb.CreateUserImportJobRequest(user_pool_id=DEMO_POOL, job_name="example import",
                                                   cloud_watch_logs_role_arn=ROLE_ARN)
            job = stub.CreateUserImportJob(create, timeout=TIMEOUT).user_import_job
            # job.pre_signed_url is where the upload goes: anyone holding it can
            # upload users, so it is a secret, never printed or logged.
            print(f"created {job.job_id} in {job.user_pool_id}: {status_name(job.status)}")

            header = stub.GetCsvHeader(pb.GetCsvHeaderRequest(user_pool_id=DEMO_POOL), timeout=TIMEOUT)
            print(f"CSV header: {','.join(header.csv_header)}")

            data = build_csv(header.csv_header, [{"cognito:username": u, "email": e} for u, e in USERS])
            sent = upload(pb, stub, job, data)
            if not sent.uploaded:
                sys.exit(f"the file for {job.job_id} was checked but not uploaded")
            chunks = math.ceil(len(data) / CHUNK_SIZE)
            print(f"uploaded {sent.rows} users ({sent.bytes} bytes in {chunks} chunks) to {job.job_id}: "
                  f"{status_name(sent.user_import_job.status)}")

            request = pb.StartUserImportJobRequest(user_pool_id=DEMO_POOL, job_id=job.job_id)
            job = stub.StartUserImportJob(request, timeout=TIMEOUT).user_import_job
            print(f"started {job.job_id}: {status_name(job.status)}")
            job = watch(pb, stub, job)
            print(f"finished {job.job_id}: {status_name(job.status)}")
            print(f"  imported/skipped/failed users: {job.imported_users}/{job.skipped_users}/{job.failed_users}")
            print(f"  completion_message: {job.completion_message}")

            # A file with mistakes, checked for a second job (the first has
            # started: only a CREATED job takes a file). Nothing is uploaded.
            job = stub.CreateUserImportJob(create, timeout=TIMEOUT).user_import_job
            print(f"created {job.job_id} in {job.user_pool_id}: {status_name(job.status)}")
            try:
                upload(pb, stub, job, build_csv(header.csv_header, BAD_ROWS), validate_only=True)
            except grpc.RpcError as error:
                print_error(error)
            else:
                sys.exit(f"the file with mistakes passed the checks for {job.job_id}")


if __name__ == "__main__":
    main()
