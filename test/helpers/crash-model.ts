/**
 * The steps the crash writer performs on each of its users, and the state
 * they lead to, shared by the writer and the checks of test/crash.test.ts.
 */

export type Step = "create" | "session" | "v1" | "v2" | "delete" | "logout";

/** The steps of the writer's i-th user (a third are deleted, a third log out). */
export function crashSteps(i: number): Step[] {
  const steps: Step[] = ["create", "session", "v1", "v2"];
  if (i % 3 === 0) steps.push("delete");
  if (i % 3 === 1) steps.push("logout");
  return steps;
}

export type UserState = { exists: boolean; firstName: string | null; session: boolean };

/** The state of a user after the first `n` of its steps. */
export function stateAfter(steps: Step[], n: number): UserState {
  const s: UserState = { exists: false, firstName: null, session: false };
  for (const step of steps.slice(0, n)) {
    if (step === "create") s.exists = true;
    if (step === "session") s.session = true;
    if (step === "v1" || step === "v2") s.firstName = step;
    if (step === "delete") Object.assign(s, { exists: false, firstName: null, session: false });
    if (step === "logout") s.session = false;
  }
  return s;
}
