import http2 from "node:http2";
import type net from "node:net";
import { deadline, type ServerEvents, type ServerLimits } from "./server-limits.js";

/** The HTTP/2 sessions of one Http2Server. */
export interface Http2Sessions {
  /** Hands a socket that sent the HTTP/2 preface to the server; `firstRequest` runs when its first stream opens. */
  adopt(socket: net.Socket, firstRequest: () => void): void;
  /** Sends GOAWAY everywhere: idle sessions end now, busy ones after their last response. */
  drain(): void;
  /** Sessions tracked and streams not yet answered on them. */
  stats(): { sessions: number; streams: number };
}

interface SessionState {
  readonly socket: net.Socket;
  /** Streams whose response is not yet written. */
  active: number;
  firstRequest: (() => void) | undefined;
  idle: NodeJS.Timeout | undefined;
  /** Deadline of the PING in flight, if any. */
  ping: NodeJS.Timeout | undefined;
}

const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL } = http2.constants;

/** Time the last frames (a response, a GOAWAY) get to reach the client before its stream or session is cut. */
const FLUSH_MS = 100;

/**
 * Tracks streams per HTTP/2 session and enforces the body and idle deadlines,
 * and makes sure a session that is over also closes its TCP connection.
 *
 * A client that resets streams must answer a PING in time. Besides catching
 * a dead peer, this is how a session that nghttp2 itself ended is noticed:
 * after its rapid-reset GOAWAY it stops reading (so no PING ACK ever arrives)
 * but tells Node nothing, and the socket would stay open forever.
 */
export function trackHttp2(server: http2.Http2Server, limits: ServerLimits, events: ServerEvents): Http2Sessions {
  const sessions = new Map<http2.ServerHttp2Session, SessionState>();
  // The socket and callback of the adopt() under way: the server emits "session" synchronously inside it.
  let adopting: { socket: net.Socket; firstRequest: () => void } | undefined;
  let draining = false;
  let streams = 0;

  const destroySoon = (session: http2.ServerHttp2Session) => {
    deadline(FLUSH_MS, () => session.destroy());
  };
  const pingSoon = (session: http2.ServerHttp2Session, state: SessionState) => {
    if (state.ping !== undefined || session.closed || session.destroyed) return;
    const timer = deadline(limits.http2PingTimeoutMs, () => {
      events.timedOut("ping");
      session.destroy();
    });
    const sent = session.ping(() => {
      clearTimeout(timer);
      state.ping = undefined;
    });
    if (sent) state.ping = timer;
    else clearTimeout(timer);
  };

  server.on("session", (session: http2.ServerHttp2Session) => {
    if (adopting === undefined) return;
    const { socket, firstRequest } = adopting;
    const state: SessionState = { socket, active: 0, firstRequest, idle: undefined, ping: undefined };
    sessions.set(session, state);
    session.once("close", () => {
      clearTimeout(state.idle);
      clearTimeout(state.ping);
      streams -= state.active;
      sessions.delete(session);
      // After GOAWAY the connection is of no use: RFC 9113 6.8 wants it closed, never left open.
      socket.destroy();
    });
    // The session's own event: a stream reset as it opens no longer knows its session.
    session.on("stream", (stream) => onStream(session, state, stream));
  });

  const onStream = (session: http2.ServerHttp2Session, state: SessionState, stream: http2.ServerHttp2Stream) => {
    state.firstRequest?.();
    state.firstRequest = undefined;
    clearTimeout(state.idle);
    state.idle = undefined;
    state.active += 1;
    streams += 1;
    let cancelled = false;
    const body = deadline(limits.requestBodyTimeoutMs, () => {
      if (stream.closed || remoteClosed(stream)) return;
      events.timedOut("body");
      cancelled = true;
      stream.close(NGHTTP2_CANCEL);
    });
    let answered = false;
    const onAnswered = () => {
      clearTimeout(body);
      if (answered) return;
      answered = true;
      if (sessions.get(session) !== state) return;
      state.active -= 1;
      streams -= 1;
      if (state.active > 0) return;
      if (draining) destroySoon(session);
      else {
        state.idle = deadline(limits.idleTimeoutMs, () => {
          events.timedOut("idle");
          session.close();
          destroySoon(session);
        });
      }
    };
    // "finish": the response is written. The client may still be sending a
    // body nobody will read (a request over the size limit, or refused before
    // its body): RST_STREAM(NO_ERROR) tells it to stop (RFC 9113, 8.1). It
    // goes a moment after the response, since some clients (connect-node)
    // drop a response they have not finished reading when the stream resets.
    stream.once("finish", () => {
      onAnswered();
      if (stream.closed || remoteClosed(stream)) {
        // Drop what already arrived, or the stream never emits "close".
        if (!stream.readableEnded) stream.resume();
        return;
      }
      const stop = deadline(FLUSH_MS, () => {
        if (!stream.closed) stream.close(NGHTTP2_NO_ERROR);
        stream.resume();
      });
      stream.once("close", () => clearTimeout(stop));
    });
    stream.once("close", () => {
      onAnswered();
      if (stream.rstCode !== NGHTTP2_NO_ERROR && !cancelled && sessions.get(session) === state) {
        pingSoon(session, state);
      }
    });
  };

  return {
    adopt(socket, firstRequest) {
      adopting = { socket, firstRequest };
      try {
        // http2 reads the socket's buffered bytes when its session starts;
        // resuming the stream here would hand them to nobody.
        server.emit("connection", socket);
      } finally {
        adopting = undefined;
      }
    },
    drain() {
      draining = true;
      for (const [session, state] of sessions) {
        session.close();
        if (state.active === 0) destroySoon(session);
      }
    },
    stats: () => ({ sessions: sessions.size, streams }),
  };
}

/** Whether the client has ended its side of the stream (END_STREAM received). */
function remoteClosed(stream: http2.ServerHttp2Stream): boolean {
  return stream.state?.remoteClose === 1;
}
