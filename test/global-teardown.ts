/** Jest global teardown: suites clean up after themselves. */
export default async function globalTeardown(): Promise<void> {}
