// api.js — owns every conversation with the server: the API token (kept in
// sessionStorage only, so it is forgotten when the tab closes), fetch with the
// bearer header, JSON in and out, and turning error answers into ApiError with
// a sentence a person can read.

const TOKEN_KEY = 'onboarding.apiToken';

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An answer other than 2xx, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor(status, body) {
    const said = body && typeof body.error === 'string' ? body.error : null;
    super(said ?? fallbackMessage(status));
    this.name = 'ApiError';
    this.status = status;
    this.code = body && typeof body.code === 'string' ? body.code : null;
    this.body = body ?? {};
  }
}

function fallbackMessage(status) {
  if (status === 0) return 'The server could not be reached.';
  return `The server answered with HTTP ${status}.`;
}

// Called when the stored token is refused (401), so the app can sign out.
let onUnauthorized = () => {};

export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

/**
 * Sends one request and returns the parsed JSON body (null for 204).
 * `token` overrides the stored token (used to check a token before keeping it).
 * Throws ApiError for error answers and network failures; an aborted request
 * rethrows the AbortError so callers can ignore it.
 */
export async function request(method, path, { body, signal, token } = {}) {
  const usingStored = token === undefined;
  const bearer = usingStored ? storedToken() : token;
  const headers = { Accept: 'application/json' };
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';

  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, null);
  }

  const parsed = await readJson(response);
  if (response.ok) return parsed;

  const error = new ApiError(response.status, parsed);
  if (response.status === 401 && usingStored) onUnauthorized(error);
  throw error;
}

async function readJson(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export const get = (path, options) => request('GET', path, options);
export const post = (path, body, options) => request('POST', path, { ...options, body });
export const put = (path, body, options) => request('PUT', path, { ...options, body });
export const patch = (path, body, options) => request('PATCH', path, { ...options, body });

/** Builds a path from literal pieces and ids, percent-encoding every id. */
export function apiPath(strings, ...ids) {
  return strings.reduce(
    (out, piece, i) => out + piece + (i < ids.length ? encodeURIComponent(ids[i]) : ''),
    '',
  );
}

/** Appends ?limit=&cursor= (skipping empty values). */
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** The words to show for an error caught from `request`. */
export function describeError(err) {
  if (!(err instanceof ApiError)) return 'Something went wrong in the page. Reload and try again.';
  switch (err.status) {
    case 0:
      return 'The server could not be reached. Check that it is running and try again.';
    case 401:
      return `The API token was refused: ${sentence(err.message)} ` +
        'Sign in again with a valid token.';
    case 403:
      return `Not allowed with this token: ${sentence(err.message)} ` +
        'Ask for a token with the needed permission.';
    default:
      return sentence(err.message);
  }
}

// Server sentences may come without a final stop; add one so messages read well.
function sentence(text) {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

export function isAbort(err) {
  return err && err.name === 'AbortError';
}
