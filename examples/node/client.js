#!/usr/bin/env node
// A Node.js client of importjob.v1.ImportJobService, loading the protos at run
// time with @grpc/proto-loader.
//
// It imports a few users into the emulator's demo pool the way a team would
// through the service: creates a job, gets the pool's CSV header, builds a CSV
// of users for it, uploads it in a client stream of small chunks, starts the
// job and watches it (a server stream) until it finishes. Then it checks a
// file with mistakes for a second job, uploading nothing, and prints each
// problem the google.rpc.BadRequest of the refusal names, decoded from the
// `grpc-status-details-bin` trailer with protobufjs.
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
const ROLE_ARN = 'arn:aws:iam::123456789012:role/CognitoImportLogs';
const TIMEOUT_MS = 10_000; // each call's deadline
const MAX_WAIT_MS = 60_000; // the watch's deadline
const CHUNK_SIZE = 128; // bytes; tiny, to show the stream (the service takes up to 1 MiB a chunk)

const USERS = [['ada', 'ada@example.com'], ['grace', 'grace@example.com'], ['alan', 'alan@example.com']];
// A file Cognito would refuse: the second row repeats a username, the third
// has email_verified true and no email, the fourth an MFA flag that is no boolean.
const BAD_ROWS = [
  { 'cognito:username': 'ada', email: 'ada@example.com' },
  { 'cognito:username': 'ada', email: 'ada.l@example.com' },
  { 'cognito:username': 'grace', email: '' },
  { 'cognito:username': 'alan', email: 'alan@example.com', 'cognito:mfa_enabled': 'maybe' },
];

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

function deadline(ms = TIMEOUT_MS) {
  return { deadline: new Date(Date.now() + ms) };
}

// One unary call as a promise, with a deadline.
function call(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, deadline(), (error, response) => (error ? reject(error) : resolve(response)));
  });
}

// The CSV file for the pool's header: one line per user, every column the row
// does not set empty but the flags Cognito needs. These values need no quoting.
function buildCsv(header, rows) {
  const lines = [header.join(',')];
  for (const row of rows) {
    const user = { email_verified: 'true', 'cognito:mfa_enabled': 'false', phone_number_verified: 'false', ...row };
    lines.push(header.map((column) => user[column] ?? '').join(','));
  }
  return Buffer.from(lines.map((line) => `${line}\n`).join(''));
}

// Streams data to the job: first what and how long, then the bytes.
function upload(client, job, data, validateOnly = false) {
  return new Promise((resolve, reject) => {
    const stream = client.UploadUserImportCsv(deadline(), (error, response) =>
      (error ? reject(error) : resolve(response)));
    stream.write({
      user_pool_id: job.user_pool_id,
      job_id: job.job_id,
      content_length: data.length,
      validate_only: validateOnly,
    });
    for (let start = 0; start < data.length; start += CHUNK_SIZE) {
      stream.write({ chunk: data.subarray(start, start + CHUNK_SIZE) });
    }
    stream.end();
  });
}

// Follows the job to its final status, printing each new status; the stream
// ends OK once the status is final.
async function watch(client, job) {
  const request = { user_pool_id: job.user_pool_id, job_id: job.job_id };
  for await (const answer of client.WatchUserImportJob(request, deadline(MAX_WAIT_MS))) {
    if (answer.user_import_job.status !== job.status) {
      console.log(`  now ${answer.user_import_job.status}`);
    }
    job = answer.user_import_job;
  }
  return job;
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
      console.log('  BadRequest:');
      for (const violation of badRequest.field_violations) {
        console.log(`    ${violation.field}: ${violation.description}`);
      }
    } else {
      // PreconditionFailure, ResourceInfo, RetryInfo, QuotaFailure: decoded the same way.
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
    const create = { user_pool_id: DEMO_POOL, job_name: 'example import', cloud_watch_logs_role_arn: ROLE_ARN };
    let job = (await call(client, 'CreateUserImportJob', create)).user_import_job;
    // job.pre_signed_url is where the upload goes: anyone holding it can
    // upload users, so it is a secret, never printed or logged.
    console.log(`created ${job.job_id} in ${job.user_pool_id}: ${job.status}`);

    const header = await call(client, 'GetCsvHeader', { user_pool_id: DEMO_POOL });
    console.log(`CSV header: ${header.csv_header.join(',')}`);

    const users = USERS.map(([username, email]) => ({ 'cognito:username': username, email }));
    const data = buildCsv(header.csv_header, users);
    const sent = await upload(client, job, data);
    if (!sent.uploaded) {
      throw new Error(`the file for ${job.job_id} was checked but not uploaded`);
    }
    const chunks = Math.ceil(data.length / CHUNK_SIZE);
    console.log(`uploaded ${sent.rows} users (${sent.bytes} bytes in ${chunks} chunks) to ${job.job_id}: `
      + `${sent.user_import_job.status}`);

    job = (await call(client, 'StartUserImportJob', { user_pool_id: DEMO_POOL, job_id: job.job_id }))
      .user_import_job;
    console.log(`started ${job.job_id}: ${job.status}`);
    job = await watch(client, job);
    console.log(`finished ${job.job_id}: ${job.status}`);
    console.log(`  imported/skipped/failed users: ${job.imported_users}/${job.skipped_users}/${job.failed_users}`);
    console.log(`  completion_message: ${job.completion_message}`);

    // A file with mistakes, checked for a second job (the first has started:
    // only a CREATED job takes a file). Nothing is uploaded.
    job = (await call(client, 'CreateUserImportJob', create)).user_import_job;
    console.log(`created ${job.job_id} in ${job.user_pool_id}: ${job.status}`);
    try {
      await upload(client, job, buildCsv(header.csv_header, BAD_ROWS), true);
    } catch (error) {
      printError(error, errorTypes);
      return;
    }
    throw new Error(`the file with mistakes passed the checks for ${job.job_id}`);
  } finally {
    client.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
