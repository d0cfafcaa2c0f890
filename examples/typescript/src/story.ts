// The first program a team integrating Roster writes, in TypeScript.
//
// With an operator's API key it creates an account and a two-seat workspace, a person who
// logs in, invites two people, reads one invitation from the notification service, accepts
// it, checks a permission, and handles refusals by their reason:
//
//   npm run build && ROSTER_ADDRESS=127.0.0.1:50051 ROSTER_API_KEY=... npm run story
//
// The invitation link is read from ListNotifications, which keeps the rendered email only
// under the log transport (a server without ROSTER_SMTP_URL).
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";

import {
  Code,
  ConnectError,
  createClient,
  type Client,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createGrpcWebTransport } from "@connectrpc/connect-web";

import { ErrorInfoSchema } from "./rpc/google/rpc/error_details_pb.js";
import { IdentityService } from "./gen/roster/identity/v1/identity_service_pb.js";
import type { InviteResult } from "./gen/roster/invitation/v1/invitation_pb.js";
import { InvitationService } from "./gen/roster/invitation/v1/invitation_service_pb.js";
import { AccessReason } from "./gen/roster/membership/v1/membership_pb.js";
import {
  MembershipService,
  type CheckPermissionResponse,
} from "./gen/roster/membership/v1/membership_service_pb.js";
import { NotificationService } from "./gen/roster/notification/v1/notification_service_pb.js";
import { ErrorReason } from "./gen/roster/type/v1/error_reason_pb.js";

// Every call gets a deadline: Roster passes what is left of it to the services it calls.
const timeoutMs = 30_000;
const password = "correct horse battery";
const tokenInLink = /accept-invitation\?token=([A-Za-z0-9_-]+)/;

/** A transport to Roster with these interceptors. */
export type Connect = (interceptors: Interceptor[]) => Transport;

/** gRPC over HTTP/2, as a backend calls Roster. */
export const grpc =
  (address: string): Connect =>
  (interceptors) =>
    createGrpcTransport({ baseUrl: `http://${address}`, interceptors });

/** gRPC-Web over fetch, as a browser calls Roster. */
export const grpcWeb =
  (address: string): Connect =>
  (interceptors) =>
    createGrpcWebTransport({ baseUrl: `http://${address}`, interceptors });

/** Adds `authorization: Bearer <token>` to every call, so no call site does it. */
export function bearer(token: string): Interceptor {
  return (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
}

/** The `reason` of the google.rpc.ErrorInfo a refused call carries (domain roster). */
export function errorReason(error: unknown): string | undefined {
  return ConnectError.from(error)
    .findDetails(ErrorInfoSchema)
    .find((info) => info.domain === "roster")?.reason;
}

/** A refused call: its code and ErrorInfo reason. */
export interface Refusal {
  code: Code;
  reason: string | undefined;
}

/** Awaits `call`, which Roster must refuse, and returns the refusal. */
export async function refusal(call: Promise<unknown>): Promise<Refusal> {
  try {
    await call;
  } catch (error) {
    return { code: ConnectError.from(error).code, reason: errorReason(error) };
  }
  throw new Error("the call was not refused");
}

/** Clients of Roster's four services, as the operator's API key. */
export class Roster {
  /** Login, Authenticate, PreviewInvitation and AcceptInvitation need no bearer token. */
  readonly publicIdentity: Client<typeof IdentityService>;
  readonly publicInvitation: Client<typeof InvitationService>;
  readonly identity: Client<typeof IdentityService>;
  readonly membership: Client<typeof MembershipService>;
  readonly invitation: Client<typeof InvitationService>;
  readonly notification: Client<typeof NotificationService>;

  constructor(connect: Connect, apiKey: string) {
    const anonymous = connect([]);
    this.publicIdentity = createClient(IdentityService, anonymous);
    this.publicInvitation = createClient(InvitationService, anonymous);
    const operator = connect([bearer(apiKey)]);
    this.identity = createClient(IdentityService, operator);
    this.membership = createClient(MembershipService, operator);
    this.invitation = createClient(InvitationService, operator);
    this.notification = createClient(NotificationService, operator);
  }

  /**
   * The one-time token of the link in the latest invitation email to `email`. Invitations
   * are emailed through the services' outboxes, a moment after InviteUsers answers, so this
   * asks again until the email has been sent.
   */
  async invitationToken(email: string, waitMs = 30_000): Promise<string> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const listed = await this.notification.listNotifications(
        { recipient: email, template: "invitation", pageSize: 1 },
        { timeoutMs },
      );
      for (const sent of listed.notifications) {
        const found = tokenInLink.exec(sent.rendered?.textBody ?? "");
        if (found) {
          return found[1];
        }
      }
      if (Date.now() > deadline) {
        throw new Error(`no invitation email with a link to ${email}`);
      }
      await sleep(100);
    }
  }
}

