"""A Floe capability provider in Python: acme:greet/greeter, implemented with
nats-py and msgpack only, from the protocol in docs/providers.md (host data,
subjects, envelope, seal, health, shutdown) -- no Floe library.

Started by a host (`floe start provider examples/providers/python-greeter/python-greeter`);
linked like any entity (`floe link put front python-greeter acme:greet/greeter`).
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import signal
import sys
import time

import msgpack
import nats

GREET = "acme:greet/greeter.greet"
AUTH_HEADER = "Floe-Auth"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Seals:
    """The lattice MAC (docs/security.md): seal what we send, open what we get."""

    def __init__(self, keys, window_ms, skew_ms):
        # Seal with the first key; accept any.
        self.keys = [(k["id"], base64.b64decode(k["key"])) for k in keys]
        self.window_ms, self.skew_ms = window_ms, skew_ms
        self.seen = {}  # nonce -> issued-at, for the replay window

    @staticmethod
    def context(subject, reply=None):
        return f"msg {subject}" if reply is None else f"msg {subject} {reply}"

    @staticmethod
    def mac(key, key_id, issued, nonce, context, body):
        head = "\n".join([key_id, issued, nonce, context]) + "\n"
        return hmac.new(key, b"floe-mac-1\n" + head.encode() + body, hashlib.sha256).digest()

    def seal(self, context, body):
        key_id, key = self.keys[0]
        issued, nonce = str(int(time.time() * 1000)), b64url(os.urandom(16))
        tag = b64url(self.mac(key, key_id, issued, nonce, context, body))
        return ".".join(["1", key_id, issued, nonce, tag])

    def open(self, token, context, body):
        """True when the token is authentic, fresh and not seen before."""
        parts = (token or "").strip().split(".")
        if len(parts) != 5 or parts[0] != "1":
            return False
        _, key_id, issued, nonce, tag = parts
        key = next((k for kid, k in self.keys if kid == key_id), None)
        if key is None or not issued.isdigit():
            return False
        try:
            expected = self.mac(key, key_id, issued, nonce, context, body)
            if not hmac.compare_digest(unb64url(tag), expected):
                return False
        except ValueError:
            return False
        now, at = int(time.time() * 1000), int(issued)
        if at > now + self.skew_ms or now - at > self.window_ms:
            return False
        for old in [n for n, t in self.seen.items() if now - t > self.window_ms]:
            del self.seen[old]
        if nonce in self.seen:
            return False
        self.seen[nonce] = at
        return True


def greet(person, tone):
    """person = [name, title or None, languages]; tone = 0 (warm) or 1 (formal).
    Returns result<greeting, string> in the wire mapping."""
    name, title, _languages = person
    if not name.strip():
        return {1: "a person needs a name"}
    full = f"{title} {name}" if title else name
    text = f"Hello from Python, {full}!" if tone == 0 else f"Good day from Python, {full}."
    salutation = {1: title} if title else 0
    return {0: [text, salutation, tone, len(text)]}


def reply_ok(invocation_id, result_bytes):
    # InvocationReply: [v, id, outcome]; outcome is {"Ok": bin} or {"Err": error}.
    return msgpack.packb([1, invocation_id, {"Ok": result_bytes}], use_bin_type=True)


def reply_err(invocation_id, kind, message):
    return msgpack.packb([1, invocation_id, {"Err": [kind, message, None]}], use_bin_type=True)


async def main():
    data = json.loads(sys.stdin.read())
    seals = Seals(data["lattice_keys"], data["auth_window_ms"], data["auth_skew_ms"])
    me, host, lattice = data["provider_id"], data["host_id"], data["lattice"]
    nc = await nats.connect(servers=data["nats_url"].split(","), name=f"floe provider {data['name']}")
    stop = asyncio.Event()

    async def send(subject, body):
        await nc.publish(subject, body, headers={AUTH_HEADER: seals.seal(seals.context(subject), body)})

    def authentic(msg):
        token = (msg.headers or {}).get(AUTH_HEADER)
        return seals.open(token, seals.context(msg.subject, msg.reply or None), msg.data)

    async def on_call(msg):
        if not msg.reply:
            return
        if not authentic(msg):
            if msg.reply.startswith("_INBOX."):
                await nc.publish(msg.reply, reply_err(bytes(16), "unauthorized", "refused: not authentic"))
            return
        try:
            envelope = msgpack.unpackb(msg.data, raw=False)
            _v, invocation, _origin, target, operation, payload, encoding = envelope[:7]
        except Exception as e:  # malformed bytes: answer, never leave the caller waiting
            await send(msg.reply, reply_err(bytes(16), "bad_arguments", f"malformed envelope: {e}"))
            return
        if target != me:
            body = reply_err(invocation, "not_found", f"this is provider {me}, not {target}")
        elif encoding != 0:
            body = reply_err(invocation, "bad_arguments", "providers take msgpack payloads")
        elif operation != GREET:
            body = reply_err(invocation, "no_such_operation", f"python-greeter implements {GREET}")
        else:
            try:
                person, tone = msgpack.unpackb(payload, raw=False)
                result = msgpack.packb(greet(person, tone), use_bin_type=True)
                body = reply_ok(invocation, result)
            except Exception as e:  # any bad payload gets a typed answer, never silence
                body = reply_err(invocation, "bad_arguments", str(e))
        await send(msg.reply, body)

    async def on_health(msg):
        if msg.reply and authentic(msg):
            report = {"accepted": True, "error": None, "healthy": True, "message": None}
            await send(msg.reply, json.dumps(report).encode())

    async def on_shutdown(msg):
        if authentic(msg):
            if msg.reply:
                await send(msg.reply, json.dumps({"accepted": True, "error": None}).encode())
            stop.set()

    prefix = f"floe.{lattice}"
    await nc.subscribe(f"{prefix}.rpc.{me}", queue=me, cb=on_call)
    await nc.subscribe(f"{prefix}.prov.{me}.{host}.health", cb=on_health)
    await nc.subscribe(f"{prefix}.prov.{me}.{host}.shutdown", cb=on_shutdown)
    await nc.flush()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

    async def watch_parent(parent):
        # The host that started us died (even by SIGKILL): stop too.
        while os.getppid() == parent:
            await asyncio.sleep(0.5)
        stop.set()

    watcher = asyncio.create_task(watch_parent(os.getppid()))
    print(f"python-greeter serving as {me}", file=sys.stderr, flush=True)
    await stop.wait()
    watcher.cancel()
    await nc.drain()


if __name__ == "__main__":
    asyncio.run(main())
