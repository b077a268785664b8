import { InvalidApiKeyError } from "../errors.js";
import { createApiKeyCheck } from "../rpc/api-key.js";

/** Checks `authorization: Basic base64(project_id:secret)`: the configured project id and one of the API keys. */
export function createBasicAuthCheck(
  projectId: string,
  apiKeys: readonly string[],
): (header: string | undefined) => void {
  const checkKey = createApiKeyCheck(apiKeys);
  return (header) => {
    const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header ?? "");
    if (match?.[1] === undefined) {
      throw new InvalidApiKeyError("missing credentials: send HTTP Basic auth with project_id:secret");
    }
    const decoded = Buffer.from(match[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    const user = colon < 0 ? decoded : decoded.slice(0, colon);
    const secret = colon < 0 ? "" : decoded.slice(colon + 1);
    // The secret is checked whatever the project id, so a wrong id and a wrong secret take the same time.
    // Without a colon there is no secret at all, which never passes (nor does an empty one: see createApiKeyCheck).
    const keyOk = checkKey(secret) && colon >= 0;
    if (!(keyOk && user === projectId)) throw new InvalidApiKeyError("invalid project_id or secret");
  };
}
