#!/usr/bin/env node
// tools/onnx/ort_run.js — runs an ONNX model in ONNX Runtime's CPU library (the npm package
// onnxruntime-node, installed by tools/onnx/install-ort.sh), for the ONNX export test and for
// `make bench-infer`. Two modes:
//
//   node tools/onnx/ort_run.js --model m.onnx --input x.f32 --shape 2,3,64,64 --output y.f32 [--threads N]
//       one run: x.f32 holds the input as raw little-endian float32; the first output is written to
//       y.f32 the same way and its dims are printed as `dims=2,10`.
//   node tools/onnx/ort_run.js --model m.onnx --name resnet50 --batch 1 --height 224 --width 224 \
//       --threads 2 --warmup 1 --iters 5
//       latency: prints the line tools/bench/infer_bench prints, with "ort" in place of "csg".
//
// --ort DIR: where install-ort.sh put the package (default: $CSG_ORT_DIR, else
// data/generated/onnxruntime in the repository). The session: intra-op threads = --threads (0:
// ORT's default), one inter-op thread, sequential execution, every graph optimisation on.
// --spin 0 turns off the intra-op threads' spinning while they wait for work (ORT's
// session.intra_op.allow_spinning; on by default), the counterpart of OMP_WAIT_POLICY=PASSIVE.
// For finding where ORT's time goes: --profile PREFIX writes ORT's per-node profile (PREFIX_<date>.json),
// --save-optimized FILE.onnx the graph after ORT's rewrites (fusions, NCHWc layouts).
'use strict';
const start = process.hrtime.bigint();
const fs = require('fs');
const path = require('path');

function flags(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`expected --flag value pairs, got ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  return out;
}

function loadOrt(dir) {
  const pkg = path.resolve(dir, 'node_modules', 'onnxruntime-node');
  if (!fs.existsSync(path.join(pkg, 'package.json'))) {
    console.error(`ort_run: ONNX Runtime is not installed in ${dir}: run bash tools/onnx/install-ort.sh`);
    process.exit(3);
  }
  return {ort: require(pkg), version: require(path.join(pkg, 'package.json')).version};
}

function cpuMs() {
  const u = process.cpuUsage();  // the whole process: ORT's worker threads included
  return (u.user + u.system) / 1e3;
}

async function main() {
  const a = flags(process.argv.slice(2));
  const dir = a.ort || process.env.CSG_ORT_DIR || path.join(__dirname, '..', '..', 'data', 'generated', 'onnxruntime');
  const {ort, version} = loadOrt(dir);
  const threads = parseInt(a.threads || '0', 10);
  const options = {executionProviders: ['cpu'], graphOptimizationLevel: 'all', executionMode: 'sequential',
                   interOpNumThreads: 1};
  if (threads > 0) options.intraOpNumThreads = threads;
  if (a.spin === '0') options.extra = {session: {intra_op: {allow_spinning: '0'}}};
  if (a.profile) Object.assign(options, {enableProfiling: true, profileFilePrefix: a.profile});
  if (a['save-optimized']) options.optimizedModelFilePath = a['save-optimized'];
  const session = await ort.InferenceSession.create(a.model, options);
  const inputName = session.inputNames[0], outputName = session.outputNames[0];

  if (a.input) {  // one run, for the export test
    const dims = a.shape.split(',').map(Number);
    const raw = fs.readFileSync(a.input);
    const x = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    if (x.length !== dims.reduce((p, d) => p * d, 1)) throw new Error(`${a.input}: ${x.length} floats for shape ${dims}`);
    const result = await session.run({[inputName]: new ort.Tensor('float32', x, dims)});
    const y = result[outputName];
    fs.writeFileSync(a.output, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
    console.log(`dims=${y.dims.join(',')} ort=${version}`);
    return;
  }

  const batch = parseInt(a.batch || '1', 10), h = parseInt(a.height || '224', 10), w = parseInt(a.width || '224', 10);
  const warmup = parseInt(a.warmup || '2', 10), iters = parseInt(a.iters || '10', 10);
  const n = batch * 3 * h * w;
  const x = new Float32Array(n);
  let s = 12345;  // a fixed pseudo-random input (the values do not change the work)
  for (let i = 0; i < n; ++i) {
    s = (s * 1103515245 + 12345) >>> 0;
    x[i] = s / 4294967296 * 2 - 1;
  }
  const feeds = {[inputName]: new ort.Tensor('float32', x, [batch, 3, h, w])};
  const startup = Number(process.hrtime.bigint() - start) / 1e6;
  for (let i = 0; i < warmup; ++i) await session.run(feeds);
  const times = [];
  const cpu0 = cpuMs();
  for (let i = 0; i < iters; ++i) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const cpuPerRun = (cpuMs() - cpu0) / iters;
  times.sort((p, q) => p - q);
  const median = times[Math.floor(times.length / 2)];  // the upper median, as infer_bench
  const rss = process.resourceUsage().maxRSS / 1024;
  if (a.profile) session.endProfiling();
  console.log(`ort ${a.name || path.basename(a.model, '.onnx')} b${batch} ${h}x${w}: ${median.toFixed(1)} ms ` +
              `(min ${times[0].toFixed(1)}), ${(batch * 1000 / median).toFixed(2)} images/s, CPU ${cpuPerRun.toFixed(0)} ` +
              `ms/run, startup ${startup.toFixed(0)} ms, peak RSS ${rss.toFixed(0)} MB, onnxruntime ${version}`);
}

main().catch((e) => {
  console.error(`ort_run: ${e.message || e}`);
  process.exit(1);
});
