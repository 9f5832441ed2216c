/** Herald's version, sent in every delivery's User-Agent. */
export const VERSION = "0.1.0";
