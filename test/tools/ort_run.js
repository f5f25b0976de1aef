#!/usr/bin/env node
'use strict';
// ort_run.js - run an ONNX model with ONNX Runtime (CPU) on .npy inputs and
// write its outputs as .npy files; the reference for qcc's generated C.
//
// usage: node test/tools/ort_run.js MODEL.onnx --input NAME=FILE.npy [--input ...]
//            --out-dir DIR [--threads N] [--sample K] [--bench ITERS] [--warmup W]
//
//   --input NAME=FILE  feed FILE (a .npy) to model input NAME (repeatable)
//   --out-dir DIR      write each output as DIR/<output name>.npy (name sanitized:
//                      characters outside [A-Za-z0-9_.-] become '_')
//   --threads N        intra-op threads (default 1); inter-op threads are always 1
//   --sample K         for inputs whose file has one more (leading) axis than the
//                      model input, take sample K of that axis
//   --bench ITERS      after the checked run, do W warmup runs and ITERS timed
//                      runs, print `ort_ms_per_run <median ms> <min ms>` on stdout
//   --warmup W         warmup runs for --bench (default 3)
//
// Errors are one line on stderr (prefixed "ort_run: error: ") with exit status 1;
// usage errors are one line too and exit with status 2.

const fs = require('fs');
const path = require('path');
const { readNpy, writeNpy, NpyError } = require('./npy.js');

const PROG = 'ort_run';

class UsageError extends Error {}
class RunError extends Error {}

function oneLine(s) {
  return String(s).replace(/\s*\n\s*/g, ' ').trim();
}

const USAGE =
  'usage: node ort_run.js MODEL.onnx --input NAME=FILE.npy [--input ...] --out-dir DIR ' +
  '[--threads N] [--sample K] [--bench ITERS] [--warmup W]';

function parseIntArg(flag, v, min) {
  if (v === undefined) throw new UsageError(`${flag} needs a value`);
  if (!/^[0-9]+$/.test(v)) throw new UsageError(`${flag}: '${v}' is not a non-negative integer`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag}: must be >= ${min}`);
  return n;
}

function parseArgs(argv) {
  const o = { model: null, inputs: [], outDir: null, threads: 1, bench: 0, warmup: 3, sample: null };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let val;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    // allow --flag=value for flags other than --input (whose value contains '=')
    if (eq > 0 && !a.startsWith('--input=')) {
      val = a.slice(eq + 1);
      a = a.slice(0, eq);
    } else if (a.startsWith('--input=')) {
      val = a.slice('--input='.length);
      a = '--input';
    }
    const next = () => (val !== undefined ? val : argv[++i]);
    switch (a) {
      case '-h':
      case '--help':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
        break;
      case '--input': {
        const v = next();
        if (v === undefined) throw new UsageError('--input needs NAME=FILE.npy');
        const k = v.indexOf('=');
        if (k <= 0 || k === v.length - 1) throw new UsageError(`--input '${v}': expected NAME=FILE.npy`);
        const name = v.slice(0, k);
        if (o.inputs.some((x) => x.name === name)) throw new UsageError(`--input '${name}' given twice`);
        o.inputs.push({ name, file: v.slice(k + 1) });
        break;
      }
      case '--out-dir':
        o.outDir = next();
        if (o.outDir === undefined || o.outDir === '') throw new UsageError('--out-dir needs a directory');
        break;
      case '--threads':
        o.threads = parseIntArg('--threads', next(), 1);
        break;
      case '--bench':
        o.bench = parseIntArg('--bench', next(), 1);
        break;
      case '--warmup':
        o.warmup = parseIntArg('--warmup', next(), 0);
        break;
      case '--sample':
        o.sample = parseIntArg('--sample', next(), 0);
        break;
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown option '${argv[i]}'`);
        if (o.model !== null) throw new UsageError(`unexpected argument '${a}' (model already given as '${o.model}')`);
        o.model = a;
    }
  }
  if (o.model === null) throw new UsageError('no model given');
  if (o.outDir === null && o.bench === 0) throw new UsageError('--out-dir is required (unless only benchmarking with --bench)');
  return o;
}

function sanitize(name) {
  const s = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return s === '' ? '_' : s;
}

function fmtShape(dims) {
  return '[' + Array.from(dims).join(', ') + ']';
}

