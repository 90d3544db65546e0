/** Where the JSON body parser keeps the body as received (before JSON.parse). */
export const RAW_BODY = Symbol('tokenledger.rawBody');

/**
 * The JSON body of a request as it arrived, as UTF-8 bytes, for a signature over it; undefined
 * for another media type. A body that was not valid UTF-8 does not come back byte for byte, so a
 * signature over it fails: the safe direction.
 */
export function rawBodyOf(request: object): Buffer | undefined {
  const raw = (request as { [RAW_BODY]?: string })[RAW_BODY];
  return raw === undefined ? undefined : Buffer.from(raw, 'utf8');
}
