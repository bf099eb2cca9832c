"""The {{name}} actor: `increment(key)` adds one to the counter `key` in the
wasi:keyvalue bucket `counters` and returns the new value."""

import sys

import wit_world
from componentize_py_types import Err
from wit_world.imports import atomics, store

BUCKET = "counters"


class WitWorld(wit_world.WitWorld):
    def increment(self, key: str) -> int:
        try:
            with store.open(BUCKET) as bucket:
                return atomics.increment(bucket, key, 1)
        except Err as e:
            # The export returns a plain u64, so a failure traps the call.
            # Say why first: stderr reaches `floe logs {{name}}`.
            print(f"increment {key}: keyvalue failed: {e.value}", file=sys.stderr)
            raise
