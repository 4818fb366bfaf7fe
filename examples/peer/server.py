#!/usr/bin/env python3
"""The service a team would write instead of import-job-service: the baseline
BENCHMARKS.md compares the service against.

A plain gRPC server on grpcio's synchronous server (a thread pool of 32
workers by default: enough threads to keep a few dozen calls to Cognito in
flight, as a team would size it; --workers changes it) that serves
importjob.v1.ImportJobService/StopUserImportJob from the same proto, compiled
at run time with grpcio-tools' bundled protoc. Each call goes to Cognito
through one boto3 client made at start and shared by the workers (its
connection pool as large as the thread pool, so no worker waits for a
connection), and answers the job Cognito returned, mapped field by field to
the proto's UserImportJob. Cognito's errors map to a gRPC status by their AWS
error code, minimally; nothing else the service does (validation before
Cognito, authorization, rate limits, error details) is here.

For a fair comparison it logs as the service does in production: one JSON
line per call, at info, to stderr. It also serves grpc.health.v1, SERVING
once it listens.

Usage: python3 server.py --listen 127.0.0.1:50061 [--workers 32]
Cognito's endpoint, region and credentials come from the environment, as
boto3 reads them (AWS_ENDPOINT_URL, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, ...).
"""

import argparse
import importlib
import json
import logging
import os
import signal
import sys
import tempfile
import time
from concurrent import futures

import boto3
import grpc
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_tools import protoc

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")
PROTOS = ["importjob/v1/import_job_service.proto", "buf/validate/validate.proto"]
SERVICE_NAME = "importjob.v1.ImportJobService"
STOP_METHOD = f"/{SERVICE_NAME}/StopUserImportJob"

# AWS error codes and the status each answers; any other is INTERNAL.
STATUS_OF_AWS_ERROR = {
    "ResourceNotFoundException": grpc.StatusCode.NOT_FOUND,
    "InvalidParameterException": grpc.StatusCode.INVALID_ARGUMENT,
    "PreconditionNotMetException": grpc.StatusCode.FAILED_PRECONDITION,
    "TooManyRequestsException": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "NotAuthorizedException": grpc.StatusCode.PERMISSION_DENIED,
    "InternalErrorException": grpc.StatusCode.UNAVAILABLE,
}