/** What the story saw, for its tests. */
export interface Story {
  joeId: string;
  principalUserId: string;
  inviteResults: InviteResult[];
  overLimit: InviteResult;
  workspaceId: string;
  maryId: string;
  maryMayRead: CheckPermissionResponse;
  joeMayRead: CheckPermissionResponse;
  bobAccept: Refusal;
  wrongPassword: Refusal;
}

/** Plays the story against Roster; new names each run. */
export async function run(connect: Connect, apiKey: string): Promise<Story> {
  const runId = randomUUID().slice(0, 8);
  const joe = `joe.${runId}@example.com`;
  const mary = `mary.${runId}@example.com`;
  const bob = `bob.${runId}@example.com`;
  const carol = `carol.${runId}@example.com`;
  const roster = new Roster(connect, apiKey);

  const { account } = await roster.membership.createAccount(
    { name: `Acme ${runId}` },
    { timeoutMs },
  );
  const accountId = account!.accountId;
  const { workspace } = await roster.membership.createWorkspace(
    { accountId, name: "Data team", seatLimit: 2 },
    { timeoutMs },
  );
  const workspaceId = workspace!.workspaceId;

  // A person with a password logs in; a backend resolves the session token to them.
  const { user } = await roster.identity.createUser(
    { email: joe, displayName: "Joe Smith", password },
    { timeoutMs },
  );
  const joeId = user!.userId;
  const { sessionToken } = await roster.publicIdentity.login(
    { email: joe, password },
    { timeoutMs },
  );
  const { principal } = await roster.publicIdentity.authenticate(
    { token: sessionToken },
    { timeoutMs },
  );
  const wrongPassword = await refusal(
    roster.publicIdentity.login({ email: joe, password: "not the password" }, { timeoutMs }),
  );

  // Two invitations fill the two seats; InviteUsers answers each address on its own, so a
  // third is refused in its result, not as a failed call.
  const invited = await roster.invitation.inviteUsers(
    { accountId, workspaceIds: [workspaceId], emails: [mary, bob] },
    { timeoutMs },
  );
  const [overLimit] = (
    await roster.invitation.inviteUsers(
      { accountId, workspaceIds: [workspaceId], emails: [carol] },
      { timeoutMs },
    )
  ).results;

  // Mary accepts through her emailed link as a new person.
  const accepted = await roster.publicInvitation.acceptInvitation(
    {
      token: await roster.invitationToken(mary),
      invitee: { case: "newUser", value: { displayName: "Mary Jones", password } },
    },
    { timeoutMs },
  );

  // The check a backend makes before serving a request in a workspace.
  const mayRead = (userId: string) =>
    roster.membership.checkPermission(
      { userId, workspaceId, permission: "roster.members.read" },
      { timeoutMs },
    );
  const maryMayRead = await mayRead(accepted.userId);
  const joeMayRead = await mayRead(joeId);

  // Joe takes the second seat directly: a pending invitation holds no seat, so Bob's
  // acceptance is refused as a call (SEAT_LIMIT_REACHED) and his invitation stays.
  await roster.membership.addMember(
    { accountId, workspaceIds: [workspaceId], userId: joeId },
    { timeoutMs },
  );
  const bobAccept = await refusal(
    roster.publicInvitation.acceptInvitation(
      {
        token: await roster.invitationToken(bob),
        invitee: { case: "newUser", value: { displayName: "Bob Brown", password } },
      },
      { timeoutMs },
    ),
  );

  return {
    joeId,
    principalUserId: principal!.userId,
    inviteResults: invited.results,
    overLimit,
    workspaceId,
    maryId: accepted.userId,
    maryMayRead,
    joeMayRead,
    bobAccept,
    wrongPassword,
  };
}

async function main(): Promise<void> {
  const address = process.env.ROSTER_ADDRESS ?? "127.0.0.1:50051";
  const apiKey = process.env.ROSTER_API_KEY;
  if (!apiKey) {
    throw new Error("set ROSTER_API_KEY to an operator's API key");
  }
  const story = await run(grpc(address), apiKey);
  console.log(`joe's session authenticates as ${story.principalUserId}`);
  console.log(`a wrong password: ${Code[story.wrongPassword.code]} ${story.wrongPassword.reason}`);
  for (const result of story.inviteResults) {
    console.log(`invited ${result.email}: ${result.invitation?.invitationId}`);
  }
  console.log(`${story.overLimit.email} not invited: ${ErrorReason[story.overLimit.refusalReason]}`);
  console.log(`mary accepted as ${story.maryId}`);
  console.log(
    `may mary read members? ${story.maryMayRead.allowed} (${AccessReason[story.maryMayRead.reason]})`,
  );
  console.log(`may joe? ${story.joeMayRead.allowed} (${AccessReason[story.joeMayRead.reason]})`);
  console.log(`bob's acceptance: ${Code[story.bobAccept.code]} ${story.bobAccept.reason}`);
}

// Run as a program (`node dist/story.js`), not when the tests import it.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main();
}