// Take sample k of the leading axis of arr.
function takeSample(arr, k, name, file) {
  const n = arr.dims[0];
  if (k >= n) throw new RunError(`input '${name}': --sample ${k} out of range, ${file} has ${n} samples (shape ${fmtShape(arr.dims)})`);
  const rest = arr.dims.slice(1);
  const per = rest.reduce((a, b) => a * b, 1);
  const data = arr.data.slice(k * per, (k + 1) * per);
  return { ...arr, dims: rest, data };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));

  if (!fs.existsSync(opts.model)) throw new RunError(`${opts.model}: no such file`);
  if (fs.statSync(opts.model).isDirectory()) throw new RunError(`${opts.model}: is a directory`);

  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    throw new RunError(`cannot load onnxruntime-node (run 'npm install --ignore-scripts' in ${__dirname}): ${oneLine(e.message)}`);
  }

  let session;
  try {
    session = await ort.InferenceSession.create(opts.model, {
      intraOpNumThreads: opts.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (e) {
    throw new RunError(`${opts.model}: cannot load model: ${oneLine(e.message)}`);
  }

  const inputNames = session.inputNames;
  const meta = new Map();
  for (const m of session.inputMetadata || []) meta.set(m.name, m);
  const describeInputs = () =>
    inputNames
      .map((n) => {
        const m = meta.get(n);
        return m && m.isTensor ? `${n} (${m.type} ${fmtShape(m.shape)})` : n;
      })
      .join(', ');

  for (const inp of opts.inputs) {
    if (!inputNames.includes(inp.name)) throw new RunError(`model has no input '${inp.name}'; its inputs are: ${describeInputs()}`);
  }
  const missing = inputNames.filter((n) => !opts.inputs.some((x) => x.name === n));
  if (missing.length) throw new RunError(`no --input given for model input(s) ${missing.map((n) => `'${n}'`).join(', ')}; its inputs are: ${describeInputs()}`);

  const feeds = {};
  for (const inp of opts.inputs) {
    let arr = readNpy(inp.file);
    const m = meta.get(inp.name);
    const modelRank = m && m.isTensor && Array.isArray(m.shape) && m.shape.length > 0 ? m.shape.length : null;
    if (opts.sample !== null) {
      // Slice when the file has exactly one axis more than the model input,
      // or (rank unknown) whenever the file has a leading axis.
      if ((modelRank !== null && arr.dims.length === modelRank + 1) || (modelRank === null && arr.dims.length > 0)) {
        arr = takeSample(arr, opts.sample, inp.name, inp.file);
      }
    } else if (modelRank !== null && arr.dims.length === modelRank + 1) {
      throw new RunError(
        `input '${inp.name}': ${inp.file} has shape ${fmtShape(arr.dims)} (rank ${arr.dims.length}) but the model input is ` +
          `${fmtShape(m.shape)} (rank ${modelRank}); if the leading axis is a sample axis, pass --sample K`
      );
    }
    if (m && m.isTensor && m.type && m.type !== arr.type) {
      throw new RunError(`input '${inp.name}': ${inp.file} holds ${arr.type} (${arr.descr}) but the model input is ${m.type}`);
    }
    try {
      feeds[inp.name] = new ort.Tensor(arr.type, arr.data, arr.dims);
    } catch (e) {
      throw new RunError(`input '${inp.name}': ${oneLine(e.message)}`);
    }
  }

  const run = async () => {
    try {
      return await session.run(feeds);
    } catch (e) {
      throw new RunError(`inference failed: ${oneLine(e.message)}`);
    }
  };

  const results = await run();

  if (opts.outDir !== null) {
    fs.mkdirSync(opts.outDir, { recursive: true });
    const used = new Map();
    for (const name of session.outputNames) {
      const t = results[name];
      const fname = sanitize(name) + '.npy';
      if (used.has(fname)) throw new RunError(`outputs '${used.get(fname)}' and '${name}' both map to file name '${fname}'`);
      used.set(fname, name);
      if (!t) throw new RunError(`output '${name}' missing from results`);
      try {
        writeNpy(path.join(opts.outDir, fname), t);
      } catch (e) {
        throw new RunError(`output '${name}': ${oneLine(e.message)}`);
      }
    }
  }

  if (opts.bench > 0) {
    for (let i = 0; i < opts.warmup; i++) await run();
    const times = [];
    for (let i = 0; i < opts.bench; i++) {
      const t0 = process.hrtime.bigint();
      await run();
      const t1 = process.hrtime.bigint();
      times.push(Number(t1 - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    const n = times.length;
    const median = n % 2 ? times[(n - 1) / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
    process.stdout.write(`ort_ms_per_run ${median.toFixed(4)} ${times[0].toFixed(4)}\n`);
  }

  if (typeof session.release === 'function') await session.release();
}

main().then(
  () => process.exit(0),
  (e) => {
    if (e instanceof UsageError) {
      process.stderr.write(`${PROG}: error: ${e.message} (see --help)\n`);
      process.exit(2);
    }
    if (e instanceof RunError || e instanceof NpyError) {
      process.stderr.write(`${PROG}: error: ${oneLine(e.message)}\n`);
    } else {
      process.stderr.write(`${PROG}: error: ${oneLine(e && e.stack ? e.stack : e)}\n`);
    }
    process.exit(1);
  }
);
