// Where the tests find Roster: ROSTER_ADDRESS (host:port) and an operator's ROSTER_API_KEY.
export function env(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`set ${name} to run these tests against a running Roster`);
  }
  return value;
}
