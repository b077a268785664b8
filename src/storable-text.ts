/**
 * Whether a string can be stored and sent as it is: PostgreSQL `text` and
 * `jsonb` refuse U+0000, and a lone surrogate has no UTF-8 encoding (it
 * would be refused by jsonb, or silently replaced by U+FFFD in text).
 */
export function isStorableText(value: string): boolean {
  return value.isWellFormed() && !value.includes("\u0000");
}
