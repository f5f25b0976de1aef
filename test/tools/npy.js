'use strict';
// npy.js - read and write NumPy .npy files for the ONNX Runtime reference runner.
//
// Reading: format versions 1.0, 2.0 (and 3.0, which differs only in the header
// text encoding), C order only. Writing: format 1.0.
//
// An array is represented as { type, dims, data } where `type` is an
// onnxruntime-node tensor type name, `dims` an array of numbers and `data` the
// typed array onnxruntime-node uses for that type:
//
//   descr  type      data
//   <f4    float32   Float32Array
//   <f8    float64   Float64Array
//   <f2    float16   Uint16Array (raw IEEE half bits)
//   |i1    int8      Int8Array
//   <i2    int16     Int16Array
//   <i4    int32     Int32Array
//   <i8    int64     BigInt64Array
//   |u1    uint8     Uint8Array
//   <u2    uint16    Uint16Array
//   <u4    uint32    Uint32Array
//   <u8    uint64    BigUint64Array
//   |b1    bool      Uint8Array (0/1)
//
// Big-endian ('>') input data is byte-swapped on read. Output is always
// little-endian.

const fs = require('fs');

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

// kind+size -> info
const DTYPES = {
  f4: { type: 'float32', size: 4, ctor: Float32Array },
  f8: { type: 'float64', size: 8, ctor: Float64Array },
  f2: { type: 'float16', size: 2, ctor: Uint16Array },
  i1: { type: 'int8', size: 1, ctor: Int8Array },
  i2: { type: 'int16', size: 2, ctor: Int16Array },
  i4: { type: 'int32', size: 4, ctor: Int32Array },
  i8: { type: 'int64', size: 8, ctor: BigInt64Array },
  u1: { type: 'uint8', size: 1, ctor: Uint8Array },
  u2: { type: 'uint16', size: 2, ctor: Uint16Array },
  u4: { type: 'uint32', size: 4, ctor: Uint32Array },
  u8: { type: 'uint64', size: 8, ctor: BigUint64Array },
  b1: { type: 'bool', size: 1, ctor: Uint8Array },
};

const TYPE_TO_DESCR = {};
for (const [code, info] of Object.entries(DTYPES)) {
  TYPE_TO_DESCR[info.type] = (info.size === 1 ? '|' : '<') + code;
}

class NpyError extends Error {}

function fail(where, msg) {
  throw new NpyError(where ? `${where}: ${msg}` : msg);
}

// ---------------------------------------------------------------------------
// Header parsing. The header is a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// We parse a small subset of Python literal syntax: dict, tuple, list, str,
// int, True/False/None. Anything else is an error.

function parsePyLiteral(text, where) {
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n && /\s/.test(text[i])) i++;
  };
  const err = (m) => fail(where, `header parse error: ${m} at offset ${i} in ${JSON.stringify(text.trim())}`);

  function value(depth) {
    if (depth > 16) err('nesting too deep');
    ws();
    if (i >= n) err('unexpected end');
    const c = text[i];
    if (c === '{') return container('{', '}', depth, true);
    if (c === '(') return container('(', ')', depth, false);
    if (c === '[') return container('[', ']', depth, false);
    if (c === "'" || c === '"') return str();
    if (/[0-9+-]/.test(c)) return int();
    const m = /^(True|False|None)/.exec(text.slice(i, i + 5));
    if (m) {
      i += m[1].length;
      return m[1] === 'True' ? true : m[1] === 'False' ? false : null;
    }
    err(`unexpected character ${JSON.stringify(c)}`);
  }

  function str() {
    const q = text[i++];
    let s = '';
    while (i < n && text[i] !== q) {
      if (text[i] === '\\') {
        i++;
        if (i >= n) break;
      }
      s += text[i++];
    }
    if (i >= n) err('unterminated string');
    i++;
    return s;
  }

  function int() {
    const m = /^[+-]?[0-9]+L?/.exec(text.slice(i));
    if (!m) err('bad number');
    i += m[0].length;
    const v = Number(m[0].replace('L', ''));
    if (!Number.isSafeInteger(v)) err(`integer out of range ${m[0]}`);
    return v;
  }

  function container(open, close, depth, isDict) {
    i++; // open
    const items = [];
    const obj = {};
    let sawComma = false;
    for (;;) {
      ws();
      if (i >= n) err(`unterminated '${open}'`);
      if (text[i] === close) {
        i++;
        break;
      }
      if (isDict) {
        const k = value(depth + 1);
        if (typeof k !== 'string') err('dict key is not a string');
        ws();
        if (text[i] !== ':') err("expected ':'");
        i++;
        obj[k] = value(depth + 1);
      } else {
        items.push(value(depth + 1));
      }
      ws();
      if (text[i] === ',') {
        sawComma = true;
        i++;
      } else if (text[i] !== close) {
        err(`expected ',' or '${close}'`);
      }
    }
    if (isDict) return obj;
    if (open === '(' && items.length === 1 && !sawComma) return items[0]; // (x) is not a tuple
    return items;
  }

  const v = value(0);
  ws();
  if (i !== n) err('trailing characters');
  return v;
}

function descrInfo(descr, where) {
  if (typeof descr !== 'string') fail(where, `unsupported dtype ${JSON.stringify(descr)} (structured dtypes are not supported)`);
  const m = /^([<>|=]?)([a-zA-Z])(\d+)$/.exec(descr);
  const code = m ? m[2] + m[3] : null;
  const info = code ? DTYPES[code] : undefined;
  if (!info) fail(where, `unsupported dtype '${descr}'`);
  let order = m[1];
  if (order === '=' || order === '') order = '<'; // all hosts we run on are little-endian
  if (order === '|' && info.size !== 1) fail(where, `dtype '${descr}' has no byte order`);
  return { ...info, bigEndian: order === '>' && info.size > 1, descr };
}

