// The {{name}} actor: `increment(key)` adds one to the counter `key` in the
// wasi:keyvalue bucket `counters` and returns the new value.
import { open } from 'wasi:keyvalue/store@0.2.0-draft';
import { increment as atomicIncrement } from 'wasi:keyvalue/atomics@0.2.0-draft';

const BUCKET = 'counters';

// u64 crosses as a BigInt: the delta is `1n` and the result is a BigInt.
export function increment(key) {
  try {
    const bucket = open(BUCKET);
    try {
      return atomicIncrement(bucket, key, 1n);
    } finally {
      bucket[Symbol.dispose]();
    }
  } catch (e) {
    // A WIT `result` error is thrown with its value in `e.payload`. The
    // export returns a plain u64, so rethrowing traps the call: say why
    // first (stderr reaches `floe logs {{name}}`).
    console.error(`increment ${key}: keyvalue failed: ${JSON.stringify(e.payload ?? String(e))}`);
    throw e;
  }
}
