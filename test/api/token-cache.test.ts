import { expect, test } from "vitest";
import { AuthError, cachingVerifier } from "../../src/api/auth/tokens.ts";

function countingVerifier(expiresInMs: number) {
  const calls: string[] = [];
  const verify = cachingVerifier(async (token) => {
    calls.push(token);
    if (token === "bad") throw new AuthError("token-invalid-signature");
    return { clerkId: `user_${token}`, email: undefined, name: undefined, admin: false, expiresAt: Date.now() + expiresInMs };
  });
  return { verify, calls };
}

test("a token that verified is not verified again until it expires", async () => {
  const { verify, calls } = countingVerifier(60_000);
  expect((await verify("a")).clerkId).toBe("user_a");
  expect((await verify("a")).clerkId).toBe("user_a");
  expect((await verify("b")).clerkId).toBe("user_b");
  expect(calls).toEqual(["a", "b"]);
});

test("an expired entry is verified afresh", async () => {
  const { verify, calls } = countingVerifier(-1);
  await verify("a");
  await verify("a");
  expect(calls).toEqual(["a", "a"]);
});

test("a refused token is never remembered", async () => {
  const { verify, calls } = countingVerifier(60_000);
  await expect(verify("bad")).rejects.toThrow(AuthError);
  await expect(verify("bad")).rejects.toThrow(AuthError);
  expect(calls).toEqual(["bad", "bad"]);
});
