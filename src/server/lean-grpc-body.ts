import type { Readable } from "node:stream";

/** The request body read by the lean path: the chunks read, and the message when they are one whole envelope. */
export interface LeanBody {
  readonly payload: Uint8Array | undefined;
  readonly read: readonly Uint8Array[];
}

/**
 * Reads one uncompressed gRPC envelope of at most `readMaxBytes`. Gives up
 * (returning the chunks read so far, the rest left unread) as soon as the
 * body is anything else: a longer message, a compressed flag, more or fewer
 * bytes than the envelope announces, or a stream that ends abnormally;
 * Connect's handler then reads on from there and answers as it always does.
 */
export function readLeanBody(req: Readable, readMaxBytes: number): Promise<LeanBody> {
  return new Promise((resolve) => {
    const read: Uint8Array[] = [];
    let total = 0;
    let expected = -1;
    const done = (body: LeanBody) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onClose);
      resolve(body);
    };
    const giveUp = () => {
      req.pause();
      done({ payload: undefined, read });
    };
    const onData = (chunk: Buffer) => {
      read.push(chunk);
      total += chunk.length;
      if (expected < 0 && total >= 5) {
        const head = read.length === 1 ? chunk : Buffer.concat(read);
        if (head[0] !== 0) return giveUp();
        expected = 5 + head.readUInt32BE(1);
        if (expected - 5 > readMaxBytes) return giveUp();
      }
      if (expected >= 0 && total > expected) giveUp();
    };
    const onEnd = () => {
      if (total !== expected) return done({ payload: undefined, read });
      const whole = read.length === 1 ? (read[0] as Uint8Array) : Buffer.concat(read);
      done({ payload: whole.subarray(5), read });
    };
    const onClose = () => done({ payload: undefined, read });
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("close", onClose);
  });
}
