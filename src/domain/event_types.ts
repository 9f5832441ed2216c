/**
 * Event types: the names events carry, the patterns a webhook subscribes with, and which patterns
 * an event matches. A pattern is an exact name, a prefix wildcard `prefix.*` (every event whose
 * name starts with `prefix.`, at any depth: `contact.*` matches `contact.created` and
 * `contact.note.added`, but neither `contact` nor `contactx.created`), or `*` (every event).
 */

/** An event name: dotted lowercase words such as `invoice.paid`. */
export const EVENT_NAME = /^[a-z0-9_]+(\.[a-z0-9_]+)*$/;

/** The longest event name accepted. */
export const MAX_EVENT_NAME_LENGTH = 100;

/** The pattern every event matches: a webhook's default. */
export const ALL_EVENTS = "*";

/** A subscription pattern: `*`, an event name, or an event name followed by `.*`. */
export const EVENT_TYPE_PATTERN = /^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$/;

/** The most patterns one webhook subscribes with. */
export const MAX_EVENT_TYPES = 50;

/** The events Herald emits itself, listed for every organization whether seen yet or not. */
export const HERALD_EVENT_TYPES = [
  "contact.created",
  "contact.updated",
  "contact.deleted",
] as const;

/**
 * The first words of the events Herald emits itself: contacts' changes and its operational events
 * (`webhook.deactivated`, `payload.failed`, ...). Nobody publishes under them, so a receiver can
 * tell Herald's own events from an organization's.
 */
export const HERALD_EVENT_FAMILIES = ["contact", "webhook", "payload"] as const;

/** Why an organization may not publish an event of this name, or undefined when it may. */
export function reservedEventProblem(name: string): string | undefined {
  const family = name.split(".")[0]!;
  if (!(HERALD_EVENT_FAMILIES as readonly string[]).includes(family)) return undefined;
  return `${family}.* events are sent by Herald only; publish under a name of your own`;
}

/**
 * The event of a test send. Reserved: nobody publishes it, nobody subscribes to it; a test send
 * reaches the one webhook asked, whatever its event types, and never deactivates it.
 */
export const TEST_EVENT = "webhook.test";

/** Every pattern that matches an event named `type`: for `a.b.c`, `*`, `a.*`, `a.b.*`, `a.b.c`. */
export function patternsMatching(type: string): string[] {
  const words = type.split(".");
  const prefixes = words.slice(1).map((_, i) => `${words.slice(0, i + 1).join(".")}.*`);
  return [ALL_EVENTS, ...prefixes, type];
}

/** Whether a webhook subscribed with `eventTypes` receives events named `type`. */
export function isSubscribed(eventTypes: readonly string[], type: string): boolean {
  const matching = patternsMatching(type);
  return eventTypes.some((pattern) => matching.includes(pattern));
}

/** What a test send's event is about: the webhook itself. */
export function testEventOf(webhook: { id: string; createdAt: number }) {
  return {
    type: TEST_EVENT,
    object: "webhook",
    objectId: webhook.id,
    objectCreatedAt: webhook.createdAt,
    data: { message: "A test event from Herald: answer 200 to count it delivered." },
  };
}
