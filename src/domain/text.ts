/** Text that PostgreSQL can store whatever bytes a receiver answered. */

// NUL (which a `text` column refuses) and lone surrogates (not valid UTF-16).
// deno-lint-ignore no-control-regex
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Whether text holds something PostgreSQL cannot store as text (NUL, a lone surrogate). */
export function hasUnstorable(text: string): boolean {
  UNSTORABLE.lastIndex = 0;
  return UNSTORABLE.test(text);
}

/** Decodes bytes as UTF-8, undecodable sequences as U+FFFD. */
export function decodeLenient(bytes: Uint8Array): string {
  return storableText(new TextDecoder("utf-8", { fatal: false }).decode(bytes));
}

/** Replaces NUL and lone surrogates with U+FFFD, so any text can be stored. */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE, "\uFFFD");
}
