// The {{name}} actor: answers every HTTP request `200` with `hello from {{name}}`.
import {
  Fields,
  OutgoingBody,
  OutgoingResponse,
  ResponseOutparam,
} from 'wasi:http/types@0.2.12';

const BODY = new TextEncoder().encode('hello from {{name}}\n');

// The export of `wasi:http/incoming-handler` is the object `incomingHandler`
// (the interface name in camelCase) with a `handle` method.
export const incomingHandler = {
  handle(_request, responseOut) {
    const response = new OutgoingResponse(new Fields());
    response.setStatusCode(200);
    const body = response.body();
    ResponseOutparam.set(responseOut, { tag: 'ok', val: response });
    const stream = body.write();
    stream.blockingWriteAndFlush(BODY);
    // The stream must be dropped before the body is finished.
    stream[Symbol.dispose]();
    OutgoingBody.finish(body, undefined);
  },
};
