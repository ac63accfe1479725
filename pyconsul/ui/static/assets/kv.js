// Key/Value helpers: values are bytes (base64 in Consul's answers); the
// editor shows them as text when they are UTF-8, else as base64.

const strict = new TextDecoder("utf-8", {fatal: true});

export function base64ToBytes(text) {
  const binary = atob(text || "");
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function bytesToBase64(bytes) {
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/** The value's text, or null when it is not UTF-8. */
export function bytesToText(bytes) {
  try {
    return strict.decode(bytes);
  } catch {
    return null;
  }
}

export function textToBytes(text) {
  return new TextEncoder().encode(text);
}

/** Whether `text` is JSON: {ok: true, value} or {ok: false, error}. */
export function parseJSON(text) {
  try {
    return {ok: true, value: JSON.parse(text)};
  } catch (error) {
    return {ok: false, error: error.message};
  }
}

/** Text that looks like it means to be JSON (an object or an array). */
export function looksLikeJSON(text) {
  return /^\s*[[{]/.test(text);
}

/** Flags are a uint64: digits only, at most 2^64-1. */
export function validFlags(text) {
  if (!/^\d+$/.test(text)) return false;
  return BigInt(text) <= 18446744073709551615n;
}
