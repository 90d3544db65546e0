/** jest globalTeardown: stops what globalSetup started (nothing, when it found them running). */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__TOKENLEDGER_INFRA__?.stop();
}
