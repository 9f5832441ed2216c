/** The JSON body a webhook receives (SPEC §5). */

/** What the body is built from. */
export interface PayloadBodyParts {
  payloadId: string;
  event: string;
  payloadCreatedAt: number;
  attempt: number;
  firstSentAt: number;
  object: string;
  objectId: string;
  objectCreatedAt: number;
  data: Record<string, unknown>;
  verifyToken: string | null;
}

/** The body of one attempt, with keys in the documented order. */
export interface PayloadBody {
  _id: string;
  event: string;
  createdAt: number;
  deliveryAttempts: number;
  firstSentAt: number;
  items: {
    _id: string;
    object: string;
    createdAt: number;
    data: Record<string, unknown>;
    infoWebhook: { verifyToken: string | null };
  };
}

/** Builds the body of one attempt of one payload. */
export function buildPayloadBody(parts: PayloadBodyParts): PayloadBody {
  return {
    _id: parts.payloadId,
    event: parts.event,
    createdAt: parts.payloadCreatedAt,
    deliveryAttempts: parts.attempt,
    firstSentAt: parts.firstSentAt,
    items: {
      _id: parts.objectId,
      object: parts.object,
      createdAt: parts.objectCreatedAt,
      data: parts.data,
      infoWebhook: { verifyToken: parts.verifyToken },
    },
  };
}
