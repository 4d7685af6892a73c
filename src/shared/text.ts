// Text that comes from peers (camera names, recorder types, error strings from a camera) is shown to
// people and written to the server's log: characters that steer a terminal or reorder what is shown
// must not get through. Pure: used by the schemas (both sides) and the server's logger.

/** C0 and C1 control characters and DEL (U+009B alone is a terminal's Control Sequence Introducer). */
const CONTROL = '\\u0000-\\u001f\\u007f-\\u009f';
/**
 * Characters that change the order text is shown in (bidi marks, embeddings, overrides and
 * isolates): "Kitchen\u202Eelbat" shows as another name. Joiners (U+200C/U+200D) stay: emoji and
 * some scripts need them.
 */
const BIDI = '\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069';
/** Line and paragraph separators: they end a line in some terminals and log viewers. */
const SEPARATORS = '\\u2028\\u2029';
const ANY_CONTROL = new RegExp(`[${CONTROL}]`);
const CONTROLS_OR_BIDI = new RegExp(`[${CONTROL}${BIDI}]`, 'g');
const BIDIS = new RegExp(`[${BIDI}]`, 'g');
/** Everything a log line shows escaped. */
const UNPRINTABLE = new RegExp(`[${CONTROL}${BIDI}${SEPARATORS}]`, 'g');

/** True when the text has a control character. */
export function hasControl(text: string): boolean {
  return ANY_CONTROL.test(text);
}

/** The text without bidi formatting characters. */
export function withoutBidi(text: string): string {
  return text.replace(BIDIS, '');
}

/** The text without control or bidi formatting characters (free text from a peer). */
export function plainText(text: string): string {
  return text.replace(CONTROLS_OR_BIDI, '');
}

/** The text with every control and bidi formatting character written as an escape (`\u{9b}`), for a log line. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/** Characters that show as nothing (zero-width spaces and joiners, soft hyphens, format characters). */
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;

/**
 * What two camera names are compared by: "Kitchen", "KITCHEN", "Ｋｉｔｃｈｅｎ" (full width),
 * "Kit\u200bchen" (a zero-width space) and "Kitchen\u202e" are one name. NFKC normalisation, case
 * folding (upper then lower case: "Straße" and "STRASSE" fold alike), invisible characters removed,
 * runs of white space as one.
 */
export function nameKey(name: string): string {
  return name.normalize('NFKC').replace(INVISIBLE, '').toUpperCase().toLowerCase().normalize('NFKC').replace(/\s+/gu, ' ').trim();
}
