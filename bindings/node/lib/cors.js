'use strict'

// The `cors` option, as the npm `cors` package that socket.io applies reads
// it. Static origins (strings, RegExps, arrays of them) are decided by the
// native server on every request; a function, or a pattern the Rust regex
// engine cannot run, is asked on the JS thread. Restricting origins never
// widens them: an origin the option does not allow gets no
// Access-Control-Allow-Origin header.

const KNOWN = new Set([
  'origin',
  'methods',
  'allowedHeaders',
  'headers',
  'exposedHeaders',
  'credentials',
  'maxAge',
  'preflightContinue',
  'optionsSuccessStatus',
])

/** A header list option: arrays are joined with commas, as `cors` does. */
function list(name, v) {
  if (v === undefined || v === null) return undefined
  if (Array.isArray(v)) return v.join(',')
  if (typeof v === 'string') return v
  throw new TypeError(`cors.${name} must be a string or an array of strings`)
}

/** A JS RegExp as a Rust regex (flags `i`, `m`, `s` carried over). */
function regexSource(re) {
  const flags = ['i', 'm', 's'].filter((f) => re.flags.includes(f)).join('')
  return (flags ? `(?${flags})` : '') + re.source
}

/**
 * The native server's CORS options, or undefined for none (`origin: false`).
 * `callback` forces the mode in which JS decides each origin.
 */
function corsOptions(c, callback = false) {
  if (c === true) c = {}
  if (typeof c === 'function') {
    throw new TypeError('cors: an options delegate function is not supported; pass an options object')
  }
  if (c === null || typeof c !== 'object') throw new TypeError('cors must be an object or true')
  for (const k of Object.keys(c)) {
    if (!KNOWN.has(k)) throw new TypeError(`cors.${k} is not an option of the cors package`)
  }
  if (c.preflightContinue) {
    throw new TypeError('cors.preflightContinue is not supported: preflights are answered by the server')
  }
  if (c.optionsSuccessStatus !== undefined && c.optionsSuccessStatus !== 204) {
    throw new TypeError('cors.optionsSuccessStatus: only 204 is supported')
  }
  if (c.credentials !== undefined && typeof c.credentials !== 'boolean') {
    throw new TypeError('cors.credentials must be a boolean')
  }
  let maxAge
  if (c.maxAge !== undefined && c.maxAge !== null) {
    maxAge = Number(c.maxAge)
    if (!Number.isFinite(maxAge) || maxAge < 0) throw new TypeError('cors.maxAge must be a number of seconds')
  }
  const out = {
    mode: 'any',
    origins: [],
    patterns: [],
    credentials: c.credentials,
    methods: list('methods', c.methods),
    allowedHeaders: list('allowedHeaders', c.allowedHeaders !== undefined ? c.allowedHeaders : c.headers),
    exposedHeaders: list('exposedHeaders', c.exposedHeaders),
    maxAge,
  }
  const origin = c.origin
  if (origin === false) return undefined
  if (!origin || origin === '*') out.mode = 'any'
  else if (origin === true) out.mode = 'reflect'
  else if (typeof origin === 'string') {
    out.mode = 'fixed'
    out.origins = [origin]
  } else if (typeof origin === 'function') out.mode = 'callback'
  else if (origin instanceof RegExp || Array.isArray(origin)) {
    const items = Array.isArray(origin) ? origin : [origin]
    out.mode = 'match'
    for (const item of items) {
      if (typeof item === 'string') out.origins.push(item)
      else if (item instanceof RegExp) out.patterns.push(regexSource(item))
      // Anything else counts by its truthiness, as in `cors`: asked in JS.
      else out.mode = 'callback'
    }
  } else {
    throw new TypeError('cors.origin must be a boolean, string, RegExp, array or function')
  }
  if (callback && out.mode === 'match') out.mode = 'callback'
  if (out.mode === 'callback') {
    out.origins = []
    out.patterns = []
  }
  return out
}

/** The `cors` package's `isOriginAllowed`. */
function isOriginAllowed(origin, allowed) {
  if (Array.isArray(allowed)) return allowed.some((a) => isOriginAllowed(origin, a))
  if (typeof allowed === 'string') return origin === allowed
  if (allowed instanceof RegExp) {
    allowed.lastIndex = 0
    return allowed.test(origin)
  }
  return !!allowed
}

/** Answers of the callback mode (the native `EventKind.Origin` event's codes). */
const REFUSED = 0
const ALLOWED = 1
const NO_CORS = 2

/**
 * What the `cors` package does with the value an origin function gave:
 * `false` skips CORS for the request, `*` / `true` / nothing allow any
 * origin, the rest is compared with the request's origin.
 */
function answerFor(origin, value) {
  if (value === false) return NO_CORS
  if (value === undefined || value === null || value === '' || value === '*' || value === true) return ALLOWED
  return isOriginAllowed(origin, value) ? ALLOWED : REFUSED
}

/** Decides `origin` in the callback mode; `answer(code)` exactly once. */
function decideOrigin(spec, origin, answer, report) {
  if (typeof spec !== 'function') return answer(isOriginAllowed(origin, spec) ? ALLOWED : REFUSED)
  let answered = false
  const once = (code) => {
    if (answered) return
    answered = true
    answer(code)
  }
  try {
    // An error leaves the request without CORS handling, as socket.io's
    // engine goes on past the failed middleware.
    spec(origin, (err, value) => once(err ? NO_CORS : answerFor(origin, value)))
  } catch (err) {
    report(err)
    once(REFUSED)
  }
}

module.exports = { corsOptions, decideOrigin, regexSource }
