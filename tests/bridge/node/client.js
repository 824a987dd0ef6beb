// An independent peer for the JEN bridge: @grpc/grpc-js + @grpc/proto-loader, nothing from this repo's Python.
// Usage: node client.js <host:port> [bars]
// Calls grpc.health.v1.Health/Check, then jen.bridge.v1.Bridge/Generate, checks every stem's chunks are contiguous
// and that their SHA-256 matches the server's pcm_sha256, and prints one JSON summary line.
'use strict';

const path = require('path');
const crypto = require('crypto');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const target = process.argv[2] || '127.0.0.1:50051';
const bars = parseInt(process.argv[3] || '1', 10);
const repo = path.resolve(__dirname, '..', '..', '..');
const options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

const bridgeDef = protoLoader.loadSync(path.join(repo, 'protos', 'jen', 'bridge', 'v1', 'bridge.proto'),
  { ...options, includeDirs: [path.join(repo, 'protos', 'jen')] });
const healthDef = protoLoader.loadSync(path.join(__dirname, 'health.proto'), options);
const bridgePkg = grpc.loadPackageDefinition(bridgeDef).jen.bridge.v1;
const healthPkg = grpc.loadPackageDefinition(healthDef).grpc.health.v1;

const creds = grpc.credentials.createInsecure();
const health = new healthPkg.Health(target, creds);
const bridge = new bridgePkg.Bridge(target, creds);

function fail(message) {
  console.log(JSON.stringify({ ok: false, error: message }));
  process.exit(1);
}

health.Check({ service: 'jen.bridge.v1.Bridge' }, { deadline: Date.now() + 10000 }, (err, reply) => {
  if (err) fail(`health: ${err.code} ${err.details}`);
  const summary = { ok: true, health: reply.status, events: [], stems: {} };
  const request = {
    timeline: {
      bpm: 120, sample_rate: 44100, time_signature: { numerator: 4, denominator: 4 },
      region: { start_bar: 2, end_bar: 2 + bars },
    },
    prompt: 'node peer', stems: [], task: 'TASK_GENERATE', seed: '7', chunk_frames: 4096,
  };
  const call = bridge.Generate(request, { deadline: Date.now() + 60000 });
  const hashes = {};
  call.on('data', (ev) => {
    summary.events.push(ev.event);
    if (ev.event === 'accepted') {
      summary.job_id = ev.job_id;
      summary.plan = { start: Number(ev.accepted.plan.start_sample), length: Number(ev.accepted.plan.length) };
    } else if (ev.event === 'chunk') {
      const c = ev.chunk;
      const s = summary.stems[c.stem] || (summary.stems[c.stem] = { chunks: 0, next: null, gaps: 0, frames: 0 });
      const start = Number(c.start_sample);
      if (s.next !== null && start !== s.next) s.gaps += 1;
      if (s.chunks !== c.index) s.gaps += 1;
      s.first = s.first === undefined ? start : s.first;
      s.next = start + c.frames;
      s.chunks += 1;
      s.frames += c.frames;
      (hashes[c.stem] || (hashes[c.stem] = crypto.createHash('sha256'))).update(c.data);
    } else if (ev.event === 'stem_done') {
      const d = ev.stem_done;
      const s = summary.stems[d.stem];
      s.sha_ok = hashes[d.stem].digest('hex') === d.pcm_sha256;
      s.path = d.path;
      s.done_frames = Number(d.frames);
    } else if (ev.event === 'error') {
      summary.ok = false;
      summary.error = ev.error;
    }
  });
  call.on('error', (e) => fail(`generate: ${e.code} ${e.details}`));
  call.on('end', () => {
    // compress the event list: "accepted progress*N chunk*M ..." keeps the line short
    const runs = [];
    for (const e of summary.events) {
      if (runs.length && runs[runs.length - 1][0] === e) runs[runs.length - 1][1] += 1;
      else runs.push([e, 1]);
    }
    summary.events = runs.map(([e, n]) => (n > 1 ? `${e}*${n}` : e));
    console.log(JSON.stringify(summary));
    process.exit(summary.ok ? 0 : 1);
  });
});
