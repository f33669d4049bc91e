/** Jest global setup: nothing shared yet; each suite makes its own database and Redis prefix. */
export default async function globalSetup(): Promise<void> {}
