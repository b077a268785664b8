/** The HTTP/2 client connection preface (RFC 9113, 3.4). */
export const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** Whether the first bytes of a connection agree with the HTTP/2 preface as far as they go. */
export function startsLikeHttp2(head: Buffer): boolean {
  const n = Math.min(head.length, HTTP2_PREFACE.length);
  return head.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
}
