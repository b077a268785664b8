import type http from "node:http";
import type net from "node:net";
import { deadline, type ServerEvents, type ServerLimits } from "./server-limits.js";

/**
 * Bytes of an abandoned request body read and discarded to keep the
 * connection usable; a client sending more than this loses the connection.
 */
const MAX_DISCARD_BYTES = 16 * 1024 * 1024;

/** The HTTP/1.1 connections handed to one http.Server. */
export interface Http1Connections {
  /** Hands a socket whose first bytes are HTTP/1.1 to the server; `firstRequest` runs when its first headers are in. */
  adopt(socket: net.Socket, firstRequest: () => void): void;
  /** Stops keep-alive: idle connections close now, busy ones after their last response. */
  drain(): void;
  /** Connections tracked, requests in flight on them, and body deadlines pending (each holds its request). */
  stats(): { sockets: number; inFlight: number; bodyDeadlines: number };
}

interface SocketState {
  inFlight: number;
  firstRequest: (() => void) | undefined;
  idle: NodeJS.Timeout | undefined;
  /** Body deadlines of the requests in flight: pipelined ones behind a lost socket never see their response close. */
  readonly bodies: Set<NodeJS.Timeout>;
}

/**
 * Tracks the requests in flight on each HTTP/1.1 socket and enforces the body
 * and idle deadlines. http.Server applies its own headersTimeout and
 * requestTimeout only to sockets it accepted through listen(), never to
 * sockets handed over by the sniffer, so the deadlines live here.
 */
export function trackHttp1(server: http.Server, limits: ServerLimits, events: ServerEvents): Http1Connections {
  const sockets = new Map<net.Socket, SocketState>();
  let draining = false;
  let inFlight = 0;
  let bodyDeadlines = 0;
  const forget = (state: SocketState, body: NodeJS.Timeout) => {
    clearTimeout(body);
    if (state.bodies.delete(body)) bodyDeadlines -= 1;
  };

  server.prependListener("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    const state = sockets.get(socket);
    // A pipelined request parsed after its socket closed: nothing is tracked for it any more.
    if (state === undefined) return;
    state.firstRequest?.();
    state.firstRequest = undefined;
    clearTimeout(state.idle);
    state.idle = undefined;
    state.inFlight += 1;
    inFlight += 1;
    if (draining) res.setHeader("connection", "close");
    const body = deadline(limits.requestBodyTimeoutMs, () => {
      forget(state, body);
      if (req.complete) return;
      events.timedOut("body");
      socket.destroy();
    });
    state.bodies.add(body);
    bodyDeadlines += 1;
    const bodyDone = () => forget(state, body);
    req.once("end", bodyDone);
    res.once("finish", () => {
      if (!req.readableEnded && !req.destroyed) discardBody(req);
    });
    res.once("close", () => {
      bodyDone();
      // Only while the socket is open: its close handler below already forgot it.
      if (sockets.get(socket) !== state) return;
      state.inFlight -= 1;
      inFlight -= 1;
      if (state.inFlight > 0) return;
      if (draining) {
        socket.end();
        return;
      }
      state.idle = deadline(limits.idleTimeoutMs, () => {
        events.timedOut("idle");
        socket.destroy();
      });
    });
  });

  return {
    adopt(socket, firstRequest) {
      const state: SocketState = { inFlight: 0, firstRequest, idle: undefined, bodies: new Set() };
      sockets.set(socket, state);
      socket.once("close", () => {
        clearTimeout(state.idle);
        for (const body of state.bodies) forget(state, body);
        inFlight -= state.inFlight;
        sockets.delete(socket);
      });
      server.emit("connection", socket);
      socket.resume();
    },
    drain() {
      draining = true;
      for (const [socket, state] of sockets) if (state.inFlight === 0) socket.destroy();
    },
    stats: () => ({ sockets: sockets.size, inFlight, bodyDeadlines }),
  };
}

/**
 * The response is out but the request body was not read to its end. HTTP/1.1
 * has no signal to stop the client sending, so read and discard the rest to
 * keep the keep-alive connection usable, up to a bound.
 */
function discardBody(req: http.IncomingMessage): void {
  let discarded = 0;
  req.on("data", (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > MAX_DISCARD_BYTES) req.socket.destroy();
  });
  req.resume();
}
