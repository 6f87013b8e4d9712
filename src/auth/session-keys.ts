/** The session keys of `django.contrib.auth` (spec §5.1), written in this order by `login()`. */

/** The user's primary key, always as a string (`"1"`). */
export const SESSION_KEY = '_auth_user_id';
/** The dotted path of the backend that authenticated the user. */
export const BACKEND_SESSION_KEY = '_auth_user_backend';
/** The session auth hash (`session-hash.ts`). */
export const HASH_SESSION_KEY = '_auth_user_hash';
/** The query parameter of the "next" page after a login. */
export const REDIRECT_FIELD_NAME = 'next';
