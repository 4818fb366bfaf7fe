#!/usr/bin/env node
// A Node.js client of importjob.v1.ImportJobService, loading the protos at run
// time with @grpc/proto-loader.
//
// It takes a user import job through its lifecycle in the emulator's demo
// pool: creates it, gets the pool's CSV header, starts the job and describes
// it until it finishes, lists the pool's jobs page by page, then makes a call
// the service rejects and prints the google.rpc error details it carries,
// decoded from the `grpc-status-details-bin` trailer with protobufjs.
//
// Usage: node client.js [ADDRESS]
// The address (host:port, plaintext) is the argument, else
// $IMPORT_JOB_SERVICE_ADDR, else localhost:50051.
'use strict';

const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

// The contract. Copying this client elsewhere? Point this at your copy of proto/.
const PROTO_DIR = path.join(__dirname, '..', '..', 'proto');
const DEMO_POOL = 'us-east-1_ImportDemo';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/CognitoImportLogs';
const TIMEOUT_MS = 10_000; // each call's deadline
const POLL_INTERVAL_MS = 500; // between two describes
const MAX_WAIT_MS = 60_000; // for the job to finish
const PAGE_SIZE = 4; // small, so that the list takes more than one page
const FINAL = new Set([
  'USER_IMPORT_JOB_STATUS_SUCCEEDED',
  'USER_IMPORT_JOB_STATUS_FAILED',
  'USER_IMPORT_JOB_STATUS_STOPPED',
  'USER_IMPORT_JOB_STATUS_EXPIRED',
]);

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

// One unary call as a promise, with a deadline.
function call(client, method, request) {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + TIMEOUT_MS);
    client[method](request, { deadline }, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

// Describes the job until its status is final, printing each new status.
async function waitUntilFinal(client, job) {
  const giveUp = Date.now() + MAX_WAIT_MS;
  while (!FINAL.has(job.status)) {
    if (Date.now() > giveUp) {
      throw new Error(`job ${job.job_id} not finished after ${MAX_WAIT_MS / 1000} s`);
    }
    await sleep(POLL_INTERVAL_MS);
    const request = { user_pool_id: job.user_pool_id, job_id: job.job_id };
    const described = (await call(client, 'DescribeUserImportJob', request)).user_import_job;
    if (described.status !== job.status) {
      console.log(`  now ${described.status}`);
    }
    job = described;
  }
  return job;
}

// The pool's jobs page by page, following the pagination tokens.
async function* listJobs(client, userPoolId) {
  let pagination_token = '';
  do {
    const request = { user_pool_id: userPoolId, max_results: PAGE_SIZE, pagination_token };
    const page = await call(client, 'ListUserImportJobs', request);
    yield page.user_import_jobs;
    pagination_token = page.pagination_token;
  } while (pagination_token);
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
    } else if (typeName === 'google.rpc.PreconditionFailure') {
      const failure = errorTypes.lookupType(typeName).decode(detail.value);
      for (const violation of failure.violations) {
        console.log(`  PreconditionFailure: ${violation.type} ${violation.subject}: ${violation.description}`);
      }
    } else {
      // BadRequest, ResourceInfo, RetryInfo, QuotaFailure: decoded the same way.
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
    let job = (await call(client, 'CreateUserImportJob', {
      user_pool_id: DEMO_POOL,
      job_name: 'example import',
      cloud_watch_logs_role_arn: ROLE_ARN,
    })).user_import_job;
    // job.pre_signed_url is where the CSV of users is PUT before the start.
    // Anyone holding it can upload: it is a secret, never printed or logged.
    console.log(`created ${job.job_id} in ${job.user_pool_id}: ${job.status}`);

    const header = await call(client, 'GetCsvHeader', { user_pool_id: DEMO_POOL });
    console.log(`CSV header: ${header.csv_header.join(',')}`);

    job = (await call(client, 'StartUserImportJob', { user_pool_id: DEMO_POOL, job_id: job.job_id }))
      .user_import_job;
    console.log(`started ${job.job_id}: ${job.status}`);
    job = await waitUntilFinal(client, job);
    console.log(`finished ${job.job_id}: ${job.status}`);
    console.log(`  imported/skipped/failed users: ${job.imported_users}/${job.skipped_users}/${job.failed_users}`);
    console.log(`  completion_message: ${job.completion_message}`);

    console.log(`jobs in ${DEMO_POOL}, ${PAGE_SIZE} a page:`);
    let number = 0;
    for await (const jobs of listJobs(client, DEMO_POOL)) {
      number += 1;
      console.log(`  page ${number}: ${jobs.map((j) => j.job_id).join(', ')}`);
    }

    // A finished job cannot be stopped: FAILED_PRECONDITION.
    try {
      await call(client, 'StopUserImportJob', { user_pool_id: DEMO_POOL, job_id: job.job_id });
    } catch (error) {
      printError(error, errorTypes);
      return;
    }
    throw new Error(`stopping the finished job ${job.job_id} succeeded; it should have failed`);
  } finally {
    client.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
