// The story over gRPC (HTTP/2), as a backend calls Roster.
import assert from "node:assert/strict";
import { before, test } from "node:test";

import { Code } from "@connectrpc/connect";

import { AccessReason } from "../gen/roster/membership/v1/membership_pb.js";
import { ErrorReason } from "../gen/roster/type/v1/error_reason_pb.js";
import { grpc, run, type Story } from "../story.js";
import { env } from "./env.js";

let played: Story;

before(async () => {
  played = await run(grpc(env("ROSTER_ADDRESS")), env("ROSTER_API_KEY"));
});

test("a session token authenticates as its user", () => {
  assert.equal(played.principalUserId, played.joeId);
});

test("a wrong password is refused by reason", () => {
  assert.deepEqual(played.wrongPassword, {
    code: Code.Unauthenticated,
    reason: "INVALID_CREDENTIALS",
  });
});

test("two invitations fill the seats and a third is refused", () => {
  assert.deepEqual(
    played.inviteResults.map((r) => r.refusalReason),
    [ErrorReason.UNSPECIFIED, ErrorReason.UNSPECIFIED],
  );
  assert.ok(played.inviteResults.every((r) => r.invitation?.invitationId));
  assert.equal(played.overLimit.refusalReason, ErrorReason.SEAT_LIMIT_REACHED);
  assert.equal(played.overLimit.refusalWorkspaceId, played.workspaceId);
  assert.equal(played.overLimit.invitation, undefined);
});

test("the accepted invitee may read members and a stranger may not", () => {
  assert.ok(played.maryId && played.maryId !== played.joeId);
  assert.equal(played.maryMayRead.allowed, true);
  assert.equal(played.maryMayRead.reason, AccessReason.GRANTED_BY_ROLE);
  assert.equal(played.joeMayRead.allowed, false);
  assert.equal(played.joeMayRead.reason, AccessReason.NOT_A_MEMBER);
});

test("an acceptance past the seat limit is refused by reason", () => {
  assert.deepEqual(played.bobAccept, {
    code: Code.ResourceExhausted,
    reason: "SEAT_LIMIT_REACHED",
  });
});
