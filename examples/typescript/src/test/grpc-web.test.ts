// The same server over gRPC-Web, as a browser calls it (connect-web's transport over
// fetch), and the CORS answers a browser needs before and after such a call.
// ROSTER_CORS_ALLOWED_ORIGINS is the origin the server was started to allow.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

import { grpcWeb, refusal, Roster } from "../story.js";
import { env } from "./env.js";

const address = env("ROSTER_ADDRESS");
const apiKey = env("ROSTER_API_KEY");
const origin = env("ROSTER_CORS_ALLOWED_ORIGINS").split(",")[0].trim();
const password = "correct horse battery";
const login = `http://${address}/roster.identity.v1.IdentityService/Login`;

test("login, authenticate and a refusal's reason over gRPC-Web", async () => {
  const roster = new Roster(grpcWeb(address), apiKey);
  const email = `web.${randomUUID().slice(0, 8)}@example.com`;
  const { user } = await roster.identity.createUser({ email, displayName: "Web User", password });
  const { sessionToken } = await roster.publicIdentity.login({ email, password });
  const { principal } = await roster.publicIdentity.authenticate({ token: sessionToken });
  assert.equal(principal?.userId, user?.userId);
  assert.equal(principal?.email, email);
  assert.deepEqual(
    await refusal(roster.publicIdentity.login({ email, password: "not the password" })),
    { code: Code.Unauthenticated, reason: "INVALID_CREDENTIALS" },
  );
});

async function preflight(from: string): Promise<Response> {
  return fetch(login, {
    method: "OPTIONS",
    headers: {
      origin: from,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type,x-grpc-web,authorization",
    },
  });
}

test("a preflight from an allowed origin is allowed", async () => {
  const answer = await preflight(origin);
  assert.ok(answer.ok, `status ${answer.status}`);
  assert.equal(answer.headers.get("access-control-allow-origin"), origin);
  const headers = answer.headers.get("access-control-allow-headers") ?? "";
  for (const header of ["content-type", "x-grpc-web", "authorization"]) {
    assert.ok(headers.toLowerCase().includes(header), `${header} not in ${headers}`);
  }
});

test("a preflight from another origin is not allowed", async () => {
  const answer = await preflight("https://elsewhere.example");
  assert.equal(answer.headers.get("access-control-allow-origin"), null);
});

test("a page of an allowed origin may read a refusal's status and details", async () => {
  // A browser sends Origin itself and hides any response header not exposed to the page.
  const fromOrigin: Interceptor = (next) => (request) => {
    request.header.set("origin", origin);
    return next(request);
  };
  const roster = new Roster((interceptors) => grpcWeb(address)([fromOrigin, ...interceptors]), apiKey);
  const error = await roster.publicIdentity
    .login({ email: "nobody@example.com", password: "not the password" })
    .then(
      () => assert.fail("the login was not refused"),
      (e: unknown) => ConnectError.from(e),
    );
  assert.equal(error.code, Code.Unauthenticated);
  assert.equal(error.metadata.get("access-control-allow-origin"), origin);
  const exposed = (error.metadata.get("access-control-expose-headers") ?? "").toLowerCase();
  for (const header of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) {
    assert.ok(exposed.includes(header), `${header} not in ${exposed}`);
  }
});
