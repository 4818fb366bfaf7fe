#!/usr/bin/env python3
"""A Python client of importjob.v1.ImportJobService, generated at run time.

It takes a user import job through its lifecycle in the emulator's demo pool:
creates it, gets the pool's CSV header, starts the job and describes it until
it finishes, lists the pool's jobs page by page, then makes a call the service
rejects and prints the google.rpc error details it carries.

Usage: python3 client.py [ADDRESS]
The address (host:port, plaintext) is the argument, else $IMPORT_JOB_SERVICE_ADDR,
else localhost:50051.
"""

import importlib
import os
import sys
import tempfile
import time

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
POLL_INTERVAL = 0.5  # seconds between two describes
MAX_WAIT = 60  # seconds for the job to finish
PAGE_SIZE = 4  # small, so that the list takes more than one page


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


def wait_until_final(pb, stub, job):
    """Describes the job until its status is final, printing each new status."""
    final = {pb.USER_IMPORT_JOB_STATUS_SUCCEEDED, pb.USER_IMPORT_JOB_STATUS_FAILED,
             pb.USER_IMPORT_JOB_STATUS_STOPPED, pb.USER_IMPORT_JOB_STATUS_EXPIRED}
    give_up = time.monotonic() + MAX_WAIT
    while job.status not in final:
        if time.monotonic() > give_up:
            sys.exit(f"job {job.job_id} not finished after {MAX_WAIT} s")
        time.sleep(POLL_INTERVAL)
        request = pb.DescribeUserImportJobRequest(user_pool_id=job.user_pool_id, job_id=job.job_id)
        described = stub.DescribeUserImportJob(request, timeout=TIMEOUT).user_import_job
        if described.status != job.status:
            print(f"  now {pb.UserImportJobStatus.Name(described.status)}")
        job = described
    return job


def list_jobs(pb, stub, user_pool_id):
    """Yields the pool's jobs page by page, following the pagination tokens."""
    token = ""
    while True:
        request = pb.ListUserImportJobsRequest(user_pool_id=user_pool_id, max_results=PAGE_SIZE,
                                               pagination_token=token)
        page = stub.ListUserImportJobs(request, timeout=TIMEOUT)
        yield page.user_import_jobs
        token = page.pagination_token
        if not token:
            return


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
        elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            for violation in failure.violations:
                print(f"  PreconditionFailure: {violation.type} {violation.subject}: {violation.description}")
        else:
            # BadRequest, ResourceInfo, RetryInfo, QuotaFailure: unpacked the same way.
            print(f"  other detail: {detail.type_url}")


def main():
    address = (sys.argv[1] if len(sys.argv) > 1 else None) \
        or os.environ.get("IMPORT_JOB_SERVICE_ADDR") or "localhost:50051"
    with tempfile.TemporaryDirectory(prefix="importjob-py-") as out_dir:
        pb, pb_grpc = generate(out_dir)
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.ImportJobServiceStub(channel)
            status_name = pb.UserImportJobStatus.Name

            request = pb.CreateUserImportJobRequest(user_pool_id=DEMO_POOL, job_name="example import",
                                                    cloud_watch_logs_role_arn=ROLE_ARN)
            job = stub.CreateUserImportJob(request, timeout=TIMEOUT).user_import_job
            # job.pre_signed_url is where the CSV of users is PUT before the start.
            # Anyone holding it can upload: it is a secret, never printed or logged.
            print(f"created {job.job_id} in {job.user_pool_id}: {status_name(job.status)}")

            header = stub.GetCsvHeader(pb.GetCsvHeaderRequest(user_pool_id=DEMO_POOL), timeout=TIMEOUT)
            print(f"CSV header: {','.join(header.csv_header)}")

            request = pb.StartUserImportJobRequest(user_pool_id=DEMO_POOL, job_id=job.job_id)
            job = stub.StartUserImportJob(request, timeout=TIMEOUT).user_import_job
            print(f"started {job.job_id}: {status_name(job.status)}")
            job = wait_until_final(pb, stub, job)
            print(f"finished {job.job_id}: {status_name(job.status)}")
            print(f"  imported/skipped/failed users: {job.imported_users}/{job.skipped_users}/{job.failed_users}")
            print(f"  completion_message: {job.completion_message}")

            print(f"jobs in {DEMO_POOL}, {PAGE_SIZE} a page:")
            for number, jobs in enumerate(list_jobs(pb, stub, DEMO_POOL), start=1):
                print(f"  page {number}: {', '.join(j.job_id for j in jobs)}")

            # A finished job cannot be stopped: FAILED_PRECONDITION.
            try:
                stub.StopUserImportJob(pb.StopUserImportJobRequest(user_pool_id=DEMO_POOL, job_id=job.job_id),
                                       timeout=TIMEOUT)
            except grpc.RpcError as error:
                print_error(error)
            else:
                sys.exit(f"stopping the finished job {job.job_id} succeeded; it should have failed")


if __name__ == "__main__":
    main()
