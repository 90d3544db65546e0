// A DPoP client made with the `dpop` npm package (RFC 9449, by a third party; ESM-only, so it
// runs as its own process). Protocol: it prints {"jkt"} for a fresh ES256 key, then answers each
// JSON line {htm, htu, accessToken} on stdin with {"proof"}.
import { createInterface } from 'node:readline';
import { calculateThumbprint, generateKeyPair, generateProof } from 'dpop';

const keypair = await generateKeyPair('ES256');
process.stdout.write(`${JSON.stringify({ jkt: await calculateThumbprint(keypair.publicKey) })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const { htm, htu, accessToken } = JSON.parse(line);
  const proof = await generateProof(keypair, htu, htm, undefined, accessToken);
  process.stdout.write(`${JSON.stringify({ proof })}\n`);
}