class JsonLines(logging.Formatter):
    """One JSON object per record, with the call's fields beside the message."""

    def format(self, record):
        line = {
            "timestamp": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        return json.dumps(line, separators=(",", ":"))


def generate(out_dir):
    """Compiles PROTOS into out_dir and returns the importjob.v1 message and
    service modules."""
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    args = ["protoc", f"-I{PROTO_DIR}", f"-I{include}", f"--python_out={out_dir}",
            f"--grpc_python_out={out_dir}", *PROTOS]
    if protoc.main(args) != 0:
        sys.exit(f"protoc failed on {PROTO_DIR}")
    sys.path.insert(0, out_dir)
    return (importlib.import_module("importjob.v1.import_job_service_pb2"),
            importlib.import_module("importjob.v1.import_job_service_pb2_grpc"))


def job_statuses(pb):
    """Cognito's job statuses and the proto's; any other is UNSPECIFIED."""
    return {
        "Created": pb.USER_IMPORT_JOB_STATUS_CREATED,
        "Pending": pb.USER_IMPORT_JOB_STATUS_PENDING,
        "InProgress": pb.USER_IMPORT_JOB_STATUS_IN_PROGRESS,
        "Stopping": pb.USER_IMPORT_JOB_STATUS_STOPPING,
        "Expired": pb.USER_IMPORT_JOB_STATUS_EXPIRED,
        "Stopped": pb.USER_IMPORT_JOB_STATUS_STOPPED,
        "Failed": pb.USER_IMPORT_JOB_STATUS_FAILED,
        "Succeeded": pb.USER_IMPORT_JOB_STATUS_SUCCEEDED,
    }


def user_import_job(pb, statuses, job):
    """Cognito's UserImportJobType (as boto3 parses it) as the proto's UserImportJob."""
    answer = pb.UserImportJob(
        job_name=job.get("JobName", ""),
        job_id=job.get("JobId", ""),
        user_pool_id=job.get("UserPoolId", ""),
        pre_signed_url=job.get("PreSignedUrl", ""),
        status=statuses.get(job.get("Status"), pb.USER_IMPORT_JOB_STATUS_UNSPECIFIED),
        cloud_watch_logs_role_arn=job.get("CloudWatchLogsRoleArn", ""),
        imported_users=job.get("ImportedUsers", 0),
        skipped_users=job.get("SkippedUsers", 0),
        failed_users=job.get("FailedUsers", 0),
        completion_message=job.get("CompletionMessage", ""),
        password_hashing_algorithm=job.get("PasswordHashingAlgorithm", ""),
    )
    for field, key in (("creation_date", "CreationDate"), ("start_date", "StartDate"),
                       ("completion_date", "CompletionDate")):
        if key in job:
            getattr(answer, field).FromDatetime(job[key])
    return answer


def make_servicer(pb, pb_grpc, cognito, log):
    statuses = job_statuses(pb)

    class ImportJobService(pb_grpc.ImportJobServiceServicer):
        def StopUserImportJob(self, request, context):
            started = time.monotonic()
            fields = {"method": STOP_METHOD, "peer": context.peer(),
                      "user_pool_id": request.user_pool_id, "job_id": request.job_id}
            code, message, answer = grpc.StatusCode.OK, None, None
            try:
                response = cognito.stop_user_import_job(UserPoolId=request.user_pool_id,
                                                        JobId=request.job_id)
                fields["aws_request_id"] = response["ResponseMetadata"].get("RequestId")
                answer = pb.StopUserImportJobResponse(
                    user_import_job=user_import_job(pb, statuses, response["UserImportJob"]))
            except ClientError as error:
                aws_code = error.response.get("Error", {}).get("Code", "")
                fields["aws_request_id"] = error.response.get("ResponseMetadata", {}).get("RequestId")
                fields["aws_error"] = aws_code
                code = STATUS_OF_AWS_ERROR.get(aws_code, grpc.StatusCode.INTERNAL)
                message = f"Cognito answered {aws_code}"
            except ParamValidationError as error:
                # boto3 checks the request against Cognito's model before sending it.
                fields["aws_error"] = type(error).__name__
                code, message = grpc.StatusCode.INVALID_ARGUMENT, str(error)
            except BotoCoreError as error:
                # Unreachable, timed out, or an answer that does not parse.
                fields["aws_error"] = type(error).__name__
                code, message = grpc.StatusCode.UNAVAILABLE, "Cognito could not be reached"
            fields.update(code=code.name, latency_ms=round((time.monotonic() - started) * 1e3, 3))
            log.info("call finished", extra={"fields": fields})
            if code != grpc.StatusCode.OK:
                context.abort(code, message)
            return answer

    return ImportJobService()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="HOST:PORT, plaintext")
    parser.add_argument("--workers", type=int, default=32, help="threads serving calls")
    args = parser.parse_args()

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    log = logging.getLogger("peer")

    with tempfile.TemporaryDirectory(prefix="importjob-peer-") as out_dir:
        pb, pb_grpc = generate(out_dir)
        cognito = boto3.client("cognito-idp", config=Config(max_pool_connections=args.workers))
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.workers),
                             # A port already taken fails here rather than being shared.
                             options=[("grpc.so_reuseport", 0)])
        pb_grpc.add_ImportJobServiceServicer_to_server(make_servicer(pb, pb_grpc, cognito, log), server)
        health_servicer = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        if server.add_insecure_port(args.listen) == 0:
            sys.exit(f"cannot listen on {args.listen}")
        server.start()
        for name in ("", SERVICE_NAME):
            health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("peer listening", extra={"fields": {"address": args.listen, "workers": args.workers}})
        signal.signal(signal.SIGTERM, lambda *_: server.stop(5))
        server.wait_for_termination()


if __name__ == "__main__":
    main()
