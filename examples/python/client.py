#!/usr/bin/env python3
"""A Python client of importjob.v1.ImportJobService, generated at run time.

It stops a job of the emulator's demo pool and prints it, then makes a call
the service rejects and prints the google.rpc error details it carries.

Usage: python3 client.py [ADDRESS]
The address (host:port, plaintext) is the argument, else $IMPORT_JOB_SERVICE_ADDR,
else localhost:50051.
"""

import importlib
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


def print_job(pb, job):
    print(f"stopped {job.job_id} in {job.user_pool_id}")
    print(f"  job_name: {job.job_name}")
    print(f"  status: {pb.UserImportJobStatus.Name(job.status)}")
    print(f"  imported/skipped/failed users: {job.imported_users}/{job.skipped_users}/{job.failed_users}")
    print(f"  completion_message: {job.completion_message}")


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
            for violation in bad_request.field_violations:
                print(f"  BadRequest: {violation.field}: {violation.description}")
        else:
            print(f"  other detail: {detail.type_url}")


def main():
    address = (sys.argv[1] if len(sys.argv) > 1 else None) \
        or os.environ.get("IMPORT_JOB_SERVICE_ADDR") or "localhost:50051"
    with tempfile.TemporaryDirectory(prefix="importjob-py-") as out_dir:
        pb, pb_grpc = generate(out_dir)
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.ImportJobServiceStub(channel)

            request = pb.StopUserImportJobRequest(user_pool_id=DEMO_POOL, job_id="import-in-progress")
            response = stub.StopUserImportJob(request, timeout=10)
            print_job(pb, response.user_import_job)

            try:
                stub.StopUserImportJob(pb.StopUserImportJobRequest(user_pool_id=DEMO_POOL, job_id="bad"),
                                       timeout=10)
            except grpc.RpcError as error:
                print_error(error)
            else:
                sys.exit("the call with job id 'bad' succeeded; it should have failed")


if __name__ == "__main__":
    main()
