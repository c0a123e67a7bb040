'use strict'

// Arguments cross to the native side as a JSON array in which every binary
// value is replaced by `{ _placeholder: true, num: N }`, plus the list of
// buffers: the socket.io-parser convention, with JSON.stringify semantics.

function isBinary(v) {
  return Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)
}

function toBuffer(v) {
  if (Buffer.isBuffer(v)) return v
  if (v instanceof ArrayBuffer) return Buffer.from(v)
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
}

function hasBinary(v, depth = 0) {
  if (v === null || typeof v !== 'object' || depth > 100) return false
  if (isBinary(v)) return true
  if (Array.isArray(v)) return v.some((x) => hasBinary(x, depth + 1))
  if (typeof v.toJSON === 'function') return false
  for (const k in v) {
    if (Object.prototype.hasOwnProperty.call(v, k) && hasBinary(v[k], depth + 1)) return true
  }
  return false
}

function deconstruct(v, bins) {
  if (v === null || typeof v !== 'object') return v
  if (isBinary(v)) {
    bins.push(toBuffer(v))
    return { _placeholder: true, num: bins.length - 1 }
  }
  if (Array.isArray(v)) return v.map((x) => deconstruct(x, bins))
  if (typeof v.toJSON === 'function') return v
  const out = {}
  for (const k in v) {
    if (Object.prototype.hasOwnProperty.call(v, k)) out[k] = deconstruct(v[k], bins)
  }
  return out
}

/** Encodes arguments: [json, buffers]. */
function encode(args) {
  const bins = []
  const data = hasBinary(args) ? deconstruct(args, bins) : args
  return [JSON.stringify(data), bins]
}

function reconstruct(v, bins) {
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = reconstruct(v[i], bins)
    return v
  }
  if (v._placeholder === true && typeof v.num === 'number') return bins[v.num]
  for (const k of Object.keys(v)) v[k] = reconstruct(v[k], bins)
  return v
}

/** Decodes arguments from the native side. */
function decode(json, bins) {
  if (json == null) return []
  const v = JSON.parse(json)
  return bins && bins.length ? reconstruct(v, bins) : v
}

module.exports = { encode, decode, isBinary }
