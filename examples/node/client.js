#!/usr/bin/env node
// A Node.js client of importjob.v1.ImportJobService, loading the protos at run
// time with @grpc/proto-loader.
//
// It stops a job of the emulator's demo pool and prints it, then makes a call
// the service rejects and prints the google.rpc error details it carries,
// decoded from the `grpc-status-details-bin` trailer with protobufjs.
//
// Usage: node client.js [ADDRESS]
// The address (host:port, plaintext) is the argument, else
// $IMPORT_JOB_SERVICE_ADDR, else localhost:50051.
'use strict';

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

// The contract. Copying this client elsewhere? Point this at your copy of proto/.
const PROTO_DIR = path.join(__dirname, '..', '..', 'proto');
const DEMO_POOL = 'us-east-1_ImportDemo';

function loadService() {
  const definition = protoLoader.loadSync('importjob/v1/import_job_service.proto', {
    includeDirs: [PROTO_DIR],
    keepCase: true, // field names as in the proto: user_pool_id, job_id
    longs: String,
    enums: String,
    defaults: true,
  });
  return grpc.loadPackageDefinition(definition).importjob.v1.ImportJobService;
}

// google.rpc.Status and the error detail types, from the protos the service
// vendors (google/protobuf/*.proto come with protobufjs).
function loadErrorTypes() {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    const vendored = path.join(PROTO_DIR, target);
    return target.startsWith('google/rpc/') ? vendored : protobuf.util.path.resolve(origin, target);
  };
  root.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], { keepCase: true });
  return root;
}

function call(client, request) {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + 10_000);
    client.StopUserImportJob(request, { deadline }, (error, response) =>
      error ? reject(error) : resolve(response));
  });
}

function printJob(job) {
  console.log(`stopped ${job.job_id} in ${job.user_pool_id}`);
  console.log(`  job_name: ${job.job_name}`);
  console.log(`  status: ${job.status}`);
  console.log(`  imported/skipped/failed users: ${job.imported_users}/${job.skipped_users}/${job.failed_users}`);
  console.log(`  completion_message: ${job.completion_message}`);
}

function printError(error, errorTypes) {
  console.log(`error: ${grpc.status[error.code]}: ${error.details}`);
  const [encoded] = error.metadata ? error.metadata.get('grpc-status-details-bin') : [];
  if (!encoded) {
    console.log('  no error details');
    return;
  }
  const status = errorTypes.lookupType('google.rpc.Status').decode(encoded);
  for (const detail of status.details) {
    const typeName = detail.type_url.slice(detail.type_url.lastIndexOf('/') + 1);
    if (typeName === 'google.rpc.ErrorInfo') {
      const info = errorTypes.lookupType(typeName).decode(detail.value);
      console.log(`  ErrorInfo: reason=${info.reason} domain=${info.domain}`);
      for (const key of Object.keys(info.metadata).sort()) {
        console.log(`    metadata ${key}=${info.metadata[key]}`);
      }
    } else if (typeName === 'google.rpc.BadRequest') {
      const badRequest = errorTypes.lookupType(typeName).decode(detail.value);
      for (const violation of badRequest.field_violations) {
        console.log(`  BadRequest: ${violation.field}: ${violation.description}`);
      }
    } else {
      console.log(`  other detail: ${detail.type_url}`);
    }
  }
}

async function main() {
  const address = process.argv[2] || process.env.IMPORT_JOB_SERVICE_ADDR || 'localhost:50051';
  const ImportJobService = loadService();
  const errorTypes = loadErrorTypes();
  const client = new ImportJobService(address, grpc.credentials.createInsecure());
  try {
    const response = await call(client, { user_pool_id: DEMO_POOL, job_id: 'import-in-progress' });
    printJob(response.user_import_job);

    try {
      await call(client, { user_pool_id: DEMO_POOL, job_id: 'bad' });
    } catch (error) {
      printError(error, errorTypes);
      return;
    }
    throw new Error("the call with job id 'bad' succeeded; it should have failed");
  } finally {
    client.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