// Parse a .npy buffer. `where` is used as the error-message prefix (a file name).
function parseNpy(buf, where = '') {
  if (buf.length < 10) fail(where, `truncated file (${buf.length} bytes, not a .npy file)`);
  if (!buf.subarray(0, 6).equals(MAGIC)) fail(where, 'bad magic (not a .npy file)');
  const major = buf[6];
  const minor = buf[7];
  let hlen;
  let hstart;
  if (major === 1) {
    hlen = buf.readUInt16LE(8);
    hstart = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) fail(where, 'truncated header');
    hlen = buf.readUInt32LE(8);
    hstart = 12;
  } else {
    fail(where, `unsupported .npy format version ${major}.${minor}`);
  }
  if (hstart + hlen > buf.length) fail(where, `truncated header (header length ${hlen}, file ${buf.length} bytes)`);
  const htext = buf.subarray(hstart, hstart + hlen).toString(major === 3 ? 'utf8' : 'latin1');
  const hdr = parsePyLiteral(htext, where);
  if (hdr === null || typeof hdr !== 'object' || Array.isArray(hdr)) fail(where, 'header parse error: header is not a dict');
  for (const k of ['descr', 'fortran_order', 'shape']) {
    if (!(k in hdr)) fail(where, `header parse error: missing key '${k}'`);
  }
  const info = descrInfo(hdr.descr, where);
  if (hdr.fortran_order !== false) {
    if (hdr.fortran_order === true) fail(where, 'fortran_order is True; only C-order arrays are supported (save with np.ascontiguousarray)');
    fail(where, 'header parse error: fortran_order is not a bool');
  }
  const shape = hdr.shape;
  if (!Array.isArray(shape)) fail(where, 'header parse error: shape is not a tuple');
  let numel = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) fail(where, `header parse error: bad dimension ${JSON.stringify(d)}`);
    numel *= d;
    if (!Number.isSafeInteger(numel)) fail(where, 'element count overflows');
  }
  const dataStart = hstart + hlen;
  const nbytes = numel * info.size;
  const avail = buf.length - dataStart;
  if (avail < nbytes) fail(where, `data size mismatch: shape (${shape.join(', ')}) of ${info.descr} needs ${nbytes} bytes, file has ${avail}`);
  if (avail > nbytes) fail(where, `data size mismatch: ${avail - nbytes} trailing bytes after array data`);
  // Copy into a fresh, aligned buffer.
  const ab = new ArrayBuffer(nbytes);
  const bytes = new Uint8Array(ab);
  bytes.set(buf.subarray(dataStart, dataStart + nbytes));
  if (info.bigEndian) {
    for (let off = 0; off < nbytes; off += info.size) bytes.subarray(off, off + info.size).reverse();
  }
  const data = new info.ctor(ab, 0, numel);
  if (info.type === 'bool') {
    for (let k = 0; k < numel; k++) if (data[k] > 1) data[k] = 1;
  }
  return { type: info.type, dims: shape.slice(), data, descr: info.descr, version: `${major}.${minor}` };
}

function readNpy(path) {
  let buf;
  try {
    buf = fs.readFileSync(path);
  } catch (e) {
    if (e.code === 'ENOENT') fail(path, 'no such file');
    if (e.code === 'EISDIR') fail(path, 'is a directory');
    fail(path, `cannot read: ${e.message}`);
  }
  return parseNpy(buf, path);
}

function shapeTuple(dims) {
  if (dims.length === 0) return '()';
  if (dims.length === 1) return `(${dims[0]},)`;
  return `(${dims.join(', ')})`;
}

// Serialize {type, dims, data} (e.g. an ort.Tensor) to a .npy v1.0 buffer.
function formatNpy(arr) {
  const type = arr.type;
  const descr = TYPE_TO_DESCR[type];
  if (!descr) throw new NpyError(`cannot write tensor of type '${type}' to .npy`);
  const info = DTYPES[descr.slice(1)];
  const dims = Array.from(arr.dims, Number);
  const numel = dims.reduce((a, b) => a * b, 1);
  const data = arr.data;
  if (!ArrayBuffer.isView(data)) throw new NpyError(`tensor data of type '${type}' is not a typed array`);
  if (data.length !== numel) throw new NpyError(`tensor data has ${data.length} elements, shape ${shapeTuple(dims)} needs ${numel}`);
  if (data.BYTES_PER_ELEMENT !== info.size) throw new NpyError(`tensor data element size ${data.BYTES_PER_ELEMENT} does not match type '${type}'`);
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeTuple(dims)}, }`;
  // Pad with spaces so the data starts at a multiple of 64, header ends in '\n'.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  if (header.length > 0xffff) throw new NpyError('header too long for .npy format 1.0');
  const out = Buffer.alloc(10 + header.length + numel * info.size);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  const src = Buffer.from(data.buffer, data.byteOffset, numel * info.size);
  src.copy(out, 10 + header.length);
  if (type === 'bool') {
    for (let k = 10 + header.length; k < out.length; k++) if (out[k]) out[k] = 1;
  }
  return out;
}

function writeNpy(path, arr) {
  fs.writeFileSync(path, formatNpy(arr));
}

module.exports = { readNpy, writeNpy, parseNpy, formatNpy, NpyError, TYPE_TO_DESCR };
