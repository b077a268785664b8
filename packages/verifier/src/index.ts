export type { EventFeed, EventFeedOptions } from "./event-feed.js";
export type {
  FeedState,
  RejectReason,
  StaleClaimsPolicy,
  Verifier,
  VerifierOptions,
  VerifyResult,
} from "./verifier.js";
export { createVerifier } from "./verifier.js";
